/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/cpulist.h"
#include "asios/peer.h"
#include "asios/proc.h"
#include "asios/sched-plan.h"
#include "util.h"

/*
 * What the isolation and scheduler plan compares with, read once through the root prefix: the knob files, the
 * workqueue, writeback, default IRQ and watchdog masks, the workload slice's cpuset files, the two files the
 * plan owns (grub.d snippet, system.conf.d drop-in), the unbound kernel threads and a running TuneD. A file
 * that is absent is recorded as such (the plan skips it with its reason); one that cannot be read for another
 * reason is a warning naming it.
 */


static void warn(struct asios_sched_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(struct asios_sched_state *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)asios_strv_pushv(&st->warnings, &st->n_warnings, fmt, ap);
	va_end(ap);
}

static int record(struct asios_root *root, struct asios_sched_state *st, const char *path)
{
	char *v = NULL, *p = strdup(path), **np, **nv;
	int r = asios_read_line(root, path, &v);

	if (r < 0 && r != -ENOENT && r != -ENOTDIR)
		warn(st, "%s: %s, ignoring", path, strerror(-r));
	np = realloc(st->paths, (st->n_values + 1) * sizeof(*np));
	if (np)
		st->paths = np;
	nv = realloc(st->values, (st->n_values + 1) * sizeof(*nv));
	if (nv)
		st->values = nv;
	if (!p || !np || !nv) {
		free(p);
		free(v);
		return -ENOMEM;
	}
	st->paths[st->n_values] = p;
	st->values[st->n_values++] = r < 0 ? NULL : v;
	return 0;
}

const char *asios_sched_state_value(const struct asios_sched_state *st, const char *path)
{
	for (size_t i = 0; i < st->n_values; i++)
		if (!strcmp(st->paths[i], path))
			return st->values[i];
	return NULL;
}

static int whole(struct asios_root *root, struct asios_sched_state *st, const char *path, char **ret)
{
	int r = asios_read_file(root, path, ret, NULL);

	if (r == -ENOENT || r == -ENOTDIR) {
		*ret = NULL;
		return 0;
	}
	if (r < 0)
		warn(st, "%s: %s, ignoring", path, strerror(-r));
	return r == -ENOMEM ? r : 0;
}

/* the first cgroup2 mount of /proc/mounts */
static int cgroup2_mount(struct asios_root *root, struct asios_sched_state *st)
{
	char *text = NULL, *save = NULL;
	int r = asios_read_file(root, "/proc/mounts", &text, NULL);

	if (r < 0)
		return r == -ENOMEM ? r : 0;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char dev[256], dir[1024], type[64];

		if (sscanf(l, "%255s %1023s %63s", dev, dir, type) == 3 && !strcmp(type, "cgroup2")) {
			st->cgroup2 = strdup(dir);
			r = st->cgroup2 ? 0 : -ENOMEM;
			break;
		}
	}
	free(text);
	return r < 0 ? r : 0;
}

/* an unbound kernel thread: its name and allowed CPUs from /proc/PID/status */
static int add_kthread(struct asios_root *root, struct asios_sched_state *st, int pid, unsigned long long start)
{
	char path[96], *status = NULL, *cl, *name, *nl;
	struct asios_sched_kthread *k;
	int r = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (asios_read_file(root, path, &status, NULL) < 0 || !(cl = strstr(status, "Cpus_allowed_list:"))) {
		free(status);
		return 0; /* gone meanwhile */
	}
	k = realloc(st->kthreads, (st->n_kthreads + 1) * sizeof(*k));
	if (!k) {
		free(status);
		return -ENOMEM;
	}
	st->kthreads = k;
	k = &st->kthreads[st->n_kthreads];
	memset(k, 0, sizeof(*k));
	k->pid = pid;
	k->starttime = start;
	if ((name = strstr(status, "Name:\t")))
		snprintf(k->comm, sizeof(k->comm), "%.*s", (int)strcspn(name + 6, "\n"), name + 6);
	k->cpus = hwloc_bitmap_alloc();
	cl += strlen("Cpus_allowed_list:");
	if ((nl = strchr(cl, '\n')))
		*nl = '\0';
	if (!k->cpus) {
		r = -ENOMEM;
	} else if (asios_cpulist_parse(cl, k->cpus, NULL) < 0) {
		warn(st, "%s: Cpus_allowed_list is not a CPU list, ignoring", path);
		hwloc_bitmap_free(k->cpus);
	} else {
		st->n_kthreads++;
	}
	free(status);
	return r;
}

/* unbound kernel threads: PF_KTHREAD without PF_NO_SETAFFINITY (per-CPU threads cannot be moved) */
static int kthreads(struct asios_root *root, struct asios_sched_state *st)
{
	char **pids = NULL;
	int n = asios_list_dir(root, "/proc", &pids), r = 0;

	if (n < 0)
		return n == -ENOMEM ? n : 0;
	for (int i = 0; i < n && r >= 0; i++) {
		unsigned long long start;
		unsigned flags;
		int pid;

		if (pids[i][0] < '0' || pids[i][0] > '9')
			continue;
		pid = atoi(pids[i]);
		r = asios_proc_stat(root, pid, &flags, &start);
		if (r == -EINVAL)
			warn(st, "/proc/%d/stat: not a stat line, ignoring", pid);
		if (r >= 0 && (flags & ASIOS_PF_KTHREAD) && !(flags & ASIOS_PF_NO_SETAFFINITY))
			r = add_kthread(root, st, pid, start);
		else if (r != -ENOMEM)
			r = 0; /* not a kernel thread we can move, gone, or unreadable */
	}
	asios_strv_free(pids);
	return r;
}

static const char *const mask_files[] = {
	"/sys/devices/virtual/workqueue/cpumask",
	"/sys/bus/workqueue/devices/writeback/cpumask",
	"/proc/irq/default_smp_affinity",
	"/proc/sys/kernel/watchdog_cpumask",
};

int asios_sched_observe(struct asios_root *root, const struct asios_snapshot *s, const struct asios_sched_policy *p,
			struct asios_sched_state **ret)
{
	struct asios_sched_state *st = calloc(1, sizeof(*st));
	const struct asios_knob *t;
	size_t n;
	int r = 0;

	(void)s;
	if (!st)
		return -ENOMEM;
	t = asios_sched_knobs(&n);
	for (size_t i = 0; i < n && r >= 0; i++)
		r = record(root, st, t[i].path);
	for (size_t i = 0; i < sizeof(mask_files) / sizeof(mask_files[0]) && r >= 0; i++)
		r = record(root, st, mask_files[i]);
	st->grub_dir = asios_exists(root, "/etc/default/grub.d");
	if (r >= 0)
		r = whole(root, st, ASIOS_SCHEDD_GRUB, &st->grub);
	if (r >= 0)
		r = whole(root, st, ASIOS_SCHEDD_SYSTEM_DROPIN, &st->dropin);
	if (r >= 0)
		r = cgroup2_mount(root, st);
	if (r >= 0 && st->cgroup2 && p->workload_slice) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s/cgroup.controllers", st->cgroup2, p->workload_slice);
		if (asios_read_line(root, path, &st->slice_controllers) == -ENOMEM)
			r = -ENOMEM;
		snprintf(path, sizeof(path), "%s/%s/cpuset.cpus", st->cgroup2, p->workload_slice);
		if (r >= 0)
			r = record(root, st, path);
		snprintf(path, sizeof(path), "%s/%s/cpuset.cpus.partition", st->cgroup2, p->workload_slice);
		if (r >= 0)
			r = record(root, st, path);
	}
	if (r >= 0)
		r = kthreads(root, st);
	if (r >= 0) {
		/* a root process running tuned (asios/peer.h), not whatever calls itself so */
		long pid = asios_peer_find(root, "tuned");

		st->tuned_pid = pid > 0 ? pid : 0;
		if (pid == -ENOMEM || asios_read_line(root, "/etc/tuned/active_profile", &st->tuned_profile) == -ENOMEM)
			r = -ENOMEM;
	}
	if (r < 0) {
		asios_sched_state_free(st);
		return r;
	}
	*ret = st;
	return 0;
}

void asios_sched_state_free(struct asios_sched_state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n_values; i++) {
		free(st->paths[i]);
		free(st->values[i]);
	}
	free(st->paths);
	free(st->values);
	free(st->grub);
	free(st->dropin);
	free(st->cgroup2);
	free(st->slice_controllers);
	for (size_t i = 0; i < st->n_kthreads; i++)
		hwloc_bitmap_free(st->kthreads[i].cpus);
	free(st->kthreads);
	free(st->tuned_profile);
	asios_strv_free(st->warnings);
	free(st);
}

bool asios_sched_tuned_partitions(const struct asios_sched_state *st)
{
	static const char *const partitioning[] = { "cpu-partitioning", "realtime", "cpu-partitioning-powersave" };

	if (!st->tuned_pid || !st->tuned_profile)
		return false;
	/* the active profile may be a list ("throughput-performance cpu-partitioning") */
	for (size_t i = 0; i < sizeof(partitioning) / sizeof(partitioning[0]); i++) {
		const char *hit = strstr(st->tuned_profile, partitioning[i]);
		size_t len = strlen(partitioning[i]);

		for (; hit; hit = strstr(hit + 1, partitioning[i]))
			if ((hit == st->tuned_profile || hit[-1] == ' ') && (hit[len] == '\0' || hit[len] == ' '))
				return true;
	}
	return false;
}
