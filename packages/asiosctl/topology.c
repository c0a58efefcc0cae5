/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/cpulist.h"
#include "asios/json.h"
#include "asiosctl.h"

static void print_set(const char *label, hwloc_const_bitmap_t set)
{
	char *l = asios_cpulist_format(set);

	printf("%s%s", label, l && *l ? l : "-");
	free(l);
}

static const char *human(uint64_t bytes, char *buf, size_t n)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	unsigned u = 0;

	while (v >= 1024 && u < 4)
		v /= 1024, u++;
	snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", v, units[u]);
	return buf;
}

static void print_devices(const struct asios_snapshot *s, int node)
{
	for (size_t i = 0; i < s->n_pci; i++) {
		const struct asios_pci_device *d = &s->pci[i];
		size_t n_irqs = 0;

		if (d->node != node || d->cls == ASIOS_DEV_BRIDGE || d->cls == ASIOS_DEV_OTHER)
			continue;
		for (size_t k = 0; k < s->n_irqs; k++)
			n_irqs += s->irqs[k].device == (int)i;
		printf("    %-7s %s %04x:%04x %-10s driver %-10s", asios_dev_class_name(d->cls), d->addr, d->vendor,
		       d->device, d->vendor_name ? d->vendor_name : "-", d->driver ? d->driver : "-");
		for (char **n = d->netdevs; n && *n; n++)
			printf(" %s", *n);
		for (char **n = d->rdma; n && *n; n++)
			printf(" %s", *n);
		for (char **n = d->block; n && *n; n++)
			printf(" %s", *n);
		if (n_irqs)
			printf("  %zu IRQs", n_irqs);
		if (d->node_source != ASIOS_NODE_SYSFS)
			printf("  (node from %s)", asios_node_source_name(d->node_source));
		putchar('\n');
	}
}

/* the ports of the RDMA devices: device/port, link layer, state, rate, interface, PCI function, node, nearest GPU */
static void print_rdma(const struct asios_snapshot *s)
{
	if (!s->n_rdma_ports)
		return;
	printf("\nRDMA ports:\n");
	for (size_t i = 0; i < s->n_rdma_ports; i++) {
		const struct asios_rdma_port *p = &s->rdma_ports[i];

		printf("  %s/%u  %s%s  %s/%s  %s  netdev %s  pci %s  node %d  GIDs %u (RoCE v2 %u)", p->device, p->port,
		       p->link_layer ? p->link_layer : "?",
		       p->link_layer && !strcmp(p->link_layer, "Ethernet") ? " (RoCE)" : "", p->state ? p->state : "?",
		       p->phys_state ? p->phys_state : "?", p->rate ? p->rate : "rate ?", p->netdev ? p->netdev : "-",
		       p->device_index >= 0 ? s->pci[p->device_index].addr : "- (soft-RoCE)", p->node, p->n_gids,
		       p->n_gids_v2);
		if (p->nearest_gpu >= 0)
			printf("  nearest GPU %s (%s)", s->pci[p->nearest_gpu].addr, asios_pci_distance_name(p->gpu_distance));
		putchar('\n');
	}
}

static void print_matrix(const struct asios_snapshot *s)
{
	size_t n_nics = 0, n_gpus = 0;

	for (size_t i = 0; i < s->n_pci; i++) {
		n_nics += s->pci[i].cls == ASIOS_DEV_NIC;
		n_gpus += s->pci[i].cls == ASIOS_DEV_GPU || s->pci[i].cls == ASIOS_DEV_ACCEL;
	}
	if (!n_gpus || !n_nics)
		return;
	printf("\nGPU/accelerator ↔ NIC (X self, PIX one switch, PXB switches, PHB host bridge, NODE same node, SYS across nodes):\n%14s", "");
	for (size_t j = 0; j < s->n_pci; j++)
		if (s->pci[j].cls == ASIOS_DEV_NIC)
			printf(" %7.7s", s->pci[j].addr + 5);
	putchar('\n');
	for (size_t i = 0; i < s->n_pci; i++) {
		if (s->pci[i].cls != ASIOS_DEV_GPU && s->pci[i].cls != ASIOS_DEV_ACCEL)
			continue;
		printf("  %s", s->pci[i].addr);
		for (size_t j = 0; j < s->n_pci; j++)
			if (s->pci[j].cls == ASIOS_DEV_NIC)
				printf(" %7s", asios_pci_distance_name(asios_pci_distance(s, i, j)));
		putchar('\n');
	}
}

void topology_print_text(const struct asios_snapshot *s)
{
	const struct asios_isolation *iso = &s->isolation;
	size_t owned = 0, managed = 0, unknown_node = 0;
	char buf[32];

	printf("Machine %s (%s), kernel %s\n", s->root, s->arch, s->kernel_release ? s->kernel_release : "unknown");
	printf("CPUs: %d online", hwloc_bitmap_weight(s->online));
	print_set(" (", s->online);
	print_set("), offline ", s->offline);
	print_set(", possible ", s->possible);
	print_set(", allowed ", s->allowed);
	printf("\n      %u packages, %u cores, %zu last-level caches\n", s->n_packages, s->n_cores, s->n_caches);

	printf("\nNUMA nodes:\n");
	for (size_t i = 0; i < s->n_nodes; i++) {
		const struct asios_node *n = &s->nodes[i];

		printf("  node %-3u %10s  ", n->id, human(n->memory_bytes, buf, sizeof(buf)));
		if (hwloc_bitmap_iszero(n->cpus))
			printf("CPU-less %s%s%s", n->kind ? n->kind : "memory", n->pci[0] ? " of " : "", n->pci);
		else
			print_set("cpus ", n->cpus);
		if (n->distances) {
			printf("  distances");
			for (size_t k = 0; k < s->n_nodes; k++)
				printf(" %d", n->distances[k]);
		}
		if (!n->allowed)
			printf("  (not allowed)");
		putchar('\n');
		print_devices(s, (int)n->id);
	}
	for (size_t i = 0; i < s->n_pci; i++)
		unknown_node += s->pci[i].node < 0 && s->pci[i].cls != ASIOS_DEV_BRIDGE && s->pci[i].cls != ASIOS_DEV_OTHER;
	if (unknown_node) {
		printf("  node ?  (unknown)\n");
		print_devices(s, -1);
	}
	print_matrix(s);
	print_rdma(s);

	printf("\nIsolation: ");
	print_set("isolated ", iso->isolated);
	print_set(", nohz_full ", iso->nohz_full);
	print_set(", housekeeping ", iso->housekeeping);
	putchar('\n');
	if (iso->isolcpus || iso->nohz_full_arg || iso->rcu_nocbs || iso->irqaffinity)
		printf("  cmdline: isolcpus=%s nohz_full=%s rcu_nocbs=%s irqaffinity=%s\n", iso->isolcpus ? iso->isolcpus : "-",
		       iso->nohz_full_arg ? iso->nohz_full_arg : "-", iso->rcu_nocbs ? iso->rcu_nocbs : "-",
		       iso->irqaffinity ? iso->irqaffinity : "-");
	if (s->cgroup.version) {
		printf("Cpuset: cgroup v%d %s%s: ", s->cgroup.version, s->cgroup.mount, s->cgroup.path);
		print_set("cpus ", s->cgroup.cpus);
		print_set(", mems ", s->cgroup.mems);
		putchar('\n');
	}
	for (size_t i = 0; i < s->n_irqs; i++) {
		owned += s->irqs[i].device >= 0;
		managed += s->irqs[i].managed;
	}
	printf("IRQs: %zu numbered, %zu owned by PCI devices, %zu kernel-managed\n", s->n_irqs, owned, managed);
	printf("Kernel config: %s\n", s->kconfig_source ? s->kconfig_source : "not found");
	if (s->n_warnings) {
		printf("\nWarnings (%zu):\n", s->n_warnings);
		for (size_t i = 0; i < s->n_warnings; i++)
			printf("  %s\n", s->warnings[i]);
	}
}

int verb_topology(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *root = "/";
	struct asios_snapshot *s;
	bool json = false;
	int c;

	while ((c = getopt_long(argc, argv, "r:jh", opts, NULL)) != -1) {
		if (empty_option("topology", c, optarg))
			return 2;
		switch (c) {
		case 'r':
			root = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			printf("Usage: asiosctl topology [--root DIR] [--json]\n\n"
			       "Show the machine under DIR (default /) as ASIOS sees it: CPUs, NUMA nodes with their\n"
			       "devices, the GPU/NIC PCIe distance matrix, RDMA ports, isolation, cpuset and IRQs.\n"
			       "--json prints the schema asios.topology/1 (docs/topology-json.md).\n");
			return 0;
		default:
			return 2;
		}
	}
	if (optind != argc) {
		log_error("topology: unexpected argument '%s'", argv[optind]);
		return 2;
	}
	s = load_snapshot(root, NULL);
	if (!s)
		return 1;
	if (json) {
		struct json_object *o = asios_snapshot_to_json(s);

		if (!o) {
			log_error("out of memory");
			asios_snapshot_free(s);
			return 1;
		}
		print_json(o);
	} else {
		topology_print_text(s);
	}
	asios_snapshot_free(s);
	return 0;
}
