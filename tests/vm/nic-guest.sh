#!/bin/sh
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# In-guest part of the NIC domain test (run by tests/vm/guest-init.sh, booted by tests/vm/test-nic.sh, when the kernel command line says
# asios.run=/nic/nic-guest.sh). /nic holds asiosctl, asios-irqd and ethtool as built for the host, with the
# shared libraries they need in /nic/lib (run through its dynamic loader). On a netdevsim device, a driver that
# answers ethtool netlink as real ones do:
#   - `asiosctl nic apply` sets queues, rings and coalescing, read back by ethtool; `asiosctl nic revert` puts
#     them back;
#   - RPS: one queue for two cores spreads over both CPUs (read back from sysfs), and revert clears it;
#   - RFS with it: the queue's rps_flow_cnt and net.core.rps_sock_flow_entries set, and reverted;
#   - asios-irqd applies the plan at start; settings changed behind its back stay changed while nothing
#     happens (the control), and are set again when the link goes down and up, and when the device is
#     removed and created again (a driver reload);
#   - on the virtio NIC behind a PCI Express root port: the read-request size nic.conf asks for is written, and
#     as QEMU implements the field read-only, reported refused, the config bytes (the capability list walked here)
#     unchanged.
# Prints "ASIOS: ok|fail|value NAME [DETAIL]" lines like guest-init.sh.
PATH=/bin
ok() { echo "ASIOS: ok $1"; }
fail() { echo "ASIOS: fail $1 $2"; }
val() { echo "ASIOS: value $1 $2"; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "(expected $2, got $3)"; fi; }
ld=/nic/lib/ld-linux-x86-64.so.2
ctl() { $ld --library-path /nic/lib /nic/asiosctl "$@"; }
eth() { $ld --library-path /nic/lib /nic/ethtool "$@"; }
# the current value of ethtool's -l/-g line NAME (the second block), or of its -c word NAME
cur() { eth "$1" "$nic" | awk -v k="$2" '$1 == k { v = $2 } END { print v }'; }
adaptive() { eth -c "$nic" | awk '/^Adaptive RX:/ { print $3 "/" $5 }'; }
state() { echo "$(cur -l Combined:) $(cur -g RX:) $(cur -g TX:) $(adaptive)"; }
# wait up to $1 s for state() to read $2
wait_state() {
	i=0
	while [ "$(state)" != "$2" ] && [ $i -lt "$1" ]; do sleep 1; i=$((i + 1)); done
	state
}
mkdir -p /run/asios /tmp
# a netdevsim device with one port and 4 queues
new_device() {
	echo "1 1 4" >/sys/bus/netdevsim/new_device || return 1
	i=0
	while [ -z "$(ls /sys/bus/netdevsim/devices/netdevsim1/net/ 2>/dev/null)" ] && [ $i -lt 20 ]; do sleep 1; i=$((i + 1)); done
	nic=$(ls /sys/bus/netdevsim/devices/netdevsim1/net/ 2>/dev/null)
	[ -n "$nic" ] && ip link set "$nic" up
}
if new_device; then ok netdevsim-created; else fail netdevsim-created "(no interface)"; exit 0; fi
val interface "$nic"
before=$(state)
val before "$before"
# what the plan must reach: a queue per CPU (no CPU isolated, two cores), the largest rings up to 8192,
# adaptive moderation on
cores=$(grep -c ^processor /proc/cpuinfo)
rxmax=$(eth -g "$nic" | awk '$1 == "RX:" { print $2; exit }')
txmax=$(eth -g "$nic" | awk '$1 == "TX:" { print $2; exit }')
[ "$rxmax" -gt 8192 ] && rxmax=8192
[ "$txmax" -gt 8192 ] && txmax=8192
want="$cores $rxmax $txmax on/on"
val want "$want"
ctl nic plan >/tmp/plan.txt 2>&1
sed 's/^/ASIOS: value plan /' /tmp/plan.txt
if ctl nic apply >/tmp/apply.txt 2>&1; then ok apply; else fail apply "($(tail -n 1 /tmp/apply.txt))"; fi
check "applied-read-back-by-ethtool" "$want" "$(state)"
if ctl nic revert >/tmp/revert.txt 2>&1; then ok revert; else fail revert "($(tail -n 1 /tmp/revert.txt))"; fi
check "reverted-read-back-by-ethtool" "$before" "$(state)"
# RPS: with one queue for the two cores (nic.conf channels = 1), the queue's rps_cpus spreads over both CPUs;
# revert clears it and gives the 4 queues back
rps() { cat "/sys/class/net/$nic/queues/rx-0/rps_cpus"; }
printf '[throughput]\nchannels = 1\n' >/tmp/nic-rps.conf
rps_before=$(rps)
rfs() { echo "$(cat "/sys/class/net/$nic/queues/rx-0/rps_flow_cnt") $(cat /proc/sys/net/core/rps_sock_flow_entries)"; }
rfs_before=$(rfs)
rps_want=$(printf %x $(((1 << cores) - 1)))
if ctl nic apply --config /tmp/nic-rps.conf >/tmp/apply-rps.txt 2>&1; then ok apply-rps; else fail apply-rps "($(tail -n 1 /tmp/apply-rps.txt))"; fi
check "rps-one-queue-spread-over-the-cpus" "1 $rps_want" "$(cur -l Combined:) $(rps)"
# RFS with it (no isolated CPU in this guest): the queue's flow table and the sockets' table, 32768 entries
check "rfs-flow-tables-set" "32768 32768" "$(rfs)"
ctl nic revert >/tmp/revert-rps.txt 2>&1
check "rps-reverted" "$(echo "$before" | cut -d' ' -f1) $rps_before" "$(cur -l Combined:) $(rps)"
check "rfs-reverted" "$rfs_before" "$(rfs)"
# asios-irqd keeps it
$ld --library-path /nic/lib /nic/asios-irqd >/tmp/irqd.log 2>&1 &
irqd=$!
check "irqd-applies-at-start" "$want" "$(wait_state 120 "$want")"
eth -L "$nic" combined 3
eth -G "$nic" rx 512
changed=$(state)
sleep 5
check "control-changed-settings-stay-without-a-link-event" "$changed" "$(state)"
ip link set "$nic" down
ip link set "$nic" up
check "link-flap-reapplied" "$want" "$(wait_state 60 "$want")"
echo 1 >/sys/bus/netdevsim/del_device
new_device
check "driver-reload-reapplied" "$want" "$(wait_state 60 "$want")"
kill "$irqd" 2>/dev/null
wait "$irqd" 2>/dev/null
sed 's/^/ASIOS: value irqd /' /tmp/irqd.log | tail -n 25
# the read-request size on a real PCI Express function: the virtio NIC behind a root port (qemu-boot
# --device-node1 virtio-net), set by nic.conf's pcie.read_request and read back here from the config bytes
cfgbyte() { od -An -tu1 -j "$2" -N 1 "/sys/bus/pci/devices/$1/config" | tr -d ' '; }
mrrs() { # Max_Read_Request_Size of function $1 in bytes: the capability list walked here, not by asiosctl
	pos=$(($(cfgbyte "$1" 52) & 252)) n=0
	while [ "$pos" -ne 0 ] && [ $n -lt 48 ]; do
		if [ "$(cfgbyte "$1" $pos)" = 16 ]; then echo $((128 << (($(cfgbyte "$1" $((pos + 9))) >> 4) & 7))); return; fi
		pos=$(($(cfgbyte "$1" $((pos + 1))) & 252)) n=$((n + 1))
	done
	echo none
}
vnic=""
for n in /sys/class/net/*; do
	[ "$(basename "$(readlink -f "$n/device/driver")")" = virtio_net ] && vnic=$(basename "$n")
done
pf=$([ -n "$vnic" ] && basename "$(dirname "$(readlink -f "/sys/class/net/$vnic/device")")")
m0=$([ -n "$pf" ] && mrrs "$pf")
val pcie-function "${vnic:-none} ${pf:-none} ${m0:-none}"
if [ -n "$m0" ] && [ "$m0" != none ]; then
	ok pcie-virtio-nic-has-the-capability
	mwant=1024
	[ "$m0" != 1024 ] || mwant=256
	printf '[nic]
leave = %s
[throughput]
' "$nic" >/tmp/nic-pcie.conf
	for k in channels rings.rx rings.tx coalesce.adaptive_rx coalesce.adaptive_tx rps rfs; do
		echo "$k = leave" >>/tmp/nic-pcie.conf
	done
	echo "pcie.read_request = $mwant" >>/tmp/nic-pcie.conf
	if ctl nic apply --config /tmp/nic-pcie.conf >/tmp/apply-pcie.txt 2>&1; then ok apply-pcie; else fail apply-pcie "($(tail -n 1 /tmp/apply-pcie.txt))"; fi
	sed 's/^/ASIOS: value pcie apply /' /tmp/apply-pcie.txt
	# QEMU's PCI Express devices implement Max_Read_Request_Size read-only (their Device Control write mask has
	# only the error-reporting bits): the write is made, reads back unchanged, and the apply must say it was
	# refused rather than count it applied. A device that takes it would read back $mwant here.
	check "pcie-read-only-field-refused-not-claimed" "refused 1 $m0" \
		"$(grep -o 'refused [0-9]*' /tmp/apply-pcie.txt) $(mrrs "$pf")"
	if grep -q 'the device kept its value for' /tmp/apply-pcie.txt; then
		ok pcie-refusal-says-the-device-kept-it
	else
		fail pcie-refusal-says-the-device-kept-it "($(grep pcie /tmp/apply-pcie.txt))"
	fi
	ctl nic revert >/tmp/revert-pcie.txt 2>&1
	check "pcie-read-request-unchanged-after-revert" "$m0" "$(mrrs "$pf")"
else
	fail pcie-virtio-nic-has-the-capability "(no virtio NIC with a PCI Express capability)"
fi
# soft-RoCE and perftest, in the same boot
/nic/rdma-guest.sh
