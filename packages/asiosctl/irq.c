/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/apply.h"
#include "asios/cpulist.h"
#include "asios/domain.h"
#include "asios/irq-plan.h"
#include "asios/json.h"
#include "asiosctl.h"

#define IRQD_JOURNAL ASIOS_IRQD_JOURNAL

static void usage(void)
{
	printf("Usage: asiosctl irq plan|explain|apply|revert [--root DIR] [--config FILE] [--config-dir DIR]\n"
	       "                  [--json] [--dry-run] [--measure SECONDS] [--only KIND,...]\n\n"
	       "  plan     the IRQ affinity changes asios-irqd would make, each with its reason\n"
	       "  explain  every IRQ: where it is, where it goes and why, or why it is left alone\n"
	       "  apply    make the changes, with an undo journal in " IRQD_JOURNAL " (--dry-run: show only)\n"
	       "           --measure SECONDS: first sample the share of device interrupts handled off their\n"
	       "           device's node for that long, the window before the apply that asiosctl status compares\n"
	       "           the effect with\n"
	       "  revert   restore what the journal recorded\n\n"
	       "The policy is read from " ASIOS_IRQD_CONF " and " ASIOS_IRQD_CONF_D "/NAME.conf (under --root\n"
	       "when one is given); with rebalance on, the plan uses the interrupt rates of asios-irqd's last\n"
	       "rebalance, " ASIOS_IRQD_RATES ", as the daemon does. See asiosctl(1) and asios-irqd(8).\n");
}

static void print_set(hwloc_const_bitmap_t set)
{
	char *l = asios_cpulist_format(set);

	fputs(l && *l ? l : "-", stdout);
	free(l);
}

static void print_irq_plan(const struct asios_snapshot *s, const struct asios_plan *p, bool explain, bool would)
{
	for (size_t i = 0; i < p->n_notes; i++)
		printf("note: %s\n", p->notes[i]);
	if (!explain) {
		for (size_t i = 0; i < p->n_actions; i++) {
			const struct asios_action *a = &p->actions[i];

			printf("%sirq %-5d %-13s ", would ? "would move " : "", a->irq, a->device[0] ? a->device : "-");
			print_set(a->from);
			fputs(" -> ", stdout);
			print_set(a->to);
			printf("  # %s\n", a->reason);
		}
		for (size_t i = 0; i < p->n_skipped; i++)
			printf("leave irq %-5d  # %s\n", p->skipped[i].irq, p->skipped[i].reason);
		printf("%zu change%s, %zu left alone\n", p->n_actions, p->n_actions == 1 ? "" : "s", p->n_skipped);
		return;
	}
	for (size_t k = 0; k < s->n_irqs; k++) {
		const struct asios_irq *q = &s->irqs[k];
		const char *what = NULL;
		size_t i;

		printf("irq %-5u %-28.28s %-13s on ", q->irq, q->name ? q->name : "-",
		       q->device >= 0 ? s->pci[q->device].addr : "-");
		print_set(q->affinity);
		for (i = 0; i < p->n_actions; i++)
			if (p->actions[i].irq == (int)q->irq) {
				fputs(" -> ", stdout);
				print_set(p->actions[i].to);
				what = p->actions[i].reason;
			}
		for (i = 0; !what && i < p->n_skipped; i++)
			if (p->skipped[i].irq == (int)q->irq)
				what = p->skipped[i].reason;
		printf("  # %s\n", what ? what : "already where the policy puts it");
	}
}

static void print(const struct asios_snapshot *s, const struct asios_domain_run *run, bool explain, bool would)
{
	print_irq_plan(s, run->plan, explain, would);
}

static void applied(const struct asios_domain_run *run, const struct asios_apply_report *rep)
{
	printf("applied %zu, refused by the kernel %zu, left alone %zu (undo: asiosctl irq revert)\n", rep->applied,
	       rep->refused, run->plan->n_skipped);
}

const struct domain_view irq_view = {
	.name = "irq",
	.observed = "rates asios-irqd planned with (" ASIOS_IRQD_RATES ")",
	.usage = usage,
	.print = print,
	.applied = applied,
};
