/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* The actuators of apply (actuator.h): file write, whole file, process affinity, page migration, folder. */
#define _GNU_SOURCE
#include "actuator.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asios/cpulist.h"
#include "asios/numa-plan.h"
#include "util.h"

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

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static char *no_identity_gone(struct asios_root *root, const char *target, const char *ident)
{
	(void)root, (void)target, (void)ident;
	return NULL;
}

static int no_identity(struct asios_root *root, const struct asios_action *a, char **ident)
{
	(void)root, (void)a;
	*ident = strdup("-");
	return *ident ? 0 : -ENOMEM;
}

/* ---- write: one value into a file of /proc or /sys ---- */

/* a sysfs choice ("[none] mq-deadline kyber", "always [madvise] never") reads as the one in brackets */
static int read_value(struct asios_root *root, const char *path, char **ret)
{
	int r = asios_read_line(root, path, ret);
	char *a = r >= 0 ? strchr(*ret, '[') : NULL, *b = a ? strchr(a, ']') : NULL;

	if (a && b) {
		memmove(*ret, a + 1, (size_t)(b - a - 1));
		(*ret)[b - a - 1] = 0;
	}
	return r;
}

/* TEXT with the brackets moved onto VALUE, every other byte kept (the kernel's trailing blank) but the last
 * newline, which the write adds back */
static char *rebracket(const char *text, const char *value)
{
	size_t vl = strlen(value);
	char *out = malloc(strlen(text) + 3), *o = out;

	if (!out)
		return NULL;
	for (const char *p = text; *p;) {
		size_t w = strcspn(p, " \t\n[]");
		bool hit = w == vl && !strncmp(p, value, vl);

		if (!w) {
			if (*p != '[' && *p != ']')
				*o++ = *p;
			p++;
			continue;
		}
		if (hit)
			*o++ = '[';
		memcpy(o, p, w), o += w, p += w;
		if (hit)
			*o++ = ']';
	}
	if (o > out && o[-1] == '\n')
		o--;
	*o = 0;
	return out;
}

/*
 * Write VALUE. Under a root other than "/" (a capture, a test tree) a choice file is a plain file: it is
 * rewritten as the kernel would show it, the list kept and VALUE in brackets, so that a revert gives the
 * capture back byte for byte.
 */
static int write_value(struct asios_root *root, const char *path, const char *value)
{
	char *text = NULL, *out;
	int r;

	if (asios_root_is_host(root) || asios_read_file(root, path, &text, NULL) < 0 || !strchr(text, '[') ||
	    strchr(value, ' ')) {
		free(text);
		return asios_write_file(root, path, value);
	}
	out = rebracket(text, value);
	free(text);
	if (!out)
		return -ENOMEM;
	r = asios_write_file(root, path, out);
	free(out);
	return r;
}

static int write_verified(struct asios_root *root, const char *path, const char *value, char **readback)
{
	int r = write_value(root, path, value);

	*readback = NULL;
	if (r < 0)
		return r;
	r = read_value(root, path, readback);
	if (r < 0)
		return r;
	return same_value(value, *readback) ? 0 : -EILSEQ;
}

static int write_current(struct asios_root *root, const struct asios_action *a, char **value)
{
	int r = read_value(root, a->path, value);

	/* an IRQ whose /proc/irq/N vanished (its device went away): gone, like an exited process */
	return r == -ENOENT && a->irq >= 0 ? -ESRCH : r;
}

static int write_perform(struct asios_root *root, const struct asios_action *a, char **readback,
			 struct asios_apply_report *rep)
{
	int r = write_verified(root, a->path, a->new_value, readback);

	(void)rep;
	return r == -ENOENT && a->irq >= 0 ? -ESRCH : r;
}

static int write_restore(struct asios_root *root, const char *target, const char *value, char **readback)
{
	return write_verified(root, target, value, readback);
}

static char *write_target(const struct asios_action *a)
{
	return strdup(a->path);
}

/* an IRQ is identified by the handlers the kernel lists for it (/sys/kernel/irq/N/actions) */
static int irq_actions(struct asios_root *root, int irq, char **ret)
{
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/sys/kernel/irq/%d/actions", irq);
	r = asios_read_line(root, path, ret);
	if (r == -ENOENT) {
		*ret = strdup("");
		return *ret ? 0 : -ENOMEM;
	}
	return r;
}

static int write_identity(struct asios_root *root, const struct asios_action *a, char **ident)
{
	char *actions = NULL;
	int r;

	if (a->irq < 0)
		return no_identity(root, a, ident);
	r = irq_actions(root, a->irq, &actions);
	if (r < 0)
		return r;
	r = asprintf(ident, "irq:%d:%s", a->irq, actions) < 0 ? -ENOMEM : 0;
	free(actions);
	return r;
}

static char *write_gone(struct asios_root *root, const char *target, const char *ident)
{
	char dir[64], *now = NULL, *why = NULL;
	int irq, at = 0;

	(void)target;
	if (sscanf(ident, "irq:%d:%n", &irq, &at) != 1 || at == 0)
		return NULL;
	snprintf(dir, sizeof(dir), "/proc/irq/%d", irq);
	if (!asios_exists(root, dir)) {
		if (asprintf(&why, "irq %d has gone (its device was removed): nothing to restore", irq) < 0)
			why = NULL;
		return why;
	}
	if (irq_actions(root, irq, &now) < 0 || !ident[at] || !strcmp(now, ident + at)) {
		free(now);
		return NULL;
	}
	if (asprintf(&why, "irq %d now serves \"%s\", not \"%s\" as when it was changed: left alone", irq, now,
		     ident + at) < 0)
		why = NULL;
	free(now);
	return why;
}

static bool write_refused(int err)
{
	/* EIO: a managed, per-CPU or chained IRQ; EPERM/EACCES: a knob this process may not write (a capability
	 * its unit does not grant, a read-only sysctl in a container) */
	return err == EIO || err == EPERM || err == EACCES;
}

/* ---- file: a whole configuration file; its journalled value is "-" (no file) or "=" and its content ---- */

static int file_current(struct asios_root *root, const struct asios_action *a, char **value)
{
	char *text = NULL;
	int r = asios_read_file(root, a->path, &text, NULL);

	if (r < 0 && r != -ENOENT)
		return r;
	if (r < 0)
		*value = strdup("-");
	else if (asprintf(value, "=%s", text) < 0)
		*value = NULL;
	free(text);
	return *value ? 0 : -ENOMEM;
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

static int file_perform(struct asios_root *root, const struct asios_action *a, char **readback,
			struct asios_apply_report *rep)
{
	(void)rep;
	*readback = NULL;
	return file_verified(root, a->path, a->new_value);
}

static int file_restore(struct asios_root *root, const char *target, const char *value, char **readback)
{
	*readback = NULL;
	if (!strcmp(value, "-"))
		return file_verified(root, target, NULL);
	if (value[0] != '=')
		return -EBADMSG;
	return file_verified(root, target, value + 1);
}

static bool never_refused(int err)
{
	(void)err;
	return false;
}

static const char *file_show_old(const char *value)
{
	return value[0] == '-' ? "no file" : "its previous content";
}

/* ---- affinity: every thread of a process; migrate: its pages between node sets ---- */

static int check_process(struct asios_root *root, int pid, unsigned long long starttime)
{
	unsigned long long start;
	int r = asios_proc_starttime(root, pid, &start);

	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	return starttime && start != starttime ? -ESRCH : 0;
}

static int affinity_current(struct asios_root *root, const struct asios_action *a, char **value)
{
	int r = check_process(root, a->pid, a->starttime);

	return r < 0 ? r : asios_proc_get_affinity(root, a->pid, value);
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

static int affinity_perform(struct asios_root *root, const struct asios_action *a, char **readback,
			    struct asios_apply_report *rep)
{
	(void)rep;
	return affinity_verified(root, a->pid, a->new_value, readback);
}

static int parse_process(const char *target, int *pid, unsigned long long *start)
{
	int at = 0;

	return sscanf(target, "%d:%llu%n", pid, start, &at) == 2 && !target[at] && *pid > 0 ? 0 : -EBADMSG;
}

static int affinity_restore(struct asios_root *root, const char *target, const char *value, char **readback)
{
	unsigned long long start;
	int pid;

	*readback = NULL;
	if (parse_process(target, &pid, &start) < 0)
		return -EBADMSG;
	return affinity_verified(root, pid, value, readback);
}

static char *process_target(const struct asios_action *a)
{
	char *t = NULL;

	return asprintf(&t, "%d:%llu", a->pid, a->starttime) < 0 ? NULL : t;
}

static char *process_gone(struct asios_root *root, const char *target, const char *ident)
{
	unsigned long long start;
	char *why = NULL;
	int pid;

	(void)ident;
	if (parse_process(target, &pid, &start) < 0) {
		if (asprintf(&why, "\"%s\" is not PID:STARTTIME: skipped", target) < 0)
			why = NULL;
		return why;
	}
	if (check_process(root, pid, start) == 0)
		return NULL;
	if (asprintf(&why, "pid %d has exited: its CPU affinity needs no restoring", pid) < 0)
		why = NULL;
	return why;
}

static bool process_refused(int err)
{
	return err == ESRCH;
}

static int migrate_current(struct asios_root *root, const struct asios_action *a, char **value)
{
	int r = check_process(root, a->pid, a->starttime);

	if (r < 0)
		return r;
	return asprintf(value, "%s>%s", a->old_value, a->new_value) < 0 ? -ENOMEM : 0;
}

static int migrate_perform(struct asios_root *root, const struct asios_action *a, char **readback,
			   struct asios_apply_report *rep)
{
	long not_moved = 0;
	int r = asios_proc_migrate(root, a->pid, a->old_value, a->new_value, &not_moved);

	*readback = NULL;
	if (r == 0 && not_moved > 0)
		asios_apply_note(rep, "%s: %ld pages could not be moved to node %s (in use, pinned or locked), left where "
				      "they are", a->object, not_moved, a->new_value);
	return r;
}

static int not_restored(struct asios_root *root, const char *target, const char *value, char **readback)
{
	(void)root, (void)target, (void)value;
	*readback = NULL;
	return -EOPNOTSUPP;
}

/* ---- mkdir: a folder apply created for a file; revert removes it when it is empty ---- */

int asios_unlink_in_root(struct asios_root *root, const char *path, int flags)
{
	char dir[4096], base[4096];
	int dfd, r = 0;

	snprintf(dir, sizeof(dir), "%s", path);
	snprintf(base, sizeof(base), "%s", path);
	dfd = asios_root_open_file(root, dirname(dir), O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return dfd;
	if (unlinkat(dfd, basename(base), flags) < 0)
		r = -errno;
	close(dfd);
	return r;
}

int asios_rmdir_empty(struct asios_root *root, const char *target)
{
	int r = asios_unlink_in_root(root, target, AT_REMOVEDIR);

	return r == -ENOENT || r == -ENOTEMPTY || r == -EEXIST ? 0 : r;
}

static int rmdir_empty(struct asios_root *root, const char *target, const char *value, char **readback)
{
	(void)value;
	*readback = NULL;
	return asios_rmdir_empty(root, target);
}

static int no_current(struct asios_root *root, const struct asios_action *a, char **value)
{
	(void)root, (void)a, (void)value;
	return -EOPNOTSUPP;
}

static int no_perform(struct asios_root *root, const struct asios_action *a, char **readback,
		      struct asios_apply_report *rep)
{
	(void)root, (void)a, (void)rep;
	*readback = NULL;
	return -EOPNOTSUPP;
}

static char *no_target(const struct asios_action *a)
{
	return dup_or_null(a->path);
}

static const struct asios_actuator actuators[] = {
	[ASIOS_ACTION_WRITE] = { .name = "write", .undoable = true, .current = write_current, .perform = write_perform,
				 .restore = write_restore, .target = write_target, .identity = write_identity,
				 .gone = write_gone, .refused = write_refused },
	[ASIOS_ACTION_AFFINITY] = { .name = "affinity", .undoable = true, .current = affinity_current,
				    .perform = affinity_perform, .restore = affinity_restore, .target = process_target,
				    .identity = no_identity, .gone = process_gone, .refused = process_refused },
	[ASIOS_ACTION_MIGRATE] = { .name = "migrate", .current = migrate_current, .perform = migrate_perform,
				   .restore = not_restored, .target = process_target, .identity = no_identity,
				   .gone = no_identity_gone, .refused = process_refused },
	[ASIOS_ACTION_FILE] = { .name = "file", .persistent = true, .undoable = true, .makes_dirs = true,
				.current = file_current, .perform = file_perform, .restore = file_restore,
				.target = write_target, .identity = no_identity, .gone = no_identity_gone,
				.refused = never_refused, .show_old = file_show_old },
	[ASIOS_ACTION_ETHTOOL] = { .name = "ethtool", .undoable = true, .current = asios_ethtool_current,
				   .perform = asios_ethtool_perform, .restore = asios_ethtool_restore,
				   .target = write_target, .identity = asios_ethtool_identity,
				   .gone = asios_ethtool_gone, .refused = asios_ethtool_refused },
	[ASIOS_ACTION_PCIE] = { .name = "pcie", .undoable = true, .current = asios_pcie_current,
				.perform = asios_pcie_perform, .restore = asios_pcie_restore, .target = write_target,
				.identity = asios_pcie_identity, .gone = asios_pcie_gone, .refused = asios_pcie_refused },
};

static const struct asios_actuator mkdir_actuator = {
	.name = "mkdir", .persistent = true, .undoable = true, .current = no_current, .perform = no_perform,
	.restore = rmdir_empty, .target = no_target, .identity = no_identity, .gone = no_identity_gone,
	.refused = never_refused,
};

const struct asios_actuator *asios_actuator_of(enum asios_action_kind k)
{
	return (size_t)k < sizeof(actuators) / sizeof(actuators[0]) && actuators[k].name ? &actuators[k] : NULL;
}

const struct asios_actuator *asios_actuator_by_key(const char *key, const char **target)
{
	const char *colon = strchr(key, ':');
	size_t len = colon ? (size_t)(colon - key) : 0;

	if (key[0] == '/') { /* version 1: a bare path is a file write */
		*target = key;
		return &actuators[ASIOS_ACTION_WRITE];
	}
	*target = colon ? colon + 1 : key;
	if (colon && len == 5 && !strncmp(key, "mkdir", 5))
		return &mkdir_actuator;
	for (size_t i = 0; colon && i < sizeof(actuators) / sizeof(actuators[0]); i++)
		if (actuators[i].name && strlen(actuators[i].name) == len && !strncmp(key, actuators[i].name, len))
			return &actuators[i];
	return NULL;
}
