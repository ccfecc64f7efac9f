// SPDX-License-Identifier: GPL-2.0
/*
 * mcast_fuzz: a deterministic, model-checked fuzzer for AF_UNIX multicast
 * groups (Documentation/networking/af_unix_multicast.rst), as series v2
 * changes it: struct unix_mreq of <linux/unix_mcast.h> with umr_reserved,
 * groups whose address is free as soon as they die (a join takes over a
 * stale socket file), leaves that find a group by its join-time address
 * once its path is gone, and disconnects that keep group datagrams.
 *
 * For every seed a sequence of operations is generated up front: socket,
 * close, bind, unlink, join and leave in both option forms with random flags,
 * reserved fields and lengths, sendto, connect and send with random sizes
 * and flags, recv,
 * shutdown, SO_RXQ_OVFL, sysctl changes and garbage option values and
 * addresses; now and then an operation runs in a forked child on the sockets
 * it inherited. The operations run against the kernel and, in lockstep,
 * against a reference model of the contract and of the AF_UNIX datagram
 * rules it builds on. Every return value, errno, received byte, sender
 * address and drop count is compared. On the first divergence the sequence
 * is shrunk to a minimal one that still diverges, and printed with the seed.
 *
 * The program is single threaded and never blocks (every send and receive
 * is MSG_DONTWAIT), so a run depends on its seed only.
 *
 * Usage: mcast_fuzz [-s FIRST_SEED] [-n SEEDS] [-o OPS_PER_SEED] [-v]
 *		     [-N] [-u]
 *   -s, -n, -o  seeds FIRST_SEED.. (1), how many (20), ops each (2000);
 *       a longer run is a larger -n
 *   -v  print every operation of the runs with its result
 *   -N  run in a new network namespace (its own sysctls)
 *   -u  unicast only: no join, leave or max_memberships (for kernels
 *       without CONFIG_UNIX_MULTICAST)
 *
 * poll() for POLLOUT is checked too: a socket connected to a group is
 * writable only while no blocking member of it but itself is full. So are
 * the accounting rule, by SIOCOUTQ: a sender is charged a unicast
 * datagram's charge once per group datagram a blocking member still holds,
 * a clone's struct sk_buff per such copy, and nothing for drop-when-full
 * members' copies (the charges are measured at the start); and the
 * membership policy: a fifth of the joins of abstract groups run in a
 * child as uid 65534 without capabilities, for whom a blocking join of a
 * group it did not create fails with EPERM, and the groups it creates are
 * its own to join blocking (root may join any: CAP_NET_ADMIN).
 *
 * Not modelled, so not generated: blocking sends and receives, SO_SNDTIMEO
 * and signals, concurrent senders, the send buffer's limit (a send that
 * could come near it is skipped, on both sides), other credentials,
 * SCM_RIGHTS, socket filters, file permissions (every path operation runs
 * as root), LSMs and Landlock, network namespaces, the
 * limit on groups (user.max_unix_mcast_groups: ENOSPC, never near), and
 * send and receive on stream sockets (skipped; their bind, connect, join and
 * close are checked). Two corners the v2 contract leaves open are skipped
 * too (see m_disconnect_unsure() and m_mcast()).
 */
#define _GNU_SOURCE
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>
#include <linux/unix_mcast.h>	/* not <linux/un.h>: v2 moved the uapi */

#define NSLOT		6	/* socket slots */
#define NNAME		4	/* A0 A1: abstract names, P0 P1: paths */
#define MAXQ		1024	/* datagrams a model queue may hold */
#define MAXGRP		64
#define MAXFILE		64
#define PAYMAX		300	/* largest ordinary payload */
#define RECVMAX		512
#define SS_LEN		128	/* sizeof(struct sockaddr_storage) */
#define SUN_LEN_MAX	110	/* sizeof(struct sockaddr_un) */
#define MREQ_LEN	120	/* sizeof(struct unix_mreq) */
#define LEN_BIG		(-1)	/* payload: more than the send buffer allows */
#define MREQ_FLAGS	(UNIX_MREQ_DROP_WHEN_FULL | UNIX_MREQ_NO_LOOP)
#define MAX_REPLAYS	1500	/* budget for shrinking one divergence */
#define START_QLEN	3	/* sysctls at the start of every run */
#define START_MM	4
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define QLEN_PATH	"/proc/sys/net/unix/max_dgram_qlen"
#define MM_PATH		"/proc/sys/net/unix/max_memberships"

/* The layout the model reads option values with. */
static_assert(sizeof(struct unix_mreq) == MREQ_LEN, "unix_mreq size");
static_assert(offsetof(struct unix_mreq, umr_family) == 0 &&
	      offsetof(struct unix_mreq, umr_reserved) == SUN_LEN_MAX &&
	      offsetof(struct unix_mreq, umr_addrlen) == 112 &&
	      offsetof(struct unix_mreq, umr_flags) == 116,
	      "unix_mreq layout");

enum {
	OP_SOCKET, OP_CLOSE, OP_BIND, OP_UNLINK, OP_JOIN, OP_LEAVE, OP_SENDTO,
	OP_SEND, OP_CONNECT, OP_RECV, OP_SHUTDOWN, OP_RXQ, OP_SYSCTL, OP_POLL,
	OP_OUTQ, OP_NR
};

static const char *const op_name[OP_NR] = {
	"socket", "close", "bind", "unlink", "join", "leave", "sendto",
	"send", "connect", "recv", "shutdown", "rxq_ovfl", "sysctl", "poll",
	"outq",
};

/* How an address is given. */
enum {
	AM_EXACT,	/* as bind() wants it */
	AM_NONUL,	/* path without its NUL */
	AM_FULL,	/* length 110, zero padded */
	AM_TRUNC,	/* one character short: another name */
	AM_EMBNUL,	/* path: NUL then garbage; abstract: an inner NUL */
	AM_BADFAM,	/* AF_INET */
	AM_UNSPEC,	/* AF_UNSPEC */
	AM_LEN0, AM_LEN1, AM_LEN2, AM_LEN111, AM_HUGE,
	AM_NULL,	/* NULL pointer */
	AM_UNMAPPED,	/* unreadable pointer */
	AM_NR
};

static const char *const am_name[AM_NR] = {
	"exact", "nonul", "full", "trunc", "embnul", "inet", "unspec",
	"len0", "len1", "len2", "len111", "len4096", "null", "unmapped",
};

/* How a join or leave passes its option value. */
enum { JF_PLAIN, JF_MREQ, JF_BADLEN, JF_BADOPT };

enum { PTR_OK, PTR_NULL, PTR_BAD };

/* Who runs an operation in a forked child: root, or an unprivileged user
 * (uid and gid NOBODY, no capabilities) that joins abstract groups.
 */
enum { CHILD_NONE, CHILD_ROOT, CHILD_NOBODY };
#define NOBODY		65534

struct op {
	uint32_t id;		/* index in the generated sequence */
	uint8_t kind;
	uint8_t slot;
	uint8_t child;		/* run in a forked child: CHILD_ROOT, CHILD_NOBODY */
	uint8_t name;
	uint8_t amode;
	uint8_t form;		/* join form, socket type, sysctl */
	uint16_t resv;		/* umr_reserved */
	uint32_t flags;		/* umr_flags or msg flags */
	int32_t len;		/* payload, buffer, optlen, optname, value */
};

/* What an operation returned. */
struct res {
	long ret;
	int err;
	int mflags;		/* recvmsg msg_flags & MSG_TRUNC */
	int namelen;
	int ovfl;		/* SO_RXQ_OVFL count, 0 without one */
	int ncopy;		/* bytes copied by recvmsg */
	unsigned char name[SS_LEN];
	unsigned char data[RECVMAX];
};

/* The arguments an operation passes, built from it for both sides. */
struct abuf {
	unsigned char b[SS_LEN];
	int len;
	void *ptr;
	int ptrkind;
};

struct inputs {
	struct abuf a;
	struct unix_mreq mreq;
	int optname;
	int optlen;
	const void *optval;
	int optkind;
	const unsigned char *raw;	/* the sockaddr_un parsed by a join */
	int paylen;
};

/* ---- Random numbers: splitmix64. ---- */

static uint64_t rng;

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned int rn(unsigned int n)
{
	return rnd() % n;
}

/* ---- Global state of the real side. ---- */

static int g_fd[NSLOT];
static char g_dir[32];
static char g_abs[32];
static unsigned int g_attempt;
static int g_sndbuf;
static int g_cap;		/* datagrams a sender may have in flight */
/* What a unicast datagram of each length charges its sender's send buffer,
 * and what a blocking member's clone adds (measured at the start).
 */
static int g_truesize[PAYMAX + 1], g_clone_size;
static void *g_unmapped;
static unsigned char *g_big;
static unsigned char g_opt[4096];
static struct res *g_child_res;
static char g_orig_qlen[32], g_orig_mm[32];
static bool g_unicast_only;
static int g_verbose;
/* Read by the SIGALRM handler: accessed with relaxed atomics. */
static int g_cur_op = -1;

/* What the runs reached: results per op kind, and model events. */
enum {
	EV_GSEND, EV_CLONE, EV_GAGAIN, EV_DROP, EV_SHUTSKIP, EV_NOLOOP,
	EV_GROUP, EV_GDIE, EV_RESET, EV_AUTOBIND, EV_TAKEOVER, EV_BYADDR,
	EV_KEPT, EV_UNSURE, EV_POLLBLOCKED, EV_EPERM, EV_CHARGED, EV_NR
};

static const char *const ev_name[EV_NR] = {
	"group sends", "clones", "group EAGAIN", "drop-when-full drops",
	"shut-down members skipped", "no-loop skips", "groups created",
	"groups gone", "ECONNRESET", "autobinds", "stale files taken over",
	"leaves by join address", "group datagrams kept on disconnect",
	"ops skipped as the contract leaves them open",
	"polls not writable for a group's full member",
	"blocking joins refused to a non-creator (EPERM)",
	"SIOCOUTQ checks with blocking group copies charged",
};

static unsigned long cov[OP_NR][136], ev[EV_NR];
static bool g_counting;

#define EV(e) do { if (g_counting) ev[e]++; } while (0)
static unsigned int g_cur_seed;

/* ---- The reference model. ---- */

struct cname {
	uint8_t abs;
	uint8_t len;		/* path length or abstract byte count */
	char b[108];
};

enum { K_SOCK, K_GROUP };

struct mobj {
	uint8_t kind;
	uint8_t type;
	bool alive;
	bool bound;
	int slot;		/* socket: its slot while alive */
	int gidx;		/* group: its entry */
	struct cname name;
	int rawlen;		/* its address as recvfrom() gives it */
	unsigned char raw[SS_LEN];
	int outstanding;	/* its datagrams still queued */
	int big;		/* of them, longer than PAYMAX */
};

struct mmsg {
	uint32_t id;
	uint16_t len;
	bool grp;		/* a group's clone, not a unicast datagram */
	bool blk;		/* a group's clone for a blocking member */
	int from;
	uint32_t drops;
};

struct mslot {
	int obj;		/* -1: empty */
	int type;
	int qlim;		/* sk_max_ack_backlog */
	int peer;		/* connected object or -1 */
	int shut;
	int err;
	bool rxq;
	uint32_t drops;
	int qhead, qn;
	struct mmsg q[MAXQ];
};

/* An address as an option value gave it: its first len bytes. */
struct maddr {
	int len;
	unsigned char b[SUN_LEN_MAX];
};

struct mgroup {
	bool live;
	int obj;
	unsigned int creator;	/* euid of the task whose join created it */
	struct cname name;
	int n;
	int mslot[NSLOT];
	uint32_t mflags[NSLOT];
	struct maddr jaddr[NSLOT];	/* each member's address at its join */
};

struct mfile {
	bool exists;
	struct cname name;
	int holder;
};

static struct {
	struct mobj *o;
	int nobj, maxobj;
	struct mslot s[NSLOT];
	struct mgroup g[MAXGRP];
	struct mfile f[MAXFILE];
	int qlen, mm;
	int sync_slot;		/* autobound: learn its name */
	char fail[160];		/* the model's own limits were hit */
} M;

static bool cname_eq(const struct cname *a, const struct cname *b)
{
	return a->abs == b->abs && a->len == b->len &&
	       !memcmp(a->b, b->b, a->len);
}

static int m_newobj(int kind, int type)
{
	struct mobj *o;

	if (M.nobj >= M.maxobj) {
		snprintf(M.fail, sizeof(M.fail), "model: out of objects");
		return 0;
	}
	o = &M.o[M.nobj];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->type = type;
	o->alive = true;
	o->slot = -1;
	o->gidx = -1;
	return M.nobj++;
}

static void m_reset(int maxobj)
{
	int i;

	free(M.o);
	memset(&M, 0, sizeof(M));
	M.maxobj = maxobj;
	M.o = calloc(maxobj, sizeof(*M.o));
	if (!M.o) {
		perror("calloc");
		exit(2);
	}
	for (i = 0; i < NSLOT; i++)
		M.s[i].obj = -1;
	M.qlen = START_QLEN;
	M.mm = START_MM;
	M.sync_slot = -1;
}

static bool m_full(const struct mslot *s)
{
	return !(s->shut & 1) && s->qn > s->qlim;
}

static void m_enqueue(int slot, uint32_t id, int len, int from, bool grp,
		      bool blk)
{
	struct mslot *s = &M.s[slot];
	struct mmsg *m;

	if (s->qn >= MAXQ) {
		snprintf(M.fail, sizeof(M.fail), "model: queue overflow");
		return;
	}
	m = &s->q[(s->qhead + s->qn++) % MAXQ];
	m->id = id;
	m->len = len;
	m->from = from;
	m->grp = grp;
	m->blk = blk;
	m->drops = s->rxq ? s->drops : 0;
	M.o[from].outstanding++;
	M.o[from].big += len > PAYMAX;
}

static void m_pop(int slot)
{
	struct mslot *s = &M.s[slot];

	M.o[s->q[s->qhead].from].outstanding--;
	M.o[s->q[s->qhead].from].big -= s->q[s->qhead].len > PAYMAX;
	s->qhead = (s->qhead + 1) % MAXQ;
	s->qn--;
}

static void m_purge(int slot)
{
	while (M.s[slot].qn)
		m_pop(slot);
}

/* Discards the unicast datagrams queued to @slot and keeps its group
 * datagrams, in their order (v2: "connect() elsewhere and the death of its
 * peer discard only the unicast datagrams ..., never group datagrams").
 */
static void m_purge_unicast(int slot)
{
	struct mslot *s = &M.s[slot];
	int n = s->qn;
	struct mmsg m;

	while (n--) {
		m = s->q[s->qhead];
		m_pop(slot);
		if (!m.grp)
			continue;
		EV(EV_KEPT);
		s->q[(s->qhead + s->qn++) % MAXQ] = m;
		M.o[m.from].outstanding++;
		M.o[m.from].big += m.len > PAYMAX;
	}
}

static struct mfile *m_file(const struct cname *n)
{
	int i;

	for (i = 0; i < MAXFILE; i++)
		if (M.f[i].exists && cname_eq(&M.f[i].name, n))
			return &M.f[i];
	return NULL;
}

static void m_mkfile(const struct cname *n, int holder)
{
	int i;

	for (i = 0; i < MAXFILE; i++) {
		if (!M.f[i].exists) {
			M.f[i].exists = true;
			M.f[i].name = *n;
			M.f[i].holder = holder;
			return;
		}
	}
	snprintf(M.fail, sizeof(M.fail), "model: out of files");
}

/* unix_find_other(): the live object bound to @n for @type, or -errno. */
static int m_lookup(const struct cname *n, int type)
{
	struct mfile *f;
	int i, h;

	if (!n->abs) {
		f = m_file(n);
		if (!f)
			return -ENOENT;
		h = f->holder;
		if (h < 0 || !M.o[h].alive)
			return -ECONNREFUSED;
		if (M.o[h].type != type)
			return -EPROTOTYPE;
		return h;
	}
	for (i = 0; i < NSLOT; i++) {
		int o = M.s[i].obj;

		if (o >= 0 && M.o[o].type == type && M.o[o].bound &&
		    cname_eq(&M.o[o].name, n))
			return o;
	}
	if (type != SOCK_DGRAM)
		return -ECONNREFUSED;
	for (i = 0; i < MAXGRP; i++)
		if (M.g[i].live && cname_eq(&M.g[i].name, n))
			return M.g[i].obj;
	return -ECONNREFUSED;
}

static int m_member(const struct mgroup *g, int slot)
{
	int i;

	for (i = 0; i < g->n; i++)
		if (g->mslot[i] == slot)
			return i;
	return -1;
}

static int m_count(int slot)
{
	int i, n = 0;

	for (i = 0; i < MAXGRP; i++)
		if (M.g[i].live && m_member(&M.g[i], slot) >= 0)
			n++;
	return n;
}

/* A member leaves; the group dies with its last member. */
static void m_group_remove(struct mgroup *g, int slot)
{
	int i = m_member(g, slot);

	memmove(&g->mslot[i], &g->mslot[i + 1],
		(g->n - i - 1) * sizeof(g->mslot[0]));
	memmove(&g->mflags[i], &g->mflags[i + 1],
		(g->n - i - 1) * sizeof(g->mflags[0]));
	memmove(&g->jaddr[i], &g->jaddr[i + 1],
		(g->n - i - 1) * sizeof(g->jaddr[0]));
	if (--g->n == 0) {
		/* v2: its address is free at once. An abstract name is found
		 * through live groups only; a path keeps a socket file whose
		 * holder is dead, which bind() refuses, connect() and sendto()
		 * find refused, and a join takes over (m_mcast()).
		 */
		EV(EV_GDIE);
		g->live = false;
		M.o[g->obj].alive = false;
	}
}

static bool m_old_peer_back(int slot, int old)
{
	return M.o[old].alive && M.o[old].kind == K_SOCK &&
	       M.s[M.o[old].slot].peer == M.s[slot].obj;
}

/* True if the disconnect of @slot from @old is one the v2 contract leaves
 * open: the queue holds only group datagrams, which v2 keeps, and the old
 * peer is connected back. Upstream reports ECONNRESET to the old peer when
 * the queue was not empty ("messages are lost"); whether v2 still does when
 * nothing is discarded is not said. The op is skipped on both sides.
 */
static bool m_disconnect_unsure(int slot, int old)
{
	const struct mslot *s = &M.s[slot];
	int i;

	if (!s->qn || !m_old_peer_back(slot, old))
		return false;
	for (i = 0; i < s->qn; i++)
		if (!s->q[(s->qhead + i) % MAXQ].grp)
			return false;
	EV(EV_UNSURE);
	return true;
}

/* unix_dgram_disconnected(), v2: the queued unicast datagrams go, the group
 * datagrams stay. With unicast datagrams discarded (m_disconnect_unsure()
 * excludes the other case), the old peer gets ECONNRESET as upstream.
 */
static void m_disconnected(int slot, int old)
{
	if (!M.s[slot].qn)
		return;
	m_purge_unicast(slot);
	if (m_old_peer_back(slot, old)) {
		EV(EV_RESET);
		M.s[M.o[old].slot].err = ECONNRESET;
	}
}

static void m_close(int slot)
{
	struct mslot *s = &M.s[slot];
	int i;

	for (i = 0; i < MAXGRP; i++)
		if (M.g[i].live && m_member(&M.g[i], slot) >= 0)
			m_group_remove(&M.g[i], slot);
	M.o[s->obj].alive = false;
	m_purge(slot);
	s->obj = -1;
}

/* ---- Addresses. ---- */

static void build_addr(int name, int amode, struct abuf *a)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)a->b;
	char *p = sun->sun_path;
	int n;

	memset(a, 0, sizeof(*a));
	sun->sun_family = AF_UNIX;
	if (name < 2) {
		n = 1 + snprintf(p + 1, 100, "%sa%d", g_abs, name);
		if (amode == AM_TRUNC)
			p[--n] = 0;
		if (amode == AM_EMBNUL)
			p[3] = 0;
		a->len = 2 + n;
	} else {
		n = snprintf(p, 100, "%s/n%d", g_dir, name - 2);
		if (amode == AM_TRUNC)
			p[--n] = 0;
		a->len = 2 + n + 1;
		if (amode == AM_NONUL)
			a->len--;
		if (amode == AM_EMBNUL) {
			memcpy(p + n + 1, "zz", 2);
			a->len += 2;
		}
	}
	switch (amode) {
	case AM_FULL:
		a->len = SUN_LEN_MAX;
		break;
	case AM_BADFAM:
		sun->sun_family = AF_INET;
		break;
	case AM_UNSPEC:
		sun->sun_family = AF_UNSPEC;
		break;
	case AM_LEN0:
		a->len = 0;
		break;
	case AM_LEN1:
		a->len = 1;
		break;
	case AM_LEN2:
		a->len = 2;
		break;
	case AM_LEN111:
		a->len = 111;
		break;
	case AM_HUGE:
		a->len = 4096;
		break;
	}
	a->ptr = a->b;
	a->ptrkind = PTR_OK;
	if (amode == AM_NULL) {
		a->ptr = NULL;
		a->ptrkind = PTR_NULL;
	} else if (amode == AM_UNMAPPED) {
		a->ptr = g_unmapped;
		a->ptrkind = PTR_BAD;
	}
}

static void prepare(const struct op *op, struct inputs *in)
{
	memset(in, 0, sizeof(*in));
	build_addr(op->name, op->amode, &in->a);
	in->paylen = op->len == LEN_BIG ? g_sndbuf - 31 : op->len;
	if (op->kind != OP_JOIN && op->kind != OP_LEAVE)
		return;
	in->optname = op->kind == OP_JOIN ? UNIX_ADD_MEMBERSHIP :
					    UNIX_DROP_MEMBERSHIP;
	/* umr_family and umr_path: the layout of a struct sockaddr_un. */
	memcpy(&in->mreq.umr_family, in->a.b, SUN_LEN_MAX);
	in->mreq.umr_reserved = op->resv;
	in->mreq.umr_addrlen = in->a.len;
	in->mreq.umr_flags = op->flags;
	in->optval = &in->mreq;
	in->optkind = PTR_OK;
	in->optlen = MREQ_LEN;
	in->raw = (const unsigned char *)&in->mreq;
	switch (op->form) {
	case JF_PLAIN:
		in->optval = in->a.ptr;
		in->optkind = in->a.ptrkind;
		in->optlen = in->a.len;
		in->raw = in->a.b;
		break;
	case JF_MREQ:
		if (in->a.ptrkind != PTR_OK) {
			in->optval = in->a.ptr;
			in->optkind = in->a.ptrkind;
		}
		break;
	case JF_BADLEN:
		memset(g_opt, 0, sizeof(g_opt));
		memcpy(g_opt, &in->mreq, sizeof(in->mreq));
		in->optval = g_opt;
		in->optlen = op->len;
		in->raw = g_opt;
		break;
	case JF_BADOPT:
		in->optname = op->len;
		break;
	}
}

/* move_addr_to_kernel() */
static int m_addr_arg(const struct abuf *a)
{
	if (a->len < 0 || a->len > SS_LEN)
		return -EINVAL;
	if (a->len && a->ptrkind != PTR_OK)
		return -EFAULT;
	return 0;
}

/* unix_validate_addr(), and the name the address stands for. */
static int m_canon(const unsigned char *b, int len, struct cname *n)
{
	const struct sockaddr_un *sun = (const struct sockaddr_un *)b;

	if (len <= 2 || len > SUN_LEN_MAX)
		return -EINVAL;
	if (sun->sun_family != AF_UNIX)
		return -EINVAL;
	memset(n, 0, sizeof(*n));
	n->abs = !sun->sun_path[0];
	n->len = n->abs ? len - 2 : strnlen(sun->sun_path, len - 2);
	memcpy(n->b, sun->sun_path, n->len);
	return 0;
}

static uint8_t pay(uint32_t id, int i)
{
	uint32_t x = id * 2654435761u + i * 40503u + 0x1234567;

	x ^= x >> 15;
	x *= 0x2c1b3c6d;
	x ^= x >> 12;
	return x;
}

/* ---- The model of each operation. Sets the expected result. ---- */

static void m_ret(struct res *e, long ret)
{
	if (ret < 0) {
		e->ret = -1;
		e->err = -ret;
	} else {
		e->ret = ret;
	}
}

static long m_bind(int slot, const struct inputs *in)
{
	struct mslot *s = &M.s[slot];
	const struct abuf *a = &in->a;
	struct mobj *o;
	struct cname n;
	int err;

	err = m_addr_arg(a);
	if (err)
		return err;
	o = &M.o[s->obj];
	if (a->len == 2 && ((struct sockaddr_un *)a->b)->sun_family == AF_UNIX) {
		/* unix_autobind(): the kernel picks the name. */
		if (!o->bound) {
			EV(EV_AUTOBIND);
			o->bound = true;
			M.sync_slot = slot;
		}
		return 0;
	}
	err = m_canon(a->b, a->len, &n);
	if (err)
		return err;
	if (!n.abs) {
		if (m_file(&n))
			return -EADDRINUSE;
		if (o->bound)
			return -EINVAL;
		m_mkfile(&n, s->obj);
		o->rawlen = 2 + n.len + 1;
	} else {
		if (o->bound)
			return -EINVAL;
		if (m_lookup(&n, s->type) >= 0)
			return -EADDRINUSE;
		o->rawlen = 2 + n.len;
	}
	o->bound = true;
	o->name = n;
	memset(o->raw, 0, sizeof(o->raw));
	o->raw[0] = AF_UNIX;
	memcpy(o->raw + 2, n.b, n.len);
	return 0;
}

static long m_connect(int slot, const struct inputs *in, bool *skip)
{
	struct mslot *s = &M.s[slot];
	const struct abuf *a = &in->a;
	struct cname n;
	int err, other, old;

	err = m_addr_arg(a);
	if (err)
		return err;
	if (s->type == SOCK_STREAM) {
		/* Nothing listens: only the errors of the lookup. */
		err = m_canon(a->b, a->len, &n);
		if (err)
			return err;
		err = m_lookup(&n, SOCK_STREAM);
		return err < 0 ? err : -ECONNREFUSED;
	}
	if (a->len < 2)
		return -EINVAL;
	if (((struct sockaddr_un *)a->b)->sun_family != AF_UNSPEC) {
		err = m_canon(a->b, a->len, &n);
		if (err)
			return err;
		other = m_lookup(&n, SOCK_DGRAM);
		if (other < 0)
			return other;
		if (M.o[other].kind == K_SOCK) {
			int p = M.s[M.o[other].slot].peer;

			if (p >= 0 && p != s->obj)
				return -EPERM;
		}
	} else {
		other = -1;
	}
	old = s->peer;
	if (old >= 0 && old != other && m_disconnect_unsure(slot, old)) {
		*skip = true;
		return 0;
	}
	s->peer = other;
	if (old >= 0 && old != other)
		m_disconnected(slot, old);
	return 0;
}

/* Whether a send from @slot to group @g waits for (or, MSG_DONTWAIT, fails
 * for) a full blocking member: never for itself, as for unicast.
 */
static bool m_held_back(const struct mgroup *g, int slot)
{
	int i;

	for (i = 0; i < g->n; i++)
		if (!(g->mflags[i] & UNIX_MREQ_DROP_WHEN_FULL) &&
		    g->mslot[i] != slot && m_full(&M.s[g->mslot[i]]))
			return true;
	return false;
}

static long m_send(const struct op *op, int slot, const struct inputs *in,
		   bool *skip)
{
	struct mslot *s = &M.s[slot];
	const struct abuf *a = &in->a;
	int me = s->obj, namelen = 0, other, err, i, n;
	struct cname nm;
	struct mgroup *g;

	if (op->kind == OP_SENDTO && a->ptrkind != PTR_NULL) {
		err = m_addr_arg(a);
		if (err)
			return err;
		namelen = a->len;
	}
	if (op->flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (namelen) {
		err = m_canon(a->b, namelen, &nm);
		if (err)
			return err;
	}
	if (in->paylen > g_sndbuf - 32)
		return -EMSGSIZE;
	if (s->err) {
		err = s->err;
		s->err = 0;
		return -err;
	}
	if (s->shut & 2)
		return -EPIPE;
	if (namelen) {
		other = m_lookup(&nm, SOCK_DGRAM);
		if (other < 0)
			return other;
	} else {
		other = s->peer;
		if (other < 0)
			return -ENOTCONN;
		if (!M.o[other].alive) {
			s->peer = -1;
			m_disconnected(slot, other);
			return -ECONNREFUSED;
		}
	}

	if (M.o[other].kind == K_GROUP) {
		g = &M.g[M.o[other].gidx];
		if (m_held_back(g, slot)) {
			EV(EV_GAGAIN);
			return -EAGAIN;
		}
		n = g->n;
		if (M.o[me].outstanding + n > g_cap) {
			*skip = true;
			return 0;
		}
		EV(EV_GSEND);
		for (i = 0; i < g->n; i++) {
			struct mslot *m = &M.s[g->mslot[i]];

			if (g->mslot[i] == slot &&
			    (g->mflags[i] & UNIX_MREQ_NO_LOOP)) {
				EV(EV_NOLOOP);
				continue;
			}
			if ((g->mflags[i] & UNIX_MREQ_DROP_WHEN_FULL) &&
			    m_full(m)) {
				EV(EV_DROP);
				m->drops++;
				continue;
			}
			if (m->shut & 1) {
				EV(EV_SHUTSKIP);
				continue;
			}
			EV(EV_CLONE);
			m_enqueue(g->mslot[i], op->id, in->paylen, me, true,
				  !(g->mflags[i] & UNIX_MREQ_DROP_WHEN_FULL));
		}
		return in->paylen;
	}

	/* Unicast to a socket. */
	i = M.o[other].slot;
	if (M.s[i].peer >= 0 && M.s[i].peer != me)
		return -EPERM;
	if (M.s[i].shut & 1)
		return -EPIPE;
	if (i != slot && M.s[i].peer != me && m_full(&M.s[i]))
		return -EAGAIN;
	if (M.o[me].outstanding + 1 > g_cap) {
		*skip = true;
		return 0;
	}
	m_enqueue(i, op->id, in->paylen, me, false, false);
	return in->paylen;
}

/* poll() for POLLOUT on a datagram socket (v2): writable unless its send
 * buffer is full, or its peer would make a MSG_DONTWAIT send fail with
 * EAGAIN: a group with a full blocking member other than itself, or a full
 * socket whose own peer is another. The send buffer is not modelled: the
 * check is skipped while a long datagram of the socket is queued anywhere,
 * or so many short ones that they might charge a quarter of its send buffer
 * (unix_writable()): each charges at most 1.5 KiB (a PAYMAX datagram's
 * truesize, 1280 bytes, and a blocking copy's 256).
 */
static long m_poll(int slot, bool *skip)
{
	struct mslot *s = &M.s[slot];
	int other = s->peer, i;

	if (M.o[s->obj].big || M.o[s->obj].outstanding > g_sndbuf / 4 / 1536) {
		*skip = true;
		return 0;
	}
	if (other < 0 || !M.o[other].alive)
		return 1;
	if (M.o[other].kind == K_GROUP) {
		if (m_held_back(&M.g[M.o[other].gidx], slot)) {
			EV(EV_POLLBLOCKED);
			return 0;
		}
		return 1;
	}
	/* As unix_dgram_poll(): the queue's length, whatever its shutdown. */
	i = M.o[other].slot;
	return M.s[i].peer == s->obj || M.s[i].qn <= M.s[i].qlim;
}

/* SIOCOUTQ of a datagram socket: its send buffer's charge (v2: "A blocking
 * member's copy is charged to the sender's send buffer: its own struct
 * sk_buff ..., and, once for the datagram while any blocking copy of it is
 * queued, the payload, as much as the same datagram sent to one socket is
 * charged"; a drop-when-full member's copy charges the sender nothing). A
 * unicast datagram charges what it did when measured; a group datagram its
 * payload as that, once, plus g_clone_size per blocking copy still queued.
 * A stream socket here never sent anything.
 */
static long m_outq(int slot)
{
	static uint32_t seen[NSLOT * MAXQ];
	int me = M.s[slot].obj, nseen = 0, i, j, k;
	long charge = 0;

	if (M.s[slot].type == SOCK_STREAM)
		return 0;
	for (i = 0; i < NSLOT; i++) {
		const struct mslot *s = &M.s[i];

		for (j = 0; s->obj >= 0 && j < s->qn; j++) {
			const struct mmsg *m = &s->q[(s->qhead + j) % MAXQ];

			if (m->from != me || (m->grp && !m->blk))
				continue;
			/* Only datagrams of at most PAYMAX bytes are sent. */
			assert(m->len <= PAYMAX);
			if (!m->grp) {
				charge += g_truesize[m->len];
				continue;
			}
			charge += g_clone_size;
			for (k = 0; k < nseen && seen[k] != m->id; k++)
				;
			if (k == nseen) {
				seen[nseen++] = m->id;
				charge += g_truesize[m->len];
			}
		}
	}
	if (nseen)
		EV(EV_CHARGED);
	return charge;
}

static long m_recv(const struct op *op, int slot, struct res *e)
{
	struct mslot *s = &M.s[slot];
	struct mmsg *m;
	struct mobj *from;
	int err, i;

	if (op->flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (s->err) {
		err = s->err;
		s->err = 0;
		return -err;
	}
	if (!s->qn)
		return -EAGAIN;
	m = &s->q[s->qhead];
	from = &M.o[m->from];
	e->ncopy = m->len < op->len ? m->len : op->len;
	if (op->len < m->len)
		e->mflags = MSG_TRUNC;
	if (from->bound) {
		e->namelen = from->rawlen;
		memcpy(e->name, from->raw, from->rawlen);
	}
	if (s->rxq && m->drops)
		e->ovfl = m->drops;
	for (i = 0; i < e->ncopy; i++)
		e->data[i] = pay(m->id, i);
	err = (op->flags & MSG_TRUNC) ? m->len : e->ncopy;
	if (!(op->flags & MSG_PEEK))
		m_pop(slot);
	return err;
}

/* The group of @slot's one membership whose join-time address is, byte for
 * byte, the @len bytes at @b; NULL if none; *@many if more than one.
 */
static struct mgroup *m_joined_as(int slot, const unsigned char *b, int len,
				  bool *many)
{
	struct mgroup *found = NULL;
	int i, k;

	*many = false;
	for (i = 0; i < MAXGRP; i++) {
		struct mgroup *g = &M.g[i];

		k = g->live ? m_member(g, slot) : -1;
		if (k < 0 || g->jaddr[k].len != len ||
		    memcmp(g->jaddr[k].b, b, len))
			continue;
		if (found)
			*many = true;
		found = g;
	}
	return found;
}

static long m_mcast(int slot, const struct inputs *in, unsigned int uid,
		    bool *skip)
{
	struct mslot *s = &M.s[slot];
	bool add = in->optname == UNIX_ADD_MEMBERSHIP;
	const struct sockaddr_un *sun;
	struct mgroup *g = NULL, *j;
	struct mfile *f;
	uint32_t flags = 0;
	int len, h, i, o;
	struct cname n;
	bool many;

	if (in->optlen < 0)
		return -EINVAL;
	if (in->optname != UNIX_ADD_MEMBERSHIP &&
	    in->optname != UNIX_DROP_MEMBERSHIP)
		return -ENOPROTOOPT;
	if (in->optlen > MREQ_LEN)
		return -EINVAL;
	if (in->optlen && in->optkind != PTR_OK)
		return -EFAULT;
	if (s->type != SOCK_DGRAM)
		return -EINVAL;
	/* optlen == sizeof(struct unix_mreq): the mreq form; any other optlen
	 * <= 110: a plain struct sockaddr_un of optlen bytes; else EINVAL.
	 */
	len = in->optlen;
	if (in->optlen == MREQ_LEN) {
		const struct unix_mreq *mr = (const void *)in->raw;

		/* v2: "EINVAL: umr_reserved != 0" */
		if (mr->umr_reserved)
			return -EINVAL;
		len = mr->umr_addrlen > 4096 ? 4096 : mr->umr_addrlen;
		flags = mr->umr_flags;
	}
	if (len <= 2 || len > SUN_LEN_MAX)
		return -EINVAL;
	/* v2: "umr_flags with unknown bits (join); umr_flags != 0 for
	 * UNIX_DROP_MEMBERSHIP" fail with EINVAL (v1 ignored leave flags).
	 */
	if (flags & ~(add ? MREQ_FLAGS : 0u))
		return -EINVAL;
	sun = (const struct sockaddr_un *)in->raw;
	if (sun->sun_family != AF_UNIX)
		return -EINVAL;
	m_canon(in->raw, len, &n);

	h = m_lookup(&n, SOCK_DGRAM);
	if (h >= 0 && M.o[h].kind == K_GROUP)
		g = &M.g[M.o[h].gidx];

	if (!add) {
		/* v2: "the address is resolved as for joining; if it does not
		 * resolve to a group the socket is a member of, the address
		 * given at join time is matched byte for byte against the
		 * socket's memberships. ... ENOENT if nothing matches and no
		 * group is at the address; EINVAL if a group is there but the
		 * socket is not a member of it."
		 */
		if (g && m_member(g, slot) >= 0) {
			m_group_remove(g, slot);
			return 0;
		}
		j = m_joined_as(slot, in->raw, len, &many);
		if (many) {
			/* Joined twice with these bytes (a path unlinked
			 * and joined again): which one leaves is not said.
			 */
			EV(EV_UNSURE);
			*skip = true;
			return 0;
		}
		if (j) {
			EV(EV_BYADDR);
			m_group_remove(j, slot);
			return 0;
		}
		return g ? -EINVAL : -ENOENT;
	}
	/* "A path that a live socket is bound to is never taken: EADDRINUSE"
	 * (a stream socket's path: EPROTOTYPE from the lookup).
	 */
	if (!g && (h >= 0 || h == -EPROTOTYPE))
		return -EADDRINUSE;
	if (g && m_member(g, slot) >= 0)
		return -EALREADY;
	/* v2: "A blocking membership needs the effective uid of the group's
	 * creator ..., or CAP_NET_ADMIN in the user namespace that owns the
	 * group's network namespace" (root has it; NOBODY has none).
	 */
	if (g && !(flags & UNIX_MREQ_DROP_WHEN_FULL) && uid &&
	    uid != g->creator) {
		EV(EV_EPERM);
		return -EPERM;
	}
	if (m_count(slot) >= M.mm)
		return -ENOBUFS;
	if (!g) {
		for (i = 0; i < MAXGRP && M.g[i].live; i++)
			;
		if (i == MAXGRP) {
			snprintf(M.fail, sizeof(M.fail), "model: out of groups");
			return 0;
		}
		EV(EV_GROUP);
		o = m_newobj(K_GROUP, SOCK_DGRAM);
		g = &M.g[i];
		memset(g, 0, sizeof(*g));
		g->live = true;
		g->obj = o;
		g->creator = uid;
		g->name = n;
		M.o[o].gidx = i;
		M.o[o].bound = true;
		M.o[o].name = n;
		/* v2: "if the path holds a socket file that no live socket
		 * is bound to, the joiner removes it ... and binds the new
		 * group there" (the lookup found it: ECONNREFUSED). We run
		 * as root in our own directory: we may remove it.
		 */
		f = n.abs ? NULL : m_file(&n);
		if (f) {
			EV(EV_TAKEOVER);
			f->holder = o;
		} else if (!n.abs) {
			m_mkfile(&n, o);
		}
	}
	g->mslot[g->n] = slot;
	g->mflags[g->n] = flags;
	g->jaddr[g->n].len = len;
	memcpy(g->jaddr[g->n].b, in->raw, len);
	g->n++;
	return 0;
}

static long m_sysctl(const struct op *op)
{
	if (op->len < 0)
		return -EINVAL;
	if (op->form == 0)
		M.qlen = op->len;
	else
		M.mm = op->len;
	return snprintf(NULL, 0, "%d", op->len);
}

/* Sets @e to what the contract says @op returns; *@skip if the op is left
 * out (not modelled: a send that might reach the send buffer's limit, or
 * a send or receive on a stream socket).
 */
static void model_op(const struct op *op, const struct inputs *in,
		     struct res *e, bool *skip)
{
	struct mslot *s = &M.s[op->slot];
	bool empty = s->obj < 0;
	struct cname n;
	struct mfile *f;
	long r = 0;

	*skip = false;
	memset(e, 0, sizeof(*e));
	switch (op->kind) {
	case OP_SOCKET:
		if (!empty)
			m_close(op->slot);
		memset(s, 0, sizeof(*s));
		s->type = op->form;
		s->qlim = M.qlen;
		s->peer = -1;
		s->obj = m_newobj(K_SOCK, op->form);
		M.o[s->obj].slot = op->slot;
		break;
	case OP_CLOSE:
		if (empty)
			r = -EBADF;
		else if (!op->child)
			m_close(op->slot);
		break;
	case OP_UNLINK:
		/* Removes the name only: a group bound there keeps its
		 * members, who can still leave it by their join address.
		 */
		m_canon(in->a.b, in->a.len, &n);
		f = m_file(&n);
		if (f)
			f->exists = false;
		else
			r = -ENOENT;
		break;
	case OP_SYSCTL:
		r = m_sysctl(op);
		break;
	default:
		if (empty) {
			r = -EBADF;
			break;
		}
		if (s->type == SOCK_STREAM &&
		    (op->kind == OP_SENDTO || op->kind == OP_SEND ||
		     op->kind == OP_RECV || op->kind == OP_POLL)) {
			*skip = true;
			return;
		}
		switch (op->kind) {
		case OP_BIND:
			r = m_bind(op->slot, in);
			break;
		case OP_CONNECT:
			r = m_connect(op->slot, in, skip);
			break;
		case OP_SENDTO:
		case OP_SEND:
			r = m_send(op, op->slot, in, skip);
			break;
		case OP_RECV:
			r = m_recv(op, op->slot, e);
			break;
		case OP_JOIN:
		case OP_LEAVE:
			r = m_mcast(op->slot, in,
				    op->child == CHILD_NOBODY ? NOBODY : 0,
				    skip);
			break;
		case OP_SHUTDOWN:
			if (op->len < SHUT_RD || op->len > SHUT_RDWR)
				r = -EINVAL;
			else
				s->shut |= op->len + 1;
			break;
		case OP_RXQ:
			s->rxq = op->len;
			break;
		case OP_POLL:
			r = m_poll(op->slot, skip);
			break;
		case OP_OUTQ:
			r = m_outq(op->slot);
			break;
		}
	}
	m_ret(e, r);
}

/* ---- The real side. ---- */

static void write_file(const char *path, const char *val, struct res *r)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0) {
		r->ret = -1;
		r->err = errno;
		return;
	}
	r->ret = write(fd, val, strlen(val));
	r->err = r->ret < 0 ? errno : 0;
	close(fd);
}

static void real_op(const struct op *op, const struct inputs *in,
		    struct res *r, bool child)
{
	int fd = g_fd[op->slot];
	unsigned char *buf;
	char val[32];
	int i;

	memset(r, 0, sizeof(*r));
	errno = 0;
	switch (op->kind) {
	case OP_SOCKET:
		if (fd >= 0)
			close(fd);
		fd = socket(AF_UNIX, op->form, 0);
		g_fd[op->slot] = fd;
		r->ret = fd < 0 ? -1 : 0;
		break;
	case OP_CLOSE:
		r->ret = close(fd);
		if (!child && fd >= 0)
			g_fd[op->slot] = -1;
		break;
	case OP_BIND:
		r->ret = bind(fd, in->a.ptr, in->a.len);
		break;
	case OP_UNLINK:
		r->ret = unlink(((struct sockaddr_un *)in->a.b)->sun_path);
		break;
	case OP_JOIN:
	case OP_LEAVE:
		r->ret = setsockopt(fd, SOL_UNIX, in->optname, in->optval,
				    in->optlen);
		break;
	case OP_SENDTO:
	case OP_SEND:
		buf = in->paylen > PAYMAX ? g_big : r->data;
		for (i = 0; i < in->paylen && i < PAYMAX; i++)
			buf[i] = pay(op->id, i);
		if (op->kind == OP_SEND)
			r->ret = send(fd, buf, in->paylen, op->flags);
		else
			r->ret = sendto(fd, buf, in->paylen, op->flags,
					in->a.ptr, in->a.len);
		break;
	case OP_CONNECT:
		r->ret = connect(fd, in->a.ptr, in->a.len);
		break;
	case OP_RECV: {
		char cbuf[CMSG_SPACE(sizeof(uint32_t)) * 4];
		struct iovec iov = { r->data, op->len };
		struct msghdr msg = {
			.msg_name = r->name, .msg_namelen = sizeof(r->name),
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
		};
		struct cmsghdr *c;

		r->ret = recvmsg(fd, &msg, op->flags);
		if (r->ret < 0)
			break;
		r->namelen = msg.msg_namelen;
		r->mflags = msg.msg_flags & MSG_TRUNC;
		r->ncopy = r->ret < op->len ? r->ret : op->len;
		for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level == SOL_SOCKET &&
			    c->cmsg_type == SO_RXQ_OVFL) {
				uint32_t d;

				memcpy(&d, CMSG_DATA(c), sizeof(d));
				r->ovfl = d;
			}
		}
		break;
	}
	case OP_SHUTDOWN:
		r->ret = shutdown(fd, op->len);
		break;
	case OP_RXQ:
		i = op->len;
		r->ret = setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &i, sizeof(i));
		break;
	case OP_SYSCTL:
		snprintf(val, sizeof(val), "%d", op->len);
		write_file(op->form ? MM_PATH : QLEN_PATH, val, r);
		return;
	case OP_POLL: {
		struct pollfd p = { .fd = fd, .events = POLLOUT };

		/* poll() ignores a negative fd: no socket is EBADF. */
		if (fd < 0) {
			r->ret = -1;
			errno = EBADF;
			break;
		}
		r->ret = poll(&p, 1, 0);
		if (r->ret >= 0)
			r->ret = !!(p.revents & POLLOUT);
		break;
	}
	case OP_OUTQ: {
		int v = 0;

		r->ret = ioctl(fd, SIOCOUTQ, &v);
		if (!r->ret)
			r->ret = v;
		break;
	}
	}
	r->err = r->ret < 0 ? errno : 0;
	if (r->ret < 0)
		r->ret = -1;
}

/* Makes the calling child a user that is not root and has no capability:
 * effective, saved and filesystem uid and every gid NOBODY. The real uid is
 * NOBODY for operations of even id and stays 0 for those of odd id, so that
 * a kernel that checked the real uid instead of the effective one would let
 * half of these children join root's groups blocking. An effective uid
 * other than 0 leaves no effective capability either way. 0 or -1.
 */
static int drop_to_nobody(const struct op *op)
{
	uid_t ruid = op->id & 1 ? 0 : NOBODY;

	if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(ruid, NOBODY, NOBODY))
		return -1;
	return 0;
}

/* Whether a child can become NOBODY (not unless the fuzzer runs as root):
 * 0, or -1 with errno set.
 */
static int nobody_check(void)
{
	const struct op op = { .id = 0 };
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid)
		_exit(drop_to_nobody(&op) ? errno : 0);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
		errno = ECHILD;
		return -1;
	}
	errno = WEXITSTATUS(status);
	return errno ? -1 : 0;
}

static void child_op(const struct op *op, const struct inputs *in,
		     struct res *r)
{
	int status;
	pid_t pid;

	memset(g_child_res, 0, sizeof(*g_child_res));
	g_child_res->ret = -2;
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (!pid) {
		if (op->child == CHILD_NOBODY && drop_to_nobody(op))
			_exit(1);
		real_op(op, in, g_child_res, true);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		memset(r, 0, sizeof(*r));
		r->ret = -3;	/* the child died */
		return;
	}
	*r = *g_child_res;
}

/* ---- Printing. ---- */

static const char *errname(int err)
{
	const char *s = strerrorname_np(err);

	return s ? s : "E?";
}

static void fmt_flags(char *b, size_t sz, uint32_t f)
{
	static const struct { uint32_t f; const char *n; } t[] = {
		{ MSG_DONTWAIT, "DONTWAIT" }, { MSG_OOB, "OOB" },
		{ MSG_PEEK, "PEEK" }, { MSG_TRUNC, "TRUNC" },
		{ MSG_NOSIGNAL, "NOSIGNAL" },
	};
	size_t i, n = 0;

	b[0] = 0;
	for (i = 0; i < ARRAY_SIZE(t); i++)
		if (f & t[i].f)
			n += snprintf(b + n, sz - n, "%s%s", n ? "|" : "",
				      t[i].n);
}

static const char *fmt_addr(const struct op *op, char *b, size_t sz)
{
	static const char *const nn[NNAME] = { "A0", "A1", "P0", "P1" };

	snprintf(b, sz, "%s/%s", nn[op->name], am_name[op->amode]);
	return b;
}

static void fmt_op(const struct op *op, char *b, size_t sz)
{
	char a[32], f[64];
	int n;

	n = snprintf(b, sz, "%s%s",
		     op->child == CHILD_NOBODY ?
		     (op->id & 1 ? "[child euid 65534, uid 0] " :
		      "[child uid 65534] ") :
		     op->child ? "[child] " : "", op_name[op->kind]);
	if (op->kind != OP_SYSCTL && op->kind != OP_UNLINK)
		n += snprintf(b + n, sz - n, " s%d", op->slot);
	switch (op->kind) {
	case OP_SOCKET:
		snprintf(b + n, sz - n, " %s",
			 op->form == SOCK_DGRAM ? "DGRAM" : "STREAM");
		break;
	case OP_BIND:
	case OP_CONNECT:
	case OP_UNLINK:
		snprintf(b + n, sz - n, " %s", fmt_addr(op, a, sizeof(a)));
		break;
	case OP_JOIN:
	case OP_LEAVE:
		fmt_addr(op, a, sizeof(a));
		if (op->form == JF_PLAIN)
			snprintf(b + n, sz - n, " %s plain", a);
		else if (op->form == JF_MREQ && op->resv)
			snprintf(b + n, sz - n,
				 " %s mreq flags=%#x reserved=%#x", a,
				 op->flags, op->resv);
		else if (op->form == JF_MREQ)
			snprintf(b + n, sz - n, " %s mreq flags=%#x", a,
				 op->flags);
		else if (op->form == JF_BADLEN)
			snprintf(b + n, sz - n, " %s mreq flags=%#x optlen=%d",
				 a, op->flags, op->len);
		else
			snprintf(b + n, sz - n, " %s mreq optname=%d", a,
				 op->len);
		break;
	case OP_SENDTO:
	case OP_SEND:
		fmt_flags(f, sizeof(f), op->flags);
		if (op->kind == OP_SENDTO)
			n += snprintf(b + n, sz - n, " -> %s",
				      fmt_addr(op, a, sizeof(a)));
		if (op->len == LEN_BIG)
			snprintf(b + n, sz - n, " len=sndbuf-31 %s", f);
		else
			snprintf(b + n, sz - n, " len=%d %s", op->len, f);
		break;
	case OP_RECV:
		fmt_flags(f, sizeof(f), op->flags);
		snprintf(b + n, sz - n, " buf=%d %s", op->len, f);
		break;
	case OP_SHUTDOWN:
		snprintf(b + n, sz - n, " how=%d", op->len);
		break;
	case OP_RXQ:
		snprintf(b + n, sz - n, " %s", op->len ? "on" : "off");
		break;
	case OP_SYSCTL:
		snprintf(b + n, sz - n, " %s=%d",
			 op->form ? "max_memberships" : "max_dgram_qlen",
			 op->len);
		break;
	}
}

static void fmt_res(const struct op *op, const struct res *r, char *b,
		    size_t sz)
{
	int n, i;

	if (r->ret == -3) {
		snprintf(b, sz, "child died");
		return;
	}
	if (r->ret < 0) {
		snprintf(b, sz, "-1 %s", errname(r->err));
		return;
	}
	n = snprintf(b, sz, "%ld", r->ret);
	if (op->kind != OP_RECV)
		return;
	n += snprintf(b + n, sz - n, " %sfrom=", r->mflags ? "TRUNC " : "");
	if (!r->namelen)
		n += snprintf(b + n, sz - n, "(none)");
	for (i = 2; i < r->namelen && n < (int)sz - 8; i++) {
		unsigned char c = r->name[i];

		n += snprintf(b + n, sz - n, c >= 32 && c < 127 ? "%c" : "\\%o",
			      c);
	}
	n += snprintf(b + n, sz - n, "[%d]", r->namelen);
	if (r->ovfl)
		n += snprintf(b + n, sz - n, " ovfl=%d", r->ovfl);
	if (r->ncopy >= 4)
		snprintf(b + n, sz - n, " data=%02x%02x%02x%02x..", r->data[0],
			 r->data[1], r->data[2], r->data[3]);
}

static bool res_eq(const struct op *op, const struct res *e,
		   const struct res *g, char *why, size_t sz)
{
	const char *what = NULL;
	char a[400], b[400];

	if (e->ret != g->ret || (e->ret < 0 && e->err != g->err)) {
		what = "result";
	} else if (op->kind == OP_RECV && e->ret >= 0) {
		if (e->mflags != g->mflags)
			what = "MSG_TRUNC";
		else if (e->namelen != g->namelen ||
			 memcmp(e->name, g->name, e->namelen))
			what = "sender address";
		else if (e->ovfl != g->ovfl)
			what = "SO_RXQ_OVFL count";
		else if (e->ncopy != g->ncopy ||
			 memcmp(e->data, g->data, e->ncopy))
			what = "data";
	}
	if (!what)
		return true;
	fmt_res(op, e, a, sizeof(a));
	fmt_res(op, g, b, sizeof(b));
	if (!strcmp(what, "data")) {
		int i = 0;

		while (i < e->ncopy && e->data[i] == g->data[i])
			i++;
		snprintf(why, sz, "data differ from byte %d: expected %s, got %s",
			 i, a, b);
		return false;
	}
	snprintf(why, sz, "%s: expected %s, got %s", what, a, b);
	return false;
}

/* ---- Runs. ---- */

struct outcome {
	int div_at;		/* index of the diverging op, or -1 */
	char why[1200];
	unsigned long ops, skipped, delivered, errors;
};

static void put_sysctls(int qlen, int mm)
{
	char v[32];
	struct res r;

	snprintf(v, sizeof(v), "%d", qlen);
	write_file(QLEN_PATH, v, &r);
	if (r.ret < 0) {
		fprintf(stderr, "# cannot write %s: %s\n", QLEN_PATH,
			strerror(r.err));
		exit(2);
	}
	if (g_unicast_only)
		return;
	snprintf(v, sizeof(v), "%d", mm);
	write_file(MM_PATH, v, &r);
	if (r.ret < 0) {
		fprintf(stderr, "# cannot write %s: %s\n", MM_PATH,
			strerror(r.err));
		exit(2);
	}
}

static void setup_run(int nops)
{
	int i;

	for (i = 0; i < NSLOT; i++)
		g_fd[i] = -1;
	strcpy(g_dir, "/tmp/mcfz.XXXXXX");
	if (!mkdtemp(g_dir)) {
		perror("mkdtemp");
		exit(2);
	}
	g_attempt++;
	snprintf(g_abs, sizeof(g_abs), "mcfz%06x%06x", getpid() & 0xffffff,
		 g_attempt & 0xffffff);
	put_sysctls(START_QLEN, START_MM);
	m_reset(nops + 16);
}

static void teardown_run(void)
{
	char path[300];
	struct dirent *d;
	DIR *dir;
	int i;

	for (i = 0; i < NSLOT; i++)
		if (g_fd[i] >= 0)
			close(g_fd[i]);
	dir = opendir(g_dir);
	if (dir) {
		while ((d = readdir(dir))) {
			if (d->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", g_dir, d->d_name);
			unlink(path);
		}
		closedir(dir);
	}
	rmdir(g_dir);
}

static void run_seq(const struct op *ops, int n, bool verbose,
		    struct outcome *o)
{
	struct inputs in;
	struct res e, g;
	char line[200], why[900];
	bool skip;
	int i;

	memset(o, 0, sizeof(*o));
	o->div_at = -1;
	setup_run(n);
	for (i = 0; i < n; i++) {
		const struct op *op = &ops[i];

		__atomic_store_n(&g_cur_op, i, __ATOMIC_RELAXED);
		prepare(op, &in);
		model_op(op, &in, &e, &skip);
		if (M.fail[0]) {
			o->div_at = i;
			snprintf(o->why, sizeof(o->why), "%s", M.fail);
			break;
		}
		if (skip) {
			o->skipped++;
			continue;
		}
		if (op->child)
			child_op(op, &in, &g);
		else
			real_op(op, &in, &g, false);
		if (M.sync_slot >= 0) {
			struct mobj *mo = &M.o[M.s[M.sync_slot].obj];
			socklen_t l = sizeof(mo->raw);

			if (g.ret == 0 &&
			    !getsockname(g_fd[M.sync_slot], (void *)mo->raw, &l)) {
				mo->rawlen = l;
				m_canon(mo->raw, l, &mo->name);
			}
			M.sync_slot = -1;
		}
		o->ops++;
		if (verbose) {
			fmt_op(op, line, sizeof(line));
			fmt_res(op, &g, why, sizeof(why));
			printf("#   %4d: %-50s = %s\n", i, line, why);
		}
		if (!res_eq(op, &e, &g, why, sizeof(why))) {
			fmt_op(op, line, sizeof(line));
			o->div_at = i;
			snprintf(o->why, sizeof(o->why), "%s: %s", line, why);
			break;
		}
		if (g_counting)
			cov[op->kind][e.ret < 0 && e.err < 136 ? e.err : 0]++;
		if (e.ret < 0)
			o->errors++;
		else if (op->kind == OP_RECV)
			o->delivered++;
	}
	__atomic_store_n(&g_cur_op, -1, __ATOMIC_RELAXED);
	teardown_run();
}

/* ---- Generation. ---- */

static int gen_amode(int kind)
{
	unsigned int r = rn(1000);

	if (kind == OP_CONNECT && r < 100)
		return AM_UNSPEC;
	if (kind == OP_BIND && r < 40)
		return AM_LEN2;
	r = rn(1000);
	if ((kind == OP_JOIN || kind == OP_SENDTO) && r < 300)
		return AM_EXACT;
	r = rn(1000);
	if (r < 620)
		return AM_EXACT;
	if (r < 690)
		return AM_NONUL;
	if (r < 750)
		return AM_FULL;
	if (r < 810)
		return AM_TRUNC;
	if (r < 860)
		return AM_EMBNUL;
	return AM_BADFAM + rn(AM_NR - AM_BADFAM);
}

static uint32_t gen_mreq_flags(bool leave)
{
	static const uint32_t bad[] = { 4, 5, 8, 0x80000000u, ~0u };
	static const uint32_t bad_leave[] = {
		UNIX_MREQ_DROP_WHEN_FULL, UNIX_MREQ_NO_LOOP, MREQ_FLAGS, 4, ~0u,
	};
	unsigned int r = rn(100);

	/* A leave takes none (v2: EINVAL otherwise): now and then some. */
	if (leave)
		return r < 6 ? bad_leave[rn(5)] : 0;

	if (r < 40)
		return 0;
	if (r < 60)
		return UNIX_MREQ_DROP_WHEN_FULL;
	if (r < 75)
		return UNIX_MREQ_NO_LOOP;
	if (r < 96)
		return MREQ_FLAGS;
	return bad[rn(5)];
}

static bool gen_open[NSLOT], gen_conn[NSLOT];

static void gen_op(struct op *op, uint32_t id)
{
	static const unsigned char weight[OP_NR] = {
		[OP_SOCKET] = 14, [OP_CLOSE] = 6, [OP_BIND] = 7,
		[OP_UNLINK] = 4, [OP_JOIN] = 36, [OP_LEAVE] = 10,
		[OP_SENDTO] = 52, [OP_SEND] = 10, [OP_CONNECT] = 8,
		[OP_RECV] = 32, [OP_SHUTDOWN] = 1, [OP_RXQ] = 4,
		[OP_SYSCTL] = 4, [OP_POLL] = 8, [OP_OUTQ] = 8,
	};
	static const int badlen[] = { 0, 1, 2, 111, 119, 121, 4096, -1 };
	static const int badopt[] = { 0, 3, 99 };
	static const uint16_t resv[] = { 1, 0x100, 0xffff };
	static const int qlens[] = { 0, 1, 2, 3, 5, 10 };
	static const int mms[] = { 0, 1, 2, 3, 4, 64, 64, 64 };
	unsigned int total = 0, r, k;

	memset(op, 0, sizeof(*op));
	op->id = id;
	for (k = 0; k < OP_NR; k++)
		if (!g_unicast_only || (k != OP_JOIN && k != OP_LEAVE))
			total += weight[k];
	r = rn(total);
	for (k = 0; k < OP_NR; k++) {
		if (g_unicast_only && (k == OP_JOIN || k == OP_LEAVE))
			continue;
		if (r < weight[k])
			break;
		r -= weight[k];
	}
	op->kind = k;
	/* Mostly sockets the generator believes open (closed for socket,
	 * connected for send): fewer EBADF and ENOTCONN.
	 */
	op->slot = rn(NSLOT);
	if (rn(100) < 92) {
		bool want = k != OP_SOCKET;

		for (r = rn(NSLOT), total = 0; total < NSLOT; total++) {
			int i = (r + total) % NSLOT;

			if (gen_open[i] == want &&
			    ((k != OP_SEND && k != OP_POLL) || gen_conn[i]))
				break;
		}
		if (total < NSLOT)
			op->slot = (r + total) % NSLOT;
	}
	op->name = rn(NNAME);
	op->amode = gen_amode(k);
	/* Groups with many members: joins and sends favour two names. */
	if ((k == OP_JOIN || k == OP_SENDTO || k == OP_CONNECT) &&
	    op->amode == AM_EXACT && rn(100) < 50)
		op->name = rn(2) * 2;
	switch (k) {
	case OP_SOCKET:
		op->form = rn(100) < 94 ? SOCK_DGRAM : SOCK_STREAM;
		break;
	case OP_UNLINK:
		op->name = 2 + rn(2);
		op->amode = rn(4) ? AM_EXACT : AM_TRUNC;
		break;
	case OP_JOIN:
	case OP_LEAVE:
		r = rn(100);
		op->form = r < 40 ? JF_PLAIN : r < 94 ? JF_MREQ :
			   r < 98 ? JF_BADLEN : JF_BADOPT;
		op->flags = gen_mreq_flags(k == OP_LEAVE);
		/* umr_reserved must be zero (v2: EINVAL otherwise). */
		if (op->form == JF_MREQ && rn(100) < 4)
			op->resv = resv[rn(3)];
		if (op->form == JF_BADLEN)
			op->len = badlen[rn(8)];
		if (op->form == JF_BADOPT)
			op->len = badopt[rn(3)];
		break;
	case OP_SENDTO:
	case OP_SEND:
		r = rn(100);
		op->len = r < 8 ? 0 : r < 80 ? 1 + rn(64) :
			  r < 99 ? 65 + rn(PAYMAX - 64) : LEN_BIG;
		op->flags = MSG_DONTWAIT;
		r = rn(100);
		if (r < 3)
			op->flags |= MSG_OOB;
		else if (r < 10)
			op->flags |= MSG_NOSIGNAL;
		break;
	case OP_RECV:
		r = rn(100);
		op->len = r < 5 ? 0 : r < 15 ? 1 + rn(8) :
			  r < 25 ? 9 + rn(55) : 400;
		op->flags = MSG_DONTWAIT;
		if (rn(100) < 15)
			op->flags |= MSG_PEEK;
		if (rn(100) < 15)
			op->flags |= MSG_TRUNC;
		if (rn(100) < 2)
			op->flags |= MSG_OOB;
		break;
	case OP_SHUTDOWN:
		r = rn(100);
		op->len = r < 60 ? SHUT_RD : r < 75 ? SHUT_WR :
			  r < 90 ? SHUT_RDWR : r < 95 ? 3 : -1;
		break;
	case OP_RXQ:
		op->len = rn(4) != 0;
		break;
	case OP_SYSCTL:
		op->form = g_unicast_only ? 0 : rn(2);
		op->len = rn(20) || g_unicast_only ?
			  (op->form ? mms[rn(8)] : qlens[rn(6)]) : -1;
		break;
	}
	switch (k) {
	case OP_BIND: case OP_JOIN: case OP_LEAVE: case OP_SENDTO:
	case OP_SEND: case OP_CONNECT: case OP_RECV: case OP_CLOSE:
	case OP_SHUTDOWN: case OP_RXQ:
		op->child = rn(1000) < 6 ? CHILD_ROOT : CHILD_NONE;
		break;
	}
	/* Joins of abstract groups (no file permissions involved) by a user
	 * who is not the creator of groups root made, and makes some itself.
	 */
	if (k == OP_JOIN && op->name < 2 && rn(100) < 20)
		op->child = CHILD_NOBODY;
	if (k == OP_SOCKET) {
		gen_open[op->slot] = true;
		gen_conn[op->slot] = false;
	}
	if (k == OP_CLOSE && !op->child)
		gen_open[op->slot] = false;
	if (k == OP_CONNECT && op->amode <= AM_EMBNUL)
		gen_conn[op->slot] = true;
}

/* ---- Shrinking. ---- */

static int replays;

static bool try_ops(struct op *ops, int *n, const struct op *cand, int m)
{
	struct outcome o;

	if (replays >= MAX_REPLAYS)
		return false;
	replays++;
	run_seq(cand, m, false, &o);
	if (o.div_at < 0)
		return false;
	*n = o.div_at + 1;
	memcpy(ops, cand, *n * sizeof(*ops));
	return true;
}

/* Shrinks @ops (which diverges at its last op) to a sequence that still
 * diverges and from which no single op can be removed.
 */
static int shrink(struct op *ops, int n)
{
	struct op *cand = malloc(n * sizeof(*ops));
	bool changed;
	int chunk, i, m;

	if (!cand)
		return n;
	for (chunk = n / 2; chunk > 1; chunk /= 2) {
		for (i = 0; i + chunk <= n; ) {
			memcpy(cand, ops, i * sizeof(*ops));
			m = n - chunk - i;
			memcpy(cand + i, ops + i + chunk, m * sizeof(*ops));
			if (!try_ops(ops, &n, cand, i + m))
				i += chunk;
		}
	}
	do {
		changed = false;
		for (i = n - 1; i >= 0; i--) {
			if (i >= n)
				continue;
			memcpy(cand, ops, i * sizeof(*ops));
			memcpy(cand + i, ops + i + 1,
			       (n - i - 1) * sizeof(*ops));
			if (try_ops(ops, &n, cand, n - 1))
				changed = true;
		}
	} while (changed && replays < MAX_REPLAYS);
	free(cand);
	return n;
}

/* ---- Main. ---- */

static void print_coverage(void)
{
	int k, e, n;
	char b[600];

	printf("# coverage (op: ok, then errno counts):\n");
	for (k = 0; k < OP_NR; k++) {
		n = snprintf(b, sizeof(b), "#   %-9s ok %lu", op_name[k],
			     cov[k][0]);
		for (e = 1; e < 136; e++)
			if (cov[k][e])
				n += snprintf(b + n, sizeof(b) - n, ", %s %lu",
					      errname(e), cov[k][e]);
		printf("%s\n", b);
	}
	for (n = 0, e = 0; e < EV_NR; e++)
		n += snprintf(b + n, sizeof(b) - n, "%s%s %lu", e ? ", " : "",
			      ev_name[e], ev[e]);
	printf("# events: %s\n", b);
}

static void read_file(const char *path, char *buf, size_t sz)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	buf[0] = 0;
	if (fd < 0)
		return;
	n = read(fd, buf, sz - 1);
	buf[n > 0 ? n : 0] = 0;
	close(fd);
}

static void restore_sysctls(void)
{
	struct res r;

	if (g_orig_qlen[0])
		write_file(QLEN_PATH, g_orig_qlen, &r);
	if (g_orig_mm[0])
		write_file(MM_PATH, g_orig_mm, &r);
}

static void on_alarm(int sig)
{
	char b[128];
	int n;

	(void)sig;
	n = snprintf(b, sizeof(b),
		     "# watchdog: seed %u stuck at op %d\nBail out!\n",
		     g_cur_seed, __atomic_load_n(&g_cur_op, __ATOMIC_RELAXED));
	if (write(1, b, n) < 0)
		_exit(3);
	restore_sysctls();
	_exit(3);
}

/* Killed by the kselftest runner's timeout (SIGTERM) or by ^C: the sysctls
 * are restored, as at exit.
 */
static void on_term(int sig)
{
	restore_sysctls();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* SIOCOUTQ of @fd, or -1. */
static int outq(int fd)
{
	int v;

	return ioctl(fd, SIOCOUTQ, &v) ? -1 : v;
}

/* What the model charges: a unicast datagram of each length, measured on a
 * socket pair, and a blocking member's clone, measured as what a second
 * blocking member adds to a group send (the model then checks that one
 * blocking member costs the unicast charge plus one clone). 0 or an error.
 */
static const char *calibrate(void)
{
	struct unix_mreq mr = { .umr_family = AF_UNIX };
	struct sockaddr_un ga = { .sun_family = AF_UNIX };
	static unsigned char buf[PAYMAX];
	int sv[2], m[2] = { -1, -1 }, one = 0, two = 0, len, i;
	const char *err = NULL;
	socklen_t glen;

	/* Nothing here may block: no watchdog is armed yet. */
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv))
		return "socketpair";
	for (len = 0; len <= PAYMAX && !err; len++) {
		if (send(sv[0], buf, len, MSG_DONTWAIT) != len) {
			err = "send";
			break;
		}
		g_truesize[len] = outq(sv[0]);
		if (g_truesize[len] <= 0 ||
		    recv(sv[1], buf, PAYMAX, MSG_DONTWAIT) != len) {
			fprintf(stderr, "# a %d-byte unicast datagram: %d\n",
				len, g_truesize[len]);
			err = "unicast charge";
		}
	}
	if (err || g_unicast_only)
		goto out;
	glen = offsetof(struct sockaddr_un, sun_path) + 1 +
	       snprintf(ga.sun_path + 1, sizeof(ga.sun_path) - 1,
			"mcfz-cal-%d", getpid());
	memcpy(mr.umr_path, ga.sun_path, sizeof(mr.umr_path));
	mr.umr_addrlen = glen;
	for (i = 0; i < 2; i++) {
		m[i] = socket(AF_UNIX, SOCK_DGRAM, 0);
		if (m[i] < 0 || setsockopt(m[i], SOL_UNIX, UNIX_ADD_MEMBERSHIP,
					   &mr, sizeof(mr))) {
			err = "join";
			goto out;
		}
		if (!i) {
			/* One member so far: send, measure, drain. */
			if (sendto(sv[0], buf, 10, MSG_DONTWAIT, (void *)&ga,
				   glen) != 10) {
				err = "group send";
				goto out;
			}
			one = outq(sv[0]);
			if (recv(m[0], buf, PAYMAX, MSG_DONTWAIT) != 10) {
				err = "group recv";
				goto out;
			}
		}
	}
	if (sendto(sv[0], buf, 10, MSG_DONTWAIT, (void *)&ga, glen) != 10) {
		err = "group send";
		goto out;
	}
	two = outq(sv[0]);
	g_clone_size = two - one;
	if (g_clone_size <= 0 || one != g_truesize[10] + g_clone_size) {
		fprintf(stderr,
			"# one blocking member: %d, two: %d, a 10-byte unicast datagram: %d\n",
			one, two, g_truesize[10]);
		errno = 0;
		err = "a blocking clone's charge";
	}
out:
	for (i = 0; i < 2; i++)
		if (m[i] >= 0)
			close(m[i]);
	close(sv[0]);
	close(sv[1]);
	return err;
}

static void usage_exit(const char *p)
{
	fprintf(stderr,
		"usage: %s [-s FIRST_SEED] [-n SEEDS] [-o OPS] [-v] [-N] [-u]\n",
		p);
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long seed0 = 1, nseeds = 20, nops = 2000;
	unsigned long t_ops = 0, t_del = 0, t_err = 0, t_skip = 0;
	struct timespec t0, t1;
	bool netns = false;
	int c, fd, failed = 0;
	socklen_t l = sizeof(g_sndbuf);
	const char *cal;
	unsigned long k;

	while ((c = getopt(argc, argv, "s:n:o:vNu")) != -1) {
		switch (c) {
		case 's':
			seed0 = strtoul(optarg, NULL, 0);
			break;
		case 'n':
			nseeds = strtoul(optarg, NULL, 0);
			break;
		case 'o':
			nops = strtoul(optarg, NULL, 0);
			break;
		case 'v':
			g_verbose++;
			break;
		case 'N':
			netns = true;
			break;
		case 'u':
			g_unicast_only = true;
			break;
		default:
			usage_exit(argv[0]);
		}
	}
	if (!nops || nops > 1000000)
		usage_exit(argv[0]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	if (!g_unicast_only && nobody_check()) {
		int err = errno;

		if (geteuid()) {
			printf("TAP version 13\n1..0 # SKIP not root: ");
			printf("cannot run a child as uid %d: %s\n", NOBODY,
			       strerror(err));
			return 4;	/* KSFT_SKIP */
		}
		printf("TAP version 13\n1..%lu\nBail out! cannot run a child as uid %d: %s\n",
		       nseeds, NOBODY, strerror(err));
		return 1;
	}
	printf("TAP version 13\n1..%lu\n", nseeds);
	if (netns && unshare(CLONE_NEWNET)) {
		printf("Bail out! unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return 2;
	}

	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &g_sndbuf, &l)) {
		printf("Bail out! socket: %s\n", strerror(errno));
		return 2;
	}
	close(fd);
	/* A datagram of up to PAYMAX bytes costs well under 3 KiB of the
	 * send buffer: keep a sender far from its limit.
	 */
	g_cap = g_sndbuf / 3072;
	if (g_cap > 64)
		g_cap = 64;
	g_big = calloc(1, g_sndbuf + 64);
	g_unmapped = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	g_child_res = mmap(NULL, sizeof(struct res), PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!g_big || g_unmapped == MAP_FAILED || g_child_res == MAP_FAILED) {
		printf("Bail out! out of memory\n");
		return 2;
	}
	read_file(QLEN_PATH, g_orig_qlen, sizeof(g_orig_qlen));
	if (!g_unicast_only) {
		read_file(MM_PATH, g_orig_mm, sizeof(g_orig_mm));
		if (!g_orig_mm[0]) {
			printf("Bail out! no %s: CONFIG_UNIX_MULTICAST off?\n",
			       MM_PATH);
			return 2;
		}
	}
	atexit(restore_sysctls);
	errno = 0;
	cal = calibrate();
	if (cal) {
		printf("Bail out! calibration: %s%s%s\n", cal,
		       errno ? ": " : "", errno ? strerror(errno) : "");
		return 2;
	}
	printf("# %lu seeds from %lu, %lu ops each; ", nseeds, seed0, nops);
	printf("sndbuf %d, at most %d datagrams in flight per sender\n",
	       g_sndbuf, g_cap);
	printf("# charges: a 0/%d-byte unicast datagram %d/%d, a blocking clone %d\n",
	       PAYMAX, g_truesize[0], g_truesize[PAYMAX], g_clone_size);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (k = 0; k < nseeds; k++) {
		unsigned int seed = seed0 + k;
		struct op *ops = malloc(nops * sizeof(*ops));
		struct outcome o, o2;
		char line[200];
		unsigned long i;
		int n;

		if (!ops) {
			printf("Bail out! out of memory\n");
			return 2;
		}
		rng = seed;
		memset(gen_open, 0, sizeof(gen_open));
		memset(gen_conn, 0, sizeof(gen_conn));
		for (i = 0; i < nops; i++)
			gen_op(&ops[i], i);
		g_cur_seed = seed;
		alarm(300);
		g_counting = true;
		run_seq(ops, nops, g_verbose > 0, &o);
		g_counting = false;
		t_ops += o.ops;
		t_del += o.delivered;
		t_err += o.errors;
		t_skip += o.skipped;
		if (o.div_at < 0) {
			alarm(0);
			printf("ok %lu seed %u: %lu ops, %lu delivered, ", k + 1,
			       seed, o.ops, o.delivered);
			printf("%lu errors checked, %lu skipped\n", o.errors,
			       o.skipped);
			free(ops);
			continue;
		}
		failed++;
		printf("# seed %u: divergence at op %d: %s\n", seed, o.div_at,
		       o.why);
		printf("# shrinking...\n");
		alarm(1800);
		replays = 0;
		n = shrink(ops, o.div_at + 1);
		run_seq(ops, n, false, &o2);
		alarm(0);
		if (o2.div_at < 0) {
			printf("# the divergence did not reproduce\n");
		} else {
			printf("# minimal sequence for seed %u (%d ops, %d replays); ",
			       seed, n, replays);
			printf("run it with -s %u -o %d to see it again:\n", seed,
			       o.div_at + 1);
			for (i = 0; i < (unsigned long)n; i++) {
				fmt_op(&ops[i], line, sizeof(line));
				printf("#   %s\n", line);
			}
			printf("# which diverges at its last op: %s\n", o2.why);
		}
		printf("not ok %lu seed %u: divergence at op %d: %s\n", k + 1,
		       seed, o.div_at, o.why);
		free(ops);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# totals: %lu seeds, %lu ops, %lu delivered, ", nseeds, t_ops,
	       t_del);
	printf("%lu errors checked, %lu skipped, %d diverged, %.1f s\n", t_err,
	       t_skip, failed,
	       t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	print_coverage();
	return failed ? 1 : 0;
}
