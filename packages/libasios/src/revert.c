/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* Revert (apply.h): the journals put back newest first, through the actuator that wrote each record. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actuator.h"
#include "asios/apply.h"
#include "asios/journal.h"
#include "asios/stats.h"
#include "util.h"

/*
 * Put the records of one journal file back, newest first. Returns the number of records kept (could not be
 * restored); KEEP marks them, and the folder records, which tidy() reads once the files in them are gone.
 */
static int revert_records(struct asios_root *root, const struct asios_journal *j, bool *keep,
			  struct asios_apply_report *rep)
{
	int kept = 0;

	for (size_t i = j->n_records; i-- > 0;) {
		const struct asios_journal_record *rec = &j->records[i];
		const char *target;
		const struct asios_actuator *act = asios_actuator_by_key(rec->key, &target);
		char *why, *rb = NULL;
		int r;

		keep[i] = false;
		if (!act) {
			asios_apply_note(rep, "line %zu: unknown record \"%s\", kept", rec->line, rec->key);
			keep[i] = true;
			kept++;
			continue;
		}
		if (!strcmp(act->name, "mkdir")) { /* removed with the journal, once the files in them are gone */
			keep[i] = true;
			continue;
		}
		if (!act->undoable) {
			const char *gt = strchr(rec->value, '>');

			asios_apply_note(rep, "pid %d: its pages moved from node %.*s to node %s stay there (page migration is "
					      "not undone)", atoi(target), gt ? (int)(gt - rec->value) : 0, rec->value,
					 gt ? gt + 1 : "?");
			continue;
		}
		why = act->gone(root, target, rec->ident);
		if (why) {
			asios_apply_note(rep, "%s", why);
			free(why);
			continue;
		}
		r = act->restore(root, target, rec->value, &rb);
		if (r < 0) {
			asios_apply_note(rep, "%s: restoring \"%s\" failed: %s; kept in the undo journal", target,
					 act->show_old ? act->show_old(rec->value) : rec->value,
					 r == -EILSEQ ? "reads back differently" : strerror(-r));
			rep->failed++;
			rep->unrestored++;
			keep[i] = true;
			kept++;
		} else {
			rep->applied++;
		}
		free(rb);
	}
	return kept;
}

/* what could not be restored, written back (whole-file replace, so a crash leaves the old or the new) */
static int rewrite(struct asios_root *root, const char *path, const struct asios_journal *j, const bool *keep)
{
	char *h = asios_journal_header(root), *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	int r;

	if (!h || !m) {
		free(h);
		if (m)
			fclose(m);
		free(text);
		return -ENOMEM;
	}
	fputs(h, m);
	for (size_t i = 0; i < j->n_records; i++) {
		char *line = keep[i] ? asios_journal_record_line(j->records[i].key, j->records[i].value, j->records[i].ident) :
				       NULL;

		if (line)
			fputs(line, m);
		free(line);
	}
	fclose(m);
	r = asios_write_whole(root, path, text);
	free(h);
	free(text);
	return r;
}


/* everything before this line is done: the journal (its folder records) is removed by tidy(), or by the next
 * revert when this one is killed first */
static int mark_reverted(struct asios_root *root, const char *path)
{
	int fd = asios_root_open_file(root, path, O_WRONLY | O_APPEND | O_NOFOLLOW), r = 0;
	const char line[] = ASIOS_JOURNAL_REVERTED "\n";

	if (fd < 0)
		return fd;
	if (write(fd, line, sizeof(line) - 1) != (ssize_t)(sizeof(line) - 1) || fdatasync(fd) < 0)
		r = -EIO;
	close(fd);
	return r;
}

/* revert one journal file; 1 when there was none */
static int revert_file(struct asios_root *root, const char *path, bool runtime, struct asios_apply_report *rep)
{
	struct asios_journal j = { 0 };
	char *text = NULL, *msg = NULL, *machine = asios_journal_machine_id(root), *boot = asios_journal_boot_id(root);
	size_t len = 0;
	bool *keep = NULL;
	int r = asios_read_file(root, path, &text, &len);

	if (r == -ENOENT)
		r = 1;
	else if (r >= 0 && (r = asios_journal_parse(path, text, len, &j, &msg)) < 0)
		asios_apply_note(rep, "%s", msg ? msg : strerror(-r));
	else if (r >= 0 && j.version == 2 && strcmp(j.machine, "-") && strcmp(machine, "-") && strcmp(j.machine, machine)) {
		asios_apply_note(rep, "%s was written on machine %s, this is %s: not reverted", path, j.machine, machine);
		r = -EXDEV;
	} else if (r >= 0 && runtime && j.version == 2 && strcmp(j.boot, boot)) {
		asios_apply_note(rep, "%s is from an earlier boot (%s): the values it holds were reset by the reboot, "
				      "nothing to restore", path, j.boot);
		r = mark_reverted(root, path);
	} else if (r >= 0) {
		keep = calloc(j.n_records + 1, sizeof(*keep));
		r = keep ? revert_records(root, &j, keep, rep) : -ENOMEM;
		if (r > 0)
			r = rewrite(root, path, &j, keep) < 0 ? -EIO : -EAGAIN;
		else if (r == 0)
			r = mark_reverted(root, path);
	}
	if (j.torn)
		asios_apply_note(rep, "%s: an incomplete record at its end (an interrupted apply, whose change never "
				      "started) was ignored", path);
	if (r < 0 && r != -EAGAIN && r != -EXDEV && r != -EBADMSG)
		asios_apply_note(rep, "%s: %s", path, strerror(-r));
	free(keep);
	free(msg);
	free(text);
	free(machine);
	free(boot);
	asios_journal_clear(&j);
	return r;
}

/* an apply killed after taking the lock and before writing its journal, or a revert killed after removing the
 * journal and before its lock, leaves the lock file alone: when nobody holds it, it goes (with its folders) */
static void drop_left_lock(struct asios_root *root, const char *journal)
{
	struct asios_journal_lock *lock = NULL;
	char **dirs = NULL, *path = NULL;
	int holder = 0;

	if (asprintf(&path, "%s.lock", journal) < 0)
		return;
	if (asios_exists(root, path) && asios_journal_lock(root, journal, 0, &lock, &holder, &dirs) == 0)
		asios_journal_tidy(root, journal, lock, dirs);
	asios_strv_free(dirs);
	free(path);
}

int asios_revert(struct asios_root *root, const char *journal, struct asios_apply_report *rep)
{
	struct asios_journal_lock *lock = NULL;
	char **lock_dirs = NULL, *pers = asios_journal_persistent_path(journal);
	int r, rt, ps, holder = 0;

	if (!pers)
		return -ENOMEM;
	if (!asios_exists(root, journal) && !asios_exists(root, pers)) {
		drop_left_lock(root, journal);
		free(pers);
		return -ENOENT;
	}
	r = asios_journal_lock(root, journal, asios_lock_timeout_ms(), &lock, &holder, &lock_dirs);
	if (r < 0) {
		asios_apply_note(rep, "undo journal %s is locked by pid %d (another asiosctl or ASIOS daemon): not reverted",
				 journal, holder);
		free(pers);
		return r;
	}
	rt = revert_file(root, journal, true, rep);
	ps = revert_file(root, pers, false, rep);
	if (rt != 1 || ps != 1)
		(void)asios_apply_stats_add(root, journal, rep, true, 0);
	/* the journals, their lock and the folders apply made (and lock() just made) go */
	asios_journal_tidy(root, journal, lock, lock_dirs);
	asios_strv_free(lock_dirs);
	free(pers);
	if (rt == 1 && ps == 1)
		return -ENOENT;
	return (rt < 0 || ps < 0) ? -EIO : 0;
}
