/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* asios_ckpt_write(): a training checkpoint, durable and crash-safe (load.h). Every item is written to
 * DIR/.NAME.partial, synced (fdatasync), read back and its SHA-256 compared with the buffer's; only then are all
 * renamed to their names and the directory synced, so a crash at any point leaves either the old files or the new,
 * verified ones, never a torn file under a checkpoint's name.
 *   direct    O_DIRECT writes through io_uring, DEPTH in flight, straight from the caller's buffer when it is
 *             aligned (else through aligned bounce buffers); the last partial block through the page cache;
 *   buffered  write(2) through the page cache, then fdatasync.
 * The read-back bypasses the page cache (O_DIRECT, or the cached pages dropped first), so it reads the disk. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "load-internal.h"

#define BLOCK (4u << 20)

static bool aligned(const void *p)
{
	return !((uintptr_t)p % 4096);
}

struct dwriter {
	struct io_uring ring;
	int fd;
	const unsigned char *data;
	size_t len, next, *slot_off;
	unsigned char **bounce; /* NULL when DATA is aligned: written from it directly */
};

/* the next block of DATA through slot S */
static void submit_block(struct dwriter *w, unsigned s)
{
	size_t n = w->len - w->next < BLOCK ? w->len - w->next : BLOCK;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring); /* never NULL: at most DEPTH in flight */

	if (w->bounce)
		memcpy(w->bounce[s], w->data + w->next, n);
	io_uring_prep_write(sqe, w->fd, w->bounce ? w->bounce[s] : w->data + w->next, (unsigned)n, w->next);
	io_uring_sqe_set_data64(sqe, s);
	w->slot_off[s] = w->next;
	w->next += n;
}

/* completions until every block is written or one fails; the writes in flight after a failure come back before
 * the buffers go */
static int complete_all(struct dwriter *w, unsigned inflight)
{
	int r = 0;

	while (inflight) {
		struct io_uring_cqe *cqe;
		unsigned s;
		int e;

		if ((e = io_uring_submit_and_wait(&w->ring, 1)) < 0 || (e = io_uring_wait_cqe(&w->ring, &cqe)) < 0)
			return r ? r : e;
		s = (unsigned)io_uring_cqe_get_data64(cqe);
		e = cqe->res < 0 ? cqe->res : cqe->res == 0 ? -EIO : 0;
		if (!e && (size_t)cqe->res < (w->len - w->slot_off[s] < BLOCK ? w->len - w->slot_off[s] : BLOCK))
			e = -ENOSPC; /* a short O_DIRECT write: the file system is full */
		io_uring_cqe_seen(&w->ring, cqe);
		inflight--;
		if (e && !r)
			r = e;
		if (!r && w->next < w->len) {
			submit_block(w, s);
			inflight++;
		}
	}
	return r;
}

/* the whole blocks of DATA (LEN, a multiple of 4096) to FD opened O_DIRECT, DEPTH writes in flight */
static int write_direct(int fd, const unsigned char *data, size_t len, unsigned depth)
{
	struct dwriter w = { .fd = fd, .data = data, .len = len };
	unsigned inflight = 0;
	int r = 0;

	if (!(w.slot_off = calloc(depth, sizeof(*w.slot_off))) ||
	    (!aligned(data) && !(w.bounce = calloc(depth, sizeof(*w.bounce)))))
		r = -ENOMEM;
	for (unsigned s = 0; !r && w.bounce && s < depth; s++)
		if (posix_memalign((void **)&w.bounce[s], 4096, BLOCK))
			r = -ENOMEM;
	if (!r && !(r = io_uring_queue_init(depth, &w.ring, 0))) {
		for (unsigned s = 0; s < depth && w.next < len; s++, inflight++)
			submit_block(&w, s);
		r = complete_all(&w, inflight);
		io_uring_queue_exit(&w.ring);
	}
	for (unsigned s = 0; w.bounce && s < depth; s++)
		free(w.bounce[s]);
	free(w.bounce);
	free(w.slot_off);
	return r < 0 ? r : 0;
}

static int write_buffered(int fd, const unsigned char *data, size_t len, size_t from)
{
	for (size_t at = from; at < len;) {
		ssize_t w = pwrite(fd, data + at, len - at < BLOCK ? len - at : BLOCK, (off_t)at);

		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		at += (size_t)w;
	}
	return 0;
}

/* one item to DIR/.NAME.partial, synced; *DIRECT says how it went */
static int write_item(int dfd, const char *tmp, const struct asios_ckpt_item *it, enum asios_ckpt_method method,
		      unsigned depth, bool *direct)
{
	size_t whole = it->len / 4096 * 4096;
	int fd = -1, r = 0;

	*direct = method == ASIOS_CKPT_DIRECT;
	if (*direct && (fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_DIRECT, 0644)) < 0)
		*direct = false; /* a file system without O_DIRECT (tmpfs): buffered */
	if (*direct) {
		r = write_direct(fd, it->data, whole, depth);
		close(fd);
		fd = -1;
	} else {
		whole = 0;
	}
	if (r == 0 && (fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_CLOEXEC | (*direct ? 0 : O_TRUNC), 0644)) < 0)
		r = -errno;
	if (r == 0)
		r = write_buffered(fd, it->data, it->len, whole);
	if (r == 0 && fdatasync(fd) < 0)
		r = -errno;
	if (fd >= 0 && close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

/* the SHA-256 of DIR/TMP read from the disk (not from the page cache) */
static int hash_back(int dfd, const char *tmp, size_t len, char out[65])
{
	int fd = openat(dfd, tmp, O_RDONLY | O_CLOEXEC | O_DIRECT), r = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *buf = NULL, dg[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;

	if (fd < 0 && (fd = openat(dfd, tmp, O_RDONLY | O_CLOEXEC)) >= 0)
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED); /* clean after the sync: dropped */
	if (fd < 0 || !md || posix_memalign((void **)&buf, 4096, BLOCK) || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		r = fd < 0 ? -errno : -ENOMEM;
		goto out;
	}
	for (size_t at = 0; at < len;) {
		ssize_t got = pread(fd, buf, BLOCK, (off_t)at);

		if (got <= 0) {
			r = got < 0 ? -errno : -EIO;
			goto out;
		}
		EVP_DigestUpdate(md, buf, (size_t)got);
		at += (size_t)got;
	}
	EVP_DigestFinal_ex(md, dg, &dlen);
	for (unsigned i = 0; i < dlen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", dg[i]);
out:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(md);
	free(buf);
	return r;
}

static int check_names(const char *dir, const struct asios_ckpt_item *items, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++)
		if (!items[i].name || !items[i].name[0] || items[i].name[0] == '.' || strchr(items[i].name, '/') ||
		    strlen(items[i].name) > 200) {
			snprintf(err, errlen, "%s: \"%s\" is not a file name for a checkpoint item", dir,
				 items[i].name ? items[i].name : "");
			return -EINVAL;
		}
	return 0;
}

/* write and verify every item under its temporary name; -errno with ERR set */
static int write_all(const char *dir, int dfd, const struct asios_ckpt_item *items, size_t n,
		     enum asios_ckpt_method method, unsigned depth, struct asios_ckpt_result *res, char *err,
		     size_t errlen)
{
	size_t direct = 0;
	double t0 = asios_load_now();

	for (size_t i = 0; i < n; i++) {
		char tmp[256];
		bool d;
		int r;

		snprintf(tmp, sizeof(tmp), ".%s.partial", items[i].name);
		if ((r = write_item(dfd, tmp, &items[i], method, depth, &d)) < 0) {
			snprintf(err, errlen, "%s/%s: %s%s", dir, tmp, strerror(-r),
				 r == -ENOSPC ? " (the file system is full)" : "");
			return r;
		}
		direct += d;
		res->bytes += items[i].len;
	}
	res->seconds = asios_load_now() - t0;
	res->method = direct == n ? (method == ASIOS_CKPT_DIRECT ? "direct" : "buffered") : direct ? "mixed" : "buffered";
	t0 = asios_load_now();
	for (size_t i = 0; i < n; i++) {
		char tmp[256], want[65], got[65] = "";
		int r;

		snprintf(tmp, sizeof(tmp), ".%s.partial", items[i].name);
		asios_sha256_hex(items[i].data, items[i].len, want);
		if ((r = hash_back(dfd, tmp, items[i].len, got)) < 0 || strcmp(want, got)) {
			snprintf(err, errlen, "%s/%s: read back %s", dir, tmp,
				 r < 0 ? strerror(-r) : "with another checksum than was written: the disk lost the data");
			return r < 0 ? r : -EIO;
		}
	}
	res->verify_seconds = asios_load_now() - t0;
	return 0;
}

int asios_ckpt_write(const char *dir, const struct asios_ckpt_item *items, size_t n, enum asios_ckpt_method method,
		     unsigned depth, struct asios_ckpt_result *res, char *err, size_t errlen)
{
	int dfd, r;
	double t0;

	memset(res, 0, sizeof(*res));
	if ((r = check_names(dir, items, n, err, errlen)) < 0)
		return r;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return r;
	}
	r = write_all(dir, dfd, items, n, method, depth ? depth : 8, res, err, errlen);
	t0 = asios_load_now();
	for (size_t i = 0; i < n; i++) {
		char tmp[256];

		snprintf(tmp, sizeof(tmp), ".%s.partial", items[i].name);
		if (r < 0) {
			unlinkat(dfd, tmp, 0);
		} else if (renameat(dfd, tmp, dfd, items[i].name) < 0) {
			r = -errno;
			snprintf(err, errlen, "%s/%s: rename: %s", dir, items[i].name, strerror(errno));
		}
	}
	if (r == 0 && fsync(dfd) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: fsync: %s", dir, strerror(errno));
	}
	res->seconds += asios_load_now() - t0;
	close(dfd);
	return r;
}
