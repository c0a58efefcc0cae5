/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* Headers of model weight files (model.h). safetensors: an 8-byte little-endian length, a JSON object of
 * tensors {dtype, shape, data_offsets}, then the data, the tensors contiguous and covering it (the reference
 * implementation's rules). GGUF (versions 2 and 3): magic, version, counts, typed key/value pairs, tensor infos
 * (name, dims, ggml type, offset), then the data at the alignment (general.alignment, default 32). Every size
 * read from the file is checked against the file before it is used. */
#define _GNU_SOURCE
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asios/model.h"

#define ST_MAX_HEADER (100u << 20) /* the reference implementation's limit */
#define GGUF_MAX_NAME 256
#define GGUF_MAX_DEPTH 4

static int fail(char *err, size_t errlen, const char *name, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int fail(char *err, size_t errlen, const char *name, uint64_t off, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errlen, "%s: offset %llu: ", name, (unsigned long long)off);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static uint64_t le(const unsigned char *p, int bytes)
{
	uint64_t v = 0;

	for (int i = bytes - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

enum asios_model_format asios_model_detect(const char *name, const unsigned char *buf, size_t len)
{
	if (len >= 4 && !memcmp(buf, "GGUF", 4))
		return ASIOS_MODEL_GGUF;
	if (ends_with(name, ".gguf"))
		return ASIOS_MODEL_GGUF;
	if (ends_with(name, ".safetensors"))
		return ASIOS_MODEL_SAFETENSORS;
	/* an unnamed safetensors file: a sane length, then '{' */
	if (len >= 9 && le(buf, 8) >= 2 && le(buf, 8) < ST_MAX_HEADER && buf[8] == '{')
		return ASIOS_MODEL_SAFETENSORS;
	return ASIOS_MODEL_RAW;
}

const char *asios_model_format_name(enum asios_model_format f)
{
	return f == ASIOS_MODEL_SAFETENSORS ? "safetensors" : f == ASIOS_MODEL_GGUF ? "gguf" : "raw";
}

void asios_model_free(struct asios_model *m)
{
	for (size_t i = 0; m->tensors && i < m->ntensors; i++)
		free(m->tensors[i].name);
	free(m->tensors);
	memset(m, 0, sizeof(*m));
}

/* ---- safetensors ---- */

static int st_dtype_size(const char *d)
{
	static const struct { const char *name; int size; } t[] = {
		{ "BOOL", 1 }, { "U8", 1 }, { "I8", 1 }, { "F8_E4M3", 1 }, { "F8_E5M2", 1 }, { "U16", 2 }, { "I16", 2 },
		{ "F16", 2 }, { "BF16", 2 }, { "U32", 4 }, { "I32", 4 }, { "F32", 4 }, { "U64", 8 }, { "I64", 8 },
		{ "F64", 8 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(t[i].name, d))
			return t[i].size;
	return 0;
}

static bool json_u64(struct json_object *v, uint64_t *out)
{
	int64_t x;

	if (!json_object_is_type(v, json_type_int))
		return false;
	errno = 0;
	x = json_object_get_int64(v);
	if (errno || x < 0)
		return false;
	*out = (uint64_t)x;
	return true;
}

/* one tensor entry {dtype, shape, data_offsets} into T (offsets still relative to the data region) */
static int st_tensor(const char *name, uint64_t at, const char *key, struct json_object *v, struct asios_tensor *t,
		     char *err, size_t errlen)
{
	struct json_object *dtype, *shape, *offs;
	uint64_t elems = 1, b, e;
	int size;

	if (!json_object_is_type(v, json_type_object) || !json_object_object_get_ex(v, "dtype", &dtype) ||
	    !json_object_object_get_ex(v, "shape", &shape) || !json_object_object_get_ex(v, "data_offsets", &offs) ||
	    !json_object_is_type(dtype, json_type_string) || !json_object_is_type(shape, json_type_array) ||
	    !json_object_is_type(offs, json_type_array) || json_object_array_length(offs) != 2)
		return fail(err, errlen, name, at, "tensor \"%s\": not an object with dtype, shape and data_offsets [begin, end]",
			    key);
	if (!(size = st_dtype_size(json_object_get_string(dtype))))
		return fail(err, errlen, name, at, "tensor \"%s\": unknown dtype \"%s\"", key, json_object_get_string(dtype));
	if (json_object_array_length(shape) > ASIOS_MODEL_MAX_DIMS)
		return fail(err, errlen, name, at, "tensor \"%s\": %zu dimensions, at most %d", key,
			    json_object_array_length(shape), ASIOS_MODEL_MAX_DIMS);
	t->ndims = (unsigned)json_object_array_length(shape);
	for (unsigned i = 0; i < t->ndims; i++) {
		if (!json_u64(json_object_array_get_idx(shape, i), &t->dims[i]) ||
		    (t->dims[i] && elems > UINT64_MAX / t->dims[i]))
			return fail(err, errlen, name, at, "tensor \"%s\": shape[%u] is not a size", key, i);
		elems *= t->dims[i];
	}
	if (!json_u64(json_object_array_get_idx(offs, 0), &b) || !json_u64(json_object_array_get_idx(offs, 1), &e) ||
	    b > e)
		return fail(err, errlen, name, at, "tensor \"%s\": data_offsets are not [begin, end] with begin <= end", key);
	if (elems > UINT64_MAX / (uint64_t)size || elems * (uint64_t)size != e - b)
		return fail(err, errlen, name, at, "tensor \"%s\": shape and dtype make %llu elements of %d bytes, "
			    "data_offsets [%llu, %llu] hold %llu bytes", key, (unsigned long long)elems, size,
			    (unsigned long long)b, (unsigned long long)e, (unsigned long long)(e - b));
	t->name = strdup(key);
	snprintf(t->dtype, sizeof(t->dtype), "%s", json_object_get_string(dtype));
	t->begin = b;
	t->end = e;
	return t->name ? 0 : -ENOMEM;
}

static int by_begin(const void *a, const void *b)
{
	const struct asios_tensor *x = a, *y = b;

	return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : x->end < y->end ? -1 : x->end > y->end;
}

/* the tensors, sorted, must follow each other from 0 to the end of the data region, as the reference requires */
static int st_layout(const char *name, struct asios_model *m, char *err, size_t errlen)
{
	uint64_t data = m->file_size - m->header_size, at = 0;

	qsort(m->tensors, m->ntensors, sizeof(*m->tensors), by_begin);
	for (size_t i = 0; i < m->ntensors; i++) {
		struct asios_tensor *t = &m->tensors[i];

		if (t->end > data)
			return fail(err, errlen, name, m->header_size + t->begin,
				    "tensor \"%s\" ends at %llu, past the end of the file (%llu bytes): the file is shorter than "
				    "its header says", t->name, (unsigned long long)(m->header_size + t->end),
				    (unsigned long long)m->file_size);
		if (t->begin != at)
			return fail(err, errlen, name, m->header_size + t->begin, "tensor \"%s\" %s the one before it",
				    t->name, t->begin < at ? "overlaps" : "leaves a hole after");
		at = t->end;
		t->begin += m->header_size;
		t->end += m->header_size;
	}
	if (at != data)
		return fail(err, errlen, name, m->header_size + at, "%llu bytes after the last tensor that no tensor covers",
			    (unsigned long long)(data - at));
	return 0;
}

static int st_entries(const char *name, struct json_object *root, struct asios_model *m, char *err, size_t errlen)
{
	size_t n = (size_t)json_object_object_length(root);
	int r;

	m->tensors = calloc(n ? n : 1, sizeof(*m->tensors));
	if (!m->tensors)
		return -ENOMEM;
	json_object_object_foreach(root, key, v) {
		if (!strcmp(key, "__metadata__")) {
			if (!json_object_is_type(v, json_type_object))
				return fail(err, errlen, name, 8, "__metadata__ is not an object of strings");
			m->nkv = (size_t)json_object_object_length(v);
			continue;
		}
		if ((r = st_tensor(name, 8, key, v, &m->tensors[m->ntensors], err, errlen)) < 0)
			return r;
		m->ntensors++;
	}
	return st_layout(name, m, err, errlen);
}

static int st_parse(const char *name, const unsigned char *buf, size_t len, struct asios_model *m, size_t *need,
		    char *err, size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *root;
	uint64_t n;
	int r;

	if (m->file_size < 8)
		return fail(err, errlen, name, 0, "%llu bytes: too short for a safetensors file (8-byte header length)",
			    (unsigned long long)m->file_size);
	if (len < 8) {
		*need = 8;
		return -EAGAIN;
	}
	n = le(buf, 8);
	if (n < 2 || n > ST_MAX_HEADER || n > m->file_size - 8)
		return fail(err, errlen, name, 0, "header length %llu is not possible in a file of %llu bytes%s",
			    (unsigned long long)n, (unsigned long long)m->file_size,
			    n > ST_MAX_HEADER ? " (at most 100 MiB)" : "");
	m->header_size = 8 + n;
	if (len < 8 + n) {
		*need = (size_t)(8 + n);
		return -EAGAIN;
	}
	if (!(tok = json_tokener_new()))
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, (const char *)buf + 8, (int)n);
	if (!root || json_tokener_get_error(tok) != json_tokener_success || !json_object_is_type(root, json_type_object)) {
		enum json_tokener_error e = json_tokener_get_error(tok);
		size_t at = json_tokener_get_parse_end(tok);

		json_object_put(root);
		json_tokener_free(tok);
		return fail(err, errlen, name, 8 + at, "the JSON header is not an object: %s",
			    e == json_tokener_success ? "not an object" : e == json_tokener_continue
				    ? "it ends before the header length" : json_tokener_error_desc(e));
	}
	/* what follows the JSON object in the header may only be the spaces that pad it */
	for (size_t i = (size_t)json_tokener_get_parse_end(tok); i < n; i++)
		if (buf[8 + i] != ' ') {
			json_object_put(root);
			json_tokener_free(tok);
			return fail(err, errlen, name, 8 + i, "bytes after the JSON header that are not padding");
		}
	json_tokener_free(tok);
	r = st_entries(name, root, m, err, errlen);
	json_object_put(root);
	return r;
}

/* ---- GGUF ---- */

static const struct ggml_type {
	const char *name;
	unsigned id, bytes, elems; /* bytes per block of ELEMS elements */
} ggml_types[] = {
	{ "F32", 0, 4, 1 },       { "F16", 1, 2, 1 },       { "Q4_0", 2, 18, 32 },    { "Q4_1", 3, 20, 32 },
	{ "Q5_0", 6, 22, 32 },    { "Q5_1", 7, 24, 32 },    { "Q8_0", 8, 34, 32 },    { "Q8_1", 9, 36, 32 },
	{ "Q2_K", 10, 84, 256 },  { "Q3_K", 11, 110, 256 }, { "Q4_K", 12, 144, 256 }, { "Q5_K", 13, 176, 256 },
	{ "Q6_K", 14, 210, 256 }, { "Q8_K", 15, 292, 256 }, { "IQ2_XXS", 16, 66, 256 }, { "IQ2_XS", 17, 74, 256 },
	{ "IQ3_XXS", 18, 98, 256 }, { "IQ1_S", 19, 50, 256 }, { "IQ4_NL", 20, 18, 32 }, { "IQ3_S", 21, 110, 256 },
	{ "IQ2_S", 22, 82, 256 }, { "IQ4_XS", 23, 136, 256 }, { "I8", 24, 1, 1 },     { "I16", 25, 2, 1 },
	{ "I32", 26, 4, 1 },      { "I64", 27, 8, 1 },      { "F64", 28, 8, 1 },      { "IQ1_M", 29, 56, 256 },
	{ "BF16", 30, 2, 1 },     { "TQ1_0", 34, 54, 256 }, { "TQ2_0", 35, 66, 256 },
};

static const struct ggml_type *ggml_type(uint32_t id)
{
	for (size_t i = 0; i < sizeof(ggml_types) / sizeof(ggml_types[0]); i++)
		if (ggml_types[i].id == id)
			return &ggml_types[i];
	return NULL;
}

/* a cursor over the header bytes read so far */
struct cur {
	const char *name;
	const unsigned char *buf;
	size_t len, at;
	uint64_t file_size;
	char *err;
	size_t errlen;
};

/* N more bytes: 0; -EAGAIN when they are in the file but not read yet; -EINVAL past the end of the file */
static int take(struct cur *c, uint64_t n, const char *what)
{
	if (n > c->file_size || c->at > c->file_size - n)
		return fail(c->err, c->errlen, c->name, c->at, "%s runs past the end of the file (%llu bytes)", what,
			    (unsigned long long)c->file_size);
	if (n > c->len || c->at > c->len - n)
		return -EAGAIN;
	return 0;
}

static int rd(struct cur *c, int bytes, uint64_t *v, const char *what)
{
	int r = take(c, (uint64_t)bytes, what);

	if (r)
		return r;
	*v = le(c->buf + c->at, bytes);
	c->at += (size_t)bytes;
	return 0;
}

/* a gguf string (u64 length, bytes): its start and length; skipped over */
static int rd_str(struct cur *c, const unsigned char **s, uint64_t *n, const char *what)
{
	int r = rd(c, 8, n, what);

	if (r || (r = take(c, *n, what)))
		return r;
	*s = c->buf + c->at;
	c->at += (size_t)*n;
	return 0;
}

enum { GGUF_U8, GGUF_I8, GGUF_U16, GGUF_I16, GGUF_U32, GGUF_I32, GGUF_F32, GGUF_BOOL, GGUF_STRING, GGUF_ARRAY,
       GGUF_U64, GGUF_I64, GGUF_F64 };

static int gguf_scalar_size(uint64_t type)
{
	static const int size[] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };

	return type < sizeof(size) / sizeof(size[0]) ? size[type] : -1;
}

static int gguf_value(struct cur *c, uint64_t type, int depth, uint64_t *u32)
{
	const unsigned char *s;
	uint64_t n, et;
	int r, size = gguf_scalar_size(type);

	if (size < 0 || depth > GGUF_MAX_DEPTH)
		return fail(c->err, c->errlen, c->name, c->at, depth > GGUF_MAX_DEPTH ? "arrays nested too deep"
			    : "unknown value type %llu", (unsigned long long)type);
	if (type == GGUF_STRING)
		return rd_str(c, &s, &n, "a string value");
	if (type != GGUF_ARRAY) {
		if ((r = take(c, (uint64_t)size, "a value")))
			return r;
		if (type == GGUF_U32 && u32)
			*u32 = le(c->buf + c->at, 4);
		c->at += (size_t)size;
		return 0;
	}
	if ((r = rd(c, 4, &et, "an array type")) || (r = rd(c, 8, &n, "an array length")))
		return r;
	if (gguf_scalar_size(et) < 0)
		return fail(c->err, c->errlen, c->name, c->at - 12, "unknown array element type %llu", (unsigned long long)et);
	if (et != GGUF_STRING && et != GGUF_ARRAY) /* fixed-size elements: one check for all */
		return n > c->file_size / (uint64_t)gguf_scalar_size(et) ? take(c, UINT64_MAX, "an array")
		       : (r = take(c, n * (uint64_t)gguf_scalar_size(et), "an array")) ? r
		       : (c->at += (size_t)(n * (uint64_t)gguf_scalar_size(et)), 0);
	for (uint64_t i = 0; i < n; i++)
		if ((r = gguf_value(c, et, depth + 1, NULL)))
			return r;
	return 0;
}

static int gguf_kvs(struct cur *c, uint64_t nkv, struct asios_model *m)
{
	for (uint64_t i = 0; i < nkv; i++) {
		const unsigned char *key;
		uint64_t klen, type, align = 0;
		size_t at = c->at;
		int r;

		if ((r = rd_str(c, &key, &klen, "a key")) || (r = rd(c, 4, &type, "a value type")) ||
		    (r = gguf_value(c, type, 0, &align)))
			return r;
		if (klen == strlen("general.alignment") && !memcmp(key, "general.alignment", klen)) {
			if (type != GGUF_U32 || !align || (align & (align - 1)))
				return fail(c->err, c->errlen, c->name, at, "general.alignment is not a power of two (u32)");
			m->alignment = align;
		}
	}
	m->nkv = (size_t)nkv;
	return 0;
}

static int gguf_tensor(struct cur *c, struct asios_tensor *t)
{
	const unsigned char *s;
	const struct ggml_type *gt;
	uint64_t n, nd, type, elems = 1;
	size_t at = c->at;
	int r;

	if ((r = rd_str(c, &s, &n, "a tensor name")))
		return r;
	if (n > GGUF_MAX_NAME)
		return fail(c->err, c->errlen, c->name, at, "a tensor name of %llu bytes (at most %d)",
			    (unsigned long long)n, GGUF_MAX_NAME);
	if (!(t->name = strndup((const char *)s, (size_t)n)))
		return -ENOMEM;
	if ((r = rd(c, 4, &nd, "a tensor's dimension count")))
		return r;
	if (nd > ASIOS_MODEL_MAX_DIMS)
		return fail(c->err, c->errlen, c->name, at, "tensor \"%s\": %llu dimensions", t->name, (unsigned long long)nd);
	t->ndims = (unsigned)nd;
	for (unsigned i = 0; i < t->ndims; i++) {
		if ((r = rd(c, 8, &t->dims[i], "a tensor dimension")))
			return r;
		if (t->dims[i] && elems > UINT64_MAX / t->dims[i])
			return fail(c->err, c->errlen, c->name, at, "tensor \"%s\": its dimensions overflow", t->name);
		elems *= t->dims[i];
	}
	if ((r = rd(c, 4, &type, "a tensor type")) || (r = rd(c, 8, &t->begin, "a tensor offset")))
		return r;
	if (!(gt = ggml_type((uint32_t)type)))
		return fail(c->err, c->errlen, c->name, at, "tensor \"%s\": unknown ggml type %llu", t->name,
			    (unsigned long long)type);
	if ((t->ndims && t->dims[0] % gt->elems) || elems / gt->elems > UINT64_MAX / gt->bytes)
		return fail(c->err, c->errlen, c->name, at, "tensor \"%s\": %llu elements in a row do not fill %s blocks of %u",
			    t->name, (unsigned long long)(t->ndims ? t->dims[0] : 0), gt->name, gt->elems);
	snprintf(t->dtype, sizeof(t->dtype), "%s", gt->name);
	t->end = elems / gt->elems * gt->bytes; /* the size, until the data offset is known */
	return 0;
}

static int gguf_place(struct cur *c, struct asios_model *m)
{
	uint64_t data = (c->at + m->alignment - 1) / m->alignment * m->alignment;

	m->header_size = data;
	for (size_t i = 0; i < m->ntensors; i++) {
		struct asios_tensor *t = &m->tensors[i];
		uint64_t size = t->end;

		if (t->begin % m->alignment)
			return fail(c->err, c->errlen, c->name, c->at, "tensor \"%s\": offset %llu is not a multiple of the "
				    "alignment %llu", t->name, (unsigned long long)t->begin, (unsigned long long)m->alignment);
		if (t->begin > m->file_size || data > m->file_size - t->begin || size > m->file_size - data - t->begin)
			return fail(c->err, c->errlen, c->name, data + t->begin, "tensor \"%s\" (%llu bytes) ends past the "
				    "end of the file (%llu bytes): the file is shorter than its header says", t->name,
				    (unsigned long long)size, (unsigned long long)m->file_size);
		t->begin += data;
		t->end = t->begin + size;
	}
	return 0;
}

static int gguf_parse(const char *name, const unsigned char *buf, size_t len, struct asios_model *m, size_t *need,
		      char *err, size_t errlen)
{
	struct cur c = { name, buf, len, 0, m->file_size, err, errlen };
	uint64_t magic, version, nt, nkv;
	int r;

	if ((r = rd(&c, 4, &magic, "the magic")) || (r = rd(&c, 4, &version, "the version")))
		goto out;
	if (magic != 0x46554747)
		return fail(err, errlen, name, 0, "not a GGUF file (no \"GGUF\" magic)");
	if (version == 1 || version > 0xffff)
		return fail(err, errlen, name, 4, version == 1 ? "GGUF version 1 is not supported (32-bit counts)"
			    : "GGUF version %llu: a big-endian file or a newer version", (unsigned long long)version);
	if (version > 3)
		return fail(err, errlen, name, 4, "GGUF version %llu is newer than 3", (unsigned long long)version);
	m->version = (uint32_t)version;
	m->alignment = 32;
	if ((r = rd(&c, 8, &nt, "the tensor count")) || (r = rd(&c, 8, &nkv, "the key/value count")))
		goto out;
	/* every tensor info takes at least 8 + 4 + 4 + 8 bytes, every pair at least 8 + 4 + 1 */
	if (nt > m->file_size / 24 || nkv > m->file_size / 13)
		return fail(err, errlen, name, 8, "%llu tensors and %llu key/value pairs cannot fit in %llu bytes",
			    (unsigned long long)nt, (unsigned long long)nkv, (unsigned long long)m->file_size);
	if ((r = gguf_kvs(&c, nkv, m)))
		goto out;
	if (!(m->tensors = calloc(nt ? nt : 1, sizeof(*m->tensors))))
		return -ENOMEM;
	for (m->ntensors = 0; m->ntensors < nt; m->ntensors++)
		if ((r = gguf_tensor(&c, &m->tensors[m->ntensors]))) {
			m->ntensors++; /* its name is freed with the others */
			goto out;
		}
	return gguf_place(&c, m);
out:
	if (r == -EAGAIN)
		*need = len < m->file_size / 2 ? len * 2 : (size_t)m->file_size;
	return r;
}

int asios_model_parse(const char *name, const unsigned char *buf, size_t len, uint64_t file_size,
		      struct asios_model *m, size_t *need, char *err, size_t errlen)
{
	enum asios_model_format f = asios_model_detect(name, buf, len);
	int r;

	memset(m, 0, sizeof(*m));
	m->format = f;
	m->file_size = file_size;
	if (len > file_size)
		len = (size_t)file_size;
	if (f == ASIOS_MODEL_RAW)
		return 0;
	r = f == ASIOS_MODEL_GGUF ? gguf_parse(name, buf, len, m, need, err, errlen)
				  : st_parse(name, buf, len, m, need, err, errlen);
	if (r < 0) {
		asios_model_free(m);
		m->format = f;
		m->file_size = file_size;
	}
	return r;
}

int asios_model_read_fd(const char *name, int fd, uint64_t file_size, struct asios_model *m, char *err,
			size_t errlen)
{
	size_t len = 0, want = file_size < 65536 ? (size_t)file_size : 65536, need = 0;
	unsigned char *buf = NULL;
	int r;

	for (;;) {
		unsigned char *nb = realloc(buf, want ? want : 1);

		if (!nb) {
			free(buf);
			return -ENOMEM;
		}
		buf = nb;
		while (len < want) {
			ssize_t got = pread(fd, buf + len, want - len, (off_t)len);

			if (got < 0) {
				r = -errno;
				snprintf(err, errlen, "%s: offset %zu: %s", name, len, strerror(errno));
				free(buf);
				return r;
			}
			if (!got) /* shorter than it was */
				break;
			len += (size_t)got;
		}
		r = asios_model_parse(name, buf, len, file_size, m, &need, err, errlen);
		if (r != -EAGAIN || need <= len || len < want)
			break;
		want = need;
	}
	if (r == -EAGAIN)
		r = fail(err, errlen, name, len, "the file ended while its header was read (it is shorter than it was)");
	free(buf);
	return r;
}
