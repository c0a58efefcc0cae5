/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The root prefix: every read of /sys, /proc, /dev, the cgroup tree and /boot goes through one of these
 * helpers, relative to a root directory ("/" on the live machine, an unpacked capture in tests). Paths are
 * resolved with openat2(RESOLVE_IN_ROOT), so a symlink inside a capture can never escape it. On a kernel
 * without openat2 (before 5.6) a root other than "/" is refused (-ENOSYS from asios_root_open()): there is no
 * containment without it, and "/" needs none.
 *
 * All functions return 0 (or a non-negative count) on success and a negative errno on failure; none logs.
 */

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>

struct asios_root;

/* Largest file the helpers will read: /proc/interrupts of a 1,152-CPU machine is ~13 MiB. */
#define ASIOS_READ_MAX (64u << 20)
/* Longest first line read from a one-line file (a CPU mask of 65,536 CPUs is ~18 KiB): -EFBIG beyond. */
#define ASIOS_LINE_MAX (1u << 20)

int asios_root_open(const char *path, struct asios_root **ret);
void asios_root_free(struct asios_root *root);
const char *asios_root_path(const struct asios_root *root);
bool asios_root_is_host(const struct asios_root *root);

/* open(2) of PATH (absolute or relative, taken under the root); returns an fd or -errno. */
int asios_root_open_file(const struct asios_root *root, const char *path, int flags);
/* Whole file into a NUL-terminated buffer; *len (may be NULL) excludes the NUL. FIFOs, sockets (and under a
 * root other than "/", devices) are refused with -EINVAL, folders with -EISDIR, files over ASIOS_READ_MAX
 * with -EFBIG. */
int asios_read_file(const struct asios_root *root, const char *path, char **ret, size_t *len);
/* First line without its newline and surrounding blanks. */
int asios_read_line(const struct asios_root *root, const char *path, char **ret);
/* A whole-file decimal integer (trailing newline allowed); -EINVAL when it is not one. */
int asios_read_long(const struct asios_root *root, const char *path, long *ret);
/* Target of a symlink, as stored (relative links stay relative); the folders above it resolve inside the root. */
int asios_read_link(const struct asios_root *root, const char *path, char **ret);
int asios_opendir(const struct asios_root *root, const char *path, DIR **ret);
bool asios_exists(const struct asios_root *root, const char *path);
/* Sorted names of a directory's entries (no "." or ".."), NULL-terminated; free with asios_strv_free(). */
int asios_list_dir(const struct asios_root *root, const char *path, char ***ret);

/*
 * Write VALUE (a newline is added) to the existing file PATH, as sysfs and procfs want it: one write(2).
 * On a root other than "/", ASIOS_FAULT_INJECT="PATH=ERRNO[,PATH=ERRNO…]" (ERRNO a name such as EIO)
 * makes the write of PATH fail, "PATH=ERRNO/VALUE" only a write of VALUE: tests use it to drive the failure
 * paths of apply, rollback and revert.
 */
int asios_write_file(const struct asios_root *root, const char *path, const char *value);
/* Write N bytes of BUF at offset OFF of the existing file PATH (a PCI function's config space): one pwrite(2).
 * ASIOS_FAULT_INJECT applies, SHOWN being the value its "PATH=ERRNO/VALUE" form matches. */
int asios_write_at(const struct asios_root *root, const char *path, long off, const void *buf, size_t n,
		   const char *shown);
/* Replace the whole file PATH with CONTENT (as given, no newline added), creating it and its folders (0755)
 * when missing: written to a temporary file beside it, synced and renamed over it. ASIOS_FAULT_INJECT applies. */
int asios_write_whole(const struct asios_root *root, const char *path, const char *content);
/* Remove the file PATH; -ENOENT when it is not there. ASIOS_FAULT_INJECT applies. */
int asios_remove_file(const struct asios_root *root, const char *path);
/* mkdir -p under the root. Below a root other than "/", every component is created and opened inside the one
 * before it: ".." is refused (-EINVAL) and so is a symlink where a folder belongs (-ELOOP). */
int asios_mkdirs(const struct asios_root *root, const char *path, unsigned mode);
/* The same; on a root other than "/", the folders this call made ("/run", "/run/asios") are appended to *MADE
 * (NULL-terminated, *N_MADE entries): what mkdirat(2) created, not what looked missing a moment before. */
int asios_mkdirs_made(const struct asios_root *root, const char *path, unsigned mode, char ***made, size_t *n_made);

/* Call FN(USERDATA, "/absolute/path") for every path opened, listed or read as a link through ROOT
 * (asiosctl snapshot records what a snapshot reads this way). NULL FN stops recording. */
void asios_root_set_recorder(struct asios_root *root, void (*fn)(void *userdata, const char *path), void *userdata);

/*
 * Configuration files and folders (the policy readers of the daemons) whose path lies below ROOT_PATH are read
 * inside that root, links resolved in it like every other read through a root: a capture's
 * etc/asios/irqd.conf -> /etc/shadow reads the capture's own /etc/shadow, if any. Process-wide; NULL or "/"
 * turns it off. Returns -errno when the root cannot be opened; configuration below it then fails with that error.
 */
int asios_conf_set_root(const char *root_path);

/*
 * For programs that read a root without RESOLVE_IN_ROOT (hwloc with HWLOC_FSROOT): every link on PATH and, to
 * DEPTH levels of folders below it, every link inside must stay inside the root when followed literally.
 * Returns -EXDEV and *BAD (to free(): the link, as an absolute path inside the root) for the first that does not;
 * -E2BIG for a tree of over a million entries; 0 on the host root and when PATH is missing.
 */
int asios_root_check_links(const struct asios_root *root, const char *path, unsigned depth, char **bad);

void asios_strv_free(char **v);
size_t asios_strv_length(char *const *v);
