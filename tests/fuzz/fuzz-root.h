/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: MIT */
/*
 * A throwaway root folder for the harnesses that read through a root prefix as for a capture (asios/root.h):
 * made once under $TMPDIR (tests/fuzz/run-fuzzer gives its own, removed after the run), its folders created,
 * each input written into its files. Static functions: each harness includes it once.
 */
#pragma once
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char fuzz_root[512];

/* the root "$TMPDIR/asios-fuzz-NAME-XXXXXX" with DIRS (relative, parents first, NULL-terminated) */
static void fuzz_root_make(const char *name, const char *const *dirs)
{
	const char *tmp = getenv("TMPDIR");
	char path[768];

	snprintf(fuzz_root, sizeof(fuzz_root), "%s/asios-fuzz-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
	if (!mkdtemp(fuzz_root))
		abort();
	for (size_t i = 0; dirs[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s", fuzz_root, dirs[i]);
		if (mkdir(path, 0700) < 0)
			abort();
	}
}

/* REL (relative to the root) holds exactly DATA */
static void fuzz_root_write(const char *rel, const uint8_t *data, size_t size)
{
	char path[768];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", fuzz_root, rel);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
	    (size && write(fd, data, size) != (ssize_t)size) || close(fd) < 0)
		abort();
}
