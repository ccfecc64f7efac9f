// SPDX-License-Identifier: GPL-2.0
/*
 * AF_UNIX multicast groups: no lock shared by unrelated sockets across
 * blocking work. The v2 contract:
 *
 *   Joins, leaves and close() take no global lock; path lookups and binds
 *   run with no lock held. While one join waits on a FUSE LOOKUP that is
 *   never answered, any other socket (same or another network namespace)
 *   can join an abstract group, receive and close at once, and a socket
 *   that joined earlier (any group) can close() at once.
 *
 * The fixture runs a minimal FUSE daemon, written against /dev/fuse, in a
 * mount namespace of the test's own: it answers FUSE_INIT (and GETATTR of
 * its root) and never answers LOOKUP. A child joins the path DIR/x/g on that
 * file system, and waits in the LOOKUP of "x". While it does, each test
 * checks one sentence: the operations must take less than a second ("at
 * once", measured with CLOCK_MONOTONIC by the child that does them); a child
 * still running after CHILD_TIMEOUT seconds is killed and the test fails, so
 * that a kernel where they wait for the stuck join (v1: in D state, on a
 * global mutex) fails instead of hanging.
 *
 * At the end the FUSE connection is aborted (through fusectl, and by the
 * daemon closing /dev/fuse): the stuck join must then return, with an error,
 * within ABORT_TIMEOUT seconds; every child is reaped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/fuse.h>

#include "mcast.h"
#include "kselftest_harness.h"

#define BUDGET		1.0	/* seconds: "at once" */
#define CHILD_TIMEOUT	10.0	/* seconds: then the child is killed */
#define ABORT_TIMEOUT	5.0	/* seconds for the stuck join after the abort */
#define TIMEOUT		90	/* seconds for a whole test */
#define MAX_OTHERS	4

#define FUSE_BUF_SIZE	(1024 * 1024)

/* What a checking child did, for the test to report. */
struct result {
	int step;		/* of the failed operation, 0 if none */
	int err;		/* errno then */
	double elapsed;		/* seconds the operations took */
	char what[128];
};

/* Memory shared by the test, the daemon and the children. */
struct shared {
	int init_done;		/* the daemon answered FUSE_INIT */
	int lookups;		/* LOOKUPs it read (and did not answer) */
	char lookup_name[64];	/* of the last one */
	int stuck_done;		/* the stuck join returned... */
	int stuck_ret;		/* ...this... */
	int stuck_err;		/* ...with this errno */
	struct result res;
};

FIXTURE(fuse)
{
	char dir[64];		/* the FUSE mount point */
	struct shared *sh;
	int ctl;		/* closing it makes the daemon close /dev/fuse */
	int note;		/* the daemon writes a byte here per LOOKUP */
	unsigned int conn;	/* the connection's number in fusectl */
	bool mounted, aborted;
	pid_t daemon, stuck;
	pid_t others[MAX_OTHERS];	/* children killed while still running */
	int nothers;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int dgram(void)
{
	return socket(AF_UNIX, SOCK_DGRAM, 0);
}

/*
 * Wait up to @secs seconds for the child @pid. Returns its wait status, or
 * -1 if it is still running (it is left alone) or cannot be waited for.
 */
static int wait_for(pid_t pid, double secs)
{
	double t0 = now();
	int status;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 || now() - t0 >= secs)
			return -1;
		usleep(10000);
	}
}

/* Wait up to @secs seconds for a byte on @fd: 1 if one came, else 0. */
static int wait_byte(int fd, double secs)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	if (poll(&p, 1, secs * 1000) != 1)
		return 0;
	return read(fd, &c, 1) == 1;
}

/* First thing in every child of the test but the daemon: only the test
 * holds the daemon's control pipe, so that the daemon (and with it the FUSE
 * connection) goes away when the test does, whatever the children do.
 */
static void child_init(struct _test_data_fuse *self)
{
	close(self->ctl);
	close(self->note);
}

/* FUSE daemon */

static int fuse_reply(int fd, uint64_t unique, int error, const void *arg,
		      size_t len)
{
	struct fuse_out_header out = {
		.len = sizeof(out) + len,
		.error = error,
		.unique = unique,
	};
	struct iovec iov[2] = {
		{ .iov_base = &out, .iov_len = sizeof(out) },
		{ .iov_base = (void *)arg, .iov_len = len },
	};

	return writev(fd, iov, len ? 2 : 1) == (ssize_t)out.len ? 0 : -1;
}

static void fuse_init_reply(int fd, const struct fuse_in_header *in)
{
	const struct fuse_init_in *arg = (const void *)(in + 1);
	struct fuse_init_out out = {
		.major = FUSE_KERNEL_VERSION,
		.minor = FUSE_KERNEL_MINOR_VERSION,
		.max_readahead = arg->max_readahead,
		.max_write = 4096,
		.time_gran = 1,
	};

	if (arg->major != FUSE_KERNEL_VERSION) {
		fuse_reply(fd, in->unique, -EPROTO, NULL, 0);
		return;
	}
	if (arg->minor < out.minor)
		out.minor = arg->minor;
	fuse_reply(fd, in->unique, 0, &out, sizeof(out));
}

static void fuse_getattr_reply(int fd, const struct fuse_in_header *in)
{
	struct fuse_attr_out out = {
		.attr_valid = 3600,
		.attr = {
			.ino = FUSE_ROOT_ID,
			.mode = S_IFDIR | 0755,
			.nlink = 2,
			.blksize = 4096,
		},
	};

	if (in->nodeid != FUSE_ROOT_ID)
		fuse_reply(fd, in->unique, -ENOENT, NULL, 0);
	else
		fuse_reply(fd, in->unique, 0, &out, sizeof(out));
}

/*
 * Serve @fd until the test closes the control pipe @ctl (or the connection
 * is aborted): answer FUSE_INIT and GETATTR of the root, never LOOKUP
 * (report it on @note instead), EOPNOTSUPP to the rest. Then close @fd: the
 * connection is aborted, and every request waiting on it fails.
 */
static void
fuse_daemon(int fd, int ctl, int note, struct shared *sh)
{
	static char buf[FUSE_BUF_SIZE];
	struct pollfd p[2] = {
		{ .fd = fd, .events = POLLIN },
		{ .fd = ctl, .events = POLLIN },
	};
	struct fuse_in_header *in = (void *)buf;
	ssize_t n;

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL))
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			/* ENOENT: the request was interrupted meanwhile. */
			if (errno == EINTR || errno == EAGAIN ||
			    errno == ENOENT)
				continue;
			break;
		}
		if (n < (ssize_t)sizeof(*in))
			break;
		switch (in->opcode) {
		case FUSE_INIT:
			fuse_init_reply(fd, in);
			sh->init_done = 1;
			break;
		case FUSE_GETATTR:
			fuse_getattr_reply(fd, in);
			break;
		case FUSE_LOOKUP:
			/* Never answered. */
			snprintf(sh->lookup_name, sizeof(sh->lookup_name),
				 "%.*s", (int)(n - sizeof(*in)),
				 (char *)(in + 1));
			__atomic_add_fetch(&sh->lookups, 1, __ATOMIC_SEQ_CST);
			if (write(note, "L", 1) != 1)
				break;
			break;
		case FUSE_FORGET:
		case FUSE_BATCH_FORGET:
		case FUSE_INTERRUPT:
			break;	/* no reply */
		default:
			fuse_reply(fd, in->unique, -EOPNOTSUPP, NULL, 0);
		}
	}
	close(fd);
	_exit(0);
}

/* The number fusectl gives the connection mounted at @dir (the kernel's
 * dev_t of the superblock), from mountinfo, which does not touch the mount;
 * 0 if not found.
 */
static unsigned int fuse_conn(const char *dir)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	unsigned int maj, min, conn = 0;
	char line[4096], mnt[4096];

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*d %*d %u:%u %*s %4095s", &maj, &min,
			   mnt) == 3 && !strcmp(mnt, dir))
			conn = maj << 20 | min;
	if (f)
		fclose(f);
	return conn;
}

FIXTURE_SETUP(fuse)
{
	int fd, ctl[2], note[2];
	char opts[128];

	self->ctl = -1;
	self->note = -1;
	self->sh = mmap(NULL, sizeof(*self->sh), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->sh);
	memset(self->sh, 0, sizeof(*self->sh));
	snprintf(self->dir, sizeof(self->dir), "/tmp/mcast-fuse-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	/* The mount is seen by the test and its children only. */
	ASSERT_EQ(0, unshare(CLONE_NEWNS));
	ASSERT_EQ(0, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd) {
		TH_LOG("/dev/fuse: %s (CONFIG_FUSE_FS=y is needed)",
		       strerror(errno));
	}
	snprintf(opts, sizeof(opts),
		 "fd=%d,rootmode=40000,user_id=%u,group_id=%u", fd, getuid(),
		 getgid());
	ASSERT_EQ(0, mount("fuse", self->dir, "fuse", MS_NOSUID | MS_NODEV,
			   opts)) {
		TH_LOG("mount fuse: %s", strerror(errno));
	}
	self->mounted = true;
	/* The daemon starts only now: until the mount has attached the
	 * connection to it, /dev/fuse polls as POLLERR, and a daemon that
	 * polled it then would take that for an aborted connection and exit
	 * before reading FUSE_INIT (the mount queues it and does not wait).
	 */
	ASSERT_EQ(0, pipe(ctl));
	ASSERT_EQ(0, pipe(note));
	self->daemon = fork();
	ASSERT_LE(0, self->daemon);
	if (!self->daemon) {
		close(ctl[1]);
		close(note[0]);
		fuse_daemon(fd, ctl[0], note[1], self->sh);
	}
	close(ctl[0]);
	close(note[1]);
	self->ctl = ctl[1];
	self->note = note[0];
	/* Only the daemon holds /dev/fuse: when it closes it, or dies, the
	 * connection is aborted.
	 */
	close(fd);
	self->conn = fuse_conn(self->dir);
}

/* Abort the connection: through fusectl if it can, and by making the daemon
 * close /dev/fuse (it is killed if it does not exit).
 */
static void abort_fuse(struct __test_metadata *_metadata,
		       struct _test_data_fuse *self)
{
	char path[64];
	int fd = -1;

	if (self->aborted)
		return;
	self->aborted = true;
	if (self->conn) {
		snprintf(path, sizeof(path),
			 "/sys/fs/fuse/connections/%u/abort", self->conn);
		fd = open(path, O_WRONLY);
		/* Our mount namespace: fusectl can be mounted for this. */
		if (fd < 0 && !mount("fusectl", "/sys/fs/fuse/connections",
				     "fusectl", 0, NULL))
			fd = open(path, O_WRONLY);
	}
	if (fd >= 0) {
		if (write(fd, "1", 1) != 1)
			TH_LOG("%s: %s", path, strerror(errno));
		close(fd);
	} else {
		TH_LOG("no fusectl abort file (connection %u): closing /dev/fuse only",
		       self->conn);
	}
	if (self->ctl >= 0)
		close(self->ctl);
	self->ctl = -1;
	if (self->daemon > 0 && wait_for(self->daemon, ABORT_TIMEOUT) == -1) {
		kill(self->daemon, SIGKILL);
		wait_for(self->daemon, ABORT_TIMEOUT);
	}
	self->daemon = 0;
}

/*
 * Reap what is left: the stuck join must return once the connection is
 * aborted; children killed for taking too long may need it too (on a kernel
 * where they waited for the stuck join).
 */
FIXTURE_TEARDOWN(fuse)
{
	int status, i;

	abort_fuse(_metadata, self);
	if (self->stuck > 0) {
		status = wait_for(self->stuck, ABORT_TIMEOUT);
		EXPECT_NE(-1, status) {
			TH_LOG("the stuck join did not return %.0f s after %s",
			       ABORT_TIMEOUT, "the FUSE connection was aborted");
			kill(self->stuck, SIGKILL);
		}
		if (status != -1)
			EXPECT_EQ(-1, self->sh->stuck_ret);
	}
	for (i = 0; i < self->nothers; i++) {
		kill(self->others[i], SIGKILL);
		if (wait_for(self->others[i], ABORT_TIMEOUT) == -1)
			TH_LOG("child %d cannot be reaped", self->others[i]);
	}
	if (self->mounted)
		umount2(self->dir, MNT_DETACH);
	rmdir(self->dir);
	munmap(self->sh, sizeof(*self->sh));
}

/* Kill a child that took too long; if it cannot be reaped now (it may wait
 * in the kernel for the stuck join), the teardown reaps it.
 */
static void give_up(struct _test_data_fuse *self, pid_t pid)
{
	kill(pid, SIGKILL);
	if (wait_for(pid, 0.1) == -1 && self->nothers < MAX_OTHERS)
		self->others[self->nothers++] = pid;
}

/* Start a child that joins DIR/x/g and is stuck in the LOOKUP of "x"; return
 * once the daemon has read that LOOKUP.
 */
static void start_stuck(struct __test_metadata *_metadata,
			struct _test_data_fuse *self)
{
	struct shared *sh = self->sh;
	struct sockaddr_un a;
	char path[128];
	socklen_t la;
	int status;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/x/g", self->dir);
	la = mcast_addr(&a, path, 0);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd;

		child_init(self);
		fd = dgram();
		sh->stuck_ret = mcast_join(fd, &a, la, 0);
		sh->stuck_err = errno;
		__atomic_store_n(&sh->stuck_done, 1, __ATOMIC_SEQ_CST);
		_exit(0);
	}
	self->stuck = pid;
	ASSERT_TRUE(wait_byte(self->note, CHILD_TIMEOUT)) {
		TH_LOG("no LOOKUP after %.0f s (FUSE_INIT answered: %d; join returned: %s)",
		       CHILD_TIMEOUT, sh->init_done,
		       sh->stuck_done ? strerror(sh->stuck_err) : "no");
	}
	ASSERT_EQ(0, strcmp(sh->lookup_name, "x"));
	/* It is stuck. */
	ASSERT_EQ(0, waitpid(pid, &status, WNOHANG));
	ASSERT_EQ(0, __atomic_load_n(&sh->stuck_done, __ATOMIC_SEQ_CST));
}

/* Run @check in a child while the join is stuck: it must succeed within
 * BUDGET seconds by its own clock, and the child is killed if it has not
 * finished after CHILD_TIMEOUT seconds.
 */
static void run_check(struct __test_metadata *_metadata,
		      struct _test_data_fuse *self, const char *name,
		      int (*check)(struct result *res))
{
	struct result *res = &self->sh->res;
	int status;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		child_init(self);
		_exit(check(res));
	}
	status = wait_for(pid, CHILD_TIMEOUT);
	if (status == -1)
		give_up(self, pid);
	ASSERT_NE(-1, status) {
		TH_LOG("%s: still not done after %.0f s, while a join waits on FUSE",
		       name, CHILD_TIMEOUT);
	}
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status)) {
		TH_LOG("%s: step %d, %s: %s", name, res->step, res->what,
		       strerror(res->err));
	}
	ASSERT_GT(BUDGET, res->elapsed) {
		TH_LOG("%s: took %.3f s, while a join waits on FUSE", name,
		       res->elapsed);
	}
	TH_LOG("%s: %.6f s", name, res->elapsed);
}

static int check_fail(struct result *res, int step, const char *what,
		      double t0)
{
	res->step = step;
	res->err = errno;
	res->elapsed = now() - t0;
	snprintf(res->what, sizeof(res->what), "%s", what);
	return step;
}

/* Join a fresh abstract group, send to it, receive, (leave,) close. */
static int join_send_recv(struct result *res, bool leave)
{
	struct sockaddr_un a;
	socklen_t la = mcast_new_addr(&a, "fuse", true);
	double t0 = now();
	char buf[8];
	int m, s;

	m = dgram();
	s = dgram();
	if (m < 0 || s < 0)
		return check_fail(res, 1, "socket", t0);
	if (mcast_join(m, &a, la, 0))
		return check_fail(res, 2, "join", t0);
	if (sendto(s, "f", 1, 0, (struct sockaddr *)&a, la) != 1)
		return check_fail(res, 3, "sendto", t0);
	if (recv(m, buf, sizeof(buf), MSG_DONTWAIT) != 1)
		return check_fail(res, 4, "recv", t0);
	if (leave && mcast_leave(m, &a, la))
		return check_fail(res, 5, "leave", t0);
	if (close(m) || close(s))
		return check_fail(res, 6, "close", t0);
	res->elapsed = now() - t0;
	return 0;
}

static int other_netns(struct result *res)
{
	if (unshare(CLONE_NEWNET))
		return check_fail(res, 7, "unshare(CLONE_NEWNET)", now());
	return join_send_recv(res, false);
}

static int same_netns(struct result *res)
{
	return join_send_recv(res, true);
}

/* "any other socket (... another network namespace) can join an abstract
 * group, receive and close at once"
 */
TEST_F_TIMEOUT(fuse, other_netns_join_recv_close, TIMEOUT)
{
	start_stuck(_metadata, self);
	run_check(_metadata, self, "another network namespace", other_netns);
}

/* "any other socket (same ... network namespace) can join an abstract
 * group, receive and close at once"; and leave.
 */
TEST_F_TIMEOUT(fuse, same_netns_join_recv_leave_close, TIMEOUT)
{
	start_stuck(_metadata, self);
	run_check(_metadata, self, "the same network namespace", same_netns);
}

/*
 * "a socket that joined earlier (any group) can close() at once", and
 * "close() leaves every group without any path lookup": a child joins an
 * abstract group with one socket and a path group (not on FUSE) with
 * another before the stuck join starts, then closes both while it is stuck.
 */
TEST_F_TIMEOUT(fuse, earlier_member_closes, TIMEOUT)
{
	int go[2], ready[2], status;
	struct result *res = &self->sh->res;
	pid_t pid;

	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(ready));
	memset(res, 0, sizeof(*res));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct sockaddr_un a, p;
		socklen_t la = mcast_new_addr(&a, "fuse-early", true);
		socklen_t lp = mcast_new_addr(&p, "fuse-early", false);
		double t0 = now();
		int ma, mp;
		char c;

		child_init(self);
		close(go[1]);
		close(ready[0]);
		ma = dgram();
		mp = dgram();
		if (ma < 0 || mp < 0)
			_exit(check_fail(res, 1, "socket", t0));
		if (mcast_join(ma, &a, la, 0))
			_exit(check_fail(res, 2, "join (abstract)", t0));
		if (mcast_join(mp, &p, lp, 0))
			_exit(check_fail(res, 3, "join (path)", t0));
		if (write(ready[1], "r", 1) != 1)
			_exit(check_fail(res, 4, "write", t0));
		if (read(go[0], &c, 1) != 1)
			_exit(check_fail(res, 5, "read: the test gave up", t0));
		t0 = now();
		if (close(ma))
			_exit(check_fail(res, 6, "close (abstract)", t0));
		if (close(mp))
			_exit(check_fail(res, 7, "close (path)", t0));
		res->elapsed = now() - t0;
		unlink(p.sun_path);
		_exit(0);
	}
	close(go[0]);
	close(ready[1]);
	if (!wait_byte(ready[0], CHILD_TIMEOUT)) {
		close(go[1]);
		status = wait_for(pid, CHILD_TIMEOUT);
		ASSERT_TRUE(0) {
			TH_LOG("the member did not join: step %d, %s: %s (status %d)",
			       res->step, res->what, strerror(res->err),
			       status);
		}
	}
	start_stuck(_metadata, self);
	ASSERT_EQ(1, write(go[1], "g", 1));
	status = wait_for(pid, CHILD_TIMEOUT);
	if (status == -1)
		give_up(self, pid);
	ASSERT_NE(-1, status) {
		TH_LOG("%s still not done after %.0f s, while a join waits on FUSE",
		       "close() of the earlier member", CHILD_TIMEOUT);
	}
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status)) {
		TH_LOG("step %d, %s: %s", res->step, res->what,
		       strerror(res->err));
	}
	ASSERT_GT(BUDGET, res->elapsed) {
		TH_LOG("close() of the earlier member took %.3f s",
		       res->elapsed);
	}
	TH_LOG("close() of the earlier members: %.6f s", res->elapsed);
	close(go[1]);
	close(ready[0]);
}

/* The stuck join itself returns, with an error, once the connection is
 * aborted.
 */
TEST_F_TIMEOUT(fuse, stuck_join_returns_after_abort, TIMEOUT)
{
	int status;

	start_stuck(_metadata, self);
	abort_fuse(_metadata, self);
	status = wait_for(self->stuck, ABORT_TIMEOUT);
	ASSERT_NE(-1, status) {
		TH_LOG("the stuck join did not return %.0f s after %s",
		       ABORT_TIMEOUT, "the FUSE connection was aborted");
	}
	self->stuck = 0;
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(-1, self->sh->stuck_ret);
	TH_LOG("the stuck join failed with %s", strerror(self->sh->stuck_err));
}

TEST_HARNESS_MAIN
