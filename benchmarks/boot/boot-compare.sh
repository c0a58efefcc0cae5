#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# Boot time of the ASIOS cloud image (our kernel) against the reference image of the same base without ASIOS
# (config/images/debian-cloud: Debian's packages and Debian's cloud kernel, built by the same builder),
# booted in the same run under the same qemu (q35, 2 vCPUs, 2 GiB, the same NoCloud seed), ROUNDS times each in
# ABBA order. In each guest a transient unit waits for the end of the boot (`systemctl is-system-running
# --wait`) and prints systemd's timestamps, `systemd-analyze time`, the critical chain of multi-user.target,
# `systemd-analyze blame`, the CPU time of the whole boot (/proc/stat), of all services together and of each one
# still running (cgroup v2's cpu.stat, which holds the time of removed children in the parent's), then powers off. benchmarks/boot/report.py writes OUT/report.{md,json}: the
# medians of kernel, initrd, userspace and multi-user.target per image, the critical chains side by side, and
# what ASIOS adds to its chain.
#   benchmarks/boot/boot-compare.sh [--build O] [--rounds N] [--out DIR] [--accel tcg|kvm]
# Images: O/images/asios-cloud-BASE-ARCH.qcow2 (make cloud-image; its manifest must name an ASIOS kernel)
# and O/images/debian-cloud-BASE-ARCH.qcow2 (built here when missing). `make bench-boot` builds both.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
O=build rounds=2 out="" accel="" base=${BASE:-bookworm} arch=$(dpkg --print-architecture)
while [ $# -gt 0 ]; do
	case $1 in
	--build) O=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--accel) accel=$2; shift 2 ;;
	-h|--help) sed -n '4,16p' "$0"; exit 0 ;;
	*) echo "boot-compare: unknown argument: $1" >&2; exit 2 ;;
	esac
done
out=${out:-$O/bench/boot}
die() { echo "boot-compare: $*" >&2; exit 1; }
case $rounds in ''|*[!0-9]*|0) die "--rounds must be a positive number, not '$rounds'" ;; esac
[ "$arch" = amd64 ] || die "it boots amd64 images (q35); this host is $arch"
for t in qemu-system-x86_64 qemu-img cloud-localds python3; do
	command -v "$t" >/dev/null || die "$t is missing (make deps)"
done
if [ -z "$accel" ]; then
	accel=tcg
	[ -w /dev/kvm ] && accel=kvm
	accel=${ASIOS_QEMU_ACCEL:-$accel}
fi
asios_img=$O/images/asios-cloud-$base-$arch.qcow2
ref_img=$O/images/debian-cloud-$base-$arch.qcow2
[ -f "$asios_img" ] || die "no $asios_img (make cloud-image)"
grep -q '^# kernel: ASIOS kernel' "${asios_img%.qcow2}.manifest" 2>/dev/null ||
	die "${asios_img%.qcow2}.manifest names no ASIOS kernel: build the virt kernel first (make kernel FLAVOUR=virt repo cloud-image)"
if [ ! -f "$ref_img" ]; then
	echo "  IMAGE    the reference image: tools/build-image --variant debian-cloud"
	tools/build-image --base "$base" --arch "$arch" --variant debian-cloud --out "$O/images" ||
		die "the reference image did not build"
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$out/work
rm -rf "$work"
mkdir -p "$work"

# the seed: the same for both images; the report unit waits for the boot's end, so it measures the boot, not itself
# (no ${...} in its command: systemd expands ${NAME} in a unit's command line before the shell sees it)
cat >"$work/user-data" <<'EOF'
#cloud-config
runcmd:
  - [systemd-run, --no-block, --unit=bootcmp-report, --property=StandardOutput=file:/dev/ttyS0, /bin/sh, -c, "systemctl is-system-running --wait >/dev/null; p() { systemctl show $2 -p $1 --value; }; echo BOOTCMP: kernel $(uname -r); echo BOOTCMP: stamps initrd=$(p InitRDTimestampMonotonic) userspace=$(p UserspaceTimestampMonotonic) finish=$(p FinishTimestampMonotonic) multiuser=$(p ActiveEnterTimestampMonotonic multi-user.target); echo BOOTCMP: state $(systemctl is-system-running); systemd-analyze time | sed 's/^/BOOTCMP: time /'; systemd-analyze critical-chain --no-pager multi-user.target | sed 's/^/BOOTCMP: chain /'; systemd-analyze blame --no-pager | head -n 25 | sed 's/^/BOOTCMP: blame /'; for f in /sys/fs/cgroup/system.slice/cpu.stat /sys/fs/cgroup/init.scope/cpu.stat /sys/fs/cgroup/system.slice/*/cpu.stat; do echo BOOTCMP: cpu $(sed -n 's/^usage_usec //p' $f) $(basename $(dirname $f)); done; echo BOOTCMP: stat $(head -n 1 /proc/stat); systemctl --failed --plain --no-legend | sed 's/^/BOOTCMP: failed /'; echo BOOTCMP: done; systemctl poweroff"]
EOF
printf 'instance-id: iid-bootcmp\nlocal-hostname: bootcmp\n' >"$work/meta-data"
cloud-localds "$work/seed.img" "$work/user-data" "$work/meta-data"

boot() { # NAME IMAGE ROUND
	local name=$1 img=$2 r=$3 log=$work/$1-$3.log t0 qpid verdict=timeout
	rm -f "$work/disk.qcow2"
	qemu-img create -q -f qcow2 -b "$(cd "$(dirname "$img")" && pwd)/$(basename "$img")" -F qcow2 "$work/disk.qcow2" 4G
	: >"$log"
	t0=$SECONDS
	qemu-system-x86_64 -M q35 -accel "$accel" -cpu max -smp 2 -m 2G \
		-drive "file=$work/disk.qcow2,if=virtio,format=qcow2" \
		-drive "file=$work/seed.img,if=virtio,format=raw,readonly=on" \
		-nic user,model=virtio-net-pci -display none -serial "file:$log" -monitor none -no-reboot \
		</dev/null 2>"$work/qemu.err" &
	qpid=$!
	while [ $((SECONDS - t0)) -lt 900 ]; do
		if grep -aq '^BOOTCMP: done' "$log"; then verdict=finished; break; fi
		# a panicked guest never powers off: a failed round now, not after the timeout
		if grep -aq 'Kernel panic - not syncing' "$log"; then verdict=panicked; break; fi
		kill -0 $qpid 2>/dev/null || { verdict=exited; break; }
		sleep 1
	done
	# the guest powers off after its report
	[ "$verdict" = panicked ] || for _ in $(seq 60); do kill -0 $qpid 2>/dev/null || break; sleep 1; done
	kill $qpid 2>/dev/null
	wait $qpid 2>/dev/null
	printf '  BOOT     %-7s round %d: %s (%ds of wall time)\n' "$name" "$r" "$verdict" $((SECONDS - t0))
	[ "$verdict" = finished ] || { tr -d '\r' <"$log" | tail -n 20 | sed 's/^/    /'; return 1; }
}
echo "  BOOTS    $rounds rounds, ABBA order, $accel: $(basename "$ref_img") vs $(basename "$asios_img")"
fail=0
for r in $(seq "$rounds"); do
	if [ $((r % 2)) = 1 ]; then order="debian asios"; else order="asios debian"; fi
	for n in $order; do
		if [ "$n" = asios ]; then boot asios "$asios_img" "$r" || fail=1; else boot debian "$ref_img" "$r" || fail=1; fi
	done
done
rm -f "$work/disk.qcow2"
python3 benchmarks/boot/report.py --work "$work" --out "$out" --accel "$accel" \
	--asios-manifest "${asios_img%.qcow2}.manifest" --debian-manifest "${ref_img%.qcow2}.manifest" || fail=1
exit $fail
