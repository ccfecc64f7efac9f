#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The test command: everything CI checks, from a fresh machine or with the
# caches of an earlier run. Ends with "N passed, N failed[, N skipped]" and
# exits non-zero if anything failed.
#   AUM_STRESS_SECONDS=N  how long the stress test runs (60)
#   AUM_FUZZ_SEEDS=N      how many seeds the fuzzer runs (20)
set -uo pipefail
. "$(dirname "$0")/lib.sh"

PASS=0 FAIL=0 SKIP=0
T0=$(date +%s)
summary() {
	local s="$PASS passed, $FAIL failed"

	[ "$SKIP" = 0 ] || s="$s, $SKIP skipped"
	echo "total time: $(($(date +%s) - T0)) s"
	echo "$s"
	[ "$FAIL" = 0 ]
	exit $?
}
result() {
	case $1 in
	pass) PASS=$((PASS + 1)); echo "PASS: $2" ;;
	fail) FAIL=$((FAIL + 1)); echo "FAIL: $2" ;;
	skip) SKIP=$((SKIP + 1)); echo "SKIP: $2" ;;
	esac
}
# stage NAME CMD...: one counted check; its output is shown if it fails.
stage() {
	local name=$1 out t=$(date +%s)

	shift
	out=$("$@" 2>&1)
	if [ $? = 0 ]; then
		result pass "$name ($(($(date +%s) - t)) s)"
		return 0
	fi
	result fail "$name"
	printf '%s\n' "$out" | tail -n 80 | sed 's/^/    /'
	return 1
}
fatal() { stage "$@" || summary; }

fatal "build root (Debian 13, libclang $LLVM_VER)" "$TOP/ci/buildroot.sh"
fatal "base kernel source $BASE_PKG $BASE_VERSION" "$TOP/ci/srctree.sh"
fatal "series applies with git am; overlay files match" "$TOP/ci/apply.sh"

mapfile -t PATCHES < <(cd "$TOP/patches" && ls [0-9][0-9][0-9][0-9]-*.patch | grep -v '^0000-')
N=${#PATCHES[@]}

# Whether every file patch $1 adds is under an F: line of the series'
# MAINTAINERS entry in commit $2 (the tree after that patch).
maintained() {
	local f entry

	entry=$(in_root git -C $SRC show "$2:MAINTAINERS" |
		sed -n '/^NETWORKING \[UNIX SOCKETS MULTICAST\]$/,/^$/s/^F:\t//p')
	for f in $(awk '/^diff --git /{f = substr($4, 3)} /^new file mode/{print f}' "$TOP/patches/$1"); do
		printf '%s\n' "$entry" | awk -v f="$f" '$0 != "" && index(f, $0) == 1 {ok = 1} END {exit !ok}' ||
			{ echo "$f: no MAINTAINERS entry of the series covers it"; return 1; }
	done
}
checkpatch() {
	local out ign=

	# checkpatch asks "does MAINTAINERS need updating?" for every patch
	# that adds a file without touching MAINTAINERS, even when the entry
	# the series added already covers the file; that is checked here.
	if ! grep -q '^ MAINTAINERS ' "$TOP/patches/$1"; then
		maintained "$1" "$2" || return 1
		ign=--ignore=FILE_PATH_CHANGES
	fi
	out=$(in_root sh -c "cd $SRC && perl scripts/checkpatch.pl --strict $ign --showfile /aum/patches/$1")
	printf '%s\n' "$out"
	printf '%s\n' "$out" | grep -q '^total: 0 errors, 0 warnings, 0 checks'
}
for i in $(seq 0 $((N - 1))); do
	stage "checkpatch --strict ${PATCHES[$i]}" checkpatch "${PATCHES[$i]}" "series~$((N - 1 - i))"
done

# Files the series touches; a warning in any of them fails the build check.
TOUCHED=$(in_root git -C $SRC diff --name-only base series | tr '\n' ' ')
no_new_warnings() {
	local log=$1 f bad=0

	for f in $TOUCHED; do
		if grep -E "^($SRC/)?$f:[0-9]+(:[0-9]+)?: (warning|error)|^ *--> ($SRC/)?$f:" "$log"; then
			bad=1
		fi
	done
	return $bad
}
# Recompile the series' own sources in net/unix, so that their warnings are
# seen even when an earlier run built them. (Touching shared files such as
# rust/helpers/helpers.c would rebuild the whole kernel crate.)
touch_series() {
	local f

	for f in $TOUCHED; do
		case $f in net/unix/*.c | net/unix/*.rs) touch "$ROOT$SRC/$f" ;; esac
	done
}
build_checked() {
	touch_series
	"$TOP/ci/build.sh" "$@" && no_new_warnings "$CACHE/build-$1.log"
}

# Every prefix builds (bisectable), with CONFIG_UNIX_MULTICAST=y. A prefix
# is checked again only when it or the configuration changed: its result is
# kept under the hash of exactly what it consists of.
conf=$(cat "$TOP"/Kconfig.fragment "$TOP"/ci/*.config | sha256sum | cut -c1-16)
prefix_key() {
	local i=$1

	{ echo "$conf $BASE_VERSION"; cd "$TOP/patches" && cat "${PATCHES[@]:0:$i}"; } |
		sha256sum | cut -c1-16
}
for i in $(seq 1 "$N"); do
	key=$(prefix_key "$i")
	if [ "$i" -lt "$N" ] && [ -f "$CACHE/prefix-ok-$key" ]; then
		result pass "patches 1-$i build (checked earlier on these exact patches)"
		continue
	fi
	in_root git -C $SRC checkout -q "series~$((N - i))"
	if [ "$i" -lt "$N" ]; then
		stage "patches 1-$i build (CONFIG_UNIX_MULTICAST=y)" build_checked debug &&
			touch "$CACHE/prefix-ok-$key"
	elif stage "patches 1-$N build: debug kernel, CONFIG_UNIX_MULTICAST=y, CLIPPY=1, no warnings" \
		build_checked debug; then
		DEBUG_OK=1
	fi
done
stage "make rustfmtcheck" in_root make -s -C $SRC O=$OUTBASE/debug LLVM=-$LLVM_VER rustfmtcheck
stage "kernel builds with CONFIG_UNIX_MULTICAST=n" build_checked nomcast && NOMCAST_OK=1

# The existing AF_UNIX selftests, run on both kernels (scm_rights_denial_lsm
# needs a BPF LSM toolchain and is left out).
AF_UNIX_PROGS="diag_uid msg_oob scm_inq scm_pidfd scm_rights so_peek_off unix_connect unix_connreset unix_listen"

# Selftests, built against the series' uapi headers.
selftests() {
	local kind=$1 dst=/build/guest/$1 progs

	progs=$AF_UNIX_PROGS
	in_root sh -ec "
		rm -rf $dst && mkdir -p $dst/mcast $dst/af_unix
		make -s -C $SRC/tools/testing/selftests/af_unix_mcast \
			KHDR_INCLUDES='-isystem $OUTBASE/$kind/usr/include' OUTPUT=$dst/mcast \
			all
		make -s -C $SRC/tools/testing/selftests/net/af_unix \
			KHDR_INCLUDES='-isystem $OUTBASE/$kind/usr/include' OUTPUT=$dst/af_unix \
			TEST_GEN_FILES= TEST_GEN_PROGS='$progs' \
			\$(echo '$progs' | sed 's|\([a-z_]*\)|$dst/af_unix/\1|g')
		cp $SRC/tools/testing/selftests/af_unix_mcast/fault.sh $dst/mcast/
	"
}

# Count a TAP file's results: one per test.
count_tap() {
	local name=$1 file=$2 line n=0

	while IFS= read -r line; do
		case $line in
		"ok "*"# SKIP"*) result skip "$name: ${line#ok }"; n=$((n + 1)) ;;
		"ok "*) result pass "$name: ${line#ok }"; n=$((n + 1)) ;;
		"not ok "*) result fail "$name: ${line#not ok }"; n=$((n + 1)) ;;
		esac
	done < <(grep -E '^(not )?ok [0-9]+ ' "$file")
	if [ $n = 0 ]; then
		result fail "$name: no test result"
		sed 's/^/    /' "$file" | tail -n 40
	fi
	if grep -q '^not ok' "$file"; then
		grep -E '^not ok|^# +(FAIL|.*Expected)|^# .*:[0-9]+:' "$file" | head -n 40 | sed 's/^/    /'
	fi
}

bench_ok() {
	cat "$1"
	grep -q '^mcast_bench exit=0 ' "$2" && ! grep -q FAILED "$1"
}

# Any kernel report fails the run, shown with its context.
REPORTS='WARNING:|BUG:|KASAN|UBSAN|kmemleak|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|Oops|general protection|Kernel panic|list_add corruption|list_del corruption|refcount_t:|INFO: task .* blocked'
kernel_clean() {
	local r=$ROOT/build/results bad=0

	if grep -E "$REPORTS" "$r/dmesg.txt" | grep -v -E 'kmemleak: Kernel memory leak detector|kmemleak: Automatic memory scanning thread'; then
		grep -E -A30 "$REPORTS" "$r/dmesg.txt" | head -n 120
		bad=1
	fi
	if [ -s "$r/kmemleak.txt" ]; then
		head -n 80 "$r/kmemleak.txt"
		bad=1
	fi
	return $bad
}

if [ -n "${DEBUG_OK:-}" ] && stage "build selftests (debug kernel headers)" selftests debug; then
	M=/build/guest/debug/mcast
	# The contract tests, the memory bounds, the fuzzer's fixed seeds, the
	# stress test, and the contract and stress tests under injected
	# allocation failures.
	args="mcast_test=$M/mcast_test mcast_memory=$M/mcast_memory"
	args="$args mcast_fuzz=$M/mcast_fuzz+-n+${AUM_FUZZ_SEEDS:-20}"
	args="$args mcast_stress=$M/mcast_stress+-d+${AUM_STRESS_SECONDS:-60}"
	args="$args fault.mcast_fault=sh+$M/fault.sh+$M/mcast_fault"
	args="$args fault.mcast_stress=sh+$M/fault.sh+$M/mcast_stress+-F+-d+30"
	for p in $AF_UNIX_PROGS; do
		args="$args af_unix.$p=/build/guest/debug/af_unix/$p"
	done
	# The benchmark's quick mode, to prove it works; its numbers are not
	# judged here (ci/bench.sh measures, on a kernel without debug options).
	bench="mcast_bench=/build/guest/debug/mcast/mcast_bench+-q+-n+10"
	if stage "boot debug kernel and run the selftests" "$TOP/ci/boot.sh" debug 3600 $args $bench; then
		R=$ROOT/build/results
		sed 's/^/    /' "$R/guest.txt"
		for spec in $args; do
			count_tap "${spec%%=*}" "$R/${spec%%=*}.tap"
		done
		# The figures: operations sustained, faults injected, sequences
		# fuzzed, memory bounds.
		for f in mcast_stress fault.mcast_stress fault.mcast_fault mcast_fuzz mcast_memory; do
			echo "    $f:"
			grep -E '^#' "$R/$f.tap" | grep -v -E '^# +(RUN|OK|PASSED|FAIL)|^# (FAILED|PASSED|Totals)' |
				head -n 40 | sed 's/^/      /'
		done
		stage "benchmark quick mode: 10 listeners, every mode and size" \
			bench_ok "$R/mcast_bench.tap" "$R/guest.txt"
		# KUnit tests of the Rust core ran at boot.
		count_tap kunit <(sed -n 's/^\[[^]]*\] //p' "$R/dmesg.txt" |
			sed -n '/# Subtest: unix_mcast/,/^ok [0-9]* unix_mcast/p' |
			sed -n 's/^    //p')
		stage "debug kernel silent: no WARNING, BUG, KASAN, lockdep or kmemleak report" kernel_clean
	fi
fi

if [ -n "${NOMCAST_OK:-}" ] && stage "build selftests (CONFIG_UNIX_MULTICAST=n headers)" selftests nomcast; then
	args="nomcast.mcast_disabled=/build/guest/nomcast/mcast/mcast_disabled"
	for p in $AF_UNIX_PROGS; do
		args="$args nomcast.af_unix.$p=/build/guest/nomcast/af_unix/$p"
	done
	if stage "boot CONFIG_UNIX_MULTICAST=n kernel and run the selftests" "$TOP/ci/boot.sh" nomcast 1200 $args; then
		R=$ROOT/build/results
		for spec in $args; do
			count_tap "${spec%%=*}" "$R/${spec%%=*}.tap"
		done
		stage "CONFIG_UNIX_MULTICAST=n kernel silent" kernel_clean
	fi
fi

summary
