/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer harness: the undo journal reader. Any bytes either parse or are refused with a message naming the
 * journal and a line; every record parsed formats back to a line that parses to the same record (escaping
 * round-trips), and the complete part never exceeds the input.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asios/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip(const struct asios_journal_record *rec)
{
	char *line = asios_journal_record_line(rec->key, rec->value, rec->ident), *error = NULL, *text = NULL;
	struct asios_journal j;

	if (!line || asprintf(&text, "#asios-journal 2\tmachine=-\tboot=-\n%s", line) < 0)
		abort();
	if (asios_journal_parse("fuzz.journal", text, strlen(text), &j, &error) < 0 || j.n_records != 1 ||
	    strcmp(j.records[0].key, rec->key) || strcmp(j.records[0].value, rec->value) ||
	    strcmp(j.records[0].ident, rec->ident))
		abort();
	free(text);
	asios_journal_clear(&j);
	free(error);
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct asios_journal j;
	char *error = NULL;
	int r = asios_journal_parse("fuzz.journal", (const char *)data, size, &j, &error);

	if (r < 0) {
		if (r != -EBADMSG && r != -ENOMEM)
			abort();
		if (r == -EBADMSG && (!error || strncmp(error, "fuzz.journal:", 13)))
			abort();
	} else {
		if (j.complete > size || (j.torn && j.complete == size))
			abort();
		for (size_t i = 0; i < j.n_records; i++)
			roundtrip(&j.records[i]);
	}
	asios_journal_clear(&j);
	free(error);
	return 0;
}
