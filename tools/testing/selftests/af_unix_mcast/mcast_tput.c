// SPDX-License-Identifier: GPL-2.0
/*
 * Unpaced throughput of a fan-out: senders stream datagrams as fast as they
 * can to N listeners, each a process that reads as fast as it can, and the
 * rate at which every listener receives them is measured. Modes:
 *
 *   kernel    AF_UNIX multicast, blocking members (the sender waits for room)
 *   kernel2   the same, two sender processes
 *   kernel4   the same, four sender processes
 *   dwf       AF_UNIX multicast, drop-when-full members (a full member drops)
 *   userspace one sendto() per listener
 *   sendmmsg  one sendmmsg() carrying one message per listener
 *   udp       UDP multicast on the loopback interface (a full socket drops)
 *
 * A cell sends -c datagrams in all (split between the senders) and is timed
 * from the start signal, given once every sender is ready, to the last
 * datagram any listener receives. Its rate is the datagrams per second
 * that the listener which received fewest got (for the modes that do not
 * drop, what reached every listener; where datagrams are dropped, an upper
 * bound of that); its loss, the share of the datagrams the listeners did
 * not get. Cells run -r times, the modes of one size and
 * listener count one after the other in a turning order (interleaved);
 * -m runs only the modes it names, and a cell that failed in a run counts
 * for none of that run's figures;
 * reported are the median rate and the median (and range) over the runs of
 * each run's ratio of kernel's rate to udp's and to sendmmsg's.
 *
 * Output: the table on stdout, and with -o DIR also DIR/tput.csv (every
 * run) and DIR/tput.txt (the table).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mcast.h"
#include "mcast_bench.h"

#define MAX_LISTENERS 200
#define MAX_SIZE 40036
#define MAX_RUNS 15
#define STOP UINT64_MAX

enum mode { KERNEL, KERNEL2, KERNEL4, DWF, USERSPACE, SENDMMSG, UDP, NR_MODES };
static const char *const mode_name[NR_MODES] = {
	"kernel", "kernel2", "kernel4", "dwf", "userspace", "sendmmsg", "udp",
};

static const int mode_senders[NR_MODES] = { 1, 2, 4, 1, 1, 1, 1 };

struct shared {
	atomic_uint ready;
	atomic_uint senders_ready;
	atomic_int go;
	atomic_int failed;
	struct sockaddr_un addr[MAX_LISTENERS];	/* the userspace list */
	socklen_t addrlen[MAX_LISTENERS];
	uint64_t count[MAX_LISTENERS];
	uint64_t last_ns[MAX_LISTENERS];
};

static struct shared *sh;
static unsigned int cell_id;
static pid_t tput_pid;		/* names the addresses of this run */

/* The cell's group (i < 0) or the address of its listener i. */
static socklen_t unix_name(struct sockaddr_un *a, int i)
{
	char name[64];
	int n = snprintf(name, sizeof(name), "%cmcast-tput-%d-%u-%d", 0,
			 tput_pid, cell_id, i);

	return mcast_addr(a, name, n);
}

static struct sockaddr_in udp_group(void)
{
	struct sockaddr_in a = {
		.sin_family = AF_INET,
		.sin_port = htons(5999),
	};

	inet_pton(AF_INET, "239.255.42.98", &a.sin_addr);
	return a;
}

static int listener_socket(enum mode mode, int i)
{
	struct sockaddr_un a;
	socklen_t len;
	int fd;

	if (mode == UDP) {
		struct sockaddr_in grp = udp_group();

		return udp_listener(&grp);
	}
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd < 0)
		return -1;
	if (mode == USERSPACE || mode == SENDMMSG) {
		len = unix_name(&a, i);
		if (bind(fd, (struct sockaddr *)&a, len))
			return -1;
		sh->addr[i] = a;
		sh->addrlen[i] = len;
		return fd;
	}
	len = unix_name(&a, -1);
	return mcast_join(fd, &a, len,
			  mode == DWF ? UNIX_MREQ_DROP_WHEN_FULL : 0) ? -1 : fd;
}

static void listen_loop(int fd, int i)
{
	static char buf[MAX_SIZE];
	uint64_t seq;

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < (ssize_t)sizeof(seq)) {
			sh->failed = 1;
			_exit(1);
		}
		memcpy(&seq, buf, sizeof(seq));
		if (seq == STOP)
			break;
		sh->count[i]++;
		sh->last_ns[i] = now_ns();
	}
	/* What a stop from another CPU overtook still counts. */
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < (ssize_t)sizeof(seq))
			_exit(n < 0 && errno == EAGAIN ? 0 : 1);
		memcpy(&seq, buf, sizeof(seq));
		if (seq != STOP) {
			sh->count[i]++;
			sh->last_ns[i] = now_ns();
		}
	}
}

/* One sender: @n datagrams of @size bytes, as fast as it can. */
static void send_loop(enum mode mode, int size, int nl, int n)
{
	static char buf[MAX_SIZE];
	struct mmsghdr *mm = calloc(nl, sizeof(*mm));
	struct iovec iov = { buf, size };
	struct sockaddr_in grp = udp_group();
	struct sockaddr_un ga;
	socklen_t glen = unix_name(&ga, -1);
	int s, i, m;

	s = mode == UDP ? udp_sender() : socket(AF_UNIX, SOCK_DGRAM, 0);
	for (i = 0; mm && i < nl; i++) {
		mm[i].msg_hdr.msg_name = &sh->addr[i];
		mm[i].msg_hdr.msg_namelen = sh->addrlen[i];
		mm[i].msg_hdr.msg_iov = &iov;
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	if (s < 0 || !mm) {
		sh->failed = 1;
		_exit(1);
	}
	/* The buffer's pages are touched before the start, not after. */
	memset(buf, 0, sizeof(buf));
	atomic_fetch_add(&sh->senders_ready, 1);
	while (!sh->go)
		sched_yield();
	for (m = 0; m < n; m++) {
		ssize_t r = size;

		switch (mode) {
		case USERSPACE:
			for (i = 0; i < nl && r == size; i++)
				r = sendto(s, buf, size, 0,
					   (struct sockaddr *)&sh->addr[i],
					   sh->addrlen[i]);
			break;
		case SENDMMSG:
			r = sendmmsg(s, mm, nl, 0) == nl ? size : -1;
			break;
		case UDP:
			r = sendto(s, buf, size, 0, (struct sockaddr *)&grp,
				   sizeof(grp));
			/* A full loopback backlog drops too: count it lost. */
			if (r < 0 && errno == ENOBUFS)
				r = size;
			break;
		default:
			r = sendto(s, buf, size, 0, (struct sockaddr *)&ga, glen);
			break;
		}
		if (r != size) {
			perror(mode_name[mode]);
			_exit(1);
		}
	}
	_exit(0);
}

/* Stops the listeners; those that lost the stop datagram get it again. */
static int stop_all(enum mode mode, int nl, pid_t *pid)
{
	struct sockaddr_in grp = udp_group();
	uint64_t stop = STOP, t0 = now_ns();
	struct sockaddr_un ga;
	socklen_t glen = unix_name(&ga, -1);
	int s, i, left = nl, status, ok = 1;

	s = mode == UDP ? udp_sender() : socket(AF_UNIX, SOCK_DGRAM, 0);
	if (s < 0)
		return 0;
	while (left) {
		for (i = 0; i < nl; i++) {
			if (!pid[i])
				continue;
			if (waitpid(pid[i], &status, WNOHANG) == pid[i]) {
				ok &= WIFEXITED(status) && !WEXITSTATUS(status);
				pid[i] = 0;
				left--;
			}
		}
		if (!left)
			break;
		if (now_ns() - t0 > 10000000000ull) {
			for (i = 0; i < nl; i++)
				if (pid[i]) {
					kill(pid[i], SIGKILL);
					waitpid(pid[i], &status, 0);
				}
			fputs("listeners not stopped after 10 s\n", stderr);
			ok = 0;
			break;
		}
		if (mode == UDP)
			sendto(s, &stop, sizeof(stop), MSG_DONTWAIT,
			       (struct sockaddr *)&grp, sizeof(grp));
		else if (mode == USERSPACE || mode == SENDMMSG)
			for (i = 0; i < nl; i++)
				sendto(s, &stop, sizeof(stop), MSG_DONTWAIT,
				       (struct sockaddr *)&sh->addr[i],
				       sh->addrlen[i]);
		else
			sendto(s, &stop, sizeof(stop), MSG_DONTWAIT,
			       (struct sockaddr *)&ga, glen);
		usleep(1000);
	}
	close(s);
	return ok;
}

struct result {
	double rate;	/* datagrams per second reaching every listener */
	double loss;	/* share of the datagrams listeners did not get */
};

static int run_cell(enum mode mode, int size, int nl, int total,
		    struct result *res)
{
	int senders = mode_senders[mode], per = total / senders;
	pid_t pid[MAX_LISTENERS], spid[4];
	uint64_t t0, last = 0, fewest = UINT64_MAX, got = 0;
	int i, status, ok = 1;

	cell_id++;
	sh->ready = 0;
	sh->senders_ready = 0;
	sh->go = 0;
	sh->failed = 0;
	memset(sh->count, 0, sizeof(sh->count));
	memset(sh->last_ns, 0, sizeof(sh->last_ns));
	for (i = 0; i < nl; i++) {
		pid[i] = fork();
		if (pid[i] < 0)
			die("fork");
		if (!pid[i]) {
			int fd = listener_socket(mode, i);

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
	for (i = 0; i < senders && !sh->failed; i++) {
		spid[i] = fork();
		if (spid[i] < 0)
			die("fork");
		if (!spid[i])
			send_loop(mode, size, nl, per);
	}
	if (sh->failed) {
		senders = i;
		ok = 0;
	}
	while (ok && sh->senders_ready < (unsigned int)senders && !sh->failed)
		sched_yield();
	t0 = now_ns();
	sh->go = 1;
	for (i = 0; i < senders; i++)
		if (waitpid(spid[i], &status, 0) != spid[i] ||
		    !WIFEXITED(status) || WEXITSTATUS(status))
			ok = 0;
	ok &= stop_all(mode, nl, pid);
	for (i = 0; i < nl; i++) {
		fewest = sh->count[i] < fewest ? sh->count[i] : fewest;
		last = sh->last_ns[i] > last ? sh->last_ns[i] : last;
		got += sh->count[i];
	}
	if (ok && last <= t0)
		fputs("no listener received a datagram\n", stderr);
	if (!ok || last <= t0)
		return -1;
	res->rate = fewest / ((last - t0) / 1e9);
	res->loss = 1 - (double)got / ((double)per * senders * nl);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of the runs' figures that are not NAN (a cell that failed, or
 * a mode not run); NAN if none is.
 */
static double median(const double *v, int n)
{
	double w[MAX_RUNS];
	int r, m = 0;

	for (r = 0; r < n; r++)
		if (!isnan(v[r]))
			w[m++] = v[r];
	if (!m)
		return NAN;
	qsort(w, m, sizeof(*w), cmp_double);
	return m % 2 ? w[m / 2] : (w[m / 2 - 1] + w[m / 2]) / 2;
}

/* The per-run ratio @a / @b, median and range, over the runs both have. */
static void ratio(FILE *f, const char *what, double *a, double *b, int n)
{
	double q[MAX_RUNS], lo = NAN, hi = NAN;
	int r, m = 0;

	for (r = 0; r < n; r++) {
		if (isnan(a[r]) || isnan(b[r]) || b[r] <= 0)
			continue;
		q[m] = a[r] / b[r];
		lo = m && lo < q[m] ? lo : q[m];
		hi = m && hi > q[m] ? hi : q[m];
		m++;
	}
	if (m)
		fprintf(f, "  %s %.2fx (%.2f-%.2f)", what, median(q, m), lo,
			hi);
}

static void print_help(void)
{
	fputs("mcast_tput [-q] [-r runs] [-m modes] [-n listeners] [-s sizes] [-c datagrams]\n",
	      stderr);
	fputs("           [-o dir]\n", stderr);
	fputs("  -q  quick: 1 run of 100 datagrams per cell\n", stderr);
	fputs("  -r  interleaved runs (5; at most 15)\n", stderr);
	fputs("  -m  comma-separated modes (kernel,kernel2,kernel4,dwf,userspace,\n", stderr);
	fputs("      sendmmsg,udp: all)\n", stderr);
	fputs("  -n  comma-separated listener counts (10,100)\n", stderr);
	fputs("  -s  comma-separated sizes (44,40036)\n", stderr);
	fputs("  -c  datagrams per cell (1000; a multiple of 4)\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	int sizes[2] = { 44, 40036 }, counts[2] = { 10, 100 }, nsizes = 2;
	int ncounts = 2, runs = 5, total = 1000, opt, a, b, c, k, r, rc = 0;
	static double rate[2][2][NR_MODES][MAX_RUNS], loss[2][2][NR_MODES][MAX_RUNS];
	const char *outdir = NULL, *accel = getenv("AUM_ACCEL");
	FILE *csv = NULL, *txt = NULL;
	char header[512];
	struct utsname un;
	bool want[NR_MODES];

	for (k = 0; k < NR_MODES; k++)
		want[k] = true;
	while ((opt = getopt(argc, argv, "qr:m:n:s:c:o:")) != -1) {
		switch (opt) {
		case 'q':
			runs = 1;
			total = 100;
			break;
		case 'r':
			runs = atoi(optarg);
			break;
		case 'm':
			for (k = 0; k < NR_MODES; k++)
				want[k] = false;
			for (char *t = strtok(optarg, ","); t;
			     t = strtok(NULL, ",")) {
				k = name_index(mode_name, NR_MODES, t);
				if (k == NR_MODES)
					print_help();
				want[k] = true;
			}
			break;
		case 'n':
			ncounts = parse_list(optarg, counts, 2);
			break;
		case 's':
			nsizes = parse_list(optarg, sizes, 2);
			break;
		case 'c':
			total = atoi(optarg);
			break;
		case 'o':
			outdir = optarg;
			break;
		default:
			print_help();
		}
	}
	if (runs < 1 || runs > MAX_RUNS || total < 4 || total % 4)
		print_help();
	for (a = 0; a < ncounts; a++)
		if (counts[a] < 1 || counts[a] > MAX_LISTENERS)
			print_help();
	for (a = 0; a < nsizes; a++)
		if (sizes[a] < 8 || sizes[a] > MAX_SIZE)
			print_help();
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap");
	tput_pid = getpid();

	uname(&un);
	snprintf(header, sizeof(header),
		 "# kernel %s, %ld CPUs, %s; unpaced: %d datagrams per cell, %d interleaved run%s\n",
		 un.release, sysconf(_SC_NPROCESSORS_ONLN),
		 !accel ? "host" : !strcmp(accel, "kvm") ? "KVM" :
		 !strcmp(accel, "uml") ? "User-Mode Linux" :
		 "software emulation (no KVM)",
		 total, runs, runs > 1 ? "s" : "");
	if (outdir) {
		char path[512];

		snprintf(path, sizeof(path), "%s/tput.csv", outdir);
		csv = fopen(path, "w");
		snprintf(path, sizeof(path), "%s/tput.txt", outdir);
		txt = fopen(path, "w");
		if (!csv || !txt)
			die("output");
		fputs(header, csv);
		fputs("run,size,mode,listeners,senders,rate_per_s,loss\n", csv);
	}
	/* Per run: every size, listener count and mode, the modes in
	 * run_order().
	 */
	for (r = 0; r < runs; r++) {
		for (c = 0; c < nsizes * ncounts * NR_MODES; c++) {
			int m = run_order(r, c % NR_MODES, NR_MODES);
			struct result res;

			a = c / (ncounts * NR_MODES);
			b = c / NR_MODES % ncounts;
			rate[a][b][m][r] = NAN;
			loss[a][b][m][r] = NAN;
			if (!want[m])
				continue;
			if (run_cell(m, sizes[a], counts[b], total, &res)) {
				fprintf(stderr, "FAILED: %s, %d bytes, %d listeners\n",
					mode_name[m], sizes[a], counts[b]);
				rc = 1;
				continue;
			}
			rate[a][b][m][r] = res.rate;
			loss[a][b][m][r] = res.loss;
			if (csv)
				fprintf(csv, "%d,%d,%s,%d,%d,%.0f,%.4f\n", r,
					sizes[a], mode_name[m], counts[b],
					mode_senders[m], res.rate, res.loss);
		}
	}
	for (FILE *f = stdout; f; f = f == stdout ? txt : NULL) {
		fputs(header, f);
		fputs("# datagrams per second received by the listener that",
		      f);
		fputs(" got fewest, median over runs;", f);
		fputs(" loss, median\n", f);
		for (a = 0; a < nsizes; a++)
			for (b = 0; b < ncounts; b++) {
				fprintf(f, "\n%d bytes, %d listeners\n", sizes[a],
					counts[b]);
				for (k = 0; k < NR_MODES; k++)
					if (want[k])
						fprintf(f, "  %-10s %10.0f  loss %5.1f%%\n",
							mode_name[k],
							median(rate[a][b][k], runs),
							100 * median(loss[a][b][k], runs));
				fputs(" ", f);
				ratio(f, "kernel/udp", rate[a][b][KERNEL],
				      rate[a][b][UDP], runs);
				ratio(f, "kernel/sendmmsg", rate[a][b][KERNEL],
				      rate[a][b][SENDMMSG], runs);
				ratio(f, "kernel4/kernel", rate[a][b][KERNEL4],
				      rate[a][b][KERNEL], runs);
				fputs("\n", f);
			}
	}
	if (outdir) {
		fclose(csv);
		fclose(txt);
	}
	return rc;
}
