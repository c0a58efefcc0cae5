/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* asiosctl tune: the objective command run for each measurement, every setting through the apply engine with
 * the run's undo journal, and the log of each comparison. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "asios/apply.h"
#include "asios/plan.h"
#include "asios/root.h"
#include "asios/domain.h"
#include "asios/tune.h"
#include "asiosctl.h"
#include "tune.h"


extern char **environ;

/* ---- the objective ---- */

/* NAME's value in OUT ("NAME VALUE" or "NAME=VALUE" lines); NULL NAME: a bare number, else the first value */
static double value_of(const char *out, const char *name)
{
	const char *line = out;

	while (line && *line) {
		const char *nl = strchr(line, '\n'), *v = line;
		size_t len = nl ? (size_t)(nl - line) : strlen(line), k = strcspn(line, " \t=");
		char *end;
		double x;

		if (name && (k != strlen(name) || strncmp(line, name, k)))
			goto next;
		if (k < len)
			v = line + k + strspn(line + k, " \t=");
		x = strtod(v, &end);
		if (end != v && (end == line + len || strchr(" \t\r\n", *end)))
			return x;
		x = strtod(line, &end); /* a bare number */
		if (!name && end != line && (end == line + len || strchr(" \t\r\n", *end)))
			return x;
next:
		line = nl ? nl + 1 : NULL;
	}
	return NAN;
}

/* read the child's output until EOF or the deadline (what does not fit in BUF is dropped); its length, or -ETIME */
static ssize_t slurp(int fd, char *buf, size_t size, const struct timespec *deadline)
{
	size_t n = 0;

	for (;;) {
		struct timespec now;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long ms;
		ssize_t k;

		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
		if (ms <= 0 || poll(&p, 1, (int)(ms > 60000 ? 60000 : ms)) < 0)
			return ms <= 0 ? -ETIME : -errno;
		if (!p.revents)
			continue;
		if (n == size - 1) { /* full: the rest is read and dropped, so the objective never blocks on the pipe */
			char drop[4096];

			if (read(fd, drop, sizeof(drop)) <= 0)
				break;
			continue;
		}
		k = read(fd, buf + n, size - 1 - n);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	buf[n] = '\0';
	return (ssize_t)n;
}

int measure(void *userdata, double *objective, double *guards)
{
	struct tuner *t = userdata;
	char *argv[] = { "/bin/sh", "-c", (char *)t->a->objective, NULL }, buf[65536];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	struct timespec deadline;
	int pipefd[2], status = 0;
	pid_t pid;
	ssize_t n;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
	n = posix_spawn(&pid, argv[0], &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(pipefd[1]);
	if (n != 0) {
		close(pipefd[0]);
		return -(int)n;
	}
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += t->a->timeout;
	n = slurp(pipefd[0], buf, sizeof(buf), &deadline);
	close(pipefd[0]);
	if (n < 0)
		kill(-pid, SIGKILL);
	waitpid(pid, &status, 0);
	if (n < 0) {
		log_error("tune: the objective ran past --timeout %u s: killed", t->a->timeout);
		return (int)n;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		log_error("tune: the objective failed (%s %d)", WIFEXITED(status) ? "exit status" : "signal",
			  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		return -ECHILD;
	}
	*objective = value_of(buf, t->a->metric);
	for (size_t g = 0; g < t->a->o.n_guards; g++)
		guards[g] = value_of(buf, t->a->o.guards[g].name);
	if (isnan(*objective)) {
		log_error("tune: the objective printed no %s%s", t->a->metric ? "value for " : "number",
			  t->a->metric ? t->a->metric : "");
		return -EINVAL;
	}
	return 0;
}

/* ---- settings, through the apply engine ---- */

void knob_object(const struct asios_tune_knob *k, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s", k->name, *k->object ? " " : "", k->object);
}

/* PLAN applied under JOURNAL: 0, -EPERM when the kernel refused a write, or the engine's error (said) */
int apply_plan(struct asios_root *root, const struct asios_plan *plan, const char *journal)
{
	struct asios_apply_report rep = { 0 };
	char *error = NULL;
	int r = asios_apply(root, plan, journal, &rep, &error);

	if (r < 0)
		log_error("tune: %s; %s", error ? error : strerror(-r), asios_apply_outcome(&rep));
	else if (rep.refused)
		r = -EPERM;
	free(error);
	asios_apply_report_clear(&rep);
	return r;
}

/* the file of knob K as it is (OLD) and with its number at VALUE (NEW): 0, or a negative errno */
int knob_text(struct asios_root *root, const struct asios_tune_knob *k, long value, char *old, size_t olen,
		     char *new, size_t nlen)
{
	char *line = NULL;
	int r;

	snprintf(old, olen, "?");
	if (!k->field) {
		long cur;

		if (asios_read_long(root, k->path, &cur) >= 0)
			snprintf(old, olen, "%ld", cur);
		snprintf(new, nlen, "%ld", value);
		return 0;
	}
	if ((r = asios_read_line(root, k->path, &line)) < 0)
		return r;
	snprintf(old, olen, "%s", line);
	r = asios_knob_field_set(line, k->field, value, new, nlen);
	free(line);
	return r;
}

int set(void *userdata, const struct asios_tune_knob *k, long value)
{
	struct tuner *t = userdata;
	struct asios_plan *plan = asios_plan_new();
	char object[160], old[128], new[128];
	int r;

	if (!plan)
		return -ENOMEM;
	knob_object(k, object, sizeof(object));
	r = knob_text(t->root, k, value, old, sizeof(old), new, sizeof(new));
	if (r >= 0)
		r = asios_plan_add_write(plan, object, k->path, old, new, "a trial of asiosctl tune");
	if (r >= 0)
		r = apply_plan(t->root, plan, t->journal);
	asios_plan_free(plan);
	return r;
}

/* ---- the log ---- */

static struct json_object *doubles(const double *v, size_t n)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_double(v[i]));
	return a;
}

struct json_object *trial_json(const struct tuner *t, const struct asios_tune_knob *k,
				      const struct asios_tune_trial *tr)
{
	struct json_object *o = json_object_new_object(), *g = json_object_new_array();

	json_object_object_add(o, "run", json_object_new_string(t->run_id));
	json_object_object_add(o, "knob", json_object_new_string(k->name));
	json_object_object_add(o, "object", json_object_new_string(k->object));
	json_object_object_add(o, "from", json_object_new_int64(tr->from));
	json_object_object_add(o, "to", json_object_new_int64(tr->to));
	json_object_object_add(o, "pairs", json_object_new_int64((int64_t)tr->pairs));
	json_object_object_add(o, "a", doubles(tr->a, tr->pairs));
	json_object_object_add(o, "b", doubles(tr->b, tr->pairs));
	if (tr->pairs) {
		json_object_object_add(o, "median_a", json_object_new_double(tr->median_a));
		json_object_object_add(o, "median_b", json_object_new_double(tr->median_b));
		json_object_object_add(o, "iqr_a", json_object_new_double(tr->iqr_a));
		json_object_object_add(o, "iqr_b", json_object_new_double(tr->iqr_b));
		json_object_object_add(o, "gain", json_object_new_double(tr->gain));
		json_object_object_add(o, "p", json_object_new_double(tr->p));
	}
	for (size_t i = 0; tr->pairs && tr->decision != ASIOS_TUNE_GAVE_UP && i < t->a->o.n_guards; i++) {
		struct json_object *x = json_object_new_object();

		json_object_object_add(x, "name", json_object_new_string(t->a->o.guards[i].name));
		json_object_object_add(x, "p_worse", json_object_new_double(tr->guard_p[i]));
		json_object_object_add(x, "change", json_object_new_double(tr->guard_change[i]));
		json_object_array_add(g, x);
	}
	json_object_object_add(o, "guards", g);
	json_object_object_add(o, "decision", json_object_new_string(asios_tune_decision_name(tr->decision)));
	json_object_object_add(o, "why", json_object_new_string(tr->why));
	return o;
}

void log_line(struct tuner *t, struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

	if (t->log_fd >= 0 && (write(t->log_fd, s, strlen(s)) < 0 || write(t->log_fd, "\n", 1) < 0))
		log_error("tune: %s/log.jsonl: %s", ASIOS_TUNE_DIR, strerror(errno));
}

void trial(void *userdata, const struct asios_tune_trial *tr)
{
	struct tuner *t = userdata;
	const struct asios_tune_knob *k = &t->space[tr->knob];
	struct json_object *o = trial_json(t, k, tr);
	char object[160];

	log_line(t, o);
	json_object_array_add(t->trials, o);
	if (tr->decision == ASIOS_TUNE_REFUSED) /* the kernel said no: not asked again on this machine */
		lost_add(t, k, tr->from, tr->to, tr->why);
	knob_object(k, object, sizeof(object));
	fprintf(stderr, "  %-28s %ld -> %ld: %s%s%s\n", object, tr->from, tr->to,
		asios_tune_decision_name(tr->decision), *tr->why ? ": " : "", tr->why);
}

/* ---- the run ---- */

/* the lock for the whole run, then an interrupted run's settings put back: the lock's fd, or negative (said) */
int begin(struct tuner *t)
{
	struct asios_apply_report rep = { 0 };
	int fd, r;

	if ((r = asios_mkdirs(t->root, "/run/asios", 0755)) < 0 ||
	    (fd = r = asios_root_open_file(t->root, ASIOS_TUNE_LOCK, O_RDWR | O_CREAT)) < 0) {
		log_error("tune: %s: %s", ASIOS_TUNE_LOCK, strerror(-r));
		return r;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		log_error("tune: another asiosctl tune runs on this root (%s is locked)", ASIOS_TUNE_LOCK);
		close(fd);
		return -EBUSY;
	}
	r = asios_revert(t->root, ASIOS_TUNE_RUN_JOURNAL, &rep);
	for (size_t i = 0; i < rep.n_messages; i++)
		log_error("tune: %s", rep.messages[i]);
	if (r == 0)
		fprintf(stderr, "asiosctl: tune: an interrupted run left %zu setting%s: put back first\n", rep.applied,
			rep.applied == 1 ? "" : "s");
	asios_apply_report_clear(&rep);
	if (r < 0 && r != -ENOENT) {
		log_error("tune: an interrupted run's settings could not all be put back (%s); nothing tuned",
			  ASIOS_TUNE_RUN_JOURNAL);
		close(fd);
		return r;
	}
	if ((r = canary_recover(t->root)) < 0) {
		log_error("tune: an interrupted canary run's settings could not be put back; nothing tuned");
		close(fd);
		return r;
	}
	return fd;
}

void open_log(struct tuner *t)
{
	int r = asios_mkdirs(t->root, ASIOS_TUNE_DIR, 0755);

	t->log_fd = r < 0 ? r : asios_root_open_file(t->root, ASIOS_TUNE_DIR "/log.jsonl", O_WRONLY | O_APPEND | O_CREAT);
	if (t->log_fd < 0)
		log_error("tune: %s/log.jsonl: %s (the trials are not logged)", ASIOS_TUNE_DIR, strerror(-t->log_fd));
}
