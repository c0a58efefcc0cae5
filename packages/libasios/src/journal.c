/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* The undo journal's format and lock (journal.h). */
#define _GNU_SOURCE
#include "asios/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "actuator.h"
#include "util.h"

#define HEADER "#asios-journal "

static char *escape(const char *s)
{
	char *out = malloc(2 * strlen(s) + 1), *o = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		if (*s == '\\' || *s == '\n' || *s == '\t') {
			*o++ = '\\';
			*o++ = *s == '\n' ? 'n' : *s == '\t' ? 't' : '\\';
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return out;
}

/* in place; an unknown escape stays as it is */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s == '\\' && (s[1] == 'n' || s[1] == 't' || s[1] == '\\')) {
			s++;
			*o++ = *s == 'n' ? '\n' : *s == 't' ? '\t' : '\\';
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

char *asios_journal_record_line(const char *key, const char *value, const char *ident)
{
	char *k = escape(key), *v = escape(value), *i = escape(ident ? ident : "-"), *line = NULL;

	if (!k || !v || !i || asprintf(&line, "%s\t%s\t%s\n", k, v, i) < 0)
		line = NULL;
	free(k);
	free(v);
	free(i);
	return line;
}

static char *read_id(struct asios_root *root, const char *path)
{
	char *v = NULL;

	if (asios_read_line(root, path, &v) < 0 || !v[0] || strpbrk(v, "\t\\ ")) {
		free(v);
		return strdup("-");
	}
	return v;
}

char *asios_journal_machine_id(struct asios_root *root)
{
	return read_id(root, "/etc/machine-id");
}

char *asios_journal_boot_id(struct asios_root *root)
{
	return read_id(root, "/proc/sys/kernel/random/boot_id");
}

char *asios_journal_header(struct asios_root *root)
{
	char *m = asios_journal_machine_id(root), *b = asios_journal_boot_id(root), *h = NULL;

	if (!m || !b || asprintf(&h, HEADER "%d\tmachine=%s\tboot=%s\n", ASIOS_JOURNAL_VERSION, m, b) < 0)
		h = NULL;
	free(m);
	free(b);
	return h;
}

char *asios_journal_persistent_path(const char *journal)
{
	const char *base = strrchr(journal, '/');
	char *p = NULL;

	return asprintf(&p, "%s/%s", ASIOS_STATE_DIR, base ? base + 1 : journal) < 0 ? NULL : p;
}

void asios_journal_clear(struct asios_journal *j)
{
	for (size_t i = 0; i < j->n_records; i++) {
		free(j->records[i].key);
		free(j->records[i].value);
		free(j->records[i].ident);
	}
	free(j->records);
	free(j->machine);
	free(j->boot);
	memset(j, 0, sizeof(*j));
}

static int parse_header(const char *path, char *line, struct asios_journal *j, char **error)
{
	char *f[3] = { 0 }, *save = NULL;
	int n = 0;

	for (char *t = strtok_r(line + strlen(HEADER), "\t", &save); t && n < 3; t = strtok_r(NULL, "\t", &save))
		f[n++] = t;
	if (n != 3 || strcmp(f[0], "2") || strncmp(f[1], "machine=", 8) || strncmp(f[2], "boot=", 5)) {
		if (asprintf(error, "%s:1: not an ASIOS journal header of version %d", path, ASIOS_JOURNAL_VERSION) < 0)
			*error = NULL;
		return -EBADMSG;
	}
	j->version = 2;
	j->machine = strdup(f[1] + 8);
	j->boot = strdup(f[2] + 5);
	return j->machine && j->boot ? 0 : -ENOMEM;
}

/* one record line (escaped fields separated by tabs) */
static int parse_record(const char *path, char *line, size_t lineno, struct asios_journal *j, char **error)
{
	char *f[3] = { 0 }, *p = line;
	int n = 0, want = j->version == 2 ? 3 : 2;
	struct asios_journal_record *r;

	while (n < 3) {
		f[n++] = p;
		p = strchr(p, '\t');
		if (!p)
			break;
		*p++ = '\0';
	}
	if (n != want || p || !f[0][0]) {
		if (asprintf(error, "%s:%zu: not a record \"KEY<TAB>VALUE%s\"", path, lineno,
			     want == 3 ? "<TAB>IDENTITY" : "") < 0)
			*error = NULL;
		return -EBADMSG;
	}
	r = realloc(j->records, (j->n_records + 1) * sizeof(*r));
	if (!r)
		return -ENOMEM;
	j->records = r;
	r = &j->records[j->n_records];
	for (int i = 0; i < n; i++)
		unescape(f[i]);
	r->key = strdup(f[0]);
	r->value = strdup(f[1]);
	r->ident = strdup(n == 3 ? f[2] : "-");
	r->line = lineno;
	j->n_records++;
	return r->key && r->value && r->ident ? 0 : -ENOMEM;
}

/* a revert put everything before this line back: only the folders to remove are left of it */
static void drop_restored(struct asios_journal *j)
{
	size_t k = 0;

	for (size_t i = 0; i < j->n_records; i++) {
		if (!strncmp(j->records[i].key, "mkdir:", 6)) {
			j->records[k++] = j->records[i];
			continue;
		}
		free(j->records[i].key);
		free(j->records[i].value);
		free(j->records[i].ident);
	}
	j->n_records = k;
}

int asios_journal_parse(const char *path, const char *text, size_t len, struct asios_journal *j, char **error)
{
	size_t lineno = 0, at = 0;
	int r = 0;

	*error = NULL;
	memset(j, 0, sizeof(*j));
	while (at < len && r >= 0) {
		const char *nl = memchr(text + at, '\n', len - at);
		char *line;

		if (!nl) {
			j->torn = true;
			break;
		}
		lineno++;
		if (memchr(text + at, '\0', (size_t)(nl - (text + at)))) {
			if (asprintf(error, "%s:%zu: a NUL byte in a record", path, lineno) < 0)
				*error = NULL;
			r = -EBADMSG;
			break;
		}
		line = strndup(text + at, (size_t)(nl - (text + at)));
		if (!line)
			return -ENOMEM;
		if (lineno == 1 && !strncmp(line, HEADER, strlen(HEADER)))
			r = parse_header(path, line, j, error);
		else if (lineno > 1 && j->version == 2 && !strcmp(line, ASIOS_JOURNAL_REVERTED))
			drop_restored(j);
		else {
			if (lineno == 1)
				j->version = 1;
			r = parse_record(path, line, lineno, j, error);
		}
		free(line);
		at = (size_t)(nl - text) + 1;
	}
	j->complete = at;
	if (r < 0)
		asios_journal_clear(j);
	return r;
}

/* ---- the lock ---- */

unsigned asios_lock_timeout_ms(void)
{
	const char *v = getenv("ASIOS_LOCK_TIMEOUT");
	char *end;
	unsigned long s;

	if (!v || !*v)
		return 60000;
	s = strtoul(v, &end, 10);
	return *end || s > 3600 ? 60000 : (unsigned)s * 1000;
}

struct asios_journal_lock {
	int fd;
	char *path;
};

int asios_missing_dirs(struct asios_root *root, const char *path, char ***ret, size_t *n)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (!asios_exists(root, buf) && asios_strv_push_dup(ret, n, buf) < 0)
				return -ENOMEM;
			if (!c)
				break;
			*p = c;
		}
	}
	return 0;
}

static bool same_file(struct asios_root *root, const char *path, int fd)
{
	struct stat a, b;
	/* O_PATH: closing it does not drop the fcntl locks this process holds on the file, as any other close would */
	int fd2 = asios_root_open_file(root, path, O_PATH | O_NOFOLLOW);
	bool same;

	if (fd2 < 0)
		return false;
	same = fstat(fd, &a) == 0 && fstat(fd2, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	close(fd2);
	return same;
}

/* one attempt: 0 with the lock, -EAGAIN with *HOLDER set, or an error */
static int try_lock(struct asios_root *root, const char *path, int *fd_ret, int *holder)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd = asios_root_open_file(root, path, O_RDWR | O_CREAT | O_NOFOLLOW);

	if (fd < 0)
		return fd;
	if (fcntl(fd, F_SETLK, &fl) < 0) {
		int r = -errno;

		if (r == -EAGAIN || r == -EACCES) {
			struct flock q = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

			*holder = fcntl(fd, F_GETLK, &q) == 0 && q.l_type != F_UNLCK ? q.l_pid : *holder;
			r = -EAGAIN;
		}
		close(fd);
		return r;
	}
	/* the file may have been removed by the revert that held it before us: then lock the new one */
	if (!same_file(root, path, fd)) {
		close(fd);
		return -ESTALE;
	}
	*fd_ret = fd;
	return 0;
}

int asios_journal_lock(struct asios_root *root, const char *journal, unsigned timeout_ms,
		       struct asios_journal_lock **ret, int *waited_for, char ***created)
{
	struct asios_journal_lock *l;
	char dir[4096], buf[4096], *path = NULL;
	size_t n_created = 0;
	unsigned waited = 0;
	int fd = -1, r;

	*ret = NULL;
	*waited_for = 0;
	*created = NULL;
	snprintf(buf, sizeof(buf), "%s", journal);
	snprintf(dir, sizeof(dir), "%s", dirname(buf));
	if (asprintf(&path, "%s.lock", journal) < 0)
		return -ENOMEM;
	for (;;) {
		int holder = 0;
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		/* (again on every try: the revert that held the lock may have removed the folder with it) */
		if (asios_root_is_host(root)) {
			r = asios_missing_dirs(root, dir, created, &n_created);
			if (r >= 0)
				r = asios_mkdirs(root, dir, 0755);
		} else {
			r = asios_mkdirs_made(root, dir, 0755, created, &n_created);
		}
		if (r >= 0)
			r = try_lock(root, path, &fd, &holder);
		if (r != -EAGAIN && r != -ESTALE)
			break;
		if (holder)
			*waited_for = holder;
		if (waited >= timeout_ms) {
			r = -EBUSY;
			break;
		}
		nanosleep(&ts, NULL);
		waited += 20;
	}
	l = r < 0 ? NULL : calloc(1, sizeof(*l));
	if (!l) {
		if (fd >= 0)
			close(fd);
		free(path);
		asios_strv_free(*created);
		*created = NULL;
		return r < 0 ? r : -ENOMEM;
	}
	l->fd = fd;
	l->path = path;
	*ret = l;
	return 0;
}

void asios_journal_unlock(struct asios_root *root, struct asios_journal_lock *l, bool remove)
{
	if (!l)
		return;
	if (remove) /* still locked: a waiter sees the inode change and takes the new file */
		(void)asios_unlink_in_root(root, l->path, 0);
	close(l->fd);
	free(l->path);
	free(l);
}

/* ---- after apply or revert: what is left empty goes ---- */

/* a journal with nothing to undo (a header and folder records at most) */
static bool journal_empty(struct asios_root *root, const char *path, char ***dirs, size_t *n_dirs)
{
	struct asios_journal j = { 0 };
	char *text = NULL, *msg = NULL;
	size_t len = 0;
	bool empty;

	if (asios_read_file(root, path, &text, &len) < 0)
		return !asios_exists(root, path);
	empty = asios_journal_parse(path, text, len, &j, &msg) >= 0 && !j.torn;
	for (size_t i = 0; empty && i < j.n_records; i++)
		empty = !strncmp(j.records[i].key, "mkdir:", 6);
	for (size_t i = 0; empty && i < j.n_records; i++)
		(void)asios_strv_push_dup(dirs, n_dirs, j.records[i].key + 6);
	asios_journal_clear(&j);
	free(text);
	free(msg);
	return empty;
}

static int longer_first(const void *a, const void *b)
{
	size_t x = strlen(*(char *const *)a), y = strlen(*(char *const *)b);

	return x > y ? -1 : x < y;
}

static void remove_empty_dirs(struct asios_root *root, char **dirs, size_t n)
{
	/* innermost (longest) first; a folder that holds anything else stays */
	if (dirs)
		qsort(dirs, n, sizeof(*dirs), longer_first);
	for (size_t i = 0; i < n; i++)
		(void)asios_rmdir_empty(root, dirs[i]);
}

/*
 * In an order that a kill -9 at any point leaves a journal that names what is left, so that the next revert
 * finishes: the folders only the persistent journal records (those of the files it restored) go while it is
 * still there; then that journal and its own folders, which the runtime journal records too; then the runtime
 * journal, its lock (a lock left alone is removed by the next revert) and their folders.
 */
void asios_journal_tidy(struct asios_root *root, const char *journal, struct asios_journal_lock *lock,
			char **more_dirs)
{
	char **dirs = NULL, **rt_dirs = NULL, *pers = asios_journal_persistent_path(journal);
	size_t n = 0, n_rt = 0;
	bool rt_empty = journal_empty(root, journal, &rt_dirs, &n_rt), gone = false;

	for (size_t i = 0; more_dirs && more_dirs[i]; i++)
		(void)asios_strv_push_dup(&dirs, &n, more_dirs[i]);
	if (pers && journal_empty(root, pers, &dirs, &n)) {
		remove_empty_dirs(root, dirs, n);
		(void)asios_unlink_in_root(root, pers, 0);
		for (size_t i = 0; rt_empty && i < n_rt; i++)
			(void)asios_strv_push_dup(&dirs, &n, rt_dirs[i]);
		remove_empty_dirs(root, dirs, n);
		if (rt_empty) {
			(void)asios_unlink_in_root(root, journal, 0);
			gone = true;
		}
	}
	asios_journal_unlock(root, lock, gone);
	remove_empty_dirs(root, dirs, n);
	asios_strv_free(dirs);
	asios_strv_free(rt_dirs);
	free(pers);
}
