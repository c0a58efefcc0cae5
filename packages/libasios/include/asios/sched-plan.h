/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * CPU isolation and scheduler tuning (asios-schedd, asiosctl isolate|sched).
 *
 * Layout: asios_sched_layout() splits the online CPUs into housekeeping and isolated sets from the policy
 * (isolate = auto: N housekeeping cores per NUMA node; or an explicit list), whole cores only, CPU 0's core
 * always housekeeping. Observe: asios_sched_observe() reads what the plan compares with under the root prefix:
 * the scheduler and isolation knobs, workqueue and IRQ masks, unbound kernel threads, the workload cgroup,
 * the grub.d snippet and system.conf.d drop-in, and a running TuneD. Plan: asios_sched_plan() is pure:
 * snapshot + observation + policy → plan (file writes, kernel thread affinities, whole files), every action and
 * skip with its reason. The policy comes from /etc/asios/schedd.conf and schedd.conf.d/.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "asios/config.h"
#include "asios/plan.h"
#include "asios/domain.h"
#include "asios/snapshot.h"

enum asios_sched_profile {
	ASIOS_SCHED_THROUGHPUT,  /* batch training, data loading: fewer migrations, fewer preemptions */
	ASIOS_SCHED_LATENCY,     /* busy-polling and real-time threads on isolated CPUs */
	ASIOS_SCHED_INFERENCE,   /* serving: request threads next to warm caches, quiet isolated CPUs */
	_ASIOS_SCHED_PROFILE_MAX,
};
_Static_assert(_ASIOS_SCHED_PROFILE_MAX <= ASIOS_KNOB_CLASSES, "a knob holds a value per profile");

enum asios_isolate_mode {
	ASIOS_ISOLATE_NONE,
	ASIOS_ISOLATE_AUTO,      /* keep housekeeping_cores cores per NUMA node, isolate the rest */
	ASIOS_ISOLATE_LIST,      /* the CPUs of isolate_cpus (whole cores only) */
};

/* The scheduler knobs (sched-knobs.c): one value per profile (the knob's class columns), with their reasons. */
const struct asios_knob *asios_sched_knobs(size_t *n);
const char *asios_sched_profile_name(enum asios_sched_profile p);

struct asios_sched_knob_override {
	size_t knob;             /* index in the table */
	char *value;             /* NULL: leave it alone */
};

struct asios_sched_policy {
	enum asios_sched_profile profile;
	enum asios_isolate_mode isolate;
	hwloc_bitmap_t isolate_cpus;     /* ISOLATE_LIST */
	unsigned housekeeping_cores;     /* ISOLATE_AUTO: cores kept per NUMA node */
	bool boot;                       /* write the kernel command line snippet (grub.d) */
	bool nohz_full, rcu_nocbs, isolcpus, irqaffinity, kthread_cpus;
	unsigned cmdline_max;            /* longest parameter string written (characters) */
	bool runtime;                    /* workqueue, writeback, default IRQ and watchdog masks, kernel threads */
	bool partition;                  /* cgroup v2 cpuset partition "isolated" for the workload slice */
	char *workload_slice;            /* "workload.slice" */
	bool system_affinity;            /* CPUAffinity= for system services (system.conf.d drop-in) */
	int cpu_dma_latency;             /* daemon: µs held in /dev/cpu_dma_latency, -1 none */
	bool take_over_tuned;            /* run even while TuneD runs a cpu-partitioning profile */
	unsigned interval;               /* daemon: seconds between checks */
	bool watch;                      /* daemon: eBPF observer reports isolation violations */
	struct asios_sched_knob_override *overrides;
	size_t n_overrides;
};

#define ASIOS_SCHEDD_CONF "/etc/asios/schedd.conf"
#define ASIOS_SCHEDD_CONF_D "/etc/asios/schedd.conf.d"
#define ASIOS_SCHEDD_JOURNAL "/run/asios/schedd.journal"
#define ASIOS_SCHEDD_GRUB "/etc/default/grub.d/asios-isolation.cfg"
#define ASIOS_SCHEDD_SYSTEM_DROPIN "/etc/systemd/system.conf.d/60-asios-isolation.conf"

int asios_sched_policy_init(struct asios_sched_policy *p);
void asios_sched_policy_clear(struct asios_sched_policy *p);
/* schedd.conf read as asios_irq_policy_format says */
extern const struct asios_conf_format asios_sched_policy_format;
int asios_sched_policy_parse(struct asios_sched_policy *p, const char *text, const char *origin, char **error);

/* The CPU split and the kernel command line that makes it. */
struct asios_sched_layout {
	hwloc_bitmap_t housekeeping, isolated;
	char *cmdline;            /* "nohz_full=2-7 rcu_nocbs=2-7 …", "" when nothing is isolated; NULL when too long */
	bool reboot_required;     /* boot = yes and the running command line differs from it */
	char **notes;             /* why CPUs were kept, parameters left out…, NULL-terminated */
	size_t n_notes;
};

/* Pure. Only -ENOMEM fails. */
int asios_sched_layout(const struct asios_snapshot *s, const struct asios_sched_policy *p,
		       struct asios_sched_layout *ret);
void asios_sched_layout_clear(struct asios_sched_layout *l);

struct asios_sched_kthread {
	int pid;
	unsigned long long starttime;
	char comm[32];
	hwloc_bitmap_t cpus;      /* Cpus_allowed_list */
};

struct asios_sched_state {
	char **paths, **values;   /* every file the plan compares with, and its first line (NULL: absent) */
	size_t n_values;
	bool grub_dir;            /* /etc/default/grub.d exists (the machine boots with GRUB) */
	char *grub;               /* the grub.d snippet, NULL when absent */
	char *dropin;             /* the system.conf.d drop-in, NULL when absent */
	char *cgroup2;            /* where cgroup v2 is mounted, NULL when it is not */
	char *slice_controllers;  /* cgroup.controllers of the workload slice, NULL when it does not exist */
	struct asios_sched_kthread *kthreads; /* unbound kernel threads (not per-CPU ones), by pid */
	size_t n_kthreads;
	long tuned_pid;           /* a running tuned, 0 none */
	char *tuned_profile;      /* /etc/tuned/active_profile, NULL none */
	char **warnings;          /* NULL-terminated */
	size_t n_warnings;
};

/* The isolate domain's observation (domain.h): the state and the CPU split it was planned for. */
struct asios_isolate_state {
	struct asios_sched_state *st;
	struct asios_sched_layout layout;
};

int asios_sched_observe(struct asios_root *root, const struct asios_snapshot *s, const struct asios_sched_policy *p,
			struct asios_sched_state **ret);
void asios_sched_state_free(struct asios_sched_state *st);
/* The observed first line of PATH; NULL when the file is absent or was not read. */
const char *asios_sched_state_value(const struct asios_sched_state *st, const char *path);
/* TuneD runs a profile with CPU partitioning (cpu-partitioning, realtime…): asios-schedd stands down. */
bool asios_sched_tuned_partitions(const struct asios_sched_state *st);

/* The plan. Order: boot snippet, system drop-in, masks, kernel threads, workload partition, scheduler knobs. */
int asios_sched_plan(const struct asios_snapshot *s, const struct asios_sched_state *st,
		     const struct asios_sched_policy *p, const struct asios_sched_layout *l, struct asios_plan **ret);

/*
 * What asios-schedd's eBPF observer counted on each CPU it watches as isolated, since the observer started:
 * asios-schedd writes it to ASIOS_SCHEDWATCH_STATE after each check, `asiosctl metrics` and asios-exporter read
 * it. One line "started T updated T" (Unix times), then per CPU "cpu N NAME COUNT…" with the names of
 * asios_watch_count_names in any order.
 */
#define ASIOS_SCHEDWATCH_STATE "/run/asios/schedwatch"
enum asios_watch_count {
	ASIOS_WATCH_SWITCHES,     /* context switches */
	ASIOS_WATCH_IRQS,         /* handled IRQs */
	ASIOS_WATCH_HRTIMERS,     /* expired hrtimers (the tick among them) */
	ASIOS_WATCH_LOCAL_TIMER,  /* local APIC timer interrupts (x86) */
	ASIOS_WATCH_TICK_STOPS,   /* the tick stopped */
	ASIOS_WATCH_PREEMPTIONS,  /* the running task switched out while it could still run */
	ASIOS_WATCH_KTHREADS,     /* switches to a kernel thread */
	ASIOS_WATCH_WORK_ITEMS,   /* workqueue items run */
	ASIOS_WATCH_BY_TASK,      /* switches to a task that does not belong there (a kernel thread, outside the
				   * workload slice) */
	ASIOS_WATCH_BY_IRQ,       /* IRQs handled there */
	ASIOS_WATCH_BY_TIMER,     /* timers expired there */
	_ASIOS_WATCH_MAX,
};
extern const char *const asios_watch_count_names[_ASIOS_WATCH_MAX];
struct asios_watch_cpu {
	unsigned cpu;
	uint64_t n[_ASIOS_WATCH_MAX];
};
struct asios_watch_state {
	double started, updated;
	struct asios_watch_cpu *cpus;   /* by CPU id, ascending */
	size_t n_cpus;
};
/* CPU's counters, added when ADD (NULL: not there, or out of memory) */
struct asios_watch_cpu *asios_watch_state_cpu(struct asios_watch_state *st, unsigned cpu, bool add);
/* -EINVAL with *ERROR "ORIGIN:LINE: what is wrong" (free() it); -ENOMEM */
int asios_watch_state_parse(struct asios_watch_state *st, const char *text, const char *origin, char **error);
int asios_watch_state_format(const struct asios_watch_state *st, FILE *f);
void asios_watch_state_clear(struct asios_watch_state *st);
