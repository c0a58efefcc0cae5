/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* The layered model cache (cache.h): lookups, fills with resume and checksum, the LRU cap. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
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
#include "load-internal.h"

#define FILL_BLOCK (4u << 20)

struct version {
	uint64_t size;
	int64_t mtime_ns;
};

static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static int sys_err(char *err, size_t errlen, const char *what, const char *path)
{
	int e = errno;

	snprintf(err, errlen, "%s: %s%s%s", path, what, *what ? ": " : "", strerror(e));
	return -e;
}

int asios_cache_open(struct asios_cache *c, const char *dir, uint64_t max_bytes, char *err, size_t errlen)
{
	static const char *const sub[] = { "", "/objects", "/partial", "/locks" };
	char p[sizeof(c->dir) + 16];

	memset(c, 0, sizeof(*c));
	c->lockfd = -1;
	if (strlen(dir) >= sizeof(c->dir)) {
		snprintf(err, errlen, "%.64s...: cache path too long", dir);
		return -ENAMETOOLONG;
	}
	snprintf(c->dir, sizeof(c->dir), "%s", dir);
	c->max_bytes = max_bytes;
	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", dir, sub[i]);
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return sys_err(err, errlen, "", p);
	}
	snprintf(p, sizeof(p), "%s/lock", dir);
	if ((c->lockfd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
		return sys_err(err, errlen, "", p);
	return 0;
}

void asios_cache_close(struct asios_cache *c)
{
	if (c->lockfd >= 0)
		close(c->lockfd);
	c->lockfd = -1;
}

static void key_of(const char *remote, char key[33])
{
	char abs[PATH_MAX], hex[65];

	if (!realpath(remote, abs))
		snprintf(abs, sizeof(abs), "%s", remote);
	asios_sha256_hex(abs, strlen(abs), hex);
	memcpy(key, hex, 32);
	key[32] = '\0';
}

static void path_of(const struct asios_cache *c, char *out, size_t len, const char *sub, const char *key,
		    const char *ext)
{
	snprintf(out, len, "%s/%s/%s%s", c->dir, sub, key, ext);
}

/* the version a .meta (or partial .meta) file records, and the SHA-256 when it has one */
static bool read_meta(const char *path, const char *remote, struct version *v, char sha[65])
{
	struct json_object *o = json_object_from_file(path), *x;
	bool ok = o && json_object_object_get_ex(o, "remote", &x) && !strcmp(json_object_get_string(x), remote) &&
		  json_object_object_get_ex(o, "size", &x) && (v->size = (uint64_t)json_object_get_int64(x), true) &&
		  json_object_object_get_ex(o, "mtime_ns", &x) && (v->mtime_ns = json_object_get_int64(x), true);

	if (ok && sha && json_object_object_get_ex(o, "sha256", &x))
		snprintf(sha, 65, "%s", json_object_get_string(x));
	json_object_put(o);
	return ok;
}

static int write_meta(const char *path, const char *remote, const struct version *v, const char *sha)
{
	struct json_object *o = json_object_new_object();
	char tmp[PATH_MAX + 8];
	int fd, r = 0;
	const char *s;

	json_object_object_add(o, "remote", json_object_new_string(remote));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)v->size));
	json_object_object_add(o, "mtime_ns", json_object_new_int64(v->mtime_ns));
	if (sha)
		json_object_object_add(o, "sha256", json_object_new_string(sha));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s) || fsync(fd) < 0 || rename(tmp, path) < 0)
		r = -errno ? -errno : -EIO;
	if (fd >= 0)
		close(fd);
	if (r < 0)
		unlink(tmp);
	json_object_put(o);
	return r;
}

/* the checksum the remote publishes for REMOTE in SHA256SUMS beside it, or "" */
static void published_sha(const char *remote, char sha[65])
{
	char dir[PATH_MAX], sums[PATH_MAX + 16], line[PATH_MAX + 80], *base;
	FILE *f;

	sha[0] = '\0';
	snprintf(dir, sizeof(dir), "%s", remote);
	base = strrchr(remote, '/') ? strrchr(remote, '/') + 1 : (char *)remote;
	snprintf(sums, sizeof(sums), "%s/SHA256SUMS", dirname(dir));
	if (!(f = fopen(sums, "re")))
		return;
	while (fgets(line, sizeof(line), f)) {
		char *name = line + 64;

		line[strcspn(line, "\n")] = '\0';
		if (strlen(line) < 66 || strspn(line, "0123456789abcdef") != 64 || name[0] != ' ')
			continue;
		name += (name[1] == ' ' || name[1] == '*') ? 2 : 1;
		if (!strcmp(name, base)) {
			memcpy(sha, line, 64);
			sha[64] = '\0';
			break;
		}
	}
	fclose(f);
}

/* an entry that matches the remote's version V (or any, when V is NULL: offline) */
static bool entry_valid(const struct asios_cache *c, const char *key, const char *remote, const struct version *v,
			char sha[65])
{
	char meta[PATH_MAX], data[PATH_MAX];
	struct version m;
	struct stat st;

	path_of(c, meta, sizeof(meta), "objects", key, ".meta");
	path_of(c, data, sizeof(data), "objects", key, "");
	if (!read_meta(meta, remote, &m, sha) || stat(data, &st) < 0 || (uint64_t)st.st_size != m.size)
		return false;
	if (v && (m.size != v->size || m.mtime_ns != v->mtime_ns))
		return false;
	utimensat(AT_FDCWD, meta, NULL, 0); /* the LRU stamp */
	return true;
}

struct fill {
	const struct asios_cache *c;
	const char *remote, *key;
	struct version v;
	char part[PATH_MAX], pmeta[PATH_MAX];
	EVP_MD_CTX *md;
	uint64_t from;         /* bytes already in the partial file (resumed) */
};

/* resume a partial fill of the same remote version: its bytes (whole 4 MiB blocks) hashed again */
static void resume(struct fill *f, int out, struct asios_cache_stats *st)
{
	struct version pv;
	struct stat s;
	unsigned char *buf;

	if (!read_meta(f->pmeta, f->remote, &pv, NULL) || pv.size != f->v.size || pv.mtime_ns != f->v.mtime_ns ||
	    fstat(out, &s) < 0 || !(buf = malloc(FILL_BLOCK)))
		return;
	for (uint64_t want = (uint64_t)s.st_size / FILL_BLOCK * FILL_BLOCK; f->from < want;) {
		ssize_t got = pread(out, buf, FILL_BLOCK, (off_t)f->from);

		if (got != FILL_BLOCK)
			break;
		EVP_DigestUpdate(f->md, buf, FILL_BLOCK);
		f->from += FILL_BLOCK;
	}
	free(buf);
	if (f->from)
		st->resumed++;
}

/* remote → partial file, hashing on the way; -errno with ERR naming the file and offset */
static int copy(struct fill *f, int in, int out, char *err, size_t errlen)
{
	unsigned char *buf = malloc(FILL_BLOCK);
	uint64_t at = f->from;
	int r = 0;

	if (!buf)
		return -ENOMEM;
	while (at < f->v.size) {
		ssize_t got = pread(in, buf, FILL_BLOCK, (off_t)at), put;

		if (got <= 0) {
			r = got < 0 ? -errno : -EIO;
			snprintf(err, errlen, "%s: offset %llu: %s", f->remote, (unsigned long long)at,
				 got < 0 ? strerror(errno) : "the file ended before its size (it changed on the remote)");
			break;
		}
		for (ssize_t done = 0; done < got; done += put)
			if ((put = pwrite(out, buf + done, (size_t)(got - done), (off_t)(at + (uint64_t)done))) < 0) {
				r = -errno;
				snprintf(err, errlen, "%s: offset %llu: %s%s", f->part, (unsigned long long)(at + (uint64_t)done),
					 strerror(errno), errno == ENOSPC ? " (the cache's file system is full)" : "");
				goto out;
			}
		EVP_DigestUpdate(f->md, buf, (size_t)got);
		at += (uint64_t)got;
	}
out:
	free(buf);
	return r;
}

/* the data and .meta of a complete, checked fill into objects/ */
static int commit(struct fill *f, int out, const char *sha, char *err, size_t errlen)
{
	char data[PATH_MAX], meta[PATH_MAX], dir[PATH_MAX];
	int dfd, r = 0;

	path_of(f->c, data, sizeof(data), "objects", f->key, "");
	path_of(f->c, meta, sizeof(meta), "objects", f->key, ".meta");
	if (fdatasync(out) < 0 || rename(f->part, data) < 0)
		return sys_err(err, errlen, "", f->part);
	if ((r = write_meta(meta, f->remote, &f->v, sha)) < 0) {
		errno = -r;
		return sys_err(err, errlen, "", meta);
	}
	snprintf(dir, sizeof(dir), "%s/objects", f->c->dir);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	unlink(f->pmeta);
	return 0;
}

/* the checksum and the remote's version after the copy; 0 when the copy may become an entry */
static int check_fill(struct fill *f, const char *got, char *err, size_t errlen)
{
	char want[65];
	struct stat st;

	if (stat(f->remote, &st) < 0)
		return sys_err(err, errlen, "after the copy", f->remote);
	if ((uint64_t)st.st_size != f->v.size || mtime_ns(&st) != f->v.mtime_ns) {
		snprintf(err, errlen, "%s: changed on the remote while it was copied; try again", f->remote);
		return -ESTALE;
	}
	published_sha(f->remote, want);
	if (want[0] && strcmp(want, got)) {
		snprintf(err, errlen, "%s: checksum mismatch: SHA256SUMS says %s, the %llu bytes read hash to %s",
			 f->remote, want, (unsigned long long)f->v.size, got);
		return -EBADMSG;
	}
	return 0;
}

/* fill the entry KEY from REMOTE (version V); the caller holds the key's lock exclusively */
static int fill(struct asios_cache *c, const char *remote, const char *key, const struct version *v,
		struct asios_cache_entry *e, struct asios_cache_stats *st, char *err, size_t errlen)
{
	struct fill f = { .c = c, .remote = remote, .key = key, .v = *v };
	unsigned char dg[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	double t0 = asios_load_now();
	int in = -1, out = -1, r;

	path_of(c, f.part, sizeof(f.part), "partial", key, "");
	path_of(c, f.pmeta, sizeof(f.pmeta), "partial", key, ".meta");
	if ((r = asios_cache_evict(c, v->size, st, err, errlen)) < 0)
		return r;
	if (!(f.md = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(f.md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(f.md);
		return -ENOMEM;
	}
	if ((in = open(remote, O_RDONLY | O_CLOEXEC)) < 0 || (out = open(f.part, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
		r = sys_err(err, errlen, "", in < 0 ? remote : f.part);
		goto out;
	}
	resume(&f, out, st);
	if (!f.from && (ftruncate(out, 0) < 0 || (r = write_meta(f.pmeta, remote, v, NULL)) < 0)) {
		r = sys_err(err, errlen, "", f.part);
		goto out;
	}
	if ((r = copy(&f, in, out, err, errlen)) < 0)
		goto out;
	EVP_DigestFinal_ex(f.md, dg, &dlen);
	for (unsigned i = 0; i < 32 && i < dlen; i++)
		snprintf(e->sha256 + 2 * i, 3, "%02x", dg[i]);
	if ((r = check_fill(&f, e->sha256, err, errlen)) < 0 || (r = commit(&f, out, e->sha256, err, errlen)) < 0)
		goto out;
	st->misses++;
	st->bytes_remote += v->size - f.from;
	st->fill_seconds += asios_load_now() - t0;
out:
	/* a remote that went away keeps the partial file for the next fill to resume; anything else removes it */
	if (r < 0 && r != -EIO && r != -ENOTCONN && r != -ESTALE && r != -EHOSTDOWN && r != -ETIMEDOUT) {
		unlink(f.part);
		unlink(f.pmeta);
	}
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	EVP_MD_CTX_free(f.md);
	return r;
}

int asios_cache_get(struct asios_cache *c, const char *remote, struct asios_cache_entry *e,
		    struct asios_cache_stats *st, char *err, size_t errlen)
{
	char key[33], lock[PATH_MAX];
	struct version v;
	struct stat rs;
	bool reachable;
	int r = 0;

	memset(e, 0, sizeof(*e));
	key_of(remote, key);
	path_of(c, lock, sizeof(lock), "locks", key, "");
	path_of(c, e->local, sizeof(e->local), "objects", key, "");
	reachable = stat(remote, &rs) == 0;
	if (reachable && !S_ISREG(rs.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", remote);
		return -EINVAL;
	}
	if (!reachable && errno == ENOENT)
		return sys_err(err, errlen, "", remote);
	v = (struct version){ reachable ? (uint64_t)rs.st_size : 0, reachable ? mtime_ns(&rs) : 0 };
	if ((e->lock = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
		return sys_err(err, errlen, "", lock);
	if (flock(e->lock, LOCK_SH) < 0)
		goto fail;
	if (entry_valid(c, key, remote, reachable ? &v : NULL, e->sha256))
		goto hit;
	if (!reachable) { /* not reachable and nothing cached */
		r = sys_err(err, errlen, "", remote);
		goto out;
	}
	/* a miss or a stale entry: fill under the exclusive lock, unless another process just did */
	if (flock(e->lock, LOCK_EX) < 0)
		goto fail;
	if (entry_valid(c, key, remote, &v, e->sha256))
		goto hit_locked;
	if (access(e->local, F_OK) == 0)
		st->stale++;
	if ((r = fill(c, remote, key, &v, e, st, err, errlen)) < 0)
		goto out;
	return flock(e->lock, LOCK_SH) < 0 ? (r = -errno, close(e->lock), r) : 0;
hit_locked:
	if (flock(e->lock, LOCK_SH) < 0)
		goto fail;
hit:
	e->hit = true;
	e->offline = !reachable;
	st->hits++;
	if (stat(e->local, &rs) == 0)
		st->bytes_local += (uint64_t)rs.st_size;
	return 0;
fail:
	r = sys_err(err, errlen, "flock", lock);
out:
	close(e->lock);
	e->lock = -1;
	return r;
}

void asios_cache_put(struct asios_cache_entry *e)
{
	if (e->lock >= 0)
		close(e->lock);
	e->lock = -1;
}
