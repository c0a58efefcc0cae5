/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* The parts of the asios-load program. */
#ifndef ASIOS_LOAD_PROGRAM_H
#define ASIOS_LOAD_PROGRAM_H

#include <stdbool.h>
#include <stdint.h>

#include "asios/load.h"

#define ASIOS_LOAD_CONF "/etc/asios/load.conf"

struct asios_load_args {
	struct asios_load_opts opts;
	char cache_dir[3072];
	uint64_t cache_max;
	char method[32];
	char out[3072];
	bool json;
	const char *const *paths;
	size_t npaths;
};

int asios_load_parse_size(const char *s, uint64_t *out);
int asios_load_direct(const char *v, enum asios_direct *d);
/* /etc/asios/load.conf and its .d drop-ins into A: 0, or 1 with "FILE:LINE: what" on standard error */
int asios_load_config(const char *conf, struct asios_load_args *a);

int asios_load_cmd_load(struct asios_load_args *a, bool warm);
int asios_load_cmd_inspect(struct asios_load_args *a);
int asios_load_cmd_checkpoint(struct asios_load_args *a);
int asios_load_cmd_cache(struct asios_load_args *a);

#endif
