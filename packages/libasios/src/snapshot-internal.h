/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The snapshot is built by a pipeline of stages, one file each, in this order:
 *   topology.c (hwloc: CPUs, cores, packages, caches, NUMA nodes)  →  isolation.c (sysfs + cmdline)
 *   → cgroup.c (cpuset restriction)  →  pci.c (devices, classes, nodes)  →  irq.c (/proc/interrupts joined
 *   to devices)  →  rdma.c (the ports of RDMA devices, joined to PCI functions and GPUs)  →  kconfig.c.
 * Each stage returns a negative errno only for what makes the snapshot useless (out of memory, no CPU
 * topology); anything else becomes a warning in the snapshot. What the stages share (a warning, a CPU set read
 * from a file, the PCI index of an address) is in snapshot-util.c, so no stage calls another one.
 */

#include "asios/snapshot.h"
#include "util.h"

int asios_topology_load(struct asios_root *root, struct asios_snapshot *s);
int asios_isolation_load(struct asios_root *root, struct asios_snapshot *s);
int asios_cgroup_load(struct asios_root *root, struct asios_snapshot *s);
void asios_pci_device_clear(struct asios_pci_device *d);
int asios_pci_load(struct asios_root *root, struct asios_snapshot *s);
int asios_irq_load(struct asios_root *root, struct asios_snapshot *s);
int asios_rdma_load(struct asios_root *root, struct asios_snapshot *s);
void asios_rdma_ports_free(struct asios_snapshot *s);
int asios_kconfig_load(struct asios_root *root, struct asios_snapshot *s);

/* Read a CPU list file (cpulist format, or hex mask when MASK); -ENOENT when absent, -EINVAL + warning when bad. */
int asios_read_cpuset(struct asios_root *root, struct asios_snapshot *s, const char *path, bool mask,
		      hwloc_bitmap_t set);
