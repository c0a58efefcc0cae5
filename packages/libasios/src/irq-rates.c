/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/irq-plan.h"
#include "asios/root.h"

/* IRQ numbers above this in the file are refused (the kernel's sparse IRQs stay far below) */
#define RATES_IRQ_MAX (1u << 20)

int asios_irq_rates_write(const struct asios_root *root, const double *rates, size_t n)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int r;

	if (!f)
		return -ENOMEM;
	fputs("# asios-irqd: interrupts per second by IRQ, as measured for the IRQ layout in force\n", f);
	for (size_t i = 0; i < n; i++)
		if (rates[i] > 0)
			fprintf(f, "%zu %.17g\n", i, rates[i]); /* %.17g: read back to the same double */
	if (fclose(f) != 0) {
		free(text);
		return -ENOMEM;
	}
	r = asios_write_whole(root, ASIOS_IRQD_RATES, text);
	free(text);
	return r;
}

/* one "IRQ RATE" line into *RATES, grown to hold it */
static int rates_line(const char *line, double **rates, size_t *n, size_t *cap)
{
	unsigned long irq;
	double rate;
	int end = -1;

	if (sscanf(line, "%lu %lf %n", &irq, &rate, &end) != 2 || end < 0 || line[end] || line[0] == '-' ||
	    irq >= RATES_IRQ_MAX || !isfinite(rate) || rate < 0)
		return -EINVAL;
	if (irq >= *cap) {
		size_t c = *cap ? *cap : 64;
		double *np;

		while (c <= irq)
			c *= 2;
		np = realloc(*rates, c * sizeof(*np));
		if (!np)
			return -ENOMEM;
		memset(np + *cap, 0, (c - *cap) * sizeof(*np));
		*rates = np;
		*cap = c;
	}
	(*rates)[irq] = rate;
	if (irq + 1 > *n)
		*n = irq + 1;
	return 0;
}

int asios_irq_rates_read(const struct asios_root *root, double **ret, size_t *n_ret)
{
	char *text = NULL, *save = NULL;
	double *rates = calloc(1, sizeof(*rates));
	size_t n = 0, cap = 1;
	int r = rates ? asios_read_file(root, ASIOS_IRQD_RATES, &text, NULL) : -ENOMEM;

	*ret = NULL;
	*n_ret = 0;
	for (char *line = r >= 0 ? strtok_r(text, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save))
		if (line[0] != '#' && (r = rates_line(line, &rates, &n, &cap)) < 0)
			break;
	free(text);
	if (r < 0) {
		free(rates);
		return r == -ENOENT ? 0 : r;
	}
	*ret = rates;
	*n_ret = n;
	return 0;
}
