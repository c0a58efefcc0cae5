/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* Auto-tuning by measurement (tune.h): the search space from the domains' knob tables, its coupled constraints,
 * and the candidates next to a value. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "asios/domain.h"
#include "asios/tune.h"
#include "util.h"

static int fail(char **error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(char **error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(error, fmt, ap) < 0)
		*error = NULL;
	va_end(ap);
	return -EINVAL;
}

static bool listed(const char *const *list, const char *name)
{
	for (size_t i = 0; list && list[i]; i++)
		if (!strcmp(list[i], name))
			return true;
	return !list;
}

static const char *untunable(const struct asios_knob *k)
{
	return k->unsafe ? "marked unsafe (asiosctl DOMAIN knobs says why)"
	       : k->needs_isolation ? "only for isolated CPUs"
	       : k->min >= k->max ? "has no range to search" : NULL;
}

/* the disks a block knob is tuned on: /sys/block but loop, RAM, zram, optical and floppy devices */
static bool tuned_disk(const char *name)
{
	static const char *const not[] = { "loop", "ram", "zram", "sr", "fd" };

	for (size_t i = 0; i < sizeof(not) / sizeof(not[0]); i++)
		if (!strncmp(name, not[i], strlen(not[i])))
			return false;
	return true;
}

struct space {
	struct asios_root *root;
	struct asios_tune_knob *v;
	size_t n;
	bool named;                    /* the knobs were asked for by name: a missing file is an error */
};

int asios_tune_read(struct asios_root *root, const struct asios_tune_knob *k, long *ret)
{
	char *line = NULL;
	int r;

	if (!k->field)
		return asios_read_long(root, k->path, ret);
	if ((r = asios_read_line(root, k->path, &line)) >= 0)
		r = asios_knob_field_get(line, k->field, ret);
	free(line);
	return r;
}

static int space_add(struct space *sp, const struct asios_domain *d, const struct asios_knob *k, const char *object,
		     char **error)
{
	struct asios_tune_knob t = { .min = k->min, .max = k->max, .field = k->field }, *v;
	int r;

	snprintf(t.name, sizeof(t.name), "%s", k->name);
	snprintf(t.object, sizeof(t.object), "%s", object ? object : "");
	snprintf(t.domain, sizeof(t.domain), "%s", d->name);
	if (object) { /* "%s" in the path stands for the object */
		const char *at = strstr(k->path, "%s");

		snprintf(t.path, sizeof(t.path), "%.*s%s%s", (int)(at - k->path), k->path, object, at + 2);
	} else {
		snprintf(t.path, sizeof(t.path), "%s", k->path);
	}
	if ((r = asios_tune_read(sp->root, &t, &t.start)) < 0)
		return sp->named ? fail(error, "%s: %s: %s", k->name, t.path, r == -EINVAL ? "not a number" : strerror(-r))
				 : 0;
	if (t.start < t.min || t.start > t.max)
		return sp->named ? fail(error, "%s: %s holds %ld, outside %ld-%ld", k->name, t.path, t.start, t.min, t.max)
				 : 0;
	t.best = t.start;
	if (!(v = realloc(sp->v, (sp->n + 1) * sizeof(*v))))
		return -ENOMEM;
	sp->v = v;
	v[sp->n++] = t;
	return 0;
}

/* knob K of domain D on each object OBJECTS allows (block knobs: per disk) */
static int space_knob(struct space *sp, const struct asios_domain *d, const struct asios_knob *k,
		      const char *const *objects, char **error)
{
	char **disks = NULL;
	size_t added = sp->n;
	int r = 0;

	if (!strstr(k->path, "%s"))
		return space_add(sp, d, k, NULL, error);
	if ((r = asios_list_dir(sp->root, "/sys/block", &disks)) < 0)
		return sp->named ? fail(error, "%s: /sys/block: %s", k->name, strerror(-r)) : 0;
	for (size_t i = 0; disks[i] && r >= 0; i++)
		if (objects ? listed(objects, disks[i]) : tuned_disk(disks[i]))
			r = space_add(sp, d, k, disks[i], error);
	for (size_t i = 0; objects && objects[i] && r >= 0; i++)
		if (!listed((const char *const *)disks, objects[i]))
			r = fail(error, "%s: no disk %s in /sys/block", k->name, objects[i]);
	asios_strv_free(disks);
	if (r >= 0 && sp->named && sp->n == added)
		r = fail(error, "%s: no disk to tune it on", k->name);
	return r;
}

static ssize_t space_find(const struct space *sp, const char *name, const char *object)
{
	for (size_t i = 0; i < sp->n; i++)
		if (!strcmp(sp->v[i].name, name) && !strcmp(sp->v[i].object, object))
			return (ssize_t)i;
	return -1;
}

/* the coupled constraints: a knob declared never below one in the space joins it (a follower when not asked
 * for) and points at it */
static int couple(struct space *sp, const struct asios_domain *const *d, size_t nd, char **error)
{
	for (size_t j = 0; j < nd; j++) {
		size_t nk;
		const struct asios_knob *k = d[j]->knobs ? d[j]->knobs(&nk) : NULL;

		for (size_t m = 0; k && m < nk; m++) {
			ssize_t bound = k[m].at_least ? space_find(sp, k[m].at_least, "") : -1, at;
			bool named = sp->named;
			int r;

			if (bound < 0)
				continue;
			if ((at = space_find(sp, k[m].name, "")) < 0) {
				sp->named = true; /* its file must be there: the constraint cannot be kept otherwise */
				r = space_add(sp, d[j], &k[m], NULL, error);
				sp->named = named;
				if (r < 0)
					return r;
				at = (ssize_t)sp->n - 1;
				sp->v[at].follower = true;
			}
			sp->v[at].at_least = (size_t)bound + 1;
		}
	}
	return 0;
}

int asios_tune_space(struct asios_root *root, const char *const *names, const char *const *objects,
		     struct asios_tune_knob **ret, size_t *n, char **error)
{
	struct space sp = { .root = root, .named = names != NULL };
	size_t nd;
	const struct asios_domain *const *d = asios_domains(&nd);
	int r = 0;

	*ret = NULL;
	*n = 0;
	*error = NULL;
	for (size_t i = 0; names && names[i] && r >= 0; i++) {
		const struct asios_knob *found = NULL;

		for (size_t j = 0; j < nd && !found; j++) {
			size_t nk;
			const struct asios_knob *k = d[j]->knobs ? d[j]->knobs(&nk) : NULL;

			for (size_t m = 0; k && m < nk && !found; m++)
				found = !strcmp(k[m].name, names[i]) ? &k[m] : NULL;
		}
		if (!found)
			r = fail(error, "%s: no domain declares a knob of that name (asiosctl DOMAIN knobs lists them)",
				 names[i]);
		else if (untunable(found))
			r = fail(error, "%s: not tunable: %s", names[i], untunable(found));
	}
	for (size_t j = 0; j < nd && r >= 0; j++) {
		size_t nk;
		const struct asios_knob *k = d[j]->knobs ? d[j]->knobs(&nk) : NULL;

		for (size_t m = 0; k && m < nk && r >= 0; m++)
			if (!untunable(&k[m]) && listed(names, k[m].name))
				r = space_knob(&sp, d[j], &k[m], objects, error);
	}
	if (r >= 0)
		r = couple(&sp, d, nd, error);
	if (r >= 0 && !sp.n)
		r = fail(error, "no tunable knob here (asiosctl DOMAIN knobs lists them)");
	if (r < 0) {
		free(sp.v);
		return r;
	}
	*ret = sp.v;
	*n = sp.n;
	return 0;
}

size_t asios_tune_candidates(const struct asios_tune_knob *k, long from, int direction, long *out, size_t max)
{
	size_t n = 0;

	if (k->max - k->min <= 8) { /* a small range: every value, nearest first */
		for (long v = from + direction; v >= k->min && v <= k->max && n < max; v += direction)
			out[n++] = v;
		return n;
	}
	/* a wide one: a ladder of factors of four (×4, ×16… or ÷4, ÷16…), its bound last */
	for (long v = from; n < max;) {
		long next = direction > 0 ? (v <= 0 ? 1 : v > k->max / 4 ? k->max : v * 4) : v / 4;

		if (direction < 0 && next < k->min)
			next = k->min;
		if (next == v || (direction > 0 ? next > k->max : next < k->min))
			break;
		out[n++] = v = next;
	}
	return n;
}

