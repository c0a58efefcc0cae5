#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# asios-install (the ISO's installer) without touching a disk: --dry-run with block devices read from fake
# `lsblk -P` output; the choice of the target disk and the settings file's checks (errors name file and line).
# shellcheck disable=SC2016 # hashes and the scripts of sh -c are meant literally
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
inst="$top/config/images/iso/files/usr/sbin/asios-install"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
G=$((1024 * 1024 * 1024))

# dev NAME TYPE SIZE_GIB RM [PKNAME PTTYPE FSTYPE MOUNTPOINT RO]: one line of `lsblk -P -b -o ...`
dev() {
	printf 'NAME="%s" TYPE="%s" SIZE="%s" RM="%s" RO="%s" PKNAME="%s" PTTYPE="%s" FSTYPE="%s" MOUNTPOINT="%s"\n' \
		"$1" "$2" $(($3 * G)) "$4" "${9:-0}" "${5:-}" "${6:-}" "${7:-}" "${8:-}"
}
chosen() { "$inst" --dry-run --lsblk-from "$@" 2>&1 | sed -n 's|^asios-install: target disk: *\(/dev/[^ ]*\).*|\1|p'; }

# a CD-booted machine: the live CD, one empty disk, one with a system on it
{ dev sr0 rom 1 1 "" "" iso9660 /run/live/medium; dev sda disk 100 0 "" gpt; dev sda1 part 99 0 sda "" ext4
	dev vda disk 20 0; } >"$tmp/one-empty"
check_eq "auto: the single empty fixed disk" /dev/vda "$(chosen "$tmp/one-empty")"

# booted from a USB stick (the ISO written raw): the stick is removable and mounted; an NVMe disk is empty
{ dev sdb disk 8 1 "" dos iso9660; dev sdb1 part 1 1 sdb "" iso9660 /run/live/medium; dev sdb2 part 0 1 sdb "" vfat
	dev nvme0n1 disk 900 0; } >"$tmp/usb"
check_eq "auto: NVMe disk next to the live USB stick" /dev/nvme0n1 "$(chosen "$tmp/usb")"

{ dev sr0 rom 1 1 "" "" iso9660 /run/live/medium; dev vda disk 20 0; dev vdb disk 20 0; } >"$tmp/two-empty"
check_fail "auto: two empty disks are refused, both named" "several empty disks \(vda vdb\).*DISK=" \
	"$inst" --dry-run --lsblk-from "$tmp/two-empty"
check_eq "explicit --disk picks one of two" /dev/vdb "$(chosen "$tmp/two-empty" --disk /dev/vdb)"

{ dev sr0 rom 1 1 "" "" iso9660 /run/live/medium; dev sda disk 100 0 "" gpt; dev sda1 part 99 0 sda "" ext4
	dev sdc disk 16 1; dev vdb disk 2 0; dev vdc disk 10 0 "" "" "" "" 1; dev loop0 loop 1 0 "" "" squashfs /run/live/rootfs/filesystem.squashfs; } >"$tmp/none"
check_fail "auto: no empty disk; each disk's reason is given" \
	"no empty fixed disk.*sda: not empty: has a partition table \(gpt\).*sdc: removable.*vdb: 2.0 GiB, smaller than 4.0 GiB.*vdc: read-only" \
	"$inst" --dry-run --lsblk-from "$tmp/none"
check_eq "explicit DISK may be a disk with a system on it" /dev/sda "$(chosen "$tmp/none" --disk sda)"
check_fail "explicit: the disk holding the live system is refused" "sdb holds the live system" \
	"$inst" --dry-run --lsblk-from "$tmp/usb" --disk /dev/sdb
check_fail "explicit: a disk that does not exist is named" "disk vdz does not exist \(disks: sdb nvme0n1 \)" \
	"$inst" --dry-run --lsblk-from "$tmp/usb" --disk /dev/vdz
check_fail "explicit: a partition is not a disk" "sda1 is not a disk \(part\)" \
	"$inst" --dry-run --lsblk-from "$tmp/none" --disk /dev/sda1
{ dev vda disk 50 0; dev vda1 part 50 0 vda "" ext4 /srv; dev vdb disk 50 0; } >"$tmp/mounted"
check_fail "explicit: a disk with a mounted partition is refused" "vda is in use \(mounted on /srv\)" \
	"$inst" --dry-run --lsblk-from "$tmp/mounted" --disk /dev/vda
check_eq "auto: a disk in use is passed over" /dev/vdb "$(chosen "$tmp/mounted")"

# the settings file
conf() { printf '%s\n' "$@" >"$tmp/asios-install.conf"; }
plan() { "$inst" --dry-run --lsblk-from "$tmp/two-empty" --config "$tmp/asios-install.conf"; }
conf "# a comment" "" "DISK=/dev/vdb" "HOSTNAME=node-7" "USER=admin" 'PASSWORD_HASH=$6$salt$Q0v1f5ZhX0e/hash.' \
	"SSH_KEY=ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyOnly admin@host" "SSH_KEY=ssh-rsa AAAAB3Nza== other" \
	"REPO_URL=https://repo.example.org/asios/" "KERNEL_CMDLINE=asios.test=1 nohz_full=2-3" "REBOOT=poweroff"
out=$(plan 2>&1)
check_eq "settings: DISK" /dev/vdb "$(echo "$out" | sed -n 's|^asios-install: target disk: *\(/dev/[^ ]*\).*|\1|p')"
check "settings: host name, user with hash and 2 keys, repository, kernel args, power off" sh -c '
	echo "$1" | grep -q "host name: *node-7$" && echo "$1" | grep -q "user: *admin (sudo; password: the given hash; SSH keys: 2)" &&
	echo "$1" | grep -q "repository: *https://repo.example.org/asios/$" && echo "$1" | grep -q "kernel args: *asios.test=1 nohz_full=2-3$" &&
	echo "$1" | grep -q "at the end: *power off"' sh "$out"
conf "HOSTNAME=a" "" "FOO=bar"
check_fail "settings: an unknown key names file and line" "asios-install.conf:3: unknown key FOO" plan
conf "just words"
check_fail "settings: a line that is not KEY=value" "asios-install.conf:1: not a KEY=value line" plan
conf "HOSTNAME=a" "HOSTNAME=b"
check_fail "settings: a key given twice" "asios-install.conf:2: HOSTNAME is set again \(first on line 1\)" plan
conf "HOSTNAME=bad_name!"
check_fail "settings: a bad host name" "asios-install.conf:1: HOSTNAME 'bad_name!' is not a host name" plan
conf "USER=root" 'PASSWORD_HASH=$6$x$y'
check_fail "settings: USER root is refused" "asios-install.conf:1: USER must not be root" plan
conf "USER=admin"
check_fail "settings: a user nobody could log in as" "USER admin has neither PASSWORD_HASH nor SSH_KEY" plan
conf "USER=admin" "PASSWORD_HASH=secret"
check_fail "settings: a clear-text password is not a hash" "asios-install.conf:2: PASSWORD_HASH is not a crypt\(5\) hash" plan
conf "SSH_KEY=ssh-ed25519 AAAA x"
check_fail "settings: keys need a USER" "set USER= too" plan
conf "DISK=vda"
check_fail "settings: DISK must be a /dev path" "asios-install.conf:1: DISK must be 'auto' or a /dev path" plan
conf "KERNEL_CMDLINE=quiet \$(reboot)"
check_fail "settings: kernel arguments with shell characters" "asios-install.conf:1: KERNEL_CMDLINE" plan
conf "REPO_URL=ftp://x/"
check_fail "settings: REPO_URL scheme" "asios-install.conf:1: REPO_URL must be" plan
conf "REBOOT=maybe"
check_fail "settings: REBOOT" "asios-install.conf:1: REBOOT must be yes, no or poweroff" plan
check_fail "a missing settings file is named" "cannot read the settings $tmp/nope.conf" \
	"$inst" --dry-run --lsblk-from "$tmp/one-empty" --config "$tmp/nope.conf"
check_fail "an unknown option" "unknown argument: --bogus" "$inst" --bogus
check "--help prints the usage" sh -c '"$1" --help | grep -q "asios-install \[--auto\]"' sh "$inst"
done_testing
