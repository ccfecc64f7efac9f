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

# Run a command inside the build root with a clean environment.
in_root() {
	mount_root
	chroot "$ROOT" /usr/bin/env -i HOME=/root TERM=dumb \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		LIBCLANG_PATH=/usr/lib/llvm-$LLVM_VER/lib LANG=C.UTF-8 \
		"$@"
}
