/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "testutil.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "asios/pcie.h"

/*
 * The PCI Express capability walk (asios/pcie.h) on configuration spaces built here, byte by byte as the
 * specification lays them out, and on the real ones of hwloc's captures (64 bytes: the capability list is cut).
 */

/* a 256-byte endpoint: power management at 0x40, MSI-X at 0x50, PCI Express at 0x60 */
static void endpoint(unsigned char *c, uint32_t devcap, uint16_t devctl)
{
	memset(c, 0, 256);
	c[0] = 0xb3, c[1] = 0x15, c[2] = 0x21, c[3] = 0x10; /* 15b3:1021 */
	c[0x06] = 0x10;                                      /* Status: capability list */
	c[0x34] = 0x40;
	c[0x40] = 0x01, c[0x41] = 0x50;
	c[0x50] = 0x11, c[0x51] = 0x60;
	c[0x60] = 0x10, c[0x61] = 0x00, c[0x62] = 0x02;
	c[0x64] = devcap & 0xff, c[0x65] = (devcap >> 8) & 0xff, c[0x66] = (devcap >> 16) & 0xff, c[0x67] = devcap >> 24;
	c[0x68] = devctl & 0xff, c[0x69] = devctl >> 8;
}

static void test_fields(void **state)
{
	unsigned char c[256];
	struct asios_pcie p;

	(void)state;
	/* lspci -vv of a ConnectX-7: DevCap MaxPayload 512 bytes; DevCtl RlxdOrd+ ExtTag+ NoSnoop+ MaxPayload 256
	 * bytes, MaxReadReq 512 bytes */
	endpoint(c, 0x8022, 0x293e);
	assert_int_equal(asios_pcie_parse(c, sizeof(c), &p, NULL), 0);
	assert_int_equal(p.cap, 0x60);
	assert_int_equal(p.devctl, 0x293e);
	assert_int_equal(asios_pcie_max_payload(&p), 256);
	assert_int_equal(asios_pcie_max_payload_supported(&p), 512);
	assert_int_equal(asios_pcie_max_read_request(&p), 512);
	assert_true(asios_pcie_relaxed_ordering(&p));
	/* 4096-byte read requests (encoding 5), relaxed ordering off; a reserved encoding (6) reads as 0 */
	endpoint(c, 0x8022, 0x592e);
	assert_int_equal(asios_pcie_parse(c, sizeof(c), &p, NULL), 0);
	assert_int_equal(asios_pcie_max_read_request(&p), 4096);
	assert_false(asios_pcie_relaxed_ordering(&p));
	endpoint(c, 0x8022, 0x692e);
	assert_int_equal(asios_pcie_parse(c, sizeof(c), &p, NULL), 0);
	assert_int_equal(asios_pcie_max_read_request(&p), 0);
}

static void test_devctl_with(void **state)
{
	(void)state;
	assert_int_equal(asios_pcie_devctl_with_read_request(0x293e, 4096), 0x593e);
	assert_int_equal(asios_pcie_devctl_with_read_request(0x593e, 128), 0x093e);
	assert_int_equal(asios_pcie_devctl_with_read_request(0x293e, 512), 0x293e);
	/* not a size the field holds: unchanged */
	assert_int_equal(asios_pcie_devctl_with_read_request(0x293e, 8192), 0x293e);
	assert_int_equal(asios_pcie_devctl_with_read_request(0x293e, 1000), 0x293e);
}

static void test_not_pcie(void **state)
{
	unsigned char c[256];
	struct asios_pcie p;

	(void)state;
	endpoint(c, 0, 0);
	c[0x06] = 0; /* no capability list: conventional PCI */
	assert_int_equal(asios_pcie_parse(c, sizeof(c), &p, NULL), -ENODATA);
	endpoint(c, 0, 0);
	c[0x51] = 0; /* the list ends before a PCI Express entry */
	assert_int_equal(asios_pcie_parse(c, sizeof(c), &p, NULL), -ENODATA);
	assert_int_equal(p.cap, 0);
	endpoint(c, 0, 0);
	c[0x0e] = 2; /* a CardBus bridge */
	assert_int_equal(asios_pcie_parse(c, sizeof(c), &p, NULL), -ENODATA);
}

static void test_cut_short(void **state)
{
	unsigned char c[256];
	struct asios_pcie p;

	(void)state;
	endpoint(c, 0x8022, 0x293e);
	/* an unprivileged read, or hwloc's captures: the header only */
	assert_int_equal(asios_pcie_parse(c, 64, &p, NULL), -ERANGE);
	assert_int_equal(asios_pcie_parse(c, 4, &p, NULL), -ERANGE);
	/* the capability's Device Control past the end */
	assert_int_equal(asios_pcie_parse(c, 0x69, &p, NULL), -ERANGE);
	assert_int_equal(asios_pcie_parse(c, 0x6a, &p, NULL), 0);
}

static void test_malformed(void **state)
{
	unsigned char c[256];
	struct asios_pcie p;
	const char *why = NULL;

	(void)state;
	endpoint(c, 0, 0);
	c[0x51] = 0x40; /* MSI-X points back to power management: a loop */
	assert_int_equal(asios_pcie_parse(c, sizeof(c), &p, &why), -EINVAL);
	assert_non_null(why);
	assert_non_null(strstr(why, "loops"));
	endpoint(c, 0, 0);
	c[0x34] = 0x20; /* into the header */
	assert_int_equal(asios_pcie_parse(c, sizeof(c), &p, &why), -EINVAL);
	assert_non_null(strstr(why, "header"));
	endpoint(c, 0, 0);
	c[0x41] = 0x53; /* the reserved low bits of a pointer are masked, as the kernel does: 0x50 */
	assert_int_equal(asios_pcie_parse(c, sizeof(c), &p, NULL), 0);
	assert_int_equal(p.cap, 0x60);
}

/* hwloc's captures keep each function's config as an unprivileged read saw it: 64 bytes */
static void test_hwloc_captures(void **state)
{
	char cmd[1024];
	unsigned checked = 0, with_list = 0;
	size_t len;
	char *list;

	(void)state;
	snprintf(cmd, sizeof(cmd), "tar -xjOf '%s/fixtures/hwloc-linux/32em64t-2n8c+dax+nvme+mic+dimms.tar.bz2' "
		 "--wildcards '*/0000:82:00.0/config' 2>/dev/null", shared_dir());
	list = read_command(cmd, &len);
	if (!list || !len) {
		free(list);
		skip(); /* the shared fixtures are not there */
	}
	{
		struct asios_pcie p;
		const unsigned char *c = (const unsigned char *)list;

		/* the ConnectX-3 (15b3:1003) of the capture: 64 bytes, a capability list that starts past them */
		assert_int_equal(len, 64);
		assert_int_equal(c[0] | c[1] << 8, 0x15b3);
		with_list += (c[0x06] & 0x10) != 0;
		assert_int_equal(asios_pcie_parse(c, len, &p, NULL), (c[0x06] & 0x10) ? -ERANGE : -ENODATA);
		assert_int_equal(p.cap, 0);
		checked++;
	}
	free(list);
	assert_int_equal(checked, 1);
	assert_int_equal(with_list, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),     cmocka_unit_test(test_devctl_with), cmocka_unit_test(test_not_pcie),
		cmocka_unit_test(test_cut_short),  cmocka_unit_test(test_malformed),   cmocka_unit_test(test_hwloc_captures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
