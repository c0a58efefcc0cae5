/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* asiosctl tune explain: the comparisons of the last run, from the log. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asios/apply.h"
#include "asios/plan.h"
#include "asios/root.h"
#include "asios/tune.h"
#include "asiosctl.h"
#include "tune.h"

/* ---- explain, revert ---- */

static const char *str(struct json_object *o, const char *key)
{
	const char *v = json_object_get_string(json_object_object_get(o, key));

	return v ? v : "?";
}

static double num(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_double(v) : NAN;
}

static void explain_line(struct json_object *o)
{
	if (json_object_object_get_ex(o, "result", NULL)) {
		printf("run %s: %s after %s runs (%s, confidence %.3g); objective: %s\n", str(o, "run"), str(o, "result"),
		       str(o, "runs"), str(o, "direction"), num(o, "confidence"), str(o, "objective"));
		return;
	}
	printf("%s%s%s %s -> %s: %s pairs, median %.6g -> %.6g (IQR %.3g, %.3g), p %.3g: %s: %s\n", str(o, "knob"),
	       *str(o, "object") ? " " : "", str(o, "object"), str(o, "from"), str(o, "to"), str(o, "pairs"),
	       num(o, "median_a"), num(o, "median_b"), num(o, "iqr_a"), num(o, "iqr_b"), num(o, "p"),
	       str(o, "decision"), str(o, "why"));
}

/* the last run's lines of the log: printed, or as a JSON array */
int tune_explain(const struct tune_args *a, struct asios_root *root)
{
	char *text = NULL, *save = NULL, last[32] = "";
	struct json_object *all = json_object_new_array(), *mine = json_object_new_array();
	size_t no = 0;
	int r = asios_read_file(root, ASIOS_TUNE_DIR "/log.jsonl", &text, NULL);

	if (r < 0) {
		log_error("tune: %s/log.jsonl: %s", ASIOS_TUNE_DIR, r == -ENOENT ? "no run logged yet" : strerror(-r));
		json_object_put(all);
		json_object_put(mine);
		return r == -ENOENT ? 0 : 1;
	}
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct json_object *o = json_tokener_parse(line), *run;

		no++;
		if (!o || !json_object_object_get_ex(o, "run", &run)) {
			log_error("tune: %s/log.jsonl:%zu: not a line of the log; skipped", ASIOS_TUNE_DIR, no);
			json_object_put(o);
			continue;
		}
		snprintf(last, sizeof(last), "%s", json_object_get_string(run));
		json_object_array_add(all, o);
	}
	for (size_t i = 0; i < json_object_array_length(all); i++) {
		struct json_object *o = json_object_array_get_idx(all, i);

		if (!strcmp(json_object_get_string(json_object_object_get(o, "run")), last))
			json_object_array_add(mine, json_object_get(o));
	}
	if (a->json) {
		print_json(json_object_get(mine));
	} else {
		for (size_t i = 0; i < json_object_array_length(mine); i++)
			explain_line(json_object_array_get_idx(mine, i));
	}
	json_object_put(mine);
	json_object_put(all);
	free(text);
	return 0;
}

