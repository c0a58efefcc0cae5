/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "asios/cpulist.h"
#include "asios/numa-plan.h"

/* numa_maps: pages per node times the line's page size, summed over the mappings */
static void test_numa_maps(void **state)
{
	const char *text =
		"55d0c0000000 default file=/usr/bin/python3 mapped=100 N0=100 kernelpagesize_kB=4\n"
		"7f0000000000 default anon=3000 dirty=3000 N0=1000 N1=2000 kernelpagesize_kB=4\n"
		"7f2000000000 default file=/anon_hugepage\\040(deleted) huge anon=4 dirty=4 N1=4 kernelpagesize_kB=2048\n"
		"7f3000000000 bind:250 anon=10 N250=10 kernelpagesize_kB=4\n"
		"7ffc00000000 default stack anon=3 dirty=3 N0=3 kernelpagesize_kB=4\n";
	uint64_t *kb = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(asios_numa_maps_parse(text, &kb, &n), 0);
	assert_int_equal(n, 251);
	assert_int_equal(kb[0], (100 + 1000 + 3) * 4);
	assert_int_equal(kb[1], 2000 * 4 + 4 * 2048);
	assert_int_equal(kb[250], 40);
	assert_int_equal(kb[2], 0);
	free(kb);
	assert_int_equal(asios_numa_maps_parse("", &kb, &n), 0);
	assert_int_equal(n, 0);
	free(kb);
	assert_int_equal(asios_numa_maps_parse("7f00 default N0=x kernelpagesize_kB=4\n", &kb, &n), -EINVAL);
}

static void assert_bad(const char *text, const char *want)
{
	struct asios_numa_policy p;
	char *error = NULL;

	assert_int_equal(asios_numa_policy_init(&p), 0);
	assert_int_equal(asios_numa_policy_parse(&p, text, "t.conf", &error), -EINVAL);
	assert_non_null(error);
	if (!strstr(error, want))
		fail_msg("\"%s\" does not contain \"%s\"", error, want);
	free(error);
	asios_numa_policy_clear(&p);
}

static void test_policy(void **state)
{
	struct asios_numa_policy p;
	char *error = NULL, *l;

	(void)state;
	assert_int_equal(asios_numa_policy_init(&p), 0);
	assert_int_equal(asios_numa_policy_parse(&p,
						 "[numad]\nmulti_node = interleave\nautonuma = off\nbanned_cpus = 0-1\n"
						 "[hugepages]\nnode1 = 512\nnode0 = 4 1G\nnode1 = 8\n"
						 "[workload vllm]\ncommand = *vllm*\ncpus = 4-7\nautonuma = yes\n"
						 "[workload batch]\ncgroup = /batch.slice\nnode = 250\nmulti_node = leave\n",
						 "t.conf", &error),
			 0);
	assert_null(error);
	assert_int_equal(p.multi, ASIOS_NUMA_MULTI_INTERLEAVE);
	assert_int_equal(p.autonuma, ASIOS_AUTONUMA_OFF);
	l = asios_cpulist_format(p.banned_cpus);
	assert_string_equal(l, "0-1");
	free(l);
	assert_int_equal(p.n_hugepages, 2);
	assert_int_equal(p.hugepages[0].node, 1);
	assert_int_equal(p.hugepages[0].count, 8); /* a later line wins */
	assert_int_equal(p.hugepages[0].size_kb, 2048);
	assert_int_equal(p.hugepages[1].size_kb, 1048576);
	assert_int_equal(p.n_workloads, 2);
	assert_string_equal(p.workloads[0].command, "*vllm*");
	assert_int_equal(p.workloads[0].autonuma, 1);
	assert_int_equal(p.workloads[0].node, -1);
	assert_string_equal(p.workloads[1].cgroup, "/batch.slice");
	assert_int_equal(p.workloads[1].node, 250);
	assert_int_equal(p.workloads[1].multi, ASIOS_NUMA_MULTI_LEAVE);
	asios_numa_policy_clear(&p);

	assert_bad("[numad]\ninterval = 0\n", "t.conf:2: interval: expected seconds");
	assert_bad("[numad]\nsettle = soon\n", "t.conf:2: settle: expected seconds");
	assert_bad("[hugepages]\nnode0 = 4 3T\n", "t.conf:2: node0: expected COUNT");
	assert_bad("[workload ]\ncommand = x\n", "t.conf:2: [workload ]: a workload needs a name");
	assert_bad("[workload w]\ncommand = x\nignore = perhaps\n", "t.conf:3: ignore: expected yes or no");
	assert_bad("[workload w]\nnode = 1\n", "t.conf:2: [workload w]: needs command = PATTERN or cgroup = PATH");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numa_maps),
		cmocka_unit_test(test_policy),
	};

	return cmocka_run_group_tests_name("numa", tests, NULL, NULL);
}
