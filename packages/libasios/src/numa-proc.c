/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <numa.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/cpulist.h"
#include "asios/numa-plan.h"
#include "asios/proc.h"

/*
 * Process operations of apply: the live machine through sched_setaffinity(2) and libnuma's migrate_pages(2),
 * a capture (any other root) by editing its /proc/PID files as the kernel would show the result.
 */

#define MAX_CPUS 8192

int asios_proc_stat_read(struct asios_root *root, long pid, struct asios_proc_stat *st)
{
	char path[64], *stat = NULL;
	const char *b, *e;
	int r;

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	r = asios_read_line(root, path, &stat);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	/* (rss may be missing from a hand-written line) */
	/* "pid (comm) state ppid pgrp session tty tpgid flags(9) … utime(14) stime(15) … starttime(22) vsize rss(24)" */
	b = strchr(stat, '(');
	e = strrchr(stat, ')');
	r = b && e && e > b &&
			    sscanf(e + 1, " %*c %*d %*d %*d %*d %*d %u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu %*u %llu",
				   &st->flags, &st->utime, &st->stime, &st->starttime, &st->rss_pages) >= 4 ?
		    0 :
		    -EINVAL;
	if (r == 0)
		snprintf(st->comm, sizeof(st->comm), "%.*s", (int)(e - b - 1), b + 1);
	free(stat);
	return r;
}

int asios_proc_stat(struct asios_root *root, long pid, unsigned *flags, unsigned long long *starttime)
{
	struct asios_proc_stat st;
	int r = asios_proc_stat_read(root, pid, &st);

	if (r == 0 && flags)
		*flags = st.flags;
	if (r == 0 && starttime)
		*starttime = st.starttime;
	return r;
}

int asios_proc_starttime(struct asios_root *root, int pid, unsigned long long *ret)
{
	return asios_proc_stat(root, pid, NULL, ret);
}

static int tree_status(struct asios_root *root, int pid, char **ret)
{
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	r = asios_read_file(root, path, ret, NULL);
	return r == -ENOENT ? -ESRCH : r;
}

int asios_proc_get_affinity(struct asios_root *root, int pid, char **ret)
{
	if (asios_root_is_host(root)) {
		cpu_set_t *set = CPU_ALLOC(MAX_CPUS);
		size_t size = CPU_ALLOC_SIZE(MAX_CPUS);
		hwloc_bitmap_t b = hwloc_bitmap_alloc();
		int r = 0;

		if (!set || !b) {
			r = -ENOMEM;
		} else if (sched_getaffinity(pid, size, set) < 0) {
			r = -errno;
		} else {
			for (int c = 0; c < MAX_CPUS; c++)
				if (CPU_ISSET_S(c, size, set))
					hwloc_bitmap_set(b, (unsigned)c);
			*ret = asios_cpulist_format(b);
			if (!*ret)
				r = -ENOMEM;
		}
		if (set)
			CPU_FREE(set);
		hwloc_bitmap_free(b);
		return r;
	} else {
		char *status = NULL, *p;
		int r = tree_status(root, pid, &status);
		size_t n;

		if (r < 0)
			return r;
		p = strstr(status, "\nCpus_allowed_list:");
		if (!p) {
			free(status);
			return -ENODATA;
		}
		p += 19;
		p += strspn(p, " \t");
		n = strcspn(p, "\n");
		*ret = strndup(p, n);
		free(status);
		return *ret ? 0 : -ENOMEM;
	}
}

/* rewrite the Cpus_allowed_list line of a capture's status file */
static int tree_set_status(struct asios_root *root, const char *path, const char *cpulist)
{
	char *status = NULL, *p, *out = NULL;
	size_t n, len;
	int r = asios_read_file(root, path, &status, &len);

	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	p = strstr(status, "\nCpus_allowed_list:");
	if (!p) {
		free(status);
		return -ENODATA;
	}
	p += 19;
	n = strcspn(p, "\n");
	*p = '\0';
	while (len > 0 && status[len - 1] == '\n')
		status[--len] = '\0';
	if (asprintf(&out, "%s\t%s%s", status, cpulist, p + n) < 0)
		out = NULL;
	free(status);
	if (!out)
		return -ENOMEM;
	/* asios_write_file adds the final newline */
	len = strlen(out);
	while (len > 0 && out[len - 1] == '\n')
		out[--len] = '\0';
	r = asios_write_file(root, path, out);
	free(out);
	return r;
}

int asios_proc_set_affinity(struct asios_root *root, int pid, const char *cpulist)
{
	hwloc_bitmap_t b = hwloc_bitmap_alloc();
	char path[96], **tasks = NULL;
	int r = 0;

	if (!b)
		return -ENOMEM;
	if (asios_cpulist_parse(cpulist, b, NULL) < 0 || hwloc_bitmap_iszero(b)) {
		hwloc_bitmap_free(b);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	if (!asios_root_is_host(root)) {
		snprintf(path, sizeof(path), "/proc/%d/status", pid);
		r = tree_set_status(root, path, cpulist);
		hwloc_bitmap_free(b);
		return r;
	}
	{
		cpu_set_t *set = CPU_ALLOC(MAX_CPUS);
		size_t size = CPU_ALLOC_SIZE(MAX_CPUS);
		unsigned c;

		if (!set) {
			hwloc_bitmap_free(b);
			return -ENOMEM;
		}
		CPU_ZERO_S(size, set);
		hwloc_bitmap_foreach_begin(c, b) {
			if (c < MAX_CPUS)
				CPU_SET_S(c, size, set);
		}
		hwloc_bitmap_foreach_end();
		/* the main thread first: its failure is the process's */
		if (sched_setaffinity(pid, size, set) < 0)
			r = -errno;
		if (r == 0 && asios_list_dir(root, path, &tasks) >= 0) {
			for (size_t i = 0; tasks[i] && r == 0; i++) {
				int tid = atoi(tasks[i]);

				/* a thread that ended meanwhile is no error */
				if (tid != pid && sched_setaffinity(tid, size, set) < 0 && errno != ESRCH)
					r = -errno;
			}
			asios_strv_free(tasks);
		}
		CPU_FREE(set);
	}
	hwloc_bitmap_free(b);
	return r;
}

/* a capture's numa_maps with every "N<from>=pages" folded into the first node of TO */
static int tree_migrate(struct asios_root *root, int pid, hwloc_const_bitmap_t from, hwloc_const_bitmap_t to)
{
	char path[64], *text = NULL, *out = NULL, *line, *save = NULL;
	size_t cap = 0;
	FILE *f;
	int r, dest = hwloc_bitmap_first(to);

	snprintf(path, sizeof(path), "/proc/%d/numa_maps", pid);
	r = asios_read_file(root, path, &text, NULL);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	f = open_memstream(&out, &cap);
	if (!f) {
		free(text);
		return -ENOMEM;
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *toks[256], *tsave = NULL;
		unsigned long moved = 0;
		size_t n = 0;
		bool placed = false;

		for (char *t = strtok_r(line, " ", &tsave); t && n < 256; t = strtok_r(NULL, " ", &tsave))
			toks[n++] = t;
		for (size_t i = 0; i < n; i++) {
			unsigned node;
			unsigned long pages;

			if (sscanf(toks[i], "N%u=%lu", &node, &pages) == 2 && (hwloc_bitmap_isset(from, node) || (int)node == dest))
				moved += pages;
		}
		for (size_t i = 0; i < n; i++) {
			unsigned node;
			unsigned long pages;

			if (sscanf(toks[i], "N%u=%lu", &node, &pages) == 2 && (hwloc_bitmap_isset(from, node) || (int)node == dest)) {
				if (!placed)
					fprintf(f, " N%d=%lu", dest, moved);
				placed = true;
			} else {
				fprintf(f, "%s%s", i ? " " : "", toks[i]);
			}
		}
		fputc('\n', f);
	}
	fclose(f);
	free(text);
	if (!out)
		return -ENOMEM;
	cap = strlen(out);
	while (cap > 0 && out[cap - 1] == '\n')
		out[--cap] = '\0';
	r = asios_write_file(root, path, out);
	free(out);
	return r;
}

int asios_proc_migrate(struct asios_root *root, int pid, const char *from, const char *to, long *not_moved)
{
	hwloc_bitmap_t f = hwloc_bitmap_alloc(), t = hwloc_bitmap_alloc();
	int r = 0;

	*not_moved = 0;
	if (!f || !t) {
		r = -ENOMEM;
	} else if (asios_cpulist_parse(from, f, NULL) < 0 || asios_cpulist_parse(to, t, NULL) < 0 || hwloc_bitmap_iszero(f) ||
		   hwloc_bitmap_iszero(t)) {
		r = -EINVAL;
	} else if (!asios_root_is_host(root)) {
		r = tree_migrate(root, pid, f, t);
	} else if (numa_available() < 0) {
		r = -ENOSYS;
	} else {
		struct bitmask *bf = numa_allocate_nodemask(), *bt = numa_allocate_nodemask();
		unsigned n;
		int rc;

		if (!bf || !bt) {
			r = -ENOMEM;
		} else {
			hwloc_bitmap_foreach_begin(n, f) {
				if (n < bf->size)
					numa_bitmask_setbit(bf, n);
			}
			hwloc_bitmap_foreach_end();
			hwloc_bitmap_foreach_begin(n, t) {
				if (n < bt->size)
					numa_bitmask_setbit(bt, n);
			}
			hwloc_bitmap_foreach_end();
			rc = numa_migrate_pages(pid, bf, bt);
			if (rc < 0)
				r = -errno;
			else
				*not_moved = rc;
		}
		if (bf)
			numa_bitmask_free(bf);
		if (bt)
			numa_bitmask_free(bt);
	}
	hwloc_bitmap_free(f);
	hwloc_bitmap_free(t);
	return r;
}
