/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * Apply a plan with an undo journal, and revert it.
 *
 * For each action: the value in force is read and appended to the journal (written ahead and synced), the new
 * value is written and read back. A write the kernel refuses (EIO, e.g. an IRQ it will not move) is reported
 * and skipped; any other failure, or a read-back that differs, rolls back every write of this apply in reverse
 * order and truncates the journal to where it was. The journal (under the root, e.g. /run/asios/irqd.journal)
 * keeps "PATH<TAB>OLD" lines across applies; revert writes them back newest first, so every file ends with the
 * value it had before the first apply, and removes the journal.
 *
 * Process actions (plan.h): an affinity is journalled as "affinity:PID:STARTTIME<TAB>OLD-CPUS" and restored by
 * revert unless the process has gone; a page migration as "migrate:PID:STARTTIME<TAB>FROM>TO" and never undone
 * (migrate_pages(2) moves whole node sets and cannot tell the pages it moved from those already there), which
 * rollback and revert report. A process that has exited is skipped like a refused write.
 */

#include "asios/plan.h"
#include "asios/root.h"

struct asios_apply_report {
	size_t applied, refused, failed;
	char **messages;   /* one per refused, failed or rolled-back write, NULL-terminated */
	size_t n_messages;
};

void asios_apply_report_clear(struct asios_apply_report *r);
/* 0 on success (refused writes included); a negative errno after a rollback, with *error set (free it). */
int asios_apply(struct asios_root *root, const struct asios_plan *plan, const char *journal,
		struct asios_apply_report *report, char **error);
/* -ENOENT when there is no journal; otherwise 0, or -EIO when some value could not be restored (reported). */
int asios_revert(struct asios_root *root, const char *journal, struct asios_apply_report *report);
