/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/cpulist.h"
#include "asios/irq-plan.h"

/*
 * The IRQ planner. Pure: it reads only the snapshot and the policy, and the same input gives the same plan.
 *
 * 1. Housekeeping CPUs = online − isolated − nohz_full − banned_cpus. No IRQ is ever planned outside them.
 * 2. Kernel-managed IRQs (NVMe queues, managed MSI-X) cannot be moved: skipped and reported. Banned IRQs and
 *    ignored IRQs/devices are skipped too.
 * 3. A device's IRQs go to the housekeeping CPUs of the device's NUMA node; when that node has none (all
 *    isolated, or a CPU-less node), to the nearest node by SLIT distance that has some, with a note.
 * 4. Queue vectors of a device (mlx5 comp, i40e/ice TxRx, virtio queues, nvmeNqM…) get one CPU each, spread over
 *    that CPU set one physical core at a time (SMT siblings only after every core has one), continuing where
 *    the previous device on the node stopped, so that queues of different devices do not pile onto the same
 *    cores. Other vectors (async, misc, admin, single-vector devices) get the whole set.
 * 5. GPU-aware: a NIC paired with a GPU (the nearest by PCIe distance, through at most the host bridge) starts
 *    its queues on the housekeeping CPUs local to that GPU.
 * 6. IRQs of no device, or of a device whose node is unknown, are only taken off isolated or banned CPUs.
 * 7. An IRQ whose affinity already equals its target produces no action: planning again after an apply gives
 *    an empty plan.
 * 8. Rate-aware (asios_irq_plan_rated, used by the daemon when measured rates show a lopsided load): the
 *    queue vectors of a device are taken busiest first, each to the least-loaded CPU of the order of step 4
 *    (load = the rates of every IRQ already placed there; ties go to the CPU with fewer queues, then to the
 *    order of step 4), so two hot queues never share a core while a cold one is alone.
 */

struct planner {
	const struct asios_snapshot *s;
	const struct asios_irq_policy *p;
	struct asios_plan *plan;
	hwloc_bitmap_t hk;        /* housekeeping */
	hwloc_bitmap_t excluded;  /* isolated ∪ nohz_full ∪ banned */
	size_t *next;             /* per node (index in s->nodes): next position of the queue spread */
	const double *rates;      /* rate-aware: interrupts/s by IRQ number, or NULL */
	size_t n_rates;
	double *load;             /* rate-aware: per CPU (OS index), the rates of the IRQs placed there */
	unsigned *nq;             /* rate-aware: per CPU, queue vectors placed there */
	size_t n_slots;
};

static double rate_of(const double *rates, size_t n_rates, unsigned irq)
{
	return rates && irq < n_rates ? rates[irq] : 0.0;
}

/* add the rate of IRQ to the CPUs of TO, spread evenly */
static void account(double *load, size_t n_slots, double rate, hwloc_const_bitmap_t to)
{
	int w = hwloc_bitmap_weight(to), c;

	if (w <= 0 || rate <= 0)
		return;
	hwloc_bitmap_foreach_begin(c, to)
	{
		if ((size_t)c < n_slots)
			load[c] += rate / w;
	}
	hwloc_bitmap_foreach_end();
}

static bool banned_irq(const struct asios_irq_policy *p, unsigned irq)
{
	for (size_t i = 0; i < p->n_banned_irqs; i++)
		if (p->banned_irqs[i] == (int)irq)
			return true;
	return false;
}

static const struct asios_irq_override *find_override(const struct asios_irq_policy *p, int irq, const char *dev)
{
	for (size_t i = 0; i < p->n_overrides; i++) {
		const struct asios_irq_override *o = &p->overrides[i];

		if ((irq >= 0 && o->irq == irq) || (dev && o->irq < 0 && !strcmp(o->device, dev)))
			return o;
	}
	return NULL;
}

static bool is_queue_vector(const char *name)
{
	static const char *const words[] = { "comp", "TxRx", "txrx", "-rx-", "-tx-", "-rx", "-tx", "-fp-", "queue",
					     "-input.", "-output.", "req.", "ring", NULL };
	const char *q;

	if (!name)
		return false;
	for (size_t i = 0; words[i]; i++)
		if (strstr(name, words[i]))
			return true;
	/* nvme0q3 (q0 is the admin queue) */
	if (!strncmp(name, "nvme", 4) && (q = strchr(name, 'q')) && q[1] >= '1' && q[1] <= '9')
		return true;
	return false;
}

static size_t node_index(const struct asios_snapshot *s, int id)
{
	for (size_t i = 0; i < s->n_nodes; i++)
		if ((int)s->nodes[i].id == id)
			return i;
	return (size_t)-1;
}

/* CPUs of SET ordered one per core first: the first sibling of every core, then the second… */
static size_t order_by_core(const struct asios_snapshot *s, hwloc_const_bitmap_t set, unsigned *out)
{
	size_t n = 0;

	for (int round = 0; round < 8; round++) {
		for (size_t i = 0; i < s->n_cpus; i++) {
			const struct asios_cpu *c = &s->cpus[i];
			int rank = 0;

			if (!hwloc_bitmap_isset(set, c->id))
				continue;
			for (size_t j = 0; j < i; j++)
				rank += s->cpus[j].core == c->core && c->core >= 0 && hwloc_bitmap_isset(set, s->cpus[j].id);
			if (rank == round)
				out[n++] = c->id;
		}
	}
	return n;
}

/* Housekeeping CPUs for a device on NODE (falling back to the nearest node); *used gets the node used. */
static int node_target(struct planner *pl, int node, hwloc_bitmap_t out, int *used)
{
	const struct asios_snapshot *s = pl->s;
	size_t ni = node_index(s, node), best = (size_t)-1;
	int best_d = 1 << 30;

	*used = node;
	if (ni != (size_t)-1) {
		hwloc_bitmap_and(out, s->nodes[ni].cpus, pl->hk);
		if (!hwloc_bitmap_iszero(out))
			return 0;
	}
	for (size_t j = 0; j < s->n_nodes; j++) {
		int d;

		hwloc_bitmap_and(out, s->nodes[j].cpus, pl->hk);
		if (hwloc_bitmap_iszero(out))
			continue;
		d = (ni != (size_t)-1 && s->nodes[ni].distances) ? s->nodes[ni].distances[j] : 255;
		if (d < best_d) {
			best_d = d;
			best = j;
		}
	}
	if (best == (size_t)-1) {
		hwloc_bitmap_zero(out);
		return -ENOENT;
	}
	hwloc_bitmap_and(out, s->nodes[best].cpus, pl->hk);
	*used = (int)s->nodes[best].id;
	return 1; /* fell back */
}

/* the GPU or accelerator nearest to NIC D (through at most the host bridge), or -1 */
static int paired_gpu(const struct asios_snapshot *s, size_t d, enum asios_pci_distance *dist)
{
	int best = -1;

	*dist = ASIOS_PCI_SYS;
	for (size_t g = 0; g < s->n_pci; g++) {
		enum asios_pci_distance x;

		if (!asios_pci_is_gpu(&s->pci[g]))
			continue;
		x = asios_pci_distance(s, d, g);
		if (x <= ASIOS_PCI_PHB && x < *dist) {
			*dist = x;
			best = (int)g;
		}
	}
	return best;
}

static int emit(struct planner *pl, const struct asios_irq *q, const char *dev, hwloc_const_bitmap_t to,
		const char *why)
{
	char path[64];

	if (pl->load)
		account(pl->load, pl->n_slots, rate_of(pl->rates, pl->n_rates, q->irq), to);
	if (hwloc_bitmap_isequal(q->affinity, to))
		return 0;
	snprintf(path, sizeof(path), "/proc/irq/%u/smp_affinity_list", q->irq);
	return asios_plan_add_cpus(pl->plan, (int)q->irq, dev, path, q->affinity, to, "%s", why);
}

/* IRQs with no device placement: only taken off excluded CPUs */
static int plan_loose(struct planner *pl, const struct asios_irq *q, const char *dev, const char *what)
{
	hwloc_bitmap_t to;
	char why[256];
	int r;

	if (!hwloc_bitmap_intersects(q->affinity, pl->excluded)) {
		if (pl->load)
			account(pl->load, pl->n_slots, rate_of(pl->rates, pl->n_rates, q->irq), q->affinity);
		return 0;
	}
	to = hwloc_bitmap_dup(q->affinity);
	if (!to)
		return -ENOMEM;
	hwloc_bitmap_andnot(to, to, pl->excluded);
	hwloc_bitmap_and(to, to, pl->s->online);
	if (hwloc_bitmap_iszero(to))
		hwloc_bitmap_copy(to, pl->hk);
	snprintf(why, sizeof(why), "%s: taken off isolated or banned CPUs", what);
	r = emit(pl, q, dev, to, why);
	hwloc_bitmap_free(to);
	return r;
}

/*
 * Rate-aware spread of the queue vectors among IRQS[0..N): busiest first (ties: IRQ number), each to the CPU of
 * ORDER with the least load, then the fewest queues, then the earliest position counted from START (where the
 * plain spread would continue). *RET[k] is the CPU of IRQS[k] (queue vectors only).
 */
static int assign_by_rate(struct planner *pl, const size_t *irqs, size_t n, const unsigned *order, size_t n_order,
			  size_t start, unsigned **ret)
{
	const struct asios_snapshot *s = pl->s;
	unsigned *cpu = calloc(n + 1, sizeof(*cpu));
	size_t *todo = calloc(n + 1, sizeof(*todo)), n_todo = 0;

	if (!cpu || !todo) {
		free(cpu);
		free(todo);
		return -ENOMEM;
	}
	for (size_t k = 0; k < n; k++)
		if (is_queue_vector(s->irqs[irqs[k]].name))
			todo[n_todo++] = k;
	/* insertion sort, busiest first: a device has at most a few hundred vectors */
	for (size_t i = 1; i < n_todo; i++) {
		size_t k = todo[i], j = i;
		double rk = rate_of(pl->rates, pl->n_rates, s->irqs[irqs[k]].irq);

		while (j > 0) {
			const struct asios_irq *p = &s->irqs[irqs[todo[j - 1]]];
			double rp = rate_of(pl->rates, pl->n_rates, p->irq);

			if (rp > rk || (rp == rk && p->irq < s->irqs[irqs[k]].irq))
				break;
			todo[j] = todo[j - 1];
			j--;
		}
		todo[j] = k;
	}
	for (size_t i = 0; i < n_todo; i++) {
		const struct asios_irq *q = &s->irqs[irqs[todo[i]]];
		size_t best = (size_t)-1;

		for (size_t t = 0; t < n_order; t++) {
			unsigned c = order[(start + t) % n_order], b;

			if (c >= pl->n_slots)
				continue;
			if (best == (size_t)-1) {
				best = c;
				continue;
			}
			b = (unsigned)best;
			if (pl->load[c] < pl->load[b] || (pl->load[c] == pl->load[b] && pl->nq[c] < pl->nq[b]))
				best = c;
		}
		if (best == (size_t)-1)
			best = order[start % n_order];
		cpu[todo[i]] = (unsigned)best;
		if (best < pl->n_slots) {
			pl->load[best] += rate_of(pl->rates, pl->n_rates, q->irq);
			pl->nq[best]++;
		}
	}
	/* emit() accounts every IRQ again at its target: take the queue rates back out so they count once */
	for (size_t i = 0; i < n_todo; i++) {
		unsigned c = cpu[todo[i]];

		if (c < pl->n_slots)
			pl->load[c] -= rate_of(pl->rates, pl->n_rates, s->irqs[irqs[todo[i]]].irq);
	}
	free(todo);
	*ret = cpu;
	return 0;
}

/* one device's IRQs being planned: what plan_device() and its steps share */
struct devplan {
	const struct asios_pci_device *dev;
	size_t d;
	const size_t *irqs;
	size_t n_irqs;
	hwloc_bitmap_t target, pref, one;
	unsigned *order, *assigned;
	size_t n_order, n_queues, ni;
	char where[160], pair[96];
	int used;
	bool rated;
};

/* every IRQ of the device left alone with REASON */
static int skip_all(struct planner *pl, const struct devplan *x, const char *reason)
{
	int r = 0;

	for (size_t k = 0; k < x->n_irqs && r >= 0; k++)
		r = asios_plan_skip(pl->plan, (int)pl->s->irqs[x->irqs[k]].irq, "%s", reason);
	return r < 0 ? r : 1;
}

/* where the device's IRQs go (x->target, x->where): configured CPUs or its node's; 1 when all are settled */
static int device_target(struct planner *pl, struct devplan *x)
{
	const struct asios_irq_override *dov = find_override(pl->p, -1, x->dev->addr);
	char why[160];

	if (dov && dov->ignore) {
		snprintf(why, sizeof(why), "device %s is ignored in the configuration", x->dev->addr);
		return skip_all(pl, x, why);
	}
	if (dov && dov->cpus) {
		hwloc_bitmap_and(x->target, dov->cpus, pl->hk);
		snprintf(x->where, sizeof(x->where), "configured CPUs of device %s", x->dev->addr);
		snprintf(why, sizeof(why), "the CPUs configured for device %s are all isolated, banned or offline", x->dev->addr);
		return hwloc_bitmap_iszero(x->target) ? skip_all(pl, x, why) : 0;
	}
	if (x->dev->node < 0) {
		int r = 0;

		for (size_t k = 0; k < x->n_irqs && r >= 0; k++)
			r = plan_loose(pl, &pl->s->irqs[x->irqs[k]], x->dev->addr, "device NUMA node unknown");
		return r < 0 ? r : 1;
	}
	{
		int fb = node_target(pl, x->dev->node, x->target, &x->used);

		if (fb < 0)
			return skip_all(pl, x, "no node has a housekeeping CPU");
		if (fb)
			snprintf(x->where, sizeof(x->where), "node %d has no housekeeping CPU: nearest node %d", x->dev->node,
				 x->used);
		else
			snprintf(x->where, sizeof(x->where), "%s %s on node %d", asios_dev_class_name(x->dev->cls), x->dev->addr,
				 x->used);
	}
	return 0;
}

/* a NIC paired with a GPU starts its queues on the GPU's CPUs (x->pref, empty: nothing to prefer) */
static void gpu_preference(struct planner *pl, struct devplan *x)
{
	const struct asios_snapshot *s = pl->s;
	enum asios_pci_distance dist;
	int g;

	if (!pl->p->gpu_aware || x->dev->cls != ASIOS_DEV_NIC || (g = paired_gpu(s, x->d, &dist)) < 0)
		return;
	hwloc_bitmap_and(x->pref, s->pci[g].local_cpus, x->target);
	if (!hwloc_bitmap_iszero(x->pref) && !hwloc_bitmap_isequal(x->pref, x->target))
		snprintf(x->pair, sizeof(x->pair), ", starting on the CPUs of paired GPU %s (%s)", s->pci[g].addr,
			 asios_pci_distance_name(dist));
	else if (!hwloc_bitmap_iszero(x->pref))
		snprintf(x->pair, sizeof(x->pair), ", paired GPU %s (%s) is local to the same CPUs", s->pci[g].addr,
			 asios_pci_distance_name(dist));
	if (hwloc_bitmap_isequal(x->pref, x->target))
		hwloc_bitmap_zero(x->pref); /* nothing to prefer: follow the node's spread */
}

/* the CPUs of the target one core at a time, the preferred ones first */
static int core_order(struct planner *pl, struct devplan *x)
{
	const struct asios_snapshot *s = pl->s;

	x->order = calloc((size_t)hwloc_bitmap_weight(x->target) + 1, sizeof(*x->order));
	if (!x->order)
		return -ENOMEM;
	if (!hwloc_bitmap_iszero(x->pref) && !hwloc_bitmap_isequal(x->pref, x->target)) {
		hwloc_bitmap_t rest = hwloc_bitmap_dup(x->target);

		if (!rest)
			return -ENOMEM;
		hwloc_bitmap_andnot(rest, rest, x->pref);
		x->n_order = order_by_core(s, x->pref, x->order);
		x->n_order += order_by_core(s, rest, x->order + x->n_order);
		hwloc_bitmap_free(rest);
	} else {
		x->n_order = order_by_core(s, x->target, x->order);
	}
	return 0;
}

/* one action per IRQ: queue vectors one core each (by rate when measured), the others the whole target */
static int emit_all(struct planner *pl, struct devplan *x)
{
	const struct asios_snapshot *s = pl->s;
	int r = 0;

	for (size_t k = 0, qi = 0; k < x->n_irqs && r >= 0; k++) {
		const struct asios_irq *q = &s->irqs[x->irqs[k]];
		bool queue = x->n_queues > 1 && is_queue_vector(q->name) && x->n_order;
		char why[512];

		if (queue && x->rated) {
			pl->next[x->ni]++;
			hwloc_bitmap_only(x->one, x->assigned[k]);
			qi++;
			snprintf(why, sizeof(why), "%s: queue %zu of %zu, one core each, by measured rate (%.0f/s) to the least-loaded CPU",
				 x->where, qi, x->n_queues, rate_of(pl->rates, pl->n_rates, q->irq));
			r = emit(pl, q, x->dev->addr, x->one, why);
		} else if (queue) {
			/* a GPU-paired NIC starts at its GPU's cores; other devices continue the node's spread */
			size_t pos = (!hwloc_bitmap_iszero(x->pref) || x->ni == (size_t)-1) ? qi : pl->next[x->ni]++;

			hwloc_bitmap_only(x->one, x->order[pos % x->n_order]);
			qi++;
			snprintf(why, sizeof(why), "%s: queue %zu of %zu, one core each%s", x->where, qi, x->n_queues, x->pair);
			r = emit(pl, q, x->dev->addr, x->one, why);
		} else {
			snprintf(why, sizeof(why), "%s%s", x->where, x->pair);
			r = emit(pl, q, x->dev->addr, x->target, why);
		}
	}
	return r;
}

static int plan_device_steps(struct planner *pl, struct devplan *x)
{
	const struct asios_snapshot *s = pl->s;
	int r = device_target(pl, x);

	if (r)
		return r < 0 ? r : 0;
	gpu_preference(pl, x);
	if ((r = core_order(pl, x)) < 0)
		return r;
	for (size_t k = 0; k < x->n_irqs; k++)
		x->n_queues += is_queue_vector(s->irqs[x->irqs[k]].name);
	x->ni = node_index(s, x->used);
	x->rated = pl->load && x->n_queues > 1 && x->n_order && hwloc_bitmap_iszero(x->pref) && x->ni != (size_t)-1;
	if (x->rated && (r = assign_by_rate(pl, x->irqs, x->n_irqs, x->order, x->n_order, pl->next[x->ni], &x->assigned)) < 0)
		return r;
	return emit_all(pl, x);
}

static int plan_device(struct planner *pl, size_t d, const size_t *irqs, size_t n_irqs)
{
	struct devplan x = { .dev = &pl->s->pci[d], .d = d, .irqs = irqs, .n_irqs = n_irqs, .used = pl->s->pci[d].node };
	int r = -ENOMEM;

	x.target = hwloc_bitmap_alloc();
	x.pref = hwloc_bitmap_alloc();
	x.one = hwloc_bitmap_alloc();
	if (x.target && x.pref && x.one)
		r = plan_device_steps(pl, &x);
	free(x.order);
	free(x.assigned);
	hwloc_bitmap_free(x.target);
	hwloc_bitmap_free(x.pref);
	hwloc_bitmap_free(x.one);
	return r;
}

int asios_irq_plan(const struct asios_snapshot *s, const struct asios_irq_policy *p, struct asios_plan **ret)
{
	return asios_irq_plan_rated(s, p, NULL, 0, ret);
}

int asios_irq_plan_rated(const struct asios_snapshot *s, const struct asios_irq_policy *p, const double *rates,
			 size_t n_rates, struct asios_plan **ret)
{
	struct planner pl = { .s = s, .p = p, .rates = rates, .n_rates = n_rates };
	size_t *by_dev = NULL, n_by_dev;
	int r = -ENOMEM;

	if (rates) {
		int last = hwloc_bitmap_last(s->online);

		pl.n_slots = last < 0 ? 0 : (size_t)last + 1;
		pl.load = calloc(pl.n_slots + 1, sizeof(*pl.load));
		pl.nq = calloc(pl.n_slots + 1, sizeof(*pl.nq));
		if (!pl.load || !pl.nq)
			goto out;
	}
	pl.plan = asios_plan_new();
	pl.hk = hwloc_bitmap_dup(s->isolation.housekeeping); /* online, not isolated, not nohz_full */
	pl.excluded = hwloc_bitmap_alloc();
	pl.next = calloc(s->n_nodes + 1, sizeof(*pl.next));
	by_dev = calloc(s->n_irqs + 1, sizeof(*by_dev));
	if (!pl.plan || !pl.hk || !pl.excluded || !pl.next || !by_dev)
		goto out;
	hwloc_bitmap_or(pl.excluded, s->isolation.isolated, s->isolation.nohz_full);
	hwloc_bitmap_or(pl.excluded, pl.excluded, p->banned_cpus);
	hwloc_bitmap_andnot(pl.hk, pl.hk, p->banned_cpus);
	r = asios_plan_note_absent(pl.plan, p->banned_cpus, s->online, "banned_cpus");
	for (size_t i = 0; i < p->n_overrides && r >= 0; i++) {
		char what[64];

		if (p->overrides[i].irq >= 0)
			snprintf(what, sizeof(what), "[irq %d] cpus", p->overrides[i].irq);
		else
			snprintf(what, sizeof(what), "[device %s] cpus", p->overrides[i].device);
		r = asios_plan_note_absent(pl.plan, p->overrides[i].cpus, s->online, what);
	}
	if (r < 0)
		goto out;
	if (hwloc_bitmap_iszero(pl.hk)) {
		r = asios_plan_note(pl.plan, "no housekeeping CPU (every online CPU is isolated or banned): nothing planned");
		goto out;
	}

	/* IRQs that are not the devices' to place: managed, banned, overridden, device-less */
	for (size_t i = 0; i < s->n_irqs && r >= 0; i++) {
		const struct asios_irq *q = &s->irqs[i];
		const struct asios_irq_override *o = find_override(p, (int)q->irq, NULL);
		const char *dev = q->device >= 0 ? s->pci[q->device].addr : NULL;

		if (pl.load && (banned_irq(p, q->irq) || q->managed || (o && o->ignore)))
			account(pl.load, pl.n_slots, rate_of(rates, n_rates, q->irq), q->affinity);
		if (banned_irq(p, q->irq))
			r = asios_plan_skip(pl.plan, (int)q->irq, "banned in the configuration");
		else if (q->managed)
			r = asios_plan_skip(pl.plan, (int)q->irq, "kernel-managed affinity (the kernel refuses writes); left to the kernel");
		else if (o && o->ignore)
			r = asios_plan_skip(pl.plan, (int)q->irq, "ignored in the configuration");
		else if (o && o->cpus) {
			hwloc_bitmap_t to = hwloc_bitmap_dup(o->cpus);

			if (!to) {
				r = -ENOMEM;
				break;
			}
			hwloc_bitmap_and(to, to, pl.hk);
			if (hwloc_bitmap_iszero(to))
				r = asios_plan_skip(pl.plan, (int)q->irq, "the configured CPUs are all isolated, banned or offline");
			else
				r = emit(&pl, q, dev, to, "configured for this IRQ");
			hwloc_bitmap_free(to);
		} else if (q->device < 0) {
			r = plan_loose(&pl, q, NULL, "no owning device");
		}
	}
	/* device IRQs, device by device in address order */
	for (size_t d = 0; d < s->n_pci && r >= 0; d++) {
		n_by_dev = 0;
		for (size_t i = 0; i < s->n_irqs; i++) {
			const struct asios_irq *q = &s->irqs[i];

			if (q->device == (int)d && !banned_irq(p, q->irq) && !q->managed && !find_override(p, (int)q->irq, NULL))
				by_dev[n_by_dev++] = i;
		}
		if (n_by_dev)
			r = plan_device(&pl, d, by_dev, n_by_dev);
	}
out:
	free(by_dev);
	free(pl.next);
	free(pl.load);
	free(pl.nq);
	hwloc_bitmap_free(pl.hk);
	hwloc_bitmap_free(pl.excluded);
	if (r < 0) {
		asios_plan_free(pl.plan);
		return r;
	}
	*ret = pl.plan;
	return 0;
}

double asios_irq_peak_load(const struct asios_snapshot *s, const struct asios_plan *plan, const double *rates,
			   size_t n_rates)
{
	int last = hwloc_bitmap_last(s->online);
	size_t n = last < 0 ? 0 : (size_t)last + 1;
	double *load = calloc(n + 1, sizeof(*load)), peak = 0;

	if (!load)
		return -1;
	for (size_t i = 0; i < s->n_irqs; i++) {
		const struct asios_irq *q = &s->irqs[i];
		hwloc_const_bitmap_t to = q->affinity;

		for (size_t a = 0; plan && a < plan->n_actions; a++)
			if (plan->actions[a].irq == (int)q->irq && plan->actions[a].to)
				to = plan->actions[a].to;
		account(load, n, rate_of(rates, n_rates, q->irq), to);
	}
	for (size_t c = 0; c < n; c++)
		if (load[c] > peak)
			peak = load[c];
	free(load);
	return peak;
}

bool asios_irq_rebalance_pays(const struct asios_irq_policy *p, double peak_now, double peak_planned)
{
	return p->rebalance && peak_now >= p->rebalance_min_rate &&
	       peak_planned <= peak_now * (100.0 - p->rebalance_gain) / 100.0;
}
