// SPDX-License-Identifier: GPL-2.0
/*
 * The uapi of AF_UNIX multicast groups (v2 contract):
 *
 *   New header <linux/unix_mcast.h>. It compiles together with
 *   <sys/socket.h> and <sys/un.h>. <linux/un.h> no longer defines struct
 *   unix_mreq, SOL_UNIX or the options.
 *
 * This file includes <sys/socket.h>, <sys/un.h> and <linux/unix_mcast.h> in
 * that order; mcast_uapi_order.c, linked in, includes <linux/unix_mcast.h>
 * first. Both check the layout of struct unix_mreq at compile time. At run
 * time one test joins an abstract group with both forms of the option
 * value: "optlen == sizeof(struct unix_mreq): the mreq form. Any other
 * optlen <= 110: a plain struct sockaddr_un of optlen bytes (2003 form)."
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <linux/unix_mcast.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mcast_uapi.h"
#include "kselftest_harness.h"

TEST(join_both_forms)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int plain, mreq_form, other_tu, s, n, i, fds[3];
	struct unix_mreq mreq, mreq2;
	socklen_t len;
	char buf[8];

	/* A fresh abstract name. */
	n = snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "mcast-uapi-%d",
		     getpid());
	len = offsetof(struct sockaddr_un, sun_path) + 1 + n;
	plain = socket(AF_UNIX, SOCK_DGRAM, 0);
	mreq_form = socket(AF_UNIX, SOCK_DGRAM, 0);
	other_tu = socket(AF_UNIX, SOCK_DGRAM, 0);
	s = socket(AF_UNIX, SOCK_DGRAM, 0);
	ASSERT_LE(0, plain);
	ASSERT_LE(0, mreq_form);
	ASSERT_LE(0, other_tu);
	ASSERT_LE(0, s);

	/* The 2003 form: a plain struct sockaddr_un, as for bind(). */
	ASSERT_EQ(0, setsockopt(plain, SOL_UNIX, UNIX_ADD_MEMBERSHIP, &a, len));
	/* The mreq form, filled as the contract says. */
	memset(&mreq, 0, sizeof(mreq));
	memcpy(&mreq.umr_family, &a, len);
	mreq.umr_addrlen = len;
	mreq.umr_flags = 0;
	ASSERT_EQ(0, setsockopt(mreq_form, SOL_UNIX, UNIX_ADD_MEMBERSHIP,
				&mreq, sizeof(mreq)));
	/* The mreq form as the other translation unit fills it. */
	ASSERT_EQ(sizeof(mreq2), mcast_uapi_order_mreq(&mreq2, &a, len));
	ASSERT_EQ(0, memcmp(&mreq, &mreq2, sizeof(mreq)));
	ASSERT_EQ(0, setsockopt(other_tu, SOL_UNIX, UNIX_ADD_MEMBERSHIP,
				&mreq2, sizeof(mreq2)));

	/* One group: a datagram reaches the three. */
	ASSERT_EQ(1, sendto(s, "u", 1, 0, (struct sockaddr *)&a, len));
	fds[0] = plain;
	fds[1] = mreq_form;
	fds[2] = other_tu;
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(1, recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT));
		ASSERT_EQ('u', buf[0]);
	}
	/* Both forms leave too. */
	ASSERT_EQ(0, setsockopt(plain, SOL_UNIX, UNIX_DROP_MEMBERSHIP, &a,
				len));
	ASSERT_EQ(0, setsockopt(mreq_form, SOL_UNIX, UNIX_DROP_MEMBERSHIP,
				&mreq, sizeof(mreq)));
	ASSERT_EQ(1, sendto(s, "v", 1, 0, (struct sockaddr *)&a, len));
	ASSERT_EQ(-1, recv(plain, buf, sizeof(buf), MSG_DONTWAIT));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(-1, recv(mreq_form, buf, sizeof(buf), MSG_DONTWAIT));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(1, recv(other_tu, buf, sizeof(buf), MSG_DONTWAIT));
	close(plain);
	close(mreq_form);
	close(other_tu);
	close(s);
}

TEST_HARNESS_MAIN
