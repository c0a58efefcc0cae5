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

struct asios_root;
/* The configuration of the kernel running under ROOT: /proc/config.gz, else /boot/config-RELEASE (RELEASE may be
 * NULL). 0 with *SOURCE naming the file read, or 0 with *N_RET = 0 and *SOURCE NULL when there is none; -ENOMEM.
 * WARNINGS as for asios_kconfig_parse(). */
int asios_kconfig_read(struct asios_root *root, const char *release, struct asios_kconfig_entry **ret, size_t *n_ret,
		       char **source, char ***warnings, size_t *n_warnings);
