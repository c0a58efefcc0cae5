/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Small helpers private to libasios. */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "asios/root.h" /* asios_strv_free() */

/* The folders of PATH (itself included) that do not exist under ROOT, outermost first, appended to *RET. */
int asios_missing_dirs(struct asios_root *root, const char *path, char ***ret, size_t *n);
/* How long an apply or revert waits for the journal lock: ASIOS_LOCK_TIMEOUT seconds, default 60. */
unsigned asios_lock_timeout_ms(void);

/* Append S (taken over, freed on failure) to the NULL-terminated vector *V of *N entries. */
int asios_strv_push(char ***v, size_t *n, char *s);
/* Append a printf-formatted string (va_list form). */
int asios_strv_pushv(char ***v, size_t *n, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
/* Append a copy of S. */
int asios_strv_push_dup(char ***v, size_t *n, const char *s);
