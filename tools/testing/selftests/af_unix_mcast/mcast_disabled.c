// SPDX-License-Identifier: GPL-2.0
/*
 * Run on a kernel built with CONFIG_UNIX_MULTICAST=n: the multicast
 * options fail exactly as any unknown AF_UNIX option level does today.
 */
#include <errno.h>
#include <unistd.h>

#include "mcast.h"
#include "kselftest_harness.h"

TEST(options_eopnotsupp)
{
	struct sockaddr_un a;
	socklen_t la = mcast_addr(&a, "\0mcast-disabled", 15);
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	socklen_t len = sizeof(__u64);
	__u64 ino;

	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, mcast_join(fd, &a, la, 0));
	ASSERT_EQ(EOPNOTSUPP, errno);
	ASSERT_EQ(-1, setsockopt(fd, SOL_UNIX, UNIX_ADD_MEMBERSHIP, &a, la));
	ASSERT_EQ(EOPNOTSUPP, errno);
	ASSERT_EQ(-1, mcast_leave(fd, &a, la));
	ASSERT_EQ(EOPNOTSUPP, errno);
	ASSERT_EQ(-1, getsockopt(fd, SOL_UNIX, UNIX_MULTICAST_BLOCKED_BY, &ino,
				 &len));
	ASSERT_EQ(EOPNOTSUPP, errno);
	ASSERT_EQ(-1, access("/proc/sys/net/unix/max_memberships", F_OK));
	ASSERT_EQ(0, access("/proc/sys/net/unix/max_dgram_qlen", F_OK));
	close(fd);
}

TEST_HARNESS_MAIN
