# shellcheck shell=bash disable=SC2034,SC2154 # sets variables for, and reads $top of, the test that sources it
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# Shared by the ISO tests (tests/images/test-iso.sh, test-install.sh); sourced after tests/lib.sh.
# qemu (TCG unless KVM is usable) with the serial console in a log file, watched for kernel complaints.

# what stops a boot at once: kernel BUG/WARNING/Oops/panic, a failed unit, GRUB's prompt, emergency mode,
# the installer's failure
boot_bad='\] (BUG: |WARNING: |Oops)|Kernel panic|grub> |emergency mode|Give root password|\[FAILED\]|Failed to start|asios-install: FAILED|asios-install: error'

# the firmware's qemu arguments: SeaBIOS (qemu's default) or OVMF
firmware_args() { # bios|uefi
	case $1 in
	bios) ;;
	uefi)
		[ -f /usr/share/ovmf/OVMF.fd ] || { echo "not ok 1 - /usr/share/ovmf/OVMF.fd is missing (make deps: ovmf)"; exit 1; }
		echo "-bios /usr/share/ovmf/OVMF.fd" ;;
	*) echo "not ok 1 - FIRMWARE must be bios or uefi, not $1"; exit 1 ;;
	esac
}

# qemu_start LOG ARGS...: starts qemu in the background with its serial console in LOG; sets qpid
qemu_start() {
	local log=$1 accel=tcg
	shift
	[ -w /dev/kvm ] && accel=kvm
	# ASIOS_QEMU_ACCEL=tcg where /dev/kvm is there but fails ("KVM internal error": qemu_watch says kvm-failed)
	[ -z "${ASIOS_QEMU_ACCEL:-}" ] || accel=$ASIOS_QEMU_ACCEL
	: >"$log"
	qemu-system-x86_64 -M q35 -accel "$accel" -cpu max -smp 2 -m 2G -display none -serial "file:$log" \
		-monitor none -nic user,model=virtio-net-pci "$@" </dev/null >"$log.qemu" 2>&1 &
	qpid=$!
}

# qemu_watch LOG TIMEOUT UNTIL...: waits until every grep -E pattern UNTIL is in LOG (verdict "finished"), a
# bad line shows (problem), qemu exits (exited) or TIMEOUT seconds pass (timeout); sets verdict and secs,
# stops qemu unless it exited
qemu_watch() {
	local log=$1 timeout=$2 t0=$SECONDS p all
	shift 2
	verdict=timeout
	while [ $((SECONDS - t0)) -lt "$timeout" ]; do
		if grep -aqE "$boot_bad" "$log"; then verdict=problem; break; fi
		all=1
		for p in "$@"; do grep -aqE "$p" "$log" || { all=0; break; }; done
		if [ "$all" = 1 ]; then verdict=finished; break; fi
		if grep -aq 'KVM internal error' "$log.qemu" 2>/dev/null; then verdict=kvm-failed; break; fi
		kill -0 "$qpid" 2>/dev/null || { verdict=exited; break; }
		sleep 1
	done
	secs=$((SECONDS - t0))
	kill "$qpid" 2>/dev/null
	wait "$qpid" 2>/dev/null
	return 0
}

# what went wrong, for the TAP log
show_console() { # LOG
	grep -aE -B2 -A12 "$boot_bad" "$1" | head -n 40 | sed 's/^/#   /'
	tail -n 30 "$1" | sed 's/^/#   /'
	[ ! -s "$1.qemu" ] || sed 's/^/#   qemu: /' "$1.qemu"
}

# report_val LOG KEY: the value of the test report's line "ASIOSTEST: KEY value" (asios-test-report.service); a
# getty prompt may precede it on the same line
report_val() { tr -d '\r' <"$1" | sed -n "s/^.*ASIOSTEST: $2 //p" | head -n 1; }

# settings_medium IMG FILE...: a small FAT image labelled ASIOS-INST holding FILEs (no loop devices)
settings_medium() {
	local img=$1 f
	shift
	rm -f "$img"
	mkfs.vfat -C -n ASIOS-INST "$img" 2048 >/dev/null
	for f in "$@"; do mcopy -i "$img" "$f" "::/$(basename "$f")"; done
}

# the boot report's common checks: boot state, asios-irqd, the serial getty, no failed unit
check_report() { # LOG WHAT
	check_eq "$2: asios-irqd is active" active "$(report_val "$1" irqd)"
	check_eq "$2: a getty runs on the serial console" active "$(report_val "$1" getty)"
	check_eq "$2: no failed systemd units" "" "$(tr -d '\r' <"$1" | sed -n 's/^.*ASIOSTEST: failed-unit //p')"
	check_eq "$2: the system is running (systemctl is-system-running)" running "$(report_val "$1" state)"
	check "$2: a login prompt on the serial console" grep -aqE '^[a-zA-Z0-9-]+ login: ' "$1"
}

# build_iso WORK BASE ARCH: the .debs in a throwaway signed repository, then the ISO from it (tools/build-image);
# sets iso, or reports the failure and exits
build_iso() {
	local work=$1 base=$2 arch=$3 version debs t0
	version=$(cd "$top" && dpkg-parsechangelog -SVersion)
	debs=$work/debs
	if ! "$top/tools/debs-current" "$debs/asios_${version}_$arch.changes"; then
		"$top/tools/build-debs" --no-lintian "$debs" >"$work/debs.log" 2>&1 || { tail -n 20 "$work/debs.log" | sed 's/^/#   /'; echo "not ok 1 - .debs build"; exit 1; }
	fi
	rm -rf "$work/repo" "$work/gnupg"
	GNUPGHOME=$work/gnupg "$top/tools/repo-key" >/dev/null 2>&1
	GNUPGHOME=$work/gnupg "$top/tools/repo-publish" --repo "$work/repo" --codename "$base" "$debs/asios_${version}_$arch.changes" >/dev/null
	t0=$SECONDS
	if "$top/tools/build-image" --base "$base" --arch "$arch" --variant iso --repo "$work/repo" --out "$work/out" \
		>"$work/build.log" 2>&1; then
		_report 0 "tools/build-image builds the ISO ($((SECONDS - t0)) s)"
	else
		_report 1 "tools/build-image builds the ISO"
		tail -n 30 "$work/build.log" | sed 's/^/#   /'
		done_testing
		exit 1
	fi
	sed 's/^/# /' "$work/build.log"
	iso=$work/out/asios-iso-$base-$arch.iso
}
