/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* Auto-tuning by measurement (tune.h): the statistics a comparison is decided by. */
#define _GNU_SOURCE
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "asios/tune.h"

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

