/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* Auto-tuning by measurement (tune.h): the statistics, the search space from the domains' knobs, the search. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "asios/domain.h"
#include "asios/net-plan.h"
#include "asios/tune.h"
#include "util.h"

/* ---- statistics ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double asios_quantile(const double *v, size_t n, double q)
{
	double *s, pos, r;
	size_t i;

	if (!n || !(s = malloc(n * sizeof(*s))))
		return NAN;
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	pos = q * (double)(n - 1);
	i = (size_t)pos;
	r = i + 1 < n ? s[i] + (pos - (double)i) * (s[i + 1] - s[i]) : s[i];
	free(s);
	return r;
}

struct signed_value {
	double abs;
	bool positive;
};

static int cmp_abs(const void *a, const void *b)
{
	return cmp_double(&((const struct signed_value *)a)->abs, &((const struct signed_value *)b)->abs);
}

/* twice the mid-ranks of |D| (so that tied ranks stay integers), the non-zero ones; their number, or 0 */
static size_t doubled_ranks(const double *d, size_t n, unsigned *rank2, bool *positive, double *ties)
{
	struct signed_value *v = malloc((n ? n : 1) * sizeof(*v));
	size_t m = 0;

	*ties = 0;
	if (!v)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (d[i] != 0 && !isnan(d[i]))
			v[m++] = (struct signed_value){ .abs = fabs(d[i]), .positive = d[i] > 0 };
	qsort(v, m, sizeof(*v), cmp_abs);
	for (size_t i = 0; i < m;) {
		size_t j = i;

		while (j + 1 < m && v[j + 1].abs == v[i].abs)
			j++;
		for (size_t k = i; k <= j; k++) {
			rank2[k] = (unsigned)(i + j + 2); /* (i+1 + j+1) / 2, doubled */
			positive[k] = v[k].positive;
		}
		*ties += pow((double)(j - i + 1), 3) - (double)(j - i + 1);
		i = j + 1;
	}
	free(v);
	return m;
}

/* P(W+ >= w) over the 2^m equally likely sign assignments of the (doubled) ranks */
static double exact_p(const unsigned *rank2, size_t m, unsigned w2)
{
	unsigned total = 0;
	double *count, p = 0;

	for (size_t i = 0; i < m; i++)
		total += rank2[i];
	if (!(count = calloc(total + 1, sizeof(*count))))
		return NAN;
	count[0] = 1;
	for (size_t i = 0; i < m; i++)
		for (unsigned s = total; s >= rank2[i]; s--) {
			count[s] += count[s - rank2[i]];
			if (s == rank2[i])
				break;
		}
	for (unsigned s = w2; s <= total; s++)
		p += count[s];
	free(count);
	return p / ldexp(1, (int)m);
}

double asios_signed_rank_p(const double *d, size_t n)
{
	unsigned *rank2 = malloc((n ? n : 1) * sizeof(*rank2)), w2 = 0;
	bool *positive = malloc((n ? n : 1) * sizeof(*positive));
	double ties, p = 1;
	size_t m = rank2 && positive ? doubled_ranks(d, n, rank2, positive, &ties) : 0;

	for (size_t i = 0; i < m; i++)
		w2 += positive[i] ? rank2[i] : 0;
	if (m && m <= 24) {
		p = exact_p(rank2, m, w2);
	} else if (m) {
		double mean = (double)m * (double)(m + 1) / 4;
		double var = (double)m * (double)(m + 1) * (double)(2 * m + 1) / 24 - ties / 48;
		double z = var > 0 ? ((double)w2 / 2 - mean - 0.5) / sqrt(var) : 0;

		p = 0.5 * erfc(z / sqrt(2));
	}
	free(rank2);
	free(positive);
	return p;
}

/* ---- the search space ---- */

static int fail(char **error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(char **error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(error, fmt, ap) < 0)
		*error = NULL;
	va_end(ap);
	return -EINVAL;
}

static bool listed(const char *const *list, const char *name)
{
	for (size_t i = 0; list && list[i]; i++)
		if (!strcmp(list[i], name))
			return true;
	return !list;
}

static const char *untunable(const struct asios_knob *k)
{
	return k->unsafe ? "marked unsafe (asiosctl DOMAIN knobs says why)"
	       : k->needs_isolation ? "only for isolated CPUs"
	       : k->min >= k->max ? "has no range to search" : NULL;
}

/* the disks a block knob is tuned on: /sys/block but loop, RAM, zram, optical and floppy devices */
static bool tuned_disk(const char *name)
{
	static const char *const not[] = { "loop", "ram", "zram", "sr", "fd" };

	for (size_t i = 0; i < sizeof(not) / sizeof(not[0]); i++)
		if (!strncmp(name, not[i], strlen(not[i])))
			return false;
	return true;
}

struct space {
	struct asios_root *root;
	struct asios_tune_knob *v;
	size_t n;
	bool named;                    /* the knobs were asked for by name: a missing file is an error */
};

int asios_tune_read(struct asios_root *root, const struct asios_tune_knob *k, long *ret)
{
	char *line = NULL;
	int r;

	if (!k->field)
		return asios_read_long(root, k->path, ret);
	if ((r = asios_read_line(root, k->path, &line)) >= 0)
		r = asios_knob_field_get(line, k->field, ret);
	free(line);
	return r;
}

static int space_add(struct space *sp, const struct asios_domain *d, const struct asios_knob *k, const char *object,
		     char **error)
{
	struct asios_tune_knob t = { .min = k->min, .max = k->max, .field = k->field }, *v;
	int r;

	snprintf(t.name, sizeof(t.name), "%s", k->name);
	snprintf(t.object, sizeof(t.object), "%s", object ? object : "");
	snprintf(t.domain, sizeof(t.domain), "%s", d->name);
	if (object) { /* "%s" in the path stands for the object */
		const char *at = strstr(k->path, "%s");

		snprintf(t.path, sizeof(t.path), "%.*s%s%s", (int)(at - k->path), k->path, object, at + 2);
	} else {
		snprintf(t.path, sizeof(t.path), "%s", k->path);
	}
	if ((r = asios_tune_read(sp->root, &t, &t.start)) < 0)
		return sp->named ? fail(error, "%s: %s: %s", k->name, t.path, r == -EINVAL ? "not a number" : strerror(-r))
				 : 0;
	if (t.start < t.min || t.start > t.max)
		return sp->named ? fail(error, "%s: %s holds %ld, outside %ld-%ld", k->name, t.path, t.start, t.min, t.max)
				 : 0;
	t.best = t.start;
	if (!(v = realloc(sp->v, (sp->n + 1) * sizeof(*v))))
		return -ENOMEM;
	sp->v = v;
	v[sp->n++] = t;
	return 0;
}

/* knob K of domain D on each object OBJECTS allows (block knobs: per disk) */
static int space_knob(struct space *sp, const struct asios_domain *d, const struct asios_knob *k,
		      const char *const *objects, char **error)
{
	char **disks = NULL;
	size_t added = sp->n;
	int r = 0;

	if (!strstr(k->path, "%s"))
		return space_add(sp, d, k, NULL, error);
	if ((r = asios_list_dir(sp->root, "/sys/block", &disks)) < 0)
		return sp->named ? fail(error, "%s: /sys/block: %s", k->name, strerror(-r)) : 0;
	for (size_t i = 0; disks[i] && r >= 0; i++)
		if (objects ? listed(objects, disks[i]) : tuned_disk(disks[i]))
			r = space_add(sp, d, k, disks[i], error);
	for (size_t i = 0; objects && objects[i] && r >= 0; i++)
		if (!listed((const char *const *)disks, objects[i]))
			r = fail(error, "%s: no disk %s in /sys/block", k->name, objects[i]);
	asios_strv_free(disks);
	if (r >= 0 && sp->named && sp->n == added)
		r = fail(error, "%s: no disk to tune it on", k->name);
	return r;
}

static ssize_t space_find(const struct space *sp, const char *name, const char *object)
{
	for (size_t i = 0; i < sp->n; i++)
		if (!strcmp(sp->v[i].name, name) && !strcmp(sp->v[i].object, object))
			return (ssize_t)i;
	return -1;
}

/* the coupled constraints: a knob declared never below one in the space joins it (a follower when not asked
 * for) and points at it */
static int couple(struct space *sp, const struct asios_domain *const *d, size_t nd, char **error)
{
	for (size_t j = 0; j < nd; j++) {
		size_t nk;
		const struct asios_knob *k = d[j]->knobs ? d[j]->knobs(&nk) : NULL;

		for (size_t m = 0; k && m < nk; m++) {
			ssize_t bound = k[m].at_least ? space_find(sp, k[m].at_least, "") : -1, at;
			bool named = sp->named;
			int r;

			if (bound < 0)
				continue;
			if ((at = space_find(sp, k[m].name, "")) < 0) {
				sp->named = true; /* its file must be there: the constraint cannot be kept otherwise */
				r = space_add(sp, d[j], &k[m], NULL, error);
				sp->named = named;
				if (r < 0)
					return r;
				at = (ssize_t)sp->n - 1;
				sp->v[at].follower = true;
			}
			sp->v[at].at_least = (size_t)bound + 1;
		}
	}
	return 0;
}

int asios_tune_space(struct asios_root *root, const char *const *names, const char *const *objects,
		     struct asios_tune_knob **ret, size_t *n, char **error)
{
	struct space sp = { .root = root, .named = names != NULL };
	size_t nd;
	const struct asios_domain *const *d = asios_domains(&nd);
	int r = 0;

	*ret = NULL;
	*n = 0;
	*error = NULL;
	for (size_t i = 0; names && names[i] && r >= 0; i++) {
		const struct asios_knob *found = NULL;

		for (size_t j = 0; j < nd && !found; j++) {
			size_t nk;
			const struct asios_knob *k = d[j]->knobs ? d[j]->knobs(&nk) : NULL;

			for (size_t m = 0; k && m < nk && !found; m++)
				found = !strcmp(k[m].name, names[i]) ? &k[m] : NULL;
		}
		if (!found)
			r = fail(error, "%s: no domain declares a knob of that name (asiosctl DOMAIN knobs lists them)",
				 names[i]);
		else if (untunable(found))
			r = fail(error, "%s: not tunable: %s", names[i], untunable(found));
	}
	for (size_t j = 0; j < nd && r >= 0; j++) {
		size_t nk;
		const struct asios_knob *k = d[j]->knobs ? d[j]->knobs(&nk) : NULL;

		for (size_t m = 0; k && m < nk && r >= 0; m++)
			if (!untunable(&k[m]) && listed(names, k[m].name))
				r = space_knob(&sp, d[j], &k[m], objects, error);
	}
	if (r >= 0)
		r = couple(&sp, d, nd, error);
	if (r >= 0 && !sp.n)
		r = fail(error, "no tunable knob here (asiosctl DOMAIN knobs lists them)");
	if (r < 0) {
		free(sp.v);
		return r;
	}
	*ret = sp.v;
	*n = sp.n;
	return 0;
}

size_t asios_tune_candidates(const struct asios_tune_knob *k, long from, int direction, long *out, size_t max)
{
	size_t n = 0;

	if (k->max - k->min <= 8) { /* a small range: every value, nearest first */
		for (long v = from + direction; v >= k->min && v <= k->max && n < max; v += direction)
			out[n++] = v;
		return n;
	}
	/* a wide one: a ladder of factors of four (×4, ×16… or ÷4, ÷16…), its bound last */
	for (long v = from; n < max;) {
		long next = direction > 0 ? (v <= 0 ? 1 : v > k->max / 4 ? k->max : v * 4) : v / 4;

		if (direction < 0 && next < k->min)
			next = k->min;
		if (next == v || (direction > 0 ? next > k->max : next < k->min))
			break;
		out[n++] = v = next;
	}
	return n;
}

/* ---- the search ---- */

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
