/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * A PCI Express function's Device Capabilities and Device Control registers (PCI Express Base Specification,
 * "PCI Express Capability Structure"), read from its configuration space, /sys/bus/pci/devices/ADDR/config, as
 * lspci and setpci read it. Only root reads past the first 64 bytes (the header); the capability list lies
 * beyond them, so an unprivileged read, and hwloc's captures, end before it.
 *
 * A capture holds no configuration space (its extended part has the device serial number; `asiosctl snapshot`
 * never copies it) but the three values read from it, as text: ASIOS_PCIE_CAPTURE/ADDR, lines "cap 0x60",
 * "devcap 0x00008022", "devctl 0x293e", or one line "unread ENODATA" (no PCI Express capability) or
 * "unread ERANGE" (a configuration space cut at its header) for what the machine's read found. On a root other than "/", reads and writes go to that file where it
 * exists, else to the tree's config file (a test tree, hwloc's captures). ASIOS_FAULT_INJECT applies to the path
 * written.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct asios_root;

#define ASIOS_PCIE_CAPTURE "/capture/pcie"
#define ASIOS_PCIE_CONFIG_STD 256  /* the standard configuration space (the capability list's bounds) */
#define ASIOS_PCIE_DEVCAP 4        /* offsets in the PCI Express capability */
#define ASIOS_PCIE_DEVCTL 8
#define ASIOS_PCIE_RELAX_EN 0x0010 /* Device Control: Enable Relaxed Ordering */
#define ASIOS_PCIE_READRQ 0x7000   /* Device Control: Max_Read_Request_Size */

struct asios_pcie {
	uint8_t cap;     /* offset of the PCI Express capability; 0: none known */
	uint32_t devcap; /* Device Capabilities */
	uint16_t devctl; /* Device Control */
};

/*
 * The PCI Express capability in configuration space CFG (N bytes): 0, or -ENODATA (a conventional PCI function:
 * no capability list, or none of its entries is PCI Express), -ERANGE (CFG ends before the capability list does:
 * a 64-byte unprivileged read), -EINVAL (a pointer into the header or past the standard space, or a list that
 * loops: *WHY says which, when WHY is not NULL).
 */
int asios_pcie_parse(const unsigned char *cfg, size_t n, struct asios_pcie *out, const char **why);

/* The registers of function ADDR ("0000:18:00.0") under ROOT: asios_pcie_parse's results, or -ENOENT when the
 * function has no config file (nor a capture file), -EINVAL for a capture file that is not the three lines
 * (*WHY says which line), another -errno of the read. */
int asios_pcie_read(const struct asios_root *root, const char *addr, struct asios_pcie *out, const char **why);

/* The file asios_pcie_read reads for ADDR under ROOT (its capture file, or its config file) into BUF. */
void asios_pcie_source(const struct asios_root *root, const char *addr, char *buf, size_t size);

/* Device Control of ADDR at capability offset CAP set to VALUE (two bytes, little-endian, as setpci writes them),
 * then read back: 0, -EIO when the read-back differs (the device ignored the write), another -errno. */
int asios_pcie_write_devctl(const struct asios_root *root, const char *addr, uint8_t cap, uint16_t value);

/* The capture file's text for P ("cap 0x60\ndevcap …\ndevctl …\n"), malloc'ed; NULL out of memory. */
char *asios_pcie_capture_text(const struct asios_pcie *p);

/* Sizes in bytes from the registers: 128 << the field, 0 for a reserved encoding (6 or 7). */
unsigned asios_pcie_max_payload(const struct asios_pcie *p);           /* in use (Device Control) */
unsigned asios_pcie_max_payload_supported(const struct asios_pcie *p); /* the device's limit (Device Capabilities) */
unsigned asios_pcie_max_read_request(const struct asios_pcie *p);
/* DEVCTL with Max_Read_Request_Size set to BYTES (128…4096, a power of two; anything else: DEVCTL unchanged). */
uint16_t asios_pcie_devctl_with_read_request(uint16_t devctl, unsigned bytes);
bool asios_pcie_relaxed_ordering(const struct asios_pcie *p);
