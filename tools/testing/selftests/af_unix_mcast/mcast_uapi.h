/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The layout checks of mcast_uapi.c and mcast_uapi_order.c, which include
 * <linux/unix_mcast.h>, <sys/socket.h> and <sys/un.h> in different orders
 * before this file (it includes none of them itself): the static_asserts
 * below are compiled in each of the two translation units.
 */
#ifndef AF_UNIX_MCAST_UAPI_H
#define AF_UNIX_MCAST_UAPI_H

#include <assert.h>
#include <stddef.h>

#define MREQ_SIZEOF(m)	sizeof((*(struct unix_mreq *)0).m)
#define MREQ_OFFSET(m, o) \
	static_assert(offsetof(struct unix_mreq, m) == (o), \
		      "offset of " #m " in struct unix_mreq")

/*
 * "struct unix_mreq is now { __u16 umr_family; char umr_path[108]; __u16
 * umr_reserved; __u32 umr_addrlen; __u32 umr_flags; }, 120 bytes, no
 * padding. umr_family+umr_path have the layout of a struct sockaddr_un".
 */
static_assert(sizeof(struct unix_mreq) == 120,
	      "sizeof(struct unix_mreq)");
MREQ_OFFSET(umr_family, 0);
MREQ_OFFSET(umr_path, 2);
MREQ_OFFSET(umr_reserved, 110);
MREQ_OFFSET(umr_addrlen, 112);
MREQ_OFFSET(umr_flags, 116);
static_assert(MREQ_SIZEOF(umr_family) == 2 &&
	      MREQ_SIZEOF(umr_path) == 108 &&
	      MREQ_SIZEOF(umr_reserved) == 2 &&
	      MREQ_SIZEOF(umr_addrlen) == 4 &&
	      MREQ_SIZEOF(umr_flags) == 4,
	      "sizes of the members of struct unix_mreq");
static_assert(MREQ_SIZEOF(umr_family) + MREQ_SIZEOF(umr_path) +
	      MREQ_SIZEOF(umr_reserved) +
	      MREQ_SIZEOF(umr_addrlen) +
	      MREQ_SIZEOF(umr_flags) == sizeof(struct unix_mreq),
	      "struct unix_mreq has no padding");
static_assert(sizeof(struct sockaddr_un) == UNIX_MREQ_ADDR_SIZE &&
	      offsetof(struct unix_mreq, umr_reserved) ==
	      UNIX_MREQ_ADDR_SIZE,
	      "umr_family and umr_path are a struct sockaddr_un");
static_assert(offsetof(struct sockaddr_un, sun_path) ==
	      offsetof(struct unix_mreq, umr_path) &&
	      sizeof(((struct sockaddr_un *)0)->sun_path) ==
	      MREQ_SIZEOF(umr_path),
	      "umr_path is sun_path");
static_assert(SOL_UNIX == 288 && UNIX_ADD_MEMBERSHIP == 1 &&
	      UNIX_DROP_MEMBERSHIP == 2 &&
	      UNIX_MREQ_DROP_WHEN_FULL == 1 &&
	      UNIX_MREQ_NO_LOOP == 2,
	      "values of the constants");

/*
 * In mcast_uapi_order.c: fill @mreq (sizeof(struct unix_mreq) bytes) for the
 * address @addr of @len bytes, zero flags. Returns the size it filled.
 */
size_t mcast_uapi_order_mreq(void *mreq, const void *addr, unsigned int len);

#endif
