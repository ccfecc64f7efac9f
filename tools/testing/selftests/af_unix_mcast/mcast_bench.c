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
 * Pacing: the sender sends the next datagram only once every listener has
 * received the previous one, so no queue ever holds more than one datagram.
 *
 * Output: the table in the 2003 layout on stdout ("first,last" medians in
 * microseconds), and with -o DIR also DIR/bench.csv with every figure,
 * DIR/bench.txt (the table) and DIR/bench.gp, a gnuplot script for
 * DIR/bench.png.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mcast.h"
#include "mcast_bench.h"

#define MAX_LISTENERS 200
#define MAX_SIZE 40036
#define HDR 16		/* sequence number and send time */
#define STOP UINT64_MAX

enum mode { KERNEL, USERSPACE, SENDMMSG, UDP, NR_MODES };
static const char *const mode_name[NR_MODES] = {
	"kernel", "userspace", "sendmmsg", "udp",
};

struct shared {
	atomic_uint received;			/* of the current datagram */
	atomic_uint ready;
	atomic_int failed;
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

struct cell {
	double first_med, first_p99, last_med, last_p99;
	double cpu_per_msg, cpu_per_listener;
};

static double pct(uint64_t *v, int n, int p)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[(n - 1) * p / 100] / 1000.0;
}

static int run_cell(enum mode mode, int size, int nl, struct cell *c)
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

static void print_help(void)
{
	fputs("mcast_bench [-q] [-m modes] [-n listeners] [-s sizes]\n", stderr);
	fputs("            [-c messages] [-o dir] [-a accel] [-p]\n", stderr);
	fputs("  -q  quick: 30 messages per cell\n", stderr);
	fputs("  -m  comma-separated modes (kernel,userspace,sendmmsg,udp)\n", stderr);
	fputs("  -n  comma-separated listener counts (10,20,50,100,200)\n", stderr);
	fputs("  -s  comma-separated sizes (44,236,40036)\n", stderr);
	fputs("  -p  run at nice -20, as in 2003\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	int sizes[3] = { 44, 236, 40036 }, counts[5] = { 10, 20, 50, 100, 200 };
	int nsizes = 3, ncounts = 5, modes[NR_MODES], nmodes = 0, pin = 0;
	const char *outdir = NULL, *accel = getenv("AUM_ACCEL");
	char modelist[64] = "kernel,userspace,sendmmsg,udp", header[512];
	FILE *csv = NULL, *txt = NULL;
	struct cell cells[3][NR_MODES][5];
	struct utsname un;
	size_t shsize;
	int opt, a, b, k, rc = 0;

	messages = 200;
	bench_pid = getpid();
	while ((opt = getopt(argc, argv, "qm:n:s:c:o:a:p")) != -1) {
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
		default:
			print_help();
		}
	}
	for (char *t = strtok(modelist, ","); t; t = strtok(NULL, ",")) {
		for (k = 0; k < NR_MODES && strcmp(t, mode_name[k]); k++)
			;
		if (k == NR_MODES)
			print_help();
		modes[nmodes++] = k;
	}
	for (a = 0; a < ncounts; a++)
		if (counts[a] < 1 || counts[a] > MAX_LISTENERS)
			print_help();
	for (a = 0; a < nsizes; a++)
		if (sizes[a] < HDR || sizes[a] > MAX_SIZE)
			print_help();
	if (messages < 1)
		print_help();
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
		 "# kernel %s, %ld CPUs, %s; %d messages per cell after %d warm-up, paced: one datagram in flight%s\n",
		 un.release, sysconf(_SC_NPROCESSORS_ONLN),
		 accel ? (strcmp(accel, "kvm") ? "software emulation (no KVM)" :
			  "KVM") : "host",
		 messages, warmup, pin ? ", nice -20" : "");
	if (outdir) {
		char path[512];

		snprintf(path, sizeof(path), "%s/bench.csv", outdir);
		csv = fopen(path, "w");
		snprintf(path, sizeof(path), "%s/bench.txt", outdir);
		txt = fopen(path, "w");
		if (!csv || !txt)
			die("output");
		fputs(header, csv);
		fputs("size,mode,listeners,", csv);
		fputs("first_median_us,first_p99_us,last_median_us,last_p99_us,", csv);
		fputs("sender_cpu_per_msg_us,sender_cpu_per_listener_us\n", csv);
	}

	for (a = 0; a < nsizes; a++) {
		for (k = 0; k < nmodes; k++) {
			for (b = 0; b < ncounts; b++) {
				struct cell *c = &cells[a][k][b];

				memset(c, 0, sizeof(*c));
				if (run_cell(modes[k], sizes[a], counts[b], c)) {
					fprintf(stderr, "FAILED: %s, %d bytes, %d listeners\n",
						mode_name[modes[k]], sizes[a],
						counts[b]);
					rc = 1;
					continue;
				}
				if (csv)
					fprintf(csv, "%d,%s,%d,%.1f,%.1f,%.1f,%.1f,%.2f,%.3f\n",
						sizes[a], mode_name[modes[k]],
						counts[b], c->first_med,
						c->first_p99, c->last_med,
						c->last_p99, c->cpu_per_msg,
						c->cpu_per_listener);
			}
		}
	}

	for (FILE *f = stdout; f; f = f == stdout ? txt : NULL) {
		fputs(header, f);
		fprintf(f, "# each cell: first,last listener latency, median, microseconds\n");
		for (a = 0; a < nsizes; a++) {
			fprintf(f, "\n%-6d bytes     ", sizes[a]);
			for (b = 0; b < ncounts; b++)
				fprintf(f, "%14d", counts[b]);
			fprintf(f, "\n");
			for (k = 0; k < nmodes; k++) {
				fprintf(f, "%-16s", mode_name[modes[k]]);
				for (b = 0; b < ncounts; b++) {
					char cellbuf[32];

					snprintf(cellbuf, sizeof(cellbuf), "%.0f,%.0f",
						 cells[a][k][b].first_med,
						 cells[a][k][b].last_med);
					fprintf(f, "%14s", cellbuf);
				}
				fprintf(f, "\n");
			}
		}
		fprintf(f, "\n# sender CPU per datagram / per listener (us), %d bytes:\n",
			sizes[0]);
		for (k = 0; k < nmodes; k++) {
			fprintf(f, "# %-10s", mode_name[modes[k]]);
			for (b = 0; b < ncounts; b++)
				fprintf(f, " %d:%.1f/%.2f", counts[b],
					cells[0][k][b].cpu_per_msg,
					cells[0][k][b].cpu_per_listener);
			fprintf(f, "\n");
		}
	}
	if (outdir) {
		char path[512];
		FILE *gp;

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
		fputs("set ylabel 'last listener, median (us)'\n", gp);
		fputs("set logscale y\nset key left top\n", gp);
		for (a = 0; a < nsizes; a++) {
			fprintf(gp, "set title '%d bytes'\nplot ", sizes[a]);
			for (k = 0; k < nmodes; k++) {
				fprintf(gp, "%s'< grep \"^%d,%s,\" %s/bench.csv'",
					k ? ", " : "", sizes[a],
					mode_name[modes[k]], outdir);
				fprintf(gp, " using 3:6 with linespoints title '%s'",
					mode_name[modes[k]]);
			}
			fprintf(gp, "\n");
		}
		fprintf(gp, "unset multiplot\n");
		fclose(gp);
		fclose(csv);
		fclose(txt);
	}
	return rc;
}
