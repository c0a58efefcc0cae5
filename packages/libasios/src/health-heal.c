/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "asios/apply.h"
#include "asios/config.h"
#include "asios/health.h"
#include "asios/journal.h"
#include "asios/root.h"
#include "health-internal.h"

/*
 * Healing (health.h): the guards, verification and the memory of what helped (the actions are in
 * health-actions.c). State that
 * outlives a reboot (counters, demotions, the breaker, the actions awaiting verification) is in
 * ASIOS_HEALTH_DIR/state; what an action changed is in its signature's undo journal under
 * ASIOS_HEALTH_JOURNAL_DIR, so a rollback puts back exactly what healing wrote and nothing a domain's own
 * apply did.
 */

static const char *const outcome_names[] = { "advised", "rate-limited", "breaker-open", "pending", "improved",
					     "rolled-back", "failed", "handed-over" };

const char *asios_heal_outcome_name(enum asios_heal_outcome o)
{
	return o < _ASIOS_HEAL_OUTCOME_MAX ? outcome_names[o] : "?";
}

/* ---- state ---- */

static struct asios_heal_key *key_find(struct asios_health_state *st, const char *sig, enum asios_health_action a,
				       const char *object, bool make)
{
	struct asios_heal_key *k;

	for (size_t i = 0; i < st->n_keys; i++) {
		k = &st->keys[i];
		if (k->action == a && !strcmp(k->signature, sig) && !strcmp(k->object, object))
			return k;
	}
	if (!make)
		return NULL;
	if (st->n_keys == ASIOS_HEALTH_MAX_KEYS) {
		/* full: the oldest rate-limit entry (one with an object) makes room */
		size_t old = SIZE_MAX;

		for (size_t i = 0; i < st->n_keys; i++)
			if (st->keys[i].object[0] && (old == SIZE_MAX || st->keys[i].last_action < st->keys[old].last_action))
				old = i;
		if (old == SIZE_MAX)
			return NULL;
		st->keys[old] = st->keys[--st->n_keys];
	}
	k = &st->keys[st->n_keys++];
	*k = (struct asios_heal_key){ .action = a };
	snprintf(k->signature, sizeof(k->signature), "%s", sig);
	snprintf(k->object, sizeof(k->object), "%s", object);
	return k;
}

static int state_line(struct asios_health_state *st, const char *line)
{
	char sig[64], obj[96] = "";
	unsigned a, demoted;
	double t1, t2;
	int n = 0;

	if (sscanf(line, "cursor %39s %" SCNu64, st->cursor.boot_id, &st->cursor.next_seq) == 2) {
		if (!strcmp(st->cursor.boot_id, "-"))
			st->cursor.boot_id[0] = '\0';
		return 0;
	}
	if (!strncmp(line, "xid ", 4)) {
		struct asios_health_xid_count x = { 0 };
		uint64_t cnt;

		if (sscanf(line, "xid %23s %u %" SCNu64 " %n", x.device, &x.code, &cnt, &n) != 3 || !n || line[n])
			return -EINVAL;
		x.n = cnt;
		if (st->n_xids < ASIOS_HEALTH_MAX_XIDS)
			st->xids[st->n_xids++] = x;
		return 0;
	}
	if (sscanf(line, "breaker %u %lf", &a, &t1) == 2 && a <= 1) {
		st->breaker_open = a;
		st->breaker_since = t1;
		return 0;
	}
	if (sscanf(line, "action %lf", &t1) == 1) {
		if (st->n_actions < sizeof(st->actions) / sizeof(st->actions[0]))
			st->actions[st->n_actions++] = t1;
		return 0;
	}
	if (sscanf(line, "pending %63s %u %lf %lf %u %n", sig, &a, &t1, &t2, &demoted, &n) == 5 && n &&
	    a < _ASIOS_HEAL_MAX && demoted <= 1) {
		struct asios_heal_pending *p;

		if (st->n_pending == ASIOS_HEALTH_MAX_PENDING)
			return 0;
		p = &st->pending[st->n_pending++];
		*p = (struct asios_heal_pending){ .action = a, .at = t1, .before = t2, .recurred = demoted };
		snprintf(p->signature, sizeof(p->signature), "%s", sig);
		snprintf(p->object, sizeof(p->object), "%s", line + n);
		return 0;
	}
	if (sscanf(line, "key %63s %u %u %lf %n", sig, &a, &demoted, &t1, &n) == 4 && n && a < _ASIOS_HEAL_MAX) {
		const char *q = line + n;
		struct asios_heal_key *k;
		int m = 0;
		uint64_t inc;

		uint64_t o[_ASIOS_HEAL_OUTCOME_MAX];

		if (sscanf(q, "%" SCNu64 " %n", &inc, &m) != 1)
			return -EINVAL;
		q += m;
		for (size_t i = 0; i < _ASIOS_HEAL_OUTCOME_MAX; i++, q += m)
			if (sscanf(q, "%" SCNu64 " %n", &o[i], &m) != 1)
				return -EINVAL;
		snprintf(obj, sizeof(obj), "%s", strcmp(q, "-") ? q : "");
		if (!(k = key_find(st, sig, a, obj, true)))
			return 0;
		k->demoted = demoted;
		k->last_action = t1;
		k->incidents = inc;
		memcpy(k->outcomes, o, sizeof(o));
		return 0;
	}
	return -EINVAL;
}

int asios_health_state_read(const struct asios_root *root, struct asios_health_state *st, char **bad)
{
	char *text = NULL, *save = NULL, *line;
	size_t len, no = 0;
	int k;

	*bad = NULL;
	memset(st, 0, sizeof(*st));
	k = asios_read_file(root, ASIOS_HEALTH_DIR "/state", &text, &len);
	if (k == -ENOENT)
		return 0;
	if (k < 0)
		return k;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		no++;
		if (state_line(st, line) < 0) {
			if (asprintf(bad, "%s/state:%zu: not a state line", ASIOS_HEALTH_DIR, no) < 0)
				*bad = NULL;
			free(text);
			memset(st, 0, sizeof(*st));
			return -EINVAL;
		}
	}
	free(text);
	return 0;
}

static void state_format(const struct asios_health_state *st, FILE *f)
{
	fprintf(f, "cursor %s %" PRIu64 "\n", st->cursor.boot_id[0] ? st->cursor.boot_id : "-", st->cursor.next_seq);
	fprintf(f, "breaker %d %.3f\n", st->breaker_open, st->breaker_since);
	for (size_t i = 0; i < st->n_xids; i++)
		fprintf(f, "xid %s %u %" PRIu64 "\n", st->xids[i].device, st->xids[i].code, st->xids[i].n);
	for (size_t i = 0; i < st->n_actions; i++)
		fprintf(f, "action %.3f\n", st->actions[i]);
	for (size_t i = 0; i < st->n_pending; i++) {
		const struct asios_heal_pending *p = &st->pending[i];

		fprintf(f, "pending %s %d %.3f %.17g %d %s\n", p->signature, p->action, p->at, p->before, p->recurred,
			p->object);
	}
	for (size_t i = 0; i < st->n_keys; i++) {
		const struct asios_heal_key *k = &st->keys[i];

		fprintf(f, "key %s %d %d %.3f %" PRIu64, k->signature, k->action, k->demoted, k->last_action,
			k->incidents);
		for (size_t j = 0; j < _ASIOS_HEAL_OUTCOME_MAX; j++)
			fprintf(f, " %" PRIu64, k->outcomes[j]);
		fprintf(f, " %s\n", k->object[0] ? k->object : "-");
	}
}

int asios_health_state_write(const struct asios_root *root, const struct asios_health_state *st)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int k;

	if (!f)
		return -ENOMEM;
	state_format(st, f);
	if (fclose(f))
		return -ENOMEM;
	if ((k = asios_mkdirs(root, ASIOS_HEALTH_DIR, 0755)) >= 0)
		k = asios_write_whole(root, ASIOS_HEALTH_DIR "/state", text);
	free(text);
	return k;
}

void asios_health_state_reset(struct asios_health_state *st, bool all)
{
	st->breaker_open = false;
	st->breaker_since = 0;
	st->n_actions = 0;
	for (size_t i = 0; all && i < st->n_keys; i++)
		st->keys[i].demoted = false;
}

/* ---- history ---- */

int asios_health_history_append(const struct asios_root *root, const struct asios_health_policy *p,
				const char *json_line)
{
	const char *path = ASIOS_HEALTH_DIR "/incidents";
	char *text = NULL;
	size_t len = 0, cap = (size_t)p->history_kib * 1024;
	int k, fd;

	if ((k = asios_mkdirs(root, ASIOS_HEALTH_DIR, 0755)) < 0)
		return k;
	if (asios_read_file(root, path, &text, &len) >= 0 && len + strlen(json_line) + 1 > cap) {
		/* over the cap: keep the newer half, from a line's start */
		const char *keep = text + len / 2, *nl = strchr(keep, '\n');

		k = asios_write_whole(root, path, nl ? nl + 1 : "");
		if (k < 0) {
			free(text);
			return k;
		}
	}
	free(text);
	fd = asios_root_open_file(root, path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC);
	if (fd < 0)
		return fd;
	k = dprintf(fd, "%s\n", json_line) < 0 ? -errno : 0;
	close(fd);
	return k;
}

static void history(struct asios_heal_ctx *c, const struct asios_health_incident *inc, const char *signature,
		    const char *object, enum asios_health_action a, enum asios_heal_outcome o, double before,
		    double after, const char *note)
{
	struct json_object *j = json_object_new_object();

	json_object_object_add(j, "time", json_object_new_double(c->now));
	json_object_object_add(j, "signature", json_object_new_string(signature));
	json_object_object_add(j, "object", json_object_new_string(object));
	if (inc) {
		json_object_object_add(j, "severity", json_object_new_string(asios_health_severity_name(inc->sig->severity)));
		json_object_object_add(j, "source", json_object_new_string(asios_health_source_name(inc->sig->source)));
		json_object_object_add(j, "detail", json_object_new_string(inc->detail));
		json_object_object_add(j, "value", json_object_new_double(inc->value));
	}
	json_object_object_add(j, "action", json_object_new_string(asios_health_action_name(a)));
	json_object_object_add(j, "outcome", json_object_new_string(asios_heal_outcome_name(o)));
	if (!isnan(before))
		json_object_object_add(j, "before", json_object_new_double(before));
	if (!isnan(after))
		json_object_object_add(j, "after", json_object_new_double(after));
	if (note && *note)
		json_object_object_add(j, "note", json_object_new_string(note));
	(void)asios_health_history_append(c->root, c->policy, json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
	json_object_put(j);
}

static void logf_(struct asios_heal_ctx *c, int prio, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void logf_(struct asios_heal_ctx *c, int prio, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	int k;

	if (!c->log)
		return;
	va_start(ap, fmt);
	k = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (k >= 0)
		c->log(c->userdata, prio, msg);
	free(msg);
}

/* ---- guards ---- */

static bool breaker(struct asios_heal_ctx *c)
{
	struct asios_health_state *st = c->state;
	size_t n = 0;

	for (size_t i = 0; i < st->n_actions; i++)
		if (c->now - st->actions[i] < 3600)
			st->actions[n++] = st->actions[i];
	st->n_actions = n;
	if (!st->breaker_open && n >= c->policy->max_actions_per_hour) {
		st->breaker_open = true;
		st->breaker_since = c->now;
		logf_(c, LOG_WARNING, "circuit breaker open: %zu actions in the last hour (max_actions_per_hour = %u); "
		      "advising only until `asiosctl health reset`", n, c->policy->max_actions_per_hour);
	}
	return st->breaker_open;
}

/* the first step of the ladder that has not been demoted; ADVISE when none is left */
static enum asios_health_action choose(struct asios_heal_ctx *c, const struct asios_health_signature *sig,
				       char *note, size_t size)
{
	for (size_t i = 0; i < sig->n_ladder; i++) {
		const struct asios_heal_key *k = key_find(c->state, sig->name, sig->ladder[i], "", false);

		if (sig->ladder[i] == ASIOS_HEAL_ADVISE || !k || !k->demoted)
			return sig->ladder[i];
		snprintf(note, size, "%s skipped: it did not help %s before", asios_health_action_name(sig->ladder[i]),
			 sig->name);
	}
	return ASIOS_HEAL_ADVISE;
}

static enum asios_heal_outcome count(struct asios_heal_ctx *c, const char *sig, enum asios_health_action a,
				     enum asios_heal_outcome o)
{
	struct asios_heal_key *k = key_find(c->state, sig, a, "", true);

	if (k)
		k->outcomes[o]++;
	return o;
}

static enum asios_heal_outcome decide(struct asios_heal_ctx *c, const struct asios_health_incident *inc,
				      enum asios_health_action *a, char *note, size_t size)
{
	const struct asios_health_signature *sig = inc->sig;
	struct asios_heal_key *rk;

	*a = ASIOS_HEAL_ADVISE;
	if (!sig->act)
		return ASIOS_HEAL_ADVISED;
	*a = choose(c, sig, note, size);
	if (*a == ASIOS_HEAL_ADVISE)
		return ASIOS_HEAL_ADVISED;
	if (breaker(c))
		return ASIOS_HEAL_BREAKER_OPEN;
	rk = key_find(c->state, sig->name, *a, inc->object, true);
	if (rk && rk->last_action > 0 && c->now - rk->last_action < c->policy->rate_limit && !c->cause) {
		snprintf(note, size, "%s on %s %.0f s ago (rate_limit = %u s)", asios_health_action_name(*a), inc->object,
			 c->now - rk->last_action, c->policy->rate_limit);
		return ASIOS_HEAL_RATE_LIMITED;
	}
	if (rk)
		rk->last_action = c->now;
	if (c->state->n_actions < sizeof(c->state->actions) / sizeof(c->state->actions[0]))
		c->state->actions[c->state->n_actions++] = c->now;
	if (health_act(c, inc, *a, note, size) < 0)
		return ASIOS_HEAL_FAILED;
	return health_verifiable(*a) ? ASIOS_HEAL_PENDING : ASIOS_HEAL_HANDED_OVER;
}

/* an event again while an action for it awaits verification: that action did not make it stop */
static void recurred(struct asios_heal_ctx *c, const struct asios_health_incident *inc)
{
	for (size_t i = 0; i < c->state->n_pending; i++)
		if (!strcmp(c->state->pending[i].signature, inc->sig->name) &&
		    !strcmp(c->state->pending[i].object, inc->object))
			c->state->pending[i].recurred = true;
}

/* the action awaiting verification on INC's signature and object, or NULL */
static struct asios_heal_pending *pending_of(struct asios_heal_ctx *c, const struct asios_health_incident *inc)
{
	for (size_t i = 0; i < c->state->n_pending; i++)
		if (!strcmp(c->state->pending[i].signature, inc->sig->name) &&
		    !strcmp(c->state->pending[i].object, inc->object))
			return &c->state->pending[i];
	return NULL;
}

/* an Xid incident (object "GPU 0000:3b:00", value its code, and the lines of the same read it stands for) */
static void count_xid(struct asios_health_state *st, const struct asios_health_incident *inc)
{
	char device[24];
	unsigned code = (unsigned)inc->value;
	size_t i;

	if (inc->sig->source != ASIOS_HEALTH_XID || strncmp(inc->object, "GPU ", 4))
		return;
	/* the kernel names the GPU by domain:bus:device; the metrics by its PCI function (a GPU is function 0) */
	snprintf(device, sizeof(device), "%.20s%s", inc->object + 4, strchr(inc->object + 4, '.') ? "" : ".0");
	for (i = 0; i < st->n_xids && (st->xids[i].code != code || strcmp(st->xids[i].device, device)); i++)
		;
	if (i == st->n_xids) {
		if (i == ASIOS_HEALTH_MAX_XIDS)
			return;
		st->xids[st->n_xids++] = (struct asios_health_xid_count){ .code = code };
		snprintf(st->xids[i].device, sizeof(st->xids[i].device), "%s", device);
	}
	st->xids[i].n += 1 + inc->repeats;
}

enum asios_heal_outcome asios_health_heal(struct asios_heal_ctx *c, const struct asios_health_incident *inc)
{
	const struct asios_health_signature *sig = inc->sig;
	struct asios_heal_key *k = key_find(c->state, sig->name, ASIOS_HEAL_ADVISE, "", true);
	struct asios_heal_pending *p;
	enum asios_health_action a;
	enum asios_heal_outcome o;
	char note[512] = "";

	if (k)
		k->incidents += 1 + inc->repeats;
	count_xid(c->state, inc);
	if (!c->cause)
		recurred(c, inc);
	else
		snprintf(note, sizeof(note), "after %s; ", c->cause);
	if (inc->repeats) {
		size_t off = strlen(note);

		snprintf(note + off, sizeof(note) - off, "%u more like it in the same read; ", inc->repeats);
	}
	o = count(c, sig->name, ASIOS_HEAL_ADVISE, decide(c, inc, &a, note + strlen(note), sizeof(note) - strlen(note)));
	if (a != ASIOS_HEAL_ADVISE)
		count(c, sig->name, a, o);
	/* with a cause, one wait from now for both actions: verified together, rolled back together */
	if (o == ASIOS_HEAL_PENDING && c->cause && (p = pending_of(c, inc))) {
		p->at = c->now;
		p->recurred = false;
	} else if (o == ASIOS_HEAL_PENDING && c->state->n_pending < ASIOS_HEALTH_MAX_PENDING) {
		p = &c->state->pending[c->state->n_pending++];

		*p = (struct asios_heal_pending){ .action = a, .at = c->now, .before = inc->value };
		snprintf(p->signature, sizeof(p->signature), "%s", sig->name);
		snprintf(p->object, sizeof(p->object), "%s", inc->object);
	}
	logf_(c, sig->severity == ASIOS_HEALTH_CRITICAL ? LOG_CRIT
		 : sig->severity == ASIOS_HEALTH_WARNING ? LOG_WARNING : LOG_NOTICE,
	      "%s on %s: %s %s%s%s → %s: %s%s%s", sig->name, inc->object, inc->detail, sig->meaning ? sig->meaning : "",
	      sig->advice ? " Advice: " : "", sig->advice ? sig->advice : "", asios_health_action_name(a),
	      asios_heal_outcome_name(o), note[0] ? ": " : "", note);
	history(c, inc, sig->name, inc->object, a, o, NAN, NAN, note);
	return o;
}

void asios_health_repeat(struct asios_heal_ctx *c, const struct asios_health_incident *inc)
{
	struct asios_heal_key *k = key_find(c->state, inc->sig->name, ASIOS_HEAL_ADVISE, "", true);

	if (k)
		k->incidents += 1 + inc->repeats;
	count_xid(c->state, inc);
	recurred(c, inc);
}

/* ---- verification ---- */

static const struct asios_health_incident *seen(const struct asios_health_incidents *l, const char *sig,
						const char *object)
{
	for (size_t i = 0; l && i < l->n; i++)
		if (!strcmp(l->v[i].sig->name, sig) && !strcmp(l->v[i].object, object))
			return &l->v[i];
	return NULL;
}

/* drop (IMPROVED: keep the change, forget its undo) or replay (rollback) the signature's journal */
static int settle(struct asios_heal_ctx *c, const char *sig, bool rollback, char *note, size_t size)
{
	char journal[256];
	struct asios_apply_report rep = { 0 };
	struct asios_journal_lock *lock = NULL;
	char **made = NULL;
	int k, holder;

	health_journal_of(sig, journal, sizeof(journal));
	if (rollback) {
		k = asios_revert(c->root, journal, &rep);
		snprintf(note, size, k == -ENOENT ? "nothing journalled to undo" : k < 0 ? "rollback incomplete: %zu unrestored"
										 : "rolled back %zu change%s",
			 k < 0 ? rep.unrestored : rep.applied, rep.applied == 1 ? "" : "s");
		asios_apply_report_clear(&rep);
		return k == -ENOENT ? 0 : k;
	}
	k = asios_journal_lock(c->root, journal, 5000, &lock, &holder, &made);
	asios_strv_free(made);
	if (k < 0)
		return k;
	(void)asios_remove_file(c->root, journal);
	asios_journal_unlock(c->root, lock, true);
	return 0;
}

static void verify_one(struct asios_heal_ctx *c, const struct asios_heal_pending *p,
		       const struct asios_health_incidents *incidents)
{
	const struct asios_health_incident *now = seen(incidents, p->signature, p->object);
	double after = now ? now->value : p->recurred ? p->before : 0;
	enum asios_heal_outcome o = now || p->recurred ? ASIOS_HEAL_ROLLED_BACK : ASIOS_HEAL_IMPROVED;
	char note[300] = "";
	struct asios_heal_key *k;

	(void)settle(c, p->signature, o == ASIOS_HEAL_ROLLED_BACK, note, sizeof(note));
	if (o == ASIOS_HEAL_ROLLED_BACK && (k = key_find(c->state, p->signature, p->action, "", true))) {
		size_t off = strlen(note);

		k->demoted = true;
		snprintf(note + off, sizeof(note) - off, "; %s demoted for %s", asios_health_action_name(p->action),
			 p->signature);
	}
	count(c, p->signature, p->action, o);
	logf_(c, o == ASIOS_HEAL_IMPROVED ? LOG_NOTICE : LOG_WARNING, "%s on %s: %s %s (%.6g → %.6g)%s%s", p->signature,
	      p->object, asios_health_action_name(p->action), o == ASIOS_HEAL_IMPROVED ? "helped" : "did not help",
	      p->before, after, note[0] ? ": " : "", note);
	history(c, NULL, p->signature, p->object, p->action, o, p->before, after, note);
}

size_t asios_health_verify(struct asios_heal_ctx *c, const struct asios_health_incidents *incidents)
{
	struct asios_health_state *st = c->state;
	size_t done = 0, n = 0;

	for (size_t i = 0; i < st->n_pending; i++) {
		if (c->now - st->pending[i].at < c->policy->verify_after) {
			st->pending[n++] = st->pending[i];
			continue;
		}
		verify_one(c, &st->pending[i], incidents);
		done++;
	}
	st->n_pending = n;
	return done;
}
