/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* The eBPF observer's counters as asios-schedd keeps them for the metrics (sched-plan.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/sched-plan.h"

const char *const asios_watch_count_names[_ASIOS_WATCH_MAX] = {
	"switches", "irqs", "hrtimers", "local_timer", "tick_stops", "preemptions", "kthreads", "work_items",
	"by_task", "by_irq", "by_timer",
};

struct asios_watch_cpu *asios_watch_state_cpu(struct asios_watch_state *st, unsigned cpu, bool add)
{
	size_t i;
	struct asios_watch_cpu *v;

	for (i = 0; i < st->n_cpus && st->cpus[i].cpu < cpu; i++)
		;
	if (i < st->n_cpus && st->cpus[i].cpu == cpu)
		return &st->cpus[i];
	if (!add || !(v = realloc(st->cpus, (st->n_cpus + 1) * sizeof(*v))))
		return NULL;
	st->cpus = v;
	memmove(&v[i + 1], &v[i], (st->n_cpus - i) * sizeof(*v));
	st->n_cpus++;
	v[i] = (struct asios_watch_cpu){ .cpu = cpu };
	return &v[i];
}

static int bad(char **error, const char *origin, size_t line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int bad(char **error, const char *origin, size_t line, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (error && asprintf(error, "%s:%zu: %s", origin, line, what) < 0)
		*error = NULL;
	return -EINVAL;
}

/* "cpu N NAME COUNT…" */
static int parse_cpu(struct asios_watch_state *st, char *line, const char *origin, size_t no, char **error)
{
	char *save = NULL, *name, *end;
	unsigned long cpu;
	struct asios_watch_cpu *c;

	name = strtok_r(line + 4, " ", &save);
	if (!name || (cpu = strtoul(name, &end, 10), *end) || cpu > 65535 || *name == '-')
		return bad(error, origin, no, "not a CPU number: \"%s\"", name ? name : "");
	if (asios_watch_state_cpu(st, (unsigned)cpu, false))
		return bad(error, origin, no, "CPU %lu twice", cpu);
	if (!(c = asios_watch_state_cpu(st, (unsigned)cpu, true)))
		return -ENOMEM;
	while ((name = strtok_r(NULL, " ", &save))) {
		char *count = strtok_r(NULL, " ", &save);
		int k;

		for (k = 0; k < _ASIOS_WATCH_MAX && strcmp(name, asios_watch_count_names[k]); k++)
			;
		if (k == _ASIOS_WATCH_MAX)
			return bad(error, origin, no, "unknown counter \"%s\"", name);
		if (!count || *count == '-' || (errno = 0, c->n[k] = strtoull(count, &end, 10), *end || errno))
			return bad(error, origin, no, "%s: not a count: \"%s\"", name, count ? count : "");
	}
	return 0;
}

int asios_watch_state_parse(struct asios_watch_state *st, const char *text, const char *origin, char **error)
{
	char *copy = strdup(text), *save = NULL, *line;
	size_t no = 0;
	int r = 0;

	*st = (struct asios_watch_state){ 0 };
	if (error)
		*error = NULL;
	if (!copy)
		return -ENOMEM;
	for (line = strtok_r(copy, "\n", &save); line && r >= 0; line = strtok_r(NULL, "\n", &save)) {
		no++;
		if (no == 1) {
			int n = -1;

			if (sscanf(line, "started %lf updated %lf%n", &st->started, &st->updated, &n) != 2 || line[n] ||
			    !(st->started >= 0 && st->updated >= st->started))
				r = bad(error, origin, no, "not \"started TIME updated TIME\" (Unix times, updated not before started)");
		} else if (!strncmp(line, "cpu ", 4)) {
			r = parse_cpu(st, line, origin, no, error);
		} else {
			r = bad(error, origin, no, "not a \"cpu N NAME COUNT…\" line");
		}
	}
	if (r >= 0 && !no)
		r = bad(error, origin, 1, "empty");
	free(copy);
	if (r < 0)
		asios_watch_state_clear(st);
	return r;
}

int asios_watch_state_format(const struct asios_watch_state *st, FILE *f)
{
	fprintf(f, "started %.3f updated %.3f\n", st->started, st->updated);
	for (size_t i = 0; i < st->n_cpus; i++) {
		fprintf(f, "cpu %u", st->cpus[i].cpu);
		for (int k = 0; k < _ASIOS_WATCH_MAX; k++)
			fprintf(f, " %s %" PRIu64, asios_watch_count_names[k], st->cpus[i].n[k]);
		fputc('\n', f);
	}
	return ferror(f) ? -EIO : 0;
}

void asios_watch_state_clear(struct asios_watch_state *st)
{
	free(st->cpus);
	*st = (struct asios_watch_state){ 0 };
}
