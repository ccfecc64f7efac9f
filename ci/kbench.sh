#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The send path at native speed: the in-kernel microbenchmark
# (ci/kbench/unix_mcast_kbench.c, with ci/kbench/hold-time.patch, neither
# for merging) built into a User-Mode Linux kernel of the series (2 CPUs,
# seccomp mode), run in one boot; writes results/kbench.txt, .csv, .png.
#   kbench.sh [-q] [PARAM=VALUE...]   (-q: 2 runs of 21 sends per cell;
#   PARAMs: ns, sizes, runs, reps, warm, conc_n, conc_msgs, as in
#   unix_mcast_kbench.c)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

params=
if [ "${1:-}" = -q ]; then
	params="+runs=2+reps=21"
	shift
fi
for a in "$@"; do params="$params+$a"; done
"$TOP/ci/buildroot.sh"
"$TOP/ci/srctree.sh"
"$TOP/ci/apply.sh"
# The benchmark's tree: the series, the hold-time counters and the
# benchmark, on a branch of its own; the source tree goes back to the
# series afterwards.
trap 'in_root git -C $SRC checkout -q series' EXIT
klog=$CACHE/kbench-tree.log
in_root sh -ec "
	cd $SRC
	git am --abort >/dev/null 2>&1 || true
	git checkout -q -f -B umlbench series
	git -c user.name=ci -c user.email=ci@localhost am -q /aum/ci/kbench/hold-time.patch ||
		{ git am --abort; exit 1; }
	cp /aum/ci/kbench/unix_mcast_kbench.c net/unix/
	echo 'obj-\$(CONFIG_UNIX_MULTICAST) += unix_mcast_kbench.o' >>net/unix/Makefile
	git add -f net/unix
	git -c user.name=ci -c user.email=ci@localhost commit -q -m 'kbench: the microbenchmark (not for merging)'
" >"$klog" 2>&1 || fail_log "the benchmark's tree" "$klog"
"$TOP/ci/build.sh" umlbench
in_root git -C $SRC checkout -q series
cp "$TOP/ci/kbench/run.sh" "$ROOT/build/guest/kbench-run.sh"
"$TOP/ci/uml.sh" umlbench 3600 "kbench=sh+/build/guest/kbench-run.sh$params"
R=$ROOT/build/results-umlbench
grep -q '^kbench exit=0 ' "$R/guest.txt" || fail_log "microbenchmark" "$R/kbench.tap"
mkdir -p "$TOP/results"
python3 "$TOP/ci/kbench/analyse.py" "$R/dmesg.txt" "$R" || fail_log "microbenchmark results" "$R/dmesg.txt"
in_root sh -c 'cd /build/results-umlbench && gnuplot kbench.gp' || die "gnuplot failed"
cp "$R/kbench.csv" "$R/kbench-conc.csv" "$R/kbench.txt" "$R/kbench.png" "$TOP/results/"
log "results in $TOP/results/: kbench.txt, kbench.csv, kbench-conc.csv, kbench.png"
