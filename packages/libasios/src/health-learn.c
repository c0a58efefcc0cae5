/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/health.h"

/*
 * What health learns from the metric stream (health.h): baselines of metrics without a fixed threshold, two
 * models that must agree (median/MAD over a window, robust to the outliers it looks for, and an EWMA of mean
 * and variance, quick to follow a level that really moved), flagged only when they agree for several passes
 * in a row; and forecasts, a least-squares line through a resource's recent values, as Prometheus'
 * predict_linear() draws it.
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
}

void asios_baseline_clear(struct asios_baseline *b)
{
	free(b->values);
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

bool asios_baseline_add(struct asios_baseline *b, double x, const struct asios_health_policy *p, double *score)
{
	double k = p->baseline_k10 / 10.0, median, mad, sigma, floor_;
	bool mad_says, ewma_says;

	*score = 0;
	if (!isfinite(x))
		return false;
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
	if (mad_says && ewma_says) {
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

int asios_baseline_write(const struct asios_baseline *b, FILE *f)
{
	fprintf(f, "%s %u %u %.17g %.17g", b->name, b->seen, b->streak, b->ewma, b->ewvar);
	for (size_t i = 0; i < b->n; i++)
		fprintf(f, " %.17g", b->values[(b->head + i) % b->cap]);
	return fputc('\n', f) == EOF ? -EIO : 0;
}

int asios_baseline_parse(struct asios_baseline *b, const char *line, size_t cap)
{
	char name[64];
	unsigned seen, streak;
	double ewma, ewvar, v;
	int n = 0;
	const char *q;

	if (sscanf(line, "%63s %u %u %lf %lf%n", name, &seen, &streak, &ewma, &ewvar, &n) != 5 ||
	    !isfinite(ewma) || !isfinite(ewvar) || ewvar < 0)
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

bool asios_series_exhaustion(const struct asios_series *s, double *seconds, double *slope)
{
	double mt = 0, mv = 0, sxx = 0, sxy = 0, b, at_last;

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
	}
	if (sxx <= 0)
		return false;
	b = sxy / sxx;
	*slope = b;
	if (b >= 0)
		return false;
	at_last = mv + b * (s->t[s->n - 1] - mt);
	*seconds = at_last <= 0 ? 0 : at_last / -b;
	return true;
}
