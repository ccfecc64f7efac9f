#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Run a command with allocation failures injected: failslab and
# fail_page_alloc fail PERCENT % of the allocations of the tasks that set
# /proc/thread-self/make-it-fail (the tests set it around the system calls
# under test only). Prints how many failures were injected.
#   fault.sh [-p PERCENT] COMMAND [ARG...]
pct=10
if [ "$1" = -p ]; then
	pct=$2
	shift 2
fi
D=/sys/kernel/debug
mountpoint -q $D || mount -t debugfs none $D
if ! [ -d $D/failslab ] || ! [ -d $D/fail_page_alloc ]; then
	need=CONFIG_FAILSLAB,CONFIG_FAIL_PAGE_ALLOC,CONFIG_FAULT_INJECTION_DEBUG_FS
	echo "not ok 1 fault injection: failslab and fail_page_alloc need $need"
	exit 1
fi
TIMES=1000000000
for f in failslab fail_page_alloc; do
	echo Y >$D/$f/task-filter
	echo N >$D/$f/ignore-gfp-wait
	echo 0 >$D/$f/verbose
	echo 0 >$D/$f/space
	echo 1 >$D/$f/interval
	echo $TIMES >$D/$f/times
	echo "$pct" >$D/$f/probability
done
echo 0 >$D/fail_page_alloc/min-order
echo N >$D/fail_page_alloc/ignore-gfp-highmem

"$@"
rc=$?

total=0
for f in failslab fail_page_alloc; do
	echo 0 >$D/$f/probability
	n=$((TIMES - $(cat $D/$f/times)))
	echo "# $f: $n allocation failures injected"
	total=$((total + n))
	echo 1 >$D/$f/times
done
echo "# faults injected and survived: $total" \
	"($pct % of the allocations in the system calls under test)"
exit $rc
