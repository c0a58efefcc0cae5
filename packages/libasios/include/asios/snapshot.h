/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The machine snapshot: everything the planners know about a machine, read once through a root prefix.
 * One struct, no globals; asios_snapshot_free() releases all of it. Lists are plain arrays with counts.
 * Problems in the input that do not stop the snapshot are recorded in `warnings`, each naming the object.
 */

#include <hwloc.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "asios/interrupts.h"
#include "asios/pcie.h"
#include "asios/root.h"

enum asios_dev_class {
	ASIOS_DEV_OTHER,
	ASIOS_DEV_GPU,
	ASIOS_DEV_ACCEL,
	ASIOS_DEV_NIC,
	ASIOS_DEV_NVME,
	ASIOS_DEV_STORAGE,
	ASIOS_DEV_BRIDGE,
	_ASIOS_DEV_CLASS_MAX,
};

/* How a device's NUMA node was found (see docs/topology-json.md, "node_source"). */
enum asios_node_source {
	ASIOS_NODE_SYSFS,         /* numa_node >= 0 */
	ASIOS_NODE_LOCAL_CPUS,    /* numa_node -1: the one node holding all of local_cpulist */
	ASIOS_NODE_PARENT,        /* from the nearest upstream bridge that knows its node */
	ASIOS_NODE_SINGLE,        /* the machine has one node */
	ASIOS_NODE_UNKNOWN,       /* -1: left alone by planners */
};

/* nvidia-smi topo -m vocabulary, nearest first */
enum asios_pci_distance {
	ASIOS_PCI_SELF,   /* X: the same device */
	ASIOS_PCI_PIX,    /* at most one PCIe bridge (same switch) */
	ASIOS_PCI_PXB,    /* several bridges, not through the host bridge */
	ASIOS_PCI_PHB,    /* through the host bridge (same root complex) */
	ASIOS_PCI_NODE,   /* between host bridges within one NUMA node */
	ASIOS_PCI_SYS,    /* across NUMA nodes (or a node unknown) */
};

struct asios_cpu {
	unsigned id;     /* OS index */
	int core;        /* unique core index (hwloc logical); SMT siblings share it; -1 when offline */
	int core_id;     /* core id within its package (sysfs core_id) */
	int package;     /* unique package index (hwloc logical), -1 when offline */
	int package_id;  /* physical_package_id, -1 when the kernel does not tell */
	int node;        /* NUMA node, -1 unknown */
	int llc;         /* index into snapshot caches[] of its last-level cache, -1 none */
	bool online;
	bool allowed;    /* in the cpuset/cgroup of this process */
};

struct asios_node {
	unsigned id;
	hwloc_bitmap_t cpus;      /* empty for CPU-less memory nodes (GPU memory, HBM, CXL, pmem) */
	uint64_t memory_bytes;
	int *distances;           /* SLIT row, indexed like snapshot nodes[]; NULL when the kernel gave none */
	bool allowed;             /* in the allowed memory nodes of this process */
	char *kind;               /* hwloc's subtype: "GPUMemory", "HBM", "NVM", "SPM", "CXL-DRAM"…; NULL for plain DRAM */
	char pci[16];             /* for GPU memory: the GPU's PCI address, else "" */
};

struct asios_cache {
	unsigned level;
	uint64_t size;
	hwloc_bitmap_t cpus;
};

struct asios_pci_device {
	char addr[16];            /* "0000:17:00.0" */
	uint16_t vendor, device, subsys_vendor, subsys_device;
	uint32_t class_code;      /* 24-bit class, e.g. 0x030200 */
	enum asios_dev_class cls;
	char *vendor_name;        /* "nvidia", "amd", "intel", "mellanox", …, NULL when not one we name */
	char *driver;             /* bound driver, NULL when none */
	int node;
	enum asios_node_source node_source;
	char *sysfs_path;         /* "pci0000:17/0000:17:01.0/0000:18:00.0" under /sys/devices */
	int parent;               /* index of the upstream bridge in snapshot pci[], -1 at a root bus */
	hwloc_bitmap_t local_cpus;
	char **netdevs;           /* NULL-terminated */
	char **rdma;              /* RDMA devices (mlx5_0, rxe…) */
	char **block;             /* nvme0, sda… */
	int irq_legacy;           /* INTx line, -1 none */
	unsigned *msi_irqs;
	size_t n_msi_irqs;
	struct asios_pcie pcie;   /* its PCI Express registers; pcie.cap 0: not read (no PCI Express capability,
				   * or a config space cut short: unprivileged, or a capture without it) */
	int pcie_err;             /* 0, or why pcie.cap is 0: -ENODATA (no PCI Express capability), -ERANGE (config space
				   * cut at the header), -ENOENT (no config file), -EINVAL (malformed), another -errno */
	char *pcie_fault;         /* "FILE: why" its registers could not be read (malformed), NULL */
};

/* One port of an RDMA device (/sys/class/infiniband/DEV/ports/N): an InfiniBand HCA, a RoCE NIC or soft-RoCE. */
struct asios_rdma_port {
	char *device;             /* "mlx5_0", "rxe0" */
	unsigned port;            /* 1-based */
	char *link_layer;         /* "InfiniBand", "Ethernet" (RoCE); NULL when unreadable */
	char *state;              /* "ACTIVE", "DOWN", … (without the number sysfs puts first); NULL unreadable */
	char *phys_state;         /* "LinkUp", "Disabled", …; NULL unreadable */
	char *rate;               /* "100 Gb/sec (4X EDR)"; NULL unreadable */
	char *netdev;             /* the interface it carries: gid_attrs/ndevs/0, else the PCI function's first
				   * netdev, else the parent of a soft-RoCE device; NULL none */
	unsigned n_gids;          /* valid GID entries (those with a gid_attrs/types entry) */
	unsigned n_gids_v2;       /* of them RoCE v2 (routable over UDP/IP) */
	int device_index;         /* index in snapshot pci[] of its PCI function, -1 (soft-RoCE: none) */
	int node;                 /* its NUMA node (its PCI function's, or its netdev's), -1 unknown */
	int nearest_gpu;          /* index in snapshot pci[] of the nearest GPU or accelerator, -1 none */
	enum asios_pci_distance gpu_distance; /* to that GPU */
};

struct asios_irq {
	unsigned irq;
	char *name;               /* actions, e.g. "mlx5_comp3@pci:0000:18:00.0" or "nvme0q1" */
	char *chip;
	char *hwirq;
	uint64_t total;
	uint64_t *counts;         /* per-CPU, indexed like interrupts->cpus */
	int device;               /* index in snapshot pci[], -1 none */
	hwloc_bitmap_t affinity;  /* smp_affinity_list */
	hwloc_bitmap_t effective; /* effective_affinity_list, empty if unknown */
	bool managed;             /* kernel-managed affinity (writes fail with EIO) */
	bool managed_known;
};

struct asios_isolation {
	hwloc_bitmap_t isolated;     /* /sys/devices/system/cpu/isolated */
	hwloc_bitmap_t nohz_full;    /* /sys/devices/system/cpu/nohz_full */
	hwloc_bitmap_t housekeeping; /* online CPUs not in isolated ∪ nohz_full */
	/* the kernel command line's own view; NULL strings when absent */
	char *cmdline;
	char *isolcpus;              /* raw value, flags included ("managed_irq,domain,2-7") */
	hwloc_bitmap_t isolcpus_cpus;
	char *nohz_full_arg;
	char *rcu_nocbs;
	char *irqaffinity;
};

struct asios_cgroup {
	int version;                 /* 0 none found, 1 (cpuset v1), 2 (unified) */
	char *mount;                 /* where the cpuset hierarchy is mounted */
	char *path;                  /* this process's cgroup in it */
	hwloc_bitmap_t cpus;         /* effective cpus, empty when not restricted or unknown */
	hwloc_bitmap_t mems;
};

struct asios_kconfig_entry {
	char *name;                  /* without CONFIG_ */
	char *value;                 /* "y", "m", "1000", "\"string\"" */
};

struct asios_snapshot {
	char *root;
	char *arch;                  /* from /proc/cpuinfo or uname, e.g. "x86_64" */
	char *kernel_release;        /* proc/sys/kernel/osrelease, NULL if absent */

	struct asios_cpu *cpus;      /* present CPUs, by id */
	size_t n_cpus;
	hwloc_bitmap_t possible, present, online, offline, allowed;
	unsigned n_packages, n_cores;

	struct asios_node *nodes;    /* by id (ids may be sparse) */
	size_t n_nodes;

	struct asios_cache *caches;  /* last-level caches */
	size_t n_caches;

	struct asios_pci_device *pci; /* every PCI function, bridges included, by address */
	size_t n_pci;

	struct asios_interrupts *interrupts; /* /proc/interrupts as parsed, NULL if unreadable */
	struct asios_irq *irqs;      /* numbered IRQs */
	size_t n_irqs;
	char **irq_strings;          /* owns the names taken from /sys/kernel/irq (others point into interrupts) */
	size_t n_irq_strings;

	struct asios_isolation isolation;
	struct asios_cgroup cgroup;

	struct asios_rdma_port *rdma_ports; /* every port of every RDMA device, by device name and port */
	size_t n_rdma_ports;

	char *kconfig_source;        /* "/proc/config.gz", "/boot/config-6.12…", NULL */
	struct asios_kconfig_entry *kconfig;
	size_t n_kconfig;

	char **warnings;             /* NULL-terminated */
	size_t n_warnings;
};

/* Read the machine under ROOT. Fails only when the CPU topology cannot be read at all, or (-EXDEV) when a link
 * that hwloc would follow leads outside a root other than "/". */
int asios_snapshot_load(struct asios_root *root, struct asios_snapshot **ret);
/* The same; on failure *WHY (to free(), may be NULL) says which file made it fail when one did. */
int asios_snapshot_load_why(struct asios_root *root, struct asios_snapshot **ret, char **why);
void asios_snapshot_free(struct asios_snapshot *s);

const char *asios_dev_class_name(enum asios_dev_class c);
const char *asios_node_source_name(enum asios_node_source s);
const char *asios_pci_distance_name(enum asios_pci_distance d);

const struct asios_node *asios_snapshot_node(const struct asios_snapshot *s, int id);
int asios_snapshot_pci_index(const struct asios_snapshot *s, const char *addr);
enum asios_pci_distance asios_pci_distance(const struct asios_snapshot *s, size_t a, size_t b);
/* D is a GPU or another accelerator (the devices GPU↔NIC pairing and GPU placement are about) */
bool asios_pci_is_gpu(const struct asios_pci_device *d);
/* The upstream bridges of pci[I] (indices into pci[]), the root port first, at most MAX; returns the count. */
size_t asios_pci_chain(const struct asios_snapshot *s, size_t i, int *out, size_t max);
/* The value of CONFIG_NAME (NAME without the prefix), NULL when unset or no config was found. */
const char *asios_kconfig_get(const struct asios_snapshot *s, const char *name);

/* Internal helpers shared by the snapshot stages (not for planners). */
void asios_snapshot_warn(struct asios_snapshot *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
