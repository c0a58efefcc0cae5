/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* Shared by the parts of libasios-load (load.c, load-uring.c, load-warm.c). */
#ifndef ASIOS_LOAD_INTERNAL_H
#define ASIOS_LOAD_INTERNAL_H

#include "asios/load.h"

struct asios_load_ctx {
	struct asios_load_opts opts;
	struct asios_load_result *res;
	size_t n;
	int *fds;
};

double asios_load_now(void);
/* the reads of all files through one ring: into the buffer (BUFFER) or scratch buffers (warm by io_uring) */
int asios_load_uring(struct asios_load_ctx *c, char *err, size_t errlen);
int asios_load_warm(struct asios_load_ctx *c, char *err, size_t errlen);

#endif
