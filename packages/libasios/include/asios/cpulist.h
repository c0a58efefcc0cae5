/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * CPU lists as the kernel writes them ("0-3,8,10-11", "0-15:2/4" ranges with strides since 4.x) and as
 * hexadecimal masks ("ff,ffffffff"). Sets are hwloc bitmaps. Parsers are strict: anything that is not a list
 * is -EINVAL with *err_at (optional) pointing at the offending character.
 */

#include <hwloc.h>

#define ASIOS_CPU_MAX 65536 /* NR_CPUS is at most 8192 today; refuse ids beyond this as garbage */

int asios_cpulist_parse(const char *s, hwloc_bitmap_t set, const char **err_at);
int asios_cpumask_parse(const char *s, hwloc_bitmap_t set, const char **err_at);
/* A mask as the kernel prints one of NBITS bits (nr_cpu_ids): 32-bit groups of 8 hex digits separated by commas,
 * the first group only as wide as its bits need ("3" for 2 bits, "ff,ffffffff" for 40). malloc'ed. */
char *asios_cpumask_format(hwloc_const_bitmap_t set, unsigned nbits);
/* "0-3,8" (empty string for an empty set); malloc'ed, NULL on allocation failure. */
char *asios_cpulist_format(hwloc_const_bitmap_t set);
