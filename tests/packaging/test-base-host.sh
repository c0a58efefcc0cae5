#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# The asios-base defaults that act on the running kernel, applied on this machine by the programs that apply
# them at boot, read back, and restored:
#  - sysctl.d: systemd-sysctl applies packages/asios-base/sysctl.conf; every key reads back its value;
#  - udev: `udevadm test` runs the block rule on a disk it matches (NVMe or virtio) whose read-ahead was set
#    low, and the read-ahead becomes 4096 KiB (NVMe) or 512 KiB (virtio, Xen); a disk already set higher keeps its
#    value.
# Needs root and a writable /proc/sys (skipped with the reason otherwise).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
conf=$top/packages/asios-base/sysctl.conf
rules=$top/packages/asios-base/block.rules
if [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP needs root"; exit 0; fi

# dirty_*_bytes and dirty_*ratio are two faces of one setting (writing one zeroes the other): saved too, and
# restored after the bytes, so a ratio in force before comes back as the ratio
keys="$(sed -n 's/^\([a-z][a-z0-9_.]*\) *=.*/\1/p' "$conf") vm.dirty_ratio vm.dirty_background_ratio"
saved=()
for k in $keys; do
	v=$(sysctl -n "$k" | tr -s '\t ' ' ')
	[ "$v" = 0 ] && case $k in vm.dirty_*) continue ;; esac
	saved+=("$k=$v")
done
restore_sysctl() { for kv in "${saved[@]}"; do sysctl -q -w "$kv" >/dev/null 2>&1; done; }
disk='' ra=''
restore_disk() { [ -n "$disk" ] && echo "$ra" >"/sys/class/block/$disk/queue/read_ahead_kb"; rm -f /run/udev/rules.d/60-asios-block.rules; }
trap 'restore_sysctl; restore_disk' EXIT

sysctl_bin=$(command -v systemd-sysctl || echo /lib/systemd/systemd-sysctl)
if ! touch /proc/sys/vm/max_map_count 2>/dev/null; then
	echo "# /proc/sys is read-only here: sysctl.d effects not checked"
else
	check "systemd-sysctl applies 60-asios.conf without error" "$sysctl_bin" "$conf"
	while read -r k v; do
		check_eq "sysctl $k takes effect" "$v" "$(sysctl -n "$k" | tr -s '\t ' ' ')"
	done < <(sed -n 's/^\([a-z][a-z0-9_.]*\) *= *\(.*\)$/\1 \2/p' "$conf")
fi

for d in /sys/class/block/*; do
	n=${d##*/}
	case $n in nvme[0-9]*n[0-9]|nvme[0-9]*n[0-9][0-9]|vd[a-z]|xvd[a-z]) disk=$n; break ;; esac
done
if [ -z "$disk" ] || ! command -v udevadm >/dev/null; then
	echo "# no NVMe or virtio disk (or no udevadm): the udev rule's effect is not checked here"
else
	ra=$(cat "/sys/class/block/$disk/queue/read_ahead_kb")
	mkdir -p /run/udev/rules.d
	cp "$rules" /run/udev/rules.d/60-asios-block.rules
	echo 128 >"/sys/class/block/$disk/queue/read_ahead_kb"
	udevadm test --action=change "/sys/class/block/$disk" >/dev/null 2>&1
	want=4096
	case $disk in vd*|xvd*) want=512 ;; esac
	check_eq "udev rule raises read-ahead of $disk from 128 to $want KiB" $want "$(cat "/sys/class/block/$disk/queue/read_ahead_kb")"
	echo 500 >"/sys/class/block/$disk/queue/read_ahead_kb"
	udevadm test --action=change "/sys/class/block/$disk" >/dev/null 2>&1
	check_eq "udev rule raises read-ahead of $disk from 500 to $want KiB" $want "$(cat "/sys/class/block/$disk/queue/read_ahead_kb")"
	echo 8192 >"/sys/class/block/$disk/queue/read_ahead_kb"
	udevadm test --action=change "/sys/class/block/$disk" >/dev/null 2>&1
	check_eq "udev rule keeps a higher read-ahead of $disk (8192 KiB)" 8192 "$(cat "/sys/class/block/$disk/queue/read_ahead_kb")"
	out=$(udevadm test --action=change "/sys/class/block/$disk" 2>&1)
	check "udev parses the rules file without complaint" sh -c "! printf '%s' \"\$1\" | grep -i '60-asios-block.rules.*\(invalid\|error\|unknown\)'" sh "$out"
fi
done_testing
