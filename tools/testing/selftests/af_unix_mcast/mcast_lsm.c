// SPDX-License-Identifier: GPL-2.0
/*
 * AF_UNIX multicast groups and Landlock: the v2 contract, "Groups have their
 * creator's identity".
 *
 *   A group is a real AF_UNIX SOCK_DGRAM socket with a struct file, created
 *   with the credentials, LSM label, Landlock domain and memory cgroup of the
 *   task whose join created it.
 *   Joining a group = the checks of connect() to a socket bound there: path
 *   lookup with write permission, security_unix_find (Landlock
 *   LANDLOCK_ACCESS_FS_RESOLVE_UNIX), and security_unix_may_send(joiner,
 *   group) (Landlock LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET).
 *   Sending to a group, by sendto() or by connect()+send(): the checks of
 *   sending to a socket bound there, the same for both forms.
 *
 * In every test the group is created outside the Landlock domain: the test
 * (unconfined) joins a member first. A child then restricts itself with
 * PR_SET_NO_NEW_PRIVS and landlock_restrict_self() and tries to join and send;
 * each time, the same child checks that an ordinary socket bound by the test
 * in the same place gets the same answer (so that Landlock is seen to be on),
 * and the test then checks that its member received nothing it should not.
 *
 * The kernel under test has LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (ABI 6) and
 * LANDLOCK_ACCESS_FS_RESOLVE_UNIX (ABI 9): without them the tests fail.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/landlock.h>

#include "mcast.h"
#include "kselftest_harness.h"

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#endif
#ifndef __NR_landlock_add_rule
#define __NR_landlock_add_rule 445
#endif
#ifndef __NR_landlock_restrict_self
#define __NR_landlock_restrict_self 446
#endif

#define ABI_SCOPE_ABSTRACT	6	/* LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET */
#define ABI_RESOLVE_UNIX	9	/* LANDLOCK_ACCESS_FS_RESOLVE_UNIX */

/* The struct landlock_ruleset_attr up to @scoped: what ABI 6 and later take. */
#define RULESET_ATTR_SIZE \
	(offsetof(struct landlock_ruleset_attr, scoped) + sizeof(__u64))

#define CHILD_TIMEOUT	10	/* seconds: a child that takes longer is killed */

static int dgram(void)
{
	return socket(AF_UNIX, SOCK_DGRAM, 0);
}

/* Receive one datagram without waiting: its length, or -errno. */
static ssize_t recv_now(int fd, void *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);

	return n < 0 ? -errno : n;
}

static int sendto_addr(int fd, const char *data, const struct sockaddr_un *a,
		       socklen_t len)
{
	return sendto(fd, data, 1, 0, (const struct sockaddr *)a, len);
}

static int connect_addr(int fd, const struct sockaddr_un *a, socklen_t len)
{
	return connect(fd, (const struct sockaddr *)a, len);
}

/* The 2003 form of the option: a plain struct sockaddr_un. */
static int join_plain(int fd, const struct sockaddr_un *a, socklen_t len)
{
	return setsockopt(fd, SOL_UNIX, UNIX_ADD_MEMBERSHIP, a, len);
}

/*
 * Restrict the calling task with a ruleset that handles @fs and @scoped;
 * with @dir, LANDLOCK_ACCESS_FS_RESOLVE_UNIX is allowed beneath it.
 * Returns 0 or -errno.
 */
static int sandbox(__u64 fs, __u64 scoped, const char *dir)
{
	struct landlock_ruleset_attr attr = {
		.handled_access_fs = fs,
		.scoped = scoped,
	};
	struct landlock_path_beneath_attr beneath = {
		.allowed_access = LANDLOCK_ACCESS_FS_RESOLVE_UNIX,
		.parent_fd = -1,
	};
	int fd, err = 0;

	fd = syscall(__NR_landlock_create_ruleset, &attr, RULESET_ATTR_SIZE, 0);
	if (fd < 0)
		return -errno;
	if (dir) {
		beneath.parent_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (beneath.parent_fd < 0 ||
		    syscall(__NR_landlock_add_rule, fd,
			    LANDLOCK_RULE_PATH_BENEATH, &beneath, 0))
			err = -errno;
		if (beneath.parent_fd >= 0)
			close(beneath.parent_fd);
	}
	if (!err && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
		     syscall(__NR_landlock_restrict_self, fd, 0)))
		err = -errno;
	close(fd);
	return err;
}

#define NCALLS 8

/* What a confined child saw, in memory shared with the test. */
struct report {
	int line;		/* of the first failed check, 0 if none */
	int err;		/* errno then */
	char what[256];
	int ret[NCALLS];	/* recorded calls: return value... */
	int errs[NCALLS];	/* ...and errno (0 if it succeeded) */
};

static void __noreturn __printf(4, 5)
child_fail(struct report *r, int line, int err, const char *fmt, ...)
{
	va_list ap;

	r->line = line;
	r->err = err;
	va_start(ap, fmt);
	vsnprintf(r->what, sizeof(r->what), fmt, ap);
	va_end(ap);
	_exit(1);
}

/* In a child: @ret of @what must be -1 with errno @want, or >= 0 if @want is
 * 0. Call it with errno as the call left it.
 */
static void child_expect(struct report *r, int line, long ret, int want,
			 const char *what)
{
	int err = ret < 0 ? errno : 0;

	if (want ? ret != -1 || err != want : ret < 0)
		child_fail(r, line, err, "%s returned %ld, expected %s", what,
			   ret, want ? strerror(want) : "success");
}

#define CHILD_EXPECT(r, call, want) \
	child_expect(r, __LINE__, (call), want, #call)

/* In a child: record the result of a call for the test to check. */
static void record(struct report *r, int i, long ret)
{
	r->errs[i] = ret < 0 ? errno : 0;
	r->ret[i] = ret;
}

/*
 * Wait for the child @pid, for CHILD_TIMEOUT seconds at most; then kill it.
 * Returns its wait status, or -1 if it had to be killed.
 */
static int wait_child(pid_t pid)
{
	struct timespec t0, t;
	int status;
	pid_t r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0)
			return -1;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= CHILD_TIMEOUT)
			break;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

FIXTURE(lsm)
{
	char dir[64];		/* of the path group and the ordinary socket */
	struct sockaddr_un g, o;	/* abstract: the group, an ordinary socket */
	socklen_t lg, lo;
	struct sockaddr_un pg, po;	/* the same at paths in dir */
	socklen_t lpg, lpo;
	struct report *r;
};

FIXTURE_SETUP(lsm)
{
	char path[128];
	int abi;

	abi = syscall(__NR_landlock_create_ruleset, NULL, 0,
		      LANDLOCK_CREATE_RULESET_VERSION);
	ASSERT_LE(ABI_RESOLVE_UNIX, abi) {
		TH_LOG("Landlock ABI %d (%s): the tests need %s (ABI %d) and %s (ABI %d)",
		       abi, abi < 0 ? strerror(errno) : "too old",
		       "LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET", ABI_SCOPE_ABSTRACT,
		       "LANDLOCK_ACCESS_FS_RESOLVE_UNIX", ABI_RESOLVE_UNIX);
	}
	self->r = mmap(NULL, sizeof(*self->r), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->r);
	memset(self->r, 0, sizeof(*self->r));
	snprintf(self->dir, sizeof(self->dir), "/tmp/mcast-lsm-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	self->lg = mcast_new_addr(&self->g, "lsm-g", true);
	self->lo = mcast_new_addr(&self->o, "lsm-o", true);
	snprintf(path, sizeof(path), "%s/g", self->dir);
	self->lpg = mcast_addr(&self->pg, path, 0);
	snprintf(path, sizeof(path), "%s/o", self->dir);
	self->lpo = mcast_addr(&self->po, path, 0);
}

FIXTURE_TEARDOWN(lsm)
{
	unlink(self->pg.sun_path);
	unlink(self->po.sun_path);
	rmdir(self->dir);
	munmap(self->r, sizeof(*self->r));
}

/* Wait for the child and check it passed its own checks. */
static void child_ok(struct __test_metadata *_metadata,
		     struct _test_data_lsm *self, pid_t pid)
{
	int status = wait_child(pid);

	ASSERT_NE(-1, status) {
		TH_LOG("the child was still running after %d s",
		       CHILD_TIMEOUT);
	}
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status)) {
		TH_LOG("child, line %d: %s (errno: %s)", self->r->line,
		       self->r->what, strerror(self->r->err));
	}
}

/*
 * "A task with LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET can neither join nor send
 * to an abstract group created outside its domain: EPERM, and no member
 * receives anything." The sends: sendto() and connect() (then send()),
 * "the same for both forms". Controls: sendto() and connect() to an ordinary
 * abstract socket bound by the test are EPERM too (Landlock is on), and a
 * group the confined child creates itself, inside its domain, can be sent to
 * in both forms.
 */
TEST_F(lsm, scoped_sender)
{
	int pm = dgram(), po = dgram(), s = dgram();
	char buf[8];
	pid_t pid;

	ASSERT_EQ(0, mcast_join(pm, &self->g, self->lg, 0));
	ASSERT_EQ(0, bind(po, (struct sockaddr *)&self->o, self->lo));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct report *r = self->r;
		struct sockaddr_un in;
		socklen_t lin = mcast_new_addr(&in, "lsm-in", true);
		int cs, cc, cc2, ci;

		CHILD_EXPECT(r, sandbox(0, LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET,
					NULL), 0);
		cs = dgram();
		cc = dgram();
		cc2 = dgram();
		ci = dgram();
		/* Control: unicast outside the domain is denied. */
		CHILD_EXPECT(r, sendto_addr(cs, "o", &self->o, self->lo),
			     EPERM);
		CHILD_EXPECT(r, connect_addr(cc, &self->o, self->lo), EPERM);
		/* The group created outside: the same, in both forms. */
		CHILD_EXPECT(r, sendto_addr(cs, "g", &self->g, self->lg),
			     EPERM);
		CHILD_EXPECT(r, connect_addr(cc, &self->g, self->lg), EPERM);
		/* Still not connected: nothing goes anywhere. */
		CHILD_EXPECT(r, send(cc, "h", 1, 0), ENOTCONN);
		/* A group created inside the domain: both forms work. */
		CHILD_EXPECT(r, mcast_join(ci, &in, lin, 0), 0);
		CHILD_EXPECT(r, sendto_addr(cs, "i", &in, lin), 0);
		CHILD_EXPECT(r, connect_addr(cc2, &in, lin), 0);
		CHILD_EXPECT(r, send(cc2, "j", 1, 0), 0);
		CHILD_EXPECT(r, recv_now(ci, buf, sizeof(buf)) == 1 ? 0 : -1,
			     0);
		CHILD_EXPECT(r, recv_now(ci, buf, sizeof(buf)) == 1 ? 0 : -1,
			     0);
		_exit(0);
	}
	child_ok(_metadata, self, pid);
	/* Nothing reached the group's member, nor the ordinary socket. */
	ASSERT_EQ(-EAGAIN, recv_now(pm, buf, sizeof(buf)));
	ASSERT_EQ(-EAGAIN, recv_now(po, buf, sizeof(buf)));
	/* The group itself is fine. */
	ASSERT_EQ(1, sendto_addr(s, "p", &self->g, self->lg));
	ASSERT_EQ(1, recv_now(pm, buf, sizeof(buf)));
	close(pm);
	close(po);
	close(s);
}

/*
 * Joining = "security_unix_may_send(joiner, group) (Landlock
 * LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET)": the scoped child cannot join the
 * abstract group created outside its domain (EPERM, in both forms of the
 * option), and a datagram the test then sends to the group does not reach
 * the child's socket. Control: connect() to an ordinary abstract socket
 * bound by the test is EPERM.
 */
TEST_F(lsm, scoped_joiner)
{
	int pm = dgram(), po = dgram(), s = dgram(), to_child[2], to_test[2];
	struct pollfd p = { .events = POLLIN };
	char buf[8], c = 0;
	pid_t pid;

	ASSERT_EQ(0, mcast_join(pm, &self->g, self->lg, 0));
	ASSERT_EQ(0, bind(po, (struct sockaddr *)&self->o, self->lo));
	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_test));
	p.fd = to_test[0];
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct report *r = self->r;
		int cm, cc;

		close(to_child[1]);
		close(to_test[0]);
		p.fd = to_child[0];
		CHILD_EXPECT(r, sandbox(0, LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET,
					NULL), 0);
		cm = dgram();
		cc = dgram();
		CHILD_EXPECT(r, connect_addr(cc, &self->o, self->lo), EPERM);
		CHILD_EXPECT(r, mcast_join(cm, &self->g, self->lg, 0), EPERM);
		CHILD_EXPECT(r, join_plain(cm, &self->g, self->lg), EPERM);
		CHILD_EXPECT(r, mcast_join(cm, &self->g, self->lg,
					   UNIX_MREQ_DROP_WHEN_FULL), EPERM);
		CHILD_EXPECT(r, write(to_test[1], "j", 1), 0);
		/* The test sends to the group, then says so. */
		CHILD_EXPECT(r, poll(&p, 1, CHILD_TIMEOUT * 1000) == 1 ? 0 : -1,
			     0);
		CHILD_EXPECT(r, read(to_child[0], &c, 1) == 1 ? 0 : -1, 0);
		CHILD_EXPECT(r, recv(cm, buf, sizeof(buf), MSG_DONTWAIT),
			     EAGAIN);
		_exit(0);
	}
	close(to_child[0]);
	close(to_test[1]);
	/* The child has tried to join (or it failed and is gone). */
	if (poll(&p, 1, CHILD_TIMEOUT * 1000) != 1 ||
	    read(to_test[0], &c, 1) != 1)
		child_ok(_metadata, self, pid);	/* why it is gone */
	ASSERT_EQ('j', c);
	ASSERT_EQ(1, sendto_addr(s, "p", &self->g, self->lg));
	ASSERT_EQ(1, recv_now(pm, buf, sizeof(buf)));
	ASSERT_EQ(1, write(to_child[1], "s", 1));
	child_ok(_metadata, self, pid);
	ASSERT_EQ(-EAGAIN, recv_now(po, buf, sizeof(buf)));
	close(pm);
	close(po);
	close(s);
	close(to_child[1]);
	close(to_test[0]);
}

/* The calls the path tests record, in the order they make them. */
enum {
	CTL_SENDTO,	/* sendto() the ordinary socket at dir/o */
	CTL_CONNECT,	/* connect() it */
	GRP_JOIN,	/* join dir/g, unix_mreq form */
	GRP_JOIN_PLAIN,	/* join dir/g, plain struct sockaddr_un */
	GRP_SENDTO,	/* sendto() dir/g */
	GRP_CONNECT,	/* connect() dir/g */
	GRP_SEND,	/* then send() */
	NR_PATH_CALLS,
};

static const char *const path_call[] = {
	"sendto() the ordinary socket", "connect() the ordinary socket",
	"join (unix_mreq)", "join (sockaddr_un)", "sendto() the group",
	"connect() the group", "send() after connect()",
};

/* In the child: make the calls, record what they return. */
static void path_calls(struct _test_data_lsm *self, int *cm)
{
	struct report *r = self->r;
	int cs = dgram(), cc = dgram(), cc2 = dgram();

	cm[0] = dgram();
	cm[1] = dgram();
	record(r, CTL_SENDTO, sendto_addr(cs, "o", &self->po, self->lpo));
	record(r, CTL_CONNECT, connect_addr(cc, &self->po, self->lpo));
	record(r, GRP_JOIN, mcast_join(cm[0], &self->pg, self->lpg, 0));
	record(r, GRP_JOIN_PLAIN, join_plain(cm[1], &self->pg, self->lpg));
	record(r, GRP_SENDTO, sendto_addr(cs, "s", &self->pg, self->lpg));
	record(r, GRP_CONNECT, connect_addr(cc2, &self->pg, self->lpg));
	record(r, GRP_SEND, r->ret[GRP_CONNECT] ? -1 :
	       send(cc2, "c", 1, 0));
}

/*
 * "A task whose Landlock ruleset handles LANDLOCK_ACCESS_FS_RESOLVE_UNIX and
 * allows it nowhere cannot join or send to a path group (same errno as the
 * unicast case: connect/sendto to a socket bound at a path there; EACCES)."
 * Both forms of sending get the same answer, and the test's member receives
 * nothing.
 */
TEST_F(lsm, path_resolve_unix_denied)
{
	int pm = dgram(), po = dgram(), i;
	struct report *r = self->r;
	char buf[8];
	pid_t pid;

	ASSERT_EQ(0, mcast_join(pm, &self->pg, self->lpg, 0));
	ASSERT_EQ(0, bind(po, (struct sockaddr *)&self->po, self->lpo));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int cm[2];

		CHILD_EXPECT(r, sandbox(LANDLOCK_ACCESS_FS_RESOLVE_UNIX, 0,
					NULL), 0);
		path_calls(self, cm);
		CHILD_EXPECT(r, recv(cm[0], buf, sizeof(buf), MSG_DONTWAIT),
			     EAGAIN);
		CHILD_EXPECT(r, recv(cm[1], buf, sizeof(buf), MSG_DONTWAIT),
			     EAGAIN);
		_exit(0);
	}
	child_ok(_metadata, self, pid);
	/* The control: unicast is denied with EACCES... */
	for (i = CTL_SENDTO; i <= CTL_CONNECT; i++) {
		EXPECT_EQ(-1, r->ret[i]);
		EXPECT_EQ(EACCES, r->errs[i]) {
			TH_LOG("%s: %s", path_call[i], strerror(r->errs[i]));
		}
	}
	/* ...and so is every way to the group. */
	for (i = GRP_JOIN; i <= GRP_CONNECT; i++) {
		EXPECT_EQ(-1, r->ret[i]);
		EXPECT_EQ(r->errs[CTL_SENDTO], r->errs[i]) {
			TH_LOG("%s: %s, the unicast sendto(): %s",
			       path_call[i], strerror(r->errs[i]),
			       strerror(r->errs[CTL_SENDTO]));
		}
		EXPECT_EQ(EACCES, r->errs[i]);
	}
	EXPECT_EQ(-1, r->ret[GRP_SEND]);
	ASSERT_EQ(-EAGAIN, recv_now(pm, buf, sizeof(buf)));
	ASSERT_EQ(-EAGAIN, recv_now(po, buf, sizeof(buf)));
	close(pm);
	close(po);
}

/*
 * The same, with a rule that allows LANDLOCK_ACCESS_FS_RESOLVE_UNIX beneath
 * the group's directory: joining (both forms of the option) and sending
 * (both forms) work, as unicast does.
 */
TEST_F(lsm, path_resolve_unix_allowed)
{
	int pm = dgram(), po = dgram(), i;
	struct report *r = self->r;
	char buf[8];
	pid_t pid;

	ASSERT_EQ(0, mcast_join(pm, &self->pg, self->lpg, 0));
	ASSERT_EQ(0, bind(po, (struct sockaddr *)&self->po, self->lpo));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int cm[2], k;

		CHILD_EXPECT(r, sandbox(LANDLOCK_ACCESS_FS_RESOLVE_UNIX, 0,
					self->dir), 0);
		path_calls(self, cm);
		/* Each member got the sendto() and the send(). */
		for (k = 0; k < 2; k++) {
			if (r->ret[GRP_JOIN + k])
				continue;	/* the test reports it */
			CHILD_EXPECT(r, recv_now(cm[k], buf, sizeof(buf)) == 1 ?
				     0 : -1, 0);
			CHILD_EXPECT(r, recv_now(cm[k], buf, sizeof(buf)) == 1 ?
				     0 : -1, 0);
			CHILD_EXPECT(r, recv(cm[k], buf, sizeof(buf),
					     MSG_DONTWAIT), EAGAIN);
		}
		_exit(0);
	}
	child_ok(_metadata, self, pid);
	for (i = 0; i < NR_PATH_CALLS; i++) {
		EXPECT_LE(0, r->ret[i]) {
			TH_LOG("%s: %s", path_call[i], strerror(r->errs[i]));
		}
	}
	ASSERT_EQ(1, recv_now(po, buf, sizeof(buf)));
	ASSERT_EQ(1, recv_now(pm, buf, sizeof(buf)));
	ASSERT_EQ(1, recv_now(pm, buf, sizeof(buf)));
	ASSERT_EQ(-EAGAIN, recv_now(pm, buf, sizeof(buf)));
	close(pm);
	close(po);
}

TEST_HARNESS_MAIN
