/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Shared helpers of the cmocka unit tests: where the shared fixtures are, reading files and commands. */

#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The shared fixture folder: $ASIOS_SHARED, else ../shared beside the checkout (tests run from the top). */
static inline const char *shared_dir(void)
{
	const char *s = getenv("ASIOS_SHARED");

	return s && *s ? s : "../shared";
}

/* Whole output of a shell command (e.g. "bzip2 -dc FILE"); NULL on failure. */
static inline char *read_command(const char *cmd, size_t *len)
{
	size_t cap = 1 << 16, n = 0, k;
	char *buf = malloc(cap);
	FILE *f = popen(cmd, "r");

	*len = 0;
	if (!f || !buf) {
		free(buf);
		if (f)
			pclose(f);
		return NULL;
	}
	while ((k = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += k;
		if (cap - n < 2) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	buf[n] = '\0';
	if (pclose(f) != 0) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}
