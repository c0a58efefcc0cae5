/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* The layered model cache (cache.h): the LRU cap, listing, verification, and the counters asios-exporter reads. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "asios/cache.h"
#include "asios/load.h"

struct ent {
	char key[33];
	uint64_t size;
	struct timespec used;
};

static int by_use(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;

	if (x->used.tv_sec != y->used.tv_sec)
		return x->used.tv_sec < y->used.tv_sec ? -1 : 1;
	return x->used.tv_nsec < y->used.tv_nsec ? -1 : x->used.tv_nsec > y->used.tv_nsec;
}

/* the entries (objects/KEY.meta with their data), least recently used first */
static int entries(const struct asios_cache *c, struct ent **out, size_t *n, uint64_t *total)
{
	char dir[PATH_MAX];
	DIR *d;
	struct dirent *de;
	struct ent *v = NULL;

	*n = 0;
	*total = 0;
	snprintf(dir, sizeof(dir), "%s/objects", c->dir);
	if (!(d = opendir(dir)))
		return -errno;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		struct stat ms, ds;
		char data[PATH_MAX];
		struct ent *nv;

		if (l != 37 || strcmp(de->d_name + 32, ".meta") || fstatat(dirfd(d), de->d_name, &ms, 0) < 0)
			continue;
		snprintf(data, sizeof(data), "%.32s", de->d_name);
		if (fstatat(dirfd(d), data, &ds, 0) < 0 || !(nv = realloc(v, (*n + 1) * sizeof(*v))))
			continue;
		v = nv;
		snprintf(v[*n].key, sizeof(v[*n].key), "%s", data);
		v[*n].size = (uint64_t)ds.st_size;
		v[*n].used = ms.st_mtim;
		*total += v[*n].size;
		(*n)++;
	}
	closedir(d);
	if (v)
		qsort(v, *n, sizeof(*v), by_use);
	*out = v;
	return 0;
}

/* remove entry KEY unless a reader holds it; true when removed */
static bool drop(const struct asios_cache *c, const char *key)
{
	char lock[PATH_MAX], meta[PATH_MAX], data[PATH_MAX];
	int fd;
	bool ok;

	snprintf(lock, sizeof(lock), "%s/locks/%s", c->dir, key);
	snprintf(meta, sizeof(meta), "%s/objects/%s.meta", c->dir, key);
	snprintf(data, sizeof(data), "%s/objects/%s", c->dir, key);
	if ((fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
		return false;
	ok = flock(fd, LOCK_EX | LOCK_NB) == 0;
	if (ok) { /* the .meta first: without it the data is no entry */
		unlink(meta);
		unlink(data);
	}
	close(fd);
	return ok;
}

int asios_cache_evict(struct asios_cache *c, uint64_t room, struct asios_cache_stats *st, char *err, size_t errlen)
{
	struct ent *v = NULL;
	uint64_t total;
	size_t n;
	int r;

	if (!c->max_bytes)
		return 0;
	if (room > c->max_bytes) {
		snprintf(err, errlen, "%s: a file of %llu bytes does not fit under the cache's cap of %llu bytes", c->dir,
			 (unsigned long long)room, (unsigned long long)c->max_bytes);
		return -EFBIG;
	}
	flock(c->lockfd, LOCK_EX);
	if ((r = entries(c, &v, &n, &total)) < 0) {
		snprintf(err, errlen, "%s/objects: %s", c->dir, strerror(-r));
		goto out;
	}
	for (size_t i = 0; i < n && total + room > c->max_bytes; i++)
		if (drop(c, v[i].key)) {
			total -= v[i].size;
			st->evictions++;
		}
	if (total + room > c->max_bytes) {
		snprintf(err, errlen, "%s: %llu bytes of entries in use by readers: no room for %llu more under the cap of "
			 "%llu bytes", c->dir, (unsigned long long)total, (unsigned long long)room,
			 (unsigned long long)c->max_bytes);
		r = -ENOSPC;
	}
out:
	flock(c->lockfd, LOCK_UN);
	free(v);
	return r;
}

static struct json_object *meta_of(const struct asios_cache *c, const char *key)
{
	char meta[PATH_MAX];

	snprintf(meta, sizeof(meta), "%s/objects/%s.meta", c->dir, key);
	return json_object_from_file(meta);
}

int asios_cache_list(struct asios_cache *c, void *out, uint64_t *bytes, size_t *count)
{
	struct ent *v = NULL;
	size_t n;
	int r = entries(c, &v, &n, bytes);

	*count = r < 0 ? 0 : n;
	for (size_t i = 0; r >= 0 && i < n; i++) {
		struct json_object *o = meta_of(c, v[i].key);

		if (!o)
			continue;
		json_object_object_add(o, "used", json_object_new_int64((int64_t)v[i].used.tv_sec));
		json_object_object_add(o, "key", json_object_new_string(v[i].key));
		if (out)
			fprintf(out, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	}
	free(v);
	return r;
}

static void hash_file(const char *path, char out[65])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char buf[1 << 16], dg[EVP_MAX_MD_SIZE];
	unsigned dl = 0;
	ssize_t got = 0;

	out[0] = '\0';
	if (fd >= 0 && md && EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		while ((got = read(fd, buf, sizeof(buf))) > 0)
			EVP_DigestUpdate(md, buf, (size_t)got);
		EVP_DigestFinal_ex(md, dg, &dl);
		for (unsigned i = 0; got == 0 && i < 32 && i < dl; i++)
			snprintf(out + 2 * i, 3, "%02x", dg[i]);
	}
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(md);
}

int asios_cache_verify(struct asios_cache *c, void *out, char *err, size_t errlen)
{
	struct ent *v = NULL;
	uint64_t total;
	size_t n;
	int bad = 0, r = entries(c, &v, &n, &total);

	if (r < 0) {
		snprintf(err, errlen, "%s/objects: %s", c->dir, strerror(-r));
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = meta_of(c, v[i].key), *x;
		const char *want = o && json_object_object_get_ex(o, "sha256", &x) ? json_object_get_string(x) : "";
		char data[PATH_MAX], got[65];

		snprintf(data, sizeof(data), "%s/objects/%s", c->dir, v[i].key);
		hash_file(data, got);
		if (strcmp(want, got)) {
			bad++;
			if (out)
				fprintf(out, "%s: the cached copy of %s hashes to %s, not %s: %s\n", data,
					o && json_object_object_get_ex(o, "remote", &x) ? json_object_get_string(x) : "?",
					got[0] ? got : "(unreadable)", want, drop(c, v[i].key) ? "removed" : "in use, kept");
		}
		json_object_put(o);
	}
	free(v);
	return bad;
}

static void add(struct json_object *o, const char *key, double by)
{
	struct json_object *x;
	double was = json_object_object_get_ex(o, key, &x) ? json_object_get_double(x) : 0;

	json_object_object_add(o, key, json_object_new_double(was + by));
}

static struct json_object *child(struct json_object *o, const char *key)
{
	struct json_object *x;

	if (!json_object_object_get_ex(o, key, &x) || !json_object_is_type(x, json_type_object)) {
		x = json_object_new_object();
		json_object_object_add(o, key, x);
	}
	return x;
}

void asios_load_stats_record(const char *cache_dir, const struct asios_cache_stats *st, const char *mode,
			     uint64_t bytes, double seconds)
{
	const char *dir = getenv("ASIOS_LOAD_STATE_DIR") ? getenv("ASIOS_LOAD_STATE_DIR") : "/var/lib/asios/load";
	char lock[PATH_MAX], path[PATH_MAX];
	struct json_object *o, *x;
	int fd;

	snprintf(lock, sizeof(lock), "%s/stats.lock", dir);
	snprintf(path, sizeof(path), "%s/stats.json", dir);
	mkdir(dir, 0755);
	if ((fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
		return; /* not ours to write (not root): the counters are best effort */
	flock(fd, LOCK_EX);
	if (!(o = json_object_from_file(path)) || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = json_object_new_object();
	}
	if (mode) {
		x = child(child(o, "loads"), mode);
		add(x, "count", 1);
		add(x, "bytes", (double)bytes);
		add(x, "seconds", seconds);
	}
	if (cache_dir && st) {
		x = child(child(o, "caches"), cache_dir);
		add(x, "hits", (double)st->hits);
		add(x, "misses", (double)st->misses);
		add(x, "stale", (double)st->stale);
		add(x, "evictions", (double)st->evictions);
		add(x, "resumed", (double)st->resumed);
		add(x, "bytes_remote", (double)st->bytes_remote);
		add(x, "bytes_local", (double)st->bytes_local);
		add(x, "fill_seconds", st->fill_seconds);
	}
	json_object_to_file_ext(path, o, JSON_C_TO_STRING_PRETTY);
	json_object_put(o);
	close(fd);
}
