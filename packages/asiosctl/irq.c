/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/apply.h"
#include "asios/cpulist.h"
#include "asios/irq-plan.h"
#include "asios/json.h"
#include "asiosctl.h"

#define IRQD_JOURNAL "/run/asios/irqd.journal"

static void usage(void)
{
	printf("Usage: asiosctl irq plan|explain|apply|revert [--root DIR] [--config FILE] [--config-dir DIR]\n"
	       "                  [--json] [--dry-run]\n\n"
	       "  plan     the IRQ affinity changes asios-irqd would make, each with its reason\n"
	       "  explain  every IRQ: where it is, where it goes and why, or why it is left alone\n"
	       "  apply    make the changes, with an undo journal in " IRQD_JOURNAL " (--dry-run: show only)\n"
	       "  revert   restore what the journal recorded\n\n"
	       "The policy is read from " ASIOS_IRQD_CONF " and " ASIOS_IRQD_CONF_D "/NAME.conf (under --root\n"
	       "when one is given). See asiosctl(1) and asios-irqd(8).\n");
}

static void print_set(hwloc_const_bitmap_t set)
{
	char *l = asios_cpulist_format(set);

	fputs(l && *l ? l : "-", stdout);
	free(l);
}

int load_irq_policy(const char *root, const char *conf, const char *conf_d, struct asios_irq_policy *pol)
{
	struct policy_files pf;
	char *error = NULL;
	int r;

	policy_files(&pf, root, conf, conf_d, ASIOS_IRQD_CONF, ASIOS_IRQD_CONF_D);
	r = asios_irq_policy_read(pol, pf.conf, pf.dir, &error);
	return policy_loaded(r, error);
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

int verb_irq(int argc, char **argv)
{
	struct asios_irq_policy pol;
	struct asios_apply_report rep = { 0 };
	struct asios_snapshot *s = NULL;
	struct asios_root *root = NULL;
	struct asios_plan *plan = NULL;
	int r, ret = 1;
	struct plan_args a;

	if ((r = parse_plan_args("irq", argc, argv, usage, &a)) >= 0)
		return r;
	if (!strcmp(a.cmd, "revert"))
		return revert_journal(a.root, IRQD_JOURNAL, "IRQ affinities");
	if (load_irq_policy(a.root, a.conf, a.conf_d, &pol) < 0)
		return 1;
	s = load_snapshot(a.root, &root);
	if (!s)
		goto out;
	r = asios_irq_plan(s, &pol, &plan);
	if (r < 0) {
		log_error("planning failed: %s", strerror(-r));
		goto out;
	}
	if (a.json && strcmp(a.cmd, "apply")) {
		struct json_object *o = asios_plan_to_json(plan);

		if (!o)
			goto out;
		print_json(o);
		ret = 0;
		goto out;
	}
	if (!strcmp(a.cmd, "plan") || !strcmp(a.cmd, "explain") || a.dry_run) {
		print_irq_plan(s, plan, !strcmp(a.cmd, "explain"), a.dry_run);
		ret = 0;
		goto out;
	}
	{
		char *error = NULL;

		r = asios_apply(root, plan, IRQD_JOURNAL, &rep, &error);
		for (size_t i = 0; i < rep.n_messages; i++)
			log_error("%s", rep.messages[i]);
		if (r < 0) {
			log_error("%s; %s", error ? error : strerror(-r), asios_apply_outcome(&rep));
			free(error);
			goto out;
		}
		printf("applied %zu, refused by the kernel %zu, left alone %zu (undo: asiosctl irq revert)\n", rep.applied,
		       rep.refused, plan->n_skipped);
		ret = 0;
	}
out:
	asios_apply_report_clear(&rep);
	asios_plan_free(plan);
	asios_snapshot_free(s);
	asios_root_free(root);
	asios_irq_policy_clear(&pol);
	return ret;
}
