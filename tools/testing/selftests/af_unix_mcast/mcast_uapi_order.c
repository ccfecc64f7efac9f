// SPDX-License-Identifier: GPL-2.0
/*
 * The second translation unit of mcast_uapi: <linux/unix_mcast.h> first,
 * then <sys/socket.h> and <sys/un.h>. The contract: "It compiles together
 * with <sys/socket.h> and <sys/un.h>" (in any order).
 */
#include <linux/unix_mcast.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <string.h>

#include "mcast_uapi.h"

size_t mcast_uapi_order_mreq(void *mreq, const void *addr, unsigned int len)
{
	struct unix_mreq m;

	memset(&m, 0, sizeof(m));
	if (len > sizeof(struct sockaddr_un))
		len = sizeof(struct sockaddr_un);
	/* As the contract says: a sockaddr_un of umr_addrlen bytes. */
	memcpy(&m.umr_family, addr, len);
	m.umr_addrlen = len;
	memcpy(mreq, &m, sizeof(m));
	return sizeof(m);
}
