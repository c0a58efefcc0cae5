/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* asiosctl: one verb per file, registered in the table of asiosctl.c. */

#include <stdbool.h>

#include "asios/snapshot.h"

struct verb {
	const char *name;
	const char *args;
	const char *help;
	int (*run)(int argc, char **argv);
};

/* Open ROOT_PATH and load its snapshot; logs the error and returns NULL on failure. */
struct asios_snapshot *load_snapshot(const char *root_path, struct asios_root **root_ret);
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int verb_topology(int argc, char **argv);
int verb_snapshot(int argc, char **argv);
/* asiosctl metrics (metrics.c) */
int verb_metrics(int argc, char **argv);
/* asiosctl export slurm|kubernetes (export.c) */
int verb_export(int argc, char **argv);
/* asiosctl workload NAME --gpus LIST -- COMMAND (workload.c) */
int verb_workload(int argc, char **argv);
/* `asiosctl DOMAIN …` for a registered domain (domain.c); ARGV[0] names it */
int verb_domain(int argc, char **argv);
int verb_sched(int argc, char **argv);
/* asiosctl health check|history|reset (health.c) */
int verb_health(int argc, char **argv);
/* asiosctl tune [run]|explain|revert (tune.c) */
int verb_tune(int argc, char **argv);
/* asiosctl status (status.c) */
int verb_status(int argc, char **argv);
/* asiosctl audit (audit.c) */
int verb_audit(int argc, char **argv);
/* asiosctl sched watch (watch.c) */
int sched_watch(int argc, char **argv);

/* The files a verb's policy is read from: CONF and CONF_D when given, else DEF_CONF and DEF_DIR under ROOT
 * (as they are for "/"); the buffers hold the built paths. */
struct policy_files {
	const char *conf, *dir;
	char conf_buf[4096], dir_buf[4096];
};
void policy_files(struct policy_files *pf, const char *root, const char *conf, const char *conf_d,
		  const char *def_conf, const char *def_dir);
/* A policy reader's result R with its ERROR text: logged once ("…; nothing applied"), ERROR freed. */
int policy_loaded(int r, char *error);

struct asios_sched_policy;
/* Policy from CONF and CONF_D (defaults under ROOT); logs "FILE:LINE: …" and fails on a bad line. */
int load_sched_policy(const char *root, const char *conf, const char *conf_d, struct asios_sched_policy *pol);

void topology_print_text(const struct asios_snapshot *s);

/* The arguments of a planning verb: VERB plan|explain|apply|revert [--root] [--config] [--config-dir] [--json]
 * [--dry-run]. */
struct plan_args {
	const char *cmd, *root, *conf, *conf_d;
	bool json, dry_run;
	unsigned measure;   /* apply --measure SECONDS: the window before the apply that its effect is compared with */
	const char *only;   /* --only KIND,…: only changes of these kinds (asios_plan_keep_kinds), NULL: all */
	unsigned only_mask;
};
/* Parse them; USAGE prints the verb's help. Returns -1 to go on, or the exit status (help shown, bad argument). */
/* -r/-c/-d (--root, --config, --config-dir) with an empty ARG: said, and true (the caller exits 2) */
bool empty_option(const char *verb, int c, const char *arg);
int parse_plan_args(const char *verb, int argc, char **argv, void (*usage)(void), struct plan_args *a);
struct json_object;
/* Print O as pretty JSON on stdout and release it. */
void print_json(struct json_object *o);
/* PATH replaced whole by LEN bytes of TEXT: written to TMP beside it, then renamed over it; 0 or -errno (TMP
 * removed) */
int replace_file(const char *path, const char *tmp, const char *text, size_t len);

struct asios_action;
struct asios_plan;
/* One action of a plan as a line: "[would ]OBJECT set|affinity|migrate nodes OLD -> NEW  # REASON", or for a
 * whole file "[would ]OBJECT create|rewrite|remove PATH  # REASON". */
void print_action(const struct asios_action *a, bool would);
/* A plan: its notes, its actions (WOULD: as a dry run says them), what it leaves alone and why, a count. */
void print_plan(const struct asios_plan *p, bool would);

/* `VERB revert`: replay JOURNAL under ROOT newest first; WHAT names what was restored ("IRQ affinities").
 * Returns the exit status. */
int revert_journal(const char *root_path, const char *journal, const char *what);

struct asios_domain_run;
struct asios_apply_report;
/*
 * What a domain's verb file adds to the generic verb (domain.c); every member may be NULL: the generic help,
 * "cannot read the machine under ROOT", print_plan(), the plan's JSON, no check, "applied N, refused N,
 * left alone N (undo: asiosctl DOMAIN revert)".
 */
struct domain_view {
	const char *name;
	void (*usage)(void);
	const char *observed;      /* "cannot read the OBSERVED under ROOT: …" ("machine" when NULL) */
	void (*print)(const struct asios_snapshot *s, const struct asios_domain_run *run, bool explain, bool would);
	/* fields added to the plan's JSON object O; NULL on failure */
	struct json_object *(*json)(const struct asios_snapshot *s, const struct asios_domain_run *run, bool explain,
				    struct json_object *o);
	bool (*may_apply)(const struct asios_domain_run *run); /* false: said why, nothing applied */
	void (*applied)(const struct asios_domain_run *run, const struct asios_apply_report *rep);
};
extern const struct domain_view irq_view, numa_view, isolate_view;
