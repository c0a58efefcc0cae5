/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include "asios/root.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "root-internal.h"
#include "util.h"

void asios_root_set_recorder(struct asios_root *root, void (*fn)(void *userdata, const char *path), void *userdata)
{
	root->record = fn;
	root->userdata = userdata;
}

void root_record(const struct asios_root *root, const char *path)
{
	char buf[PATH_MAX];

	if (!root->record)
		return;
	if (path[0] == '/') {
		root->record(root->userdata, path);
	} else {
		snprintf(buf, sizeof(buf), "/%s", path);
		root->record(root->userdata, buf);
	}
}

int asios_root_open(const char *path, struct asios_root **ret)
{
	struct asios_root *r;
	char *real;

	if (!path || !*path)
		path = "/";
	real = realpath(path, NULL);
	if (!real)
		return -errno;
	r = calloc(1, sizeof(*r));
	if (!r) {
		free(real);
		return -ENOMEM;
	}
	r->path = real;
	r->host = strcmp(real, "/") == 0;
	r->dirfd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->dirfd < 0) {
		int e = -errno;

		asios_root_free(r);
		return e;
	}
	if (!r->host) {
		/* a root other than "/" is only safe with openat2(RESOLVE_IN_ROOT): refuse it up front on kernels
		 * without openat2 (before 5.6) rather than let a capture's links reach the host */
		struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };
		int fd = (int)syscall(SYS_openat2, r->dirfd, ".", &how, sizeof(how));

		if (fd < 0) {
			int e = -errno;

			asios_root_free(r);
			return e;
		}
		close(fd);
	}
	*ret = r;
	return 0;
}

void asios_root_free(struct asios_root *root)
{
	if (!root)
		return;
	if (root->dirfd >= 0)
		close(root->dirfd);
	free(root->path);
	free(root);
}

const char *asios_root_path(const struct asios_root *root)
{
	return root->path;
}

bool asios_root_is_host(const struct asios_root *root)
{
	return root->host;
}

const char *root_relative(const char *path)
{
	while (*path == '/')
		path++;
	return *path ? path : ".";
}

int asios_root_open_file(const struct asios_root *root, const char *path, int flags)
{
	struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC), .resolve = RESOLVE_IN_ROOT,
				.mode = (flags & O_CREAT) ? 0600 : 0 };
	int fd;

	root_record(root, path);
	if (root->host) {
		fd = openat(root->dirfd, root_relative(path), flags | O_CLOEXEC, 0600);
		if (fd < 0)
			return -errno;
		return fd;
	}
	/* no fallback to openat() without openat2 (ENOSYS): it would let links point outside the root.
	 * EAGAIN: a rename or mount anywhere on the machine while a ".." was resolved (the kernel cannot then
	 * prove the walk stayed inside the root; openat2(2) says to retry). A capture's links are full of ".." and
	 * a busy machine (a package install, a compiler cache) renames all the time: seen once as a PCI device
	 * without its driver in a capture read beside a build. */
	for (int tries = 0;; tries++) {
		fd = (int)syscall(SYS_openat2, root->dirfd, root_relative(path), &how, sizeof(how));
		if (fd >= 0)
			return fd;
		if (errno != EAGAIN || tries == 100)
			return -errno;
	}
}

/* a capture root holds only files and folders: a FIFO would block, a device (/dev/zero) never end */
static int check_readable(const struct asios_root *root, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISDIR(st.st_mode))
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	if (!root->host && !S_ISREG(st.st_mode))
		return -EINVAL;
	return 0;
}

/* PATH into a NUL-terminated buffer: at most MAX bytes (-EFBIG beyond), or up to the first newline with LINE */
static int read_bounded(const struct asios_root *root, const char *path, size_t max, bool line, char **ret,
			size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf;
	int fd, r;

	fd = asios_root_open_file(root, path, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return fd;
	r = check_readable(root, fd);
	buf = r < 0 ? NULL : malloc(cap);
	if (!buf) {
		close(fd);
		return r < 0 ? r : -ENOMEM;
	}
	for (;;) {
		ssize_t k;

		if (cap - n < 2) {
			char *nb;

			if (cap >= max) {
				r = -EFBIG;
				break;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				r = -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		k = read(fd, buf + n, cap - n - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			r = -errno;
		if (k <= 0 || (line && memchr(buf + n, '\n', (size_t)k))) {
			if (k > 0)
				n += (size_t)k;
			break;
		}
		n += (size_t)k;
	}
	close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[n] = '\0';
	*ret = buf;
	if (len)
		*len = n;
	return 0;
}

int asios_read_file(const struct asios_root *root, const char *path, char **ret, size_t *len)
{
	return read_bounded(root, path, ASIOS_READ_MAX, false, ret, len);
}

int asios_read_line(const struct asios_root *root, const char *path, char **ret)
{
	char *buf, *s, *e;
	int r;

	r = read_bounded(root, path, ASIOS_LINE_MAX, true, &buf, NULL);
	if (r < 0)
		return r;
	s = buf + strspn(buf, " \t");
	e = s + strcspn(s, "\n");
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	memmove(buf, s, (size_t)(e - s));
	buf[e - s] = '\0';
	*ret = buf;
	return 0;
}

int asios_read_long(const struct asios_root *root, const char *path, long *ret)
{
	char *line, *end;
	long v;
	int r;

	r = asios_read_line(root, path, &line);
	if (r < 0)
		return r;
	errno = 0;
	v = strtol(line, &end, 10);
	r = (errno || end == line || *end) ? -EINVAL : 0;
	free(line);
	if (r == 0)
		*ret = v;
	return r;
}

int asios_read_link(const struct asios_root *root, const char *path, char **ret)
{
	char buf[PATH_MAX], name[NAME_MAX + 1];
	ssize_t n;
	int dfd;

	root_record(root, path);
	/* the folder is resolved inside the root, so a link among PATH's folders cannot lead outside it */
	dfd = root_open_parent(root, path, false, name, sizeof(name));
	if (dfd < 0)
		return dfd;
	n = readlinkat(dfd, name, buf, sizeof(buf) - 1);
	close(dfd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	*ret = strdup(buf);
	return *ret ? 0 : -ENOMEM;
}

int asios_opendir(const struct asios_root *root, const char *path, DIR **ret)
{
	int fd = asios_root_open_file(root, path, O_RDONLY | O_DIRECTORY);
	DIR *d = NULL;

	if (fd < 0)
		return fd;
	d = fdopendir(fd);
	if (!d) {
		int e = -errno;

		close(fd);
		return e;
	}
	*ret = d;
	return 0;
}

bool asios_exists(const struct asios_root *root, const char *path)
{
	int fd = asios_root_open_file(root, path, O_PATH);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

int asios_list_dir(const struct asios_root *root, const char *path, char ***ret)
{
	size_t n = 0, cap = 16;
	struct dirent *de;
	char **v;
	DIR *d = NULL;
	int r;

	r = asios_opendir(root, path, &d);
	if (r < 0)
		return r;
	v = malloc(cap * sizeof(*v));
	if (!v) {
		closedir(d);
		return -ENOMEM;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n + 1 >= cap) {
			char **nv = realloc(v, cap * 2 * sizeof(*v));

			if (!nv)
				goto oom;
			v = nv;
			cap *= 2;
		}
		v[n] = strdup(de->d_name);
		if (!v[n])
			goto oom;
		n++;
	}
	closedir(d);
	v[n] = NULL;
	qsort(v, n, sizeof(*v), cmp_str);
	*ret = v;
	return (int)n;
oom:
	v[n] = NULL;
	asios_strv_free(v);
	closedir(d);
	return -ENOMEM;
}

void asios_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

size_t asios_strv_length(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

/* the folder of PATH opened under the root (created when missing), and PATH's last component in NAME */
int root_open_parent(const struct asios_root *root, const char *path, bool create, char *name, size_t size)
{
	char dir[PATH_MAX], *slash;
	int r;

	snprintf(dir, sizeof(dir), "/%s", root_relative(path));
	slash = strrchr(dir, '/');
	snprintf(name, size, "%s", slash + 1);
	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (create && (r = asios_mkdirs(root, dir, 0755)) < 0)
		return r;
	return asios_root_open_file(root, dir, O_RDONLY | O_DIRECTORY);
}
