#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The test command: everything CI checks, from a fresh machine or with the
# caches of an earlier run. Ends with "N passed, N failed[, N skipped]" and
# exits non-zero if anything failed.
#   AUM_STRESS_SECONDS=N  how long the stress test runs on User-Mode Linux,
#                         at native speed (20); the debug kernel runs it for
#                         AUM_DEBUG_STRESS_SECONDS (20), and again under
#                         injected allocation failures for half that
#   AUM_FUZZ_SEEDS=N      how many seeds the fuzzer runs on User-Mode Linux
#                         (50); the debug kernel runs AUM_DEBUG_FUZZ_SEEDS (10)
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
	# Its CamelCase cache would make the source tree unclean to build.sh.
	rm -f "$ROOT$SRC"/.checkpatch-camelcase.*
	printf '%s\n' "$out"
	printf '%s\n' "$out" | grep -q '^total: 0 errors, 0 warnings, 0 checks'
}
# checkpatch reads the patch and its own files: a verdict is kept under the
# hash of the patch without the lines that change with every export (the
# commit id and the blob ids), of the series' MAINTAINERS entry at that
# commit, and of checkpatch itself.
checkpatch_key() {
	{
		grep -v -E '^From [0-9a-f]{40} |^index [0-9a-f]+\.\.[0-9a-f]+' "$TOP/patches/$1"
		in_root git -C $SRC show "$2:MAINTAINERS"
		cat "$ROOT$SRC/scripts/checkpatch.pl" "$ROOT$SRC/scripts/spelling.txt" "$TOP/ci/test.sh"
	} | sha256sum | cut -c1-16
}
for i in $(seq 0 $((N - 1))); do
	key=$(checkpatch_key "${PATCHES[$i]}" "series~$((N - 1 - i))")
	if [ -f "$CACHE/checkpatch-ok-$key" ]; then
		result pass "checkpatch --strict ${PATCHES[$i]}: passed earlier on this patch text (key $key)"
	elif stage "checkpatch --strict ${PATCHES[$i]}" checkpatch "${PATCHES[$i]}" "series~$((N - 1 - i))"; then
		touch "$CACHE/checkpatch-ok-$key"
	fi
done

# The existing AF_UNIX selftests, run on both kernels (scm_rights_denial_lsm
# needs a BPF LSM toolchain and is left out).
AF_UNIX_PROGS="diag_uid msg_oob scm_inq scm_pidfd scm_rights so_peek_off unix_connect unix_connreset unix_listen"

# Selftests, built against the series' uapi headers.
selftests() {
	local kind=$1 dst=/build/guest/$1 progs

	progs=$AF_UNIX_PROGS
	in_root sh -ec "
		rm -rf $dst && mkdir -p $dst/mcast $dst/af_unix
		make -s -j$(nproc) -C $SRC/tools/testing/selftests/af_unix_mcast \
			KHDR_INCLUDES='-isystem $OUTBASE/$kind/usr/include' OUTPUT=$dst/mcast \
			all
		make -s -j$(nproc) -C $SRC/tools/testing/selftests/net/af_unix \
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
	grep -q "^$3 exit=0 " "$2" && ! grep -q FAILED "$1"
}

# Any kernel report fails the run, shown with its context.
REPORTS='WARNING:|BUG:|KASAN|UBSAN|kmemleak|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|Oops|general protection|Kernel panic|list_add corruption|list_del corruption|refcount_t:|INFO: task .* blocked'
kernel_clean() {
	local r=${1:-$ROOT/build/results} bad=0

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

# Recompile the series' own sources in net/unix, so that their warnings are
# seen again (ccache replays the warnings of a cached C object). Needed
# only when the O= directory does not hold a build that passed the warning
# check ($OUTBASE/KIND.clean): otherwise make recompiles every file whose
# inputs changed, and the others had no warning. Touching shared files
# such as rust/helpers/helpers.c would rebuild the whole kernel crate.
touch_series() {
	local f

	[ -f "$ROOT$OUTBASE/$1.clean" ] && return 0
	for f in $(touched HEAD); do
		case $f in net/unix/*.c | net/unix/*.rs) touch "$ROOT$SRC/$f" ;; esac
	done
}
# build_checked KIND KEY: build, then check for warnings in the files the
# series changes; the verdict is kept under KEY either way.
build_checked() {
	local kind=$1 key=$2

	touch_series "$kind"
	"$TOP/ci/build.sh" "$kind" || return 1
	if no_new_warnings "$CACHE/build-$kind.log" >"$CACHE/build-bad-$key"; then
		rm -f "$CACHE/build-bad-$key"
		touch "$CACHE/build-ok-$key" "$ROOT$OUTBASE/$kind.clean"
		return 0
	fi
	cat "$CACHE/build-bad-$key"
	return 1
}

# A build is keyed by what it reads (lib.sh: build_key): the tree of the
# commit without the files no kernel build reads, the configuration, the
# toolchain and the scripts that build and judge it. A key checked once is
# not built again (its warnings, if it had any, are shown again), but for
# the kernel that is booted: its O= directory must hold that very build
# ($OUTBASE/KIND.built). Each check says whether it built, and the key.
o_holds() { [ "$(cat "$ROOT$OUTBASE/$1.built" 2>/dev/null)" = "$2" ]; }
# kbuild NAME KIND COMMIT [boot]: the build check of KIND from COMMIT.
kbuild() {
	local name=$1 kind=$2 commit=$3 boot=${4:-} key

	key=$(build_key "$kind" "$commit") || { result fail "$name: no build key"; return 1; }
	if [ -f "$CACHE/build-bad-$key" ]; then
		result fail "$name: warnings, found earlier on this tree (key $key)"
		sed 's/^/    /' "$CACHE/build-bad-$key"
		return 1
	fi
	if [ -f "$CACHE/build-ok-$key" ] && { [ -z "$boot" ] || o_holds "$kind" "$key"; }; then
		result pass "$name: cached, checked earlier on this tree (key $key)"
		return 0
	fi
	in_root git -C $SRC checkout -q "$commit" || { result fail "$name: checkout $commit"; return 1; }
	stage "$name: built (key $key)" build_checked "$kind" "$key"
}

# The fast first stage: User-Mode Linux runs kernel code at native speed,
# so the KUnit tests of the Rust core and the contract selftests fail here
# in seconds, before the emulated boot of the debug kernel. A failure ends
# the run.
# The contract tests, the LSM tests, the stuck-filesystem test and the
# uapi test (which is also the proof that <linux/unix_mcast.h> compiles
# with <sys/socket.h> and <sys/un.h>), and the long runs of the stress test
# and the fuzzer: at native speed they do many times the operations the
# emulated debug kernel can in the same time; the debug kernel runs them
# again, shorter, for its detectors.
UML_PROGS="mcast_test mcast_lsm mcast_fuse mcast_uapi mcast_memory mcast_fuzz mcast_stress"
STRESS_S=${AUM_STRESS_SECONDS:-20} FUZZ_N=${AUM_FUZZ_SEEDS:-50}
DSTRESS_S=${AUM_DEBUG_STRESS_SECONDS:-20} DFUZZ_N=${AUM_DEBUG_FUZZ_SEEDS:-10}
# The memory bounds (mcast_memory: thousands of sockets, 32769 for the
# group-size limit) run here only: seconds at native speed, two minutes
# under emulation, and they judge accounting, which needs no detector.
# Each program's arguments there (NAME=PROGRAM[+ARG...], as guest.sh takes
# them).
uml_spec() {
	case $1 in
	mcast_fuzz) printf 'uml.%s=/build/guest/uml/%s+-n+%s ' $1 $1 "$FUZZ_N" ;;
	mcast_stress) printf 'uml.%s=/build/guest/uml/%s+-d+%s ' $1 $1 "$STRESS_S" ;;
	*) printf 'uml.%s=/build/guest/uml/%s ' $1 $1 ;;
	esac
}
# The figures of a stress or fuzzer run: operations sustained, faults
# injected, sequences fuzzed, memory bounds.
figures() {
	local f

	for f in "$@"; do
		echo "    $f:"
		grep -E '^#' "$R/$f.tap" | grep -v -E '^# +(RUN|OK|PASSED|FAIL)|^# (FAILED|PASSED|Totals)' |
			head -n 40 | sed 's/^/      /'
	done
}
uml_selftests() {
	local dst=/build/guest/uml

	in_root sh -ec "
		rm -rf $dst && mkdir -p $dst
		make -s -j$(nproc) -C $SRC/tools/testing/selftests/af_unix_mcast \
			KHDR_INCLUDES='-isystem $OUTBASE/uml/usr/include' OUTPUT=$dst \
			\$(echo '$UML_PROGS' | sed 's|\([a-z_]*\)|$dst/\1|g')
	"
}
# The KUnit results of the Rust core, from a kernel log.
kunit_tap() {
	sed -n 's/^\[[^]]*\] //p' "$1" |
		sed -n '/# Subtest: unix_mcast/,/^ok [0-9]* unix_mcast/p' |
		sed -n 's/^    //p'
}
TIP=$(in_root git -C $SRC rev-parse series) || { result fail "no branch series"; summary; }
# Every prefix builds (bisectable), with CONFIG_UNIX_MULTICAST=y and
# no warnings, as User-Mode Linux: one O= directory, the prefixes in order,
# so that each build is an increment on the one before, and the last is
# the kernel the first stage boots. Prefixes with the same key (the
# selftest and documentation patches change no kernel source) are built
# once; a prefix whose key was checked before is not built again.
declare -A SAME
for i in $(seq 1 "$N"); do
	commit=$(in_root git -C $SRC rev-parse "series~$((N - i))") || { result fail "no commit series~$((N - i))"; summary; }
	key=$(build_key uml "$commit")
	name="patches 1-$i build (User-Mode Linux, CONFIG_UNIX_MULTICAST=y, no warnings)"
	if [ -n "${SAME[$key]:-}" ] && { [ "$i" -lt "$N" ] || o_holds uml "$key"; }; then
		result pass "$name: same kernel sources as patches 1-${SAME[$key]} (key $key)"
		continue
	fi
	kbuild "$name" uml "$commit" "$([ "$i" = "$N" ] && echo boot)" && SAME[$key]=$i
done
# The last prefix is the series' last commit: $key is its key.
[ -n "${SAME[$key]:-}" ] || summary
fatal "source tree back at the series' last commit" in_root git -C $SRC checkout -q series
fatal "build selftests (User-Mode Linux headers)" uml_selftests
fatal "boot User-Mode Linux and run KUnit and the contract selftests" \
	"$TOP/ci/uml.sh" uml 600 $(for p in $UML_PROGS; do uml_spec $p; done)
R=$ROOT/build/results-uml
F0=$FAIL
sed 's/^/    /' "$R/guest.txt"
kunit_tap "$R/dmesg.txt" >"$R/kunit.tap"
count_tap uml.kunit "$R/kunit.tap"
for p in $UML_PROGS; do
	count_tap uml.$p "$R/uml.$p.tap"
done
figures uml.mcast_stress uml.mcast_fuzz uml.mcast_memory
fatal "User-Mode Linux kernel silent: no WARNING or BUG report" kernel_clean "$R"
[ "$FAIL" = "$F0" ] || summary

# The kernel without the feature, as User-Mode Linux (a few minutes to build
# from a copy of the uml O= directory, seconds to boot): mcast_disabled and
# the AF_UNIX selftests (the debug kernel runs those too, with the series).
kbuild "kernel builds with CONFIG_UNIX_MULTICAST=n (User-Mode Linux)" umlnomcast "$TIP" boot && NOMCAST_OK=1
fatal "source tree back at the series' last commit" in_root git -C $SRC checkout -q series
if [ -n "${NOMCAST_OK:-}" ] && stage "build selftests (CONFIG_UNIX_MULTICAST=n headers)" selftests umlnomcast; then
	args="nomcast.mcast_disabled=/build/guest/umlnomcast/mcast/mcast_disabled"
	for p in $AF_UNIX_PROGS; do
		args="$args nomcast.af_unix.$p=/build/guest/umlnomcast/af_unix/$p"
	done
	if stage "boot CONFIG_UNIX_MULTICAST=n kernel (User-Mode Linux) and run the selftests" \
		"$TOP/ci/uml.sh" umlnomcast 600 $args; then
		R=$ROOT/build/results-umlnomcast
		for spec in $args; do
			count_tap "${spec%%=*}" "$R/${spec%%=*}.tap"
		done
		stage "CONFIG_UNIX_MULTICAST=n kernel silent" kernel_clean "$R"
	fi
fi

# The in-kernel microbenchmark's quick mode (User-Mode Linux, the series
# with the benchmark's patch), to prove that it builds, runs and delivers
# exactly one datagram to every member of every send; its figures are not
# judged here (ci/kbench.sh measures).
if stage "in-kernel microbenchmark quick mode (User-Mode Linux, ci/kbench.sh -q)" "$TOP/ci/kbench.sh" -q; then
	stage "microbenchmark kernel silent: no WARNING or BUG report" kernel_clean "$ROOT/build/results-umlbench"
fi
fatal "source tree back at the series' last commit" in_root git -C $SRC checkout -q series

# The debug kernel: the whole series, for the emulated boot that is the
# final word (KASAN, lockdep, kmemleak, fault injection).
kbuild "debug kernel build (patches 1-$N, CONFIG_UNIX_MULTICAST=y, CLIPPY=1, no warnings)" debug "$TIP" boot &&
	DEBUG_OK=1
fatal "source tree back at the series' last commit" in_root git -C $SRC checkout -q series
stage "make rustfmtcheck" in_root make -s -C $SRC O=$OUTBASE/debug LLVM=-$LLVM_VER rustfmtcheck

if [ -n "${DEBUG_OK:-}" ] && stage "build selftests (debug kernel headers)" selftests debug; then
	M=/build/guest/debug/mcast
	# The contract tests, the fuzzer's fixed seeds, the
	# stress test, and the contract and stress tests under injected
	# allocation failures.
	args="mcast_test=$M/mcast_test mcast_lsm=$M/mcast_lsm mcast_fuse=$M/mcast_fuse"
	args="$args mcast_uapi=$M/mcast_uapi"
	args="$args mcast_fuzz=$M/mcast_fuzz+-n+$DFUZZ_N"
	args="$args mcast_stress=$M/mcast_stress+-d+$DSTRESS_S"
	args="$args fault.mcast_fault=sh+$M/fault.sh+$M/mcast_fault"
	args="$args fault.mcast_stress=sh+$M/fault.sh+$M/mcast_stress+-F+-d+$((DSTRESS_S / 2))"
	for p in $AF_UNIX_PROGS; do
		args="$args af_unix.$p=/build/guest/debug/af_unix/$p"
	done
	# The benchmark's quick mode, to prove it works; its numbers are not
	# judged here (ci/bench.sh measures, on a kernel without debug options).
	bench="mcast_bench=/build/guest/debug/mcast/mcast_bench+-q+-n+10+-m+all"
	bench="$bench mcast_tput=/build/guest/debug/mcast/mcast_tput+-q+-n+10"
	if stage "boot debug kernel and run the selftests" "$TOP/ci/boot.sh" debug 3600 $args $bench; then
		R=$ROOT/build/results
		sed 's/^/    /' "$R/guest.txt"
		for spec in $args; do
			count_tap "${spec%%=*}" "$R/${spec%%=*}.tap"
		done
		figures mcast_stress fault.mcast_stress fault.mcast_fault mcast_fuzz
		stage "benchmark quick mode: 10 listeners, every mode and size" \
			bench_ok "$R/mcast_bench.tap" "$R/guest.txt" mcast_bench
		stage "unpaced throughput quick mode: 10 listeners, every mode and size" \
			bench_ok "$R/mcast_tput.tap" "$R/guest.txt" mcast_tput
		# KUnit tests of the Rust core ran at boot.
		kunit_tap "$R/dmesg.txt" >"$R/kunit.tap"
		count_tap kunit "$R/kunit.tap"
		stage "debug kernel silent: no WARNING, BUG, KASAN, lockdep or kmemleak report" kernel_clean
	fi
fi

summary
