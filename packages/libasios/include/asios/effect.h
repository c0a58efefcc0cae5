/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The effect of a decision: each domain names the metric its plans are meant to improve (lower is better for
 * all of them) and samples it (domain.h: effect_metric, effect_kind, effect). asios_domain_apply() samples it
 * just before and just after every apply that changed something and records, in EFFECT_DIR/NAME beside the
 * journal ("/run/asios/irqd.journal" → "/run/asios/effect/irqd"), three samples:
 *   before_start   the previous apply's after_start (the window since it), or boot (counters start there)
 *   before_end     just before this apply
 *   after_start    just after it
 * The after window ends whenever it is read (asios_effect_window(): asiosctl status, asiosctl metrics,
 * asios-exporter), so "after" grows with the time since the apply, and "before" is the same kind of window
 * before it. Kinds:
 *   SHARE  cumulative counters: (Δnum / Δden) over the window (cross-node interrupt share)
 *   RATE   a cumulative counter per second: Δnum / Δt (disturbances of the isolated CPUs per second)
 *   GAUGE  a ratio at the window's end: num / den (remote share of the workloads' resident pages)
 * A window without data (no interrupts in it, counters reset, no workload) has no value (NaN).
 * Like the apply counters the record lives in /run and is not tuned state: a revert keeps it.
 */

#include <stdbool.h>
#include <stddef.h>

struct asios_root;
struct asios_snapshot;
struct asios_domain;

enum asios_effect_kind {
	ASIOS_EFFECT_SHARE,
	ASIOS_EFFECT_RATE,
	ASIOS_EFFECT_GAUGE,
};

struct asios_effect_sample {
	double t;        /* seconds since the epoch */
	double num, den; /* the metric's counters (den unused by RATE) */
};

struct asios_effect_record {
	bool have;       /* an apply was recorded */
	struct asios_effect_sample before_start, before_end, after_start;
};

/* What asios_effect_window() found: the metric over the window before the last apply and since it. */
struct asios_effect_window {
	bool have;                       /* an apply was recorded and the metric could be sampled now */
	double before, after;            /* NaN when the window had no data */
	double before_seconds, after_seconds;
	double applied_at;               /* seconds since the epoch */
};

const char *asios_effect_kind_name(enum asios_effect_kind k);
/* The metric over the window A → B. */
double asios_effect_value(enum asios_effect_kind k, const struct asios_effect_sample *a,
			  const struct asios_effect_sample *b);
/* D's record under ROOT (rec->have false when none). -EINVAL and *BAD (to free) when it is malformed. */
int asios_effect_read(const struct asios_root *root, const struct asios_domain *d, struct asios_effect_record *rec,
		      char **bad);
/* Record an apply of D: BEFORE sampled just before it, AFTER just after; START opens the window before it (NULL:
 * the previous apply's after_start, or boot). */
int asios_effect_record(const struct asios_root *root, const struct asios_domain *d,
			const struct asios_effect_sample *start, const struct asios_effect_sample *before,
			const struct asios_effect_sample *after);
/* D's last recorded apply and its effect so far: the record, and the metric sampled now (with POLICY). 0 and
 * w->have false when D has no effect metric or no apply was recorded; a negative errno when the record is
 * malformed (*BAD says where) or the metric cannot be sampled. */
int asios_effect_window(struct asios_root *root, const struct asios_snapshot *s, const struct asios_domain *d,
			const void *policy, struct asios_effect_window *w, char **bad);

/* The resident memory of the NUMA domain's workloads, summed per workload: its [workload] name, else its
 * command name; LOCAL on the node it belongs on, REMOTE off it (processes whose node is unknown are left out). */
struct asios_workload_memory {
	char name[64];
	double local_bytes, remote_bytes;
};
/* *RET (free()) and *N; POLICY is the NUMA domain's (struct asios_numa_policy, may be NULL). */
int asios_workload_memory(struct asios_root *root, const struct asios_snapshot *s, const void *policy,
			  struct asios_workload_memory **ret, size_t *n);

/* The samplers of the built-in domains (domain.c points at them). */
int asios_effect_irq_remote(struct asios_root *root, const struct asios_snapshot *s, const void *policy,
			    struct asios_effect_sample *out);
int asios_effect_numa_remote(struct asios_root *root, const struct asios_snapshot *s, const void *policy,
			     struct asios_effect_sample *out);
int asios_effect_isolated_disturbances(struct asios_root *root, const struct asios_snapshot *s, const void *policy,
				       struct asios_effect_sample *out);
int asios_effect_block_latency(struct asios_root *root, const struct asios_snapshot *s, const void *policy,
			       struct asios_effect_sample *out);
