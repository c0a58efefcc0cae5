/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* The apply engine (apply.h): journal, lock, actuators, rollback. It knows no kind of action (actuator.h). */
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

#include "actuator.h"
#include "asios/journal.h"
#include "asios/stats.h"
#include "util.h"

void asios_apply_note(struct asios_apply_report *rep, const char *fmt, ...)
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

const char *asios_apply_outcome(const struct asios_apply_report *r)
{
	return r->unrestored ? "the changes named above could not be rolled back and stay in the undo journal (revert "
			       "restores them)" :
			       "every change of this apply was rolled back";
}

static void set_error(char **error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_error(char **error, const char *fmt, ...)
{
	va_list ap;

	if (*error)
		return;
	va_start(ap, fmt);
	if (vasprintf(error, fmt, ap) < 0)
		*error = NULL;
	va_end(ap);
}

/* ---- one journal file, open for appending under the lock ---- */

struct jfile {
	char *path;
	int fd;
	off_t start;            /* its size before this apply: this apply's records follow */
	struct asios_journal j; /* the records before this apply, and those it added */
};

static void jfile_close(struct jfile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	asios_journal_clear(&f->j);
	free(f->path);
	f->path = NULL;
}

static int append(struct jfile *f, const char *line)
{
	size_t len = strlen(line);

	if (write(f->fd, line, len) != (ssize_t)len || fdatasync(f->fd) < 0)
		return -EIO;
	return 0;
}

static bool has_record(const struct jfile *f, const char *key, const char *ident)
{
	for (size_t i = 0; i < f->j.n_records; i++)
		if (!strcmp(f->j.records[i].key, key) && !strcmp(f->j.records[i].ident, ident))
			return true;
	return false;
}

static int remember(struct jfile *f, const char *key, const char *value, const char *ident)
{
	struct asios_journal_record *r = realloc(f->j.records, (f->j.n_records + 1) * sizeof(*r));

	if (!r)
		return -ENOMEM;
	f->j.records = r;
	r = &f->j.records[f->j.n_records];
	*r = (struct asios_journal_record){ strdup(key), strdup(value), strdup(ident), 0 };
	f->j.n_records++;
	return r->key && r->value && r->ident ? 0 : -ENOMEM;
}

/* append a record unless the object is journalled already (the older record holds the value to go back to) */
static int record(struct jfile *f, const char *key, const char *value, const char *ident, bool *added)
{
	char *line;
	int r;

	*added = false;
	if (has_record(f, key, ident))
		return 0;
	line = asios_journal_record_line(key, value, ident);
	r = line ? append(f, line) : -ENOMEM;
	free(line);
	if (r >= 0)
		r = remember(f, key, value, ident);
	*added = r >= 0;
	return r;
}

/* check what the journal holds: machine, boot, a write that was cut short */
static int jfile_check(struct asios_root *root, struct jfile *f, bool runtime, struct asios_apply_report *rep,
		       char **error)
{
	char *machine = asios_journal_machine_id(root), *boot = asios_journal_boot_id(root);
	int r = 0;

	if (!machine || !boot) {
		r = -ENOMEM;
	} else if (f->j.version == 2 && strcmp(f->j.machine, "-") && strcmp(machine, "-") &&
		   strcmp(f->j.machine, machine)) {
		set_error(error, "undo journal %s was written on machine %s, this is %s: revert it there or remove it; "
				 "nothing applied", f->path, f->j.machine, machine);
		r = -EXDEV;
	} else if (runtime && f->j.version == 2 && strcmp(f->j.boot, boot)) {
		/* runtime values do not outlive a boot: its records are of a machine state that is gone */
		asios_apply_note(rep, "undo journal %s is from an earlier boot (%s): its values were reset by the reboot, "
				      "started afresh", f->path, f->j.boot);
		asios_journal_clear(&f->j);
		r = ftruncate(f->fd, 0) < 0 ? -errno : 0;
	} else if (f->j.torn) {
		asios_apply_note(rep, "undo journal %s: an incomplete record at its end (an interrupted apply) was cut off",
				 f->path);
		r = ftruncate(f->fd, (off_t)f->j.complete) < 0 ? -errno : 0;
	}
	free(machine);
	free(boot);
	return r;
}

/* read the journal file, check it, and position at its end; a new one gets the header and its folders */
/* a new or emptied journal: the header and the folders made for it, in one write (no window in which a kill
 * leaves the folders unrecorded but the file there) */
static int jfile_start(struct asios_root *root, struct jfile *f, char **dirs)
{
	char *h = asios_journal_header(root), *text = NULL;
	size_t len = 0;
	FILE *m = h ? open_memstream(&text, &len) : NULL;
	int r = m ? 0 : -ENOMEM;

	f->j.version = ASIOS_JOURNAL_VERSION;
	if (m)
		fputs(h, m);
	for (size_t i = 0; r >= 0 && dirs && dirs[i]; i++) {
		char *key = NULL, *line = NULL;

		if (asprintf(&key, "mkdir:%s", dirs[i]) < 0 || !(line = asios_journal_record_line(key, "-", "-")))
			r = -ENOMEM;
		else
			fputs(line, m);
		if (r >= 0)
			r = remember(f, key, "-", "-");
		free(key);
		free(line);
	}
	if (m && fclose(m) != 0 && r >= 0)
		r = -ENOMEM;
	if (r >= 0)
		r = append(f, text);
	free(text);
	free(h);
	return r;
}

/* folders this run created (racing another for the lock) that the journal does not name yet; before the
 * start mark, so a rollback keeps them */
static int jfile_add_dirs(struct jfile *f, char **dirs)
{
	int r = 0;

	for (size_t i = 0; r >= 0 && dirs && dirs[i]; i++) {
		char *key = NULL;
		bool added;

		r = asprintf(&key, "mkdir:%s", dirs[i]) < 0 ? -ENOMEM : record(f, key, "-", "-", &added);
		free(key);
	}
	return r;
}

static int jfile_open(struct asios_root *root, struct jfile *f, const char *path, char **dirs, bool runtime,
		      struct asios_apply_report *rep, char **error)
{
	char *text = NULL, *msg = NULL;
	size_t len = 0;
	int r;

	f->path = strdup(path);
	f->fd = asios_root_open_file(root, path, O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW);
	if (!f->path || f->fd < 0)
		return f->fd < 0 ? f->fd : -ENOMEM;
	r = asios_read_file(root, path, &text, &len);
	if (r >= 0)
		r = asios_journal_parse(path, text, len, &f->j, &msg);
	free(text);
	if (r < 0) {
		set_error(error, "undo journal %s: %s; nothing applied (asiosctl revert, or remove it)", path,
			  msg ? msg : strerror(-r));
		free(msg);
		return r;
	}
	r = jfile_check(root, f, runtime, rep, error);
	if (r >= 0 && f->j.version == 0)
		r = jfile_start(root, f, dirs);
	else if (r >= 0) /* another apply wrote it while we waited for the lock: the folders we made still go in */
		r = jfile_add_dirs(f, dirs);
	if (r >= 0) {
		off_t end = lseek(f->fd, 0, SEEK_END);

		r = end < 0 ? -errno : 0;
		f->start = end; /* from here on, rollback may cut the file back to it */
	}
	return r;
}

/*
 * The persistent journal, opened when the first change that outlives a reboot comes. The folders made for it
 * are journalled in the runtime journal before they are made (a kill in between leaves nothing unrecorded),
 * and in the persistent journal itself (which outlives the reboot the runtime one does not).
 */
static int jfile_persistent(struct asios_root *root, struct jfile *p, struct jfile *rt, const char *journal,
			    struct asios_apply_report *rep, char **error)
{
	char *path, **dirs = NULL;
	size_t n = 0;
	int r;

	if (p->fd >= 0)
		return 0;
	path = asios_journal_persistent_path(journal);
	if (!path)
		return -ENOMEM;
	r = asios_missing_dirs(root, ASIOS_STATE_DIR, &dirs, &n);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		char *key = NULL;
		bool added;

		r = asprintf(&key, "mkdir:%s", dirs[i]) < 0 ? -ENOMEM : record(rt, key, "-", "-", &added);
		free(key);
	}
	if (r >= 0)
		r = asios_mkdirs(root, ASIOS_STATE_DIR, 0755);
	if (r >= 0)
		r = jfile_open(root, p, path, dirs, false, rep, error);
	else
		set_error(error, "undo journal %s: cannot create %s: %s; nothing applied", path, ASIOS_STATE_DIR,
			  strerror(-r));
	asios_strv_free(dirs);
	free(path);
	return r;
}

/* ---- apply ---- */

struct run {
	struct asios_root *root;
	const struct asios_plan *plan;
	const char *journal;
	struct asios_apply_report *rep;
	char **error;
	struct jfile rt, ps;   /* runtime and persistent journals */
	char **old;            /* per action: the value to roll back to, when it was changed */
	char **made;           /* folders this apply created for files, outermost first */
	size_t n_made;
};

/* journal the folders a file write is about to create */
static int record_dirs(struct run *x, const struct asios_action *a, struct jfile *f)
{
	char dir[4096], **dirs = NULL;
	size_t n = 0;
	int r;

	snprintf(dir, sizeof(dir), "%s", a->path);
	r = asios_missing_dirs(x->root, dirname(dir), &dirs, &n);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		char *key = NULL;
		bool added;

		r = asprintf(&key, "mkdir:%s", dirs[i]) < 0 ? -ENOMEM : record(f, key, "-", "-", &added);
		free(key);
		if (r >= 0)
			r = asios_strv_push_dup(&x->made, &x->n_made, dirs[i]);
	}
	asios_strv_free(dirs);
	return r;
}

static void failure_message(struct run *x, const struct asios_action *a, int r, const char *rb)
{
	if (a->kind == ASIOS_ACTION_FILE)
		set_error(x->error, "%s: %s %s failed: %s", a->object, a->new_value ? "writing" : "removing", a->path,
			  r == -EILSEQ ? "it reads back differently" : strerror(-r));
	else if (r == -EILSEQ)
		set_error(x->error, "%s: wrote \"%s\" to %s but it reads back \"%s\"", a->object, a->new_value, a->path,
			  rb ? rb : "");
	else if (a->kind == ASIOS_ACTION_AFFINITY || a->kind == ASIOS_ACTION_MIGRATE)
		set_error(x->error, "%s: %s %s failed: %s%s", a->object,
			  a->kind == ASIOS_ACTION_AFFINITY ? "setting the CPU affinity to" : "moving its pages to node",
			  a->new_value, strerror(-r),
			  r == -ENOSYS ? " (a kernel without page migration, CONFIG_MIGRATION)" : "");
	else
		set_error(x->error, "%s: writing \"%s\" to %s failed: %s", a->object, a->new_value, a->path, strerror(-r));
}

static void forget_last(struct jfile *f)
{
	struct asios_journal_record *rec = &f->j.records[--f->j.n_records];

	free(rec->key);
	free(rec->value);
	free(rec->ident);
}

static void skipped(struct run *x, const struct asios_action *a, int r, struct jfile *f, off_t mark, bool added)
{
	if (r == -ESRCH)
		asios_apply_note(x->rep, "%s: %s, skipped", a->object,
				 a->pid > 0 ? "the process has exited" : "it has gone (removed since the plan was made)");
	else if (r == -EILSEQ) /* written, and read back unchanged: a field the device does not implement */
		asios_apply_note(x->rep, "%s: the device kept its value for %s (\"%s\" was written and read back as "
				 "before: a read-only field there), left as it is", a->object, a->path, a->new_value);
	else
		asios_apply_note(x->rep, "%s: the kernel refused \"%s\" for %s (%s), left as it is", a->object,
				 a->new_value, a->path, strerror(-r));
	x->rep->refused++;
	/* nothing changed: nothing to undo (we hold the lock, so the records after MARK are ours) */
	if (added && ftruncate(f->fd, mark) < 0)
		asios_apply_note(x->rep, "undo journal %s: cannot truncate: %s", f->path, strerror(errno));
	else if (added)
		forget_last(f);
}

/* one action: 0 done or skipped, <0 failed (rollback needed) */
static int act_one(struct run *x, size_t i)
{
	const struct asios_action *a = &x->plan->actions[i];
	const struct asios_actuator *act = asios_actuator_of(a->kind);
	char *cur = NULL, *key = NULL, *target = NULL, *ident = NULL, *rb = NULL;
	struct jfile *f = act && act->persistent ? &x->ps : &x->rt;
	bool added = false;
	off_t mark;
	int r;

	if (!act)
		return -EINVAL;
	r = act->current(x->root, a, &cur);
	if (r == -ESRCH) {
		skipped(x, a, r, f, 0, false);
		return 0;
	}
	if (r < 0) {
		set_error(x->error, "%s: cannot read %s: %s", a->object, a->path, strerror(-r));
		return r;
	}
	if (act->persistent)
		r = jfile_persistent(x->root, &x->ps, &x->rt, x->journal, x->rep, x->error);
	if (r >= 0 && act->makes_dirs)
		r = record_dirs(x, a, f);
	target = act->target(a);
	if (r >= 0)
		r = target && asprintf(&key, "%s:%s", act->name, target) >= 0 ? act->identity(x->root, a, &ident) : -ENOMEM;
	mark = f->fd >= 0 ? lseek(f->fd, 0, SEEK_END) : -1;
	if (r >= 0)
		r = record(f, key, cur, ident, &added);
	if (r < 0) {
		set_error(x->error, "%s: cannot write the undo journal %s: %s", a->object, f->path ? f->path : x->journal,
			  strerror(-r));
		goto out;
	}
	r = act->perform(x->root, a, &rb, x->rep);
	if (r < 0 && (r == -ESRCH || act->refused(-r))) {
		skipped(x, a, r, f, mark, added);
		r = 0;
		goto out;
	}
	if (r < 0)
		failure_message(x, a, r, rb);
	/* on failure a partial write may have happened: restore it too (migrations are never undone) */
	if (act->undoable || r >= 0) {
		x->old[i] = cur;
		cur = NULL;
	}
	if (r >= 0)
		x->rep->applied++;
out:
	free(cur);
	free(key);
	free(target);
	free(ident);
	free(rb);
	return r;
}

/* a change that could not be rolled back: its record goes back into the journal after the truncation */
static void keep_record(struct run *x, const struct asios_action *a, const struct asios_actuator *act,
			const char *target, char ***keep, size_t *n_keep)
{
	char *line = NULL, *key = NULL, *ident = NULL;

	if (target && asprintf(&key, "%s:%s", act->name, target) >= 0 && act->identity(x->root, a, &ident) >= 0)
		line = asios_journal_record_line(key, x->old[a - x->plan->actions], ident);
	if (!line || asios_strv_push(keep, n_keep, line) < 0)
		asios_apply_note(x->rep, "%s: cannot keep its record in the undo journal: out of memory", a->object);
	free(key);
	free(ident);
}

static bool unchanged(struct run *x, const struct asios_action *a, const struct asios_actuator *act, const char *old)
{
	char *now = NULL;
	bool same = act->current(x->root, a, &now) >= 0 && !strcmp(now, old);

	free(now);
	return same;
}

/* roll back actions [0, N) in reverse; the records of those that could not be restored stay journalled */
static void rollback(struct run *x, size_t n)
{
	char **keep[2] = { NULL, NULL }; /* runtime, persistent */
	size_t n_keep[2] = { 0, 0 };
	struct jfile *files[2] = { &x->rt, &x->ps };

	while (n-- > 0) {
		const struct asios_action *a = &x->plan->actions[n];
		const struct asios_actuator *act = asios_actuator_of(a->kind);
		char *rb = NULL, *target;
		int r;

		if (!x->old[n])
			continue;
		if (act->undoable && unchanged(x, a, act, x->old[n]))
			continue; /* the failed write changed nothing (or this one was undone already) */
		if (!act->undoable) {
			asios_apply_note(x->rep, "%s: pages already moved to node %s stay there (page migration is not undone)",
					 a->object, a->new_value);
			continue;
		}
		target = act->target(a);
		r = target ? act->restore(x->root, target, x->old[n], &rb) : -ENOMEM;
		if (r < 0) {
			asios_apply_note(x->rep, "%s: rollback of %s to \"%s\" failed: %s; kept in the undo journal", a->object,
					 a->path, act->show_old ? act->show_old(x->old[n]) : x->old[n],
					 r == -EILSEQ ? "reads back differently" : strerror(-r));
			x->rep->unrestored++;
			keep_record(x, a, act, target, &keep[act->persistent], &n_keep[act->persistent]);
		} else {
			asios_apply_note(x->rep, "%s: rolled back to \"%s\"", a->object,
					 act->show_old ? act->show_old(x->old[n]) : x->old[n]);
		}
		free(target);
		free(rb);
	}
	/* this apply's records out again (the lock is ours: nobody appended after them), the unrestored back in,
	 * oldest first as they were */
	for (int k = 0; k < 2; k++) {
		struct jfile *f = files[k];

		if (f->fd >= 0 && f->start >= 0 && ftruncate(f->fd, f->start) < 0)
			asios_apply_note(x->rep, "undo journal %s: cannot truncate: %s", f->path, strerror(errno));
		for (size_t i = n_keep[k]; i-- > 0;)
			if (f->fd < 0 || append(f, keep[k][i]) < 0)
				asios_apply_note(x->rep, "undo journal %s: cannot keep \"%s\"", f->path ? f->path : "?", keep[k][i]);
		asios_strv_free(keep[k]);
	}
	for (size_t i = x->n_made; i-- > 0;)
		(void)asios_rmdir_empty(x->root, x->made[i]);
}


int asios_apply(struct asios_root *root, const struct asios_plan *plan, const char *journal,
		struct asios_apply_report *rep, char **error)
{
	struct run x = { .root = root, .plan = plan, .journal = journal, .rep = rep, .error = error,
			 .rt = { .fd = -1, .start = -1 }, .ps = { .fd = -1, .start = -1 } };
	struct asios_journal_lock *lock = NULL;
	char **lock_dirs = NULL;
	size_t i = 0;
	int r, holder = 0;

	*error = NULL;
	if (!plan->n_actions)
		return 0;
	x.old = calloc(plan->n_actions + 1, sizeof(char *));
	if (!x.old)
		return -ENOMEM;
	r = asios_journal_lock(root, journal, asios_lock_timeout_ms(), &lock, &holder, &lock_dirs);
	if (r < 0) {
		if (r == -EBUSY)
			set_error(error, "undo journal %s is locked by pid %d (another asiosctl or ASIOS daemon); nothing "
					 "applied", journal, holder);
		else
			set_error(error, "undo journal %s: %s; nothing applied", journal, strerror(-r));
		free(x.old);
		return r;
	}
	if (holder)
		asios_apply_note(rep, "waited for pid %d, which held the lock of %s", holder, journal);
	r = jfile_open(root, &x.rt, journal, lock_dirs, true, rep, error);
	if (r < 0)
		rep->failed++;
	for (; r >= 0 && i < plan->n_actions; i++) {
		r = act_one(&x, i);
		if (r < 0) {
			/* the failed action may have half happened: it is rolled back too */
			rep->failed++;
			rollback(&x, i + 1);
			rep->applied = 0;
		}
	}
	jfile_close(&x.rt);
	jfile_close(&x.ps);
	(void)asios_apply_stats_add(root, journal, rep, false, r); /* telemetry: a failure to count fails nothing */
	asios_journal_tidy(root, journal, lock, lock_dirs);
	asios_strv_free(lock_dirs);
	asios_strv_free(x.made);
	for (size_t k = 0; k < plan->n_actions; k++)
		free(x.old[k]);
	free(x.old);
	return r;
}
