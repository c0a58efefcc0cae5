/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Small helpers private to libasios. */

#include <stddef.h>

#include "asios/root.h" /* asios_strv_free() */

/* Append S (taken over, freed on failure) to the NULL-terminated vector *V of *N entries. */
int asios_strv_push(char ***v, size_t *n, char *s);
/* Append a copy of S. */
int asios_strv_push_dup(char ***v, size_t *n, const char *s);
