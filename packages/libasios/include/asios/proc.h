/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The one reader of /proc/PID/stat under a root prefix (asios/root.h). */

#include "asios/root.h"

#define ASIOS_PF_KTHREAD 0x00200000u       /* a kernel thread (include/linux/sched.h) */
#define ASIOS_PF_NO_SETAFFINITY 0x04000000u /* its affinity is the kernel's to set */

/*
 * From /proc/PID/stat: the flags (field 9) and the start time in clock ticks since boot (field 22), which with
 * the pid names a process (a reused pid is another one). The command name may hold spaces and parentheses: the
 * fields are read after its last ')'. Either pointer may be NULL. -ESRCH: gone; -EINVAL: not a stat line.
 */
int asios_proc_stat(struct asios_root *root, long pid, unsigned *flags, unsigned long long *starttime);

/* The fields of /proc/PID/stat ASIOS reads, by the same parser: the telemetry adds the CPU time and RSS. */
struct asios_proc_stat {
	char comm[64];                 /* as the kernel shows it (up to 15 bytes, 63 for kernel threads' names) */
	unsigned flags;                /* field 9 */
	unsigned long long utime, stime; /* fields 14 and 15, clock ticks */
	unsigned long long starttime;  /* field 22 */
	unsigned long long rss_pages;  /* field 24 */
};
int asios_proc_stat_read(struct asios_root *root, long pid, struct asios_proc_stat *st);
