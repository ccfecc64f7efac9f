#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot the KIND kernel under virtme-ng and run ci/guest.sh with the given
# arguments in it. Uses KVM only where a short probe boot proved it works,
# software emulation otherwise, and says which.
#   boot.sh KIND TIMEOUT guest.sh-args...
# The guest has 2 CPUs and AUM_GUEST_MEMORY (1G: the debug kernel's boot,
# its KASAN shadow and kmemleak's scans take longer the more memory it has;
# the benchmark asks for 2G).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kind=$1 limit=$2
shift 2
out=$OUTBASE/$kind
# Where the guest writes its results (inside ROOT); boots with different
# AUM_RESULTS can run side by side.
RES=${AUM_RESULTS:-/build/results}
results=$ROOT$RES
vlog=$CACHE/boot-$kind${AUM_RESULTS:+-${AUM_RESULTS##*/}}.log

# Probe KVM once per host boot and kernel build.
probe=$CACHE/kvm-probe
key="$(cat /proc/sys/kernel/random/boot_id) $(stat -c %Y "$ROOT$out/arch/x86/boot/bzImage")"
if ! [ -f "$probe" ] || [ "$(head -n1 "$probe")" != "$key" ]; then
	accel=tcg
	if [ -w /dev/kvm ] && in_root timeout 40 vng --run "$out" --cpus 1 --memory 512M \
		--exec 'echo kvm-probe-ok' 2>&1 </dev/null | grep -q kvm-probe-ok; then
		accel=kvm
	fi
	printf '%s\n%s\n' "$key" "$accel" >"$probe"
fi
accel=$(tail -n1 "$probe")
opts=()
[ "$accel" = kvm ] || opts+=(--disable-kvm)
echo "$accel" >"$CACHE/accel"
log "booting the $kind kernel ($( [ "$accel" = kvm ] && echo KVM || echo 'software emulation, no KVM'))"

rm -rf "$results"
mkdir -p "$results" "$ROOT/build/guest"
cp "$TOP/ci/guest.sh" "$ROOT/build/guest/guest.sh"
echo "$accel" >"$ROOT/build/guest/accel"
set +e
# The programs go in a file: virtme-ng passes the command on the kernel's
# command line, whose 2048 bytes a long list would overflow (virtme-init
# then finds no command and waits at a shell).
echo "$*" >"$ROOT/build/guest/args-$kind"
in_root timeout --kill-after=30 "$limit" vng --run "$out" "${opts[@]}" --cpus 2 --memory "${AUM_GUEST_MEMORY:-1G}" \
	--rwdir $RES --append "panic_on_warn=0 oops=panic" \
	--exec "AUM_RESULTS=$RES sh /build/guest/guest.sh \$(cat /build/guest/args-$kind)" >"$vlog" 2>&1 </dev/null
rc=$?
set -e
if [ $rc = 124 ] || [ $rc = 137 ]; then
	fail_log "boot $kind kernel (timed out after ${limit}s)" "$vlog"
fi
[ -f "$results/complete" ] || fail_log "boot $kind kernel (guest did not finish, exit $rc)" "$vlog"
