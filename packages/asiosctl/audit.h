/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * asiosctl audit: the machine's hardening state against rules that are data (audit.rules, one [ID] section per
 * rule: what to read, what is expected, how much it matters, who recommends it, and where it conflicts with AI
 * workloads). audit-rules.c reads the rules and judges one; audit.c is the verb.
 */

#include <stdbool.h>
#include <stddef.h>

#include "asios/kconfig.h"
#include "asios/root.h"

#define AUDIT_ID_MAX 50
#define AUDIT_TEXT_MAX 200
#define AUDIT_RULES "/usr/share/asios/audit.rules"
#define AUDIT_RULES_D "/etc/asios/audit.d"

enum audit_kind { AUDIT_SYSCTL, AUDIT_FILE, AUDIT_CMDLINE, AUDIT_KCONFIG, AUDIT_LOCKDOWN, AUDIT_SSHD, AUDIT_UNIT };
enum audit_op { AUDIT_EQ, AUDIT_NE, AUDIT_GE, AUDIT_LE, AUDIT_CONTAINS, AUDIT_LACKS, AUDIT_IN, AUDIT_FIRST };
enum audit_severity { AUDIT_LOW, AUDIT_MEDIUM, AUDIT_HIGH };
enum audit_result { AUDIT_PASS, AUDIT_FAIL, AUDIT_UNKNOWN };

struct audit_rule {
	char id[AUDIT_ID_MAX];
	char origin[300];             /* FILE:LINE where the rule was first seen */
	bool has_check, has_expect, has_severity, has_default, enabled;
	enum audit_kind kind;
	char target[AUDIT_TEXT_MAX];  /* the sysctl, file, parameter, option, sshd keyword or unit */
	enum audit_op op;
	char want[AUDIT_TEXT_MAX];
	char expect[AUDIT_TEXT_MAX];  /* as written, for the report */
	enum audit_severity severity;
	char def[AUDIT_TEXT_MAX];     /* the value when the source is read but has no such entry */
	char title[AUDIT_TEXT_MAX], source[AUDIT_TEXT_MAX], ai[AUDIT_TEXT_MAX];
};

struct audit_rules {
	struct audit_rule *v;
	size_t n;
};

/* What the rules are judged against: a root ("/" or a capture) and what is read once for all rules. */
struct audit_machine {
	struct asios_root *root;
	bool own_root;                  /* opened here, freed by audit_machine_close() */
	const char *root_path;
	char *cmdline;                  /* NULL when unreadable */
	struct asios_kconfig_entry *kconfig;
	size_t n_kconfig;
	char *kconfig_source;           /* NULL: no configuration found */
	char **sshd_keys, **sshd_values; /* the effective sshd settings (first value wins), lower-case keys */
	size_t n_sshd;
	bool sshd_read;
};

/* Read the rules from FILE, then DIR/NAME.conf in name order (a later file may change or disable a rule by its
 * ID). 0, or -EINVAL with *ERROR = "FILE:LINE: what" (free it). */
int audit_rules_load(const char *file, const char *dir, struct audit_rules *rules, char **error);
/* The same from TEXT (LEN bytes) named ORIGIN (the fuzzer's way in). */
int audit_rules_parse(const char *text, size_t len, const char *origin, struct audit_rules *rules, char **error);
void audit_rules_free(struct audit_rules *rules);
/* The rules file: $ASIOS_AUDIT_RULES, else the installed one, else the copy the build puts beside asiosctl. */
const char *audit_rules_default(void);
/* Judge every rule but the units' on the machine under ROOT, for a snapshot: its reads are what a capture needs
 * for `audit --root`. Quiet; nothing when there are no rules. */
void audit_observe(const char *root_path, struct asios_root *root);

/* The machine under ROOT_PATH, through ROOT when the caller has it open (a snapshot's recorder sees the reads),
 * else opened here. 0, or -errno (close it all the same). */
int audit_machine_open(const char *root_path, struct asios_root *root, struct audit_machine *m);
void audit_machine_close(struct audit_machine *m);

/* Judge RULE on M: the value found (or why none could be) in ACTUAL. */
enum audit_result audit_judge(struct audit_machine *m, const struct audit_rule *rule, char *actual, size_t size);

const char *audit_severity_name(enum audit_severity s);
const char *audit_result_name(enum audit_result r);
const char *audit_kind_name(enum audit_kind k);
