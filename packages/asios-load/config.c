/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* /etc/asios/load.conf (asios-load(1)): [load] and [cache] defaults of the command line, read with the one INI
 * reader of ASIOS (config.h): a bad line is reported as FILE:LINE and nothing is loaded. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/config.h"
#include "asios-load.h"

int asios_load_direct(const char *v, enum asios_direct *d)
{
	if (!strcmp(v, "auto"))
		*d = ASIOS_DIRECT_AUTO;
	else if (!strcmp(v, "on"))
		*d = ASIOS_DIRECT_ON;
	else if (!strcmp(v, "off"))
		*d = ASIOS_DIRECT_OFF;
	else
		return -1;
	return 0;
}

static int size_key(struct asios_conf *c, const char *name, const char *v, uint64_t *out, uint64_t min,
		    uint64_t max, uint64_t multiple)
{
	uint64_t x;

	if (asios_load_parse_size(v, &x) || x < min || x > max || (multiple && x % multiple))
		return asios_conf_fail(c, "%s: expected a size (bytes, or with K/M/G/T) in range, got \"%s\"", name, v);
	*out = x;
	return 1;
}

static int on_load(struct asios_conf *c, struct asios_load_args *a, const char *name, const char *v)
{
	uint64_t x = 0;
	bool b = false;

	if (!strcmp(name, "depth"))
		return size_key(c, name, v, &x, 1, 4096, 0) ? (a->opts.depth = (unsigned)x, 1) : 0;
	if (!strcmp(name, "block"))
		return size_key(c, name, v, &x, 4096, 1u << 30, 4096) ? (a->opts.block = (size_t)x, 1) : 0;
	if (!strcmp(name, "direct"))
		return asios_load_direct(v, &a->opts.direct) ? asios_conf_fail(c, "%s: expected auto, on or off, got \"%s\"",
									       name, v) : 1;
	if (!strcmp(name, "hugepages"))
		return asios_conf_bool(v, &b) ? asios_conf_fail(c, "%s: expected yes or no, got \"%s\"", name, v)
					      : (a->opts.hugepages = b, 1);
	if (!strcmp(name, "register"))
		return asios_conf_bool(v, &b) ? asios_conf_fail(c, "%s: expected yes or no, got \"%s\"", name, v)
					      : (a->opts.register_buffers = b, 1);
	if (!strcmp(name, "warm_method")) {
		if (strcmp(v, "uring") && strcmp(v, "readahead") && strcmp(v, "populate"))
			return asios_conf_fail(c, "%s: expected uring, readahead or populate, got \"%s\"", name, v);
		snprintf(a->method, sizeof(a->method), "%s", v);
		return 1;
	}
	return asios_conf_fail(c, "unknown key \"%s\" in [load]%s", name, "");
}

static int on_key(void *user, const char *section, const char *name, const char *v)
{
	struct asios_conf *c = user;
	struct asios_load_args *a = c->policy;

	if (!strcmp(section, "load"))
		return on_load(c, a, name, v);
	if (!strcmp(section, "cache") && !strcmp(name, "dir")) {
		if (v[0] != '/')
			return asios_conf_fail(c, "%s: expected an absolute path, got \"%s\"", name, v);
		snprintf(a->cache_dir, sizeof(a->cache_dir), "%s", v);
		return 1;
	}
	if (!strcmp(section, "cache") && !strcmp(name, "max_size"))
		return size_key(c, name, v, &a->cache_max, 0, UINT64_MAX, 0);
	return asios_conf_fail(c, "unknown section or key \"[%s] %s\"", section, name);
}

int asios_load_config(const char *conf, struct asios_load_args *a)
{
	struct asios_conf c = { .handler = on_key, .policy = a };
	char conf_d[3100], *error = NULL;
	int r;

	c.user = &c;
	snprintf(conf_d, sizeof(conf_d), "%s.d", conf);
	r = asios_conf_load(&c, conf, ASIOS_LOAD_CONF, conf_d, NULL, &error);
	if (r < 0) {
		fprintf(stderr, "asios-load: %s\n", error ? error : "out of memory");
		free(error);
		return 1;
	}
	return 0;
}
