// SPDX-License-Identifier: GPL-2.0
/*
 * AF_UNIX multicast under allocation failures. Run by fault.sh, which makes
 * failslab and fail_page_alloc fail a share of the allocations of the tasks
 * that set make-it-fail; the tests set it around the one system call under
 * test, so that only that call sees failures. What the contract says:
 *
 * - a join that cannot allocate fails with ENOMEM (a path group's socket
 *   file may also fail as bind() does, with ENOSPC from its filesystem)
 *   and leaves nothing behind: no group, no socket file, no membership;
 * - a send that cannot allocate every clone fails with ENOBUFS (ENOMEM if
 *   the path lookup itself cannot allocate, as for unicast), and then no
 *   member receives the datagram; so does one whose clone a blocking
 *   member's socket filter trims and the trim cannot allocate the copy's
 *   buffer;
 * - a leave that cannot allocate fails with ENOMEM and changes nothing;
 * - whatever succeeds behaves exactly as without failures.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>
#include <linux/filter.h>

#include "mcast.h"
#include "kselftest_harness.h"

/* Each test loops many times; give it ten minutes on a slow guest. */
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 600

#define ROUNDS 400
#define MEMBERS 4

static int fail_fd = -1;

/* Allocation failures for this thread, on or off. */
static void inject(bool on)
{
	if (pwrite(fail_fd, on ? "1" : "0", 1, 0) != 1)
		abort();
}

/* Fault injection must be set up: a run without it proves nothing. */
static int injection_ready(void)
{
	char buf[16] = "";
	int fd;

	fail_fd = open("/proc/thread-self/make-it-fail", O_WRONLY);
	fd = open("/sys/kernel/debug/failslab/probability", O_RDONLY);
	if (fail_fd < 0 || fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0 ||
	    atoi(buf) <= 0) {
		fprintf(stderr, "# fault injection is not set up: run under fault.sh\n");
		return -1;
	}
	close(fd);
	return 0;
}

static int dgram(void)
{
	return socket(AF_UNIX, SOCK_DGRAM, 0);
}

static int recv_now(int fd)
{
	char buf[64];

	return recv(fd, buf, sizeof(buf), MSG_DONTWAIT) < 0 ? -errno : 0;
}

/* Whether the address is free: an ordinary socket can bind it. */
static bool addr_free(const struct sockaddr_un *addr, socklen_t len)
{
	int fd = dgram();
	bool free = !bind(fd, (const struct sockaddr *)addr, len);

	close(fd);
	if (free && addr->sun_path[0])
		unlink(addr->sun_path);
	return free;
}

/* After the last member closed: an abstract group's name is free again; a
 * path group's socket file stays, like any closed socket's, so remove it.
 */
static bool group_released(const struct sockaddr_un *addr, socklen_t len)
{
	if (addr->sun_path[0])
		return !unlink(addr->sun_path);
	return addr_free(addr, len);
}

struct tally {
	int ok, failed;
};

static void report(const char *what, struct tally *t)
{
	printf("# %s: %d succeeded, %d failed with an allocation error\n",
	       what, t->ok, t->failed);
}

/* The first join of an address creates the group; a failed one leaves
 * nothing behind. A later join of the group: a failed one changes nothing.
 */
TEST(join_all_or_nothing)
{
	struct tally first = {}, second = {};
	struct sockaddr_un a;
	int i, r, err;

	ASSERT_EQ(0, injection_ready());
	for (i = 0; i < ROUNDS; i++) {
		bool abstract = i & 1;
		socklen_t len = mcast_new_addr(&a, "fault-", abstract);
		int m = dgram(), m2 = dgram(), s = dgram();

		ASSERT_LE(0, m);
		inject(true);
		r = mcast_join(m, &a, len, 0);
		err = errno;
		inject(false);
		if (r) {
			if (err != ENOMEM && !(err == ENOSPC && !abstract))
				TH_LOG("first join: unexpected errno %d", err);
			ASSERT_TRUE(err == ENOMEM || (err == ENOSPC && !abstract));
			first.failed++;
			/* No group, no file, no membership. */
			ASSERT_TRUE(addr_free(&a, len));
			ASSERT_EQ(0, mcast_join(m, &a, len, 0));
		} else {
			first.ok++;
		}

		inject(true);
		r = mcast_join(m2, &a, len, UNIX_MREQ_DROP_WHEN_FULL);
		err = errno;
		inject(false);
		if (r) {
			ASSERT_EQ(ENOMEM, err);
			second.failed++;
		} else {
			second.ok++;
		}
		ASSERT_EQ(1, sendto(s, "j", 1, 0, (struct sockaddr *)&a, len));
		ASSERT_EQ(0, recv_now(m));
		ASSERT_EQ(r ? -EAGAIN : 0, recv_now(m2));
		/* A failed join left no membership: this one succeeds. */
		if (r)
			ASSERT_EQ(0, mcast_join(m2, &a, len, 0));
		close(m);
		close(m2);
		close(s);
		/* The group died with its last member. */
		ASSERT_TRUE(group_released(&a, len));
	}
	report("first join", &first);
	report("later join", &second);
	/* The failures did happen. */
	ASSERT_LT(0, first.failed + second.failed);
}

/* All or none: a send either reaches every member or none. */
TEST(send_all_or_none)
{
	struct tally t = {};
	int m[MEMBERS], s = dgram(), i, k, r, err, got;
	struct sockaddr_un a;
	socklen_t len;
	char buf[300];

	ASSERT_EQ(0, injection_ready());
	for (i = 0; i < ROUNDS / 4; i++) {
		len = mcast_new_addr(&a, "fault-", i & 1);
		for (k = 0; k < MEMBERS; k++) {
			m[k] = dgram();
			ASSERT_EQ(0, mcast_join(m[k], &a, len,
						k ? 0 : UNIX_MREQ_DROP_WHEN_FULL));
		}
		for (k = 0; k < 8; k++) {
			int n, size = (i * 8 + k) % (int)sizeof(buf);

			memset(buf, k, size);
			inject(true);
			r = sendto(s, buf, size, MSG_DONTWAIT,
				   (struct sockaddr *)&a, len);
			err = errno;
			inject(false);
			if (r < 0) {
				ASSERT_TRUE(err == ENOBUFS || err == ENOMEM);
				t.failed++;
			} else {
				ASSERT_EQ(size, r);
				t.ok++;
			}
			got = 0;
			for (n = 0; n < MEMBERS; n++) {
				ssize_t l = recv(m[n], buf, sizeof(buf),
						 MSG_DONTWAIT);

				if (l >= 0) {
					ASSERT_EQ(size, l);
					got++;
				}
				ASSERT_EQ(-EAGAIN, recv_now(m[n]));
			}
			ASSERT_EQ(r < 0 ? 0 : MEMBERS, got);
		}
		for (k = 0; k < MEMBERS; k++)
			close(m[k]);
		if (!(i & 1))
			unlink(a.sun_path);
	}
	close(s);
	report("send", &t);
	ASSERT_LT(0, t.failed);
}

/* All or none also when the blocking members' socket filters trim every
 * datagram: each trim of a clone that is partly in pages allocates a buffer
 * of its own (an order-2 page allocation for 20000 bytes on 4 KiB pages),
 * about as many allocations as all the others a send makes, so that the
 * failures counted below include failed trims.
 */
TEST(send_trimmed_all_or_none)
{
	struct sock_filter keep[] = { BPF_STMT(BPF_RET | BPF_K, 100) };
	struct sock_fprog prog = { 1, keep };
	int m[MEMBERS], s = dgram(), i, k, n, r, err, got;
	static char buf[20000];
	struct tally t = {};
	struct sockaddr_un a;
	socklen_t len;

	ASSERT_EQ(0, injection_ready());
	len = mcast_new_addr(&a, "fault-", true);
	for (k = 0; k < MEMBERS; k++) {
		m[k] = dgram();
		ASSERT_EQ(0, mcast_join(m[k], &a, len, 0));
		ASSERT_EQ(0, setsockopt(m[k], SOL_SOCKET, SO_ATTACH_FILTER,
					&prog, sizeof(prog)));
	}
	for (i = 0; i < ROUNDS; i++) {
		memset(buf, i, sizeof(buf));
		inject(true);
		r = sendto(s, buf, sizeof(buf), MSG_DONTWAIT,
			   (struct sockaddr *)&a, len);
		err = errno;
		inject(false);
		if (r < 0) {
			ASSERT_EQ(ENOBUFS, err);
			t.failed++;
		} else {
			ASSERT_EQ(sizeof(buf), r);
			t.ok++;
		}
		got = 0;
		for (n = 0; n < MEMBERS; n++) {
			char rbuf[200];
			ssize_t l = recv(m[n], rbuf, sizeof(rbuf), MSG_DONTWAIT);

			if (l >= 0) {
				ASSERT_EQ(100, l);
				ASSERT_EQ((char)i, rbuf[99]);
				got++;
			}
			ASSERT_EQ(-EAGAIN, recv_now(m[n]));
		}
		ASSERT_EQ(r < 0 ? 0 : MEMBERS, got);
	}
	for (k = 0; k < MEMBERS; k++)
		close(m[k]);
	close(s);
	report("trimmed send", &t);
	ASSERT_LT(0, t.failed);
}

/* A leave that fails changes nothing; close always leaves. */
TEST(leave_and_close)
{
	struct tally t = {};
	struct sockaddr_un a;
	int i, r, err;

	ASSERT_EQ(0, injection_ready());
	for (i = 0; i < ROUNDS; i++) {
		bool abstract = i & 1;
		socklen_t len = mcast_new_addr(&a, "fault-", abstract);
		int m = dgram(), m2 = dgram(), s = dgram();

		ASSERT_EQ(0, mcast_join(m, &a, len, 0));
		ASSERT_EQ(0, mcast_join(m2, &a, len, 0));
		inject(true);
		r = mcast_leave(m2, &a, len);
		err = errno;
		inject(false);
		ASSERT_EQ(1, sendto(s, "l", 1, 0, (struct sockaddr *)&a, len));
		ASSERT_EQ(0, recv_now(m));
		if (r) {
			ASSERT_EQ(ENOMEM, err);
			t.failed++;
			ASSERT_EQ(0, recv_now(m2));
		} else {
			t.ok++;
			ASSERT_EQ(-EAGAIN, recv_now(m2));
		}
		inject(true);
		close(m);
		close(m2);
		inject(false);
		/* Every member closed: the group is gone. */
		ASSERT_EQ(-1, sendto(s, "l", 1, 0, (struct sockaddr *)&a, len));
		ASSERT_EQ(ECONNREFUSED, errno);
		close(s);
		ASSERT_TRUE(group_released(&a, len));
	}
	report("leave", &t);
}

TEST_HARNESS_MAIN
