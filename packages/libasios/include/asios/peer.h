/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * Peers: another daemon doing the same job (irqbalance beside asios-irqd, numad beside asios-numad, TuneD beside
 * asios-schedd), found under
 * the root prefix. A peer is a process whose real uid is 0 (/proc/PID/status Uid:) and whose executable, the
 * target of /proc/PID/exe without a " (deleted)" suffix, is named NAME, or an interpreter (python, perl, sh)
 * whose script, the first argument of /proc/PID/cmdline that is not an option, is named NAME (TuneD is
 * "python3 /usr/sbin/tuned"). Where the exe link cannot be read (EACCES or
 * EPERM: a root process holding capabilities the caller lacks) its comm stands in. The name of a process is
 * anyone's to choose; a real uid of 0 only root can give, so an unprivileged process named like a peer is none.
 */

#include "asios/root.h"

/* 1 when process PID (its /proc folder name) is a peer named NAME, 0 when not (or gone), a negative errno
 * (-ENOMEM) on failure. */
int asios_peer_is(const struct asios_root *root, const char *pid, const char *name);
/* The pid of a peer named NAME (the first in /proc order), 0 when none runs, a negative errno when /proc cannot be listed. */
long asios_peer_find(const struct asios_root *root, const char *name);
