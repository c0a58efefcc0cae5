/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Speed of the observe layer: parse /proc/interrupts samples and load whole snapshots, REPEAT times each,
 * and print the median wall time per run. Optimised build (make bench-observe), not the sanitizer one.
 *   bench-observe REPEAT FILE_OR_ROOT...   (a regular file is parsed as /proc/interrupts, a folder is a root)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "asios/interrupts.h"
#include "asios/snapshot.h"

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int repeat = argc > 1 ? atoi(argv[1]) : 0;
	double *t;

	if (argc < 3 || repeat < 1) {
		fprintf(stderr, "usage: bench-observe REPEAT FILE_OR_ROOT...\n");
		return 2;
	}
	t = calloc((size_t)repeat, sizeof(*t));
	printf("%-48s %8s %10s %10s\n", "input", "runs", "median ms", "min ms");
	for (int a = 2; a < argc; a++) {
		struct stat st;
		const char *what = argv[a];

		if (stat(what, &st) < 0) {
			fprintf(stderr, "%s: %s\n", what, strerror(errno));
			return 1;
		}
		for (int i = 0; i < repeat; i++) {
			double t0 = now_ms();

			if (S_ISDIR(st.st_mode)) {
				struct asios_root *root;
				struct asios_snapshot *s;

				if (asios_root_open(what, &root) < 0 || asios_snapshot_load(root, &s) < 0) {
					fprintf(stderr, "%s: cannot load\n", what);
					return 1;
				}
				asios_snapshot_free(s);
				asios_root_free(root);
			} else {
				struct asios_interrupts *in;
				FILE *f = fopen(what, "r");
				char *buf = malloc((size_t)st.st_size + 1);
				size_t n = f && buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;

				if (f)
					fclose(f);
				t0 = now_ms(); /* parse only */
				if (asios_interrupts_parse(buf, n, what, &in, NULL) < 0) {
					fprintf(stderr, "%s: cannot parse\n", what);
					return 1;
				}
				asios_interrupts_free(in);
				free(buf);
			}
			t[i] = now_ms() - t0;
		}
		qsort(t, (size_t)repeat, sizeof(*t), cmp_double);
		{
			char label[256], *slash;

			snprintf(label, sizeof(label), "%s", what);
			while (strlen(label) > 1 && label[strlen(label) - 1] == '/')
				label[strlen(label) - 1] = '\0';
			slash = strrchr(label, '/');
			printf("%-48.48s %8d %10.2f %10.2f\n", !strcmp(label, "/") ? "this machine (/)" : slash ? slash + 1 : label,
			       repeat, t[repeat / 2], t[0]);
		}
	}
	free(t);
	return 0;
}
