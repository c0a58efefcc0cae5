/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "asios/root.h"

struct fixture {
	char dir[64];
	struct asios_root *root;
};

static void put(const char *dir, const char *path, const char *content)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, path);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char p[512];

	strcpy(fx->dir, "/tmp/asios-root-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(p, sizeof(p), "%s/sys", fx->dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/sys/d", fx->dir);
	mkdir(p, 0755);
	put(fx->dir, "sys/d/int", "42\n");
	put(fx->dir, "sys/d/neg", "-1\n");
	put(fx->dir, "sys/d/bad", "12abc\n");
	put(fx->dir, "sys/d/line", "  first line  \nsecond\n");
	put(fx->dir, "secret", "outside\n");
	/* an absolute link must resolve inside the root, a ../ escape must stay in it */
	snprintf(p, sizeof(p), "%s/sys/d/abs", fx->dir);
	assert_int_equal(symlink("/sys/d/int", p), 0);
	snprintf(p, sizeof(p), "%s/sys/d/up", fx->dir);
	assert_int_equal(symlink("../../../../../../sys/d/int", p), 0);
	assert_int_equal(asios_root_open(fx->dir, &fx->root), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];

	asios_root_free(fx->root);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

static void test_reads(void **state)
{
	struct fixture *fx = *state;
	long v;
	char *s;

	assert_int_equal(asios_read_long(fx->root, "/sys/d/int", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(asios_read_long(fx->root, "sys/d/neg", &v), 0);
	assert_int_equal(v, -1);
	assert_int_equal(asios_read_long(fx->root, "/sys/d/bad", &v), -EINVAL);
	assert_int_equal(asios_read_long(fx->root, "/sys/d/missing", &v), -ENOENT);
	assert_int_equal(asios_read_line(fx->root, "/sys/d/line", &s), 0);
	assert_string_equal(s, "first line");
	free(s);
	assert_false(asios_root_is_host(fx->root));
}

static void test_links_stay_inside(void **state)
{
	struct fixture *fx = *state;
	long v = 0;
	char *s;

	assert_int_equal(asios_read_long(fx->root, "/sys/d/abs", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(asios_read_long(fx->root, "/sys/d/up", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(asios_read_link(fx->root, "/sys/d/abs", &s), 0);
	assert_string_equal(s, "/sys/d/int");
	free(s);
}

static void test_list_dir(void **state)
{
	struct fixture *fx = *state;
	char **v;

	assert_int_equal(asios_list_dir(fx->root, "/sys/d", &v), 6);
	assert_string_equal(v[0], "abs");
	assert_string_equal(v[5], "up");
	assert_null(v[6]);
	asios_strv_free(v);
	assert_int_equal(asios_list_dir(fx->root, "/nope", &v), -ENOENT);
	assert_true(asios_exists(fx->root, "/secret"));
	assert_false(asios_exists(fx->root, "/sys/nope"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads),
		cmocka_unit_test(test_links_stay_inside),
		cmocka_unit_test(test_list_dir),
	};

	return cmocka_run_group_tests_name("root", tests, setup, teardown);
}
