#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# Boot the CPU-isolation guest (a library: source it; functions only).
#   isolation_boot KERNEL DATADIR LOG APPEND [TIMEOUT]
# KERNEL: a bzImage (the `test` flavour: ${O:-build}/kernel/obj/test-amd64/arch/x86/boot/bzImage);
# DATADIR: a folder with guest.sh (and whatever it needs), which the guest's init (tests/vm/isolation-rootfs.sh)
# mounts read-only at /isol and runs as `sh /isol/guest.sh` with its output on the serial console;
# LOG: the serial console log; APPEND: more kernel command line (e.g. "nohz_full=1,3"); TIMEOUT: seconds
# (default 900). The machine: qemu TCG, q35, 4 CPUs in 2 sockets and 2 NUMA nodes (node 0 = CPUs 0-1, node 1 =
# CPUs 2-3, 1 GiB each), the root file system ${O:-build}/isolation/rootfs.ext4 (ISOLATION_ROOTFS=) as
# /dev/vda in -snapshot mode (every boot starts from the same image), DATADIR as /dev/vdb, virtio-net with qemu's
# user networking (guest 10.0.2.15, gateway 10.0.2.2). Returns qemu's status (124/137: the timeout hit).

# isolation_boot KERNEL DATADIR LOG APPEND [TIMEOUT]
isolation_boot() {
	local kernel=$1 data=$2 log=$3 append=$4 timeout=${5:-900}
	local rootfs=${ISOLATION_ROOTFS:-${O:-build}/isolation/rootfs.ext4} dimg rc=0
	[ -f "$kernel" ] || { echo "isolation_boot: no kernel $kernel" >&2; return 2; }
	[ -f "$rootfs" ] || { echo "isolation_boot: no $rootfs (tests/vm/isolation-rootfs.sh)" >&2; return 2; }
	[ -d "$data" ] || { echo "isolation_boot: no folder $data" >&2; return 2; }
	dimg=$(mktemp "${TMPDIR:-/tmp}/isolation-data.XXXXXX") || return 2
	if ! mkfs.ext4 -q -F -L isol -d "$data" "$dimg" 64M >"$dimg.log" 2>&1; then
		cat "$dimg.log" >&2
		rm -f "$dimg" "$dimg.log"
		return 2
	fi
	mkdir -p "$(dirname "$log")"
	timeout --foreground -k 5 "$timeout" qemu-system-x86_64 -M q35 -cpu max -accel tcg \
		-smp 4,sockets=2,cores=2,threads=1 -m 2G \
		-object memory-backend-ram,id=m0,size=1G -object memory-backend-ram,id=m1,size=1G \
		-numa node,nodeid=0,cpus=0-1,memdev=m0 -numa node,nodeid=1,cpus=2-3,memdev=m1 \
		-snapshot -drive "file=$rootfs,format=raw,if=virtio,index=0" \
		-drive "file=$dimg,format=raw,if=virtio,index=1" \
		-netdev user,id=n0 -device virtio-net-pci,netdev=n0 \
		-kernel "$kernel" \
		-append "console=ttyS0 tsc=reliable root=/dev/vda rw init=/sbin/asios-isol-init panic=-1 loglevel=4 $append" \
		-display none -serial "file:$log" -monitor none -no-reboot </dev/null || rc=$?
	rm -f "$dimg" "$dimg.log"
	return "$rc"
}
