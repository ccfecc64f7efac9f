#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Shared settings and helpers for the ci/ scripts. Sourced, not run.

# The one place where the base kernel is pinned.
BASE_PKG=linux-source-7.3
BASE_VERSION=7.3.4-1~bpo13+1
LLVM_VER=21

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Everything cached lives outside the checkout.
CACHE=${AUM_CACHE:-/var/cache/af-unix-mcast}
ROOT=$CACHE/root            # Debian 13 build root (debootstrap)
SRC=/build/linux            # pristine base + series, a git tree (inside ROOT)
OUTBASE=/build/out          # persistent O= build directories (inside ROOT)
CCACHE=/build/ccache        # compiler cache for the C objects (inside ROOT)

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }

# Show the tail of a log file when a stage fails.
fail_log() {
	local stage=$1 file=$2 n=${3:-60}

	printf 'FAILED stage: %s; last lines of %s:\n' "$stage" "$file" >&2
	tail -n "$n" "$file" >&2
	exit 1
}

# The host's Debian mirror, read from its apt sources at run time.
host_mirror() {
	local uri

	uri=$(grep -hE '^[[:space:]]*URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null |
	      awk '{print $2}' | grep -E '/debian/?$' | head -n1)
	if [ -z "$uri" ]; then
		uri=$(grep -hE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list \
		      /etc/apt/sources.list.d/*.list 2>/dev/null |
		      awk '{for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' |
		      grep -E '/debian/?$' | head -n1)
	fi
	[ -n "$uri" ] || die "no Debian mirror found in the host's apt sources"
	echo "${uri%/}"
}

mount_root() {
	local d

	for d in proc sys dev dev/pts; do
		mountpoint -q "$ROOT/$d" && continue
		case $d in
		proc) mount -t proc proc "$ROOT/proc" ;;
		sys) mount --rbind /sys "$ROOT/sys" ;;
		dev) mount --rbind /dev "$ROOT/dev" ;;
		esac
	done
	cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
	# The checkout is visible inside the root as /aum.
	mkdir -p "$ROOT/aum"
	if ! [ "$(stat -c %d:%i "$ROOT/aum")" = "$(stat -c %d:%i "$TOP")" ]; then
		umount "$ROOT/aum" 2>/dev/null || true
		mount --bind "$TOP" "$ROOT/aum"
	fi
}

# Run a command inside the build root with a clean environment. The kernel's
# build identity (timestamp, user, host, build number) is fixed, so that an
# unchanged tree builds byte-identical objects and init/version.c does not
# change with every link.
in_root() {
	mount_root
	chroot "$ROOT" /usr/bin/env -i HOME=/root TERM=dumb \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		LIBCLANG_PATH=/usr/lib/llvm-$LLVM_VER/lib LANG=C.UTF-8 \
		CCACHE_DIR=$CCACHE CCACHE_MAXSIZE=20G \
		CCACHE_SLOPPINESS=include_file_mtime,include_file_ctime \
		KBUILD_BUILD_TIMESTAMP="Thu Jan  1 00:00:00 UTC 2026" \
		KBUILD_BUILD_USER=aum KBUILD_BUILD_HOST=aum KBUILD_BUILD_VERSION=1 \
		"$@"
}

# The identity of what a kernel build of commit $1 reads: the tree of that
# commit without the files no kernel build reads: the .rst documents under
# Documentation/ (its Kconfig and sunrpc/ files are read), the selftests
# but for the headers at their top (lib/ includes kselftest_module.h), and
# MAINTAINERS. Two commits with the same key build the same kernel.
build_tree_key() {
	local list

	list=$(in_root git -C $SRC ls-tree -r --full-tree "$1") && [ -n "$list" ] ||
		die "cannot list the tree of $1"
	printf '%s\n' "$list" | awk -F'\t' '
		$2 ~ /^Documentation\/.*\.rst$/ { next }
		$2 ~ /^tools\/testing\/selftests\// &&
			$2 !~ /^tools\/testing\/selftests\/[^\/]*\.h$/ { next }
		$2 == "MAINTAINERS" { next }
		{ print }' | sha256sum | cut -c1-16
}

# The toolchain's versions, once per process.
toolchain() {
	[ -n "${TOOLCHAIN:-}" ] ||
		TOOLCHAIN=$(in_root dpkg-query -W gcc clang-$LLVM_VER lld-$LLVM_VER \
			llvm-$LLVM_VER rustc bindgen ccache | tr '\n' ' ') ||
		die "cannot read the toolchain's versions"
	echo "$TOOLCHAIN"
}

# The key of a build of KIND from commit $2: the sources it reads, the
# configuration fragments, the toolchain, and the scripts that build it
# (build.sh) and judge it (this file: no_new_warnings).
build_key() {
	local kind=$1 commit=$2 tree

	tree=$(build_tree_key "$commit") && [ ${#tree} = 16 ] || die "no tree key for $commit"
	toolchain >/dev/null
	{
		echo "$kind $BASE_VERSION $tree $TOOLCHAIN"
		cat "$TOP/Kconfig.fragment" "$TOP"/ci/*.config "$TOP/ci/build.sh" "$TOP/ci/lib.sh"
	} | sha256sum | cut -c1-16
}

# Files commit $1 of the series changes (deleted files left out).
touched() { in_root git -C $SRC diff --name-only --diff-filter=d base "$1" | tr '\n' ' '; }

# Whether the build log $1 has a warning or error in a file the source
# tree's HEAD changes.
no_new_warnings() {
	local log=$1 f bad=0

	for f in $(touched HEAD); do
		if grep -E "^($SRC/)?$f:[0-9]+(:[0-9]+)?: (warning|error)|^ *--> ($SRC/)?$f:" "$log"; then
			bad=1
		fi
	done
	return $bad
}
