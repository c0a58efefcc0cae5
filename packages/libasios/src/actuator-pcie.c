/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The PCI Express actuator (actuator.h): one field of a function's Device Control register, target
 * "ADDR/max_read_request" (bytes), written into its configuration space as setpci does (asios/pcie.h) and read
 * back. The identity is the function's vendor and device: another device in that slot is another object, which a
 * revert leaves alone.
 */
#define _GNU_SOURCE
#include "actuator.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/pcie.h"
#include "asios/root.h"

#define FIELD "/max_read_request"

/* "0000:1a:00.0/max_read_request" → its PCI address: 0 or -EINVAL */
static int parse_target(const char *target, char *addr, size_t size)
{
	size_t len = strcspn(target, "/");

	if (!len || len >= size || strcmp(target + len, FIELD) || strchr(target, '.') == NULL)
		return -EINVAL;
	memcpy(addr, target, len);
	addr[len] = 0;
	return 0;
}

/* the registers of TARGET's function: -ENODEV when they cannot be read (gone, no PCI Express capability) */
static int registers(struct asios_root *root, const char *target, char *addr, size_t size, struct asios_pcie *p)
{
	int r = parse_target(target, addr, size);

	if (r >= 0)
		r = asios_pcie_read(root, addr, p, NULL);
	return r == -ENOENT || r == -ENODATA || r == -ERANGE ? -ENODEV : r;
}

static int read_target(struct asios_root *root, const char *target, char **value)
{
	struct asios_pcie p;
	char addr[32];
	int r = registers(root, target, addr, sizeof(addr), &p);

	*value = NULL;
	if (r >= 0 && asprintf(value, "%u", asios_pcie_max_read_request(&p)) < 0)
		r = -ENOMEM;
	return r;
}

/* set TARGET to VALUE bytes and read it back: -EILSEQ when the device kept another value */
static int set_verified(struct asios_root *root, const char *target, const char *value, char **readback)
{
	struct asios_pcie p;
	char addr[32], *end;
	unsigned long bytes = strtoul(value, &end, 10);
	uint16_t want;
	int r = registers(root, target, addr, sizeof(addr), &p);

	*readback = NULL;
	if (r < 0)
		return r;
	want = asios_pcie_devctl_with_read_request(p.devctl, (unsigned)bytes);
	if (*end || end == value || bytes > 4096 || (want == p.devctl && asios_pcie_max_read_request(&p) != bytes))
		return -EINVAL; /* not a size the register can hold */
	r = asios_pcie_write_devctl(root, addr, p.cap, want);
	if (r < 0 && r != -EIO)
		return r;
	r = read_target(root, target, readback);
	return r < 0 ? r : strcmp(*readback, value) ? -EILSEQ : 0;
}

int asios_pcie_current(struct asios_root *root, const struct asios_action *a, char **value)
{
	int r = read_target(root, a->path, value);

	return r == -ENODEV ? -ESRCH : r;
}

int asios_pcie_perform(struct asios_root *root, const struct asios_action *a, char **readback,
			struct asios_apply_report *rep)
{
	int r = set_verified(root, a->path, a->new_value, readback);

	(void)rep;
	return r == -ENODEV ? -ESRCH : r;
}

int asios_pcie_restore(struct asios_root *root, const char *target, const char *value, char **readback)
{
	return set_verified(root, target, value, readback);
}

/* "vendor:device" of the function of TARGET, malloc'ed; NULL with *ERR */
static char *ids_of(struct asios_root *root, const char *target, int *err)
{
	char addr[32], path[96], *vendor = NULL, *device = NULL, *out = NULL;
	int r = parse_target(target, addr, sizeof(addr));

	if (r >= 0) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", addr);
		r = asios_read_line(root, path, &vendor);
	}
	if (r >= 0) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", addr);
		r = asios_read_line(root, path, &device);
	}
	if (r >= 0 && asprintf(&out, "pci:%s:%s", vendor, device) < 0)
		r = -ENOMEM, out = NULL;
	free(vendor);
	free(device);
	*err = r < 0 ? r : 0;
	return out;
}

int asios_pcie_identity(struct asios_root *root, const struct asios_action *a, char **ident)
{
	int r;

	*ident = ids_of(root, a->path, &r);
	return r;
}

char *asios_pcie_gone(struct asios_root *root, const char *target, const char *ident)
{
	int r, len = (int)strcspn(target, "/");
	char *now = ids_of(root, target, &r), *why = NULL;

	if (strncmp(ident, "pci:", 4)) {
		free(now);
		return NULL;
	}
	if (!now) {
		if (asprintf(&why, "%.*s has gone (the device was removed): nothing to restore", len, target) < 0)
			why = NULL;
	} else if (strcmp(now, ident)) {
		if (asprintf(&why, "%.*s is another device now (%s, was %s): left alone", len, target, now + 4,
			     ident + 4) < 0)
			why = NULL;
	}
	free(now);
	return why;
}

bool asios_pcie_refused(int err)
{
	/* EPERM: kernel lockdown refuses writes to configuration space (LOCKDOWN_PCI_ACCESS), or no CAP_SYS_ADMIN;
	 * EILSEQ: the device does not implement the field (it reads back as before) */
	return err == EPERM || err == EACCES || err == EILSEQ;
}
