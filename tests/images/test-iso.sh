#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# The live ISO (make check-images, which sets ASIOS_CHECK_IMAGES=1; skipped otherwise, as in make check):
# its manifest, SHA256SUMS and the hybrid layout (El Torito BIOS + UEFI entries, an MBR with the EFI
# partition for USB sticks); then it is booted under qemu (TCG) as a CD and as a USB disk, with a settings
# medium labelled ASIOS-INST whose asios-boot.cfg picks the live entry and adds asios.test=1, so that
# asios-test-report.service prints the state of the booted system to the serial console. Fails as soon as the
# console shows a kernel BUG:/WARNING:/Oops/panic, a failed unit, a grub> prompt or emergency mode, and after
# BOOT_TIMEOUT seconds (default 900) per boot.
#   ASIOS_ISO=FILE.iso   boot this ISO instead of building one
#   FIRMWARE=bios|uefi   SeaBIOS (default) or OVMF
#   ISO_MEDIA="cd usb"   the ways to boot it
# Work folder: ${ASIOS_IMAGES_TEST:-build/images-test}. Building needs root.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/tests/images/qemu-boot.sh"
if [ "${ASIOS_CHECK_IMAGES:-0}" != 1 ]; then echo "1..0 # SKIP the ISO boots run in make check-images (ASIOS_CHECK_IMAGES=1)"; exit 0; fi
work=${ASIOS_IMAGES_TEST:-$top/build/images-test}
base=${BASE:-bookworm}
firmware=${FIRMWARE:-bios}
timeout=${BOOT_TIMEOUT:-900}
media=${ISO_MEDIA:-cd usb}
iso=${ASIOS_ISO:-}
arch=$(dpkg --print-architecture)
if [ "$arch" != amd64 ]; then echo "1..0 # SKIP the ISO is built for amd64 only"; exit 0; fi
if [ -z "$iso" ] && [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP building the ISO needs root"; exit 0; fi
for t in qemu-system-x86_64 xorriso mkfs.vfat mcopy; do
	command -v "$t" >/dev/null || { echo "not ok 1 - $t is missing (make deps)"; exit 1; }
done
fw=$(firmware_args "$firmware") || exit 1
mkdir -p "$work"
work=$(cd "$work" && pwd)
[ -n "$iso" ] || build_iso "$work" "$base" "$arch"
iso=$(cd "$(dirname "$iso")" && pwd)/$(basename "$iso")
dir=$(dirname "$iso")
manifest=${iso%.iso}.manifest

check "SHA256SUMS next to the ISO verifies it and its manifest" \
	sh -c "cd '$dir' && grep -F ' $(basename "$iso")' SHA256SUMS | sha256sum -c --quiet - && grep -F ' $(basename "$manifest")' SHA256SUMS | sha256sum -c --quiet -"
check "the manifest lists asios-server, asios-tuning, asios-base, live-boot" \
	sh -c "grep -q '^asios-server	' '$manifest' && grep -q '^asios-tuning	' '$manifest' && grep -q '^asios-base	' '$manifest' && grep -q '^live-boot	' '$manifest'"
check "the manifest says which kernel the ISO has" grep -qE '^# kernel: (ASIOS kernel|stock .* kernel)' "$manifest"
grep '^# kernel:' "$manifest"
manifest_kernel=$(sed -n 's/^# kernel: .*; installed: linux \(.*\)$/\1/p' "$manifest")
eltorito=$(xorriso -indev "$iso" -report_el_torito plain 2>/dev/null)
check "El Torito: a BIOS boot image" grep -qE 'El Torito boot img : +1 +BIOS +y' <<<"$eltorito"
check "El Torito: a UEFI boot image" grep -qE 'El Torito boot img : +2 +UEFI +y' <<<"$eltorito"
check_eq "hybrid: the first sector ends with the MBR signature (bootable as a disk)" 55aa \
	"$(od -An -tx1 -j510 -N2 "$iso" | tr -d ' \n')"
check "hybrid: a partition table with the EFI system partition, for UEFI from a USB stick" \
	sh -c "sfdisk -d '$iso' 2>/dev/null | grep -qiE 'type=(ef|C12A7328-F81F-11D2-BA4B-00A0C93EC93B),'"
echo "# ISO: $(( $(stat -c %s "$iso") / 1048576 )) MiB"

# the settings medium: the live entry by default, with the test report on
run=$work/iso-$firmware
rm -rf "$run"
mkdir -p "$run"
cat >"$run/asios-boot.cfg" <<'CFG'
set default=live
set asios_args="asios.test=1"
CFG
settings_medium "$run/settings.img" "$run/asios-boot.cfg"
for medium in $media; do
	# shellcheck disable=SC2054 # qemu's option values have commas
	case $medium in
	cd) boot=(-drive "file=$iso,media=cdrom,readonly=on,if=none,id=live" -device ide-cd,drive=live,bootindex=0) ;;
	usb) boot=(-device qemu-xhci -drive "file=$iso,format=raw,readonly=on,if=none,id=live" -device usb-storage,drive=live,bootindex=0) ;;
	*) echo "not ok - ISO_MEDIA: cd or usb, not $medium"; exit 1 ;;
	esac
	log=$run/console-$medium.log
	echo "# booting the ISO as $medium ($firmware, timeout ${timeout}s)"
	# shellcheck disable=SC2086 # $fw is empty or two words
	qemu_start "$log" $fw "${boot[@]}" -drive "file=$run/settings.img,if=virtio,format=raw,readonly=on"
	qemu_watch "$log" "$timeout" 'ASIOSTEST: done' ' login: '
	check_eq "$medium/$firmware: the live system boots to the login prompt and the test report, no kernel BUG/WARNING/Oops/panic, failed unit, grub> or emergency mode (${secs} s)" finished "$verdict"
	[ "$verdict" = finished ] || show_console "$log"
	check_report "$log" "$medium/$firmware"
	check_eq "$medium/$firmware: it is the live system (live-boot's medium, overlay root)" yes "$(report_val "$log" live)"
	check "$medium/$firmware: GRUB's menu was on the serial console" grep -aq 'ASIOS .* live system' "$log"
	check "$medium/$firmware: the kernel console is on ttyS0" grep -q 'console=ttyS0,115200n8' <<<"$(report_val "$log" cmdline)"
	check_eq "$medium/$firmware: the live user" asios "$(report_val "$log" users)"
	# the kernel the manifest names runs: ours (linux-asios-generic) when the repository had it
	check_eq "$medium/$firmware: the running kernel is the manifest's" "${manifest_kernel:-?}" "$(report_val "$log" kernel)"
	echo "# $medium/$firmware: boot to the login prompt and the report: $secs s of wall time, guest uptime $(report_val "$log" uptime) s"
done
done_testing
