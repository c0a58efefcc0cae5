/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The disturbance table of `asiosctl sched watch` (watch-disturb.c). */

#include <hwloc.h>
#include <json-c/json.h>
#include <stdint.h>

#include "asios/interrupts.h"
#include "schedwatch.h"

enum disturb_row {
	DISTURB_DEVICE_IRQS,
	DISTURB_LOCAL_TIMER,
	DISTURB_OTHER_IRQS,
	DISTURB_TICKS,
	DISTURB_SWITCHES,
	DISTURB_PREEMPTIONS,
	DISTURB_KTHREADS,
	DISTURB_WORK_ITEMS,
	DISTURB_RCU_SOFTIRQS,
	DISTURB_TIMER_SOFTIRQS,
	DISTURB_TOTAL,
	DISTURB_MAX,
};
extern const char *const disturb_names[DISTURB_MAX];

/* /proc/interrupts and /proc/softirqs at one moment */
struct disturb_sample {
	struct asios_interrupts *irqs;
	unsigned *soft_cpus;          /* the CPU of each /proc/softirqs column */
	size_t n_soft;
	uint64_t *rcu, *timer;        /* the RCU and TIMER rows, by column */
};

/* 0, or a negative errno after logging what could not be read (the file named) */
int disturb_sample_take(struct disturb_sample *s);
void disturb_sample_clear(struct disturb_sample *s);
/* CPU's rows per second between samples A and B, with the observer's report R of the same interval */
void disturb_compute(const struct disturb_sample *a, const struct disturb_sample *b,
		     const struct asios_schedwatch_report *r, unsigned cpu, double v[DISTURB_MAX]);
/* [{"cpu": N, "per_second": {ROW: value…}}…] for the CPUs of ISO */
struct json_object *disturb_json(const struct disturb_sample *a, const struct disturb_sample *b,
				 const struct asios_schedwatch_report *r, hwloc_const_bitmap_t iso);
void disturb_text(const struct disturb_sample *a, const struct disturb_sample *b,
		  const struct asios_schedwatch_report *r, hwloc_const_bitmap_t iso);
