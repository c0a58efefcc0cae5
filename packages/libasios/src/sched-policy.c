/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/cpulist.h"
#include "asios/sched-plan.h"
#include "util.h"

/*
 * schedd.conf: INI sections
 *   [schedd]   profile = throughput|latency|inference, isolate = none|auto|LIST, housekeeping_cores = N,
 *              boot = yes|no, nohz_full = yes|no, rcu_nocbs = yes|no, isolcpus = yes|no, irqaffinity = yes|no,
 *              kthread_cpus = yes|no, cmdline_max = N, runtime = yes|no, partition = yes|no,
 *              workload_slice = NAME.slice, system_affinity = yes|no, cpu_dma_latency = off|MICROSECONDS,
 *              take_over_tuned = yes|no, interval = SECONDS, watch = yes|no
 *   [knobs]    KNOB = VALUE|leave   (KNOB a name of the knob table, e.g. kernel.nmi_watchdog)
 * Anything else is an error naming file and line, and nothing is applied.
 */

struct ctx {
	struct asios_sched_policy *p;
	char *error;
};

#define fail(c, ...) asios_conf_fail(&(c)->error, __VA_ARGS__)

static const struct {
	const char *name;
	size_t offset;
} flags[] = {
	{ "boot", offsetof(struct asios_sched_policy, boot) },
	{ "nohz_full", offsetof(struct asios_sched_policy, nohz_full) },
	{ "rcu_nocbs", offsetof(struct asios_sched_policy, rcu_nocbs) },
	{ "isolcpus", offsetof(struct asios_sched_policy, isolcpus) },
	{ "irqaffinity", offsetof(struct asios_sched_policy, irqaffinity) },
	{ "kthread_cpus", offsetof(struct asios_sched_policy, kthread_cpus) },
	{ "runtime", offsetof(struct asios_sched_policy, runtime) },
	{ "partition", offsetof(struct asios_sched_policy, partition) },
	{ "system_affinity", offsetof(struct asios_sched_policy, system_affinity) },
	{ "take_over_tuned", offsetof(struct asios_sched_policy, take_over_tuned) },
	{ "watch", offsetof(struct asios_sched_policy, watch) },
};

static int main_key(struct ctx *c, const char *name, const char *value)
{
	struct asios_sched_policy *p = c->p;
	const char *err = NULL;
	long n;

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (!strcmp(name, flags[i].name)) {
			if (asios_conf_bool(value, (bool *)((char *)p + flags[i].offset)) < 0)
				return fail(c, "%s: expected yes or no, got \"%s\"", name, value);
			return 1;
		}
	if (!strcmp(name, "profile")) {
		for (int i = 0; i < _ASIOS_SCHED_PROFILE_MAX; i++)
			if (!strcmp(value, asios_sched_profile_name(i))) {
				p->profile = i;
				return 1;
			}
		return fail(c, "profile: expected throughput, latency or inference, got \"%s\"%s", value, "");
	} else if (!strcmp(name, "isolate")) {
		if (!strcmp(value, "none")) {
			p->isolate = ASIOS_ISOLATE_NONE;
		} else if (!strcmp(value, "auto")) {
			p->isolate = ASIOS_ISOLATE_AUTO;
		} else {
			if (asios_cpulist_parse(value, p->isolate_cpus, &err) < 0 || hwloc_bitmap_iszero(p->isolate_cpus))
				return fail(c, "isolate: expected none, auto or a non-empty CPU list, got \"%s\"%s", value, "");
			p->isolate = ASIOS_ISOLATE_LIST;
		}
	} else if (!strcmp(name, "housekeeping_cores")) {
		if (asios_conf_long(value, 1, 1024, &n) < 0)
			return fail(c, "housekeeping_cores: expected a number of cores between 1 and 1024, got \"%s\"%s",
				    value, "");
		p->housekeeping_cores = (unsigned)n;
	} else if (!strcmp(name, "cmdline_max")) {
		if (asios_conf_long(value, 64, 4096, &n) < 0)
			return fail(c, "cmdline_max: expected characters between 64 and 4096, got \"%s\"%s", value, "");
		p->cmdline_max = (unsigned)n;
	} else if (!strcmp(name, "workload_slice")) {
		size_t len = strlen(value);

		if (len < 7 || len > 200 || strcmp(value + len - 6, ".slice") || strchr(value, '/') ||
		    strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:") != len)
			return fail(c, "workload_slice: expected a slice unit name such as workload.slice, got \"%s\"%s",
				    value, "");
		free(p->workload_slice);
		if (!(p->workload_slice = strdup(value)))
			return fail(c, "out of memory%s%s", "", "");
	} else if (!strcmp(name, "cpu_dma_latency")) {
		if (!strcmp(value, "off"))
			p->cpu_dma_latency = -1;
		else if (asios_conf_long(value, 0, 100000, &n) < 0)
			return fail(c, "cpu_dma_latency: expected off or microseconds between 0 and 100000, got \"%s\"%s",
				    value, "");
		else
			p->cpu_dma_latency = (int)n;
	} else if (!strcmp(name, "interval")) {
		if (asios_conf_long(value, 1, 3600, &n) < 0)
			return fail(c, "interval: expected seconds between 1 and 3600, got \"%s\"%s", value, "");
		p->interval = (unsigned)n;
	} else {
		return fail(c, "unknown key \"%s\" in [%s]", name, "schedd");
	}
	return 1;
}

static int knob_key(struct ctx *c, const char *name, const char *value)
{
	struct asios_sched_policy *p = c->p;
	struct asios_sched_knob_override *o;
	size_t n, k;
	const struct asios_sched_knob *t = asios_sched_knobs(&n);

	for (k = 0; k < n && strcmp(t[k].name, name); k++)
		;
	if (k == n)
		return fail(c, "[knobs]: unknown knob \"%s\" (asiosctl sched knobs lists them)%s", name, "");
	if (!*value || strlen(value) > 64 || strpbrk(value, " \t\n"))
		return fail(c, "%s: expected leave or one value without blanks, got \"%s\"", name, value);
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
	struct ctx *c = user;

	if (!strcmp(section, "schedd"))
		return main_key(c, name, value);
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

static int finish(struct ctx *c, int line, const char *origin, char **error)
{
	int r;

	if (line == 0 && !c->error)
		return 0;
	if (error) {
		r = line > 0 ? asprintf(error, "%s:%d: %s", origin, line, c->error ? c->error : "syntax error") :
				   asprintf(error, "%s: %s", origin, c->error ? c->error : "out of memory");
		if (r < 0)
			*error = NULL;
	}
	r = line < 0 && !c->error ? -ENOMEM : -EINVAL;
	free(c->error);
	c->error = NULL;
	return r;
}

int asios_sched_policy_parse(struct asios_sched_policy *p, const char *text, const char *origin, char **error)
{
	struct ctx c = { .p = p };

	return finish(&c, ini_parse_string(text, handler, &c), origin, error);
}

static int parse_stream(FILE *f, const char *path, void *user, char **error)
{
	struct ctx c = { .p = user };

	return finish(&c, ini_parse_file(f, handler, &c), path, error);
}

int asios_sched_policy_load(struct asios_sched_policy *p, const char *conf, const char *conf_d, char **error)
{
	return asios_conf_load(conf, conf_d, parse_stream, p, error);
}

int asios_sched_policy_read(struct asios_sched_policy *p, const char *conf, const char *conf_d, char **error)
{
	int r = asios_sched_policy_init(p);

	if (error)
		*error = NULL;
	if (r >= 0)
		r = asios_sched_policy_load(p, conf, conf_d, error);
	if (r < 0)
		asios_sched_policy_clear(p);
	return r;
}
