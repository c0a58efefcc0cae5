/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer harness: /proc/interrupts parser. Every accepted row must be self-consistent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "asios/interrupts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct asios_interrupts *in = NULL;
	char *err = NULL;

	if (asios_interrupts_parse((const char *)data, size, "fuzz", &in, &err) == 0) {
		size_t numbered = 0;

		for (size_t i = 0; i < in->n_rows; i++) {
			const struct asios_irq_row *r = &in->rows[i];
			uint64_t sum = 0;

			if (r->n_counts > in->n_cpus || (r->irq >= 0 && r->n_counts != in->n_cpus))
				abort();
			for (size_t k = 0; k < r->n_counts; k++)
				sum += r->counts[k];
			if (sum != r->total)
				abort();
			numbered += r->irq >= 0;
			if (r->irq >= 0 && asios_interrupts_find(in, r->irq) == NULL)
				abort();
		}
		if (numbered != in->n_numbered)
			abort();
		asios_interrupts_free(in);
	} else if (err && strncmp(err, "fuzz:", 5) != 0) {
		abort(); /* errors name their origin */
	}
	free(err);
	return 0;
}
