/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: MIT */
/* libFuzzer harness: the rules of asiosctl audit (packages/asiosctl/audit-rules.c, included here: it is not in
 * libasios) through the shared configuration reader. Besides crashes and leaks it checks the contract: success
 * leaves no error and every enabled rule complete; a refusal says "ORIGIN:LINE: what" with a line of the input. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../packages/asiosctl/audit-rules.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_rules rules;
	char *error = NULL;
	unsigned line, lines = 1;
	int r;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	r = audit_rules_parse((const char *)data, size, "fuzz", &rules, &error);
	if (r == 0) {
		if (error)
			abort();
		for (size_t i = 0; i < rules.n; i++)
			if (rules.v[i].enabled && (!rules.v[i].has_check || !rules.v[i].has_expect ||
						   !rules.v[i].has_severity || strncmp(rules.v[i].origin, "fuzz:", 5)))
				abort(); /* an enabled rule is complete, and knows where it came from */
		audit_rules_free(&rules);
	} else if (r == -EINVAL && (!error || sscanf(error, "fuzz:%u: ", &line) != 1 || line < 1 || line > lines)) {
		abort(); /* every refusal names a line of the input */
	}
	free(error);
	return 0;
}
