/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The one reader of the daemons' INI files (irqd.conf, numad.conf, schedd.conf and their drop-ins), shared by
 * the three policy readers. It reads a file itself and hands libinih only lines it has checked, so that
 * nothing libinih would truncate, split or skip silently reaches it. Refused, each as "FILE:LINE: what":
 *   - a NUL byte, a carriage return (DOS line ends), another control character but tab, a byte order mark,
 *     bytes that are not UTF-8;
 *   - a line that is not a comment and is longer than ASIOS_CONF_MAX_LINE characters (comments may be longer:
 *     they are dropped before libinih sees them);
 *   - a section name longer than ASIOS_CONF_MAX_SECTION characters, text after "]", a line that is neither a
 *     comment, a [section] nor KEY = VALUE;
 *   - a key set twice in the same section of one file (a later drop-in overriding it is the way to change it);
 *   - whatever the policy's own handler refuses (unknown keys and sections, bad values).
 * Leading blanks are not significant (libinih's continuation lines are not used).
 *
 * A file must be a regular file (opened without blocking, so a FIFO or device is refused, never waited on) of
 * at most ASIOS_CONF_MAX_BYTES. A missing file is no error only at its default place (the path ends with the
 * default, e.g. /etc/asios/irqd.conf or ROOT/etc/asios/irqd.conf); one named otherwise must exist. A missing
 * drop-in folder means no drop-ins; one that is not a folder is an error naming it.
 */

#include <stdbool.h>
#include <stddef.h>

#define ASIOS_CONF_MAX_LINE 198    /* characters of a line that is not a comment, without its line end */
#define ASIOS_CONF_MAX_SECTION 49  /* characters between [ and ] */
#define ASIOS_CONF_MAX_BYTES (1024 * 1024)

/* A policy's handler, as libinih's: 1 when the line is taken, 0 when refused (the reason in the reader's why,
 * set with asios_conf_fail()). */
typedef int (*asios_conf_handler)(void *user, const char *section, const char *name, const char *value);

struct asios_conf {
	/* set by the policy reader */
	asios_conf_handler handler;
	void *user;
	const char *const *repeatable; /* NULL-terminated sections whose keys may repeat in one file, or NULL */
	void *policy;                  /* what the handler fills (asios_conf_format_*(): user is this reader) */
	unsigned *lines;               /* a format's own memo: a line per numbered thing (freed by the format) */
	size_t n_lines;
	/* state of the file being read */
	unsigned line;                 /* the line being handled (1-based) */
	unsigned why_line;             /* the line of the first error, 0 while none */
	char *why;                     /* its reason, without the location */
	char **seen;                   /* "SECTION\nKEY" of this file, for repeated keys */
	unsigned *seen_line;
	size_t n_seen;
};

/*
 * Parse TEXT (LEN bytes, may hold NULs, which are refused) named ORIGIN with C's handler. 0, or -EINVAL with
 * *error = "ORIGIN:LINE: what" (free it), or -ENOMEM.
 */
int asios_conf_parse(struct asios_conf *c, const char *text, size_t len, const char *origin, char **error);

/*
 * Read CONF (a missing one is no error only when it ends with DEF_CONF), then CONF_D/NAME.conf (not hidden) in
 * name order (a missing CONF_D: none). Either may be NULL (not read).
 * AFTER, when not NULL, runs after each file with its path and returns 0 or -EINVAL (with *error set). The
 * first failure stops and is returned with *error = "PATH:LINE: what" or "PATH: what".
 */
int asios_conf_load(struct asios_conf *c, const char *conf, const char *def_conf, const char *conf_d,
		    int (*after)(struct asios_conf *c, const char *path, char **error), char **error);

/* Keep the first reason of a file in C (FMT: a literal with two %s). Returns 0, which refuses the line. */
int asios_conf_fail(struct asios_conf *c, const char *fmt, const char *a, const char *b)
	__attribute__((format(printf, 2, 0)));

/*
 * A section's keys as data, in the style of systemd's ConfigTableItem: each key's kind, where its value goes in
 * the policy (OFFSET), its bounds or words, and the words of its error ("NAME: expected EXPECT, got \"VALUE\"";
 * a CPU list: "NAME: not a CPU list: \"VALUE\""). FUNC handles a key no kind fits (1 taken, 0 refused with
 * asios_conf_fail()).
 */
enum asios_conf_kind {
	ASIOS_CONF_BOOL,  /* bool: yes/true/1/on or no/false/0/off */
	ASIOS_CONF_UINT,  /* unsigned within [MIN, MAX] */
	ASIOS_CONF_ENUM,  /* int: the index of one of NAMES (NULL-terminated) */
	ASIOS_CONF_CPUS,  /* hwloc_bitmap_t: a CPU list, added to the set */
	ASIOS_CONF_FUNC,
};

struct asios_conf_item {
	const char *name;
	enum asios_conf_kind kind;
	size_t offset;
	long min, max;
	const char *const *names;
	const char *expect;
	int (*func)(struct asios_conf *c, void *policy, const char *value);
};

#define ASIOS_CONF_ITEM_BOOL(T, key, f) { .name = (key), .kind = ASIOS_CONF_BOOL, .offset = offsetof(T, f) }
#define ASIOS_CONF_ITEM_UINT(T, key, f, lo, hi, words) \
	{ .name = (key), .kind = ASIOS_CONF_UINT, .offset = offsetof(T, f), .min = (lo), .max = (hi), .expect = (words) }
#define ASIOS_CONF_ITEM_ENUM(T, key, f, list, words) \
	{ .name = (key), .kind = ASIOS_CONF_ENUM, .offset = offsetof(T, f), .names = (list), .expect = (words) }
#define ASIOS_CONF_ITEM_CPUS(T, key, f) { .name = (key), .kind = ASIOS_CONF_CPUS, .offset = offsetof(T, f) }
#define ASIOS_CONF_ITEM_FUNC(key, fn) { .name = (key), .kind = ASIOS_CONF_FUNC, .func = (fn) }
#define ASIOS_CONF_N(table) (sizeof(table) / sizeof((table)[0]))

/*
 * NAME = VALUE of [SECTION] by TABLE (N items) into POLICY: 1 taken, 0 refused (the reason in C), an unknown
 * key refused as "unknown key \"NAME\" in [SECTION]".
 */
int asios_conf_table(struct asios_conf *c, const struct asios_conf_item *table, size_t n, void *policy,
		     const char *section, const char *name, const char *value);

/*
 * One policy format, as data: its handler (called with the reader as user data, the policy in its POLICY), the
 * sections whose keys may repeat, its default file, a check after each file (AFTER, may be NULL) and the
 * policy's init and clear. asios_conf_format_read(): init, then CONF (a missing one only at DEF_CONF is no
 * error) and CONF_D/NAME.conf; the policy cleared on failure. asios_conf_format_parse(): TEXT named ORIGIN into
 * an initialised policy. Both 0, or -EINVAL with *error = "FILE:LINE: what" (free it), or -ENOMEM.
 */
struct asios_conf_format {
	asios_conf_handler handler;
	const char *const *repeatable;
	const char *def_conf;
	int (*after)(struct asios_conf *c, const char *path, char **error);
	int (*init)(void *policy);
	void (*clear)(void *policy);
};
/*
 * The format of struct asios_NAME_policy, written once per domain: asios_NAME_policy_format over its typed
 * asios_NAME_policy_init() and _clear(), and asios_NAME_policy_parse() (TEXT named ORIGIN into an initialised
 * policy; for tests and fuzzers). REPEATABLE and AFTER may be NULL.
 */
#define ASIOS_CONF_FORMAT(name, handler_fn, repeatable_list, def_conf_path, after_fn)                           \
	static int name##_format_init(void *p)                                                                \
	{                                                                                                     \
		return asios_##name##_policy_init(p);                                                          \
	}                                                                                                     \
	static void name##_format_clear(void *p)                                                              \
	{                                                                                                     \
		asios_##name##_policy_clear(p);                                                                \
	}                                                                                                     \
	const struct asios_conf_format asios_##name##_policy_format = {                                       \
		.handler = (handler_fn), .repeatable = (repeatable_list), .def_conf = (def_conf_path),         \
		.after = (after_fn),     .init = name##_format_init,      .clear = name##_format_clear,        \
	};                                                                                                    \
	int asios_##name##_policy_parse(struct asios_##name##_policy *p, const char *text, const char *origin, \
					char **error)                                                         \
	{                                                                                                     \
		return asios_conf_format_parse(&asios_##name##_policy_format, p, text, origin, error);        \
	}

int asios_conf_format_read(const struct asios_conf_format *f, void *policy, const char *conf, const char *conf_d,
			   char **error);
int asios_conf_format_parse(const struct asios_conf_format *f, void *policy, const char *text, const char *origin,
			    char **error);

/* Configuration values: yes/true/1/on or no/false/0/off; a decimal integer within [MIN, MAX]. -EINVAL otherwise. */
int asios_conf_bool(const char *v, bool *ret);
int asios_conf_long(const char *v, long min, long max, long *ret);

/* Where a shipped data file is: $ENV when set (ENV may be NULL), else INSTALLED when it exists, else NAME beside
 * the running program (a build tree, before install; the path is built in BUF), else INSTALLED. */
const char *asios_conf_data_path(const char *env, const char *installed, const char *name, char *buf, size_t size);
