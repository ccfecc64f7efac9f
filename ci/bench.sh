#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The benchmark: first the in-kernel microbenchmark at native speed
# (ci/kbench.sh, User-Mode Linux); then build the patched kernel without
# debug options (with Landlock), boot it (software emulation), run
# mcast_bench's full table five times, interleaved, with and without
# Landlock on the path, and mcast_tput (or, with -q, each in its quick
# mode, the table once) and copy the tables, the CSVs and the plots to
# results/ in the checkout.
#   bench.sh [-q]
set -euo pipefail
. "$(dirname "$0")/lib.sh"

args=-p+-r+5+-m+all targs=
case ${1:-} in
-q) args="-p+-q+-m+all" targs=+-q ;;
"") ;;
*) die "usage: bench.sh [-q]" ;;
esac
"$TOP/ci/kbench.sh" ${1:+"$1"}
"$TOP/ci/build.sh" bench
in_root sh -ec "
	rm -rf /build/guest/bench && mkdir -p /build/guest/bench
	make -s -C $SRC/tools/testing/selftests/af_unix_mcast \
		KHDR_INCLUDES='-isystem $OUTBASE/bench/usr/include' \
		OUTPUT=/build/guest/bench /build/guest/bench/mcast_bench \
		/build/guest/bench/mcast_tput
" || die "cannot build mcast_bench and mcast_tput"
AUM_GUEST_MEMORY=2G "$TOP/ci/boot.sh" bench 3600 \
	"bench=/build/guest/bench/mcast_bench+$args+-o+/build/results" \
	"tput=/build/guest/bench/mcast_tput$targs+-o+/build/results"
R=$ROOT/build/results
grep -q '^bench exit=0' "$R/guest.txt" || fail_log "benchmark" "$R/bench.tap"
grep -q '^tput exit=0' "$R/guest.txt" || fail_log "throughput benchmark" "$R/tput.tap"
in_root gnuplot /build/results/bench.gp || die "gnuplot failed"
mkdir -p "$TOP/results"
cp "$R/bench.csv" "$R/bench.txt" "$R/bench.png" "$R/tput.csv" "$R/tput.txt" "$TOP/results/"
cat "$R/bench.txt" "$R/tput.txt"
log "results in $TOP/results/: bench.txt, bench.csv, bench.png, tput.txt, tput.csv"
