/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/apply.h"
#include "asios/cpulist.h"
#include "asios/json.h"
#include "asios/sched-plan.h"
#include "asiosctl.h"

static void usage(void)
{
	printf("Usage: asiosctl isolate plan|explain|apply|revert [--root DIR] [--config FILE] [--config-dir DIR]\n"
	       "                      [--json] [--dry-run]\n\n"
	       "  plan     the CPU isolation and scheduler changes asios-schedd would make, each with its reason:\n"
	       "           the kernel command line (grub.d snippet), CPUAffinity of system services, workqueue,\n"
	       "           writeback, IRQ and watchdog masks, kernel threads, the workload cpuset partition and\n"
	       "           the profile's scheduler knobs\n"
	       "  explain  the CPU split (housekeeping, isolated, why), the command line against the running one,\n"
	       "           then the plan\n"
	       "  apply    make the changes, with an undo journal in " ASIOS_SCHEDD_JOURNAL " (--dry-run: show only)\n"
	       "  revert   restore what the journal recorded (the grub.d snippet and drop-in are removed)\n\n"
	       "The policy is read from " ASIOS_SCHEDD_CONF " and " ASIOS_SCHEDD_CONF_D "/NAME.conf (under --root\n"
	       "when one is given). See asiosctl(1) and asios-schedd(8).\n");
}

int load_sched_policy(const char *root, const char *conf, const char *conf_d, struct asios_sched_policy *pol)
{
	struct policy_files pf;
	char *error = NULL;
	int r;

	policy_files(&pf, root, conf, conf_d, ASIOS_SCHEDD_CONF, ASIOS_SCHEDD_CONF_D);
	r = asios_sched_policy_read(pol, pf.conf, pf.dir, &error);
	return policy_loaded(r, error);
}

static void print_set(const char *label, hwloc_const_bitmap_t set)
{
	char *l = asios_cpulist_format(set);

	printf("%-14s %s\n", label, l && *l ? l : "none");
	free(l);
}

static void explain(const struct asios_snapshot *s, const struct asios_sched_state *st,
		    const struct asios_sched_policy *pol, const struct asios_sched_layout *l)
{
	print_set("online:", s->online);
	print_set("housekeeping:", l->housekeeping);
	print_set("isolated:", l->isolated);
	printf("%-14s %s\n", "profile:", asios_sched_profile_name(pol->profile));
	printf("%-14s %s\n", "command line:", !l->cmdline ? "(too long, not written)" : *l->cmdline ? l->cmdline : "(none)");
	printf("%-14s %s\n", "running:", s->isolation.cmdline ? s->isolation.cmdline : "(unknown)");
	printf("%-14s %s\n", "reboot:", l->reboot_required ? "required (the running command line differs)" : "not required");
	if (st->tuned_pid)
		printf("%-14s running (pid %ld), profile %s%s\n", "tuned:", st->tuned_pid,
		       st->tuned_profile ? st->tuned_profile : "unknown",
		       asios_sched_tuned_partitions(st) ? ": it partitions CPUs, asios-schedd stands down unless "
							  "take_over_tuned = yes" : "");
	printf("%-14s %zu unbound\n", "kernel threads:", st->n_kthreads);
	for (size_t i = 0; i < st->n_warnings; i++)
		printf("warning: %s\n", st->warnings[i]);
}

static struct json_object *layout_json(const struct asios_snapshot *s, const struct asios_sched_state *st,
				       const struct asios_sched_policy *pol, const struct asios_sched_layout *l,
				       struct json_object *o)
{
	struct json_object *iso = json_object_new_object();

	if (!iso)
		return NULL;
	json_object_object_add(iso, "profile", json_object_new_string(asios_sched_profile_name(pol->profile)));
	json_object_object_add(iso, "housekeeping", asios_json_cpuset(l->housekeeping));
	json_object_object_add(iso, "isolated", asios_json_cpuset(l->isolated));
	json_object_object_add(iso, "cmdline", l->cmdline ? json_object_new_string(l->cmdline) : NULL);
	json_object_object_add(iso, "running_cmdline",
			       s->isolation.cmdline ? json_object_new_string(s->isolation.cmdline) : NULL);
	json_object_object_add(iso, "reboot_required", json_object_new_boolean(l->reboot_required));
	json_object_object_add(iso, "tuned_partitions", json_object_new_boolean(asios_sched_tuned_partitions(st)));
	json_object_object_add(o, "isolation", iso);
	return o;
}

int verb_isolate(int argc, char **argv)
{
	struct asios_sched_policy pol;
	struct asios_sched_layout lay = { 0 };
	struct asios_apply_report rep = { 0 };
	struct asios_sched_state *st = NULL;
	struct asios_snapshot *s = NULL;
	struct asios_root *root = NULL;
	struct asios_plan *plan = NULL;
	int r, ret = 1;
	struct plan_args a;

	if ((r = parse_plan_args("isolate", argc, argv, usage, &a)) >= 0)
		return r;
	if (!strcmp(a.cmd, "revert"))
		return revert_journal(a.root, ASIOS_SCHEDD_JOURNAL,
				      "values (masks, kernel threads, partition, knobs, command line and drop-in files)");
	if (load_sched_policy(a.root, a.conf, a.conf_d, &pol) < 0)
		return 1;
	s = load_snapshot(a.root, &root);
	if (!s)
		goto out;
	r = asios_sched_observe(root, s, &pol, &st);
	if (r < 0) {
		log_error("cannot read the machine under %s: %s", a.root, strerror(-r));
		goto out;
	}
	for (size_t i = 0; i < st->n_warnings && strcmp(a.cmd, "explain"); i++)
		log_error("warning: %s", st->warnings[i]);
	r = asios_sched_layout(s, &pol, &lay);
	if (r >= 0)
		r = asios_sched_plan(s, st, &pol, &lay, &plan);
	if (r < 0) {
		log_error("planning failed: %s", strerror(-r));
		goto out;
	}
	if (a.json && strcmp(a.cmd, "apply")) {
		struct json_object *o = asios_plan_to_json(plan);

		if (!o || !layout_json(s, st, &pol, &lay, o)) {
			json_object_put(o);
			goto out;
		}
		print_json(o);
		ret = 0;
		goto out;
	}
	if (!strcmp(a.cmd, "explain"))
		explain(s, st, &pol, &lay);
	if (!strcmp(a.cmd, "plan") || !strcmp(a.cmd, "explain") || a.dry_run) {
		print_plan(plan, a.dry_run);
		ret = 0;
		goto out;
	}
	if (asios_sched_tuned_partitions(st) && !pol.take_over_tuned) {
		log_error("tuned runs the CPU partitioning profile \"%s\" (pid %ld) and would fight these changes; "
			  "stop it or set take_over_tuned = yes; nothing applied", st->tuned_profile, st->tuned_pid);
		goto out;
	}
	{
		char *error = NULL;
		bool boot = false;

		r = asios_apply(root, plan, ASIOS_SCHEDD_JOURNAL, &rep, &error);
		for (size_t i = 0; i < rep.n_messages; i++)
			log_error("%s", rep.messages[i]);
		if (r < 0) {
			log_error("%s; %s", error ? error : strerror(-r), asios_apply_outcome(&rep));
			free(error);
			goto out;
		}
		for (size_t i = 0; i < plan->n_actions; i++)
			if (plan->actions[i].kind == ASIOS_ACTION_FILE && !strcmp(plan->actions[i].path, ASIOS_SCHEDD_GRUB))
				boot = true;
		printf("applied %zu, refused %zu, left alone %zu (undo: asiosctl isolate revert)\n", rep.applied,
		       rep.refused, plan->n_skipped);
		if (boot || lay.reboot_required)
			printf("the kernel command line changes: run update-grub and reboot\n");
		ret = 0;
	}
out:
	asios_apply_report_clear(&rep);
	asios_plan_free(plan);
	asios_sched_layout_clear(&lay);
	asios_sched_state_free(st);
	asios_snapshot_free(s);
	asios_root_free(root);
	asios_sched_policy_clear(&pol);
	return ret;
}
