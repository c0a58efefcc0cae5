/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * asiosctl status: each domain now — whether it could plan, its drift (what a fresh plan would change), what its
 * applies did, and the effect of the last one on the metric it was meant to lower (asios/effect.h). The same
 * numbers asiosctl metrics and asios-exporter export, as a table or --json.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asios/domain.h"
#include "asios/metrics.h"
#include "asios/root.h"
#include "asiosctl.h"

static void warn(void *userdata, const char *what)
{
	(void)userdata;
	log_error("status: %s", what);
}

static void usage(void)
{
	printf("Usage: asiosctl status [--root DIR] [--json]\n\n"
	       "Per tuning domain: whether its policy and the machine could be read and planned, how many changes a\n"
	       "fresh plan would make (the drift from its policy), what its applies did (applies, actions applied,\n"
	       "refused and failed, rollbacks, reverts, the last one's time and result) and the effect of the last\n"
	       "apply: the metric it was meant to lower over the window before it and since it. The same numbers\n"
	       "asiosctl metrics exports. Exit status 0, or 1 when a domain could not be planned.\n");
}

static void fmt_value(char *buf, size_t size, double v)
{
	if (isfinite(v))
		snprintf(buf, size, "%.4g", v);
	else
		snprintf(buf, size, "-");
}

static void print_text(const struct asios_domain *const *d, const struct asios_domain_status *st, size_t n)
{
	printf("%-8s %-4s %7s %7s %8s %7s %9s %-11s  %s\n", "DOMAIN", "UP", "PENDING", "APPLIES", "APPLIED",
	       "REFUSED", "ROLLBACKS", "LAST", "EFFECT (before -> after, since the last apply)");
	for (size_t i = 0; i < n; i++) {
		char b[32], a[32], effect[160] = "-";

		if (st[i].eff.have) {
			fmt_value(b, sizeof(b), st[i].eff.before);
			fmt_value(a, sizeof(a), st[i].eff.after);
			snprintf(effect, sizeof(effect), "%s %s (%.0f s) -> %s (%.0f s)", d[i]->effect_metric, b,
				 st[i].eff.before_seconds, a, st[i].eff.after_seconds);
		} else if (d[i]->effect) {
			snprintf(effect, sizeof(effect), "%s: no apply recorded", d[i]->effect_metric);
		}
		printf("%-8s %-4s %7zu %7" PRIu64 " %8" PRIu64 " %7" PRIu64 " %9" PRIu64 " %-11s  %s\n", d[i]->name,
		       st[i].ok ? "yes" : "no", st[i].actions, st[i].st.applies, st[i].st.applied, st[i].st.refused,
		       st[i].st.rollbacks, asios_apply_result_name(st[i].st.last_result), effect);
	}
}

static struct json_object *number_or_null(double v)
{
	return isfinite(v) ? json_object_new_double(v) : NULL;
}

static struct json_object *effect_json(const struct asios_domain *d, const struct asios_effect_window *e)
{
	struct json_object *o;

	if (!d->effect)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "metric", json_object_new_string(d->effect_metric));
	json_object_object_add(o, "kind", json_object_new_string(asios_effect_kind_name(d->effect_kind)));
	json_object_object_add(o, "recorded", json_object_new_boolean(e->have));
	if (e->have) {
		json_object_object_add(o, "applied_at", json_object_new_int64((int64_t)e->applied_at));
		json_object_object_add(o, "before", number_or_null(e->before));
		json_object_object_add(o, "after", number_or_null(e->after));
		json_object_object_add(o, "change", number_or_null(e->after - e->before));
		json_object_object_add(o, "before_seconds", json_object_new_double(e->before_seconds));
		json_object_object_add(o, "after_seconds", json_object_new_double(e->after_seconds));
	}
	return o;
}

static struct json_object *status_json(const struct asios_domain *const *d, const struct asios_domain_status *st,
				       size_t n)
{
	struct json_object *root = json_object_new_object(), *arr = json_object_new_array();

	json_object_object_add(root, "schema", json_object_new_string("asios.status/1"));
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "domain", json_object_new_string(d[i]->name));
		json_object_object_add(o, "up", json_object_new_boolean(st[i].ok));
		json_object_object_add(o, "pending_actions", st[i].ok ? json_object_new_int64((int64_t)st[i].actions) : NULL);
		json_object_object_add(o, "left_alone", st[i].ok ? json_object_new_int64((int64_t)st[i].skipped) : NULL);
		json_object_object_add(o, "applies", json_object_new_int64((int64_t)st[i].st.applies));
		json_object_object_add(o, "actions_applied", json_object_new_int64((int64_t)st[i].st.applied));
		json_object_object_add(o, "actions_refused", json_object_new_int64((int64_t)st[i].st.refused));
		json_object_object_add(o, "actions_failed", json_object_new_int64((int64_t)st[i].st.failed));
		json_object_object_add(o, "rollbacks", json_object_new_int64((int64_t)st[i].st.rollbacks));
		json_object_object_add(o, "reverts", json_object_new_int64((int64_t)st[i].st.reverts));
		json_object_object_add(o, "last_apply", st[i].st.applies ? json_object_new_int64(st[i].st.last_apply) : NULL);
		json_object_object_add(o, "last_result",
				       json_object_new_string(asios_apply_result_name(st[i].st.last_result)));
		json_object_object_add(o, "effect", effect_json(d[i], &st[i].eff));
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "domains", arr);
	return root;
}

int verb_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' }, { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },       {},
	};
	struct asios_metrics_opts o = { .root_path = "/", .warn = warn };
	const struct asios_domain *const *d;
	struct asios_domain_status *st;
	struct asios_snapshot *s;
	struct asios_root *root;
	bool json = false;
	size_t n;
	int c, bad = 0;

	while ((c = getopt_long(argc, argv, "r:jh", opts, NULL)) != -1) {
		if (empty_option("status", c, optarg))
			return 2;
		if (c == 'r') {
			o.root_path = optarg;
		} else if (c == 'j') {
			json = true;
		} else if (c == 'h') {
			usage();
			return 0;
		} else {
			return 2;
		}
	}
	if (optind != argc) {
		log_error("status: usage: asiosctl status [--root DIR] [--json]");
		return 2;
	}
	s = load_snapshot(o.root_path, &root);
	if (!s)
		return 1;
	d = asios_domains(&n);
	st = calloc(n + 1, sizeof(*st));
	for (size_t i = 0; st && i < n; i++)
		bad |= asios_domain_status(root, s, d[i], &o, &st[i]) < 0;
	if (st && json)
		print_json(status_json(d, st, n));
	else if (st)
		print_text(d, st, n);
	else
		log_error("status: out of memory");
	free(st);
	asios_snapshot_free(s);
	asios_root_free(root);
	return !st || bad;
}
