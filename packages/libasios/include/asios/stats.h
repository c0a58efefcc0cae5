/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * What the apply engine did, counted per undo journal (so per domain) for telemetry: every asios_apply() of a
 * non-empty plan and every asios_revert() adds to the counters kept beside the journal, in STATS_DIR/NAME under
 * the journal's folder ("/run/asios/irqd.journal" → "/run/asios/stats/irqd"), rewritten whole (renamed over)
 * while the journal's lock is held. They live in /run: a reboot starts them at zero, as Prometheus expects of
 * a counter. They are not tuned state: a revert keeps them (and counts itself).
 */

#include <stdbool.h>
#include <stdint.h>

#include "asios/apply.h"

struct asios_root;

enum asios_apply_result {
	ASIOS_APPLY_NONE,        /* nothing applied yet */
	ASIOS_APPLY_OK,          /* every action written and verified */
	ASIOS_APPLY_REFUSED,     /* done, but the kernel refused some writes (skipped, reported) */
	ASIOS_APPLY_ROLLED_BACK, /* a failure: every change of the apply undone */
	ASIOS_APPLY_UNRESTORED,  /* a failure whose rollback left changes in the journal */
	_ASIOS_APPLY_RESULT_MAX,
};

struct asios_apply_stats {
	uint64_t applies;         /* asios_apply() runs that had something to do */
	uint64_t applied;         /* actions written and verified (not those rolled back) */
	uint64_t refused;         /* writes the kernel refused, or objects gone meanwhile */
	uint64_t failed;          /* failed writes, each followed by a rollback */
	uint64_t rollbacks;       /* applies rolled back */
	uint64_t reverts;         /* asios_revert() runs that found a journal */
	int64_t last_apply;       /* its end, seconds since the epoch; 0 never */
	enum asios_apply_result last_result;
};

const char *asios_apply_result_name(enum asios_apply_result r);
/* A telemetry file kept beside JOURNAL in FOLDER: ("/run/asios/irqd.journal", "stats") → "/run/asios/stats/irqd".
 * NULL when out of memory. */
char *asios_journal_telemetry_path(const char *journal, const char *folder);
/* The counters of JOURNAL's domain under ROOT: zero when none were kept yet. -EINVAL (and *BAD the line, to
 * free()) when the file is malformed. */
int asios_apply_stats_read(const struct asios_root *root, const char *journal, struct asios_apply_stats *st,
			   char **bad);
/* Add an apply's (REVERT false) or a revert's REPORT; the apply's result is R (asios_apply()'s return). */
int asios_apply_stats_add(const struct asios_root *root, const char *journal, const struct asios_apply_report *rep,
			  bool revert, int r);
