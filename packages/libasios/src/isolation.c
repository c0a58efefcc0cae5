/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "asios/cmdline.h"
#include "asios/cpulist.h"
#include "snapshot-internal.h"

/*
 * Isolation state: what the kernel applies (sysfs isolated, nohz_full) and what the command line asked for.
 * Housekeeping CPUs are the online ones in neither set. Kernels before nohz_full/isolated existed in sysfs
 * fall back to the command line's isolcpus/nohz_full lists.
 */

static int cmdline_cpus(struct asios_snapshot *s, const char *name, const char *value, hwloc_bitmap_t cpus)
{
	const char *err = NULL;
	int r;

	if (!value)
		return 0;
	r = !strcmp(name, "isolcpus") ? asios_isolcpus_parse(value, cpus, &err) : asios_cpulist_parse(value, cpus, &err);
	if (r < 0)
		asios_snapshot_warn(s, "/proc/cmdline: %s=%s: not a CPU list at column %td, ignoring", name, value,
				    err ? err - value + 1 : 0);
	return r;
}

int asios_isolation_load(struct asios_root *root, struct asios_snapshot *s)
{
	struct asios_isolation *iso = &s->isolation;
	hwloc_bitmap_t nohz_cmd;
	int r;

	iso->isolated = hwloc_bitmap_alloc();
	iso->nohz_full = hwloc_bitmap_alloc();
	iso->housekeeping = hwloc_bitmap_alloc();
	iso->isolcpus_cpus = hwloc_bitmap_alloc();
	nohz_cmd = hwloc_bitmap_alloc();
	if (!iso->isolated || !iso->nohz_full || !iso->housekeeping || !iso->isolcpus_cpus || !nohz_cmd) {
		hwloc_bitmap_free(nohz_cmd);
		return -ENOMEM;
	}
	r = asios_read_line(root, "/proc/cmdline", &iso->cmdline);
	if (r < 0 && r != -ENOENT)
		asios_snapshot_warn(s, "/proc/cmdline: %s, ignoring", strerror(-r));
	if (iso->cmdline) {
		if (asios_cmdline_get(iso->cmdline, "isolcpus", &iso->isolcpus) < 0 ||
		    asios_cmdline_get(iso->cmdline, "nohz_full", &iso->nohz_full_arg) < 0 ||
		    asios_cmdline_get(iso->cmdline, "rcu_nocbs", &iso->rcu_nocbs) < 0 ||
		    asios_cmdline_get(iso->cmdline, "irqaffinity", &iso->irqaffinity) < 0) {
			hwloc_bitmap_free(nohz_cmd);
			return -ENOMEM;
		}
		(void)cmdline_cpus(s, "isolcpus", iso->isolcpus, iso->isolcpus_cpus);
		(void)cmdline_cpus(s, "nohz_full", iso->nohz_full_arg, nohz_cmd);
	}
	if (asios_read_cpuset(root, s, "/sys/devices/system/cpu/isolated", false, iso->isolated) == -ENOENT)
		hwloc_bitmap_copy(iso->isolated, iso->isolcpus_cpus);
	if (asios_read_cpuset(root, s, "/sys/devices/system/cpu/nohz_full", false, iso->nohz_full) == -ENOENT)
		hwloc_bitmap_copy(iso->nohz_full, nohz_cmd);
	hwloc_bitmap_free(nohz_cmd);
	/* the kernel never isolates CPUs it does not have */
	hwloc_bitmap_and(iso->isolated, iso->isolated, s->possible);
	hwloc_bitmap_and(iso->nohz_full, iso->nohz_full, s->possible);
	hwloc_bitmap_copy(iso->housekeeping, s->online);
	hwloc_bitmap_andnot(iso->housekeeping, iso->housekeeping, iso->isolated);
	hwloc_bitmap_andnot(iso->housekeeping, iso->housekeeping, iso->nohz_full);
	return 0;
}
