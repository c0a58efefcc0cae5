/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: the block.conf, net.conf, nic.conf and gpu.conf parsers, and asios-healthd's baseline state lines, on the same
 * input. A policy parse either succeeds without an error or fails with one that names the origin and a line
 * ("fuzz:N: ..."), N within the input; a baseline line that parses writes back to a line that parses to the
 * same baseline.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/block-plan.h"
#include "asios/health.h"
#include "asios/net-plan.h"
#include "asios/gpu-plan.h"
#include "asios/nic-plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the contract of a policy parse: no error on success; on failure "fuzz:LINE: what", LINE of the input */
static void judge(int r, char *error, const char *s)
{
	unsigned line = 0, lines = 1;

	for (const char *p = s; *p; p++)
		lines += *p == '\n';
	if (r == 0 && error)
		abort();
	if (r < 0 && (!error || sscanf(error, "fuzz:%u:", &line) != 1 || !line || line > lines))
		abort();
	free(error);
}

static void baseline_roundtrip(const char *s)
{
	struct asios_baseline a, b;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	/* asios_baseline_parse() initialises the baseline itself, and leaves nothing allocated when it fails */
	if (asios_baseline_parse(&a, s, 16) != 0)
		return;
	if (!(f = open_memstream(&text, &len)))
		abort();
	if (asios_baseline_write(&a, f) < 0 || fclose(f) != 0)
		abort();
	text[strcspn(text, "\n")] = '\0'; /* the first line; a season line would follow */
	if (asios_baseline_parse(&b, text, 16) != 0 || strcmp(a.name, b.name) || a.n != b.n || a.seen != b.seen ||
	    a.streak != b.streak)
		abort();
	for (size_t i = 0; i < a.n; i++)
		if (a.values[(a.head + i) % a.cap] != b.values[(b.head + i) % b.cap])
			abort();
	free(text);
	asios_baseline_clear(&a);
	asios_baseline_clear(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct asios_block_policy bp;
	struct asios_net_policy np;
	struct asios_nic_policy cp;
	struct asios_gpu_policy gp;
	char *s = malloc(size + 1), *error = NULL;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (asios_block_policy_init(&bp) == 0) {
		error = NULL;
		judge(asios_block_policy_parse(&bp, s, "fuzz", &error), error, s);
		asios_block_policy_clear(&bp);
	}
	if (asios_net_policy_init(&np) == 0) {
		error = NULL;
		judge(asios_net_policy_parse(&np, s, "fuzz", &error), error, s);
		asios_net_policy_clear(&np);
	}
	if (asios_nic_policy_init(&cp) == 0) {
		error = NULL;
		judge(asios_nic_policy_parse(&cp, s, "fuzz", &error), error, s);
		asios_nic_policy_clear(&cp);
	}
	if (asios_gpu_policy_init(&gp) == 0) {
		error = NULL;
		judge(asios_gpu_policy_parse(&gp, s, "fuzz", &error), error, s);
		asios_gpu_policy_clear(&gp);
	}
	baseline_roundtrip(s);
	free(s);
	return 0;
}
