/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * asiosctl snapshot, in three parts: what may be copied (snapshot-rules.c: the allow-list, the never-list and
 * their matchers), how a file, a link or a tree is recreated in the stage (snapshot-stage.c, with the redactor
 * on every file), and the capture itself with its tarball (snapshot.c).
 */

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define COPY_MAX (64u << 20)

enum copy_as {
	COPY_TEXT, /* text: redacted; a file with control bytes is left out */
	COPY_GZIP, /* gzip of text: unpacked, redacted and packed again */
};

struct copy_rule {
	const char *glob; /* fnmatch(3) of the whole path, '*' matching '/' too; "@cgroup/NAME": NAME in the cgroup */
	enum copy_as as;
	const char *why;
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

struct capture {
	const char *root; /* "/" or a directory */
	char stage[PATH_MAX];
	char cgroup[PATH_MAX]; /* the snapshot's cgroup directory, normalised; "" when none */
	char **paths;
	size_t n_paths, cap;
	size_t files, links, redacted, left_out;
	struct taken_proc *procs; /* the processes whose files are taken (stage_processes) */
	size_t n_procs;
};

/* a process the domains read: a kernel thread (its stat and status) or a workload (what the NUMA plan reads) */
struct taken_proc {
	long pid;
	bool workload;
};

/* snapshot-rules.c */
/* a component of PATH is on the never-list */
bool excluded(const char *path);
/* the allow-list entry PATH (normalised, absolute) falls under; NULL: not copied */
const struct copy_rule *allowed(const struct capture *c, const char *path);
/* the rule for a file of a process stage_processes took; NULL: none */
const struct copy_rule *process_rule(const struct capture *c, const char *path);
/* asiosctl snapshot --rules */
void print_rules(void);

/* snapshot-stage.c */
/* PATH of the machine as a path of this one (under the root) */
void live(const struct capture *c, const char *path, char *out, size_t n);
int mkdirs(const char *path);
/* Recreate PATH in the stage: every directory and symlink on the way, and the file at the end (LIST: a folder's
 * entries too, one level deep; RECORDED: a file the snapshot read, whose absence from the allow-list is said). */
void stage_path(struct capture *c, const char *path, int hops, bool list, bool recorded);
/* copy a tree up to DEPTH levels (for the sysfs parts hwloc reads) */
void stage_tree(struct capture *c, const char *dir, int depth);
/* the processes the domains read (kernel threads, workloads): the files of each that a plan reads */
void stage_processes(struct capture *c);
