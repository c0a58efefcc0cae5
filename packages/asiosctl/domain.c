/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "asios/apply.h"
#include "asios/domain.h"
#include "asios/effect.h"
#include "asios/json.h"
#include "asios/plan.h"
#include "asiosctl.h"

/*
 * `asiosctl DOMAIN plan|explain|apply|revert|knobs` for every registered domain (asios/domain.h): the steps are
 * the domain's, the order, the messages and the exit statuses are the same for all. A domain's view (its
 * verb file) may add a help text, an explain printer, JSON fields, a check before apply and a summary line;
 * a domain without a view prints the generic plan.
 */

static const struct domain_view *const views[] = { &irq_view, &numa_view, &isolate_view };

static const struct domain_view *view_of(const struct asios_domain *d)
{
	for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++)
		if (!strcmp(views[i]->name, d->name))
			return views[i];
	return NULL;
}

static const struct asios_domain *usage_domain;

static void generic_usage(void)
{
	const struct asios_domain *d = usage_domain;

	printf("Usage: asiosctl %s plan|explain|apply|revert|knobs [--root DIR] [--config FILE] [--config-dir DIR]\n"
	       "                [--json] [--dry-run] [--measure SECONDS] [--only KIND,...]\n\n"
	       "  plan     the changes for %s, each with its reason\n"
	       "  explain  the same with what is left alone and why\n"
	       "  apply    make the changes, with an undo journal in %s (--dry-run: show only; --measure:\n"
	       "           sample the domain's effect metric for SECONDS first, the window asiosctl status compares)\n"
	       "  revert   restore what the journal recorded\n"
	       "  knobs    the knobs of the domain, their value per class and why\n\n"
	       "--only KIND,... keeps the changes of those kinds (write, affinity, migrate, file, ethtool, pcie) and\n"
	       "leaves the others out, saying so.\n\n"
	       "The policy is read from %s and %s/NAME.conf (under --root when one is given).\n"
	       "See asiosctl(1).\n",
	       d->name, d->summary, d->journal, d->conf, d->conf_d);
}

/* "name (path)", the number of the file it is, its range and its coupled constraint */
static void print_knob_head(const struct asios_knob *k)
{
	printf("%s (%s", k->name, k->path);
	if (k->field)
		printf(", number %u of the line", k->field);
	if (k->min < k->max)
		printf(", %ld-%ld", k->min, k->max);
	if (k->at_least)
		printf(", never below %s", k->at_least);
	printf(")%s\n", k->unsafe ? " never auto-tuned" : "");
}

/* `asiosctl DOMAIN knobs [--json]`: the table a domain tunes from */
static int print_knobs(const struct asios_domain *d, bool json)
{
	size_t n = 0;
	const struct asios_knob *t = d->knobs ? d->knobs(&n) : NULL;
	struct json_object *a = json ? json_object_new_array() : NULL;

	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json ? json_object_new_object() : NULL, *v = json ? json_object_new_object() : NULL;

		if (!json)
			print_knob_head(&t[i]);
		for (size_t c = 0; d->classes && d->classes[c] && c < ASIOS_KNOB_CLASSES; c++) {
			if (json && t[i].value[c])
				json_object_object_add(v, d->classes[c], json_object_new_string(t[i].value[c]));
			else if (!json)
				printf("  %-12s %s\n", d->classes[c], t[i].value[c] ? t[i].value[c] : "(left alone)");
		}
		if (!json) {
			printf("  why: %s\n\n", t[i].explain);
			continue;
		}
		json_object_object_add(o, "name", json_object_new_string(t[i].name));
		json_object_object_add(o, "path", json_object_new_string(t[i].path));
		json_object_object_add(o, "values", v);
		if (t[i].min || t[i].max) {
			json_object_object_add(o, "min", json_object_new_int64(t[i].min));
			json_object_object_add(o, "max", json_object_new_int64(t[i].max));
		}
		json_object_object_add(o, "only_raised", json_object_new_boolean(t[i].floor));
		json_object_object_add(o, "unsafe", json_object_new_boolean(t[i].unsafe));
		if (t[i].field)
			json_object_object_add(o, "field", json_object_new_int64(t[i].field));
		if (t[i].at_least)
			json_object_object_add(o, "at_least", json_object_new_string(t[i].at_least));
		json_object_object_add(o, "brief", json_object_new_string(t[i].brief));
		json_object_object_add(o, "explain", json_object_new_string(t[i].explain));
		json_object_array_add(a, o);
	}
	if (json)
		print_json(a);
	else if (!n)
		printf("%s: no knob table (its plan comes from the machine's topology)\n", d->name);
	return 0;
}

static int load_run(const struct asios_domain *d, const struct plan_args *a, struct asios_domain_run *run)
{
	struct policy_files pf;
	char *error = NULL;
	int r;

	policy_files(&pf, a->root, a->conf, a->conf_d, d->conf, d->conf_d);
	r = asios_domain_policy(d, pf.conf, pf.dir, run, &error);
	return policy_loaded(r, error);
}

static int observe_and_plan(const struct domain_view *v, const struct plan_args *a, struct asios_root *root,
			    const struct asios_snapshot *s, struct asios_domain_run *run)
{
	int r = asios_domain_observe(run, root, s);

	if (r < 0) {
		log_error("cannot read the %s under %s: %s", v && v->observed ? v->observed : "machine", a->root,
			  strerror(-r));
		return r;
	}
	if (run->state && run->domain->warnings && strcmp(a->cmd, "explain")) {
		size_t n = 0;
		char **w = run->domain->warnings(run->state, &n);

		for (size_t i = 0; i < n; i++)
			log_error("warning: %s", w[i]);
	}
	r = asios_domain_plan(run, s);
	if (r < 0)
		log_error("planning failed: %s", strerror(-r));
	else if (a->only && (r = asios_plan_keep_kinds(run->plan, a->only_mask, a->only)) < 0)
		log_error("--only %s: %s", a->only, strerror(-r));
	return r;
}

static int show(const struct domain_view *v, const struct plan_args *a, const struct asios_snapshot *s,
		const struct asios_domain_run *run)
{
	bool explain = !strcmp(a->cmd, "explain");

	if (a->json && strcmp(a->cmd, "apply")) { /* apply --dry-run --json: the text of a dry run */
		struct json_object *o = asios_plan_to_json(run->plan);

		if (!o || (v && v->json && !v->json(s, run, explain, o))) {
			json_object_put(o);
			return 1;
		}
		print_json(o);
		return 0;
	}
	if (v && v->print)
		v->print(s, run, explain, a->dry_run);
	else
		print_plan(run->plan, a->dry_run);
	return 0;
}

static int apply_run(const struct domain_view *v, struct asios_root *root, const struct asios_snapshot *s,
		     const struct asios_domain_run *run, const struct asios_effect_sample *start)
{
	struct asios_apply_report rep = { 0 };
	char *error = NULL;
	int r;

	if (v && v->may_apply && !v->may_apply(run))
		return 1;
	r = asios_domain_apply(run->domain, root, s, run->policy, run->plan, start, &rep, &error);
	for (size_t i = 0; i < rep.n_messages; i++)
		log_error("%s", rep.messages[i]);
	if (r < 0) {
		log_error("%s; %s", error ? error : strerror(-r), asios_apply_outcome(&rep));
		free(error);
	} else if (v && v->applied) {
		v->applied(run, &rep);
	} else {
		printf("applied %zu, refused %zu, left alone %zu (undo: asiosctl %s revert)\n", rep.applied, rep.refused,
		       run->plan->n_skipped, run->domain->name);
	}
	asios_apply_report_clear(&rep);
	return r < 0;
}

/* apply --measure SECONDS: D's metric sampled, then SECONDS of waiting: the window before the apply */
static int measure(const struct asios_domain *d, struct asios_root *root, const struct asios_snapshot *s,
		   const struct asios_domain_run *run, unsigned seconds, struct asios_effect_sample *start)
{
	int r;

	if (!d->effect) {
		log_error("%s: --measure: this domain has no effect metric (asiosctl(1), STATUS)", d->name);
		return -EINVAL;
	}
	r = d->effect(root, s, run->policy, start);
	if (r < 0) {
		log_error("%s: --measure: cannot sample %s: %s", d->name, d->effect_metric, strerror(-r));
		return r;
	}
	fprintf(stderr, "asiosctl: %s: measuring %s for %u s before the apply\n", d->name, d->effect_metric, seconds);
	sleep(seconds);
	return 0;
}

static int domain_verb(const struct asios_domain *d, int argc, char **argv)
{
	const struct domain_view *v = view_of(d);
	struct asios_domain_run run = { 0 };
	struct asios_effect_sample start = { 0 };
	struct asios_snapshot *s = NULL;
	struct asios_root *root = NULL;
	struct plan_args a;
	int r, ret = 1;

	usage_domain = d;
	if ((r = parse_plan_args(d->name, argc, argv, v && v->usage ? v->usage : generic_usage, &a)) >= 0)
		return r;
	if (!strcmp(a.cmd, "revert"))
		return revert_journal(a.root, d->journal, d->restored);
	if (!strcmp(a.cmd, "knobs"))
		return print_knobs(d, a.json);
	if (load_run(d, &a, &run) < 0)
		return 1;
	s = load_snapshot(a.root, &root);
	if (s && a.measure && measure(d, root, s, &run, a.measure, &start) < 0)
		ret = 1;
	else if (s && observe_and_plan(v, &a, root, s, &run) >= 0) {
		if (strcmp(a.cmd, "apply") || a.dry_run)
			ret = show(v, &a, s, &run);
		else
			ret = apply_run(v, root, s, &run, a.measure ? &start : NULL);
	}
	asios_domain_run_clear(&run);
	asios_snapshot_free(s);
	asios_root_free(root);
	return ret;
}

int verb_domain(int argc, char **argv)
{
	const struct asios_domain *d = asios_domain_find(argv[0]);

	if (!d) {
		log_error("unknown domain '%s'", argv[0]);
		return 2;
	}
	return domain_verb(d, argc, argv);
}
