/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* asiosctl export: the files one target writes (export.c), and the NCCL target (export-nccl.c) */

#include <stddef.h>

#include "asios/root.h"
#include "asios/snapshot.h"

#define EXPORT_N_FILES 2

struct out_file {
	const char *name;    /* in --output-dir */
	const char *install; /* where it belongs on the machine */
	char *text;
	size_t len;
};

/* OUT[0]: NCCL's topology file (NCCL_TOPO_FILE), OUT[1]: /etc/nccl.conf; 0, or -ENOMEM */
int export_nccl(struct asios_root *root, const struct asios_snapshot *s, struct out_file *out);
