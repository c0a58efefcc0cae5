/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/peer.h"

/* the real uid on the "Uid:" line of /proc/PID/status; -1 when there is none */
static long real_uid(const struct asios_root *root, const char *pid)
{
	char path[64], *text = NULL, *at, *end;
	long uid = -1;

	snprintf(path, sizeof(path), "/proc/%s/status", pid);
	if (asios_read_file(root, path, &text, NULL) < 0)
		return -1;
	at = strstr(text, "\nUid:");
	if (at) {
		errno = 0;
		uid = strtol(at + 5, &end, 10);
		if (errno || end == at + 5)
			uid = -1;
	}
	free(text);
	return uid;
}

/* whether the executable EXE (a /proc/PID/exe target) is named NAME */
static bool exe_named(const char *exe, const char *name)
{
	const char *base = strrchr(exe, '/');
	size_t n = strlen(name);

	base = base ? base + 1 : exe;
	return !strncmp(base, name, n) && (!base[n] || !strcmp(base + n, " (deleted)"));
}

/* an interpreter running a script named NAME: "python3 /usr/sbin/tuned -l -P" (the script is the first
 * argument that is not an option) */
static int script_named(const struct asios_root *root, const char *pid, const char *exe, const char *name)
{
	static const char *const interpreters[] = { "python", "perl", "bash", "sh", NULL };
	const char *base = strrchr(exe, '/');
	char path[64], *args = NULL;
	size_t len = 0;
	bool interp = false;
	int r;

	base = base ? base + 1 : exe;
	for (size_t i = 0; interpreters[i]; i++)
		interp |= !strncmp(base, interpreters[i], strlen(interpreters[i]));
	if (!interp)
		return 0;
	snprintf(path, sizeof(path), "/proc/%s/cmdline", pid);
	r = asios_read_file(root, path, &args, &len);
	if (r < 0)
		return r == -ENOMEM ? r : 0;
	r = 0;
	for (size_t at = strnlen(args, len) + 1; at < len; at += strnlen(args + at, len - at) + 1)
		if (args[at] != '-') {
			r = exe_named(args + at, name);
			break;
		}
	free(args);
	return r;
}

int asios_peer_is(const struct asios_root *root, const char *pid, const char *name)
{
	char path[64], *target = NULL;
	int r;

	if (!*pid || strspn(pid, "0123456789") != strlen(pid))
		return 0;
	/* the program's name first, a link: the status file (the uid) is read only for a process of that name */
	snprintf(path, sizeof(path), "/proc/%s/exe", pid);
	r = asios_read_link(root, path, &target);
	if (r >= 0) {
		r = exe_named(target, name) ? 1 : script_named(root, pid, target, name);
		free(target);
	} else if (r == -EACCES || r == -EPERM) {
		snprintf(path, sizeof(path), "/proc/%s/comm", pid);
		r = asios_read_line(root, path, &target);
		if (r >= 0) {
			r = !strcmp(target, name);
			free(target);
		}
	}
	if (r < 0)
		return r == -ENOMEM ? r : 0;
	return r && real_uid(root, pid) == 0;
}

long asios_peer_find(const struct asios_root *root, const char *name)
{
	char **pids = NULL;
	long found = 0, pid;
	int n = asios_list_dir(root, "/proc", &pids), r;

	if (n < 0)
		return n;
	for (int i = 0; i < n && !found; i++) {
		r = asios_peer_is(root, pids[i], name);
		if (r < 0) {
			found = r;
			break;
		}
		if (r > 0 && (pid = strtol(pids[i], NULL, 10)) > 0)
			found = pid;
	}
	asios_strv_free(pids);
	return found;
}
