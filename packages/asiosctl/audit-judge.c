/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Judging one audit rule on a machine ("/" or a capture, every read through asios/root.h): the value is read
 * from /proc/sys, a file, the kernel command line, the kernel's configuration, the lockdown mode, sshd's
 * configuration (the first value of a keyword wins, as sshd reads it: Include followed, Match blocks not
 * entered) or a unit's exposure by `systemd-analyze security --offline` (the tool made for it), then compared.
 * A value that cannot be read makes the rule unknown, never passed.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "asios/cmdline.h"
#include "asios/kconfig.h"
#include "asios/root.h"
#include "audit.h"

#define SSHD_DEPTH 8

static int sshd_add(struct audit_machine *m, const char *key, const char *value)
{
	char **k, **v;

	for (size_t i = 0; i < m->n_sshd; i++)
		if (!strcmp(m->sshd_keys[i], key))
			return 0; /* the first value obtained wins */
	if (!(k = realloc(m->sshd_keys, (m->n_sshd + 1) * sizeof(*k))))
		return -ENOMEM;
	m->sshd_keys = k;
	if (!(v = realloc(m->sshd_values, (m->n_sshd + 1) * sizeof(*v))))
		return -ENOMEM;
	m->sshd_values = v;
	if (!(k[m->n_sshd] = strdup(key)) || !(v[m->n_sshd] = strdup(value)))
		return -ENOMEM;
	m->n_sshd++;
	return 0;
}

/* the files read so far: a file read again cannot change a setting (the first value wins, and it stops at the
 * same Match), so each is read once, which keeps a configuration that includes itself from exploding */
struct sshd_seen {
	char **paths;
	size_t n;
};

static int sshd_file(struct audit_machine *m, const char *path, unsigned depth, struct sshd_seen *seen);

/* 1 when PATH was read before (else it is noted), -ENOMEM */
static int sshd_seen_before(struct sshd_seen *seen, const char *path)
{
	char **p;

	for (size_t i = 0; i < seen->n; i++)
		if (!strcmp(seen->paths[i], path))
			return 1;
	if (!(p = realloc(seen->paths, (seen->n + 1) * sizeof(*p))))
		return -ENOMEM;
	seen->paths = p;
	if (!(p[seen->n] = strdup(path)))
		return -ENOMEM;
	seen->n++;
	return 0;
}

/* Include PATTERN (relative to /etc/ssh), its files in name order; the glob runs inside the root's folder */
static int sshd_include(struct audit_machine *m, const char *pattern, unsigned depth, struct sshd_seen *seen)
{
	char dir[512], *slash, **names = NULL;
	const char *base;
	int r = 0;

	snprintf(dir, sizeof(dir), "%s%s", *pattern == '/' ? "" : "/etc/ssh/", pattern);
	if (!(slash = strrchr(dir, '/')))
		return 0;
	*slash = '\0';
	base = slash + 1;
	if (asios_list_dir(m->root, *dir ? dir : "/", &names) < 0)
		return 0; /* no such folder: nothing included, as sshd does */
	for (size_t i = 0; names[i] && r == 0; i++) {
		char path[1024];

		if (fnmatch(base, names[i], FNM_PERIOD))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		r = sshd_file(m, path, depth + 1, seen);
	}
	asios_strv_free(names);
	return r;
}

static int sshd_file(struct audit_machine *m, const char *path, unsigned depth, struct sshd_seen *seen)
{
	char *text = NULL, *save = NULL;
	int r;

	if (depth > SSHD_DEPTH)
		return 0;
	if ((r = sshd_seen_before(seen, path)) != 0)
		return r < 0 ? r : 0;
	if ((r = asios_read_file(m->root, path, &text, NULL)) < 0)
		return depth ? 0 : r;
	for (char *line = strtok_r(text, "\n", &save); line && r >= 0; line = strtok_r(NULL, "\n", &save)) {
		char *key = line + strspn(line, " \t"), *value;
		size_t n = strcspn(key, " \t=");

		if (!*key || *key == '#' || !n)
			continue; /* blank, a comment, or no keyword ("=value", which sshd refuses) */
		value = key + n;
		value += strspn(value, " \t=");
		key[n] = '\0';
		for (char *p = key; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		value[strcspn(value, "#\r")] = '\0';
		for (size_t e = strlen(value); e && (value[e - 1] == ' ' || value[e - 1] == '\t'); e--)
			value[e - 1] = '\0';
		if (!strcmp(key, "match"))
			break; /* what follows applies to some connections only */
		if (!strcmp(key, "include")) {
			char *s2 = NULL;

			for (char *pat = strtok_r(value, " \t", &s2); pat && r >= 0; pat = strtok_r(NULL, " \t", &s2))
				r = sshd_include(m, pat, depth, seen);
			continue;
		}
		r = sshd_add(m, key, value);
	}
	free(text);
	return r < 0 ? r : 0;
}

int audit_machine_open(const char *root_path, struct asios_root *root, struct audit_machine *m)
{
	struct sshd_seen seen = { 0 };
	char *release = NULL;
	int r;

	memset(m, 0, sizeof(*m));
	m->root_path = root_path;
	if (root)
		m->root = root;
	else if ((r = asios_root_open(root_path, &m->root)) < 0)
		return r;
	else
		m->own_root = true;
	if (asios_read_line(m->root, "/proc/cmdline", &m->cmdline) < 0)
		m->cmdline = NULL;
	(void)asios_read_line(m->root, "/proc/sys/kernel/osrelease", &release);
	r = asios_kconfig_read(m->root, release, &m->kconfig, &m->n_kconfig, &m->kconfig_source, NULL, NULL);
	free(release);
	if (r < 0)
		return r;
	r = sshd_file(m, "/etc/ssh/sshd_config", 0, &seen);
	for (size_t i = 0; i < seen.n; i++)
		free(seen.paths[i]);
	free(seen.paths);
	m->sshd_read = r == 0;
	return r == -ENOMEM ? r : 0;
}

void audit_machine_close(struct audit_machine *m)
{
	for (size_t i = 0; i < m->n_sshd; i++) {
		free(m->sshd_keys[i]);
		free(m->sshd_values[i]);
	}
	free(m->sshd_keys);
	free(m->sshd_values);
	asios_kconfig_free(m->kconfig, m->n_kconfig);
	free(m->kconfig_source);
	free(m->cmdline);
	if (m->own_root)
		asios_root_free(m->root);
	memset(m, 0, sizeof(*m));
}

/* the last SIZE - 1 bytes FD gives until its end, into BUF */
static void read_tail(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t got;

	while ((got = read(fd, buf + len, size - 1 - len)) > 0) {
		len += (size_t)got;
		if (len == size - 1) { /* full: keep the second half */
			memmove(buf, buf + len / 2, len - len / 2);
			len -= len / 2;
		}
	}
	buf[len] = '\0';
}

/* `systemd-analyze security --offline=true [--root=ROOT] UNIT`: its overall exposure into OUT; -errno */
static int unit_exposure(const struct audit_machine *m, const char *unit, char *out, size_t size)
{
	char rootopt[600], buf[8192], *hit;
	int pipefd[2], status = 0;
	pid_t pid;

	snprintf(rootopt, sizeof(rootopt), "--root=%s", m->root_path);
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	if ((pid = fork()) < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -errno;
	}
	if (pid == 0) {
		char *argv[] = { "systemd-analyze", "security", "--offline=true", "--no-pager", rootopt, (char *)unit,
				 NULL };

		if (!strcmp(m->root_path, "/"))
			argv[4] = (char *)unit, argv[5] = NULL;
		dup2(pipefd[1], STDOUT_FILENO);
		dup2(pipefd[1], STDERR_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	read_tail(pipefd[0], buf, sizeof(buf));
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return -ENOEXEC; /* no systemd-analyze */
	if (!(hit = strstr(buf, "Overall exposure level for ")) || !(hit = strstr(hit, ": ")))
		return strstr(buf, "not found") ? -ENOENT : -EINVAL;
	snprintf(out, size, "%.*s", (int)strcspn(hit + 2, " \n"), hit + 2);
	return 0;
}

/* kernel.yama.ptrace_scope -> /proc/sys/kernel/yama/ptrace_scope */
static const char *sysctl_path(const char *name, char *path, size_t size)
{
	snprintf(path, size, "/proc/sys/%s", name);
	for (char *p = path + 10; *p; p++)
		if (*p == '.')
			*p = '/';
	return path;
}

static const char *kconfig_value(const struct audit_machine *m, const char *name)
{
	if (!strncmp(name, "CONFIG_", 7))
		name += 7;
	for (size_t i = 0; i < m->n_kconfig; i++)
		if (!strcmp(m->kconfig[i].name, name))
			return m->kconfig[i].value;
	return "n"; /* "# CONFIG_X is not set", or not offered by this kernel */
}

/* a value from a file: its first line; the lockdown mode is the word in brackets */
static int file_value(const struct audit_machine *m, const char *path, bool brackets, char *out, size_t size)
{
	char *line = NULL, *a, *b;
	int r = asios_read_line(m->root, path, &line);

	if (r < 0)
		return r;
	if (brackets && (a = strchr(line, '[')) && (b = strchr(a, ']')))
		snprintf(out, size, "%.*s", (int)(b - a - 1), a + 1);
	else
		snprintf(out, size, "%s", line);
	free(line);
	return 0;
}

/* the rule's value into OUT: 0, or -errno (OUT says why) */
static int observe(struct audit_machine *m, const struct audit_rule *rule, char *out, size_t size)
{
	char path[512], *v = NULL;
	int r;

	switch (rule->kind) {
	case AUDIT_SYSCTL:
		return file_value(m, sysctl_path(rule->target, path, sizeof(path)), false, out, size);
	case AUDIT_FILE:
		return file_value(m, rule->target, false, out, size);
	case AUDIT_LOCKDOWN:
		return file_value(m, "/sys/kernel/security/lockdown", true, out, size);
	case AUDIT_CMDLINE:
		if (!m->cmdline)
			return -ENOENT;
		if ((r = asios_cmdline_get(m->cmdline, rule->target, &v)) < 0)
			return r;
		snprintf(out, size, "%s", v ? (*v ? v : "(present)") : "(absent)");
		free(v);
		return 0;
	case AUDIT_KCONFIG:
		if (!m->kconfig_source)
			return -ENOENT;
		snprintf(out, size, "%s", kconfig_value(m, rule->target));
		return 0;
	case AUDIT_SSHD:
		if (!m->sshd_read)
			return -ENOENT;
		for (size_t i = 0; i < m->n_sshd; i++)
			if (!strcasecmp(m->sshd_keys[i], rule->target)) {
				snprintf(out, size, "%s", m->sshd_values[i]);
				return 0;
			}
		return -ENODATA;
	case AUDIT_UNIT:
		return unit_exposure(m, rule->target, out, size);
	}
	return -EINVAL;
}

/* WORD is one of the items of LIST (separated by commas, blanks or quotes) */
static bool has_word(const char *list, const char *word, bool first_only)
{
	size_t n = strlen(word);

	for (const char *p = list; *p;) {
		size_t k;

		p += strspn(p, ", \t\"");
		k = strcspn(p, ", \t\"");
		if (!k)
			break;
		if (k == n && !strncmp(p, word, n))
			return true;
		if (first_only)
			return false;
		p += k;
	}
	return false;
}

static bool number(const char *s, double *v)
{
	char *end;

	*v = strtod(s, &end);
	return end != s && !*end;
}

static bool compare(const struct audit_rule *rule, const char *actual)
{
	double a, w;
	bool num = number(actual, &a) && number(rule->want, &w);

	switch (rule->op) {
	case AUDIT_EQ: return num ? a == w : !strcmp(actual, rule->want);
	case AUDIT_NE: return num ? a != w : strcmp(actual, rule->want) != 0;
	case AUDIT_GE: return num && a >= w;
	case AUDIT_LE: return num && a <= w;
	case AUDIT_CONTAINS: return has_word(actual, rule->want, false);
	case AUDIT_LACKS: return !has_word(actual, rule->want, false);
	case AUDIT_FIRST: /* the first item is one of A|B|C */
	case AUDIT_IN:
		for (const char *p = rule->want; *p;) {
			size_t k = strcspn(p, "|");
			char item[AUDIT_TEXT_MAX];

			snprintf(item, sizeof(item), "%.*s", (int)k, p);
			if (rule->op == AUDIT_FIRST ? has_word(actual, item, true) : !strcmp(actual, item))
				return true;
			p += k + (p[k] == '|');
		}
		return false;
	}
	return false;
}

/* why a value could not be read (R < 0) */
static const char *unknown_why(const struct audit_rule *rule, int r)
{
	static const char *const missing[] = {
		[AUDIT_SYSCTL] = "no such sysctl in this kernel",
		[AUDIT_FILE] = "no such file",
		[AUDIT_CMDLINE] = "no /proc/cmdline",
		[AUDIT_KCONFIG] = "no kernel configuration: /proc/config.gz or /boot/config-RELEASE",
		[AUDIT_LOCKDOWN] = "no /sys/kernel/security/lockdown: securityfs not mounted, or no lockdown LSM",
		[AUDIT_SSHD] = "no /etc/ssh/sshd_config",
		[AUDIT_UNIT] = "the unit is not installed",
	};

	if (r == -ENOENT)
		return missing[rule->kind];
	if (r == -ENODATA)
		return "not set: sshd's built-in default applies, which depends on its version";
	if (r == -ENOEXEC)
		return "systemd-analyze is not installed";
	if (r == -EINVAL && rule->kind == AUDIT_UNIT)
		return "systemd-analyze gave no exposure";
	return strerror(-r);
}

/* whether the place a missing entry was looked for exists: the folder of a sysctl or file (a kernel without that
 * sysctl, rather than a capture without /proc/sys), sshd's configuration */
static bool source_read(const struct audit_machine *m, const struct audit_rule *rule)
{
	char path[512], *slash;

	if (rule->kind == AUDIT_SSHD)
		return m->sshd_read;
	if (rule->kind != AUDIT_SYSCTL && rule->kind != AUDIT_FILE)
		return true;
	if (rule->kind == AUDIT_SYSCTL)
		sysctl_path(rule->target, path, sizeof(path));
	else
		snprintf(path, sizeof(path), "%s", rule->target);
	if ((slash = strrchr(path, '/')) && slash != path)
		*slash = '\0';
	return asios_exists(m->root, path);
}

enum audit_result audit_judge(struct audit_machine *m, const struct audit_rule *rule, char *actual, size_t size)
{
	int r = observe(m, rule, actual, size);

	if ((r == -ENOENT || r == -ENODATA) && rule->has_default && source_read(m, rule)) {
		snprintf(actual, size, "%s", rule->def);
		r = 0;
	}
	if (r < 0) {
		snprintf(actual, size, "(%s)", unknown_why(rule, r));
		return AUDIT_UNKNOWN;
	}
	return compare(rule, actual) ? AUDIT_PASS : AUDIT_FAIL;
}
