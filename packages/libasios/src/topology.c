/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "asios/cpulist.h"
#include "snapshot-internal.h"

/*
 * CPU, cache and NUMA topology from hwloc, pointed at the same root as everything else. hwloc takes its
 * root from the environment (HWLOC_FSROOT), so the variables are set around the load and restored after.
 * Disallowed CPUs and nodes are kept (HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED) and flagged; GPU memory nodes
 * are kept too (HWLOC_KEEP_NVIDIA_GPU_NUMA_NODES) because the NUMA planner places work next to them.
 * Which CPUs a node holds is read from sysfs: hwloc attaches CPU-less nodes to a parent's cpuset.
 */

struct saved_env {
	const char *name;
	char *old;
	bool had;
};

static void env_set(struct saved_env *e, const char *name, const char *value)
{
	const char *old = getenv(name);

	e->name = name;
	e->had = old != NULL;
	e->old = old ? strdup(old) : NULL;
	if (value)
		setenv(name, value, 1);
	else
		unsetenv(name);
}

static void env_restore(struct saved_env *e)
{
	if (e->had)
		setenv(e->name, e->old ? e->old : "", 1);
	else
		unsetenv(e->name);
	free(e->old);
}

/*
 * hwloc prints its own complaints about the machine (a banner on stderr) unless told otherwise; in a daemon they
 * would reach the journal without a priority. Its stderr is caught in a memfd during the load and each message
 * becomes a snapshot warning, logged by the caller like any other.
 */
struct capture {
	int fd, saved;
};

static void capture_begin(struct capture *c)
{
	c->saved = -1;
	c->fd = memfd_create("asios-hwloc", MFD_CLOEXEC);
	if (c->fd < 0)
		return;
	fflush(stderr);
	c->saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (c->saved < 0 || dup2(c->fd, STDERR_FILENO) < 0) {
		if (c->saved >= 0)
			close(c->saved);
		close(c->fd);
		c->fd = c->saved = -1;
	}
}

/* hwloc's banner: "****", "* text", "*" lines; the FAQ pointers carry nothing about the machine */
static bool noise(const char *l)
{
	static const char *const skip[] = { "The following FAQ", "What should I do", "Otherwise please report",
					    "along with the files", NULL };

	for (size_t i = 0; skip[i]; i++)
		if (!strncmp(l, skip[i], strlen(skip[i])))
			return true;
	return !*l;
}

static void capture_end(struct asios_snapshot *s, struct capture *c)
{
	char buf[4096], *line, *save = NULL, msg[1024] = "";
	ssize_t n;

	if (c->fd < 0)
		return;
	fflush(stderr);
	(void)dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	n = pread(c->fd, buf, sizeof(buf) - 1, 0);
	close(c->fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t m = strlen(msg);

		line += strspn(line, "* \t");
		if (noise(line))
			continue;
		snprintf(msg + m, sizeof(msg) - m, "%s%s", m ? " " : "", line);
	}
	if (*msg)
		asios_snapshot_warn(s, "hwloc: %s", msg);
}

/*
 * cpu/online that is no CPU list: hwloc then sees CPU 0 alone and planners would pile everything onto it. Warn
 * naming the file and take each present CPU's own cpuN/online instead (CPU 0 often has none: online).
 */
static void online_fallback(struct asios_root *root, struct asios_snapshot *s)
{
	const char *path = "/sys/devices/system/cpu/online";
	hwloc_bitmap_t listed = hwloc_bitmap_alloc();
	unsigned id;
	int r;

	if (!listed)
		return;
	r = asios_read_cpuset(root, s, path, false, listed); /* warns naming the file when it is no list */
	hwloc_bitmap_free(listed);
	if (r >= 0 || r == -ENOENT || r == -ENOMEM)
		return;
	asios_snapshot_warn(s, "%s: unusable, online CPUs taken from each cpuN/online instead", path);
	hwloc_bitmap_copy(s->online, s->present);
	hwloc_bitmap_foreach_begin(id, s->present) {
		char p[96];
		long v;

		snprintf(p, sizeof(p), "/sys/devices/system/cpu/cpu%u/online", id);
		if (asios_read_long(root, p, &v) == 0 && v == 0)
			hwloc_bitmap_clr(s->online, id);
	} hwloc_bitmap_foreach_end();
	hwloc_bitmap_copy(s->allowed, s->online); /* hwloc's allowed set went by the same bad list */
}

static hwloc_obj_t ancestor(hwloc_obj_t o, hwloc_obj_type_t t)
{
	while (o && o->type != t)
		o = o->parent;
	return o;
}

/* one SLIT row of NODE: "10 21 …", one value per online (or possible) node in id order, which may name
 * nodes that have no directory left (an offlined node); NULL and a warning when it does not fit */
static int *distance_row(struct asios_root *root, struct asios_snapshot *s, size_t node, hwloc_const_bitmap_t online,
			 hwloc_const_bitmap_t possible, int *err)
{
	int row[1024], *d;
	char path[128], *line, *p, *end;
	size_t k = 0;

	*err = 0;
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%u/distance", s->nodes[node].id);
	if (asios_read_line(root, path, &line) < 0)
		return NULL;
	for (p = line; *p && k < 1024; p = end) {
		long v = strtol(p, &end, 10);

		if (end == p || v <= 0 || v > 255)
			break;
		row[k++] = (int)v;
	}
	p += strspn(p, " \t");
	d = calloc(s->n_nodes, sizeof(*d));
	if (!d) {
		*err = -ENOMEM;
	} else if (!*p && k == s->n_nodes) {
		memcpy(d, row, k * sizeof(*d));
	} else if (!*p && (k == (size_t)hwloc_bitmap_weight(online) || k == (size_t)hwloc_bitmap_weight(possible))) {
		hwloc_const_bitmap_t ids = k == (size_t)hwloc_bitmap_weight(online) ? online : possible;

		for (size_t j = 0; j < s->n_nodes; j++) {
			int pos = 0;
			unsigned id;

			hwloc_bitmap_foreach_begin(id, ids) {
				if (id == s->nodes[j].id)
					break;
				pos++;
			} hwloc_bitmap_foreach_end();
			d[j] = pos < (int)k ? row[pos] : 0;
		}
	} else {
		asios_snapshot_warn(s, "%s: expected %zu distances, got \"%s\", ignoring", path, s->n_nodes, line);
		free(d);
		d = NULL;
	}
	free(line);
	return d;
}

static int load_distances(struct asios_root *root, struct asios_snapshot *s)
{
	hwloc_bitmap_t online = hwloc_bitmap_alloc(), possible = hwloc_bitmap_alloc();
	int r = online && possible ? 0 : -ENOMEM;

	if (r == 0 && asios_read_cpuset(root, s, "/sys/devices/system/node/online", false, online) < 0)
		hwloc_bitmap_zero(online);
	if (r == 0 && asios_read_cpuset(root, s, "/sys/devices/system/node/possible", false, possible) < 0)
		hwloc_bitmap_zero(possible);
	for (size_t i = 0; r == 0 && i < s->n_nodes; i++)
		s->nodes[i].distances = distance_row(root, s, i, online, possible, &r);
	hwloc_bitmap_free(online);
	hwloc_bitmap_free(possible);
	return r;
}

static int load_nodes(struct asios_root *root, struct asios_snapshot *s, hwloc_topology_t topo)
{
	hwloc_const_nodeset_t allowed = hwloc_topology_get_allowed_nodeset(topo);
	int n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
	char path[128];

	if (n <= 0)
		return 0;
	s->nodes = calloc((size_t)n, sizeof(*s->nodes));
	if (!s->nodes)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		hwloc_obj_t o = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)i);
		struct asios_node *nd = &s->nodes[s->n_nodes++];

		nd->id = o->os_index;
		nd->memory_bytes = o->attr ? o->attr->numanode.local_memory : 0;
		nd->allowed = hwloc_bitmap_isset(allowed, o->os_index);
		nd->cpus = hwloc_bitmap_alloc();
		if (!nd->cpus)
			return -ENOMEM;
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%u/cpulist", nd->id);
		if (asios_read_cpuset(root, s, path, false, nd->cpus) == -ENOENT) {
			snprintf(path, sizeof(path), "/sys/devices/system/node/node%u/cpumap", nd->id);
			if (asios_read_cpuset(root, s, path, true, nd->cpus) == -ENOENT) {
				/* no sysfs node at all (kernel without NUMA): the single node holds every CPU */
				if (n == 1)
					hwloc_bitmap_copy(nd->cpus, s->online);
				else
					hwloc_bitmap_and(nd->cpus, o->cpuset, s->online);
			}
		}
		/* old kernels list every possible CPU of a node */
		hwloc_bitmap_and(nd->cpus, nd->cpus, s->present);
		if (o->subtype && !(nd->kind = strdup(o->subtype)))
			return -ENOMEM;
		if (hwloc_obj_get_info_by_name(o, "PCIBusID"))
			snprintf(nd->pci, sizeof(nd->pci), "%s", hwloc_obj_get_info_by_name(o, "PCIBusID"));
	}
	/* sorted by id, as hwloc's logical order need not be */
	for (size_t i = 1; i < s->n_nodes; i++)
		for (size_t j = i; j > 0 && s->nodes[j - 1].id > s->nodes[j].id; j--) {
			struct asios_node t = s->nodes[j];

			s->nodes[j] = s->nodes[j - 1];
			s->nodes[j - 1] = t;
		}
	return load_distances(root, s);
}

static int load_cpus(struct asios_snapshot *s, hwloc_topology_t topo)
{
	hwloc_bitmap_t all = hwloc_bitmap_dup(s->present);
	int max_depth = -1;
	unsigned id, k = 0;
	hwloc_obj_t *llcs = NULL;
	size_t n_llcs = 0;

	if (!all)
		return -ENOMEM;
	hwloc_bitmap_or(all, all, s->online);
	s->cpus = calloc((size_t)hwloc_bitmap_weight(all) + 1, sizeof(*s->cpus));
	if (!s->cpus) {
		hwloc_bitmap_free(all);
		return -ENOMEM;
	}
	hwloc_bitmap_foreach_begin(id, all) {
		struct asios_cpu *c = &s->cpus[k++];
		hwloc_obj_t pu = hwloc_get_pu_obj_by_os_index(topo, id), o, llc = NULL;

		c->id = id;
		c->core = c->core_id = c->package = c->package_id = c->node = c->llc = -1;
		c->online = hwloc_bitmap_isset(s->online, id);
		c->allowed = hwloc_bitmap_isset(s->allowed, id);
		for (size_t i = 0; i < s->n_nodes; i++)
			if (hwloc_bitmap_isset(s->nodes[i].cpus, id)) {
				c->node = (int)s->nodes[i].id;
				break;
			}
		if (!pu)
			continue;
		if ((o = ancestor(pu, HWLOC_OBJ_CORE))) {
			c->core = (int)o->logical_index;
			c->core_id = o->os_index == HWLOC_UNKNOWN_INDEX ? -1 : (int)o->os_index;
		}
		if ((o = ancestor(pu, HWLOC_OBJ_PACKAGE))) {
			c->package = (int)o->logical_index;
			c->package_id = o->os_index == HWLOC_UNKNOWN_INDEX ? -1 : (int)o->os_index;
		}
		for (o = pu->parent; o; o = o->parent)
			if (hwloc_obj_type_is_dcache(o->type) && (!llc || o->attr->cache.depth > llc->attr->cache.depth))
				llc = o;
		if (llc) {
			size_t i;

			if ((int)llc->attr->cache.depth > max_depth)
				max_depth = (int)llc->attr->cache.depth;
			for (i = 0; i < n_llcs && llcs[i] != llc; i++)
				;
			if (i == n_llcs) {
				hwloc_obj_t *nl = realloc(llcs, (n_llcs + 1) * sizeof(*nl));

				if (!nl) {
					free(llcs);
					hwloc_bitmap_free(all);
					return -ENOMEM;
				}
				llcs = nl;
				llcs[n_llcs++] = llc;
			}
			c->llc = (int)i;
		}
	} hwloc_bitmap_foreach_end();
	s->n_cpus = k;
	hwloc_bitmap_free(all);

	s->caches = calloc(n_llcs + 1, sizeof(*s->caches));
	if (!s->caches) {
		free(llcs);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n_llcs; i++) {
		s->caches[i].level = llcs[i]->attr->cache.depth;
		s->caches[i].size = llcs[i]->attr->cache.size;
		s->caches[i].cpus = hwloc_bitmap_dup(llcs[i]->cpuset);
		if (!s->caches[i].cpus) {
			free(llcs);
			return -ENOMEM;
		}
		s->n_caches++;
	}
	free(llcs);
	s->n_packages = (unsigned)hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE);
	s->n_cores = (unsigned)hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
	return 0;
}

/*
 * hwloc opens what it reads below HWLOC_FSROOT with plain openat(): a link in a capture leading outside it would
 * be followed to this machine's files. The trees it reads are checked first; such a link fails the load
 * (-EXDEV) with a warning naming it, the last one of the snapshot.
 */
static int check_hwloc_trees(struct asios_root *root, struct asios_snapshot *s)
{
	static const struct {
		const char *path;
		unsigned depth;
	} trees[] = {
		{ "/sys/devices/system/cpu", 6 }, { "/sys/devices/system/node", 4 }, { "/sys/bus/cpu", 3 },
		{ "/sys/bus/node", 3 },           { "/sys/fs/cgroup", 2 },            { "/sys/class/dmi/id", 1 },
		{ "/sys/kernel/mm/hugepages", 2 }, { "/sys/firmware/devicetree", 4 }, { "/sys/devices/soc0", 1 },
		{ "/proc/cpuinfo", 0 },           { "/proc/meminfo", 0 },             { "/proc/mounts", 0 },
		{ "/proc/self", 1 },
	};

	for (size_t i = 0; i < sizeof(trees) / sizeof(trees[0]); i++) {
		char *bad = NULL;
		int r = asios_root_check_links(root, trees[i].path, trees[i].depth, &bad);

		if (r == -EXDEV)
			asios_snapshot_warn(s, "%s: a link leading outside the root, not followed (no topology read)", bad);
		else if (r == -E2BIG)
			asios_snapshot_warn(s, "%s: over a million entries, not read", trees[i].path);
		free(bad);
		if (r < 0)
			return r == -E2BIG ? -EXDEV : r;
	}
	return 0;
}

int asios_topology_load(struct asios_root *root, struct asios_snapshot *s)
{
	struct saved_env env[5];
	bool host = asios_root_is_host(root);
	hwloc_topology_t topo;
	int r;

	r = check_hwloc_trees(root, s);
	if (r < 0)
		return r;
	env_set(&env[0], "HWLOC_FSROOT", host ? NULL : asios_root_path(root));
	/* only the Linux backend (sysfs), on the host too: the x86 one would read this machine's CPUID into a
	 * capture's topology, and a capture must describe its machine exactly as the live snapshot does */
	env_set(&env[1], "HWLOC_COMPONENTS", "linux,stop");
	env_set(&env[2], "HWLOC_THISSYSTEM", host ? NULL : "0");
	env_set(&env[3], "HWLOC_KEEP_NVIDIA_GPU_NUMA_NODES", "1");
	env_set(&env[4], "HWLOC_HIDE_ERRORS", "1"); /* critical ones only, caught below */
	r = hwloc_topology_init(&topo) < 0 ? -ENOMEM : 0;
	if (r == 0) {
		struct capture c;

		hwloc_topology_set_flags(topo, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED);
		hwloc_topology_set_io_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_NONE);
		capture_begin(&c);
		if (hwloc_topology_load(topo) < 0) {
			r = errno == ENOMEM ? -ENOMEM : -ENODATA; /* hwloc fails with EINVAL on a tree without CPUs */
			hwloc_topology_destroy(topo);
		}
		capture_end(s, &c);
	}
	for (int i = 4; i >= 0; i--)
		env_restore(&env[i]);
	if (r < 0)
		return r;

	s->present = hwloc_bitmap_dup(hwloc_topology_get_complete_cpuset(topo));
	s->online = hwloc_bitmap_dup(hwloc_topology_get_topology_cpuset(topo));
	s->allowed = hwloc_bitmap_dup(hwloc_topology_get_allowed_cpuset(topo));
	s->offline = hwloc_bitmap_alloc();
	s->possible = hwloc_bitmap_alloc();
	if (!s->present || !s->online || !s->allowed || !s->offline || !s->possible) {
		hwloc_topology_destroy(topo);
		return -ENOMEM;
	}
	online_fallback(root, s);
	hwloc_bitmap_andnot(s->offline, s->present, s->online);
	if (asios_read_cpuset(root, s, "/sys/devices/system/cpu/possible", false, s->possible) < 0)
		hwloc_bitmap_copy(s->possible, s->present);
	hwloc_bitmap_or(s->possible, s->possible, s->present);
	hwloc_bitmap_and(s->allowed, s->allowed, s->online);

	r = load_nodes(root, s, topo);
	if (r >= 0)
		r = load_cpus(s, topo);
	hwloc_topology_destroy(topo);
	if (r >= 0 && s->n_cpus == 0)
		r = -ENODATA;
	return r;
}
