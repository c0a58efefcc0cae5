#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# The unattended install from the ISO (make check-images, which sets ASIOS_CHECK_IMAGES=1; skipped otherwise):
# the ISO boots under qemu (TCG) as a CD next to a blank disk and a settings medium labelled ASIOS-INST. As a
# user would do it, the medium's presence makes GRUB's "Install ASIOS" entry (kernel argument autoinstall)
# the default; its asios-install.conf sets the host name, a user with a password hash and an SSH key, the
# repository URL and asios.test=1 for the installed system, and leaves the disk to the installer's choice
# (the only empty disk). The install must end with the installer's reboot (qemu -no-reboot exits). Then the
# installed disk boots alone, under SeaBIOS and OVMF, and asios-test-report.service prints its state to the
# serial console: login prompt, asios-irqd active, no failed unit, the host name and user of the settings,
# the root file system by UUID, the repository. Fails fast like test-iso.sh.
#   ASIOS_ISO=FILE.iso     install from this ISO instead of building one
#   FIRMWARE=bios|uefi     the firmware of the install boot (default bios); the installed disk boots under both
#   INSTALL_TIMEOUT=1800   seconds for the install, BOOT_TIMEOUT=900 for each boot of the installed disk
# Work folder: ${ASIOS_IMAGES_TEST:-build/images-test}. Building needs root.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
. "$top/tests/images/qemu-boot.sh"
if [ "${ASIOS_CHECK_IMAGES:-0}" != 1 ]; then echo "1..0 # SKIP the install test runs in make check-images (ASIOS_CHECK_IMAGES=1)"; exit 0; fi
work=${ASIOS_IMAGES_TEST:-$top/build/images-test}
base=${BASE:-bookworm}
firmware=${FIRMWARE:-bios}
install_timeout=${INSTALL_TIMEOUT:-1800}
timeout=${BOOT_TIMEOUT:-900}
iso=${ASIOS_ISO:-}
arch=$(dpkg --print-architecture)
if [ "$arch" != amd64 ]; then echo "1..0 # SKIP the ISO is built for amd64 only"; exit 0; fi
if [ -z "$iso" ] && [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP building the ISO needs root"; exit 0; fi
for t in qemu-system-x86_64 qemu-img mkfs.vfat mcopy; do
	command -v "$t" >/dev/null || { echo "not ok 1 - $t is missing (make deps)"; exit 1; }
done
fw=$(firmware_args "$firmware") || exit 1
mkdir -p "$work"
work=$(cd "$work" && pwd)
[ -n "$iso" ] || build_iso "$work" "$base" "$arch"
iso=$(cd "$(dirname "$iso")" && pwd)/$(basename "$iso")
# the kernel of the ISO's manifest (ours, linux-asios-generic, when the repository had it): the installed disk runs it
manifest_kernel=$(sed -n 's/^# kernel: .*; installed: linux \(.*\)$/\1/p' "${iso%.iso}.manifest" 2>/dev/null)

run=$work/install-$firmware
rm -rf "$run"
mkdir -p "$run"
# the password is "asios-test" (openssl passwd -6 -salt asiostest asios-test)
cat >"$run/asios-install.conf" <<'CONF'
# the settings of the install test; DISK is left to the installer (the only empty disk)
HOSTNAME=asios-installed
USER=tester
PASSWORD_HASH=$6$asiostest$WtkxoMxKssswMs59B9LxE1Gy/8pbYloLZ0EeTW/oenQT7a6RdROejdeTbO/jaRZNCS.aeVl1rSWf2nw8E3gBs0
SSH_KEY=ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAsiosTestKeyOnlyForTheInstallTestXXXXXXXXXXX tester@asios-test
REPO_URL=http://repo.asios.test/asios/
KERNEL_CMDLINE=asios.test=1
CONF
settings_medium "$run/settings.img" "$run/asios-install.conf"
qemu-img create -q -f qcow2 "$run/disk.qcow2" 8G
log=$run/console-install.log
echo "# installing from the ISO ($firmware, timeout ${install_timeout}s)"
# shellcheck disable=SC2086 # $fw is empty or two words
qemu_start "$log" $fw -no-reboot \
	-drive "file=$iso,media=cdrom,readonly=on,if=none,id=live" -device ide-cd,drive=live,bootindex=0 \
	-drive "file=$run/disk.qcow2,if=virtio,format=qcow2" -drive "file=$run/settings.img,if=virtio,format=raw,readonly=on"
qemu_watch "$log" "$install_timeout" 'asios-install: done' 'asios-install: rebooting'
install_secs=$secs
if [ "$verdict" = finished ]; then
	# the installer's reboot ends qemu (-no-reboot)
	t0=$SECONDS
	while kill -0 "$qpid" 2>/dev/null && [ $((SECONDS - t0)) -lt 120 ]; do sleep 1; done
	kill -0 "$qpid" 2>/dev/null && verdict=no-reboot
	install_secs=$((install_secs + SECONDS - t0))
fi
kill "$qpid" 2>/dev/null
wait "$qpid" 2>/dev/null
check_eq "the autoinstall boot entry installs to the empty disk and reboots, no kernel complaint, failed unit or installer error (${install_secs} s)" finished "$verdict"
[ "$verdict" = finished ] || show_console "$log"
check "GRUB's default was the install entry (settings medium present): autoinstall on the kernel command line" \
	grep -aq 'Command line: .*boot=live autoinstall' "$log"
check "the installer chose the empty disk /dev/vda" grep -aq 'asios-install: target disk: */dev/vda' "$log"
sed -n 's/\r$//; /asios-install: \[/p; /asios-install: done/p' "$log" | sed 's/^/# /'

for boot_fw in bios uefi; do
	blog=$run/console-installed-$boot_fw.log
	echo "# booting the installed disk alone ($boot_fw, timeout ${timeout}s)"
	# shellcheck disable=SC2046 # firmware_args prints nothing or two words
	qemu_start "$blog" $(firmware_args "$boot_fw") -snapshot -drive "file=$run/disk.qcow2,if=virtio,format=qcow2"
	qemu_watch "$blog" "$timeout" 'ASIOSTEST: done' ' login: '
	what="installed/$boot_fw"
	check_eq "$what: boots to the login prompt and the test report, no kernel complaint, failed unit, grub> or emergency mode (${secs} s)" finished "$verdict"
	[ "$verdict" = finished ] || show_console "$blog"
	check_report "$blog" "$what"
	check_eq "$what: the host name of the settings" asios-installed "$(report_val "$blog" hostname)"
	check_eq "$what: the user of the settings replaced the live user" tester "$(report_val "$blog" users)"
	check_eq "$what: the user is in sudo, has a usable password and the SSH key" "tester groups=tester,sudo password=P keys=1" \
		"$(report_val "$blog" user)"
	check_eq "$what: not the live system" no "$(report_val "$blog" live)"
	check_eq "$what: the root file system is the disk's third partition, ext4" "/dev/vda3 ext4" "$(report_val "$blog" root | tr -s ' ')"
	check_eq "$what: fstab names root and ESP by UUID" 2 "$(report_val "$blog" fstab)"
	check "$what: the kernel found the root by UUID, with the settings' extra argument" \
		grep -qE 'root=UUID=[0-9a-f-]+ .*asios.test=1' <<<"$(report_val "$blog" cmdline)"
	check_eq "$what: asios.sources points at REPO_URL, signed by the shipped key" \
		"http://repo.asios.test/asios/ /usr/share/keyrings/asios-archive-keyring.gpg" "$(report_val "$blog" sources)"
	check "$what: apparmor is an active LSM ($(report_val "$blog" lsm))" grep -q 'apparmor' <<<"$(report_val "$blog" lsm)"
	check_eq "$what: asios-server's AppArmor profiles are loaded and enforced" \
		"asios-healthd:enforce,asios-irqd:enforce,asios-numad:enforce,asios-schedd:enforce,asiosctl:enforce" \
		"$(report_val "$blog" aa-profiles)"
	check_eq "$what: asios-irqd runs under its profile" "asios-irqd (enforce)" "$(report_val "$blog" aa-irqd)"
	check_eq "$what: the installed system runs the ISO's kernel (its manifest)" "${manifest_kernel:-?}" "$(report_val "$blog" kernel)"
	echo "# $what: boot to the login prompt and the report: $secs s of wall time, guest uptime $(report_val "$blog" uptime) s"
done
echo "# install: $install_secs s of wall time ($firmware)"
done_testing
