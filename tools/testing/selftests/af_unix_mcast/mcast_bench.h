/* SPDX-License-Identifier: GPL-2.0 */
/* What the two benchmarks, mcast_bench and mcast_tput, share. */
#ifndef AF_UNIX_MCAST_BENCH_H
#define AF_UNIX_MCAST_BENCH_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static inline void die(const char *what)
{
	perror(what);
	exit(1);
}

/* A comma-separated list of at most @max numbers. */
static inline int parse_list(char *s, int *v, int max)
{
	int n = 0;

	for (s = strtok(s, ","); s && n < max; s = strtok(NULL, ","))
		v[n++] = atoi(s);
	return n;
}

/* The index of @name in @names[@n], or @n if it is not there. */
static inline int name_index(const char *const *names, int n,
			     const char *name)
{
	int k;

	for (k = 0; k < n && strcmp(name, names[k]); k++)
		;
	return k;
}

/* The mode in place @j of run @r among @n interleaved modes: the order
 * rotates by one every two runs, ascending in even runs and descending in
 * odd ones, so that no mode always runs first or after the same one.
 */
static inline int run_order(int r, int j, int n)
{
	int k = (j + r / 2) % n;

	return r % 2 ? n - 1 - k : k;
}

/* A socket bound to @grp's port that has joined @grp on loopback. */
static inline int udp_listener(const struct sockaddr_in *grp)
{
	struct ip_mreq mreq = { .imr_multiaddr = grp->sin_addr };
	struct sockaddr_in any = *grp;
	int fd, one = 1;

	mreq.imr_interface.s_addr = htonl(INADDR_LOOPBACK);
	any.sin_addr.s_addr = htonl(INADDR_ANY);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&any, sizeof(any)) ||
	    setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq)))
		return -1;
	return fd;
}

/* A socket that sends to a UDP group through the loopback interface. */
static inline int udp_sender(void)
{
	struct in_addr lo = { htonl(INADDR_LOOPBACK) };
	int s = socket(AF_INET, SOCK_DGRAM, 0), one = 1;

	if (s < 0 ||
	    setsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &lo, sizeof(lo)) ||
	    setsockopt(s, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof(one)))
		return -1;
	return s;
}

#endif
