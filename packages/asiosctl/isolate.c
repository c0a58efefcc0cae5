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
	       "                      [--json] [--dry-run] [--measure SECONDS] [--only KIND,...]\n\n"
	       "  plan     the CPU isolation and scheduler changes asios-schedd would make, each with its reason:\n"
	       "           the kernel command line (grub.d snippet), CPUAffinity of system services, workqueue,\n"
	       "           writeback, IRQ and watchdog masks, kernel threads, the workload cpuset partition and\n"
	       "           the profile's scheduler knobs\n"
	       "  explain  the CPU split (housekeeping, isolated, why), the command line against the running one,\n"
	       "           then the plan\n"
	       "  apply    make the changes, with an undo journal in " ASIOS_SCHEDD_JOURNAL " (--dry-run: show only)\n"
	       "           --measure SECONDS: first sample interrupts per second on the isolated CPUs for that long, the\n"
	       "           window before the apply that asiosctl status compares the effect with\n"
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
	r = asios_conf_format_read(&asios_sched_policy_format, pol, pf.conf, pf.dir, &error);
	return policy_loaded(r, error);
}

static void print_set(const char *label, hwloc_const_bitmap_t set)
{
	char *l = asios_cpulist_format(set);

	printf("%-14s %s\n", label, l && *l ? l : "none");
	free(l);
}

static void isolate_explain(const struct asios_snapshot *s, const struct asios_sched_state *st,
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

static void print(const struct asios_snapshot *s, const struct asios_domain_run *run, bool explain, bool would)
{
	const struct asios_isolate_state *x = run->state;

	if (explain)
		isolate_explain(s, x->st, run->policy, &x->layout);
	print_plan(run->plan, would);
}

static struct json_object *json(const struct asios_snapshot *s, const struct asios_domain_run *run, bool explain,
				struct json_object *o)
{
	const struct asios_isolate_state *x = run->state;

	(void)explain;
	return layout_json(s, x->st, run->policy, &x->layout, o);
}

static bool may_apply(const struct asios_domain_run *run)
{
	const struct asios_isolate_state *x = run->state;
	const struct asios_sched_policy *pol = run->policy;

	if (asios_sched_tuned_partitions(x->st) && !pol->take_over_tuned) {
		log_error("tuned runs the CPU partitioning profile \"%s\" (pid %ld) and would fight these changes; "
			  "stop it or set take_over_tuned = yes; nothing applied", x->st->tuned_profile, x->st->tuned_pid);
		return false;
	}
	return true;
}

static void applied(const struct asios_domain_run *run, const struct asios_apply_report *rep)
{
	const struct asios_isolate_state *x = run->state;
	const struct asios_plan *plan = run->plan;
	bool boot = false;

	for (size_t i = 0; i < plan->n_actions; i++)
		if (plan->actions[i].kind == ASIOS_ACTION_FILE && !strcmp(plan->actions[i].path, ASIOS_SCHEDD_GRUB))
			boot = true;
	printf("applied %zu, refused %zu, left alone %zu (undo: asiosctl isolate revert)\n", rep->applied, rep->refused,
	       plan->n_skipped);
	if (boot || x->layout.reboot_required)
		printf("the kernel command line changes: run update-grub and reboot\n");
}

const struct domain_view isolate_view = {
	.name = "isolate",
	.usage = usage,
	.print = print,
	.json = json,
	.may_apply = may_apply,
	.applied = applied,
};
