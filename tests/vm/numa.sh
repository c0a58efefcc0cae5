#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# NUMA placement in a real kernel: boot the `test` kernel under qemu (TCG) with two NUMA nodes, start a process
# whose memory is on node 0, run `asiosctl numa apply` (a static build) with a [workload] placing it on node 1,
# and check from /proc/PID/numa_maps that its pages moved; then revert. A second boot (no CPU isolated, so node
# 1 has a CPU for IRQs) adds a virtio-rng on node 1 whose MSI-X interrupt fires on CPU 0 (node 0) under reads
# of /dev/hwrng: `asiosctl irq apply --measure` places it on node 1, and its recorded effect (the cross-node
# share of device interrupts) must drop. TAP output, one line per guest check.
#   tests/vm/numa.sh [--bench]
# NUMA_KERNEL= a bzImage to boot (default: the test kernel of `make kernel-test` in ${O:-build}/kernel);
# NUMA_KERNEL_CONFIG= its .config (default: the test kernel's; none with NUMA_KERNEL=): the IRQ boot is skipped,
# saying why, when that file exists and builds no virtio-rng driver in (the `generic` flavour: a bare-metal
# kernel); without the file the boot runs and judges for itself (a missing .config is never a reason to skip).
# --bench runs the STREAM-style triad (local, remote, ASIOS-placed) instead and prints the numbers.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
. tests/lib.sh
mode='test'
[ "${1:-}" != --bench ] || mode=bench
O=${O:-build}
obj=$O/kernel/obj/test-amd64
kernel=${NUMA_KERNEL:-$obj/arch/x86/boot/bzImage}
if [ ! -f "$kernel" ]; then
	_report 1 "a test kernel to boot: $kernel is missing (make kernel-test, or NUMA_KERNEL=)"
	done_testing
	exit 1
fi
if ! make -s --no-print-directory O="$O" guest-programs >"$O/guest-build.log" 2>&1; then
	_report 1 "static guest programs build"
	sed 's/^/#   /' "$O/guest-build.log" | tail -n 20
	done_testing
	exit 1
fi
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/numa"
cp "$O/guest/asiosctl" "$O/guest/numa-hog" "$O/guest/triad" tests/vm/numa-guest.sh "$stage/numa/"
# the workloads belong on node 1 (standing in for their GPU's node); CPU 1 is nohz_full in this guest, so the
# workloads own it explicitly (cpus = 1)
cat >"$stage/numa/numad.conf" <<'CONF'
[numad]
autonuma = auto
[hugepages]
node1 = 4
[workload hog]
command = /numa/numa-hog*
node = 1
cpus = 1
[workload triad]
command = /numa/triad --cpu 0 --wait*
node = 1
cpus = 1
CONF
# boot MODE [qemu-boot options]: the guest's checks as TAP lines
boot() {
	local m=$1 log=$O/kernel/boot/numa-$1.log start=$SECONDS rc=0
	shift
	mkdir -p "$(dirname "$log")"
	tools/qemu-boot --arch amd64 --kernel "$kernel" --extra "$stage/numa" --timeout 600 --log "$log" "$@" \
		--append "asios.run=/numa/numa-guest.sh asios.numa_mode=$m" >"$O/kernel/boot/numa-$m.out" 2>&1 || rc=$?
	check_eq "$m: boots with two NUMA nodes, no BUG/WARNING/Oops, guest finished ($((SECONDS - start))s)" 0 "$rc"
	[ $rc = 0 ] || sed 's/^/#   /' "$O/kernel/boot/numa-$m.out" | tail -n 30
	guest_tap "$log"
}
boot "$mode"
config=${NUMA_KERNEL_CONFIG:-}
[ -n "$config" ] || [ -n "${NUMA_KERNEL:-}" ] || config=$obj/.config
if [ "$mode" = bench ]; then
	:
elif [ -f "$config" ] && ! grep -qx 'CONFIG_HW_RANDOM_VIRTIO=y' "$config"; then
	skip "irq: the IRQ of a virtio-rng on node 1 placed by asiosctl irq apply" \
		"this kernel has no virtio-rng driver built in (CONFIG_HW_RANDOM_VIRTIO, $config): the device would raise no interrupt"
else
	boot irq --isolate no --device-node1 virtio-rng
fi
done_testing
