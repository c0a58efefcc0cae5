/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "asios/cpulist.h"

static void assert_list(const char *in, const char *expected)
{
	hwloc_bitmap_t s = hwloc_bitmap_alloc();
	char *out;

	assert_int_equal(asios_cpulist_parse(in, s, NULL), 0);
	out = asios_cpulist_format(s);
	assert_string_equal(out, expected);
	free(out);
	hwloc_bitmap_free(s);
}

static void assert_bad_list(const char *in, ptrdiff_t at)
{
	hwloc_bitmap_t s = hwloc_bitmap_alloc();
	const char *err = NULL;

	assert_int_not_equal(asios_cpulist_parse(in, s, &err), 0);
	assert_non_null(err);
	assert_int_equal(err - in, at);
	hwloc_bitmap_free(s);
}

static void test_lists(void **state)
{
	(void)state;
	assert_list("0-3,8", "0-3,8");
	assert_list("5\n", "5");
	assert_list("", "");
	assert_list("\n", "");
	assert_list("3,1,2", "1-3");
	assert_list("0-1151", "0-1151");
	assert_list("0-15:2/4", "0-1,4-5,8-9,12-13");
	assert_list("2-2", "2");
}

static void test_bad_lists(void **state)
{
	(void)state;
	assert_bad_list("0-", 2);
	assert_bad_list("a", 0);
	assert_bad_list("3-1", 3);
	assert_bad_list("1,,2", 2);
	assert_bad_list("1 2", 2);
	assert_bad_list("0-7:0/4", 7);
	assert_bad_list("0-7:5/4", 7);
	assert_bad_list("99999999999", 0);
}

static void assert_mask(const char *in, const char *expected)
{
	hwloc_bitmap_t s = hwloc_bitmap_alloc();
	char *out;

	assert_int_equal(asios_cpumask_parse(in, s, NULL), 0);
	out = asios_cpulist_format(s);
	assert_string_equal(out, expected);
	free(out);
	hwloc_bitmap_free(s);
}

static void test_masks(void **state)
{
	hwloc_bitmap_t s = hwloc_bitmap_alloc();

	(void)state;
	assert_mask("ff\n", "0-7");
	assert_mask("00000001,00000000", "32");
	assert_mask("0000ffff,ffffffff", "0-47");
	assert_mask("0", "");
	assert_mask("aa", "1,3,5,7");
	assert_int_equal(asios_cpumask_parse("fg", s, NULL), -EINVAL);
	assert_int_equal(asios_cpumask_parse("", s, NULL), -EINVAL);
	assert_int_equal(asios_cpumask_parse("ff ff", s, NULL), -EINVAL);
	hwloc_bitmap_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_bad_lists),
		cmocka_unit_test(test_masks),
	};

	return cmocka_run_group_tests_name("cpulist", tests, NULL, NULL);
}
