/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include "asios/interrupts.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/cpulist.h"
#include "util.h"

#define MAX_TOKENS_TAIL 64

struct cursor {
	const char *p, *end;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* next blank-separated token within [p, eol) */
static bool next_token(const char **p, const char *eol, const char **tok, size_t *tlen)
{
	const char *s = *p;

	while (s < eol && is_blank(*s))
		s++;
	if (s >= eol)
		return false;
	*tok = s;
	while (s < eol && !is_blank(*s))
		s++;
	*tlen = (size_t)(s - *tok);
	*p = s;
	return true;
}

static bool all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static bool parse_u64(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;

	if (!all_digits(s, n) || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint64_t d = (uint64_t)(s[i] - '0');

		if (x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
	}
	*v = x;
	return true;
}

static const char *const triggers[] = { "edge", "level", "fasteoi", "simple", "percpu", "none", NULL };

static const char *trigger_name(const char *s, size_t n)
{
	for (size_t i = 0; triggers[i]; i++)
		if (strlen(triggers[i]) == n && strncasecmp(s, triggers[i], n) == 0)
			return triggers[i];
	return NULL;
}

static int warn(struct asios_interrupts *in, const char *origin, size_t line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int warn(struct asios_interrupts *in, const char *origin, size_t line, const char *fmt, ...)
{
	char *msg = NULL, *full = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg)
		return -ENOMEM;
	if (asprintf(&full, "%s:%zu: %s", origin, line, msg) < 0)
		full = NULL;
	free(msg);
	if (!full)
		return -ENOMEM;
	return asios_strv_push(&in->warnings, &in->n_warnings, full);
}

/* The tail of a numbered row: "<chip…> [hwirq[-trigger] | hwirq Trigger] name…", or old "chip-trigger name…". */
static int parse_tail(struct asios_irq_row *row, const char *p, const char *eol)
{
	const char *tok[MAX_TOKENS_TAIL];
	size_t len[MAX_TOKENS_TAIL], n = 0, k;
	const char *name_from = NULL;

	while (n < MAX_TOKENS_TAIL && next_token(&p, eol, &tok[n], &len[n]))
		n++;
	if (n == MAX_TOKENS_TAIL) /* very long action lists: the rest belongs to the name */
		name_from = tok[n - 1];
	if (n == 0)
		return 0;
	/* the first token that is a hardware IRQ number, with or without "-trigger" */
	for (k = 1; k < n; k++) {
		const char *dash = memchr(tok[k], '-', len[k]);

		if (all_digits(tok[k], len[k]))
			break;
		if (dash && all_digits(tok[k], (size_t)(dash - tok[k])) &&
		    trigger_name(dash + 1, len[k] - (size_t)(dash + 1 - tok[k])))
			break;
	}
	if (k < n) {
		const char *dash = memchr(tok[k], '-', len[k]);
		size_t next = k + 1;

		row->chip = strndup(tok[0], (size_t)(tok[k - 1] + len[k - 1] - tok[0]));
		if (dash) {
			row->hwirq = strndup(tok[k], (size_t)(dash - tok[k]));
			row->trigger = strdup(trigger_name(dash + 1, len[k] - (size_t)(dash + 1 - tok[k])));
		} else {
			row->hwirq = strndup(tok[k], len[k]);
			if (next < n && trigger_name(tok[next], len[next]))
				row->trigger = strdup(trigger_name(tok[next], len[next])), next++;
		}
		if (!row->chip || !row->hwirq)
			return -ENOMEM;
		if (next < n)
			name_from = tok[next];
		else
			name_from = NULL;
	} else {
		/* old x86: "IR-PCI-MSI-edge name" */
		const char *dash = NULL;

		for (const char *c = tok[0]; c < tok[0] + len[0]; c++)
			if (*c == '-')
				dash = c;
		if (dash && trigger_name(dash + 1, (size_t)(tok[0] + len[0] - dash - 1))) {
			row->chip = strndup(tok[0], (size_t)(dash - tok[0]));
			row->trigger = strdup(trigger_name(dash + 1, (size_t)(tok[0] + len[0] - dash - 1)));
		} else {
			row->chip = strndup(tok[0], len[0]);
		}
		if (!row->chip)
			return -ENOMEM;
		name_from = n > 1 ? tok[1] : NULL;
	}
	if (name_from) {
		const char *e = eol;

		while (e > name_from && is_blank(e[-1]))
			e--;
		row->name = strndup(name_from, (size_t)(e - name_from));
		if (!row->name)
			return -ENOMEM;
	}
	return 0;
}

static void row_free(struct asios_irq_row *r)
{
	free(r->id);
	free(r->counts);
	free(r->chip);
	free(r->hwirq);
	free(r->trigger);
	free(r->name);
}

static int set_error(char **error, const char *origin, size_t line, const char *what)
{
	if (error && asprintf(error, "%s:%zu: %s", origin, line, what) < 0)
		*error = NULL;
	return -EINVAL;
}

/* the header "           CPU0       CPU1 …": the CPU columns; *P moves past its line */
static int parse_header(struct asios_interrupts *in, const char **p, const char *end, const char *origin,
			char **error)
{
	const char *eol = memchr(*p, '\n', (size_t)(end - *p)), *t;
	size_t cap = 0, tl;

	if (!eol)
		eol = end;
	while (next_token(p, eol, &t, &tl)) {
		uint64_t id;

		if (tl < 4 || strncmp(t, "CPU", 3) != 0 || !parse_u64(t + 3, tl - 3, &id) || id >= ASIOS_CPU_MAX)
			return set_error(error, origin, 1, "the first line is not a CPU header (\"CPU0 CPU1 …\")");
		if (in->n_cpus == cap) { /* doubling: one header of thousands of columns stays linear */
			unsigned *nc;

			cap = cap ? cap * 2 : 64;
			nc = realloc(in->cpus, cap * sizeof(*nc));
			if (!nc)
				return -ENOMEM;
			in->cpus = nc;
		}
		in->cpus[in->n_cpus++] = (unsigned)id;
	}
	if (in->n_cpus == 0)
		return set_error(error, origin, 1, "no CPU columns in the header");
	if (eol == end && warn(in, origin, 1, "the header has no end of line (truncated file?), no IRQ rows") < 0)
		return -ENOMEM;
	*p = eol < end ? eol + 1 : end;
	return 0;
}

/* the counts of a row: up to one per CPU column */
static void parse_counts(struct asios_irq_row *row, size_t n_cpus, const char **q, const char *eol)
{
	while (row->n_counts < n_cpus) {
		const char *save = *q, *t;
		size_t tl;
		uint64_t v;

		if (!next_token(q, eol, &t, &tl))
			break;
		if (!parse_u64(t, tl, &v)) {
			*q = save;
			break;
		}
		row->counts[row->n_counts++] = v;
		row->total = row->total > UINT64_MAX - v ? UINT64_MAX : row->total + v;
	}
}

/* the description of a row without a number ("Local timer interrupts"), trimmed */
static int parse_label(struct asios_irq_row *row, const char *q, const char *eol)
{
	const char *e = eol;

	while (q < eol && is_blank(*q))
		q++;
	if (q >= eol)
		return 0;
	while (e > q && is_blank(e[-1]))
		e--;
	row->name = strndup(q, (size_t)(e - q));
	return row->name ? 0 : -ENOMEM;
}

/* one line [P, EOL) into ROW: 1 taken, 0 left out (warned), -ENOMEM */
static int parse_row(struct asios_interrupts *in, const char *p, const char *eol, bool truncated, const char *origin,
		     size_t line, struct asios_irq_row *row)
{
	const char *colon, *q = p, *t;
	size_t tl;
	int r;

	if (!next_token(&q, eol, &t, &tl))
		return 0; /* blank line */
	colon = memchr(t, ':', tl);
	if (!colon || colon != t + tl - 1 || tl == 1)
		return warn(in, origin, line, "not an interrupt row (no \"ID:\"), ignoring") < 0 ? -ENOMEM : 0;
	row->id = strndup(t, tl - 1);
	if (!row->id)
		return -ENOMEM;
	if (all_digits(t, tl - 1)) {
		uint64_t v;

		if (!parse_u64(t, tl - 1, &v) || v > ASIOS_IRQ_MAX)
			return warn(in, origin, line, "IRQ %.*s above the kernel's limit of %u, ignoring",
				    (int)(tl > 24 ? 24 : tl - 1), t, ASIOS_IRQ_MAX) < 0 ? -ENOMEM : 0;
		row->irq = (long)v;
	}
	row->counts = malloc(in->n_cpus * sizeof(*row->counts));
	if (!row->counts)
		return -ENOMEM;
	parse_counts(row, in->n_cpus, &q, eol);
	if (row->irq >= 0 && row->n_counts < in->n_cpus)
		return warn(in, origin, line, "IRQ %ld has %zu of %zu per-CPU counts%s, ignoring", row->irq,
			    row->n_counts, in->n_cpus, truncated ? " (truncated file)" : "") < 0 ? -ENOMEM : 0;
	r = row->irq >= 0 ? parse_tail(row, q, eol) : parse_label(row, q, eol);
	return r < 0 ? r : 1;
}

static int push_row(struct asios_interrupts *in, size_t *cap, const struct asios_irq_row *row)
{
	if (in->n_rows == *cap) {
		struct asios_irq_row *nr;

		*cap = *cap ? *cap * 2 : 64;
		nr = realloc(in->rows, *cap * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		in->rows = nr;
	}
	in->rows[in->n_rows++] = *row;
	if (row->irq >= 0)
		in->n_numbered++;
	return 0;
}

int asios_interrupts_parse(const char *text, size_t len, const char *origin, struct asios_interrupts **ret,
			   char **error)
{
	const char *p = text, *end = text + len, *eol;
	struct asios_interrupts *in;
	size_t line, cap = 0;
	int r;

	if (error)
		*error = NULL;
	in = calloc(1, sizeof(*in));
	if (!in)
		return -ENOMEM;
	r = parse_header(in, &p, end, origin, error);
	if (r < 0) {
		asios_interrupts_free(in);
		return r;
	}
	eol = p > text ? p - 1 : p;
	for (line = 2; p < end && r >= 0; line++, p = eol < end ? eol + 1 : end) {
		struct asios_irq_row row = { .irq = -1 };
		bool truncated;

		eol = memchr(p, '\n', (size_t)(end - p));
		truncated = !eol;
		if (!eol)
			eol = end;
		r = parse_row(in, p, eol, truncated, origin, line, &row);
		if (r > 0 && (r = push_row(in, &cap, &row)) == 0)
			continue; /* the row's parts are in->rows' now */
		row_free(&row); /* left out, or no memory */
	}
	if (r < 0) {
		asios_interrupts_free(in);
		return -ENOMEM;
	}
	*ret = in;
	return 0;
}

void asios_interrupts_free(struct asios_interrupts *in)
{
	if (!in)
		return;
	for (size_t i = 0; i < in->n_rows; i++)
		row_free(&in->rows[i]);
	free(in->rows);
	free(in->cpus);
	asios_strv_free(in->warnings);
	free(in);
}

const struct asios_irq_row *asios_interrupts_find(const struct asios_interrupts *in, long irq)
{
	/* rows are in IRQ order in /proc/interrupts: binary search over numbered rows, which come first */
	size_t lo = 0, hi = in->n_numbered;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (in->rows[mid].irq == irq)
			return &in->rows[mid];
		if (in->rows[mid].irq < irq && in->rows[mid].irq >= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = 0; i < in->n_rows; i++) /* out-of-order or interleaved input */
		if (in->rows[i].irq == irq)
			return &in->rows[i];
	return NULL;
}
