/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include "asios/plan.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actuator.h"
#include "asios/cpulist.h"
#include "util.h"

struct asios_plan *asios_plan_new(void)
{
	return calloc(1, sizeof(struct asios_plan));
}

static void action_clear(struct asios_action *a)
{
	free(a->object);
	free(a->path);
	free(a->old_value);
	free(a->new_value);
	free(a->reason);
	hwloc_bitmap_free(a->from);
	hwloc_bitmap_free(a->to);
}

void asios_plan_free(struct asios_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_actions; i++)
		action_clear(&p->actions[i]);
	free(p->actions);
	for (size_t i = 0; i < p->n_skipped; i++) {
		free(p->skipped[i].object);
		free(p->skipped[i].reason);
	}
	free(p->skipped);
	asios_strv_free(p->notes);
	free(p);
}

int asios_plan_add_cpus(struct asios_plan *p, int irq, const char *device, const char *path, hwloc_const_bitmap_t from,
			hwloc_const_bitmap_t to, const char *fmt, ...)
{
	struct asios_action *na, *a;
	va_list ap;
	int r;

	na = realloc(p->actions, (p->n_actions + 1) * sizeof(*na));
	if (!na)
		return -ENOMEM;
	p->actions = na;
	a = &p->actions[p->n_actions];
	memset(a, 0, sizeof(*a));
	a->kind = ASIOS_ACTION_WRITE;
	a->irq = irq;
	snprintf(a->device, sizeof(a->device), "%s", device ? device : "");
	va_start(ap, fmt);
	r = vasprintf(&a->reason, fmt, ap);
	va_end(ap);
	if (r < 0)
		a->reason = NULL;
	if (asprintf(&a->object, "irq %d", irq) < 0)
		a->object = NULL;
	a->path = strdup(path);
	a->old_value = asios_cpulist_format(from);
	a->new_value = asios_cpulist_format(to);
	a->from = hwloc_bitmap_dup(from);
	a->to = hwloc_bitmap_dup(to);
	p->n_actions++; /* counted first so that asios_plan_free() releases a half-made action */
	if (!a->reason || !a->object || !a->path || !a->old_value || !a->new_value || !a->from || !a->to)
		return -ENOMEM;
	return 0;
}

int asios_plan_skip(struct asios_plan *p, int irq, const char *fmt, ...)
{
	struct asios_skip *ns, *s;
	va_list ap;
	int r;

	ns = realloc(p->skipped, (p->n_skipped + 1) * sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	p->skipped = ns;
	s = &p->skipped[p->n_skipped++];
	s->irq = irq;
	if (asprintf(&s->object, "irq %d", irq) < 0)
		s->object = NULL;
	va_start(ap, fmt);
	r = vasprintf(&s->reason, fmt, ap);
	va_end(ap);
	if (r < 0)
		s->reason = NULL;
	return s->object && s->reason ? 0 : -ENOMEM;
}

int asios_plan_note(struct asios_plan *p, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = asios_strv_pushv(&p->notes, &p->n_notes, fmt, ap);
	va_end(ap);
	return r;
}

int asios_plan_note_absent(struct asios_plan *p, hwloc_const_bitmap_t set, hwloc_const_bitmap_t online,
			   const char *what)
{
	hwloc_bitmap_t gone = hwloc_bitmap_alloc();
	char *g = NULL, *o = NULL;
	int r = 0;

	if (!gone)
		return -ENOMEM;
	if (set)
		hwloc_bitmap_andnot(gone, set, online);
	if (!hwloc_bitmap_iszero(gone)) {
		g = asios_cpulist_format(gone);
		o = asios_cpulist_format(online);
		r = asios_plan_note(p, "%s lists CPUs %s that are not online here (online: %s): they are left out", what,
				    g ? g : "?", o ? o : "?");
	}
	free(g);
	free(o);
	hwloc_bitmap_free(gone);
	return r;
}

/* a new zeroed action at the end (counted at once so that asios_plan_free() releases a half-made one) */
static struct asios_action *new_action(struct asios_plan *p)
{
	struct asios_action *na = realloc(p->actions, (p->n_actions + 1) * sizeof(*na));

	if (!na)
		return NULL;
	p->actions = na;
	na = &p->actions[p->n_actions++];
	memset(na, 0, sizeof(*na));
	na->irq = -1;
	return na;
}

/* a write or whole-file action; OLD and NEW may be NULL (a file that does not exist, or is to be removed) */
static int add_text(struct asios_plan *p, enum asios_action_kind kind, const char *object, const char *path,
		    const char *old, const char *new, const char *fmt, va_list ap) __attribute__((format(printf, 7, 0)));

static int add_text(struct asios_plan *p, enum asios_action_kind kind, const char *object, const char *path,
		    const char *old, const char *new, const char *fmt, va_list ap)
{
	struct asios_action *a = new_action(p);

	if (!a)
		return -ENOMEM;
	a->kind = kind;
	if (vasprintf(&a->reason, fmt, ap) < 0)
		a->reason = NULL;
	a->object = strdup(object);
	a->path = strdup(path);
	a->old_value = old ? strdup(old) : NULL;
	a->new_value = new ? strdup(new) : NULL;
	return a->reason && a->object && a->path && (!old || a->old_value) && (!new || a->new_value) ? 0 : -ENOMEM;
}

int asios_plan_add_write(struct asios_plan *p, const char *object, const char *path, const char *old_value,
			 const char *new_value, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = add_text(p, ASIOS_ACTION_WRITE, object, path, old_value ? old_value : "", new_value ? new_value : "", fmt, ap);
	va_end(ap);
	return r;
}

/* an action of KIND between two numbers */
static int add_numbers(struct asios_plan *p, enum asios_action_kind kind, const char *object, const char *path,
		       long old_value, long new_value, const char *fmt, va_list ap) __attribute__((format(printf, 7, 0)));
static int add_numbers(struct asios_plan *p, enum asios_action_kind kind, const char *object, const char *path,
		       long old_value, long new_value, const char *fmt, va_list ap)
{
	char old[24], new[24];

	snprintf(old, sizeof(old), "%ld", old_value);
	snprintf(new, sizeof(new), "%ld", new_value);
	return add_text(p, kind, object, path, old, new, fmt, ap);
}

int asios_plan_add_ethtool(struct asios_plan *p, const char *object, const char *path, long old_value, long new_value,
			   const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = add_numbers(p, ASIOS_ACTION_ETHTOOL, object, path, old_value, new_value, fmt, ap);
	va_end(ap);
	return r;
}

int asios_plan_add_pcie(struct asios_plan *p, const char *object, const char *path, long old_value, long new_value,
			const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = add_numbers(p, ASIOS_ACTION_PCIE, object, path, old_value, new_value, fmt, ap);
	va_end(ap);
	return r;
}

int asios_plan_add_file(struct asios_plan *p, const char *object, const char *path, const char *old_content,
			const char *new_content, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = add_text(p, ASIOS_ACTION_FILE, object, path, old_content, new_content, fmt, ap);
	va_end(ap);
	return r;
}

static int add_process(struct asios_plan *p, enum asios_action_kind kind, int pid, unsigned long long starttime,
		       const char *comm, hwloc_const_bitmap_t from, hwloc_const_bitmap_t to, const char *fmt, va_list ap)
	__attribute__((format(printf, 8, 0)));

static int add_process(struct asios_plan *p, enum asios_action_kind kind, int pid, unsigned long long starttime,
		       const char *comm, hwloc_const_bitmap_t from, hwloc_const_bitmap_t to, const char *fmt, va_list ap)
{
	struct asios_action *a = new_action(p);

	if (!a)
		return -ENOMEM;
	a->kind = kind;
	a->pid = pid;
	a->starttime = starttime;
	if (vasprintf(&a->reason, fmt, ap) < 0)
		a->reason = NULL;
	if (asprintf(&a->object, "pid %d (%s)", pid, comm) < 0)
		a->object = NULL;
	if (asprintf(&a->path, kind == ASIOS_ACTION_AFFINITY ? "/proc/%d/task" : "/proc/%d/numa_maps", pid) < 0)
		a->path = NULL;
	a->old_value = asios_cpulist_format(from);
	a->new_value = asios_cpulist_format(to);
	a->from = hwloc_bitmap_dup(from);
	a->to = hwloc_bitmap_dup(to);
	return a->reason && a->object && a->path && a->old_value && a->new_value && a->from && a->to ? 0 : -ENOMEM;
}

int asios_plan_add_affinity(struct asios_plan *p, int pid, unsigned long long starttime, const char *comm,
			    hwloc_const_bitmap_t from, hwloc_const_bitmap_t to, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = add_process(p, ASIOS_ACTION_AFFINITY, pid, starttime, comm, from, to, fmt, ap);
	va_end(ap);
	return r;
}

int asios_plan_add_migrate(struct asios_plan *p, int pid, unsigned long long starttime, const char *comm,
			   hwloc_const_bitmap_t from_nodes, hwloc_const_bitmap_t to_nodes, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = add_process(p, ASIOS_ACTION_MIGRATE, pid, starttime, comm, from_nodes, to_nodes, fmt, ap);
	va_end(ap);
	return r;
}

int asios_plan_skip_object(struct asios_plan *p, const char *object, const char *fmt, ...)
{
	struct asios_skip *ns, *s;
	va_list ap;
	int r;

	ns = realloc(p->skipped, (p->n_skipped + 1) * sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	p->skipped = ns;
	s = &p->skipped[p->n_skipped++];
	s->irq = -1;
	s->object = strdup(object);
	va_start(ap, fmt);
	r = vasprintf(&s->reason, fmt, ap);
	va_end(ap);
	if (r < 0)
		s->reason = NULL;
	return s->object && s->reason ? 0 : -ENOMEM;
}

static int kind_of(const char *name, size_t len)
{
	for (int k = 0; k < ASIOS_ACTION_KINDS; k++) {
		const char *n = asios_actuator_of(k)->name;

		if (strlen(n) == len && !strncmp(n, name, len))
			return k;
	}
	return -1;
}

int asios_action_kinds_parse(const char *kinds, unsigned *mask, char **error)
{
	const char *p = kinds;

	*mask = 0;
	*error = NULL;
	for (;;) {
		size_t len = strcspn(p, ",");
		int k = kind_of(p, len);

		if (k < 0) {
			char all[128] = "";

			for (int i = 0; i < ASIOS_ACTION_KINDS; i++)
				snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s%s", i ? ", " : "",
					 asios_actuator_of(i)->name);
			if (asprintf(error, "'%.*s' is no kind of change (there are: %s)", (int)len, p, all) < 0)
				*error = NULL;
			return -EINVAL;
		}
		*mask |= 1u << k;
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

int asios_plan_keep_kinds(struct asios_plan *p, unsigned mask, const char *kinds)
{
	size_t kept = 0;
	int r = 0;

	for (size_t i = 0; i < p->n_actions; i++) {
		struct asios_action *a = &p->actions[i];
		const char *kind = asios_actuator_of(a->kind)->name;

		if (mask & (1u << a->kind)) {
			p->actions[kept++] = *a;
			continue;
		}
		if (r >= 0 && a->irq >= 0)
			r = asios_plan_skip(p, a->irq, "a change of kind %s, left out (only %s asked for)", kind, kinds);
		else if (r >= 0)
			r = asios_plan_skip_object(p, a->object ? a->object : a->path, "a change of kind %s, left out (only %s "
						   "asked for)", kind, kinds);
		action_clear(a);
	}
	p->n_actions = kept;
	return r;
}
