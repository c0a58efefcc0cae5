#!/bin/sh
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
#
# What kernel lockdown takes from ASIOS, measured in the boot-test guest (busybox). Run by tests/vm/guest-init.sh:
# at the end of the regular boot (no lockdown: the baseline) and as asios.run=/security/lockdown-guest.sh in the
# boot with lockdown=integrity. Prints "ASIOS: value ld_NAME ok|ERRNO" for each access (tests/vm/lockdown-probe.c)
# and "ASIOS: value lockdown_mode ..."; tests/vm/test-boot-x86_64.sh judges them.
# The files are the ones ASIOS itself uses: the scheduler knob debug.sched.migration_cost_ns (libasios
# sched-knobs.c, written by asiosctl tune and asios-schedd), the kernel-managed IRQ affinity in irq/irqs/N (read
# by asios-irqd and asiosctl snapshot), the fair server's parameters (the tick test), tracefs (asios-schedd's
# observer, rtla), and modules (DKMS drivers).
d=$(dirname "$0")
p=$d/lockdown-probe
"$p"
dbg=/sys/kernel/debug
"$p" debugfs_sched_knob_read read $dbg/sched/migration_cost_ns
# 500000 ns is the kernel's default: the write changes nothing where it is allowed
"$p" debugfs_sched_knob_write write $dbg/sched/migration_cost_ns 500000
"$p" debugfs_fair_server_read read $dbg/sched/fair_server/cpu1/runtime
# a read-only (0444) debugfs file
"$p" debugfs_sched_debug_read read $dbg/sched/debug
for irq in "$dbg"/irq/irqs/*; do break; done
"$p" debugfs_irq_read read "$irq"
t=/sys/kernel/tracing
"$p" tracefs_tracer_write write $t/current_tracer nop
"$p" tracefs_event_enable write $t/events/timer/hrtimer_start/enable 1
"$p" tracefs_trace_read read $t/trace
echo 0 >$t/events/timer/hrtimer_start/enable 2>/dev/null
# modules under lockdown (without module.sig_enforce=1); the regular boot checks them itself (guest-init.sh)
mode=$(cat /sys/kernel/security/lockdown 2>/dev/null)
echo "ASIOS: value lockdown_mode ${mode:-no /sys/kernel/security/lockdown}"
if [ -n "$mode" ] && [ "${mode#*\[none\]}" = "$mode" ]; then
	"$p" module_unsigned insmod "$d/asios_sigtest-unsigned.ko"
	"$p" module_signed insmod "$d/asios_sigtest-signed.ko"
	"$p" module_signed_unload rmmod asios_sigtest
	echo "ASIOS: value sig_enforce $(cat /sys/module/module/parameters/sig_enforce)"
fi
