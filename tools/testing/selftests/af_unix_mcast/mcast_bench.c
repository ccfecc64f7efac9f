// SPDX-License-Identifier: GPL-2.0
/*
 * The 2003 AF_UNIX multicast latency table, reproduced and extended.
 *
 * A sender sends timestamped datagrams to N listeners, each a separate
 * process blocked in recv(). Per datagram, the latency of the first and of
 * the last listener to receive it is recorded; per cell, the median and the
 * 99th percentile of both are reported, with the sender's CPU time per
 * datagram and per listener. Modes:
 *
 *   kernel    AF_UNIX multicast: one sendto() to the group
 *   userspace the 2003 baseline: one sendto() per listener, the listeners'
 *             addresses in shared memory
 *   sendmmsg  one sendmmsg() carrying one message per listener
 *   udp       UDP multicast on the loopback interface
 *
 * and the three AF_UNIX modes again with Landlock on the path
 * (kernel+landlock, userspace+landlock, sendmmsg+landlock): the cell runs
 * in a child restricted with LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET, so that
 * the sender and its listeners share one domain and every
 * security_unix_may_send() of the send (the group's, each member's, each
 * listener's) runs Landlock's hook. Landlock has no hook on a UDP send.
 *
 * Pacing: the sender sends the next datagram only once every listener has
 * received the previous one, so no queue ever holds more than one datagram.
 *
 * The +landlock modes run only with -m all or when -m names them (they
 * need Landlock ABI 6), and check that Landlock is in force: the child
 * must fail to send to an abstract socket bound outside its domain.
 *
 * Repeated runs (-r): each run measures every cell once, the cells of one
 * size and listener count one mode after another, in an order that rotates
 * every two runs and is reversed in every other run, so that a slow phase
 * of the machine does not fall on one mode and no mode always follows the
 * same one. A cell's figure is the median over the runs of its runs'
 * medians, and its spread their range; a run in which a cell failed does
 * not count for it ("-" where no run did), nor for the wins.
 *
 * Output: the table in the 2003 layout on stdout ("first,last" medians in
 * microseconds), the last listener's spread over the runs, and how often
 * the group's last listener is ahead of every other mode; with -o DIR also
 * DIR/bench.csv with every figure of every run and the medians over runs,
 * DIR/bench.txt (the tables) and DIR/bench.gp, a gnuplot script for
 * DIR/bench.png.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/landlock.h>

#include "mcast.h"
#include "mcast_bench.h"

#define ABI_SCOPE_ABSTRACT 6	/* LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET */

#define MAX_LISTENERS 200
#define MAX_SIZE 40036
#define MAX_RUNS 20
#define HDR 16		/* sequence number and send time */
#define STOP UINT64_MAX

/* The modes from LANDLOCKED on are the first ones again, in a domain. */
enum mode {
	KERNEL, USERSPACE, SENDMMSG, UDP,
	KERNEL_LL, USERSPACE_LL, SENDMMSG_LL, NR_MODES
};

#define LANDLOCKED KERNEL_LL
static const char *const mode_name[NR_MODES] = {
	"kernel", "userspace", "sendmmsg", "udp",
	"kernel+landlock", "userspace+landlock", "sendmmsg+landlock",
};

struct cell {
	double first_med, first_p99, last_med, last_p99;
	double cpu_per_msg, cpu_per_listener;
};

struct shared {
	atomic_uint received;			/* of the current datagram */
	atomic_uint ready;
	atomic_int failed;
	struct cell result;			/* of a cell run in a child */
	struct sockaddr_un addr[MAX_LISTENERS];	/* the userspace list */
	socklen_t addrlen[MAX_LISTENERS];
	uint64_t recv_ns[];			/* [listener][message] */
};

static struct shared *sh;
static int messages, warmup;
static pid_t bench_pid;		/* names the addresses of this run */

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static socklen_t unix_name(struct sockaddr_un *a, int i)
{
	char name[64];
	int n = snprintf(name, sizeof(name), "%cmcast-bench-%d-%d", 0,
			 bench_pid, i);

	return mcast_addr(a, name, n);
}

static struct sockaddr_in udp_group(void)
{
	struct sockaddr_in a = {
		.sin_family = AF_INET,
		.sin_port = htons(5000 + bench_pid % 20000),
	};

	inet_pton(AF_INET, "239.255.42.99", &a.sin_addr);
	return a;
}

static int listener_socket(enum mode mode, int i, struct sockaddr_in *grp)
{
	struct sockaddr_un a;
	socklen_t len;
	int fd;

	if (mode == UDP)
		return udp_listener(grp);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd < 0)
		return -1;
	if (mode == KERNEL) {
		len = unix_name(&a, -1);
		return mcast_join(fd, &a, len, 0) ? -1 : fd;
	}
	len = unix_name(&a, i);
	if (bind(fd, (struct sockaddr *)&a, len))
		return -1;
	sh->addr[i] = a;
	sh->addrlen[i] = len;
	return fd;
}

static void listen_loop(int fd, int i)
{
	static char buf[MAX_SIZE];
	uint64_t seq;

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		uint64_t t = now_ns();

		if (n < HDR) {
			sh->failed = 1;
			_exit(1);
		}
		memcpy(&seq, buf, sizeof(seq));
		if (seq == STOP)
			_exit(0);
		sh->recv_ns[(size_t)i * (messages + warmup) + seq] = t;
		atomic_fetch_add(&sh->received, 1);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct(uint64_t *v, int n, int p)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[(n - 1) * p / 100] / 1000.0;
}

static int run_cell_here(enum mode mode, int size, int nl, struct cell *c)
{
	static char buf[MAX_SIZE];
	struct mmsghdr *mm = calloc(nl, sizeof(*mm));
	struct iovec iov = { buf, size };
	uint64_t *first = calloc(messages, 8), *last = calloc(messages, 8);
	uint64_t *sent = calloc(messages + warmup, 8), cpu = 0;
	struct sockaddr_in grp = udp_group();
	struct sockaddr_un ga;
	socklen_t glen;
	pid_t pid[MAX_LISTENERS];
	int s, i, m, status, ok = 1;

	memset(buf, 'x', size);
	sh->ready = 0;
	sh->failed = 0;
	for (i = 0; i < nl; i++) {
		pid[i] = fork();
		if (pid[i] < 0)
			die("fork");
		if (!pid[i]) {
			int fd = listener_socket(mode, i, &grp);

			if (fd < 0) {
				perror("listener");
				sh->failed = 1;
				_exit(1);
			}
			atomic_fetch_add(&sh->ready, 1);
			listen_loop(fd, i);
		}
	}
	while (sh->ready < (unsigned int)nl && !sh->failed)
		usleep(1000);
	if (sh->failed) {
		for (i = 0; i < nl; i++) {
			kill(pid[i], SIGKILL);
			waitpid(pid[i], &status, 0);
		}
		return -1;
	}

	s = mode == UDP ? udp_sender() : socket(AF_UNIX, SOCK_DGRAM, 0);
	if (s < 0)
		die(mode == UDP ? "udp sender" : "socket");
	glen = unix_name(&ga, -1);
	for (i = 0; i < nl; i++) {
		mm[i].msg_hdr.msg_name = &sh->addr[i];
		mm[i].msg_hdr.msg_namelen = sh->addrlen[i];
		mm[i].msg_hdr.msg_iov = &iov;
		mm[i].msg_hdr.msg_iovlen = 1;
	}

	for (m = 0; m < messages + warmup && ok; m++) {
		uint64_t seq = m, c0, t;
		ssize_t r = size;

		sh->received = 0;
		memcpy(buf, &seq, 8);
		c0 = cpu_ns();
		t = now_ns();
		memcpy(buf + 8, &t, 8);
		switch (mode) {
		case KERNEL:
			r = sendto(s, buf, size, 0, (struct sockaddr *)&ga, glen);
			break;
		case USERSPACE:
			for (i = 0; i < nl && r == size; i++)
				r = sendto(s, buf, size, 0,
					   (struct sockaddr *)&sh->addr[i],
					   sh->addrlen[i]);
			break;
		case SENDMMSG:
			r = sendmmsg(s, mm, nl, 0) == nl ? size : -1;
			break;
		default:
			r = sendto(s, buf, size, 0, (struct sockaddr *)&grp,
				   sizeof(grp));
			break;
		}
		if (m >= warmup)
			cpu += cpu_ns() - c0;
		sent[m] = t;
		if (r != size) {
			perror(mode_name[mode]);
			ok = 0;
			break;
		}
		/* Pacing: wait until every listener has this one. */
		while (sh->received < (unsigned int)nl && !sh->failed)
			sched_yield();
		if (sh->failed)
			ok = 0;
	}

	/* Stop the listeners. */
	{
		uint64_t stop = STOP;

		memcpy(buf, &stop, 8);
		if (mode == KERNEL)
			sendto(s, buf, HDR, 0, (struct sockaddr *)&ga, glen);
		else if (mode == UDP)
			sendto(s, buf, HDR, 0, (struct sockaddr *)&grp,
			       sizeof(grp));
		else
			for (i = 0; i < nl; i++)
				sendto(s, buf, HDR, 0,
				       (struct sockaddr *)&sh->addr[i],
				       sh->addrlen[i]);
	}
	for (i = 0; i < nl; i++) {
		/* After a failure, listeners may wait for what never comes. */
		if (!ok)
			kill(pid[i], SIGKILL);
		if (waitpid(pid[i], &status, 0) != pid[i] || status)
			ok = 0;
	}
	close(s);

	for (m = 0; ok && m < messages; m++) {
		uint64_t lo = UINT64_MAX, hi = 0;

		for (i = 0; i < nl; i++) {
			uint64_t r = sh->recv_ns[(size_t)i * (messages + warmup) +
						 warmup + m];

			lo = r < lo ? r : lo;
			hi = r > hi ? r : hi;
		}
		first[m] = lo - sent[warmup + m];
		last[m] = hi - sent[warmup + m];
	}
	if (ok) {
		c->first_med = pct(first, messages, 50);
		c->first_p99 = pct(first, messages, 99);
		c->last_med = pct(last, messages, 50);
		c->last_p99 = pct(last, messages, 99);
		c->cpu_per_msg = cpu / 1000.0 / messages;
		c->cpu_per_listener = c->cpu_per_msg / nl;
	}
	free(mm);
	free(first);
	free(last);
	free(sent);
	return ok ? 0 : -1;
}

/* An abstract socket bound outside every Landlock domain of the benchmark:
 * a Landlock mode's child must not be able to send to it.
 */
static struct sockaddr_un probe_addr;
static socklen_t probe_len;

static void bind_probe(void)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	probe_len = mcast_new_addr(&probe_addr, "bench-probe-", true);
	if (fd < 0 || bind(fd, (struct sockaddr *)&probe_addr, probe_len))
		die("probe socket");
	/* Left open: it is bound until the benchmark exits. */
}

/* Whether the caller's Landlock domain is in force: 0, or -1. */
static int landlock_in_force(void)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0), ret;

	if (fd < 0)
		return -1;
	ret = sendto(fd, "p", 1, MSG_DONTWAIT, (struct sockaddr *)&probe_addr,
		     probe_len) == -1 && errno == EPERM ? 0 : -1;
	close(fd);
	return ret;
}

/* One cell; a Landlock mode's in a child, which the domain cannot outlive,
 * in a process group of its own, so that no listener of a child that failed
 * outlives it.
 */
static int run_cell(enum mode mode, int size, int nl, struct cell *c)
{
	siginfo_t si;
	pid_t pid;
	int status;

	if (mode < LANDLOCKED)
		return run_cell_here(mode, size, nl, c);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		setpgid(0, 0);
		if (mcast_landlock_scope_abstract()) {
			perror("landlock");
			_exit(1);
		}
		if (landlock_in_force()) {
			fprintf(stderr, "landlock: not in force\n");
			_exit(1);
		}
		_exit(run_cell_here(mode - LANDLOCKED, size, nl, &sh->result) ?
		      1 : 0);
	}
	setpgid(pid, pid);
	/* Wait for it without reaping it, so that its process group cannot
	 * be another's when what is left of it is killed.
	 */
	if (waitid(P_PID, pid, &si, WEXITED | WNOWAIT))
		die("waitid");
	kill(-pid, SIGKILL);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return -1;
	*c = sh->result;
	return 0;
}

static double median(double *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			double t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void print_help(void)
{
	fputs("mcast_bench [-q] [-m modes] [-n listeners] [-s sizes] [-r runs]\n", stderr);
	fputs("            [-c messages] [-o dir] [-a accel] [-p]\n", stderr);
	fputs("  -q  quick: 30 messages per cell\n", stderr);
	fputs("  -m  comma-separated modes (kernel,userspace,sendmmsg,udp) or\n", stderr);
	fputs("      kernel+landlock,userspace+landlock,sendmmsg+landlock;\n", stderr);
	fputs("      all: every mode (default: the four without Landlock)\n", stderr);
	fputs("  -n  comma-separated listener counts (10,20,50,100,200)\n", stderr);
	fputs("  -s  comma-separated sizes (44,236,40036)\n", stderr);
	fputs("  -r  runs, interleaved (1; at most 20)\n", stderr);
	fputs("  -p  run at nice -20, as in 2003\n", stderr);
	exit(2);
}

static int sizes[3] = { 44, 236, 40036 }, counts[5] = { 10, 20, 50, 100, 200 };
static int nsizes = 3, ncounts = 5, modes[NR_MODES], nmodes, nruns = 1;
static int kidx[NR_MODES];	/* a mode's index in modes[], or -1 */
static struct cell runs[MAX_RUNS][3][NR_MODES][5], med[3][NR_MODES][5];
static double last_lo[3][NR_MODES][5], last_hi[3][NR_MODES][5];

#define FIELD(c, off) (*(double *)((char *)(c) + (off)))

/* Marks a cell that failed: every figure NAN. */
static void cell_failed(struct cell *c)
{
	size_t off;

	for (off = 0; off < sizeof(*c); off += sizeof(double))
		FIELD(c, off) = NAN;
}

/* The median over the runs of one field of cell (a, k, b), and its range,
 * over the runs in which the cell did not fail (its fields NAN): NAN if it
 * failed in every run.
 */
static double over_runs(int a, int k, int b, size_t off, double *lo,
			double *hi)
{
	double v[MAX_RUNS];
	int r, n = 0;

	*lo = *hi = NAN;
	for (r = 0; r < nruns; r++) {
		double x = FIELD(&runs[r][a][k][b], off);

		if (isnan(x))
			continue;
		*lo = n && *lo < x ? *lo : x;
		*hi = n && *hi > x ? *hi : x;
		v[n++] = x;
	}
	return n ? median(v, n) : NAN;
}

/* In how many cells of @t (a run, or the medians) the last listener of
 * mode @g is ahead of that of every mode in @others (those measured), of
 * the @cells cells in which none of them failed (NAN); -1 if @g or none of
 * @others was measured.
 */
static int wins(struct cell (*t)[NR_MODES][5], enum mode g,
		const enum mode *others, int nothers, int *cells)
{
	int a, b, i, n = 0, any = 0;

	*cells = 0;
	if (kidx[g] < 0)
		return -1;
	for (i = 0; i < nothers; i++)
		any |= kidx[others[i]] >= 0;
	if (!any)
		return -1;
	for (a = 0; a < nsizes; a++)
		for (b = 0; b < ncounts; b++) {
			double mine = t[a][kidx[g]][b].last_med;
			bool ahead = true, valid = !isnan(mine);

			for (i = 0; i < nothers; i++) {
				double x;

				if (kidx[others[i]] < 0)
					continue;
				x = t[a][kidx[others[i]]][b].last_med;
				valid &= !isnan(x);
				ahead &= mine < x;
			}
			*cells += valid;
			n += valid && ahead;
		}
	return n;
}

static void print_wins(FILE *f, const char *what, enum mode g,
		       const enum mode *others, int nothers)
{
	int r, cells, w = wins(med, g, others, nothers, &cells);

	if (w < 0)
		return;
	fprintf(f, "# %s: %d of %d cells in the medians over runs; per run:",
		what, w, cells);
	for (r = 0; r < nruns; r++) {
		w = wins(runs[r], g, others, nothers, &cells);
		fprintf(f, " %d", w);
		if (cells != nsizes * ncounts)
			fprintf(f, " (of %d)", cells);
	}
	fprintf(f, "\n");
}

/* Mode @m's last-listener median over mode @base's, per cell: the range
 * over the cells, and at the largest listener count per size.
 */
static void print_ratio(FILE *f, enum mode m, enum mode base)
{
	double lo = NAN, hi = NAN, q;
	int a, b;

	if (kidx[m] < 0 || kidx[base] < 0)
		return;
	fprintf(f, "# %s / %s, last listener:", mode_name[m], mode_name[base]);
	for (a = 0; a < nsizes; a++)
		for (b = 0; b < ncounts; b++) {
			q = med[a][kidx[m]][b].last_med /
			    med[a][kidx[base]][b].last_med;
			if (isnan(q))
				continue;
			lo = isnan(lo) || q < lo ? q : lo;
			hi = isnan(hi) || q > hi ? q : hi;
		}
	if (isnan(lo)) {
		fprintf(f, " -\n");
		return;
	}
	fprintf(f, " %.2f to %.2f over the cells; at %d listeners", lo, hi,
		counts[ncounts - 1]);
	for (a = 0; a < nsizes; a++) {
		q = med[a][kidx[m]][ncounts - 1].last_med /
		    med[a][kidx[base]][ncounts - 1].last_med;
		if (isnan(q))
			fprintf(f, " - (%d B)", sizes[a]);
		else
			fprintf(f, " %.2f (%d B)", q, sizes[a]);
	}
	fprintf(f, "\n");
}

static void fmt_medians(char *buf, size_t len, int a, int k, int b)
{
	if (isnan(med[a][k][b].last_med))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.0f,%.0f", med[a][k][b].first_med,
			 med[a][k][b].last_med);
}

static void fmt_last_range(char *buf, size_t len, int a, int k, int b)
{
	if (isnan(last_lo[a][k][b]))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.0f-%.0f", last_lo[a][k][b],
			 last_hi[a][k][b]);
}

/* A table per size: a row per mode, a column per listener count. */
static void print_table(FILE *f,
			void (*fmt)(char *buf, size_t len, int a, int k, int b))
{
	char cell[32];
	int a, b, k;

	for (a = 0; a < nsizes; a++) {
		fprintf(f, "\n%-6d bytes        ", sizes[a]);
		for (b = 0; b < ncounts; b++)
			fprintf(f, "%14d", counts[b]);
		fprintf(f, "\n");
		for (k = 0; k < nmodes; k++) {
			fprintf(f, "%-19s", mode_name[modes[k]]);
			for (b = 0; b < ncounts; b++) {
				fmt(cell, sizeof(cell), a, k, b);
				fprintf(f, "%14s", cell);
			}
			fprintf(f, "\n");
		}
	}
}

static void print_tables(FILE *f, const char *header)
{
	static const enum mode plain[] = { USERSPACE, SENDMMSG, UDP };
	static const enum mode locked[] = { USERSPACE_LL, SENDMMSG_LL, UDP };
	int a, b, k;

	fputs(header, f);
	fprintf(f,
		"# each cell: first,last listener latency, median over the runs of each run's median, microseconds\n");
	print_table(f, fmt_medians);
	if (nruns > 1) {
		fprintf(f,
			"\n# last listener: range over the %d runs (lowest-highest run median, microseconds)\n",
			nruns);
		print_table(f, fmt_last_range);
	}
	fprintf(f, "\n# sender CPU per datagram / per listener (us), %d bytes:\n",
		sizes[0]);
	for (k = 0; k < nmodes; k++) {
		fprintf(f, "# %-18s", mode_name[modes[k]]);
		for (b = 0; b < ncounts; b++)
			if (isnan(med[0][k][b].cpu_per_msg))
				fprintf(f, " %d:-", counts[b]);
			else
				fprintf(f, " %d:%.1f/%.2f", counts[b],
					med[0][k][b].cpu_per_msg,
					med[0][k][b].cpu_per_listener);
		fprintf(f, "\n");
	}
	fprintf(f, "\n");
	print_wins(f,
		   "kernel's last listener ahead of userspace's, sendmmsg's and udp's",
		   KERNEL, plain, 3);
	print_wins(f,
		   "kernel+landlock's last listener ahead of userspace+landlock's, sendmmsg+landlock's and udp's",
		   KERNEL_LL, locked, 3);
	if (kidx[KERNEL] >= 0 && kidx[UDP] >= 0) {
		fprintf(f,
			"# first listener at %d listeners, kernel against udp (median over runs, range):",
			counts[ncounts - 1]);
		for (a = 0; a < nsizes; a++) {
			double klo, khi, ulo, uhi, kf, uf;

			kf = over_runs(a, kidx[KERNEL], ncounts - 1,
				       offsetof(struct cell, first_med), &klo,
				       &khi);
			uf = over_runs(a, kidx[UDP], ncounts - 1,
				       offsetof(struct cell, first_med), &ulo,
				       &uhi);
			if (isnan(kf) || isnan(uf))
				fprintf(f, " %d B -;", sizes[a]);
			else
				fprintf(f, " %d B %.0f (%.0f-%.0f) / %.0f (%.0f-%.0f);",
					sizes[a], kf, klo, khi, uf, ulo, uhi);
		}
		fprintf(f, "\n");
	}
	print_ratio(f, KERNEL_LL, KERNEL);
	print_ratio(f, USERSPACE_LL, USERSPACE);
	print_ratio(f, SENDMMSG_LL, SENDMMSG);
}

static void csv_row(FILE *csv, int a, int k, int b, const char *run,
		    const struct cell *c, double lo, double hi)
{
	fprintf(csv, "%d,%s,%d,%s,%.1f,%.1f,%.1f,%.1f,%.2f,%.3f,%.1f,%.1f\n",
		sizes[a], mode_name[modes[k]], counts[b], run, c->first_med,
		c->first_p99, c->last_med, c->last_p99, c->cpu_per_msg,
		c->cpu_per_listener, lo, hi);
}

static void write_gnuplot(const char *outdir, const char *header)
{
	char path[512];
	FILE *gp;
	int a, k;

	snprintf(path, sizeof(path), "%s/bench.gp", outdir);
	gp = fopen(path, "w");
	if (!gp)
		die("bench.gp");
	fputs("set terminal pngcairo size 1500,500 noenhanced\n", gp);
	fprintf(gp, "set output '%s/bench.png'\n", outdir);
	fputs("set datafile separator ','\n", gp);
	fprintf(gp, "set multiplot layout 1,%d title \"%.*s\"\n", nsizes,
		(int)strlen(header) - 3, header + 2);
	fputs("set xlabel 'listeners'\n", gp);
	fputs("set ylabel 'last listener (us): median over runs, bars: range'\n",
	      gp);
	fputs("set logscale y\nset key left top\n", gp);
	for (a = 0; a < nsizes; a++) {
		fprintf(gp, "set title '%d bytes'\nplot ", sizes[a]);
		for (k = 0; k < nmodes; k++) {
			fprintf(gp, "%s'< grep \"^%d,%s,[0-9]*,median,\" %s/bench.csv'",
				k ? ", " : "", sizes[a],
				mode_name[modes[k]], outdir);
			fprintf(gp, " using 3:7:11:12 with yerrorlines title '%s'",
				mode_name[modes[k]]);
		}
		fprintf(gp, "\n");
	}
	fprintf(gp, "unset multiplot\n");
	fclose(gp);
}

int main(int argc, char **argv)
{
	const char *outdir = NULL, *accel = getenv("AUM_ACCEL");
	char modelist[160] = "";
	char header[512], run[16];
	FILE *csv = NULL, *txt = NULL;
	int opt, a, b, j, k, n, r, pin = 0, rc = 0, landlocked = 0;
	struct utsname un;
	size_t shsize;

	messages = 200;
	bench_pid = getpid();
	while ((opt = getopt(argc, argv, "qm:n:s:c:o:a:pr:")) != -1) {
		switch (opt) {
		case 'q':
			messages = 30;
			break;
		case 'm':
			snprintf(modelist, sizeof(modelist), "%s", optarg);
			break;
		case 'n':
			ncounts = parse_list(optarg, counts, 5);
			break;
		case 's':
			nsizes = parse_list(optarg, sizes, 3);
			break;
		case 'c':
			messages = atoi(optarg);
			break;
		case 'o':
			outdir = optarg;
			break;
		case 'a':
			accel = optarg;
			break;
		case 'p':
			pin = 1;
			break;
		case 'r':
			nruns = atoi(optarg);
			break;
		default:
			print_help();
		}
	}
	/* The modes without Landlock, unless -m says which ("all": every
	 * mode).
	 */
	n = !modelist[0] ? LANDLOCKED : !strcmp(modelist, "all") ? NR_MODES : 0;
	if (n)
		modelist[0] = '\0';
	for (k = 0; k < n; k++)
		snprintf(modelist + strlen(modelist),
			 sizeof(modelist) - strlen(modelist), "%s,",
			 mode_name[k]);
	for (k = 0; k < NR_MODES; k++)
		kidx[k] = -1;
	for (char *t = strtok(modelist, ","); t; t = strtok(NULL, ",")) {
		k = name_index(mode_name, NR_MODES, t);
		if (k == NR_MODES || kidx[k] >= 0)
			print_help();
		kidx[k] = nmodes;
		modes[nmodes++] = k;
		landlocked |= k >= LANDLOCKED;
	}
	for (a = 0; a < ncounts; a++)
		if (counts[a] < 1 || counts[a] > MAX_LISTENERS)
			print_help();
	for (a = 0; a < nsizes; a++)
		if (sizes[a] < HDR || sizes[a] > MAX_SIZE)
			print_help();
	if (messages < 1 || nruns < 1 || nruns > MAX_RUNS || !nmodes ||
	    !nsizes || !ncounts)
		print_help();
	if (landlocked) {
		int abi = syscall(__NR_landlock_create_ruleset, NULL, 0,
				  LANDLOCK_CREATE_RULESET_VERSION);

		if (abi < ABI_SCOPE_ABSTRACT) {
			fprintf(stderr,
				"FAILED: the +landlock modes need Landlock ABI %d (LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET); this kernel: %s\n",
				ABI_SCOPE_ABSTRACT,
				abi < 0 ? strerror(errno) : "older");
			return 1;
		}
	}
	if (landlocked)
		bind_probe();
	warmup = messages / 10 + 5;
	if (pin && setpriority(PRIO_PROCESS, 0, -20))
		perror("setpriority");

	shsize = sizeof(*sh) + sizeof(uint64_t) * MAX_LISTENERS *
		 (messages + warmup);
	sh = mmap(NULL, shsize, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap");

	uname(&un);
	snprintf(header, sizeof(header),
		 "# kernel %s, %ld CPUs, %s; %d run%s, interleaved; %d messages per cell after %d warm-up, paced: one datagram in flight%s\n",
		 un.release, sysconf(_SC_NPROCESSORS_ONLN),
		 accel ? (strcmp(accel, "kvm") ? "software emulation (no KVM)" :
			  "KVM") : "host",
		 nruns, nruns > 1 ? "s" : "", messages, warmup,
		 pin ? ", nice -20" : "");
	if (outdir) {
		char path[512];

		snprintf(path, sizeof(path), "%s/bench.csv", outdir);
		csv = fopen(path, "w");
		snprintf(path, sizeof(path), "%s/bench.txt", outdir);
		txt = fopen(path, "w");
		if (!csv || !txt)
			die("output");
		fputs(header, csv);
		fputs("size,mode,listeners,run,", csv);
		fputs("first_median_us,first_p99_us,last_median_us,last_p99_us,", csv);
		fputs("sender_cpu_per_msg_us,sender_cpu_per_listener_us,", csv);
		fputs("last_median_lowest_run_us,last_median_highest_run_us\n", csv);
	}

	/* Interleaved: a run measures every cell once; the modes of a size
	 * and count run one after another, in run_order().
	 */
	for (r = 0; r < nruns; r++) {
		for (a = 0; a < nsizes; a++) {
			for (b = 0; b < ncounts; b++) {
				for (j = 0; j < nmodes; j++) {
					struct cell *c;

					k = run_order(r, j, nmodes);
					c = &runs[r][a][k][b];
					memset(c, 0, sizeof(*c));
					if (run_cell(modes[k], sizes[a], counts[b], c)) {
						cell_failed(c);
						fprintf(stderr,
							"FAILED: %s, %d bytes, %d listeners, run %d\n",
							mode_name[modes[k]], sizes[a],
							counts[b], r + 1);
						rc = 1;
						continue;
					}
					if (!csv)
						continue;
					snprintf(run, sizeof(run), "%d", r + 1);
					csv_row(csv, a, k, b, run, c, c->last_med,
						c->last_med);
				}
			}
		}
	}

	for (a = 0; a < nsizes; a++) {
		for (k = 0; k < nmodes; k++) {
			for (b = 0; b < ncounts; b++) {
				struct cell *m = &med[a][k][b];
				double lo, hi;
				size_t off;

				for (off = 0; off < sizeof(*m); off += sizeof(double))
					FIELD(m, off) = over_runs(a, k, b, off,
								  &lo, &hi);
				over_runs(a, k, b, offsetof(struct cell, last_med),
					  &last_lo[a][k][b], &last_hi[a][k][b]);
				if (csv)
					csv_row(csv, a, k, b, "median", m,
						last_lo[a][k][b],
						last_hi[a][k][b]);
			}
		}
	}

	print_tables(stdout, header);
	if (outdir) {
		print_tables(txt, header);
		write_gnuplot(outdir, header);
		fclose(csv);
		fclose(txt);
	}
	return rc;
}
