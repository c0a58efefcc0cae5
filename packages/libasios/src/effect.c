/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* The effect of a decision: the before/after windows of each domain's metric (effect.h). */
#define _GNU_SOURCE
#include "asios/effect.h"

#include <errno.h>
#include <hwloc.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asios/block-plan.h"
#include "asios/domain.h"
#include "asios/interrupts.h"
#include "asios/numa-plan.h"
#include "asios/root.h"
#include "asios/sched-plan.h"
#include "asios/snapshot.h"
#include "asios/stats.h"

static const char *const kind_names[] = {
	[ASIOS_EFFECT_SHARE] = "share",
	[ASIOS_EFFECT_RATE] = "rate",
	[ASIOS_EFFECT_GAUGE] = "gauge",
};

const char *asios_effect_kind_name(enum asios_effect_kind k)
{
	return (unsigned)k < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[k] : "unknown";
}

double asios_effect_value(enum asios_effect_kind k, const struct asios_effect_sample *a,
			  const struct asios_effect_sample *b)
{
	double dn = b->num - a->num, dd = b->den - a->den, dt = b->t - a->t;

	switch (k) {
	case ASIOS_EFFECT_SHARE:
		return dn >= 0 && dd > 0 ? dn / dd : NAN;
	case ASIOS_EFFECT_RATE:
		return dn >= 0 && dt > 0 ? dn / dt : NAN;
	case ASIOS_EFFECT_GAUGE:
		return b->den > 0 ? b->num / b->den : NAN;
	}
	return NAN;
}

/* ---- the record beside the journal ---- */

/* "/run/asios/irqd.journal" → "/run/asios/effect/irqd" */
static char *effect_path(const char *journal)
{
	return asios_journal_telemetry_path(journal, "effect");
}

static int record_line(const char *line, struct asios_effect_record *rec)
{
	static const char *const keys[] = { "before_start", "before_end", "after_start" };
	struct asios_effect_sample *slot[] = { &rec->before_start, &rec->before_end, &rec->after_start };
	char key[32], word[64];
	struct asios_effect_sample v;
	int end = -1;

	if (sscanf(line, "%31s %63s %n", key, word, &end) == 2 && end > 0 && !line[end] &&
	    (!strcmp(key, "metric") || !strcmp(key, "kind")))
		return 0; /* said for a reader; the domain's table is what counts */
	end = -1;
	if (sscanf(line, "%31s %lf %lf %lf %n", key, &v.t, &v.num, &v.den, &end) != 4 || end < 0 || line[end] ||
	    !isfinite(v.t) || !isfinite(v.num) || !isfinite(v.den))
		return -EINVAL;
	for (size_t i = 0; i < 3; i++)
		if (!strcmp(key, keys[i])) {
			*slot[i] = v;
			rec->have = true;
			return 0;
		}
	return -EINVAL;
}

int asios_effect_read(const struct asios_root *root, const struct asios_domain *d, struct asios_effect_record *rec,
		      char **bad)
{
	char *path = effect_path(d->journal), *text = NULL, *save = NULL;
	int r = path ? asios_read_file(root, path, &text, NULL) : -ENOMEM;

	*rec = (struct asios_effect_record){ 0 };
	if (bad)
		*bad = NULL;
	if (r == -ENOENT)
		r = 0;
	for (char *line = r >= 0 && text ? strtok_r(text, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save))
		if (line[0] != '#' && record_line(line, rec) < 0) {
			if (bad && asprintf(bad, "%s: malformed line \"%s\"", path, line) < 0)
				*bad = NULL;
			*rec = (struct asios_effect_record){ 0 };
			r = -EINVAL;
			break;
		}
	free(text);
	free(path);
	return r < 0 ? r : 0;
}

/* counters start at boot: the first window before an apply is the time since */
static struct asios_effect_sample boot_sample(const struct asios_root *root, const struct asios_effect_sample *now)
{
	struct asios_effect_sample b = { .t = now->t };
	char *line = NULL;
	double up;

	if (asios_read_line(root, "/proc/uptime", &line) >= 0 && sscanf(line, "%lf", &up) == 1 && up > 0)
		b.t = now->t - up;
	free(line);
	return b;
}

int asios_effect_record(const struct asios_root *root, const struct asios_domain *d,
			const struct asios_effect_sample *from, const struct asios_effect_sample *before,
			const struct asios_effect_sample *after)
{
	struct asios_effect_record prev;
	struct asios_effect_sample start;
	char *path = effect_path(d->journal), *text = NULL;
	int r;

	if (!path)
		return -ENOMEM;
	/* a malformed record starts again from boot */
	if (from)
		start = *from;
	else if (asios_effect_read(root, d, &prev, NULL) < 0 || !prev.have || prev.after_start.t > before->t)
		start = boot_sample(root, before);
	else
		start = prev.after_start;
	r = asprintf(&text,
		     "# the last apply of %s and the samples around it (asiosctl status, asiosctl metrics)\n"
		     "metric %s\nkind %s\nbefore_start %.3f %.17g %.17g\nbefore_end %.3f %.17g %.17g\n"
		     "after_start %.3f %.17g %.17g\n",
		     d->name, d->effect_metric, asios_effect_kind_name(d->effect_kind), start.t, start.num, start.den,
		     before->t, before->num, before->den, after->t, after->num, after->den);
	r = r < 0 ? -ENOMEM : asios_write_whole(root, path, text);
	free(text);
	free(path);
	return r;
}

int asios_effect_window(struct asios_root *root, const struct asios_snapshot *s, const struct asios_domain *d,
			const void *policy, struct asios_effect_window *w, char **bad)
{
	struct asios_effect_record rec;
	struct asios_effect_sample now;
	int r;

	*w = (struct asios_effect_window){ .before = NAN, .after = NAN };
	if (bad)
		*bad = NULL;
	if (!d->effect)
		return 0;
	r = asios_effect_read(root, d, &rec, bad);
	if (r < 0 || !rec.have)
		return r;
	r = d->effect(root, s, policy, &now);
	if (r < 0)
		return r;
	*w = (struct asios_effect_window){
		.have = true,
		.before = asios_effect_value(d->effect_kind, &rec.before_start, &rec.before_end),
		.after = asios_effect_value(d->effect_kind, &rec.after_start, &now),
		.before_seconds = rec.before_end.t - rec.before_start.t,
		.after_seconds = now.t - rec.after_start.t,
		.applied_at = rec.after_start.t,
	};
	return 0;
}

/* ---- the samplers ---- */

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int read_interrupts(struct asios_root *root, struct asios_interrupts **in)
{
	char *text = NULL;
	size_t len = 0;
	int r = asios_read_file(root, "/proc/interrupts", &text, &len);

	if (r >= 0)
		r = asios_interrupts_parse(text, len, "/proc/interrupts", in, NULL);
	free(text);
	return r;
}

static int cpu_node(const struct asios_snapshot *s, unsigned cpu)
{
	for (size_t i = 0; i < s->n_cpus; i++)
		if (s->cpus[i].id == cpu)
			return s->cpus[i].node;
	return -1;
}

/* IRQ: the share of device interrupts (IRQs of a PCI device whose node is known) handled off the device's node */
int asios_effect_irq_remote(struct asios_root *root, const struct asios_snapshot *s, const void *policy,
			    struct asios_effect_sample *out)
{
	struct asios_interrupts *in = NULL;
	int r = read_interrupts(root, &in);

	(void)policy;
	*out = (struct asios_effect_sample){ .t = now_seconds() };
	if (r < 0)
		return r;
	for (size_t i = 0; i < s->n_irqs; i++) {
		const struct asios_irq_row *row = asios_interrupts_find(in, s->irqs[i].irq);
		int node = s->irqs[i].device >= 0 ? s->pci[s->irqs[i].device].node : -1;

		for (size_t c = 0; row && node >= 0 && c < row->n_counts && c < in->n_cpus; c++) {
			out->den += (double)row->counts[c];
			if (cpu_node(s, in->cpus[c]) != node)
				out->num += (double)row->counts[c];
		}
	}
	asios_interrupts_free(in);
	return 0;
}

/* the node a workload's memory belongs on: its [workload]'s node, else its first accelerator's of known node */
static int workload_node(const struct asios_snapshot *s, const struct asios_numa_policy *policy,
			 const struct asios_numa_proc *p)
{
	const struct asios_numa_workload *w = policy ? asios_numa_workload_of(policy, p) : NULL;

	if (w && w->ignore)
		return -1;
	if (w && w->node >= 0)
		return w->node;
	for (size_t k = 0; k < p->n_devices; k++)
		if (p->device_pci && p->device_pci[k] >= 0 && s->pci[p->device_pci[k]].node >= 0)
			return s->pci[p->device_pci[k]].node;
	return -1;
}

/* NUMA: the share of the workloads' resident memory that lies off the node it belongs on (workload_node) */
int asios_effect_numa_remote(struct asios_root *root, const struct asios_snapshot *s, const void *policy,
			     struct asios_effect_sample *out)
{
	struct asios_numa_state *st = NULL;
	int r = asios_numa_observe(root, s, policy, &st);

	*out = (struct asios_effect_sample){ .t = now_seconds() };
	for (size_t i = 0; r >= 0 && i < st->n_procs; i++) {
		const struct asios_numa_proc *p = &st->procs[i];
		int node = workload_node(s, policy, p);

		for (size_t n = 0; node >= 0 && p->numa_maps_ok && n < p->n_node_kb; n++) {
			out->den += (double)p->node_kb[n];
			if ((int)n != node)
				out->num += (double)p->node_kb[n];
		}
	}
	asios_numa_state_free(st);
	return r < 0 ? r : 0;
}

static struct asios_workload_memory *workload_row(struct asios_workload_memory **rows, size_t *n, const char *name)
{
	struct asios_workload_memory *r;

	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*rows)[i].name, name))
			return &(*rows)[i];
	r = realloc(*rows, (*n + 1) * sizeof(**rows));
	if (!r)
		return NULL;
	*rows = r;
	r = &r[(*n)++];
	*r = (struct asios_workload_memory){ 0 };
	snprintf(r->name, sizeof(r->name), "%s", name);
	return r;
}

int asios_workload_memory(struct asios_root *root, const struct asios_snapshot *s, const void *policy,
			  struct asios_workload_memory **ret, size_t *n)
{
	struct asios_numa_state *st = NULL;
	int r = asios_numa_observe(root, s, policy, &st);

	*ret = NULL;
	*n = 0;
	for (size_t i = 0; r >= 0 && i < st->n_procs; i++) {
		const struct asios_numa_proc *p = &st->procs[i];
		const struct asios_numa_workload *w = policy ? asios_numa_workload_of(policy, p) : NULL;
		int node = workload_node(s, policy, p);
		struct asios_workload_memory *row;

		if (node < 0 || !p->numa_maps_ok)
			continue;
		row = workload_row(ret, n, w ? w->name : p->comm);
		if (!row) {
			r = -ENOMEM;
			break;
		}
		for (size_t k = 0; k < p->n_node_kb; k++)
			*((int)k == node ? &row->local_bytes : &row->remote_bytes) += (double)p->node_kb[k] * 1024;
	}
	asios_numa_state_free(st);
	if (r < 0) {
		free(*ret);
		*ret = NULL;
		*n = 0;
	}
	return r < 0 ? r : 0;
}

/* isolation: every interrupt (device IRQs, timer ticks, IPIs…) delivered to the CPUs the policy isolates */
int asios_effect_isolated_disturbances(struct asios_root *root, const struct asios_snapshot *s, const void *policy,
				       struct asios_effect_sample *out)
{
	struct asios_sched_layout lay = { 0 };
	struct asios_interrupts *in = NULL;
	int r = asios_sched_layout(s, policy, &lay);

	*out = (struct asios_effect_sample){ .t = now_seconds() };
	if (r >= 0)
		r = read_interrupts(root, &in);
	for (size_t i = 0; r >= 0 && i < in->n_rows; i++)
		for (size_t c = 0; c < in->rows[i].n_counts && c < in->n_cpus; c++)
			if (hwloc_bitmap_isset(lay.isolated, in->cpus[c]))
				out->num += (double)in->rows[i].counts[c];
	asios_interrupts_free(in);
	asios_sched_layout_clear(&lay);
	return r < 0 ? r : 0;
}

/* block: milliseconds per completed request of the disks the domain tunes (/proc/diskstats: time reading and
 * writing over reads and writes completed), a SHARE of counters: the average service time over a window */
int asios_effect_block_latency(struct asios_root *root, const struct asios_snapshot *s, const void *policy,
			       struct asios_effect_sample *out)
{
	struct asios_block_state *st = NULL;
	char *text = NULL, *save = NULL;
	int r = asios_block_observe(root, policy, &st);

	(void)s;
	*out = (struct asios_effect_sample){ .t = now_seconds() };
	if (r >= 0)
		r = asios_read_file(root, "/proc/diskstats", &text, NULL);
	for (char *line = r >= 0 ? strtok_r(text, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long rd, rd_merged, rd_sectors, rd_ms, wr, wr_merged, wr_sectors, wr_ms;
		char name[64];

		if (sscanf(line, "%*u %*u %63s %llu %llu %llu %llu %llu %llu %llu %llu", name, &rd, &rd_merged,
			   &rd_sectors, &rd_ms, &wr, &wr_merged, &wr_sectors, &wr_ms) != 9)
			continue;
		for (size_t i = 0; i < st->n_devices; i++)
			if (st->devices[i].class >= 0 && !strcmp(st->devices[i].name, name)) {
				out->num += (double)(rd_ms + wr_ms);
				out->den += (double)(rd + wr);
			}
	}
	free(text);
	asios_block_state_free(st);
	return r < 0 ? r : 0;
}
