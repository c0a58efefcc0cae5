/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Kernel .config text: "CONFIG_NAME=value" lines; comments ("# CONFIG_X is not set") and blanks skipped. */

#include <stddef.h>

#include "asios/snapshot.h"

/* Parse TEXT; malformed lines become "ORIGIN:LINE: …" warnings when WARNINGS is not NULL. */
int asios_kconfig_parse(const char *text, const char *origin, struct asios_kconfig_entry **ret, size_t *n_ret,
			char ***warnings, size_t *n_warnings);
void asios_kconfig_free(struct asios_kconfig_entry *v, size_t n);
