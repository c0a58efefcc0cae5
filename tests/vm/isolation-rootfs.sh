#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# The root file system of the CPU-isolation guest: a small Debian 12 (bookworm, variant minbase) with TuneD
# (profile cpu-partitioning), stress-ng, ping, procps, util-linux, kmod, iproute2, busybox and cpio, as an ext4 image
# made with `mkfs.ext4 -d` (no loop mounts). No systemd as init: /sbin/asios-isol-init (below) is PID 1; it
# mounts the usual file systems, the second virtio disk (/dev/vdb) at /isol, sets up lo and eth0 for qemu's user
# networking (10.0.2.15/24, gateway 10.0.2.2), runs /isol/guest.sh on the console and powers off.
# Boot it with isolation_boot (tests/vm/isolation-boot.sh).
#   tests/vm/isolation-rootfs.sh        -> ${O:-build}/isolation/rootfs.ext4
# The image is rebuilt only when this script or the package list changed (the sha256 of both is kept in
# rootfs.ext4.sha256); ISOLATION_ROOTFS_REBUILD=1 forces a rebuild. Needs root and mmdebstrap (make deps); the
# mirror is the host's, as tools/base-profile bookworm resolves it.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
out=${O:-build}/isolation
img=$out/rootfs.ext4
# cpio: TuneD's bootloader plugin packs the cpu-partitioning initrd overlay with it (priority important in Debian,
# so on a normal system; not in minbase)
packages=(tuned stress-ng iputils-ping procps util-linux kmod iproute2 busybox cpio)
t0=$SECONDS
stage() { printf '  [%4ds] %s\n' "$((SECONDS - t0))" "$*"; }
die() { echo "isolation-rootfs: $*" >&2; exit 1; }

sum=$({ cat "$0"; printf '%s\n' "${packages[@]}"; } | sha256sum | cut -d' ' -f1)
if [ "${ISOLATION_ROOTFS_REBUILD:-0}" != 1 ] && [ -f "$img" ] && [ "$(cat "$img.sha256" 2>/dev/null)" = "$sum" ]; then
	stage "up to date: $img ($(du -m --apparent-size "$img" | cut -f1) MiB, $(du -m "$img" | cut -f1) MiB used)"
	exit 0
fi
[ "$(id -u)" = 0 ] || die "needs root (mmdebstrap into a directory)"
for t in mmdebstrap mkfs.ext4; do command -v "$t" >/dev/null || die "$t is missing (make deps)"; done

stage "base profile bookworm"
profile=$(tools/base-profile bookworm)
get() { printf '%s\n' "$profile" | sed -n "s/^$1=//p" | tail -n1; }
suite=$(get SUITE) mirror=$(get MIRROR) security=$(get SECURITY_MIRROR) updates=$(get UPDATES_SUITES)
{ [ -n "$suite" ] && [ -n "$mirror" ]; } || die "tools/base-profile bookworm gave no SUITE or MIRROR"
sources=("deb $mirror $suite main")
for u in $updates; do sources+=("deb $mirror $u main"); done
[ -z "$security" ] || sources+=("deb $security $(get SECURITY_SUITE) main")

mkdir -p "$out"
work=$(mktemp -d "$out/rootfs.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
stage "mmdebstrap $suite minbase + ${packages[*]}"
if ! mmdebstrap --mode=root --variant=minbase --include="$(IFS=,; echo "${packages[*]}")" \
	--dpkgopt=path-exclude=/usr/share/doc/* --dpkgopt=path-exclude=/usr/share/man/* \
	--dpkgopt=path-exclude=/usr/share/locale/* --dpkgopt=path-include=/usr/share/doc/*/copyright \
	"$suite" "$root" "${sources[@]}" >"$out/mmdebstrap.log" 2>&1; then
	tail -n 30 "$out/mmdebstrap.log" >&2
	die "mmdebstrap failed (log: $out/mmdebstrap.log)"
fi

stage "configure: init, network names, TuneD without D-Bus"
echo asios-isol >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tasios-isol\n' >"$root/etc/hosts"
echo 'nameserver 10.0.2.3' >"$root/etc/resolv.conf"
printf '/dev/vda\t/\text4\trw\t0\t1\n' >"$root/etc/fstab"
mkdir -p "$root/isol"
cat >"$root/sbin/asios-isol-init" <<'INIT'
#!/bin/sh
# PID 1 of the CPU-isolation guest (tests/vm/isolation-rootfs.sh): mounts, network, /isol/guest.sh, power off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=linux
mnt() { # mnt TYPE DIR [OPTIONS]: mount unless it is mounted already
	mkdir -p "$2"
	mountpoint -q "$2" || mount -t "$1" ${3:+-o "$3"} "$1" "$2" 2>/dev/null || echo "ASIOS: value mount_failed $1 $2"
}
mnt proc /proc
mnt sysfs /sys
mnt devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mnt devpts /dev/pts gid=5,mode=620
mnt tmpfs /dev/shm mode=1777
mnt tmpfs /run mode=755
mnt tmpfs /tmp mode=1777
mnt cgroup2 /sys/fs/cgroup nsdelegate
[ ! -d /sys/kernel/tracing ] || mnt tracefs /sys/kernel/tracing
[ ! -d /sys/kernel/debug ] || mnt debugfs /sys/kernel/debug
[ ! -d /sys/fs/bpf ] || mnt bpf /sys/fs/bpf
mkdir -p /run/lock /run/tuned
mount -o remount,rw / 2>/dev/null
hostname -F /etc/hostname 2>/dev/null
if [ -b /dev/vdb ]; then
	mount -t ext4 -o ro /dev/vdb /isol || echo "ASIOS: fail mount /dev/vdb"
fi
ip link set lo up
if ip link show eth0 >/dev/null 2>&1; then
	ip link set eth0 up
	ip addr add 10.0.2.15/24 dev eth0
	ip route add default via 10.0.2.2
else
	echo "ASIOS: fail no eth0"
fi
echo "ASIOS: value init_ready $(cut -d' ' -f1 /proc/uptime)s"
if [ -x /isol/guest.sh ] || [ -f /isol/guest.sh ]; then
	cd /isol && sh /isol/guest.sh </dev/console >/dev/console 2>&1
	echo "ASIOS: value guest_rc $?"
else
	echo "ASIOS: fail no /isol/guest.sh"
fi
cd /
sync
umount /isol 2>/dev/null
mount -o remount,ro / 2>/dev/null
busybox poweroff -f
echo o >/proc/sysrq-trigger
sleep 5
INIT
chmod 755 "$root/sbin/asios-isol-init"

# TuneD: no D-Bus (tuned --no-dbus does the same), no dynamic tuning (nothing to monitor, less CPU noise)
conf=$root/etc/tuned/tuned-main.conf
[ -f "$conf" ] || die "no $conf in the image: is tuned installed?"
for kv in enable_dbus=0 dynamic_tuning=0; do
	k=${kv%%=*} v=${kv#*=}
	if grep -qE "^#? *$k *=" "$conf"; then
		sed -i -E "s/^#? *$k *=.*/$k = $v/" "$conf"
	else
		printf '%s = %s\n' "$k" "$v" >>"$conf"
	fi
done
{ grep -qE "^enable_dbus = 0$" "$conf" && grep -qE "^dynamic_tuning = 0$" "$conf"; } || die "could not set $conf"
# TuneD's state folder, which Debian's package lacks: without it cpu-partitioning's script.sh fails
# (disable_ksm: "failed to create /var/lib/tuned/ksm-masked")
mkdir -p "$root/var/lib/tuned"

stage "mkfs.ext4 -d"
mib=$(du -sm "$root" | cut -f1)
size=$((mib + mib / 4 + 64))
rm -f "$work/rootfs.ext4"
mkfs.ext4 -q -F -L asios-isol -d "$root" "$work/rootfs.ext4" "${size}M" >"$out/mkfs.log" 2>&1 ||
	{ cat "$out/mkfs.log" >&2; die "mkfs.ext4 failed"; }
mv "$work/rootfs.ext4" "$img"
echo "$sum" >"$img.sha256"
dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${Package} ${Version}\n' >"$out/rootfs.packages"
stage "done: $img (files ${mib} MiB, image ${size} MiB, $(wc -l <"$out/rootfs.packages") packages, list in $out/rootfs.packages)"
