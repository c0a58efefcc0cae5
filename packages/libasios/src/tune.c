/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* Auto-tuning by measurement (tune.h): the search and the confirmation of a whole set (tune-stats.c: the statistics,
 * tune-space.c: the search space). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/tune.h"

const char *asios_tune_decision_name(enum asios_tune_decision d)
{
	static const char *const names[] = { "kept", "rejected", "guard", "gave-up", "refused" };

	return (unsigned)d < sizeof(names) / sizeof(names[0]) ? names[d] : "?";
}

struct search {
	struct asios_tune_knob *k;
	size_t n;
	const struct asios_tune_opts *o;
	const struct asios_tune_ops *ops;
	void *userdata;
	struct asios_tune_result *res;
	int set_error;                 /* the last setting refused (run_at), else 0 */
	long *cur;                     /* each knob's value in force */
	struct lost {                  /* comparisons lost: not made again from the same incumbent */
		size_t knob;
		long from, to;
	} *lost;
	size_t n_lost;
	double ga[ASIOS_TUNE_MAX_GUARDS][ASIOS_TUNE_MAX_PAIRS], gb[ASIOS_TUNE_MAX_GUARDS][ASIOS_TUNE_MAX_PAIRS];
};

/* knob I to VALUE, and each knob kept at least as large raised along when VALUE raises I above its incumbent
 * and above that knob (put back to its incumbent otherwise); the refusal of the kernel, or 0 */
static int set_to(struct search *s, size_t i, long value)
{
	int r;

	if (s->cur[i] != value) {
		if ((r = s->ops->set(s->userdata, &s->k[i], value)) < 0)
			return r;
		s->cur[i] = value;
	}
	for (size_t j = 0; j < s->n; j++) {
		long want;

		if (s->k[j].at_least != i + 1)
			continue;
		want = value > s->k[i].best && value > s->k[j].best ? value : s->k[j].best;
		if (s->cur[j] != want) {
			if ((r = s->ops->set(s->userdata, &s->k[j], want)) < 0)
				return r;
			s->cur[j] = want;
		}
	}
	return 0;
}

#define ALL ((size_t)-1) /* every knob at once: its start (side A) against its best (side B) */

/* every knob at its start (B false) or its best (B true) */
static int set_all(struct search *s, bool b)
{
	int r;

	for (size_t j = 0; j < s->n; j++) {
		long want = b ? s->k[j].best : s->k[j].start;

		if (s->cur[j] != want) {
			if ((r = s->ops->set(s->userdata, &s->k[j], want)) < 0)
				return r;
			s->cur[j] = want;
		}
	}
	return 0;
}

/* one run with knob I at VALUE (I ALL: every knob on side VALUE, 0 for A): the objective into *V, the guards
 * into G[·][PAIR] */
static int run_at(struct search *s, size_t i, long value, double *v, double g[][ASIOS_TUNE_MAX_PAIRS], size_t pair)
{
	double guards[ASIOS_TUNE_MAX_GUARDS];
	int r;

	if ((r = i == ALL ? set_all(s, value != 0) : set_to(s, i, value)) < 0)
		return s->set_error = r;
	for (size_t j = 0; j < ASIOS_TUNE_MAX_GUARDS; j++)
		guards[j] = NAN;
	if ((r = s->ops->measure(s->userdata, v, guards)) < 0)
		return r;
	s->res->runs++;
	for (size_t j = 0; j < s->o->n_guards; j++)
		g[j][pair] = guards[j];
	return 0;
}

static double better(const struct search *s, double a, double b)
{
	return s->o->maximize ? b - a : a - b;
}

static double relative(double from, double to)
{
	return from != 0 ? to / from - 1 : to - from;
}

/* the guards of a candidate that won: any significantly worse beyond its tolerance makes it GUARD */
static void judge_guards(struct search *s, struct asios_tune_trial *t)
{
	for (size_t g = 0; g < s->o->n_guards; g++) {
		const struct asios_tune_guard *gd = &s->o->guards[g];
		double worse[ASIOS_TUNE_MAX_PAIRS], ma, mb;

		for (size_t i = 0; i < t->pairs; i++)
			worse[i] = gd->maximize ? s->ga[g][i] - s->gb[g][i] : s->gb[g][i] - s->ga[g][i];
		t->guard_p[g] = asios_signed_rank_p(worse, t->pairs);
		ma = asios_quantile(s->ga[g], t->pairs, 0.5);
		mb = asios_quantile(s->gb[g], t->pairs, 0.5);
		t->guard_change[g] = gd->maximize ? -relative(ma, mb) : relative(ma, mb);
		if (isnan(ma) || isnan(mb)) {
			t->decision = ASIOS_TUNE_GUARD;
			snprintf(t->why, sizeof(t->why), "guard %s was not printed by the objective", gd->name);
		} else if (t->decision == ASIOS_TUNE_KEPT && t->guard_p[g] < 1 - s->o->confidence &&
			   t->guard_change[g] > gd->tolerance) {
			t->decision = ASIOS_TUNE_GUARD;
			snprintf(t->why, sizeof(t->why), "guard %s worse: median %.4g -> %.4g (%+.1f %%, p = %.3g), beyond "
				 "its tolerance of %.1f %%", gd->name, ma, mb, 100 * t->guard_change[g], t->guard_p[g],
				 100 * gd->tolerance);
		}
	}
}

static void judge(struct search *s, struct asios_tune_trial *t, bool gave_up)
{
	double d[ASIOS_TUNE_MAX_PAIRS];

	for (size_t i = 0; i < t->pairs; i++)
		d[i] = better(s, t->a[i], t->b[i]);
	t->median_a = asios_quantile(t->a, t->pairs, 0.5);
	t->median_b = asios_quantile(t->b, t->pairs, 0.5);
	t->iqr_a = asios_quantile(t->a, t->pairs, 0.75) - asios_quantile(t->a, t->pairs, 0.25);
	t->iqr_b = asios_quantile(t->b, t->pairs, 0.75) - asios_quantile(t->b, t->pairs, 0.25);
	t->gain = s->o->maximize ? relative(t->median_a, t->median_b) : -relative(t->median_a, t->median_b);
	t->p = asios_signed_rank_p(d, t->pairs);
	if (gave_up) {
		t->decision = ASIOS_TUNE_GAVE_UP;
		snprintf(t->why, sizeof(t->why), "worse in each of its first %zu paired runs", t->pairs);
	} else if (t->p >= 1 - s->o->confidence) {
		t->decision = ASIOS_TUNE_REJECTED;
		snprintf(t->why, sizeof(t->why), "not shown better: p = %.3g, not below %.3g", t->p, 1 - s->o->confidence);
	} else if (t->gain < s->o->min_gain) {
		t->decision = ASIOS_TUNE_REJECTED;
		snprintf(t->why, sizeof(t->why), "better (p = %.3g) but by %.2f %%, under the minimum gain of %.2f %%",
			 t->p, 100 * t->gain, 100 * s->o->min_gain);
	} else {
		t->decision = ASIOS_TUNE_KEPT;
		snprintf(t->why, sizeof(t->why), "better by %.2f %% (p = %.3g < %.3g)", 100 * t->gain, t->p,
			 1 - s->o->confidence);
		judge_guards(s, t);
	}
}

static void remember_lost(struct search *s, size_t i, long from, long to)
{
	struct lost *l = realloc(s->lost, (s->n_lost + 1) * sizeof(*l));

	if (l) {
		s->lost = l;
		l[s->n_lost++] = (struct lost){ .knob = i, .from = from, .to = to };
	}
}

/* FROM (side A) against TO (side B) of knob I (ALL: every knob's start against its best) in ABBA/BAAB blocks
 * into T; *GAVE_UP when B was worse in each of the first four pairs. 0, or the error of a run or setting. */
static int paired_runs(struct search *s, size_t i, long from, long to, struct asios_tune_trial *t, bool *gave_up)
{
	int r = 0;

	*gave_up = false;
	for (unsigned b = 0; b < s->o->blocks && !*gave_up && r >= 0; b++) {
		bool a_first = b % 2 == 0;
		size_t p0 = t->pairs;

		/* A B B A or B A A B: pairs (1st A, 1st B) and (2nd A, 2nd B) */
		for (int step = 0; step < 4 && r >= 0; step++) {
			bool is_a = (step == 0 || step == 3) == a_first;
			size_t pair = p0 + (step >= 2);

			r = is_a ? run_at(s, i, from, &t->a[pair], s->ga, pair)
				 : run_at(s, i, to, &t->b[pair], s->gb, pair);
		}
		if (r < 0)
			return r;
		t->pairs += 2;
		if (t->pairs == 4) {
			*gave_up = true;
			for (size_t j = 0; j < 4; j++)
				*gave_up = *gave_up && better(s, t->a[j], t->b[j]) < 0;
		}
	}
	return 0;
}

/* knob I: TO against its incumbent; T decided (or the error of a run or setting) */
static int compare(struct search *s, size_t i, long to, struct asios_tune_trial *t)
{
	long from = s->k[i].best;
	bool gave_up = false;
	int r;

	*t = (struct asios_tune_trial){ .knob = i, .from = from, .to = to };
	r = paired_runs(s, i, from, to, t, &gave_up);
	if (r < 0 && s->set_error) { /* the kernel refused TO (or what it raises along): skipped, not tried again */
		if (set_to(s, i, from) < 0)
			return r;
		t->decision = ASIOS_TUNE_REFUSED;
		snprintf(t->why, sizeof(t->why), "the value could not be set: %s", strerror(-r));
		s->set_error = 0;
		remember_lost(s, i, from, to);
		if (s->ops->trial)
			s->ops->trial(s->userdata, t);
		return 0;
	}
	if (r < 0)
		return r;
	judge(s, t, gave_up);
	/* the knob (and what it raises along) left at the incumbent the comparison decided */
	if ((r = set_to(s, i, t->decision == ASIOS_TUNE_KEPT ? to : from)) < 0)
		return r;
	if (!s->res->trials)
		s->res->baseline = t->median_a;
	s->res->trials++;
	if (t->decision == ASIOS_TUNE_KEPT) {
		for (size_t j = 0; j < s->n; j++)
			if (s->k[j].at_least == i + 1 && s->cur[j] != s->k[j].best) {
				size_t len = strlen(t->why);

				snprintf(t->why + len, sizeof(t->why) - len, "; %s raised along to %ld", s->k[j].name, s->cur[j]);
				s->k[j].best = s->cur[j];
			}
		s->k[i].best = to;
		s->res->kept++;
		s->res->best = t->median_b;
	} else {
		remember_lost(s, i, from, to);
	}
	if (s->ops->trial)
		s->ops->trial(s->userdata, t);
	return 0;
}

/* learning from what this run saw: a candidate that lost against the same incumbent is not tried again */
static bool lost_before(const struct search *s, size_t i, long from, long to)
{
	for (size_t j = 0; j < s->n_lost; j++)
		if (s->lost[j].knob == i && s->lost[j].from == from && s->lost[j].to == to)
			return true;
	return false;
}

/* TO would lower knob I further below the knob it is kept at least as large as */
static bool breaks_constraint(const struct search *s, size_t i, long to)
{
	size_t b = s->k[i].at_least;

	return b && to < s->k[i].best && to < s->k[b - 1].best;
}

/* knob I in DIRECTION while it wins; 1 when it moved, 0 when not, negative on an error; *OUT: budget spent */
static int line(struct search *s, size_t i, int direction, bool *out)
{
	struct asios_tune_trial *t = malloc(sizeof(*t));
	long next;
	int moved = 0, r = 0;

	if (!t)
		return -ENOMEM;
	while (asios_tune_candidates(&s->k[i], s->k[i].best, direction, &next, 1) == 1 &&
	       !lost_before(s, i, s->k[i].best, next) && !breaks_constraint(s, i, next)) {
		if (s->res->runs + 4 * s->o->blocks > s->o->budget) {
			*out = true;
			break;
		}
		if ((r = compare(s, i, next, t)) < 0 || t->decision != ASIOS_TUNE_KEPT)
			break;
		moved = 1;
	}
	free(t);
	return r < 0 ? r : moved;
}

int asios_tune_run(struct asios_tune_knob *k, size_t n, const struct asios_tune_opts *o,
		   const struct asios_tune_ops *ops, void *userdata, struct asios_tune_result *res)
{
	struct search *s = calloc(1, sizeof(*s));
	bool moved = true, out = false;
	int r = 0;

	*res = (struct asios_tune_result){ .baseline = NAN, .best = NAN };
	if (!s)
		return -ENOMEM;
	*s = (struct search){ .k = k, .n = n, .o = o, .ops = ops, .userdata = userdata, .res = res,
			      .cur = calloc(n ? n : 1, sizeof(long)) };
	if (!s->cur) {
		free(s);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		k[i].best = s->cur[i] = k[i].start;
	for (size_t i = 0; i < o->n_history; i++) /* what lost on this machine before is not tried blindly again */
		if (o->history[i].knob < n)
			remember_lost(s, o->history[i].knob, o->history[i].from, o->history[i].to);
	/* passes over every knob until one changes nothing or the budget is spent */
	while (moved && !out && r >= 0) {
		moved = false;
		for (size_t i = 0; i < n && !out && r >= 0; i++) {
			if (k[i].follower)
				continue;
			if ((r = line(s, i, +1, &out)) == 0 && !out)
				r = line(s, i, -1, &out);
			moved = moved || r > 0;
		}
	}
	if (res->kept == 0)
		res->best = res->baseline;
	res->stopped = r < 0;
	free(s->cur);
	free(s->lost);
	free(s);
	return r < 0 ? r : 0;
}

int asios_tune_confirm(struct asios_tune_knob *k, size_t n, const struct asios_tune_opts *o,
		       const struct asios_tune_ops *ops, void *userdata, struct asios_tune_trial *t, unsigned *runs)
{
	struct asios_tune_result res = { 0 };
	struct search *s = calloc(1, sizeof(*s));
	bool gave_up = false;
	int r;

	*runs = 0;
	*t = (struct asios_tune_trial){ .knob = n };
	if (!s || !(s->cur = calloc(n ? n : 1, sizeof(long)))) {
		free(s);
		return -ENOMEM;
	}
	*s = (struct search){ .k = k, .n = n, .o = o, .ops = ops, .userdata = userdata, .res = &res, .cur = s->cur };
	for (size_t i = 0; i < n; i++) /* in force: unknown here, so every knob is set on its first run */
		s->cur[i] = LONG_MIN;
	r = paired_runs(s, ALL, 0, 1, t, &gave_up);
	if (r >= 0) {
		judge(s, t, gave_up);
		r = set_all(s, t->decision == ASIOS_TUNE_KEPT);
	}
	*runs = res.runs;
	free(s->cur);
	free(s->lost);
	free(s);
	return r;
}
