#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the guest: the given test programs, then a kmemleak scan and
# the kernel log, all written to /build/results for the host to judge.
#   guest.sh NAME=PROGRAM[+ARG...]...
R=${AUM_RESULTS:-/build/results}
mkdir -p "$R"
cd /tmp || exit 1
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
echo "guest: $(uname -r), $(nproc) CPUs" >"$R/guest.txt"
# How the guest runs, for the benchmark's header.
AUM_ACCEL=$(cat /build/guest/accel 2>/dev/null)
export AUM_ACCEL
for spec in "$@"; do
	name=${spec%%=*}
	# A program's arguments are joined to it with '+'.
	prog=$(echo "${spec#*=}" | tr '+' ' ')
	start=$(date +%s)
	timeout 1800 $prog >"$R/$name.tap" 2>&1
	echo "$name exit=$? seconds=$(($(date +%s) - start))" >>"$R/guest.txt"
done
if [ -w /sys/kernel/debug/kmemleak ]; then
	# An object is reported once it is older than 5 s and found
	# unreferenced; the second scan, for objects that were still changing
	# during the first.
	sleep 6
	echo scan >/sys/kernel/debug/kmemleak
	sleep 2
	echo scan >/sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak >"$R/kmemleak.txt"
fi
dmesg >"$R/dmesg.txt"
echo done >"$R/complete"
