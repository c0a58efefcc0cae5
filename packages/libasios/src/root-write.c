/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include "asios/root.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "root-internal.h"
#include "util.h"

/* Writes under a root (root.h): whole files through a temporary and a rename, single values, removals and the
 * folders an apply makes; the fault injection of the tests. Reads and the root itself are in root.c. */

/* "PATH=ERRNO" fails every write of PATH, "PATH=ERRNO/VALUE" only the writes of VALUE (a rollback, a revert) */
static int injected_fault(const struct asios_root *root, const char *path, const char *value)
{
	static const struct {
		const char *name;
		int err;
	} names[] = { { "EIO", EIO }, { "EINVAL", EINVAL }, { "EPERM", EPERM }, { "ENOSPC", ENOSPC }, { "EBUSY", EBUSY }, { "EROFS", EROFS } };
	const char *spec = getenv("ASIOS_FAULT_INJECT"), *p;
	size_t n = strlen(path);

	if (root->host || !spec)
		return 0;
	for (p = spec; (p = strstr(p, path)); p += n) {
		if ((p != spec && p[-1] != ',') || p[n] != '=')
			continue;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			const char *v = p + n + 1 + strlen(names[i].name);
			size_t vlen = strcspn(v + 1, ",");

			if (strncmp(p + n + 1, names[i].name, strlen(names[i].name)))
				continue;
			if (*v != '/' || (value && strlen(value) == vlen && !strncmp(v + 1, value, vlen)))
				return -names[i].err;
		}
	}
	return 0;
}

int asios_write_file(const struct asios_root *root, const char *path, const char *value)
{
	size_t n = strlen(value);
	char *buf;
	ssize_t k;
	int fd, r;

	r = injected_fault(root, path, value);
	if (r < 0)
		return r;
	fd = asios_root_open_file(root, path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return fd;
	buf = malloc(n + 2);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	memcpy(buf, value, n);
	buf[n] = '\n';
	k = write(fd, buf, n + 1);
	r = k < 0 ? -errno : (size_t)k != n + 1 ? -EIO : 0;
	free(buf);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

int asios_write_at(const struct asios_root *root, const char *path, long off, const void *buf, size_t n,
		   const char *shown)
{
	ssize_t k;
	int fd, r;

	r = injected_fault(root, path, shown);
	if (r < 0)
		return r;
	fd = asios_root_open_file(root, path, O_WRONLY);
	if (fd < 0)
		return fd;
	k = pwrite(fd, buf, n, (off_t)off);
	r = k < 0 ? -errno : (size_t)k != n ? -EIO : 0;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

int asios_write_whole(const struct asios_root *root, const char *path, const char *content)
{
	char name[NAME_MAX + 1], tmp[NAME_MAX + 16];
	size_t n = strlen(content);
	ssize_t k;
	int dfd, fd, r;

	r = injected_fault(root, path, content);
	if (r < 0)
		return r;
	dfd = root_open_parent(root, path, true, name, sizeof(name));
	if (dfd < 0)
		return dfd;
	snprintf(tmp, sizeof(tmp), ".%s.asios-new", name);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		r = -errno;
		close(dfd);
		return r;
	}
	k = write(fd, content, n);
	r = k < 0 ? -errno : (size_t)k != n ? -EIO : 0;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(dfd, tmp, dfd, name) < 0)
		r = -errno;
	if (r < 0)
		(void)unlinkat(dfd, tmp, 0);
	close(dfd);
	return r;
}

int asios_remove_file(const struct asios_root *root, const char *path)
{
	char name[NAME_MAX + 1];
	int dfd, r;

	r = injected_fault(root, path, NULL);
	if (r < 0)
		return r;
	dfd = root_open_parent(root, path, false, name, sizeof(name));
	if (dfd < 0)
		return dfd;
	r = unlinkat(dfd, name, 0) < 0 ? -errno : 0;
	{
		/* and asios_write_whole()'s temporary file, left when a process was killed between its creation
		 * and its rename: the revert of that apply must leave the folder as it was (removable) */
		char tmp[NAME_MAX + 16];

		snprintf(tmp, sizeof(tmp), ".%s.asios-new", name);
		(void)unlinkat(dfd, tmp, 0);
	}
	close(dfd);
	return r;
}

/* mkdir -p on the host: its folders may be links (/var/run -> /run), which is no escape there */
static int mkdirs_host(const struct asios_root *root, const char *path, unsigned mode)
{
	char buf[PATH_MAX], *p;

	snprintf(buf, sizeof(buf), "%s", root_relative(path));
	for (p = buf;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdirat(root->dirfd, buf, mode) < 0 && errno != EEXIST)
				return -errno;
			if (!c)
				break;
			*p = c;
		}
	}
	return 0;
}

int asios_mkdirs(const struct asios_root *root, const char *path, unsigned mode)
{
	return asios_mkdirs_made(root, path, mode, NULL, NULL);
}

int asios_mkdirs_made(const struct asios_root *root, const char *path, unsigned mode, char ***made, size_t *n_made)
{
	char buf[PATH_MAX], done[PATH_MAX] = "", *save = NULL;
	int fd, r = 0;

	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	if (root->host)
		return mkdirs_host(root, path, mode);
	/* one component at a time, each created and opened inside the one before: no "..", no links */
	snprintf(buf, sizeof(buf), "%s", root_relative(path));
	fd = fcntl(root->dirfd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	for (char *c = strtok_r(buf, "/", &save); c && r == 0; c = strtok_r(NULL, "/", &save)) {
		int next;

		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			r = -EINVAL;
			break;
		}
		snprintf(done + strlen(done), sizeof(done) - strlen(done), "/%s", c);
		if (mkdirat(fd, c, mode) < 0) {
			if (errno != EEXIST) {
				r = -errno;
				break;
			}
		} else if (made && asios_strv_push_dup(made, n_made, done) < 0) { /* this call made it */
			r = -ENOMEM;
			break;
		}
		next = openat(fd, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			struct stat st;

			r = -errno;
			if (fstatat(fd, c, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
				r = -ELOOP; /* a link where a folder belongs */
			break;
		}
		close(fd);
		fd = next;
	}
	close(fd);
	return r;
}
