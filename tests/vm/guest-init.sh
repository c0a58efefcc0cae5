#!/bin/sh
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# /init of the boot-test initramfs (busybox). Runs the in-guest checks and powers off.
# Every result is one console line "ASIOS: ok|fail|value NAME [DETAIL]"; the last is "ASIOS: done".
# Kernel command line knobs: asios.tick_secs=N (default 10), asios.expect_release=STRING,
# asios.tick_workloads="busy osnoise osnoise1 sleepwake" (which workloads the tick test runs on CPU 1),
# asios.run=PROGRAM (run it instead of these checks, e.g. /numa/numa-guest.sh or
# /security/lockdown-guest.sh). The module signature checks and the lockdown baseline run when the host
# adds /security (tests/vm/test-boot-x86_64.sh).
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
mkdir -p /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null

arg() { # arg NAME DEFAULT: value of NAME=... on the kernel command line
	read -r cmdline </proc/cmdline
	for w in $cmdline; do
		case $w in "$1="*) echo "${w#*=}"; return ;; esac
	done
	echo "$2"
}
ok() { echo "ASIOS: ok $1"; }
fail() { echo "ASIOS: fail $1 $2"; }
val() { echo "ASIOS: value $1 $2"; }
expect() { # expect NAME CMD...
	n=$1; shift
	if "$@" >/dev/null 2>&1; then ok "$n"; else fail "$n" "($*)"; fi
}

# this shell and everything it starts stay on the housekeeping CPU 0; workloads pin themselves
taskset -p 1 $$ >/dev/null 2>&1

# asios.run=PROGRAM: another test's in-guest part (files added with tools/qemu-boot --extra) instead of these
run=$(arg asios.run "")
if [ -n "$run" ]; then
	echo "ASIOS: start $(uname -r) $(uname -m)"
	"$run"
	echo "ASIOS: done"
	sync
	poweroff -f
fi

echo "ASIOS: start $(uname -r) $(uname -m)"
val release "$(uname -r)"
want=$(arg asios.expect_release "")
if [ -n "$want" ]; then
	if [ "$(uname -r)" = "$want" ]; then ok release; else fail release "got $(uname -r), want $want"; fi
fi
expect version-string grep -q -- '-asios-' /proc/version
expect btf test -s /sys/kernel/btf/vmlinux
expect sched-ext-sysfs test -r /sys/kernel/sched_ext/state
val sched_ext_state "$(cat /sys/kernel/sched_ext/state 2>/dev/null)"
expect sched-ext-btf grep -q sched_ext_ops /sys/kernel/btf/vmlinux
expect cgroup2-cpuset grep -qw cpuset /sys/fs/cgroup/cgroup.controllers
expect numa-two-nodes test -d /sys/devices/system/node/node1
expect nohz-full-cpu1 grep -qx 1 /sys/devices/system/cpu/nohz_full
expect psi test -r /proc/pressure/cpu
expect osnoise-tracer grep -qw osnoise /sys/kernel/tracing/available_tracers
expect timerlat-tracer grep -qw timerlat /sys/kernel/tracing/available_tracers

# --- security modules: the order of security.config, AppArmor the only major one ---
lsms=$(cat /sys/kernel/security/lsm 2>/dev/null)
val lsm "$lsms"
for m in apparmor yama lockdown bpf; do
	case ",$lsms," in *",$m,"*) ok "lsm-$m" ;; *) fail "lsm-$m" "not in /sys/kernel/security/lsm ($lsms)" ;; esac
done
expect apparmor-enabled grep -qx Y /sys/module/apparmor/parameters/enabled

# --- module signatures: the host adds three copies of a test module (/security) and boots with
# module.sig_enforce=1; only the copy signed with the build's own key may load ---
m=/security/asios_sigtest
if [ -f $m-signed.ko ]; then
	val sig_enforce "$(cat /sys/module/module/parameters/sig_enforce 2>/dev/null)"
	expect module-sig-enforce grep -qx Y /sys/module/module/parameters/sig_enforce
	for k in unsigned foreign; do
		if e=$(insmod $m-$k.ko 2>&1); then
			fail "module-$k-refused" "insmod $m-$k.ko succeeded"
			rmmod asios_sigtest 2>/dev/null
		else
			ok "module-$k-refused"
		fi
		val "insmod_$k" "$e"
	done
	if e=$(insmod $m-signed.ko 2>&1) && grep -q '^asios_sigtest ' /proc/modules; then
		ok module-signed-loads
	else
		fail module-signed-loads "$e"
	fi
	val insmod_signed "${e:-loaded}: $(grep '^asios_sigtest ' /proc/modules)"
	if rmmod asios_sigtest 2>/dev/null && ! grep -q '^asios_sigtest ' /proc/modules; then
		ok module-signed-unloads
	else
		fail module-signed-unloads "still in /proc/modules"
	fi
fi

# --- tick test: local timer interrupts on the nohz_full CPU 1 while a workload runs there ---
loc1() { awk '$1 == "LOC:" { print $3 }' /proc/interrupts; }
secs=$(arg asios.tick_secs 10)
# why the tick stayed on: the tick_stop trace events of CPU 1 (dependency SCHED, RCU,
# CLOCK_UNSTABLE...), recorded in a tracing instance of its own
ti=/sys/kernel/tracing/instances/asios
if mkdir $ti 2>/dev/null; then
	echo 2 >$ti/tracing_cpumask
	echo 1 >$ti/events/timer/tick_stop/enable
fi
measure() { # measure NAME: LOC count of CPU 1 over $secs seconds
	sleep 1
	[ ! -d $ti ] || echo >$ti/trace
	a=$(loc1)
	sleep "$secs"
	b=$(loc1)
	val "ticks_$1" "$((b - a))"
	[ ! -d $ti ] || val "tickdep_$1" "$(sed -n 's/.*tick_stop: success=0 dependency=//p' $ti/trace | sort | uniq -c | tr -s ' \n' ' ')"
}
for w in $(arg asios.tick_workloads "busy osnoise osnoise1" | tr , ' '); do
	case $w in
	busy) # one CPU-bound user task
		taskset -c 1 sh -c 'while :; do :; done' &
		pid=$!
		measure busy
		kill $pid; wait $pid 2>/dev/null
		;;
	osnoise) # the osnoise tracer's workload as reported with the regression: a kernel thread busy for
		# the whole period on every CPU, the housekeeping CPU 0 included
		t=/sys/kernel/tracing
		echo 0-1 >$t/osnoise/cpus
		echo 1000000 >$t/osnoise/period_us
		echo 1000000 >$t/osnoise/runtime_us
		echo 0 >$t/osnoise/stop_tracing_us
		echo 0 >$t/osnoise/stop_tracing_total_us
		echo osnoise >$t/current_tracer
		measure osnoise
		echo nop >$t/current_tracer
		;;
	osnoise1) # the same, on the isolated CPU only (housekeeping CPU 0 idle)
		t=/sys/kernel/tracing
		echo 1 >$t/osnoise/cpus
		echo 1000000 >$t/osnoise/period_us
		echo 1000000 >$t/osnoise/runtime_us
		echo osnoise >$t/current_tracer
		measure osnoise1
		echo nop >$t/current_tracer
		;;
	sleepwake) # a task that sleeps and wakes (1 ms) next to nothing else: dl_server start/stop;
		# every wake-up is a timer interrupt of its own, so this one is reported, not judged
		taskset -c 1 sh -c 'while :; do usleep 1000; done' &
		pid=$!
		measure sleepwake
		kill $pid; wait $pid 2>/dev/null
		;;
	esac
done
if [ -r /sys/kernel/debug/sched/fair_server/cpu1/runtime ]; then
	val fair_server_cpu1 "$(cat /sys/kernel/debug/sched/fair_server/cpu1/runtime)/$(cat /sys/kernel/debug/sched/fair_server/cpu1/period)"
fi
val loc_all "$(grep LOC: /proc/interrupts | tr -s ' ')"
# the baseline of the lockdown measurement (this boot has no lockdown; tests/vm/lockdown-guest.sh)
[ ! -x /security/lockdown-guest.sh ] || /security/lockdown-guest.sh
echo "ASIOS: done"
sync
poweroff -f
