/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * asiosctl audit: one report of the machine's hardening state — LSMs, lockdown, module signing, sysctls, the
 * kernel command line and configuration, unit exposures, sshd's key exchange — each rule with the value
 * expected, the value found, its severity and who recommends it (KSPP, CIS, the kernel's documentation), from
 * rules that are data (/usr/share/asios/audit.rules, drop-ins in /etc/asios/audit.d/), of the running machine or
 * of a capture (--root). A value that cannot be read is "unknown", counted apart, never a pass.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/config.h"
#include "asios/root.h"
#include "asiosctl.h"
#include "audit.h"


struct audit_args {
	const char *root, *rules, *rules_d;
	bool json;
	int fail_on; /* the lowest severity whose failure makes the exit status 1; 3: none */
};

struct verdict {
	const struct audit_rule *rule;
	enum audit_result result;
	char actual[AUDIT_TEXT_MAX];
};

static void usage(void)
{
	printf("Usage: asiosctl audit [--root DIR] [--rules FILE] [--rules-dir DIR] [--fail-on SEVERITY] [--json]\n\n"
	       "Judge the machine's hardening against the audit rules: LSMs, lockdown, module signing, sysctls, the\n"
	       "kernel command line and configuration, unit exposures, sshd's key exchange. Each rule gives the\n"
	       "value expected, the value found, pass, FAIL or unknown (could not be read), its severity and the\n"
	       "source of the recommendation; a summary counts them per severity. Where a recommendation conflicts\n"
	       "with AI workloads the rule says what ASIOS chose and why.\n\n"
	       "  --root DIR          a capture (asiosctl snapshot) instead of the running machine\n"
	       "  --rules FILE        the rules (default " AUDIT_RULES ")\n"
	       "  --rules-dir DIR     drop-ins changing or disabling rules by ID (default " AUDIT_RULES_D ")\n"
	       "  --fail-on SEVERITY  exit 1 when a rule of this severity or above fails: high (default), medium,\n"
	       "                      low, or none\n"
	       "  --json              one JSON object\n\n"
	       "Exit status: 0, 1 (a rule at --fail-on or above failed), 2 (usage, or the rules cannot be read).\n");
}

static int parse(int argc, char **argv, struct audit_args *a)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },  { "rules", required_argument, NULL, 'f' },
		{ "rules-dir", required_argument, NULL, 'd' }, { "fail-on", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },        { "help", no_argument, NULL, 'h' },
		{},
	};
	int c;

	*a = (struct audit_args){ .root = "/", .rules = NULL, .rules_d = AUDIT_RULES_D, .fail_on = AUDIT_HIGH };
	while ((c = getopt_long(argc, argv, "r:f:d:s:jh", opts, NULL)) != -1) {
		if (empty_option("audit", c, optarg))
			return 2;
		if (c == 'r')
			a->root = optarg;
		else if (c == 'f')
			a->rules = optarg;
		else if (c == 'd')
			a->rules_d = optarg;
		else if (c == 'j')
			a->json = true;
		else if (c == 'h')
			return usage(), 0;
		else if (c != 's')
			return 2;
		else if ((a->fail_on = !strcmp(optarg, "high") ? AUDIT_HIGH : !strcmp(optarg, "medium") ? AUDIT_MEDIUM
				       : !strcmp(optarg, "low") ? AUDIT_LOW : !strcmp(optarg, "none") ? 3 : -1) < 0)
			return log_error("audit: --fail-on %s: expected high, medium, low or none", optarg), 2;
	}
	if (optind != argc)
		return log_error("audit: unexpected argument \"%s\" (see asiosctl audit --help)", argv[optind]), 2;
	if (!a->rules)
		a->rules = audit_rules_default();
	return -1;
}

static void print_text(const struct verdict *v, size_t n, unsigned counts[3][3])
{
	printf("%-7s %-6s %-28s %-30s %s\n", "RESULT", "SEV", "RULE", "EXPECTED", "FOUND");
	for (size_t i = 0; i < n; i++) {
		const struct audit_rule *r = v[i].rule;

		printf("%-7s %-6s %-28s %-30s %s\n", audit_result_name(v[i].result), audit_severity_name(r->severity),
		       r->id, r->expect, v[i].actual);
		if (v[i].result == AUDIT_FAIL && r->title[0])
			printf("        %s%s%s\n", r->title, r->source[0] ? " — " : "", r->source);
		if (v[i].result == AUDIT_FAIL && r->ai[0])
			printf("        AI workloads: %s\n", r->ai);
	}
	printf("\n%-8s %5s %5s %8s\n", "SEVERITY", "PASS", "FAIL", "UNKNOWN");
	for (int s = AUDIT_HIGH; s >= AUDIT_LOW; s--)
		printf("%-8s %5u %5u %8u\n", audit_severity_name((enum audit_severity)s), counts[s][AUDIT_PASS],
		       counts[s][AUDIT_FAIL], counts[s][AUDIT_UNKNOWN]);
}

static struct json_object *rule_json(const struct verdict *v)
{
	const struct audit_rule *r = v->rule;
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(r->id));
	json_object_object_add(o, "result", json_object_new_string(v->result == AUDIT_FAIL ? "fail"
								    : audit_result_name(v->result)));
	json_object_object_add(o, "severity", json_object_new_string(audit_severity_name(r->severity)));
	json_object_object_add(o, "check", json_object_new_string(audit_kind_name(r->kind)));
	json_object_object_add(o, "target", json_object_new_string(r->target));
	json_object_object_add(o, "expected", json_object_new_string(r->expect));
	json_object_object_add(o, "found", json_object_new_string(v->actual));
	json_object_object_add(o, "title", json_object_new_string(r->title));
	json_object_object_add(o, "source", json_object_new_string(r->source));
	if (r->ai[0])
		json_object_object_add(o, "ai_workloads", json_object_new_string(r->ai));
	json_object_object_add(o, "defined_at", json_object_new_string(r->origin));
	return o;
}

static void print_json_report(const struct audit_args *a, const struct verdict *v, size_t n, unsigned counts[3][3])
{
	struct json_object *o = json_object_new_object(), *rules = json_object_new_array(),
			   *sum = json_object_new_object();

	for (size_t i = 0; i < n; i++)
		json_object_array_add(rules, rule_json(&v[i]));
	for (int s = AUDIT_HIGH; s >= AUDIT_LOW; s--) {
		struct json_object *c = json_object_new_object();

		json_object_object_add(c, "pass", json_object_new_int((int)counts[s][AUDIT_PASS]));
		json_object_object_add(c, "fail", json_object_new_int((int)counts[s][AUDIT_FAIL]));
		json_object_object_add(c, "unknown", json_object_new_int((int)counts[s][AUDIT_UNKNOWN]));
		json_object_object_add(sum, audit_severity_name((enum audit_severity)s), c);
	}
	json_object_object_add(o, "root", json_object_new_string(a->root));
	json_object_object_add(o, "rules_file", json_object_new_string(a->rules));
	json_object_object_add(o, "rules", rules);
	json_object_object_add(o, "summary", sum);
	print_json(o);
}

const char *audit_rules_default(void)
{
	static char beside[4096];

	return asios_conf_data_path("ASIOS_AUDIT_RULES", AUDIT_RULES, "audit.rules", beside, sizeof(beside));
}

void audit_observe(const char *root_path, struct asios_root *root)
{
	struct audit_rules rules;
	struct audit_machine m;
	char *error = NULL, actual[AUDIT_TEXT_MAX];

	if (audit_rules_load(audit_rules_default(), AUDIT_RULES_D, &rules, &error) < 0) {
		free(error);
		return;
	}
	if (audit_machine_open(root_path, root, &m) == 0)
		for (size_t i = 0; i < rules.n; i++)
			if (rules.v[i].enabled && rules.v[i].kind != AUDIT_UNIT)
				(void)audit_judge(&m, &rules.v[i], actual, sizeof(actual));
	audit_machine_close(&m);
	audit_rules_free(&rules);
}

int verb_audit(int argc, char **argv)
{
	struct audit_args a;
	struct audit_rules rules;
	struct audit_machine m;
	struct verdict *v;
	unsigned counts[3][3] = { { 0 } };
	size_t n = 0;
	char *error = NULL;
	int r = parse(argc, argv, &a), failed = 0;

	if (r >= 0)
		return r;
	if ((r = audit_rules_load(a.rules, a.rules_d, &rules, &error)) < 0) {
		log_error("audit: %s", error ? error : strerror(-r));
		free(error);
		return 2;
	}
	if ((r = audit_machine_open(a.root, NULL, &m)) < 0) {
		log_error("audit: cannot read the machine under %s: %s", a.root, strerror(-r));
		audit_machine_close(&m);
		audit_rules_free(&rules);
		return 1;
	}
	if (!(v = calloc(rules.n ? rules.n : 1, sizeof(*v)))) {
		log_error("audit: out of memory");
		failed = 1;
	}
	for (size_t i = 0; v && i < rules.n; i++) {
		if (!rules.v[i].enabled)
			continue;
		v[n].rule = &rules.v[i];
		v[n].result = audit_judge(&m, &rules.v[i], v[n].actual, sizeof(v[n].actual));
		counts[rules.v[i].severity][v[n].result]++;
		failed |= v[n].result == AUDIT_FAIL && (int)rules.v[i].severity >= a.fail_on;
		n++;
	}
	if (v && a.json)
		print_json_report(&a, v, n, counts);
	else if (v)
		print_text(v, n, counts);
	free(v);
	audit_machine_close(&m);
	audit_rules_free(&rules);
	return failed ? 1 : 0;
}
