/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: MIT */
/* libFuzzer harness: the health policy (health.conf and signature catalogues) and the kernel-log scanner. The
 * first byte chooses. The policy's contract: success leaves no error; a refusal says "ORIGIN:LINE: what" with a
 * line of the input. The scanner's: every incident has a signature, and the cursor only moves forward. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/health.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char catalogue[] = "[signature xid]\nsource = xid\n"
				"[signature xid-79]\nsource = xid\nxid = 79\n"
				"[signature aer]\nsource = kmsg\nmatch = AER: .*(Corrected|Fatal)\n"
				"[signature lockup]\nsource = kmsg\nmatch = soft lockup - CPU#[0-9]+\n"
				"[signature gone]\nsource = uevent\nmatch = remove:pci\n";

static void policy(const char *s)
{
	struct asios_health_policy p;
	char *error = NULL;
	unsigned line, lines = 1;
	int r;

	for (const char *c = s; *c; c++)
		lines += *c == '\n';
	if (asios_health_policy_init(&p) < 0)
		return;
	r = asios_health_policy_parse(&p, s, "fuzz", &error);
	if (r == 0 && error)
		abort();
	if (r == -EINVAL && (!error || sscanf(error, "fuzz:%u: ", &line) != 1 || line < 1 || line > lines))
		abort(); /* every refusal names a line of the input */
	free(error);
	asios_health_policy_clear(&p);
}

static void scan(const char *s, size_t len)
{
	struct asios_health_policy p;
	struct asios_health_incidents l = { 0 };
	struct asios_kmsg_cursor cur = { 0 };
	char *error = NULL;

	if (asios_health_policy_init(&p) < 0)
		return;
	if (asios_health_policy_parse(&p, catalogue, "catalogue", &error) < 0)
		abort();
	if (asios_health_scan_kmsg(&p, s, len, &cur, &l) < 0)
		abort();
	(void)asios_health_scan_uevent(&p, s, len, &l, NULL); /* the same bytes as a uevent (NULs may be in them) */
	for (size_t i = 0; i < l.n; i++)
		if (!l.v[i].sig || !l.v[i].object[0])
			abort();
	asios_health_incidents_clear(&l);
	asios_health_policy_clear(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1)
		return 0;
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (data[0] & 1)
		scan(s, size - 1);
	else
		policy(s);
	free(s);
	return 0;
}
