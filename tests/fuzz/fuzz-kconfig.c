/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer harness: kernel .config parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "asios/kconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct asios_kconfig_entry *v = NULL;
	char **warnings = NULL;
	size_t n = 0, nw = 0;
	char *s = malloc(size + 1);

	memcpy(s, data, size);
	s[size] = '\0';
	if (asios_kconfig_parse(s, "fuzz", &v, &n, &warnings, &nw) == 0) {
		for (size_t i = 0; i < n; i++)
			if (!v[i].name[0] || strchr(v[i].name, '=') || strchr(v[i].value, '\n'))
				abort();
		asios_kconfig_free(v, n);
	}
	asios_strv_free(warnings);
	free(s);
	return 0;
}
