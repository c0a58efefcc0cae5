/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * A plan: the ordered list of writes a planner wants, each with its reason, and the objects it decided to
 * leave alone, each with its reason. Planners are pure functions from a snapshot and a policy to a plan;
 * apply.h writes a plan.
 */

#include <hwloc.h>
#include <stddef.h>

enum asios_action_kind {
	ASIOS_ACTION_WRITE,     /* write new_value to the file path (IRQ affinity, sysfs, sysctl) */
	ASIOS_ACTION_AFFINITY,  /* CPU affinity of every thread of process pid: old_value → new_value (CPU lists) */
	ASIOS_ACTION_MIGRATE,   /* pages of process pid on nodes old_value moved to nodes new_value (node lists) */
	ASIOS_ACTION_FILE,      /* a whole configuration file (grub.d snippet, system.conf.d drop-in): created,
				 * replaced or (new_value NULL) removed; old_value NULL when it did not exist */
	ASIOS_ACTION_ETHTOOL,   /* one ethtool setting of an interface (asios/ethtool.h), path "IFNAME/GROUP/FIELD":
				 * old_value → new_value (numbers) */
	ASIOS_ACTION_PCIE,      /* one field of a PCI function's Device Control (asios/pcie.h), path
				 * "ADDR/max_read_request": old_value → new_value (bytes) */
};
#define ASIOS_ACTION_KINDS (ASIOS_ACTION_PCIE + 1) /* the number of kinds: the last one + 1 */

struct asios_action {
	enum asios_action_kind kind;
	char *object;           /* "irq 130", "pid 4242 (python3)", "node 1 hugepages-2048kB" */
	char *path;             /* "/proc/irq/130/smp_affinity_list" */
	char *old_value;        /* as read when planning ("0-31") */
	char *new_value;        /* what to write ("4-7") */
	char *reason;
	int irq;                /* -1 when not an IRQ action */
	char device[16];        /* PCI address or "" */
	hwloc_bitmap_t from, to; /* CPU sets of CPU actions, else NULL */
	int pid;                /* process actions: the process and its start time (a reused pid is not it) */
	unsigned long long starttime;
};

struct asios_skip {
	char *object;
	int irq;                /* -1 when not an IRQ */
	char *reason;
};

struct asios_plan {
	struct asios_action *actions;
	size_t n_actions;
	struct asios_skip *skipped;
	size_t n_skipped;
	char **notes;           /* plan-wide remarks (fallbacks, nothing to do…), NULL-terminated */
	size_t n_notes;
};

struct asios_plan *asios_plan_new(void);
void asios_plan_free(struct asios_plan *p);
/* Takes copies of everything; REASON is printf-style. 0 or -ENOMEM. */
int asios_plan_add_cpus(struct asios_plan *p, int irq, const char *device, const char *path, hwloc_const_bitmap_t from,
			hwloc_const_bitmap_t to, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
int asios_plan_skip(struct asios_plan *p, int irq, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A file write (OBJECT names what it tunes). */
int asios_plan_add_write(struct asios_plan *p, const char *object, const char *path, const char *old_value,
			 const char *new_value, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* CPU affinity of a process (path: its /proc/PID/task). */
int asios_plan_add_affinity(struct asios_plan *p, int pid, unsigned long long starttime, const char *comm,
			    hwloc_const_bitmap_t from, hwloc_const_bitmap_t to, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
/* Page migration of a process between node sets. */
int asios_plan_add_migrate(struct asios_plan *p, int pid, unsigned long long starttime, const char *comm,
			   hwloc_const_bitmap_t from_nodes, hwloc_const_bitmap_t to_nodes, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
/* One ethtool setting: PATH is "IFNAME/GROUP/FIELD" ("eth0/channels/combined"). */
int asios_plan_add_ethtool(struct asios_plan *p, const char *object, const char *path, long old_value, long new_value,
			   const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* A PCI Express setting: PATH is "ADDR/FIELD" ("0000:1a:00.0/max_read_request"). */
int asios_plan_add_pcie(struct asios_plan *p, const char *object, const char *path, long old_value, long new_value,
			const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* A whole file: NEW_CONTENT NULL removes it; OLD_CONTENT NULL when it does not exist. */
int asios_plan_add_file(struct asios_plan *p, const char *object, const char *path, const char *old_content,
			const char *new_content, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* A skipped object that is not an IRQ. */
int asios_plan_skip_object(struct asios_plan *p, const char *object, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * A set of action kinds from KINDS, their names separated by commas ("pcie", "ethtool,write"; the names are the
 * undo journal's: write, affinity, migrate, file, ethtool, pcie), as a mask of 1 << kind. 0, or -EINVAL with
 * *ERROR (malloc'ed) naming the unknown or empty name and listing the kinds there are.
 */
int asios_action_kinds_parse(const char *kinds, unsigned *mask, char **error);
/*
 * Keep only the actions of the kinds in MASK (asios_action_kinds_parse); every other one becomes an object
 * left alone, saying which kind it is and which kinds were asked for (KINDS, as the user wrote them). For a
 * privileged unit that applies only what a daemon cannot (asios-pcie.service). 0 or -ENOMEM.
 */
int asios_plan_keep_kinds(struct asios_plan *p, unsigned mask, const char *kinds);
int asios_plan_note(struct asios_plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A note when SET (a configured CPU list; NULL: not set) names CPUs that are not in ONLINE; WHAT names the key
 * ("banned_cpus", "[workload train] cpus"). A fleet-wide configuration may name CPUs a smaller machine lacks:
 * they are left out and said, never silently. */
int asios_plan_note_absent(struct asios_plan *p, hwloc_const_bitmap_t set, hwloc_const_bitmap_t online,
			   const char *what);
