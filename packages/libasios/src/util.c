/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int asios_strv_push(char ***v, size_t *n, char *s)
{
	char **nv;

	if (!s)
		return -ENOMEM;
	nv = realloc(*v, (*n + 2) * sizeof(*nv));
	if (!nv) {
		free(s);
		return -ENOMEM;
	}
	nv[(*n)++] = s;
	nv[*n] = NULL;
	*v = nv;
	return 0;
}

int asios_strv_push_dup(char ***v, size_t *n, const char *s)
{
	return asios_strv_push(v, n, strdup(s));
}

int asios_strv_pushv(char ***v, size_t *n, const char *fmt, va_list ap)
{
	char *msg = NULL;

	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	return asios_strv_push(v, n, msg);
}

static int conf_file(const char *path, asios_conf_parse_fn parse, void *user, char **error)
{
	FILE *f = fopen(path, "re");
	int r;

	if (!f) {
		if (errno == ENOENT)
			return 0;
		r = -errno;
		if (error && asprintf(error, "%s: %s", path, strerror(-r)) < 0)
			*error = NULL;
		return r;
	}
	r = parse(f, path, user, error);
	fclose(f);
	return r;
}

static int conf_filter(const struct dirent *de)
{
	size_t n = strlen(de->d_name);

	return de->d_name[0] != '.' && n > 5 && !strcmp(de->d_name + n - 5, ".conf");
}

int asios_conf_load(const char *conf, const char *conf_d, asios_conf_parse_fn parse, void *user, char **error)
{
	struct dirent **list = NULL;
	int r, n;

	if (error)
		*error = NULL;
	if (conf && (r = conf_file(conf, parse, user, error)) < 0)
		return r;
	if (!conf_d)
		return 0;
	n = scandir(conf_d, &list, conf_filter, alphasort);
	if (n < 0)
		return errno == ENOENT ? 0 : -errno;
	r = 0;
	for (int i = 0; i < n; i++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", conf_d, list[i]->d_name);
		if (r == 0)
			r = conf_file(path, parse, user, error);
		free(list[i]);
	}
	free(list);
	return r;
}

int asios_conf_bool(const char *v, bool *ret)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "on"))
		*ret = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "off"))
		*ret = false;
	else
		return -EINVAL;
	return 0;
}

int asios_conf_long(const char *v, long min, long max, long *ret)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max)
		return -EINVAL;
	*ret = n;
	return 0;
}

int asios_conf_fail(char **error, const char *fmt, const char *a, const char *b)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	if (!*error && asprintf(error, fmt, a, b) < 0) /* fmt: one of the literals of a policy reader */
		*error = NULL;
#pragma GCC diagnostic pop
	return 0; /* inih: 0 = error on this line */
}
