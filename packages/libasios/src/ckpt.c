/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* asios_ckpt_write(): a training checkpoint, durable and crash-safe (load.h). Every item is written to
 * DIR/.NAME.partial, synced (fdatasync), read back and compared byte for byte with the buffer; only then are all
 * renamed to their names and the directory synced, so a crash at any point leaves either the old files or the new,
 * verified ones, never a torn file under a checkpoint's name.
 *   direct    O_DIRECT writes through io_uring, DEPTH in flight, straight from the caller's buffer when it is
 *             aligned (else through aligned bounce buffers); the last partial block through the page cache;
 *   buffered  write(2) through the page cache, then fdatasync.
 * The read-back bypasses the page cache (O_DIRECT, or the cached pages dropped first), so it reads the disk; it
 * keeps DEPTH reads in flight and compares each block with the buffer as it comes, which proves more than a
 * checksum (no collision can hide a difference) and costs a memcmp instead of two SHA-256 passes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <liburing.h>
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

/* the bytes of an item: its pieces one after the other (a contiguous item is one piece) */
struct src {
	const struct iovec *iov;
	size_t niov, len;
	struct iovec one;
};

static void src_init(struct src *s, const struct asios_ckpt_item *it)
{
	s->one = (struct iovec){ .iov_base = (void *)it->data, .iov_len = it->len };
	s->iov = it->niov ? it->iov : &s->one;
	s->niov = it->niov ? it->niov : 1;
	s->len = 0;
	for (size_t i = 0; i < s->niov; i++)
		s->len += s->iov[i].iov_len;
}

/* the memory of byte OFF of S, and in *AVAIL how many bytes of its piece follow; NULL past the end */
static const unsigned char *src_at(const struct src *s, size_t off, size_t *avail)
{
	for (size_t i = 0; i < s->niov; i++) {
		if (off < s->iov[i].iov_len) {
			*avail = s->iov[i].iov_len - off;
			return (const unsigned char *)s->iov[i].iov_base + off;
		}
		off -= s->iov[i].iov_len;
	}
	*avail = 0;
	return NULL;
}

/* N bytes of S from OFF copied to DST, or (DST NULL) compared with CMP: 0, or 1 when they differ */
static int src_walk(const struct src *s, size_t off, unsigned char *dst, const unsigned char *cmp, size_t n)
{
	while (n) {
		size_t k;
		const unsigned char *p = src_at(s, off, &k);

		if (!p)
			return 1;
		k = k < n ? k : n;
		if (dst) {
			memcpy(dst, p, k);
			dst += k;
		} else if (memcmp(p, cmp, k)) {
			return 1;
		} else {
			cmp += k;
		}
		off += k;
		n -= k;
	}
	return 0;
}

struct dwriter {
	struct io_uring ring;
	int fd;
	const struct src *src;
	const unsigned char *flat; /* the item's memory when it is one aligned piece: written from it directly */
	size_t len, next, *slot_off;
	unsigned char **bounce;    /* else DEPTH aligned buffers the blocks are copied to */
};

/* the next block of the item through slot S */
static void submit_block(struct dwriter *w, unsigned s)
{
	size_t n = w->len - w->next < BLOCK ? w->len - w->next : BLOCK;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring); /* never NULL: at most DEPTH in flight */

	if (w->bounce)
		src_walk(w->src, w->next, w->bounce[s], NULL, n);
	io_uring_prep_write(sqe, w->fd, w->bounce ? w->bounce[s] : w->flat + w->next, (unsigned)n, w->next);
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

/* the first LEN bytes (a multiple of 4096) of SRC to FD opened O_DIRECT, DEPTH writes in flight */
static int write_direct(int fd, const struct src *src, size_t len, unsigned depth)
{
	struct dwriter w = { .fd = fd, .src = src, .len = len };
	unsigned inflight = 0;
	int r = 0;

	if (src->niov == 1 && aligned(src->iov[0].iov_base))
		w.flat = src->iov[0].iov_base;
	if (!(w.slot_off = calloc(depth, sizeof(*w.slot_off))) ||
	    (!w.flat && !(w.bounce = calloc(depth, sizeof(*w.bounce)))))
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

/* SRC from byte FROM on to FD through the page cache, piece by piece */
static int write_buffered(int fd, const struct src *src, size_t from)
{
	for (size_t at = from, k; at < src->len; at += k) {
		const unsigned char *p = src_at(src, at, &k);
		ssize_t w = pwrite(fd, p, k < BLOCK ? k : BLOCK, (off_t)at);

		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		k = (size_t)w;
	}
	return 0;
}

/* one item to DIR/.NAME.partial, synced; *DIRECT says how it went */
static int write_item(int dfd, const char *tmp, const struct src *src, enum asios_ckpt_method method,
		      unsigned depth, bool *direct)
{
	size_t whole = src->len / 4096 * 4096;
	int fd = -1, r = 0;

	*direct = method == ASIOS_CKPT_DIRECT;
	if (*direct && (fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_DIRECT, 0644)) < 0)
		*direct = false; /* a file system without O_DIRECT (tmpfs): buffered */
	if (*direct) {
		r = write_direct(fd, src, whole, depth);
		close(fd);
		fd = -1;
	} else {
		whole = 0;
	}
	if (r == 0 && (fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_CLOEXEC | (*direct ? 0 : O_TRUNC), 0644)) < 0)
		r = -errno;
	if (r == 0)
		r = write_buffered(fd, src, whole);
	if (r == 0 && fdatasync(fd) < 0)
		r = -errno;
	if (fd >= 0 && close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

#define INFLIGHT INT_MIN

/* the read-back of one file: DEPTH reads of BLOCK in flight, compared with the buffer in file order */
struct rback {
	struct io_uring ring;
	int fd;
	const struct src *src;
	size_t len, nblocks;
	unsigned depth;
	unsigned char *buf;  /* DEPTH × BLOCK, aligned */
	int *res;            /* per slot: the completion's result, or INFLIGHT */
};

static void rback_submit(struct rback *b, size_t blk)
{
	unsigned s = (unsigned)(blk % b->depth);
	size_t off = blk * BLOCK, n = b->len - off < BLOCK ? b->len - off : BLOCK;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring); /* never NULL: at most DEPTH in flight */

	/* O_DIRECT wants whole sectors: the last block is asked for rounded up, and comes back short */
	io_uring_prep_read(sqe, b->fd, b->buf + (size_t)s * BLOCK, (unsigned)((n + 4095) / 4096 * 4096), off);
	io_uring_sqe_set_data64(sqe, s);
	b->res[s] = INFLIGHT;
}

/* wait for block BLK and check it: 0, -EIO (short, or other bytes than were written) or -errno */
static int rback_check(struct rback *b, size_t blk)
{
	unsigned s = (unsigned)(blk % b->depth);
	size_t off = blk * BLOCK, n = b->len - off < BLOCK ? b->len - off : BLOCK;

	while (b->res[s] == INFLIGHT) {
		struct io_uring_cqe *cqe;
		int e;

		if ((e = io_uring_submit_and_wait(&b->ring, 1)) < 0 || (e = io_uring_wait_cqe(&b->ring, &cqe)) < 0)
			return e;
		b->res[io_uring_cqe_get_data64(cqe)] = cqe->res;
		io_uring_cqe_seen(&b->ring, cqe);
	}
	for (size_t got = b->res[s] > 0 ? (size_t)b->res[s] : 0; b->res[s] >= 0 && got < n;) {
		ssize_t r = pread(b->fd, b->buf + (size_t)s * BLOCK + got, n - got, (off_t)(off + got)); /* short */

		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		got += (size_t)r;
	}
	if (b->res[s] < 0)
		return b->res[s];
	return src_walk(b->src, off, NULL, b->buf + (size_t)s * BLOCK, n) ? -EIO : 0;
}

/* DIR/TMP read back from the disk (not from the page cache) and compared byte for byte with SRC: 0, -EIO when
 * they differ, or -errno */
static int verify_back(int dfd, const char *tmp, const struct src *src, unsigned depth)
{
	struct rback b = { .fd = openat(dfd, tmp, O_RDONLY | O_CLOEXEC | O_DIRECT), .src = src, .len = src->len,
			   .nblocks = (src->len + BLOCK - 1) / BLOCK, .depth = depth };
	size_t next = 0, inflight;
	int r = 0;

	if (b.fd < 0 && (b.fd = openat(dfd, tmp, O_RDONLY | O_CLOEXEC)) >= 0)
		posix_fadvise(b.fd, 0, 0, POSIX_FADV_DONTNEED); /* clean after the sync: dropped */
	if (b.fd < 0)
		return -errno;
	if (posix_memalign((void **)&b.buf, 4096, (size_t)depth * BLOCK) || !(b.res = calloc(depth, sizeof(int))))
		r = -ENOMEM;
	if (!r && !(r = io_uring_queue_init(depth, &b.ring, 0))) {
		for (; next < b.nblocks && next < depth; next++)
			rback_submit(&b, next);
		for (size_t blk = 0; !r && blk < b.nblocks; blk++)
			if (!(r = rback_check(&b, blk)) && next < b.nblocks)
				rback_submit(&b, next++);
		inflight = 0; /* reads still in flight after a failure come back before the buffer goes */
		for (unsigned s = 0; s < depth; s++)
			inflight += b.res[s] == INFLIGHT;
		for (struct io_uring_cqe *cqe; inflight && io_uring_submit_and_wait(&b.ring, 1) >= 0 &&
					       !io_uring_wait_cqe(&b.ring, &cqe); inflight--)
			io_uring_cqe_seen(&b.ring, cqe);
		io_uring_queue_exit(&b.ring);
	}
	close(b.fd);
	free(b.buf);
	free(b.res);
	return r;
}

/* whether a piece of memory is missing: a NULL with a length */
static bool item_hole(const struct asios_ckpt_item *it)
{
	if (!it->niov)
		return !it->data && it->len;
	if (!it->iov)
		return true;
	for (size_t k = 0; k < it->niov; k++)
		if (!it->iov[k].iov_base && it->iov[k].iov_len)
			return true;
	return false;
}

static int check_items(const char *dir, const struct asios_ckpt_item *items, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		if (!items[i].name || !items[i].name[0] || items[i].name[0] == '.' || strchr(items[i].name, '/') ||
		    strlen(items[i].name) > 200) {
			snprintf(err, errlen, "%s: \"%s\" is not a file name for a checkpoint item", dir,
				 items[i].name ? items[i].name : "");
			return -EINVAL;
		}
		if (item_hole(&items[i])) {
			snprintf(err, errlen, "%s/%s: the item has a length but no memory (a NULL pointer)", dir,
				 items[i].name);
			return -EINVAL;
		}
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
	struct src src;

	for (size_t i = 0; i < n; i++) {
		char tmp[256];
		bool d;
		int r;

		snprintf(tmp, sizeof(tmp), ".%s.partial", items[i].name);
		src_init(&src, &items[i]);
		if ((r = write_item(dfd, tmp, &src, method, depth, &d)) < 0) {
			snprintf(err, errlen, "%s/%s: %s%s", dir, tmp, strerror(-r),
				 r == -ENOSPC ? " (the file system is full)" : "");
			return r;
		}
		direct += d;
		res->bytes += src.len;
	}
	res->seconds = asios_load_now() - t0;
	res->method = direct == n ? (method == ASIOS_CKPT_DIRECT ? "direct" : "buffered") : direct ? "mixed" : "buffered";
	t0 = asios_load_now();
	for (size_t i = 0; i < n; i++) {
		char tmp[256];
		int r;

		snprintf(tmp, sizeof(tmp), ".%s.partial", items[i].name);
		src_init(&src, &items[i]);
		if ((r = verify_back(dfd, tmp, &src, depth)) < 0) {
			snprintf(err, errlen, "%s/%s: read back %s", dir, tmp,
				 r == -EIO ? "other bytes than were written: the disk lost the data" : strerror(-r));
			return r;
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
	if ((r = check_items(dir, items, n, err, errlen)) < 0)
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
