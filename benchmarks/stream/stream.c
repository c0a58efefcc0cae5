// SPDX-FileCopyrightText: 2026 The ASIOS Authors
// SPDX-License-Identifier: MIT
//
// STREAM-style memory bandwidth: Copy (a = b), Scale (a = s*c), Add (a = b + c) and Triad (a = b + s*c) over
// arrays far larger than the last-level cache, OpenMP threads, best of NTIMES as McCalpin's STREAM reports it
// (bytes counted as STREAM does: 2 arrays x 8 bytes for Copy/Scale, 3 for Add/Triad). The arrays are allocated
// with mmap and first touched by the threads that use them (STREAM's parallel initialisation), so where the
// pages land is the system's placement, not this program's. Prints one JSON object.
//   stream [--mib MIB] [--max-mib MIB] [--ntimes N] [--wait]
// --mib: size of EACH array (default 4 x the last-level cache, at least 64; --max-mib caps that default, for a
// VM that reports its host's whole L3); --wait: after touching the
// arrays print "ready" on stderr and wait for SIGUSR1 before measuring (a placement tool moves it in between).
#define _GNU_SOURCE
#include <errno.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../benchutil.h"

enum { COPY, SCALE, ADD, TRIAD, NKERNELS };
static const char *const names[NKERNELS] = { "copy", "scale", "add", "triad" };
static const int arrays[NKERNELS] = { 2, 2, 3, 3 };

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t llc_bytes(void)
{
	long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE), l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);

	return (size_t)(l3 > 0 ? l3 : l2 > 0 ? l2 : 32L << 20);
}

static double *alloc(size_t bytes)
{
	// cppcheck-suppress invalidFunctionArg ; fd -1 is what MAP_ANONYMOUS takes
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		fprintf(stderr, "stream: mmap of %zu bytes: %s\n", bytes, strerror(errno));
		exit(1);
	}
	return p;
}

static void usage(void)
{
	fprintf(stderr, "usage: stream [--mib MIB] [--max-mib MIB] [--ntimes N] [--wait]\n");
}

int main(int argc, char **argv)
{
	size_t mib = 0, max_mib = 0, llc_mib, n, bytes;
	int ntimes = 10, wait = 0;
	double *a, *b, *c, best[NKERNELS], t;
	const double s = 3.0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mib") && i + 1 < argc) {
			mib = strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--max-mib") && i + 1 < argc) {
			max_mib = strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--ntimes") && i + 1 < argc) {
			ntimes = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--wait")) {
			wait = 1;
		} else {
			usage();
			return 2;
		}
	}
	if (ntimes < 2) {
		fprintf(stderr, "stream: --ntimes must be at least 2 (the first pass is not counted)\n");
		return 2;
	}
	llc_mib = llc_bytes() >> 20;
	if (!mib) {
		mib = 4 * llc_mib;
		if (max_mib && mib > max_mib)
			mib = max_mib;
		if (mib < 64)
			mib = 64;
	}
	bytes = mib << 20;
	n = bytes / sizeof(double);
	a = alloc(bytes);
	b = alloc(bytes);
	c = alloc(bytes);

#pragma omp parallel for schedule(static)
	for (size_t j = 0; j < n; j++) {
		a[j] = 1.0;
		b[j] = 2.0;
		c[j] = 0.0;
	}
	if (wait)
		bench_wait_usr1(stderr);

	for (int k = 0; k < NKERNELS; k++)
		best[k] = 1e30;
	for (int r = 0; r < ntimes; r++) {
		double d[NKERNELS];

		t = now();
#pragma omp parallel for schedule(static)
		for (size_t j = 0; j < n; j++)
			c[j] = a[j];
		d[COPY] = now() - t;
		t = now();
#pragma omp parallel for schedule(static)
		for (size_t j = 0; j < n; j++)
			b[j] = s * c[j];
		d[SCALE] = now() - t;
		t = now();
#pragma omp parallel for schedule(static)
		for (size_t j = 0; j < n; j++)
			c[j] = a[j] + b[j];
		d[ADD] = now() - t;
		t = now();
#pragma omp parallel for schedule(static)
		for (size_t j = 0; j < n; j++)
			a[j] = b[j] + s * c[j];
		d[TRIAD] = now() - t;
		for (int k = 0; r > 0 && k < NKERNELS; k++) /* STREAM skips the first pass */
			if (d[k] < best[k])
				best[k] = d[k];
	}
	/* checksum against the same recurrence in scalars, so the compiler cannot drop the loops */
	{
		double ea = 1.0, eb = 2.0, ec = 0.0;
		double sa = 0, sb = 0, sc = 0;

		for (int r = 0; r < ntimes; r++) {
			ec = ea;
			eb = s * ec;
			ec = ea + eb;
			ea = eb + s * ec;
		}
		for (size_t j = 0; j < n; j += 4096) {
			sa += a[j] - ea;
			sb += b[j] - eb;
			sc += c[j] - ec;
		}
		if (sa * sa + sb * sb + sc * sc > 1e-6 * ea * ea) {
			fprintf(stderr, "stream: results do not validate\n");
			return 1;
		}
	}
	printf("{\"array_mib\": %zu, \"llc_mib\": %zu, \"threads\": %d, \"ntimes\": %d", mib, llc_mib,
	       omp_get_max_threads(), ntimes);
	for (int k = 0; k < NKERNELS; k++)
		printf(", \"%s_mbs\": %.1f", names[k], (double)arrays[k] * (double)bytes / best[k] / 1e6);
	printf("}\n");
	munmap(a, bytes);
	munmap(b, bytes);
	munmap(c, bytes);
	return 0;
}
