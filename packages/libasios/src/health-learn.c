/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asios/health.h"

/*
 * What health learns from the metric stream (health.h): baselines of metrics without a fixed threshold, two
 * models that must agree (median/MAD over a window, robust to the outliers it looks for, and an EWMA of mean
 * and variance, quick to follow a level that really moved), flagged only when they agree for several passes
 * in a row, unless a third, seasonal model says the value is usual at this hour of a weekday or weekend day
 * (health.h: struct asios_season); and forecasts, a least-squares line through a resource's recent values, as
 * Prometheus' predict_linear() draws it.
 */

#define EWMA_ALPHA 0.05
#define MAD_SCALE 1.4826  /* MAD → σ for normal data */

void asios_baseline_init(struct asios_baseline *b, const char *name, size_t cap)
{
	*b = (struct asios_baseline){ .cap = cap ? cap : 1 };
	snprintf(b->name, sizeof(b->name), "%s", name);
	b->values = calloc(b->cap, sizeof(*b->values));
	if (!b->values)
		b->cap = 0;
	b->season = calloc(1, sizeof(*b->season));
	if (b->season)
		b->season->acc_bucket = -1;
}

void asios_baseline_clear(struct asios_baseline *b)
{
	free(b->values);
	free(b->season);
	*b = (struct asios_baseline){ 0 };
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median_of(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void asios_baseline_stats(const struct asios_baseline *b, double *median, double *mad)
{
	double *tmp = b->n ? malloc(b->n * sizeof(*tmp)) : NULL;

	*median = *mad = NAN;
	if (!tmp)
		return;
	memcpy(tmp, b->values, b->n * sizeof(*tmp));
	*median = median_of(tmp, b->n);
	for (size_t i = 0; i < b->n; i++)
		tmp[i] = fabs(b->values[i] - *median);
	*mad = MAD_SCALE * median_of(tmp, b->n);
	free(tmp);
}

static void baseline_push(struct asios_baseline *b, double x)
{
	double d = x - b->ewma;

	if (!b->cap)
		return;
	b->values[(b->head + b->n) % b->cap] = x;
	if (b->n < b->cap)
		b->n++;
	else
		b->head = (b->head + 1) % b->cap;
	if (!b->seen) {
		b->ewma = x;
		b->ewvar = 0;
	} else {
		b->ewma += EWMA_ALPHA * d;
		b->ewvar = (1 - EWMA_ALPHA) * (b->ewvar + EWMA_ALPHA * d * d);
	}
	b->seen++;
}

/* ---- the seasonal model ---- */

int asios_season_bucket(double t)
{
	time_t s = (time_t)t;
	struct tm tm;

	if (!localtime_r(&s, &tm))
		return 0;
	return tm.tm_hour + (tm.tm_wday == 0 || tm.tm_wday == 6 ? 24 : 0);
}

bool asios_season_usual(const struct asios_season *s, int b, double *level, double *spread)
{
	double means[ASIOS_SEASON_DAYS], sds[ASIOS_SEASON_DAYS], dev[ASIOS_SEASON_DAYS];
	unsigned n;

	if (!s || b < 0 || b >= ASIOS_SEASON_BUCKETS || (n = s->bucket[b].n) < ASIOS_SEASON_MIN_DAYS)
		return false;
	memcpy(means, s->bucket[b].mean, n * sizeof(*means));
	memcpy(sds, s->bucket[b].sd, n * sizeof(*sds));
	*level = median_of(means, n);
	for (unsigned i = 0; i < n; i++)
		dev[i] = fabs(s->bucket[b].mean[i] - *level);
	*spread = fmax(median_of(sds, n), MAD_SCALE * median_of(dev, n));
	return true;
}

/* the hour accumulated so far becomes one day of its bucket (a ring of the last ASIOS_SEASON_DAYS) */
static void season_fold(struct asios_season *s)
{
	double mean, var;

	if (s->acc_bucket >= 0 && s->acc_n >= 3) {
		struct asios_season_hour *k = &s->bucket[s->acc_bucket];
		unsigned at = (k->head + k->n) % ASIOS_SEASON_DAYS;

		mean = s->acc_sum / s->acc_n;
		var = fmax(s->acc_sq / s->acc_n - mean * mean, 0);
		k->mean[at] = mean;
		k->sd[at] = sqrt(var);
		if (k->n < ASIOS_SEASON_DAYS)
			k->n++;
		else
			k->head = (k->head + 1) % ASIOS_SEASON_DAYS;
	}
	s->acc_bucket = -1;
	s->acc_n = s->acc_sum = s->acc_sq = 0;
}

/* X at T into the hour being accumulated; a new hour (or the same hour on another day) folds the last one */
static void season_add(struct asios_season *s, double t, double x)
{
	int b = asios_season_bucket(t);

	if (b != s->acc_bucket || t - s->acc_t0 >= 3600 || t < s->acc_t0)
		season_fold(s);
	if (s->acc_bucket < 0) {
		s->acc_bucket = b;
		s->acc_t0 = t;
	}
	s->acc_n++;
	s->acc_sum += x;
	s->acc_sq += x * x;
}

/* ---- the baseline ---- */

bool asios_baseline_add(struct asios_baseline *b, double t, double x, const struct asios_health_policy *p,
			double *score)
{
	double k = p->baseline_k10 / 10.0, median, mad, sigma, floor_, level, spread;
	bool mad_says, ewma_says, usual = false;

	*score = 0;
	if (!isfinite(x) || !isfinite(t))
		return false;
	/* every value teaches its hour, a deviation too: what recurs at this hour on most days is usual there */
	if (b->season) {
		season_add(b->season, t, x);
		/* the days before this one say what is usual now (the hour being accumulated is not yet a day) */
		if (p->baseline_season && asios_season_usual(b->season, b->season->acc_bucket, &level, &spread))
			usual = fabs(x - level) <= k * fmax(spread, fmax(fabs(level) * 0.01, 1e-9));
	}
	if (b->seen < p->baseline_min) {
		baseline_push(b, x);
		return false;
	}
	asios_baseline_stats(b, &median, &mad);
	/* a flat metric (MAD 0) still needs a real change: at least 1% of its level, or 1e-9 */
	floor_ = fmax(fabs(median) * 0.01, 1e-9);
	mad = fmax(mad, floor_);
	sigma = fmax(sqrt(b->ewvar), floor_);
	*score = fabs(x - median) / mad;
	mad_says = fabs(x - median) > k * mad;
	ewma_says = fabs(x - b->ewma) > k * sigma;
	if (mad_says && ewma_says && !usual) {
		b->streak++;
		/* a deviation does not teach the baseline until it has lasted (then it is the new level) */
		if (b->streak > 2 * p->baseline_persist)
			baseline_push(b, x);
	} else {
		b->streak = 0;
		baseline_push(b, x);
	}
	return b->streak == p->baseline_persist;
}

static int season_write(const struct asios_baseline *b, FILE *f)
{
	const struct asios_season *s = b->season;
	bool any = s->acc_bucket >= 0;

	for (int i = 0; i < ASIOS_SEASON_BUCKETS; i++)
		any |= s->bucket[i].n > 0;
	if (!any)
		return 0;
	fprintf(f, "season %s %d %.17g %.17g %.17g %.17g", b->name, s->acc_bucket, s->acc_t0, s->acc_n, s->acc_sum,
		s->acc_sq);
	for (int i = 0; i < ASIOS_SEASON_BUCKETS; i++) {
		const struct asios_season_hour *k = &s->bucket[i];

		if (!k->n)
			continue;
		fprintf(f, " %d %u", i, k->n);
		for (unsigned d = 0; d < k->n; d++)
			fprintf(f, " %.17g %.17g", k->mean[(k->head + d) % ASIOS_SEASON_DAYS],
				k->sd[(k->head + d) % ASIOS_SEASON_DAYS]);
	}
	return fputc('\n', f) == EOF ? -EIO : 0;
}

int asios_baseline_write(const struct asios_baseline *b, FILE *f)
{
	fprintf(f, "%s %u %u %.17g %.17g", b->name, b->seen, b->streak, b->ewma, b->ewvar);
	for (size_t i = 0; i < b->n; i++)
		fprintf(f, " %.17g", b->values[(b->head + i) % b->cap]);
	if (fputc('\n', f) == EOF)
		return -EIO;
	return b->season ? season_write(b, f) : 0;
}

/* "B N M1 SD1 … MN SDN" of one bucket at *Q (advanced): 1, 0 at the end of the line, -EINVAL */
static int season_bucket_parse(struct asios_season *s, const char **q)
{
	struct asios_season_hour *k;
	int b, n = 0;
	unsigned days;

	while (**q == ' ')
		(*q)++;
	if (!**q || **q == '\n')
		return 0;
	if (sscanf(*q, "%d %u%n", &b, &days, &n) != 2 || b < 0 || b >= ASIOS_SEASON_BUCKETS || !days ||
	    days > ASIOS_SEASON_DAYS)
		return -EINVAL;
	*q += n;
	k = &s->bucket[b];
	*k = (struct asios_season_hour){ .n = days };
	for (unsigned d = 0; d < days; d++) {
		if (sscanf(*q, "%lf %lf%n", &k->mean[d], &k->sd[d], &n) != 2 || !isfinite(k->mean[d]) ||
		    !isfinite(k->sd[d]) || k->sd[d] < 0)
			return -EINVAL;
		*q += n;
	}
	return 1;
}

int asios_baseline_parse_season(struct asios_baseline *b, const char *line)
{
	struct asios_season s = { 0 };
	char name[64];
	const char *q;
	int n = 0, r;

	if (!b->season || sscanf(line, "season %63s %d %lf %lf %lf %lf%n", name, &s.acc_bucket, &s.acc_t0, &s.acc_n,
				  &s.acc_sum, &s.acc_sq, &n) != 6 || strcmp(name, b->name) ||
	    s.acc_bucket < -1 || s.acc_bucket >= ASIOS_SEASON_BUCKETS || !isfinite(s.acc_t0) || !isfinite(s.acc_n) ||
	    s.acc_n < 0 || !isfinite(s.acc_sum) || !isfinite(s.acc_sq))
		return -EINVAL;
	for (q = line + n; (r = season_bucket_parse(&s, &q)) > 0;)
		;
	if (r < 0)
		return r;
	*b->season = s;
	return 0;
}

int asios_baseline_parse(struct asios_baseline *b, const char *line, size_t cap)
{
	char name[64];
	unsigned seen, streak;
	double ewma, ewvar, v;
	int n = 0;
	const char *q;

	if (sscanf(line, "%63s %u %u %lf %lf%n", name, &seen, &streak, &ewma, &ewvar, &n) != 5 ||
	    !isfinite(ewma) || !isfinite(ewvar) || ewvar < 0 || !strcmp(name, "season"))
		return -EINVAL;
	asios_baseline_init(b, name, cap);
	if (!b->cap)
		return -ENOMEM;
	b->seen = seen;
	b->streak = streak;
	b->ewma = ewma;
	b->ewvar = ewvar;
	for (q = line + n; sscanf(q, "%lf%n", &v, &n) == 1; q += n) {
		if (!isfinite(v)) {
			asios_baseline_clear(b);
			return -EINVAL;
		}
		b->values[(b->head + b->n) % b->cap] = v;
		if (b->n < b->cap)
			b->n++;
		else
			b->head = (b->head + 1) % b->cap;
	}
	while (*q == ' ' || *q == '\n')
		q++;
	if (*q) {
		asios_baseline_clear(b);
		return -EINVAL;
	}
	return 0;
}

void asios_series_init(struct asios_series *s, const char *name, size_t cap)
{
	*s = (struct asios_series){ .cap = cap ? cap : 1 };
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->t = calloc(s->cap, sizeof(*s->t));
	s->v = calloc(s->cap, sizeof(*s->v));
	if (!s->t || !s->v)
		s->cap = 0;
}

void asios_series_clear(struct asios_series *s)
{
	free(s->t);
	free(s->v);
	*s = (struct asios_series){ 0 };
}

void asios_series_add(struct asios_series *s, double t, double v)
{
	if (!s->cap || !isfinite(v))
		return;
	if (s->n == s->cap) {
		memmove(s->t, s->t + 1, (s->n - 1) * sizeof(*s->t));
		memmove(s->v, s->v + 1, (s->n - 1) * sizeof(*s->v));
		s->n--;
	}
	s->t[s->n] = t;
	s->v[s->n++] = v;
}

bool asios_series_exhaustion(const struct asios_series *s, double *seconds, double *slope, double *r2)
{
	double mt = 0, mv = 0, sxx = 0, sxy = 0, syy = 0, b, at_last;

	if (s->n < 3 || s->t[s->n - 1] - s->t[0] <= 0)
		return false;
	for (size_t i = 0; i < s->n; i++) {
		mt += s->t[i];
		mv += s->v[i];
	}
	mt /= (double)s->n;
	mv /= (double)s->n;
	for (size_t i = 0; i < s->n; i++) {
		sxx += (s->t[i] - mt) * (s->t[i] - mt);
		sxy += (s->t[i] - mt) * (s->v[i] - mv);
		syy += (s->v[i] - mv) * (s->v[i] - mv);
	}
	if (sxx <= 0)
		return false;
	b = sxy / sxx;
	*slope = b;
	if (r2)
		*r2 = syy > 0 ? sxy * sxy / (sxx * syy) : 0;
	if (b >= 0)
		return false;
	at_last = mv + b * (s->t[s->n - 1] - mt);
	*seconds = at_last <= 0 ? 0 : at_last / -b;
	return true;
}
