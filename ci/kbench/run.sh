#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs in the User-Mode Linux benchmark guest (ci/kbench.sh): sets the
# microbenchmark's parameters (NAME=VALUE arguments) and runs it; its
# results go to the kernel log, which guest.sh saves.
P=/sys/module/unix_mcast_kbench/parameters
# Every cell makes a group, whose socket's last fput() runs only when the
# write below returns: with more runs or member counts than the defaults
# (336 groups), more than the 1024 a user may have by default.
echo 1048576 >/proc/sys/user/max_unix_mcast_groups || exit 1
for a in "$@"; do
	echo "${a#*=}" >"$P/${a%%=*}" || exit 1
done
echo 1 >"$P/run"
