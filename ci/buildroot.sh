#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Create (once) the Debian 13 build root that builds and boots the kernel.
# A root is trusted only once it carries the stamp written at the very end,
# so an interrupted run is redone from scratch.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PKGS="build-essential flex bison bc libelf-dev libssl-dev cpio kmod python3
git perl rustc rust-src rustfmt rust-clippy bindgen libclang-$LLVM_VER-dev
llvm-$LLVM_VER clang-$LLVM_VER lld-$LLVM_VER qemu-system-x86 virtme-ng udev systemd-sysv busybox-static
iproute2 procps gnuplot-nox sudo python3-ply python3-git ccache"
STAMP_VER=4

# The guest boots this root under virtme-ng, whose init waits for udev's
# coldplug; under software emulation the stock udev rules cost about 12 s of
# every boot. The guest needs only the default rules (device node modes, and
# the /dev/virtio-ports links virtme-init looks for): mask the others.
# (Diverting systemd-tmpfiles away, to save another 10 s, made the debug
# kernel's guest hang before its script started: an earlier root version
# did that, and this one undoes it.)
guest_trim() {
	local f

	mkdir -p "$ROOT/etc/udev/rules.d"
	for f in "$ROOT"/usr/lib/udev/rules.d/*.rules; do
		[ "${f##*/}" = 50-udev-default.rules ] && continue
		ln -sfn /dev/null "$ROOT/etc/udev/rules.d/${f##*/}"
	done
	if [ -e "$ROOT/usr/bin/systemd-tmpfiles.aum" ]; then
		in_root dpkg-divert --local --rename --remove /usr/bin/systemd-tmpfiles >/dev/null
	fi
}

stamp=$ROOT/.aum-root-ready
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$STAMP_VER $PKGS" ]; then
	exit 0
fi
if [ -f "$ROOT/.aum-debootstrap-done" ]; then
	# The base system is complete; only the package list changed.
	log "updating build root packages"
	blog=$CACHE/buildroot.log
	{
		in_root apt-get update &&
		in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y $PKGS
	} >>"$blog" 2>&1 || fail_log "build root packages" "$blog"
	guest_trim
	echo "$STAMP_VER $PKGS" >"$stamp"
	exit 0
fi

mirror=$(host_mirror)
log "creating Debian 13 build root in $ROOT (mirror from host apt sources)"
command -v debootstrap >/dev/null || {
	apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null
} || die "cannot install debootstrap"

# Never trust a half-made root.
if [ -d "$ROOT" ]; then
	for d in dev/pts dev sys proc; do umount -lR "$ROOT/$d" 2>/dev/null || true; done
	rm -rf --one-file-system "$ROOT"
fi
mkdir -p "$CACHE"
blog=$CACHE/buildroot.log
debootstrap --variant=minbase --include=ca-certificates trixie "$ROOT" "$mirror" \
	>"$blog" 2>&1 || fail_log debootstrap "$blog"

cat >"$ROOT/etc/apt/sources.list" <<SRC
deb $mirror trixie main
deb $mirror trixie-updates main
deb $mirror trixie-backports main
SRC
# The base kernel and libclang come from backports.
cat >"$ROOT/etc/apt/preferences.d/backports" <<PREF
Package: $BASE_PKG *-$LLVM_VER *-$LLVM_VER-dev
Pin: release n=trixie-backports
Pin-Priority: 500
PREF
echo 'APT::Install-Recommends "false";' >"$ROOT/etc/apt/apt.conf.d/90norecommends"
touch "$ROOT/.aum-debootstrap-done"

{
	in_root apt-get update &&
	in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y $PKGS &&
	in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y \
		-t trixie-backports "$BASE_PKG=$BASE_VERSION"
} >>"$blog" 2>&1 || fail_log "build root packages" "$blog"
guest_trim

echo "$STAMP_VER $PKGS" >"$stamp"
log "build root ready"
