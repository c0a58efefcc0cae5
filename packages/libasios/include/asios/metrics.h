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

#include <stddef.h>
#include <stdio.h>

#include "asios/effect.h"
#include "asios/stats.h"

struct asios_domain;
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

/* One domain on the machine now: what `asiosctl status` lists and the asios_domain_* families export. */
struct asios_domain_status {
	int ok;                          /* 1 planned, 0 the policy or the machine could not be read */
	size_t actions, skipped;         /* a fresh plan's actions (the drift) and objects left alone */
	struct asios_apply_stats st;     /* the apply engine's counters */
	struct asios_effect_window eff;  /* the last apply's effect so far */
};

/* D's status under ROOT (policy read under O->root_path); what could not be read goes to O->warn. 0, or -EIO
 * when the policy or the machine could not be read and planned (the counters are still filled in). */
int asios_domain_status(struct asios_root *root, const struct asios_snapshot *s, const struct asios_domain *d,
			const struct asios_metrics_opts *o, struct asios_domain_status *out);

/* What a GPU reports: NVML when libnvidia-ml.so.1 loads and ROOT is the running machine, amdgpu's sysfs for AMD
 * GPUs of S. A value a GPU or its driver does not report is left out (HAVE false). */
enum asios_gpu_value {
	ASIOS_GPU_MEM_USED, ASIOS_GPU_MEM_TOTAL,       /* bytes */
	ASIOS_GPU_UTIL,                                /* ratio */
	ASIOS_GPU_TEMP, ASIOS_GPU_TEMP_LIMIT,          /* °C; the limit: NVML's slowdown threshold, amdgpu's temp1_crit */
	ASIOS_GPU_POWER,                               /* W */
	ASIOS_GPU_ECC_CORR, ASIOS_GPU_ECC_UNCORR, ASIOS_GPU_REPLAYS,
	ASIOS_GPU_PERSISTENCE,                         /* NVML: persistence mode 1 on, 0 off */
	_ASIOS_GPU_VALUE_MAX,
};
#define ASIOS_GPU_MAX 64
struct asios_gpu_reading {
	char device[16];                               /* PCI address "0000:17:00.0" */
	const char *source;                            /* "nvml", "sysfs" */
	double v[_ASIOS_GPU_VALUE_MAX];
	bool have[_ASIOS_GPU_VALUE_MAX];
};
struct asios_gpu_readings {
	struct asios_gpu_reading g[ASIOS_GPU_MAX];
	size_t n;
};
void asios_gpu_read(struct asios_root *root, const struct asios_snapshot *s, struct asios_gpu_readings *out);
/* The GPU families (asios_gpu_*) of those readings. Nothing when there is no GPU to read. */
void asios_gpu_metrics_write(FILE *f, struct asios_root *root, const struct asios_snapshot *s);
/* asios-load's counters (ROOT/var/lib/asios/load/stats.json) as asios_load_* families; none when it never ran */
void asios_load_metrics_write(FILE *f, struct asios_root *root);
