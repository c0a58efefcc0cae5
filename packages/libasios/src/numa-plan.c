/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/cpulist.h"
#include "asios/numa-plan.h"

/*
 * The NUMA planner. Pure: it reads only the snapshot, the observation and the policy.
 *
 * 1. Huge page pools: every [hugepages] nodeN = COUNT is a write of that node's nr_hugepages when it differs.
 * 2. A workload is a process holding an accelerator open (accelerators = yes) or one a [workload] section
 *    matches (first match in file order). ignore = yes leaves it alone. Its home nodes are the NUMA nodes of
 *    its accelerators' PCI devices, or the configured node. Devices of unknown node, and device files that
 *    match no device, are reported; a process with nothing else is left alone.
 * 3. Several home nodes: multi_node = split (CPUs of all of them, pages on other nodes moved onto them),
 *    interleave (CPUs of all of them, pages left where they are: only the process itself can interleave its
 *    memory, e.g. numactl --interleave at launch) or leave (reported, untouched).
 * 4. CPUs: the housekeeping CPUs (online − isolated − nohz_full − banned_cpus) of each home node; a home node
 *    without any (a CPU-less GPU-memory, HBM or CXL node, or a node whose CPUs are all isolated) uses the
 *    nearest node by SLIT distance that has some. cpus = LIST of a [workload] replaces this (the workload owns
 *    them, isolated ones included). The result is cut to the process's cgroup cpuset; when nothing is left the
 *    process is left alone with the reason. A process already confined within the target set is not touched.
 * 5. Memory: with migrate = yes, resident pages on CPU nodes outside the target nodes are moved there
 *    (migrate_pages(2)). Pages on CPU-less nodes stay: they were put there on purpose (GPU memory, HBM, CXL).
 *    Target nodes outside the process's Mems_allowed are not used.
 * 6. AutoNUMA (/proc/sys/kernel/numa_balancing is global; Linux 6.12 has no per-process switch, and
 *    MPOL_F_NUMA_BALANCING only acts on a process's own memory policy): autonuma = off|on sets it, leave never
 *    touches it, auto sets it only when every placed workload wants the same (autonuma = yes|no per
 *    workload; accelerator workloads want it off, their memory being placed) and leaves it otherwise.
 * 7. Order of the actions: huge page pools, affinities, the AutoNUMA switch, then page migrations, so that a
 *    failed write rolls back before any page has moved. Planning again after an apply gives an empty plan.
 */

struct planner {
	const struct asios_snapshot *s;
	const struct asios_numa_state *st;
	const struct asios_numa_policy *p;
	struct asios_plan *plan;
	hwloc_bitmap_t hk;
	unsigned placed, want_off, want_on;
};

struct migration {
	size_t proc;
	hwloc_bitmap_t from, to;
	char *reason;
};

static int node_index(const struct asios_snapshot *s, unsigned id)
{
	const struct asios_node *n = asios_snapshot_node(s, (int)id);

	return n ? (int)(n - s->nodes) : -1;
}

/* the node whose housekeeping CPUs serve node ID: itself, or the nearest with some (-1: none at all) */
static int cpu_node_for(struct planner *pl, unsigned id)
{
	const struct asios_snapshot *s = pl->s;
	int at = node_index(s, id), best = -1, best_d = 0;

	if (at < 0)
		return -1;
	if (hwloc_bitmap_intersects(s->nodes[at].cpus, pl->hk))
		return (int)id;
	for (size_t i = 0; i < s->n_nodes; i++) {
		int d = s->nodes[at].distances ? s->nodes[at].distances[i] : (int)(10 + i);

		if ((int)i == at || !hwloc_bitmap_intersects(s->nodes[i].cpus, pl->hk))
			continue;
		if (best < 0 || d < best_d)
			best = (int)s->nodes[i].id, best_d = d;
	}
	return best;
}

static bool is_amd_gpu(const struct asios_pci_device *d)
{
	return d->vendor == 0x1002 && (d->cls == ASIOS_DEV_GPU || d->cls == ASIOS_DEV_ACCEL);
}

/* append printf text to a growing string (on failure the string is dropped) */
static void cat(char **str, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void cat(char **str, const char *fmt, ...)
{
	char *add = NULL, *n = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&add, fmt, ap);
	va_end(ap);
	if (r >= 0 && asprintf(&n, "%s%s", *str ? *str : "", add) < 0)
		n = NULL;
	free(add);
	free(*str);
	*str = n;
}

const struct asios_numa_workload *asios_numa_workload_of(const struct asios_numa_policy *p,
						   const struct asios_numa_proc *pr)
{
	for (size_t i = 0; i < p->n_workloads; i++) {
		const struct asios_numa_workload *w = &p->workloads[i];

		if (w->command && ((*pr->cmdline && !fnmatch(w->command, pr->cmdline, 0)) || !fnmatch(w->command, pr->comm, 0)))
			return w;
		if (w->cgroup && pr->cgroup) {
			size_t n = strlen(w->cgroup);

			while (n > 1 && w->cgroup[n - 1] == '/')
				n--;
			if (!strncmp(pr->cgroup, w->cgroup, n) && (pr->cgroup[n] == '\0' || pr->cgroup[n] == '/' || n == 1))
				return w;
		}
	}
	return NULL;
}

static char *fmt_set(hwloc_const_bitmap_t set)
{
	char *l = asios_cpulist_format(set);

	return l ? l : strdup("?");
}

static int hugepages(struct planner *pl)
{
	for (size_t i = 0; i < pl->p->n_hugepages; i++) {
		const struct asios_numa_hugepages *h = &pl->p->hugepages[i];
		const struct asios_numa_pool *pool = NULL;
		char object[96], path[256], old[32], new[32];
		int r;

		snprintf(object, sizeof(object), "node %u hugepages-%lukB", h->node, h->size_kb);
		if (!asios_snapshot_node(pl->s, (int)h->node)) {
			r = asios_plan_skip_object(pl->plan, object, "[hugepages] node%u: this machine has no node %u", h->node,
						   h->node);
			if (r < 0)
				return r;
			continue;
		}
		for (size_t k = 0; k < pl->st->n_pools && !pool; k++)
			if (pl->st->pools[k].node == h->node && pl->st->pools[k].size_kb == h->size_kb)
				pool = &pl->st->pools[k];
		if (!pool) {
			r = asios_plan_skip_object(pl->plan, object,
						   "node %u has no %lu kB huge page pool (kernel without hugetlbfs, or a size "
						   "this CPU does not have)", h->node, h->size_kb);
			if (r < 0)
				return r;
			continue;
		}
		if (pool->nr == h->count)
			continue;
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%u/hugepages/hugepages-%lukB/nr_hugepages",
			 h->node, h->size_kb);
		snprintf(old, sizeof(old), "%ld", pool->nr);
		snprintf(new, sizeof(new), "%ld", h->count);
		r = asios_plan_add_write(pl->plan, object, path, old, new,
					 "[hugepages] node%u = %ld: %s %ld huge pages of %lu kB on node %u (%ld MiB)", h->node,
					 h->count, h->count > pool->nr ? "reserve" : "keep only", h->count, h->size_kb, h->node,
					 h->count * (long)h->size_kb / 1024);
		if (r < 0)
			return r;
	}
	return 0;
}

/* one process: affinity now, migration into *mig for later. 0, or -ENOMEM. */
/* one workload being placed: what place() and its steps share */
struct placing {
	const struct asios_numa_proc *pr;
	const struct asios_numa_workload *w;
	hwloc_bitmap_t homes, cpu_nodes, target, mem, from, t2;
	char object[64], *devs, *unknown, *why;
	int multi;
};

#define GO 0
#define STOP 1 /* said (skipped) or nothing more to do */

/* the nodes of the workload's accelerators; the ones of unknown node listed */
static void find_homes(struct planner *pl, struct placing *x)
{
	const struct asios_snapshot *s = pl->s;
	const struct asios_numa_proc *pr = x->pr;
	bool kfd = false, known = false;

	for (size_t i = 0; i < pr->n_devices; i++) {
		int idx = pr->device_pci[i];

		if (idx == -2) {
			kfd = true;
		} else if (idx < 0) {
			cat(&x->unknown, "%s%s (%s)", x->unknown ? ", " : "", pr->devices[i],
			    pr->device_why[i] ? pr->device_why[i] : "no such device");
		} else if (s->pci[idx].node < 0) {
			cat(&x->unknown, "%s%s (%s: NUMA node unknown)", x->unknown ? ", " : "", pr->devices[i],
			    s->pci[idx].addr);
		} else {
			hwloc_bitmap_set(x->homes, (unsigned)s->pci[idx].node);
			cat(&x->devs, "%s%s %s", x->devs ? ", " : "", pr->devices[i], s->pci[idx].addr);
			known = true;
		}
	}
	if (kfd && !known) {
		for (size_t i = 0; i < s->n_pci; i++)
			if (is_amd_gpu(&s->pci[i]) && s->pci[i].node >= 0) {
				hwloc_bitmap_set(x->homes, (unsigned)s->pci[i].node);
				cat(&x->devs, "%s/dev/kfd %s", x->devs ? ", " : "", s->pci[i].addr);
			}
		if (hwloc_bitmap_iszero(x->homes))
			cat(&x->unknown, "%s/dev/kfd (no AMD GPU of known node on this machine)", x->unknown ? ", " : "");
	}
}

/* the home nodes as the policy has them: a configured node, or the accelerators' (GO), or why not (STOP) */
static int settle_homes(struct planner *pl, struct placing *x)
{
	const struct asios_numa_workload *w = x->w;
	int r = GO;

	if (w && w->node >= 0) {
		if (!asios_snapshot_node(pl->s, w->node))
			return asios_plan_skip_object(pl->plan, x->object, "[workload %s] node = %d: this machine has no node %d",
						      w->name, w->node, w->node) < 0 ? -ENOMEM : STOP;
		hwloc_bitmap_only(x->homes, (unsigned)w->node);
		free(x->devs);
		x->devs = NULL;
		cat(&x->devs, "[workload %s] node = %d", w->name, w->node);
	} else if (hwloc_bitmap_iszero(x->homes)) {
		if (x->unknown)
			r = asios_plan_skip_object(pl->plan, x->object, "unknown accelerator%s: %s; left alone",
						   strchr(x->unknown, ',') ? "s" : "", x->unknown);
		else if (w && w->cpus)
			cat(&x->devs, "[workload %s]", w->name);
		else
			r = asios_plan_skip_object(pl->plan, x->object,
						   "matches [workload %s] but holds no accelerator and has no node = or cpus =: "
						   "nothing to place it by", w ? w->name : "?");
		if (r < 0)
			return r;
		if (!x->devs)
			return STOP;
	}
	if (!x->devs)
		return -ENOMEM;
	x->multi = w && w->multi != ASIOS_NUMA_MULTI_INHERIT ? w->multi : (int)pl->p->multi;
	if (hwloc_bitmap_weight(x->homes) > 1 && x->multi == ASIOS_NUMA_MULTI_LEAVE) {
		char *a = fmt_set(x->homes);

		r = asios_plan_skip_object(pl->plan, x->object, "its accelerators are on nodes %s (%s); multi_node = leave", a,
					   x->devs);
		free(a);
		return r < 0 ? r : STOP;
	}
	return GO;
}

/* the housekeeping CPUs of the home nodes (or of the nearest node with some) */
static int home_cpus(struct planner *pl, struct placing *x)
{
	const struct asios_snapshot *s = pl->s;
	unsigned id;
	char *a;

	hwloc_bitmap_foreach_begin(id, x->homes) {
		int cn = cpu_node_for(pl, id);

		if (cn < 0) {
			int r = asios_plan_skip_object(pl->plan, x->object, "no node has housekeeping CPUs: left alone");

			return r < 0 ? r : STOP;
		}
		hwloc_bitmap_set(x->cpu_nodes, (unsigned)cn);
		if (cn != (int)id) {
			const struct asios_node *n = asios_snapshot_node(s, (int)id);

			cat(&x->why, "%snode %u has no housekeeping CPUs (%s), so node %d's", x->why ? "; " : "", id,
			    hwloc_bitmap_iszero(n->cpus) ? (n->kind ? n->kind : "CPU-less memory node") : "all isolated", cn);
		}
	}
	hwloc_bitmap_foreach_end();
	for (size_t i = 0; i < s->n_nodes; i++)
		if (hwloc_bitmap_isset(x->cpu_nodes, s->nodes[i].id))
			hwloc_bitmap_or(x->target, x->target, s->nodes[i].cpus);
	hwloc_bitmap_and(x->target, x->target, pl->hk);
	a = fmt_set(x->cpu_nodes);
	cat(&x->why, "%shousekeeping CPUs of node%s %s", x->why ? "; " : "", hwloc_bitmap_weight(x->cpu_nodes) > 1 ? "s" : "",
	    a);
	free(a);
	return GO;
}

/* CPUs: the ones the workload owns, or its nodes' housekeeping CPUs; within its cgroup's cpuset */
static int choose_cpus(struct planner *pl, struct placing *x)
{
	const struct asios_snapshot *s = pl->s;
	const struct asios_numa_proc *pr = x->pr;
	char *a = NULL, *b = NULL;
	int r = GO;

	if (x->w && x->w->cpus) {
		hwloc_bitmap_and(x->target, x->w->cpus, s->online);
		for (size_t i = 0; i < s->n_nodes; i++)
			if (hwloc_bitmap_intersects(s->nodes[i].cpus, x->target))
				hwloc_bitmap_set(x->cpu_nodes, s->nodes[i].id);
		cat(&x->why, "the CPUs [workload %s] owns", x->w->name);
	} else if ((r = home_cpus(pl, x)) != GO) {
		return r;
	}
	if (!hwloc_bitmap_iszero(pr->cgroup_cpus)) {
		hwloc_bitmap_and(x->t2, x->target, pr->cgroup_cpus);
		if (hwloc_bitmap_iszero(x->t2)) {
			a = fmt_set(pr->cgroup_cpus);
			b = fmt_set(x->target);
			r = asios_plan_skip_object(pl->plan, x->object, "its cgroup %s allows CPUs %s, none of %s (%s); left alone",
						   pr->cgroup ? pr->cgroup : "?", a, b, x->devs);
			r = r < 0 ? r : STOP;
		} else if (!hwloc_bitmap_isequal(x->t2, x->target)) {
			a = fmt_set(pr->cgroup_cpus);
			cat(&x->why, ", within its cgroup's cpuset %s", a);
			hwloc_bitmap_copy(x->target, x->t2);
		}
	}
	free(a);
	free(b);
	if (r == GO && hwloc_bitmap_iszero(x->target)) {
		r = asios_plan_skip_object(pl->plan, x->object, "no online CPU is left for it (%s); left alone", x->devs);
		r = r < 0 ? r : STOP;
	}
	return r == GO && !x->why ? -ENOMEM : r;
}

/* the nodes its memory should be on, within its cpuset's mems; STOP when there is nothing to move */
static int memory_nodes(struct planner *pl, struct placing *x)
{
	const struct asios_numa_workload *w = x->w;
	const struct asios_numa_proc *pr = x->pr;

	if (!(w && w->migrate >= 0 ? w->migrate : pl->p->migrate) || !pr->numa_maps_ok)
		return STOP;
	if (hwloc_bitmap_weight(x->homes) > 1 && x->multi == ASIOS_NUMA_MULTI_INTERLEAVE)
		return STOP;
	if (w && w->node >= 0) /* named in the configuration: its memory goes there, CPU-less or not */
		hwloc_bitmap_only(x->mem, (unsigned)w->node);
	else
		hwloc_bitmap_copy(x->mem, x->cpu_nodes);
	if (!hwloc_bitmap_iszero(pr->mems_allowed)) {
		hwloc_bitmap_and(x->t2, x->mem, pr->mems_allowed);
		if (hwloc_bitmap_iszero(x->t2)) {
			char *a = fmt_set(pr->mems_allowed), *b = fmt_set(x->mem);
			int r = asios_plan_skip_object(pl->plan, x->object,
						       "memory not moved: its cpuset allows nodes %s, none of %s", a, b);

			free(a);
			free(b);
			return r < 0 ? r : STOP;
		}
		hwloc_bitmap_copy(x->mem, x->t2);
	}
	return GO;
}

/* pages resident away from its CPUs: the migration to plan */
static int plan_memory(struct planner *pl, struct placing *x, size_t k, struct migration *mig)
{
	const struct asios_numa_proc *pr = x->pr;
	unsigned long long moved = 0, kept = 0;
	char *a, *b, *c = NULL;
	int r = memory_nodes(pl, x);

	if (r != GO)
		return r < 0 ? r : 0;
	for (size_t n = 0; n < pr->n_node_kb; n++) {
		const struct asios_node *node = asios_snapshot_node(pl->s, (int)n);

		if (!pr->node_kb[n] || hwloc_bitmap_isset(x->mem, (unsigned)n) || !node)
			continue;
		if (hwloc_bitmap_iszero(node->cpus)) {
			kept += pr->node_kb[n];
			continue;
		}
		hwloc_bitmap_set(x->from, (unsigned)n);
		moved += pr->node_kb[n];
	}
	if (hwloc_bitmap_iszero(x->from))
		return 0;
	a = fmt_set(x->from);
	b = fmt_set(x->mem);
	if (kept)
		cat(&c, "; %llu %s on CPU-less memory nodes stays there", kept >= 1024 ? kept / 1024 : kept,
		    kept >= 1024 ? "MiB" : "KiB");
	mig->proc = k;
	mig->from = hwloc_bitmap_dup(x->from);
	mig->to = hwloc_bitmap_dup(x->mem);
	if (asprintf(&mig->reason, "%llu %s resident on node%s %s, away from its CPUs: move to node%s %s (%s)%s",
		     moved >= 1024 ? moved / 1024 : moved, moved >= 1024 ? "MiB" : "KiB",
		     hwloc_bitmap_weight(x->from) > 1 ? "s" : "", a, hwloc_bitmap_weight(x->mem) > 1 ? "s" : "", b, x->devs,
		     c ? c : "") < 0)
		mig->reason = NULL;
	if (!mig->from || !mig->to || !mig->reason)
		r = -ENOMEM;
	free(a);
	free(b);
	free(c);
	return r;
}

static int place_steps(struct planner *pl, struct placing *x, size_t k, struct migration *mig)
{
	const struct asios_numa_proc *pr = x->pr;
	int r;

	if (x->w && x->w->ignore)
		return asios_plan_skip_object(pl->plan, x->object, "ignored by [workload %s]", x->w->name);
	find_homes(pl, x);
	if ((r = settle_homes(pl, x)) != GO || (r = choose_cpus(pl, x)) != GO)
		return r < 0 ? r : 0;
	pl->placed++;
	if (x->w && x->w->autonuma > 0)
		pl->want_on++;
	else
		pl->want_off++;
	if (hwloc_bitmap_iszero(pr->cpus_allowed) || !hwloc_bitmap_isincluded(pr->cpus_allowed, x->target)) {
		r = asios_plan_add_affinity(pl->plan, pr->pid, pr->starttime, pr->comm, pr->cpus_allowed, x->target, "%s: %s",
					    x->devs, x->why);
		if (r < 0)
			return r;
	}
	return plan_memory(pl, x, k, mig);
}

static int place(struct planner *pl, size_t k, struct migration *mig)
{
	struct placing x = { .pr = &pl->st->procs[k] };
	hwloc_bitmap_t *sets[] = { &x.homes, &x.cpu_nodes, &x.target, &x.mem, &x.from, &x.t2 };
	int r = 0;

	x.w = asios_numa_workload_of(pl->p, x.pr);
	snprintf(x.object, sizeof(x.object), "pid %d (%s)", x.pr->pid, x.pr->comm);
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		if (!(*sets[i] = hwloc_bitmap_alloc()))
			r = -ENOMEM;
	if (r >= 0)
		r = place_steps(pl, &x, k, mig);
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		hwloc_bitmap_free(*sets[i]);
	free(x.devs);
	free(x.unknown);
	free(x.why);
	return r;
}

static int autonuma(struct planner *pl)
{
	int cur = pl->st->numa_balancing, want = -1;
	char old[16], new[16];

	switch (pl->p->autonuma) {
	case ASIOS_AUTONUMA_LEAVE:
		if (cur > 0 && pl->placed)
			return asios_plan_note(pl->plan, "kernel AutoNUMA is on and may move pages of the placed workloads; "
					       "autonuma = leave keeps it so");
		return 0;
	case ASIOS_AUTONUMA_OFF:
		want = 0;
		break;
	case ASIOS_AUTONUMA_ON:
		want = 1;
		break;
	case ASIOS_AUTONUMA_AUTO:
		if (!pl->placed)
			return 0;
		if (pl->want_on && pl->want_off)
			return asios_plan_note(pl->plan, "workloads disagree on AutoNUMA (%u want it off, %u on): the global "
					       "switch is left as it is", pl->want_off, pl->want_on);
		want = pl->want_on ? 1 : 0;
		break;
	}
	if (cur < 0)
		return asios_plan_note(pl->plan, "this kernel has no AutoNUMA (no /proc/sys/kernel/numa_balancing)");
	if ((cur > 0) == (want > 0))
		return 0;
	snprintf(old, sizeof(old), "%d", cur);
	snprintf(new, sizeof(new), "%d", want);
	if (pl->p->autonuma == ASIOS_AUTONUMA_AUTO)
		return asios_plan_add_write(pl->plan, "AutoNUMA", "/proc/sys/kernel/numa_balancing", old, new,
					    "autonuma = auto: %s %u placed workload%s want%s AutoNUMA %s (%s)",
					    pl->placed == 1 ? "the" : "all", pl->placed, pl->placed == 1 ? "" : "s",
					    pl->placed == 1 ? "s" : "", want ? "on" : "off",
					    want ? "as configured" : "placed memory gains nothing from its hinting faults");
	return asios_plan_add_write(pl->plan, "AutoNUMA", "/proc/sys/kernel/numa_balancing", old, new,
				    "autonuma = %s in numad.conf", want ? "on" : "off");
}

int asios_numa_plan(const struct asios_snapshot *s, const struct asios_numa_state *st, const struct asios_numa_policy *p,
		    struct asios_plan **ret)
{
	struct planner pl = { .s = s, .st = st, .p = p };
	struct migration *migs = calloc(st->n_procs + 1, sizeof(*migs));
	int r = -ENOMEM;

	pl.plan = asios_plan_new();
	pl.hk = hwloc_bitmap_alloc();
	if (!pl.plan || !pl.hk || !migs)
		goto out;
	/* the snapshot's housekeeping set (online, not isolated, not nohz_full), less the banned CPUs */
	hwloc_bitmap_andnot(pl.hk, s->isolation.housekeeping, p->banned_cpus);
	r = asios_plan_note_absent(pl.plan, p->banned_cpus, s->online, "banned_cpus");
	for (size_t i = 0; i < p->n_workloads && r >= 0; i++) {
		char what[96];

		snprintf(what, sizeof(what), "[workload %s] cpus", p->workloads[i].name);
		r = asios_plan_note_absent(pl.plan, p->workloads[i].cpus, s->online, what);
	}
	if (r >= 0)
		r = hugepages(&pl);
	for (size_t k = 0; r >= 0 && k < st->n_procs; k++)
		r = place(&pl, k, &migs[k]);
	if (r >= 0)
		r = autonuma(&pl);
	for (size_t k = 0; r >= 0 && k < st->n_procs; k++)
		if (migs[k].reason)
			r = asios_plan_add_migrate(pl.plan, st->procs[k].pid, st->procs[k].starttime, st->procs[k].comm,
						   migs[k].from, migs[k].to, "%s", migs[k].reason);
	if (r >= 0 && !st->n_procs)
		r = asios_plan_note(pl.plan, "no workload: no process holds an accelerator open or matches a [workload]");
out:
	for (size_t k = 0; migs && k < st->n_procs; k++) {
		hwloc_bitmap_free(migs[k].from);
		hwloc_bitmap_free(migs[k].to);
		free(migs[k].reason);
	}
	free(migs);
	hwloc_bitmap_free(pl.hk);
	if (r < 0) {
		asios_plan_free(pl.plan);
		return r;
	}
	*ret = pl.plan;
	return 0;
}
