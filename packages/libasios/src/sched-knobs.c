/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <stddef.h>

#include "asios/sched-plan.h"

/*
 * The scheduler knobs of the three profiles, as data: a value per profile (NULL leaves the knob as it is), a
 * short reason that plan actions carry and a long explanation that `asiosctl sched knobs` and docs/schedd.md
 * show. Values are the ones TuneD's latency-performance, realtime and cpu-partitioning profiles and the
 * kernel's own isolation documentation settle on; each line says why. AutoNUMA (kernel.numa_balancing) is not
 * here: asios-numad decides it per workload.
 */

#define T ASIOS_SCHED_THROUGHPUT
#define L ASIOS_SCHED_LATENCY
#define I ASIOS_SCHED_INFERENCE

static const struct asios_knob knobs[] = {
	{
		.name = "kernel.sched_autogroup_enabled",
		.path = "/proc/sys/kernel/sched_autogroup_enabled",
		.value = { [T] = "0", [L] = "0", [I] = "0" },
		.min = 0, .max = 1,
		.brief = "autogroup off: services share the CPU by their own weight, not per login session",
		.explain = "Autogroup puts every session (setsid) in its own scheduling group so that a desktop stays "
			   "responsive during a build. On a server each service is its own session, so a busy data "
			   "loader and the serving process end up equal whatever their nice values say.",
	},
	{
		.name = "kernel.sched_rt_runtime_us",
		.path = "/proc/sys/kernel/sched_rt_runtime_us",
		.value = { [L] = "-1" },
		.needs_isolation = true, .unsafe = true,
		.brief = "RT throttling off: a SCHED_FIFO polling thread on an isolated CPU is not stopped for 50 ms "
			 "every second",
		.explain = "By default real-time tasks may use 950 ms of every second per CPU; the kernel then runs "
			   "normal tasks for 50 ms. A busy-polling RT thread on an isolated CPU has nothing to yield "
			   "to, so the throttle only adds a 50 ms stall. Set only when CPUs are isolated: a runaway RT "
			   "task on a housekeeping CPU can then starve it, which is why the throughput and inference "
			   "profiles keep the default.",
	},
	{
		.name = "kernel.timer_migration",
		.path = "/proc/sys/kernel/timer_migration",
		.value = { [L] = "1", [I] = "1" },
		.needs_isolation = true,
		.brief = "timer migration on: unpinned timers of idle CPUs expire on a busy housekeeping CPU",
		.explain = "With timer migration the global (unpinned) timers of an idle CPU are run by another CPU "
			   "instead of waking it; nohz_full CPUs are kept out of the migration hierarchy, so their "
			   "timers go to housekeeping CPUs. TuneD's cpu-partitioning profile sets the same.",
	},
	{
		.name = "vm.stat_interval",
		.path = "/proc/sys/vm/stat_interval",
		.value = { [L] = "10", [I] = "10" },
		.min = 1, .max = 120,
		.brief = "per-CPU VM statistics folded every 10 s instead of every second: fewer vmstat work items on "
			 "busy CPUs",
		.explain = "Every stat_interval seconds each CPU with changed VM counters queues vmstat_update, a "
			   "per-CPU work item that interrupts whatever runs there. Ten seconds makes /proc/vmstat "
			   "coarser and removes nine of ten of those interruptions (TuneD realtime and cpu-partitioning "
			   "use 10).",
	},
	{
		.name = "kernel.nmi_watchdog",
		.path = "/proc/sys/kernel/nmi_watchdog",
		.value = { [L] = "0" },
		.unsafe = true,
		.brief = "hard-lockup detector off: its perf NMI fires on every CPU, isolated ones included",
		.explain = "The hard-lockup detector programs a perf counter on every CPU that raises an NMI every "
			   "few seconds. On a latency profile that NMI is a measurable spike on isolated CPUs; the "
			   "soft-lockup watchdog (kernel.watchdog_cpumask, limited to housekeeping CPUs) still runs. "
			   "The other profiles keep it: a lockup report is worth more than a few microseconds there.",
	},
	{
		.name = "kernel.sched_schedstats",
		.path = "/proc/sys/kernel/sched_schedstats",
		.value = { [T] = "0", [L] = "0", [I] = "0" },
		.min = 0, .max = 1,
		.brief = "scheduler statistics off: no accounting on every context switch",
		.explain = "Schedstats add bookkeeping to every enqueue, dequeue and switch. They are for debugging; "
			   "the eBPF observer of asios-schedd measures run-queue latency without them.",
	},
	{
		.name = "debug.sched.migration_cost_ns",
		.path = "/sys/kernel/debug/sched/migration_cost_ns",
		.value = { [T] = "5000000", [I] = "5000000" },
		.min = 0, .max = 50000000,
		.brief = "tasks count as cache-hot for 5 ms (default 0.5 ms): the load balancer moves them less",
		.explain = "A task that ran within migration_cost_ns is cache-hot and the load balancer prefers not to "
			   "move it. Long-running training and serving threads keep warm caches and TLBs longer with "
			   "5 ms (TuneD throughput-performance uses the same). Lives in debugfs: left alone when "
			   "debugfs is not mounted.",
	},
};

const struct asios_knob *asios_sched_knobs(size_t *n)
{
	*n = sizeof(knobs) / sizeof(knobs[0]);
	return knobs;
}

const char *asios_sched_profile_name(enum asios_sched_profile p)
{
	static const char *const names[] = { "throughput", "latency", "inference" };

	return p < _ASIOS_SCHED_PROFILE_MAX ? names[p] : "?";
}
