/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* asios_load(): the files of a model into one buffer on a NUMA node, or into the page cache (load.h). The files
 * are opened and their headers checked first; then one io_uring keeps DEPTH reads of BLOCK bytes in flight over
 * all files at once, straight into the buffer (registered with the ring when the kernel lets us pin it), with
 * O_DIRECT where the file system takes it. A file system that refuses O_DIRECT, at open or at the first read, is
 * read through the page cache instead (unless O_DIRECT was asked for). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <numaif.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "asios/load.h"
#include "load-internal.h"

double asios_load_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void asios_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (unsigned i = 0; i < mdlen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

void asios_load_opts_default(struct asios_load_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->target = ASIOS_LOAD_BUFFER;
	o->warm = ASIOS_WARM_URING;
	o->direct = ASIOS_DIRECT_AUTO;
	o->node = -1;
	o->depth = 32;
	o->block = 1 << 20;
	/* off by default, as measured (docs/load.md): both fault the whole buffer in before or apart from the reads */
	o->hugepages = false;
	o->register_buffers = false;
}

void asios_load_strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static int push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	if (!(nv[*n] = strdup(s)))
		return -ENOMEM;
	(*n)++;
	return 0;
}

static int weights_file(const struct dirent *d)
{
	size_t l = strlen(d->d_name);

	return d->d_name[0] != '.' && ((l > 12 && !strcmp(d->d_name + l - 12, ".safetensors")) ||
				       (l > 5 && !strcmp(d->d_name + l - 5, ".gguf")));
}

/* the weight files of directory DIR, sorted */
static int expand_dir(const char *dir, char ***v, size_t *n, char *err, size_t errlen)
{
	struct dirent **ents = NULL;
	int k = scandir(dir, &ents, weights_file, alphasort), r = 0;

	if (k < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return r;
	}
	if (!k) {
		snprintf(err, errlen, "%s: no .safetensors or .gguf files in this directory", dir);
		r = -ENOENT;
	}
	for (int i = 0; i < k; i++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		if (!r)
			r = push(v, n, path);
		free(ents[i]);
	}
	free(ents);
	return r;
}

int asios_load_expand(const char *const *paths, size_t n, char ***files, size_t *nfiles, char *err, size_t errlen)
{
	int r = 0;

	*files = NULL;
	*nfiles = 0;
	for (size_t i = 0; i < n && !r; i++) {
		struct stat st;

		if (stat(paths[i], &st) < 0) {
			r = -errno;
			snprintf(err, errlen, "%s: %s", paths[i], strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			r = expand_dir(paths[i], files, nfiles, err, errlen);
		} else {
			r = push(files, nfiles, paths[i]);
		}
	}
	if (!r && !*nfiles) {
		snprintf(err, errlen, "no files to load");
		r = -ENOENT;
	}
	if (r) {
		asios_load_strv_free(*files, *nfiles);
		*files = NULL;
		*nfiles = 0;
	}
	return r;
}

/* open each file, check its header (through the page cache: a few KiB), then reopen it O_DIRECT where asked or
 * allowed */
static int open_files(struct asios_load_ctx *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->n; i++) {
		struct asios_load_file *f = &c->res->files[i];
		bool want_direct = c->opts.target == ASIOS_LOAD_BUFFER && c->opts.direct != ASIOS_DIRECT_OFF;
		struct stat st;
		int r, fd;

		if ((c->fds[i] = open(f->path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(c->fds[i], &st) < 0)
			goto fail;
		if (!S_ISREG(st.st_mode)) {
			snprintf(err, errlen, "%s: not a regular file", f->path);
			return -EINVAL;
		}
		f->size = (uint64_t)st.st_size;
		if (!c->opts.no_check &&
		    (r = asios_model_read_fd(f->path, c->fds[i], f->size, &f->model, err, errlen)) < 0)
			return r;
		if (!want_direct)
			continue;
		if ((fd = open(f->path, O_RDONLY | O_CLOEXEC | O_DIRECT)) >= 0) {
			close(c->fds[i]);
			c->fds[i] = fd;
			f->direct = true;
		} else if (c->opts.direct == ASIOS_DIRECT_ON) {
			goto fail;
		}
		continue;
fail:
		r = -errno;
		snprintf(err, errlen, "%s: %s%s", f->path, strerror(errno),
			 want_direct && errno == EINVAL ? " (O_DIRECT is not supported by this file system)" : "");
		return r;
	}
	return 0;
}

int asios_load_check_file(struct asios_load_file *f, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(f->path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", f->path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		snprintf(err, errlen, "%s: not a regular file", f->path);
	} else {
		f->size = (uint64_t)st.st_size;
		r = asios_model_read_fd(f->path, fd, f->size, &f->model, err, errlen);
	}
	if (fd >= 0)
		close(fd);
	return r;
}

/* one anonymous mapping for all files, bound to the node before any page is touched */
static int alloc_buffer(struct asios_load_ctx *c, char *err, size_t errlen)
{
	struct asios_load_result *res = c->res;
	size_t huge = 2u << 20, len = 0;
	void *p = MAP_FAILED;

	for (size_t i = 0; i < c->n; i++) {
		res->files[i].offset = len;
		len += (size_t)(res->files[i].size + 4095) / 4096 * 4096; /* O_DIRECT reads whole blocks */
	}
	res->len = len;
	res->mapped = (len ? len : 1) + huge - 1;
	res->mapped -= res->mapped % huge;
	/* (fd -1 with MAP_ANONYMOUS, as mmap(2) asks: cppcheck's POSIX model does not know the flag) */
	if (c->opts.hugepages)
		/* cppcheck-suppress invalidFunctionArg */
		p = mmap(NULL, res->mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	res->hugetlb = p != MAP_FAILED;
	if (p == MAP_FAILED)
		/* cppcheck-suppress invalidFunctionArg */
		p = mmap(NULL, res->mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "a buffer of %zu bytes: %s", res->mapped, strerror(errno));
		return -ENOMEM;
	}
	res->buf = p;
	res->huge = res->hugetlb || (c->opts.hugepages && !madvise(p, res->mapped, MADV_HUGEPAGE));
	if (c->opts.node >= 0) {
		unsigned long mask[16] = { 0 };

		if (c->opts.node >= (int)(sizeof(mask) * 8)) {
			snprintf(err, errlen, "NUMA node %d: out of range", c->opts.node);
			return -EINVAL;
		}
		mask[c->opts.node / 64] |= 1ul << (c->opts.node % 64);
		if (mbind(p, res->mapped, MPOL_BIND, mask, sizeof(mask) * 8, 0) < 0) {
			int e = errno;

			snprintf(err, errlen, "NUMA node %d: %s", c->opts.node, strerror(e));
			return -e;
		}
	}
	return 0;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#define POPULATE_STEP (4u << 20)
#define POPULATE_MAX_THREADS 8

/*
 * Faulting the buffer in (each page zeroed, on the buffer's node) can cost as much as reading into it: 1 to 2.5 s
 * for 2 GiB on the build VM, against 1.3 s of reading. Left to the reads, it happens one page after another in
 * the thread that submits them, between submissions. Populate threads (MADV_POPULATE_WRITE, Linux 5.14) do it
 * ahead of the reads instead, in the order the reads go (round robin over the files, POPULATE_STEP of each in
 * turn), so that the two overlap; they stop when the reads are done.
 */
struct populate {
	struct asios_load_ctx *c;
	atomic_bool *stop;
	unsigned id, nthreads;
	pthread_t thread;
	bool started;
};

static void *populate_run(void *arg)
{
	struct populate *p = arg;
	struct asios_load_result *res = p->c->res;
	size_t turn = 0;

	for (size_t off = 0, more = 1; more && !atomic_load(p->stop); off += POPULATE_STEP) {
		more = 0;
		for (size_t i = 0; i < p->c->n && !atomic_load(p->stop); i++) {
			size_t flen = (size_t)(res->files[i].size + 4095) / 4096 * 4096;

			if (off >= flen)
				continue;
			more = 1;
			if (turn++ % p->nthreads != p->id)
				continue;
			if (madvise(res->buf + res->files[i].offset + off, flen - off < POPULATE_STEP ? flen - off : POPULATE_STEP,
				    MADV_POPULATE_WRITE) < 0 && errno == EINVAL)
				return NULL; /* a kernel before 5.14: the reads fault the pages in */
		}
	}
	return NULL;
}

/* the populate threads: a quarter of the CPUs, 1 to POPULATE_MAX_THREADS */
static unsigned populate_start(struct asios_load_ctx *c, struct populate *p, atomic_bool *stop)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = cpus >= 8 ? (unsigned)(cpus / 4) : 1;

	n = n > POPULATE_MAX_THREADS ? POPULATE_MAX_THREADS : n;
	for (unsigned t = 0; t < n; t++) {
		p[t] = (struct populate){ .c = c, .stop = stop, .id = t, .nthreads = n };
		p[t].started = pthread_create(&p[t].thread, NULL, populate_run, &p[t]) == 0;
	}
	return n;
}

static void populate_stop(struct populate *p, unsigned n, atomic_bool *stop)
{
	atomic_store(stop, true);
	for (unsigned t = 0; t < n; t++)
		if (p[t].started)
			pthread_join(p[t].thread, NULL);
}

static void close_ctx(struct asios_load_ctx *c)
{
	for (size_t i = 0; c->fds && i < c->n; i++)
		if (c->fds[i] >= 0)
			close(c->fds[i]);
	free(c->fds);
}

static void finish(struct asios_load_ctx *c)
{
	struct asios_load_result *res = c->res;
	int node = -1;

	res->node = -1;
	if (res->buf && res->len && !get_mempolicy(&node, NULL, 0, res->buf, MPOL_F_NODE | MPOL_F_ADDR))
		res->node = node;
	if (c->opts.sha256 && res->buf)
		for (size_t i = 0; i < c->n; i++)
			asios_sha256_hex(res->buf + res->files[i].offset, (size_t)res->files[i].size, res->files[i].sha256);
}

int asios_load(const char *const *paths, size_t n, const struct asios_load_opts *opts, struct asios_load_result *res,
	       char *err, size_t errlen)
{
	struct asios_load_ctx c = { .n = n, .res = res };
	double t0 = asios_load_now();
	int r = -ENOMEM;

	memset(res, 0, sizeof(*res));
	if (errlen)
		err[0] = '\0';
	if (opts)
		c.opts = *opts;
	else
		asios_load_opts_default(&c.opts);
	if (!c.opts.depth)
		c.opts.depth = 32;
	if (!c.opts.block)
		c.opts.block = 1 << 20;
	if (c.opts.block % 4096 || c.opts.depth > 4096) {
		snprintf(err, errlen, "block %zu (a multiple of 4096) or depth %u (at most 4096) out of range", c.opts.block,
			 c.opts.depth);
		return -EINVAL;
	}
	res->nfiles = n;
	if (!(res->files = calloc(n ? n : 1, sizeof(*res->files))) || !(c.fds = malloc((n ? n : 1) * sizeof(int))))
		goto out;
	for (size_t i = 0; i < n; i++)
		c.fds[i] = -1;
	for (size_t i = 0; i < n; i++)
		if (!(res->files[i].path = strdup(paths[i])))
			goto out;
	if ((r = open_files(&c, err, errlen)) < 0)
		goto out;
	if (c.opts.target == ASIOS_LOAD_BUFFER) {
		struct populate pop[POPULATE_MAX_THREADS];
		atomic_bool stop = false;
		unsigned npop;

		if ((r = alloc_buffer(&c, err, errlen)) < 0)
			goto out;
		npop = populate_start(&c, pop, &stop);
		r = asios_load_uring(&c, err, errlen);
		populate_stop(pop, npop, &stop);
	} else {
		r = asios_load_warm(&c, err, errlen);
	}
	for (size_t i = 0; i < n && r >= 0; i++)
		res->bytes += res->files[i].size;
	res->seconds = asios_load_now() - t0;
	if (r >= 0)
		finish(&c);
out:
	if (r == -ENOMEM && !err[0])
		snprintf(err, errlen, "out of memory");
	close_ctx(&c);
	if (r < 0)
		asios_load_release(res);
	return r < 0 ? r : 0;
}

void asios_load_release(struct asios_load_result *res)
{
	if (res->buf)
		munmap(res->buf, res->mapped);
	for (size_t i = 0; res->files && i < res->nfiles; i++) {
		free(res->files[i].path);
		asios_model_free(&res->files[i].model);
	}
	free(res->files);
	memset(res, 0, sizeof(*res));
}
