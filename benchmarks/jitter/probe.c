/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A cyclictest-style wake-up jitter probe: one thread pinned to CPU, SCHED_FIFO, memory locked, sleeping to
 * absolute deadlines INTERVAL µs apart with clock_nanosleep(TIMER_ABSTIME) on CLOCK_MONOTONIC; each wake-up's
 * lateness (now - deadline) goes into a 1 µs histogram; after an overrun the missed periods are skipped (as
 * cyclictest does). Prints one JSON line: samples, p50, p99, p99.9, max
 * and mean in µs.
 *
 *   probe CPU SECONDS [INTERVAL_US [PRIORITY]]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define BUCKETS 100000 /* 1 µs each; later wake-ups count in the last one (max is kept exactly) */

static uint64_t hist[BUCKETS];

static int64_t ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

static uint64_t percentile(uint64_t n, double q)
{
	uint64_t want = (uint64_t)((double)n * q), seen = 0;

	if (want >= n)
		want = n - 1;
	for (uint64_t b = 0; b < BUCKETS; b++) {
		seen += hist[b];
		if (seen > want)
			return b;
	}
	return BUCKETS - 1;
}

int main(int argc, char **argv)
{
	struct sched_param sp = { 0 };
	struct timespec next, now;
	cpu_set_t set;
	long cpu, seconds, interval = 200, prio = 90;
	int64_t end, max = 0;
	uint64_t n = 0;
	double sum = 0;

	if (argc < 3 || argc > 5) {
		fprintf(stderr, "usage: probe CPU SECONDS [INTERVAL_US [PRIORITY]]\n");
		return 2;
	}
	cpu = strtol(argv[1], NULL, 10);
	seconds = strtol(argv[2], NULL, 10);
	if (argc > 3)
		interval = strtol(argv[3], NULL, 10);
	if (argc > 4)
		prio = strtol(argv[4], NULL, 10);
	if (cpu < 0 || cpu >= CPU_SETSIZE || seconds < 1 || interval < 10 || prio < 1 || prio > 99) {
		fprintf(stderr, "probe: bad argument\n");
		return 2;
	}
	CPU_ZERO(&set);
	CPU_SET((int)cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0) {
		fprintf(stderr, "probe: cannot pin to CPU %ld: %s\n", cpu, strerror(errno));
		return 1;
	}
	sp.sched_priority = (int)prio;
	if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0) {
		fprintf(stderr, "probe: SCHED_FIFO %ld: %s (needs root or CAP_SYS_NICE)\n", prio, strerror(errno));
		return 1;
	}
	if (mlockall(MCL_CURRENT | MCL_FUTURE) < 0)
		fprintf(stderr, "probe: mlockall: %s, going on\n", strerror(errno));
	clock_gettime(CLOCK_MONOTONIC, &next);
	end = ns(&next) + (int64_t)seconds * 1000000000;
	for (;;) {
		int64_t late;

		next.tv_nsec += interval * 1000;
		while (next.tv_nsec >= 1000000000) {
			next.tv_nsec -= 1000000000;
			next.tv_sec++;
		}
		if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) != 0)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &now);
		late = ns(&now) - ns(&next);
		if (late < 0)
			late = 0;
		hist[late / 1000 < BUCKETS ? late / 1000 : BUCKETS - 1]++;
		if (late > max)
			max = late;
		sum += (double)late;
		n++;
		if (ns(&now) >= end)
			break;
		/* an overrun: skip the periods already missed, as cyclictest does, so one late wake-up counts once
		 * rather than again in every catch-up wake-up after it */
		while (ns(&next) + interval * 1000 <= ns(&now)) {
			next.tv_nsec += interval * 1000;
			while (next.tv_nsec >= 1000000000) {
				next.tv_nsec -= 1000000000;
				next.tv_sec++;
			}
		}
	}
	printf("{\"cpu\": %ld, \"interval_us\": %ld, \"samples\": %llu, \"p50_us\": %llu, \"p99_us\": %llu, "
	       "\"p999_us\": %llu, \"max_us\": %.1f, \"mean_us\": %.2f}\n",
	       cpu, interval, (unsigned long long)n, (unsigned long long)percentile(n, 0.5),
	       (unsigned long long)percentile(n, 0.99), (unsigned long long)percentile(n, 0.999), (double)max / 1000,
	       n ? sum / (double)n / 1000 : 0.0);
	return 0;
}
