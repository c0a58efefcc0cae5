/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"

/*
 * One left-to-right pass over the text. At each byte the rules are tried in table order; the first that
 * matches there names the bytes to replace (a value after its name, or the whole match) and the pass goes on
 * after them. A rule whose secret part is already exactly the marker does not match, and every decision
 * looks only at what has been written so far (the byte before) and at the input ahead. The input ahead can
 * still change under a decision: a URL without an '@' up to the quote that ends it has one when a later
 * match takes that quote. So the passes repeat until one leaves its input alone (redact_find() is the pass
 * stopping at its first match): each pass that changes the text replaces bytes that are not a marker, or
 * several markers by one, so this ends; REDACT_MAX_PASSES bounds it all the same. Every rule is linear (the
 * one lookahead that could run far, a URL's authority, is shared between positions), so the text of an
 * ordinary file costs one pass, and one more to check it when something was redacted.
 */

enum match {
	MATCH_PARAMETER, /* NAME=VALUE with NAME a secret's name: VALUE */
	MATCH_OPTION,    /* -NAME VALUE or --NAME VALUE (blank or NUL between) with NAME a secret's name: VALUE */
	MATCH_USERINFO,  /* PATTERN, then what follows up to a blank, quote, ? or # when it has an '@' (not first) */
	MATCH_PREFIXED,  /* PATTERN in any case, then a value up to a blank, quote, '&' or ';' */
	MATCH_SHAPE,     /* PATTERN as a shape: 'x' a hex digit, 'X' a capital or digit, anything else itself */
	MATCH_PAIRS,     /* six or more pairs of hex digits joined by one ':' or one '-' throughout */
};

/* What makes a name (of a parameter or option) a secret's: it contains one of WORDS, or one of its parts
 * (split at '.', '_', '-' and where a small letter is followed by a capital, trailing digits dropped) is one
 * of PARTS, both in any case; a name starting with EXCEPT never is. */
struct secret_names {
	const char *const *words;
	const char *const *parts;
	const char *except;
};

static const char *const secret_words[] = { "password",  "passwd",	   "passphrase", "secret",    "token",
					    "credential", "signature", "apikey",     "accesskey", "privatekey",
					    "authoriz",   NULL };
static const char *const secret_parts[] = { "pass", "pw", "pwd", "key", "keys", "sig", "cred", "creds", "auth", "psk",
					    NULL };
/* kernel build options: CONFIG_MODULE_SIG_KEY=, CONFIG_TRUSTED_KEYS= are settings, not secrets (a string
 * option such as CONFIG_CMDLINE="…" is still searched inside) */
static const struct secret_names names = { secret_words, secret_parts, "CONFIG_" };

struct rule {
	const char *name;
	enum match match;
	const char *pattern;
	const char *what;
};

static const struct rule rules[] = {
	{ "secret-parameter", MATCH_PARAMETER, NULL,
	  "VALUE of NAME=VALUE where NAME names a secret (ipmi.pw=, BMC_CRED=, rd.luks.key=, X-Amz-Signature=, sig=, "
	  "token=, password= in mount options); VALUE runs to a blank, quote, '&' or ';', or is quoted" },
	{ "secret-option", MATCH_OPTION, NULL,
	  "VALUE of -NAME VALUE or --NAME VALUE where NAME names a secret (--password hunter2)" },
	{ "url-userinfo", MATCH_USERINFO, "://",
	  "a URL with a user:password@ (https://user:pass@host/path), all of it up to its query (?) or fragment (#)" },
	{ "iscsi-userinfo", MATCH_USERINFO, "iscsi:",
	  "a dracut iSCSI root with a user:password@ (netroot=iscsi:user:pass@host::3260::iqn...), all of it" },
	{ "bearer-token", MATCH_PREFIXED, "bearer ", "the token after \"Bearer \" (HTTP authorization), any case" },
	{ "aws-access-key-id", MATCH_SHAPE, "AKIAXXXXXXXXXXXXXXXX", "an AWS access key ID" },
	{ "aws-temporary-key-id", MATCH_SHAPE, "ASIAXXXXXXXXXXXXXXXX", "an AWS temporary access key ID" },
	{ "uuid", MATCH_SHAPE, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
	  "a UUID (machine, board, disk, partition and boot IDs)" },
	{ "hardware-address", MATCH_PAIRS, NULL,
	  "six or more hex pairs joined by ':' or '-': MAC and InfiniBand addresses, BOOTIF=" },
};

#define N_RULES (sizeof(rules) / sizeof(rules[0]))
#define NONE SIZE_MAX

/* a name is judged by its last NAME_WINDOW bytes (the ones next to its '='), so that a long run of name
 * bytes with matches in it costs no more than a short one */
#define NAME_WINDOW 128

struct scan {
	const char *s;
	size_t len;
	/* the last URL authority looked at: [auth_from, auth_end) and its last '@' (NONE: none) */
	size_t auth_from, auth_end, auth_at;
	bool auth_valid;
	/* the last run of name bytes looked at: [run_from, run_end) */
	size_t run_from, run_end;
	bool run_valid;
	/* by first byte, the rules that can match there (bit K: rules[K]) */
	uint16_t can_start[256];
};

struct hit {
	size_t from, to; /* the bytes the marker replaces */
	const struct rule *rule;
};

static bool digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool lower(unsigned char c)
{
	return c >= 'a' && c <= 'z';
}

static bool upper(unsigned char c)
{
	return c >= 'A' && c <= 'Z';
}

static bool hex(unsigned char c)
{
	return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static unsigned char fold(unsigned char c)
{
	return upper(c) ? (unsigned char)(c | 0x20) : c;
}

/* a byte of a parameter's or option's name */
static bool name_char(unsigned char c)
{
	return digit(c) || lower(c) || upper(c) || c == '_' || c == '.' || c == '-';
}

static bool blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == '\0';
}

static bool quote(unsigned char c)
{
	return c == '"' || c == '\'';
}

static bool value_end(unsigned char c)
{
	return blank(c) || quote(c) || c == '&' || c == ';';
}

static bool authority_end(unsigned char c)
{
	return blank(c) || quote(c) || c == '?' || c == '#';
}

static bool is_marker(const char *s, size_t from, size_t to)
{
	return to - from == strlen(REDACT_MARKER) && !memcmp(s + from, REDACT_MARKER, to - from);
}

/* S[0..N) equals WORD in any case */
static bool equal_fold(const char *s, size_t n, const char *word)
{
	size_t i;

	for (i = 0; i < n && word[i]; i++)
		if (fold((unsigned char)s[i]) != (unsigned char)word[i])
			return false;
	return i == n && !word[i];
}

static bool contains_fold(const char *s, size_t n, const char *word)
{
	size_t w = strlen(word);

	for (size_t i = 0; i + w <= n; i++)
		if (equal_fold(s + i, w, word))
			return true;
	return false;
}

static bool secret_name(const struct secret_names *sn, const char *k, size_t n)
{
	size_t a = 0;

	if (sn->except && n >= strlen(sn->except) && !memcmp(k, sn->except, strlen(sn->except)))
		return false;
	if (n > NAME_WINDOW) {
		k += n - NAME_WINDOW;
		n = NAME_WINDOW;
	}
	for (size_t i = 0; sn->words[i]; i++)
		if (contains_fold(k, n, sn->words[i]))
			return true;
	while (a < n) {
		size_t b = a, e;

		while (b < n && k[b] != '.' && k[b] != '_' && k[b] != '-' &&
		       !(b > a && lower((unsigned char)k[b - 1]) && upper((unsigned char)k[b])))
			b++;
		for (e = b; e > a && digit((unsigned char)k[e - 1]); e--)
			;
		for (size_t i = 0; e > a && sn->parts[i]; i++)
			if (equal_fold(k + a, e - a, sn->parts[i]))
				return true;
		/* the next part starts past the separator, or at the capital that ended this one */
		a = b < n && (k[b] == '.' || k[b] == '_' || k[b] == '-') ? b + 1 : b;
	}
	return false;
}

/* End of a value starting at V: up to the first byte for which STOP holds; one that starts with a quote, as
 * the kernel reads its command line, up to such a byte outside quotes (quotes open and close anywhere in it),
 * or inside them to the end of the line (where STOP ends lines) or a NUL. Either way what follows the value
 * would end one: the marker that replaces a value is read back as the whole value. */
static size_t value_at(const struct scan *sc, size_t v, bool (*stop)(unsigned char))
{
	const char *s = sc->s;
	unsigned char q = 0;
	size_t e;

	if (v >= sc->len || !quote((unsigned char)s[v])) {
		for (e = v; e < sc->len && !stop((unsigned char)s[e]); e++)
			;
		return e;
	}
	for (e = v; e < sc->len; e++) {
		unsigned char c = (unsigned char)s[e];

		if (q && c == q)
			q = 0;
		else if (q && (c == '\0' || (c == '\n' && stop(c))))
			break;
		else if (!q && quote(c))
			q = c;
		else if (!q && stop(c))
			break;
	}
	return e;
}

static bool nul(unsigned char c)
{
	return c == '\0';
}

/* the end of the run of name bytes from I, shared by the positions inside one run */
static size_t name_run(struct scan *sc, size_t i)
{
	if (!sc->run_valid || i < sc->run_from || i > sc->run_end) {
		size_t e;

		for (e = i; e < sc->len && name_char((unsigned char)sc->s[e]); e++)
			;
		sc->run_from = i;
		sc->run_end = e;
		sc->run_valid = true;
	}
	return sc->run_end;
}

static bool match_parameter(struct scan *sc, size_t i, unsigned char prev, struct hit *h)
{
	const char *s = sc->s;
	size_t k, end;

	if (name_char(prev) || !name_char((unsigned char)s[i]))
		return false;
	k = name_run(sc, i);
	if (k >= sc->len || s[k] != '=' || !secret_name(&names, s + i, k - i))
		return false;
	end = value_at(sc, k + 1, value_end);
	if (end == k + 1 || is_marker(s, k + 1, end))
		return false;
	h->from = k + 1;
	h->to = end;
	return true;
}

static bool match_option(struct scan *sc, size_t i, unsigned char prev, struct hit *h)
{
	const char *s = sc->s;
	size_t k = i, e, v, end;

	if (name_char(prev) || s[i] != '-')
		return false;
	while (k < sc->len && s[k] == '-' && k - i < 3)
		k++;
	if (k - i > 2 || k >= sc->len || !name_char((unsigned char)s[k]) || s[k] == '-' || s[k] == '.' || s[k] == '_')
		return false;
	e = name_run(sc, k);
	if (e + 1 >= sc->len || (s[e] != ' ' && s[e] != '\t' && s[e] != '\0') || !secret_name(&names, s + k, e - k))
		return false;
	v = e + 1;
	if (s[v] == '-' || blank((unsigned char)s[v]))
		return false;
	/* an argument of a NUL-separated command line is the whole argument */
	end = value_at(sc, v, s[e] == '\0' ? nul : blank);
	if (end == v || is_marker(s, v, end))
		return false;
	h->from = v;
	h->to = end;
	return true;
}

/* the authority after A: its end and its last '@' (NONE), shared by the positions inside one authority */
static void authority(struct scan *sc, size_t a, size_t *end, size_t *at)
{
	if (!sc->auth_valid || a < sc->auth_from || a > sc->auth_end) {
		size_t e;

		sc->auth_at = NONE;
		for (e = a; e < sc->len && !authority_end((unsigned char)sc->s[e]); e++)
			if (sc->s[e] == '@')
				sc->auth_at = e;
		sc->auth_from = a;
		sc->auth_end = e;
		sc->auth_valid = true;
	}
	*end = sc->auth_end;
	*at = sc->auth_at != NONE && sc->auth_at >= a ? sc->auth_at : NONE;
}

static bool match_userinfo(struct scan *sc, const struct rule *r, size_t i, struct hit *h)
{
	size_t n, a, end, at;

	if (sc->s[i] != r->pattern[0])
		return false;
	n = strlen(r->pattern);
	a = i + n;
	if (sc->len - i < n || memcmp(sc->s + i, r->pattern, n))
		return false;
	authority(sc, a, &end, &at);
	/* all of it, host and path too: cut at the '@', what follows could change when a later match takes the
	 * byte that ends the authority, and the next pass would see a different '@' */
	if (at == NONE || at == a || is_marker(sc->s, a, end))
		return false;
	h->from = a;
	h->to = end;
	return true;
}

static bool match_prefixed(struct scan *sc, const struct rule *r, size_t i, struct hit *h)
{
	size_t n, end;

	if (fold((unsigned char)sc->s[i]) != (unsigned char)r->pattern[0])
		return false;
	n = strlen(r->pattern);
	if (sc->len - i < n || !equal_fold(sc->s + i, n, r->pattern))
		return false;
	for (end = i + n; end < sc->len && !value_end((unsigned char)sc->s[end]); end++)
		;
	if (end == i + n || is_marker(sc->s, i + n, end))
		return false;
	h->from = i + n;
	h->to = end;
	return true;
}

static bool match_shape(struct scan *sc, const struct rule *r, size_t i, struct hit *h)
{
	size_t n;

	if (r->pattern[0] != 'x' && r->pattern[0] != 'X' && sc->s[i] != r->pattern[0])
		return false;
	n = strlen(r->pattern);
	if (sc->len - i < n)
		return false;
	for (size_t k = 0; k < n; k++) {
		unsigned char c = (unsigned char)sc->s[i + k], p = (unsigned char)r->pattern[k];

		if (p == 'x' ? !hex(c) : p == 'X' ? !(upper(c) || digit(c)) : c != p)
			return false;
	}
	h->from = i;
	h->to = i + n;
	return true;
}

static bool match_pairs(struct scan *sc, size_t i, struct hit *h)
{
	const char *s = sc->s;
	size_t e = i + 2, n = 1;
	char sep;

	if (sc->len - i < 3 || !hex((unsigned char)s[i]) || !hex((unsigned char)s[i + 1]))
		return false;
	sep = s[i + 2];
	if (sep != ':' && sep != '-')
		return false;
	while (e + 2 < sc->len && s[e] == sep && hex((unsigned char)s[e + 1]) && hex((unsigned char)s[e + 2])) {
		e += 3;
		n++;
	}
	if (n < 6)
		return false;
	h->from = i;
	h->to = e;
	return true;
}

/* whole-match rules replace all they match; the others keep a name or prefix and replace what follows */
static bool whole(enum match m)
{
	return m == MATCH_SHAPE || m == MATCH_PAIRS;
}

/* the first rule (of the whole-match ones with WHOLE_ONLY) matching at I */
static bool match(struct scan *sc, size_t i, unsigned char prev, bool whole_only, struct hit *h)
{
	uint16_t can = sc->can_start[(unsigned char)sc->s[i]];

	for (size_t k = 0; can && k < N_RULES; k++) {
		const struct rule *r = &rules[k];
		bool m = false;

		if (!(can & (1u << k)) || (whole_only && !whole(r->match)))
			continue;
		switch (r->match) {
		case MATCH_PARAMETER:
			m = match_parameter(sc, i, prev, h);
			break;
		case MATCH_OPTION:
			m = match_option(sc, i, prev, h);
			break;
		case MATCH_USERINFO:
			m = match_userinfo(sc, r, i, h);
			break;
		case MATCH_PREFIXED:
			m = match_prefixed(sc, r, i, h);
			break;
		case MATCH_SHAPE:
			m = match_shape(sc, r, i, h);
			break;
		case MATCH_PAIRS:
			m = match_pairs(sc, i, h);
			break;
		}
		if (m) {
			h->rule = r;
			return true;
		}
	}
	return false;
}

struct out {
	char *buf;
	size_t len, cap;
};

/* append P[0..N) to O (nothing without O: a pass that only looks) */
static int put(struct out *o, const char *p, size_t n)
{
	if (!o)
		return 0;
	if (o->cap - o->len <= n) {
		size_t cap = o->cap;
		char *nb;

		while (cap - o->len <= n)
			cap = cap * 2 + 64;
		nb = realloc(o->buf, cap);
		if (!nb)
			return -ENOMEM;
		o->buf = nb;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	return 0;
}

/* what a rule's match can start with */
static bool can_start(const struct rule *r, unsigned char c)
{
	unsigned char p = r->pattern ? (unsigned char)r->pattern[0] : 0;

	switch (r->match) {
	case MATCH_PARAMETER:
		return name_char(c);
	case MATCH_OPTION:
		return c == '-';
	case MATCH_USERINFO:
		return c == p;
	case MATCH_PREFIXED:
		return fold(c) == fold(p);
	case MATCH_SHAPE:
		return p == 'x' ? hex(c) : p == 'X' ? upper(c) || digit(c) : c == p;
	case MATCH_PAIRS:
		return hex(c);
	}
	return false;
}

static void scan_init(struct scan *sc, const char *s, size_t len)
{
	_Static_assert(N_RULES <= 16, "can_start[] holds 16 rules");
	*sc = (struct scan){ .s = s, .len = len };
	for (unsigned c = 0; c < 256; c++)
		for (size_t k = 0; k < N_RULES; k++)
			if (can_start(&rules[k], (unsigned char)c))
				sc->can_start[c] |= (uint16_t)(1u << k);
}

/* The pass. With O, the redacted text goes there; without, the offset of the first match (-1: none). */
static ssize_t pass(const char *s, size_t len, struct out *o, const char **rule, size_t *count)
{
	struct scan sc;
	size_t i = 0, lit = 0, pend_from = NONE, pend_to = 0; /* [lit, i) is still to be written as it is */
	unsigned char prev = '\0';

	scan_init(&sc, s, len);
	while (i < len) {
		struct hit h;
		bool found;

		if (i == pend_from) {
			h.from = pend_from;
			h.to = pend_to;
			pend_from = NONE;
			found = true;
		} else {
			found = match(&sc, i, prev, false, &h);
			if (found && !o) {
				if (rule)
					*rule = h.rule->name;
				return (ssize_t)i;
			}
			if (found && h.from > i) {
				/* a name or prefix is written as it is, but for what the whole-match rules find in
				 * it (a UUID in a parameter's name); a match inside the name of another is part of
				 * that one */
				if (pend_from == NONE) {
					pend_from = h.from;
					pend_to = h.to;
				}
				found = match(&sc, i, prev, true, &h);
			}
			if (found && pend_from != NONE && h.to > pend_from)
				found = false;
		}
		if (!found) {
			prev = (unsigned char)s[i++];
			continue;
		}
		if (put(o, s + lit, i - lit) < 0 || put(o, REDACT_MARKER, strlen(REDACT_MARKER)) < 0)
			return -ENOMEM;
		(*count)++;
		prev = '>';
		i = lit = h.to;
	}
	if (put(o, s + lit, len - lit) < 0)
		return -ENOMEM;
	return -1;
}

int redact_text(const char *in, size_t len, char **ret, size_t *ret_len, size_t *n_redacted)
{
	const char *src = in;
	size_t src_len = len, total = 0;
	char *prev_buf = NULL;

	for (int round = 0; round < REDACT_MAX_PASSES; round++) {
		struct out o = { .cap = src_len + 64 };
		size_t count = 0;

		o.buf = malloc(o.cap);
		if (!o.buf || pass(src, src_len, &o, NULL, &count) == -ENOMEM || put(&o, "", 1) < 0) {
			free(o.buf);
			free(prev_buf);
			return -ENOMEM;
		}
		free(prev_buf);
		prev_buf = o.buf;
		total += count;
		/* done when nothing changed, or when a pass over the output would not change it */
		if (!count || redact_find(o.buf, o.len - 1, NULL) < 0) {
			*ret = o.buf;
			*ret_len = o.len - 1;
			if (n_redacted)
				*n_redacted = total;
			return 0;
		}
		src = o.buf;
		src_len = o.len - 1;
	}
	free(prev_buf);
	return -ELOOP;
}

ssize_t redact_find(const char *text, size_t len, const char **rule)
{
	size_t count = 0;

	if (rule)
		*rule = NULL;
	return pass(text, len, NULL, rule, &count);
}

bool redact_rule(size_t i, const char **name, const char **what)
{
	if (i >= N_RULES)
		return false;
	*name = rules[i].name;
	*what = rules[i].what;
	return true;
}

void redact_secret_names(const char *const **words, const char *const **parts, const char **except)
{
	*words = names.words;
	*parts = names.parts;
	*except = names.except;
}
