/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * /proc/interrupts parser. Handles the x86 layouts (old "IR-PCI-MSI-edge name", new "IR-PCI-MSI 524288-edge
 * name"), arm64 ("GICv3 27 Level name", "ITS-MSI 524288 Edge name"), riscv ("RISC-V INTC 5 Edge name", chip
 * names with blanks) and s390 (named summary rows, "[EXT] description"). The header names the CPU columns,
 * which skip offline CPUs. Named rows (NMI, LOC, IPI0, ERR…) may carry fewer counts than there are columns.
 */

#include <stddef.h>
#include <stdint.h>

/* Highest IRQ number accepted: Linux numbers IRQs below IRQ_BITMAP_BITS (NR_IRQS + 8196), which stays under
 * 2^20 even for 8,192 CPUs. A row above it is skipped with a warning (callers index arrays by IRQ number). */
#define ASIOS_IRQ_MAX ((1u << 20) - 1)

struct asios_irq_row {
	char *id;          /* "24", "NMI", "IPI0" */
	long irq;          /* numeric id, -1 for named rows */
	uint64_t *counts;  /* n_counts values, column order of asios_interrupts.cpus */
	size_t n_counts;
	uint64_t total;
	char *chip;        /* numbered rows: "IR-PCI-MSI", "GICv3", "RISC-V INTC"; NULL for named rows */
	char *hwirq;       /* "524288", "27"; NULL when the layout has none */
	char *trigger;     /* "edge", "level", "fasteoi"…; NULL when not shown */
	char *name;        /* actions ("eth0-TxRx-0", "ehci_hcd:usb1, mmc0") or the description of a named row */
};

struct asios_interrupts {
	unsigned *cpus;    /* CPU OS ids of the count columns */
	size_t n_cpus;
	struct asios_irq_row *rows;
	size_t n_rows;
	size_t n_numbered;
	char **warnings;   /* NULL-terminated: rows skipped, each "ORIGIN:LINE: reason" */
	size_t n_warnings;
};

/*
 * Parse TEXT (LEN bytes, need not be NUL-terminated). ORIGIN names the input in messages. On a fatal error
 * (no CPU header, out of memory) returns a negative errno and, when ERROR is not NULL, a message
 * "ORIGIN:LINE: reason" to free(). Malformed rows are skipped with a warning.
 */
int asios_interrupts_parse(const char *text, size_t len, const char *origin, struct asios_interrupts **ret,
			   char **error);
void asios_interrupts_free(struct asios_interrupts *in);
/* The numbered row for IRQ, or NULL. */
const struct asios_irq_row *asios_interrupts_find(const struct asios_interrupts *in, long irq);
