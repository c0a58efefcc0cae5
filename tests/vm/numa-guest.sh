#!/bin/sh
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# In-guest part of the NUMA test and benchmark (run by tests/vm/guest-init.sh when the kernel command line says
# asios.run=/numa/numa-guest.sh). The files sit in /numa: a static asiosctl, numa-hog, triad, numad.conf.
# asios.numa_mode=test (default): a process with its memory on node 0 is placed on node 1 by
# `asiosctl numa apply`; its numa_maps must show the pages moved, then revert.
# asios.numa_mode=bench: STREAM-style triad pinned local, remote, and placed by asiosctl.
# asios.numa_mode=irq (booted with no CPU isolated and a virtio-rng on node 1): its IRQ placed on node 1 by
# `asiosctl irq apply --measure`, and the effect recorded (cross-node share of device interrupts) drops.
# Prints "ASIOS: ok|fail|value NAME [DETAIL]" lines like guest-init.sh.
PATH=/bin
ok() { echo "ASIOS: ok $1"; }
fail() { echo "ASIOS: fail $1 $2"; }
val() { echo "ASIOS: value $1 $2"; }
arg() {
	read -r cmdline </proc/cmdline
	for w in $cmdline; do
		case $w in "$1="*) echo "${w#*=}"; return ;; esac
	done
	echo "$2"
}
# anonymous KiB per node of PID: "N0 N1"
nodes() {
	awk '/anon=/ { ps = 4; for (i = 1; i <= NF; i++) if ($i ~ /^kernelpagesize_kB=/) { split($i, k, "="); ps = k[2] }
		for (i = 1; i <= NF; i++) if ($i ~ /^N[0-9]+=/) { split(substr($i, 2), v, "="); kb[v[1]] += v[2] * ps } }
		END { printf "%d %d\n", kb[0], kb[1] }' "/proc/$1/numa_maps"
}
mask() { taskset -p "$1" | sed 's/.*: //'; }
hp=/sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages
ctl=/numa/asiosctl
conf=/numa/numad.conf

test_placement() {
	if [ -r /proc/sys/kernel/numa_balancing ]; then ok kernel-numa-balancing; else fail kernel-numa-balancing "(no /proc/sys/kernel/numa_balancing: CONFIG_NUMA_BALANCING off)"; fi
	if [ -r $hp ]; then ok kernel-hugetlb-per-node; else fail kernel-hugetlb-per-node "($hp missing)"; fi
	echo 1 >/proc/sys/kernel/numa_balancing 2>/dev/null
	mkfifo /tmp/hog
	taskset -c 0 /numa/numa-hog 64 >/tmp/hog &
	pid=$!
	read -r _ </tmp/hog
	# shellcheck disable=SC2046 # two numbers
	set -- $(nodes $pid)
	val numa_before "pid $pid node0 ${1}KiB node1 ${2}KiB cpus mask $(mask $pid)"
	if [ "$1" -ge 60000 ]; then ok memory-starts-on-node0; else fail memory-starts-on-node0 "(node0 $1 KiB, node1 $2 KiB)"; fi
	$ctl numa plan --config $conf | sed 's/^/ASIOS: value plan /'
	# the policy also where asiosctl status reads it; --measure: 2 s of the remote share before the apply
	mkdir -p /etc/asios && cp $conf /etc/asios/numad.conf
	if $ctl numa apply --measure 2 --config $conf >/tmp/apply 2>&1; then ok numa-apply; else fail numa-apply "($(tr '\n' ' ' </tmp/apply))"; fi
	sed 's/^/ASIOS: value apply /' /tmp/apply
	sleep 1
	$ctl status >/tmp/status 2>&1
	sed 's/^/ASIOS: value status /' /tmp/status
	# "numa yes PENDING APPLIES APPLIED REFUSED ROLLBACKS LAST METRIC BEFORE (Ns) -> AFTER (Ns)"
	if awk '$1 == "numa" && $9 == "workload_remote_memory_share" && $10 >= 0.9 && $14 <= 0.1 { f = 1 } END { exit !f }' /tmp/status
	then ok numa-effect-recorded; else fail numa-effect-recorded "(status: $(grep '^numa' /tmp/status))"; fi
	# shellcheck disable=SC2046 # two numbers
	set -- $(nodes $pid)
	val numa_after "pid $pid node0 ${1}KiB node1 ${2}KiB cpus mask $(mask $pid)"
	if [ "$2" -ge $((($1 + $2) * 9 / 10)) ] && [ "$2" -ge 60000 ]; then ok pages-moved-to-node1; else fail pages-moved-to-node1 "(node0 $1 KiB, node1 $2 KiB)"; fi
	if [ "$(mask $pid)" = 2 ]; then ok affinity-node1; else fail affinity-node1 "(mask $(mask $pid))"; fi
	if [ "$(cat $hp)" = 4 ]; then ok hugepages-node1; else fail hugepages-node1 "($(cat $hp))"; fi
	if [ "$(cat /proc/sys/kernel/numa_balancing)" = 0 ]; then ok autonuma-off; else fail autonuma-off "($(cat /proc/sys/kernel/numa_balancing))"; fi
	if $ctl numa plan --config $conf | grep -q '^0 changes'; then ok replan-empty; else fail replan-empty "($($ctl numa plan --config $conf | tr '\n' ' '))"; fi
	$ctl numa revert >/tmp/revert 2>&1
	sed 's/^/ASIOS: value revert /' /tmp/revert
	if [ "$(mask $pid)" = 1 ] && [ "$(cat $hp)" = 0 ] && [ "$(cat /proc/sys/kernel/numa_balancing)" = 1 ]; then
		ok revert
	else
		fail revert "(mask $(mask $pid), hugepages $(cat $hp), numa_balancing $(cat /proc/sys/kernel/numa_balancing))"
	fi
	kill $pid
}

# the MSI IRQs of the virtio device on node 1 (tools/qemu-boot --device-node1), by PCI address
virtio_node1() {
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor")" = 0x1af4 ] && [ "$(cat "$d/numa_node")" = 1 ] && [ -d "$d/msi_irqs" ] && echo "${d##*/}"
	done
}

# interrupts of IRQ $1 on CPU 0 and CPU 1: "N0 N1"
irq_counts() { awk -v i="$1:" '$1 == i { print $2, $3 }' /proc/interrupts; }

test_irq() {
	dev=$(virtio_node1 | head -n 1)
	if [ -n "$dev" ]; then ok irq-device-on-node1; else fail irq-device-on-node1 "(no virtio PCI device with MSI on node 1: $(cd /sys/bus/pci/devices && echo *))"; return; fi
	irqs=$(cd "/sys/bus/pci/devices/$dev/msi_irqs" && echo *)
	val irq_device "$dev node 1 MSI IRQs $irqs"
	# where the kernel may well have put them: CPU 0, node 0 (the start state, made certain)
	for i in $irqs; do echo 1 >"/proc/irq/$i/smp_affinity"; done
	# interrupts on demand: the virtio-rng answers each read of /dev/hwrng with one
	( while :; do dd if=/dev/hwrng of=/dev/null bs=16 count=64 2>/dev/null; done ) &
	load=$!
	sleep 1
	mkdir -p /etc/asios
	printf '[device %s]\ncpus = 1\n' "$dev" >/etc/asios/irqd.conf
	$ctl irq plan | sed 's/^/ASIOS: value irq-plan /'
	last=$(echo "$irqs" | awk '{ print $NF }')
	val irq_counts_before "IRQ $last CPU0 CPU1: $(irq_counts "$last")"
	if $ctl irq apply --measure 2 >/tmp/apply 2>&1; then ok irq-apply; else fail irq-apply "($(tr '\n' ' ' </tmp/apply))"; fi
	sed 's/^/ASIOS: value irq-apply /' /tmp/apply
	sleep 2
	kill $load
	val irq_counts_after "IRQ $last CPU0 CPU1: $(irq_counts "$last")"
	placed=$(for i in $irqs; do cat "/proc/irq/$i/smp_affinity_list"; done | sort -u | tr '\n' ' ')
	if [ "$placed" = "1 " ]; then ok irq-placed-on-node1; else fail irq-placed-on-node1 "(affinities: $placed)"; fi
	$ctl status >/tmp/status 2>&1
	sed 's/^/ASIOS: value status /' /tmp/status
	# "irq yes PENDING APPLIES APPLIED REFUSED ROLLBACKS LAST METRIC BEFORE (Ns) -> AFTER (Ns)"
	if awk '$1 == "irq" && $9 == "cross_node_irq_share" && $10 >= 0.9 && $14 <= 0.1 { f = 1 } END { exit !f }' /tmp/status
	then ok irq-effect-recorded; else fail irq-effect-recorded "(status: $(grep '^irq' /tmp/status))"; fi
	$ctl irq revert >/tmp/revert 2>&1
	if [ "$(cat "/proc/irq/$last/smp_affinity_list")" = 0 ]; then ok irq-revert; else fail irq-revert "($(cat "/proc/irq/$last/smp_affinity_list"); $(tr '\n' ' ' </tmp/revert))"; fi
}

bench() {
	echo 0 >/proc/sys/kernel/numa_balancing 2>/dev/null
	l=$(/numa/triad --cpu 1 --mem-node 1 | awk '{ print $2 }')
	r=$(/numa/triad --cpu 1 --mem-node 0 | awk '{ print $2 }')
	mkfifo /tmp/tr
	/numa/triad --cpu 0 --wait >/tmp/tr &
	pid=$!
	exec 3</tmp/tr
	read -r _ <&3
	$ctl numa apply --config $conf >/dev/null 2>&1 || fail bench-apply ""
	# shellcheck disable=SC2046 # two numbers
	set -- $(nodes $pid)
	val triad_placed_nodes "node0 ${1}KiB node1 ${2}KiB cpus mask $(mask $pid)"
	kill -USR1 $pid
	read -r line <&3
	p=$(echo "$line" | awk '{ print $2 }')
	wait $pid
	val triad_local_mbs "$l"
	val triad_remote_mbs "$r"
	val triad_placed_mbs "$p"
	val triad_ratios "remote/local $(awk "BEGIN { printf \"%.2f\", $r / $l }") placed/local $(awk "BEGIN { printf \"%.2f\", $p / $l }")"
	$ctl numa revert >/dev/null 2>&1
}

case $(arg asios.numa_mode test) in
bench) bench ;;
irq) test_irq ;;
*) test_placement ;;
esac
