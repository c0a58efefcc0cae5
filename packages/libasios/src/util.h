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

/*
 * Read a daemon configuration: CONF, then every CONF_D/NAME.conf (not hidden) in name order; a missing file or
 * folder is no error. PARSE gets each open file; the first failure stops and is returned, with *error from
 * PARSE (or "PATH: reason" when a file cannot be opened).
 */
typedef int (*asios_conf_parse_fn)(FILE *f, const char *path, void *user, char **error);
int asios_conf_load(const char *conf, const char *conf_d, asios_conf_parse_fn parse, void *user, char **error);

/* Configuration values: yes/true/1/on or no/false/0/off; a decimal integer within [MIN, MAX]. -EINVAL otherwise. */
int asios_conf_bool(const char *v, bool *ret);
int asios_conf_long(const char *v, long min, long max, long *ret);
/* Keep the first error of a configuration file in *ERROR (FMT: a literal with two %s). Returns 0, which tells inih
 * that the line failed. */
int asios_conf_fail(char **error, const char *fmt, const char *a, const char *b) __attribute__((format(printf, 2, 0)));
