/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot-internal.h"

/*
 * The cpuset restriction of this process, cgroup v1 or v2. hwloc already folds it into the allowed CPUs and
 * nodes; this stage says where it comes from. Mount points are read from /proc/mounts (they are not always
 * at /sys/fs/cgroup), the process's cgroup from /proc/self/cgroup, or /proc/self/cpuset on old kernels.
 * v1 may be the legacy "cpuset" file system (files "cpus", "mems") or a cgroup mount with the cpuset
 * controller, possibly with "noprefix".
 */

static bool has_option(const char *opts, const char *opt)
{
	size_t n = strlen(opt);

	for (const char *p = opts; p && *p;) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);

		if (l == n && !strncmp(p, opt, n))
			return true;
		p = e ? e + 1 : NULL;
	}
	return false;
}

/* mount points of the v1 cpuset hierarchy and of cgroup2 from /proc/mounts */
static void find_mounts(struct asios_root *root, struct asios_snapshot *s, char **v1, char **v2)
{
	char *buf, *line, *save = NULL;
	size_t lineno = 0;

	if (asios_read_file(root, "/proc/mounts", &buf, NULL) < 0)
		return;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char dev[256], mnt[1024], type[64], opts[1024];

		lineno++;
		if (sscanf(line, "%255s %1023s %63s %1023s", dev, mnt, type, opts) != 4) {
			asios_snapshot_warn(s, "/proc/mounts:%zu: not a mount line, ignoring", lineno);
			continue;
		}
		if (!*v1 && (!strcmp(type, "cpuset") || (!strcmp(type, "cgroup") && has_option(opts, "cpuset"))))
			*v1 = strdup(mnt);
		else if (!*v2 && !strcmp(type, "cgroup2"))
			*v2 = strdup(mnt);
	}
	free(buf);
}

/* the cgroup path of this process for the v1 cpuset controller and for v2 */
static void find_paths(struct asios_root *root, char **v1, char **v2)
{
	char *buf, *line, *save = NULL;

	if (asios_read_file(root, "/proc/self/cgroup", &buf, NULL) >= 0) {
		for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

			if (!c2)
				continue;
			*c2 = '\0';
			if (!strcmp(c1 + 1, "") && !*v2)
				*v2 = strdup(c2 + 1);
			else if (has_option(c1 + 1, "cpuset") && !*v1)
				*v1 = strdup(c2 + 1);
		}
		free(buf);
	}
	if (!*v1 || !*v2) {
		char *p = NULL;

		if (asios_read_line(root, "/proc/self/cpuset", &p) >= 0) {
			if (!*v1)
				*v1 = strdup(p);
			if (!*v2)
				*v2 = strdup(p);
		}
		free(p);
	}
}

static int read_first(struct asios_root *root, struct asios_snapshot *s, const char *dir, const char *const *names,
		      hwloc_bitmap_t set)
{
	char path[2048];

	for (size_t i = 0; names[i]; i++) {
		int r;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		r = asios_read_cpuset(root, s, path, false, set);
		if (r != -ENOENT)
			return r;
	}
	return -ENOENT;
}

/* Read the effective sets under MOUNT/PATH; on success the snapshot takes both strings over. */
static bool try_hierarchy(struct asios_root *root, struct asios_snapshot *s, int version, char **mount, char **path,
			  const char *const *cpus, const char *const *mems)
{
	struct asios_cgroup *cg = &s->cgroup;
	char dir[2048];

	if (!*mount || !*path)
		return false;
	snprintf(dir, sizeof(dir), "%s%s", *mount, *path);
	if (read_first(root, s, dir, cpus, cg->cpus) < 0)
		return false;
	(void)read_first(root, s, dir, mems, cg->mems);
	cg->version = version;
	cg->mount = *mount, *mount = NULL;
	cg->path = *path, *path = NULL;
	return true;
}

int asios_cgroup_load(struct asios_root *root, struct asios_snapshot *s)
{
	static const char *const v1_cpus[] = { "cpuset.effective_cpus", "cpuset.cpus", "effective_cpus", "cpus", NULL };
	static const char *const v1_mems[] = { "cpuset.effective_mems", "cpuset.mems", "effective_mems", "mems", NULL };
	static const char *const v2_cpus[] = { "cpuset.cpus.effective", NULL };
	static const char *const v2_mems[] = { "cpuset.mems.effective", NULL };
	char *m1 = NULL, *m2 = NULL, *p1 = NULL, *p2 = NULL;
	struct asios_cgroup *cg = &s->cgroup;

	cg->cpus = hwloc_bitmap_alloc();
	cg->mems = hwloc_bitmap_alloc();
	if (!cg->cpus || !cg->mems)
		return -ENOMEM;
	find_mounts(root, s, &m1, &m2);
	find_paths(root, &p1, &p2);
	/* v1 first: a cpuset controller mounted there is the one that restricts this process */
	if (!try_hierarchy(root, s, 1, &m1, &p1, v1_cpus, v1_mems))
		try_hierarchy(root, s, 2, &m2, &p2, v2_cpus, v2_mems);
	free(m1);
	free(m2);
	free(p1);
	free(p2);
	return 0;
}
