/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * Actuators: one per kind of action (plan.h), each knowing how to read the value in force, perform and verify
 * a change, name its journal record, check on revert that the object is still the one it changed, and give the
 * old value back. apply.c drives them and knows no kind; a new kind is one entry here and its functions in
 * actuators.c. On a capture root every actuator acts on the capture's files (root.h), so tests drive the same
 * code as the live machine.
 */

#include <stdbool.h>

#include "asios/apply.h"

struct asios_actuator {
	const char *name;       /* journal key prefix: "write", "file", "affinity", "migrate", "mkdir" */
	bool persistent;        /* the change outlives a reboot: journalled under /var/lib/asios */
	bool undoable;          /* false: journalled for the record, reported on revert, never put back */
	bool makes_dirs;        /* perform may create the target's missing folders (journalled so revert removes them) */
	/* The value in force, as the journal keeps it. -ESRCH when the object has gone (skipped, not an error). */
	int (*current)(struct asios_root *root, const struct asios_action *a, char **value);
	/* Write a->new_value and verify it; *READBACK what a write-and-read kind read back (may stay NULL). */
	int (*perform)(struct asios_root *root, const struct asios_action *a, char **readback,
		       struct asios_apply_report *rep);
	/* Give TARGET (the key after "NAME:") the journalled VALUE back. */
	int (*restore)(struct asios_root *root, const char *target, const char *value, char **readback);
	/* The key's target ("/proc/irq/130/smp_affinity_list", "4242:987654"), malloc'ed. */
	char *(*target)(const struct asios_action *a);
	/* What the object is now, recorded with the change ("-": nothing to check); malloc'ed into *IDENT. */
	int (*identity)(struct asios_root *root, const struct asios_action *a, char **ident);
	/*
	 * On revert: NULL when TARGET is still the object IDENT recorded, else why not (malloc'ed; the record is
	 * then dropped with that message, as the object it was about is gone).
	 */
	char *(*gone)(struct asios_root *root, const char *target, const char *ident);
	/* An errno of perform meaning "the kernel refused this one": skipped and reported, the rest goes on. */
	bool (*refused)(int err);
	/* The rollback message's name for the old value ("its previous content" for whole files), or NULL. */
	const char *(*show_old)(const char *value);
};

/* The actuator of action kind K, or of journal key KEY (its "NAME:" prefix; a version 1 key without one is a
 * file write); NULL when unknown. *TARGET points into KEY after the prefix. */
const struct asios_actuator *asios_actuator_of(enum asios_action_kind k);
const struct asios_actuator *asios_actuator_by_key(const char *key, const char **target);
/* unlinkat(2) of PATH under the root (FLAGS: 0 or AT_REMOVEDIR); -errno */
int asios_unlink_in_root(struct asios_root *root, const char *path, int flags);
/* Remove the folder TARGET when it is empty (a folder that holds anything, or is gone, is no error). */
int asios_rmdir_empty(struct asios_root *root, const char *target);

/* The ethtool actuator's functions (actuator-ethtool.c). */
int asios_ethtool_current(struct asios_root *root, const struct asios_action *a, char **value);
int asios_ethtool_perform(struct asios_root *root, const struct asios_action *a, char **readback,
			  struct asios_apply_report *rep);
int asios_ethtool_restore(struct asios_root *root, const char *target, const char *value, char **readback);
int asios_ethtool_identity(struct asios_root *root, const struct asios_action *a, char **ident);
char *asios_ethtool_gone(struct asios_root *root, const char *target, const char *ident);
bool asios_ethtool_refused(int err);

/* The PCI Express actuator's functions (actuator-pcie.c). */
int asios_pcie_current(struct asios_root *root, const struct asios_action *a, char **value);
int asios_pcie_perform(struct asios_root *root, const struct asios_action *a, char **readback,
		       struct asios_apply_report *rep);
int asios_pcie_restore(struct asios_root *root, const char *target, const char *value, char **readback);
int asios_pcie_identity(struct asios_root *root, const struct asios_action *a, char **ident);
char *asios_pcie_gone(struct asios_root *root, const char *target, const char *ident);
bool asios_pcie_refused(int err);
