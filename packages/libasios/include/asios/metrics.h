/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The exposition of what only ASIOS knows of a machine, in the Prometheus text format (0.0.4): written once
 * by `asiosctl metrics` (of a capture, too) and at every scrape by asios-exporter, from the same snapshot
 * code. Labels join with node_exporter's (cpu, node) and with the PCI addresses other exporters use (device).
 * What node_exporter already exports (PSI, per-node numastat, vmstat's THP and compaction counters, CPU time)
 * is left to it (docs/telemetry.md).
 */

#include <stdio.h>

struct asios_root;
struct asios_snapshot;

struct asios_metrics_opts {
	const char *root_path;   /* where the policy files are read: "/" or a capture */
	/* told what could not be read (a domain's policy, its counters), or NULL */
	void (*warn)(void *userdata, const char *what);
	void *userdata;
};

/* Write every family to F. 0, or -EIO when F could not be written. */
int asios_metrics_write(FILE *f, struct asios_root *root, const struct asios_snapshot *s,
			const struct asios_metrics_opts *o);
