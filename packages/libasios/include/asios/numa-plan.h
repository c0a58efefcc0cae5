/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * NUMA placement of accelerator workloads (asios-numad, asiosctl numa).
 *
 * Observe: asios_numa_observe() finds the workloads under a root prefix: processes holding an accelerator open
 * (/dev/nvidiaN, /dev/dri/renderDN, /dev/accel/accelN, /dev/kfd), and processes whose command line or cgroup a
 * [workload] section of numad.conf names. For each it records the accelerators' PCI devices, the allowed CPUs
 * and memory nodes, the cgroup cpuset and the resident memory per node (numa_maps). It also reads the per-node
 * huge page pools, the kernel's AutoNUMA switch and whether numad runs.
 * Plan: asios_numa_plan() is pure: snapshot + observation + policy → plan (affinity, page migration, sysfs
 * writes), every action and skip with its reason. The policy comes from /etc/asios/numad.conf and numad.conf.d/.
 */

#include <stdbool.h>
#include <stdint.h>

#include "asios/config.h"
#include "asios/plan.h"
#include "asios/proc.h"
#include "asios/snapshot.h"

/* Processes spanning accelerators on several NUMA nodes. */
enum asios_numa_multi {
	ASIOS_NUMA_MULTI_SPLIT,      /* CPUs of all those nodes; pages off other nodes moved onto them */
	ASIOS_NUMA_MULTI_INTERLEAVE, /* CPUs of all those nodes; pages left (only the process can interleave them) */
	ASIOS_NUMA_MULTI_LEAVE,      /* left alone, reported */
	ASIOS_NUMA_MULTI_INHERIT = -1,
};

/* The global kernel AutoNUMA switch (/proc/sys/kernel/numa_balancing). */
enum asios_autonuma {
	ASIOS_AUTONUMA_LEAVE, /* never written */
	ASIOS_AUTONUMA_AUTO,  /* set when every placed workload wants the same, else left */
	ASIOS_AUTONUMA_OFF,
	ASIOS_AUTONUMA_ON,
};

struct asios_numa_workload {
	char name[64];            /* [workload NAME] */
	char *command;            /* fnmatch(3) pattern on the command line (or comm), NULL none */
	char *cgroup;             /* cgroup path, matches it and everything below, NULL none */
	int node;                 /* place on this node instead of the accelerators' one; -1 not set */
	hwloc_bitmap_t cpus;      /* CPUs it owns (may be isolated ones); NULL not set */
	int migrate;              /* -1 inherit, 0 no, 1 yes */
	int autonuma;             /* -1 no preference, 0 wants AutoNUMA off, 1 on */
	int multi;                /* enum asios_numa_multi */
	bool ignore;
};

struct asios_numa_hugepages {
	unsigned node;
	unsigned long size_kb;
	long count;
};

struct asios_numa_policy {
	bool accelerators;         /* place every process holding an accelerator (not only configured workloads) */
	bool migrate;              /* move existing pages to the chosen node */
	enum asios_numa_multi multi;
	enum asios_autonuma autonuma;
	bool take_over;            /* run even while numad runs */
	unsigned interval;         /* daemon: seconds between full rescans (new processes come from the proc connector) */
	unsigned settle;           /* daemon: seconds after an exec before re-planning (the device is opened later) */
	hwloc_bitmap_t banned_cpus;
	struct asios_numa_workload *workloads;
	size_t n_workloads;
	struct asios_numa_hugepages *hugepages;
	size_t n_hugepages;
};

#define ASIOS_NUMAD_CONF "/etc/asios/numad.conf"
#define ASIOS_NUMAD_CONF_D "/etc/asios/numad.conf.d"
#define ASIOS_NUMAD_JOURNAL "/run/asios/numad.journal"

int asios_numa_policy_init(struct asios_numa_policy *p);
void asios_numa_policy_clear(struct asios_numa_policy *p);
/* numad.conf read as asios_irq_policy_format says */
extern const struct asios_conf_format asios_numa_policy_format;
int asios_numa_policy_parse(struct asios_numa_policy *p, const char *text, const char *origin, char **error);
const char *asios_numa_multi_name(int m);
const char *asios_autonuma_name(enum asios_autonuma a);

/* One process of interest. */
struct asios_numa_proc {
	int pid;
	unsigned long long starttime;  /* /proc/PID/stat field 22: tells a reused pid apart */
	char comm[32];
	char *cmdline;                 /* arguments joined by blanks, "" for none */
	char *cgroup;                  /* cgroup path in the cpuset hierarchy, NULL unknown */
	hwloc_bitmap_t cpus_allowed;   /* Cpus_allowed_list */
	hwloc_bitmap_t mems_allowed;   /* Mems_allowed_list (empty: unknown) */
	hwloc_bitmap_t cgroup_cpus;    /* effective cpuset of its cgroup, empty: unknown or unrestricted */
	uint64_t *node_kb;             /* resident KiB per node id (index < n_node_kb) */
	size_t n_node_kb;
	bool numa_maps_ok;
	char **devices;                /* accelerator files held open, sorted, unique, NULL-terminated */
	size_t n_devices;
	int *device_pci;               /* per device: index in snapshot pci[], -1 unknown, -2 "every AMD GPU" (/dev/kfd) */
	char **device_why;             /* per device: why it is unknown, NULL when known */
};

struct asios_numa_pool {
	unsigned node;
	unsigned long size_kb;
	long nr;                       /* nr_hugepages of the node's pool */
};

struct asios_numa_state {
	struct asios_numa_proc *procs; /* by pid */
	size_t n_procs;
	int numa_balancing;            /* /proc/sys/kernel/numa_balancing, -1 when the kernel has none */
	long numad_pid;                /* a running numad, 0 none */
	struct asios_numa_pool *pools;
	size_t n_pools;
	char **warnings;               /* NULL-terminated: objects that could not be read, each named */
	size_t n_warnings;
};

/* Observe ROOT (see above). POLICY names the configured workloads (may be NULL: accelerator holders only). */
int asios_numa_observe(struct asios_root *root, const struct asios_snapshot *s, const struct asios_numa_policy *policy,
		       struct asios_numa_state **ret);
void asios_numa_state_free(struct asios_numa_state *st);
/* Would process PID be a workload (an accelerator open, or a [workload] match)? For the daemon's new processes. */
bool asios_numa_proc_wanted(struct asios_root *root, const struct asios_snapshot *s, const struct asios_numa_policy *pol,
			    int pid);
/* Resident KiB per node from numa_maps TEXT into a new array (*n = highest node + 1). 0, -EINVAL or -ENOMEM. */
int asios_numa_maps_parse(const char *text, uint64_t **ret, size_t *n);

/* The [workload] of P that process PR matches (its command pattern, or its cgroup), or NULL. */
const struct asios_numa_workload *asios_numa_workload_of(const struct asios_numa_policy *p,
							 const struct asios_numa_proc *pr);

/* The plan. Only -ENOMEM fails. Order: huge page pools, affinities, the AutoNUMA switch, page migrations last. */
int asios_numa_plan(const struct asios_snapshot *s, const struct asios_numa_state *st, const struct asios_numa_policy *p,
		    struct asios_plan **ret);

/*
 * The process operations of apply (apply.c): on the live root these are sched_{get,set}affinity(2) for every
 * thread and migrate_pages(2) through libnuma; on any other root (a capture in tests) they edit the capture's
 * /proc/PID/status and /proc/PID/numa_maps the way the kernel would, so apply, revert and idempotence are
 * testable on fixtures (ASIOS_FAULT_INJECT applies to those two paths). -ESRCH: the process is gone.
 */
int asios_proc_starttime(struct asios_root *root, int pid, unsigned long long *ret);
int asios_proc_get_affinity(struct asios_root *root, int pid, char **ret);
int asios_proc_set_affinity(struct asios_root *root, int pid, const char *cpulist);
/* Pages on nodes FROM moved to nodes TO (node lists); *not_moved pages could not be moved. */
int asios_proc_migrate(struct asios_root *root, int pid, const char *from, const char *to, long *not_moved);
