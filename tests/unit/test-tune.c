/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* The auto-tuner's statistics, candidates and search (asios/tune.h), with a simulated objective. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "asios/domain.h"
#include "asios/tune.h"

static void test_signed_rank(void **state)
{
	const double up[] = { 1, 2, 3, 4, 5, 6 }, one_down[] = { -1, 2, 3, 4, 5, 6 }, down[] = { -1, -2, -3 };
	const double zeros[] = { 0, 0, 1 }, ties[] = { 1, 1, 1, 1 }, mixed[] = { 3, -1, 2, -2, 4, 0.5 };
	double many[40];

	(void)state;
	/* exact: all 2^n sign assignments of the ranks */
	assert_true(fabs(asios_signed_rank_p(up, 6) - 1.0 / 64) < 1e-12);
	assert_true(fabs(asios_signed_rank_p(one_down, 6) - 2.0 / 64) < 1e-12);
	assert_true(asios_signed_rank_p(down, 3) == 1);
	assert_true(fabs(asios_signed_rank_p(zeros, 3) - 0.5) < 1e-12); /* zeros dropped: one difference left */
	assert_true(fabs(asios_signed_rank_p(ties, 4) - 1.0 / 16) < 1e-12); /* tied mid-ranks */
	assert_true(asios_signed_rank_p(NULL, 0) == 1);
	assert_true(asios_signed_rank_p(mixed, 6) > 0.05 && asios_signed_rank_p(mixed, 6) < 0.5);
	/* the normal approximation beyond 24: all positive is far below any confidence, alternating near 0.5 */
	for (int i = 0; i < 40; i++)
		many[i] = i + 1;
	assert_true(asios_signed_rank_p(many, 40) < 1e-6);
	for (int i = 0; i < 40; i++)
		many[i] = (i % 2 ? -1 : 1) * (i + 1);
	assert_true(fabs(asios_signed_rank_p(many, 40) - 0.5) < 0.15);
	assert_true(fabs(asios_quantile((double[]){ 3, 1, 2 }, 3, 0.5) - 2) < 1e-12);
	assert_true(fabs(asios_quantile((double[]){ 4, 1, 3, 2 }, 4, 0.25) - 1.75) < 1e-12);
	assert_true(isnan(asios_quantile(NULL, 0, 0.5)));
}

static void test_candidates(void **state)
{
	struct asios_tune_knob wide = { .min = 0, .max = 65536 }, small = { .min = 0, .max = 2 };
	long v[16];

	(void)state;
	assert_int_equal(asios_tune_candidates(&wide, 128, +1, v, 16), 5);
	assert_true(v[0] == 512 && v[1] == 2048 && v[2] == 8192 && v[3] == 32768 && v[4] == 65536);
	assert_int_equal(asios_tune_candidates(&wide, 128, -1, v, 16), 4);
	assert_true(v[0] == 32 && v[1] == 8 && v[2] == 2 && v[3] == 0);
	assert_int_equal(asios_tune_candidates(&wide, 0, -1, v, 16), 0);
	assert_int_equal(asios_tune_candidates(&wide, 65536, +1, v, 16), 0);
	assert_int_equal(asios_tune_candidates(&wide, 0, +1, v, 2), 2);
	assert_true(v[0] == 1 && v[1] == 4);
	assert_int_equal(asios_tune_candidates(&small, 1, +1, v, 16), 1);
	assert_int_equal(v[0], 2);
	assert_int_equal(asios_tune_candidates(&small, 1, -1, v, 16), 1);
	assert_int_equal(v[0], 0);
}

/* a simulated machine: one knob, an objective of its value with noise, a guard, a refused value */
struct sim {
	long value;
	double (*f)(long v);
	double (*guard)(long v);
	long refuse;            /* a value the "kernel" refuses, or -1 */
	unsigned seed, sets, runs, refused;
};

static int sim_measure(void *userdata, double *objective, double *guards)
{
	struct sim *m = userdata;
	double noise = (double)(rand_r(&m->seed) % 2001 - 1000) / 1000.0 * 0.01; /* ±1 % */

	m->runs++;
	*objective = m->f(m->value) * (1 + noise);
	guards[0] = m->guard ? m->guard(m->value) : 0;
	return 0;
}

static int sim_set(void *userdata, const struct asios_tune_knob *k, long value)
{
	struct sim *m = userdata;

	(void)k;
	if (value == m->refuse) {
		m->refused++;
		return -EPERM;
	}
	m->value = value;
	m->sets++;
	return 0;
}

static double peak_2048(long v)
{
	double x = log2((double)v + 1) - 11;

	return 1000 - 20 * x * x;
}

static double worse_off_start(long v)
{
	return v == 128 ? 1000 : 900;
}

static double retransmits(long v)
{
	return v > 128 ? 31 : 1;
}

static struct asios_tune_result sim_run(struct sim *m, const struct asios_tune_opts *o, long *best)
{
	struct asios_tune_knob k = { .name = "read_ahead_kb", .min = 0, .max = 65536, .start = 128 };
	const struct asios_tune_ops ops = { .measure = sim_measure, .set = sim_set };
	struct asios_tune_result res;

	m->value = 128;
	assert_int_equal(asios_tune_run(&k, 1, o, &ops, m, &res), 0);
	*best = k.best;
	assert_int_equal(m->value, k.best); /* left at its best */
	return res;
}

static void test_search(void **state)
{
	struct asios_tune_opts o = { .maximize = true, .budget = 100, .blocks = 3, .confidence = 0.95, .min_gain = 0.01 };
	struct sim m = { .f = peak_2048, .refuse = -1, .seed = 1 };
	struct asios_tune_result res;
	long best;

	(void)state;
	res = sim_run(&m, &o, &best);
	assert_int_equal(best, 2048);
	assert_int_equal(res.kept, 2);
	assert_true(res.runs <= o.budget && res.runs == m.runs);
	assert_true(res.best > res.baseline);
	/* every change makes it worse: the start is kept */
	m = (struct sim){ .f = worse_off_start, .refuse = -1, .seed = 2 };
	res = sim_run(&m, &o, &best);
	assert_int_equal(best, 128);
	assert_int_equal(res.kept, 0);
	/* a guard that gets worse with every change blocks the win; with a tolerance that allows it, kept */
	o.n_guards = 1;
	o.guards[0] = (struct asios_tune_guard){ .name = "retransmits", .maximize = false, .tolerance = 0.05 };
	m = (struct sim){ .f = peak_2048, .guard = retransmits, .refuse = -1, .seed = 3 };
	res = sim_run(&m, &o, &best);
	assert_int_equal(best, 128);
	o.guards[0].tolerance = 100;
	m = (struct sim){ .f = peak_2048, .guard = retransmits, .refuse = -1, .seed = 3 };
	res = sim_run(&m, &o, &best);
	assert_int_equal(best, 2048);
	o.n_guards = 0;
	/* a value the kernel refuses is skipped, and the search in that direction ends there */
	m = (struct sim){ .f = peak_2048, .refuse = 512, .seed = 4 };
	res = sim_run(&m, &o, &best);
	assert_int_equal(best, 128);
	/* a budget too small for one comparison: nothing run, nothing changed */
	o.budget = 11;
	m = (struct sim){ .f = peak_2048, .refuse = -1, .seed = 5 };
	res = sim_run(&m, &o, &best);
	assert_int_equal(res.runs, 0);
	assert_int_equal(best, 128);
	/* minimise: the same curve upside down */
	o = (struct asios_tune_opts){ .maximize = false, .budget = 100, .blocks = 3, .confidence = 0.95, .min_gain = 0.01 };
	m = (struct sim){ .f = worse_off_start, .refuse = -1, .seed = 6 };
	res = sim_run(&m, &o, &best);
	assert_int_equal(best, 512);
}

/* two knobs: "a" does nothing and the kernel refuses a = 512; "b" has the peak. The second pass (b moved) does
 * not try the refused value of a again */
struct sim2 {
	long v[2];
	unsigned seed, refused;
};

static int sim2_measure(void *userdata, double *objective, double *guards)
{
	struct sim2 *m = userdata;

	(void)guards;
	*objective = peak_2048(m->v[1]) * (1 + (double)(rand_r(&m->seed) % 2001 - 1000) / 1000.0 * 0.01);
	return 0;
}

static int sim2_set(void *userdata, const struct asios_tune_knob *k, long value)
{
	struct sim2 *m = userdata;
	int i = k->name[0] == 'b';

	if (!i && value == 512) {
		m->refused++;
		return -EPERM;
	}
	m->v[i] = value;
	return 0;
}

static void test_refused_once(void **state)
{
	struct asios_tune_opts o = { .maximize = true, .budget = 200, .blocks = 3, .confidence = 0.95, .min_gain = 0.01 };
	struct asios_tune_knob k[2] = { { .name = "a", .min = 0, .max = 65536, .start = 128 },
					{ .name = "b", .min = 0, .max = 65536, .start = 128 } };
	const struct asios_tune_ops ops = { .measure = sim2_measure, .set = sim2_set };
	struct sim2 m = { .v = { 128, 128 }, .seed = 7 };
	struct asios_tune_result res;

	(void)state;
	assert_int_equal(asios_tune_run(k, 2, &o, &ops, &m, &res), 0);
	assert_int_equal(k[1].best, 2048);
	assert_int_equal(k[0].best, 128);
	assert_int_equal(m.refused, 1);
}

/* a coupled constraint: b (a follower) is never below a. The objective peaks at a = 2048 and only with b >= a
 * (a socket that sizes its own buffer); the search raises b along and keeps both */
static int sim3_measure(void *userdata, double *objective, double *guards)
{
	struct sim2 *m = userdata;

	(void)guards;
	*objective = (m->v[1] >= m->v[0] ? peak_2048(m->v[0]) : 50) *
		     (1 + (double)(rand_r(&m->seed) % 2001 - 1000) / 1000.0 * 0.01);
	return 0;
}

static int sim3_set(void *userdata, const struct asios_tune_knob *k, long value)
{
	struct sim2 *m = userdata;

	m->v[k->name[0] == 'b'] = value;
	m->refused += k->name[0] == 'b'; /* here: how often b was set */
	return 0;
}

static void test_coupled(void **state)
{
	struct asios_tune_opts o = { .maximize = true, .budget = 200, .blocks = 3, .confidence = 0.95, .min_gain = 0.01 };
	struct asios_tune_knob k[2] = { { .name = "a", .min = 0, .max = 65536, .start = 128 },
					{ .name = "b", .min = 0, .max = 65536, .start = 64, .at_least = 1, .follower = true } };
	const struct asios_tune_ops ops = { .measure = sim3_measure, .set = sim3_set };
	struct sim2 m = { .v = { 128, 64 }, .seed = 8 };
	struct asios_tune_result res;

	(void)state;
	assert_int_equal(asios_tune_run(k, 2, &o, &ops, &m, &res), 0);
	assert_int_equal(k[0].best, 2048);
	assert_int_equal(k[1].best, 2048); /* raised along with a */
	assert_int_equal(m.v[0], 2048);
	assert_int_equal(m.v[1], 2048);
	assert_true(m.refused > 0);
	/* the control: without the constraint b stays at 64, so a's candidates never win */
	k[0] = (struct asios_tune_knob){ .name = "a", .min = 0, .max = 65536, .start = 128 };
	k[1] = (struct asios_tune_knob){ .name = "b", .min = 0, .max = 65536, .start = 64, .follower = true };
	m = (struct sim2){ .v = { 128, 64 }, .seed = 8 };
	assert_int_equal(asios_tune_run(k, 2, &o, &ops, &m, &res), 0);
	assert_true(k[0].best < 2048); /* the peak is out of reach: only a value of a below b wins at all */
	assert_int_equal(k[1].best, 64);
	assert_int_equal(m.refused, 0);
}

/* the whole set against its start: a profile that still wins is kept in force; one that lost is put back */
static void test_confirm(void **state)
{
	struct asios_tune_opts o = { .maximize = true, .budget = 200, .blocks = 3, .confidence = 0.95, .min_gain = 0.01 };
	struct asios_tune_knob k = { .name = "read_ahead_kb", .min = 0, .max = 65536, .start = 128, .best = 2048 };
	const struct asios_tune_ops ops = { .measure = sim_measure, .set = sim_set };
	struct sim m = { .f = peak_2048, .refuse = -1, .seed = 9, .value = 2048 };
	struct asios_tune_trial t;
	unsigned runs;

	(void)state;
	assert_int_equal(asios_tune_confirm(&k, 1, &o, &ops, &m, &t, &runs), 0);
	assert_int_equal(t.decision, ASIOS_TUNE_KEPT);
	assert_int_equal(runs, 12);
	assert_int_equal(m.value, 2048);
	assert_true(t.p < 0.05 && t.median_b > t.median_a);
	/* the workload changed: the profile's value is now the worse one */
	m = (struct sim){ .f = worse_off_start, .refuse = -1, .seed = 10, .value = 2048 };
	k.best = 512;
	assert_int_equal(asios_tune_confirm(&k, 1, &o, &ops, &m, &t, &runs), 0);
	assert_int_not_equal(t.decision, ASIOS_TUNE_KEPT);
	assert_int_equal(m.value, 128); /* left at the start */
}

/* what lost on this machine before is not tried again: the peak at 2048 is out of reach from 512 */
static void test_history(void **state)
{
	const struct asios_tune_history lost = { .knob = 0, .from = 512, .to = 2048 };
	struct asios_tune_opts o = { .maximize = true, .budget = 200, .blocks = 3, .confidence = 0.95, .min_gain = 0.01,
				     .history = &lost, .n_history = 1 };
	struct sim m = { .f = peak_2048, .refuse = -1, .seed = 1 };
	struct asios_tune_result res;
	long best;

	(void)state;
	res = sim_run(&m, &o, &best);
	assert_int_equal(best, 512);
	assert_int_equal(res.kept, 1);
	o.n_history = 0; /* the control: without it, the search reaches the peak */
	m = (struct sim){ .f = peak_2048, .refuse = -1, .seed = 1 };
	res = sim_run(&m, &o, &best);
	assert_int_equal(best, 2048);
}

/* the numbers of a line (tcp_rmem's triple) */
static void test_fields(void **state)
{
	char out[64];
	long v;

	(void)state;
	assert_int_equal(asios_knob_field_get("4096\t131072\t6291456\n", 3, &v), 0);
	assert_int_equal(v, 6291456);
	assert_int_equal(asios_knob_field_get("4096 131072", 3, &v), -EINVAL);
	assert_int_equal(asios_knob_field_get("4096 x 1", 2, &v), -EINVAL);
	assert_int_equal(asios_knob_field_get("212992\n", 0, &v), 0);
	assert_int_equal(v, 212992);
	assert_int_equal(asios_knob_field_set("4096\t131072\t6291456", 3, 25165824, out, sizeof(out)), 0);
	assert_string_equal(out, "4096\t131072\t25165824");
	assert_int_equal(asios_knob_field_set("4096 131072", 3, 1, out, sizeof(out)), -EINVAL);
	assert_int_equal(asios_knob_field_set("4096 131072 6291456", 3, 1, out, 8), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signed_rank),
		cmocka_unit_test(test_candidates),
		cmocka_unit_test(test_search),
		cmocka_unit_test(test_refused_once),
		cmocka_unit_test(test_coupled),
		cmocka_unit_test(test_confirm),
		cmocka_unit_test(test_history),
		cmocka_unit_test(test_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
