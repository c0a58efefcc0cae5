/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: the ethtool capture files of the NIC domain (asios/ethtool.h), read through a capture root as
 * `asiosctl nic plan --root` reads them. The input is each group's file in turn. A read either succeeds, and the
 * text written back from its values reads back to the same values (and a set of a reported field reads back as
 * set), or fails with -EINVAL naming a line of the input.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "asios/ethtool.h"
#include "asios/root.h"
#include "fuzz-root.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip(struct asios_root *root, enum asios_eth_group g, const uint8_t *data, size_t size)
{
	struct asios_eth_values a, b;
	unsigned line = 0, lines = 1, n;
	const struct asios_eth_field *f = asios_eth_fields(g, &n);
	char rel[128], *text;
	int r;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	asios_ethtool_capture_path("eth0", g, rel, sizeof(rel));
	fuzz_root_write(rel + 1, data, size);
	r = asios_ethtool_get(root, "eth0", g, &a, &line);
	if (r == -EINVAL) {
		if (!line || line > lines)
			abort();
		return;
	}
	if (r < 0 || !(text = asios_ethtool_capture_text(g, &a)))
		abort();
	fuzz_root_write(rel + 1, (const uint8_t *)text, strlen(text));
	free(text);
	if (asios_ethtool_get(root, "eth0", g, &b, NULL) < 0 || memcmp(a.has, b.has, sizeof(a.has)))
		abort();
	for (unsigned i = 0; i < ASIOS_ETH_FIELDS; i++)
		if (a.has[i] && a.v[i] != b.v[i])
			abort();
	/* the first settable field the file reports, set to 1 and read back */
	for (unsigned i = 0; i < n; i++) {
		if (!f[i].settable || !a.has[f[i].attr])
			continue;
		if (asios_ethtool_set(root, "eth0", g, &f[i], 1) < 0 || asios_ethtool_get(root, "eth0", g, &b, NULL) < 0 ||
		    b.v[f[i].attr] != 1)
			abort();
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const dirs[] = { "sys", "sys/class", "sys/class/net", "sys/class/net/eth0", "capture",
					    "capture/ethtool", "capture/ethtool/eth0", NULL };
	static struct asios_root *root;

	if (!root) {
		fuzz_root_make("ethtool", dirs);
		if (asios_root_open(fuzz_root, &root) < 0)
			abort();
	}
	for (int g = 0; g < _ASIOS_ETH_GROUP_MAX; g++)
		roundtrip(root, (enum asios_eth_group)g, data, size);
	return 0;
}
