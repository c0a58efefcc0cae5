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

struct asios_root {
	int dirfd;
	bool host;
	char *path;
	void (*record)(void *userdata, const char *path);
	void *userdata;
};

void asios_root_set_recorder(struct asios_root *root, void (*fn)(void *userdata, const char *path), void *userdata)
{
	root->record = fn;
	root->userdata = userdata;
}

static void record(const struct asios_root *root, const char *path)
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

static const char *relative(const char *path)
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

	record(root, path);
	if (root->host) {
		fd = openat(root->dirfd, relative(path), flags | O_CLOEXEC, 0600);
		if (fd < 0)
			return -errno;
		return fd;
	}
	fd = (int)syscall(SYS_openat2, root->dirfd, relative(path), &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS) /* kernels before 5.6: plain openat, links may point outside */
		fd = openat(root->dirfd, relative(path), flags | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	return fd;
}

int asios_read_file(const struct asios_root *root, const char *path, char **ret, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf;
	int fd;

	fd = asios_root_open_file(root, path, O_RDONLY);
	if (fd < 0)
		return fd;
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t k;

		if (cap - n < 2) {
			char *nb;

			if (cap >= ASIOS_READ_MAX) {
				free(buf);
				close(fd);
				return -EFBIG;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				close(fd);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		k = read(fd, buf + n, cap - n - 1);
		if (k < 0) {
			int e = -errno;

			if (errno == EINTR)
				continue;
			free(buf);
			close(fd);
			return e;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	buf[n] = '\0';
	*ret = buf;
	if (len)
		*len = n;
	return 0;
}

int asios_read_line(const struct asios_root *root, const char *path, char **ret)
{
	char *buf, *s, *e;
	int r;

	r = asios_read_file(root, path, &buf, NULL);
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
	char buf[PATH_MAX];
	ssize_t n;

	record(root, path);
	n = readlinkat(root->dirfd, relative(path), buf, sizeof(buf) - 1);
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

/* the folder of PATH opened under the root (created when missing), and PATH's last component in NAME */
static int open_parent(const struct asios_root *root, const char *path, bool create, char *name, size_t size)
{
	char dir[PATH_MAX], *slash;
	int r;

	snprintf(dir, sizeof(dir), "/%s", relative(path));
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

int asios_write_whole(const struct asios_root *root, const char *path, const char *content)
{
	char name[NAME_MAX + 1], tmp[NAME_MAX + 16];
	size_t n = strlen(content);
	ssize_t k;
	int dfd, fd, r;

	r = injected_fault(root, path, content);
	if (r < 0)
		return r;
	dfd = open_parent(root, path, true, name, sizeof(name));
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
	dfd = open_parent(root, path, false, name, sizeof(name));
	if (dfd < 0)
		return dfd;
	r = unlinkat(dfd, name, 0) < 0 ? -errno : 0;
	close(dfd);
	return r;
}

int asios_mkdirs(const struct asios_root *root, const char *path, unsigned mode)
{
	char buf[PATH_MAX], *p;

	snprintf(buf, sizeof(buf), "%s", relative(path));
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
