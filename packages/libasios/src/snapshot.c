/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "asios/kconfig.h"
#include "snapshot-internal.h"

/* The architecture of the machine under the root: this one's uname on the host, else guessed from cpuinfo. */
static char *detect_arch(struct asios_root *root)
{
	static const struct {
		const char *needle, *arch;
	} hints[] = {
		{ "vendor_id\t: GenuineIntel", "x86_64" }, { "vendor_id\t: AuthenticAMD", "x86_64" },
		{ "vendor_id\t: HygonGenuine", "x86_64" }, { "CPU implementer", "aarch64" },
		{ "isa\t\t: rv64", "riscv64" },            { "isa\t: rv64", "riscv64" },
		{ "vendor_id       : IBM/S390", "s390x" }, { "IBM/S390", "s390x" },
		{ "cpu\t\t: POWER", "ppc64" },              { "platform\t: PowerNV", "ppc64" },
	};
	struct utsname u;
	char *buf;

	if (asios_root_is_host(root) && uname(&u) == 0)
		return strdup(u.machine);
	if (asios_read_file(root, "/proc/cpuinfo", &buf, NULL) < 0)
		return strdup("unknown");
	for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
		if (strstr(buf, hints[i].needle)) {
			free(buf);
			return strdup(hints[i].arch);
		}
	free(buf);
	return strdup("unknown");
}

int asios_snapshot_load(struct asios_root *root, struct asios_snapshot **ret)
{
	return asios_snapshot_load_why(root, ret, NULL);
}

int asios_snapshot_load_why(struct asios_root *root, struct asios_snapshot **ret, char **why)
{
	struct asios_snapshot *s = calloc(1, sizeof(*s));
	int r;

	if (why)
		*why = NULL;
	if (!s)
		return -ENOMEM;
	s->root = strdup(asios_root_path(root));
	s->arch = detect_arch(root);
	if (!s->root || !s->arch) {
		asios_snapshot_free(s);
		return -ENOMEM;
	}
	r = asios_read_line(root, "/proc/sys/kernel/osrelease", &s->kernel_release);
	if (r == -ENOMEM)
		goto fail;
	if ((r = asios_topology_load(root, s)) < 0 || (r = asios_isolation_load(root, s)) < 0 ||
	    (r = asios_cgroup_load(root, s)) < 0 || (r = asios_pci_load(root, s)) < 0 ||
	    (r = asios_irq_load(root, s)) < 0 || (r = asios_rdma_load(root, s)) < 0 ||
	    (r = asios_kconfig_load(root, s)) < 0)
		goto fail;
	*ret = s;
	return 0;
fail:
	if (why && r == -EXDEV && s->n_warnings) /* the stage that refused said why, last */
		*why = strdup(s->warnings[s->n_warnings - 1]);
	asios_snapshot_free(s);
	return r;
}

void asios_snapshot_free(struct asios_snapshot *s)
{
	if (!s)
		return;
	free(s->root);
	free(s->arch);
	free(s->kernel_release);
	free(s->cpus);
	hwloc_bitmap_free(s->possible);
	hwloc_bitmap_free(s->present);
	hwloc_bitmap_free(s->online);
	hwloc_bitmap_free(s->offline);
	hwloc_bitmap_free(s->allowed);
	for (size_t i = 0; i < s->n_nodes; i++) {
		hwloc_bitmap_free(s->nodes[i].cpus);
		free(s->nodes[i].distances);
		free(s->nodes[i].kind);
	}
	free(s->nodes);
	for (size_t i = 0; i < s->n_caches; i++)
		hwloc_bitmap_free(s->caches[i].cpus);
	free(s->caches);
	for (size_t i = 0; i < s->n_pci; i++)
		asios_pci_device_clear(&s->pci[i]);
	free(s->pci);
	asios_rdma_ports_free(s);
	for (size_t i = 0; i < s->n_irqs; i++) {
		hwloc_bitmap_free(s->irqs[i].affinity);
		hwloc_bitmap_free(s->irqs[i].effective);
	}
	free(s->irqs);
	asios_interrupts_free(s->interrupts);
	asios_strv_free(s->irq_strings);
	hwloc_bitmap_free(s->isolation.isolated);
	hwloc_bitmap_free(s->isolation.nohz_full);
	hwloc_bitmap_free(s->isolation.housekeeping);
	hwloc_bitmap_free(s->isolation.isolcpus_cpus);
	free(s->isolation.cmdline);
	free(s->isolation.isolcpus);
	free(s->isolation.nohz_full_arg);
	free(s->isolation.rcu_nocbs);
	free(s->isolation.irqaffinity);
	free(s->cgroup.mount);
	free(s->cgroup.path);
	hwloc_bitmap_free(s->cgroup.cpus);
	hwloc_bitmap_free(s->cgroup.mems);
	free(s->kconfig_source);
	asios_kconfig_free(s->kconfig, s->n_kconfig);
	asios_strv_free(s->warnings);
	free(s);
}

const char *asios_dev_class_name(enum asios_dev_class c)
{
	static const char *const names[_ASIOS_DEV_CLASS_MAX] = {
		[ASIOS_DEV_OTHER] = "other", [ASIOS_DEV_GPU] = "gpu",   [ASIOS_DEV_ACCEL] = "accel",
		[ASIOS_DEV_NIC] = "nic",     [ASIOS_DEV_NVME] = "nvme", [ASIOS_DEV_STORAGE] = "storage",
		[ASIOS_DEV_BRIDGE] = "bridge",
	};

	return (unsigned)c < _ASIOS_DEV_CLASS_MAX ? names[c] : "other";
}

const char *asios_node_source_name(enum asios_node_source src)
{
	switch (src) {
	case ASIOS_NODE_SYSFS:
		return "numa_node";
	case ASIOS_NODE_LOCAL_CPUS:
		return "local_cpus";
	case ASIOS_NODE_PARENT:
		return "parent";
	case ASIOS_NODE_SINGLE:
		return "single";
	default:
		return "unknown";
	}
}

const char *asios_pci_distance_name(enum asios_pci_distance d)
{
	static const char *const names[] = { "X", "PIX", "PXB", "PHB", "NODE", "SYS" };

	return (unsigned)d < sizeof(names) / sizeof(names[0]) ? names[d] : "SYS";
}

const struct asios_node *asios_snapshot_node(const struct asios_snapshot *s, int id)
{
	for (size_t i = 0; i < s->n_nodes; i++)
		if ((int)s->nodes[i].id == id)
			return &s->nodes[i];
	return NULL;
}
