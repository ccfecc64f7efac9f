/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the AF_UNIX multicast selftests and benchmark. */
#ifndef AF_UNIX_MCAST_H
#define AF_UNIX_MCAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/un.h>

#ifndef SOL_UNIX
#define SOL_UNIX 288
#endif

/* Fill @addr with @name: a path, or an abstract name if @name[0] is '\0'
 * (then @len bytes of @name count). Returns the address length.
 */
static inline socklen_t mcast_addr(struct sockaddr_un *addr, const char *name,
				   size_t len)
{
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	if (name[0]) {
		len = strlen(name);
		memcpy(addr->sun_path, name, len);
		return offsetof(struct sockaddr_un, sun_path) + len + 1;
	}
	memcpy(addr->sun_path, name, len);
	return offsetof(struct sockaddr_un, sun_path) + len;
}

/* Fill @addr with a fresh group address, unique to this call: the abstract
 * name "\0mcast-<tag><pid>-<n>" or the path "/tmp/mcast-<tag><pid>-<n>",
 * which is unlinked first. Returns the address length.
 */
static inline socklen_t mcast_new_addr(struct sockaddr_un *addr,
				       const char *tag, bool abstract)
{
	static int nr;
	char name[64];
	int n;

	if (abstract) {
		n = snprintf(name, sizeof(name), "%cmcast-%s%d-%d", 0, tag,
			     getpid(), nr++);
		return mcast_addr(addr, name, n);
	}
	snprintf(name, sizeof(name), "/tmp/mcast-%s%d-%d", tag, getpid(), nr++);
	unlink(name);
	return mcast_addr(addr, name, 0);
}

static inline int mcast_join(int fd, const struct sockaddr_un *addr,
			     socklen_t len, unsigned int flags)
{
	struct unix_mreq mreq = {
		.umr_addr = *addr,
		.umr_addrlen = len,
		.umr_flags = flags,
	};

	return setsockopt(fd, SOL_UNIX, UNIX_ADD_MEMBERSHIP, &mreq,
			  sizeof(mreq));
}

static inline int mcast_leave(int fd, const struct sockaddr_un *addr,
			      socklen_t len)
{
	return setsockopt(fd, SOL_UNIX, UNIX_DROP_MEMBERSHIP, addr, len);
}

#endif
