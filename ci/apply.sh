#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Reset the source tree to the pinned base and apply patches/ with git am
# onto branch "series"; then check that the overlay files of this checkout
# (net/unix/rust/, tools/testing/selftests/af_unix_mcast/) are exactly what
# the series produces.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

alog=$CACHE/apply.log
mapfile -t patches < <(cd "$TOP/patches" && ls [0-9][0-9][0-9][0-9]-*.patch | grep -v '^0000-')
[ ${#patches[@]} -gt 0 ] || die "no patches in patches/"

# The branch is kept while the patches are the same bytes. Otherwise git am
# runs in a scratch worktree ($SRC-am), never in the tree that is built;
# the built tree then moves to the new commits with one checkout, which
# rewrites only the files whose content changed, so that make and ccache
# see only the real changes (a file rewritten with the same content would
# still rebuild everything that includes it).
key=$(cd "$TOP/patches" && cat "${patches[@]}" | sha256sum | cut -c1-16)
stamp=$ROOT$SRC.applied
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ] &&
   in_root sh -ec "cd $SRC && git rev-parse -q --verify series >/dev/null &&
		   git checkout -q series && test -z \"\$(git status --porcelain)\"" >"$alog" 2>&1; then
	log "patches/ applied earlier with git am: same patches, branch series kept"
else
rm -f "$stamp"
in_root sh -ec "
	cd $SRC
	git am --abort >/dev/null 2>&1 || true
	git worktree prune
	[ -d $SRC-am ] || git worktree add -q --detach $SRC-am base
	cd $SRC-am
	git am --abort >/dev/null 2>&1 || true
	git checkout -q -f --detach base
	git clean -q -ffdx
	for p in ${patches[*]}; do
		git -c user.name=ci -c user.email=ci@localhost am -q --keep-cr /aum/patches/\$p
	done
	tip=\$(git rev-parse HEAD)
	cd $SRC
	git checkout -q -f -B series \$tip
	git clean -q -ffdx
" >"$alog" 2>&1 || fail_log "git am patches/ onto $BASE_PKG $BASE_VERSION" "$alog"
echo "$key" >"$stamp"
fi

# The overlay and the series must agree byte for byte, both ways.
bad=0
for dir in net/unix/rust tools/testing/selftests/af_unix_mcast; do
	if ! diff -r "$TOP/$dir" "$ROOT$SRC/$dir" >>"$alog" 2>&1; then
		bad=1
	fi
done
[ $bad = 0 ] || fail_log "overlay files differ from the series" "$alog" 30
exit 0
