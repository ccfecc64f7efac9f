#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The demonstration: build the patched kernel, boot it, and show one group
# with three members and a sender at work.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$TOP/ci/buildroot.sh"
"$TOP/ci/srctree.sh"
log "applying patches/ to $BASE_PKG $BASE_VERSION"
"$TOP/ci/apply.sh"
"$TOP/ci/build.sh" debug
grep -x 'CONFIG_UNIX_MULTICAST=y' "$ROOT$OUTBASE/debug/.config"
in_root sh -ec "
	rm -rf /build/guest/demo && mkdir -p /build/guest/demo
	make -s -C $SRC/tools/testing/selftests/af_unix_mcast \
		KHDR_INCLUDES='-isystem $OUTBASE/debug/usr/include' \
		OUTPUT=/build/guest/demo /build/guest/demo/mcast_demo
" || die "cannot build the demonstration program"
"$TOP/ci/boot.sh" debug 900 demo=/build/guest/demo/mcast_demo
R=$ROOT/build/results
sed -n 's/^guest: /kernel: /p' "$R/guest.txt"
cat "$R/demo.tap"
grep -q '^demo: OK' "$R/demo.tap"
