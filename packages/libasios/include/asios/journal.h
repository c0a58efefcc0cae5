/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The undo journals of apply.h, and the lock every writer of them holds.
 *
 * Format (version 2): a header line, then one record per changed object, each a complete line:
 *
 *   #asios-journal 2<TAB>machine=MACHINE-ID<TAB>boot=BOOT-ID
 *   KIND:TARGET<TAB>OLD-VALUE<TAB>IDENTITY
 *
 * KIND names the actuator that wrote the record ("write", "file", "affinity", "migrate", "mkdir"), TARGET the
 * object (a path, "PID:STARTTIME"), OLD-VALUE what it held before, IDENTITY what the object was when it was
 * changed ("irq:130:mlx5_comp0@pci:0000:18:00.0", or "-") so that revert never restores a value onto another
 * object that took its place. Backslash, tab and newline in the three fields are written as \\, \t and \n. A
 * record is written with one write(2) and synced before the change it undoes; a line without its newline is
 * the remainder of a write that was interrupted (the change after it never started) and is ignored and cut
 * off. Version 1 journals (no header, "PATH<TAB>VALUE") are still read.
 *
 * A revert that restored everything appends the line "#asios-reverted" before it removes the journal, the
 * lock and the folders: the records before that line are done (only their "mkdir" records, the folders to
 * remove, still count), so a revert killed anywhere is finished by the next one.
 *
 * A domain's journals (runtime under /run/asios, persistent under /var/lib/asios) are guarded by one fcntl
 * lock on JOURNAL.lock beside the runtime journal, held for a whole apply or revert, by daemons and asiosctl
 * alike.
 */

#include <stdbool.h>
#include <stddef.h>

#include "asios/root.h"

#define ASIOS_JOURNAL_VERSION 2
#define ASIOS_STATE_DIR "/var/lib/asios"
#define ASIOS_JOURNAL_REVERTED "#asios-reverted"

struct asios_journal_record {
	char *key;      /* "write:/proc/irq/130/smp_affinity_list" */
	char *value;
	char *ident;    /* "-" when the object has no identity to check */
	size_t line;
};

struct asios_journal {
	int version;                    /* 1 or 2; 0 for an empty journal */
	char *machine, *boot;           /* from the header; "-" when unknown */
	struct asios_journal_record *records;
	size_t n_records;
	size_t complete;                /* bytes of the text up to the last complete line */
	bool torn;                      /* the text ended in an incomplete line (an interrupted write) */
};

/*
 * Parse TEXT (LEN bytes, NULs included). Every complete line must be a header (first line only) or a record
 * of three fields (two in version 1); -EBADMSG otherwise, with *ERROR naming PATH and the line.
 */
int asios_journal_parse(const char *path, const char *text, size_t len, struct asios_journal *j, char **error);
void asios_journal_clear(struct asios_journal *j);
/* One record line, escaped and newline-terminated (malloc'ed); NULL on ENOMEM. */
char *asios_journal_record_line(const char *key, const char *value, const char *ident);
/* This machine's header line ("-" for an id the root lacks). */
char *asios_journal_header(struct asios_root *root);
/* The machine id or boot id the root reports, "-" when unknown (malloc'ed). */
char *asios_journal_machine_id(struct asios_root *root);
char *asios_journal_boot_id(struct asios_root *root);
/* The persistent journal beside the runtime one: ASIOS_STATE_DIR/basename(JOURNAL) (malloc'ed). */
char *asios_journal_persistent_path(const char *journal);

struct asios_journal_lock;
/*
 * Take the exclusive lock of JOURNAL (JOURNAL.lock, created with its folders when missing; the folders this
 * call created are returned in *CREATED, NULL-terminated, outermost first). While another process holds it,
 * wait up to TIMEOUT_MS; *WAITED_FOR gets the pid that held it (0 when the lock was free). -EBUSY when the
 * wait ran out.
 */
int asios_journal_lock(struct asios_root *root, const char *journal, unsigned timeout_ms,
		       struct asios_journal_lock **ret, int *waited_for, char ***created);
/* Release it; with REMOVE, the lock file is removed first (revert, when no journal is left). */
void asios_journal_unlock(struct asios_root *root, struct asios_journal_lock *l, bool remove);
/*
 * After an apply or revert: a journal with nothing left to undo (a header and folder records at most) is
 * removed, the runtime one last, then the lock and, innermost first, the folders the journals record (and
 * MORE_DIRS) when empty. Releases LOCK.
 */
void asios_journal_tidy(struct asios_root *root, const char *journal, struct asios_journal_lock *lock,
			char **more_dirs);
