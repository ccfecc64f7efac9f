// SPDX-License-Identifier: GPL-2.0
/*
 * AF_UNIX multicast groups: concurrent stress test.
 *
 * Worker processes, each with two member threads and one sender thread,
 * join, leave, send, receive and close on four shared groups (two abstract,
 * two paths) for a bounded time, while the parent SIGKILLs a random worker
 * every second or so (preferably one whose blocking member stopped reading,
 * so that senders wait for it) and respawns it.
 *
 *   member  a fresh socket joins one or two groups, blocking or
 *           drop-when-full, with or without UNIX_MREQ_NO_LOOP and
 *           SO_PASSCRED, receives and checks every datagram, and now and
 *           then stops reading for a while, sends to its own groups,
 *           leaves a group (and rejoins it on the same socket once its
 *           queue is drained), joins twice (EALREADY) or leaves a group it
 *           is not in (ENOENT/EINVAL), then leaves and closes, or just
 *           closes with data queued.
 *   sender  a fresh socket sends a few hundred datagrams to random groups:
 *           blocking, MSG_DONTWAIT, SO_SNDTIMEO of a few ms, or connect()ed
 *           to a group with send().
 *
 * Every datagram carries group, sender id, sequence number (per sender and
 * group), length and a checksum; its payload is derived from them. Each
 * membership of a socket in a group logs the (sender, seq) it received into
 * shared memory. Checked:
 *
 *   integrity  every datagram intact, of a group its socket joined, never a
 *              member's own with NO_LOOP, with credentials if asked for;
 *              blocking members report no drops
 *   order      any two members agree on the order of the datagrams both
 *              received; no member sees a sender's seq go backwards
 *   delivery   a send that failed reached nobody; a blocking member misses
 *              no successful send between two it received from the same
 *              sender; a drop-when-full member misses no more than its
 *              SO_RXQ_OVFL count
 *   errors     only documented errors; no operation hangs; workers only die
 *              of our SIGKILL
 *   groups     at the end no group is left (/proc/net/unix, bind, sendto)
 *   slab       skbuff_head_cache, skbuff_fclone_cache and UNIX return to
 *              their level after the warm-up
 *
 * With -F, the syscalls under test run with /proc/thread-self/make-it-fail
 * set (failslab and fail_page_alloc configured with task-filter by the
 * caller); ENOMEM, ENOBUFS, ENFILE and ENOSPC are then allowed and counted.
 *
 * -T checks the checker: it adds corrupted copies of two memberships' logs
 * before the analysis, so that the order and delivery lines must fail.
 *
 * Usage: mcast_stress [-d SECONDS] [-F] [-v] [-T]      TAP on stdout
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mcast.h"
#include "kselftest.h"

#ifndef BIT
#define BIT(n)		(1UL << (n))
#endif

#define NGROUPS		4	/* even: abstract, odd: path */
#define NPROCS		6
#define NMEMBERS	2	/* member threads per process */
#define NTHREADS	(NMEMBERS + 1)
#define MAX_LOGS	6144
#define LOG_CAP		2048
#define MAX_ERRSENDS	BIT(21)
#define MAX_LEN		2000
#define RBUF		4096
#define ERRNO_MAX	140
#define HANG_MS		30000	/* no single operation may take longer */
#define MAX_MSGS	40	/* failure messages printed */
#define MAGIC		0x4d435354u

enum kind {
	K_SOCKET, K_JOIN, K_LEAVE, K_CONNECT, K_SEND_BLOCK, K_SEND_DONTWAIT,
	K_SEND_TIMEO, K_SEND_CONN, K_SEND_MEMBER, K_RECV, K_CLOSE, K_KILL,
	NKINDS
};

static const char *const kind_name[NKINDS] = {
	"socket", "join", "leave", "connect", "send-blocking", "send-dontwait",
	"send-sndtimeo", "send-connected", "send-member", "recv", "close",
	"kill+respawn",
};

struct dg_hdr {
	uint32_t magic;
	uint32_t group;
	uint32_t sender;
	uint32_t seq;
	uint32_t len;
	uint32_t csum;
};

struct hb {			/* what a worker thread is doing */
	uint32_t kind;		/* kind + 1, 0 if none */
	uint64_t since;		/* ms */
	uint64_t stall_since;	/* ms, a blocking member not reading */
};

struct proc_slot {
	pid_t pid;
	struct hb hb[NTHREADS];
};

#define LOG_DWF		1
#define LOG_NOLOOP	2

struct mlog {			/* one membership of one socket in one group */
	uint32_t used;
	uint32_t group;
	uint32_t flags;
	uint32_t count;
	uint32_t truncated;
	uint32_t max_drops;	/* of its socket, as SO_RXQ_OVFL reported */
	pid_t pid;
	uint64_t t_start;	/* ns, before the join */
	uint64_t t_last;	/* ns, after the last datagram logged */
};

struct shared {
	int stop;
	int inject;
	int verbose;
	uint64_t ops[NKINDS];
	uint64_t ok[NKINDS];
	uint64_t errs[NKINDS][ERRNO_MAX];
	uint64_t injected;
	uint64_t undocumented;
	uint64_t integrity;
	uint64_t stale_unlinks;
	uint64_t stalls;
	uint64_t ealready;
	uint64_t notjoined;
	uint64_t rejoins;
	uint64_t dropped_reported;
	uint32_t next_sender;
	uint32_t next_log;
	uint64_t nerrsends;
	uint32_t msgs;
	struct proc_slot procs[NPROCS];
	struct mlog logs[MAX_LOGS];
};

static struct shared *sh;
static uint64_t *entries;	/* [MAX_LOGS][LOG_CAP]: sender << 32 | seq */
static uint64_t *errsends;	/* group << 56 | sender << 32 | seq */

static struct sockaddr_un gaddr[NGROUPS];
static socklen_t galen[NGROUPS];
static char gname[NGROUPS][112];	/* printable */
static char lockpath[NGROUPS][108];
static char tmpdir[64];
static char tag[48];		/* in every name of this run */

struct ctx {
	int proc, tid;
	uint64_t rng;
	int mif;		/* make-it-fail, -1 without -F */
	struct hb *hb;
	uint8_t *rbuf, *vbuf, *sbuf;
	char cbuf[256];
	char one, zero;
};

struct sender {
	uint32_t id;
	uint32_t seq[NGROUPS];
};

struct member {
	int fd;
	bool dwf, noloop, passcred;
	bool joined[NGROUPS];
	bool ever[NGROUPS];
	int log[NGROUPS];
	uint32_t max_drops;
	struct sender snd;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t now_ms(void)
{
	return now_ns() / 1000000;
}

static uint32_t rnd(struct ctx *c)
{
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return (c->rng * 2685821657736338717ull) >> 32;
}

static void add(uint64_t *p, uint64_t n)
{
	__atomic_fetch_add(p, n, __ATOMIC_RELAXED);
}

/* A failure message, the first MAX_MSGS of the whole run. */
static void __printf(1, 2) report(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	if (__atomic_fetch_add(&sh->msgs, 1, __ATOMIC_RELAXED) >= MAX_MSGS)
		return;
	n = snprintf(buf, sizeof(buf), "# [pid %d] ", getpid());
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(STDERR_FILENO, buf, n) < 0)
		return;
}

static bool is_path(int g)
{
	return g & 1;
}

/* Fault injection: only the syscalls under test may see failures. */
static void mif_set(struct ctx *c, const char *v)
{
	int i;

	if (c->mif < 0)
		return;
	for (i = 0; i < 1000; i++)
		if (pwrite(c->mif, v, 1, 0) == 1)
			return;
	report("cannot write make-it-fail: %s", strerror(errno));
	_exit(3);
}

#define FI(c, expr) ({						\
	struct ctx *__c = (c);					\
	__typeof__(expr) __r;					\
	int __e;						\
	mif_set(__c, &__c->one);				\
	__r = (expr);						\
	__e = errno;						\
	mif_set(__c, &__c->zero);				\
	errno = __e;						\
	__r;							\
})

static void hb_begin(struct ctx *c, int kind)
{
	__atomic_store_n(&c->hb->since, now_ms(), __ATOMIC_RELAXED);
	__atomic_store_n(&c->hb->kind, kind + 1, __ATOMIC_RELEASE);
}

static void hb_end(struct ctx *c)
{
	__atomic_store_n(&c->hb->kind, 0, __ATOMIC_RELEASE);
}

static bool alloc_err(int e)
{
	return e == ENOMEM || e == ENOBUFS || e == ENFILE || e == ENOSPC;
}

/* Account a failed call; false if its error is not documented. */
static bool errcheck(int kind, int e, bool documented, int g)
{
	add(&sh->errs[kind][e < ERRNO_MAX ? e : ERRNO_MAX - 1], 1);
	if (sh->inject && alloc_err(e)) {
		add(&sh->injected, 1);
		return true;
	}
	if (documented)
		return true;
	add(&sh->undocumented, 1);
	report("undocumented error: %s on %s: %s", kind_name[kind],
	       g >= 0 ? gname[g] : "-", strerror(e));
	return false;
}

static int new_socket(struct ctx *c)
{
	int fd, e;

	while (!__atomic_load_n(&sh->stop, __ATOMIC_RELAXED)) {
		hb_begin(c, K_SOCKET);
		fd = FI(c, socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
		e = errno;
		hb_end(c);
		add(&sh->ops[K_SOCKET], 1);
		if (fd >= 0) {
			add(&sh->ok[K_SOCKET], 1);
			return fd;
		}
		errcheck(K_SOCKET, e, false, -1);
		usleep(1000);
	}
	return -1;
}

static void close_fd(struct ctx *c, int fd)
{
	int r, e;

	hb_begin(c, K_CLOSE);
	r = FI(c, close(fd));
	e = errno;
	hb_end(c);
	add(&sh->ops[K_CLOSE], 1);
	if (!r)
		add(&sh->ok[K_CLOSE], 1);
	else
		errcheck(K_CLOSE, e, false, -1);
}

static uint32_t new_sender_id(void)
{
	return __atomic_add_fetch(&sh->next_sender, 1, __ATOMIC_RELAXED);
}

/* Datagrams */

static uint32_t fnv(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

static uint32_t dg_csum(uint8_t *buf, size_t n)
{
	struct dg_hdr *h = (struct dg_hdr *)buf;
	uint32_t saved = h->csum, r;

	h->csum = 0;
	r = fnv(buf, n);
	h->csum = saved;
	return r;
}

static void pattern(uint8_t *p, size_t n, uint32_t g, uint32_t s, uint32_t q)
{
	uint32_t x = (s * 2654435761u) ^ (q * 40503u + 1) ^ ((g + 1) << 28);
	size_t i;

	if (!x)
		x = 1;
	for (i = 0; i < n; i++) {
		if (!(i & 3)) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
		}
		p[i] = x >> ((i & 3) * 8);
	}
}

static size_t build(struct ctx *c, int g, uint32_t sender, uint32_t seq)
{
	struct dg_hdr *h = (struct dg_hdr *)c->sbuf;
	size_t len = sizeof(*h) + rnd(c) % (MAX_LEN - sizeof(*h) + 1);

	h->magic = MAGIC;
	h->group = g;
	h->sender = sender;
	h->seq = seq;
	h->len = len;
	h->csum = 0;
	pattern(c->sbuf + sizeof(*h), len - sizeof(*h), g, sender, seq);
	h->csum = dg_csum(c->sbuf, len);
	return len;
}

static void record_errsend(int g, uint32_t sender, uint32_t seq)
{
	uint64_t i = __atomic_fetch_add(&sh->nerrsends, 1, __ATOMIC_RELAXED);

	if (i < MAX_ERRSENDS)
		errsends[i] = (uint64_t)g << 56 | (uint64_t)sender << 32 | seq;
}

/* Send one datagram to @g (or to the connected group): 0 or the errno. */
static int send_dgram(struct ctx *c, int fd, struct sender *s, int g,
		      int kind, int flags, bool connected)
{
	uint32_t seq = s->seq[g]++;
	size_t len = build(c, g, s->id, seq);
	bool doc;
	ssize_t r;
	int e;

	hb_begin(c, kind);
	if (connected)
		r = FI(c, send(fd, c->sbuf, len, flags));
	else
		r = FI(c, sendto(fd, c->sbuf, len, flags,
				 (struct sockaddr *)&gaddr[g], galen[g]));
	e = errno;
	hb_end(c);
	add(&sh->ops[kind], 1);
	if (r == (ssize_t)len) {
		add(&sh->ok[kind], 1);
		return 0;
	}
	if (r >= 0) {
		add(&sh->integrity, 1);
		report("%s to %s returned %zd for %zu bytes", kind_name[kind],
		       gname[g], r, len);
		e = EIO;
		return e;
	}
	/* It reached nobody: nobody may ever receive it. */
	record_errsend(g, s->id, seq);
	doc = e == ECONNREFUSED || (e == ENOENT && is_path(g) && !connected);
	if (kind != K_SEND_BLOCK)
		doc |= e == EAGAIN;
	if (connected)
		doc |= e == ECONNRESET || e == ENOTCONN;
	errcheck(kind, e, doc, g);
	return e;
}

/* Members */

static int log_open(struct member *m, int g, uint64_t t0)
{
	uint32_t i = __atomic_fetch_add(&sh->next_log, 1, __ATOMIC_RELAXED);
	struct mlog *l;

	if (i >= MAX_LOGS)
		return -1;
	l = &sh->logs[i];
	l->group = g;
	l->flags = (m->dwf ? LOG_DWF : 0) | (m->noloop ? LOG_NOLOOP : 0);
	l->pid = getpid();
	l->t_start = t0;
	l->t_last = t0;
	l->max_drops = m->max_drops;
	l->count = 0;
	__atomic_store_n(&l->used, 1, __ATOMIC_RELEASE);
	return i;
}

static void log_add(struct member *m, int g, uint32_t s, uint32_t q)
{
	struct mlog *l;
	int i = m->log[g];

	if (i < 0)
		return;
	l = &sh->logs[i];
	if (l->count >= LOG_CAP) {
		l->truncated = 1;
		return;
	}
	entries[(size_t)i * LOG_CAP + l->count] = (uint64_t)s << 32 | q;
	l->t_last = now_ns();
	__atomic_store_n(&l->count, l->count + 1, __ATOMIC_RELEASE);
}

static int join_call(struct ctx *c, int fd, int g, unsigned int flags)
{
	int r, e;

	hb_begin(c, K_JOIN);
	r = FI(c, mcast_join(fd, &gaddr[g], galen[g], flags));
	e = errno;
	hb_end(c);
	add(&sh->ops[K_JOIN], 1);
	if (!r) {
		add(&sh->ok[K_JOIN], 1);
		return 0;
	}
	return e;
}

/*
 * Join @g; a path whose socket file is left over from a group that is gone
 * is unlinked, under a lock so that no live group's file ever is: under the
 * lock only an unlinked path can be created again, and only here.
 */
static int do_join(struct ctx *c, int fd, int g, unsigned int flags)
{
	int e = join_call(c, fd, g, flags), lfd;

	if (!e)
		return 0;
	if (e != EADDRINUSE || !is_path(g)) {
		errcheck(K_JOIN, e, false, g);
		return e;
	}
	add(&sh->errs[K_JOIN][EADDRINUSE], 1);
	lfd = open(lockpath[g], O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd < 0 || flock(lfd, LOCK_EX)) {
		report("lock %s: %s", lockpath[g], strerror(errno));
		_exit(3);
	}
	e = join_call(c, fd, g, flags);
	if (e == EADDRINUSE) {
		add(&sh->errs[K_JOIN][EADDRINUSE], 1);
		if (unlink(gaddr[g].sun_path) && errno != ENOENT)
			report("unlink %s: %s", gname[g], strerror(errno));
		add(&sh->stale_unlinks, 1);
		e = join_call(c, fd, g, flags);
	}
	close(lfd);
	if (e)
		errcheck(K_JOIN, e, false, g);
	return e;
}

static void member_join(struct ctx *c, struct member *m, int g)
{
	uint64_t t0 = now_ns();
	unsigned int flags = (m->dwf ? UNIX_MREQ_DROP_WHEN_FULL : 0) |
			     (m->noloop ? UNIX_MREQ_NO_LOOP : 0);

	if (do_join(c, m->fd, g, flags))
		return;
	m->joined[g] = true;
	m->ever[g] = true;
	m->log[g] = log_open(m, g, t0);
}

static int leave_call(struct ctx *c, int fd, int g)
{
	int r, e;

	hb_begin(c, K_LEAVE);
	r = FI(c, mcast_leave(fd, &gaddr[g], galen[g]));
	e = errno;
	hb_end(c);
	add(&sh->ops[K_LEAVE], 1);
	if (!r) {
		add(&sh->ok[K_LEAVE], 1);
		return 0;
	}
	return e;
}

static int member_leave(struct ctx *c, struct member *m, int g)
{
	int e = leave_call(c, m->fd, g);

	if (!e) {
		m->joined[g] = false;
		return 0;
	}
	/* A path member whose file was replaced leaves by close() only. */
	errcheck(K_LEAVE, e, is_path(g) && (e == ENOENT || e == EINVAL), g);
	return e;
}

static bool verify(struct ctx *c, struct member *m, ssize_t n, int mflags)
{
	struct dg_hdr *h = (struct dg_hdr *)c->rbuf;
	const char *why = NULL;

	if (mflags & MSG_TRUNC)
		why = "truncated";
	else if (n < (ssize_t)sizeof(*h))
		why = "short";
	else if (h->magic != MAGIC)
		why = "bad magic";
	else if (h->len != n)
		why = "length mismatch";
	else if (h->group >= NGROUPS)
		why = "bad group";
	else if (dg_csum(c->rbuf, n) != h->csum)
		why = "bad checksum";
	else if (!h->sender ||
		 h->sender > __atomic_load_n(&sh->next_sender, __ATOMIC_RELAXED))
		why = "bad sender";
	if (!why) {
		pattern(c->vbuf, n - sizeof(*h), h->group, h->sender, h->seq);
		if (memcmp(c->vbuf, c->rbuf + sizeof(*h), n - sizeof(*h)))
			why = "bad payload";
		else if (!m->ever[h->group])
			why = "of a group the socket never joined";
		else if (m->noloop && h->sender == m->snd.id)
			why = "its own with UNIX_MREQ_NO_LOOP";
	}
	if (!why)
		return true;
	add(&sh->integrity, 1);
	report("received datagram %s: %zd bytes, group %u sender %u seq %u len %u",
	       why, n, h->group, h->sender, h->seq, h->len);
	return false;
}

/* Receive one datagram: 1, 0 if none (EAGAIN), -1 on another error. */
static int recv_one(struct ctx *c, struct member *m, int flags)
{
	struct iovec iov = { c->rbuf, RBUF };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = c->cbuf, .msg_controllen = sizeof(c->cbuf),
	};
	struct dg_hdr *h = (struct dg_hdr *)c->rbuf;
	bool creds = false;
	struct cmsghdr *cm;
	ssize_t n;
	int e, g;

	hb_begin(c, K_RECV);
	n = FI(c, recvmsg(m->fd, &msg, flags));
	e = errno;
	hb_end(c);
	add(&sh->ops[K_RECV], 1);
	if (n < 0)
		return errcheck(K_RECV, e, e == EAGAIN, -1) && e == EAGAIN ? 0 : -1;
	add(&sh->ok[K_RECV], 1);
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		uint32_t drops;

		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_CREDENTIALS) {
			struct ucred uc;

			memcpy(&uc, CMSG_DATA(cm), sizeof(uc));
			creds = uc.pid > 0 && uc.uid == getuid();
			continue;
		}
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SO_RXQ_OVFL)
			continue;
		memcpy(&drops, CMSG_DATA(cm), sizeof(drops));
		if (drops && !m->dwf) {
			add(&sh->integrity, 1);
			report("blocking member reports %u drops", drops);
		}
		if (drops > m->max_drops) {
			add(&sh->dropped_reported, drops - m->max_drops);
			m->max_drops = drops;
			for (g = 0; g < NGROUPS; g++)
				if (m->log[g] >= 0)
					sh->logs[m->log[g]].max_drops = drops;
		}
	}
	if (!verify(c, m, n, msg.msg_flags))
		return 1;
	if ((m->passcred && !creds) || (msg.msg_flags & MSG_CTRUNC)) {
		add(&sh->integrity, 1);
		report("datagram of sender %u seq %u: %s", h->sender, h->seq,
		       creds ? "control data truncated" :
		       "no SCM_CREDENTIALS with SO_PASSCRED");
	}
	log_add(m, h->group, h->sender, h->seq);
	return 1;
}

static int pick_group(struct ctx *c, const int *w)
{
	int sum = 0, g, r;

	for (g = 0; g < NGROUPS; g++)
		sum += w[g];
	r = rnd(c) % sum;
	for (g = 0; r >= w[g]; g++)
		r -= w[g];
	return g;
}

/* Groups 2 and 3 have few members: they die and come back often. */
static const int member_w[NGROUPS] = { 4, 4, 1, 1 };
static const int sender_w[NGROUPS] = { 3, 3, 2, 2 };

static bool stopping(void)
{
	return __atomic_load_n(&sh->stop, __ATOMIC_RELAXED);
}

static void sleep_ms(unsigned int ms)
{
	while (ms && !stopping()) {
		unsigned int d = ms < 50 ? ms : 50;

		usleep(d * 1000);
		ms -= d;
	}
}

static int random_joined(struct ctx *c, struct member *m, bool joined)
{
	int g, n = 0, cand[NGROUPS];

	for (g = 0; g < NGROUPS; g++)
		if (m->joined[g] == joined)
			cand[n++] = g;
	return n ? cand[rnd(c) % n] : -1;
}

static void member_action(struct ctx *c, struct member *m)
{
	int g, e = -1, i;

	switch (rnd(c) % 10) {
	case 0:
	case 1:		/* stop reading: blocking senders wait for us */
		add(&sh->stalls, 1);
		if (!m->dwf)
			__atomic_store_n(&c->hb->stall_since, now_ms(),
					 __ATOMIC_RELAXED);
		sleep_ms(300 + rnd(c) % 1200);
		__atomic_store_n(&c->hb->stall_since, 0, __ATOMIC_RELAXED);
		break;
	case 2:
	case 3:
	case 4:		/* send to our own group */
		g = random_joined(c, m, true);
		if (g < 0)
			break;
		if (!m->snd.id)
			m->snd.id = new_sender_id();
		send_dgram(c, m->fd, &m->snd, g, K_SEND_MEMBER, MSG_DONTWAIT,
			   false);
		break;
	case 5:
	case 6:		/* leave, drain, maybe rejoin on the same socket */
		g = random_joined(c, m, true);
		if (g < 0 || member_leave(c, m, g))
			break;
		for (i = 0; i < 4000; i++) {
			e = recv_one(c, m, MSG_DONTWAIT);
			if (e <= 0)
				break;
		}
		/* Once drained nothing of the old membership is left. */
		if (!e && rnd(c) % 2) {
			add(&sh->rejoins, 1);
			member_join(c, m, g);
		}
		break;
	case 7:		/* one group more */
		g = random_joined(c, m, false);
		if (g >= 0 && !m->ever[g])
			member_join(c, m, g);
		break;
	case 8:		/* join twice */
		g = random_joined(c, m, true);
		if (g < 0 || is_path(g))
			break;
		e = join_call(c, m->fd, g, m->dwf ? UNIX_MREQ_DROP_WHEN_FULL : 0);
		add(&sh->ealready, 1);
		if (!e) {
			add(&sh->undocumented, 1);
			report("second join of %s succeeded", gname[g]);
		} else {
			errcheck(K_JOIN, e, e == EALREADY, g);
		}
		break;
	case 9:		/* leave a group we are not in */
		g = random_joined(c, m, false);
		if (g < 0)
			break;
		e = leave_call(c, m->fd, g);
		add(&sh->notjoined, 1);
		if (!e) {
			add(&sh->undocumented, 1);
			report("leave of %s, not joined, succeeded", gname[g]);
		} else {
			errcheck(K_LEAVE, e, e == ENOENT || e == EINVAL, g);
		}
		break;
	}
}

static void member_life(struct ctx *c)
{
	struct timeval tv = { .tv_usec = 100000 };
	struct member m = { .fd = -1 };
	uint64_t end, next;
	int g, one = 1, n, r;

	for (g = 0; g < NGROUPS; g++)
		m.log[g] = -1;
	m.fd = new_socket(c);
	if (m.fd < 0)
		return;
	r = rnd(c);
	m.dwf = r % 3 == 0;
	m.noloop = (r >> 8) % 4 == 0;
	m.passcred = (r >> 16) % 3 == 0;
	if (setsockopt(m.fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) ||
	    (m.passcred && setsockopt(m.fd, SOL_SOCKET, SO_PASSCRED, &one,
				      sizeof(one))) ||
	    setsockopt(m.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		report("setsockopt: %s", strerror(errno));
		_exit(3);
	}
	n = rnd(c) % 3 ? 1 : 2;
	while (n--) {
		g = pick_group(c, member_w);
		if (!m.joined[g])
			member_join(c, &m, g);
	}
	if (random_joined(c, &m, true) < 0) {
		close_fd(c, m.fd);
		usleep(2000);
		return;
	}
	end = now_ms() + 100 + rnd(c) % 1900;
	next = now_ms() + 50 + rnd(c) % 350;
	while (!stopping() && now_ms() < end) {
		recv_one(c, &m, 0);
		if (now_ms() >= next) {
			member_action(c, &m);
			next = now_ms() + 50 + rnd(c) % 350;
		}
	}
	if (!stopping() && rnd(c) % 2) {
		for (g = 0; g < NGROUPS; g++)
			if (m.joined[g])
				member_leave(c, &m, g);
		if (rnd(c) % 2)
			while (!stopping() && recv_one(c, &m, MSG_DONTWAIT) > 0)
				;
	}
	/* Close, often with datagrams queued. */
	close_fd(c, m.fd);
}

/* Senders */

static int connect_call(struct ctx *c, int fd, int g)
{
	int r, e;

	hb_begin(c, K_CONNECT);
	r = FI(c, connect(fd, (struct sockaddr *)&gaddr[g], galen[g]));
	e = errno;
	hb_end(c);
	add(&sh->ops[K_CONNECT], 1);
	if (!r) {
		add(&sh->ok[K_CONNECT], 1);
		return 0;
	}
	errcheck(K_CONNECT, e, e == ECONNREFUSED || (e == ENOENT && is_path(g)),
		 g);
	return e;
}

static void sender_life(struct ctx *c)
{
	struct sender s = { 0 };
	struct timeval tv = { 0 };
	int fd, kind, flags = 0, n, g, e, conn = -1;

	fd = new_socket(c);
	if (fd < 0)
		return;
	s.id = new_sender_id();
	kind = K_SEND_BLOCK + rnd(c) % 4;
	if (kind == K_SEND_DONTWAIT)
		flags = MSG_DONTWAIT;
	else if (kind == K_SEND_TIMEO)
		tv.tv_usec = 2000 + rnd(c) % 8000;
	else if (kind == K_SEND_CONN)
		tv.tv_usec = 20000;
	if (tv.tv_usec &&
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv))) {
		report("SO_SNDTIMEO: %s", strerror(errno));
		_exit(3);
	}
	for (n = 20 + rnd(c) % 300; n > 0 && !stopping(); n--) {
		g = pick_group(c, sender_w);
		if (kind == K_SEND_CONN) {
			if (conn < 0) {
				if (connect_call(c, fd, g)) {
					usleep(2000);
					continue;
				}
				conn = g;
			}
			g = conn;
		}
		e = send_dgram(c, fd, &s, g, kind, flags, kind == K_SEND_CONN);
		if (e == EAGAIN) {
			usleep(500 + rnd(c) % 1500);
		} else if (e) {
			conn = -1;
			usleep(2000);
		}
	}
	close_fd(c, fd);
}

static void *thread_main(void *arg)
{
	struct ctx *c = arg;

	if (sh->inject) {
		c->mif = open("/proc/thread-self/make-it-fail",
			      O_WRONLY | O_CLOEXEC);
		if (c->mif < 0) {
			report("/proc/thread-self/make-it-fail: %s",
			       strerror(errno));
			_exit(3);
		}
	}
	while (!stopping()) {
		if (c->tid < NMEMBERS)
			member_life(c);
		else
			sender_life(c);
	}
	return NULL;
}

static void __noreturn worker(int p)
{
	struct ctx c[NTHREADS];
	pthread_t t[NTHREADS];
	pthread_attr_t attr;
	int i;

	signal(SIGPIPE, SIG_IGN);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 << 10);
	for (i = 0; i < NTHREADS; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].proc = p;
		c[i].tid = i;
		c[i].rng = (uint64_t)getpid() << 20 ^ now_ns() ^
			   (uint64_t)(i + 1) * 0x9e3779b97f4a7c15ull;
		c[i].mif = -1;
		c[i].one = '1';
		c[i].zero = '0';
		c[i].hb = &sh->procs[p].hb[i];
		/* Touched now: no page fault inside a syscall under test. */
		c[i].rbuf = malloc(RBUF);
		c[i].vbuf = malloc(RBUF);
		c[i].sbuf = malloc(RBUF);
		if (!c[i].rbuf || !c[i].vbuf || !c[i].sbuf)
			_exit(3);
		memset(c[i].rbuf, 0, RBUF);
		memset(c[i].vbuf, 0, RBUF);
		memset(c[i].sbuf, 0, RBUF);
		if (pthread_create(&t[i], &attr, thread_main, &c[i])) {
			report("pthread_create failed");
			_exit(3);
		}
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	_exit(0);
}

/* The parent */

static struct ctx pctx;		/* the parent's random numbers */
static int verbose;

static pid_t spawn(int p)
{
	pid_t pid;

	memset(sh->procs[p].hb, 0, sizeof(sh->procs[p].hb));
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (!pid)
		worker(p);
	sh->procs[p].pid = pid;
	return pid;
}

static int wait_child(pid_t pid, int *status, int timeout_ms)
{
	uint64_t end = now_ms() + timeout_ms;

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0)
			return -1;
		if (now_ms() > end)
			return -1;
		usleep(10000);
	}
}

static uint64_t hung, crashed;

static void check_status(int p, int status, bool killed)
{
	if (killed && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		return;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	crashed++;
	printf("# worker %d died: %s %d\n", p,
	       WIFSIGNALED(status) ? "signal" : "exit status",
	       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

static void report_hang(const char *prefix, int p, int t, uint64_t now)
{
	struct hb *hb = &sh->procs[p].hb[t];
	uint32_t k = __atomic_load_n(&hb->kind, __ATOMIC_ACQUIRE);
	uint64_t since = __atomic_load_n(&hb->since, __ATOMIC_RELAXED);

	if (!k)
		return;
	printf("# %sworker %d (pid %d) thread %d: %s for %lld ms\n", prefix, p,
	       sh->procs[p].pid, t, kind_name[k - 1],
	       (long long)(now - since));
}

/* An operation that takes too long: a lost wake-up or a deadlock. */
static void watchdog(bool *seen)
{
	int p, t;

	for (p = 0; p < NPROCS; p++) {
		for (t = 0; t < NTHREADS; t++) {
			struct hb *hb = &sh->procs[p].hb[t];
			uint32_t k = __atomic_load_n(&hb->kind, __ATOMIC_ACQUIRE);
			uint64_t since = __atomic_load_n(&hb->since,
							 __ATOMIC_RELAXED);
			uint64_t now = now_ms();

			if (!k || since > now || now - since < HANG_MS) {
				seen[p * NTHREADS + t] = false;
				continue;
			}
			if (seen[p * NTHREADS + t])
				continue;
			seen[p * NTHREADS + t] = true;
			hung++;
			report_hang("HANG: ", p, t, now_ms());
		}
	}
}

/* Threads of other workers waiting in a send for 20 ms or more. */
static int senders_waiting(int victim)
{
	int p, t, n = 0;

	for (p = 0; p < NPROCS; p++)
		for (t = 0; t < NTHREADS && p != victim; t++) {
			struct hb *hb = &sh->procs[p].hb[t];
			uint32_t k = __atomic_load_n(&hb->kind, __ATOMIC_ACQUIRE);
			uint64_t since = __atomic_load_n(&hb->since,
							 __ATOMIC_RELAXED);
			uint64_t now = now_ms();

			if (k >= K_SEND_BLOCK + 1 && k <= K_SEND_MEMBER + 1 &&
			    since <= now && now - since >= 20)
				n++;
		}
	return n;
}

static uint64_t kills_sender_waiting;

static void kill_one(uint64_t *stalled_kills)
{
	int cand[NPROCS * NTHREADS], n = 0, p, t, status, w;
	uint64_t now = now_ms();
	bool stalled = false;
	pid_t pid;

	for (p = 0; p < NPROCS; p++)
		for (t = 0; t < NTHREADS; t++) {
			uint64_t s = __atomic_load_n(&sh->procs[p].hb[t].stall_since,
						     __ATOMIC_RELAXED);

			if (s && now - s >= 150)
				cand[n++] = p;
		}
	if (n && rnd(&pctx) % 10 < 8) {
		p = cand[rnd(&pctx) % n];
		stalled = true;
	} else {
		p = rnd(&pctx) % NPROCS;
	}
	pid = sh->procs[p].pid;
	w = senders_waiting(p);
	kills_sender_waiting += w > 0;
	if (verbose)
		printf("# kill worker %d (pid %d)%s, %d senders waiting\n", p,
		       pid, stalled ? ", a blocking member not reading" : "",
		       w);
	kill(pid, SIGKILL);
	if (wait_child(pid, &status, HANG_MS)) {
		hung++;
		printf("# HANG: killed worker %d (pid %d) did not exit\n", p, pid);
		for (t = 0; t < NTHREADS; t++)
			report_hang("", p, t, now_ms());
		waitpid(pid, &status, 0);
	}
	check_status(p, status, true);
	add(&sh->ops[K_KILL], 1);
	add(&sh->ok[K_KILL], 1);
	if (stalled)
		(*stalled_kills)++;
	spawn(p);
}

/* Lines of /proc/net/unix naming an address of this run. */
static int proc_net_unix(bool print)
{
	char line[512];
	FILE *f = fopen("/proc/net/unix", "r");
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, tag))
			continue;
		n++;
		if (print)
			printf("# left in /proc/net/unix: %s", line);
	}
	fclose(f);
	return n;
}

/* Analysis */

static uint64_t errkey(int g, uint32_t s, uint32_t q)
{
	return (uint64_t)g << 56 | (uint64_t)s << 32 | q;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static size_t nerr;

static size_t lower(uint64_t k)
{
	size_t lo = 0, hi = nerr;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (errsends[mid] < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t err_between(uint64_t a, uint64_t b)	/* in [a, b] */
{
	return lower(b + 1) - lower(a);
}

static uint64_t order_fail, delivery_fail, pairs, common, nentries, ntrunc;
static uint64_t gaps_failed, dwf_gaps;
static int nlogs, fail_msgs;

/* A failure message, prefixed with @group unless it is NULL. */
static void __printf(2, 3) afail(const char *group, const char *fmt, ...)
{
	va_list ap;

	if (fail_msgs++ >= MAX_MSGS)
		return;
	printf("# ");
	if (group)
		printf("%s: ", group);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static const char *lflags(const struct mlog *l)
{
	static const char *const s[] = {
		"blocking", "drop-when-full", "blocking,no-loop",
		"drop-when-full,no-loop",
	};

	return s[l->flags & 3];
}

/* Per membership: no seq backwards, delivery, errored sends. */
static void check_logs(bool err_complete)
{
	uint32_t nsend = sh->next_sender + 1, *last, *stamp;
	int i;

	last = calloc(nsend, sizeof(*last));
	stamp = calloc(nsend, sizeof(*stamp));
	if (!last || !stamp) {
		perror("calloc");
		exit(1);
	}
	for (i = 0; i < nlogs; i++) {
		struct mlog *l = &sh->logs[i];
		uint64_t *e = entries + (size_t)i * LOG_CAP, gaps = 0, miss;
		uint32_t k;

		if (!l->used || !l->count)
			continue;
		nentries += l->count;
		ntrunc += l->truncated;
		for (k = 0; k < l->count; k++) {
			uint32_t s = e[k] >> 32, q = e[k], p;

			if (s >= nsend) {
				delivery_fail++;
				afail(NULL, "log %d: sender %u out of range", i, s);
				continue;
			}
			if (err_between(errkey(l->group, s, q),
					errkey(l->group, s, q))) {
				delivery_fail++;
				afail(gname[l->group],
				      "a send that failed was received: sender %u seq %u (%s member, pid %d)",
				      s, q, lflags(l), l->pid);
			}
			if (stamp[s] != (uint32_t)i + 1) {
				stamp[s] = i + 1;
				last[s] = q;
				continue;
			}
			p = last[s];
			last[s] = q;
			if (q <= p) {
				order_fail++;
				afail(gname[l->group],
				      "sender %u seq %u after seq %u (%s member, pid %d)",
				      s, q, p, lflags(l), l->pid);
				continue;
			}
			if (q == p + 1 || !err_complete)
				continue;
			/* Missed: neither received nor failed. */
			miss = q - p - 1 - err_between(errkey(l->group, s, p + 1),
						       errkey(l->group, s, q - 1));
			gaps += miss;
			gaps_failed += q - p - 1 - miss;
			if (miss && !(l->flags & LOG_DWF)) {
				delivery_fail++;
				afail(gname[l->group],
				      "blocking member (pid %d) missed %llu datagrams of sender %u between seq %u and %u",
				      l->pid, (unsigned long long)miss, s, p, q);
			}
		}
		dwf_gaps += gaps;
		if ((l->flags & LOG_DWF) && gaps > l->max_drops) {
			delivery_fail++;
			afail(gname[l->group],
			      "drop-when-full member (pid %d) missed %llu datagrams, SO_RXQ_OVFL says %u",
			      l->pid, (unsigned long long)gaps, l->max_drops);
		}
	}
	free(last);
	free(stamp);
}

struct idmap {
	uint64_t *key;
	uint32_t *val;
	size_t mask;
	uint32_t n;
};

static uint32_t id_of(struct idmap *m, uint64_t k)
{
	size_t h = (k * 0x9e3779b97f4a7c15ull) >> 17;

	for (;; h++) {
		h &= m->mask;
		if (m->key[h] == k)
			return m->val[h];
		if (!m->key[h]) {
			m->key[h] = k;
			m->val[h] = m->n;
			return m->n++;
		}
	}
}

static int *sort_logs;

static int cmp_start(const void *a, const void *b)
{
	const struct mlog *x = &sh->logs[*(const int *)a];
	const struct mlog *y = &sh->logs[*(const int *)b];

	return x->t_start < y->t_start ? -1 : x->t_start > y->t_start;
}

/*
 * Any two memberships of a group agree on the order of the datagrams both
 * received. Only memberships that overlap in time can share datagrams.
 */
static void check_order(void)
{
	uint32_t *ids, *stamp, *pos;
	struct idmap m = { 0 };
	size_t *off, total = 0, sz = 16;
	int i, j, g, n;

	off = calloc(nlogs + 1, sizeof(*off));
	sort_logs = calloc(nlogs + 1, sizeof(*sort_logs));
	for (i = 0; i < nlogs; i++) {
		off[i] = total;
		if (sh->logs[i].used)
			total += sh->logs[i].count;
	}
	while (sz < 2 * total)
		sz <<= 1;
	m.key = calloc(sz, sizeof(*m.key));
	m.val = calloc(sz, sizeof(*m.val));
	m.mask = sz - 1;
	ids = calloc(total + 1, sizeof(*ids));
	if (!off || !sort_logs || !m.key || !m.val || !ids) {
		perror("calloc");
		exit(1);
	}
	for (i = 0; i < nlogs; i++) {
		struct mlog *l = &sh->logs[i];
		uint32_t k;

		if (!l->used)
			continue;
		for (k = 0; k < l->count; k++) {
			uint64_t e = entries[(size_t)i * LOG_CAP + k];

			ids[off[i] + k] = id_of(&m, errkey(l->group, e >> 32, e));
		}
	}
	free(m.key);
	free(m.val);
	stamp = calloc(m.n + 1, sizeof(*stamp));
	pos = calloc(m.n + 1, sizeof(*pos));
	if (!stamp || !pos) {
		perror("calloc");
		exit(1);
	}
	for (g = 0; g < NGROUPS; g++) {
		n = 0;
		for (i = 0; i < nlogs; i++)
			if (sh->logs[i].used && sh->logs[i].count &&
			    sh->logs[i].group == (uint32_t)g)
				sort_logs[n++] = i;
		qsort(sort_logs, n, sizeof(*sort_logs), cmp_start);
		for (i = 0; i < n; i++) {
			int a = sort_logs[i];
			struct mlog *la = &sh->logs[a];
			uint32_t k;

			for (k = 0; k < la->count; k++) {
				stamp[ids[off[a] + k]] = a + 1;
				pos[ids[off[a] + k]] = k;
			}
			for (j = i + 1; j < n; j++) {
				int b = sort_logs[j];
				struct mlog *lb = &sh->logs[b];
				int64_t lastpos = -1;

				if (lb->t_start > la->t_last)
					break;
				pairs++;
				for (k = 0; k < lb->count; k++) {
					uint32_t id = ids[off[b] + k];

					if (stamp[id] != (uint32_t)a + 1)
						continue;
					common++;
					if ((int64_t)pos[id] > lastpos) {
						lastpos = pos[id];
						continue;
					}
					order_fail++;
					{
						uint64_t x = entries[(size_t)a * LOG_CAP + lastpos];
						uint64_t y = entries[(size_t)b * LOG_CAP + k];

						afail(gname[g],
						      "order: pid %d got %u/%u before %u/%u, pid %d the other way round",
						      lb->pid,
						      (uint32_t)(x >> 32), (uint32_t)x,
						      (uint32_t)(y >> 32), (uint32_t)y,
						      la->pid);
					}
				}
			}
		}
	}
	free(off);
	free(ids);
	free(stamp);
	free(pos);
	free(sort_logs);
}

/* Slab */

struct slab {
	const char *name;
	long tolerance;		/* 0: reported only */
	long before, after, mid;
};

static struct slab slabs[] = {
	{ .name = "skbuff_head_cache", .tolerance = 256 },
	{ .name = "skbuff_fclone_cache", .tolerance = 256 },
	{ .name = "skbuff_small_head" },
	{ .name = "UNIX", .tolerance = 64 },
};

#define NSLABS ARRAY_SIZE(slabs)

/* Flush the cache, with KASAN also its quarantine, so counts compare. */
static void slab_shrink(const char *name)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return;
	if (write(fd, "1", 1) != 1)
		printf("# %s: %s\n", path, strerror(errno));
	close(fd);
}

enum { BEFORE, MID, AFTER };

static long *slab_field(unsigned int i, int when)
{
	return when == BEFORE ? &slabs[i].before :
	       when == MID ? &slabs[i].mid : &slabs[i].after;
}

/* Active objects of each cache; false without /proc/slabinfo. */
static bool slab_read(int when)
{
	char line[512], name[64];
	unsigned int i;
	long active;
	FILE *f;

	for (i = 0; i < NSLABS && when != MID; i++)
		slab_shrink(slabs[i].name);
	f = fopen("/proc/slabinfo", "r");
	if (!f)
		return false;
	for (i = 0; i < NSLABS; i++)
		*slab_field(i, when) = -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %ld", name, &active) != 2)
			continue;
		for (i = 0; i < NSLABS; i++)
			if (!strcmp(name, slabs[i].name))
				*slab_field(i, when) = active;
	}
	fclose(f);
	return true;
}

/*
 * Every cache, for the report only: what grew over the run, after all
 * caches (and with KASAN their quarantine) were flushed.
 */
#define MAX_CACHES	1024

struct cache_count {
	char name[64];
	long active;
};

static struct cache_count all_before[MAX_CACHES];
static int nall_before;

static int all_caches(struct cache_count *cc)
{
	char line[512], path[400];
	struct dirent *d;
	DIR *dir;
	int n = 0, fd;
	FILE *f;

	dir = opendir("/sys/kernel/slab");
	while (dir && (d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink",
			 d->d_name);
		fd = open(path, O_WRONLY);
		if (fd < 0)
			continue;
		if (write(fd, "1", 1) != 1)
			errno = 0;	/* some caches may refuse */
		close(fd);
	}
	if (dir)
		closedir(dir);
	f = fopen("/proc/slabinfo", "r");
	if (!f)
		return 0;
	while (n < MAX_CACHES && fgets(line, sizeof(line), f))
		if (line[0] != '#' &&
		    sscanf(line, "%63s %ld", cc[n].name, &cc[n].active) == 2)
			n++;
	fclose(f);
	return n;
}

static void print_growth(void)
{
	static struct cache_count after[MAX_CACHES];
	int n = all_caches(after), i, j, shown = 0;

	for (i = 0; i < n; i++) {
		long before = 0, d;

		for (j = 0; j < nall_before; j++)
			if (!strcmp(all_before[j].name, after[i].name))
				before = all_before[j].active;
		d = after[i].active - before;
		if (d < 32 || d * 10 < before)
			continue;
		if (!shown++)
			printf("# caches that grew over the run (information only):\n");
		printf("#   %-24s %ld -> %ld (%+ld)\n", after[i].name, before,
		       after[i].active, d);
	}
	if (!shown)
		printf("# no cache grew by more than 32 objects and 10%% over the run\n");
}

/* Unicast datagram round trips per second: how fast the guest is now. */
static double reference(void)
{
	char buf[256] = "reference";
	int sv[2], i, n = 2000;
	uint64_t t0;

	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv))
		return 0;
	t0 = now_ns();
	for (i = 0; i < n; i++)
		if (send(sv[0], buf, sizeof(buf), 0) < 0 ||
		    recv(sv[1], buf, sizeof(buf), 0) < 0)
			break;
	close(sv[0]);
	close(sv[1]);
	return i * 1e9 / (now_ns() - t0);
}

static bool slab_ok(void)
{
	unsigned int i;

	for (i = 0; i < NSLABS; i++)
		if (slabs[i].tolerance && slabs[i].before >= 0 &&
		    slabs[i].after - slabs[i].before > slabs[i].tolerance)
			return false;
	return true;
}

/* Make every group exist once, so the first allocations are behind us. */
static void warm_up(void)
{
	char buf[64] = "warm-up";
	int g, i, m, s;

	for (g = 0; g < NGROUPS; g++) {
		m = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (m < 0 || s < 0 || mcast_join(m, &gaddr[g], galen[g], 0)) {
			printf("Bail out! warm-up join of %s: %s\n", gname[g],
			       strerror(errno));
			exit(1);
		}
		for (i = 0; i < 8; i++) {
			if (sendto(s, buf, sizeof(buf), 0,
				   (struct sockaddr *)&gaddr[g], galen[g]) < 0 ||
			    recv(m, buf, sizeof(buf), 0) < 0) {
				printf("Bail out! warm-up on %s: %s\n",
				       gname[g], strerror(errno));
				exit(1);
			}
		}
		close(m);
		close(s);
		/* The path's socket file stays: the workers unlink it. */
	}
}

/* After the run: every group gone, its address free. */
static bool groups_gone(void)
{
	bool ok = true;
	int g, fd, n = -1, i;

	for (i = 0; i < 100; i++) {
		n = proc_net_unix(false);
		if (n <= 0)
			break;
		usleep(100000);
	}
	if (n < 0) {
		printf("# /proc/net/unix: %s\n", strerror(errno));
		ok = false;
	} else if (n > 0) {
		proc_net_unix(true);
		ok = false;
	}
	for (g = 0; g < NGROUPS; g++) {
		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return false;
		if (is_path(g)) {
			/* No group: the stale file refuses, or no file. */
			if (sendto(fd, "x", 1, MSG_DONTWAIT,
				   (struct sockaddr *)&gaddr[g], galen[g]) >= 0 ||
			    (errno != ECONNREFUSED && errno != ENOENT)) {
				printf("# %s: a send %s\n", gname[g],
				       errno ? strerror(errno) : "succeeded");
				ok = false;
			}
			unlink(gaddr[g].sun_path);
			unlink(lockpath[g]);
		} else if (bind(fd, (struct sockaddr *)&gaddr[g], galen[g])) {
			printf("# %s: bind: %s\n", gname[g], strerror(errno));
			ok = false;
		}
		close(fd);
	}
	rmdir(tmpdir);
	return ok;
}

static void print_fault_config(void)
{
	static const char *const f[] = {
		"failslab/probability", "failslab/interval", "failslab/times",
		"failslab/task-filter", "fail_page_alloc/probability",
		"fail_page_alloc/times", "fail_page_alloc/task-filter",
	};
	char path[128], buf[64];
	unsigned int i;
	ssize_t n;
	int fd;

	for (i = 0; i < ARRAY_SIZE(f); i++) {
		snprintf(path, sizeof(path), "/sys/kernel/debug/%s", f[i]);
		fd = open(path, O_RDONLY);
		if (fd < 0) {
			printf("# %s: %s\n", path, strerror(errno));
			continue;
		}
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = 0;
		buf[strcspn(buf, "\n")] = 0;
		printf("# %s = %s\n", f[i], buf);
	}
}

/*
 * -T: check the checker. Copy a membership's log twice into free slots,
 * once with two datagrams of different senders swapped (an order
 * violation), once without one datagram whose sender comes again later (a
 * loss, if the copy is of a blocking member). Lines 2 and 3 must then fail.
 */
static void corrupt_logs(void)
{
	int i, done = 0;

	for (i = 0; i < nlogs && done != 3; i++) {
		struct mlog *l = &sh->logs[i];
		uint64_t *e = entries + (size_t)i * LOG_CAP, *d;
		uint32_t k, j;

		if (!l->used || l->count < 3 || nlogs + 1 >= MAX_LOGS)
			continue;
		for (k = 0; k + 1 < l->count && !(done & 1); k++) {
			if (e[k] >> 32 == e[k + 1] >> 32)
				continue;
			d = entries + (size_t)nlogs * LOG_CAP;
			memcpy(d, e, l->count * sizeof(*e));
			d[k] = e[k + 1];
			d[k + 1] = e[k];
			sh->logs[nlogs++] = *l;
			done |= 1;
		}
		if (l->flags & LOG_DWF || done & 2)
			continue;
		/* Its sender before and after it: an inner gap. */
		for (k = 1; k + 1 < l->count && !(done & 2); k++) {
			for (j = 0; j < k; j++)
				if (e[j] >> 32 == e[k] >> 32)
					break;
			if (j == k)
				continue;
			for (j = k + 1; j < l->count; j++)
				if (e[j] >> 32 == e[k] >> 32)
					break;
			if (j == l->count)
				continue;
			d = entries + (size_t)nlogs * LOG_CAP;
			memcpy(d, e, k * sizeof(*e));
			memcpy(d + k, e + k + 1, (l->count - k - 1) * sizeof(*e));
			sh->logs[nlogs] = *l;
			sh->logs[nlogs++].count = l->count - 1;
			done |= 2;
		}
	}
	printf("# -T: corrupted copies made: order %s, loss %s\n",
	       done & 1 ? "yes" : "no", done & 2 ? "yes" : "no");
}

static void *map_shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED) {
		printf("Bail out! mmap %zu: %s\n", size, strerror(errno));
		exit(1);
	}
	return p;
}

static void usage_exit(const char *prog)
{
	fprintf(stderr, "usage: %s [-d SECONDS] [-F] [-v] [-T]\n"
		"  -d  run for SECONDS (default 60)\n"
		"  -F  fault injection: syscalls under test run with make-it-fail\n"
		"  -v  verbose\n"
		"  -T  test the checker: corrupt copies of two logs, expect 2 and 3 to fail\n",
		prog);
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t start, end, stalled_kills = 0, next_kill, t;
	bool seen[NPROCS * NTHREADS] = { 0 }, inject = false, ok_all = true;
	bool err_complete, slabinfo, ok_slab, ok_gone, sampled = false;
	bool selftest = false;
	uint64_t ok_mid[NKINDS] = { 0 }, t_mid = 0;
	double ref_before, ref_after;
	int opt, duration = 60, p, status, tests, i, k, e, mid = -1;
	double secs;

	while ((opt = getopt(argc, argv, "d:FvT")) != -1) {
		switch (opt) {
		case 'd':
			duration = atoi(optarg);
			if (duration <= 0)
				usage_exit(argv[0]);
			break;
		case 'F':
			inject = true;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'T':
			selftest = true;
			break;
		default:
			usage_exit(argv[0]);
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	printf("TAP version 13\n");
	if (inject && access("/proc/thread-self/make-it-fail", W_OK)) {
		printf("Bail out! -F needs /proc/thread-self/make-it-fail (%s): %s\n",
		       "CONFIG_FAULT_INJECTION, CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC",
		       strerror(errno));
		return 1;
	}
	pctx.rng = now_ns() ^ (uint64_t)getpid() << 32;
	sh = map_shared(sizeof(*sh));
	entries = map_shared((size_t)MAX_LOGS * LOG_CAP * sizeof(*entries));
	errsends = map_shared((size_t)MAX_ERRSENDS * sizeof(*errsends));
	sh->inject = inject;
	sh->verbose = verbose;

	snprintf(tag, sizeof(tag), "aum-stress-%d-", getpid());
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/%sXXXXXX", tag);
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < NGROUPS; i++) {
		char name[108];

		if (is_path(i)) {
			snprintf(name, sizeof(name), "%s/g%d", tmpdir, i);
			galen[i] = mcast_addr(&gaddr[i], name, 0);
			snprintf(gname[i], sizeof(gname[i]), "%s", name);
			snprintf(lockpath[i], sizeof(lockpath[i]), "%s/g%d.lock",
				 tmpdir, i);
		} else {
			k = snprintf(name, sizeof(name), "%c%sg%d", 0, tag, i);
			galen[i] = mcast_addr(&gaddr[i], name, k);
			snprintf(gname[i], sizeof(gname[i]), "@%s", name + 1);
		}
	}
	printf("# %d s, %d processes x (%d members + 1 sender), groups %s %s %s %s%s\n",
	       duration, NPROCS, NMEMBERS, gname[0], gname[1], gname[2],
	       gname[3], inject ? ", fault injection" : "");
	if (inject)
		print_fault_config();

	warm_up();
	sleep(1);
	slabinfo = slab_read(BEFORE);
	nall_before = all_caches(all_before);
	ref_before = reference();
	if (!slabinfo)
		printf("# /proc/slabinfo: %s\n", strerror(errno));

	for (p = 0; p < NPROCS; p++)
		spawn(p);
	start = now_ms();
	end = start + duration * 1000ull;
	next_kill = start + 1000 + rnd(&pctx) % 1000;
	while ((t = now_ms()) < end) {
		usleep(50000);
		watchdog(seen);
		for (p = 0; p < NPROCS; p++) {
			if (waitpid(sh->procs[p].pid, &status, WNOHANG) !=
			    sh->procs[p].pid)
				continue;
			/* Only our SIGKILL ends a worker before the end. */
			printf("# worker %d exited on its own\n", p);
			check_status(p, status, false);
			if (WIFEXITED(status) && !WEXITSTATUS(status))
				crashed++;
			spawn(p);
		}
		if (!sampled && t > start + duration * 500ull) {
			mid = proc_net_unix(false);
			slab_read(MID);
			for (k = 0; k < NKINDS; k++)
				ok_mid[k] = sh->ok[k];
			t_mid = now_ms();
			sampled = true;
		}
		if (t >= next_kill) {
			kill_one(&stalled_kills);
			next_kill = now_ms() + 600 + rnd(&pctx) % 1200;
		}
	}
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELAXED);
	for (p = 0; p < NPROCS; p++) {
		if (!wait_child(sh->procs[p].pid, &status, 2 * HANG_MS)) {
			check_status(p, status, false);
			continue;
		}
		hung++;
		printf("# HANG: worker %d (pid %d) did not stop\n", p,
		       sh->procs[p].pid);
		for (i = 0; i < NTHREADS; i++)
			report_hang("", p, i, now_ms());
		kill(sh->procs[p].pid, SIGKILL);
		waitpid(sh->procs[p].pid, &status, 0);
	}
	secs = (now_ms() - start) / 1000.0;

	/* Analysis */
	nlogs = sh->next_log < MAX_LOGS ? sh->next_log : MAX_LOGS;
	nerr = sh->nerrsends < MAX_ERRSENDS ? sh->nerrsends : MAX_ERRSENDS;
	err_complete = sh->nerrsends <= MAX_ERRSENDS;
	qsort(errsends, nerr, sizeof(*errsends), cmp_u64);
	if (selftest)
		corrupt_logs();
	check_logs(err_complete);
	check_order();

	ok_gone = groups_gone();
	ref_after = reference();
	ok_slab = true;
	if (slabinfo) {
		for (i = 0; i < 20; i++) {
			slab_read(AFTER);
			ok_slab = slab_ok();
			if (ok_slab)
				break;
			sleep(1);
		}
	}

	/* Report */
	printf("# ran %.1f s; ops per second of each kind (calls, succeeded):\n",
	       secs);
	for (k = 0; k < NKINDS; k++) {
		char errs[256] = "";
		int n = 0;

		for (e = 1; e < ERRNO_MAX; e++)
			if (sh->errs[k][e] && n < (int)sizeof(errs) - 40)
				n += snprintf(errs + n, sizeof(errs) - n, " %s=%llu",
					      e == ERRNO_MAX - 1 ? "other" :
					      strerrorname_np(e) ?: "?",
					      (unsigned long long)sh->errs[k][e]);
		printf("#   %-15s %9llu calls %9.1f/s, %9llu ok %9.1f/s%s%s\n",
		       kind_name[k], (unsigned long long)sh->ops[k],
		       sh->ops[k] / secs, (unsigned long long)sh->ok[k],
		       sh->ok[k] / secs, n ? ", errors:" : "", errs);
	}
	printf("# memberships logged %d (%llu truncated), datagrams logged %llu, ",
	       nlogs, (unsigned long long)ntrunc,
	       (unsigned long long)nentries);
	printf("member pairs compared %llu, common datagrams %llu\n",
	       (unsigned long long)pairs, (unsigned long long)common);
	printf("# failed sends %llu%s, stale path files unlinked %llu, stalls %llu, ",
	       (unsigned long long)sh->nerrsends,
	       err_complete ? "" : " (list overflowed: no loss check)",
	       (unsigned long long)sh->stale_unlinks,
	       (unsigned long long)sh->stalls);
	printf("kills %llu (%llu of a blocking member not reading), rejoins %llu, ",
	       (unsigned long long)sh->ops[K_KILL],
	       (unsigned long long)stalled_kills,
	       (unsigned long long)sh->rejoins);
	printf("EALREADY checks %llu, not-joined leaves %llu, drops reported %llu\n",
	       (unsigned long long)sh->ealready,
	       (unsigned long long)sh->notjoined,
	       (unsigned long long)sh->dropped_reported);
	if (t_mid) {
		double h1 = (t_mid - start) / 1000.0, h2 = secs - h1;
		uint64_t s1 = 0, s2 = 0;

		for (k = K_SEND_BLOCK; k <= K_SEND_MEMBER; k++) {
			s1 += ok_mid[k];
			s2 += sh->ok[k] - ok_mid[k];
		}
		printf("# first half / second half: recv %.1f/s / %.1f/s, sends %.1f/s / %.1f/s\n",
		       ok_mid[K_RECV] / h1,
		       (sh->ok[K_RECV] - ok_mid[K_RECV]) / h2, s1 / h1, s2 / h2);
	}
	printf("# reference, unicast datagram round trips: %.0f/s before, %.0f/s after the run\n",
	       ref_before, ref_after);
	printf("# kills while another worker waited in a send: %llu\n",
	       (unsigned long long)kills_sender_waiting);
	printf("# seq gaps in memberships: %llu of failed sends, ",
	       (unsigned long long)gaps_failed);
	printf("%llu drops of drop-when-full members\n",
	       (unsigned long long)dwf_gaps);
	printf("# groups of this run in /proc/net/unix at mid-run: %d\n", mid);
	printf("# syscalls failed with an injected-allocation errno ");
	printf("(ENOMEM, ENOBUFS, ENFILE, ENOSPC): %llu%s\n",
	       (unsigned long long)sh->injected,
	       inject ? " (faults survived)" : " (not counted without -F)");
	if (sh->msgs > MAX_MSGS)
		printf("# %u worker failure messages, %d printed\n", sh->msgs,
		       MAX_MSGS);
	for (i = 0; slabinfo && i < (int)NSLABS; i++)
		if (slabs[i].before >= 0) {
			printf("# slab %-20s active objects %ld -> %ld ",
			       slabs[i].name, slabs[i].before, slabs[i].after);
			printf("(%+ld, tolerance %ld; %ld at mid-run)\n",
			       slabs[i].after - slabs[i].before,
			       slabs[i].tolerance, slabs[i].mid);
		}

	if (slabinfo)
		print_growth();
	tests = inject ? 7 : 6;
	printf("1..%d\n", tests);
#define RESULT(n, cond, fmt, ...) do {					\
		bool __ok = (cond);					\
		ok_all &= __ok;						\
		printf("%sok %d " fmt "\n", __ok ? "" : "not ", n, ##__VA_ARGS__); \
	} while (0)
	RESULT(1, !sh->integrity, "integrity: %llu datagrams, %llu bad",
	       (unsigned long long)sh->ok[K_RECV],
	       (unsigned long long)sh->integrity);
	RESULT(2, !order_fail, "order: %llu violations",
	       (unsigned long long)order_fail);
	RESULT(3, !delivery_fail,
	       "delivery: %llu violations (failed sends received, blocking losses, drops beyond SO_RXQ_OVFL)",
	       (unsigned long long)delivery_fail);
	RESULT(4, !sh->undocumented && !hung && !crashed,
	       "errors: %llu undocumented, %llu hangs, %llu workers crashed",
	       (unsigned long long)sh->undocumented,
	       (unsigned long long)hung, (unsigned long long)crashed);
	RESULT(5, ok_gone, "groups gone");
	if (slabinfo)
		RESULT(6, ok_slab, "slab counts back to their level");
	else
		printf("ok 6 slab # SKIP no /proc/slabinfo\n");
	if (inject)
		RESULT(7, sh->injected > 0,
		       "fault injection: %llu syscalls failed with an injected-allocation errno",
		       (unsigned long long)sh->injected);
	printf("# %s\n", ok_all ? "PASS" : "FAIL");
	return ok_all ? 0 : 1;
}
