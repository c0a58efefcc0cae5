/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* asios-load: model weights from storage into memory at device speed (docs/load.md).
 *   asios_load()        the files of a model into one NUMA-local buffer (io_uring, O_DIRECT where the file system
 *                       allows it, registered buffers, many reads in flight over all shards), or into the page
 *                       cache (warm) for a server that maps them later;
 *   asios_ckpt_write()  a set of buffers to files, durable and crash-safe (temporary file, sync, rename), verified
 *                       by reading the checksum back;
 *   asios_cache_*()     a local cache in front of a slower or remote mount (cache.h).
 * Built into libasios-load (liburing, libnuma, libcrypto), apart from libasios, with a Python binding
 * (asios_load.py) over its shared form. Errors name the file and the offset. */
#ifndef ASIOS_LOAD_H
#define ASIOS_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "asios/model.h"

enum asios_load_target {
	ASIOS_LOAD_BUFFER,      /* one buffer on a NUMA node, handed to the caller */
	ASIOS_LOAD_PAGE_CACHE,  /* warm: the files end up in the page cache, nothing is kept */
};

enum asios_warm_method {
	ASIOS_WARM_URING,       /* buffered io_uring reads, many in flight, into scratch buffers */
	ASIOS_WARM_READAHEAD,   /* readahead(2) over each file, then wait until it is resident */
	ASIOS_WARM_POPULATE,    /* mmap + MADV_POPULATE_READ */
};

enum asios_direct { ASIOS_DIRECT_AUTO, ASIOS_DIRECT_OFF, ASIOS_DIRECT_ON };

struct asios_load_opts {
	enum asios_load_target target;
	enum asios_warm_method warm;
	enum asios_direct direct;
	int node;               /* NUMA node of the buffer; -1: no binding (the calling thread's, first touch) */
	unsigned depth;         /* reads in flight (0: 32) */
	size_t block;           /* bytes per read (0: 1 MiB), a multiple of 4096 */
	bool hugepages;         /* back the buffer with huge pages (hugetlb when reserved, else transparent) */
	bool no_check;          /* do not parse and check the model headers */
	bool sha256;            /* the SHA-256 of every file, from the buffer after the load */
	bool register_buffers;  /* register the buffer with the ring first: pins it, so every page is faulted in
	                         * before the first read instead of while the reads are in flight */
};

struct asios_load_file {
	char *path;
	uint64_t size;
	uint64_t offset;        /* where the file starts in the buffer */
	bool direct;            /* read with O_DIRECT */
	struct asios_model model;
	char sha256[65];
};

struct asios_load_result {
	unsigned char *buf;     /* ASIOS_LOAD_BUFFER: the files, each at its offset */
	size_t len, mapped;     /* bytes used, bytes mapped */
	int node;               /* node the buffer's first page is on; -1: not known */
	bool huge, hugetlb;     /* transparent or hugetlb pages asked for and granted */
	bool registered;        /* the buffer was registered with io_uring */
	struct asios_load_file *files;
	size_t nfiles;
	uint64_t bytes;
	double seconds;
	const char *method;     /* how it was read: "uring-direct", "uring", "readahead", "populate", "mixed" */
};

/* Expand PATHS (files, or directories whose *.safetensors and *.gguf files are taken, sorted) into *FILES. */
int asios_load_expand(const char *const *paths, size_t n, char ***files, size_t *nfiles, char *err, size_t errlen);
void asios_load_strv_free(char **v, size_t n);

/* Load the N files PATHS per OPTS (NULL: defaults) into RES. 0, or -errno with ERR naming the file and offset;
 * nothing is kept on failure. */
int asios_load(const char *const *paths, size_t n, const struct asios_load_opts *opts, struct asios_load_result *res,
	       char *err, size_t errlen);
void asios_load_release(struct asios_load_result *res);
/* Open F->path, read its size and check its header into F->model (asios_model_free() it). 0 or -errno. */
int asios_load_check_file(struct asios_load_file *f, char *err, size_t errlen);
void asios_load_opts_default(struct asios_load_opts *opts);

/* ---- checkpoints ---- */
enum asios_ckpt_method { ASIOS_CKPT_DIRECT, ASIOS_CKPT_BUFFERED };

struct asios_ckpt_item {
	const char *name;       /* file name in the directory (no '/') */
	const void *data;       /* the bytes of the file, LEN of them; or, when NIOV > 0, ... */
	size_t len;
	const struct iovec *iov; /* ... the file is these NIOV pieces one after the other (a header and the tensors
	                          * where they lie in memory: nothing is copied to make the file), LEN is ignored */
	size_t niov;
};

struct asios_ckpt_result {
	uint64_t bytes;
	double seconds;         /* write + sync + rename, not the read-back */
	double verify_seconds;
	const char *method;
};

/* Write ITEMS into DIR: each to DIR/.NAME.partial, synced, read back from the disk (O_DIRECT where it can) and
 * compared byte for byte with the item; then all renamed to DIR/NAME and the directory synced. A failure removes the
 * partial files and leaves what was in DIR before. */
int asios_ckpt_write(const char *dir, const struct asios_ckpt_item *items, size_t n, enum asios_ckpt_method method,
		     unsigned depth, struct asios_ckpt_result *res, char *err, size_t errlen);

/* SHA-256 of LEN bytes as 64 hex digits */
void asios_sha256_hex(const void *data, size_t len, char out[65]);

#endif
