/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* Model weight files: the headers of safetensors and GGUF files, parsed enough to know where each tensor lies
 * and to check the header against the file (docs/load.md). Pure: the parser reads a buffer, never the disk,
 * so the same code runs in the loader, the cache and the fuzzer. */
#ifndef ASIOS_MODEL_H
#define ASIOS_MODEL_H

#include <stddef.h>
#include <stdint.h>

enum asios_model_format {
	ASIOS_MODEL_RAW,         /* not a format we parse: loaded as opaque bytes */
	ASIOS_MODEL_SAFETENSORS,
	ASIOS_MODEL_GGUF,
};

#define ASIOS_MODEL_MAX_DIMS 8

struct asios_tensor {
	char *name;
	char dtype[16];          /* safetensors dtype ("BF16") or ggml type name ("Q4_K") */
	uint64_t begin, end;     /* absolute offsets in the file */
	unsigned ndims;
	uint64_t dims[ASIOS_MODEL_MAX_DIMS];
};

struct asios_model {
	enum asios_model_format format;
	uint32_t version;        /* GGUF version */
	uint64_t file_size;
	uint64_t header_size;    /* bytes before the data region */
	uint64_t alignment;      /* GGUF data alignment */
	size_t ntensors;
	struct asios_tensor *tensors;
	size_t nkv;              /* GGUF key/value pairs, safetensors __metadata__ entries */
};

/* The format of a file from its first bytes (LEN of them, at least 8 to tell) and its name. */
enum asios_model_format asios_model_detect(const char *name, const unsigned char *buf, size_t len);
const char *asios_model_format_name(enum asios_model_format f);

/* Parse the header of NAME (FILE_SIZE bytes long) from its first LEN bytes BUF into M. Returns 0; -EAGAIN when
 * the header goes on past LEN (*NEED: the bytes to read to go on, never more than the file); -EINVAL when the file
 * is not valid, ERR then names NAME, the offset and what is wrong ("model.safetensors: offset 8: ..."). */
int asios_model_parse(const char *name, const unsigned char *buf, size_t len, uint64_t file_size,
		      struct asios_model *m, size_t *need, char *err, size_t errlen);
/* The same for an open file: reads as much of the header as it needs. -errno on a read error. */
int asios_model_read_fd(const char *name, int fd, uint64_t file_size, struct asios_model *m, char *err,
			size_t errlen);
void asios_model_free(struct asios_model *m);

#endif
