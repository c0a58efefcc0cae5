/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* The auto-tuner's saved profiles as metrics (tune.h): whether each is kept, the gain it was last measured with
 * and when, and how many comparisons lost on this machine. */
#define _GNU_SOURCE
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asios/root.h"
#include "asios/tune.h"
#include "util.h"

struct profile {
	char name[64];
	bool kept;
	double gain;         /* over what it replaced, in the better direction; NAN: not known */
	time_t checked;      /* when it was last measured (its run, or a verify); 0: not known */
};

static double number(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) &&
	       (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int))
		       ? json_object_get_double(v) : NAN;
}

static time_t run_time(struct json_object *o)
{
	struct json_object *v;
	struct tm tm = { 0 };
	const char *s = json_object_object_get_ex(o, "run", &v) ? json_object_get_string(v) : NULL;
	const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;

	return end && !*end ? timegm(&tm) : 0;
}

/* NAME.json: the profile's state; false when it is not a profile (a file of another kind, unreadable, corrupt) */
static bool read_profile(struct asios_root *root, const char *file, struct profile *p)
{
	char path[300], *text = NULL;
	struct json_object *o = NULL, *last = NULL, *dir;
	size_t len = strlen(file) - strlen(".json");
	bool ok = false;

	snprintf(path, sizeof(path), "%s/%s", ASIOS_TUNE_DIR, file);
	if (len >= sizeof(p->name) || strspn(file, "abcdefghijklmnopqrstuvwxyz0123456789-_") != len ||
	    asios_read_file(root, path, &text, NULL) < 0 || !(o = json_tokener_parse(text)) ||
	    !json_object_object_get_ex(o, "settings", NULL))
		goto out;
	snprintf(p->name, sizeof(p->name), "%.*s", (int)len, file);
	p->kept = !json_object_object_get_ex(o, "retired", &last);
	if (p->kept && !json_object_object_get_ex(o, "verified", &last))
		last = NULL;
	if (last) {
		p->gain = number(last, "gain");
		p->checked = run_time(last);
	} else {
		double a = number(o, "baseline"), b = number(o, "best");
		bool max = json_object_object_get_ex(o, "direction", &dir) &&
			   !strcmp(json_object_get_string(dir), "maximize");

		p->gain = a != 0 ? (max ? b / a - 1 : 1 - b / a) : NAN;
		p->checked = run_time(o);
	}
	ok = true;
out:
	json_object_put(o);
	free(text);
	return ok;
}

static size_t lost_lines(struct asios_root *root)
{
	char *text = NULL;
	size_t n = 0;

	if (asios_read_file(root, ASIOS_TUNE_DIR "/lost.jsonl", &text, NULL) >= 0)
		for (const char *c = text; *c; c++)
			n += *c == '\n';
	free(text);
	return n;
}

void asios_tune_metrics_write(FILE *f, struct asios_root *root)
{
	char **files = NULL;
	struct profile *p = NULL;
	size_t n = 0;

	if (asios_list_dir(root, ASIOS_TUNE_DIR, &files) >= 0)
		for (size_t i = 0; files[i]; i++) {
			size_t l = strlen(files[i]);
			struct profile *q;

			if (l <= 5 || strcmp(files[i] + l - 5, ".json") || !(q = realloc(p, (n + 1) * sizeof(*q))))
				continue;
			p = q;
			p[n] = (struct profile){ .gain = NAN };
			n += read_profile(root, files[i], &p[n]);
		}
	fputs("# HELP asios_tune_profile_kept 1 while a profile saved by asiosctl tune is kept; 0 once tune verify "
	      "found it no longer wins and retired it.\n# TYPE asios_tune_profile_kept gauge\n", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "asios_tune_profile_kept{profile=\"%s\"} %d\n", p[i].name, p[i].kept);
	fputs("# HELP asios_tune_profile_gain_ratio The profile's gain over the values it replaced (in its objective's "
	      "better direction) when it was last measured: by its run, or by tune verify.\n"
	      "# TYPE asios_tune_profile_gain_ratio gauge\n", f);
	for (size_t i = 0; i < n; i++)
		if (!isnan(p[i].gain))
			fprintf(f, "asios_tune_profile_gain_ratio{profile=\"%s\"} %.6g\n", p[i].name, p[i].gain);
	fputs("# HELP asios_tune_profile_checked_timestamp_seconds When the profile was last measured against what it "
	      "replaced (its run, or tune verify).\n# TYPE asios_tune_profile_checked_timestamp_seconds gauge\n", f);
	for (size_t i = 0; i < n; i++)
		if (p[i].checked)
			fprintf(f, "asios_tune_profile_checked_timestamp_seconds{profile=\"%s\"} %lld\n", p[i].name,
				(long long)p[i].checked);
	fprintf(f, "# HELP asios_tune_lost_comparisons Comparisons that lost on this machine (lost.jsonl): later runs "
		"do not make them again unless asked.\n# TYPE asios_tune_lost_comparisons gauge\n"
		"asios_tune_lost_comparisons %zu\n", lost_lines(root));
	free(p);
	asios_strv_free(files);
}
