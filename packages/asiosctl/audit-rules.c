/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The audit's rules, read with ASIOS's one INI reader (asios/config.h: a bad line is FILE:LINE and nothing is
 * judged). A rule:
 *   [kptr_restrict]                          the ID: letters, digits, '_', '-', '.'
 *   check = sysctl kernel.kptr_restrict      sysctl NAME | file PATH | cmdline PARAM | kconfig CONFIG_NAME |
 *                                            lockdown | sshd KEYWORD | unit NAME.service
 *   expect = >= 1                            = V | != V | >= N | <= N | contains W | lacks W | in A|B|C | first A|B
 *   severity = medium                        high | medium | low
 *   default = 0                              (optional) the value when the source is read but has no such entry
 *   title = ...  source = ...  ai = ...      what it guards, who recommends it, the conflict with AI workloads
 *   enabled = no                             (optional) a drop-in turns a rule off
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/config.h"
#include "audit.h"

static const char *const kinds[] = { "sysctl", "file", "cmdline", "kconfig", "lockdown", "sshd", "unit" };
static const char *const ops[] = { "=", "!=", ">=", "<=", "contains", "lacks", "in", "first" };
static const char *const severities[] = { "low", "medium", "high" };

const char *audit_severity_name(enum audit_severity s)
{
	return severities[s];
}

const char *audit_kind_name(enum audit_kind k)
{
	return kinds[k];
}

const char *audit_result_name(enum audit_result r)
{
	return r == AUDIT_PASS ? "pass" : r == AUDIT_FAIL ? "FAIL" : "unknown";
}

struct loader {
	struct audit_rules *rules;
};

static struct audit_rule *rule_for(struct asios_conf *c, struct loader *l, const char *id)
{
	struct audit_rule *r;

	for (size_t i = 0; i < l->rules->n; i++)
		if (!strcmp(l->rules->v[i].id, id))
			return &l->rules->v[i];
	for (const char *p = id; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_-.", *p)) {
			asios_conf_fail(c, "[%s]: a rule ID is letters, digits, '_', '-' and '.'%s", id, "");
			return NULL;
		}
	if (!(r = realloc(l->rules->v, (l->rules->n + 1) * sizeof(*r))))
		return NULL;
	l->rules->v = r;
	r = &r[l->rules->n++];
	memset(r, 0, sizeof(*r));
	r->enabled = true;
	snprintf(r->id, sizeof(r->id), "%s", id);
	snprintf(r->origin, sizeof(r->origin), ":%u", c->line); /* the file is put before it once it is read */
	return r;
}

static int set_check(struct asios_conf *c, struct audit_rule *r, const char *v)
{
	size_t n = strcspn(v, " \t");
	const char *arg = v + n + strspn(v + n, " \t");

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		if (strlen(kinds[k]) != n || strncmp(v, kinds[k], n))
			continue;
		if ((k == AUDIT_LOCKDOWN) != !*arg)
			return asios_conf_fail(c, "check = %s: %s", v,
					       k == AUDIT_LOCKDOWN ? "lockdown takes no argument" : "a name is missing");
		if (k == AUDIT_FILE && *arg != '/')
			return asios_conf_fail(c, "check = %s: %s", v, "the file must be an absolute path");
		r->kind = (enum audit_kind)k;
		snprintf(r->target, sizeof(r->target), "%s", arg);
		r->has_check = true;
		return 1;
	}
	return asios_conf_fail(c, "check = %s: expected sysctl, file, cmdline, kconfig, lockdown, sshd or unit%s", v,
			       "");
}

static int set_expect(struct asios_conf *c, struct audit_rule *r, const char *v)
{
	size_t n = strcspn(v, " \t");
	const char *arg = v + n + strspn(v + n, " \t");

	for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
		if (strlen(ops[k]) != n || strncmp(v, ops[k], n))
			continue;
		if (!*arg)
			return asios_conf_fail(c, "expect = %s: %s", v, "the value is missing");
		if (k == AUDIT_GE || k == AUDIT_LE) {
			char *end;

			(void)strtod(arg, &end);
			if (end == arg || *end)
				return asios_conf_fail(c, "expect = %s: %s", v, "not a number");
		}
		r->op = (enum audit_op)k;
		snprintf(r->want, sizeof(r->want), "%s", arg);
		snprintf(r->expect, sizeof(r->expect), "%s", v);
		r->has_expect = true;
		return 1;
	}
	return asios_conf_fail(c, "expect = %s: expected =, !=, >=, <=, contains, lacks, in or first, then a value%s",
			       v, "");
}

static int set_text(struct asios_conf *c, struct audit_rule *r, const char *name, const char *v)
{
	char *dst = !strcmp(name, "title") ? r->title : !strcmp(name, "source") ? r->source
		    : !strcmp(name, "ai") ? r->ai : !strcmp(name, "default") ? r->def : NULL;

	if (!dst)
		return asios_conf_fail(c, "unknown key \"%s\" (check, expect, severity, default, title, source, ai, "
					  "enabled)%s", name, "");
	snprintf(dst, AUDIT_TEXT_MAX, "%s", v);
	if (dst == r->def)
		r->has_default = true;
	return 1;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct asios_conf *c = user;
	struct loader *l = c->policy;
	struct audit_rule *r;

	if (!*section)
		return asios_conf_fail(c, "\"%s\" outside a [RULE] section%s", name, "");
	if (!(r = rule_for(c, l, section)))
		return 0;
	if (!strcmp(name, "check"))
		return set_check(c, r, value);
	if (!strcmp(name, "expect"))
		return set_expect(c, r, value);
	if (!strcmp(name, "enabled"))
		return asios_conf_bool(value, &r->enabled) ? asios_conf_fail(c, "enabled: expected yes or no, got \"%s\"%s",
									    value, "") : 1;
	if (!strcmp(name, "severity")) {
		for (size_t k = 0; k < 3; k++)
			if (!strcmp(value, severities[k])) {
				r->severity = (enum audit_severity)k;
				r->has_severity = true;
				return 1;
			}
		return asios_conf_fail(c, "severity: expected high, medium or low, got \"%s\"%s", value, "");
	}
	return set_text(c, r, name, value);
}

/* after each file: the rules it brought get its name in their origin */
static int named(struct asios_conf *c, const char *path, char **error)
{
	struct audit_rules *rules = ((struct loader *)c->policy)->rules;

	(void)error;
	for (size_t i = 0; i < rules->n; i++)
		if (rules->v[i].origin[0] == ':') {
			char line[16];

			snprintf(line, sizeof(line), "%s", rules->v[i].origin);
			snprintf(rules->v[i].origin, sizeof(rules->v[i].origin), "%.280s%s", path, line);
		}
	return 0;
}

/* every enabled rule complete */
static int complete(const struct audit_rules *rules, char **error)
{
	for (size_t i = 0; i < rules->n; i++) {
		const struct audit_rule *r = &rules->v[i];
		const char *missing = !r->has_check ? "check" : !r->has_expect ? "expect"
				      : !r->has_severity ? "severity" : NULL;

		if (r->enabled && missing)
			return asprintf(error, "%s: rule [%s] has no %s", r->origin, r->id, missing) < 0 ? -ENOMEM : -EINVAL;
	}
	return 0;
}

int audit_rules_load(const char *file, const char *dir, struct audit_rules *rules, char **error)
{
	struct loader l = { .rules = rules };
	struct asios_conf c = { .handler = handler, .policy = &l };
	int r;

	memset(rules, 0, sizeof(*rules));
	*error = NULL;
	c.user = &c;
	r = asios_conf_load(&c, file, NULL, dir, named, error);
	if (r == 0)
		r = complete(rules, error);
	if (r < 0)
		audit_rules_free(rules);
	return r;
}

int audit_rules_parse(const char *text, size_t len, const char *origin, struct audit_rules *rules, char **error)
{
	struct loader l = { .rules = rules };
	struct asios_conf c = { .handler = handler, .policy = &l };
	int r;

	memset(rules, 0, sizeof(*rules));
	*error = NULL;
	c.user = &c;
	r = asios_conf_parse(&c, text, len, origin, error);
	if (r == 0)
		r = named(&c, origin, error);
	if (r == 0)
		r = complete(rules, error);
	if (r < 0)
		audit_rules_free(rules);
	return r;
}

void audit_rules_free(struct audit_rules *rules)
{
	free(rules->v);
	rules->v = NULL;
	rules->n = 0;
}
