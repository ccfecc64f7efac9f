#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Where the time of one benchmark cell goes. Boots the benchmark kernel
# (built by ci/bench.sh) and, for each mode, records a system-wide perf
# profile (with call chains) of mcast_bench on one cell, 1000 messages,
# or with "tput" of one unpaced mcast_tput cell, 1000 datagrams: cpu-clock
# sampling, since software emulation has no PMU. Writes, per mode, the
# share of samples per task and the top kernel and user symbols to
# results/profile.txt (results/profile-tput.txt).
#   profile.sh [SIZE] [LISTENERS]         (default: 236 20)
#   profile.sh tput [SIZE] [LISTENERS]    (default: 40036 100)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if [ "${1:-}" = tput ]; then
	size=${2:-40036} n=${3:-100} out=profile-tput bin=mcast_tput
	modes="kernel udp sendmmsg"
	run="/build/guest/bench/$bin"' -r 1 -c 1000 -m $m'" -n $n -s $size"
	rows='^(  [a-z0-9]+ +[0-9]| kernel/)'
else
	size=${1:-236} n=${2:-20} out=profile bin=mcast_bench
	modes="kernel udp sendmmsg userspace"
	run="/build/guest/bench/$bin"' -p -c 1000 -m $m'" -n $n -s $size"
	rows='^(kernel|udp|sendmmsg|userspace) '
fi
[ -x "$ROOT/build/guest/bench/$bin" ] || die "run ci/bench.sh first"
if ! [ -x "$ROOT/usr/bin/perf" ]; then
	log "installing perf into the build root"
	in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		-t trixie-backports linux-perf >"$CACHE/perf-install.log" 2>&1 ||
		fail_log "install linux-perf" "$CACHE/perf-install.log"
fi
cat >"$ROOT/build/guest/profile-guest.sh" <<GUEST
#!/bin/sh
# Runs in the guest: one profile per mode.
for m in $modes; do
	perf record -q -a -g -F 2000 -e cpu-clock -o /tmp/perf-\$m.data -- \\
		$run \\
		>/tmp/bench-\$m.txt 2>&1 || echo "\$m: the benchmark failed"
	echo "=== mode \$m, $size bytes, $n listeners"
	grep -E '$rows' /tmp/bench-\$m.txt
	echo "--- samples per task"
	perf report -q -i /tmp/perf-\$m.data --no-children --sort comm --stdio -g none 2>/dev/null | head -n 6
	perf report -q -i /tmp/perf-\$m.data --no-children --sort sym --stdio -g none \\
		>/tmp/sym-\$m.txt 2>/dev/null
	echo "--- top symbols"
	head -n 20 /tmp/sym-\$m.txt
	echo "--- the series' own functions, unix_mcast_* (self time)"
	grep unix_mcast /tmp/sym-\$m.txt | head -n 10
	echo "--- call chains of the symbols above 5 %, each chain 1 % of all samples or more"
	perf report -q -i /tmp/perf-\$m.data --no-children --sort sym --stdio \\
		--percent-limit 5 -g folded,0,caller 2>/dev/null |
		awk '\$1 ~ /%\$/ && \$1 + 0 >= 1' | grep -v pv_native_safe_halt |
		sed -E 's/^([0-9.]+%) .*entry_SYSCALL_64_after_hwframe;do_syscall_64;x64_sys_call;/\\1 syscall: /' |
		cut -c1-300 | head -n 30
done
GUEST
AUM_RESULTS=/build/results-profile AUM_GUEST_MEMORY=2G "$TOP/ci/boot.sh" bench 1800 \
	"profile=sh+/build/guest/profile-guest.sh"
mkdir -p "$TOP/results"
cp "$ROOT/build/results-profile/profile.tap" "$TOP/results/$out.txt"
cat "$TOP/results/$out.txt"
