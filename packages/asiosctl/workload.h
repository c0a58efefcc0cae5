/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* asiosctl workload: the job's arguments and plan (workload.c), its GPUs and their device files (workload-gpus.c) */
#ifndef ASIOSCTL_WORKLOAD_H
#define ASIOSCTL_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hwloc.h>

#include "asios/root.h"
#include "asios/snapshot.h"

#define MAX_DEVS 8

struct wl_args {
	const char *name, *root, *gpus;
	double fraction;
	bool write, json;
	char **cmd;
	int n_cmd;
};

struct wl_gpu {
	unsigned index;           /* in the machine's GPU order */
	size_t pci;               /* in snapshot pci[] */
	char *devs[MAX_DEVS];     /* its own device files and the shared ones of its vendor */
	size_t n_devs;
	char how[96];             /* how its device file was found */
};

struct wl_plan {
	struct wl_gpu *gpus;
	size_t n_gpus;
	hwloc_bitmap_t nodes;     /* the NUMA nodes with CPUs nearest the GPUs */
	hwloc_bitmap_t mems;      /* those and the GPUs' own memory nodes */
	hwloc_bitmap_t cpus;
	bool isolated;            /* CPUs: the isolated ones of the nodes (the housekeeping ones left out) */
	uint64_t mem_bytes;
	unsigned long long max_mib;
	char *text;               /* the drop-in */
};

/* the GPUs of LIST ("N", "N-M" or PCI addresses, comma-separated) as pci[] indices; NULL (said) on an error */
hwloc_bitmap_t select_gpus(const struct asios_snapshot *s, const char *list);
/* the index in the machine's GPU order of pci[PCI] */
unsigned gpu_index(const struct asios_snapshot *s, size_t pci);
/* the device files of G; -ENODEV (said) when the machine names none */
int gpu_devs(struct asios_root *root, const struct asios_snapshot *s, struct wl_gpu *g);

#endif
