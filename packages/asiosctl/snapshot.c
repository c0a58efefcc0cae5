/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <libgen.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "asiosctl.h"

/*
 * asiosctl snapshot: capture the files a snapshot reads into a tarball that works as --root.
 *
 * Our own reads are recorded through the root prefix while a snapshot is taken. hwloc reads sysfs itself,
 * so the trees it reads are copied as well: /sys/devices/system/{cpu,node}, cpuinfo, meminfo, mounts and the
 * process's cgroup files. Symlinks are kept as links (sysfs links are relative), and every link on the way
 * to a file is captured with its target, so paths resolve in the copy as they did on the machine. A listed
 * directory is copied one level deep (its entries are what the snapshot saw). Nothing else is taken: no
 * process environments, no serial numbers or UUIDs, and secret-looking parameters of /proc/cmdline are
 * replaced by "<redacted>".
 */

#define COPY_MAX (64u << 20)

struct capture {
	const char *root;  /* "/" or a directory */
	char stage[PATH_MAX];
	char **paths;
	size_t n_paths, cap;
	size_t files, links;
};

static void on_read(void *userdata, const char *path)
{
	struct capture *c = userdata;

	if (c->n_paths == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 1024;
		char **np = realloc(c->paths, ncap * sizeof(*np));

		if (!np)
			return;
		c->paths = np;
		c->cap = ncap;
	}
	if ((c->paths[c->n_paths] = strdup(path)))
		c->n_paths++;
}

static bool excluded(const char *path)
{
	/* secrets and noise: whole components that are never copied */
	static const char *const names[] = { "environ", "mem", "pagemap", "kcore", "kmsg", "cpuidle", "power", "uevent",
					     "product_serial", "board_serial", "chassis_serial", "product_uuid", NULL };
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	for (size_t i = 0; names[i]; i++)
		if (!strcmp(base, names[i]) || strstr(path, names[i]) == path + 1)
			return true;
	return strstr(path, "serial") || strstr(path, "uuid") || strstr(path, "/cpuidle/") || strstr(path, "/power/");
}

static void live(const struct capture *c, const char *path, char *out, size_t n)
{
	snprintf(out, n, "%s%s", strcmp(c->root, "/") ? c->root : "", path);
}

static int mkdirs(const char *path)
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

/* /proc/cmdline with the values of password/key/token/secret parameters replaced */
static void redact_cmdline(char *buf, size_t *len)
{
	static const char *const secret[] = { "pass", "key", "token", "secret", NULL };
	char out[8192], *save = NULL, *tok;
	size_t o = 0;

	buf[*len] = '\0';
	for (tok = strtok_r(buf, " \n", &save); tok && o < sizeof(out) - 64; tok = strtok_r(NULL, " \n", &save)) {
		char *eq = strchr(tok, '=');
		bool hide = false;

		for (size_t i = 0; eq && secret[i]; i++) {
			*eq = '\0';
			hide |= strcasestr(tok, secret[i]) != NULL;
			*eq = '=';
		}
		if (hide)
			o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%.*s=<redacted>", o ? " " : "", (int)(eq - tok), tok);
		else
			o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s", o ? " " : "", tok);
	}
	o += (size_t)snprintf(out + o, sizeof(out) - o, "\n");
	memcpy(buf, out, o);
	*len = o;
}

static void copy_file(struct capture *c, const char *path)
{
	char src[PATH_MAX], dst[PATH_MAX];
	size_t cap = 1 << 16, n = 0;
	char *buf;
	ssize_t k;
	int in, out;

	if (excluded(path))
		return;
	live(c, path, src, sizeof(src));
	snprintf(dst, sizeof(dst), "%s%s", c->stage, path);
	if (access(dst, F_OK) == 0)
		return;
	in = open(src, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (in < 0)
		return; /* write-only or root-only sysfs attributes: not part of any snapshot */
	buf = malloc(cap + 1);
	while (buf && (k = read(in, buf + n, cap - n)) > 0) {
		n += (size_t)k;
		if (n == cap) {
			char *nb = cap < COPY_MAX ? realloc(buf, cap * 2 + 1) : NULL;

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	close(in);
	if (!buf)
		return;
	if (!strcmp(path, "/proc/cmdline"))
		redact_cmdline(buf, &n);
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out >= 0) {
		if (write(out, buf, n) == (ssize_t)n)
			c->files++;
		close(out);
	}
	free(buf);
}

static void stage_path(struct capture *c, const char *path, int hops, bool list);

/* copy the entries of a listed directory one level deep (files, links, empty subdirectories) */
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
		stage_path(c, p, 0, false);
	}
	closedir(d);
}

/* Recreate PATH in the stage: every directory and symlink on the way, and the file at the end. */
static void stage_path(struct capture *c, const char *path, int hops, bool list)
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
				stage_path(c, norm[0] ? norm : "/", hops + 1, list);
			}
			return;
		}
		if (S_ISDIR(st.st_mode)) {
			if (mkdir(dst, 0755) < 0 && errno != EEXIST)
				return;
			continue;
		}
		if (S_ISREG(st.st_mode) && !*p)
			copy_file(c, cur);
		return;
	}
	if (list && cur[0])
		stage_listing(c, cur);
}

/* copy a tree up to DEPTH levels (for the sysfs parts hwloc reads) */
static void stage_tree(struct capture *c, const char *dir, int depth)
{
	char src[PATH_MAX], p[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;

	stage_path(c, dir, 0, false);
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
			stage_path(c, p, 0, false);
	}
	closedir(d);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static int run_tar(const char *parent, const char *name, const char *out)
{
	char *argv[] = { "tar", "--owner=0", "--group=0", "-C", (char *)parent, "-caf", (char *)out, (char *)name, NULL };
	extern char **environ;
	int status;
	pid_t pid;
	int r;

	r = posix_spawnp(&pid, "tar", NULL, NULL, argv, environ);
	if (r != 0)
		return -r;
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

static int capture(const char *root_path, const char *out)
{
	static const char *const hwloc_files[] = { "/proc/cpuinfo", "/proc/meminfo", "/proc/mounts", "/proc/self/cgroup",
						   "/proc/self/cpuset", "/proc/self/status", "/proc/cmdline",
						   "/proc/sys/kernel/osrelease", NULL };
	char tmpl[] = "/tmp/asios-snapshot-XXXXXX", name[256], *base, *dot, outabs[PATH_MAX], dirbuf[PATH_MAX];
	struct capture c = { .root = root_path };
	struct asios_snapshot *s;
	struct asios_root *root;
	int r;

	snprintf(dirbuf, sizeof(dirbuf), "%s", out);
	if (!realpath(dirname(dirbuf), outabs)) {
		log_error("snapshot: %s: %m", out);
		return -errno;
	}
	snprintf(dirbuf, sizeof(dirbuf), "%s", out);
	base = basename(dirbuf);
	snprintf(outabs + strlen(outabs), sizeof(outabs) - strlen(outabs), "/%s", base);
	snprintf(name, sizeof(name), "%s", base);
	if ((dot = strstr(name, ".tar")) || (dot = strchr(name, '.')))
		*dot = '\0';

	if (asios_root_open(root_path, &root) < 0) {
		log_error("snapshot: cannot open root %s: %m", root_path);
		return -errno;
	}
	asios_root_set_recorder(root, on_read, &c);
	r = asios_snapshot_load(root, &s);
	asios_root_set_recorder(root, NULL, NULL);
	asios_root_free(root);
	if (r < 0) {
		log_error("snapshot: cannot read the machine under %s: %s", root_path, strerror(-r));
		return r;
	}
	if (!mkdtemp(tmpl)) {
		log_error("snapshot: temporary folder: %m");
		asios_snapshot_free(s);
		return -errno;
	}
	snprintf(c.stage, sizeof(c.stage), "%s/%s", tmpl, name);
	if ((r = mkdirs(c.stage)) < 0) {
		log_error("snapshot: %s: %s", c.stage, strerror(-r));
		goto out;
	}
	for (size_t i = 0; i < c.n_paths; i++)
		stage_path(&c, c.paths[i], 0, true);
	for (size_t i = 0; hwloc_files[i]; i++)
		stage_path(&c, hwloc_files[i], 0, false);
	stage_tree(&c, "/sys/devices/system/cpu", 4);
	stage_tree(&c, "/sys/devices/system/node", 4);
	if (s->cgroup.version) {
		char cg[PATH_MAX];

		snprintf(cg, sizeof(cg), "%s%s", s->cgroup.mount, s->cgroup.path);
		stage_tree(&c, cg, 0);
		stage_path(&c, cg, 0, true);
	}
	r = run_tar(tmpl, name, outabs);
	if (r < 0)
		log_error("snapshot: tar failed writing %s", out);
	else
		fprintf(stderr, "asiosctl: wrote %s: %zu files, %zu links (extract it and pass the folder %s/ as --root)\n",
			out, c.files, c.links, name);
out:
	nftw(tmpl, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	for (size_t i = 0; i < c.n_paths; i++)
		free(c.paths[i]);
	free(c.paths);
	asios_snapshot_free(s);
	return r;
}

int verb_snapshot(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *root = "/", *out = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "r:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			root = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			printf("Usage: asiosctl snapshot -o FILE.tar.gz [--root DIR]\n\n"
			       "Capture the files a snapshot of this machine reads (sysfs, procfs, cgroup) into a tarball\n"
			       "with one top-level folder, usable as `asiosctl topology --root FOLDER`. Attach it to bug\n"
			       "reports. No process environments, serial numbers or UUIDs are taken; secret-looking\n"
			       "kernel command line values are redacted. The suffix picks the compression (.gz, .xz, .bz2).\n");
			return 0;
		default:
			return 2;
		}
	}
	if (!out || optind != argc) {
		log_error("snapshot: usage: asiosctl snapshot -o FILE [--root DIR]");
		return 2;
	}
	return capture(root, out) < 0 ? 1 : 0;
}
