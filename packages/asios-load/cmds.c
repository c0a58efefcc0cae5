/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* The commands of asios-load: read, warm, inspect, checkpoint, cache. Each reports as text, or as one JSON object
 * with --json; errors go to standard error naming the file and offset, and the exit status is 1. */
#define _GNU_SOURCE
#include <errno.h>
#include <json-c/json.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asios/cache.h"
#include "asios/load.h"
#include "asios-load.h"

static int error(const char *msg)
{
	fprintf(stderr, "asios-load: %s\n", msg);
	return 1;
}

static struct json_object *file_json(const struct asios_load_file *f)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "path", json_object_new_string(f->path));
	json_object_object_add(o, "format", json_object_new_string(asios_model_format_name(f->model.format)));
	json_object_object_add(o, "bytes", json_object_new_int64((int64_t)f->size));
	json_object_object_add(o, "tensors", json_object_new_int64((int64_t)f->model.ntensors));
	json_object_object_add(o, "header_bytes", json_object_new_int64((int64_t)f->model.header_size));
	json_object_object_add(o, "direct", json_object_new_boolean(f->direct));
	if (f->sha256[0])
		json_object_object_add(o, "sha256", json_object_new_string(f->sha256));
	return o;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ST and TOTAL (seconds from the start: listing, cache lookups, fills and the load) when it went through the cache */
static void report(const struct asios_load_args *a, const struct asios_load_result *r, bool warm,
		   const struct asios_cache_stats *st, double total)
{
	double gbs = r->seconds > 0 ? (double)r->bytes / r->seconds / 1e9 : 0;
	struct json_object *o = json_object_new_object(), *files = json_object_new_array();

	for (size_t i = 0; i < r->nfiles; i++)
		json_object_array_add(files, file_json(&r->files[i]));
	json_object_object_add(o, "mode", json_object_new_string(warm ? "warm" : "read"));
	json_object_object_add(o, "method", json_object_new_string(r->method ? r->method : ""));
	json_object_object_add(o, "bytes", json_object_new_int64((int64_t)r->bytes));
	json_object_object_add(o, "seconds", json_object_new_double(r->seconds));
	json_object_object_add(o, "gbs", json_object_new_double(gbs));
	if (!warm) {
		json_object_object_add(o, "node", json_object_new_int(r->node));
		json_object_object_add(o, "hugepages", json_object_new_string(r->hugetlb ? "hugetlb" : r->huge ? "thp" : "no"));
		json_object_object_add(o, "registered", json_object_new_boolean(r->registered));
	}
	if (st) {
		struct json_object *c = json_object_new_object();

		json_object_object_add(c, "hits", json_object_new_int64((int64_t)st->hits));
		json_object_object_add(c, "misses", json_object_new_int64((int64_t)st->misses));
		json_object_object_add(c, "stale", json_object_new_int64((int64_t)st->stale));
		json_object_object_add(c, "resumed", json_object_new_int64((int64_t)st->resumed));
		json_object_object_add(c, "evictions", json_object_new_int64((int64_t)st->evictions));
		json_object_object_add(c, "bytes_remote", json_object_new_int64((int64_t)st->bytes_remote));
		json_object_object_add(c, "fill_seconds", json_object_new_double(st->fill_seconds));
		json_object_object_add(c, "total_seconds", json_object_new_double(total));
		json_object_object_add(c, "total_gbs", json_object_new_double(total > 0 ? (double)r->bytes / total / 1e9 : 0));
		json_object_object_add(o, "cache", c);
	}
	json_object_object_add(o, "files", files);
	if (a->json) {
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	} else {
		printf("%s %zu files, %.3f GB in %.3f s: %.2f GB/s (%s", warm ? "warmed" : "read", r->nfiles,
		       (double)r->bytes / 1e9, r->seconds, gbs, r->method ? r->method : "");
		if (!warm)
			printf(", node %d, %s pages%s", r->node, r->hugetlb ? "hugetlb" : r->huge ? "huge" : "small",
			       r->registered ? ", registered" : "");
		printf(")\n");
		if (st)
			printf("cache: %llu hits, %llu misses (%llu stale, %llu resumed), %llu evicted, %.3f GB from the remote "
			       "in %.3f s; lookups, fills and load %.3f s: %.2f GB/s\n", (unsigned long long)st->hits,
			       (unsigned long long)st->misses, (unsigned long long)st->stale,
			       (unsigned long long)st->resumed, (unsigned long long)st->evictions,
			       (double)st->bytes_remote / 1e9, st->fill_seconds, total,
			       total > 0 ? (double)r->bytes / total / 1e9 : 0);
		for (size_t i = 0; a->opts.sha256 && i < r->nfiles; i++)
			printf("%s  %s\n", r->files[i].sha256, r->files[i].path);
	}
	json_object_put(o);
}

/* the remote files through the cache: their local copies, locked shared in E until the load is done */
static int through_cache(struct asios_load_args *a, char **files, size_t n, struct asios_cache *c,
			 struct asios_cache_entry *e, struct asios_cache_stats *st, char **locals)
{
	char err[4096];

	if (asios_cache_open(c, a->cache_dir, a->cache_max, err, sizeof(err)) < 0)
		return error(err);
	for (size_t i = 0; i < n; i++) {
		if (asios_cache_get(c, files[i], &e[i], st, err, sizeof(err)) < 0) {
			for (size_t k = 0; k < i; k++)
				asios_cache_put(&e[k]);
			return error(err);
		}
		if (e[i].offline)
			fprintf(stderr, "asios-load: %s: the remote cannot be reached; the cached copy is used as it is\n",
				files[i]);
		locals[i] = e[i].local;
	}
	return 0;
}

static void warm_method(struct asios_load_args *a)
{
	a->opts.target = ASIOS_LOAD_PAGE_CACHE;
	a->opts.warm = !strcmp(a->method, "readahead") ? ASIOS_WARM_READAHEAD
		       : !strcmp(a->method, "populate") ? ASIOS_WARM_POPULATE : ASIOS_WARM_URING;
}

int asios_load_cmd_load(struct asios_load_args *a, bool warm)
{
	struct asios_cache c = { .lockfd = -1 };
	struct asios_cache_stats st = { 0 };
	struct asios_cache_entry *e = NULL;
	struct asios_load_result res;
	char err[4096], **files = NULL, **locals = NULL;
	size_t n = 0;
	double t0 = now();
	int rc = 1;

	if (warm && a->method[0] && strcmp(a->method, "uring") && strcmp(a->method, "readahead") &&
	    strcmp(a->method, "populate"))
		return fprintf(stderr, "asios-load: --method %s: expected uring, readahead or populate\n", a->method), 2;
	if (warm)
		warm_method(a);
	if (asios_load_expand(a->paths, a->npaths, &files, &n, err, sizeof(err)) < 0)
		return error(err);
	if (a->cache_dir[0]) {
		if (!(e = calloc(n, sizeof(*e))) || !(locals = calloc(n, sizeof(*locals))) ||
		    through_cache(a, files, n, &c, e, &st, locals))
			goto out;
	}
	if (asios_load((const char *const *)(locals ? locals : files), n, &a->opts, &res, err, sizeof(err)) < 0) {
		error(err);
		goto out;
	}
	/* through the cache, say which remote file each local copy is */
	for (size_t i = 0; locals && i < n; i++) {
		free(res.files[i].path);
		res.files[i].path = strdup(files[i]);
	}
	report(a, &res, warm, a->cache_dir[0] ? &st : NULL, now() - t0);
	asios_load_stats_record(a->cache_dir[0] ? c.dir : NULL, &st, warm ? "warm" : "read", res.bytes, res.seconds);
	asios_load_release(&res);
	rc = 0;
out:
	for (size_t i = 0; e && i < n; i++)
		asios_cache_put(&e[i]);
	asios_cache_close(&c);
	free(e);
	free(locals);
	asios_load_strv_free(files, n);
	return rc;
}

static void inspect_text(const struct asios_load_file *f)
{
	const struct asios_model *m = &f->model;

	printf("%s: %s, %llu bytes, header %llu bytes, %zu tensors", f->path, asios_model_format_name(m->format),
	       (unsigned long long)f->size, (unsigned long long)m->header_size, m->ntensors);
	if (m->format == ASIOS_MODEL_GGUF)
		printf(", GGUF v%u, %zu keys, alignment %llu", m->version, m->nkv, (unsigned long long)m->alignment);
	printf("\n");
	for (size_t i = 0; i < m->ntensors; i++)
		printf("  %-48s %-8s [%llu, %llu)\n", m->tensors[i].name, m->tensors[i].dtype,
		       (unsigned long long)m->tensors[i].begin, (unsigned long long)m->tensors[i].end);
}

int asios_load_cmd_inspect(struct asios_load_args *a)
{
	struct json_object *arr = json_object_new_array();
	char err[4096], **files = NULL;
	size_t n = 0;
	int rc = 1;

	/* the headers only: every file opened and checked, nothing read beyond them */
	a->opts.target = ASIOS_LOAD_PAGE_CACHE;
	a->opts.warm = ASIOS_WARM_URING;
	a->opts.no_check = false;
	if (asios_load_expand(a->paths, a->npaths, &files, &n, err, sizeof(err)) < 0) {
		error(err);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct asios_load_file f = { .path = files[i] };
		if (asios_load_check_file(&f, err, sizeof(err)) < 0) {
			error(err);
			goto out;
		}
		if (a->json) {
			struct json_object *o = file_json(&f), *t = json_object_new_array();

			for (size_t k = 0; k < f.model.ntensors; k++) {
				struct json_object *x = json_object_new_object();

				json_object_object_add(x, "name", json_object_new_string(f.model.tensors[k].name));
				json_object_object_add(x, "dtype", json_object_new_string(f.model.tensors[k].dtype));
				json_object_object_add(x, "begin", json_object_new_int64((int64_t)f.model.tensors[k].begin));
				json_object_object_add(x, "end", json_object_new_int64((int64_t)f.model.tensors[k].end));
				json_object_array_add(t, x);
			}
			json_object_object_add(o, "tensor_list", t);
			json_object_array_add(arr, o);
		} else {
			inspect_text(&f);
		}
		asios_model_free(&f.model);
	}
	if (a->json)
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	rc = 0;
out:
	json_object_put(arr);
	asios_load_strv_free(files, n);
	return rc;
}
