/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "asios/root.h"

/* openat2 calls still to be answered EAGAIN, as the kernel does when a rename or mount anywhere on the machine
 * races a ".." of the walk under RESOLVE_IN_ROOT: libasios calls openat2 through syscall(2), wrapped here */
static int eagain_left;

long syscall(long n, ...)
{
	static long (*next)(long, ...);
	long a[6];
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (n == SYS_openat2 && eagain_left > 0) {
		eagain_left--;
		errno = EAGAIN;
		return -1;
	}
	if (!next)
		*(void **)&next = dlsym(RTLD_NEXT, "syscall");
	return next(n, a[0], a[1], a[2], a[3], a[4], a[5]);
}

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

	assert_non_null(fx);
	strcpy(fx->dir, "/tmp/asios-root-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	*state = fx; /* before anything below can fail: the teardown removes the folder */
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

static void link_in(const char *dir, const char *path, const char *target)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, path);
	assert_int_equal(symlink(target, p), 0);
}

static bool exists_at(const char *dir, const char *path)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, path);
	return lstat(p, &st) == 0;
}

/* mkdir -p never leaves the root: no link followed (absolute, relative or to a folder inside), no ".." */
static void test_mkdirs_stays_inside(void **state)
{
	struct fixture *fx = *state;
	char outside[64] = "/tmp/asios-outside-XXXXXX", cmd[128];

	assert_non_null(mkdtemp(outside));
	link_in(fx->dir, "sys/out", outside);
	link_in(fx->dir, "sys/in", "d");
	assert_int_equal(asios_mkdirs(fx->root, "/sys/out/new", 0755), -ELOOP);
	assert_false(exists_at(outside, "new"));
	assert_int_equal(asios_mkdirs(fx->root, "/sys/in/new", 0755), -ELOOP);
	assert_false(exists_at(fx->dir, "sys/d/new"));
	assert_int_equal(asios_mkdirs(fx->root, "/sys/../../escaped", 0755), -EINVAL);
	assert_int_equal(asios_mkdirs(fx->root, "/a/b/../c", 0755), -EINVAL);
	assert_int_equal(asios_write_whole(fx->root, "/sys/out/new/file", "x"), -ELOOP);
	assert_false(exists_at(outside, "new"));
	assert_int_equal(asios_mkdirs(fx->root, "/etc/asios/./x", 0755), 0);
	assert_true(exists_at(fx->dir, "etc/asios/x"));
	assert_int_equal(asios_mkdirs(fx->root, "/etc/asios/x", 0755), 0); /* already there */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", outside);
	assert_int_equal(system(cmd), 0);
}

/* readlink through a linked folder resolves that folder inside the root */
static void test_read_link_stays_inside(void **state)
{
	struct fixture *fx = *state;
	char outside[64] = "/tmp/asios-outside-XXXXXX", cmd[128], *s = NULL;

	assert_non_null(mkdtemp(outside));
	link_in(outside, "l", "host-target");
	link_in(fx->dir, "sys/ldir", outside);
	assert_int_equal(asios_read_link(fx->root, "/sys/ldir/l", &s), -ENOENT);
	assert_null(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", outside);
	assert_int_equal(system(cmd), 0);
}

/* FIFOs are refused, not waited on; a one-line file with no end is cut off */
static void test_odd_files(void **state)
{
	struct fixture *fx = *state;
	char p[512], *s;
	FILE *f;

	snprintf(p, sizeof(p), "%s/sys/d/fifo", fx->dir);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(asios_read_file(fx->root, "/sys/d/fifo", &s, NULL), -EINVAL);
	assert_int_equal(asios_read_line(fx->root, "/sys/d/fifo", &s), -EINVAL);
	assert_int_equal(asios_read_file(fx->root, "/sys/d", &s, NULL), -EISDIR);
	snprintf(p, sizeof(p), "%s/sys/d/long", fx->dir);
	f = fopen(p, "w");
	assert_non_null(f);
	for (unsigned i = 0; i < ASIOS_LINE_MAX / 4 + 1; i++)
		fputs("1,2,", f);
	fputs("\nsecond\n", f);
	fclose(f);
	assert_int_equal(asios_read_line(fx->root, "/sys/d/long", &s), -EFBIG);
	assert_int_equal(asios_read_file(fx->root, "/sys/d/long", &s, NULL), 0);
	free(s);
}

/* Without openat2 (seccomp answers ENOSYS, as a kernel before 5.6 would), a capture root is refused rather than
 * read without containment; the host root needs none. */
static void test_no_openat2(void **state)
{
	struct fixture *fx = *state;
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(filter) / sizeof(filter[0]), .filter = filter };
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct asios_root *r = NULL;
		long v = 0;

		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
			_exit(3);
		if (asios_root_open(fx->dir, &r) != -ENOSYS)
			_exit(1);
		if (asios_read_long(fx->root, "/sys/d/abs", &v) != -ENOSYS) /* a root opened before: no fallback */
			_exit(2);
		if (asios_root_open("/", &r) != 0)
			_exit(4);
		asios_root_free(r);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 3)
		skip(); /* no seccomp here (a container that forbids it) */
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* EAGAIN from openat2 is retried: the read through a "../" link succeeds after a few; a walk that never gets
 * through gives EAGAIN back instead of looping */
static void test_openat2_eagain_retried(void **state)
{
	struct fixture *fx = *state;
	long v = 0;

	eagain_left = 5;
	assert_int_equal(asios_read_long(fx->root, "/sys/d/up", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(eagain_left, 0);
	eagain_left = 1000;
	assert_int_equal(asios_read_long(fx->root, "/sys/d/int", &v), -EAGAIN);
	eagain_left = 0;
}

/* a process killed between asios_write_whole()'s temporary file and its rename: removing the file (a revert)
 * removes that leftover too, so the folder apply made can go */
static void test_remove_takes_leftover(void **state)
{
	struct fixture *fx = *state;
	char p[512];

	put(fx->dir, "sys/d/.new.conf.asios-new", "half\n");
	asios_remove_file(fx->root, "/sys/d/new.conf");
	snprintf(p, sizeof(p), "%s/sys/d/.new.conf.asios-new", fx->dir);
	assert_int_equal(access(p, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads),
		cmocka_unit_test(test_links_stay_inside),
		cmocka_unit_test(test_list_dir),
		cmocka_unit_test_setup_teardown(test_mkdirs_stays_inside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_link_stays_inside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_odd_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_openat2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_openat2_eagain_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_takes_leftover, setup, teardown),
	};

	return cmocka_run_group_tests_name("root", tests, setup, teardown);
}
