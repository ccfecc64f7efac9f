#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot a User-Mode Linux kernel (build.sh uml, umlbench or umlnomcast) with
# 2 CPUs (SMP needs seccomp mode) and the build root as its hostfs root,
# and run ci/guest.sh with the given arguments in it. UML runs kernel code at
# native speed, so it boots in seconds; results go to /build/results-KIND.
#   uml.sh KIND TIMEOUT guest.sh-args...
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kind=$1 limit=$2
shift 2
case $kind in
uml | umlbench | umlnomcast) ;;
*) die "not a User-Mode Linux kind: $kind" ;;
esac
RES=/build/results-$kind
results=$ROOT$RES
ulog=$CACHE/boot-$kind.log

rm -rf "$results"
mkdir -p "$results" "$ROOT/build/guest"
cp "$TOP/ci/guest.sh" "$TOP/ci/uml-init.sh" "$ROOT/build/guest/"
echo uml >"$ROOT/build/guest/accel"
echo "$RES" >"$ROOT/build/guest/uml-results"
echo "$*" >"$ROOT/build/guest/uml-args"
log "booting the User-Mode Linux kernel"
set +e
in_root timeout --kill-after=10 "$limit" "$OUTBASE/$kind/linux" mem=2G ncpus=2 seccomp=on log_buf_len=1M \
	rootfstype=hostfs rootflags=/ rw con=null con0=null,fd:1 \
	init=/build/guest/uml-init.sh >"$ulog" 2>&1 </dev/null
rc=$?
set -e
if [ $rc = 124 ] || [ $rc = 137 ]; then
	fail_log "boot User-Mode Linux (timed out after ${limit}s)" "$ulog"
fi
[ -f "$results/complete" ] || fail_log "boot User-Mode Linux (guest did not finish, exit $rc)" "$ulog"
