/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: the sshd configuration reader of asiosctl audit (packages/asiosctl/audit-judge.c, included
 * here: it is not in libasios), through a root prefix as for a capture. The input up to its first NUL byte is
 * etc/ssh/sshd_config, the rest etc/ssh/sshd_config.d/fuzz.conf, so Include lines (relative, absolute, globbed,
 * or of the file itself) find something to follow. Besides crashes and leaks it checks what the audit relies on:
 * the reading succeeds; every setting has a non-empty lower-case keyword, once (the first value wins), never
 * "include" or "match"; no value keeps a comment, a carriage return or trailing blanks; and there are no more
 * settings than keyword lines in the two files.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../packages/asiosctl/audit-judge.c"
#include "fuzz-root.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* keyword lines: not blank, not a comment (an upper bound on the settings one file can give) */
static size_t keyword_lines(const uint8_t *data, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < size;) {
		size_t e = i;

		while (e < size && data[e] != '\n' && data[e] != '\0')
			e++;
		size_t k = i;
		while (k < e && (data[k] == ' ' || data[k] == '\t'))
			k++;
		n += k < e && data[k] != '#';
		if (e < size && data[e] == '\0')
			break;
		i = e + 1;
	}
	return n;
}

static void check(const struct audit_machine *m, size_t bound)
{
	if (m->n_sshd > bound)
		abort();
	for (size_t i = 0; i < m->n_sshd; i++) {
		const char *k = m->sshd_keys[i], *v = m->sshd_values[i];
		size_t vl = strlen(v);

		if (!*k || !strcmp(k, "include") || !strcmp(k, "match"))
			abort();
		for (const char *p = k; *p; p++)
			if (isupper((unsigned char)*p))
				abort();
		if (strchr(v, '#') || strchr(v, '\r') || (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t')))
			abort();
		for (size_t j = 0; j < i; j++)
			if (!strcmp(m->sshd_keys[j], k))
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	const uint8_t *nul = memchr(data, '\0', size);
	size_t main_len = nul ? (size_t)(nul - data) : size, rest = nul ? size - main_len - 1 : 0;
	struct audit_machine m;
	int r;

	if (!ready) {
		static const char *const dirs[] = { "etc", "etc/ssh", "etc/ssh/sshd_config.d", NULL };

		fuzz_root_make("sshd", dirs);
		ready = 1;
	}
	fuzz_root_write("etc/ssh/sshd_config", data, main_len);
	fuzz_root_write("etc/ssh/sshd_config.d/fuzz.conf", nul ? nul + 1 : data, rest);
	r = audit_machine_open(fuzz_root, NULL, &m);
	if (r < 0 || !m.sshd_read)
		abort();
	/* each file may be read up to SSHD_DEPTH + 1 times through Include, but a keyword counts once */
	check(&m, keyword_lines(data, main_len) + keyword_lines(nul ? nul + 1 : data, rest));
	audit_machine_close(&m);
	return 0;
}
