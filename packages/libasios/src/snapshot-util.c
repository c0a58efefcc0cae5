/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What every stage of the snapshot and its readers share, so that the stages depend on this file and on no
 * other stage, and snapshot.c on the stages: a warning, a CPU set read from a file, the PCI index of an address.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/cpulist.h"
#include "snapshot-internal.h"

void asios_snapshot_warn(struct asios_snapshot *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)asios_strv_pushv(&s->warnings, &s->n_warnings, fmt, ap); /* a lost warning on OOM is acceptable */
	va_end(ap);
}

int asios_read_cpuset(struct asios_root *root, struct asios_snapshot *s, const char *path, bool mask,
		      hwloc_bitmap_t set)
{
	const char *err = NULL;
	char *line;
	int r;

	r = asios_read_line(root, path, &line);
	if (r < 0) {
		if (r != -ENOENT && r != -ENOMEM)
			asios_snapshot_warn(s, "%s: %s, ignoring", path, strerror(-r));
		return r;
	}
	if (!strcmp(line, "(null)")) { /* nohz_full of a NO_HZ_FULL kernel booted without the parameter */
		hwloc_bitmap_zero(set);
		free(line);
		return 0;
	}
	r = mask ? asios_cpumask_parse(line, set, &err) : asios_cpulist_parse(line, set, &err);
	if (r < 0)
		asios_snapshot_warn(s, "%s: not a CPU %s at column %td (\"%s\"), ignoring", path, mask ? "mask" : "list",
				    err ? err - line + 1 : 0, line);
	free(line);
	return r;
}

int asios_snapshot_pci_index(const struct asios_snapshot *s, const char *addr)
{
	size_t lo = 0, hi = s->n_pci;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->pci[mid].addr, addr);

		if (c == 0)
			return (int)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}
