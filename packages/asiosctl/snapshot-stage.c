/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "asios/proc.h"
#include "asios/root.h"
#include "asiosctl.h"
#include "redact.h"
#include "snapshot.h"

void live(const struct capture *c, const char *path, char *out, size_t n)
{
	snprintf(out, n, "%s%s", strcmp(c->root, "/") ? c->root : "", path);
}

int mkdirs(const char *path)
{
	char buf[PATH_MAX], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				return -errno;
			*p = '/';
		}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* text as sysfs and procfs write it: no control bytes but tab, newline, carriage return and NUL (which ends
 * the files of trees gathered by hwloc-gather-topology) */
static bool is_text(const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)buf[i];

		if ((ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r' && ch != '\0') || ch == 0x7f)
			return false;
	}
	return true;
}

static int gunzip(const char *in, size_t n, char **ret, size_t *ret_len)
{
	z_stream zs = { 0 };
	size_t cap = 4 * n + 4096, len = 0;
	char *buf = malloc(cap);
	int r = -EINVAL;

	if (!buf)
		return -ENOMEM;
	if (inflateInit2(&zs, 15 + 32) != Z_OK) { /* 32: a gzip header */
		free(buf);
		return -ENOMEM;
	}
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)n;
	for (;;) {
		int z;

		if (len == cap) {
			char *nb = cap < COPY_MAX ? realloc(buf, cap * 2) : NULL;

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		zs.next_out = (Bytef *)buf + len;
		zs.avail_out = (uInt)(cap - len);
		z = inflate(&zs, Z_NO_FLUSH);
		len = cap - zs.avail_out;
		if (z == Z_STREAM_END) {
			*ret_len = len;
			*ret = buf;
			buf = NULL;
			r = 0;
			break;
		}
		if ((z != Z_OK && z != Z_BUF_ERROR) || (z == Z_BUF_ERROR && !zs.avail_in))
			break;
	}
	inflateEnd(&zs);
	free(buf);
	return r;
}

static int gzip(const char *in, size_t n, char **ret, size_t *ret_len)
{
	z_stream zs = { 0 };
	size_t cap;
	char *buf;
	int z;

	if (deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	cap = deflateBound(&zs, (uLong)n);
	buf = malloc(cap);
	if (!buf) {
		deflateEnd(&zs);
		return -ENOMEM;
	}
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)n;
	zs.next_out = (Bytef *)buf;
	zs.avail_out = (uInt)cap;
	z = deflate(&zs, Z_FINISH);
	*ret_len = zs.total_out;
	deflateEnd(&zs);
	if (z != Z_STREAM_END) {
		free(buf);
		return -EIO;
	}
	*ret = buf;
	return 0;
}

static char *read_all(const char *src, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf;
	ssize_t k;
	int in;

	in = open(src, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
	if (in < 0)
		return NULL; /* write-only or root-only sysfs attributes: not part of any snapshot */
	buf = malloc(cap);
	while (buf && (k = read(in, buf + n, cap - n)) > 0) {
		n += (size_t)k;
		if (n == cap) {
			char *nb = cap < COPY_MAX ? realloc(buf, cap * 2) : NULL;

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	close(in);
	*len = n;
	return buf;
}

/* The content of PATH as it goes into the capture: NULL when it is left out. */
static char *transform(struct capture *c, const struct copy_rule *rule, const char *src, size_t *len)
{
	char *raw, *text = NULL, *clean = NULL, *out = NULL;
	size_t n, tn, cn, redacted = 0;

	raw = read_all(src, &n);
	if (!raw)
		return NULL;
	if (rule->as == COPY_GZIP) {
		if (gunzip(raw, n, &text, &tn) < 0)
			goto out;
	} else {
		text = raw, tn = n, raw = NULL;
	}
	if (!is_text(text, tn) || redact_text(text, tn, &clean, &cn, &redacted) < 0)
		goto out;
	if (redact_find(clean, cn, NULL) >= 0) /* cannot happen (the fuzzer holds redact_text to it); fail closed */
		goto out;
	if (rule->as == COPY_GZIP) {
		if (gzip(clean, cn, &out, len) < 0)
			goto out;
	} else {
		out = clean, *len = cn, clean = NULL;
	}
	c->redacted += redacted;
out:
	free(raw);
	free(text);
	free(clean);
	return out;
}

static void copy_file(struct capture *c, const char *path, bool recorded)
{
	const struct copy_rule *rule = allowed(c, path);
	char src[PATH_MAX], dst[PATH_MAX], *buf;
	size_t n;
	int out;

	if (!rule || excluded(path)) {
		/* a file the snapshot itself read: the allow-list lags behind libasios */
		if (recorded)
			log_error("snapshot: %s: read by the snapshot but not on the allow-list, left out", path);
		c->left_out++;
		return;
	}
	live(c, path, src, sizeof(src));
	snprintf(dst, sizeof(dst), "%s%s", c->stage, path);
	if (access(dst, F_OK) == 0)
		return;
	buf = transform(c, rule, src, &n);
	if (!buf) {
		c->left_out++;
		return;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (out >= 0) {
		if (write(out, buf, n) == (ssize_t)n)
			c->files++;
		close(out);
	}
	free(buf);
}

/* recreate the entries of a listed directory one level deep (allowed files, links, empty subdirectories) */
static void stage_listing(struct capture *c, const char *dir)
{
	char src[PATH_MAX], p[PATH_MAX];
	struct dirent *de;
	DIR *d;

	live(c, dir, src, sizeof(src));
	d = opendir(src);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		snprintf(p, sizeof(p), "%s/%s", strcmp(dir, "/") ? dir : "", de->d_name);
		stage_path(c, p, 0, false, false);
	}
	closedir(d);
}

void stage_path(struct capture *c, const char *path, int hops, bool list, bool recorded)
{
	char cur[PATH_MAX] = "", src[PATH_MAX], dst[PATH_MAX], rest[PATH_MAX];
	const char *p = path;
	struct stat st;

	if (hops > 16 || excluded(path))
		return;
	while (*p) {
		size_t n;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (!n)
			break;
		snprintf(cur + strlen(cur), sizeof(cur) - strlen(cur), "/%.*s", (int)n, p);
		p += n;
		live(c, cur, src, sizeof(src));
		snprintf(dst, sizeof(dst), "%s%s", c->stage, cur);
		if (lstat(src, &st) < 0)
			return;
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX], resolved[PATH_MAX * 2], dirbuf[PATH_MAX];
			ssize_t k = readlink(src, target, sizeof(target) - 1);

			if (k < 0)
				return;
			target[k] = '\0';
			if (symlink(target, dst) == 0)
				c->links++;
			snprintf(dirbuf, sizeof(dirbuf), "%s", cur);
			if (target[0] == '/')
				snprintf(resolved, sizeof(resolved), "%s%s", target, p);
			else
				snprintf(resolved, sizeof(resolved), "%s/%s%s", dirname(dirbuf), target, p);
			/* normalise "a/b/../c" textually: the links are relative within the tree */
			snprintf(rest, sizeof(rest), "%s", resolved);
			{
				char *parts[512], *save = NULL, *t, norm[PATH_MAX] = "";
				size_t np = 0;

				for (t = strtok_r(rest, "/", &save); t && np < 512; t = strtok_r(NULL, "/", &save)) {
					if (!strcmp(t, "."))
						continue;
					if (!strcmp(t, "..")) {
						if (np)
							np--;
						continue;
					}
					parts[np++] = t;
				}
				for (size_t i = 0; i < np; i++)
					snprintf(norm + strlen(norm), sizeof(norm) - strlen(norm), "/%s", parts[i]);
				stage_path(c, norm[0] ? norm : "/", hops + 1, list, recorded);
			}
			return;
		}
		if (S_ISDIR(st.st_mode)) {
			if (mkdir(dst, 0755) < 0 && errno != EEXIST)
				return;
			continue;
		}
		if (S_ISREG(st.st_mode) && !*p)
			copy_file(c, cur, recorded);
		return;
	}
	if (list && cur[0])
		stage_listing(c, cur);
}

void stage_tree(struct capture *c, const char *dir, int depth)
{
	char src[PATH_MAX], p[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;

	stage_path(c, dir, 0, false, false);
	live(c, dir, src, sizeof(src));
	d = depth > 0 ? opendir(src) : NULL;
	if (!d)
		return;
	while ((de = readdir(d))) {
		char s2[PATH_MAX];

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		live(c, p, s2, sizeof(s2));
		if (excluded(p) || lstat(s2, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			stage_tree(c, p, depth - 1);
		else
			stage_path(c, p, 0, false, false);
	}
	closedir(d);
}

/* PF_KTHREAD in /proc/PID/stat, read by the one stat reader (ROOT opened on first use) */
static bool is_kthread(const struct capture *c, struct asios_root **root, long pid)
{
	unsigned flags = 0;

	if (!*root && asios_root_open(c->root, root) < 0)
		return false;
	return asios_proc_stat(*root, pid, &flags, NULL) == 0 && (flags & ASIOS_PF_KTHREAD);
}

static void take_proc(struct capture *c, long pid, bool workload)
{
	struct taken_proc *p;

	for (size_t i = 0; i < c->n_procs; i++)
		if (c->procs[i].pid == pid) {
			c->procs[i].workload |= workload;
			return;
		}
	p = realloc(c->procs, (c->n_procs + 1) * sizeof(*p));
	if (!p)
		return;
	c->procs = p;
	c->procs[c->n_procs++] = (struct taken_proc){ .pid = pid, .workload = workload };
}

/* a workload's descriptors: only the links into /dev (accelerator files), never what else it holds open */
static void stage_fds(struct capture *c, long pid)
{
	char dir[64], src[PATH_MAX], dst[PATH_MAX], target[PATH_MAX];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%ld/fd", pid);
	live(c, dir, src, sizeof(src));
	if (!(d = opendir(src)))
		return;
	while ((de = readdir(d))) {
		ssize_t k = de->d_name[0] == '.' ? -1 : readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);

		if (k < 0)
			continue;
		target[k] = '\0';
		if (strncmp(target, "/dev/", 5))
			continue;
		snprintf(dst, sizeof(dst), "%s%s", c->stage, dir);
		if (mkdirs(dst) < 0)
			break;
		snprintf(dst + strlen(dst), sizeof(dst) - strlen(dst), "/%s", de->d_name);
		if (symlink(target, dst) == 0)
			c->links++;
	}
	closedir(d);
}

void stage_processes(struct capture *c)
{
	static const char *const files[] = { "stat", "status", "comm", "cmdline", "cgroup", "numa_maps" };
	struct asios_root *root = NULL;
	char path[96];

	/* a kernel thread: its stat was read (the isolation domain's walk); a workload: its numa_maps (the NUMA
	 * domain reads them only for the processes it places) */
	for (size_t i = 0; i < c->n_paths; i++) {
		long pid;
		int at = 0;

		if (sscanf(c->paths[i], "/proc/%ld/%n", &pid, &at) != 1 || !at)
			continue;
		if (!strcmp(c->paths[i] + at, "numa_maps"))
			take_proc(c, pid, true);
		else if (!strcmp(c->paths[i] + at, "stat") && is_kthread(c, &root, pid))
			take_proc(c, pid, false);
	}
	asios_root_free(root);
	for (size_t i = 0; i < c->n_procs; i++) {
		for (size_t j = 0; j < (c->procs[i].workload ? N_OF(files) : 2); j++) {
			snprintf(path, sizeof(path), "/proc/%ld/%s", c->procs[i].pid, files[j]);
			stage_path(c, path, 0, false, false);
		}
		if (c->procs[i].workload)
			stage_fds(c, c->procs[i].pid);
	}
}
