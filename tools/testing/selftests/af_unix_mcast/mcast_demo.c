// SPDX-License-Identifier: GPL-2.0
/*
 * A short demonstration: one group, three members, one sender. Each
 * member prints what it received; the last line says whether every member
 * received every datagram, in order.
 */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mcast.h"

#define MEMBERS 3
#define MESSAGES 3

int main(void)
{
	static const char *const msgs[MESSAGES] = {
		"temperature=21.5", "temperature=21.7", "shutdown",
	};
	int fds[MEMBERS], ok = 1, i, j, status, s;
	struct sockaddr_un group;
	socklen_t len;

	len = mcast_addr(&group, "\0demo-bus", 9);
	for (i = 0; i < MEMBERS; i++) {
		fds[i] = socket(AF_UNIX, SOCK_DGRAM, 0);
		if (fds[i] < 0 || mcast_join(fds[i], &group, len, 0)) {
			perror("join");
			return 1;
		}
	}
	printf("group @demo-bus: %d members joined with UNIX_ADD_MEMBERSHIP\n",
	       MEMBERS);
	fflush(stdout);

	for (i = 0; i < MEMBERS; i++) {
		if (fork())
			continue;
		for (j = 0; j < MESSAGES; j++) {
			char buf[64];
			ssize_t n = recv(fds[i], buf, sizeof(buf) - 1, 0);

			if (n < 0)
				_exit(1);
			buf[n] = 0;
			printf("member %d (pid %d) received: %s\n", i + 1,
			       getpid(), buf);
			fflush(stdout);
			if (strcmp(buf, msgs[j]))
				_exit(1);
		}
		_exit(0);
	}

	s = socket(AF_UNIX, SOCK_DGRAM, 0);
	for (j = 0; j < MESSAGES; j++) {
		ssize_t n = sendto(s, msgs[j], strlen(msgs[j]), 0,
				   (struct sockaddr *)&group, len);

		printf("sender: one sendto() of \"%s\" returned %zd\n", msgs[j],
		       n);
		fflush(stdout);
		if (n != (ssize_t)strlen(msgs[j]))
			ok = 0;
		usleep(100000);
	}
	for (i = 0; i < MEMBERS; i++) {
		if (wait(&status) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			ok = 0;
	}
	printf(ok ? "demo: OK: every member received every datagram, in order\n" :
		    "demo: FAILED\n");
	return !ok;
}
