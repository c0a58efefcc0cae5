/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer harness: the redactor of asiosctl snapshot (packages/asiosctl/redact.c, built in here: the fuzz
 * build links libasios only). On any input, and on the input with a known secret planted at a chosen place
 * between blanks:
 *   - no crash, no sanitizer report, no leak;
 *   - the output is at most REDACT_MAX_LEN(input) bytes, NUL-terminated, and holds no byte the input and the
 *     marker do not (nothing from memory comes out);
 *   - re-scanned, the output holds no match of any rule, and redacting it again changes nothing;
 *   - a planted secret is gone (unless the input has it elsewhere as well).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../packages/asiosctl/redact.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* a secret in context, and the part of it that must not survive */
static const struct {
	const char *text, *secret;
} plants[] = {
	{ "ipmi.pw=Canary1Secret", "Canary1Secret" },
	{ "BMC_CRED=admin:Canary2Secret", "Canary2Secret" },
	{ "https://admin:Canary3Secret@bmc.example/redfish", "Canary3Secret" },
	{ "https://s3.example/b/o?X-Amz-Credential=AK/1&X-Amz-Signature=Canary4Secret&x=1", "Canary4Secret" },
	{ "https://acct.blob.example/c/b?sv=2022&sig=Canary5Secret", "Canary5Secret" },
	{ "https://cdn.example/x?Signature=Canary6Secret&Expires=1", "Canary6Secret" },
	{ "token=Canary7Secret", "Canary7Secret" },
	{ "rd.luks.key=Canary8Secret", "Canary8Secret" },
	{ "c0ffee00-1234-4abc-8def-0123456789ab", "c0ffee00-1234-4abc-8def-0123456789ab" },
	{ "52:54:00:ab:cd:ef", "52:54:00:ab:cd:ef" },
	{ "BOOTIF=01-52-54-00-ab-cd-ef", "52-54-00-ab-cd-ef" },
	/* (a first word: a match the fuzzer's bytes end with may take one word, "Bearer --password" a token) */
	{ "run --password Canary9Secret", "Canary9Secret" },
	{ "AKIAQWERTYUIOP123456", "AKIAQWERTYUIOP123456" },
	{ "netroot=iscsi:user:Canary10Secret@10.0.0.1::3260::iqn.2026-01.example:disk", "Canary10Secret" },
	{ "Authorization: Bearer Canary11Secret", "Canary11Secret" },
	{ "rw,vers=3.0,username=u,password=Canary12Secret,uid=0", "Canary12Secret" },
	{ "ipmiPassword=Canary13Secret", "Canary13Secret" },
};

static void check(const char *in, size_t len, const char *secret)
{
	char *out = NULL, *again = NULL;
	size_t out_len = 0, again_len = 0, n = 0;
	const char *rule = NULL;
	ssize_t at;
	bool seen[256] = { false };
	int r;

	if ((r = redact_text(in, len, &out, &out_len, &n)) < 0) {
		fprintf(stderr, "redact_text: %s\n", strerror(-r));
		abort();
	}
	if (out_len > REDACT_MAX_LEN(len) || out[out_len] != '\0') {
		fprintf(stderr, "%zu bytes of output for %zu of input, or no NUL after them\n", out_len, len);
		abort();
	}
	for (size_t i = 0; i < len; i++)
		seen[(unsigned char)in[i]] = true;
	for (const char *m = REDACT_MARKER; *m; m++)
		seen[(unsigned char)*m] = true;
	for (size_t i = 0; i < out_len; i++)
		if (!seen[(unsigned char)out[i]]) {
			fprintf(stderr, "byte 0x%02x at %zu of the output is not from the input\n", (unsigned char)out[i], i);
			abort();
		}
	if (!n && (out_len != len || memcmp(in, out, len))) {
		fprintf(stderr, "nothing redacted, but the output differs from the input\n");
		abort();
	}
	at = redact_find(out, out_len, &rule);
	if (at >= 0) {
		fprintf(stderr, "rule %s matches the redacted text at %zd: %.*s\n", rule, at,
			(int)(out_len - (size_t)at < 80 ? out_len - (size_t)at : 80), out + at);
		abort();
	}
	if (redact_text(out, out_len, &again, &again_len, NULL) < 0 || again_len != out_len ||
	    memcmp(again, out, out_len)) {
		fprintf(stderr, "redacting the output again changes it\n");
		abort();
	}
	if (secret && memmem(out, out_len, secret, strlen(secret))) {
		fprintf(stderr, "planted secret %s survives\n", secret);
		abort();
	}
	free(again);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	size_t n_plants = sizeof(plants) / sizeof(plants[0]), k, at, tl;
	const char *secret;
	char *buf;

	check(in, size, NULL);
	if (size < 2)
		return 0;
	/* the first two bytes choose the plant and where it goes, between blanks, in the rest */
	k = data[0] % n_plants;
	at = size - 2 ? data[1] % (size - 1) : 0;
	tl = strlen(plants[k].text);
	buf = malloc(size - 2 + tl + 2);
	if (!buf)
		return 0;
	memcpy(buf, in + 2, at);
	buf[at] = ' ';
	memcpy(buf + at + 1, plants[k].text, tl);
	buf[at + 1 + tl] = ' ';
	memcpy(buf + at + 2 + tl, in + 2 + at, size - 2 - at);
	/* (a secret the fuzzer wrote itself, outside the plant, may stand where no rule sees it) */
	secret = memmem(in + 2, size - 2, plants[k].secret, strlen(plants[k].secret)) ? NULL : plants[k].secret;
	check(buf, size - 2 + tl + 2, secret);
	free(buf);
	return 0;
}
