/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asios/config.h"
#include "asios/health.h"

/*
 * The health policy: the shipped catalogue of signatures (signatures.conf), then health.conf and its drop-ins.
 *   [health]             interval, max_actions_per_hour, rate_limit, verify_after, baseline_samples,
 *                        baseline_min, baseline_persist, baseline_k, baseline_season, forecast_samples, history_kib,
 *                        workload_slice, slurm_node, node_label_file
 *   [signature NAME]     source = kmsg|xid|psi|drift|isolation|baseline|forecast|unit|gpu|uevent, match,
 *                        threshold, xid,
 *                        severity = info|warning|critical, meaning, advice, heal = ACTION[, ACTION…], act
 * A signature named again (in health.conf) is changed, not added: `act = yes` is how a site opts in.
 * Every signature is checked once all files are read; an error names the file and line of its section.
 */

static const char *const source_names[] = { "kmsg", "xid", "psi", "drift", "isolation", "baseline", "forecast",
					    "unit", "gpu", "uevent", NULL };
static const char *const severity_names[] = { "info", "warning", "critical", NULL };
static const char *const action_names[] = { "advise", "reapply", "move-task", "compact", "gpu-reset", "drain",
					    "node-label", "restart-unit", "gpu-persistence", NULL };

const char *asios_health_source_name(enum asios_health_source s)
{
	return s < _ASIOS_HEALTH_SOURCE_MAX ? source_names[s] : "?";
}

const char *asios_health_severity_name(enum asios_health_severity s)
{
	return s <= ASIOS_HEALTH_CRITICAL ? severity_names[s] : "?";
}

const char *asios_health_action_name(enum asios_health_action a)
{
	return a < _ASIOS_HEAL_MAX ? action_names[a] : "?";
}

static int word_index(const char *const *names, const char *v)
{
	for (int i = 0; names[i]; i++)
		if (!strcmp(names[i], v))
			return i;
	return -1;
}

struct reader {
	struct asios_conf c;
	struct asios_health_policy *p;
	char **where;            /* per signature: "FILE:LINE" of the section that made it */
	size_t named;            /* signatures whose where has its file (those of files read so far) */
};

int asios_health_policy_init(struct asios_health_policy *p)
{
	*p = (struct asios_health_policy){
		.interval = 10, .max_actions_per_hour = 6, .rate_limit = 600, .verify_after = 30,
		.baseline_samples = 360, .baseline_min = 30, .baseline_persist = 3, .baseline_k10 = 60,
		.baseline_season = true,
		.forecast_samples = 60, .history_kib = 1024,
	};
	p->workload_slice = strdup("workload.slice");
	p->slurm_node = strdup("");
	p->node_label_file = strdup("/etc/kubernetes/node-feature-discovery/features.d/asios-health");
	if (!p->workload_slice || !p->slurm_node || !p->node_label_file) {
		asios_health_policy_clear(p);
		return -ENOMEM;
	}
	return 0;
}

static void sig_clear(struct asios_health_signature *s)
{
	if (s->compiled)
		regfree(&s->re);
	free(s->name);
	free(s->match);
	free(s->meaning);
	free(s->advice);
}

void asios_health_policy_clear(struct asios_health_policy *p)
{
	for (size_t i = 0; i < p->n_sigs; i++)
		sig_clear(&p->sigs[i]);
	free(p->sigs);
	free(p->workload_slice);
	free(p->slurm_node);
	free(p->node_label_file);
	*p = (struct asios_health_policy){ 0 };
}

const char *asios_health_signatures_path(void)
{
	static char beside[4096];

	return asios_conf_data_path("ASIOS_HEALTH_SIGNATURES", ASIOS_HEALTH_SIGNATURES, "signatures.conf", beside,
				    sizeof(beside));
}

const struct asios_health_signature *asios_health_signature_find(const struct asios_health_policy *p,
								 const char *name)
{
	for (size_t i = 0; i < p->n_sigs; i++)
		if (!strcmp(p->sigs[i].name, name))
			return &p->sigs[i];
	return NULL;
}

static int set_string(struct asios_conf *c, char **field, const char *value)
{
	char *v = strdup(value);

	if (!v)
		return asios_conf_fail(c, "out of memory%s%s", "", "");
	free(*field);
	*field = v;
	return 1;
}

static int key_workload_slice(struct asios_conf *c, void *policy, const char *value)
{
	return set_string(c, &((struct asios_health_policy *)policy)->workload_slice, value);
}

static int key_slurm_node(struct asios_conf *c, void *policy, const char *value)
{
	return set_string(c, &((struct asios_health_policy *)policy)->slurm_node, value);
}

static int key_node_label_file(struct asios_conf *c, void *policy, const char *value)
{
	if (value[0] != '/')
		return asios_conf_fail(c, "node_label_file: not an absolute path: \"%s\"%s", value, "");
	return set_string(c, &((struct asios_health_policy *)policy)->node_label_file, value);
}

/* baseline_k = 6 or 4.5: tenths between 1 and 100 */
static int key_baseline_k(struct asios_conf *c, void *policy, const char *value)
{
	char *end;
	double k = strtod(value, &end);

	if (end == value || *end || !(k >= 1 && k <= 100))
		return asios_conf_fail(c, "baseline_k: expected a number between 1 and 100, got \"%s\"%s", value, "");
	((struct asios_health_policy *)policy)->baseline_k10 = (unsigned)(k * 10 + 0.5);
	return 1;
}

#define T struct asios_health_policy
static const struct asios_conf_item health_keys[] = {
	ASIOS_CONF_ITEM_UINT(T, "interval", interval, 1, 3600, "seconds between 1 and 3600"),
	ASIOS_CONF_ITEM_UINT(T, "max_actions_per_hour", max_actions_per_hour, 0, 60, "a count between 0 and 60"),
	ASIOS_CONF_ITEM_UINT(T, "rate_limit", rate_limit, 0, 86400, "seconds between 0 and 86400"),
	ASIOS_CONF_ITEM_UINT(T, "verify_after", verify_after, 1, 3600, "seconds between 1 and 3600"),
	ASIOS_CONF_ITEM_UINT(T, "baseline_samples", baseline_samples, 10, 10000, "a count between 10 and 10000"),
	ASIOS_CONF_ITEM_UINT(T, "baseline_min", baseline_min, 5, 10000, "a count between 5 and 10000"),
	ASIOS_CONF_ITEM_UINT(T, "baseline_persist", baseline_persist, 1, 100, "a count between 1 and 100"),
	ASIOS_CONF_ITEM_FUNC("baseline_k", key_baseline_k),
	ASIOS_CONF_ITEM_BOOL(T, "baseline_season", baseline_season),
	ASIOS_CONF_ITEM_UINT(T, "forecast_samples", forecast_samples, 3, 10000, "a count between 3 and 10000"),
	ASIOS_CONF_ITEM_UINT(T, "history_kib", history_kib, 16, 1048576, "KiB between 16 and 1048576"),
	ASIOS_CONF_ITEM_FUNC("workload_slice", key_workload_slice),
	ASIOS_CONF_ITEM_FUNC("slurm_node", key_slurm_node),
	ASIOS_CONF_ITEM_FUNC("node_label_file", key_node_label_file),
};
#undef T

static struct asios_health_signature *sig_for(struct reader *r, const char *name, bool *made)
{
	struct asios_health_policy *p = r->p;
	struct asios_health_signature *s;
	char **w;

	*made = false;
	for (size_t i = 0; i < p->n_sigs; i++)
		if (!strcmp(p->sigs[i].name, name))
			return &p->sigs[i];
	s = realloc(p->sigs, (p->n_sigs + 1) * sizeof(*s));
	if (!s)
		return NULL;
	p->sigs = s;
	w = realloc(r->where, (p->n_sigs + 1) * sizeof(*w));
	if (!w)
		return NULL;
	r->where = w;
	s = &p->sigs[p->n_sigs];
	*s = (struct asios_health_signature){ .name = strdup(name), .source = _ASIOS_HEALTH_SOURCE_MAX };
	if (!s->name || asprintf(&w[p->n_sigs], "%u", r->c.line) < 0) {
		free(s->name);
		return NULL;
	}
	p->n_sigs++;
	*made = true;
	return s;
}

static int sig_ladder(struct asios_conf *c, struct asios_health_signature *s, const char *value)
{
	char *copy = strdup(value), *tok, *save = NULL;
	size_t n = 0;

	if (!copy)
		return asios_conf_fail(c, "out of memory%s%s", "", "");
	for (tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		int a = word_index(action_names, tok);

		if (a < 0 || n == ASIOS_HEALTH_LADDER) {
			free(copy);
			return asios_conf_fail(c, a < 0 ? "heal: unknown action \"%s\" (advise, reapply, move-task, "
					       "compact, gpu-reset, drain, node-label, restart-unit, "
					       "gpu-persistence)%s"
							 : "heal: at most 4 actions: \"%s\"%s", value, "");
		}
		s->ladder[n++] = (enum asios_health_action)a;
	}
	free(copy);
	s->n_ladder = n;
	return 1;
}

static int sig_number(struct asios_conf *c, const char *key, const char *value, double max, double *ret)
{
	char *end;
	double v = strtod(value, &end);

	if (end == value || *end || !(v >= 0 && v <= max))
		return asios_conf_fail(c, "%s: expected a non-negative number, got \"%s\"", key, value);
	*ret = v;
	return 1;
}

#define REGEX_MAX_REPEATS 16
#define REGEX_MAX_INTERVAL 100

/* the end of the bracket expression that starts at P ("]" first is a member; [:class:], [.x.], [=x=] inside), or
 * NULL when it is not closed */
static const char *bracket_end(const char *p)
{
	const char *q = p + 1;

	q += *q == '^';
	q += *q == ']';
	while (*q && *q != ']') {
		if (q[0] == '[' && (q[1] == ':' || q[1] == '.' || q[1] == '=')) {
			const char close[3] = { q[1], ']', '\0' };
			const char *end = strstr(q + 2, close);

			q = end ? end + 2 : q + 1;
		} else {
			q++;
		}
	}
	return *q ? q : NULL;
}

/*
 * Why an extended regular expression would cost glibc's regcomp() too much, or NULL. It copies the expression a
 * repetition applies to, once per repetition and per bound of an interval: a repetition of a repetition ("a++",
 * "a{9}{9}") multiplies, and a few dozen of them exhaust memory (found by fuzz-health). Refused: a repetition
 * right after another, more than REGEX_MAX_REPEATS of them, an interval bound above REGEX_MAX_INTERVAL.
 */
static const char *regex_costly(const char *re)
{
	unsigned repeats = 0;
	bool after = false;

	for (const char *p = re; *p; p++) {
		bool rep = *p == '*' || *p == '+' || *p == '?' || *p == '{';

		if (*p == '\\' && p[1]) {
			p++;
		} else if (*p == '[') {
			if (!(p = bracket_end(p)))
				return NULL; /* not closed: regcomp() says so */
		} else if (rep && after) {
			return "a repetition of a repetition (\"a++\", \"a*{2}\") costs exponential memory";
		} else if (rep && ++repeats > REGEX_MAX_REPEATS) {
			return "more than 16 repetitions (*, +, ?, {}) in one expression";
		} else if (*p == '{') {
			const char *end = strchr(p, '}');

			for (const char *q = p + 1; *q && q != end; q++)
				if (*q >= '0' && *q <= '9' && strtol(q, NULL, 10) > REGEX_MAX_INTERVAL)
					return "a repetition count above 100";
			if (!end)
				return NULL;
			p = end;
		}
		after = rep;
	}
	return NULL;
}

static int sig_key(struct asios_conf *c, struct asios_health_signature *s, const char *name, const char *value)
{
	double d = 0;
	int k;

	if (!strcmp(name, "source") || !strcmp(name, "severity")) {
		bool src = name[1] == 'o';

		if ((k = word_index(src ? source_names : severity_names, value)) < 0)
			return asios_conf_fail(c, "%s: unknown value \"%s\"", name, value);
		if (src)
			s->source = (enum asios_health_source)k;
		else
			s->severity = (enum asios_health_severity)k;
		return 1;
	}
	if (!strcmp(name, "match")) {
		regex_t re;
		const char *costly = regex_costly(value);
		int rc;
		char buf[160];

		/* checked here, where its line is known; compiled for use once every file is read */
		if (costly)
			return asios_conf_fail(c, "match: %s: \"%s\"", costly, value);
		if ((rc = regcomp(&re, value, REG_EXTENDED | REG_NOSUB))) {
			regerror(rc, &re, buf, sizeof(buf));
			return asios_conf_fail(c, "match: %s: \"%s\"", buf, value);
		}
		regfree(&re);
		return set_string(c, &s->match, value);
	}
	if (!strcmp(name, "meaning"))
		return set_string(c, &s->meaning, value);
	if (!strcmp(name, "advice"))
		return set_string(c, &s->advice, value);
	if (!strcmp(name, "heal"))
		return sig_ladder(c, s, value);
	if (!strcmp(name, "threshold")) {
		if (!sig_number(c, name, value, 1e12, &d))
			return 0;
		s->threshold = d;
		return 1;
	}
	if (!strcmp(name, "xid")) {
		if (!sig_number(c, name, value, 65535, &d) || d != (unsigned)d)
			return asios_conf_fail(c, "xid: not an Xid code: \"%s\"%s", value, "");
		s->xid = (unsigned)d;
		return 1;
	}
	if (!strcmp(name, "act")) {
		if (asios_conf_bool(value, &s->act) < 0)
			return asios_conf_fail(c, "act: expected yes or no, got \"%s\"%s", value, "");
		return 1;
	}
	return asios_conf_fail(c, "unknown key \"%s\" in a [signature] section%s", name, "");
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct reader *r = user;

	if (!strcmp(section, "health"))
		return asios_conf_table(&r->c, health_keys, ASIOS_CONF_N(health_keys), r->p, section, name, value);
	if (!strncmp(section, "signature ", 10) && section[10]) {
		bool made;
		struct asios_health_signature *s = sig_for(r, section + 10, &made);

		if (!s)
			return asios_conf_fail(&r->c, "out of memory%s%s", "", "");
		return sig_key(&r->c, s, name, value);
	}
	return asios_conf_fail(&r->c, "unknown section [%s]%s", section, "");
}

/* "ACTION:SUBSYSTEM" of a uevent signature */
static bool uevent_match_ok(const char *m)
{
	static const char *const actions[] = { "add", "remove", "change", "move", "online", "offline", "bind",
					       "unbind", NULL };
	const char *colon = m ? strchr(m, ':') : NULL;
	char action[16];

	if (!colon || colon == m || (size_t)(colon - m) >= sizeof(action) || !colon[1] || strpbrk(colon + 1, " \t:/"))
		return false;
	memcpy(action, m, (size_t)(colon - m));
	action[colon - m] = '\0';
	return word_index(actions, action) >= 0;
}

/* once every file is read: each signature complete; kernel-log patterns compiled */
static int sig_check(struct asios_health_signature *s, const char *where, char **error)
{
	static const char *const psi[] = { "memory", "io", "cpu", NULL };
	static const char *const forecast[] = { "memory", "hugepages", "filesystem", "gpu-memory", "gpu-thermal",
						NULL };
	static const char *const gpu[] = { "persistence-off", NULL };
	const char *why = NULL;
	char buf[256];
	int rc;

	if (s->source == _ASIOS_HEALTH_SOURCE_MAX)
		why = "no source";
	else if (s->source == ASIOS_HEALTH_KMSG && (!s->match || !*s->match))
		why = "a kmsg signature needs a match pattern";
	else if (s->source == ASIOS_HEALTH_PSI && (!s->match || word_index(psi, s->match) < 0 || s->threshold <= 0))
		why = "a psi signature needs match = memory, io or cpu and a threshold (avg10 percent)";
	else if (s->source == ASIOS_HEALTH_FORECAST &&
		 (!s->match || word_index(forecast, s->match) < 0 || s->threshold <= 0))
		why = "a forecast signature needs match = memory, hugepages, filesystem, gpu-memory or gpu-thermal "
		      "and a threshold (seconds)";
	else if (s->source == ASIOS_HEALTH_GPU && (!s->match || word_index(gpu, s->match) < 0))
		why = "a gpu signature needs match = persistence-off";
	else if (s->source == ASIOS_HEALTH_UEVENT && !uevent_match_ok(s->match))
		why = "a uevent signature needs match = ACTION:SUBSYSTEM (add, remove, change, move, online, offline, "
		      "bind or unbind; \"remove:pci\")";
	else if (s->source == ASIOS_HEALTH_UNIT && (!s->match || !*s->match || strpbrk(s->match, " \t/")))
		why = "a unit signature needs match = a unit name pattern (asios-*.service)";
	if (why)
		return asprintf(error, "%s: [signature %s]: %s", where, s->name, why) < 0 ? -ENOMEM : -EINVAL;
	if (!s->n_ladder)
		s->ladder[s->n_ladder++] = ASIOS_HEAL_ADVISE;
	if (s->source != ASIOS_HEALTH_KMSG || s->compiled)
		return 0;
	rc = regcomp(&s->re, s->match, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		regerror(rc, &s->re, buf, sizeof(buf));
		return asprintf(error, "%s: [signature %s]: match: %s", where, s->name, buf) < 0 ? -ENOMEM : -EINVAL;
	}
	s->compiled = true;
	return 0;
}

static int check_all(struct reader *r, char **error)
{
	for (size_t i = 0; i < r->p->n_sigs; i++) {
		int k = sig_check(&r->p->sigs[i], r->where[i], error);

		if (k < 0)
			return k;
	}
	return 0;
}

static void reader_free(struct reader *r)
{
	for (size_t i = 0; i < r->p->n_sigs; i++)
		free(r->where[i]);
	free(r->where);
	free(r->c.lines);
}

/* after each file: the signatures it made get its name before their line */
static int after_file(struct asios_conf *c, const char *path, char **error)
{
	struct reader *r = (struct reader *)c; /* c is its first member */

	(void)error;
	for (; r->named < r->p->n_sigs; r->named++) {
		char *w;

		if (asprintf(&w, "%s:%s", path, r->where[r->named]) < 0)
			return -ENOMEM;
		free(r->where[r->named]);
		r->where[r->named] = w;
	}
	return 0;
}

static int load(struct reader *r, const char *conf, const char *def, const char *conf_d, char **error)
{
	return asios_conf_load(&r->c, conf, def, conf_d, after_file, error);
}

int asios_health_policy_read(struct asios_health_policy *p, const char *signatures, const char *conf,
			     const char *conf_d, char **error)
{
	struct reader r = { .p = p };
	int k;

	*error = NULL;
	if ((k = asios_health_policy_init(p)) < 0)
		return k;
	r.c = (struct asios_conf){ .handler = handler, .user = &r, .policy = p };
	k = load(&r, signatures, NULL, NULL, error); /* the catalogue must be there */
	if (k >= 0)
		k = load(&r, conf, ASIOS_HEALTH_CONF, conf_d, error);
	if (k >= 0)
		k = check_all(&r, error);
	reader_free(&r);
	if (k < 0)
		asios_health_policy_clear(p);
	return k;
}

int asios_health_policy_parse(struct asios_health_policy *p, const char *text, const char *origin, char **error)
{
	struct reader r = { .p = p, .named = p->n_sigs };
	size_t had = p->n_sigs;
	int k;

	*error = NULL;
	r.where = calloc(had ? had : 1, sizeof(*r.where));
	if (!r.where)
		return -ENOMEM;
	for (size_t i = 0; i < had; i++)
		if (asprintf(&r.where[i], "%s", origin) < 0)
			r.where[i] = NULL;
	r.c = (struct asios_conf){ .handler = handler, .user = &r, .policy = p };
	k = asios_conf_parse(&r.c, text, strlen(text), origin, error);
	if (k >= 0)
		k = after_file(&r.c, origin, error);
	for (size_t i = 0; k >= 0 && i < p->n_sigs; i++)
		k = sig_check(&p->sigs[i], r.where[i] ? r.where[i] : origin, error);
	reader_free(&r);
	return k;
}
