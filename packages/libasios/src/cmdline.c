/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include "asios/cmdline.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "asios/cpulist.h"

/* next parameter: [*p, end) with quotes; returns false at the end */
static bool next_param(const char **p, const char **start, const char **stop)
{
	const char *s = *p;
	bool quoted = false;

	while (*s && isspace((unsigned char)*s))
		s++;
	if (!*s)
		return false;
	*start = s;
	for (; *s; s++) {
		if (*s == '"')
			quoted = !quoted;
		else if (!quoted && isspace((unsigned char)*s))
			break;
	}
	*stop = s;
	*p = s;
	return true;
}

int asios_cmdline_get(const char *cmdline, const char *name, char **ret)
{
	size_t nlen = strlen(name);
	const char *p = cmdline, *a, *b;
	char *found = NULL;

	*ret = NULL;
	while (next_param(&p, &a, &b)) {
		const char *v;
		char *out, *o;

		/* the name itself may be quoted as part of "name=value with blanks" */
		if (*a == '"')
			a++;
		if ((size_t)(b - a) < nlen || strncmp(a, name, nlen) != 0)
			continue;
		v = a + nlen;
		if (v != b && *v != '=' && !(*v == '"' && v + 1 == b))
			continue;
		if (v < b && *v == '=')
			v++;
		out = malloc((size_t)(b - v) + 1);
		if (!out) {
			free(found);
			return -ENOMEM;
		}
		for (o = out; v < b; v++)
			if (*v != '"')
				*o++ = *v;
		*o = '\0';
		free(found);
		found = out;
	}
	*ret = found;
	return 0;
}

int asios_isolcpus_parse(const char *value, hwloc_bitmap_t cpus, const char **err_at)
{
	const char *p = value;

	/* leading flags: words of letters and '_' followed by ',' */
	for (;;) {
		size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz_");

		if (n == 0)
			break;
		if (p[n] != ',') {
			if (err_at)
				*err_at = p;
			return -EINVAL;
		}
		p += n + 1;
	}
	return asios_cpulist_parse(p, cpus, err_at);
}
