#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# The NIC domain against a real driver's ethtool interface: boot the `test` kernel under qemu (TCG, 2 CPUs, none
# isolated) with netdevsim built in, and run tests/vm/nic-guest.sh there: `asiosctl nic apply` and `revert`
# read back by ethtool(8), asios-irqd applying at start and again after a link flap and a driver reload (with
# a control showing that nothing else sets them back). The guest runs the programs of the build in $O
# ($O/asiosctl, $O/asios-irqd: the sanitizer build under `make check`) and the host's ethtool, with their shared
# libraries and loader copied in. TAP output, one line per guest check.
# A virtio NIC behind a PCI Express root port (qemu-boot --device-node1 virtio-net) is a real PCI Express function:
# nic.conf's pcie.read_request is written to it; QEMU implements the field read-only, so the guest script reads
# the config bytes back unchanged and the apply must report the write refused.
# Then soft-RoCE (tests/vm/rdma-guest.sh): rxe devices on a veth pair, found by ASIOS's RDMA discovery, and
# perftest's ib_write_bw and ib_send_lat between them across the pair.
#   tests/vm/test-nic.sh   NIC_KERNEL= a bzImage to boot (default: the test kernel in $O/kernel, built when
#                          missing, as tests/vm/test-isolation.sh does)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
. tests/lib.sh
O=${O:-build}
kernel=${NIC_KERNEL:-$O/kernel/obj/test-amd64/arch/x86/boot/bzImage}
if [ "$(dpkg --print-architecture)" != amd64 ]; then
	echo "ok 1 - # SKIP the NIC guest test boots an x86_64 kernel"
	echo "1..1"
	exit 0
fi
mkdir -p "$O/kernel/boot"
t0=$SECONDS
if [ -z "${NIC_KERNEL:-}" ] && ! tools/kernel-build --out "$O/kernel" --flavour test --arch amd64 >"$O/kernel/boot/nic-kernel.log" 2>&1; then
	_report 1 "the test kernel builds (log $O/kernel/boot/nic-kernel.log)"
	tail -n 20 "$O/kernel/boot/nic-kernel.log" | sed 's/^/#   /'
	done_testing
	exit 1
fi
echo "# kernel: $kernel ($((SECONDS - t0)) s)"
# the soft-RoCE part: iproute2's ip and rdma, perftest, libibverbs' rxe provider (tests/vm/rdma-guest.sh)
progs="$O/asiosctl $O/asios-irqd /usr/sbin/ethtool /usr/sbin/ip /usr/bin/rdma /usr/bin/ib_write_bw /usr/bin/ib_send_lat"
rxe=/usr/lib/x86_64-linux-gnu/libibverbs/librxe-rdmav34.so
missing=""
for p in $progs $rxe; do [ -e "$p" ] || missing="$missing $p"; done
if [ -n "$missing" ]; then
	_report 1 "programs for the guest:$missing missing (make all; make deps for ethtool)"
	done_testing
	exit 1
fi
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/nic/lib" "$stage/nic/rdma"
# each program by its name, but rdma(8) as rdma-tool (/nic/rdma holds the provider)
for p in $progs; do
	n=$(basename "$p")
	[ "$n" != rdma ] || n=rdma-tool
	cp "$p" "$stage/nic/$n"
done
cp tests/vm/nic-guest.sh tests/vm/rdma-guest.sh "$stage/nic/"
cp "$rxe" "$stage/nic/rdma/"
# every shared library they load, and the loader itself, flat in /nic/lib
for p in $progs $rxe; do
	ldd "$p" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
done | sort -u | while read -r lib; do cp -L "$lib" "$stage/nic/lib/"; done
if [ ! -e "$stage/nic/lib/ld-linux-x86-64.so.2" ]; then
	_report 1 "the dynamic loader for the guest (ld-linux-x86-64.so.2) was not found by ldd"
	done_testing
	exit 1
fi
log=$O/kernel/boot/nic.log
mkdir -p "$(dirname "$log")"
start=$SECONDS
rc=0
tools/qemu-boot --arch amd64 --kernel "$kernel" --extra "$stage/nic" --isolate no --timeout 900 --log "$log" \
	--device-node1 virtio-net \
	--append "asios.run=/nic/nic-guest.sh" >"$O/kernel/boot/nic.out" 2>&1 || rc=$?
check_eq "boots with netdevsim, no BUG/WARNING/Oops, guest finished ($((SECONDS - start))s)" 0 "$rc"
[ $rc = 0 ] || sed 's/^/#   /' "$O/kernel/boot/nic.out" | tail -n 30
guest_tap "$log"
done_testing
