/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: the /proc readers, through a root prefix as for a capture. The input is written as
 * proc/1/stat and proc/1/status of a throwaway root; asios_proc_stat_read() and asios_proc_get_affinity() read
 * them. The same bytes go to the kernel uevent parser. Besides crashes and leaks it checks the contract: a stat
 * line that parses has its command name between its first '(' and last ')', NUL-terminated within the field;
 * an affinity read is the text of the status file's Cpus_allowed_list line; a uevent that parses points into
 * the message.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/daemon.h"
#include "asios/numa-plan.h"
#include "asios/proc.h"
#include "asios/root.h"
#include "fuzz-root.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_stat(struct asios_root *root, const char *s)
{
	struct asios_proc_stat st;
	int r = asios_proc_stat_read(root, 1, &st);

	if (r == 0) {
		const char *b = strchr(s, '('), *e = strrchr(s, ')');
		size_t n = strnlen(st.comm, sizeof(st.comm));

		/* the reader sees the first line only: the name is a prefix of what lies between the parentheses */
		if (!b || !e || e <= b || n == sizeof(st.comm) || strncmp(st.comm, b + 1, n))
			abort();
	} else if (r != -EINVAL && r != -ESRCH && r != -ENOMEM && r != -EFBIG) {
		abort();
	}
}

static void check_affinity(struct asios_root *root, const char *s)
{
	char *list = NULL;
	int r = asios_proc_get_affinity(root, 1, &list);

	if (r == 0) {
		const char *p = strstr(s, "\nCpus_allowed_list:");

		if (!p || !list || !strstr(p, list))
			abort();
		free(list);
	} else if (r != -ENODATA && r != -ESRCH && r != -ENOMEM && r != -EFBIG) {
		abort();
	}
}

static void check_uevent(const uint8_t *data, size_t size)
{
	struct asios_uevent ev;
	const char *msg = (const char *)data;

	if (asios_uevent_parse(msg, size, &ev) == 0) {
		const char *f[] = { ev.action, ev.devpath, ev.subsystem, ev.driver };

		for (size_t i = 0; i < 4; i++)
			if (!f[i] || (*f[i] && (f[i] < msg || f[i] >= msg + size)))
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct asios_root *root;
	char *s;

	if (!root) {
		static const char *const dirs[] = { "proc", "proc/1", NULL };

		fuzz_root_make("proc", dirs);
		if (asios_root_open(fuzz_root, &root) < 0)
			abort();
	}
	if (!(s = strndup((const char *)data, size)))
		return 0;
	fuzz_root_write("proc/1/stat", data, size);
	fuzz_root_write("proc/1/status", data, size);
	check_stat(root, s);
	check_affinity(root, s);
	check_uevent(data, size);
	free(s);
	return 0;
}
