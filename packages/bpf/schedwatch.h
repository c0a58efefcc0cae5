/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * schedwatch: the eBPF observer of asios-schedd and `asiosctl sched watch`. This header is shared by the BPF
 * program (schedwatch.bpf.c, compiled with clang -target bpf, where __bpf__ is defined) and its loader
 * (schedwatch.c): the map layouts first, then the loader's API.
 */

#ifdef __bpf__
#include <linux/types.h>
#else
#include <hwloc.h>
#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#endif

/* run-queue latency histogram: slot 0 below 1 µs, slot k in [2^(k-1), 2^k) µs, the last one open-ended */
#define SCHEDWATCH_SLOTS 27

/* per CPU, written only by that CPU's own events */
struct schedwatch_cpu {
	__u64 lat[SCHEDWATCH_SLOTS];
	__u64 lat_count, lat_sum_ns, lat_max_ns;
	__u64 switches;     /* context switches (sched_switch) */
	__u64 irqs;         /* device and other handled IRQs (irq_handler_entry) */
	__u64 timers;       /* expired hrtimers (hrtimer_expire_entry), the scheduler tick among them */
	__u64 local_timer;  /* local APIC timer interrupts (x86 irq_vectors:local_timer_entry) */
	__u64 tick_stops;   /* the tick stopped on this CPU (timer:tick_stop with success) */
	__u64 preemptions;  /* a task switched out while it could still run (a poller losing its CPU) */
	__u64 kthreads;     /* switches to a kernel thread (PF_KTHREAD), the idle task not counted */
	__u64 work_items;   /* workqueue items run (workqueue_execute_start) */
};

/* what disturbed an isolated CPU */
enum schedwatch_kind {
	SCHEDWATCH_TASK = 1,    /* a task switched in: id = pid, name = comm */
	SCHEDWATCH_IRQ = 2,     /* an IRQ handled: id = IRQ number, name = its action's name */
	SCHEDWATCH_TIMER = 3,   /* an hrtimer expired: id = its function's address (named from kallsyms) */
	SCHEDWATCH_KTHREAD = 4, /* a kernel thread switched in: id = pid, name = comm */
	SCHEDWATCH_WORK = 5,    /* a workqueue item ran: id = its function's address (named from kallsyms) */
};

struct schedwatch_key {
	__u32 cpu;
	__u32 kind;
	__u64 id;
};

struct schedwatch_source {
	__u64 count;
	char name[16];
};

#ifndef __bpf__
/* The loader. Functions return 0 or a negative errno and do not log. */
struct asios_schedwatch;

struct asios_schedwatch_cpu {
	unsigned cpu;
	struct schedwatch_cpu c;
};

struct asios_schedwatch_event {
	unsigned cpu;
	enum schedwatch_kind kind;
	uint64_t id;
	uint64_t count;
	char name[64];
};

struct asios_schedwatch_report {
	double seconds;                        /* since the previous collect (or the open) */
	struct asios_schedwatch_cpu *cpus;     /* every possible CPU, by id */
	size_t n_cpus;
	struct asios_schedwatch_event *events; /* on isolated CPUs, most frequent first */
	size_t n_events;
	bool local_timer;                      /* the local timer tracepoint is attached (x86) */
};

/* Load and attach the observer; ISOLATED (may be empty) are the CPUs whose disturbances are traced to their
 * source. -ENOTSUP: no kernel BTF (/sys/kernel/btf/vmlinux); -EPERM: not privileged. */
int asios_schedwatch_open(hwloc_const_bitmap_t isolated, struct asios_schedwatch **ret);
/* Counts since the previous collect (or the open). */
int asios_schedwatch_collect(struct asios_schedwatch *w, struct asios_schedwatch_report *r);
void asios_schedwatch_report_clear(struct asios_schedwatch_report *r);
void asios_schedwatch_close(struct asios_schedwatch *w);
/* The run-queue latency below which fraction Q of the wakeups fall (upper bound of its slot), in ns. */
uint64_t asios_schedwatch_percentile(const struct schedwatch_cpu *c, double q);
const char *asios_schedwatch_kind_name(enum schedwatch_kind k);
#endif
