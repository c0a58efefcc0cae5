/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * asiosctl tune [run]|explain|revert: the auto-tuner (asios/tune.h). It runs the objective command for each
 * measurement, sets every candidate through asios_apply() with the run's undo journal, logs each comparison,
 * and at the end either puts everything back as it was (nothing won, or the run failed) or applies the winners
 * under the kept journal, optionally saved as a profile that the machine's own engines apply at boot.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "asios/apply.h"
#include "asios/plan.h"
#include "asios/root.h"
#include "asios/tune.h"
#include "asiosctl.h"
#include "tune.h"

static void usage(void)
{
	printf("Usage: asiosctl tune [run] --objective CMD --maximize|--minimize [--budget N] [--knobs K,…]\n"
	       "                     [--objects DISK,…] [--metric NAME] [--guard NAME[:min|max][:TOL%%]]…\n"
	       "                     [--blocks N] [--confidence C] [--min-gain PCT] [--timeout SECONDS]\n"
	       "                     [--save NAME] [--canary-netns NS | --canary-disk DISK] [--retry-lost]\n"
	       "                     [--root DIR] [--json]\n"
	       "       asiosctl tune verify NAME [--root DIR] [--json]\n"
	       "       asiosctl tune explain [--root DIR] [--json]\n"
	       "       asiosctl tune revert [--root DIR]\n\n"
	       "run      find the settings of the domains' tunable knobs (asiosctl DOMAIN knobs) that make CMD's number\n"
	       "         better, by coordinate search: each candidate against the value in force in interleaved ABBA\n"
	       "         blocks (--blocks, default 3: six paired runs), kept only when a one-sided Wilcoxon\n"
	       "         signed-rank test says it wins at --confidence (0.95) by at least --min-gain (1 %%) and no\n"
	       "         --guard got significantly worse beyond its tolerance. CMD runs with /bin/sh -c and prints a\n"
	       "         number, or NAME VALUE lines (--metric picks the objective, --guard the others). --budget caps\n"
	       "         the runs (default 60). A knob declared never below another is raised along with it. Every\n"
	       "         setting goes through the apply engine with the run's undo journal: a run that fails or finds\n"
	       "         nothing puts everything back; an interrupted one (kill, crash) is put back by the next.\n"
	       "         Winners stay, undone by `asiosctl tune revert`; --save NAME also keeps them as a profile\n"
	       "         applied at boot (schedd.conf.d, a udev rule, sysctl.d) with its evidence in %s/NAME.json.\n"
	       "         --canary-netns NS searches inside that network namespace first (per-namespace knobs), then\n"
	       "         keeps the winners only if they win on the whole machine too ($ASIOS_TUNE_SCOPE tells CMD);\n"
	       "         --canary-disk DISK does the same for block knobs: one disk first, then every disk.\n"
	       "         Comparisons that lost here before (lost.jsonl) are not made again unless --retry-lost.\n"
	       "         With --root the candidates are written into that tree and CMD finds it in $ASIOS_TUNE_ROOT.\n"
	       "verify   measure saved profile NAME again against what it replaced; retire it when it no longer\n"
	       "         wins (values and boot files back, the loss remembered). asios-tune-verify@NAME.timer: weekly.\n"
	       "explain  the comparisons of the last run: values, medians, spread, p-value, decision and why.\n"
	       "revert   put back what the kept results (and an interrupted run, canary included) changed.\n", ASIOS_TUNE_DIR);
}

int parse_guard(const char *s, struct asios_tune_opts *o)
{
	struct asios_tune_guard *g = &o->guards[o->n_guards];
	char *copy = s ? strdup(s) : NULL, *save = NULL, *name, *part;
	int r = 0;

	if (!s || o->n_guards == ASIOS_TUNE_MAX_GUARDS || !copy || !(name = strtok_r(copy, ":", &save)) ||
	    strlen(name) >= sizeof(g->name)) {
		free(copy);
		return -1;
	}
	*g = (struct asios_tune_guard){ 0 };
	snprintf(g->name, sizeof(g->name), "%s", name);
	while (r == 0 && (part = strtok_r(NULL, ":", &save))) {
		char *end;
		double t;

		if (!strcmp(part, "max") || !strcmp(part, "min"))
			g->maximize = !strcmp(part, "max");
		else if ((t = strtod(part, &end)) >= 0 && end != part && (!*end || !strcmp(end, "%")) && t <= 100000)
			g->tolerance = t / 100;
		else
			r = -1;
	}
	free(copy);
	o->n_guards += r == 0;
	return r;
}

static bool number_arg(const char *s, double lo, double hi, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	return end != s && !*end && !errno && *v >= lo && *v <= hi;
}

/* an option with a value; false: bad (said) */
static bool option(int c, const char *arg, struct tune_args *a)
{
	double v;

	switch (c) {
	case 'o': a->objective = arg; return true;
	case 'm': a->metric = arg; return true;
	case 'k': a->knobs = strdup(arg); return true;
	case 'O': a->objects = strdup(arg); return true;
	case 's': a->save = arg; return strspn(arg, "abcdefghijklmnopqrstuvwxyz0123456789-_") == strlen(arg) && *arg;
	case 'r': a->root = arg; return true;
	case 'n': a->canary = arg; return *arg && !strchr(arg, '/') && strcmp(arg, ".") && strcmp(arg, "..");
	case 'D': a->canary_disk = arg; return *arg && !strchr(arg, '/') && strcmp(arg, ".") && strcmp(arg, "..");
	case 'g': return parse_guard(arg, &a->o) == 0;
	case 'b': return number_arg(arg, 8, 100000, &v) && (a->o.budget = (unsigned)v) == v;
	case 'B': return number_arg(arg, 2, ASIOS_TUNE_MAX_PAIRS / 2, &v) && (a->o.blocks = (unsigned)v) == v;
	case 'c': return number_arg(arg, 0.5, 0.999, &a->o.confidence);
	case 'G': return number_arg(arg, 0, 1000, &v) && ((a->o.min_gain = v / 100), true);
	case 't': return number_arg(arg, 1, 86400, &v) && (a->timeout = (unsigned)v) == v;
	}
	return false;
}

static int parse(int argc, char **argv, struct tune_args *a)
{
	static const struct option opts[] = {
		{ "objective", required_argument, NULL, 'o' }, { "maximize", no_argument, NULL, 'X' },
		{ "minimize", no_argument, NULL, 'N' },        { "budget", required_argument, NULL, 'b' },
		{ "knobs", required_argument, NULL, 'k' },     { "objects", required_argument, NULL, 'O' },
		{ "metric", required_argument, NULL, 'm' },    { "guard", required_argument, NULL, 'g' },
		{ "blocks", required_argument, NULL, 'B' },    { "confidence", required_argument, NULL, 'c' },
		{ "min-gain", required_argument, NULL, 'G' },  { "timeout", required_argument, NULL, 't' },
		{ "save", required_argument, NULL, 's' },      { "root", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },            { "help", no_argument, NULL, 'h' },
		{ "retry-lost", no_argument, NULL, 'L' },      { "canary-netns", required_argument, NULL, 'n' },
		{ "canary-disk", required_argument, NULL, 'D' },
		{ 0 },
	};
	int c, li = 0;

	a->o = (struct asios_tune_opts){ .budget = 60, .blocks = 3, .confidence = 0.95, .min_gain = 0.01 };
	a->root = "/";
	a->timeout = 600;
	a->cmd = "run";
	if (argc > 1 && argv[1][0] != '-') { /* the command, then its options */
		a->cmd = argv[1];
		argv++;
		argc--;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, &li)) != -1) {
		if (c == 'h') {
			usage();
			return 0;
		} else if (c == 'X' || c == 'N') {
			a->o.maximize = c == 'X';
			a->direction = true;
		} else if (c == 'j') {
			a->json = true;
		} else if (c == 'L') {
			a->retry_lost = true;
		} else if (c == '?' || !option(c, optarg, a)) {
			if (c != '?')
				log_error("tune: bad value \"%s\" for --%s (see asiosctl tune --help)", optarg,
					  opts[li].name);
			return 2;
		}
	}
	if (!strcmp(a->cmd, "verify") && optind + 1 == argc) /* verify NAME */
		a->profile = argv[optind++];
	if (optind != argc) {
		log_error("tune: unexpected argument \"%s\" (see asiosctl tune --help)", argv[optind]);
		return 2;
	}
	return -1;
}

/* the profile's boot files: a udev rule (block), a drop-in asios-schedd applies (isolate), a sysctl.d file (net) */
enum { BOOT_UDEV, BOOT_SCHEDD, BOOT_SYSCTL, BOOT_FILES };

/* the line of the profile's boot file for knob K in F[·]; which file, or -1 when its domain has none */
static int boot_line(const struct tuner *t, const struct asios_tune_knob *k, FILE *const *f)
{
	const char *attr = strstr(k->path, "/queue/");
	char old[128], line[128];

	if (!strcmp(k->domain, "block") && attr) {
		fprintf(f[BOOT_UDEV], "ACTION==\"add|change\", SUBSYSTEM==\"block\", KERNEL==\"%s\", ATTR{%s}=\"%ld\"\n",
			k->object, attr + 1, k->best);
		return BOOT_UDEV;
	}
	if (!strcmp(k->domain, "isolate")) {
		fprintf(f[BOOT_SCHEDD], "%s = %ld\n", k->name, k->best);
		return BOOT_SCHEDD;
	}
	if (!strcmp(k->domain, "net") && knob_text(t->root, k, k->best, old, sizeof(old), line, sizeof(line)) >= 0) {
		for (char *c = line; *c; c++)
			*c = *c == '\t' ? ' ' : *c;
		fprintf(f[BOOT_SYSCTL], "%s = %s\n", k->name, line);
		return BOOT_SYSCTL;
	}
	return -1;
}

/* --save NAME: the boot files as whole-file actions of PLAN */
static int save_files(const struct tuner *t, struct asios_plan *plan)
{
	static const char *const object[BOOT_FILES] = { "udev rules", "schedd.conf.d", "sysctl.d" };
	static const char *const where[BOOT_FILES][2] = { { "/etc/udev/rules.d/61-asios-tune-", ".rules" },
							  { "/etc/asios/schedd.conf.d/60-tune-", ".conf" },
							  { "/etc/sysctl.d/61-asios-tune-", ".conf" } };
	char path[BOOT_FILES][256], *text[BOOT_FILES] = { NULL };
	size_t len[BOOT_FILES], lines[BOOT_FILES] = { 0 };
	FILE *f[BOOT_FILES];
	int r = 0;

	for (int i = 0; i < BOOT_FILES; i++) {
		if (!(f[i] = open_memstream(&text[i], &len[i])))
			r = -ENOMEM;
		snprintf(path[i], sizeof(path[i]), "%s%s%s", where[i][0], t->a->save, where[i][1]);
		if (f[i])
			fprintf(f[i], "# asiosctl tune --save %s (run %s): the evidence is in %s/%s.json\n%s", t->a->save,
				t->run_id, ASIOS_TUNE_DIR, t->a->save, i == BOOT_SCHEDD ? "[knobs]\n" : "");
	}
	for (size_t i = 0; i < t->n_space && r == 0; i++) {
		int w = t->space[i].best != t->space[i].start ? boot_line(t, &t->space[i], f) : -1;

		if (w >= 0)
			lines[w]++;
	}
	for (int i = 0; i < BOOT_FILES; i++) {
		char *old = NULL;

		if (f[i] && fclose(f[i]) != 0)
			r = -EIO;
		if (r == 0 && lines[i]) {
			(void)asios_read_file(t->root, path[i], &old, NULL);
			r = asios_plan_add_file(plan, object[i], path[i], old, text[i], "asiosctl tune --save %s: applied at boot",
						t->a->save);
			free(old);
		}
		free(text[i]);
	}
	return r;
}

/* the guards as NAME:min|max:TOL% strings, as --guard takes them (a saved profile's verify reads them back) */
static struct json_object *guards_json(const struct asios_tune_opts *o)
{
	struct json_object *a = json_object_new_array();
	char g[128];

	for (size_t i = 0; i < o->n_guards; i++) {
		snprintf(g, sizeof(g), "%s:%s:%g%%", o->guards[i].name, o->guards[i].maximize ? "max" : "min",
			 100 * o->guards[i].tolerance);
		json_object_array_add(a, json_object_new_string(g));
	}
	return a;
}

static struct json_object *summary_json(const struct tuner *t, const struct asios_tune_result *res, int r)
{
	struct json_object *o = json_object_new_object(), *set = json_object_new_array();

	json_object_object_add(o, "run", json_object_new_string(t->run_id));
	json_object_object_add(o, "objective", json_object_new_string(t->a->objective));
	json_object_object_add(o, "direction", json_object_new_string(t->a->o.maximize ? "maximize" : "minimize"));
	json_object_object_add(o, "method", json_object_new_string(
		"coordinate search, ABBA-interleaved paired runs, one-sided exact Wilcoxon signed-rank test"));
	json_object_object_add(o, "confidence", json_object_new_double(t->a->o.confidence));
	json_object_object_add(o, "min_gain", json_object_new_double(t->a->o.min_gain));
	json_object_object_add(o, "blocks", json_object_new_int64(t->a->o.blocks));
	json_object_object_add(o, "timeout", json_object_new_int64(t->a->timeout));
	if (t->a->metric)
		json_object_object_add(o, "metric", json_object_new_string(t->a->metric));
	json_object_object_add(o, "guards", guards_json(&t->a->o));
	json_object_object_add(o, "budget", json_object_new_int64(t->a->o.budget));
	json_object_object_add(o, "runs", json_object_new_int64(res->runs));
	json_object_object_add(o, "trials_run", json_object_new_int64((int64_t)res->trials));
	json_object_object_add(o, "kept", json_object_new_int64((int64_t)res->kept));
	json_object_object_add(o, "baseline", isnan(res->baseline) ? NULL : json_object_new_double(res->baseline));
	json_object_object_add(o, "best", isnan(res->best) ? NULL : json_object_new_double(res->best));
	json_object_object_add(o, "result", json_object_new_string(r < 0 ? "failed: everything put back"
								   : res->kept ? "kept" : "nothing won: everything put back"));
	for (size_t i = 0; i < t->n_space; i++) {
		struct json_object *k = json_object_new_object();

		json_object_object_add(k, "knob", json_object_new_string(t->space[i].name));
		json_object_object_add(k, "object", json_object_new_string(t->space[i].object));
		json_object_object_add(k, "domain", json_object_new_string(t->space[i].domain));
		json_object_object_add(k, "start", json_object_new_int64(t->space[i].start));
		if (t->space[i].follower)
			json_object_object_add(k, "follower", json_object_new_boolean(true));
		json_object_object_add(k, "result", json_object_new_int64(r < 0 ? t->space[i].start : t->space[i].best));
		json_object_array_add(set, k);
	}
	json_object_object_add(o, "settings", set);
	if (t->a->save && r >= 0 && res->kept)
		json_object_object_add(o, "profile", json_object_new_string(t->a->save));
	return o;
}

/* the winners (and --save's boot files) under the kept journal; the profile's evidence beside the log */
static int keep(struct tuner *t, const struct asios_tune_result *res)
{
	struct asios_plan *plan = asios_plan_new();
	char object[160], from[128], to[128], path[256];
	int r = plan ? 0 : -ENOMEM;

	for (size_t i = 0; i < t->n_space && r >= 0; i++) {
		const struct asios_tune_knob *k = &t->space[i];

		if (k->best == k->start)
			continue;
		knob_object(k, object, sizeof(object));
		if ((r = knob_text(t->root, k, k->best, from, sizeof(from), to, sizeof(to))) >= 0)
			r = asios_plan_add_write(plan, object, k->path, from, to, k->follower
						 ? "asiosctl tune: raised along with the knob it is never below"
						 : "asiosctl tune: won at the stated confidence");
	}
	if (r >= 0 && t->a->save)
		r = save_files(t, plan);
	if (r >= 0)
		r = apply_plan(t->root, plan, ASIOS_TUNE_JOURNAL);
	asios_plan_free(plan);
	if (r >= 0 && t->a->save) {
		struct json_object *o = summary_json(t, res, 0);

		json_object_object_add(o, "trials", json_object_get(t->trials));
		snprintf(path, sizeof(path), "%s/%s.json", ASIOS_TUNE_DIR, t->a->save);
		if ((r = asios_write_whole(t->root, path, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY))) < 0)
			log_error("tune: %s: %s", path, strerror(-r));
		json_object_put(o);
	}
	return r;
}

/* everything back as it was before the run, then (winners, no failure) the winners kept */
static int finish(struct tuner *t, const struct asios_tune_result *res, int r)
{
	struct asios_apply_report rep = { 0 };
	int k = asios_revert(t->root, ASIOS_TUNE_RUN_JOURNAL, &rep);

	for (size_t i = 0; i < rep.n_messages; i++)
		log_error("tune: %s", rep.messages[i]);
	asios_apply_report_clear(&rep);
	if (k < 0 && k != -ENOENT) {
		log_error("tune: the run's settings could not all be put back: asiosctl tune revert retries");
		return r < 0 ? r : k;
	}
	return r < 0 || !res->kept ? r : keep(t, res);
}

static void print_result(const struct tuner *t, const struct asios_tune_result *res, int r)
{
	printf("%s after %u runs, %zu comparisons (%zu kept)\n", r < 0 ? "stopped: everything put back"
	       : res->kept ? "kept" : "nothing won: everything put back", res->runs, res->trials, res->kept);
	if (!isnan(res->baseline))
		printf("objective median: %.6g at the start, %.6g with the result (%s)\n", res->baseline,
		       r < 0 ? res->baseline : res->best, t->a->o.maximize ? "higher is better" : "lower is better");
	for (size_t i = 0; i < t->n_space; i++) {
		char object[160];

		knob_object(&t->space[i], object, sizeof(object));
		printf("  %-28s %ld -> %ld\n", object, t->space[i].start, r < 0 ? t->space[i].start : t->space[i].best);
	}
	if (r >= 0 && res->kept)
		printf("undo: asiosctl tune revert%s%s\n", t->a->save ? "; profile " : "", t->a->save ? t->a->save : "");
}

char **split(char *list)
{
	size_t n = 0;
	char **v = calloc(strlen(list) / 2 + 2, sizeof(*v)), *save = NULL;

	for (char *w = v ? strtok_r(list, ",", &save) : NULL; w; w = strtok_r(NULL, ",", &save))
		v[n++] = w;
	return v;
}

/* the search, with what lost on this machine before left out unless --retry-lost */
int search(struct tuner *t, struct asios_tune_result *res)
{
	const struct asios_tune_ops ops = { .measure = measure, .set = set, .trial = trial };
	struct asios_tune_opts o = t->a->o;
	struct asios_tune_history *h = NULL;
	size_t n = 0;
	int r = t->a->retry_lost ? 0 : lost_history(t, &h, &n);

	if (n)
		fprintf(stderr, "asiosctl: tune: %zu comparison%s that lost on this machine before %s not made again "
			"(%s/lost.jsonl; --retry-lost makes them)\n", n, n == 1 ? "" : "s", n == 1 ? "is" : "are",
			ASIOS_TUNE_DIR);
	o.history = h;
	o.n_history = n;
	if (r >= 0)
		r = asios_tune_run(t->space, t->n_space, &o, &ops, t, res);
	free(h);
	return r;
}

static int tune_run(struct tune_args *a, struct asios_root *root)
{
	struct tuner t = { .a = a, .root = root, .trials = json_object_new_array(), .log_fd = -1,
			    .journal = ASIOS_TUNE_RUN_JOURNAL };
	struct asios_tune_result res = { .baseline = NAN, .best = NAN };
	char **names = a->knobs ? split(a->knobs) : NULL, **objects = a->objects ? split(a->objects) : NULL, *error;
	time_t now = time(NULL);
	struct tm tm;
	int lock, r;

	strftime(t.run_id, sizeof(t.run_id), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	if ((a->canary && (!asios_root_is_host(root) || !names || objects)) ||
	    (a->canary_disk && (a->canary || !names || objects))) {
		log_error("tune: --canary-netns runs on this machine (no --root) and --canary-disk on one disk, each with "
			  "--knobs naming its knobs and no --objects");
		r = -EINVAL;
		error = NULL;
	} else {
		r = a->canary || a->canary_disk ? 0 : asios_tune_space(root, (const char *const *)names, (const char *const *)objects, &t.space,
						     &t.n_space, &error);
	}
	if (r < 0) {
		log_error("tune: %s", error ? error : strerror(-r));
		free(error);
	} else if ((r = lock = begin(&t)) >= 0) {
		open_log(&t);
		setenv("ASIOS_TUNE_ROOT", a->root, 1);
		if (!a->canary && !a->canary_disk)
			fprintf(stderr, "asiosctl: tune: %zu knob%s, budget %u runs, ABBA blocks of 4, confidence %.3g\n",
				t.n_space, t.n_space == 1 ? "" : "s", a->o.budget, a->o.confidence);
		r = a->canary ? canary_run(&t, &res, names) : a->canary_disk ? canary_disk_run(&t, &res, names)
			      : search(&t, &res);
		struct json_object *sum;

		r = finish(&t, &res, r);
		log_line(&t, sum = summary_json(&t, &res, r));
		json_object_put(sum);
		close(lock);
	}
	if (a->json && t.space) {
		struct json_object *o = summary_json(&t, &res, r);

		json_object_object_add(o, "trials", json_object_get(t.trials));
		print_json(o);
	} else if (t.space) {
		print_result(&t, &res, r);
	}
	if (t.log_fd >= 0)
		close(t.log_fd);
	json_object_put(t.trials);
	free(t.space);
	free(names);
	free(objects);
	return r < 0 ? 1 : 0;
}

/* `tune revert`: an interrupted canary run's settings too */
static int canary_recover_at(const char *root_path)
{
	struct asios_root *root = NULL;
	int r = asios_root_open(root_path, &root);

	if (r < 0)
		log_error("cannot open root %s: %s", root_path, strerror(-r));
	else
		r = canary_recover(root);
	asios_root_free(root);
	return r;
}

int verb_tune(int argc, char **argv)
{
	struct tune_args a = { 0 };
	struct asios_root *root = NULL;
	int r = parse(argc, argv, &a);

	if (r < 0 && strcmp(a.cmd, "run") && strcmp(a.cmd, "explain") && strcmp(a.cmd, "revert") &&
	    strcmp(a.cmd, "verify")) {
		log_error("tune: unknown command \"%s\" (run, explain, verify, revert)", a.cmd);
		r = 2;
	} else if (r < 0 && !strcmp(a.cmd, "verify") && (!a.profile || a.save || a.canary)) {
		log_error("tune: verify takes a saved profile's NAME (see asiosctl tune --help)");
		r = 2;
	} else if (r < 0 && !strcmp(a.cmd, "run") && (!a.objective || !a.direction)) {
		log_error("tune: --objective CMD and --maximize or --minimize are needed (see asiosctl tune --help)");
		r = 2;
	} else if (r < 0 && !strcmp(a.cmd, "revert")) {
		r = revert_journal(a.root, ASIOS_TUNE_RUN_JOURNAL, "settings of an interrupted run") |
		    (canary_recover_at(a.root) < 0) |
		    revert_journal(a.root, ASIOS_TUNE_JOURNAL, "tuned settings");
	} else if (r < 0) {
		int k = asios_root_open(a.root, &root);

		if (k < 0)
			log_error("cannot open root %s: %s", a.root, strerror(-k));
		r = k < 0 ? 1 : !strcmp(a.cmd, "run") ? tune_run(&a, root) : !strcmp(a.cmd, "verify") ? tune_verify(&a, root)
			: tune_explain(&a, root);
	}
	asios_root_free(root);
	free(a.knobs);
	free(a.objects);
	return r;
}

