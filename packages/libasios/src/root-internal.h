/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once
/* Between the root's reads (root.c), its writes (root-write.c) and its link check (root-links.c). */
#include <stdbool.h>
#include <stddef.h>

#include "asios/root.h"

struct asios_root {
	int dirfd;
	bool host;
	char *path;
	void (*record)(void *userdata, const char *path);
	void *userdata;
};

/* hand PATH to the recorder of asios_root_set_recorder() (snapshot: what was read) */
void root_record(const struct asios_root *root, const char *path);
/* PATH without its leading slashes, "." for the root itself */
const char *root_relative(const char *path);
/* the folder of PATH opened under the root (created when missing with CREATE), PATH's last component in NAME;
 * an O_PATH descriptor or -errno */
int root_open_parent(const struct asios_root *root, const char *path, bool create, char *name, size_t size);
