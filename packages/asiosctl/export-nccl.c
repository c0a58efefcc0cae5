/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * asiosctl export nccl: the machine's GPU ↔ NIC ↔ CPU layout for NCCL (and RCCL, which reads the same files).
 *  - nccl-topo.xml, NCCL's topology format (NCCL_TOPO_FILE): a <cpu> per NUMA node with GPUs or NICs, and
 *    under it the PCI tree that leads to them, every bridge on the way as a nested <pci>, each function with its
 *    bus id, class and IDs (and its link speed and width when sysfs tells). NCCL merges what it probes itself
 *    (the <gpu> and <nic> children, NVLink) into it; the file matters where the PCI tree NCCL would read is
 *    virtual (cloud GPU VMs) or lies about locality (a numa_node of -1).
 *  - nccl.conf, KEY=VALUE lines NCCL reads from /etc/nccl.conf: NCCL_TOPO_FILE, NCCL_IB_HCA (the RDMA devices
 *    paired with a GPU behind the same PCIe switch, exact names), NCCL_SOCKET_IFNAME (the interfaces of the NICs
 *    without RDMA: bootstrap and TCP), each with the pairing it comes from as comments.
 * docs/fleet.md ("NCCL") and asiosctl(1).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asiosctl.h"
#include "export.h"

#define TOPO_INSTALL "/etc/nccl/asios-topo.xml"

/* the devices NCCL places: NVIDIA and AMD GPUs and accelerators (and those whose vendor the capture does not
 * tell: NCCL matches the bus ids it probes itself, so a stranger's is merely unused), and NICs */
static bool nccl_gpu(const struct asios_pci_device *d)
{
	return (d->cls == ASIOS_DEV_GPU || d->cls == ASIOS_DEV_ACCEL) &&
	       (d->vendor == 0x10de || d->vendor == 0x1002 || d->vendor == 0);
}

static bool nccl_dev(const struct asios_pci_device *d)
{
	return nccl_gpu(d) || d->cls == ASIOS_DEV_NIC;
}

/* NCCL's architecture names (xml.cc: x86_64, arm64, ppc64) */
static const char *nccl_arch(const char *arch)
{
	if (!arch)
		return NULL;
	if (!strcmp(arch, "x86_64"))
		return "x86_64";
	if (!strcmp(arch, "aarch64") || !strcmp(arch, "arm64"))
		return "arm64";
	if (!strncmp(arch, "ppc64", 5))
		return "ppc64";
	return NULL;
}

struct cpu_id {
	char vendor[32];
	int family, model;
};

/* vendor_id, cpu family and model of the first processor in /proc/cpuinfo (x86); vendor "" when absent */
static void cpu_id(struct asios_root *root, struct cpu_id *id)
{
	char *text = NULL, *save = NULL;

	*id = (struct cpu_id){ .family = -1, .model = -1 };
	if (asios_read_file(root, "/proc/cpuinfo", &text, NULL) < 0)
		return;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *v = strchr(l, ':');

		if (!v)
			continue;
		if (!*l || !strncmp(l, "processor", 9)) {
			if (*id->vendor)
				break;
			continue;
		}
		v += 1 + strspn(v + 1, " \t");
		if (!strncmp(l, "vendor_id", 9) && !*id->vendor) {
			size_t n = 0;

			while (v[n] && isalnum((unsigned char)v[n]) && n + 1 < sizeof(id->vendor))
				n++;
			memcpy(id->vendor, v, n);
			id->vendor[n] = '\0';
		} else if (!strncmp(l, "cpu family", 10) && id->family < 0) {
			id->family = atoi(v);
		} else if (!strncmp(l, "model", 5) && !strncmp(l + 5 + strspn(l + 5, " \t"), ":", 1) && id->model < 0) {
			id->model = atoi(v);
		}
	}
	free(text);
}

/* SET as the sysfs cpumap NCCL parses: 32-bit words in hex, highest first, comma-separated */
static void put_cpumap(FILE *f, hwloc_const_bitmap_t set)
{
	int last = hwloc_bitmap_last(set);
	unsigned words = last < 0 ? 1 : (unsigned)last / 32 + 1;

	for (unsigned w = words; w-- > 0;) {
		unsigned long v = hwloc_bitmap_to_ith_ulong(set, w * 32 / (8 * sizeof(unsigned long)));

		if (sizeof(unsigned long) > 4)
			v = (v >> (w * 32 % (8 * sizeof(unsigned long)))) & 0xffffffffUL;
		fprintf(f, "%08lx%s", v, w ? "," : "");
	}
}

/* NCCL's link speed names ("16 GT/s") from sysfs max_link_speed ("16.0 GT/s PCIe"); NULL when unknown */
static const char *link_speed(const char *sysfs)
{
	static const struct {
		float gts;
		const char *name;
	} gens[] = { { 2.5f, "2.5 GT/s" }, { 5, "5 GT/s" }, { 8, "8 GT/s" }, { 16, "16 GT/s" }, { 32, "32 GT/s" },
		     { 64, "64 GT/s" } };
	float gts;

	if (!sysfs || sscanf(sysfs, "%f GT/s", &gts) != 1)
		return NULL;
	for (size_t i = 0; i < sizeof(gens) / sizeof(gens[0]); i++)
		if (gts > gens[i].gts - 0.01f && gts < gens[i].gts + 0.01f)
			return gens[i].name;
	return NULL;
}

static void put_link(FILE *f, struct asios_root *root, const char *addr)
{
	char path[128], *speed = NULL;
	long width;
	const char *name;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/max_link_speed", addr);
	if (asios_read_line(root, path, &speed) >= 0 && (name = link_speed(speed))) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/max_link_width", addr);
		if (asios_read_long(root, path, &width) >= 0 && width > 0 && width <= 32)
			fprintf(f, " link_speed=\"%s\" link_width=\"%ld\"", name, width);
	}
	free(speed);
}

struct topo {
	struct asios_root *root;
	const struct asios_snapshot *s;
	bool *keep; /* a device NCCL places, or a bridge on the way to one */
};

static void put_pci(FILE *f, const struct topo *t, size_t i, int depth)
{
	const struct asios_pci_device *d = &t->s->pci[i];
	bool children = false;

	fprintf(f, "%*s<pci busid=\"%s\" class=\"0x%06x\"", depth * 2, "", d->addr, d->class_code);
	/* IDs the capture does not tell are left to NCCL's own probe (it keeps an attribute it finds) */
	if (d->vendor)
		fprintf(f, " vendor=\"0x%04x\" device=\"0x%04x\" subsystem_vendor=\"0x%04x\" subsystem_device=\"0x%04x\"",
			d->vendor, d->device, d->subsys_vendor, d->subsys_device);
	put_link(f, t->root, d->addr);
	for (size_t j = 0; j < t->s->n_pci; j++) {
		if (!t->keep[j] || t->s->pci[j].parent != (int)i)
			continue;
		if (!children)
			fputs(">\n", f);
		children = true;
		put_pci(f, t, j, depth + 1);
	}
	if (children)
		fprintf(f, "%*s</pci>\n", depth * 2, "");
	else
		fputs("/>\n", f);
}

/* the NUMA node a top-level PCI function stands under: its own, else that of the first device below it */
static int top_node(const struct topo *t, size_t top)
{
	if (t->s->pci[top].node >= 0)
		return t->s->pci[top].node;
	for (size_t j = 0; j < t->s->n_pci; j++) {
		int k = (int)j;

		if (!t->keep[j] || !nccl_dev(&t->s->pci[j]) || t->s->pci[j].node < 0)
			continue;
		while (k >= 0 && k != (int)top)
			k = t->s->pci[k].parent;
		if (k == (int)top)
			return t->s->pci[j].node;
	}
	return -1;
}

static void put_cpu(FILE *f, const struct topo *t, const struct asios_node *n, const struct cpu_id *id)
{
	const char *arch = nccl_arch(t->s->arch);

	fprintf(f, "  <cpu numaid=\"%u\" affinity=\"", n->id);
	put_cpumap(f, n->cpus);
	fputc('"', f);
	if (arch)
		fprintf(f, " arch=\"%s\"", arch);
	if (arch && !strcmp(arch, "x86_64") && *id->vendor && id->family >= 0 && id->model >= 0)
		fprintf(f, " vendor=\"%s\" familyid=\"%d\" modelid=\"%d\"", id->vendor, id->family, id->model);
	fputs(">\n", f);
	for (size_t i = 0; i < t->s->n_pci; i++)
		if (t->keep[i] && t->s->pci[i].parent < 0 && top_node(t, i) == (int)n->id)
			put_pci(f, t, i, 2);
	fputs("  </cpu>\n", f);
}

static void write_topo(FILE *f, struct asios_root *root, const struct asios_snapshot *s, bool *keep)
{
	struct topo t = { root, s, keep };
	unsigned gpus = 0, unplaced = 0;
	struct cpu_id id;

	for (size_t i = 0; i < s->n_pci; i++) {
		if (!nccl_dev(&s->pci[i]))
			continue;
		gpus += nccl_gpu(&s->pci[i]);
		for (int k = (int)i; k >= 0 && (size_t)k < s->n_pci; k = s->pci[k].parent)
			keep[k] = true;
	}
	cpu_id(root, &id);
	fputs("<!-- NCCL topology written by asiosctl export nccl (see asiosctl(1)): install as " TOPO_INSTALL ".\n"
	      "     Each <cpu> is a NUMA node; under it the PCI tree to its GPUs and NICs, bridges included. NCCL adds\n"
	      "     what it probes (GPUs, NICs, NVLink) to it. -->\n", f);
	if (!gpus)
		fputs("<!-- no NVIDIA or AMD GPU found: nothing for NCCL to place -->\n", f);
	fputs("<system version=\"1\">\n", f);
	for (size_t n = 0; gpus && n < s->n_nodes; n++) {
		bool any = false;

		for (size_t i = 0; i < s->n_pci && !any; i++)
			any = keep[i] && s->pci[i].parent < 0 && top_node(&t, i) == (int)s->nodes[n].id;
		if (any && !hwloc_bitmap_iszero(s->nodes[n].cpus))
			put_cpu(f, &t, &s->nodes[n], &id);
	}
	for (size_t i = 0; gpus && i < s->n_pci; i++)
		if (keep[i] && s->pci[i].parent < 0 && top_node(&t, i) < 0)
			unplaced++;
	if (unplaced)
		fprintf(f, "  <!-- %u PCI root(s) with GPUs or NICs left out: their NUMA node is unknown -->\n", unplaced);
	fputs("</system>\n", f);
}

/* the NIC nearest to GPU I (lowest PCI distance, first in PCI order on a tie); -1 when there is none */
static int nearest_nic(const struct asios_snapshot *s, size_t i, enum asios_pci_distance *dist)
{
	int best = -1;

	*dist = ASIOS_PCI_SYS;
	for (size_t j = 0; j < s->n_pci; j++) {
		enum asios_pci_distance d;

		if (s->pci[j].cls != ASIOS_DEV_NIC)
			continue;
		d = asios_pci_distance(s, i, j);
		if (best < 0 || d < *dist) {
			best = (int)j;
			*dist = d;
		}
	}
	return best;
}

static void put_names(FILE *f, char **names)
{
	for (size_t k = 0; names && names[k]; k++)
		fprintf(f, "%s%s", k ? "," : "", names[k]);
}

/* "# GPU N ADDR (node X): nearest NIC ADDR (rdma, netdev), DIST" per GPU; marks PAIRED[nic] when PIX or PXB */
static unsigned gpu_comments(FILE *f, const struct asios_snapshot *s, bool *paired)
{
	unsigned g = 0, pairs = 0;

	for (size_t i = 0; i < s->n_pci; i++) {
		enum asios_pci_distance dist;
		int nic;

		if (!nccl_gpu(&s->pci[i]))
			continue;
		nic = nearest_nic(s, i, &dist);
		fprintf(f, "# GPU %u %s (NUMA node %d): ", g++, s->pci[i].addr, s->pci[i].node);
		if (nic < 0) {
			fputs("no NIC\n", f);
			continue;
		}
		fprintf(f, "nearest NIC %s (", s->pci[nic].addr);
		put_names(f, s->pci[nic].rdma);
		fputs(s->pci[nic].rdma && s->pci[nic].rdma[0] && s->pci[nic].netdevs && s->pci[nic].netdevs[0] ? ", " : "", f);
		put_names(f, s->pci[nic].netdevs);
		fprintf(f, "), %s%s\n", asios_pci_distance_name(dist),
			dist <= ASIOS_PCI_PXB ? ": behind the same PCIe switch" : "");
		if (dist <= ASIOS_PCI_PXB) {
			pairs += !paired[nic];
			paired[nic] = true;
		}
	}
	return pairs;
}

/* KEY==a,b,c (NCCL's "=" prefix: exact names, so mlx5_1 does not also select mlx5_10) of the RDMA devices
 * (RDMA true) or netdevs of the NICs chosen by WANT[]; nothing when there is none */
static bool put_list_var(FILE *f, const char *key, const struct asios_snapshot *s, const bool *want, bool rdma)
{
	bool any = false;

	for (size_t i = 0; i < s->n_pci; i++) {
		char **names = rdma ? s->pci[i].rdma : s->pci[i].netdevs;

		for (size_t k = 0; want[i] && names && names[k]; k++) {
			fprintf(f, "%s%s", any ? "," : key, names[k]);
			any = true;
		}
	}
	if (any)
		fputc('\n', f);
	return any;
}

static void write_conf(FILE *f, const struct asios_snapshot *s, bool *paired, bool *sel)
{
	unsigned pairs, rdma_nics = 0;

	fputs("# NCCL settings written by asiosctl export nccl (see asiosctl(1)); NCCL reads KEY=VALUE lines from\n"
	      "# /etc/nccl.conf (the environment wins over them).\n"
	      "NCCL_TOPO_FILE=" TOPO_INSTALL "\n", f);
	pairs = gpu_comments(f, s, paired);
	for (size_t i = 0; i < s->n_pci; i++)
		rdma_nics += s->pci[i].cls == ASIOS_DEV_NIC && s->pci[i].rdma && s->pci[i].rdma[0];
	if (pairs) {
		fputs("# NCCL_IB_HCA: the RDMA devices of the NICs paired with a GPU behind the same PCIe switch\n", f);
		for (size_t i = 0; i < s->n_pci; i++)
			sel[i] = paired[i];
	} else if (rdma_nics) {
		fputs("# NCCL_IB_HCA: every RDMA device (no NIC shares a PCIe switch with a GPU)\n", f);
		for (size_t i = 0; i < s->n_pci; i++)
			sel[i] = s->pci[i].cls == ASIOS_DEV_NIC;
	}
	if (!put_list_var(f, "NCCL_IB_HCA==", s, sel, true))
		fputs("# no RDMA device: NCCL_IB_HCA left out (NCCL uses sockets)\n", f);
	for (size_t i = 0; i < s->n_pci; i++)
		sel[i] = s->pci[i].cls == ASIOS_DEV_NIC && !(s->pci[i].rdma && s->pci[i].rdma[0]);
	fputs("# NCCL_SOCKET_IFNAME: the interfaces of the NICs without RDMA (bootstrap, and TCP when there is no RDMA)\n",
	      f);
	if (!put_list_var(f, "NCCL_SOCKET_IFNAME==", s, sel, false))
		fputs("# no NIC without RDMA: NCCL_SOCKET_IFNAME left out (NCCL picks an interface itself)\n", f);
}

int export_nccl(struct asios_root *root, const struct asios_snapshot *s, struct out_file *out)
{
	bool *keep = calloc(s->n_pci ? s->n_pci : 1, sizeof(*keep));
	bool *paired = calloc(s->n_pci ? s->n_pci : 1, sizeof(*paired));
	bool *sel = calloc(s->n_pci ? s->n_pci : 1, sizeof(*sel));
	int r = keep && paired && sel ? 0 : -ENOMEM;

	out[0] = (struct out_file){ "nccl-topo.xml", TOPO_INSTALL };
	out[1] = (struct out_file){ "nccl.conf", "/etc/nccl.conf" };
	for (int i = 0; r == 0 && i < EXPORT_N_FILES; i++) {
		FILE *f = open_memstream(&out[i].text, &out[i].len);

		if (!f) {
			r = -ENOMEM;
			break;
		}
		if (i == 0)
			write_topo(f, root, s, keep);
		else
			write_conf(f, s, paired, sel);
		if (fclose(f) != 0)
			r = -ENOMEM;
	}
	free(keep);
	free(paired);
	free(sel);
	return r;
}
