/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* The layered model cache of asios-load (docs/load.md): local fast storage in front of a slower or remote mount
 * (NFS, or an object store mounted by an existing client such as rclone or s3fs). Layout of the cache DIR:
 *   objects/KEY        a cached file, KEY = the first 32 hex digits of the SHA-256 of the remote path
 *   objects/KEY.meta   what it is a copy of: remote path, size, mtime, SHA-256; its mtime is the LRU stamp.
 *                      An entry exists only once its .meta is there: both are renamed into place after the data
 *                      is complete, synced and checked
 *   partial/KEY[.meta] a fill in progress, resumed by the next fill of the same remote version
 *   locks/KEY          flock: shared while a reader uses the entry, exclusive while it is filled or evicted
 *   lock               flock: the cap is enforced under it
 * An entry is stale when the remote's size or mtime differs from its .meta; the checksum is checked against the
 * remote's SHA256SUMS file (sha256sum format, beside the file) when there is one. */
#ifndef ASIOS_CACHE_H
#define ASIOS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct asios_cache {
	char dir[3072];
	uint64_t max_bytes;     /* 0: no cap */
	int lockfd;             /* DIR/lock */
};

struct asios_cache_stats {
	uint64_t hits, misses, stale, evictions, resumed;
	uint64_t bytes_remote, bytes_local;
	double fill_seconds;
};

struct asios_cache_entry {
	char local[3200];       /* the cached copy to read */
	int lock;               /* held shared until asios_cache_put() */
	bool hit;
	bool offline;           /* the remote could not be reached: the cached copy was used as it is */
	char sha256[65];
};

int asios_cache_open(struct asios_cache *c, const char *dir, uint64_t max_bytes, char *err, size_t errlen);
void asios_cache_close(struct asios_cache *c);
/* The local copy of REMOTE, filled (or refilled when stale) first; E->lock stays held shared until
 * asios_cache_put(). -errno with ERR naming the file and the offset; a failed fill leaves no entry. */
int asios_cache_get(struct asios_cache *c, const char *remote, struct asios_cache_entry *e,
		    struct asios_cache_stats *st, char *err, size_t errlen);
void asios_cache_put(struct asios_cache_entry *e);
/* Evict least recently used entries not in use until ROOM more bytes fit under the cap. */
int asios_cache_evict(struct asios_cache *c, uint64_t room, struct asios_cache_stats *st, char *err, size_t errlen);
/* Each entry as one JSON object per line ({"remote", "size", "sha256", "used"}) to F; *BYTES: their total. */
int asios_cache_list(struct asios_cache *c, void *f, uint64_t *bytes, size_t *count);
/* Re-hash every entry against its .meta; a bad one is removed. The number of bad entries, or -errno. */
int asios_cache_verify(struct asios_cache *c, void *f, char *err, size_t errlen);

/* Add ST (and one load of BYTES in SECONDS by MODE, when MODE is not NULL) to the machine's counters in
 * $ASIOS_LOAD_STATE_DIR (default /var/lib/asios/load)/stats.json, read by asios-exporter. Best effort. */
void asios_load_stats_record(const char *cache_dir, const struct asios_cache_stats *st, const char *mode,
			     uint64_t bytes, double seconds);

#endif
