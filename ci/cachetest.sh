#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A test of the harness's build cache, and the measurement of README's
# edit-to-result budgets: follow README's "Changing the series" steps to
# change one line of FILE (folded into the last patch that touches it),
# export the series, run the test command, and check from its output that
# exactly the prefixes whose kernel sources contain the change were built
# again (a selftest or documentation file changes no kernel source, so no
# prefix is built). Then the checkout's patches/ and overlay are restored.
#   cachetest.sh [FILE]    (default: the first .rs file of the series)
set -uo pipefail
. "$(dirname "$0")/lib.sh"

file=${1:-}
out=$CACHE/cachetest.log
[ -z "$(git -C "$TOP" status --porcelain -- patches net tools)" ] ||
	die "patches/ or the overlay has uncommitted changes; this test restores them"
"$TOP/ci/apply.sh" || die "apply"
mapfile -t PATCHES < <(cd "$TOP/patches" && ls [0-9][0-9][0-9][0-9]-*.patch | grep -v '^0000-')
N=${#PATCHES[@]}
[ -n "$file" ] || file=$(in_root git -C $SRC diff --name-only base series | grep '\.rs$' | head -n1)
# The patch the change is folded into: the last one that touches FILE.
K=
for i in $(seq 1 "$N"); do
	in_root git -C $SRC diff --quiet "series~$((N - i + 1))" "series~$((N - i))" -- "$file" || K=$i
done
[ -n "$K" ] || die "no patch touches $file"
# Whether FILE is read by a kernel build: stated here on its own, as the
# test's expectation, not taken from lib.sh's build_tree_key under test.
case $file in
Documentation/*.rst | tools/testing/selftests/*/* | MAINTAINERS) kernel=0 ;;
*) kernel=1 ;;
esac
case $file in
*.rs) line="// cache test: $(date +%s)" ;;
*.c | *.h) line="/* cache test: $(date +%s) */" ;;
*) line="# cache test: $(date +%s)" ;;
esac
# The test judges what a run rebuilds, so the unchanged series must have
# been checked and its last prefix built: run ci/test.sh first.
for i in $(seq 1 "$N"); do
	[ -f "$CACHE/build-ok-$(build_key uml "series~$((N - i))")" ] ||
		die "prefix $i of the unchanged series was not checked: run ci/test.sh first"
done
for kind in uml debug; do
	[ "$(cat "$ROOT$OUTBASE/$kind.built" 2>/dev/null)" = "$(build_key $kind series)" ] ||
		die "the $kind kernel's O= directory does not hold the unchanged series: run ci/test.sh first"
done
log "changing one line of $file, folded into patch $K"

# Restore the checkout's series, however this ends.
trap 'git -C "$TOP" checkout -q -- patches net tools; git -C "$TOP" clean -q -fd -- patches net tools' EXIT
t0=$(date +%s)
in_root sh -ec "
	cd $SRC
	git checkout -q -B cachetest series
	echo '$line' >>$file
	git -c user.name=ci -c user.email=ci@localhost commit -q -a --fixup=\$(git rev-parse series~$((N - K)))
	GIT_SEQUENCE_EDITOR=: git -c user.name=ci -c user.email=ci@localhost \
		rebase -q -i --autosquash base
" || die "editing the series failed"
"$TOP/ci/export.sh" cachetest || die "export failed"
bash "$TOP/ci/test.sh" >"$out" 2>&1
rc=$?
t1=$(date +%s)

bad=0
for i in $(seq 1 "$N"); do
	l=$(grep -E "^(PASS|FAIL): patches 1-$i build" "$out")
	# The prefix whose build this one shares, if any.
	j=$(printf '%s\n' "$l" | sed -n 's/.*same kernel sources as patches 1-\([0-9]*\).*/\1/p')
	case $l in
	*": built "*) got=built ;;
	*": cached, "*) got=reused ;;
	*) got="?" ;;
	esac
	[ -n "$j" ] && got="same sources as 1-$j"
	want=reused
	[ "$kernel" = 1 ] && [ "$i" -ge "$K" ] && want="built or same sources as a rebuilt one"
	if [ "$want" = reused ]; then
		# Unchanged: cached, or the same sources as an unchanged prefix.
		{ [ "$got" = reused ] || { [ -n "$j" ] && { [ "$kernel" = 0 ] || [ "$j" -lt "$K" ]; }; }; } ||
			{ echo "prefix $i: $got, expected reused"; bad=1; }
	elif [ "$got" != built ]; then
		{ [ -n "$j" ] && [ "$j" -ge "$K" ]; } || { echo "prefix $i: $got, expected built"; bad=1; }
	fi
	echo "prefix $i: $got"
done
tail -n 2 "$out"
echo "cache test: change to $file (patch $K): test command exit $rc, $((t1 - t0)) s from edit to last line"

[ "$rc" = 0 ] && [ "$bad" = 0 ]
