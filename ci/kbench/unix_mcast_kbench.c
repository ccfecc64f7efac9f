// SPDX-License-Identifier: GPL-2.0
/*
 * In-kernel microbenchmark of the AF_UNIX multicast send path (ci/bench.sh,
 * User-Mode Linux; a test module, not for merging). ci/kbench.sh builds it
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

#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/in.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/percpu.h>
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

static unsigned int conc_n = 100;
module_param(conc_n, uint, 0644);
MODULE_PARM_DESC(conc_n, "members of the concurrent senders' group");
static unsigned int conc_msgs = 2400;
module_param(conc_msgs, uint, 0644);
MODULE_PARM_DESC(conc_msgs, "datagrams the concurrent senders send in all");

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

/* The mean time per send in phase @p between two readings. */
static u64 per_send(u64 *h0, u64 *n0, u64 *h, u64 *n, unsigned int p)
{
	return n[p] > n0[p] ? (h[p] - h0[p]) / (n[p] - n0[p]) : 0;
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
		per[p] = per_send(h0, n0, h, n, p);
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
 * Concurrent senders: 1, 2 or 4 kernel threads, each with a socket of its
 * own, send conc_msgs datagrams in all, as fast as they can, to one group
 * of conc_n members that have room for all of them (their queue limit and
 * receive buffers raised for the run). Timed from the start signal until
 * the last sender is done; then every member must hold every datagram, in
 * the same order as every other member, each sender's in its own order.
 */
struct conc_sender {
	struct cell *c;
	struct socket *tx;
	struct completion *go;
	struct completion done;
	unsigned int id, count;
	int err;
};

static int conc_send(void *arg)
{
	struct conc_sender *s = arg;
	struct cell *c = s->c;
	u32 *buf = kvzalloc(c->size, GFP_KERNEL);
	unsigned int i;

	wait_for_completion(s->go);
	for (i = 0; buf && i < s->count && !s->err; i++) {
		struct kvec iov = { .iov_base = buf, .iov_len = c->size };
		struct msghdr msg = {
			.msg_name = c->addr,
			.msg_namelen = c->addrlen,
		};
		int ret;

		buf[0] = s->id;
		buf[1] = i;
		ret = kernel_sendmsg(s->tx, &msg, &iov, 1, c->size);
		if (ret != c->size)
			s->err = ret < 0 ? ret : -EIO;
	}
	if (!buf)
		s->err = -ENOMEM;
	kvfree(buf);
	complete(&s->done);
	return 0;
}

/*
 * Reads every member's queue: 0 if all hold the same sequence. @switches
 * counts where it passes from one sender's datagram to another's.
 */
static int conc_check(struct cell *c, unsigned int senders, u64 *seq,
		      unsigned int *switches)
{
	unsigned int next[4] = {}, i, k;
	u32 hdr[2];

	for (i = 0; i < c->n; i++) {
		for (k = 0; k < conc_msgs; k++) {
			struct kvec iov = { .iov_base = hdr, .iov_len = sizeof(hdr) };
			struct msghdr msg = {};
			u64 v;

			if (kernel_recvmsg(c->rx[i], &msg, &iov, 1, sizeof(hdr),
					   MSG_DONTWAIT) != sizeof(hdr))
				return -ENODATA;
			v = (u64)hdr[0] << 32 | hdr[1];
			if (!i) {
				if (hdr[0] >= senders || hdr[1] != next[hdr[0]]++)
					return -EILSEQ;
				seq[k] = v;
				*switches += k && seq[k - 1] >> 32 != hdr[0];
			} else if (seq[k] != v) {
				return -EILSEQ;
			}
		}
		if (!skb_queue_empty_lockless(&c->rx[i]->sk->sk_receive_queue))
			return -EMSGSIZE;
	}
	return 0;
}

static int conc_cell(struct cell *c, unsigned int run, unsigned int senders)
{
	int qlen = READ_ONCE(init_net.unx.sysctl_max_dgram_qlen);
	struct conc_sender *s = kcalloc(senders, sizeof(*s), GFP_KERNEL);
	u64 h0[NR_PHASES], n0[NR_PHASES], h[NR_PHASES], n[NR_PHASES];
	unsigned int switches = 0;
	int big = 256 << 20, err = 0;
	DECLARE_COMPLETION_ONSTACK(go);
	u64 *seq = kvcalloc(conc_msgs, sizeof(*seq), GFP_KERNEL);
	unsigned int i;
	u64 t0, t1;

	if (!s || !seq) {
		err = -ENOMEM;
		goto out;
	}
	/* Member sockets take their queue limit when they are created. */
	WRITE_ONCE(init_net.unx.sysctl_max_dgram_qlen, conc_msgs + 1);
	err = cell_init(c);
	WRITE_ONCE(init_net.unx.sysctl_max_dgram_qlen, qlen);
	for (i = 0; !err && i < c->n; i++)
		err = sock_setsockopt(c->rx[i], SOL_SOCKET, SO_RCVBUFFORCE,
				      KERNEL_SOCKPTR(&big), sizeof(big));
	for (i = 0; !err && i < senders; i++) {
		s[i] = (struct conc_sender){
			.c = c,
			.go = &go,
			.id = i,
			.count = conc_msgs / senders,
		};
		init_completion(&s[i].done);
		err = sock_create_kern(&init_net, AF_UNIX, SOCK_DGRAM, 0,
				       &s[i].tx);
		if (!err)
			err = sock_setsockopt(s[i].tx, SOL_SOCKET,
					      SO_SNDBUFFORCE,
					      KERNEL_SOCKPTR(&big), sizeof(big));
		if (!err && IS_ERR(kthread_run(conc_send, &s[i], "kbench/%u", i)))
			err = -ENOMEM;
		if (err && s[i].tx) {
			sock_release(s[i].tx);
			s[i].tx = NULL;
		}
	}
	/* Senders that started wait for the signal, and are then done. */
	phases(h0, n0);
	t0 = ktime_get_ns();
	complete_all(&go);
	for (i = 0; i < senders && s[i].tx; i++)
		wait_for_completion(&s[i].done);
	t1 = ktime_get_ns();
	phases(h, n);
	for (i = 0; i < senders && s[i].tx; i++) {
		err = err ?: s[i].err;
		sock_release(s[i].tx);
	}
	if (!err)
		err = conc_check(c, senders, seq, &switches);
	if (!err)
		pr_info("conc run=%u mode=%s size=%u n=%u senders=%u msgs=%u ns=%llu hold_ns=%llu clone_ns=%llu wake_ns=%llu switches=%u\n",
			run, mode_name[c->mode], c->size, c->n, senders,
			conc_msgs, t1 - t0, per_send(h0, n0, h, n, 0),
			per_send(h0, n0, h, n, 1), per_send(h0, n0, h, n, 2),
			switches);
out:
	kvfree(seq);
	kfree(s);
	return err;
}

static DEFINE_PER_CPU(long, kbench_counter);

/*
 * What the primitives of a send cost here, for reading the figures: UML
 * disables interrupts by blocking host signals, and reads the clock from
 * the host.
 */
static void calibrate(void)
{
	static DEFINE_SPINLOCK(lock);
	const unsigned int loops = 100000;
	unsigned long flags;
	unsigned int i;
	u64 t[7];

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
	for (i = 0; i < loops; i++)
		this_cpu_add_return(kbench_counter, 1);
	t[5] = ktime_get_ns();
	for (i = 0; i < loops; i++)
		kfree(kmalloc(256, GFP_KERNEL));
	t[6] = ktime_get_ns();
	pr_info("primitives: ktime_get_ns %llu ns, spin_lock+unlock %llu ns, spin_lock_irqsave+restore %llu ns, spin_lock_bh+unlock_bh %llu ns, this_cpu_add_return %llu ns, kmalloc+kfree %llu ns\n",
		(t[1] - t[0]) / loops, (t[2] - t[1]) / loops,
		(t[3] - t[2]) / loops, (t[4] - t[3]) / loops,
		(t[5] - t[4]) / loops, (t[6] - t[5]) / loops);
}

static int kbench(void)
{
	unsigned int nv[16], sv[8], id = 0, r, si, ni, m;
	int nn, nsz, err = 0;
	void *buf;

	nn = parse(ns, nv, ARRAY_SIZE(nv), MAX_N);
	nsz = parse(sizes, sv, ARRAY_SIZE(sv), MAX_SIZE);
	if (nn < 0 || nsz < 0)
		return nn < 0 ? nn : nsz;
	if (!nn || !nsz || !runs || !reps || !conc_n ||
	    conc_n > MAX_N || !conc_msgs || conc_msgs % 4 ||
	    conc_msgs > 1 << 20)
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
	for (r = 0; r < runs && !err; r++)
		for (si = 0; si < nsz && !err; si++)
			for (m = 0; m < 2 * 3 && !err; m++) {
				/* both kernel modes, 1, 2, 4 senders, turning */
				static const unsigned int k[] = { 1, 2, 4 };
				struct cell c = {
					.mode = m / 3 ? BLOCK : DWF,
					.n = conc_n,
					.size = max(sv[si], 8U),
					.id = id++,
					.buf = buf,
				};
				unsigned int senders = k[(m + r) % 3];

				err = conc_cell(&c, r, senders);
				if (err)
					pr_err("conc run=%u mode=%s size=%u senders=%u: error %d\n",
					       r, mode_name[c.mode], c.size,
					       senders, err);
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
