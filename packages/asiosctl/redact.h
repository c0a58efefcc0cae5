/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * Redaction of the text asiosctl snapshot puts into a bug-report tarball. What counts as a secret is the
 * table of rules in redact.c, each with a name and what it matches (`asiosctl snapshot --rules` prints it);
 * the code here only knows how to find each kind of match. Pure functions of a buffer: no I/O, no globals
 * but the constant table, no fixed-size buffers, so they are fuzzed as they are (tests/fuzz/fuzz-redact.c).
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define REDACT_MARKER "<redacted>"
/* The longest output redact_text() makes of LEN bytes: each match costs at least 4 bytes of input and grows
 * the text by at most 9 (the marker is 10 bytes, the smallest value it replaces 1). */
#define REDACT_MAX_LEN(len) (3 * (size_t)(len) + 16)
/* passes over a text at most (two in practice: one that redacts, one that finds nothing more) */
#define REDACT_MAX_PASSES 16

/*
 * Copy IN (LEN bytes; NUL and any other byte allowed) into a new buffer *RET, NUL-terminated, of *RET_LEN
 * bytes (the NUL not counted), with the secret part of every match of a rule replaced by REDACT_MARKER.
 * *N_REDACTED (may be NULL) counts the replacements. 0; -ENOMEM, or -ELOOP when REDACT_MAX_PASSES passes did
 * not reach a fixed point (never seen: the fuzzer looks for it), with nothing returned.
 * The output is a fixed point: redact_find() finds nothing in it and redacting it again changes nothing.
 */
int redact_text(const char *in, size_t len, char **ret, size_t *ret_len, size_t *n_redacted);

/* Offset of the first match of a rule in TEXT (LEN bytes) that is not redacted yet, and the rule's name in
 * *RULE (may be NULL); -1 when there is none. */
ssize_t redact_find(const char *text, size_t len, const char **rule);

/* The names of secrets the parameter and option rules look for: NULL-terminated WORDS a name contains,
 * PARTS a part of it is, and the prefix EXCEPT of names that never are. */
void redact_secret_names(const char *const **words, const char *const **parts, const char **except);

/* Rule I of the table: its NAME and WHAT it matches; false past the last. */
bool redact_rule(size_t i, const char **name, const char **what);
