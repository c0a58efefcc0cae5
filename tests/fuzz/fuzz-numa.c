/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer harness: the numa_maps reader and the numad.conf parser, on the same input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "asios/numa-plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct asios_numa_policy p;
	char *s = malloc(size + 1), *error = NULL;
	uint64_t *kb = NULL;
	size_t n = 0;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (asios_numa_maps_parse(s, &kb, &n) == 0 && n > 4096)
		abort(); /* node ids are bounded */
	free(kb);
	if (asios_numa_policy_init(&p) == 0) {
		(void)asios_numa_policy_parse(&p, s, "fuzz", &error);
		free(error);
		asios_numa_policy_clear(&p);
	}
	free(s);
	return 0;
}
