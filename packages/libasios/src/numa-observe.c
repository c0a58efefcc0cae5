/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asios/cpulist.h"
#include "asios/numa-plan.h"
#include "asios/proc.h"
#include "asios/peer.h"
#include "util.h"

/*
 * Observe the NUMA workloads of a machine through the root prefix (asios_numa_observe() in numa-plan.h).
 *
 * Accelerator files and how each is tied to its PCI device:
 *   /dev/nvidiaN        the GPU whose /proc/driver/nvidia/gpus/ADDR/information says "Device Minor: N"; without
 *                       that file the N-th NVIDIA GPU in PCI address order (the driver numbers them so)
 *   /dev/dri/renderDN   /sys/class/drm/renderDN/device
 *   /dev/accel/accelN   /sys/class/accel/accelN/device
 *   /dev/kfd            the AMD compute interface: every AMD GPU, unless render nodes say which (-2)
 * /dev/nvidiactl, /dev/nvidia-uvm, /dev/nvidia-caps/… and /dev/dri/cardN say nothing about which GPU and are
 * not counted. A device file with no such device is kept as unknown with the reason.
 */

static void warn(struct asios_numa_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(struct asios_numa_state *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)asios_strv_pushv(&st->warnings, &st->n_warnings, fmt, ap);
	va_end(ap);
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* a per-device accelerator file (not nvidiactl, uvm, card nodes…) */
static bool is_accel_file(const char *t)
{
	return (!strncmp(t, "/dev/nvidia", 11) && all_digits(t + 11)) ||
	       (!strncmp(t, "/dev/dri/renderD", 16) && all_digits(t + 16)) ||
	       (!strncmp(t, "/dev/accel/accel", 16) && all_digits(t + 16)) || !strcmp(t, "/dev/kfd");
}

int asios_numa_maps_parse(const char *text, uint64_t **ret, size_t *n_ret)
{
	uint64_t *kb = NULL;
	size_t n = 0;
	const char *line = text;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		unsigned long page_kb = 4;
		char buf[4096];
		const char *p;

		if (len >= sizeof(buf))
			len = sizeof(buf) - 1;
		memcpy(buf, line, len);
		buf[len] = '\0';
		p = strstr(buf, " kernelpagesize_kB=");
		if (p)
			page_kb = strtoul(p + 19, NULL, 10);
		for (p = strstr(buf, " N"); p; p = strstr(p + 1, " N")) {
			char *e1, *e2;
			unsigned long node = strtoul(p + 2, &e1, 10), pages;

			if (e1 == p + 2 || *e1 != '=')
				continue;
			pages = strtoul(e1 + 1, &e2, 10);
			if (e2 == e1 + 1 || node > 4095) {
				free(kb);
				return -EINVAL;
			}
			if (node >= n) {
				uint64_t *nk = realloc(kb, (node + 1) * sizeof(*nk));

				if (!nk) {
					free(kb);
					return -ENOMEM;
				}
				memset(nk + n, 0, (node + 1 - n) * sizeof(*nk));
				kb = nk;
				n = node + 1;
			}
			kb[node] += (uint64_t)pages * page_kb;
		}
		line = end ? end + 1 : NULL;
	}
	*ret = kb;
	*n_ret = n;
	return 0;
}

static void proc_clear(struct asios_numa_proc *p)
{
	free(p->cmdline);
	free(p->cgroup);
	hwloc_bitmap_free(p->cpus_allowed);
	hwloc_bitmap_free(p->mems_allowed);
	hwloc_bitmap_free(p->cgroup_cpus);
	free(p->node_kb);
	asios_strv_free(p->devices);
	free(p->device_pci);
	if (p->device_why)
		for (size_t i = 0; i < p->n_devices; i++)
			free(p->device_why[i]);
	free(p->device_why);
}

void asios_numa_state_free(struct asios_numa_state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n_procs; i++)
		proc_clear(&st->procs[i]);
	free(st->procs);
	free(st->pools);
	asios_strv_free(st->warnings);
	free(st);
}

static int strcmp_p(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Accelerator files held open by PID (sorted, unique); -errno when its fd folder cannot be read. FIRST: stop at
 * the first one (the daemon's yes-or-no question). The folder is opened once (inside the root) and each link read
 * in it with readlinkat(2), which never follows the entry itself: one system call per descriptor, not three.
 */
static int held_devices(struct asios_root *root, const char *pid, bool first, char ***ret, size_t *n_ret)
{
	char path[128], target[PATH_MAX], **out = NULL;
	struct dirent *de;
	size_t n = 0;
	DIR *d = NULL;
	int r;

	snprintf(path, sizeof(path), "/proc/%s/fd", pid);
	r = asios_opendir(root, path, &d);
	if (r < 0)
		return r;
	while (!(first && n) && (de = readdir(d))) {
		ssize_t k;
		bool dup = false;

		if (de->d_name[0] == '.')
			continue;
		k = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
		if (k < 0)
			continue; /* closed meanwhile */
		target[k] = '\0';
		if (!is_accel_file(target))
			continue;
		for (size_t i = 0; i < n && !dup; i++)
			dup = !strcmp(out[i], target);
		if (!dup && asios_strv_push_dup(&out, &n, target) < 0) {
			closedir(d);
			asios_strv_free(out);
			return -ENOMEM;
		}
	}
	closedir(d);
	if (n)
		qsort(out, n, sizeof(*out), strcmp_p);
	*ret = out;
	*n_ret = n;
	return 0;
}

/* /sys/class/CLASS/NAME/device → PCI address index, or -1 with *why */
static int class_device(struct asios_root *root, const struct asios_snapshot *s, const char *cls, const char *name,
			char **why)
{
	char path[256], *link = NULL;
	const char *base;
	int idx;

	snprintf(path, sizeof(path), "/sys/class/%s/%s/device", cls, name);
	if (asios_read_link(root, path, &link) < 0) {
		if (asprintf(why, "no %s", path) < 0)
			*why = NULL;
		return -1;
	}
	base = strrchr(link, '/');
	base = base ? base + 1 : link;
	idx = asios_snapshot_pci_index(s, base);
	if (idx < 0 && asprintf(why, "%s points to %s, not a PCI device of this machine", path, link) < 0)
		*why = NULL;
	free(link);
	return idx;
}

static bool is_nvidia_gpu(const struct asios_pci_device *d)
{
	return d->vendor == 0x10de && (d->cls == ASIOS_DEV_GPU || d->cls == ASIOS_DEV_ACCEL);
}

static int nvidia_minor(struct asios_root *root, const struct asios_snapshot *s, unsigned minor, char **why)
{
	char **gpus = NULL;
	unsigned k = 0;
	int idx = -1;

	if (asios_list_dir(root, "/proc/driver/nvidia/gpus", &gpus) >= 0) {
		for (size_t i = 0; gpus[i] && idx < 0; i++) {
			char path[256], *info = NULL, *m;

			snprintf(path, sizeof(path), "/proc/driver/nvidia/gpus/%s/information", gpus[i]);
			if (asios_read_file(root, path, &info, NULL) < 0)
				continue;
			m = strstr(info, "Device Minor:");
			if (m && strtoul(m + 13, NULL, 10) == minor)
				idx = asios_snapshot_pci_index(s, gpus[i]);
			free(info);
		}
		asios_strv_free(gpus);
		if (idx < 0 && asprintf(why, "no GPU with Device Minor %u in /proc/driver/nvidia/gpus", minor) < 0)
			*why = NULL;
		return idx;
	}
	for (size_t i = 0; i < s->n_pci; i++)
		if (is_nvidia_gpu(&s->pci[i]) && k++ == minor)
			return (int)i;
	if (asprintf(why, "this machine has %u NVIDIA GPU%s, no minor %u", k, k == 1 ? "" : "s", minor) < 0)
		*why = NULL;
	return -1;
}

static int device_index(struct asios_root *root, const struct asios_snapshot *s, const char *dev, char **why)
{
	*why = NULL;
	if (!strcmp(dev, "/dev/kfd"))
		return -2;
	if (!strncmp(dev, "/dev/nvidia", 11))
		return nvidia_minor(root, s, (unsigned)strtoul(dev + 11, NULL, 10), why);
	if (!strncmp(dev, "/dev/dri/", 9))
		return class_device(root, s, "drm", dev + 9, why);
	return class_device(root, s, "accel", dev + 11, why);
}

/* "Name:\tvalue" of /proc/PID/status */
static void status_set(const char *status, const char *key, hwloc_bitmap_t set)
{
	const char *p = strstr(status, key);
	char buf[4096];
	size_t n;

	if (!p)
		return;
	p += strlen(key);
	while (*p == ' ' || *p == '\t')
		p++;
	n = strcspn(p, "\n");
	if (n >= sizeof(buf))
		return;
	memcpy(buf, p, n);
	buf[n] = '\0';
	if (asios_cpulist_parse(buf, set, NULL) < 0)
		hwloc_bitmap_zero(set);
}

static bool workload_matches(const struct asios_numa_workload *w, const char *comm, const char *cmdline,
			     const char *cgroup)
{
	if (w->command && ((*cmdline && !fnmatch(w->command, cmdline, 0)) || !fnmatch(w->command, comm, 0)))
		return true;
	if (w->cgroup && cgroup) {
		size_t n = strlen(w->cgroup);

		while (n > 1 && w->cgroup[n - 1] == '/')
			n--;
		if (!strncmp(cgroup, w->cgroup, n) && (cgroup[n] == '\0' || cgroup[n] == '/' || n == 1))
			return true;
	}
	return false;
}

/* the cgroup path of PID in the cpuset hierarchy the snapshot found (v2 "0::/x", v1 "N:cpuset,…:/x") */
static char *proc_cgroup(struct asios_root *root, const struct asios_snapshot *s, const char *pid)
{
	char path[128], *buf = NULL, *line, *save = NULL, *found = NULL;

	snprintf(path, sizeof(path), "/proc/%s/cgroup", pid);
	if (asios_read_file(root, path, &buf, NULL) < 0)
		return NULL;
	for (line = strtok_r(buf, "\n", &save); line && !found; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (!c2)
			continue;
		*c2 = '\0';
		if (s->cgroup.version == 1 ? strstr(c1 + 1, "cpuset") != NULL : !strcmp(c1 + 1, ""))
			found = strdup(c2 + 1);
	}
	free(buf);
	return found;
}

static void cgroup_cpus(struct asios_root *root, const struct asios_snapshot *s, const char *cg, hwloc_bitmap_t set)
{
	static const char *const names[] = { "cpuset.cpus.effective", "cpuset.effective_cpus", "effective_cpus",
					     "cpuset.cpus", "cpus", NULL };

	if (!cg || !s->cgroup.mount)
		return;
	if (s->cgroup.path && !strcmp(cg, s->cgroup.path)) {
		hwloc_bitmap_copy(set, s->cgroup.cpus);
		return;
	}
	for (size_t i = 0; names[i]; i++) {
		char path[2048], *line = NULL;

		snprintf(path, sizeof(path), "%s%s/%s", s->cgroup.mount, strcmp(cg, "/") ? cg : "", names[i]);
		if (asios_read_line(root, path, &line) < 0)
			continue;
		if (asios_cpulist_parse(line, set, NULL) < 0)
			hwloc_bitmap_zero(set);
		free(line);
		return;
	}
}

static int read_proc(struct asios_root *root, const struct asios_snapshot *s, const struct asios_numa_policy *pol,
		     struct asios_numa_state *st, const char *pid)
{
	struct asios_numa_proc p = { 0 };
	char path[128], *status = NULL, *maps = NULL, *cmd = NULL, *comm = NULL;
	size_t len = 0;
	bool want = false;
	int r;

	r = held_devices(root, pid, false, &p.devices, &p.n_devices);
	if (r == -ENOMEM)
		return r;
	if (r < 0 && r != -ENOENT && r != -ESRCH && r != -EACCES && r != -EPERM)
		return 0;
	want = p.n_devices > 0 && pol->accelerators;
	if (!want && !pol->n_workloads) /* nothing else could make it a workload: spare the other reads */
		goto skip;
	snprintf(path, sizeof(path), "/proc/%s/comm", pid);
	if (asios_read_line(root, path, &comm) < 0)
		goto skip; /* gone meanwhile */
	snprintf(p.comm, sizeof(p.comm), "%s", comm);
	free(comm);
	snprintf(path, sizeof(path), "/proc/%s/cmdline", pid);
	if (asios_read_file(root, path, &cmd, &len) < 0)
		cmd = strdup(""), len = 0;
	if (!cmd)
		goto oom;
	for (size_t i = 0; len && i < len - 1; i++)
		if (cmd[i] == '\0')
			cmd[i] = ' ';
	p.cmdline = cmd;
	p.cgroup = proc_cgroup(root, s, pid);
	for (size_t i = 0; pol && i < pol->n_workloads && !want; i++)
		want = workload_matches(&pol->workloads[i], p.comm, p.cmdline, p.cgroup);
	if (!want)
		goto skip;
	p.pid = atoi(pid);
	{
		unsigned flags = 0;

		if (asios_proc_stat(root, p.pid, &flags, &p.starttime) >= 0 && (flags & ASIOS_PF_KTHREAD))
			goto skip;
	}
	p.cpus_allowed = hwloc_bitmap_alloc();
	p.mems_allowed = hwloc_bitmap_alloc();
	p.cgroup_cpus = hwloc_bitmap_alloc();
	p.device_pci = calloc(p.n_devices + 1, sizeof(int));
	p.device_why = calloc(p.n_devices + 1, sizeof(char *));
	if (!p.cpus_allowed || !p.mems_allowed || !p.cgroup_cpus || !p.device_pci || !p.device_why)
		goto oom;
	snprintf(path, sizeof(path), "/proc/%s/status", pid);
	if (asios_read_file(root, path, &status, NULL) < 0) {
		warn(st, "%s: unreadable, process %s skipped", path, pid);
		goto skip;
	}
	status_set(status, "\nCpus_allowed_list:", p.cpus_allowed);
	status_set(status, "\nMems_allowed_list:", p.mems_allowed);
	free(status);
	cgroup_cpus(root, s, p.cgroup, p.cgroup_cpus);
	snprintf(path, sizeof(path), "/proc/%s/numa_maps", pid);
	if (asios_read_file(root, path, &maps, NULL) >= 0) {
		r = asios_numa_maps_parse(maps, &p.node_kb, &p.n_node_kb);
		free(maps);
		if (r == -ENOMEM)
			goto oom;
		p.numa_maps_ok = r == 0;
		if (r < 0)
			warn(st, "%s: malformed, its pages are not moved", path);
	}
	for (size_t i = 0; i < p.n_devices; i++)
		p.device_pci[i] = device_index(root, s, p.devices[i], &p.device_why[i]);
	{
		struct asios_numa_proc *np = realloc(st->procs, (st->n_procs + 1) * sizeof(*np));

		if (!np)
			goto oom;
		st->procs = np;
		st->procs[st->n_procs++] = p;
	}
	return 0;
skip:
	proc_clear(&p);
	return 0;
oom:
	proc_clear(&p);
	return -ENOMEM;
}

bool asios_numa_proc_wanted(struct asios_root *root, const struct asios_snapshot *s, const struct asios_numa_policy *pol,
			    int pid)
{
	char id[16], path[64], **devs = NULL, *comm = NULL, *cmd = NULL, *cg = NULL;
	size_t n = 0, len = 0;
	bool want = false, by_command = false, by_cgroup = false;

	/* each read only where the policy asks its question; most new processes are gone by now, and then the
	 * first read fails at once */
	snprintf(id, sizeof(id), "%d", pid);
	if (pol->accelerators && held_devices(root, id, true, &devs, &n) >= 0 && n)
		want = true;
	asios_strv_free(devs);
	for (size_t i = 0; i < pol->n_workloads; i++) {
		by_command |= pol->workloads[i].command != NULL;
		by_cgroup |= pol->workloads[i].cgroup != NULL;
	}
	if (want || (!by_command && !by_cgroup))
		return want;
	if (by_command) {
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		if (asios_read_line(root, path, &comm) < 0)
			return false;
		snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
		if (asios_read_file(root, path, &cmd, &len) < 0)
			cmd = NULL, len = 0;
		for (size_t i = 0; cmd && len && i < len - 1; i++)
			if (cmd[i] == '\0')
				cmd[i] = ' ';
	}
	cg = by_cgroup ? proc_cgroup(root, s, id) : NULL;
	for (size_t i = 0; i < pol->n_workloads && !want; i++)
		want = workload_matches(&pol->workloads[i], comm ? comm : "", cmd ? cmd : "", cg);
	free(comm);
	free(cmd);
	free(cg);
	return want;
}

static int read_pools(struct asios_root *root, const struct asios_snapshot *s, struct asios_numa_state *st)
{
	for (size_t i = 0; i < s->n_nodes; i++) {
		char dir[256], **sizes = NULL;

		snprintf(dir, sizeof(dir), "/sys/devices/system/node/node%u/hugepages", s->nodes[i].id);
		if (asios_list_dir(root, dir, &sizes) < 0)
			continue;
		for (size_t k = 0; sizes[k]; k++) {
			char path[512];
			struct asios_numa_pool *np;
			long nr;

			if (strncmp(sizes[k], "hugepages-", 10))
				continue;
			snprintf(path, sizeof(path), "%s/%s/nr_hugepages", dir, sizes[k]);
			if (asios_read_long(root, path, &nr) < 0) {
				warn(st, "%s: unreadable, ignoring", path);
				continue;
			}
			np = realloc(st->pools, (st->n_pools + 1) * sizeof(*np));
			if (!np) {
				asios_strv_free(sizes);
				return -ENOMEM;
			}
			st->pools = np;
			st->pools[st->n_pools++] = (struct asios_numa_pool){ s->nodes[i].id, strtoul(sizes[k] + 10, NULL, 10), nr };
		}
		asios_strv_free(sizes);
	}
	return 0;
}

static int pid_cmp(const void *a, const void *b)
{
	const struct asios_numa_proc *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

int asios_numa_observe(struct asios_root *root, const struct asios_snapshot *s, const struct asios_numa_policy *policy,
		       struct asios_numa_state **ret)
{
	struct asios_numa_policy none = { .accelerators = true };
	struct asios_numa_state *st = calloc(1, sizeof(*st));
	char **pids = NULL;
	long v;
	int r;

	if (!st)
		return -ENOMEM;
	if (!policy)
		policy = &none;
	st->numa_balancing = asios_read_long(root, "/proc/sys/kernel/numa_balancing", &v) >= 0 ? (int)v : -1;
	r = asios_list_dir(root, "/proc", &pids);
	if (r < 0 && r != -ENOENT) {
		asios_numa_state_free(st);
		return r;
	}
	r = 0;
	for (size_t i = 0; pids && pids[i]; i++) {
		if (!all_digits(pids[i]))
			continue;
		/* numad: a root process running the numad program (asios/peer.h), not whatever calls itself so */
		if (!st->numad_pid && asios_peer_is(root, pids[i], "numad") > 0)
			st->numad_pid = strtol(pids[i], NULL, 10);
		r = read_proc(root, s, policy, st, pids[i]);
		if (r < 0)
			break;
	}
	asios_strv_free(pids);
	if (r >= 0)
		r = read_pools(root, s, st);
	if (r < 0) {
		asios_numa_state_free(st);
		return r;
	}
	if (st->n_procs)
		qsort(st->procs, st->n_procs, sizeof(*st->procs), pid_cmp);
	*ret = st;
	return 0;
}
