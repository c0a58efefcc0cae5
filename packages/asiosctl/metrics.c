/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * asiosctl metrics: what only ASIOS knows of a machine, once, in the Prometheus text exposition format (0.0.4):
 * the topology it plans with, and per registered domain the drift from policy (the size of a fresh plan), so
 * that a scrape of a capture or a test reads the same numbers as a scrape of the machine. Labels join with
 * node_exporter's (cpu, node) and with the PCI addresses other exporters use (device).
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/domain.h"
#include "asios/plan.h"
#include "asios/root.h"
#include "asiosctl.h"

#ifndef ASIOS_VERSION
#define ASIOS_VERSION "0.1"
#endif

static void family(const char *name, const char *type, const char *help)
{
	printf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* a label value as the exposition format wants it: backslash, double quote and newline escaped */
static void label_value(const char *v)
{
	for (; v && *v; v++) {
		if (*v == '\\' || *v == '"')
			printf("\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", stdout);
		else
			putchar(*v);
	}
}

static bool is_gpu(const struct asios_pci_device *d)
{
	return d->cls == ASIOS_DEV_GPU || d->cls == ASIOS_DEV_ACCEL;
}

static void topology_metrics(const struct asios_snapshot *s)
{
	family("asios_info", "gauge", "ASIOS and the kernel and architecture it reads (always 1).");
	printf("asios_info{version=\"%s\",kernel=\"", ASIOS_VERSION);
	label_value(s->kernel_release ? s->kernel_release : "unknown");
	printf("\",arch=\"");
	label_value(s->arch);
	printf("\"} 1\n");
	family("asios_numa_node_cpus", "gauge", "Online CPUs of a NUMA node (0: a memory-only node).");
	for (size_t i = 0; i < s->n_nodes; i++)
		printf("asios_numa_node_cpus{node=\"%u\"} %d\n", s->nodes[i].id, hwloc_bitmap_weight(s->nodes[i].cpus));
	family("asios_numa_node_memory_bytes", "gauge", "Memory of a NUMA node.");
	for (size_t i = 0; i < s->n_nodes; i++)
		printf("asios_numa_node_memory_bytes{node=\"%u\"} %llu\n", s->nodes[i].id,
		       (unsigned long long)s->nodes[i].memory_bytes);
	family("asios_pci_devices", "gauge", "PCI functions by class and NUMA node (node -1: none known).");
	for (int c = ASIOS_DEV_GPU; c < _ASIOS_DEV_CLASS_MAX; c++) {
		/* a line per node that has one: no node (-1) first, then the snapshot's nodes */
		for (long k = -1; k < (long)s->n_nodes; k++) {
			long node = k < 0 ? -1 : (long)s->nodes[k].id;
			unsigned n = 0;

			for (size_t i = 0; i < s->n_pci; i++)
				n += (int)s->pci[i].cls == c && s->pci[i].node == node;
			if (n)
				printf("asios_pci_devices{class=\"%s\",node=\"%ld\"} %u\n", asios_dev_class_name(c), node, n);
		}
	}
}

static void pairing_metrics(const struct asios_snapshot *s)
{
	family("asios_gpu_nic_distance_info", "gauge",
	       "PCIe distance between an accelerator and a NIC as nvidia-smi topo names it (PIX, PXB, PHB, NODE, SYS).");
	for (size_t i = 0; i < s->n_pci; i++)
		for (size_t j = 0; is_gpu(&s->pci[i]) && j < s->n_pci; j++)
			if (s->pci[j].cls == ASIOS_DEV_NIC)
				printf("asios_gpu_nic_distance_info{device=\"%s\",nic=\"%s\",distance=\"%s\"} 1\n",
				       s->pci[i].addr, s->pci[j].addr,
				       asios_pci_distance_name(asios_pci_distance(s, i, j)));
}

/* IRQs of a device with a known node that may be delivered (effective affinity, else affinity) off its node's
 * CPUs; kernel-managed ones are the kernel's and not counted */
static unsigned misplaced_irqs(const struct asios_snapshot *s)
{
	unsigned n = 0;

	for (size_t i = 0; i < s->n_irqs; i++) {
		const struct asios_irq *q = &s->irqs[i];
		const struct asios_pci_device *d = q->device >= 0 ? &s->pci[q->device] : NULL;
		hwloc_const_bitmap_t where = hwloc_bitmap_iszero(q->effective) ? q->affinity : q->effective;

		for (size_t k = 0; d && d->node >= 0 && k < s->n_nodes; k++)
			if (s->nodes[k].id == (unsigned)d->node && !hwloc_bitmap_iszero(s->nodes[k].cpus) && !q->managed &&
			    !hwloc_bitmap_isincluded(where, s->nodes[k].cpus))
				n++;
	}
	return n;
}

static void placement_metrics(const struct asios_snapshot *s)
{
	family("asios_irq_misplaced", "gauge",
	       "Device IRQs that may be delivered off their device's NUMA node (what asios-irqd corrects).");
	printf("asios_irq_misplaced %u\n", misplaced_irqs(s));
	family("asios_isolated_cpus", "gauge", "CPUs isolated (isolcpus) or without a tick (nohz_full).");
	printf("asios_isolated_cpus %d\n", hwloc_bitmap_weight(s->online) - hwloc_bitmap_weight(s->isolation.housekeeping));
	family("asios_housekeeping_cpus", "gauge", "Online CPUs left for the system: not isolated, not nohz_full.");
	printf("asios_housekeeping_cpus %d\n", hwloc_bitmap_weight(s->isolation.housekeeping));
	family("asios_snapshot_warnings", "gauge", "Objects the snapshot could not read, each named in its warnings.");
	printf("asios_snapshot_warnings %zu\n", s->n_warnings);
}

struct drift {
	int ok;                /* 1 planned, 0 the policy or the machine could not be read */
	size_t actions, skipped;
};

static struct drift domain_drift(const struct asios_domain *d, const char *root_path, struct asios_root *root,
				 const struct asios_snapshot *s)
{
	struct asios_domain_run run = { 0 };
	struct drift out = { 0 };
	struct policy_files pf;
	char *error = NULL;

	policy_files(&pf, root_path, NULL, NULL, d->conf, d->conf_d);
	if (asios_domain_policy(d, pf.conf, pf.dir, &run, &error) < 0)
		log_error("metrics: %s: %s", d->name, error ? error : "policy unreadable");
	else if (asios_domain_observe(&run, root, s) < 0 || asios_domain_plan(&run, s) < 0)
		log_error("metrics: %s: cannot observe or plan the machine", d->name);
	else
		out = (struct drift){ 1, run.plan->n_actions, run.plan->n_skipped };
	free(error);
	asios_domain_run_clear(&run);
	return out;
}

static void domain_metrics(const char *root_path, struct asios_root *root, const struct asios_snapshot *s)
{
	size_t n;
	const struct asios_domain *const *d = asios_domains(&n);
	struct drift *dr = calloc(n + 1, sizeof(*dr));

	if (!dr)
		return;
	for (size_t i = 0; i < n; i++)
		dr[i] = domain_drift(d[i], root_path, root, s);
	family("asios_domain_up", "gauge", "Whether the domain's policy and machine could be read and planned.");
	for (size_t i = 0; i < n; i++)
		printf("asios_domain_up{domain=\"%s\"} %d\n", d[i]->name, dr[i].ok);
	family("asios_domain_pending_actions", "gauge",
	       "Changes a fresh plan would make: the drift of the machine from the domain's policy.");
	for (size_t i = 0; i < n; i++)
		if (dr[i].ok)
			printf("asios_domain_pending_actions{domain=\"%s\"} %zu\n", d[i]->name, dr[i].actions);
	family("asios_domain_left_alone", "gauge", "Objects the domain's plan leaves alone, each with its reason.");
	for (size_t i = 0; i < n; i++)
		if (dr[i].ok)
			printf("asios_domain_left_alone{domain=\"%s\"} %zu\n", d[i]->name, dr[i].skipped);
	free(dr);
}

static void usage(void)
{
	printf("Usage: asiosctl metrics [--root DIR]\n\n"
	       "Print what ASIOS knows of the machine once, in the Prometheus text format: NUMA nodes and their\n"
	       "CPUs and memory, PCI devices by class and node, accelerator-to-NIC PCIe distances, IRQs off their\n"
	       "device's node, isolated and housekeeping CPUs, and per tuning domain whether it could plan and how\n"
	       "many changes a fresh plan would make (the drift from its policy). --root reads a capture.\n");
}

int verb_metrics(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *root_path = "/";
	struct asios_snapshot *s;
	struct asios_root *root;
	int c;

	while ((c = getopt_long(argc, argv, "r:h", opts, NULL)) != -1) {
		if (empty_option("metrics", c, optarg))
			return 2;
		if (c == 'r') {
			root_path = optarg;
		} else if (c == 'h') {
			usage();
			return 0;
		} else {
			return 2;
		}
	}
	if (optind != argc) {
		log_error("metrics: usage: asiosctl metrics [--root DIR]");
		return 2;
	}
	s = load_snapshot(root_path, &root);
	if (!s)
		return 1;
	topology_metrics(s);
	pairing_metrics(s);
	placement_metrics(s);
	domain_metrics(root_path, root, s);
	asios_snapshot_free(s);
	asios_root_free(root);
	return fflush(stdout) == 0 ? 0 : 1;
}
