#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# Capture a GPU machine as a test machine, in one short run as root on that machine:
#   tests/machines/capture-gpu.sh NAME OUTDIR [BINDIR]
# BINDIR holds static builds of asiosctl, latprobe and triad (default build/guest: `make guest-programs`).
# JITTER_S: seconds per jitter run (30). Writes into OUTDIR:
#   NAME.tar.gz           `asiosctl snapshot` of the machine (drop it in tests/machines/)
#   NAME.evidence.tar.gz  what the vendor's tools say of the same machine (nvidia-smi topo -m, -q, the GPU list),
#                         ASIOS's view of it live and on the capture, and the run-time isolation jitter runs
# Nothing here changes the GPU's settings. The isolation run applies `asiosctl isolate apply` (run-time part
# only: no boot line) and reverts it.
set -u
name=${1:?NAME}
out=${2:?OUTDIR}
bin=${3:-build/guest}
ev=$(mktemp -d)
mkdir -p "$out"
ctl=$bin/asiosctl
step() { printf '== %s (%ds)\n' "$*" "$SECONDS" | tee -a "$ev/steps.log"; }

step "machine"
{
	uname -a
	cat /proc/cmdline
	nproc
	cat /sys/devices/system/node/online 2>/dev/null || echo "no /sys/devices/system/node"
	head -n 30 /proc/cpuinfo
	ls /sys/bus/pci/devices 2>&1
	mount | grep -E 'cgroup|bpf|debugfs|tracefs'
	ls /sys/class/net /sys/class/infiniband 2>&1
	command -v lspci nvidia-smi cyclictest stress-ng python3
} >"$ev/machine.txt" 2>&1

step "vendor view"
nvidia-smi topo -m >"$ev/nvidia-smi-topo.txt" 2>&1
nvidia-smi -q >"$ev/nvidia-smi-q.txt" 2>&1
nvidia-smi --query-gpu=index,name,pci.bus_id,memory.total,driver_version,persistence_mode,mig.mode.current \
	--format=csv >"$ev/nvidia-smi-gpus.csv" 2>&1
lspci -tvnn >"$ev/lspci-tree.txt" 2>&1
cp /proc/interrupts "$ev/interrupts.txt"

step "snapshot"
"$ctl" snapshot -o "$out/$name.tar.gz" >"$ev/snapshot.log" 2>&1
echo "rc=$?" >>"$ev/snapshot.log"
cap=$(mktemp -d)
tar -xzf "$out/$name.tar.gz" -C "$cap" && root=$(echo "$cap"/*)

step "ASIOS live vs capture"
for verb in topology irq numa isolate block net nic gpu; do
	case $verb in topology) args=(--json) ;; *) args=(plan --json) ;; esac
	"$ctl" $verb "${args[@]}" >"$ev/live.$verb.json" 2>"$ev/live.$verb.err"
	"$ctl" $verb "${args[@]}" --root "$root" >"$ev/capture.$verb.json" 2>"$ev/capture.$verb.err"
	# the root folder and interrupt counts are allowed to differ
	if cmp -s <(grep -vE '"(root|total)"' "$ev/live.$verb.json") <(grep -vE '"(root|total)"' "$ev/capture.$verb.json")
	then r=same; else r=differs; fi
	echo "$verb: live and capture $r" | tee -a "$ev/steps.log"
done
"$ctl" topology >"$ev/live.topology.txt" 2>&1

slice=/sys/fs/cgroup/workload.slice
made=
# what systemd does when a unit starts in workload.slice: the slice, with the cpuset controller. Without
# isolation the probe runs in the root cgroup (where SCHED_FIFO is always allowed), isolated in the slice.
if [ ! -d $slice ] && grep -qw cpuset /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
	echo +cpuset >/sys/fs/cgroup/cgroup.subtree_control && mkdir $slice && made=1
fi

n=$(getconf _NPROCESSORS_ONLN)
jitter() { # LABEL CGROUP: latprobe on the last CPU for JITTER_S in CGROUP while every CPU runs a triad and a disk
	# writer runs where the script runs
	local label=$1 cg=$2 probe pids=()
	grep -E '^(CPU|LOC|RES|CAL|TLB)' /proc/interrupts >"$ev/irq.$label.before"
	(if [ -w "$cg/cgroup.procs" ]; then echo $BASHPID >"$cg/cgroup.procs"; fi
	 cat /proc/self/cgroup >"$ev/jitter.$label.cgroup"
	 exec "$bin/latprobe" --cpu $((n - 1)) --interval-us 100 --seconds "${JITTER_S:-30}" \
		>"$ev/jitter.$label.json" 2>&1) &
	probe=$!
	for ((c = 0; c < n; c++)); do
		"$bin/triad" --mib 64 --reps 100000 >/dev/null 2>&1 &
		pids+=($!)
	done
	(while :; do dd if=/dev/zero of=/tmp/asios-jitter bs=1M count=256 conv=fsync 2>/dev/null; done) &
	pids+=($!)
	wait "$probe"
	kill "${pids[@]}" 2>/dev/null
	wait 2>/dev/null
	rm -f /tmp/asios-jitter
	grep -E '^(CPU|LOC|RES|CAL|TLB)' /proc/interrupts >"$ev/irq.$label.after"
	echo "$label: $(cat "$ev/jitter.$label.json")" | tee -a "$ev/steps.log"
}

step "jitter: no isolation"
cat /sys/fs/cgroup/cgroup.subtree_control /proc/self/cgroup >"$ev/cgroups.txt" 2>&1
jitter none /sys/fs/cgroup

step "jitter: run-time isolation"
mkdir -p "$ev/etc/asios"
printf '[schedd]\nprofile = latency\nisolate = %d-%d\nboot = no\nsystem_affinity = no\n' $((n / 2)) $((n - 1)) \
	>"$ev/etc/asios/schedd.conf"
"$ctl" isolate explain --config "$ev/etc/asios/schedd.conf" >"$ev/isolate.explain.txt" 2>&1
"$ctl" isolate apply --config "$ev/etc/asios/schedd.conf" >"$ev/isolate.apply.txt" 2>&1
echo "isolate apply rc=$?" | tee -a "$ev/steps.log"
cat $slice/cpuset.cpus.partition $slice/cpuset.cpus.effective /proc/irq/default_smp_affinity \
	/sys/devices/virtual/workqueue/cpumask >"$ev/isolate.masks.txt" 2>&1
jitter asios $slice
"$ctl" isolate revert --config "$ev/etc/asios/schedd.conf" >"$ev/isolate.revert.txt" 2>&1
echo "isolate revert rc=$?" | tee -a "$ev/steps.log"
step "jitter: no isolation again (the spread between like runs)"
jitter none-again /sys/fs/cgroup
[ -z "$made" ] || rmdir $slice

step "done"
tar -czf "$out/$name.evidence.tar.gz" -C "$ev" .
rm -rf "$ev" "$cap"
ls -la "$out"
