/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the AF_UNIX multicast selftests and benchmark. */
#ifndef AF_UNIX_MCAST_H
#define AF_UNIX_MCAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <linux/landlock.h>
#include <linux/unix_mcast.h>	/* SOL_UNIX, the options, struct unix_mreq */

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

/* Fill @mreq for @addr of @len bytes: umr_family and umr_path hold the
 * first @len bytes of the struct sockaddr_un (no more than it has; a larger
 * @len is passed on in umr_addrlen for the kernel to refuse), the rest and
 * umr_reserved are zero.
 */
static inline void mcast_mreq(struct unix_mreq *mreq,
			      const struct sockaddr_un *addr, socklen_t len,
			      unsigned int flags)
{
	size_t n = len < sizeof(*addr) ? len : sizeof(*addr);

	memset(mreq, 0, sizeof(*mreq));
	memcpy((char *)mreq + offsetof(struct unix_mreq, umr_family), addr, n);
	mreq->umr_addrlen = len;
	mreq->umr_flags = flags;
}

static inline int mcast_join(int fd, const struct sockaddr_un *addr,
			     socklen_t len, unsigned int flags)
{
	struct unix_mreq mreq;

	mcast_mreq(&mreq, addr, len, flags);
	return setsockopt(fd, SOL_UNIX, UNIX_ADD_MEMBERSHIP, &mreq,
			  sizeof(mreq));
}

static inline int mcast_leave(int fd, const struct sockaddr_un *addr,
			      socklen_t len)
{
	return setsockopt(fd, SOL_UNIX, UNIX_DROP_MEMBERSHIP, addr, len);
}

/* Confines the caller with Landlock: no abstract socket created outside its
 * domain may be reached (LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET, Landlock ABI 6).
 * Returns 0, or -1 with errno set.
 */
static inline int mcast_landlock_scope_abstract(void)
{
	struct landlock_ruleset_attr attr = {
		.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET,
	};
	int fd, err;

	fd = syscall(__NR_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (fd < 0)
		return -1;
	err = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	      syscall(__NR_landlock_restrict_self, fd, 0);
	close(fd);
	return err ? -1 : 0;
}

#endif
