/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * Auto-tuning by measurement (asiosctl tune).
 *
 * The search space is the knobs the domains declare (asios_knob: a file, bounds): every knob with a range, not
 * marked unsafe, not one that only makes sense on isolated CPUs, on every object it applies to (a block knob per
 * disk). The search is a coordinate search: one knob at a time, from the value in force, the neighbours on a
 * doubling ladder (×2, ÷2, ×4…) or every value of a small range, going on in a direction while it wins. Each
 * candidate is compared with the incumbent in interleaved ABBA blocks (A B B A, then B A A B: drift in time
 * hits both alike), each block giving two paired runs, and kept only when a one-sided exact Wilcoxon
 * signed-rank test on the pairs says it is better at the stated confidence, its median gain reaches the minimum
 * gain, and no guard metric got significantly worse beyond its tolerance. A candidate worse in each of its first
 * four pairs is given up early. The engine only decides; the caller measures and sets (asiosctl: the objective
 * command, and asios_apply() with the run's undo journal).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "asios/root.h"

/* The run's undo journal: every trial's setting; an interrupted run is undone by the next (or by revert) */
#define ASIOS_TUNE_RUN_JOURNAL "/run/asios/tune-run.journal"
/* The kept result's undo journal (asiosctl tune revert) */
#define ASIOS_TUNE_JOURNAL "/run/asios/tune.journal"
/* Held for the whole run: one tuner per root */
#define ASIOS_TUNE_LOCK "/run/asios/tune.lock"
/* The trial log (log.jsonl) and the saved profiles (NAME.json) */
#define ASIOS_TUNE_DIR "/var/lib/asios/tune"

#define ASIOS_TUNE_MAX_GUARDS 8
#define ASIOS_TUNE_MAX_PAIRS 64

/* The saved profiles under ROOT (ASIOS_TUNE_DIR/NAME.json) as Prometheus families into F: kept or retired, their
 * last measured gain and when, and the number of lost comparisons (asiosctl metrics, asios-exporter). */
void asios_tune_metrics_write(FILE *f, struct asios_root *root);

/* ---- statistics ---- */

/* The median and the quartiles (linear interpolation) of V[0..N); NAN when N is 0. V is not changed. */
double asios_quantile(const double *v, size_t n, double q);
/* One-sided p-value of the Wilcoxon signed-rank test that D[0..N) are centred above 0: exact (all 2^n sign
 * assignments, mid-ranks for ties) up to 24 non-zero differences, the normal approximation with tie correction
 * beyond. Zero differences are dropped; with none left the p-value is 1. */
double asios_signed_rank_p(const double *d, size_t n);

/* ---- the search space ---- */

struct asios_tune_knob {
	char name[64];       /* "read_ahead_kb", "vm.stat_interval" */
	char object[64];     /* "vda"; "" for a knob of the whole machine */
	char path[256];      /* the file under the root */
	char domain[16];     /* the domain that declares it */
	unsigned field;      /* the FIELD-th number of the file (1-based; 0: the file is the number) */
	long min, max;
	long start;          /* in force when the run started */
	long best;           /* the incumbent */
	size_t at_least;     /* a coupled constraint: never below knob AT_LEAST - 1 (0: none) */
	bool follower;       /* in the space only for a constraint: raised along, not searched itself */
};

/*
 * The tunable knobs under ROOT: NAMES (NULL: all) restricted to OBJECTS (NULL: every object: for block knobs,
 * the disks that are not loop, ram or zram devices). A name that no domain declares, a knob that is not
 * tunable (no range, unsafe, needs isolated CPUs) or a file that is missing or does not hold a number is an
 * error naming it. A knob declared never below a knob of the space (asios_knob.at_least) joins it, as a
 * follower when it was not asked for. *RET: free().
 */
int asios_tune_space(struct asios_root *root, const char *const *names, const char *const *objects,
		     struct asios_tune_knob **ret, size_t *n, char **error);

/* The candidates next to FROM in DIRECTION (+1 up, -1 down), nearest first, within the knob's bounds; their
 * number (at most MAX). */
size_t asios_tune_candidates(const struct asios_tune_knob *k, long from, int direction, long *out, size_t max);

/* ---- the run ---- */

struct asios_tune_guard {
	char name[64];
	bool maximize;       /* a higher value is better (else lower) */
	double tolerance;    /* a worsening of its median up to this share is accepted (0.05: 5 %) */
};

/* A comparison that lost on this machine before (knob index, incumbent, candidate): not made again */
struct asios_tune_history {
	size_t knob;
	long from, to;
};

struct asios_tune_opts {
	bool maximize;
	unsigned budget;     /* objective runs in all, the baseline's included */
	unsigned blocks;     /* ABBA blocks per comparison (two pairs each) */
	double confidence;   /* 0.95 */
	double min_gain;     /* a win smaller than this share of the incumbent's median is not kept */
	struct asios_tune_guard guards[ASIOS_TUNE_MAX_GUARDS];
	size_t n_guards;
	const struct asios_tune_history *history; /* lost before (a profile that stopped winning): not retried */
	size_t n_history;
};

enum asios_tune_decision {
	ASIOS_TUNE_KEPT,        /* better at the confidence, by the minimum gain, no guard worse */
	ASIOS_TUNE_REJECTED,    /* not shown better */
	ASIOS_TUNE_GUARD,       /* better, but a guard got worse */
	ASIOS_TUNE_GAVE_UP,     /* worse in each of its first four pairs */
	ASIOS_TUNE_BUDGET,      /* the budget ran out during the comparison: not kept */
	ASIOS_TUNE_REFUSED,     /* the value could not be set (the kernel refused it): skipped */
};
const char *asios_tune_decision_name(enum asios_tune_decision d);

/* One comparison, as the log and `asiosctl tune explain` give it */
struct asios_tune_trial {
	size_t knob;                 /* index into the space */
	long from, to;
	size_t pairs;
	double a[ASIOS_TUNE_MAX_PAIRS], b[ASIOS_TUNE_MAX_PAIRS]; /* the objective's paired runs */
	double median_a, median_b, iqr_a, iqr_b;
	double gain;                 /* median_b over median_a − 1, in the better direction */
	double p;                    /* of "B better than A" */
	double guard_p[ASIOS_TUNE_MAX_GUARDS];      /* of "B worse than A" for each guard */
	double guard_change[ASIOS_TUNE_MAX_GUARDS]; /* relative change of its median, in its worse direction */
	enum asios_tune_decision decision;
	char why[240];
};

struct asios_tune_ops {
	/* One run of the objective under the settings in force: its value, and each guard's (NAN: not printed);
	 * negative: the run failed (the tuner stops) */
	int (*measure)(void *userdata, double *objective, double *guards);
	/* Knob K set to VALUE (a coupled knob is set through its own call); negative: refused */
	int (*set)(void *userdata, const struct asios_tune_knob *k, long value);
	/* A comparison decided (NULL: not told) */
	void (*trial)(void *userdata, const struct asios_tune_trial *t);
};

struct asios_tune_result {
	unsigned runs;       /* objective runs made */
	size_t trials, kept;
	double baseline;     /* the median of the first comparison's A runs (the start) */
	double best;         /* the median of the last kept candidate's runs, else the baseline */
	bool stopped;        /* a run or a setting failed: the search stopped there */
};

/* The value of knob I's FIELD in the line of its file: 0, or a negative errno */
int asios_tune_read(struct asios_root *root, const struct asios_tune_knob *k, long *ret);

/*
 * Coordinate search over K[0..N) from each knob's START. Followers are not searched; a candidate that raises a
 * knob above its incumbent and above a knob kept at least as large raises that one along in the same trial, and
 * a candidate that lowers a knob further below one it must not be below is not tried. Returns 0, or the
 * negative error of a failed run or setting (the search stops there; RES says how far it got). K[i].best holds the winners; every knob is set
 * to its best value on return (the caller's undo journal puts the start values back when nothing won).
 */
int asios_tune_run(struct asios_tune_knob *k, size_t n, const struct asios_tune_opts *o,
		   const struct asios_tune_ops *ops, void *userdata, struct asios_tune_result *res);

/*
 * The whole set at once: every knob at its START (side A) against every knob at its BEST (side B), in the same
 * ABBA blocks and judged by the same tests, into T (T->knob is N). It is the evidence that the winners still win
 * where they are applied: a canary's winners on the whole machine, a kept profile re-validated later. The knobs
 * are left at B when it was kept, else at A (the caller's journal records both). *RUNS: the objective runs
 * made. 0, or the negative error of a run or setting.
 */
int asios_tune_confirm(struct asios_tune_knob *k, size_t n, const struct asios_tune_opts *o,
		       const struct asios_tune_ops *ops, void *userdata, struct asios_tune_trial *t, unsigned *runs);
