/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer harness: kernel command line lookup and the isolcpus= parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "asios/cmdline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "isolcpus", "nohz_full", "rcu_nocbs", "irqaffinity", "root", NULL };
	hwloc_bitmap_t set = hwloc_bitmap_alloc();
	char *s = malloc(size + 1);

	memcpy(s, data, size);
	s[size] = '\0';
	for (size_t i = 0; names[i]; i++) {
		char *v = NULL;

		if (asios_cmdline_get(s, names[i], &v) < 0)
			abort();
		if (v) {
			if (strchr(v, '"') || strlen(v) > size)
				abort();
			(void)asios_isolcpus_parse(v, set, NULL);
		}
		free(v);
	}
	(void)asios_isolcpus_parse(s, set, NULL);
	free(s);
	hwloc_bitmap_free(set);
	return 0;
}
