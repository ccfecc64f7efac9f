#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Configure and build the kernel in the source tree's current state.
#
#   build.sh KIND [extra.config...]
#
# KIND is debug (the test kernel: KASAN, lockdep, kmemleak, fault
# injection), bench (no debug options), kcsan (the data-race detector), uml
# (User-Mode Linux, SMP, for the fast first stage of the tests and the
# build of every prefix of the series), umlbench (uml's configuration, for
# the in-kernel microbenchmark's tree: ci/kbench.sh) or umlnomcast (uml
# with CONFIG_UNIX_MULTICAST=n and CONFIG_RUST=n). Each KIND has its own
# persistent O= directory, so rebuilds are incremental, and the kernel's C
# objects go through ccache
# (in $CCACHE, inside the build root), so that switching between trees
# recompiles nothing that was compiled before. Rust objects and host
# programs are not cached: rustc links host Rust programs with HOSTCC,
# which must then be one word.
#
# $OUTBASE/KIND.built records the build key (lib.sh: build_key) of the tree
# the O= directory holds a complete build of; it is removed before a build
# starts and written when one succeeds. $OUTBASE/KIND.clean (written by
# test.sh) says that the build it holds was checked for warnings; any build
# removes it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kind=${1:?usage: build.sh debug|bench|kcsan|uml|umlbench|umlnomcast}
shift
frags="/aum/ci/vm.config /aum/Kconfig.fragment"
arch=x86
target="CLIPPY=1 bzImage"
case $kind in
debug) frags="$frags /aum/ci/debug.config" ;;
bench) frags="$frags /aum/ci/bench.config" ;;
kcsan) frags="$frags /aum/ci/kcsan.config" ;;
# User-Mode Linux builds every prefix of the series; CLIPPY=1 (slower
# Rust builds) only on the debug kernel, which has every Rust file of the
# series: no prefix adds Rust that the series' last commit does not have.
uml) frags="/aum/Kconfig.fragment /aum/ci/uml.config" arch=um target=linux ;;
umlbench)
	frags="/aum/Kconfig.fragment /aum/ci/uml.config"
	arch=um target=linux seed=uml
	;;
umlnomcast)
	frags="/aum/Kconfig.fragment /aum/ci/uml.config /aum/ci/nomcast.config"
	arch=um target=linux seed=uml
	;;
*) die "unknown kernel kind $kind" ;;
esac
for f in "$@"; do frags="$frags /aum/$f"; done

out=$OUTBASE/$kind
# A kind that differs from another in a few options starts, on its first
# build, from a copy of that kind's O= directory: make then rebuilds what
# those options change (the objects that read them, and the Rust crates,
# which see every option), not the whole kernel. Kbuild's paths into O=
# are relative, so the copy is a build of its own.
if [ -n "${seed:-}" ] && ! [ -e "$ROOT$out" ] && [ -f "$ROOT$OUTBASE/$seed/.config" ]; then
	log "starting the $kind kernel's O= directory from a copy of $seed's"
	rm -rf "$ROOT$out.tmp"
	cp -a "$ROOT$OUTBASE/$seed" "$ROOT$out.tmp" && mv "$ROOT$out.tmp" "$ROOT$out"
fi
mkdir -p "$ROOT$out" "$ROOT$CCACHE"
blog=$CACHE/build-$kind.log
if [ $arch = um ]; then
	# User-Mode Linux is built with the host compiler, gcc.
	MAKE="make -C $SRC O=$out ARCH=um CC='ccache gcc' -j$(nproc)"
else
	MAKE="make -C $SRC O=$out LLVM=-$LLVM_VER CC='ccache clang-$LLVM_VER' -j$(nproc)"
fi
key=$(build_key "$kind" HEAD)
[ -z "$(in_root git -C $SRC status --porcelain --ignored)" ] ||
	die "the source tree $SRC has changes that are not committed: its build would not be the build of a commit"
rm -f "$ROOT$out.built" "$ROOT$out.clean"

# What the configuration is made from: allnoconfig, the fragments, the
# tree's Kconfig files and the scripts they call, and the toolchain (Kconfig
# probes the compilers). Configuring costs about 20 s (three make runs, each
# probing the toolchain); an O= directory whose configuration was made from
# the same inputs keeps it.
cfgkey=$({
	echo "$kind $(toolchain)"
	in_root sh -c "cat $frags"
	in_root git -C $SRC ls-tree -r --full-tree HEAD | awk -F'\t' '
		$2 ~ /(^|\/)Kconfig[^\/]*$/ || $2 ~ /^scripts\// { print }'
} | sha256sum | cut -c1-16)
if [ -f "$ROOT$out/.config" ] && [ "$(cat "$ROOT$out/cfg/key" 2>/dev/null)" = "$cfgkey" ]; then
	log "the $kind kernel's configuration was made from the same inputs (key $cfgkey)"
else
	rm -f "$ROOT$out/cfg/key"
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
		echo $cfgkey >$out/cfg/key
	" >"$blog" 2>&1 || fail_log "configure $kind kernel" "$blog"
fi

# Every option the fragments ask for (the last word on a symbol counts, as
# in merge_config.sh) must have survived olddefconfig.
# A symbol that only a later commit of the series defines (such as
# CONFIG_UNIX_MULTICAST in a prefix before its Kconfig patch) cannot be set
# yet; any other option that did not survive is an error.
kdefs() {
	in_root git -C $SRC grep -h -E '^[[:space:]]*(menu)?config [A-Z0-9_]+' "$1" -- '*Kconfig*' |
		awk '{print "CONFIG_" $2}' | sort -u
}
later=
if in_root git -C $SRC rev-parse -q --verify series >/dev/null; then
	later=$(comm -13 <(kdefs HEAD) <(kdefs series) | tr '\n' ' ')
fi
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
later = set(sys.argv[2].split())
for sym, val in want.items():
    if sym not in later and have.get(sym, "n") != val:
        print("%s=%s (got %s)" % (sym, val, have.get(sym, "n")))
' "$ROOT$out/.config" "$later")
if [ -n "$missing" ]; then
	printf 'FAILED stage: configure %s kernel; options not applied:\n%s\n' "$kind" "$missing" >&2
	exit 1
fi

log "building the $kind kernel (log: $blog)"
in_root sh -c "$MAKE $target" >"$blog" 2>&1 || fail_log "build $kind kernel" "$blog" 80
in_root sh -c "$MAKE -s headers" >>"$blog" 2>&1 || fail_log "headers ($kind)" "$blog"
# A build with extra fragments is not the build of its key.
[ $# != 0 ] || echo "$key" >"$ROOT$out.built"
