/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* Warm mode of asios_load(): the files into the page cache, for a server that maps them later. Three ways, all
 * kept so that benchmarks/storage can measure them side by side on the machine at hand (docs/load.md has the
 * numbers and why buffered io_uring is the default):
 *   uring      buffered reads through one ring, DEPTH in flight over all files, into scratch buffers;
 *   readahead  readahead(2) over every file (it only starts the reads), then wait until every page is resident
 *              (mincore), reading a page ourselves where the kernel dropped the request;
 *   populate   mmap + MADV_POPULATE_READ (Linux 5.14), one file after another. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "load-internal.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

/* wait until all of the file is in the page cache; a page that does not come for a second is read by hand */
static int wait_resident(const char *path, int fd, uint64_t size, char *err, size_t errlen)
{
	size_t pages = (size_t)((size + 4095) / 4096), from = 0;
	unsigned char *vec = malloc(pages ? pages : 1);
	void *m = size ? mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0) : NULL;
	double stall = asios_load_now();
	int r = 0;

	if (!vec || m == MAP_FAILED) {
		r = vec ? -errno : -ENOMEM;
		snprintf(err, errlen, "%s: mmap: %s", path, strerror(-r));
		goto out;
	}
	while (from < pages) {
		size_t before = from;
		char page[4096];

		if (mincore(m, (size_t)size, vec) < 0) {
			r = -errno;
			snprintf(err, errlen, "%s: mincore: %s", path, strerror(errno));
			break;
		}
		while (from < pages && (vec[from] & 1))
			from++;
		if (from != before)
			stall = asios_load_now();
		else if (asios_load_now() - stall > 1.0 && pread(fd, page, sizeof(page), (off_t)from * 4096) < 0) {
			r = -errno;
			snprintf(err, errlen, "%s: offset %zu: %s", path, from * 4096, strerror(errno));
			break;
		} else if (from < pages) {
			usleep(200);
		}
	}
out:
	if (m && m != MAP_FAILED)
		munmap(m, (size_t)size);
	free(vec);
	return r;
}

static int warm_readahead(struct asios_load_ctx *c, char *err, size_t errlen)
{
	struct asios_load_file *f = c->res->files;

	for (size_t i = 0; i < c->n; i++)
		if (readahead(c->fds[i], 0, (size_t)f[i].size) < 0) {
			int e = errno;

			snprintf(err, errlen, "%s: readahead: %s", f[i].path, strerror(e));
			return -e;
		}
	for (size_t i = 0; i < c->n; i++) {
		int r = wait_resident(f[i].path, c->fds[i], f[i].size, err, errlen);

		if (r < 0)
			return r;
	}
	return 0;
}

static int warm_populate(struct asios_load_ctx *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->n; i++) {
		struct asios_load_file *f = &c->res->files[i];
		void *m;
		int r = 0;

		if (!f->size)
			continue;
		m = mmap(NULL, (size_t)f->size, PROT_READ, MAP_SHARED, c->fds[i], 0);
		if (m == MAP_FAILED || madvise(m, (size_t)f->size, MADV_POPULATE_READ) < 0) {
			r = -errno;
			snprintf(err, errlen, "%s: %s: %s%s", f->path, m == MAP_FAILED ? "mmap" : "MADV_POPULATE_READ",
				 strerror(errno), errno == EINVAL ? " (it needs Linux 5.14 or later)" : "");
		}
		if (m != MAP_FAILED)
			munmap(m, (size_t)f->size);
		if (r < 0)
			return r;
	}
	return 0;
}

int asios_load_warm(struct asios_load_ctx *c, char *err, size_t errlen)
{
	switch (c->opts.warm) {
	case ASIOS_WARM_READAHEAD:
		c->res->method = "readahead";
		return warm_readahead(c, err, errlen);
	case ASIOS_WARM_POPULATE:
		c->res->method = "populate";
		return warm_populate(c, err, errlen);
	default:
		return asios_load_uring(c, err, errlen);
	}
}
