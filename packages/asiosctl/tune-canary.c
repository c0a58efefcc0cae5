/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * asiosctl tune --canary-disk DISK: the block knobs are searched on one disk first, the objective knowing it
 * ($ASIOS_TUNE_SCOPE canary); the winners are then set on every disk the knobs apply to and confirmed against the
 * start, all at once, before they are kept. asiosctl tune --canary-netns NAME: the search runs inside one network
 * namespace first (the knobs that have a
 * copy per namespace: net.ipv4.tcp_rmem, tcp_wmem), with the objective run there too, so that a candidate
 * touches only the canary's sockets; the rest of the machine keeps its values. What won there is then applied to
 * the whole machine and measured again against the start, all knobs at once (asios_tune_confirm); it is kept
 * only when it wins there as well. The canary's settings have their own journal, reverted inside the canary
 * (a journal replayed in another namespace would write the host's files); an interrupted run's is put back by the
 * next run or `asiosctl tune revert`, inside the namespace if it still exists.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asios/apply.h"
#include "asios/root.h"
#include "asios/tune.h"
#include "asiosctl.h"
#include "tune.h"

#define CANARY_JOURNAL "/run/asios/tune-canary.journal"
#define CANARY_NETNS "/run/asios/tune-canary.netns" /* the namespace CANARY_JOURNAL's writes went to */

/* the journal reverted inside namespace NSFD, then this process back in HOME */
static int revert_in(struct asios_root *root, int nsfd, int home)
{
	struct asios_apply_report rep = { 0 };
	int r = setns(nsfd, CLONE_NEWNET) < 0 ? -errno : asios_revert(root, CANARY_JOURNAL, &rep);

	for (size_t i = 0; i < rep.n_messages; i++)
		log_error("tune: canary: %s", rep.messages[i]);
	asios_apply_report_clear(&rep);
	if (setns(home, CLONE_NEWNET) < 0) {
		int e = errno;

		log_error("tune: canary: back to this process's network namespace: %s", strerror(e));
		return -e;
	}
	return r == -ENOENT ? 0 : r;
}

int canary_recover(struct asios_root *root)
{
	char *name = NULL, path[300];
	int r = asios_read_line(root, CANARY_NETNS, &name), nsfd, home;

	if (r == -ENOENT)
		return 0;
	if (r < 0 || !*name || strchr(name, '/')) {
		free(name);
		log_error("tune: %s: %s", CANARY_NETNS, r < 0 ? strerror(-r) : "not a namespace name");
		return r < 0 ? r : -EINVAL;
	}
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (nsfd < 0) { /* the namespace is gone, and its values with it */
		fprintf(stderr, "asiosctl: tune: an interrupted canary run's namespace %s is gone: nothing to put back\n", name);
		r = 0;
	} else {
		r = home < 0 ? -errno : revert_in(root, nsfd, home);
		if (r >= 0)
			fprintf(stderr, "asiosctl: tune: an interrupted canary run's settings in %s: put back first\n", name);
	}
	if (r >= 0)
		(void)(asios_remove_file(root, CANARY_JOURNAL) | asios_remove_file(root, CANARY_NETNS));
	if (nsfd >= 0)
		close(nsfd);
	if (home >= 0)
		close(home);
	free(name);
	return r;
}

/* the canary's space: the knobs asked for, each with a writable copy in the namespace; no followers (a
 * machine-wide knob kept at least as large has no copy there, and the canary's sockets autotune without it) */
static int canary_space(struct tuner *t, char **names, char **error)
{
	size_t n = 0;
	int r = asios_tune_space(t->root, (const char *const *)names, NULL, &t->space, &t->n_space, error);

	for (size_t i = 0; r >= 0 && i < t->n_space; i++) {
		int fd;

		if (t->space[i].follower)
			continue;
		t->space[i].at_least = 0;
		if (strncmp(t->space[i].path, "/proc/sys/net/", 14)) {
			if (asprintf(error, "%s: not a network knob: it has no copy per network namespace to run in a canary",
				     t->space[i].name) < 0)
				*error = NULL;
			r = -EINVAL;
		} else if ((fd = asios_root_open_file(t->root, t->space[i].path, O_WRONLY)) < 0) {
			if (asprintf(error, "%s: no copy of its own in network namespace %s (%s): it cannot run in a canary",
				     t->space[i].name, t->a->canary, strerror(-fd)) < 0)
				*error = NULL;
			r = -EINVAL;
		} else {
			close(fd);
			t->space[n++] = t->space[i];
		}
	}
	t->n_space = n;
	return r;
}

/* the whole machine: the same knobs (with the ones kept at least as large), the canary's winners as best */
static int machine_space(struct tuner *t, const struct asios_tune_knob *won, size_t n_won, char **names,
			 struct asios_tune_knob **ret, size_t *n)
{
	char *error = NULL;
	int r = asios_tune_space(t->root, (const char *const *)names, NULL, ret, n, &error);

	if (r < 0) {
		log_error("tune: %s", error ? error : strerror(-r));
		free(error);
		return r;
	}
	/* a won entry without an object (a canary disk's) stands for every disk that was set as the canary was: one
	 * an admin or a driver set otherwise is left as it is */
	for (size_t i = 0; i < *n; i++)
		for (size_t j = 0; j < n_won; j++)
			if (!strcmp((*ret)[i].name, won[j].name) &&
			    (*won[j].object ? !strcmp((*ret)[i].object, won[j].object) : (*ret)[i].start == won[j].start))
				(*ret)[i].best = won[j].best;
	for (size_t i = 0; i < *n; i++) { /* raised along, as the search does it */
		struct asios_tune_knob *k = &(*ret)[i], *b = k->at_least ? &(*ret)[k->at_least - 1] : NULL;

		if (b && b->best > b->start && b->best > k->start)
			k->best = b->best;
	}
	return 0;
}

/* the canary's winners on the whole machine against its start; the verdict logged and kept for --json */
static int confirm_machine(struct tuner *t, struct asios_tune_knob *m, size_t n, bool *wins)
{
	const struct asios_tune_ops ops = { .measure = measure, .set = set };
	struct asios_tune_trial *tr = calloc(1, sizeof(*tr));
	struct json_object *o;
	unsigned runs = 0;
	int r;

	if (!tr)
		return -ENOMEM;
	setenv("ASIOS_TUNE_SCOPE", "machine", 1);
	fprintf(stderr, "asiosctl: tune: the canary's winners on the whole machine against its start\n");
	t->journal = ASIOS_TUNE_RUN_JOURNAL;
	r = asios_tune_confirm(m, n, &t->a->o, &ops, t, tr, &runs);
	*wins = r >= 0 && tr->decision == ASIOS_TUNE_KEPT;
	if (r >= 0) {
		o = json_object_new_object();
		json_object_object_add(o, "run", json_object_new_string(t->run_id));
		json_object_object_add(o, "knob", json_object_new_string("(the canary's winners)"));
		json_object_object_add(o, "object", json_object_new_string("the whole machine"));
		json_object_object_add(o, "pairs", json_object_new_int64((int64_t)tr->pairs));
		json_object_object_add(o, "median_a", json_object_new_double(tr->median_a));
		json_object_object_add(o, "median_b", json_object_new_double(tr->median_b));
		json_object_object_add(o, "p", json_object_new_double(tr->p));
		json_object_object_add(o, "runs", json_object_new_int64(runs));
		json_object_object_add(o, "decision", json_object_new_string(asios_tune_decision_name(tr->decision)));
		json_object_object_add(o, "why", json_object_new_string(tr->why));
		log_line(t, o);
		json_object_array_add(t->trials, o);
		fprintf(stderr, "  %-28s %s: %s\n", "the whole machine", asios_tune_decision_name(tr->decision), tr->why);
	}
	free(tr);
	return r;
}

/* phase one inside the namespace (its journal reverted there), this process back home; 0 or negative */
static int in_canary(struct tuner *t, int nsfd, int home, struct asios_tune_result *res, char **names)
{
	char *error = NULL;
	int r;

	if (setns(nsfd, CLONE_NEWNET) < 0) {
		int e = errno;

		log_error("tune: canary: network namespace %s: %s", t->a->canary, strerror(e));
		return -e;
	}
	r = canary_space(t, names, &error);
	if (r < 0)
		log_error("tune: %s", error ? error : strerror(-r));
	free(error);
	if (r >= 0 && (r = asios_write_whole(t->root, CANARY_NETNS, t->a->canary)) < 0)
		log_error("tune: %s: %s", CANARY_NETNS, strerror(-r));
	if (r >= 0) {
		setenv("ASIOS_TUNE_SCOPE", "canary", 1);
		fprintf(stderr, "asiosctl: tune: canary: %zu knob%s in network namespace %s first\n", t->n_space,
			t->n_space == 1 ? "" : "s", t->a->canary);
		t->journal = CANARY_JOURNAL;
		r = search(t, res);
	}
	int k = revert_in(t->root, nsfd, home);

	if (k >= 0)
		(void)(asios_remove_file(t->root, CANARY_JOURNAL) | asios_remove_file(t->root, CANARY_NETNS));
	return r < 0 ? r : k;
}

/* the canary's winners on every object of the machine (and the knobs raised along), confirmed against the
 * start; T's space is then the machine's. 0, or negative. */
static int promote(struct tuner *t, struct asios_tune_result *res, char **names)
{
	struct asios_tune_knob *m = NULL;
	size_t n = 0;
	bool wins = false;
	int r = machine_space(t, t->space, t->n_space, names, &m, &n);

	if (r >= 0 && (r = confirm_machine(t, m, n, &wins)) >= 0) {
		free(t->space);
		t->space = m; /* finish() keeps these, or puts the machine back */
		t->n_space = n;
		m = NULL;
		if (!wins)
			res->kept = 0;
	}
	free(m);
	return r;
}

int canary_disk_run(struct tuner *t, struct asios_tune_result *res, char **names)
{
	const char *const objects[] = { t->a->canary_disk, NULL };
	char *error = NULL;
	int r = asios_tune_space(t->root, (const char *const *)names, objects, &t->space, &t->n_space, &error);

	for (size_t i = 0; r >= 0 && i < t->n_space; i++)
		if (strcmp(t->space[i].domain, "block")) {
			free(error);
			if (asprintf(&error, "%s: not a block knob: --canary-disk tunes the knobs of one disk first",
				     t->space[i].name) < 0)
				error = NULL;
			r = -EINVAL;
		}
	if (r < 0) {
		log_error("tune: %s", error ? error : strerror(-r));
		free(error);
		return r;
	}
	setenv("ASIOS_TUNE_SCOPE", "canary", 1);
	fprintf(stderr, "asiosctl: tune: canary: %zu knob%s on disk %s first\n", t->n_space, t->n_space == 1 ? "" : "s",
		t->a->canary_disk);
	if ((r = search(t, res)) < 0 || !res->kept)
		return r;
	/* the canary disk back to its start (the machine's space reads every start afresh), then every disk the
	 * knobs apply to, each with the canary's winner */
	struct asios_apply_report rep = { 0 };

	r = asios_revert(t->root, ASIOS_TUNE_RUN_JOURNAL, &rep);
	asios_apply_report_clear(&rep);
	if (r < 0) {
		log_error("tune: canary: the disk's settings could not be put back: %s", strerror(-r));
		return r;
	}
	for (size_t i = 0; i < t->n_space; i++)
		t->space[i].object[0] = '\0'; /* matched by name below */
	return promote(t, res, names);
}

int canary_run(struct tuner *t, struct asios_tune_result *res, char **names)
{
	char path[300];
	int nsfd, home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), r;

	snprintf(path, sizeof(path), "/run/netns/%s", t->a->canary);
	if ((nsfd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || home < 0) {
		log_error("tune: canary: %s: %s (ip netns add makes one)", nsfd < 0 ? path : "/proc/self/ns/net",
			  strerror(errno));
		if (home >= 0)
			close(home);
		return -ENOENT;
	}
	r = in_canary(t, nsfd, home, res, names);
	close(nsfd);
	close(home);
	return r >= 0 && res->kept ? promote(t, res, names) : r;
}
