/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include "asios/config.h"

#include "asios/cpulist.h"
#include "asios/root.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* a checked line, with its end, must fit libinih's line buffer */
_Static_assert(ASIOS_CONF_MAX_LINE + 2 <= INI_MAX_LINE, "libinih's line buffer is too small");

int asios_conf_fail(struct asios_conf *c, const char *fmt, const char *a, const char *b)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	if (!c->why_line) {
		free(c->why);
		if (asprintf(&c->why, fmt, a, b) < 0) /* fmt: one of the literals of a policy reader */
			c->why = NULL;
		c->why_line = c->line ? c->line : 1;
	}
#pragma GCC diagnostic pop
	return 0; /* inih: 0 = error on this line */
}

int asios_conf_bool(const char *v, bool *ret)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "on"))
		*ret = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "off"))
		*ret = false;
	else
		return -EINVAL;
	return 0;
}

int asios_conf_long(const char *v, long min, long max, long *ret)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max)
		return -EINVAL;
	*ret = n;
	return 0;
}

/* The length of the UTF-8 sequence at S (N bytes left), 0 when it is not one; ASCII controls but tab are 0. */
static size_t utf8_char(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned cp;

	if (s[0] < 0x80)
		return s[0] == '\t' || (s[0] >= 0x20 && s[0] != 0x7f) ? 1 : 0;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff) ||
	    cp == 0xfeff)
		return 0; /* overlong, beyond Unicode, a surrogate, a byte order mark */
	return len;
}

static const char *bad_byte(const unsigned char *s, size_t n, char buf[64])
{
	for (size_t i = 0, k; i < n; i += k)
		if (!(k = utf8_char(s + i, n - i))) {
			if (s[i] == 0)
				return "a NUL byte";
			if (s[i] == '\r')
				return "a carriage return (DOS line ends? lines must end with LF only)";
			if (n - i >= 3 && !memcmp(s + i, "\xef\xbb\xbf", 3))
				return "a byte order mark (save the file as UTF-8 without one)";
			snprintf(buf, 64, "byte 0x%02x at column %zu, not text (a control character or not UTF-8)", s[i],
				 i + 1);
			return buf;
		}
	return NULL;
}

/* the first of the N bytes at S that is not a blank, or S + N (bounded: the text need not end with a NUL) */
static const char *skip_blanks(const char *s, size_t n)
{
	const char *e = s + n;

	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}


/* What is wrong with the line S (N bytes, no line end, leading blanks removed), or NULL. */
static const char *bad_line(const char *s, size_t n, char buf[64])
{
	const char *why = bad_byte((const unsigned char *)s, n, buf), *end, *after;

	if (why || n == 0 || *s == ';' || *s == '#')
		return why; /* comments may be long: they never reach libinih */
	if (n > ASIOS_CONF_MAX_LINE) {
		snprintf(buf, 64, "line longer than %d characters", ASIOS_CONF_MAX_LINE);
		return buf;
	}
	if (*s == '[') {
		end = memchr(s, ']', n);
		if (!end)
			return "a section needs a closing ]";
		if ((size_t)(end - s - 1) > ASIOS_CONF_MAX_SECTION) {
			snprintf(buf, 64, "section name longer than %d characters", ASIOS_CONF_MAX_SECTION);
			return buf;
		}
		end++;
		after = skip_blanks(end, (size_t)(s + n - end));
		if (after < s + n && *after != ';' && *after != '#')
			return "text after the ] of a section";
		return NULL;
	}
	if (!memchr(s, '=', n) && !memchr(s, ':', n))
		return "expected KEY = VALUE, [SECTION] or a comment";
	return NULL;
}

/* libinih's reader: the next checked line, its leading blanks removed and a comment as an empty line. */
struct stream {
	struct asios_conf *c;
	const char *p, *end;
};

static char *next_line(char *str, int num, void *data)
{
	struct stream *st = data;
	struct asios_conf *c = st->c;
	const char *nl, *s;
	size_t n;
	char buf[64];
	const char *why;

	if (st->p >= st->end || c->why_line)
		return NULL; /* the end, or stop at the first error */
	nl = memchr(st->p, '\n', (size_t)(st->end - st->p));
	if (!nl)
		nl = st->end;
	c->line++;
	s = skip_blanks(st->p, (size_t)(nl - st->p)); /* bounded (fuzz-audit-rules found the unbounded one) */
	n = (size_t)(nl - s);
	st->p = nl < st->end ? nl + 1 : nl;
	why = bad_line(s, n, buf);
	if (why) {
		asios_conf_fail(c, "%s%s", why, "");
		return NULL;
	}
	if (n && (*s == ';' || *s == '#'))
		n = 0;
	if (n + 2 > (size_t)num) { /* bad_line() keeps this from happening */
		asios_conf_fail(c, "line too long%s%s", "", "");
		return NULL;
	}
	memcpy(str, s, n);
	str[n] = '\n';
	str[n + 1] = '\0';
	return str;
}

static bool repeatable(const struct asios_conf *c, const char *section)
{
	for (const char *const *r = c->repeatable; r && *r; r++)
		if (!strcmp(*r, section))
			return true;
	return false;
}

/* Between libinih and the policy: a key set twice in a section of one file is refused. */
static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct asios_conf *c = user;
	char *key, **ns;
	unsigned *nl;
	char first[32];

	if (c->why_line)
		return 0;
	if (!repeatable(c, section)) {
		if (asprintf(&key, "%s\n%s", section, name) < 0)
			return asios_conf_fail(c, "out of memory%s%s", "", "");
		for (size_t i = 0; i < c->n_seen; i++)
			if (!strcmp(c->seen[i], key)) {
				free(key);
				snprintf(first, sizeof(first), "%u", c->seen_line[i]);
				asios_conf_fail(c, "\"%s\" is set again in this section (first on line %s); set it once",
						name, first);
				return 0;
			}
		ns = realloc(c->seen, (c->n_seen + 1) * sizeof(*ns));
		if (ns)
			c->seen = ns;
		nl = ns ? realloc(c->seen_line, (c->n_seen + 1) * sizeof(*nl)) : NULL;
		if (!nl) {
			free(key);
			return asios_conf_fail(c, "out of memory%s%s", "", "");
		}
		c->seen_line = nl;
		c->seen[c->n_seen] = key;
		c->seen_line[c->n_seen++] = c->line;
	}
	if (c->handler(c->user, section, name, value))
		return 1;
	if (!c->why_line)
		asios_conf_fail(c, "\"%s\": bad value \"%s\"", name, value);
	return 0;
}

static void reset(struct asios_conf *c)
{
	for (size_t i = 0; i < c->n_seen; i++)
		free(c->seen[i]);
	free(c->seen);
	free(c->seen_line);
	free(c->why);
	c->seen = NULL;
	c->seen_line = NULL;
	c->n_seen = 0;
	c->why = NULL;
	c->why_line = c->line = 0;
}

int asios_conf_parse(struct asios_conf *c, const char *text, size_t len, const char *origin, char **error)
{
	struct stream st = { c, text, text + len };
	int line, r = 0;

	reset(c);
	line = ini_parse_stream(next_line, &st, on_key, c);
	if (line < 0 && !c->why_line)
		r = -ENOMEM;
	else if (line > 0 || c->why_line) {
		if (!c->why_line || (line > 0 && (unsigned)line < c->why_line)) {
			/* a line libinih refused by itself (the checks above should have caught it) */
			c->why_line = (unsigned)line;
			free(c->why);
			c->why = NULL;
		}
		r = -EINVAL;
		if (error && asprintf(error, "%s:%u: %s", origin, c->why_line, c->why ? c->why : "syntax error") < 0)
			*error = NULL;
	}
	reset(c);
	return r;
}

static int conf_filter(const struct dirent *de)
{
	size_t n = strlen(de->d_name);

	return de->d_name[0] != '.' && n > 5 && !strcmp(de->d_name + n - 5, ".conf");
}

static int cmp_coll(const void *a, const void *b)
{
	return strcoll(*(char *const *)a, *(char *const *)b);
}

static int fail_path(char **error, const char *path, const char *what, int r)
{
	if (error && asprintf(error, "%s: %s", path, what) < 0)
		*error = NULL;
	return r;
}

static const char *file_kind(mode_t m)
{
	return S_ISDIR(m) ? "a directory" : S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) ? "a character device" :
	       S_ISBLK(m) ? "a block device" : S_ISSOCK(m) ? "a socket" : "not a regular file";
}

/*
 * The configuration root (asios_conf_set_root()): a configuration path below its prefix (asiosctl --root DIR
 * reads DIR/etc/asios/…) is opened inside it, so a link in a capture never reaches the host's files.
 */
static struct {
	char *prefix;
	struct asios_root *root;
	int error;
} conf_root;

int asios_conf_set_root(const char *path)
{
	size_t n = path ? strlen(path) : 0;

	asios_root_free(conf_root.root);
	free(conf_root.prefix);
	memset(&conf_root, 0, sizeof(conf_root));
	while (n > 1 && path[n - 1] == '/')
		n--;
	if (n == 0 || (n == 1 && path[0] == '/'))
		return 0;
	conf_root.prefix = strndup(path, n);
	if (!conf_root.prefix)
		return -ENOMEM;
	conf_root.error = asios_root_open(path, &conf_root.root);
	return conf_root.error;
}

/* PATH below the configuration root, as a path inside it; NULL when PATH lies elsewhere */
static const char *in_conf_root(const char *path)
{
	size_t n = conf_root.prefix ? strlen(conf_root.prefix) : 0;

	if (!n || strncmp(path, conf_root.prefix, n) != 0 || path[n] != '/')
		return NULL;
	return path + n;
}

static int conf_open(const char *path)
{
	const char *rel = in_conf_root(path);
	int fd;

	if (!rel)
		return open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (conf_root.error < 0) {
		errno = -conf_root.error;
		return -1;
	}
	fd = asios_root_open_file(conf_root.root, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		errno = -fd;
	return fd < 0 ? -1 : fd;
}

/* the drop-in names of CONF_D (scandir's filter and order), inside the configuration root when below it */
static int conf_names(const char *conf_d, char ***ret)
{
	struct dirent **list = NULL;
	const char *rel = in_conf_root(conf_d);
	char **v = NULL;
	size_t k = 0;
	int n;

	if (rel) {
		char **all = NULL;

		n = conf_root.error < 0 ? conf_root.error : asios_list_dir(conf_root.root, rel, &all);
		if (n < 0)
			return n;
		for (int i = 0; i < n; i++) {
			struct dirent de = { 0 };

			snprintf(de.d_name, sizeof(de.d_name), "%s", all[i]);
			if (conf_filter(&de) && asios_strv_push_dup(&v, &k, all[i]) < 0)
				n = -ENOMEM;
		}
		asios_strv_free(all);
		if (v)
			qsort(v, k, sizeof(*v), cmp_coll);
	} else {
		n = scandir(conf_d, &list, conf_filter, alphasort);
		if (n < 0)
			return -errno;
		for (int i = 0; i < n; i++) {
			if (asios_strv_push_dup(&v, &k, list[i]->d_name) < 0)
				n = -ENOMEM;
			free(list[i]);
		}
		free(list);
	}
	if (n < 0) {
		asios_strv_free(v);
		return n;
	}
	*ret = v;
	return (int)k;
}

/* PATH's content in *RET (*LEN bytes); a missing file is 0 with *RET NULL when MISSING_OK. */
static int read_conf(const char *path, bool missing_ok, char **ret, size_t *len, char **error)
{
	char what[128];
	struct stat st;
	ssize_t n;
	size_t have = 0;
	char *buf;
	int fd = conf_open(path);

	*ret = NULL;
	if (fd < 0) {
		if (errno == ENOENT && missing_ok)
			return 0;
		return fail_path(error, *path ? path : "\"\"", strerror(errno), errno == ENOENT ? -ENOENT : -errno);
	}
	if (fstat(fd, &st) < 0) {
		int r = errno;

		close(fd);
		return fail_path(error, path, strerror(r), -r);
	}
	if (!S_ISREG(st.st_mode) || st.st_size > ASIOS_CONF_MAX_BYTES) {
		close(fd);
		if (st.st_size > ASIOS_CONF_MAX_BYTES && S_ISREG(st.st_mode))
			return fail_path(error, path, "larger than 1 MiB: refused", -EFBIG);
		snprintf(what, sizeof(what), "%s, not a regular file: refused", file_kind(st.st_mode));
		return fail_path(error, path, what, -EINVAL);
	}
	buf = malloc((size_t)st.st_size + 1);
	while (buf && (n = read(fd, buf + have, (size_t)st.st_size + 1 - have)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (have += (size_t)n) > (size_t)st.st_size) { /* an error, or it grew while read */
			int r = n < 0 ? errno : EAGAIN;

			free(buf);
			close(fd);
			return fail_path(error, path, n < 0 ? strerror(r) : "changed while read: try again", -r);
		}
	}
	close(fd);
	if (!buf)
		return -ENOMEM;
	*ret = buf;
	*len = have;
	return 0;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = tail ? strlen(tail) : 0;

	return tail && n >= m && !strcmp(s + n - m, tail);
}

static int load_file(struct asios_conf *c, const char *path, bool missing_ok,
		     int (*after)(struct asios_conf *c, const char *path, char **error), char **error)
{
	size_t len = 0;
	char *text;
	int r = read_conf(path, missing_ok, &text, &len, error);

	if (r < 0 || !text)
		return r;
	r = asios_conf_parse(c, text, len, path, error);
	free(text);
	if (r == 0 && after)
		r = after(c, path, error);
	return r;
}


int asios_conf_load(struct asios_conf *c, const char *conf, const char *def_conf, const char *conf_d,
		    int (*after)(struct asios_conf *c, const char *path, char **error), char **error)
{
	char **names = NULL;
	int r, n;

	if (error)
		*error = NULL;
	if (conf && (r = load_file(c, conf, ends_with(conf, def_conf), after, error)) < 0)
		return r;
	if (!conf_d)
		return 0;
	if (!*conf_d)
		return fail_path(error, "\"\"", "an empty drop-in folder name", -EINVAL);
	n = conf_names(conf_d, &names);
	if (n < 0) {
		if (n == -ENOENT)
			return 0; /* no drop-ins */
		return fail_path(error, conf_d, n == -ENOTDIR ? "not a directory (a drop-in folder is expected)" : strerror(-n),
				 n);
	}
	r = 0;
	for (int i = 0; i < n && r == 0; i++) {
		char path[4096];

		if (snprintf(path, sizeof(path), "%s/%s", conf_d, names[i]) >= (int)sizeof(path))
			r = fail_path(error, names[i], "path too long", -ENAMETOOLONG);
		else
			r = load_file(c, path, false, after, error);
	}
	asios_strv_free(names);
	return r;
}

static int table_item(struct asios_conf *c, const struct asios_conf_item *it, void *policy, const char *value)
{
	void *field = (char *)policy + it->offset;
	const char *err = NULL;
	char what[160];
	long n;

	switch (it->kind) {
	case ASIOS_CONF_BOOL:
		if (asios_conf_bool(value, field) == 0)
			return 1;
		break;
	case ASIOS_CONF_UINT:
		if (asios_conf_long(value, it->min, it->max, &n) == 0) {
			*(unsigned *)field = (unsigned)n;
			return 1;
		}
		break;
	case ASIOS_CONF_ENUM:
		for (int i = 0; it->names[i]; i++)
			if (!strcmp(value, it->names[i])) {
				*(int *)field = i;
				return 1;
			}
		break;
	case ASIOS_CONF_CPUS:
		if (asios_cpulist_parse(value, *(hwloc_bitmap_t *)field, &err) == 0)
			return 1;
		return asios_conf_fail(c, "%s: not a CPU list: \"%s\"", it->name, value);
	case ASIOS_CONF_FUNC:
		return it->func(c, policy, value);
	}
	snprintf(what, sizeof(what), "%s: expected %s", it->name, it->kind == ASIOS_CONF_BOOL ? "yes or no" : it->expect);
	return asios_conf_fail(c, "%s, got \"%s\"", what, value);
}

int asios_conf_table(struct asios_conf *c, const struct asios_conf_item *table, size_t n, void *policy,
		     const char *section, const char *name, const char *value)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(table[i].name, name))
			return table_item(c, &table[i], policy, value);
	return asios_conf_fail(c, "unknown key \"%s\" in [%s]", name, section);
}

static void format_reader(const struct asios_conf_format *f, void *policy, struct asios_conf *c)
{
	*c = (struct asios_conf){ .handler = f->handler, .repeatable = f->repeatable, .policy = policy };
	c->user = c;
}

int asios_conf_format_read(const struct asios_conf_format *f, void *policy, const char *conf, const char *conf_d,
			   char **error)
{
	struct asios_conf c;
	int r = f->init(policy);

	if (error)
		*error = NULL;
	format_reader(f, policy, &c);
	if (r >= 0)
		r = asios_conf_load(&c, conf, f->def_conf, conf_d, f->after, error);
	if (r < 0)
		f->clear(policy);
	free(c.lines);
	return r;
}

int asios_conf_format_parse(const struct asios_conf_format *f, void *policy, const char *text, const char *origin,
			    char **error)
{
	struct asios_conf c;
	int r;

	if (error)
		*error = NULL;
	format_reader(f, policy, &c);
	r = asios_conf_parse(&c, text, strlen(text), origin, error);
	if (r == 0 && f->after)
		r = f->after(&c, origin, error);
	free(c.lines);
	return r;
}

const char *asios_conf_data_path(const char *env, const char *installed, const char *name, char *buf, size_t size)
{
	const char *v = env ? getenv(env) : NULL;
	char exe[4096], *slash;
	ssize_t n;

	if (v && *v)
		return v;
	if (access(installed, F_OK) == 0)
		return installed;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1); /* not installed: the build's copy beside the program */
	if (n > 0) {
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/'))) {
			*slash = '\0';
			snprintf(buf, size, "%s/%s", exe, name);
			if (access(buf, F_OK) == 0)
				return buf;
		}
	}
	return installed;
}
