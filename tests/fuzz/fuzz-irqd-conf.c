/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: MIT */
/* libFuzzer harness: the irqd.conf parser through the shared configuration reader. Besides crashes and leaks it
 * checks the contract: success leaves no error; a refusal says "ORIGIN:LINE: what" with a line of the input. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/irq-plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct asios_irq_policy p;
	char *s = malloc(size + 1), *error = NULL;
	unsigned line, lines = 1;
	int r;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	for (const char *c = s; *c; c++)
		lines += *c == '\n';
	if (asios_irq_policy_init(&p) == 0) {
		r = asios_irq_policy_parse(&p, s, "fuzz", &error);
		if (r == 0 && error)
			abort();
		if (r == -EINVAL && (!error || sscanf(error, "fuzz:%u: ", &line) != 1 || line < 1 || line > lines))
			abort(); /* every refusal names a line of the input */
		free(error);
		asios_irq_policy_clear(&p);
	}
	free(s);
	return 0;
}
