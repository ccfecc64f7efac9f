#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Unpack the pinned base kernel once into a git tree inside the build root.
# Its first commit, tagged "base", is the pristine tree. Trusted only with
# the stamp written at the very end.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

stamp=$ROOT$SRC.ready
[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$BASE_PKG $BASE_VERSION" ] && exit 0

log "unpacking $BASE_PKG $BASE_VERSION into $SRC (once)"
rm -rf "$ROOT$SRC" "$ROOT$SRC-am" "$ROOT$OUTBASE"
mkdir -p "$ROOT$SRC"
slog=$CACHE/srctree.log
in_root sh -ec "
	tar -C $SRC --strip-components=1 -xf /usr/src/$BASE_PKG.tar.xz
	cd $SRC
	git init -q -b master
	git config user.name 'AF_UNIX Multicast Team'
	git config user.email af-unix-mcast@example.org
	git config core.autocrlf false
	git add -f .
	git commit -q -m 'base: $BASE_PKG $BASE_VERSION'
	git tag base
" >"$slog" 2>&1 || fail_log "unpack base kernel" "$slog"
echo "$BASE_PKG $BASE_VERSION" >"$stamp"
