/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/config.h"
#include "asios/cpulist.h"
#include "asios/numa-plan.h"

/*
 * numad.conf: INI sections
 *   [numad]            accelerators = yes|no, migrate = yes|no, multi_node = split|interleave|leave,
 *                      autonuma = leave|auto|off|on, take_over_numad = yes|no, banned_cpus = LIST,
 *                      interval = SECONDS, settle = SECONDS
 *   [hugepages]        nodeN = COUNT [SIZE]   (SIZE 2M (default), 1G, or NkB)
 *   [workload NAME]    command = PATTERN, cgroup = PATH, node = N, cpus = LIST, migrate = yes|no,
 *                      autonuma = yes|no, multi_node = split|interleave|leave, ignore = yes|no
 * Anything else is an error naming file and line, and nothing is applied (config.h says what the shared
 * reader refuses before these handlers see a line). A key may repeat only in [hugepages] (a node can have pages
 * of several sizes).
 */

/* the first error of a file, without its location */
#define fail(c, ...) asios_conf_fail((c), __VA_ARGS__)
/* the policy the reader C fills */
#define POLICY(c) ((struct asios_numa_policy *)(c)->policy)

static int multi_value(const char *v)
{
	if (!strcmp(v, "split"))
		return ASIOS_NUMA_MULTI_SPLIT;
	if (!strcmp(v, "interleave"))
		return ASIOS_NUMA_MULTI_INTERLEAVE;
	if (!strcmp(v, "leave"))
		return ASIOS_NUMA_MULTI_LEAVE;
	return -1;
}

const char *asios_numa_multi_name(int m)
{
	return m == ASIOS_NUMA_MULTI_SPLIT ? "split" : m == ASIOS_NUMA_MULTI_INTERLEAVE ? "interleave" : "leave";
}

const char *asios_autonuma_name(enum asios_autonuma a)
{
	static const char *const names[] = { "leave", "auto", "off", "on" };

	return names[a];
}

static int node_number(const char *v, long *ret)
{
	return asios_conf_long(v, 0, 4095, ret);
}

static struct asios_numa_workload *workload_for(struct asios_numa_policy *p, const char *name)
{
	struct asios_numa_workload *w;

	for (size_t i = 0; i < p->n_workloads; i++)
		if (!strcmp(p->workloads[i].name, name))
			return &p->workloads[i];
	w = realloc(p->workloads, (p->n_workloads + 1) * sizeof(*w));
	if (!w)
		return NULL;
	p->workloads = w;
	w = &p->workloads[p->n_workloads++];
	memset(w, 0, sizeof(*w));
	snprintf(w->name, sizeof(w->name), "%s", name);
	w->node = -1;
	w->migrate = -1;
	w->autonuma = -1;
	w->multi = ASIOS_NUMA_MULTI_INHERIT;
	return w;
}

/* "512", "512 2M", "4 1G", "16 2048kB" */
static int hugepages_value(const char *v, long *count, unsigned long *size_kb)
{
	char unit[16] = "";
	unsigned long size = 2;
	int n;

	*size_kb = 2048;
	if (strpbrk(v, "+-"))
		return -EINVAL;
	n = sscanf(v, "%ld %lu%15s", count, &size, unit);
	if (n < 1 || *count < 0 || *count > 100000000)
		return -EINVAL;
	if (n == 1) {
		char tail;

		return sscanf(v, "%ld %c", count, &tail) == 1 ? 0 : -EINVAL;
	}
	if (n == 3 && !strcmp(unit, "M"))
		*size_kb = size * 1024;
	else if (n == 3 && !strcmp(unit, "G"))
		*size_kb = size * 1024 * 1024;
	else if (n == 3 && !strcmp(unit, "kB"))
		*size_kb = size;
	else
		return -EINVAL;
	return *size_kb && size <= 16UL * 1024 * 1024 && *size_kb <= 16UL * 1024 * 1024 ? 0 : -EINVAL; /* 16 GiB */
}

static const char *const multi_names[] = { "split", "interleave", "leave", NULL };
static const char *const autonuma_names[] = { "leave", "auto", "off", "on", NULL };
_Static_assert(ASIOS_NUMA_MULTI_SPLIT == 0 && ASIOS_NUMA_MULTI_LEAVE == 2 && ASIOS_AUTONUMA_ON == 3 &&
		       sizeof(enum asios_numa_multi) == sizeof(int) && sizeof(enum asios_autonuma) == sizeof(int),
	       "the words of multi_node and autonuma are their values");

#define T struct asios_numa_policy
static const struct asios_conf_item numad_keys[] = {
	ASIOS_CONF_ITEM_BOOL(T, "accelerators", accelerators),
	ASIOS_CONF_ITEM_BOOL(T, "migrate", migrate),
	ASIOS_CONF_ITEM_ENUM(T, "multi_node", multi, multi_names, "split, interleave or leave"),
	ASIOS_CONF_ITEM_ENUM(T, "autonuma", autonuma, autonuma_names, "leave, auto, off or on"),
	ASIOS_CONF_ITEM_BOOL(T, "take_over_numad", take_over),
	ASIOS_CONF_ITEM_CPUS(T, "banned_cpus", banned_cpus),
	ASIOS_CONF_ITEM_UINT(T, "interval", interval, 1, 3600, "seconds between 1 and 3600"),
	ASIOS_CONF_ITEM_UINT(T, "settle", settle, 1, 3600, "seconds between 1 and 3600"),
};
#undef T

static int hugepages_key(struct asios_conf *c, const char *name, const char *value)
{
	struct asios_numa_policy *p = POLICY(c);
	struct asios_numa_hugepages *h;
	unsigned long size_kb;
	long node, count;

	if (strncmp(name, "node", 4) || node_number(name + 4, &node) < 0)
		return fail(c, "[hugepages]: expected nodeN = COUNT [SIZE], got key \"%s\"%s", name, "");
	if (hugepages_value(value, &count, &size_kb) < 0)
		return fail(c, "%s: expected COUNT [2M|1G|NkB], got \"%s\"", name, value);
	for (size_t i = 0; i < p->n_hugepages; i++)
		if (p->hugepages[i].node == (unsigned)node && p->hugepages[i].size_kb == size_kb) {
			p->hugepages[i].count = count;
			return 1;
		}
	h = realloc(p->hugepages, (p->n_hugepages + 1) * sizeof(*h));
	if (!h)
		return fail(c, "out of memory%s%s", "", "");
	p->hugepages = h;
	p->hugepages[p->n_hugepages++] = (struct asios_numa_hugepages){ (unsigned)node, size_kb, count };
	return 1;
}

/* remember the line where this file first names workload I */
static int note_workload(struct asios_conf *c, size_t i)
{
	if (i >= c->n_lines) {
		unsigned *l = realloc(c->lines, (i + 1) * sizeof(*l));

		if (!l)
			return -ENOMEM;
		memset(l + c->n_lines, 0, (i + 1 - c->n_lines) * sizeof(*l));
		c->lines = l;
		c->n_lines = i + 1;
	}
	if (!c->lines[i])
		c->lines[i] = c->line;
	return 0;
}

static int workload_key(struct asios_conf *c, const char *section, const char *id, const char *name, const char *value)
{
	struct asios_numa_workload *w;
	const char *err = NULL;
	bool b;
	long n;
	int m;

	if (!*id || strlen(id) >= sizeof(w->name))
		return fail(c, "[%s]: a workload needs a name (up to 63 characters)%s", section, "");
	w = workload_for(POLICY(c), id);
	if (!w || note_workload(c, (size_t)(w - POLICY(c)->workloads)) < 0)
		return fail(c, "out of memory%s%s", "", "");
	if (!strcmp(name, "command") || !strcmp(name, "cgroup")) {
		char **slot = name[1] == 'o' ? &w->command : &w->cgroup;

		if (!*value || (name[1] == 'g' && value[0] != '/'))
			return fail(c, "%s: expected %s, got an empty or relative value", name,
				    name[1] == 'o' ? "a pattern" : "an absolute cgroup path");
		free(*slot);
		if (!(*slot = strdup(value)))
			return fail(c, "out of memory%s%s", "", "");
	} else if (!strcmp(name, "node")) {
		if (node_number(value, &n) < 0)
			return fail(c, "node: not a NUMA node number: \"%s\"%s", value, "");
		w->node = (int)n;
	} else if (!strcmp(name, "cpus")) {
		if (!w->cpus && !(w->cpus = hwloc_bitmap_alloc()))
			return fail(c, "out of memory%s%s", "", "");
		if (asios_cpulist_parse(value, w->cpus, &err) < 0 || hwloc_bitmap_iszero(w->cpus))
			return fail(c, "cpus: not a non-empty CPU list: \"%s\"%s", value, "");
	} else if (!strcmp(name, "migrate") || !strcmp(name, "autonuma") || !strcmp(name, "ignore")) {
		if (asios_conf_bool(value, &b) < 0)
			return fail(c, "%s: expected yes or no, got \"%s\"", name, value);
		if (name[0] == 'm')
			w->migrate = b;
		else if (name[0] == 'a')
			w->autonuma = b;
		else
			w->ignore = b;
	} else if (!strcmp(name, "multi_node")) {
		if ((m = multi_value(value)) < 0)
			return fail(c, "multi_node: expected split, interleave or leave, got \"%s\"%s", value, "");
		w->multi = m;
	} else {
		return fail(c, "unknown key \"%s\" in [%s]", name, section);
	}
	return 1;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct asios_conf *c = user;

	if (!strcmp(section, "numad"))
		return asios_conf_table(c, numad_keys, ASIOS_CONF_N(numad_keys), POLICY(c), section, name, value);
	if (!strcmp(section, "hugepages"))
		return hugepages_key(c, name, value);
	if (!strncmp(section, "workload ", 9))
		return workload_key(c, section, section + 9, name, value);
	return fail(c, "unknown section [%s]%s", section, "");
}

int asios_numa_policy_init(struct asios_numa_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->accelerators = true;
	p->migrate = true;
	p->multi = ASIOS_NUMA_MULTI_SPLIT;
	p->autonuma = ASIOS_AUTONUMA_AUTO;
	p->interval = 30;
	p->settle = 2;
	p->banned_cpus = hwloc_bitmap_alloc();
	return p->banned_cpus ? 0 : -ENOMEM;
}

void asios_numa_policy_clear(struct asios_numa_policy *p)
{
	hwloc_bitmap_free(p->banned_cpus);
	for (size_t i = 0; i < p->n_workloads; i++) {
		free(p->workloads[i].command);
		free(p->workloads[i].cgroup);
		hwloc_bitmap_free(p->workloads[i].cpus);
	}
	free(p->workloads);
	free(p->hugepages);
	memset(p, 0, sizeof(*p));
}

/* after each file: a [workload] it names must say (there or before) what it matches */
static int validate(struct asios_conf *conf, const char *path, char **error)
{
	struct asios_conf *c = conf;
	const struct asios_numa_policy *p = POLICY(c);
	int r = 0;

	for (size_t i = 0; i < p->n_workloads && !r; i++)
		if (!p->workloads[i].command && !p->workloads[i].cgroup) {
			r = -EINVAL;
			if (error && asprintf(error, "%s:%u: [workload %s]: needs command = PATTERN or cgroup = PATH", path,
					      i < c->n_lines ? c->lines[i] : 0, p->workloads[i].name) < 0)
				*error = NULL;
		}
	if (c->lines)
		memset(c->lines, 0, c->n_lines * sizeof(*c->lines));
	return r;
}

static const char *const repeatable[] = { "hugepages", NULL };

ASIOS_CONF_FORMAT(numa, handler, repeatable, ASIOS_NUMAD_CONF, validate)
