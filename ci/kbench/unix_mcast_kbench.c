// SPDX-License-Identifier: GPL-2.0
/*
 * In-kernel microbenchmark of the AF_UNIX multicast send path (ci/bench.sh,
 * User-Mode Linux; a test module, not for merging). ci/bench.sh builds it
 * into the kernel with ci/kbench/hold-time.patch; it runs when "1" is
 * written to /sys/module/unix_mcast_kbench/parameters/run, as the writer,
 * with the parameters below (writable there too).
 *
 * Times one send to N members, for N in @ns, with no system call and no
 * receiver asleep (the members are kernel sockets nobody waits on), in four
 * modes, one after the other within each run, runs interleaved:
 *
 *   dwf      one sendmsg() to an AF_UNIX multicast group of drop-when-full
 *            members
 *   block    the same, members blocking (the default)
 *   udp      one sendmsg() to an IPv4 multicast group on loopback (delivery
 *            completes in the softirq the send runs on leaving its
 *            bottom-half section; a send whose datagrams are not all queued
 *            when it returns is timed until they are, and counted)
 *   unicast  N sendmsg() calls, one to each member's AF_UNIX address
 *
 * Each cell is the median of @reps timed sends after @warm untimed ones;
 * every member's queue is drained after each send, untimed. With the
 * hold-time patch (ci/kbench/hold-time.patch) the kernel modes also report
 * the mean time a send held the group's ordered section, and spent cloning
 * (filters and LSM checks included) and waking its members.
 *
 * Output, one line per cell, in the kernel log:
 *   unix_mcast_kbench: run=R mode=M size=S n=N reps=K median_ns=T min_ns=T
 *                      hold_ns=T clone_ns=T wake_ns=T holds=K late=L lost=L
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
#include <linux/in.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/socket.h>
#include <linux/sort.h>
#include <linux/uio.h>
#include <linux/un.h>
#include <linux/unix_mcast.h>
#include <linux/utsname.h>
#include <net/net_namespace.h>
#include <net/sock.h>

static char *ns = "1,2,5,10,20,50,100,200,1000";
module_param(ns, charp, 0644);
MODULE_PARM_DESC(ns, "member counts");
static char *sizes = "44,40036";
module_param(sizes, charp, 0644);
MODULE_PARM_DESC(sizes, "datagram sizes in bytes");
static unsigned int runs = 7;
module_param(runs, uint, 0644);
MODULE_PARM_DESC(runs, "interleaved runs");
static unsigned int reps = 101;
module_param(reps, uint, 0644);
MODULE_PARM_DESC(reps, "timed sends per cell");
static unsigned int warm = 10;
module_param(warm, uint, 0644);
MODULE_PARM_DESC(warm, "untimed sends per cell before the timed ones");

#include "af_unix_mcast.h"

enum mode { DWF, BLOCK, UDP, UNICAST, NR_MODES };
static const char *const mode_name[NR_MODES] = { "dwf", "block", "udp", "unicast" };

/* The phases of a send the hold-time patch times: ordered section,
 * clones, wake-ups.
 */
#define NR_PHASES 3
#define MAX_N 4096
#define MAX_SIZE 65000
#define UDP_GROUP 0xefff2a63	/* 239.255.42.99 */
#define UDP_PORT 5999

struct cell {
	enum mode mode;
	unsigned int n, size, id;
	struct socket *tx;
	struct socket **rx;
	struct sockaddr_un *addr;	/* group (one) or members (n) */
	int addrlen;
	void *buf;
	u64 *t;
	unsigned int late, lost;
};

/* Abstract names of one length per cell: the length is part of the name. */
static int unix_addr(struct sockaddr_un *a, unsigned int id, int i)
{
	int len;

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	len = snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1,
		       "kbench-%08u-%05d", id, i + 1);
	return offsetof(struct sockaddr_un, sun_path) + 1 + len;
}

static int setopt(struct socket *s, int level, int opt, void *val, int len)
{
	return s->ops->setsockopt(s, level, opt, KERNEL_SOCKPTR(val), len);
}

static int member(struct cell *c, int i)
{
	struct socket *s;
	int err;

	if (c->mode == UDP) {
		struct sockaddr_in any = {
			.sin_family = AF_INET,
			.sin_port = htons(UDP_PORT),
		};
		struct ip_mreqn mreq = {
			.imr_multiaddr.s_addr = htonl(UDP_GROUP),
			.imr_address.s_addr = htonl(INADDR_LOOPBACK),
		};

		err = sock_create_kern(&init_net, AF_INET, SOCK_DGRAM,
				       IPPROTO_UDP, &s);
		if (err)
			return err;
		sock_set_reuseaddr(s->sk);
		err = kernel_bind(s, (struct sockaddr_unsized *)&any,
				  sizeof(any));
		if (!err)
			err = setopt(s, SOL_IP, IP_ADD_MEMBERSHIP, &mreq,
				     sizeof(mreq));
	} else {
		err = sock_create_kern(&init_net, AF_UNIX, SOCK_DGRAM, 0, &s);
		if (err)
			return err;
		if (c->mode == UNICAST) {
			c->addrlen = unix_addr(&c->addr[i], c->id, i);
			err = kernel_bind(s, (struct sockaddr_unsized *)&c->addr[i],
					  c->addrlen);
		} else {
			struct unix_mreq mreq = {
				.umr_flags = c->mode == DWF ?
					     UNIX_MREQ_DROP_WHEN_FULL : 0,
			};

			c->addrlen = unix_addr(c->addr, c->id, -1);
			mreq.umr_addrlen = c->addrlen;
			memcpy(&mreq.umr_family, c->addr, c->addrlen);
			err = setopt(s, SOL_UNIX, UNIX_ADD_MEMBERSHIP, &mreq,
				     sizeof(mreq));
		}
	}
	c->rx[i] = s;
	return err;
}

static void cell_free(struct cell *c)
{
	unsigned int i;

	for (i = 0; c->rx && i < c->n; i++)
		if (c->rx[i])
			sock_release(c->rx[i]);
	if (c->tx)
		sock_release(c->tx);
	kfree(c->rx);
	kfree(c->addr);
	kfree(c->t);
}

static int cell_init(struct cell *c)
{
	unsigned int i;
	int err;

	c->rx = kcalloc(c->n, sizeof(*c->rx), GFP_KERNEL);
	c->addr = kcalloc(c->mode == UNICAST ? c->n : 1, sizeof(*c->addr),
			  GFP_KERNEL);
	c->t = kcalloc(reps, sizeof(*c->t), GFP_KERNEL);
	if (!c->rx || !c->addr || !c->t)
		return -ENOMEM;
	for (i = 0; i < c->n; i++) {
		err = member(c, i);
		if (err)
			return err;
	}
	if (c->mode == UDP) {
		struct in_addr lo = { htonl(INADDR_LOOPBACK) };
		int one = 1;

		err = sock_create_kern(&init_net, AF_INET, SOCK_DGRAM,
				       IPPROTO_UDP, &c->tx);
		if (!err)
			err = setopt(c->tx, SOL_IP, IP_MULTICAST_IF, &lo,
				     sizeof(lo));
		if (!err)
			err = setopt(c->tx, SOL_IP, IP_MULTICAST_LOOP, &one,
				     sizeof(one));
	} else {
		/* The unicast loop queues n datagrams before they are read. */
		int sndbuf = 256 << 20;

		err = sock_create_kern(&init_net, AF_UNIX, SOCK_DGRAM, 0,
				       &c->tx);
		if (!err)
			err = sock_setsockopt(c->tx, SOL_SOCKET, SO_SNDBUFFORCE,
					      KERNEL_SOCKPTR(&sndbuf),
					      sizeof(sndbuf));
	}
	return err;
}

static int send_one(struct cell *c, struct sockaddr *to, int tolen)
{
	struct kvec iov = { .iov_base = c->buf, .iov_len = c->size };
	struct msghdr msg = { .msg_name = to, .msg_namelen = tolen };
	int ret = kernel_sendmsg(c->tx, &msg, &iov, 1, c->size);

	return ret == c->size ? 0 : ret < 0 ? ret : -EIO;
}

static int send_cell(struct cell *c)
{
	struct sockaddr_in grp = {
		.sin_family = AF_INET,
		.sin_port = htons(UDP_PORT),
		.sin_addr.s_addr = htonl(UDP_GROUP),
	};
	unsigned int i;
	int err = 0;

	switch (c->mode) {
	case UDP:
		return send_one(c, (struct sockaddr *)&grp, sizeof(grp));
	case UNICAST:
		for (i = 0; i < c->n && !err; i++)
			err = send_one(c, (struct sockaddr *)&c->addr[i],
				       c->addrlen);
		return err;
	default:
		return send_one(c, (struct sockaddr *)c->addr, c->addrlen);
	}
}

static bool all_queued(struct cell *c)
{
	unsigned int i;

	for (i = 0; i < c->n; i++)
		if (skb_queue_empty_lockless(&c->rx[i]->sk->sk_receive_queue))
			return false;
	return true;
}

/* Empties every member's queue; false if one did not hold exactly one. */
static bool drain(struct cell *c)
{
	bool ok = true;
	unsigned int i;
	int got;

	for (i = 0; i < c->n; i++) {
		struct kvec iov = { .iov_base = c->buf, .iov_len = MAX_SIZE };
		struct msghdr msg = {};

		for (got = 0; ; got++)
			if (kernel_recvmsg(c->rx[i], &msg, &iov, 1, MAX_SIZE,
					   MSG_DONTWAIT) < 0)
				break;
		ok &= got == 1;
	}
	return ok;
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static void phases(u64 *total, u64 *count)
{
	unsigned int p;

	for (p = 0; p < NR_PHASES; p++)
		unix_mcast_hold_read(p, &total[p], &count[p]);
}

static int run_cell(struct cell *c, unsigned int run)
{
	u64 h0[NR_PHASES] = {}, n0[NR_PHASES] = {}, h[NR_PHASES], n[NR_PHASES];
	u64 per[NR_PHASES], t0, t1;
	unsigned int i, p;
	int err;

	err = cell_init(c);
	if (err)
		return err;
	for (i = 0; i < warm + reps; i++) {
		if (i == warm)
			phases(h0, n0);
		t0 = ktime_get_ns();
		err = send_cell(c);
		t1 = ktime_get_ns();
		if (err)
			return err;
		if (!all_queued(c)) {
			/* udp: delivery deferred to ksoftirqd */
			u64 limit = t1 + 100 * NSEC_PER_MSEC;

			while (!all_queued(c) && ktime_get_ns() < limit)
				cond_resched();
			t1 = ktime_get_ns();
			c->late += i >= warm;
		}
		if (!drain(c))
			c->lost += i >= warm;
		if (i >= warm)
			c->t[i - warm] = t1 - t0;
		cond_resched();
	}
	phases(h, n);
	for (p = 0; p < NR_PHASES; p++)
		per[p] = n[p] > n0[p] ? (h[p] - h0[p]) / (n[p] - n0[p]) : 0;
	sort(c->t, reps, sizeof(*c->t), cmp_u64, NULL);
	pr_info("run=%u mode=%s size=%u n=%u reps=%u median_ns=%llu min_ns=%llu hold_ns=%llu clone_ns=%llu wake_ns=%llu holds=%llu late=%u lost=%u\n",
		run, mode_name[c->mode], c->size, c->n, reps, c->t[reps / 2],
		c->t[0], per[0], per[1], per[2], n[0] - n0[0], c->late,
		c->lost);
	return 0;
}

/* A comma-separated list of at most @max numbers from 1 to @lim. */
static int parse(const char *s, unsigned int *v, int max, unsigned int lim)
{
	char *copy, *p, *tok;
	int k = 0, err = 0;

	copy = kstrdup(s, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	p = copy;
	while (!err && (tok = strsep(&p, ","))) {
		if (k == max || kstrtouint(tok, 10, &v[k]) || !v[k] || v[k] > lim)
			err = -EINVAL;
		else
			k++;
	}
	kfree(copy);
	return err ?: k;
}

/*
 * What the primitives of a send cost here, for reading the figures: UML
 * disables interrupts by blocking host signals, and reads the clock from
 * the host.
 */
static void calibrate(void)
{
	const unsigned int loops = 100000;
	DEFINE_SPINLOCK(lock);
	unsigned long flags;
	unsigned int i;
	u64 t[5];

	t[0] = ktime_get_ns();
	for (i = 0; i < loops; i++)
		ktime_get_ns();
	t[1] = ktime_get_ns();
	for (i = 0; i < loops; i++) {
		spin_lock(&lock);
		spin_unlock(&lock);
	}
	t[2] = ktime_get_ns();
	for (i = 0; i < loops; i++) {
		spin_lock_irqsave(&lock, flags);
		spin_unlock_irqrestore(&lock, flags);
	}
	t[3] = ktime_get_ns();
	for (i = 0; i < loops; i++) {
		spin_lock_bh(&lock);
		spin_unlock_bh(&lock);
	}
	t[4] = ktime_get_ns();
	pr_info("primitives: ktime_get_ns %llu ns, spin_lock+unlock %llu ns, spin_lock_irqsave+restore %llu ns, spin_lock_bh+unlock_bh %llu ns\n",
		(t[1] - t[0]) / loops, (t[2] - t[1]) / loops,
		(t[3] - t[2]) / loops, (t[4] - t[3]) / loops);
}

static int kbench(void)
{
	unsigned int nv[16], sv[8], id = 0, r, si, ni, m;
	int nn, nsz, err = 0;
	void *buf;

	nn = parse(ns, nv, ARRAY_SIZE(nv), MAX_N);
	nsz = parse(sizes, sv, ARRAY_SIZE(sv), MAX_SIZE);
	if (nn <= 0 || nsz <= 0 || !runs || !reps)
		return -EINVAL;
	buf = kvzalloc(MAX_SIZE, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	pr_info("kernel %s, %u CPUs, User-Mode Linux, %u runs, %u sends per cell (median), %u warm-up\n",
		init_utsname()->release, num_online_cpus(), runs, reps, warm);
	calibrate();
	for (r = 0; r < runs && !err; r++)
		for (si = 0; si < nsz && !err; si++)
			for (ni = 0; ni < nn && !err; ni++)
				/* interleaved: the mode order turns each run */
				for (m = 0; m < NR_MODES && !err; m++) {
					struct cell c = {
						.mode = (m + r) % NR_MODES,
						.n = nv[ni],
						.size = sv[si],
						.id = id++,
						.buf = buf,
					};

					err = run_cell(&c, r);
					if (err)
						pr_err("run=%u mode=%s size=%u n=%u: error %d\n",
						       r, mode_name[c.mode],
						       c.size, c.n, err);
					cell_free(&c);
				}
	kvfree(buf);
	if (!err)
		pr_info("done\n");
	return err;
}

/* Called with the parameters' lock held: they do not change under it. */
static int kbench_run(const char *val, const struct kernel_param *kp)
{
	return kbench();
}

static const struct kernel_param_ops run_ops = {
	.set = kbench_run,
};
module_param_cb(run, &run_ops, NULL, 0200);
MODULE_PARM_DESC(run, "write 1 to run the benchmark");
MODULE_DESCRIPTION("AF_UNIX multicast send path microbenchmark (not for merging)");
MODULE_LICENSE("GPL");
