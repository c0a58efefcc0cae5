/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* Counters of the apply engine per journal (stats.h). */
#define _GNU_SOURCE
#include "asios/stats.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asios/root.h"

static const char *const result_names[_ASIOS_APPLY_RESULT_MAX] = {
	[ASIOS_APPLY_NONE] = "none",
	[ASIOS_APPLY_OK] = "ok",
	[ASIOS_APPLY_REFUSED] = "refused",
	[ASIOS_APPLY_ROLLED_BACK] = "rolled_back",
	[ASIOS_APPLY_UNRESTORED] = "unrestored",
};

const char *asios_apply_result_name(enum asios_apply_result r)
{
	return r < _ASIOS_APPLY_RESULT_MAX ? result_names[r] : "unknown";
}

char *asios_journal_telemetry_path(const char *journal, const char *folder)
{
	const char *slash = strrchr(journal, '/'), *base = slash ? slash + 1 : journal;
	size_t len = strlen(base), dir = (size_t)(base - journal);
	char *p = NULL;

	if (len > 8 && !strcmp(base + len - 8, ".journal"))
		len -= 8;
	if (asprintf(&p, "%.*s%s/%.*s", (int)dir, journal, folder, (int)len, base) < 0)
		return NULL;
	return p;
}

static char *stats_path(const char *journal)
{
	return asios_journal_telemetry_path(journal, "stats");
}

static const struct {
	const char *key;
	size_t offset;
} fields[] = {
	{ "applies", offsetof(struct asios_apply_stats, applies) },
	{ "actions_applied", offsetof(struct asios_apply_stats, applied) },
	{ "actions_refused", offsetof(struct asios_apply_stats, refused) },
	{ "actions_failed", offsetof(struct asios_apply_stats, failed) },
	{ "rollbacks", offsetof(struct asios_apply_stats, rollbacks) },
	{ "reverts", offsetof(struct asios_apply_stats, reverts) },
};

static int stats_line(const char *line, struct asios_apply_stats *st)
{
	char key[32], word[32];
	uint64_t v;
	int end = -1;

	if (sscanf(line, "last_result %31s %n", word, &end) == 1 && end > 0 && !line[end]) {
		for (int i = 0; i < _ASIOS_APPLY_RESULT_MAX; i++)
			if (!strcmp(word, result_names[i])) {
				st->last_result = i;
				return 0;
			}
		return -EINVAL;
	}
	if (sscanf(line, "%31s %" SCNu64 " %n", key, &v, &end) != 2 || end < 0 || line[end] || strchr(line, '-'))
		return -EINVAL;
	if (!strcmp(key, "last_apply")) {
		st->last_apply = v > INT64_MAX ? INT64_MAX : (int64_t)v;
		return 0;
	}
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (!strcmp(key, fields[i].key)) {
			*(uint64_t *)((char *)st + fields[i].offset) = v;
			return 0;
		}
	return -EINVAL;
}

int asios_apply_stats_read(const struct asios_root *root, const char *journal, struct asios_apply_stats *st,
			   char **bad)
{
	char *path = stats_path(journal), *text = NULL, *save = NULL;
	int r = path ? asios_read_file(root, path, &text, NULL) : -ENOMEM;

	memset(st, 0, sizeof(*st));
	if (bad)
		*bad = NULL;
	if (r == -ENOENT)
		r = 0;
	for (char *line = r >= 0 && text ? strtok_r(text, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save))
		if (line[0] != '#' && stats_line(line, st) < 0) {
			if (bad && asprintf(bad, "%s: malformed line \"%s\"", path, line) < 0)
				*bad = NULL;
			r = -EINVAL;
			break;
		}
	free(text);
	free(path);
	return r < 0 ? r : 0;
}

static enum asios_apply_result apply_result(const struct asios_apply_report *rep, int r)
{
	if (r < 0)
		return rep->unrestored ? ASIOS_APPLY_UNRESTORED : ASIOS_APPLY_ROLLED_BACK;
	return rep->refused ? ASIOS_APPLY_REFUSED : ASIOS_APPLY_OK;
}

int asios_apply_stats_add(const struct asios_root *root, const char *journal, const struct asios_apply_report *rep,
			  bool revert, int r)
{
	struct asios_apply_stats st;
	char *path = stats_path(journal), *text = NULL;
	size_t len = 0;
	FILE *f;
	int k;

	if (!path)
		return -ENOMEM;
	/* a malformed file starts again from zero: the counters reset, as after a reboot */
	(void)asios_apply_stats_read(root, journal, &st, NULL);
	if (revert) {
		st.reverts++;
	} else {
		st.applies++;
		st.applied += rep->applied;
		st.refused += rep->refused;
		st.failed += rep->failed;
		st.rollbacks += r < 0;
		st.last_apply = (int64_t)time(NULL);
		st.last_result = apply_result(rep, r);
	}
	f = open_memstream(&text, &len);
	if (!f) {
		free(path);
		return -ENOMEM;
	}
	fprintf(f, "# what the apply engine did with %s since boot (asiosctl metrics exports it)\n", journal);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		fprintf(f, "%s %" PRIu64 "\n", fields[i].key, *(const uint64_t *)((const char *)&st + fields[i].offset));
	fprintf(f, "last_apply %" PRId64 "\nlast_result %s\n", st.last_apply, asios_apply_result_name(st.last_result));
	k = fclose(f) ? -ENOMEM : asios_write_whole(root, path, text);
	free(text);
	free(path);
	return k;
}
