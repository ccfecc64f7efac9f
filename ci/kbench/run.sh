#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs in the User-Mode Linux benchmark guest (ci/kbench.sh): sets the
# microbenchmark's parameters (NAME=VALUE arguments) and runs it; its
# results go to the kernel log, which guest.sh saves.
P=/sys/module/unix_mcast_kbench/parameters
# Two groups per cell, whose sockets' last fput() runs when the write
# below returns: more than the 1024 groups a user may have by default.
echo 1048576 >/proc/sys/user/max_unix_mcast_groups || exit 1
for a in "$@"; do
	echo "${a#*=}" >"$P/${a%%=*}" || exit 1
done
echo 1 >"$P/run"
