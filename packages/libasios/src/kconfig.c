/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "asios/kconfig.h"
#include "snapshot-internal.h"

/*
 * Kernel configuration of the running kernel: /proc/config.gz (CONFIG_IKCONFIG_PROC), else
 * /boot/config-<release> with the release from /proc/sys/kernel/osrelease. Absent on many machines: not a
 * warning, the audit that needs it says so itself.
 */

int asios_kconfig_parse(const char *text, const char *origin, struct asios_kconfig_entry **ret, size_t *n_ret,
			char ***warnings, size_t *n_warnings)
{
	struct asios_kconfig_entry *v = NULL;
	size_t n = 0, cap = 0, lineno = 0;
	const char *p = text;

	while (*p) {
		const char *eol = strchr(p, '\n'), *eq;
		size_t l = eol ? (size_t)(eol - p) : strlen(p);

		lineno++;
		if (l > 7 && !strncmp(p, "CONFIG_", 7) && (eq = memchr(p, '=', l)) && eq > p + 7) {
			bool ok = true;

			for (const char *c = p + 7; c < eq; c++)
				if (!(*c == '_' || (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')))
					ok = false;
			if (ok) {
				if (n == cap) {
					struct asios_kconfig_entry *nv;

					cap = cap ? cap * 2 : 1024;
					nv = realloc(v, cap * sizeof(*nv));
					if (!nv)
						goto oom;
					v = nv;
				}
				v[n].name = strndup(p + 7, (size_t)(eq - p - 7));
				v[n].value = strndup(eq + 1, l - (size_t)(eq + 1 - p));
				if (!v[n].name || !v[n].value) {
					free(v[n].name);
					free(v[n].value);
					goto oom;
				}
				n++;
			} else if (warnings) {
				char *w = NULL;

				if (asprintf(&w, "%s:%zu: not a CONFIG_ name, ignoring", origin, lineno) < 0 ||
				    asios_strv_push(warnings, n_warnings, w) < 0)
					goto oom;
			}
		} else if (l > 0 && p[0] != '#' && warnings) {
			char *w = NULL;

			if (asprintf(&w, "%s:%zu: not a CONFIG_NAME=value line, ignoring", origin, lineno) < 0 ||
			    asios_strv_push(warnings, n_warnings, w) < 0)
				goto oom;
		}
		p += l + (eol ? 1 : 0);
	}
	*ret = v;
	*n_ret = n;
	return 0;
oom:
	asios_kconfig_free(v, n);
	return -ENOMEM;
}

void asios_kconfig_free(struct asios_kconfig_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
}

static int read_gz(struct asios_root *root, const char *path, char **ret)
{
	size_t cap = 1 << 16, n = 0;
	char *buf;
	gzFile gz;
	int fd, k;

	fd = asios_root_open_file(root, path, O_RDONLY);
	if (fd < 0)
		return fd;
	gz = gzdopen(fd, "rb");
	if (!gz) {
		close(fd);
		return -ENOMEM;
	}
	buf = malloc(cap);
	while (buf && (k = gzread(gz, buf + n, (unsigned)(cap - n - 1))) > 0) {
		n += (size_t)k;
		if (cap - n < 2) {
			char *nb = cap < ASIOS_READ_MAX ? realloc(buf, cap * 2) : NULL;

			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	if (buf && k < 0) {
		free(buf);
		gzclose(gz);
		return -EIO;
	}
	gzclose(gz);
	if (!buf)
		return -ENOMEM;
	buf[n] = '\0';
	*ret = buf;
	return 0;
}

int asios_kconfig_read(struct asios_root *root, const char *release, struct asios_kconfig_entry **ret, size_t *n_ret,
		       char **source, char ***warnings, size_t *n_warnings)
{
	char *text = NULL, path[256];
	int r;

	*ret = NULL;
	*n_ret = 0;
	*source = NULL;
	if (release)
		snprintf(path, sizeof(path), "/boot/config-%s", release);
	else
		path[0] = '\0';
	r = read_gz(root, "/proc/config.gz", &text);
	if (r >= 0)
		*source = strdup("/proc/config.gz");
	else if (path[0] && (r = asios_read_file(root, path, &text, NULL)) >= 0)
		*source = strdup(path);
	if (r == -ENOMEM || (text && !*source)) {
		free(text);
		return -ENOMEM;
	}
	if (!text)
		return 0;
	r = asios_kconfig_parse(text, *source, ret, n_ret, warnings, n_warnings);
	free(text);
	return r;
}

int asios_kconfig_load(struct asios_root *root, struct asios_snapshot *s)
{
	char **warnings = NULL;
	size_t n_warnings = 0;
	int r = asios_kconfig_read(root, s->kernel_release, &s->kconfig, &s->n_kconfig, &s->kconfig_source, &warnings,
				   &n_warnings);

	for (size_t i = 0; i < n_warnings; i++)
		asios_snapshot_warn(s, "%s", warnings[i]);
	asios_strv_free(warnings);
	return r;
}

const char *asios_kconfig_get(const struct asios_snapshot *s, const char *name)
{
	for (size_t i = 0; i < s->n_kconfig; i++)
		if (!strcmp(s->kconfig[i].name, name))
			return s->kconfig[i].value;
	return NULL;
}
