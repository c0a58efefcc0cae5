/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* asios-load's counters as metrics (metrics.h): what asios-load read, warmed and wrote, and what its layered
 * caches served, from the file it keeps them in (asios_load_stats_record(), cache.h). GB/s is a rate of
 * bytes over a rate of seconds: the recording rule asios:load_throughput_bytes:rate5m. */
#define _GNU_SOURCE
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "asios/metrics.h"
#include "asios/root.h"

#define LOAD_STATS "/var/lib/asios/load/stats.json"

static double num(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_double(v) : 0;
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* a label value: backslash, quote and newline escaped as the exposition format wants */
static void label(FILE *f, const char *s)
{
	for (; *s; s++)
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
}

struct fam {
	const char *name, *key, *help;
};

/* each family of FAM: one sample per entry of O, labelled LABEL=the entry's name */
static void families(FILE *f, const struct fam *fam, size_t n, const char *lab, struct json_object *o)
{
	for (size_t k = 0; k < n; k++) {
		family(f, fam[k].name, "counter", fam[k].help);
		json_object_object_foreach(o, name, v) {
			fprintf(f, "%s{%s=\"", fam[k].name, lab);
			label(f, name);
			fprintf(f, "\"} %.17g\n", num(v, fam[k].key));
		}
	}
}

static const struct fam load_fams[] = {
	{ "asios_load_operations_total", "count", "Loads by asios-load, by mode (read, warm, checkpoint)." },
	{ "asios_load_bytes_total", "bytes", "Bytes read (read, warm) or written (checkpoint) by asios-load." },
	{ "asios_load_seconds_total", "seconds", "Seconds asios-load spent loading or writing, by mode." },
};

static const struct fam cache_fams[] = {
	{ "asios_load_cache_hits_total", "hits", "Files served from a layered cache's local copy." },
	{ "asios_load_cache_misses_total", "misses", "Files filled from the remote into a layered cache." },
	{ "asios_load_cache_stale_total", "stale", "Cached copies refilled because the remote file changed." },
	{ "asios_load_cache_evictions_total", "evictions", "Entries evicted to stay under the cache's cap." },
	{ "asios_load_cache_resumed_total", "resumed", "Fills resumed after an interrupted one." },
	{ "asios_load_cache_remote_bytes_total", "bytes_remote", "Bytes copied from the remote into the cache." },
	{ "asios_load_cache_local_bytes_total", "bytes_local", "Bytes served from the cache's local copies." },
	{ "asios_load_cache_fill_seconds_total", "fill_seconds", "Seconds spent filling the cache from the remote." },
};

void asios_load_metrics_write(FILE *f, struct asios_root *root)
{
	char *text = NULL;
	struct json_object *o, *x;

	if (asios_read_file(root, LOAD_STATS, &text, NULL) < 0)
		return; /* asios-load never ran here: no families */
	o = json_tokener_parse(text);
	free(text);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return;
	}
	if (json_object_object_get_ex(o, "loads", &x) && json_object_is_type(x, json_type_object))
		families(f, load_fams, sizeof(load_fams) / sizeof(load_fams[0]), "mode", x);
	if (json_object_object_get_ex(o, "caches", &x) && json_object_is_type(x, json_type_object))
		families(f, cache_fams, sizeof(cache_fams) / sizeof(cache_fams[0]), "cache", x);
	json_object_put(o);
}
