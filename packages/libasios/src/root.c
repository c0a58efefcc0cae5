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

#include "util.h"

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
	/* no fallback to openat() without openat2 (ENOSYS): it would let links point outside the root.
	 * EAGAIN: a rename or mount anywhere on the machine while a ".." was resolved (the kernel cannot then
	 * prove the walk stayed inside the root; openat2(2) says to retry). A capture's links are full of ".." and
	 * a busy machine (a package install, a compiler cache) renames all the time: seen once as a PCI device
	 * without its driver in a capture read beside a build. */
	for (int tries = 0;; tries++) {
		fd = (int)syscall(SYS_openat2, root->dirfd, relative(path), &how, sizeof(how));
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

static int open_parent(const struct asios_root *root, const char *path, bool create, char *name, size_t size);

int asios_read_link(const struct asios_root *root, const char *path, char **ret)
{
	char buf[PATH_MAX], name[NAME_MAX + 1];
	ssize_t n;
	int dfd;

	record(root, path);
	/* the folder is resolved inside the root, so a link among PATH's folders cannot lead outside it */
	dfd = open_parent(root, path, false, name, sizeof(name));
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
	snprintf(buf, sizeof(buf), "%s", relative(path));
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

/* Does the link at REL (a path inside the root, no leading slash) with target TARGET stay inside the root,
 * taken literally as a program without RESOLVE_IN_ROOT follows it? */
static bool link_stays_inside(const char *rel, const char *target)
{
	char buf[PATH_MAX], *save = NULL;
	long depth = 0;

	if (target[0] == '/')
		return false;
	for (const char *p = rel; *p; p++) /* the link's folder: as deep as REL has slashes */
		depth += *p == '/';
	snprintf(buf, sizeof(buf), "%s", target);
	for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, ".."))
			depth--;
		else if (strcmp(c, "."))
			depth++;
		if (depth < 0)
			return false;
	}
	return true;
}

struct walk {
	char *bad;
	size_t budget;
};

static int walk_links(int dfd, char *rel, size_t len, unsigned depth, struct walk *w)
{
	struct dirent *de;
	DIR *d;
	int r = 0, fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return 0; /* unreadable: hwloc cannot read it either */
	}
	while (r == 0 && (de = readdir(d))) {
		char target[PATH_MAX];
		struct stat st;
		ssize_t n;
		int sub;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (w->budget-- == 0 || len + strlen(de->d_name) + 2 >= PATH_MAX) {
			r = -E2BIG;
			break;
		}
		snprintf(rel + len, PATH_MAX - len, "/%s", de->d_name);
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
			if (n < 0)
				continue;
			target[n] = '\0';
			if (!link_stays_inside(rel, target)) {
				w->bad = strdup(rel);
				r = w->bad ? -EXDEV : -ENOMEM;
			}
		} else if (S_ISDIR(st.st_mode) && depth > 0) {
			sub = openat(dirfd(d), de->d_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				r = walk_links(sub, rel, len + strlen(de->d_name) + 1, depth - 1, w);
				close(sub);
			}
		}
	}
	closedir(d);
	return r;
}

int asios_root_check_links(const struct asios_root *root, const char *path, unsigned depth, char **bad)
{
	char rel[PATH_MAX], target[PATH_MAX];
	struct walk w = { .budget = 1u << 20 };
	int fd, next, r = 0;
	size_t len = 0;

	*bad = NULL;
	if (root->host)
		return 0;
	fd = fcntl(root->dirfd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	/* PATH itself, component by component: a link among them must stay inside too */
	snprintf(target, sizeof(target), "%s", relative(path));
	rel[0] = '\0';
	for (char *save = NULL, *c = strtok_r(target, "/", &save); c && r == 0; c = strtok_r(NULL, "/", &save)) {
		char to[PATH_MAX];
		ssize_t n;

		len += (size_t)snprintf(rel + len, sizeof(rel) - len, "%s%s", len ? "/" : "", c);
		n = readlinkat(fd, c, to, sizeof(to) - 1);
		if (n >= 0) {
			to[n] = '\0';
			if (!link_stays_inside(rel, to))
				r = (*bad = strdup(rel)) ? -EXDEV : -ENOMEM;
			break; /* a link that stays inside: its target is checked where the walk reaches it */
		}
		next = openat(fd, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
		if (fd < 0)
			return 0; /* missing: nothing to follow */
	}
	if (r == 0 && depth > 0) {
		struct stat st;

		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
			r = walk_links(fd, rel, len, depth - 1, &w);
			*bad = w.bad;
		}
	}
	close(fd);
	if (r == -EXDEV && *bad && **bad != '/') { /* as an absolute path inside the root */
		char *abs = NULL;

		if (asprintf(&abs, "/%s", *bad) < 0)
			abs = NULL;
		free(*bad);
		*bad = abs;
		if (!abs)
			r = -ENOMEM;
	}
	return r;
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
