/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include "asios/json.h"

#include <stdio.h>
#include <string.h>

/* json-c's add functions take over the value; a NULL value (allocation failure) is stored as null, and the
 * caller checks the whole tree once at the end through the `ok` flag. */

#define JSON_SCHEMA "asios.topology/1"

/* kernel options shown in the JSON; the whole config stays in the snapshot for audits */
static const char *const kconfig_shown[] = {
	"NUMA", "NUMA_BALANCING", "TRANSPARENT_HUGEPAGE", "HUGETLBFS", "CPUSETS", "NO_HZ_FULL", "RCU_NOCB_CPU",
	"PREEMPT_RT", "PREEMPT_DYNAMIC", "SCHED_CLASS_EXT", "DEBUG_INFO_BTF", "BPF_JIT", "IRQ_TIME_ACCOUNTING",
	"PCI_P2PDMA", "VFIO", "IO_URING", "PSI", "HZ", NULL,
};

struct ctx {
	bool ok;
};

static struct json_object *chk(struct ctx *c, struct json_object *o)
{
	if (!o)
		c->ok = false;
	return o;
}

static struct json_object *str_or_null(struct ctx *c, const char *s)
{
	return s ? chk(c, json_object_new_string(s)) : NULL;
}

static void add(struct ctx *c, struct json_object *obj, const char *key, struct json_object *v)
{
	if (json_object_object_add(obj, key, v) < 0)
		c->ok = false;
}

static void push(struct ctx *c, struct json_object *arr, struct json_object *v)
{
	if (!v || json_object_array_add(arr, v) < 0)
		c->ok = false;
}

struct json_object *asios_json_cpuset(hwloc_const_bitmap_t set)
{
	struct json_object *a = json_object_new_array();
	unsigned id;

	if (!a || !set)
		return a;
	hwloc_bitmap_foreach_begin(id, set) {
		if (json_object_array_add(a, json_object_new_int((int)id)) < 0) {
			json_object_put(a);
			return NULL;
		}
	} hwloc_bitmap_foreach_end();
	return a;
}

static struct json_object *strv(struct ctx *c, char **v)
{
	struct json_object *a = chk(c, json_object_new_array());

	for (; a && v && *v; v++)
		push(c, a, json_object_new_string(*v));
	return a;
}

static struct json_object *cpus_json(struct ctx *c, const struct asios_snapshot *s)
{
	struct json_object *a = chk(c, json_object_new_array());

	for (size_t i = 0; a && i < s->n_cpus; i++) {
		const struct asios_cpu *cpu = &s->cpus[i];
		struct json_object *o = chk(c, json_object_new_object());

		if (!o)
			break;
		add(c, o, "id", json_object_new_int((int)cpu->id));
		add(c, o, "core", json_object_new_int(cpu->core));
		add(c, o, "core_id", json_object_new_int(cpu->core_id));
		add(c, o, "package", json_object_new_int(cpu->package));
		add(c, o, "package_id", json_object_new_int(cpu->package_id));
		add(c, o, "node", json_object_new_int(cpu->node));
		add(c, o, "llc", json_object_new_int(cpu->llc));
		add(c, o, "online", json_object_new_boolean(cpu->online));
		add(c, o, "allowed", json_object_new_boolean(cpu->allowed));
		push(c, a, o);
	}
	return a;
}

static struct json_object *nodes_json(struct ctx *c, const struct asios_snapshot *s)
{
	struct json_object *a = chk(c, json_object_new_array());

	for (size_t i = 0; a && i < s->n_nodes; i++) {
		const struct asios_node *n = &s->nodes[i];
		struct json_object *o = chk(c, json_object_new_object()), *d = NULL;

		if (!o)
			break;
		add(c, o, "id", json_object_new_int((int)n->id));
		add(c, o, "cpus", chk(c, asios_json_cpuset(n->cpus)));
		add(c, o, "cpuless", json_object_new_boolean(hwloc_bitmap_iszero(n->cpus)));
		add(c, o, "kind", str_or_null(c, n->kind));
		add(c, o, "gpu", n->pci[0] ? json_object_new_string(n->pci) : NULL);
		add(c, o, "memory_bytes", json_object_new_int64((int64_t)n->memory_bytes));
		if (n->distances) {
			d = chk(c, json_object_new_array());
			for (size_t k = 0; d && k < s->n_nodes; k++)
				push(c, d, json_object_new_int(n->distances[k]));
		}
		add(c, o, "distances", d);
		add(c, o, "allowed", json_object_new_boolean(n->allowed));
		push(c, a, o);
	}
	return a;
}

static struct json_object *caches_json(struct ctx *c, const struct asios_snapshot *s)
{
	struct json_object *a = chk(c, json_object_new_array());

	for (size_t i = 0; a && i < s->n_caches; i++) {
		struct json_object *o = chk(c, json_object_new_object());

		if (!o)
			break;
		add(c, o, "id", json_object_new_int((int)i));
		add(c, o, "level", json_object_new_int((int)s->caches[i].level));
		add(c, o, "size_bytes", json_object_new_int64((int64_t)s->caches[i].size));
		add(c, o, "cpus", chk(c, asios_json_cpuset(s->caches[i].cpus)));
		push(c, a, o);
	}
	return a;
}

static struct json_object *hex(struct ctx *c, unsigned v, int width)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "0x%0*x", width, v);
	return chk(c, json_object_new_string(buf));
}

/* the PCI Express registers ASIOS reads (pcie.h), null when they are not known */
static struct json_object *pcie_json(struct ctx *c, const struct asios_pcie *p)
{
	struct json_object *o;

	if (!p->cap)
		return NULL;
	o = chk(c, json_object_new_object());
	if (!o)
		return NULL;
	add(c, o, "max_payload", json_object_new_int((int)asios_pcie_max_payload(p)));
	add(c, o, "max_payload_supported", json_object_new_int((int)asios_pcie_max_payload_supported(p)));
	add(c, o, "max_read_request", json_object_new_int((int)asios_pcie_max_read_request(p)));
	add(c, o, "relaxed_ordering", json_object_new_boolean(asios_pcie_relaxed_ordering(p)));
	return o;
}

static struct json_object *devices_json(struct ctx *c, const struct asios_snapshot *s)
{
	struct json_object *a = chk(c, json_object_new_array());

	for (size_t i = 0; a && i < s->n_pci; i++) {
		const struct asios_pci_device *d = &s->pci[i];
		struct json_object *o, *irqs;

		if (d->cls == ASIOS_DEV_BRIDGE)
			continue;
		o = chk(c, json_object_new_object());
		if (!o)
			break;
		add(c, o, "pci", json_object_new_string(d->addr));
		add(c, o, "class", json_object_new_string(asios_dev_class_name(d->cls)));
		add(c, o, "vendor", hex(c, d->vendor, 4));
		add(c, o, "device", hex(c, d->device, 4));
		add(c, o, "vendor_name", str_or_null(c, d->vendor_name));
		add(c, o, "class_code", hex(c, d->class_code, 6));
		add(c, o, "driver", str_or_null(c, d->driver));
		add(c, o, "node", json_object_new_int(d->node));
		add(c, o, "node_source", json_object_new_string(asios_node_source_name(d->node_source)));
		add(c, o, "pci_path", json_object_new_string(d->sysfs_path));
		add(c, o, "upstream", d->parent >= 0 ? json_object_new_string(s->pci[d->parent].addr) : NULL);
		add(c, o, "netdevs", strv(c, d->netdevs));
		add(c, o, "rdma", strv(c, d->rdma));
		add(c, o, "nvme", strv(c, d->block));
		add(c, o, "pcie", pcie_json(c, &d->pcie));
		irqs = chk(c, json_object_new_array());
		for (size_t k = 0; irqs && k < s->n_irqs; k++)
			if (s->irqs[k].device == (int)i)
				push(c, irqs, json_object_new_int((int)s->irqs[k].irq));
		add(c, o, "irqs", irqs);
		push(c, a, o);
	}
	return a;
}

/* GPU/accelerator ↔ NIC distances, the matrix planners pair devices with */
static struct json_object *pairs_json(struct ctx *c, const struct asios_snapshot *s)
{
	struct json_object *o = chk(c, json_object_new_object()), *rows, *gpus, *nics;

	if (!o)
		return NULL;
	gpus = chk(c, json_object_new_array());
	nics = chk(c, json_object_new_array());
	rows = chk(c, json_object_new_array());
	for (size_t i = 0; i < s->n_pci; i++) {
		if (s->pci[i].cls == ASIOS_DEV_NIC && nics)
			push(c, nics, json_object_new_string(s->pci[i].addr));
		if (asios_pci_is_gpu(&s->pci[i]) && gpus && rows) {
			struct json_object *row = chk(c, json_object_new_array());

			push(c, gpus, json_object_new_string(s->pci[i].addr));
			for (size_t j = 0; row && j < s->n_pci; j++)
				if (s->pci[j].cls == ASIOS_DEV_NIC)
					push(c, row, json_object_new_string(asios_pci_distance_name(asios_pci_distance(s, i, j))));
			push(c, rows, row);
		}
	}
	add(c, o, "gpus", gpus);
	add(c, o, "nics", nics);
	add(c, o, "distance", rows);
	return o;
}

/* the ports of the RDMA devices (rdma.c) */
static struct json_object *rdma_json(struct ctx *c, const struct asios_snapshot *s)
{
	struct json_object *a = chk(c, json_object_new_array());

	for (size_t i = 0; a && i < s->n_rdma_ports; i++) {
		const struct asios_rdma_port *p = &s->rdma_ports[i];
		struct json_object *o = chk(c, json_object_new_object());

		if (!o)
			break;
		add(c, o, "device", json_object_new_string(p->device));
		add(c, o, "port", json_object_new_int((int)p->port));
		add(c, o, "link_layer", str_or_null(c, p->link_layer));
		add(c, o, "state", str_or_null(c, p->state));
		add(c, o, "phys_state", str_or_null(c, p->phys_state));
		add(c, o, "rate", str_or_null(c, p->rate));
		add(c, o, "netdev", str_or_null(c, p->netdev));
		add(c, o, "gids", json_object_new_int((int)p->n_gids));
		add(c, o, "gids_roce_v2", json_object_new_int((int)p->n_gids_v2));
		add(c, o, "pci", p->device_index >= 0 ? json_object_new_string(s->pci[p->device_index].addr) : NULL);
		add(c, o, "node", json_object_new_int(p->node));
		add(c, o, "nearest_gpu", p->nearest_gpu >= 0 ? json_object_new_string(s->pci[p->nearest_gpu].addr) : NULL);
		add(c, o, "gpu_distance", p->nearest_gpu >= 0 ? json_object_new_string(asios_pci_distance_name(p->gpu_distance))
							      : NULL);
		push(c, a, o);
	}
	return a;
}

static struct json_object *irqs_json(struct ctx *c, const struct asios_snapshot *s)
{
	struct json_object *a = chk(c, json_object_new_array());

	for (size_t i = 0; a && i < s->n_irqs; i++) {
		const struct asios_irq *q = &s->irqs[i];
		struct json_object *o = chk(c, json_object_new_object());

		if (!o)
			break;
		add(c, o, "irq", json_object_new_int((int)q->irq));
		add(c, o, "name", str_or_null(c, q->name));
		add(c, o, "chip", str_or_null(c, q->chip));
		add(c, o, "hwirq", str_or_null(c, q->hwirq));
		add(c, o, "device", q->device >= 0 ? json_object_new_string(s->pci[q->device].addr) : NULL);
		add(c, o, "affinity", chk(c, asios_json_cpuset(q->affinity)));
		add(c, o, "effective", chk(c, asios_json_cpuset(q->effective)));
		add(c, o, "managed", json_object_new_boolean(q->managed));
		add(c, o, "managed_known", json_object_new_boolean(q->managed_known));
		add(c, o, "total", json_object_new_int64((int64_t)q->total));
		push(c, a, o);
	}
	return a;
}

static struct json_object *isolation_json(struct ctx *c, const struct asios_snapshot *s)
{
	const struct asios_isolation *iso = &s->isolation;
	struct json_object *o = chk(c, json_object_new_object()), *cmd;

	if (!o)
		return NULL;
	add(c, o, "isolated", chk(c, asios_json_cpuset(iso->isolated)));
	add(c, o, "nohz_full", chk(c, asios_json_cpuset(iso->nohz_full)));
	add(c, o, "housekeeping", chk(c, asios_json_cpuset(iso->housekeeping)));
	cmd = chk(c, json_object_new_object());
	if (cmd) {
		add(c, cmd, "isolcpus", str_or_null(c, iso->isolcpus));
		add(c, cmd, "nohz_full", str_or_null(c, iso->nohz_full_arg));
		add(c, cmd, "rcu_nocbs", str_or_null(c, iso->rcu_nocbs));
		add(c, cmd, "irqaffinity", str_or_null(c, iso->irqaffinity));
	}
	add(c, o, "cmdline", cmd);
	return o;
}

static struct json_object *cgroup_json(struct ctx *c, const struct asios_snapshot *s)
{
	struct json_object *o = chk(c, json_object_new_object());

	if (!o)
		return NULL;
	add(c, o, "version", json_object_new_int(s->cgroup.version));
	add(c, o, "mount", str_or_null(c, s->cgroup.mount));
	add(c, o, "path", str_or_null(c, s->cgroup.path));
	add(c, o, "cpus", s->cgroup.version ? chk(c, asios_json_cpuset(s->cgroup.cpus)) : NULL);
	add(c, o, "mems", s->cgroup.version ? chk(c, asios_json_cpuset(s->cgroup.mems)) : NULL);
	return o;
}

static struct json_object *kernel_json(struct ctx *c, const struct asios_snapshot *s)
{
	struct json_object *o = chk(c, json_object_new_object()), *cfg = NULL;

	if (!o)
		return NULL;
	add(c, o, "release", str_or_null(c, s->kernel_release));
	add(c, o, "cmdline", str_or_null(c, s->isolation.cmdline));
	add(c, o, "config_source", str_or_null(c, s->kconfig_source));
	if (s->kconfig_source) {
		cfg = chk(c, json_object_new_object());
		for (size_t i = 0; cfg && kconfig_shown[i]; i++)
			add(c, cfg, kconfig_shown[i], str_or_null(c, asios_kconfig_get(s, kconfig_shown[i])));
	}
	add(c, o, "config", cfg);
	return o;
}

struct json_object *asios_snapshot_to_json(const struct asios_snapshot *s)
{
	struct ctx c = { .ok = true };
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	add(&c, o, "schema", json_object_new_string(JSON_SCHEMA));
	add(&c, o, "root", json_object_new_string(s->root));
	add(&c, o, "arch", json_object_new_string(s->arch));
	add(&c, o, "kernel", kernel_json(&c, s));
	add(&c, o, "packages", json_object_new_int((int)s->n_packages));
	add(&c, o, "cores", json_object_new_int((int)s->n_cores));
	add(&c, o, "possible", chk(&c, asios_json_cpuset(s->possible)));
	add(&c, o, "present", chk(&c, asios_json_cpuset(s->present)));
	add(&c, o, "online", chk(&c, asios_json_cpuset(s->online)));
	add(&c, o, "offline", chk(&c, asios_json_cpuset(s->offline)));
	add(&c, o, "allowed", chk(&c, asios_json_cpuset(s->allowed)));
	add(&c, o, "cpus", cpus_json(&c, s));
	add(&c, o, "nodes", nodes_json(&c, s));
	add(&c, o, "caches", caches_json(&c, s));
	add(&c, o, "devices", devices_json(&c, s));
	add(&c, o, "gpu_nic", pairs_json(&c, s));
	add(&c, o, "rdma", rdma_json(&c, s));
	add(&c, o, "irqs", irqs_json(&c, s));
	add(&c, o, "isolation", isolation_json(&c, s));
	add(&c, o, "cgroup", cgroup_json(&c, s));
	add(&c, o, "warnings", strv(&c, s->warnings));
	if (!c.ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

struct json_object *asios_plan_to_json(const struct asios_plan *p)
{
	struct ctx c = { .ok = true };
	struct json_object *o = json_object_new_object(), *acts, *skips;

	if (!o)
		return NULL;
	acts = chk(&c, json_object_new_array());
	for (size_t i = 0; acts && i < p->n_actions; i++) {
		const struct asios_action *a = &p->actions[i];
		struct json_object *x = chk(&c, json_object_new_object());

		if (!x)
			break;
		if (a->irq >= 0) {
			add(&c, x, "irq", json_object_new_int(a->irq));
			add(&c, x, "device", a->device[0] ? json_object_new_string(a->device) : NULL);
		} else {
			static const char *const kinds[] = { "write", "affinity", "migrate", "file", "ethtool", "pcie" };

			add(&c, x, "object", str_or_null(&c, a->object));
			add(&c, x, "kind", json_object_new_string(kinds[a->kind]));
			if (a->kind == ASIOS_ACTION_AFFINITY || a->kind == ASIOS_ACTION_MIGRATE)
				add(&c, x, "pid", json_object_new_int(a->pid));
		}
		if (a->irq >= 0 || a->kind == ASIOS_ACTION_AFFINITY || a->kind == ASIOS_ACTION_MIGRATE) {
			/* CPU sets; node sets for migrations */
			add(&c, x, "from", a->from ? chk(&c, asios_json_cpuset(a->from)) : NULL);
			add(&c, x, "to", a->to ? chk(&c, asios_json_cpuset(a->to)) : NULL);
		} else {
			add(&c, x, "old", str_or_null(&c, a->old_value));
			add(&c, x, "new", str_or_null(&c, a->new_value));
		}
		add(&c, x, "reason", str_or_null(&c, a->reason));
		add(&c, x, "path", str_or_null(&c, a->path));
		push(&c, acts, x);
	}
	add(&c, o, "actions", acts);
	skips = chk(&c, json_object_new_array());
	for (size_t i = 0; skips && i < p->n_skipped; i++) {
		struct json_object *x = chk(&c, json_object_new_object());

		if (!x)
			break;
		if (p->skipped[i].irq >= 0)
			add(&c, x, "irq", json_object_new_int(p->skipped[i].irq));
		else
			add(&c, x, "object", str_or_null(&c, p->skipped[i].object));
		add(&c, x, "reason", str_or_null(&c, p->skipped[i].reason));
		push(&c, skips, x);
	}
	add(&c, o, "skipped", skips);
	add(&c, o, "notes", strv(&c, p->notes));
	if (!c.ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}
