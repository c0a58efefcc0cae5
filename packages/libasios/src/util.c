/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* The configuration root (asios_conf_set_root()): paths below PREFIX are read inside ROOT. */
static struct {
	char *prefix;
	struct asios_root *root;
	int error;
} conf_root;

int asios_conf_set_root(const char *path)
{
	size_t n = path ? strlen(path) : 0;

	asios_root_free(conf_root.root);
	free(conf_root.prefix);
	memset(&conf_root, 0, sizeof(conf_root));
	while (n > 1 && path[n - 1] == '/')
		n--;
	if (n == 0 || (n == 1 && path[0] == '/'))
		return 0;
	conf_root.prefix = strndup(path, n);
	if (!conf_root.prefix)
		return -ENOMEM;
	conf_root.error = asios_root_open(path, &conf_root.root);
	return conf_root.error;
}

/* PATH below the configuration root, as a path inside it; NULL when PATH lies elsewhere */
static const char *in_conf_root(const char *path)
{
	size_t n = conf_root.prefix ? strlen(conf_root.prefix) : 0;

	if (!n || strncmp(path, conf_root.prefix, n) != 0 || path[n] != '/')
		return NULL;
	return path + n;
}

static FILE *conf_open(const char *path)
{
	const char *rel = in_conf_root(path);
	FILE *f;
	int fd;

	if (!rel)
		return fopen(path, "re");
	if (conf_root.error < 0) {
		errno = -conf_root.error;
		return NULL;
	}
	fd = asios_root_open_file(conf_root.root, rel, O_RDONLY | O_NONBLOCK);
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	f = fdopen(fd, "r");
	if (!f) {
		int e = errno;

		close(fd);
		errno = e;
	}
	return f;
}

static int conf_file(const char *path, asios_conf_parse_fn parse, void *user, char **error)
{
	FILE *f = conf_open(path);
	struct stat st;
	int r;

	if (f && (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode))) { /* a folder, FIFO or device: never read */
		fclose(f);
		f = NULL;
		errno = EINVAL;
	}
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

static int cmp_coll(const void *a, const void *b)
{
	return strcoll(*(char *const *)a, *(char *const *)b);
}

/* CONF_D below the configuration root: listed inside it, in scandir(alphasort) order like any other folder */
static int conf_dir_in_root(const char *conf_d, asios_conf_parse_fn parse, void *user, char **error)
{
	char **names = NULL;
	int n, r = 0;

	if (conf_root.error < 0)
		return conf_root.error;
	n = asios_list_dir(conf_root.root, in_conf_root(conf_d), &names);
	if (n < 0)
		return n == -ENOENT ? 0 : n;
	qsort(names, (size_t)n, sizeof(*names), cmp_coll);
	for (int i = 0; i < n && r == 0; i++) {
		struct dirent de = { 0 };
		char path[4096];

		snprintf(de.d_name, sizeof(de.d_name), "%s", names[i]);
		if (!conf_filter(&de))
			continue;
		snprintf(path, sizeof(path), "%s/%s", conf_d, names[i]);
		r = conf_file(path, parse, user, error);
	}
	asios_strv_free(names);
	return r;
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
	if (in_conf_root(conf_d))
		return conf_dir_in_root(conf_d, parse, user, error);
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
