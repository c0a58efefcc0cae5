/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "asios/cpulist.h"
#include "asios/sched-plan.h"

static void assert_mask(const char *list, unsigned nbits, const char *expected)
{
	hwloc_bitmap_t s = hwloc_bitmap_alloc(), back = hwloc_bitmap_alloc();
	char *out;

	assert_int_equal(asios_cpulist_parse(list, s, NULL), 0);
	out = asios_cpumask_format(s, nbits);
	assert_non_null(out);
	assert_string_equal(out, expected);
	assert_int_equal(asios_cpumask_parse(out, back, NULL), 0);
	assert_true(hwloc_bitmap_isequal(s, back));
	free(out);
	hwloc_bitmap_free(s);
	hwloc_bitmap_free(back);
}

/* the kernel's %*pb: 32-bit groups, the first only as wide as nr_cpu_ids needs */
static void test_cpumask_format(void **state)
{
	(void)state;
	assert_mask("0", 2, "1");
	assert_mask("0-1", 2, "3");
	assert_mask("0,16", 32, "00010001");
	assert_mask("0-31", 32, "ffffffff");
	assert_mask("0", 40, "00,00000001");
	assert_mask("0-39", 40, "ff,ffffffff");
	assert_mask("0,63", 64, "80000000,00000001");
	assert_mask("", 8, "00");
	assert_null(asios_cpumask_format(NULL, 0));
}

static void test_policy(void **state)
{
	struct asios_sched_policy p;
	char *error = NULL;
	size_t n;
	const struct asios_knob *t = asios_sched_knobs(&n);

	(void)state;
	assert_int_equal(asios_sched_policy_init(&p), 0);
	assert_int_equal(p.isolate, ASIOS_ISOLATE_NONE);
	assert_int_equal(p.profile, ASIOS_SCHED_INFERENCE);
	assert_int_equal(asios_sched_policy_parse(&p,
						  "[schedd]\nisolate = 2-7\nprofile = latency\nhousekeeping_cores = 2\n"
						  "cpu_dma_latency = 0\nworkload_slice = ai.slice\n[knobs]\nvm.stat_interval = 3\n"
						  "kernel.nmi_watchdog = leave\n",
						  "t.conf", &error),
			 0);
	assert_null(error);
	assert_int_equal(p.isolate, ASIOS_ISOLATE_LIST);
	assert_int_equal(hwloc_bitmap_weight(p.isolate_cpus), 6);
	assert_int_equal(p.profile, ASIOS_SCHED_LATENCY);
	assert_int_equal(p.housekeeping_cores, 2);
	assert_int_equal(p.cpu_dma_latency, 0);
	assert_string_equal(p.workload_slice, "ai.slice");
	assert_int_equal(p.n_overrides, 2);
	assert_string_equal(t[p.overrides[0].knob].name, "vm.stat_interval");
	assert_string_equal(p.overrides[0].value, "3");
	assert_null(p.overrides[1].value);
	assert_int_equal(asios_sched_policy_parse(&p, "\n[schedd]\nisolate = 0-\n", "t.conf", &error), -EINVAL);
	assert_non_null(error);
	assert_non_null(strstr(error, "t.conf:3: isolate:"));
	free(error);
	asios_sched_policy_clear(&p);
}

/* every knob has a path, both reasons and a value in some profile; names are unique */
static void test_knob_table(void **state)
{
	size_t n;
	const struct asios_knob *t = asios_sched_knobs(&n);

	(void)state;
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		bool any = false;

		assert_true(t[i].path[0] == '/');
		assert_true(strlen(t[i].brief) > 10 && strlen(t[i].explain) > strlen(t[i].brief));
		for (int p = 0; p < _ASIOS_SCHED_PROFILE_MAX; p++)
			any = any || t[i].value[p];
		assert_true(any);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(t[i].name, t[j].name);
		assert_null(strstr(t[i].name, "numa_balancing")); /* AutoNUMA belongs to asios-numad */
	}
}

static void test_tuned(void **state)
{
	struct asios_sched_state st = { 0 };
	char profile[64];

	(void)state;
	st.tuned_profile = profile;
	strcpy(profile, "cpu-partitioning");
	assert_false(asios_sched_tuned_partitions(&st)); /* not running */
	st.tuned_pid = 42;
	assert_true(asios_sched_tuned_partitions(&st));
	strcpy(profile, "throughput-performance realtime");
	assert_true(asios_sched_tuned_partitions(&st));
	strcpy(profile, "throughput-performance");
	assert_false(asios_sched_tuned_partitions(&st));
	strcpy(profile, "my-cpu-partitioning-ish");
	assert_false(asios_sched_tuned_partitions(&st));
}

/* the eBPF observer's counters as asios-schedd keeps them: written, read back, and bad lines named */
static void test_watch_state(void **state)
{
	static const struct {
		const char *text, *error;
	} bad[] = {
		{ "", "f:1: empty" },
		{ "started 5 updated 4\n", "f:1: not \"started TIME updated TIME\"" },
		{ "started 5 updated 6 x\n", "f:1: not \"started" },
		{ "started 1 updated 2\ncpu x switches 1\n", "f:2: not a CPU number: \"x\"" },
		{ "started 1 updated 2\ncpu 3 switches\n", "f:2: switches: not a count: \"\"" },
		{ "started 1 updated 2\ncpu 3 switches -1\n", "f:2: switches: not a count: \"-1\"" },
		{ "started 1 updated 2\ncpu 3 switches 99999999999999999999\n", "f:2: switches: not a count" },
		{ "started 1 updated 2\ncpu 3 naps 1\n", "f:2: unknown counter \"naps\"" },
		{ "started 1 updated 2\ncpu 3\ncpu 3\n", "f:3: CPU 3 twice" },
		{ "started 1 updated 2\nirq 3\n", "f:2: not a \"cpu N NAME COUNT" },
	};
	struct asios_watch_state st = { .started = 100, .updated = 160.5 }, back;
	char *text = NULL, *error = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	/* CPUs kept in order whatever order they are added in */
	asios_watch_state_cpu(&st, 7, true)->n[ASIOS_WATCH_BY_TASK] = 12;
	asios_watch_state_cpu(&st, 3, true)->n[ASIOS_WATCH_SWITCHES] = 18446744073709551615u;
	assert_null(asios_watch_state_cpu(&st, 5, false));
	assert_int_equal(st.n_cpus, 2);
	assert_int_equal(st.cpus[0].cpu, 3);
	f = open_memstream(&text, &len);
	assert_int_equal(asios_watch_state_format(&st, f), 0);
	fclose(f);
	assert_int_equal(asios_watch_state_parse(&back, text, "f", &error), 0);
	assert_int_equal(back.n_cpus, 2);
	assert_true(back.updated == 160.5 && back.started == 100);
	assert_true(back.cpus[0].n[ASIOS_WATCH_SWITCHES] == 18446744073709551615u);
	assert_int_equal(back.cpus[1].cpu, 7);
	assert_int_equal(back.cpus[1].n[ASIOS_WATCH_BY_TASK], 12);
	asios_watch_state_clear(&back);
	asios_watch_state_clear(&st);
	free(text);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(asios_watch_state_parse(&back, bad[i].text, "f", &error), -EINVAL);
		assert_non_null(strstr(error, bad[i].error));
		assert_int_equal(back.n_cpus, 0);
		free(error);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpumask_format),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_knob_table),
		cmocka_unit_test(test_tuned),
		cmocka_unit_test(test_watch_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
