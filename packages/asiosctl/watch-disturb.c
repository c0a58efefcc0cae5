/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/json.h"
#include "asios/root.h"
#include "asiosctl.h"
#include "watch.h"

/*
 * The disturbance table of `asiosctl sched watch`: per isolated CPU per second, everything that took the CPU
 * from the task running there. Interrupts come from /proc/interrupts (numbered rows: devices; LOC: the local
 * timer; the other per-CPU rows: IPIs, NMIs, thermal and the like), read before and after the watch, so
 * they need no tracepoint; softirqs from /proc/softirqs (RCU: callbacks processed on that CPU, TIMER: timer
 * wheel expiries; both run on the way out of an interrupt, so they are shown, not added); the rest from the
 * eBPF observer: scheduler ticks (expiries of the tick's hrtimer), context switches, preemptions of the running
 * task, kernel threads switched in and workqueue items run. The total is interrupts plus preemptions: each interrupt
 * stops the CPU's task, each preemption hands its CPU to something else.
 */

const char *const disturb_names[DISTURB_MAX] = {
	[DISTURB_DEVICE_IRQS] = "device_irqs", [DISTURB_LOCAL_TIMER] = "local_timer",
	[DISTURB_OTHER_IRQS] = "other_irqs",   [DISTURB_TICKS] = "ticks",
	[DISTURB_SWITCHES] = "context_switches", [DISTURB_PREEMPTIONS] = "preemptions", [DISTURB_KTHREADS] = "kernel_threads",
	[DISTURB_WORK_ITEMS] = "work_items",   [DISTURB_RCU_SOFTIRQS] = "rcu_softirqs",
	[DISTURB_TIMER_SOFTIRQS] = "timer_softirqs", [DISTURB_TOTAL] = "total",
};

static const char *const disturb_what[DISTURB_MAX] = {
	[DISTURB_DEVICE_IRQS] = "device interrupts (/proc/interrupts, numbered rows)",
	[DISTURB_LOCAL_TIMER] = "local timer interrupts (LOC)",
	[DISTURB_OTHER_IRQS] = "other interrupts: IPIs, NMIs... (the other per-CPU rows)",
	[DISTURB_TICKS] = "scheduler ticks (the tick's hrtimer expired)",
	[DISTURB_SWITCHES] = "context switches",
	[DISTURB_PREEMPTIONS] = "preemptions (the running task lost the CPU)",
	[DISTURB_KTHREADS] = "kernel threads switched in",
	[DISTURB_WORK_ITEMS] = "workqueue items run",
	[DISTURB_RCU_SOFTIRQS] = "RCU softirqs (callbacks processed here)",
	[DISTURB_TIMER_SOFTIRQS] = "timer softirqs",
	[DISTURB_TOTAL] = "total: interrupts + preemptions",
};

void disturb_sample_clear(struct disturb_sample *s)
{
	asios_interrupts_free(s->irqs);
	free(s->soft_cpus);
	free(s->rcu);
	free(s->timer);
	memset(s, 0, sizeof(*s));
}

/* the counts of softirq row NAME ("RCU:") of /proc/softirqs into *OUT, by column */
static int softirq_row(const char *text, const char *name, size_t n, uint64_t **out)
{
	const char *p = text;
	size_t len = strlen(name);

	while (p && *p) {
		while (*p == ' ')
			p++;
		if (!strncmp(p, name, len)) {
			uint64_t *v = calloc(n ? n : 1, sizeof(*v));
			char *end;

			if (!v)
				return -ENOMEM;
			p += len;
			for (size_t i = 0; i < n; i++) {
				v[i] = strtoull(p, &end, 10);
				if (end == p) {
					free(v);
					return -EINVAL;
				}
				p = end;
			}
			*out = v;
			return 0;
		}
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return -ENOENT;
}

/* the CPU columns of /proc/softirqs' header ("CPU0 CPU1 …") */
static int softirq_header(const char *text, unsigned **cpus, size_t *n)
{
	const char *p = text, *eol = strchr(text, '\n');
	size_t cap = 0;

	*cpus = NULL;
	*n = 0;
	if (!eol)
		return -EINVAL;
	while ((p = strstr(p, "CPU")) && p < eol) {
		char *end;
		unsigned long c = strtoul(p + 3, &end, 10);

		if (end == p + 3)
			return -EINVAL;
		if (*n == cap) {
			unsigned *m = realloc(*cpus, (cap = cap ? 2 * cap : 16) * sizeof(*m));

			if (!m)
				return -ENOMEM;
			*cpus = m;
		}
		(*cpus)[(*n)++] = (unsigned)c;
		p = end;
	}
	return *n ? 0 : -EINVAL;
}

static int read_softirqs(const struct asios_root *root, struct disturb_sample *s)
{
	char *text = NULL;
	int r = asios_read_file(root, "/proc/softirqs", &text, NULL);

	if (r < 0)
		return r;
	r = softirq_header(text, &s->soft_cpus, &s->n_soft);
	if (r >= 0)
		r = softirq_row(text, "RCU:", s->n_soft, &s->rcu);
	if (r >= 0)
		r = softirq_row(text, "TIMER:", s->n_soft, &s->timer);
	free(text);
	if (r < 0)
		log_error("sched watch: /proc/softirqs: %s", r == -ENOMEM ? strerror(ENOMEM) :
			  "not the layout expected (a CPU header, RCU: and TIMER: rows with a count per CPU)");
	return r;
}

int disturb_sample_take(struct disturb_sample *s)
{
	struct asios_root *root = NULL;
	char *text = NULL, *err = NULL;
	size_t len = 0;
	int r;

	memset(s, 0, sizeof(*s));
	r = asios_root_open("/", &root);
	if (r < 0) {
		log_error("sched watch: cannot open /: %s", strerror(-r));
		return r;
	}
	r = asios_read_file(root, "/proc/interrupts", &text, &len);
	if (r < 0)
		log_error("sched watch: /proc/interrupts: %s", strerror(-r));
	else if ((r = asios_interrupts_parse(text, len, "/proc/interrupts", &s->irqs, &err)) < 0)
		log_error("sched watch: %s", err ? err : strerror(-r));
	else
		r = read_softirqs(root, s);
	free(text);
	free(err);
	asios_root_free(root);
	if (r < 0)
		disturb_sample_clear(s);
	return r;
}

static long column(const unsigned *cpus, size_t n, unsigned cpu)
{
	for (size_t i = 0; i < n; i++)
		if (cpus[i] == cpu)
			return (long)i;
	return -1;
}

/* interrupts of CPU between A and B, by kind */
static void irq_deltas(const struct asios_interrupts *a, const struct asios_interrupts *b, unsigned cpu,
		       double *v)
{
	long ca = column(a->cpus, a->n_cpus, cpu), cb = column(b->cpus, b->n_cpus, cpu);

	if (ca < 0 || cb < 0)
		return;
	for (size_t i = 0; i < b->n_rows; i++) {
		const struct asios_irq_row *rb = &b->rows[i], *ra = NULL;
		uint64_t before = 0;
		int k;

		if ((size_t)cb >= rb->n_counts)
			continue; /* ERR, MIS: no per-CPU counts */
		for (size_t j = 0; j < a->n_rows && !ra; j++)
			if (!strcmp(a->rows[j].id, rb->id))
				ra = &a->rows[j];
		if (ra && (size_t)ca < ra->n_counts)
			before = ra->counts[ca];
		if (rb->counts[cb] < before)
			continue; /* an IRQ freed and requested again meanwhile */
		k = rb->irq >= 0 ? DISTURB_DEVICE_IRQS : !strcmp(rb->id, "LOC") ? DISTURB_LOCAL_TIMER : DISTURB_OTHER_IRQS;
		v[k] += (double)(rb->counts[cb] - before);
	}
}

static double soft_delta(const struct disturb_sample *a, const struct disturb_sample *b, const uint64_t *va,
			 const uint64_t *vb, unsigned cpu)
{
	long ca = column(a->soft_cpus, a->n_soft, cpu), cb = column(b->soft_cpus, b->n_soft, cpu);

	if (ca < 0 || cb < 0 || vb[cb] < va[ca])
		return 0;
	return (double)(vb[cb] - va[ca]);
}

static bool is_tick(const char *fn)
{
	/* the tick's hrtimer: tick_nohz_handler since 6.10, tick_sched_timer before */
	return !strcmp(fn, "tick_nohz_handler") || !strcmp(fn, "tick_sched_timer");
}

void disturb_compute(const struct disturb_sample *a, const struct disturb_sample *b,
		     const struct asios_schedwatch_report *r, unsigned cpu, double v[DISTURB_MAX])
{
	double t = r->seconds > 0 ? r->seconds : 1;

	memset(v, 0, sizeof(double) * DISTURB_MAX);
	irq_deltas(a->irqs, b->irqs, cpu, v);
	v[DISTURB_RCU_SOFTIRQS] = soft_delta(a, b, a->rcu, b->rcu, cpu);
	v[DISTURB_TIMER_SOFTIRQS] = soft_delta(a, b, a->timer, b->timer, cpu);
	if (cpu < r->n_cpus) {
		const struct schedwatch_cpu *c = &r->cpus[cpu].c;

		v[DISTURB_SWITCHES] = (double)c->switches;
		v[DISTURB_PREEMPTIONS] = (double)c->preemptions;
		v[DISTURB_KTHREADS] = (double)c->kthreads;
		v[DISTURB_WORK_ITEMS] = (double)c->work_items;
	}
	for (size_t i = 0; i < r->n_events; i++)
		if (r->events[i].cpu == cpu && r->events[i].kind == SCHEDWATCH_TIMER && is_tick(r->events[i].name))
			v[DISTURB_TICKS] += (double)r->events[i].count;
	v[DISTURB_TOTAL] = v[DISTURB_DEVICE_IRQS] + v[DISTURB_LOCAL_TIMER] + v[DISTURB_OTHER_IRQS] +
			   v[DISTURB_PREEMPTIONS];
	for (int k = 0; k < DISTURB_MAX; k++)
		v[k] /= t;
}

struct json_object *disturb_json(const struct disturb_sample *a, const struct disturb_sample *b,
				 const struct asios_schedwatch_report *r, hwloc_const_bitmap_t iso)
{
	struct json_object *arr = json_object_new_array();
	unsigned cpu;

	if (!arr)
		return NULL;
	hwloc_bitmap_foreach_begin(cpu, iso) {
		struct json_object *o = json_object_new_object(), *ps = json_object_new_object();
		double v[DISTURB_MAX];

		if (!o || !ps) {
			json_object_put(o);
			json_object_put(ps);
			continue;
		}
		disturb_compute(a, b, r, cpu, v);
		for (int k = 0; k < DISTURB_MAX; k++)
			json_object_object_add(ps, disturb_names[k], json_object_new_double(v[k]));
		json_object_object_add(o, "cpu", json_object_new_int((int)cpu));
		json_object_object_add(o, "per_second", ps);
		json_object_array_add(arr, o);
	} hwloc_bitmap_foreach_end();
	return arr;
}

void disturb_text(const struct disturb_sample *a, const struct disturb_sample *b,
		  const struct asios_schedwatch_report *r, hwloc_const_bitmap_t iso)
{
	int n = hwloc_bitmap_weight(iso), i = 0;
	double (*v)[DISTURB_MAX];
	unsigned cpu;

	if (n <= 0 || !(v = calloc((size_t)n, sizeof(*v))))
		return;
	printf("disturbances per second of each isolated CPU:\n  %-56s", "");
	hwloc_bitmap_foreach_begin(cpu, iso) {
		printf(" %8s%-3u", "cpu ", cpu);
		disturb_compute(a, b, r, cpu, v[i++]);
	} hwloc_bitmap_foreach_end();
	printf("\n");
	for (int k = 0; k < DISTURB_MAX; k++) {
		printf("  %-56s", disturb_what[k]);
		for (i = 0; i < n; i++)
			printf(" %11.2f", v[i][k]);
		printf("\n");
	}
	free(v);
}
