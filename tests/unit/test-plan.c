/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "testutil.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "asios/plan.h"

/*
 * The kinds of change a plan keeps (asios_action_kinds_parse, asios_plan_keep_kinds: `asiosctl DOMAIN apply
 * --only KIND,...`, which asios-pcie@.service runs with pcie alone).
 */

static void test_kinds_parse(void **state)
{
	unsigned mask = 99;
	char *error = NULL;

	(void)state;
	assert_int_equal(asios_action_kinds_parse("pcie", &mask, &error), 0);
	assert_int_equal(mask, 1u << ASIOS_ACTION_PCIE);
	assert_null(error);
	assert_int_equal(asios_action_kinds_parse("write,ethtool,pcie", &mask, &error), 0);
	assert_int_equal(mask, 1u << ASIOS_ACTION_WRITE | 1u << ASIOS_ACTION_ETHTOOL | 1u << ASIOS_ACTION_PCIE);
	assert_int_equal(asios_action_kinds_parse("write,affinity,migrate,file,ethtool,pcie", &mask, &error), 0);
	assert_int_equal(mask, (1u << ASIOS_ACTION_KINDS) - 1);
	/* an unknown name, a prefix of one, an empty one between commas or at the end: named, with the list */
	const char *bad[][2] = { { "pcie,bogus", "'bogus'" }, { "pci", "'pci'" }, { "pcie,,write", "''" },
				 { "pcie,", "''" }, { "", "''" }, { "PCIE", "'PCIE'" } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(asios_action_kinds_parse(bad[i][0], &mask, &error), -EINVAL);
		assert_non_null(error);
		assert_non_null(strstr(error, bad[i][1]));
		assert_non_null(strstr(error, "write, affinity, migrate, file, ethtool, pcie"));
		free(error);
		error = NULL;
	}
}

static struct asios_plan *mixed(void)
{
	struct asios_plan *p = asios_plan_new();

	assert_non_null(p);
	assert_int_equal(asios_plan_add_ethtool(p, "eth0 rings.rx", "eth0/rings/rx", 512, 4096, "rings"), 0);
	assert_int_equal(asios_plan_add_pcie(p, "eth0 pcie.read_request", "0000:17:00.0/max_read_request", 512, 4096,
					     "read requests"), 0);
	assert_int_equal(asios_plan_add_write(p, "eth0 rx-0 rps_cpus", "/sys/class/net/eth0/queues/rx-0/rps_cpus", "0",
					      "f", "rps"), 0);
	assert_int_equal(asios_plan_add_pcie(p, "eth1 pcie.read_request", "0000:18:00.0/max_read_request", 512, 4096,
					     "read requests"), 0);
	assert_int_equal(asios_plan_skip_object(p, "eth2 pcie.read_request", "vendor 0x8086"), 0);
	return p;
}

static void test_keep_kinds(void **state)
{
	struct asios_plan *p = mixed();

	(void)state;
	assert_int_equal(asios_plan_keep_kinds(p, 1u << ASIOS_ACTION_PCIE, "pcie"), 0);
	/* the pcie actions stay, in their order, whole */
	assert_int_equal(p->n_actions, 2);
	assert_string_equal(p->actions[0].object, "eth0 pcie.read_request");
	assert_string_equal(p->actions[0].new_value, "4096");
	assert_string_equal(p->actions[0].reason, "read requests");
	assert_string_equal(p->actions[1].object, "eth1 pcie.read_request");
	/* the others are left alone, saying why; what was left alone before stays first */
	assert_int_equal(p->n_skipped, 3);
	assert_string_equal(p->skipped[0].object, "eth2 pcie.read_request");
	assert_string_equal(p->skipped[1].object, "eth0 rings.rx");
	assert_string_equal(p->skipped[1].reason, "a change of kind ethtool, left out (only pcie asked for)");
	assert_string_equal(p->skipped[2].object, "eth0 rx-0 rps_cpus");
	assert_string_equal(p->skipped[2].reason, "a change of kind write, left out (only pcie asked for)");
	asios_plan_free(p);

	/* every kind kept: the plan as it was; none of the plan's kinds: no action left */
	p = mixed();
	assert_int_equal(asios_plan_keep_kinds(p, (1u << ASIOS_ACTION_KINDS) - 1, "all"), 0);
	assert_int_equal(p->n_actions, 4);
	assert_int_equal(p->n_skipped, 1);
	assert_int_equal(asios_plan_keep_kinds(p, 1u << ASIOS_ACTION_MIGRATE, "migrate"), 0);
	assert_int_equal(p->n_actions, 0);
	assert_int_equal(p->n_skipped, 5);
	asios_plan_free(p);
}

static void test_keep_kinds_irq(void **state)
{
	struct asios_plan *p = asios_plan_new();
	hwloc_bitmap_t from = hwloc_bitmap_alloc(), to = hwloc_bitmap_alloc();

	(void)state;
	hwloc_bitmap_set_range(from, 0, 3);
	hwloc_bitmap_set(to, 2);
	assert_int_equal(asios_plan_add_cpus(p, 130, "0000:17:00.0", "/proc/irq/130/smp_affinity_list", from, to,
					     "near its device"), 0);
	assert_int_equal(asios_plan_keep_kinds(p, 1u << ASIOS_ACTION_PCIE, "pcie"), 0);
	/* an IRQ's change is left out as that IRQ */
	assert_int_equal(p->n_actions, 0);
	assert_int_equal(p->n_skipped, 1);
	assert_int_equal(p->skipped[0].irq, 130);
	assert_string_equal(p->skipped[0].object, "irq 130");
	assert_string_equal(p->skipped[0].reason, "a change of kind write, left out (only pcie asked for)");
	asios_plan_free(p);
	hwloc_bitmap_free(from);
	hwloc_bitmap_free(to);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds_parse),
		cmocka_unit_test(test_keep_kinds),
		cmocka_unit_test(test_keep_kinds_irq),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
