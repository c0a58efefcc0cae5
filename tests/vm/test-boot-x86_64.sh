#!/bin/bash
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# Build the `test` flavour kernel (x86_64) and boot it under qemu (TCG) with the in-guest checks:
# release string, BTF, sched_ext, cgroup v2 cpusets, NUMA, tracers, and the tick test on the
# nohz_full CPU; then the NUMA placement test (tests/vm/numa.sh) on the same kernel. Fails on BUG:/WARNING:/Oops/panic/hung boot (tools/qemu-boot).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
kout=build/kernel
mkdir -p "$kout"
# at most this many local timer interrupts per second on the isolated CPU (HZ is 250)
max_per_sec=5
# at most this many tick restarts for a scheduler reason (tick dependency SCHED) over the run
max_sched_deps=2
secs=10

if [ "$(dpkg --print-architecture)" != amd64 ]; then
	echo "ok 1 - # SKIP x86_64 boot test runs on amd64 hosts (make check-vm-all for the others)"
	echo "1..1"
	exit 0
fi
start=$SECONDS
if tools/kernel-build --out "$kout" --flavour test --arch amd64 >"$kout/test-build.log" 2>&1; then
	_report 0 "test kernel builds ($((SECONDS - start))s)"
else
	_report 1 "test kernel builds"
	tail -n 30 "$kout/test-build.log" | sed 's/^/#   /'
	done_testing
	exit 1
fi
sed 's/^/# /' "$kout/test-build.log" | grep -E 'BUILD|DONE'
obj=$kout/obj/test-amd64
log=$kout/boot/amd64.log
start=$SECONDS
tools/qemu-boot --arch amd64 --kernel "$obj/arch/x86/boot/bzImage" --release "$(cat "$obj/include/config/kernel.release")" \
	--timeout 600 --log "$log" >"$kout/test-boot.log" 2>&1
rc=$?
check_eq "boots, no BUG/WARNING/Oops/panic, guest finished ($((SECONDS - start))s)" 0 "$rc"
[ $rc = 0 ] || sed 's/^/#   /' "$kout/test-boot.log" | tail -n 40
# one TAP line per in-guest check
while read -r _ state name rest; do
	case $state in
	ok) _report 0 "guest: $name" ;;
	fail) _report 1 "guest: $name"; echo "#   $rest" ;;
	esac
done < <(tr -d '\r' <"$log" | grep -a -E '^ASIOS: (ok|fail) ')
for w in busy osnoise osnoise1; do
	n=$(tr -d '\r' <"$log" | sed -n "s/^ASIOS: value ticks_$w \([0-9]*\).*/\1/p")
	if [ -n "$n" ] && [ "$n" -le $((max_per_sec * secs)) ]; then
		_report 0 "tick test ($w): $n local timer interrupts on nohz_full CPU 1 in ${secs}s"
	else
		_report 1 "tick test ($w): ${n:-no} local timer interrupts on nohz_full CPU 1 in ${secs}s (max $((max_per_sec * secs)))"
	fi
	# the scheduler must not restart the tick: without patches/isolation/sched-deadline-charge-*
	# the fair server does so once a second (tick_stop events with dependency SCHED)
	d=$(tr -d '\r' <"$log" | sed -n "s/^ASIOS: value tickdep_$w //p")
	s=$(printf '%s\n' "$d" | sed -n 's/.*\b\([0-9][0-9]*\) SCHED\b.*/\1/p')
	if [ "${s:-0}" -le "$max_sched_deps" ]; then
		_report 0 "tick test ($w): scheduler kept the tick on ${s:-0} times in ${secs}s"
	else
		_report 1 "tick test ($w): scheduler kept the tick on $s times in ${secs}s (max $max_sched_deps; the fair server fix missing?)"
	fi
done
# the same kernel: a process's pages moved to its node by asiosctl numa apply (tests/vm/numa.sh, ~20 s)
while read -r line; do
	case $line in
	"ok "*) _report 0 "numa: ${line#ok * - }" ;;
	"not ok "*) _report 1 "numa: ${line#not ok * - }" ;;
	"#"*) echo "$line" ;;
	esac
done < <(O=${O:-build} NUMA_KERNEL="$obj/arch/x86/boot/bzImage" tests/vm/numa.sh 2>&1)
done_testing
