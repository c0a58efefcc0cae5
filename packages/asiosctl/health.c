/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * asiosctl health check|history|reset: one detection pass on the live machine or a capture (what asios-healthd
 * would find, without acting), the incident log and what each action did, and the circuit breaker's reset.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asios/health.h"
#include "asios/root.h"
#include "asiosctl.h"

struct health_args {
	const char *root, *conf, *conf_d, *signatures;
	bool json, all;
};

static void usage(void)
{
	printf("Usage: asiosctl health check [--root DIR] [--config FILE] [--config-dir DIR] [--signatures FILE] [--json]\n"
	       "       asiosctl health history [--root DIR] [--json]\n"
	       "       asiosctl health reset [--root DIR] [--all]\n\n"
	       "check    one detection pass, as asios-healthd makes it, without acting: the kernel log since boot\n"
	       "         (NVIDIA Xid events with the catalogue's meaning and action, machine checks, EDAC, PCIe AER,\n"
	       "         NVMe, hung tasks, lockups, OOM kills), pressure (PSI), the drift of every applied domain and\n"
	       "         tasks outside the workload on isolated CPUs. On a capture with --root. Exit status 0 healthy,\n"
	       "         1 incidents found, 2 when the policy or the machine cannot be read.\n"
	       "history  the incident log (what was seen, what was done, before and after, the outcome) and, per\n"
	       "         signature and action, how often it helped; an action that did not help is demoted.\n"
	       "reset    close the circuit breaker (acting resumes); --all also forgets the demotions.\n\n"
	       "The signatures are read from %s (--signatures, or the environment's\n"
	       "ASIOS_HEALTH_SIGNATURES), then %s and %s/*.conf under the root.\n",
	       ASIOS_HEALTH_SIGNATURES, ASIOS_HEALTH_CONF, ASIOS_HEALTH_CONF_D);
}

static int parse(int argc, char **argv, struct health_args *a)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },      { "config", required_argument, NULL, 'c' },
		{ "config-dir", required_argument, NULL, 'd' }, { "signatures", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },            { "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },            { 0 },
	};
	int c;

	*a = (struct health_args){ .root = "/", .signatures = asios_health_signatures_path() };
	optind = 1;
	while ((c = getopt_long(argc, argv, "r:c:d:s:jah", opts, NULL)) != -1) {
		if (empty_option("health", c, optarg))
			return 2;
		switch (c) {
		case 'r': a->root = optarg; break;
		case 'c': a->conf = optarg; break;
		case 'd': a->conf_d = optarg; break;
		case 's': a->signatures = optarg; break;
		case 'j': a->json = true; break;
		case 'a': a->all = true; break;
		case 'h': usage(); return 0;
		default: return 2;
		}
	}
	if (optind != argc) {
		log_error("health: unexpected argument \"%s\" (see asiosctl health --help)", argv[optind]);
		return 2;
	}
	return -1;
}

static void warn(void *userdata, const char *what)
{
	(void)userdata;
	log_error("health: %s", what);
}

static struct json_object *incident_json(const struct asios_health_incident *inc)
{
	const struct asios_health_signature *s = inc->sig;
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "signature", json_object_new_string(s->name));
	json_object_object_add(o, "source", json_object_new_string(asios_health_source_name(s->source)));
	json_object_object_add(o, "severity", json_object_new_string(asios_health_severity_name(s->severity)));
	json_object_object_add(o, "object", json_object_new_string(inc->object));
	json_object_object_add(o, "detail", json_object_new_string(inc->detail));
	json_object_object_add(o, "value", json_object_new_double(inc->value));
	if (inc->pid)
		json_object_object_add(o, "pid", json_object_new_int(inc->pid));
	json_object_object_add(o, "repeats", json_object_new_int((int)inc->repeats));
	json_object_object_add(o, "meaning", s->meaning ? json_object_new_string(s->meaning) : NULL);
	json_object_object_add(o, "advice", s->advice ? json_object_new_string(s->advice) : NULL);
	json_object_object_add(o, "action", json_object_new_string(asios_health_action_name(s->ladder[0])));
	json_object_object_add(o, "acts", json_object_new_boolean(s->act));
	return o;
}

static void print_incidents(const struct asios_health_incidents *l)
{
	if (!l->n) {
		printf("healthy: no incident\n");
		return;
	}
	for (size_t i = 0; i < l->n; i++) {
		const struct asios_health_incident *inc = &l->v[i];
		const struct asios_health_signature *s = inc->sig;

		printf("%-8s %s on %s: %s", asios_health_severity_name(s->severity), s->name, inc->object, inc->detail);
		if (inc->repeats)
			printf(" (and %u more like it)", inc->repeats);
		putchar('\n');
		if (s->meaning)
			printf("         %s\n", s->meaning);
		if (s->advice)
			printf("         advice: %s\n", s->advice);
		printf("         action: %s%s\n", asios_health_action_name(s->ladder[0]), s->act ? "" : " (advised only)");
	}
	printf("%zu incident%s\n", l->n, l->n == 1 ? "" : "s");
}

static int load_policy(const struct health_args *a, struct asios_health_policy *p)
{
	struct policy_files pf;
	char *error = NULL;
	int r;

	policy_files(&pf, a->root, a->conf, a->conf_d, ASIOS_HEALTH_CONF, ASIOS_HEALTH_CONF_D);
	r = asios_health_policy_read(p, a->signatures, pf.conf, pf.dir, &error);
	if (r < 0) {
		log_error("%s; nothing checked", error ? error : "cannot read the health policy");
		free(error);
	}
	return r;
}

static int health_check(const struct health_args *a)
{
	struct asios_health_policy p;
	struct asios_health_incidents l = { 0 };
	struct asios_root *root = NULL;
	struct asios_snapshot *s;
	int r;

	if (load_policy(a, &p) < 0)
		return 2;
	if (!(s = load_snapshot(a->root, &root))) {
		asios_health_policy_clear(&p);
		return 2;
	}
	r = asios_health_detect(root, a->root, s, &p, NULL, &l, warn, NULL);
	if (r < 0)
		log_error("health: detection failed: %s", strerror(-r));
	else if (a->json) {
		struct json_object *o = json_object_new_object(), *arr = json_object_new_array();

		for (size_t i = 0; i < l.n; i++)
			json_object_array_add(arr, incident_json(&l.v[i]));
		json_object_object_add(o, "healthy", json_object_new_boolean(l.n == 0));
		json_object_object_add(o, "incidents", arr);
		print_json(o);
	} else
		print_incidents(&l);
	r = r < 0 ? 2 : l.n ? 1 : 0;
	asios_health_incidents_clear(&l);
	asios_snapshot_free(s);
	asios_root_free(root);
	asios_health_policy_clear(&p);
	return r;
}

static void print_history_text(const char *text, const struct asios_health_state *st)
{
	printf("%-20s %-22s %-28s %-10s %-12s %s\n", "TIME", "SIGNATURE", "OBJECT", "ACTION", "OUTCOME", "NOTE");
	for (const char *q = text; q && *q;) {
		const char *nl = strchr(q, '\n');
		char *line = strndup(q, nl ? (size_t)(nl - q) : strlen(q));
		struct json_object *o = line ? json_tokener_parse(line) : NULL, *v;
		char when[32] = "?";

		if (o) {
			time_t t = json_object_object_get_ex(o, "time", &v) ? (time_t)json_object_get_double(v) : 0;
			struct tm tm;

			if (t && gmtime_r(&t, &tm))
				strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
#define F(k) (json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "")
			printf("%-20s %-22s %-28s %-10s %-12s %s\n", when, F("signature"), F("object"), F("action"),
			       F("outcome"), F("note"));
#undef F
			json_object_put(o);
		}
		free(line);
		q = nl ? nl + 1 : NULL;
	}
	printf("\n%-22s %-10s %9s %8s %11s %8s %s\n", "SIGNATURE", "ACTION", "INCIDENTS", "IMPROVED", "ROLLED-BACK",
	       "FAILED", "DEMOTED");
	for (size_t i = 0; i < st->n_keys; i++) {
		const struct asios_heal_key *k = &st->keys[i];

		if (k->object[0])
			continue;
		printf("%-22s %-10s %9" PRIu64 " %8" PRIu64 " %11" PRIu64 " %8" PRIu64 " %s\n", k->signature,
		       asios_health_action_name(k->action), k->incidents, k->outcomes[ASIOS_HEAL_IMPROVED],
		       k->outcomes[ASIOS_HEAL_ROLLED_BACK], k->outcomes[ASIOS_HEAL_FAILED], k->demoted ? "yes" : "no");
	}
	printf("circuit breaker: %s\n", st->breaker_open ? "open (advising only; asiosctl health reset)" : "closed");
}

static struct json_object *history_json(const char *text, const struct asios_health_state *st)
{
	struct json_object *o = json_object_new_object(), *inc = json_object_new_array(), *acts = json_object_new_array();

	for (const char *q = text; q && *q;) {
		const char *nl = strchr(q, '\n');
		char *line = strndup(q, nl ? (size_t)(nl - q) : strlen(q));
		struct json_object *e = line ? json_tokener_parse(line) : NULL;

		if (e)
			json_object_array_add(inc, e);
		free(line);
		q = nl ? nl + 1 : NULL;
	}
	for (size_t i = 0; i < st->n_keys; i++) {
		const struct asios_heal_key *k = &st->keys[i];
		struct json_object *a, *out;

		if (k->object[0])
			continue;
		a = json_object_new_object();
		out = json_object_new_object();
		json_object_object_add(a, "signature", json_object_new_string(k->signature));
		json_object_object_add(a, "action", json_object_new_string(asios_health_action_name(k->action)));
		json_object_object_add(a, "incidents", json_object_new_int64((int64_t)k->incidents));
		for (int j = 0; j < _ASIOS_HEAL_OUTCOME_MAX; j++)
			json_object_object_add(out, asios_heal_outcome_name(j), json_object_new_int64((int64_t)k->outcomes[j]));
		json_object_object_add(a, "outcomes", out);
		json_object_object_add(a, "demoted", json_object_new_boolean(k->demoted));
		json_object_array_add(acts, a);
	}
	json_object_object_add(o, "incidents", inc);
	json_object_object_add(o, "actions", acts);
	json_object_object_add(o, "breaker_open", json_object_new_boolean(st->breaker_open));
	return o;
}

static int health_history(const struct health_args *a, bool reset)
{
	struct asios_root *root = NULL;
	struct asios_health_state st;
	char *text = NULL, *bad = NULL;
	size_t len;
	int r = asios_root_open(a->root, &root);

	if (r < 0) {
		log_error("health: cannot open the root %s: %s", a->root, strerror(-r));
		return 2;
	}
	if ((r = asios_health_state_read(root, &st, &bad)) < 0) {
		log_error("health: %s", bad ? bad : strerror(-r));
		free(bad);
		asios_root_free(root);
		return 2;
	}
	if (reset) {
		asios_health_state_reset(&st, a->all);
		if ((r = asios_health_state_write(root, &st)) < 0)
			log_error("health: cannot write the state: %s", strerror(-r));
		else
			printf("circuit breaker closed%s\n", a->all ? "; demotions forgotten" : "");
	} else {
		(void)asios_read_file(root, ASIOS_HEALTH_DIR "/incidents", &text, &len);
		if (a->json)
			print_json(history_json(text, &st));
		else
			print_history_text(text, &st);
		free(text);
		r = 0;
	}
	asios_root_free(root);
	return r < 0 ? 1 : 0;
}

int verb_health(int argc, char **argv)
{
	struct health_args a;
	const char *cmd = argc > 1 ? argv[1] : NULL;
	int r;

	if (!cmd || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage();
		return cmd ? 0 : 2;
	}
	if (strcmp(cmd, "check") && strcmp(cmd, "history") && strcmp(cmd, "reset")) {
		log_error("health: unknown command \"%s\" (check, history, reset)", cmd);
		return 2;
	}
	if ((r = parse(argc - 1, argv + 1, &a)) >= 0)
		return r;
	if (!strcmp(cmd, "check"))
		return health_check(&a);
	return health_history(&a, !strcmp(cmd, "reset"));
}
