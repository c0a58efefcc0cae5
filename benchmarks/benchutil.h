// SPDX-FileCopyrightText: 2026 The ASIOS Authors
// SPDX-License-Identifier: MIT
//
// Small helpers shared by the benchmark programs (header only: triad.c is also built static for the qemu guest).
#ifndef ASIOS_BENCHUTIL_H
#define ASIOS_BENCHUTIL_H

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

/* Pin the calling thread to CPU; on failure say so as PROG and return -1. */
static inline int bench_pin(int cpu, const char *prog)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0) {
		fprintf(stderr, "%s: pinning to CPU %d: %s\n", prog, cpu, strerror(errno));
		return -1;
	}
	return 0;
}

/* Print "ready" on OUT and wait for SIGUSR1 (a placement tool moves the process in between). */
static inline void bench_wait_usr1(FILE *out)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	fprintf(out, "ready\n");
	fflush(out);
	sigwait(&set, &sig);
}

#endif
