// SPDX-FileCopyrightText: 2026 The ASIOS Authors
// SPDX-License-Identifier: MIT
//
// Wake-up latency probe, cyclictest-style: one thread pinned to a CPU at SCHED_FIFO sleeps with
// clock_nanosleep(TIMER_ABSTIME) on an INTERVAL grid and records how late each wake-up is (the isolated
// core's jitter). Full histogram in 1 µs buckets up to 100 ms; prints one JSON object with samples, min, p50,
// p99, p99.9, max and mean in µs (--hist adds the non-empty buckets). After an overrun the periods already
// missed are skipped, as cyclictest does, so one stall counts once.
//   latprobe [--cpu N] [--interval-us US] [--seconds S] [--prio P] [--hist]
// Memory is locked (mlockall) so page faults do not count as latency. Needs CAP_SYS_NICE for SCHED_FIFO;
// without it the probe says so and stops (a SCHED_OTHER number would not be comparable).
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "../benchutil.h"

#define BUCKETS 100000 /* µs */

static uint64_t hist[BUCKETS + 1]; /* last bucket: overflow */

static int64_t ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

/* smallest latency in µs with at least share q of the samples at or below it */
static long quantile(uint64_t samples, double q)
{
	uint64_t want = (uint64_t)((double)samples * q), seen = 0;

	if (want < 1)
		want = 1;
	for (long b = 0; b <= BUCKETS; b++) {
		seen += hist[b];
		if (seen >= want)
			return b;
	}
	return BUCKETS;
}

int main(int argc, char **argv)
{
	int cpu = -1, prio = 90, show = 0;
	long interval_us = 200;
	double seconds = 10;
	struct sched_param sp;
	struct timespec next, woke;
	uint64_t samples = 0, loops;
	int64_t max = 0, min = INT64_MAX;
	double sum = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--cpu") && i + 1 < argc)
			cpu = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--interval-us") && i + 1 < argc)
			interval_us = atol(argv[++i]);
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--prio") && i + 1 < argc)
			prio = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--hist"))
			show = 1;
		else {
			fprintf(stderr, "usage: latprobe [--cpu N] [--interval-us US] [--seconds S] [--prio 1-99] [--hist]\n");
			return 2;
		}
	}
	if (interval_us < 10 || interval_us > 1000000 || seconds <= 0 || prio < 1 || prio > 99) {
		fprintf(stderr, "latprobe: interval 10-1000000 µs, seconds > 0, priority 1-99\n");
		return 2;
	}
	if (cpu >= 0 && bench_pin(cpu, "latprobe") < 0)
		return 1;
	if (mlockall(MCL_CURRENT | MCL_FUTURE) < 0)
		fprintf(stderr, "latprobe: mlockall: %s, going on unlocked\n", strerror(errno));
	sp.sched_priority = prio;
	if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0) {
		fprintf(stderr, "latprobe: SCHED_FIFO priority %d: %s (needs CAP_SYS_NICE)\n", prio, strerror(errno));
		return 1;
	}
	loops = (uint64_t)(seconds * 1e6 / (double)interval_us);
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (uint64_t i = 0; i < loops; i++) {
		int64_t late;

		next.tv_nsec += interval_us * 1000;
		while (next.tv_nsec >= 1000000000) {
			next.tv_nsec -= 1000000000;
			next.tv_sec++;
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
		clock_gettime(CLOCK_MONOTONIC, &woke);
		late = ns(&woke) - ns(&next);
		if (late < 0)
			late = 0;
		hist[late / 1000 < BUCKETS ? late / 1000 : BUCKETS]++;
		samples++;
		sum += (double)late;
		if (late > max)
			max = late;
		if (late < min)
			min = late;
		/* after an overrun, skip the periods already missed (as cyclictest does): counting each of them as
		 * late again would turn one long stall into many */
		while (ns(&woke) > ns(&next) + interval_us * 1000) {
			next.tv_nsec += interval_us * 1000;
			while (next.tv_nsec >= 1000000000) {
				next.tv_nsec -= 1000000000;
				next.tv_sec++;
			}
		}
	}
	printf("{\"cpu\": %d, \"interval_us\": %ld, \"samples\": %llu, \"min_us\": %.1f, \"p50_us\": %ld, "
	       "\"p99_us\": %ld, \"p999_us\": %ld, \"max_us\": %.1f, \"mean_us\": %.2f, \"overflow\": %llu",
	       cpu, interval_us, (unsigned long long)samples, (double)min / 1000, quantile(samples, 0.5),
	       quantile(samples, 0.99), quantile(samples, 0.999), (double)max / 1000, sum / (double)samples / 1000,
	       (unsigned long long)hist[BUCKETS]);
	if (show) {
		const char *sep = "";

		printf(", \"hist\": {");
		for (long b = 0; b <= BUCKETS; b++)
			if (hist[b]) {
				printf("%s\"%ld\": %llu", sep, b, (unsigned long long)hist[b]);
				sep = ", ";
			}
		printf("}");
	}
	printf("}\n");
	return 0;
}
