/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* asiosctl tune: what its files share (tune.c: the command and the run; tune-trial.c: the objective, the
 * settings and the log; tune-explain.c: explain and verify). */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "asios/root.h"
#include "asios/tune.h"

struct tune_args {
	const char *cmd, *root, *objective, *metric, *save;
	const char *profile;   /* verify NAME */
	const char *canary;    /* --canary-netns NAME */
	const char *canary_disk; /* --canary-disk DISK */
	char *knobs, *objects;
	struct asios_tune_opts o;
	unsigned timeout;
	bool json, direction, retry_lost;
};

struct tuner {
	const struct tune_args *a;
	struct asios_root *root;
	char run_id[32];
	struct asios_tune_knob *space;
	size_t n_space;
	struct json_object *trials;
	int log_fd;
	const char *journal;   /* where set() records: the run's journal, or the canary's */
};

/* tune-trial.c: one run of the objective (asios_tune_ops.measure) */
int measure(void *userdata, double *objective, double *guards);
/* "name object" of K into BUF */
void knob_object(const struct asios_tune_knob *k, char *buf, size_t size);
/* PLAN applied under JOURNAL: 0, -EPERM when the kernel refused a write, or the engine's error (said) */
int apply_plan(struct asios_root *root, const struct asios_plan *plan, const char *journal);
/* the file of knob K as it is (OLD) and with its number at VALUE (NEW): 0, or a negative errno */
int knob_text(struct asios_root *root, const struct asios_tune_knob *k, long value, char *old, size_t olen, char *new,
	      size_t nlen);
/* K to VALUE through the apply engine, recorded in the tuner's journal (asios_tune_ops.set) */
int set(void *userdata, const struct asios_tune_knob *k, long value);
struct json_object *trial_json(const struct tuner *t, const struct asios_tune_knob *k,
			       const struct asios_tune_trial *tr);
/* one line of the log (log.jsonl) */
void log_line(struct tuner *t, struct json_object *o);
/* a comparison decided: logged, kept for --json, said on stderr (asios_tune_ops.trial) */
void trial(void *userdata, const struct asios_tune_trial *tr);
/* the lock for the whole run, then an interrupted run's settings put back: the lock's fd, or negative (said) */
int begin(struct tuner *t);
void open_log(struct tuner *t);

/* tune.c */
char **split(char *list);
/* the search over T's space (what lost here before left out unless --retry-lost) */
int search(struct tuner *t, struct asios_tune_result *res);

/* tune-canary.c: the search in network namespace --canary-netns, then its winners confirmed on the whole
 * machine; T's space is then the machine's (for finish) */
int canary_run(struct tuner *t, struct asios_tune_result *res, char **names);
/* the block knobs searched on --canary-disk first, then confirmed on every disk */
int canary_disk_run(struct tuner *t, struct asios_tune_result *res, char **names);
/* an interrupted canary run's settings put back inside its namespace (gone: nothing to do): 0 or negative */
int canary_recover(struct asios_root *root);
/* NAME[:min|max][:TOL%] into O's guards: 0, or -1 when it is not one */
int parse_guard(const char *s, struct asios_tune_opts *o);

/* tune-explain.c */
int tune_explain(const struct tune_args *a, struct asios_root *root);

/* tune-verify.c: a saved profile measured again against the values it replaced; retired when it lost */
int tune_verify(struct tune_args *a, struct asios_root *root);
/* the comparisons that lost on this machine before (lost.jsonl) among T's space, into A's history (free()) */
int lost_history(struct tuner *t, struct asios_tune_history **ret, size_t *n);
/* one lost comparison appended to lost.jsonl */
void lost_add(struct tuner *t, const struct asios_tune_knob *k, long from, long to, const char *why);
