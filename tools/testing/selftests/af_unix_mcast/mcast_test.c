// SPDX-License-Identifier: GPL-2.0
/*
 * AF_UNIX multicast groups: one test at least for every sentence of the
 * contract in Documentation/networking/af_unix_multicast.rst, for path and
 * abstract groups.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/sockios.h>

#include "mcast.h"
#include "kselftest_harness.h"

#define QLEN 10		/* net.unix.max_dgram_qlen: a queue holds QLEN + 1 */

FIXTURE(mcast)
{
	struct sockaddr_un addr;
	socklen_t len;
	char name[64];
};

FIXTURE_VARIANT(mcast)
{
	bool abstract;
};

FIXTURE_VARIANT_ADD(mcast, path)
{
	.abstract = false,
};

FIXTURE_VARIANT_ADD(mcast, abstract)
{
	.abstract = true,
};

FIXTURE_SETUP(mcast)
{
	self->len = mcast_new_addr(&self->addr, "", variant->abstract);
}

FIXTURE_TEARDOWN(mcast)
{
	if (!variant->abstract)
		unlink(self->addr.sun_path);
}

static int dgram(void)
{
	return socket(AF_UNIX, SOCK_DGRAM, 0);
}

static int member(struct __test_metadata *_metadata, struct _test_data_mcast *self,
		  unsigned int flags)
{
	int fd = dgram();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mcast_join(fd, &self->addr, self->len, flags));
	return fd;
}

static ssize_t send_to(int fd, struct _test_data_mcast *self, const void *buf,
		       size_t len, int flags)
{
	return sendto(fd, buf, len, flags, (struct sockaddr *)&self->addr,
		      self->len);
}

/* Receive one datagram without waiting: its length, or -errno. */
static ssize_t recv_now(int fd, void *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);

	return n < 0 ? -errno : n;
}

static int queued(int fd)
{
	char buf[16];
	int n = 0;

	while (recv_now(fd, buf, sizeof(buf)) >= 0)
		n++;
	return n;
}

TEST_F(mcast, one_member)
{
	int m = member(_metadata, self, 0), s = dgram();
	char buf[16];

	ASSERT_EQ(5, send_to(s, self, "hello", 5, 0));
	ASSERT_EQ(5, recv_now(m, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "hello", 5));
	ASSERT_EQ(-EAGAIN, recv_now(m, buf, sizeof(buf)));
	close(m);
	close(s);
}

static void fan_out(struct __test_metadata *_metadata,
		    struct _test_data_mcast *self, int n)
{
	int *m = calloc(n, sizeof(int)), s = dgram(), i;
	char buf[16];

	for (i = 0; i < n; i++)
		m[i] = member(_metadata, self, 0);
	ASSERT_EQ(4, send_to(s, self, "data", 4, 0));
	for (i = 0; i < n; i++) {
		ASSERT_EQ(4, recv_now(m[i], buf, sizeof(buf)));
		ASSERT_EQ(0, memcmp(buf, "data", 4));
		ASSERT_EQ(-EAGAIN, recv_now(m[i], buf, sizeof(buf)));
		close(m[i]);
	}
	close(s);
	free(m);
}

TEST_F(mcast, two_members)
{
	fan_out(_metadata, self, 2);
}

TEST_F(mcast, members_200)
{
	fan_out(_metadata, self, 200);
}

TEST_F(mcast, payload_sizes)
{
	int m1 = member(_metadata, self, 0), m2 = member(_metadata, self, 0);
	int s = dgram(), sndbuf, i, j;
	socklen_t optlen = sizeof(sndbuf);
	size_t sizes[] = { 0, 1, 44, 236, 40036, 0 };
	unsigned char *out, *in;

	ASSERT_EQ(0, getsockopt(s, SOL_SOCKET, SO_SNDBUF, &sndbuf, &optlen));
	sizes[5] = sndbuf - 32;	/* the largest the send buffer allows */
	out = malloc(sizes[5] + 1);
	in = malloc(sizes[5] + 1);
	for (i = 0; i < 6; i++) {
		for (j = 0; j < (int)sizes[i]; j++)
			out[j] = (unsigned char)(j * 7 + i);
		ASSERT_EQ(sizes[i], send_to(s, self, out, sizes[i], 0));
		ASSERT_EQ(sizes[i], recv_now(m1, in, sizes[5] + 1));
		ASSERT_EQ(0, memcmp(in, out, sizes[i]));
		memset(in, 0, sizes[i]);
		ASSERT_EQ(sizes[i], recv_now(m2, in, sizes[5] + 1));
		ASSERT_EQ(0, memcmp(in, out, sizes[i]));
	}
	/* One byte more is refused as for any datagram. */
	ASSERT_EQ(-1, send_to(s, self, out, sizes[5] + 1, 0));
	ASSERT_EQ(EMSGSIZE, errno);
	free(out);
	free(in);
	close(m1);
	close(m2);
	close(s);
}

TEST_F(mcast, sender_address)
{
	int m = member(_metadata, self, 0), s = dgram();
	struct sockaddr_un from, sa;
	socklen_t fromlen = sizeof(from), salen;
	char buf[16];

	salen = mcast_new_addr(&sa, "", variant->abstract);
	ASSERT_EQ(0, bind(s, (struct sockaddr *)&sa, salen));
	ASSERT_EQ(2, send_to(s, self, "hi", 2, 0));
	ASSERT_EQ(2, recvfrom(m, buf, sizeof(buf), MSG_DONTWAIT,
			      (struct sockaddr *)&from, &fromlen));
	ASSERT_EQ(salen, fromlen);
	ASSERT_EQ(0, memcmp(&from, &sa, fromlen - (variant->abstract ? 0 : 1)));
	if (!variant->abstract)
		unlink(sa.sun_path);
	close(m);
	close(s);
}

/* The credentials a member sees, or -1 if none came. */
static int recv_creds(int fd, struct ucred *uc)
{
	char cbuf[CMSG_SPACE(sizeof(*uc))], buf[16];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;

	if (recvmsg(fd, &msg, MSG_DONTWAIT) < 0)
		return -2;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_CREDENTIALS) {
			memcpy(uc, CMSG_DATA(c), sizeof(*uc));
			return 0;
		}
	}
	return -1;
}

TEST_F(mcast, credentials)
{
	int m1 = member(_metadata, self, 0), m2 = member(_metadata, self, 0);
	int s = dgram(), one = 1;
	struct ucred uc;

	ASSERT_EQ(0, setsockopt(m1, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)));
	ASSERT_EQ(1, send_to(s, self, "c", 1, 0));
	ASSERT_EQ(0, recv_creds(m1, &uc));
	ASSERT_EQ(getpid(), uc.pid);
	ASSERT_EQ(getuid(), uc.uid);
	ASSERT_EQ(getgid(), uc.gid);
	/* Only members that asked get them. */
	ASSERT_EQ(-1, recv_creds(m2, &uc));
	close(m1);
	close(m2);
	close(s);
}

TEST_F(mcast, loop)
{
	int m = member(_metadata, self, 0);
	char buf[16];

	ASSERT_EQ(4, send_to(m, self, "self", 4, 0));
	ASSERT_EQ(4, recv_now(m, buf, sizeof(buf)));
	close(m);
}

TEST_F(mcast, no_loop)
{
	int m = member(_metadata, self, UNIX_MREQ_NO_LOOP);
	int other = member(_metadata, self, 0);
	char buf[16];

	ASSERT_EQ(4, send_to(m, self, "self", 4, 0));
	ASSERT_EQ(-EAGAIN, recv_now(m, buf, sizeof(buf)));
	ASSERT_EQ(4, recv_now(other, buf, sizeof(buf)));
	/* Others' datagrams still reach it. */
	ASSERT_EQ(4, send_to(other, self, "peer", 4, 0));
	ASSERT_EQ(4, recv_now(m, buf, sizeof(buf)));
	close(m);
	close(other);
}

TEST_F(mcast, connect_and_send)
{
	int m = member(_metadata, self, 0), s = dgram();
	char buf[16];

	ASSERT_EQ(0, connect(s, (struct sockaddr *)&self->addr, self->len));
	ASSERT_EQ(3, send(s, "abc", 3, 0));
	ASSERT_EQ(3, recv_now(m, buf, sizeof(buf)));
	close(m);
	close(s);
}

#define SENDERS 4
#define PER_SENDER 300
#define MEMBERS 3

/* Four senders at once: every member sees the same order. */
TEST_F(mcast, order_concurrent_senders)
{
	int total = SENDERS * PER_SENDER, m[MEMBERS], i, j, status;
	unsigned int *seen;
	pid_t pid[SENDERS + MEMBERS];

	seen = mmap(NULL, sizeof(int) * total * MEMBERS, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, seen);
	for (i = 0; i < MEMBERS; i++)
		m[i] = member(_metadata, self, 0);

	for (i = 0; i < MEMBERS; i++) {
		pid[i] = fork();
		ASSERT_LE(0, pid[i]);
		if (!pid[i]) {
			for (j = 0; j < total; j++)
				if (recv(m[i], &seen[i * total + j],
					 sizeof(int), 0) != sizeof(int))
					_exit(1);
			_exit(0);
		}
	}
	for (i = 0; i < SENDERS; i++) {
		pid[MEMBERS + i] = fork();
		ASSERT_LE(0, pid[MEMBERS + i]);
		if (!pid[MEMBERS + i]) {
			int s = dgram();

			for (j = 0; j < PER_SENDER; j++) {
				unsigned int v = i << 16 | j;

				if (send_to(s, self, &v, sizeof(v), 0) !=
				    sizeof(v))
					_exit(1);
			}
			_exit(0);
		}
	}
	for (i = 0; i < SENDERS + MEMBERS; i++) {
		ASSERT_EQ(pid[i], waitpid(pid[i], &status, 0));
		ASSERT_EQ(0, status);
	}
	for (i = 1; i < MEMBERS; i++)
		ASSERT_EQ(0, memcmp(seen, &seen[i * total],
				    sizeof(int) * total));
	/* And each sender's datagrams in the order it sent them. */
	for (i = 0; i < SENDERS; i++) {
		int next = 0;

		for (j = 0; j < total; j++)
			if (seen[j] >> 16 == (unsigned int)i)
				ASSERT_EQ(next++, (int)(seen[j] & 0xffff));
		ASSERT_EQ(PER_SENDER, next);
	}
	for (i = 0; i < MEMBERS; i++)
		close(m[i]);
	munmap(seen, sizeof(int) * total * MEMBERS);
}

/* Fill @fd's queue from @s: QLEN + 1 datagrams fit. */
static void fill(struct __test_metadata *_metadata, struct _test_data_mcast *self,
		 int s)
{
	int i;

	for (i = 0; i < QLEN + 1; i++)
		ASSERT_EQ(1, send_to(s, self, "f", 1, MSG_DONTWAIT));
}

TEST_F(mcast, blocking_member_full_dontwait)
{
	int b = member(_metadata, self, 0), d = member(_metadata, self, 0);
	int s = dgram();
	char buf[16];

	fill(_metadata, self, s);
	/* d has room after a read, b does not: nobody gets the datagram. */
	ASSERT_EQ(1, recv_now(d, buf, sizeof(buf)));
	ASSERT_EQ(-1, send_to(s, self, "x", 1, MSG_DONTWAIT));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(QLEN, queued(d));
	ASSERT_EQ(QLEN + 1, queued(b));
	/* Room again: it goes through. */
	ASSERT_EQ(1, send_to(s, self, "y", 1, MSG_DONTWAIT));
	ASSERT_EQ(1, queued(b));
	ASSERT_EQ(1, queued(d));
	close(b);
	close(d);
	close(s);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

TEST_F(mcast, blocking_member_full_waits)
{
	int b = member(_metadata, self, 0), s = dgram(), status;
	double t0;
	char buf[16];
	pid_t pid;

	fill(_metadata, self, s);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		usleep(300000);
		_exit(recv(b, buf, sizeof(buf), 0) == 1 ? 0 : 1);
	}
	t0 = now();
	ASSERT_EQ(1, send_to(s, self, "w", 1, 0));
	ASSERT_LE(0.2, now() - t0);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	ASSERT_EQ(QLEN + 1, queued(b));
	close(b);
	close(s);
}

TEST_F(mcast, blocking_member_full_sndtimeo)
{
	int b = member(_metadata, self, 0), s = dgram();
	struct timeval tv = { .tv_usec = 200000 };
	double t0;

	fill(_metadata, self, s);
	ASSERT_EQ(0, setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)));
	t0 = now();
	ASSERT_EQ(-1, send_to(s, self, "t", 1, 0));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_LE(0.15, now() - t0);
	ASSERT_EQ(QLEN + 1, queued(b));
	close(b);
	close(s);
}

static void on_alarm(int sig)
{
}

TEST_F(mcast, blocking_member_full_signal)
{
	int b = member(_metadata, self, 0), s = dgram();
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { .it_value.tv_usec = 200000 };

	fill(_metadata, self, s);
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	ASSERT_EQ(-1, send_to(s, self, "i", 1, 0));
	ASSERT_EQ(EINTR, errno);
	ASSERT_EQ(QLEN + 1, queued(b));
	close(b);
	close(s);
}

/* The drop count the SO_RXQ_OVFL message of the next datagram carries,
 * 0 if it carries none, or -1 if no datagram came.
 */
static long recv_drops(int fd)
{
	char cbuf[CMSG_SPACE(sizeof(__u32))], buf[16];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;
	__u32 drops;

	if (recvmsg(fd, &msg, MSG_DONTWAIT) < 0)
		return -1;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
			memcpy(&drops, CMSG_DATA(c), sizeof(drops));
			return drops;
		}
	}
	return 0;
}

TEST_F(mcast, drop_when_full)
{
	int d = member(_metadata, self, UNIX_MREQ_DROP_WHEN_FULL);
	int b = member(_metadata, self, 0), s = dgram(), one = 1, i;

	ASSERT_EQ(0, setsockopt(d, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)));
	fill(_metadata, self, s);
	ASSERT_EQ(QLEN + 1, queued(b));
	/* d is full: it loses these three, b gets them, the sender never
	 * waits.
	 */
	for (i = 0; i < 3; i++)
		ASSERT_EQ(1, send_to(s, self, "d", 1, MSG_DONTWAIT));
	ASSERT_EQ(3, queued(b));
	for (i = 0; i < QLEN + 1; i++)
		ASSERT_EQ(0, recv_drops(d));
	ASSERT_EQ(-1, recv_drops(d));
	/* The next datagram carries the total. */
	ASSERT_EQ(1, send_to(s, self, "n", 1, MSG_DONTWAIT));
	ASSERT_EQ(3, recv_drops(d));
	ASSERT_EQ(1, queued(b));
	close(b);
	close(d);
	close(s);
}

TEST_F(mcast, close_with_queued)
{
	int a = member(_metadata, self, 0), b = member(_metadata, self, 0);
	int s = dgram();
	char buf[16];

	ASSERT_EQ(1, send_to(s, self, "q", 1, 0));
	ASSERT_EQ(1, send_to(s, self, "r", 1, 0));
	close(a);
	ASSERT_EQ(1, send_to(s, self, "s", 1, 0));
	ASSERT_EQ(3, queued(b));
	(void)buf;
	close(b);
	close(s);
}

TEST_F(mcast, member_exits_while_sender_blocked)
{
	int keep = member(_metadata, self, UNIX_MREQ_DROP_WHEN_FULL);
	int s = dgram(), ready[2], status;
	char c;
	pid_t pid;

	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int b = dgram();

		if (mcast_join(b, &self->addr, self->len, 0))
			_exit(1);
		if (write(ready[1], "j", 1) != 1)
			_exit(1);
		usleep(300000);
		_exit(0);	/* with its queue full and a sender waiting */
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	fill(_metadata, self, s);
	ASSERT_EQ(1, send_to(s, self, "e", 1, 0));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	ASSERT_EQ(QLEN + 1, queued(keep));
	close(keep);
	close(s);
	close(ready[0]);
	close(ready[1]);
}

TEST_F(mcast, blocking_member_leaves_while_sender_blocked)
{
	int keep = member(_metadata, self, UNIX_MREQ_DROP_WHEN_FULL);
	int b = member(_metadata, self, 0), s = dgram(), status;
	pid_t pid;

	fill(_metadata, self, s);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		usleep(300000);
		_exit(mcast_leave(b, &self->addr, self->len) ? 1 : 0);
	}
	ASSERT_EQ(1, send_to(s, self, "l", 1, 0));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	close(b);
	close(keep);
	close(s);
}

TEST_F(mcast, last_member_leaves)
{
	int m = member(_metadata, self, 0), s = dgram(), fd;
	struct stat st;

	ASSERT_EQ(0, mcast_leave(m, &self->addr, self->len));
	/* The group is gone: sending finds no one, as unicast would. */
	ASSERT_EQ(-1, send_to(s, self, "g", 1, 0));
	ASSERT_EQ(ECONNREFUSED, errno);
	ASSERT_EQ(-1, mcast_leave(m, &self->addr, self->len));
	ASSERT_EQ(ENOENT, errno);
	if (variant->abstract) {
		/* Its address is free again. */
		fd = dgram();
		ASSERT_EQ(0, bind(fd, (struct sockaddr *)&self->addr,
				  self->len));
		close(fd);
	} else {
		/* Its socket file stays, like any closed socket's. */
		ASSERT_EQ(0, stat(self->addr.sun_path, &st));
		ASSERT_TRUE(S_ISSOCK(st.st_mode));
	}
	close(m);
	close(s);
}

TEST_F(mcast, close_leaves)
{
	int m = member(_metadata, self, 0), s = dgram();

	close(m);
	ASSERT_EQ(-1, send_to(s, self, "g", 1, 0));
	ASSERT_EQ(ECONNREFUSED, errno);
	close(s);
}

TEST_F(mcast, bind_to_group_eaddrinuse)
{
	int m = member(_metadata, self, 0), fd = dgram();

	ASSERT_EQ(-1, bind(fd, (struct sockaddr *)&self->addr, self->len));
	ASSERT_EQ(EADDRINUSE, errno);
	close(fd);
	close(m);
}

TEST_F(mcast, join_bound_address_eaddrinuse)
{
	int fd = dgram(), m = dgram();

	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&self->addr, self->len));
	ASSERT_EQ(-1, mcast_join(m, &self->addr, self->len, 0));
	ASSERT_EQ(EADDRINUSE, errno);
	close(fd);
	close(m);
}

TEST_F(mcast, join_twice_ealready)
{
	int m = member(_metadata, self, 0);

	ASSERT_EQ(-1, mcast_join(m, &self->addr, self->len, 0));
	ASSERT_EQ(EALREADY, errno);
	close(m);
}

TEST_F(mcast, leave_not_joined_einval)
{
	int m = member(_metadata, self, 0), other = dgram();

	ASSERT_EQ(-1, mcast_leave(other, &self->addr, self->len));
	ASSERT_EQ(EINVAL, errno);
	close(m);
	close(other);
}

TEST_F(mcast, leave_no_group_enoent)
{
	int m = dgram(), fd = dgram();

	ASSERT_EQ(-1, mcast_leave(m, &self->addr, self->len));
	ASSERT_EQ(ENOENT, errno);
	/* An ordinary socket's address is no group either. */
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&self->addr, self->len));
	ASSERT_EQ(-1, mcast_leave(m, &self->addr, self->len));
	ASSERT_EQ(ENOENT, errno);
	close(m);
	close(fd);
}

TEST_F(mcast, only_dgram_joins)
{
	int types[] = { SOCK_STREAM, SOCK_SEQPACKET }, i, fd;

	for (i = 0; i < 2; i++) {
		fd = socket(AF_UNIX, types[i], 0);
		ASSERT_LE(0, fd);
		ASSERT_EQ(-1, mcast_join(fd, &self->addr, self->len, 0));
		ASSERT_EQ(EINVAL, errno);
		close(fd);
	}
}

TEST_F(mcast, plain_sockaddr_form)
{
	int m = dgram(), s = dgram();
	char buf[8];

	ASSERT_EQ(0, setsockopt(m, SOL_UNIX, UNIX_ADD_MEMBERSHIP, &self->addr,
				self->len));
	ASSERT_EQ(1, send_to(s, self, "p", 1, 0));
	ASSERT_EQ(1, recv_now(m, buf, sizeof(buf)));
	ASSERT_EQ(0, mcast_leave(m, &self->addr, self->len));
	close(m);
	close(s);
}

TEST_F(mcast, bad_flags_einval)
{
	int m = dgram();

	ASSERT_EQ(-1, mcast_join(m, &self->addr, self->len, 4));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, mcast_join(m, &self->addr, self->len, ~0u));
	ASSERT_EQ(EINVAL, errno);
	/* A failed join leaves nothing behind. */
	if (!variant->abstract)
		ASSERT_EQ(-1, access(self->addr.sun_path, F_OK));
	close(m);
}

/* The two bytes of padding after umr_addr do not matter: a program that does
 * not clear the structure still joins.
 */
TEST_F(mcast, mreq_padding_ignored)
{
	struct unix_mreq mreq;
	int m = dgram(), s = dgram();
	char buf[8];

	memset(&mreq, 0xa5, sizeof(mreq));
	mreq.umr_addr = self->addr;
	mreq.umr_addrlen = self->len;
	mreq.umr_flags = 0;
	ASSERT_EQ(0, setsockopt(m, SOL_UNIX, UNIX_ADD_MEMBERSHIP, &mreq,
				sizeof(mreq)));
	ASSERT_EQ(1, send_to(s, self, "p", 1, 0));
	ASSERT_EQ(1, recv_now(m, buf, sizeof(buf)));
	close(m);
	close(s);
}

/* Found by mcast_fuzz: a leave in the unix_mreq form ignores umr_flags. */
TEST_F(mcast, leave_ignores_flags)
{
	int m = member(_metadata, self, UNIX_MREQ_NO_LOOP);
	struct unix_mreq mreq = {
		.umr_addr = self->addr,
		.umr_addrlen = self->len,
		.umr_flags = ~0u,
	};

	ASSERT_EQ(0, setsockopt(m, SOL_UNIX, UNIX_DROP_MEMBERSHIP, &mreq,
				sizeof(mreq)));
	/* It did leave. */
	ASSERT_EQ(-1, mcast_leave(m, &self->addr, self->len));
	ASSERT_EQ(ENOENT, errno);
	close(m);
}

TEST_F(mcast, bad_optlen_einval)
{
	char big[4096] = {};
	unsigned int lens[] = {
		0, 1, 2, sizeof(struct sockaddr_un) + 1,
		sizeof(struct unix_mreq) - 1, sizeof(struct unix_mreq) + 1,
		sizeof(big),
	};
	int m = dgram(), i;

	memcpy(big, &self->addr, self->len);
	for (i = 0; i < (int)ARRAY_SIZE(lens); i++) {
		ASSERT_EQ(-1, setsockopt(m, SOL_UNIX, UNIX_ADD_MEMBERSHIP, big,
					 lens[i]));
		ASSERT_EQ(EINVAL, errno);
	}
	ASSERT_EQ(-1, setsockopt(m, SOL_UNIX, UNIX_ADD_MEMBERSHIP, big,
				 0x7fffffff));
	ASSERT_EQ(EINVAL, errno);
	close(m);
}

TEST_F(mcast, bad_optval_efault)
{
	void *unmapped = mmap(NULL, 4096, PROT_NONE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int m = dgram();

	ASSERT_EQ(-1, setsockopt(m, SOL_UNIX, UNIX_ADD_MEMBERSHIP, NULL,
				 self->len));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-1, setsockopt(m, SOL_UNIX, UNIX_ADD_MEMBERSHIP, unmapped,
				 sizeof(struct unix_mreq)));
	ASSERT_EQ(EFAULT, errno);
	munmap(unmapped, 4096);
	close(m);
}

TEST_F(mcast, bad_family_einval)
{
	struct sockaddr_un a = self->addr;
	int m = dgram();

	a.sun_family = AF_INET;
	ASSERT_EQ(-1, mcast_join(m, &a, self->len, 0));
	ASSERT_EQ(EINVAL, errno);
	close(m);
}

TEST_F(mcast, unknown_option_enoprotoopt)
{
	int m = dgram();

	ASSERT_EQ(-1, setsockopt(m, SOL_UNIX, 99, &self->addr, self->len));
	ASSERT_EQ(ENOPROTOOPT, errno);
	close(m);
}

TEST_F(mcast, stream_connect_to_group)
{
	int m = member(_metadata, self, 0), fd = socket(AF_UNIX, SOCK_STREAM, 0);

	ASSERT_EQ(-1, connect(fd, (struct sockaddr *)&self->addr, self->len));
	ASSERT_EQ(variant->abstract ? ECONNREFUSED : EPROTOTYPE, errno);
	close(fd);
	close(m);
}

TEST_F(mcast, scm_rights_eopnotsupp)
{
	int m = member(_metadata, self, 0), s = dgram(), fd = 0;
	char cbuf[CMSG_SPACE(sizeof(int))], buf[8];
	struct iovec iov = { "x", 1 };
	struct msghdr msg = {
		.msg_name = &self->addr, .msg_namelen = self->len,
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(fd));
	ASSERT_EQ(-1, sendmsg(s, &msg, 0));
	ASSERT_EQ(EOPNOTSUPP, errno);
	ASSERT_EQ(-EAGAIN, recv_now(m, buf, sizeof(buf)));
	close(m);
	close(s);
}

TEST_F(mcast, socket_filter)
{
	struct sock_filter drop_all[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	struct sock_fprog prog = { 1, drop_all };
	int f = member(_metadata, self, 0), m = member(_metadata, self, 0);
	int s = dgram();
	char buf[8];

	ASSERT_EQ(0, setsockopt(f, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
				sizeof(prog)));
	ASSERT_EQ(1, send_to(s, self, "f", 1, 0));
	ASSERT_EQ(-EAGAIN, recv_now(f, buf, sizeof(buf)));
	ASSERT_EQ(1, recv_now(m, buf, sizeof(buf)));
	close(f);
	close(m);
	close(s);
}

TEST_F(mcast, unbound_members_and_groups_independent)
{
	struct sockaddr_un a2;
	socklen_t l2 = mcast_new_addr(&a2, "", variant->abstract);
	int m1 = member(_metadata, self, 0), m2 = dgram(), s = dgram();
	char buf[8];

	ASSERT_EQ(0, mcast_join(m2, &a2, l2, 0));
	ASSERT_EQ(1, sendto(s, "2", 1, 0, (struct sockaddr *)&a2, l2));
	ASSERT_EQ(-EAGAIN, recv_now(m1, buf, sizeof(buf)));
	ASSERT_EQ(1, recv_now(m2, buf, sizeof(buf)));
	close(m1);
	close(m2);
	close(s);
	if (!variant->abstract)
		unlink(a2.sun_path);
}

TEST_F(mcast, membership_limit)
{
	struct sockaddr_un a[5];
	socklen_t l[5];
	int m = dgram(), fd, i;
	char old[16] = {};

	fd = open("/proc/sys/net/unix/max_memberships", O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_LT(0, read(fd, old, sizeof(old) - 1));
	ASSERT_EQ(64, atoi(old));
	ASSERT_EQ(1, pwrite(fd, "4", 1, 0));
	for (i = 0; i < 5; i++)
		l[i] = mcast_new_addr(&a[i], "", variant->abstract);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, mcast_join(m, &a[i], l[i], 0));
	ASSERT_EQ(-1, mcast_join(m, &a[4], l[4], 0));
	ASSERT_EQ(ENOBUFS, errno);
	if (!variant->abstract)
		ASSERT_EQ(-1, access(a[4].sun_path, F_OK));
	ASSERT_EQ((ssize_t)strlen(old), pwrite(fd, old, strlen(old), 0));
	close(fd);
	close(m);
	for (i = 0; i < 5 && !variant->abstract; i++)
		unlink(a[i].sun_path);
}

TEST_F(mcast, clones_charged_to_sender)
{
	int m1 = member(_metadata, self, 0), m2 = member(_metadata, self, 0);
	int s = dgram(), outq = -1;
	char buf[64] = {};

	ASSERT_EQ(0, ioctl(s, SIOCOUTQ, &outq));
	ASSERT_EQ(0, outq);
	ASSERT_EQ(sizeof(buf), send_to(s, self, buf, sizeof(buf), 0));
	/* Both clones wait in the members' queues, charged to the sender. */
	ASSERT_EQ(0, ioctl(s, SIOCOUTQ, &outq));
	ASSERT_LT(2 * (int)sizeof(buf), outq);
	ASSERT_EQ(1, queued(m1));
	ASSERT_EQ(0, ioctl(s, SIOCOUTQ, &outq));
	ASSERT_LT(0, outq);
	ASSERT_EQ(1, queued(m2));
	ASSERT_EQ(0, ioctl(s, SIOCOUTQ, &outq));
	ASSERT_EQ(0, outq);
	close(m1);
	close(m2);
	close(s);
}

TEST_F(mcast, send_to_nothing_as_unicast)
{
	int s = dgram();

	/* No group and no socket: the errors of unicast. */
	ASSERT_EQ(-1, send_to(s, self, "z", 1, 0));
	ASSERT_EQ(variant->abstract ? ECONNREFUSED : ENOENT, errno);
	close(s);
}

/* A blocking member that shut down reading never makes room: it does not
 * hold senders back, and gets nothing more.
 */
TEST_F(mcast, shut_down_member_does_not_block)
{
	int b = member(_metadata, self, 0), m = member(_metadata, self, 0);
	int s = dgram();

	fill(_metadata, self, s);
	ASSERT_EQ(QLEN + 1, queued(m));
	ASSERT_EQ(0, shutdown(b, SHUT_RD));
	ASSERT_EQ(1, send_to(s, self, "s", 1, MSG_DONTWAIT));
	ASSERT_EQ(1, queued(m));
	close(b);
	close(m);
	close(s);
}

/* As for unicast, a sender never waits for its own queue. */
TEST_F(mcast, sender_never_waits_for_itself)
{
	int m = member(_metadata, self, 0), i;

	for (i = 0; i < QLEN + 1; i++)
		ASSERT_EQ(1, send_to(m, self, "o", 1, MSG_DONTWAIT));
	ASSERT_EQ(1, send_to(m, self, "o", 1, MSG_DONTWAIT));
	ASSERT_EQ(QLEN + 2, queued(m));
	close(m);
}

/* Abstract names may hold NULs; they are compared byte for byte. */
TEST(abstract_embedded_nul)
{
	struct sockaddr_un a, b;
	socklen_t la = mcast_addr(&a, "\0a\0b", 4), lb = mcast_addr(&b, "\0a\0c", 4);
	int ma = dgram(), mb = dgram(), s = dgram();
	char buf[8];

	ASSERT_EQ(0, mcast_join(ma, &a, la, 0));
	ASSERT_EQ(0, mcast_join(mb, &b, lb, 0));
	ASSERT_EQ(1, sendto(s, "a", 1, 0, (struct sockaddr *)&a, la));
	ASSERT_EQ(1, recv_now(ma, buf, sizeof(buf)));
	ASSERT_EQ(-EAGAIN, recv_now(mb, buf, sizeof(buf)));
	close(ma);
	close(mb);
	close(s);
}

/* An abstract group lives in its creator's network namespace. */
TEST(netns_isolation)
{
	struct sockaddr_un a;
	socklen_t la = mcast_addr(&a, "\0mcast-netns", 12);
	int m = dgram(), s = dgram(), status, p[2];
	char buf[8];
	pid_t pid;

	ASSERT_EQ(0, mcast_join(m, &a, la, 0));
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int cm, cs;

		if (unshare(CLONE_NEWNET))
			_exit(1);
		cm = dgram();
		cs = dgram();
		/* The same name is free here, and a group of its own. */
		if (mcast_join(cm, &a, la, 0))
			_exit(2);
		if (sendto(cs, "n", 1, 0, (struct sockaddr *)&a, la) != 1)
			_exit(3);
		if (recv_now(cm, buf, sizeof(buf)) != 1)
			_exit(4);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	ASSERT_EQ(-EAGAIN, recv_now(m, buf, sizeof(buf)));
	ASSERT_EQ(1, sendto(s, "i", 1, 0, (struct sockaddr *)&a, la));
	ASSERT_EQ(1, recv_now(m, buf, sizeof(buf)));
	close(m);
	close(s);
	close(p[0]);
	close(p[1]);
}

/* A path group is created as bind() would, and joining it needs write
 * permission on its socket file, as connect() does.
 */
TEST(path_permissions)
{
	struct sockaddr_un a, b;
	socklen_t la, lb;
	int m = dgram(), o = dgram(), status;
	struct stat sa, sb;
	mode_t old;
	pid_t pid;

	la = mcast_addr(&a, "/tmp/mcast-perm-group", 0);
	lb = mcast_addr(&b, "/tmp/mcast-perm-bound", 0);
	unlink(a.sun_path);
	unlink(b.sun_path);
	old = umask(077);
	ASSERT_EQ(0, mcast_join(m, &a, la, 0));
	ASSERT_EQ(0, bind(o, (struct sockaddr *)&b, lb));
	umask(old);
	ASSERT_EQ(0, stat(a.sun_path, &sa));
	ASSERT_EQ(0, stat(b.sun_path, &sb));
	ASSERT_TRUE(S_ISSOCK(sa.st_mode));
	ASSERT_EQ(sb.st_mode, sa.st_mode);
	ASSERT_EQ(0700, sa.st_mode & 0777);

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int u;

		if (setgid(65534) || setuid(65534))
			_exit(1);
		u = dgram();
		if (mcast_join(u, &a, la, 0) != -1 || errno != EACCES)
			_exit(2);
		if (sendto(u, "u", 1, 0, (struct sockaddr *)&a, la) != -1 ||
		    errno != EACCES)
			_exit(3);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	close(m);
	close(o);
	unlink(a.sun_path);
	unlink(b.sun_path);
}

/* A join that fails leaves no socket file. */
TEST(failed_join_leaves_nothing)
{
	struct sockaddr_un a;
	socklen_t la = mcast_addr(&a, "/tmp/mcast-no-such-dir/g", 0);
	int m = dgram();

	ASSERT_EQ(-1, mcast_join(m, &a, la, 0));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_EQ(-1, access(a.sun_path, F_OK));
	close(m);
}

/* A path that fills sun_path without a terminating NUL is taken whole, as
 * bind() takes it, in both forms of the option value.
 */
TEST(path_not_nul_terminated)
{
	struct sockaddr_un a;
	int m = dgram(), m2 = dgram(), o = dgram(), s = dgram();
	struct unix_mreq mreq = {};
	char path[sizeof(a.sun_path) + 1], buf[8];
	struct stat st;
	int n;

	n = snprintf(path, sizeof(path), "/tmp/mcast-108-%d-", getpid());
	memset(path + n, 'x', sizeof(a.sun_path) - n);
	path[sizeof(a.sun_path)] = '\0';
	unlink(path);
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	memcpy(a.sun_path, path, sizeof(a.sun_path));

	ASSERT_EQ(0, setsockopt(m, SOL_UNIX, UNIX_ADD_MEMBERSHIP, &a,
				sizeof(a)));
	ASSERT_EQ(0, stat(path, &st));
	ASSERT_TRUE(S_ISSOCK(st.st_mode));
	mreq.umr_addr = a;
	mreq.umr_addrlen = sizeof(a);
	ASSERT_EQ(0, setsockopt(m2, SOL_UNIX, UNIX_ADD_MEMBERSHIP, &mreq,
				sizeof(mreq)));
	ASSERT_EQ(-1, bind(o, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_EQ(EADDRINUSE, errno);
	ASSERT_EQ(1, sendto(s, "t", 1, 0, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_EQ(1, recv_now(m, buf, sizeof(buf)));
	ASSERT_EQ(1, recv_now(m2, buf, sizeof(buf)));
	ASSERT_EQ(0, setsockopt(m2, SOL_UNIX, UNIX_DROP_MEMBERSHIP, &mreq,
				sizeof(mreq)));
	ASSERT_EQ(0, setsockopt(m, SOL_UNIX, UNIX_DROP_MEMBERSHIP, &a,
				sizeof(a)));
	close(m);
	close(m2);
	close(o);
	close(s);
	unlink(path);
}

/* Confine the caller with Landlock: no abstract socket created outside its
 * domain may be reached.
 */
static int landlock_scope_abstract(void)
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

/* security_unix_may_send() is asked for each member: a member the LSM
 * denies to this sender does not get the datagram; the others do. Landlock
 * denies a scoped sender the abstract sockets bound outside its domain.
 */
TEST(lsm_denies_member)
{
	struct sockaddr_un g, n, w;
	socklen_t lg = mcast_addr(&g, "\0mcast-lsm-group", 16);
	socklen_t ln = mcast_addr(&n, "\0mcast-lsm-named", 16);
	socklen_t lw = mcast_addr(&w, "\0mcast-lsm-within", 17);
	int named = dgram(), unbound = dgram(), s = dgram(), status, abi;
	char buf[8];
	pid_t pid;

	abi = syscall(__NR_landlock_create_ruleset, NULL, 0,
		      LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 6)
		SKIP(return, "no Landlock with abstract socket scoping (ABI 6)");

	ASSERT_EQ(0, bind(named, (struct sockaddr *)&n, ln));
	ASSERT_EQ(0, mcast_join(named, &g, lg, 0));
	ASSERT_EQ(0, mcast_join(unbound, &g, lg, 0));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int within, cs;

		if (landlock_scope_abstract())
			_exit(1);
		/* Landlock places a socket in the domain of the task that
		 * created it: these two are created inside it.
		 */
		within = dgram();
		cs = dgram();
		/* Bound inside the domain: reachable. */
		if (bind(within, (struct sockaddr *)&w, lw) ||
		    mcast_join(within, &g, lg, 0))
			_exit(2);
		if (sendto(cs, "l", 1, 0, (struct sockaddr *)&g, lg) != 1)
			_exit(3);
		if (recv_now(within, buf, sizeof(buf)) != 1)
			_exit(4);
		/* As unicast to the same socket is denied. */
		if (sendto(cs, "u", 1, 0, (struct sockaddr *)&n, ln) != -1 ||
		    errno != EPERM)
			_exit(5);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	ASSERT_EQ(1, recv_now(unbound, buf, sizeof(buf)));
	ASSERT_EQ('l', buf[0]);
	ASSERT_EQ(-EAGAIN, recv_now(named, buf, sizeof(buf)));
	/* An unconfined sender reaches every member. */
	ASSERT_EQ(1, sendto(s, "p", 1, 0, (struct sockaddr *)&g, lg));
	ASSERT_EQ(1, recv_now(named, buf, sizeof(buf)));
	ASSERT_EQ(1, recv_now(unbound, buf, sizeof(buf)));
	close(named);
	close(unbound);
	close(s);
}

TEST_HARNESS_MAIN
