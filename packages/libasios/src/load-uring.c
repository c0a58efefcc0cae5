/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* The read engine of asios_load(): one io_uring, DEPTH slots, each slot one read of up to BLOCK bytes of the next
 * file with bytes left (round robin, so all shards are read at once). Into the caller's buffer, registered with
 * the ring in 1 GiB pieces when the kernel lets us pin it (READ_FIXED), or into DEPTH scratch buffers when the
 * point is only to fill the page cache. A short read goes on from where it stopped; a file whose file system
 * refuses O_DIRECT reads goes on through the page cache (unless O_DIRECT was asked for); any other error stops the
 * load once the reads in flight are back. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "load-internal.h"

#define CHUNK (1ul << 30) /* the largest buffer io_uring registers in one piece */

struct slot {
	size_t file;
	uint64_t off;
	unsigned len;
};

struct engine {
	struct asios_load_ctx *c;
	struct io_uring ring;
	struct slot *slots;
	unsigned char **scratch; /* warm: one buffer per slot */
	uint64_t *next;          /* per file: the offset of the next read to issue */
	size_t cursor;
	bool fixed;
	bool failed;
};

static unsigned char *dest(struct engine *e, unsigned s)
{
	struct slot *sl = &e->slots[s];

	return e->scratch ? e->scratch[s] : e->c->res->buf + e->c->res->files[sl->file].offset + sl->off;
}

static void prep(struct engine *e, unsigned s)
{
	struct slot *sl = &e->slots[s];
	struct io_uring_sqe *sqe = io_uring_get_sqe(&e->ring); /* never NULL: at most DEPTH in flight */
	unsigned char *d = dest(e, s);
	int fd = e->c->fds[sl->file];

	if (e->fixed)
		io_uring_prep_read_fixed(sqe, fd, d, sl->len, sl->off,
					 e->scratch ? (int)s : (int)((size_t)(d - e->c->res->buf) / CHUNK));
	else
		io_uring_prep_read(sqe, fd, d, sl->len, sl->off);
	io_uring_sqe_set_data64(sqe, s);
}

/* the next read for slot S: false when every byte has been asked for */
static bool issue_next(struct engine *e, unsigned s)
{
	struct asios_load_result *res = e->c->res;
	size_t n = e->c->n, i = 0, k;
	uint64_t len;

	for (k = 0; k < n; k++) {
		i = (e->cursor + k) % n;
		if (e->next[i] < res->files[i].size)
			break;
	}
	if (k == n || e->failed)
		return false;
	e->cursor = (i + 1) % n;
	len = res->files[i].size - e->next[i];
	if (len > e->c->opts.block)
		len = e->c->opts.block;
	if (res->files[i].direct) /* whole blocks; the buffer has room up to the next 4096 */
		len = (len + 4095) / 4096 * 4096;
	e->slots[s] = (struct slot){ i, e->next[i], (unsigned)len };
	if (e->fixed && !e->scratch) { /* one registered piece per read */
		size_t at = (size_t)(dest(e, s) - res->buf), end = (at / CHUNK + 1) * CHUNK;

		if (at + len > end)
			e->slots[s].len = (unsigned)(end - at);
	}
	e->next[i] += e->slots[s].len;
	if (e->next[i] > res->files[i].size)
		e->next[i] = res->files[i].size;
	prep(e, s);
	return true;
}

/* a file system that refuses O_DIRECT reads: the rest of FILE through the page cache */
static int to_buffered(struct engine *e, size_t file)
{
	struct asios_load_file *f = &e->c->res->files[file];
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	close(e->c->fds[file]);
	e->c->fds[file] = fd;
	f->direct = false;
	return 0;
}

/* one completion: 1 when the slot has a read in flight again, 0 when it is idle, <0 on an error */
static int complete(struct engine *e, unsigned s, int res, char *err, size_t errlen)
{
	struct slot *sl = &e->slots[s];
	struct asios_load_file *f = &e->c->res->files[sl->file];
	bool auto_direct = e->c->opts.direct == ASIOS_DIRECT_AUTO;
	int r;

	if ((res == -EINVAL || res == -EOPNOTSUPP) && f->direct && auto_direct) {
		if ((r = to_buffered(e, sl->file)) < 0)
			res = r;
		else
			return prep(e, s), 1;
	}
	if (res == -EAGAIN || res == -EINTR)
		return prep(e, s), 1;
	if (res < 0 || (res == 0 && sl->off < f->size)) {
		if (!e->failed)
			snprintf(err, errlen, "%s: offset %llu: %s", f->path, (unsigned long long)sl->off,
				 res < 0 ? strerror(-res) : "the file ended before its size (was it cut while being read?)");
		e->failed = true;
		return res < 0 ? res : -EIO;
	}
	if ((unsigned)res < sl->len && sl->off + (unsigned)res < f->size) { /* short: go on from there */
		sl->off += (unsigned)res;
		sl->len -= (unsigned)res;
		if (f->direct && sl->off % 4096 && (r = to_buffered(e, sl->file)) < 0)
			return r;
		return prep(e, s), 1;
	}
	return issue_next(e, s) ? 1 : 0;
}

/* register the destination: the caller's buffer in 1 GiB pieces (when asked: pinning faults every page in first,
 * serially, where unregistered O_DIRECT reads fault their pages in while others are in flight), or DEPTH scratch
 * buffers */
static void register_buffers(struct engine *e)
{
	struct asios_load_result *res = e->c->res;
	unsigned depth = e->c->opts.depth;
	size_t pieces = e->scratch ? depth : (res->mapped + CHUNK - 1) / CHUNK;
	struct iovec *iov = calloc(pieces, sizeof(*iov));

	if (!iov)
		return;
	for (size_t i = 0; i < pieces; i++) {
		iov[i].iov_base = e->scratch ? e->scratch[i] : res->buf + i * CHUNK;
		iov[i].iov_len = e->scratch ? e->c->opts.block
					    : (i + 1 == pieces ? res->mapped - i * CHUNK : CHUNK);
	}
	/* pinning needs RLIMIT_MEMLOCK room (or CAP_IPC_LOCK): without it, plain reads */
	e->fixed = io_uring_register_buffers(&e->ring, iov, (unsigned)pieces) == 0;
	if (!e->scratch)
		res->registered = e->fixed;
	free(iov);
}

static int run(struct engine *e, char *err, size_t errlen)
{
	unsigned inflight = 0;
	int first = 0;

	for (unsigned s = 0; s < e->c->opts.depth && issue_next(e, s); s++)
		inflight++;
	while (inflight) {
		struct io_uring_cqe *cqe;
		int r = io_uring_submit_and_wait(&e->ring, 1);

		if (r < 0 && r != -EINTR) {
			snprintf(err, errlen, "io_uring: %s", strerror(-r));
			return r; /* the ring is torn down by the caller: the kernel cancels what is in flight */
		}
		while (io_uring_peek_cqe(&e->ring, &cqe) == 0) {
			unsigned s = (unsigned)io_uring_cqe_get_data64(cqe);

			r = complete(e, s, cqe->res, err, errlen);
			io_uring_cqe_seen(&e->ring, cqe);
			if (r < 0 && !first)
				first = r;
			if (r <= 0)
				inflight--;
		}
	}
	return first;
}

static int setup(struct engine *e)
{
	struct asios_load_ctx *c = e->c;

	if (!(e->slots = calloc(c->opts.depth, sizeof(*e->slots))) || !(e->next = calloc(c->n ? c->n : 1, 8)))
		return -ENOMEM;
	if (c->opts.target == ASIOS_LOAD_PAGE_CACHE) {
		if (!(e->scratch = calloc(c->opts.depth, sizeof(*e->scratch))))
			return -ENOMEM;
		for (unsigned s = 0; s < c->opts.depth; s++)
			if (posix_memalign((void **)&e->scratch[s], 4096, c->opts.block))
				return -ENOMEM;
	}
	return io_uring_queue_init(c->opts.depth, &e->ring, 0);
}

int asios_load_uring(struct asios_load_ctx *c, char *err, size_t errlen)
{
	struct engine e = { .c = c };
	size_t direct = 0;
	int r = setup(&e);

	if (r < 0) {
		snprintf(err, errlen, "io_uring: %s", strerror(-r));
	} else {
		if (e.scratch || c->opts.register_buffers) /* scratch buffers: DEPTH small ones, cheap to pin */
			register_buffers(&e);
		r = run(&e, err, errlen);
		io_uring_queue_exit(&e.ring);
	}
	for (size_t i = 0; i < c->n; i++)
		direct += c->res->files[i].direct;
	c->res->method = c->opts.target == ASIOS_LOAD_PAGE_CACHE ? "uring" : direct == c->n ? "uring-direct"
			 : direct ? "mixed" : "uring";
	for (unsigned s = 0; e.scratch && s < c->opts.depth; s++)
		free(e.scratch[s]);
	free(e.scratch);
	free(e.slots);
	free(e.next);
	return r;
}
