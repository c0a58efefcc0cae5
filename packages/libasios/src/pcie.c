/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/pcie.h"
#include "asios/root.h"

/*
 * The PCI Express capability of a function (pcie.h), found by walking the capability list of its standard
 * configuration space: Status bit 4 says there is a list, the byte at 0x34 points to its first entry, each entry
 * is an ID byte (0x10: PCI Express) and the offset of the next (0 ends the list). Entries lie in 0x40–0xff,
 * dword-aligned (the low two bits of a pointer are reserved and masked, as the kernel does).
 */

#define PCI_STATUS 0x06
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_HEADER_TYPE 0x0e
#define PCI_CAPABILITY_LIST 0x34
#define PCI_CAP_ID_EXP 0x10
#define PCI_STD_HEADER 0x40

static unsigned get16(const unsigned char *b, size_t off)
{
	return b[off] | (unsigned)b[off + 1] << 8;
}

static uint32_t get32(const unsigned char *b, size_t off)
{
	return get16(b, off) | (uint32_t)get16(b, off + 2) << 16;
}

static int bad(const char **why, const char *what)
{
	if (why)
		*why = what;
	return -EINVAL;
}

int asios_pcie_parse(const unsigned char *cfg, size_t n, struct asios_pcie *out, const char **why)
{
	/* at most one entry per dword of 0x40–0xff: a longer walk has met an entry twice */
	unsigned steps = (ASIOS_PCIE_CONFIG_STD - PCI_STD_HEADER) / 4;
	size_t pos;

	memset(out, 0, sizeof(*out));
	if (why)
		*why = NULL;
	if (n < PCI_STD_HEADER)
		return n <= PCI_STATUS + 1 ? -ERANGE : !(cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST) ? -ENODATA : -ERANGE;
	if (!(cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST) || (cfg[PCI_HEADER_TYPE] & 0x7f) > 1)
		return -ENODATA; /* (a CardBus bridge's list pointer is elsewhere, and it is no PCI Express function) */
	for (pos = cfg[PCI_CAPABILITY_LIST] & ~3u; pos; pos = cfg[pos + 1] & ~3u) {
		if (pos < PCI_STD_HEADER)
			return bad(why, "a capability pointer into the header (below 0x40)");
		if (!steps--)
			return bad(why, "the capability list loops");
		if (pos + 2 > n)
			return -ERANGE;
		if (cfg[pos] != PCI_CAP_ID_EXP)
			continue;
		if (pos + ASIOS_PCIE_DEVCTL + 2 > n)
			return -ERANGE;
		out->cap = (uint8_t)pos;
		out->devcap = get32(cfg, pos + ASIOS_PCIE_DEVCAP);
		out->devctl = (uint16_t)get16(cfg, pos + ASIOS_PCIE_DEVCTL);
		return 0;
	}
	return -ENODATA;
}

static void config_path(const char *addr, char *buf, size_t size)
{
	snprintf(buf, size, "/sys/bus/pci/devices/%s/config", addr);
}

/* the capture file of ADDR when ROOT is a capture that has one */
static bool capture_path(const struct asios_root *root, const char *addr, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", ASIOS_PCIE_CAPTURE, addr);
	return !asios_root_is_host(root) && asios_exists(root, buf);
}

void asios_pcie_source(const struct asios_root *root, const char *addr, char *buf, size_t size)
{
	if (!capture_path(root, addr, buf, size))
		config_path(addr, buf, size);
}

char *asios_pcie_capture_text(const struct asios_pcie *p)
{
	char *t = NULL;

	return asprintf(&t, "cap 0x%02x\ndevcap 0x%08x\ndevctl 0x%04x\n", p->cap, (unsigned)p->devcap, p->devctl) < 0
		       ? NULL : t;
}

/* the three lines of a capture file (any order, each once), or its one line "unread ENODATA|ERANGE" */
static int parse_capture(char *text, struct asios_pcie *out, const char **why)
{
	static const char *const line = "a line is not \"cap|devcap|devctl 0xHEX\", or its value does not fit";
	unsigned seen = 0;
	char *save = NULL;

	if (!strcmp(text, "unread ENODATA\n"))
		return -ENODATA;
	if (!strcmp(text, "unread ERANGE\n"))
		return -ERANGE;

	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		static const char *const names[] = { "cap", "devcap", "devctl" };
		static const unsigned long max[] = { 0xfc, 0xffffffff, 0xffff };
		char name[8], *end;
		unsigned long v;
		int k, off = 0;

		if (sscanf(l, "%7s %n", name, &off) != 1 || !off || strncmp(l + off, "0x", 2))
			return bad(why, line);
		for (k = 0; k < 3 && strcmp(name, names[k]); k++)
			;
		errno = 0;
		v = strtoul(l + off, &end, 16);
		if (k == 3 || *end || errno || v > max[k])
			return bad(why, line);
		if (seen & 1u << k)
			return bad(why, "a line is there twice");
		seen |= 1u << k;
		if (k == 0)
			out->cap = (uint8_t)v;
		else if (k == 1)
			out->devcap = (uint32_t)v;
		else
			out->devctl = (uint16_t)v;
	}
	if (seen != 7 || out->cap < PCI_STD_HEADER) {
		memset(out, 0, sizeof(*out));
		return bad(why, seen != 7 ? "cap, devcap or devctl is missing" : "cap is not in 0x40-0xfc");
	}
	return 0;
}

int asios_pcie_read(const struct asios_root *root, const char *addr, struct asios_pcie *out, const char **why)
{
	char path[128], *cfg;
	size_t n;
	int r;

	memset(out, 0, sizeof(*out));
	if (why)
		*why = NULL;
	if (capture_path(root, addr, path, sizeof(path))) {
		if ((r = asios_read_file(root, path, &cfg, NULL)) < 0)
			return r;
		r = parse_capture(cfg, out, why);
		free(cfg);
		if (r < 0)
			memset(out, 0, sizeof(*out));
		return r;
	}
	config_path(addr, path, sizeof(path));
	r = asios_read_file(root, path, &cfg, &n);
	if (r < 0)
		return r;
	r = asios_pcie_parse((const unsigned char *)cfg, n, out, why);
	free(cfg);
	return r;
}

int asios_pcie_write_devctl(const struct asios_root *root, const char *addr, uint8_t cap, uint16_t value)
{
	unsigned char b[2] = { (unsigned char)(value & 0xff), (unsigned char)(value >> 8) };
	char path[128], shown[8];
	struct asios_pcie now;
	int r;

	if (cap < PCI_STD_HEADER)
		return -EINVAL;
	snprintf(shown, sizeof(shown), "0x%04x", value);
	if (capture_path(root, addr, path, sizeof(path))) {
		struct asios_pcie was;
		char *text;

		if ((r = asios_pcie_read(root, addr, &was, NULL)) < 0)
			return r;
		was.devctl = value;
		if (!(text = asios_pcie_capture_text(&was)))
			return -ENOMEM;
		r = asios_write_whole(root, path, text);
		free(text);
	} else {
		config_path(addr, path, sizeof(path));
		r = asios_write_at(root, path, cap + ASIOS_PCIE_DEVCTL, b, sizeof(b), shown);
	}
	if (r < 0)
		return r;
	r = asios_pcie_read(root, addr, &now, NULL);
	if (r < 0)
		return r;
	return now.cap == cap && now.devctl == value ? 0 : -EIO;
}

static unsigned size_of(unsigned field)
{
	return field <= 5 ? 128u << field : 0;
}

unsigned asios_pcie_max_payload(const struct asios_pcie *p)
{
	return size_of((p->devctl >> 5) & 7);
}

unsigned asios_pcie_max_payload_supported(const struct asios_pcie *p)
{
	return size_of(p->devcap & 7);
}

unsigned asios_pcie_max_read_request(const struct asios_pcie *p)
{
	return size_of((p->devctl & ASIOS_PCIE_READRQ) >> 12);
}

uint16_t asios_pcie_devctl_with_read_request(uint16_t devctl, unsigned bytes)
{
	for (unsigned f = 0; f <= 5; f++)
		if (bytes == 128u << f)
			return (uint16_t)((devctl & ~ASIOS_PCIE_READRQ) | f << 12);
	return devctl;
}

bool asios_pcie_relaxed_ordering(const struct asios_pcie *p)
{
	return p->devctl & ASIOS_PCIE_RELAX_EN;
}
