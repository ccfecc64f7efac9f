#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# init of the User-Mode Linux guest (ci/uml.sh): the build root, seen
# through hostfs, with the guest's own proc, sys, dev and tmp; runs
# ci/guest.sh with the arguments in /build/guest/uml-args, then powers off.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
# Loopback, as virtme-ng brings it up (net/af_unix/msg_oob compares with TCP).
ip link set lo up
# shellcheck disable=SC2046
AUM_RESULTS=$(cat /build/guest/uml-results) sh /build/guest/guest.sh $(cat /build/guest/uml-args)
sync
busybox poweroff -f
