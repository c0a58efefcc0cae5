/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * Kernel command line: split into parameters the way the kernel does (blanks separate, double quotes group,
 * the quotes are dropped), and the isolation parameters understood.
 */

#include <hwloc.h>

/* Value of the last "NAME=value" on the command line (malloc'ed, quotes removed); NULL when absent. A bare
 * "NAME" gives "". Returns 0, or -ENOMEM. */
int asios_cmdline_get(const char *cmdline, const char *name, char **ret);
/* isolcpus=[flag,…,]cpulist: the flags (nohz, domain, managed_irq) precede the CPU list. Returns 0, or
 * -EINVAL for a value that is not one (with *err_at pointing into VALUE). */
int asios_isolcpus_parse(const char *value, hwloc_bitmap_t cpus, const char **err_at);
