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

/* Checking a capture's links before it is read (asios_root_check_links, root.h): a link may point anywhere inside
 * the capture, none out of it, as a program without RESOLVE_IN_ROOT would follow it. */

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
	snprintf(target, sizeof(target), "%s", root_relative(path));
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
