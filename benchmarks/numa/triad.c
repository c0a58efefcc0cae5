// SPDX-FileCopyrightText: 2026 The ASIOS Authors
// SPDX-License-Identifier: MIT
//
// STREAM-style triad a[i] = b[i] + s * c[i] over three arrays, best of REPS runs, in MB/s (STREAM's counting:
// 3 arrays x 8 bytes per element). Static, for the busybox qemu guest; no OpenMP (one thread, one CPU).
//   triad [--cpu N] [--mem-node N] [--wait] [--mib MIB] [--reps N]
// --cpu pins the thread; --mem-node binds its memory (set_mempolicy MPOL_BIND, raw syscall: no libnuma in a
// static busybox guest); --wait touches the arrays where it runs, prints "ready" and waits for SIGUSR1 before
// measuring, so that a placement tool can move it in between.
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../benchutil.h"

#define MPOL_BIND 2

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int cpu = -1, node = -1, wait = 0, reps = 5;
	size_t mib = 48, n;
	double *a, *b, *c, best = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--cpu") && i + 1 < argc)
			cpu = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--mem-node") && i + 1 < argc)
			node = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--mib") && i + 1 < argc)
			mib = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--wait"))
			wait = 1;
		else {
			fprintf(stderr, "usage: triad [--cpu N] [--mem-node N] [--wait] [--mib MIB] [--reps N]\n");
			return 2;
		}
	}
	if (cpu >= 0 && bench_pin(cpu, "triad") < 0)
		return 1;
	if (node >= 0) {
		unsigned long mask = 1UL << node;

		if (syscall(SYS_set_mempolicy, MPOL_BIND, &mask, sizeof(mask) * 8) < 0) {
			perror("triad: set_mempolicy");
			return 1;
		}
	}
	n = (mib << 20) / 3 / sizeof(double);
	a = malloc(n * sizeof(double));
	b = malloc(n * sizeof(double));
	c = malloc(n * sizeof(double));
	if (!a || !b || !c)
		return 1;
	for (size_t i = 0; i < n; i++)
		a[i] = 0, b[i] = 1, c[i] = 2;
	if (wait)
		bench_wait_usr1(stdout);
	for (int r = 0; r < reps; r++) {
		double t = now(), mbs;

		for (size_t i = 0; i < n; i++)
			a[i] = b[i] + 3.0 * c[i];
		t = now() - t;
		mbs = 3.0 * sizeof(double) * (double)n / t / 1e6;
		if (mbs > best)
			best = mbs;
	}
	printf("triad %.0f MB/s (%zu MiB, best of %d, check %g)\n", best, mib, reps, a[n / 2]);
	return 0;
}
