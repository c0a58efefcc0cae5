/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include "asios/apply.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "asios/cpulist.h"
#include "util.h"

static void report(struct asios_apply_report *rep, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report(struct asios_apply_report *rep, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)asios_strv_pushv(&rep->messages, &rep->n_messages, fmt, ap);
	va_end(ap);
}

void asios_apply_report_clear(struct asios_apply_report *r)
{
	asios_strv_free(r->messages);
	memset(r, 0, sizeof(*r));
}

/* equal as CPU lists when both parse as such, else as trimmed strings */
static bool same_value(const char *a, const char *b)
{
	hwloc_bitmap_t x = hwloc_bitmap_alloc(), y = hwloc_bitmap_alloc();
	bool eq;

	if (x && y && asios_cpulist_parse(a, x, NULL) == 0 && asios_cpulist_parse(b, y, NULL) == 0)
		eq = hwloc_bitmap_isequal(x, y);
	else
		eq = strcmp(a, b) == 0;
	hwloc_bitmap_free(x);
	hwloc_bitmap_free(y);
	return eq;
}

static int write_verified(struct asios_root *root, const char *path, const char *value, char **readback)
{
	int r = asios_write_file(root, path, value);

	*readback = NULL;
	if (r < 0)
		return r;
	r = asios_read_line(root, path, readback);
	if (r < 0)
		return r;
	return same_value(value, *readback) ? 0 : -EILSEQ;
}

static int journal_open(struct asios_root *root, const char *journal, off_t *size)
{
	char dir[4096];
	struct stat st;
	int fd, r;

	snprintf(dir, sizeof(dir), "%s", journal);
	r = asios_mkdirs(root, dirname(dir), 0755);
	if (r < 0)
		return r;
	fd = asios_root_open_file(root, journal, O_WRONLY | O_CREAT | O_APPEND);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	*size = st.st_size;
	return fd;
}

static void rollback(struct asios_root *root, const struct asios_plan *plan, char **old, size_t n,
		     struct asios_apply_report *rep)
{
	while (n-- > 0) {
		const struct asios_action *a = &plan->actions[n];
		char *rb = NULL;
		int r;

		if (!old[n])
			continue;
		r = write_verified(root, a->path, old[n], &rb);
		if (r < 0)
			report(rep, "%s: rollback of %s to \"%s\" failed: %s", a->object, a->path, old[n],
			       r == -EILSEQ ? "reads back differently" : strerror(-r));
		else
			report(rep, "%s: rolled back to \"%s\"", a->object, old[n]);
		free(rb);
	}
}

int asios_apply(struct asios_root *root, const struct asios_plan *plan, const char *journal,
		struct asios_apply_report *rep, char **error)
{
	char **old = calloc(plan->n_actions + 1, sizeof(char *));
	off_t start = 0;
	int jfd = -1, r = 0;
	size_t i;

	*error = NULL;
	if (!old)
		return -ENOMEM;
	if (plan->n_actions) {
		jfd = journal_open(root, journal, &start);
		if (jfd < 0) {
			r = jfd;
			if (asprintf(error, "undo journal %s: %s; nothing applied", journal, strerror(-r)) < 0)
				*error = NULL;
			free(old);
			return r;
		}
	}
	for (i = 0; i < plan->n_actions; i++) {
		const struct asios_action *a = &plan->actions[i];
		char *cur = NULL, *rb = NULL, *line = NULL;
		off_t mark = lseek(jfd, 0, SEEK_END);

		r = asios_read_line(root, a->path, &cur);
		if (r < 0) {
			if (asprintf(error, "%s: cannot read %s: %s", a->object, a->path, strerror(-r)) < 0)
				*error = NULL;
			break;
		}
		if (asprintf(&line, "%s\t%s\n", a->path, cur) < 0 || write(jfd, line, strlen(line)) != (ssize_t)strlen(line) ||
		    fdatasync(jfd) < 0) {
			r = -EIO;
			if (asprintf(error, "%s: cannot write the undo journal %s", a->object, journal) < 0)
				*error = NULL;
			free(line);
			free(cur);
			break;
		}
		free(line);
		r = write_verified(root, a->path, a->new_value, &rb);
		if (r == -EIO) {
			/* the kernel refuses to move this one (managed, per-CPU or chained IRQ): skip it */
			report(rep, "%s: the kernel refused \"%s\" for %s (%s), left as it is", a->object, a->new_value, a->path,
			       strerror(EIO));
			rep->refused++;
			if (mark >= 0 && ftruncate(jfd, mark) < 0) /* nothing changed: nothing to undo */
				report(rep, "undo journal %s: cannot truncate: %s", journal, strerror(errno));
			free(cur);
			free(rb);
			r = 0;
			continue;
		}
		if (r < 0) {
			if (r == -EILSEQ) {
				if (asprintf(error, "%s: wrote \"%s\" to %s but it reads back \"%s\"", a->object, a->new_value, a->path,
					     rb ? rb : "") < 0)
					*error = NULL;
			} else if (asprintf(error, "%s: writing \"%s\" to %s failed: %s", a->object, a->new_value, a->path,
					    strerror(-r)) < 0) {
				*error = NULL;
			}
			old[i] = cur; /* a partial write may have happened: restore it too */
			free(rb);
			i++;
			break;
		}
		old[i] = cur;
		free(rb);
		rep->applied++;
	}
	if (r < 0) {
		rep->failed++;
		rollback(root, plan, old, i, rep);
		rep->applied = 0;
		if (jfd >= 0 && ftruncate(jfd, start) < 0)
			report(rep, "undo journal %s: cannot truncate: %s", journal, strerror(errno));
	}
	if (jfd >= 0)
		close(jfd);
	for (size_t k = 0; k < plan->n_actions; k++)
		free(old[k]);
	free(old);
	return r;
}

int asios_revert(struct asios_root *root, const char *journal, struct asios_apply_report *rep)
{
	char *text, **lines = NULL, *save = NULL, *l;
	size_t n = 0;
	int r, bad = 0;

	r = asios_read_file(root, journal, &text, NULL);
	if (r < 0)
		return r;
	for (l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (asios_strv_push_dup(&lines, &n, l) < 0) {
			free(text);
			asios_strv_free(lines);
			return -ENOMEM;
		}
	free(text);
	while (n-- > 0) {
		char *tab = strchr(lines[n], '\t'), *rb = NULL;

		if (!tab) {
			report(rep, "%s: line %zu is not \"PATH<TAB>VALUE\", skipped", journal, n + 1);
			bad = 1;
			continue;
		}
		*tab = '\0';
		r = write_verified(root, lines[n], tab + 1, &rb);
		if (r < 0) {
			report(rep, "%s: restoring \"%s\" failed: %s", lines[n], tab + 1,
			       r == -EILSEQ ? "reads back differently" : strerror(-r));
			rep->failed++;
			bad = 1;
		} else {
			rep->applied++;
		}
		free(rb);
	}
	asios_strv_free(lines);
	if (bad)
		return -EIO;
	{
		char path[4096];
		int fd;

		/* unlink through the root: open the parent and unlinkat the name */
		snprintf(path, sizeof(path), "%s", journal);
		fd = asios_root_open_file(root, dirname(path), O_RDONLY | O_DIRECTORY);
		if (fd >= 0) {
			snprintf(path, sizeof(path), "%s", journal);
			if (unlinkat(fd, basename(path), 0) < 0)
				report(rep, "%s: cannot remove: %s", journal, strerror(errno));
			close(fd);
		}
	}
	return 0;
}
