/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
/* libFuzzer harness: the schedd.conf parser, the eBPF observer's counters file (parse, then format and parse back
 * to the same), and kernel CPU masks (parse, then format and parse back). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/cpulist.h"
#include "asios/sched-plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void watch_state(const char *s)
{
	struct asios_watch_state st, back;
	char *error = NULL, *text = NULL;
	size_t len = 0;
	FILE *f;

	if (asios_watch_state_parse(&st, s, "fuzz", &error) < 0) {
		if (!error)
			abort(); /* every refusal is named */
		free(error);
		return;
	}
	if (!(f = open_memstream(&text, &len)) || asios_watch_state_format(&st, f) < 0 || fclose(f) != 0 ||
	    asios_watch_state_parse(&back, text, "fuzz", NULL) < 0 || back.n_cpus != st.n_cpus)
		abort(); /* what we write must read back as the same counters */
	for (size_t i = 0; i < st.n_cpus; i++)
		if (back.cpus[i].cpu != st.cpus[i].cpu || memcmp(back.cpus[i].n, st.cpus[i].n, sizeof(st.cpus[i].n)))
			abort();
	asios_watch_state_clear(&back);
	asios_watch_state_clear(&st);
	free(text);
}

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
	watch_state(s);
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
