/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "asios/apply.h"
#include "asios/domain.h"
#include "asios/plan.h"
#include "asios/root.h"
#include "asiosctl.h"

#ifndef ASIOS_VERSION
#define ASIOS_VERSION "0.1"
#endif

static const struct verb verbs[] = {
	{ "topology", "[--root DIR] [--json]", "show CPUs, NUMA nodes, devices, IRQs and isolation", verb_topology },
	{ "snapshot", "-o FILE [--root DIR]", "capture what a snapshot reads into a tarball usable as --root",
	  verb_snapshot },
	{ "metrics", "[--root DIR]", "what ASIOS knows and the drift of each domain, in the Prometheus text format",
	  verb_metrics },
	{ "export", "slurm|kubernetes|nccl",
	  "Slurm gres.conf and node line, NFD labels and kubelet config, or NCCL's topology file and nccl.conf",
	  verb_export },
	{ "workload", "NAME --gpus LIST -- CMD",
	  "a contained job: the systemd drop-in of asios-workload@NAME with its GPUs' devices, CPUs and memory",
	  verb_workload },
	{ "sched", "knobs|watch", "scheduler knobs of the profiles; eBPF watch of run queues and isolated CPUs",
	  verb_sched },
	{ "health", "check|history|reset",
	  "detect incidents (kernel log, Xid, PSI, drift, isolated CPUs) and show what healing did", verb_health },
	{ "tune", "run|explain|verify|revert",
	  "find the best settings of the domains' knobs for a workload by measurement, keep them only when they win",
	  verb_tune },
	{ "status", "[--root DIR] [--json]",
	  "each domain's drift, what its applies did and the effect of the last one on its metric", verb_status },
	{ "audit", "[--root DIR] [--json]",
	  "the machine's hardening (LSMs, lockdown, module signing, sysctls, units, sshd) against the audit rules",
	  verb_audit },
};

void log_error(const char *fmt, ...)
{
	va_list ap;

	fputs("asiosctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void policy_files(struct policy_files *pf, const char *root, const char *conf, const char *conf_d,
		  const char *def_conf, const char *def_dir)
{
	const char *prefix = !root || !strcmp(root, "/") ? "" : root;

	pf->conf = conf;
	pf->dir = conf_d;
	(void)asios_conf_set_root(*prefix ? root : NULL); /* a capture's configuration is read inside it */
	if (!conf) {
		snprintf(pf->conf_buf, sizeof(pf->conf_buf), "%s%s", prefix, def_conf);
		pf->conf = pf->conf_buf;
	}
	if (!conf_d) {
		snprintf(pf->dir_buf, sizeof(pf->dir_buf), "%s%s", prefix, def_dir);
		pf->dir = pf->dir_buf;
	}
}

int policy_loaded(int r, char *error)
{
	if (r < 0)
		log_error("%s; nothing applied", error ? error : strerror(-r));
	free(error);
	return r;
}

struct asios_snapshot *load_snapshot(const char *root_path, struct asios_root **root_ret)
{
	struct asios_snapshot *s = NULL;
	struct asios_root *root = NULL;
	char *why = NULL;
	int r;

	r = asios_root_open(root_path, &root);
	if (r < 0) {
		log_error("cannot open root %s: %s", root_path,
			  r == -ENOSYS ? "this kernel lacks openat2(2) (Linux 5.6), which keeps reads inside the root"
				       : strerror(-r));
		return NULL;
	}
	r = asios_snapshot_load_why(root, &s, &why);
	if (r < 0) {
		log_error("cannot read the machine under %s: %s", root_path,
			  why ? why : r == -ENODATA ? "no CPU topology found (is it a /sys and /proc tree?)" : strerror(-r));
		free(why);
		asios_root_free(root);
		return NULL;
	}
	if (root_ret)
		*root_ret = root;
	else
		asios_root_free(root);
	return s;
}

static void usage(FILE *f)
{
	size_t n;
	const struct asios_domain *const *d = asios_domains(&n);

	fprintf(f, "Usage: asiosctl [--version] [--help] VERB [ARGS]\n\nObserve and tune an AI server.\n\nVerbs:\n");
	for (size_t i = 0; i < 2; i++)
		fprintf(f, "  %-9s %-25s %s\n", verbs[i].name, verbs[i].args, verbs[i].help);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  %-9s %-25s %s\n", d[i]->name, "plan|explain|apply|revert", d[i]->summary);
	for (size_t i = 2; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %-9s %-25s %s\n", verbs[i].name, verbs[i].args, verbs[i].help);
	fprintf(f, "\n`asiosctl VERB --help` tells more; see asiosctl(1).\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("asiosctl %s\n", ASIOS_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[1], verbs[i].name))
			return verbs[i].run(argc - 1, argv + 1);
	if (asios_domain_find(argv[1]))
		return verb_domain(argc - 1, argv + 1);
	log_error("unknown verb '%s' (try --help)", argv[1]);
	return 2;
}

bool empty_option(const char *verb, int c, const char *arg)
{
	if (c <= 0 || !strchr("rcd", c) || !arg || *arg)
		return false;
	/* an unset variable in a script must not mean the live machine or the default files */
	log_error("%s: --%s: an empty value is not allowed (leave the option out for %s)", verb,
		  c == 'r' ? "root" : c == 'c' ? "config" : "config-dir",
		  c == 'r' ? "the running machine, /" : "the default");
	return true;
}

/* --measure SECONDS: 1 to 3600 */
static int parse_measure(const char *verb, const char *arg, unsigned *ret)
{
	char *end = NULL;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || v < 1 || v > 3600) {
		log_error("%s: --measure %s: not a number of seconds from 1 to 3600", verb, arg);
		return -1;
	}
	*ret = (unsigned)v;
	return 0;
}

/* --only KIND,…: the kinds of change a plan keeps (asios_action_kinds_parse) */
static int parse_only(const char *verb, const char *arg, struct plan_args *a)
{
	char *error = NULL;
	int r = asios_action_kinds_parse(arg, &a->only_mask, &error);

	if (r < 0)
		log_error("%s: --only %s: %s", verb, arg, error ? error : strerror(-r));
	free(error);
	a->only = arg;
	return r;
}

int parse_plan_args(const char *verb, int argc, char **argv, void (*verb_usage)(void), struct plan_args *a)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },   { "config", required_argument, NULL, 'c' },
		{ "config-dir", required_argument, NULL, 'd' }, { "json", no_argument, NULL, 'j' },
		{ "dry-run", no_argument, NULL, 'n' },      { "help", no_argument, NULL, 'h' },
		{ "measure", required_argument, NULL, 'm' }, { "only", required_argument, NULL, 'o' }, {},
	};
	int c;

	*a = (struct plan_args){ .root = "/" };
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		verb_usage();
		return argc < 2 ? 2 : 0;
	}
	a->cmd = argv[1];
	argc--, argv++;
	while ((c = getopt_long(argc, argv, "r:c:d:jnhm:", opts, NULL)) != -1) {
		if (empty_option(verb, c, optarg))
			return 2;
		switch (c) {
		case 'r':
			a->root = optarg;
			break;
		case 'c':
			a->conf = optarg;
			break;
		case 'd':
			a->conf_d = optarg;
			break;
		case 'j':
			a->json = true;
			break;
		case 'n':
			a->dry_run = true;
			break;
		case 'm':
			if (parse_measure(verb, optarg, &a->measure) < 0)
				return 2;
			break;
		case 'o':
			if (parse_only(verb, optarg, a) < 0)
				return 2;
			break;
		case 'h':
			verb_usage();
			return 0;
		default:
			return 2;
		}
	}
	if (optind != argc || (strcmp(a->cmd, "plan") && strcmp(a->cmd, "explain") && strcmp(a->cmd, "apply") &&
			       strcmp(a->cmd, "revert") && strcmp(a->cmd, "knobs"))) {
		log_error("%s: unknown command or argument (try asiosctl %s --help)", verb, verb);
		return 2;
	}
	if (a->measure && (strcmp(a->cmd, "apply") || a->dry_run)) {
		log_error("%s: --measure goes with apply (without --dry-run)", verb);
		return 2;
	}
	if (a->only && (!strcmp(a->cmd, "revert") || !strcmp(a->cmd, "knobs"))) {
		log_error("%s: --only goes with plan, explain and apply (revert restores the whole journal)", verb);
		return 2;
	}
	return -1;
}

int revert_journal(const char *root_path, const char *journal, const char *what)
{
	struct asios_apply_report rep = { 0 };
	struct asios_root *root = NULL;
	int r = asios_root_open(root_path, &root);

	if (r < 0) {
		log_error("cannot open root %s: %s", root_path,
			  r == -ENOSYS ? "this kernel lacks openat2(2) (Linux 5.6), which keeps reads inside the root"
				       : strerror(-r));
		return 1;
	}
	r = asios_revert(root, journal, &rep);
	for (size_t i = 0; i < rep.n_messages; i++)
		log_error("%s", rep.messages[i]);
	if (r == -ENOENT)
		printf("nothing to revert (no %s)\n", journal);
	else if (r == 0)
		printf("restored %zu %s\n", rep.applied, what);
	asios_apply_report_clear(&rep);
	asios_root_free(root);
	return r < 0 && r != -ENOENT ? 1 : 0;
}

int replace_file(const char *path, const char *tmp, const char *text, size_t len)
{
	FILE *f = fopen(tmp, "w");
	int r = 0;

	if (!f || fwrite(text, 1, len, f) != len)
		r = errno ? -errno : -EIO;
	if (f && fclose(f) != 0 && !r)
		r = errno ? -errno : -EIO;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0 && f)
		unlink(tmp);
	return r;
}

void print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
					       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

void print_action(const struct asios_action *a, bool would)
{
	static const char *const kinds[] = {
		[ASIOS_ACTION_WRITE] = "set", [ASIOS_ACTION_AFFINITY] = "affinity", [ASIOS_ACTION_MIGRATE] = "migrate nodes",
		[ASIOS_ACTION_ETHTOOL] = "ethtool", [ASIOS_ACTION_PCIE] = "pcie"
	};

	if (a->kind == ASIOS_ACTION_FILE) {
		printf("%s%-28s %s %s  # %s\n", would ? "would " : "", a->object,
		       !a->new_value ? "remove" : a->old_value ? "rewrite" : "create", a->path, a->reason);
		return;
	}
	printf("%s%-28s %s %s -> %s  # %s\n", would ? "would " : "", a->object, kinds[a->kind],
	       a->old_value[0] ? a->old_value : "-", a->new_value, a->reason);
}

void print_plan(const struct asios_plan *p, bool would)
{
	for (size_t i = 0; i < p->n_notes; i++)
		printf("note: %s\n", p->notes[i]);
	for (size_t i = 0; i < p->n_actions; i++)
		print_action(&p->actions[i], would);
	for (size_t i = 0; i < p->n_skipped; i++)
		printf("leave %s  # %s\n", p->skipped[i].object, p->skipped[i].reason);
	printf("%zu change%s, %zu left alone\n", p->n_actions, p->n_actions == 1 ? "" : "s", p->n_skipped);
}
