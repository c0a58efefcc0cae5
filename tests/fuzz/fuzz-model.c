/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer harness: safetensors and GGUF header parser (model.h). The input is the start of a file whose size
 * is the input's size, or, when the first byte is odd, a larger one (a header that promises more than is there).
 * Every tensor the parser accepts must lie within the file, after the header, and be well formed. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "asios/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct asios_model *m)
{
	for (size_t i = 0; i < m->ntensors; i++) {
		const struct asios_tensor *t = &m->tensors[i];

		if (!t->name || t->begin > t->end || t->end > m->file_size || t->begin < m->header_size ||
		    t->ndims > ASIOS_MODEL_MAX_DIMS || !memchr(t->dtype, '\0', sizeof(t->dtype)))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *names[] = { "fuzz.safetensors", "fuzz.gguf", "fuzz" };
	uint64_t file_size = size && (data[0] & 1) ? (uint64_t)size + 4096 : size;

	for (size_t k = 0; k < 3; k++) {
		struct asios_model m;
		char err[512];
		size_t need = 0;
		int r = asios_model_parse(names[k], data, size, file_size, &m, &need, err, sizeof(err));

		if (r == 0)
			check(&m);
		else if (r == -EAGAIN && (need <= size || need > file_size))
			abort(); /* "read more" must ask for bytes that exist and were not given */
		else if (r != -EAGAIN && r != -EINVAL && r != -ENOMEM)
			abort();
		asios_model_free(&m);
	}
	return 0;
}
