#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Configure and build the kernel in the source tree's current state.
#
#   build.sh KIND [extra.config...]
#
# KIND is debug (the test kernel: KASAN, lockdep, kmemleak, fault
# injection), nomcast (no debug options, CONFIG_UNIX_MULTICAST=n), bench (no
# debug options) or kcsan (the data-race detector). Each KIND
# has its own persistent O= directory, so rebuilds are incremental.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kind=${1:?usage: build.sh debug|nomcast|bench|kcsan}
shift
frags="/aum/ci/vm.config /aum/Kconfig.fragment"
case $kind in
debug) frags="$frags /aum/ci/debug.config" ;;
nomcast) frags="$frags /aum/ci/nomcast.config" ;;
bench) frags="$frags /aum/ci/bench.config" ;;
kcsan) frags="$frags /aum/ci/kcsan.config" ;;
*) die "unknown kernel kind $kind" ;;
esac
for f in "$@"; do frags="$frags /aum/$f"; done

out=$OUTBASE/$kind
mkdir -p "$ROOT$out"
blog=$CACHE/build-$kind.log
MAKE="make -C $SRC O=$out LLVM=-$LLVM_VER -j$(nproc)"

log "configuring the $kind kernel"
# The fresh config replaces .config only if it differs, so that an
# unchanged config does not cause a rebuild.
in_root sh -ec "
	mkdir -p $out/cfg
	$MAKE -s KCONFIG_CONFIG=cfg/new allnoconfig
	cd $SRC
	scripts/kconfig/merge_config.sh -m -O $out $out/cfg/new $frags
	mv $out/.config $out/cfg/new
	$MAKE -s KCONFIG_CONFIG=cfg/new olddefconfig
	cmp -s $out/cfg/new $out/.config || cp $out/cfg/new $out/.config
" >"$blog" 2>&1 || fail_log "configure $kind kernel" "$blog"

# Every option the fragments ask for (the last word on a symbol counts, as
# in merge_config.sh) must have survived olddefconfig.
missing=$(in_root sh -c "cat $frags" | python3 -c '
import re, sys
want = {}
for line in sys.stdin:
    m = re.match(r"(CONFIG_[A-Z0-9_]+)=(.*)", line.strip())
    n = re.match(r"# (CONFIG_[A-Z0-9_]+) is not set", line.strip())
    if m:
        want[m.group(1)] = m.group(2)
    elif n:
        want[n.group(1)] = "n"
have = {}
for line in open(sys.argv[1]):
    m = re.match(r"(CONFIG_[A-Z0-9_]+)=(.*)", line.strip())
    if m:
        have[m.group(1)] = m.group(2)
for sym, val in want.items():
    if have.get(sym, "n") != val:
        print("%s=%s (got %s)" % (sym, val, have.get(sym, "n")))
' "$ROOT$out/.config")
if [ -n "$missing" ]; then
	printf 'FAILED stage: configure %s kernel; options not applied:\n%s\n' "$kind" "$missing" >&2
	exit 1
fi

log "building the $kind kernel (log: $blog)"
in_root $MAKE CLIPPY=1 bzImage >"$blog" 2>&1 || fail_log "build $kind kernel" "$blog" 80
in_root $MAKE -s headers >>"$blog" 2>&1 || fail_log "headers ($kind)" "$blog"
