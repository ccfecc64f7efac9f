// SPDX-License-Identifier: GPL-2.0
/*
 * AF_UNIX multicast memory bounds.
 *
 * - One sender flooding a group of 1000 blocking members with MSG_DONTWAIT
 *   pins no more than its own send buffer plus one datagram to every
 *   member: their copies are charged to it, so once the send buffer is full
 *   the sender gets EAGAIN until members read. Drop-when-full members never
 *   make it fail: their copies are charged to them, not to the sender.
 * - 1000 sockets, each at the membership limit (64 groups of 1000 members),
 *   take a bounded amount of memory and do not slow an unrelated unicast
 *   AF_UNIX pair by more than SLOWDOWN times.
 * - A group has at most 32768 members, and one send of the largest datagram
 *   to all of them is charged within the documented bound.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "mcast.h"
#include "kselftest_harness.h"

/* Each test loops many times; give it ten minutes on a slow guest. */
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 600

#define MEMBERS 1000
#define GROUPS 64		/* net.unix.max_memberships, the default */
#define SLOWDOWN 1.5		/* unicast median round trip, after / before */
#define MEMBERSHIP_BYTES 1024	/* memory per membership, at most */
#define GROUP_MEMBERS 32768	/* members of one group, at most */

static void more_files(struct __test_metadata *_metadata)
{
	struct rlimit rl = { MEMBERS + 256, MEMBERS + 256 };

	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
}

static long read_meminfo(const char *key)
{
	char line[128];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			v = atol(line + strlen(key) + 1);
	if (f)
		fclose(f);
	return v * 1024;
}

static int qlen(void)
{
	FILE *f = fopen("/proc/sys/net/unix/max_dgram_qlen", "r");
	int v = -1;

	if (f && fscanf(f, "%d", &v) != 1)
		v = -1;
	if (f)
		fclose(f);
	return v;
}

static socklen_t group_addr(struct sockaddr_un *a, int i)
{
	char name[64];
	int n = snprintf(name, sizeof(name), "%cmcast-mem-%d-%d", 0, getpid(),
			 i);

	return mcast_addr(a, name, n);
}

TEST(flood_1000_members)
{
	int *m = calloc(MEMBERS, sizeof(int)), s, i, k, sent = 0;
	long outq, one, sndbuf, max_pinned, queued = 0;
	socklen_t len, optlen = sizeof(int);
	int q = qlen(), v;
	struct sockaddr_un a;
	char buf[100] = {};

	ASSERT_LT(0, q);
	more_files(_metadata);
	len = group_addr(&a, 0);
	for (k = 0; k < 2; k++) {
		/* Blocking members, then drop-when-full ones. */
		unsigned int flags = k ? UNIX_MREQ_DROP_WHEN_FULL : 0;

		for (i = 0; i < MEMBERS; i++) {
			m[i] = socket(AF_UNIX, SOCK_DGRAM, 0);
			ASSERT_LE(0, m[i]);
			ASSERT_EQ(0, mcast_join(m[i], &a, len, flags));
		}
		s = socket(AF_UNIX, SOCK_DGRAM, 0);
		ASSERT_EQ(0, getsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, &optlen));
		sndbuf = v;
		ASSERT_EQ(sizeof(buf), sendto(s, buf, sizeof(buf), MSG_DONTWAIT,
					      (struct sockaddr *)&a, len));
		ASSERT_EQ(0, ioctl(s, SIOCOUTQ, &v));
		one = v;	/* what one datagram to every member pins */
		/* Flood: members never read. */
		for (i = 0; i < 100000; i++) {
			if (sendto(s, buf, sizeof(buf), MSG_DONTWAIT,
				   (struct sockaddr *)&a, len) < 0) {
				ASSERT_EQ(EAGAIN, errno);
				continue;
			}
			sent++;
		}
		ASSERT_EQ(0, ioctl(s, SIOCOUTQ, &v));
		outq = v;
		max_pinned = sndbuf + one;
		if (k) {
			/* Drop-when-full members: nothing is charged to the
			 * sender, and no send failed.
			 */
			ASSERT_EQ(0, one);
			ASSERT_EQ(0, outq);
			ASSERT_EQ(100000, sent);
		}
		TH_LOG("%s members: %d more datagrams sent, sender pins %ld bytes",
		       k ? "drop-when-full" : "blocking", sent, outq);
		TH_LOG("bound %ld (send buffer %ld + one datagram to all %ld)",
		       max_pinned, sndbuf, one);
		ASSERT_LE(outq, max_pinned);
		for (i = 0; i < MEMBERS; i++) {
			int n;

			ASSERT_EQ(0, ioctl(m[i], SIOCINQ, &n));
			for (n = 0; recv(m[i], buf, sizeof(buf), MSG_DONTWAIT) > 0; n++)
				;
			ASSERT_GE(q + 1, n);
			queued += n;
			close(m[i]);
		}
		TH_LOG("%ld datagrams were queued to %d members (queues hold %d each)",
		       queued, MEMBERS, q + 1);
		/* Everything is given back. */
		ASSERT_EQ(0, ioctl(s, SIOCOUTQ, &v));
		ASSERT_EQ(0, v);
		close(s);
		sent = 0;
		queued = 0;
	}
	free(m);
}

/* Median round trip of a unicast pair, in ns. */
static long unicast_rtt(int a, int b)
{
	static long t[4001];
	struct timespec t0, t1;
	char buf[64] = {};
	int i, n = 4001;

	for (i = 0; i < n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (send(a, buf, sizeof(buf), 0) != sizeof(buf) ||
		    recv(b, buf, sizeof(buf), 0) != sizeof(buf) ||
		    send(b, buf, sizeof(buf), 0) != sizeof(buf) ||
		    recv(a, buf, sizeof(buf), 0) != sizeof(buf))
			return -1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		t[i] = (t1.tv_sec - t0.tv_sec) * 1000000000L +
		       t1.tv_nsec - t0.tv_nsec;
	}
	for (i = 1; i < n; i++) {
		long x = t[i];
		int j = i;

		for (; j > 0 && t[j - 1] > x; j--)
			t[j] = t[j - 1];
		t[j] = x;
	}
	return t[n / 2];
}

TEST(sockets_at_membership_limit)
{
	int *m = calloc(MEMBERS, sizeof(int)), p[2], i, g;
	long before, after, mem0, mem1, used;
	struct sockaddr_un a;
	socklen_t len;

	more_files(_metadata);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM, 0, p));
	before = unicast_rtt(p[0], p[1]);
	ASSERT_LT(0, before);
	mem0 = read_meminfo("MemAvailable:");
	for (i = 0; i < MEMBERS; i++) {
		m[i] = socket(AF_UNIX, SOCK_DGRAM, 0);
		ASSERT_LE(0, m[i]);
		for (g = 0; g < GROUPS; g++) {
			len = group_addr(&a, g);
			ASSERT_EQ(0, mcast_join(m[i], &a, len, 0));
		}
		/* At the limit. */
		len = group_addr(&a, GROUPS);
		ASSERT_EQ(-1, mcast_join(m[i], &a, len, 0));
		ASSERT_EQ(ENOBUFS, errno);
	}
	mem1 = read_meminfo("MemAvailable:");
	used = mem0 - mem1;
	after = unicast_rtt(p[0], p[1]);
	ASSERT_LT(0, after);
	TH_LOG("%d sockets x %d groups: %ld KiB (%ld bytes per membership, at most %d allowed)",
	       MEMBERS, GROUPS, used / 1024, used / (MEMBERS * GROUPS),
	       MEMBERSHIP_BYTES);
	TH_LOG("unicast RTT median: %ld ns before, %ld ns after (x%.2f, at most x%.1f allowed)",
	       before, after, (double)after / before, SLOWDOWN);
	ASSERT_LE(used, (long)MEMBERS * GROUPS * MEMBERSHIP_BYTES);
	ASSERT_LE((double)after, before * SLOWDOWN);
	for (i = 0; i < MEMBERS; i++)
		close(m[i]);
	close(p[0]);
	close(p[1]);
	free(m);
}

/* The largest datagram @fd may send, once its send buffer is as large as
 * an unprivileged user may make it with the default net.core.wmem_max
 * (212992; SO_SNDBUF doubles it): 425952 bytes.
 */
static int largest_datagram(int fd)
{
	int v = 212992;
	socklen_t l = sizeof(v);

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)) ||
	    getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &l))
		return -1;
	return v - 32;
}

/*
 * A group has at most GROUP_MEMBERS members: each member's clone of a
 * datagram takes a reference to its shared data, which skb_shinfo() counts
 * in 16 bits. A join beyond the limit fails with ENOBUFS; the group keeps
 * working, and has room again once a member leaves.
 *
 * One send of the largest datagram to all of them (half blocking, half
 * drop-when-full) is charged to the sender what the documentation states:
 * the payload once, as much as the same datagram sent to one socket, plus
 * one sk_buff per blocking member, at most 1024 bytes each; the kernel stays
 * silent (no counter overflows). While those copies fill its send buffer the
 * sender gets EAGAIN; they are given back when the members are gone.
 */
TEST(group_member_limit)
{
	struct rlimit rl = { GROUP_MEMBERS + 256, GROUP_MEMBERS + 256 };
	int *m = calloc(GROUP_MEMBERS + 1, sizeof(int)), s, p[2], i, big, v;
	long payload, outq, nblocking = GROUP_MEMBERS / 2;
	unsigned int flags;
	struct sockaddr_un a;
	socklen_t len;
	char *buf;

	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	len = group_addr(&a, 0);
	for (i = 0; i <= GROUP_MEMBERS; i++) {
		m[i] = socket(AF_UNIX, SOCK_DGRAM, 0);
		ASSERT_LE(0, m[i]);
		if (i == GROUP_MEMBERS)
			break;
		/* Even members block; this task created the group. */
		flags = i % 2 ? UNIX_MREQ_DROP_WHEN_FULL : 0;
		ASSERT_EQ(0, mcast_join(m[i], &a, len, flags)) {
			TH_LOG("join %d: %s", i, strerror(errno));
		}
	}
	ASSERT_EQ(-1, mcast_join(m[GROUP_MEMBERS], &a, len,
				 UNIX_MREQ_DROP_WHEN_FULL));
	ASSERT_EQ(ENOBUFS, errno);

	s = socket(AF_UNIX, SOCK_DGRAM, 0);
	ASSERT_LE(0, s);
	big = largest_datagram(s);
	ASSERT_EQ(425952, big);
	buf = calloc(1, big);
	ASSERT_NE(NULL, buf);
	/* The payload's charge: one unicast send of it. */
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM, 0, p));
	ASSERT_EQ(big, largest_datagram(p[0]));
	ASSERT_EQ(big, send(p[0], buf, big, 0));
	ASSERT_EQ(0, ioctl(p[0], SIOCOUTQ, &v));
	payload = v;
	close(p[0]);
	close(p[1]);

	ASSERT_EQ(big, sendto(s, buf, big, MSG_DONTWAIT, (struct sockaddr *)&a,
			      len));
	ASSERT_EQ(0, ioctl(s, SIOCOUTQ, &v));
	outq = v;
	TH_LOG("%d bytes to %d members (%ld blocking): sender charged %ld bytes",
	       big, GROUP_MEMBERS, nblocking, outq);
	TH_LOG("the payload %ld, and %ld per blocking copy", payload,
	       (outq - payload) / nblocking);
	ASSERT_LT(payload, outq);
	ASSERT_GE(payload + nblocking * 1024, outq);
	/* Its send buffer is full of blocking copies. */
	ASSERT_EQ(-1, sendto(s, "x", 1, MSG_DONTWAIT, (struct sockaddr *)&a,
			     len));
	ASSERT_EQ(EAGAIN, errno);
	/* Every member got it, the drop-when-full ones too (a member's
	 * receive buffer takes one datagram beyond its size).
	 */
	ASSERT_EQ(big, recv(m[0], buf, big, MSG_DONTWAIT));
	ASSERT_EQ(big, recv(m[1], buf, big, MSG_DONTWAIT));
	ASSERT_EQ(big, recv(m[GROUP_MEMBERS - 1], buf, big, MSG_DONTWAIT));
	ASSERT_EQ(-1, recv(m[GROUP_MEMBERS], buf, big, MSG_DONTWAIT));
	ASSERT_EQ(EAGAIN, errno);
	free(buf);

	/* Room again once a member leaves. */
	ASSERT_EQ(0, close(m[0]));
	ASSERT_EQ(0, mcast_join(m[GROUP_MEMBERS], &a, len,
				UNIX_MREQ_DROP_WHEN_FULL));
	for (i = 1; i <= GROUP_MEMBERS; i++)
		close(m[i]);
	/* Everything is given back. */
	ASSERT_EQ(0, ioctl(s, SIOCOUTQ, &v));
	ASSERT_EQ(0, v);
	close(s);
	free(m);
}

TEST_HARNESS_MAIN
