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
#include "asios/numa-plan.h"
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

/*
 * Whole files (ASIOS_ACTION_FILE) are journalled on one line: "-" when the file did not exist, else "=" and its
 * content with backslash, newline and tab escaped as \\\\, \\n and \\t.
 */
static char *file_encode(const char *content)
{
	char *out, *o;

	if (!content)
		return strdup("-");
	out = malloc(2 * strlen(content) + 2);
	if (!out)
		return NULL;
	o = out;
	*o++ = '=';
	for (const char *c = content; *c; c++) {
		if (*c == '\\' || *c == '\n' || *c == '\t') {
			*o++ = '\\';
			*o++ = *c == '\n' ? 'n' : *c == '\t' ? 't' : '\\';
		} else {
			*o++ = *c;
		}
	}
	*o = '\0';
	return out;
}

/* the content back (malloc'ed) in *ret, NULL for "-"; -EINVAL for anything else */
static int file_decode(const char *enc, char **ret)
{
	char *o;

	*ret = NULL;
	if (!strcmp(enc, "-"))
		return 0;
	if (enc[0] != '=')
		return -EINVAL;
	o = *ret = malloc(strlen(enc));
	if (!o)
		return -ENOMEM;
	for (const char *c = enc + 1; *c; c++) {
		if (*c == '\\' && (c[1] == 'n' || c[1] == 't' || c[1] == '\\')) {
			c++;
			*o++ = *c == 'n' ? '\n' : *c == 't' ? '\t' : '\\';
		} else {
			*o++ = *c;
		}
	}
	*o = '\0';
	return 0;
}

/* the file as it is, encoded */
static int file_current(struct asios_root *root, const char *path, char **enc)
{
	char *text = NULL;
	int r = asios_read_file(root, path, &text, NULL);

	if (r < 0 && r != -ENOENT)
		return r;
	*enc = file_encode(r < 0 ? NULL : text);
	free(text);
	return *enc ? 0 : -ENOMEM;
}

/* CONTENT (NULL: no file) written, then read back */
static int file_verified(struct asios_root *root, const char *path, const char *content)
{
	char *back = NULL;
	int r;

	if (!content) {
		r = asios_remove_file(root, path);
		if (r == -ENOENT)
			r = 0;
		return r < 0 ? r : asios_exists(root, path) ? -EILSEQ : 0;
	}
	r = asios_write_whole(root, path, content);
	if (r < 0)
		return r;
	r = asios_read_file(root, path, &back, NULL);
	if (r >= 0)
		r = strcmp(back, content) ? -EILSEQ : 0;
	free(back);
	return r;
}

/* an encoded old value written back */
static int file_restore(struct asios_root *root, const char *path, const char *enc)
{
	char *content = NULL;
	int r = file_decode(enc, &content);

	if (r >= 0)
		r = file_verified(root, path, content);
	free(content);
	return r;
}

/*
 * The kinds of action. WRITE: a file (read, write, read back). AFFINITY: every thread of a process
 * (asios_proc_*), read back from the main thread. MIGRATE: pages between node sets; recorded in the journal,
 * never undone (migrate_pages(2) moves node sets, it cannot tell the pages it moved from those already there,
 * so moving "back" would also move pages that were local before). A process that is gone, or whose pid now
 * belongs to another process (start time differs), is skipped like a refused write.
 */
static int check_process(struct asios_root *root, const struct asios_action *a)
{
	unsigned long long start;
	int r = asios_proc_starttime(root, a->pid, &start);

	if (r < 0)
		return r;
	return a->starttime && start != a->starttime ? -ESRCH : 0;
}

static int read_current(struct asios_root *root, const struct asios_action *a, char **cur)
{
	int r;

	*cur = NULL;
	if (a->kind == ASIOS_ACTION_WRITE)
		return asios_read_line(root, a->path, cur);
	if (a->kind == ASIOS_ACTION_FILE)
		return file_current(root, a->path, cur);
	r = check_process(root, a);
	if (r < 0)
		return r;
	if (a->kind == ASIOS_ACTION_AFFINITY)
		return asios_proc_get_affinity(root, a->pid, cur);
	*cur = strdup(a->old_value);
	return *cur ? 0 : -ENOMEM;
}

static int affinity_verified(struct asios_root *root, int pid, const char *value, char **readback)
{
	int r = asios_proc_set_affinity(root, pid, value);

	*readback = NULL;
	if (r < 0)
		return r;
	r = asios_proc_get_affinity(root, pid, readback);
	if (r < 0)
		return r;
	return same_value(value, *readback) ? 0 : -EILSEQ;
}

static int perform(struct asios_root *root, const struct asios_action *a, const char *value, char **readback,
		   struct asios_apply_report *rep)
{
	long not_moved = 0;
	int r;

	*readback = NULL;
	switch (a->kind) {
	case ASIOS_ACTION_AFFINITY:
		return affinity_verified(root, a->pid, value, readback);
	case ASIOS_ACTION_MIGRATE:
		r = asios_proc_migrate(root, a->pid, a->old_value, value, &not_moved);
		if (r == 0 && not_moved > 0)
			report(rep, "%s: %ld pages could not be moved to node %s (in use, pinned or locked), left where they are",
			       a->object, not_moved, value);
		return r;
	case ASIOS_ACTION_FILE:
		return file_verified(root, a->path, value);
	case ASIOS_ACTION_WRITE:
		break;
	}
	return write_verified(root, a->path, value, readback);
}

/* the journal key: the file, or "affinity:PID:START", "migrate:PID:START" */
static char *journal_key(const struct asios_action *a)
{
	char *k = NULL;

	if (a->kind == ASIOS_ACTION_WRITE)
		return strdup(a->path);
	if (a->kind == ASIOS_ACTION_FILE)
		return asprintf(&k, "file:%s", a->path) < 0 ? NULL : k;
	if (asprintf(&k, "%s:%d:%llu", a->kind == ASIOS_ACTION_AFFINITY ? "affinity" : "migrate", a->pid, a->starttime) < 0)
		return NULL;
	return k;
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
		if (a->kind == ASIOS_ACTION_MIGRATE) {
			report(rep, "%s: pages already moved to node %s stay there (page migration is not undone)", a->object,
			       a->new_value);
			continue;
		}
		r = a->kind == ASIOS_ACTION_AFFINITY ? affinity_verified(root, a->pid, old[n], &rb) :
		    a->kind == ASIOS_ACTION_FILE     ? file_restore(root, a->path, old[n]) :
						       write_verified(root, a->path, old[n], &rb);
		if (r < 0)
			report(rep, "%s: rollback of %s to \"%s\" failed: %s", a->object, a->path,
			       a->kind == ASIOS_ACTION_FILE ? "its previous content" : old[n],
			       r == -EILSEQ ? "reads back differently" : strerror(-r));
		else
			report(rep, "%s: rolled back to \"%s\"", a->object,
			       a->kind != ASIOS_ACTION_FILE ? old[n] : old[n][0] == '-' ? "no file" : "its previous content");
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
		char *cur = NULL, *rb = NULL, *line = NULL, *key = NULL;
		off_t mark = lseek(jfd, 0, SEEK_END);

		r = read_current(root, a, &cur);
		if (r == -ESRCH) {
			report(rep, "%s: the process has exited, skipped", a->object);
			rep->refused++;
			r = 0;
			continue;
		}
		if (r < 0) {
			if (asprintf(error, "%s: cannot read %s: %s", a->object, a->path, strerror(-r)) < 0)
				*error = NULL;
			break;
		}
		key = journal_key(a);
		if (!key || asprintf(&line, "%s\t%s%s%s\n", key, cur, a->kind == ASIOS_ACTION_MIGRATE ? ">" : "",
				     a->kind == ASIOS_ACTION_MIGRATE ? a->new_value : "") < 0)
			line = NULL;
		free(key);
		if (!line || write(jfd, line, strlen(line)) != (ssize_t)strlen(line) || fdatasync(jfd) < 0) {
			r = -EIO;
			if (asprintf(error, "%s: cannot write the undo journal %s", a->object, journal) < 0)
				*error = NULL;
			free(line);
			free(cur);
			break;
		}
		free(line);
		r = perform(root, a, a->new_value, &rb, rep);
		if (r == -ESRCH && a->kind != ASIOS_ACTION_WRITE) {
			report(rep, "%s: the process has exited, skipped", a->object);
			rep->refused++;
			if (mark >= 0 && ftruncate(jfd, mark) < 0)
				report(rep, "undo journal %s: cannot truncate: %s", journal, strerror(errno));
			free(cur);
			free(rb);
			r = 0;
			continue;
		}
		if (r == -EIO && a->kind == ASIOS_ACTION_WRITE) {
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
			if (a->kind == ASIOS_ACTION_FILE) {
				if (asprintf(error, "%s: %s %s failed: %s", a->object, a->new_value ? "writing" : "removing",
					     a->path, r == -EILSEQ ? "it reads back differently" : strerror(-r)) < 0)
					*error = NULL;
			} else if (r == -EILSEQ) {
				if (asprintf(error, "%s: wrote \"%s\" to %s but it reads back \"%s\"", a->object, a->new_value, a->path,
					     rb ? rb : "") < 0)
					*error = NULL;
			} else if (a->kind != ASIOS_ACTION_WRITE) {
				if (asprintf(error, "%s: %s %s failed: %s%s", a->object,
					     a->kind == ASIOS_ACTION_AFFINITY ? "setting the CPU affinity to" : "moving its pages to node",
					     a->new_value, strerror(-r),
					     r == -ENOSYS ? " (a kernel without page migration, CONFIG_MIGRATION)" : "") < 0)
					*error = NULL;
			} else if (asprintf(error, "%s: writing \"%s\" to %s failed: %s", a->object, a->new_value, a->path,
					    strerror(-r)) < 0) {
				*error = NULL;
			}
			if (a->kind == ASIOS_ACTION_MIGRATE)
				free(cur); /* nothing to restore, and nothing to claim as moved */
			else
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
		if (!strncmp(lines[n], "migrate:", 8) || !strncmp(lines[n], "affinity:", 9)) {
			int pid = 0;
			unsigned long long start = 0, now = 0;

			sscanf(strchr(lines[n], ':') + 1, "%d:%llu", &pid, &start);
			if (lines[n][0] == 'm') {
				char *gt = strchr(tab + 1, '>');

				if (gt)
					*gt = '\0';
				report(rep, "pid %d: its pages moved from node %s to node %s stay there (page migration is not "
					    "undone)", pid, tab + 1, gt ? gt + 1 : "?");
				continue;
			}
			if (asios_proc_starttime(root, pid, &now) < 0 || (start && now != start)) {
				report(rep, "pid %d has exited: its CPU affinity needs no restoring", pid);
				continue;
			}
			r = affinity_verified(root, pid, tab + 1, &rb);
		} else if (!strncmp(lines[n], "file:", 5)) {
			r = file_restore(root, lines[n] + 5, tab + 1);
		} else {
			r = write_verified(root, lines[n], tab + 1, &rb);
		}
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
