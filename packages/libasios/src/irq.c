/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/cpulist.h"
#include "snapshot-internal.h"

/*
 * IRQs: the numbered rows of /proc/interrupts, with their affinity from /proc/irq/N/ and their owning PCI
 * device. The owner is found, in order, from:
 *   1. the device's msi_irqs/ directory (MSI and MSI-X vectors)          — exact
 *   2. the device's irq file (legacy INTx line), when no other device shares the line
 *   3. the action name: "…@pci:0000:18:00.0" (mlx5), "[0000:00:1f.2]" (ahci), "i40e-0000:c3:00.3:…", a netdev
 *      name ("eth0-TxRx-3", "i40e-enp195s0f3-TxRx-59") or an NVMe controller ("nvme0q1")
 * When a row of /proc/interrupts lacks its action, chip or hardware IRQ (older layouts, an IRQ without an
 * action), /sys/kernel/irq/N/{actions,chip_name,hwirq} fill them in.
 * Kernel-managed affinity (a write to smp_affinity fails with EIO) is read from debugfs when it is mounted;
 * otherwise `managed_known` stays false.
 */

static int owner_by_name(const struct asios_snapshot *s, const char *name)
{
	const char *p;
	size_t best_len = 0;
	int best = -1;

	if (!name)
		return -1;
	/* a PCI address anywhere in the name */
	for (p = name; (p = strchr(p, ':')); p++) {
		char addr[13];
		unsigned d, b, dv, f;
		int i;

		if (p - name < 4 || strnlen(p - 4, 12) < 12)
			continue;
		memcpy(addr, p - 4, 12);
		addr[12] = '\0';
		if (sscanf(addr, "%4x:%2x:%2x.%1x", &d, &b, &dv, &f) == 4 &&
		    (i = asios_snapshot_pci_index(s, addr)) >= 0)
			return i;
	}
	/* the longest netdev or NVMe controller name that appears as a whole word of the name */
	for (size_t i = 0; i < s->n_pci; i++) {
		char **lists[2] = { s->pci[i].netdevs, s->pci[i].block };

		for (int l = 0; l < 2; l++)
			for (char **n = lists[l]; n && *n; n++) {
				size_t len = strlen(*n);

				for (p = strstr(name, *n); p; p = strstr(p + 1, *n)) {
					char before = p == name ? '-' : p[-1], after = p[len];

					if ((before == '-' || before == ' ' || before == '_') &&
					    (after == '\0' || after == '-' || after == 'q' || after == ' ' || after == '@') &&
					    len > best_len) {
						best = (int)i;
						best_len = len;
					}
				}
			}
	}
	return best;
}

/* a line of /sys/kernel/irq/N/FILE into *dst when *dst is unset; the string is owned by the snapshot */
static int fill_from_sysfs(struct asios_root *root, struct asios_snapshot *s, unsigned irq, const char *file,
			   char **dst)
{
	char path[96], *line;

	if (*dst)
		return 0;
	snprintf(path, sizeof(path), "/sys/kernel/irq/%u/%s", irq, file);
	if (asios_read_line(root, path, &line) < 0)
		return 0;
	if (!*line) {
		free(line);
		return 0;
	}
	if (asios_strv_push(&s->irq_strings, &s->n_irq_strings, line) < 0)
		return -ENOMEM;
	*dst = line;
	return 0;
}

static void read_managed(struct asios_root *root, struct asios_irq *irq)
{
	char path[96], *buf;

	snprintf(path, sizeof(path), "/sys/kernel/debug/irq/irqs/%u", irq->irq);
	if (asios_read_file(root, path, &buf, NULL) < 0)
		return;
	irq->managed_known = true;
	irq->managed = strstr(buf, "IRQD_AFFINITY_MANAGED") != NULL;
	free(buf);
}

int asios_irq_load(struct asios_root *root, struct asios_snapshot *s)
{
	struct asios_interrupts *in = NULL;
	char *text = NULL, *err = NULL;
	size_t len;
	int *by_msi = NULL, *by_line = NULL;
	long max_irq = -1;
	bool have_dirs;
	int r;

	r = asios_read_file(root, "/proc/interrupts", &text, &len);
	if (r < 0) {
		asios_snapshot_warn(s, "/proc/interrupts: %s, no IRQs", strerror(-r));
		return r == -ENOMEM ? r : 0;
	}
	r = asios_interrupts_parse(text, len, "/proc/interrupts", &in, &err);
	free(text);
	if (r < 0) {
		if (err)
			asios_snapshot_warn(s, "%s, no IRQs", err);
		free(err);
		return r == -ENOMEM ? r : 0;
	}
	s->interrupts = in;
	for (size_t i = 0; in->warnings && in->warnings[i]; i++)
		asios_snapshot_warn(s, "%s", in->warnings[i]);
	for (size_t i = 0; i < in->n_rows; i++)
		if (in->rows[i].irq > max_irq)
			max_irq = in->rows[i].irq;
	s->irqs = calloc(in->n_numbered + 1, sizeof(*s->irqs));
	by_msi = malloc(((size_t)max_irq + 2) * sizeof(int));
	by_line = malloc(((size_t)max_irq + 2) * sizeof(int));
	if (!s->irqs || !by_msi || !by_line) {
		free(by_msi);
		free(by_line);
		return -ENOMEM;
	}
	for (long i = 0; i <= max_irq; i++)
		by_msi[i] = by_line[i] = -1;
	have_dirs = asios_exists(root, "/proc/irq"); /* captures of CPU topology alone have no /proc/irq */
	for (size_t d = 0; d < s->n_pci; d++) {
		const struct asios_pci_device *p = &s->pci[d];

		for (size_t k = 0; k < p->n_msi_irqs; k++)
			if ((long)p->msi_irqs[k] <= max_irq)
				by_msi[p->msi_irqs[k]] = (int)d;
		if (p->irq_legacy >= 0 && p->irq_legacy <= max_irq)
			by_line[p->irq_legacy] = by_line[p->irq_legacy] == -1 ? (int)d : -2; /* -2: shared line */
	}
	for (size_t i = 0; i < in->n_rows; i++) {
		const struct asios_irq_row *row = &in->rows[i];
		struct asios_irq *q;
		char path[96];

		if (row->irq < 0)
			continue;
		snprintf(path, sizeof(path), "/proc/irq/%ld", row->irq);
		if (have_dirs && !asios_exists(root, path)) { /* gone since /proc/interrupts was read */
			asios_snapshot_warn(s, "%s: missing (the IRQ went away), IRQ %ld skipped", path, row->irq);
			continue;
		}
		q = &s->irqs[s->n_irqs++];
		q->irq = (unsigned)row->irq;
		q->name = row->name;       /* borrowed from s->interrupts */
		q->chip = row->chip;
		q->hwirq = row->hwirq;
		q->counts = row->counts;
		q->total = row->total;
		if (fill_from_sysfs(root, s, q->irq, "actions", &q->name) < 0 ||
		    fill_from_sysfs(root, s, q->irq, "chip_name", &q->chip) < 0 ||
		    fill_from_sysfs(root, s, q->irq, "hwirq", &q->hwirq) < 0) {
			free(by_msi);
			free(by_line);
			return -ENOMEM;
		}
		q->device = by_msi[row->irq];
		if (q->device < 0 && by_line[row->irq] >= 0)
			q->device = by_line[row->irq];
		if (q->device < 0)
			q->device = owner_by_name(s, row->name);
		q->affinity = hwloc_bitmap_alloc();
		q->effective = hwloc_bitmap_alloc();
		if (!q->affinity || !q->effective) {
			free(by_msi);
			free(by_line);
			return -ENOMEM;
		}
		snprintf(path, sizeof(path), "/proc/irq/%u/smp_affinity_list", q->irq);
		if (asios_read_cpuset(root, s, path, false, q->affinity) == -ENOENT) {
			snprintf(path, sizeof(path), "/proc/irq/%u/smp_affinity", q->irq);
			(void)asios_read_cpuset(root, s, path, true, q->affinity);
		}
		snprintf(path, sizeof(path), "/proc/irq/%u/effective_affinity_list", q->irq);
		(void)asios_read_cpuset(root, s, path, false, q->effective);
		read_managed(root, q);
	}
	free(by_msi);
	free(by_line);
	return 0;
}
