/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * Apply a plan with an undo journal, and revert it.
 *
 * For each action its actuator (one per kind of action) reads the value in force, which is appended to the
 * journal (written ahead and synced), then writes the new value and reads it back. A write the kernel refuses
 * (EIO, e.g. an IRQ it will not move; EPERM or EACCES, a knob this process may not write) and an object that
 * went away meanwhile (an exited process, a removed IRQ) are reported and skipped; any other failure, or a
 * read-back that differs, rolls back every change of this apply in reverse order and takes this apply's records
 * out of the journal again, except those whose rollback failed: they stay, named in the report, for revert.
 *
 * The journal (journal.h) of runtime values lives under the root at JOURNAL (e.g. /run/asios/irqd.journal);
 * changes that outlive a reboot (whole files: grub.d snippets, systemd drop-ins) go to its persistent twin
 * under /var/lib/asios, so that revert still finds them after the reboot they ask for. An object already in
 * the journal is not journalled again: the record kept is the value before the first apply, and a placement
 * something keeps undoing does not grow the journal. Every apply and revert holds the journal's lock for its
 * whole run (waiting up to ASIOS_LOCK_TIMEOUT seconds, default 60, for another holder).
 *
 * Revert puts the journalled values back newest first, so every object ends with the value it had before the
 * first apply; a record whose object has changed identity (a process that exited, an IRQ now serving another
 * device), or that was written on another machine or (runtime journal) before the last reboot, is not put back
 * but reported. Page migrations are journalled and never undone (migrate_pages(2) moves whole node sets and
 * cannot tell the pages it moved from those already there). Journals, their lock and the folders apply
 * created are removed once everything is restored; records that could not be restored stay.
 */

#include "asios/plan.h"
#include "asios/root.h"

struct asios_apply_report {
	size_t applied, refused, failed;
	size_t unrestored; /* changes a failed apply could not roll back, or revert could not restore: still journalled */
	char **messages;   /* one per refused, failed or rolled-back write, NULL-terminated */
	size_t n_messages;
};

void asios_apply_report_clear(struct asios_apply_report *r);
/* Add a message to the report (actuators use it for what they have to say). */
void asios_apply_note(struct asios_apply_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* What a failed apply left behind, for the line that reports it: "every change of this apply was rolled back",
 * or that some could not be and stay journalled (named in the report's messages). */
const char *asios_apply_outcome(const struct asios_apply_report *r);
/* 0 on success (refused writes included); a negative errno after a rollback, or when nothing could be
 * applied (the journal unreadable, locked, or from another machine), with *error set (free it). */
int asios_apply(struct asios_root *root, const struct asios_plan *plan, const char *journal,
		struct asios_apply_report *report, char **error);
/* -ENOENT when there is no journal; -EBUSY when its lock stays held; otherwise 0, or -EIO when some record
 * could not be restored or read (reported, and kept). */
int asios_revert(struct asios_root *root, const char *journal, struct asios_apply_report *report);
