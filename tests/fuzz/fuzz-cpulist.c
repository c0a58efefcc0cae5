/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer harness: CPU list and CPU mask parsers; a parsed list must format and re-parse to the same set. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "asios/cpulist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hwloc_bitmap_t a = hwloc_bitmap_alloc(), b = hwloc_bitmap_alloc();
	char *s = malloc(size + 1), *out;

	memcpy(s, data, size);
	s[size] = '\0';
	if (asios_cpulist_parse(s, a, NULL) == 0) {
		out = asios_cpulist_format(a);
		if (!out || asios_cpulist_parse(out, b, NULL) != 0 || !hwloc_bitmap_isequal(a, b))
			abort();
		free(out);
	}
	(void)asios_cpumask_parse(s, a, NULL);
	free(s);
	hwloc_bitmap_free(a);
	hwloc_bitmap_free(b);
	return 0;
}
