/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer harness: the schedd.conf parser, and kernel CPU masks (parse, then format and parse back). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "asios/cpulist.h"
#include "asios/sched-plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct asios_sched_policy p;
	hwloc_bitmap_t a = hwloc_bitmap_alloc(), b = hwloc_bitmap_alloc();
	char *s = malloc(size + 1), *error = NULL;

	if (!s || !a || !b)
		goto out;
	memcpy(s, data, size);
	s[size] = '\0';
	if (asios_sched_policy_init(&p) == 0) {
		(void)asios_sched_policy_parse(&p, s, "fuzz", &error);
		free(error);
		asios_sched_policy_clear(&p);
	}
	if (asios_cpumask_parse(s, a, NULL) == 0 && hwloc_bitmap_last(a) < 4096) {
		int last = hwloc_bitmap_last(a);
		char *m = asios_cpumask_format(a, last < 0 ? 1 : (unsigned)last + 1);

		if (!m || asios_cpumask_parse(m, b, NULL) != 0 || !hwloc_bitmap_isequal(a, b))
			abort(); /* what we write must read back as the same set */
		free(m);
	}
out:
	hwloc_bitmap_free(a);
	hwloc_bitmap_free(b);
	free(s);
	return 0;
}
