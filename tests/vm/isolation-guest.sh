#!/bin/sh
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# In-guest part of the isolation test (tests/vm/test-isolation.sh), run as /isol/guest.sh by the root file
# system's init (tests/vm/isolation-rootfs.sh). /isol holds a static asiosctl, schedd.conf, irqd.conf and the
# kernel's configuration (installed as /boot/config-RELEASE, as a kernel package does). The kernel
# command line says what to do, asios.isol=MODE:
#   stock        no isolation: load, then watch
#   tuned-plan   TuneD's cpu-partitioning started: print the command line its bootloader plugin wants
#   tuned        booted with that command line: TuneD started again (its run-time part), load, watch
#   asios-plan   `asiosctl isolate apply`: print the command line of the GRUB snippet it writes
#   asios        booted with that command line: `asiosctl isolate apply` (run-time part) and `asiosctl irq
#                apply`, the pollers in the workload slice, load, watch
# asios.isol_cpus= the isolated CPUs (TuneD's isolated_cores, the CPUs watched; schedd.conf isolates the same),
# asios.isol_secs= the watch, asios.isol_skip=irq leaves out `asiosctl irq apply` (the test must fail then).
# The same load in every mode, started after the tuning, unpinned (each tool keeps it off the isolated CPUs
# its own way): a busy-polling loop pinned to each isolated CPU, and stress-ng on the machine (CPU, timers,
# disk I/O with fsync) with a ping flood over virtio-net. Prints "ASIOS: ok|fail|value NAME [DETAIL]" lines,
# "ASIOS: cmdline MODE ARGS" in the plan modes, and the watch's JSON between ASIOS-JSON-BEGIN and -END.
# shellcheck disable=SC3043 # local: dash and busybox sh have it
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
ok() { echo "ASIOS: ok $1"; }
fail() { echo "ASIOS: fail $1 ${2:-}"; }
val() { echo "ASIOS: value $1 $2"; }
arg() {
	local w cmdline
	read -r cmdline </proc/cmdline
	for w in $cmdline; do
		case $w in "$1="*) echo "${w#*=}"; return ;; esac
	done
	echo "$2"
}
mode=$(arg asios.isol stock)
iso=$(arg asios.isol_cpus 1,3)
secs=$(arg asios.isol_secs 60)
skip=$(arg asios.isol_skip none)
ctl=/isol/asiosctl
cg=/sys/fs/cgroup
[ ! -f /isol/config ] || cp /isol/config "/boot/config-$(uname -r)"
val mode "$mode"
val cmdline "$(cat /proc/cmdline)"

# TuneD without D-Bus or systemd, in the background; returns once the profile is applied
tuned_start() {
	local t=0
	printf 'isolated_cores=%s\n' "$iso" >/etc/tuned/cpu-partitioning-variables.conf
	tuned --no-dbus -l /tmp/tuned.log -p cpu-partitioning >/dev/null 2>&1 &
	while ! grep -q "static tuning from profile 'cpu-partitioning' applied" /tmp/tuned.log 2>/dev/null; do
		sleep 1
		t=$((t + 1))
		if [ $t -ge 600 ]; then
			fail tuned-applied "(no 'applied' line in its log after 600 s)"
			tail -n 20 /tmp/tuned.log
			return 1
		fi
	done
	ok tuned-applied
	val tuned-seconds "$t"
	if grep -E ' (ERROR|WARNING) ' /tmp/tuned.log | grep -v 'grub\|bootloader\|GRUB\|irqbalance'; then
		echo "ASIOS: note TuneD's errors and warnings above"
	fi
}

asios_apply() {
	mkdir -p "$cg/workload.slice"
	echo +cpuset >"$cg/cgroup.subtree_control"
	if "$ctl" isolate apply --config /isol/schedd.conf --config-dir /isol/none >/tmp/isolate.out 2>&1; then
		ok asios-isolate-apply
	else
		fail asios-isolate-apply
		cat /tmp/isolate.out
		return 1
	fi
	grep -E '^(applied|refused|rolled)' /tmp/isolate.out
}

# the command line the plan modes found
plan_tuned() {
	tuned_start || return 1
	# shellcheck disable=SC1091 # TuneD's file, written in the guest
	. /etc/tuned/bootcmdline
	echo "ASIOS: cmdline tuned ${TUNED_BOOT_CMDLINE:-}"
}
plan_asios() {
	mkdir -p /etc/default/grub.d
	asios_apply || return 1
	"$ctl" isolate explain --config /isol/schedd.conf --config-dir /isol/none
	# shellcheck disable=SC1091 # the snippet asiosctl isolate apply wrote
	GRUB_CMDLINE_LINUX_DEFAULT='' . /etc/default/grub.d/asios-isolation.cfg
	echo "ASIOS: cmdline asios ${GRUB_CMDLINE_LINUX_DEFAULT:-}"
}

# one busy-polling loop per isolated CPU (in CGROUP), then the machine's load
load_start() {
	local c
	for c in $(echo "$iso" | tr , " "); do
		sh -c "echo \$\$ >$1/cgroup.procs && exec taskset -c $c sh -c 'while :; do :; done'" &
		echo "$c $!" >>/tmp/pollers
	done
	mkdir -p /var/tmp/stress
	stress-ng --cpu 2 --timer 1 --timer-freq 1000 --hdd 1 --hdd-bytes 4M --hdd-opts fsync \
		--temp-path /var/tmp/stress --timeout $((secs + 60)) >/tmp/stress.log 2>&1 &
	ping -q -i 0.01 10.0.2.2 >/tmp/ping.log 2>&1 &
	echo $! >/tmp/ping.pid
	sleep 5
}

# utime (field 14) and last CPU (field 39) of PID, in clock ticks
pstat() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12, $37 }'; }

watch() {
	local c pid u0 u1 cpu hz
	hz=$(getconf CLK_TCK)
	while read -r c pid; do echo "$c $pid $(pstat "$pid")"; done </tmp/pollers >/tmp/pollers.0
	echo ASIOS-JSON-BEGIN
	"$ctl" sched watch --seconds "$secs" --cpus "$iso" --json
	echo ASIOS-JSON-END
	# isolated, the pollers ran on their CPUs all along (no disturbance must not mean nothing ran there)
	while read -r c pid u0 _; do
		pstat "$pid" >/tmp/pstat
		read -r u1 cpu </tmp/pstat
		val "poller-cpu$c-user-share" "$(awk -v a="$u0" -v b="$u1" -v s="$secs" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / (s * hz) }')"
		if [ "$mode" = stock ]; then
			: # shares its CPU with the load: reported, not judged
		elif [ "$cpu" = "$c" ] && [ $((u1 - u0)) -ge $((secs * hz * 8 / 10)) ]; then
			ok "poller-ran-on-cpu$c"
		else
			fail "poller-ran-on-cpu$c" "(on CPU $cpu, $((u1 - u0)) ticks of user time in $secs s)"
		fi
	done </tmp/pollers.0
	kill -INT "$(cat /tmp/ping.pid)"
	sleep 1
	val ping "$(grep -E 'packets transmitted' /tmp/ping.log)"
	grep -E 'ERROR|FAIL' /tmp/stress.log | head -n 5
}

case $mode in
stock)
	load_start "$cg"
	watch
	;;
tuned-plan) plan_tuned ;;
tuned)
	tuned_start
	load_start "$cg"
	watch
	;;
asios-plan) plan_asios ;;
asios)
	asios_apply
	if [ "$skip" = irq ]; then
		echo "ASIOS: note asios.isol_skip=irq: asiosctl irq apply left out"
	elif "$ctl" irq apply --config /isol/irqd.conf --config-dir /isol/none >/tmp/irq.out 2>&1; then
		ok asios-irq-apply
		grep -E '^(applied|refused|rolled)' /tmp/irq.out
	else
		fail asios-irq-apply
		cat /tmp/irq.out
	fi
	load_start "$cg/workload.slice"
	watch
	;;
*) fail mode "(unknown asios.isol=$mode)" ;;
esac
echo "ASIOS: done"
