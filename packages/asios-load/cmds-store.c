/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* asios-load checkpoint and asios-load cache. */
#define _GNU_SOURCE
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/cache.h"
#include "asios/load.h"
#include "asios-load.h"

/* the FILEs are read into memory first (not timed), then written to --out as a checkpoint */
int asios_load_cmd_checkpoint(struct asios_load_args *a)
{
	enum asios_ckpt_method m = strcmp(a->method, "buffered") ? ASIOS_CKPT_DIRECT : ASIOS_CKPT_BUFFERED;
	struct asios_ckpt_item *items = NULL;
	struct asios_ckpt_result cr;
	struct asios_load_result res;
	char err[4096];
	int rc = 1;

	if (!a->out[0] || (a->method[0] && strcmp(a->method, "direct") && strcmp(a->method, "buffered"))) {
		fprintf(stderr, "asios-load: checkpoint needs --out DIR, and --method direct or buffered\n");
		return 2;
	}
	a->opts.target = ASIOS_LOAD_BUFFER;
	a->opts.no_check = true; /* any file: a checkpoint holds optimizer state too */
	if (asios_load(a->paths, a->npaths, &a->opts, &res, err, sizeof(err)) < 0) {
		fprintf(stderr, "asios-load: %s\n", err);
		return 1;
	}
	if (!(items = calloc(res.nfiles, sizeof(*items))))
		goto out;
	for (size_t i = 0; i < res.nfiles; i++) {
		const char *slash = strrchr(res.files[i].path, '/');

		items[i] = (struct asios_ckpt_item){ slash ? slash + 1 : res.files[i].path,
						     res.buf + res.files[i].offset, (size_t)res.files[i].size };
	}
	if (asios_ckpt_write(a->out, items, res.nfiles, m, a->opts.depth, &cr, err, sizeof(err)) < 0) {
		fprintf(stderr, "asios-load: %s\n", err);
		goto out;
	}
	if (a->json)
		printf("{\"mode\": \"checkpoint\", \"method\": \"%s\", \"files\": %zu, \"bytes\": %llu, \"seconds\": %.6f, "
		       "\"gbs\": %.4f, \"verify_seconds\": %.6f, \"verified\": true}\n", cr.method, res.nfiles,
		       (unsigned long long)cr.bytes, cr.seconds, cr.seconds > 0 ? (double)cr.bytes / cr.seconds / 1e9 : 0,
		       cr.verify_seconds);
	else
		printf("wrote %zu files, %.3f GB in %.3f s: %.2f GB/s (%s, synced, renamed; read back and verified in "
		       "%.3f s)\n", res.nfiles, (double)cr.bytes / 1e9, cr.seconds,
		       cr.seconds > 0 ? (double)cr.bytes / cr.seconds / 1e9 : 0, cr.method, cr.verify_seconds);
	asios_load_stats_record(NULL, NULL, "checkpoint", cr.bytes, cr.seconds);
	rc = 0;
out:
	free(items);
	asios_load_release(&res);
	return rc;
}

int asios_load_cmd_cache(struct asios_load_args *a)
{
	const char *sub = a->npaths ? a->paths[0] : "status";
	struct asios_cache c;
	struct asios_cache_stats st = { 0 };
	char err[4096] = "";
	uint64_t bytes = 0;
	size_t n = 0;
	int r;

	if (!a->cache_dir[0]) {
		fprintf(stderr, "asios-load: cache %s: no cache (--cache DIR, or [cache] dir in %s)\n", sub,
			ASIOS_LOAD_CONF);
		return 2;
	}
	if (asios_cache_open(&c, a->cache_dir, a->cache_max, err, sizeof(err)) < 0) {
		fprintf(stderr, "asios-load: %s\n", err);
		return 1;
	}
	if (!strcmp(sub, "status")) {
		r = asios_cache_list(&c, a->json ? stdout : NULL, &bytes, &n);
		if (!a->json)
			printf("%s: %zu entries, %llu bytes, cap %llu bytes%s\n", c.dir, n, (unsigned long long)bytes,
			       (unsigned long long)c.max_bytes, c.max_bytes ? "" : " (none)");
	} else if (!strcmp(sub, "verify")) {
		r = asios_cache_verify(&c, stdout, err, sizeof(err));
		if (r >= 0)
			printf("%s: %d bad entr%s\n", c.dir, r, r == 1 ? "y" : "ies");
		r = r > 0 ? -EBADMSG : r;
	} else if (!strcmp(sub, "evict")) {
		r = asios_cache_evict(&c, 0, &st, err, sizeof(err));
		if (r >= 0)
			printf("%s: %llu entries evicted\n", c.dir, (unsigned long long)st.evictions);
	} else {
		fprintf(stderr, "asios-load: cache %s: expected status, verify or evict\n", sub);
		asios_cache_close(&c);
		return 2;
	}
	if (r < 0 && r != -EBADMSG)
		fprintf(stderr, "asios-load: %s\n", err[0] ? err : strerror(-r));
	asios_cache_close(&c);
	return r < 0 ? 1 : 0;
}
