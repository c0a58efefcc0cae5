/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: a PCI function's registers (asios/pcie.h). The input is a configuration space, walked for the
 * PCI Express capability: found (then inside the input, at 0x40 or above, dword-aligned), or one of the errors
 * the header names. Then the same input as a capture file (/capture/pcie/ADDR) read through a capture root: read
 * (then written back as text and read again to the same values, and a Device Control write reads back), its
 * "unread" line (-ENODATA, -ERANGE), or refused with -EINVAL and a reason.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "asios/pcie.h"
#include "asios/root.h"
#include "fuzz-root.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void config(const uint8_t *data, size_t size)
{
	struct asios_pcie p;
	const char *why = NULL;
	int r = asios_pcie_parse(data, size, &p, &why);

	if (r == 0) {
		if (p.cap < 0x40 || (p.cap & 3) || (size_t)p.cap + 10 > size || data[p.cap] != 0x10)
			abort();
		return;
	}
	if (p.cap || (r == -EINVAL) != (why != NULL) || (r != -EINVAL && r != -ERANGE && r != -ENODATA))
		abort();
}

static void capture(struct asios_root *root, const uint8_t *data, size_t size)
{
	struct asios_pcie a, b;
	const char *why = NULL;
	char *text;
	int r;

	fuzz_root_write("capture/pcie/0000:01:00.0", data, size);
	r = asios_pcie_read(root, "0000:01:00.0", &a, &why);
	if (r < 0) { /* malformed (with its reason), or the capture's "unread ENODATA|ERANGE" */
		if ((r == -EINVAL) != (why != NULL) || (r != -EINVAL && r != -ENODATA && r != -ERANGE) || a.cap)
			abort();
		return;
	}
	if (a.cap < 0x40 || !(text = asios_pcie_capture_text(&a)))
		abort();
	fuzz_root_write("capture/pcie/0000:01:00.0", (const uint8_t *)text, strlen(text));
	free(text);
	if (asios_pcie_read(root, "0000:01:00.0", &b, NULL) < 0 || memcmp(&a, &b, sizeof(a)))
		abort();
	if (asios_pcie_write_devctl(root, "0000:01:00.0", a.cap, (uint16_t)(a.devctl ^ 0x7000)) < 0 ||
	    asios_pcie_read(root, "0000:01:00.0", &b, NULL) < 0 || b.devctl != (uint16_t)(a.devctl ^ 0x7000))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const dirs[] = { "capture", "capture/pcie", NULL };
	static struct asios_root *root;

	if (!root) {
		fuzz_root_make("pcie", dirs);
		if (asios_root_open(fuzz_root, &root) < 0)
			abort();
	}
	config(data, size);
	capture(root, data, size);
	return 0;
}
