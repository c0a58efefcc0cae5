/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/config.h"
#include "asios/cpulist.h"
#include "asios/sched-plan.h"

/*
 * schedd.conf: INI sections
 *   [schedd]   profile = throughput|latency|inference, isolate = none|auto|LIST, housekeeping_cores = N,
 *              boot = yes|no, nohz_full = yes|no, rcu_nocbs = yes|no, isolcpus = yes|no, irqaffinity = yes|no,
 *              kthread_cpus = yes|no, cmdline_max = N, runtime = yes|no, partition = yes|no,
 *              workload_slice = NAME.slice, system_affinity = yes|no, cpu_dma_latency = off|MICROSECONDS,
 *              take_over_tuned = yes|no, interval = SECONDS, watch = yes|no
 *   [knobs]    KNOB = VALUE|leave   (KNOB a name of the knob table, e.g. kernel.nmi_watchdog)
 * Anything else is an error naming file and line, and nothing is applied (config.h says what the shared
 * reader refuses before these handlers see a line). A knob's value is checked here against the range the
 * kernel accepts for it (knob_ranges below), not only when it is written.
 */

#define fail(c, ...) asios_conf_fail((c), __VA_ARGS__)
/* the policy the reader C fills */
#define POLICY(c) ((struct asios_sched_policy *)(c)->policy)

/* The values the kernel takes for the knobs of the table (sched-knobs.c); a knob not listed takes any one word. */
static const struct {
	const char *name;
	long min, max;
} knob_ranges[] = {
	{ "kernel.sched_autogroup_enabled", 0, 1 },
	{ "kernel.sched_rt_runtime_us", -1, INT_MAX },
	{ "kernel.timer_migration", 0, 1 },
	{ "vm.stat_interval", 1, 3600 },
	{ "kernel.nmi_watchdog", 0, 1 },
	{ "kernel.sched_schedstats", 0, 1 },
	{ "debug.sched.migration_cost_ns", 0, 1000000000 },
};

/* -EINVAL with the expected range in BUF when VALUE is out of the range of knob NAME */
static int knob_in_range(const char *name, const char *value, char *buf, size_t size)
{
	long n;

	for (size_t i = 0; i < sizeof(knob_ranges) / sizeof(knob_ranges[0]); i++)
		if (!strcmp(knob_ranges[i].name, name)) {
			if (asios_conf_long(value, knob_ranges[i].min, knob_ranges[i].max, &n) == 0)
				return 0;
			snprintf(buf, size, "a number between %ld and %ld", knob_ranges[i].min, knob_ranges[i].max);
			return -EINVAL;
		}
	return 0;
}

static int isolate_key(struct asios_conf *c, void *policy, const char *value)
{
	struct asios_sched_policy *p = policy;
	const char *err = NULL;

	if (!strcmp(value, "none")) {
		p->isolate = ASIOS_ISOLATE_NONE;
	} else if (!strcmp(value, "auto")) {
		p->isolate = ASIOS_ISOLATE_AUTO;
	} else {
		if (asios_cpulist_parse(value, p->isolate_cpus, &err) < 0 || hwloc_bitmap_iszero(p->isolate_cpus))
			return asios_conf_fail(c, "isolate: expected none, auto or a non-empty CPU list, got \"%s\"%s",
					       value, "");
		p->isolate = ASIOS_ISOLATE_LIST;
	}
	return 1;
}

static int slice_key(struct asios_conf *c, void *policy, const char *value)
{
	struct asios_sched_policy *p = policy;
	size_t len = strlen(value);

	if (len < 7 || len > 200 || strcmp(value + len - 6, ".slice") || strchr(value, '/') ||
	    strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:") != len)
		return asios_conf_fail(c, "workload_slice: expected a slice unit name such as workload.slice, got \"%s\"%s",
				       value, "");
	free(p->workload_slice);
	if (!(p->workload_slice = strdup(value)))
		return asios_conf_fail(c, "out of memory%s%s", "", "");
	return 1;
}

static int dma_key(struct asios_conf *c, void *policy, const char *value)
{
	struct asios_sched_policy *p = policy;
	long n;

	if (!strcmp(value, "off"))
		p->cpu_dma_latency = -1;
	else if (asios_conf_long(value, 0, 100000, &n) < 0)
		return asios_conf_fail(c, "cpu_dma_latency: expected off or microseconds between 0 and 100000, got \"%s\"%s",
				       value, "");
	else
		p->cpu_dma_latency = (int)n;
	return 1;
}

static const char *const profiles[] = { "throughput", "latency", "inference", NULL };
_Static_assert(ASIOS_SCHED_THROUGHPUT == 0 && ASIOS_SCHED_INFERENCE == 2 &&
		       sizeof(enum asios_sched_profile) == sizeof(int), "the words of profile are its values");

#define T struct asios_sched_policy
static const struct asios_conf_item schedd_keys[] = {
	ASIOS_CONF_ITEM_ENUM(T, "profile", profile, profiles, "throughput, latency or inference"),
	ASIOS_CONF_ITEM_FUNC("isolate", isolate_key),
	ASIOS_CONF_ITEM_UINT(T, "housekeeping_cores", housekeeping_cores, 1, 1024,
			     "a number of cores between 1 and 1024"),
	ASIOS_CONF_ITEM_BOOL(T, "boot", boot),
	ASIOS_CONF_ITEM_BOOL(T, "nohz_full", nohz_full),
	ASIOS_CONF_ITEM_BOOL(T, "rcu_nocbs", rcu_nocbs),
	ASIOS_CONF_ITEM_BOOL(T, "isolcpus", isolcpus),
	ASIOS_CONF_ITEM_BOOL(T, "irqaffinity", irqaffinity),
	ASIOS_CONF_ITEM_BOOL(T, "kthread_cpus", kthread_cpus),
	ASIOS_CONF_ITEM_UINT(T, "cmdline_max", cmdline_max, 64, 4096, "characters between 64 and 4096"),
	ASIOS_CONF_ITEM_BOOL(T, "runtime", runtime),
	ASIOS_CONF_ITEM_BOOL(T, "partition", partition),
	ASIOS_CONF_ITEM_FUNC("workload_slice", slice_key),
	ASIOS_CONF_ITEM_BOOL(T, "system_affinity", system_affinity),
	ASIOS_CONF_ITEM_FUNC("cpu_dma_latency", dma_key),
	ASIOS_CONF_ITEM_BOOL(T, "take_over_tuned", take_over_tuned),
	ASIOS_CONF_ITEM_UINT(T, "interval", interval, 1, 3600, "seconds between 1 and 3600"),
	ASIOS_CONF_ITEM_BOOL(T, "watch", watch),
};
#undef T

static int knob_key(struct asios_conf *c, const char *name, const char *value)
{
	struct asios_sched_policy *p = POLICY(c);
	struct asios_sched_knob_override *o;
	char range[64];
	size_t n, k;
	const struct asios_knob *t = asios_sched_knobs(&n);

	for (k = 0; k < n && strcmp(t[k].name, name); k++)
		;
	if (k == n)
		return fail(c, "[knobs]: unknown knob \"%s\" (asiosctl sched knobs lists them)%s", name, "");
	if (!*value || strlen(value) > 64 || strpbrk(value, " \t\n"))
		return fail(c, "%s: expected leave or one value without blanks, got \"%s\"", name, value);
	if (strcmp(value, "leave") && knob_in_range(name, value, range, sizeof(range)) < 0) {
		char what[128];

		snprintf(what, sizeof(what), "%s: expected leave or %s", name, range);
		return fail(c, "%s, got \"%s\"", what, value);
	}
	for (size_t i = 0; i < p->n_overrides; i++)
		if (p->overrides[i].knob == k) {
			free(p->overrides[i].value);
			p->overrides[i].value = NULL;
			if (strcmp(value, "leave") && !(p->overrides[i].value = strdup(value)))
				return fail(c, "out of memory%s%s", "", "");
			return 1;
		}
	o = realloc(p->overrides, (p->n_overrides + 1) * sizeof(*o));
	if (!o)
		return fail(c, "out of memory%s%s", "", "");
	p->overrides = o;
	o = &p->overrides[p->n_overrides++];
	o->knob = k;
	o->value = NULL;
	if (strcmp(value, "leave") && !(o->value = strdup(value)))
		return fail(c, "out of memory%s%s", "", "");
	return 1;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct asios_conf *c = user;

	if (!strcmp(section, "schedd"))
		return asios_conf_table(c, schedd_keys, ASIOS_CONF_N(schedd_keys), POLICY(c), section, name, value);
	if (!strcmp(section, "knobs"))
		return knob_key(c, name, value);
	return fail(c, "unknown section [%s]%s", section, "");
}

int asios_sched_policy_init(struct asios_sched_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->profile = ASIOS_SCHED_INFERENCE;
	p->isolate = ASIOS_ISOLATE_NONE;
	p->housekeeping_cores = 1;
	p->boot = true;
	p->nohz_full = p->rcu_nocbs = p->isolcpus = p->irqaffinity = true;
	p->kthread_cpus = false;
	p->cmdline_max = 1024;
	p->runtime = p->partition = p->system_affinity = true;
	p->cpu_dma_latency = -1;
	p->interval = 30;
	p->watch = true;
	p->isolate_cpus = hwloc_bitmap_alloc();
	p->workload_slice = strdup("workload.slice");
	return p->isolate_cpus && p->workload_slice ? 0 : -ENOMEM;
}

void asios_sched_policy_clear(struct asios_sched_policy *p)
{
	hwloc_bitmap_free(p->isolate_cpus);
	free(p->workload_slice);
	for (size_t i = 0; i < p->n_overrides; i++)
		free(p->overrides[i].value);
	free(p->overrides);
	memset(p, 0, sizeof(*p));
}

ASIOS_CONF_FORMAT(sched, handler, NULL, ASIOS_SCHEDD_CONF, NULL)
