/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * asiosctl tune verify NAME: the online half of the tuner. A saved profile is measured again with its own
 * objective, its values in force against the values it replaced, in the same ABBA blocks and tests
 * (asios_tune_confirm). When it still wins it stays; when it no longer does it is retired: its values are put
 * back, its boot files removed (under the kept journal: `asiosctl tune revert` undoes the retirement too), and
 * each of its comparisons is remembered in lost.jsonl, so that a later run does not try it again blindly
 * (--retry-lost does). asios-tune-verify@NAME.timer runs it weekly.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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

#define LOST ASIOS_TUNE_DIR "/lost.jsonl"

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v) : NULL;
}

static bool jnum(struct json_object *o, const char *key, double *ret)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
		return false;
	*ret = json_object_get_double(v);
	return true;
}

/* ---- lost comparisons ---- */

void lost_add(struct tuner *t, const struct asios_tune_knob *k, long from, long to, const char *why)
{
	struct json_object *o = json_object_new_object();
	const char *s;
	int fd = asios_root_open_file(t->root, LOST, O_WRONLY | O_APPEND | O_CREAT);

	json_object_object_add(o, "run", json_object_new_string(t->run_id));
	json_object_object_add(o, "knob", json_object_new_string(k->name));
	json_object_object_add(o, "object", json_object_new_string(k->object));
	json_object_object_add(o, "from", json_object_new_int64(from));
	json_object_object_add(o, "to", json_object_new_int64(to));
	json_object_object_add(o, "why", json_object_new_string(why));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (fd < 0 || write(fd, s, strlen(s)) < 0 || write(fd, "\n", 1) < 0)
		log_error("tune: %s: %s (the loss is not remembered)", LOST, strerror(fd < 0 ? -fd : errno));
	if (fd >= 0)
		close(fd);
	json_object_put(o);
}

/* the entry of line LINE in T's space: its index, or -1 */
static ssize_t lost_knob(const struct tuner *t, struct json_object *o)
{
	const char *name = jstr(o, "knob"), *object = jstr(o, "object");

	for (size_t i = 0; name && object && i < t->n_space; i++)
		if (!strcmp(t->space[i].name, name) && !strcmp(t->space[i].object, object))
			return (ssize_t)i;
	return -1;
}

int lost_history(struct tuner *t, struct asios_tune_history **ret, size_t *n)
{
	char *text = NULL, *save = NULL;
	size_t no = 0;
	int r = asios_read_file(t->root, LOST, &text, NULL);

	*ret = NULL;
	*n = 0;
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		log_error("tune: %s: %s", LOST, strerror(-r));
		return r;
	}
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct json_object *o = json_tokener_parse(line);
		struct asios_tune_history *h;
		double from, to;
		ssize_t k;

		no++;
		if (!o || !jnum(o, "from", &from) || !jnum(o, "to", &to)) {
			log_error("tune: %s:%zu: not a line of lost comparisons; skipped", LOST, no);
		} else if ((k = lost_knob(t, o)) >= 0 && (h = realloc(*ret, (*n + 1) * sizeof(*h)))) {
			*ret = h;
			h[(*n)++] = (struct asios_tune_history){ .knob = (size_t)k, .from = (long)from, .to = (long)to };
		}
		json_object_put(o);
	}
	free(text);
	return 0;
}

/* ---- the profile ---- */

/* the measurement settings of PROFILE (NAME.json) into A: 0, or -EINVAL (said) */
static int profile_args(struct tune_args *a, struct json_object *p, const char *path)
{
	struct json_object *g = NULL;
	double v;

	a->objective = jstr(p, "objective");
	a->metric = jstr(p, "metric");
	a->o.maximize = jstr(p, "direction") && !strcmp(jstr(p, "direction"), "maximize");
	if (jnum(p, "confidence", &v) && v >= 0.5 && v < 1)
		a->o.confidence = v;
	if (jnum(p, "min_gain", &v) && v >= 0)
		a->o.min_gain = v;
	if (jnum(p, "blocks", &v) && v >= 2 && v <= ASIOS_TUNE_MAX_PAIRS / 2)
		a->o.blocks = (unsigned)v;
	if (jnum(p, "timeout", &v) && v >= 1)
		a->timeout = (unsigned)v;
	a->o.n_guards = 0;
	if (json_object_object_get_ex(p, "guards", &g) && !json_object_is_type(g, json_type_array)) {
		log_error("tune: %s: \"guards\" is not a list: not a saved profile", path);
		return -EINVAL;
	}
	for (size_t i = 0; g && i < json_object_array_length(g); i++)
		if (parse_guard(json_object_get_string(json_object_array_get_idx(g, i)), &a->o) < 0) {
			log_error("tune: %s: guard \"%s\" is not NAME:min|max:TOL%%", path,
				  json_object_get_string(json_object_array_get_idx(g, i)));
			return -EINVAL;
		}
	if (!a->objective || !jstr(p, "direction")) {
		log_error("tune: %s: no objective or direction: not a saved profile", path);
		return -EINVAL;
	}
	return 0;
}

/* the profile's knobs as T's space: start = what it replaced, best = what it keeps, each in force now */
static int profile_space(struct tuner *t, struct json_object *settings, const char *path)
{
	size_t n = json_object_array_length(settings), m = 0;
	char **names = calloc(n + 1, sizeof(*names)), **objects = calloc(n + 1, sizeof(*objects)), *error = NULL;
	int r = names && objects ? 0 : -ENOMEM;

	for (size_t i = 0; r == 0 && i < n; i++) {
		struct json_object *s = json_object_array_get_idx(settings, i);

		names[i] = (char *)jstr(s, "knob");
		if (jstr(s, "object") && *jstr(s, "object"))
			objects[m++] = (char *)jstr(s, "object");
		if (!names[i]) {
			log_error("tune: %s: setting %zu names no knob: not a saved profile", path, i + 1);
			r = -EINVAL;
		}
	}
	if (r == 0 && (r = asios_tune_space(t->root, (const char *const *)names, m ? (const char *const *)objects : NULL,
					    &t->space, &t->n_space, &error)) < 0)
		log_error("tune: %s: %s", path, error ? error : strerror(-r));
	for (size_t i = 0; r == 0 && i < t->n_space; i++) {
		struct asios_tune_knob *k = &t->space[i];
		bool found = false;
		double start, result;

		for (size_t j = 0; j < n && !found; j++) {
			struct json_object *s = json_object_array_get_idx(settings, j), *f;

			found = !strcmp(jstr(s, "knob") ? jstr(s, "knob") : "", k->name) &&
				!strcmp(jstr(s, "object") ? jstr(s, "object") : "", k->object) &&
				jnum(s, "start", &start) && jnum(s, "result", &result);
			k->follower = found && json_object_object_get_ex(s, "follower", &f) && json_object_get_boolean(f);
		}
		if (!found || (long)result != k->start) {
			char object[160];

			knob_object(k, object, sizeof(object));
			if (found)
				log_error("tune: the profile is not in force: %s is %ld, the profile keeps %ld (%s)", object,
					  k->start, (long)result, path);
			else
				log_error("tune: %s: %s is not among the profile's settings", path, object);
			r = -ESTALE;
		} else {
			k->best = (long)result;
			k->start = (long)start;
		}
	}
	free(error);
	free(names);
	free(objects);
	return r;
}

/* ---- verify ---- */

/* the profile's values put back and its boot files removed, under the kept journal */
static int retire(struct tuner *t, const char *name)
{
	static const char *const boot[][2] = { { "/etc/udev/rules.d/61-asios-tune-", ".rules" },
					       { "/etc/asios/schedd.conf.d/60-tune-", ".conf" },
					       { "/etc/sysctl.d/61-asios-tune-", ".conf" } };
	struct asios_plan *plan = asios_plan_new();
	char object[160], from[128], to[128], path[256], *old;
	int r = plan ? 0 : -ENOMEM;

	for (size_t i = 0; r >= 0 && i < t->n_space; i++) {
		const struct asios_tune_knob *k = &t->space[i];

		if (k->best == k->start)
			continue;
		knob_object(k, object, sizeof(object));
		if ((r = knob_text(t->root, k, k->start, from, sizeof(from), to, sizeof(to))) >= 0)
			r = asios_plan_add_write(plan, object, k->path, from, to,
						 "asiosctl tune verify %s: the profile no longer wins", name);
	}
	for (size_t i = 0; r >= 0 && i < sizeof(boot) / sizeof(boot[0]); i++) {
		snprintf(path, sizeof(path), "%s%s%s", boot[i][0], name, boot[i][1]);
		old = NULL;
		if (asios_read_file(t->root, path, &old, NULL) >= 0)
			r = asios_plan_add_file(plan, "boot file", path, old, NULL, "asiosctl tune verify %s: retired", name);
		free(old);
	}
	if (r >= 0)
		r = apply_plan(t->root, plan, ASIOS_TUNE_JOURNAL);
	asios_plan_free(plan);
	return r;
}

/* the verdict into the log, the profile's file and (retired) lost.jsonl; the verdict as JSON */
static struct json_object *record(struct tuner *t, struct json_object *profile, const char *path,
				  const struct asios_tune_trial *tr, unsigned runs, bool wins)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "run", json_object_new_string(t->run_id));
	json_object_object_add(o, "profile", json_object_new_string(t->a->profile));
	json_object_object_add(o, "verify", json_object_new_string(wins ? "still wins" : "retired"));
	json_object_object_add(o, "runs", json_object_new_int64(runs));
	json_object_object_add(o, "pairs", json_object_new_int64((int64_t)tr->pairs));
	json_object_object_add(o, "median_before", json_object_new_double(tr->median_a));
	json_object_object_add(o, "median_profile", json_object_new_double(tr->median_b));
	json_object_object_add(o, "gain", json_object_new_double(tr->gain));
	json_object_object_add(o, "p", json_object_new_double(tr->p));
	json_object_object_add(o, "decision", json_object_new_string(asios_tune_decision_name(tr->decision)));
	json_object_object_add(o, "why", json_object_new_string(tr->why));
	log_line(t, o);
	if (wins) {
		json_object_object_add(profile, "verified", json_object_get(o));
		if (asios_write_whole(t->root, path, json_object_to_json_string_ext(profile, JSON_C_TO_STRING_PRETTY)) < 0)
			log_error("tune: %s: the verdict could not be recorded", path);
	} else {
		for (size_t i = 0; i < t->n_space; i++)
			if (t->space[i].best != t->space[i].start && !t->space[i].follower)
				lost_add(t, &t->space[i], t->space[i].start, t->space[i].best, tr->why);
		json_object_object_add(profile, "retired", json_object_get(o));
		if (asios_write_whole(t->root, path, json_object_to_json_string_ext(profile, JSON_C_TO_STRING_PRETTY)) < 0)
			log_error("tune: %s: could not be marked retired", path);
	}
	return o;
}

/* the profile against what it replaced: a verdict, or NULL (said) */
static struct json_object *confirm_profile(struct tuner *t, struct json_object *profile, const char *path)
{
	const struct asios_tune_ops ops = { .measure = measure, .set = set };
	struct asios_apply_report rep = { 0 };
	struct asios_tune_trial *tr = calloc(1, sizeof(*tr));
	unsigned runs = 0;
	bool wins;
	int r = tr ? asios_tune_confirm(t->space, t->n_space, &t->a->o, &ops, t, tr, &runs) : -ENOMEM;
	int k = asios_revert(t->root, ASIOS_TUNE_RUN_JOURNAL, &rep); /* the profile's values in force again */

	asios_apply_report_clear(&rep);
	if (r < 0 || (k < 0 && k != -ENOENT)) {
		log_error("tune: verify %s stopped (%s): the profile is left as it was", t->a->profile,
			  strerror(-(r < 0 ? r : k)));
		free(tr);
		return NULL;
	}
	wins = tr->decision == ASIOS_TUNE_KEPT;
	if (!wins && (r = retire(t, t->a->profile)) < 0) {
		log_error("tune: verify %s: the profile lost but could not be retired: %s", t->a->profile, strerror(-r));
		free(tr);
		return NULL;
	}
	struct json_object *o = record(t, profile, path, tr, runs, wins);

	free(tr);
	return o;
}

/* PATH read and parsed: 0, or negative (said) */
static int read_profile(struct asios_root *root, const char *path, char **text, struct json_object **profile,
			struct json_object **settings)
{
	int r = asios_read_file(root, path, text, NULL);

	if (r < 0) {
		log_error("tune: %s: %s", path, r == -ENOENT ? "no such profile (asiosctl tune --save NAME makes one)"
							 : strerror(-r));
		return r;
	}
	if (!(*profile = json_tokener_parse(*text)) || !json_object_object_get_ex(*profile, "settings", settings) ||
	    !json_object_is_type(*settings, json_type_array)) {
		log_error("tune: %s: not a saved profile", path);
		return -EINVAL;
	}
	if (json_object_object_get_ex(*profile, "retired", NULL)) {
		log_error("tune: %s: retired already; its evidence stays in the file", path);
		return -ESTALE;
	}
	return 0;
}

int tune_verify(struct tune_args *a, struct asios_root *root)
{
	struct tuner t = { .a = a, .root = root, .trials = NULL, .log_fd = -1, .journal = ASIOS_TUNE_RUN_JOURNAL };
	struct json_object *profile = NULL, *settings, *v = NULL;
	char path[300], *text = NULL;
	time_t now = time(NULL);
	struct tm tm;
	int lock = -1, r;

	strftime(t.run_id, sizeof(t.run_id), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	snprintf(path, sizeof(path), "%s/%s.json", ASIOS_TUNE_DIR, a->profile);
	r = read_profile(root, path, &text, &profile, &settings);
	if (r >= 0 && (r = profile_args(a, profile, path)) >= 0 && (r = profile_space(&t, settings, path)) >= 0 &&
	    (r = lock = begin(&t)) >= 0) {
		open_log(&t);
		setenv("ASIOS_TUNE_ROOT", a->root, 1);
		fprintf(stderr, "asiosctl: tune: verify %s: %s against what it replaced, %u ABBA blocks\n", a->profile,
			a->objective, a->o.blocks);
		r = (v = confirm_profile(&t, profile, path)) ? 0 : -EIO;
	}
	if (v && a->json)
		print_json(json_object_get(v));
	else if (v)
		printf("%s: %s (%s; median %.6g before, %.6g with the profile)\n", a->profile,
		       json_object_get_string(json_object_object_get(v, "verify")), jstr(v, "why"),
		       json_object_get_double(json_object_object_get(v, "median_before")),
		       json_object_get_double(json_object_object_get(v, "median_profile")));
	json_object_put(v);
	json_object_put(profile);
	if (lock >= 0)
		close(lock);
	if (t.log_fd >= 0)
		close(t.log_fd);
	free(t.space);
	free(text);
	return r < 0 ? 1 : 0;
}
