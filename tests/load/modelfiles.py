# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""Writers of AI model weight files for tests: safetensors and GGUF version 3, byte for byte as their published
specifications lay them out, plus sharded models and helpers that break a written file on purpose.

safetensors (https://github.com/huggingface/safetensors): an 8-byte little-endian header length N, N bytes of
compact UTF-8 JSON ("__metadata__" first when present, then one entry per tensor in the order given), padded with
spaces so that N is a multiple of 8 as the reference writer does, then the data region, tensors contiguous with
no holes and nothing after the last one.

GGUF (ggml docs/gguf.md): magic, version 3, tensor and KV counts, the KV pairs, the tensor infos (dims with ne[0]
first, offsets relative to the data section), zero padding to the alignment, then the data section, every tensor
at its offset and followed by zero padding to the alignment, the last one too, as ggml's own writer does.

Tensor contents are either given or filled with pseudo-random bytes seeded by the tensor name, so the same call
always writes the same file. Only the standard library is used.

    python3 tests/load/modelfiles.py DIR     writes a small sample of each format, and a sharded model, into DIR
"""
import json
import os
import random
import struct
import sys

MIB = 1 << 20

# safetensors dtype -> bytes per element.
SAFETENSORS_DTYPES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
    "U16": 2, "I16": 2, "F16": 2, "BF16": 2,
    "U32": 4, "I32": 4, "F32": 4,
    "U64": 8, "I64": 8, "F64": 8,
}

# ggml type name -> (type id, bytes per block, elements per block), as in ggml's type_traits table.
GGML_TYPES = {
    "F32": (0, 4, 1),
    "F16": (1, 2, 1),
    "Q4_0": (2, 18, 32),
    "Q4_1": (3, 20, 32),
    "Q5_0": (6, 22, 32),
    "Q5_1": (7, 24, 32),
    "Q8_0": (8, 34, 32),
    "Q8_1": (9, 36, 32),
    "Q2_K": (10, 84, 256),
    "Q3_K": (11, 110, 256),
    "Q4_K": (12, 144, 256),
    "Q5_K": (13, 176, 256),
    "Q6_K": (14, 210, 256),
    "Q8_K": (15, 292, 256),
    "I8": (24, 1, 1),
    "I16": (25, 2, 1),
    "I32": (26, 4, 1),
    "I64": (27, 8, 1),
    "F64": (28, 8, 1),
    "BF16": (30, 2, 1),
}

# GGUF metadata value type name -> (type id, struct format of a scalar, or None for STRING and ARRAY).
GGUF_VALUE_TYPES = {
    "UINT8": (0, "<B"),
    "INT8": (1, "<b"),
    "UINT16": (2, "<H"),
    "INT16": (3, "<h"),
    "UINT32": (4, "<I"),
    "INT32": (5, "<i"),
    "FLOAT32": (6, "<f"),
    "BOOL": (7, "<B"),
    "STRING": (8, None),
    "ARRAY": (9, None),
    "UINT64": (10, "<Q"),
    "INT64": (11, "<q"),
    "FLOAT64": (12, "<d"),
}

GGUF_MAGIC = b"GGUF"
GGUF_VERSION = 3
GGUF_DEFAULT_ALIGNMENT = 32

_CHUNK = MIB


def _align(n, alignment):
    """n rounded up to a multiple of alignment."""
    return (n + alignment - 1) // alignment * alignment


def _count(shape):
    """Number of elements of a shape (1 for the empty shape of a scalar)."""
    n = 1
    for d in shape:
        if not isinstance(d, int) or isinstance(d, bool) or d < 0:
            raise ValueError("bad dimension %r in %r" % (d, shape))
        n *= d
    return n


def _write_data(f, name, data, nbytes):
    """Write a tensor's bytes: data as given, or nbytes of pseudo-random bytes seeded by the tensor name."""
    if data is not None:
        f.write(data)
        return
    rng = random.Random("modelfiles:" + name)
    left = nbytes
    while left > 0:
        n = min(left, _CHUNK)
        f.write(rng.randbytes(n))
        left -= n


def write_safetensors(path, tensors, metadata=None):
    """Write a safetensors file.

    tensors: list of (name, dtype, shape, data) in file order; dtype is a key of SAFETENSORS_DTYPES, shape a list
    of ints ([] for a scalar), data bytes of exactly the tensor's size or None for deterministic pseudo-random
    bytes. A dtype outside the table is written as given when data is given (its length is then the size), so
    tests can produce files a reader must refuse.
    metadata: optional {str: str}, written as "__metadata__".
    Returns {name: (begin, end)}, the absolute file offsets of each tensor's bytes.
    """
    entries = []
    header = {}
    if metadata is not None:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise ValueError("safetensors __metadata__ must map strings to strings")
        header["__metadata__"] = dict(metadata)
    pos = 0
    for name, dtype, shape, data in tensors:
        if name in header:
            raise ValueError("duplicate tensor name %r" % name)
        if dtype in SAFETENSORS_DTYPES:
            nbytes = _count(shape) * SAFETENSORS_DTYPES[dtype]
            if data is not None and len(data) != nbytes:
                raise ValueError("%s: %d bytes of data for %s %r (%d expected)" % (name, len(data), dtype, shape,
                                                                                  nbytes))
        elif data is not None:
            nbytes = len(data)
        else:
            raise ValueError("%s: unknown safetensors dtype %r needs explicit data" % (name, dtype))
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [pos, pos + nbytes]}
        entries.append((name, data, nbytes, pos))
        pos += nbytes
    blob = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    blob += b" " * (-len(blob) % 8)
    base = 8 + len(blob)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for name, data, nbytes, _ in entries:
            _write_data(f, name, data, nbytes)
    return {name: (base + off, base + off + nbytes) for name, _, nbytes, off in entries}


def _ggml_type(t):
    """(id, block bytes, block elements) of a ggml type given by name (any case) or id; (id, None, None) for an id
    outside GGML_TYPES."""
    if isinstance(t, str):
        key = t.upper()
        if key not in GGML_TYPES:
            raise ValueError("unknown ggml type %r" % t)
        return GGML_TYPES[key]
    for info in GGML_TYPES.values():
        if info[0] == t:
            return info
    return (int(t), None, None)


def _gguf_str(s):
    """A GGUF string: uint64 length, then the UTF-8 bytes."""
    b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    return struct.pack("<Q", len(b)) + b


def _gguf_type_id(type_name):
    """GGUF metadata type id of a GGUF_VALUE_TYPES name or of "ARRAY:<element type>"."""
    type_name = type_name.upper()
    if type_name.startswith("ARRAY:"):
        _gguf_type_id(type_name[len("ARRAY:"):])
        return GGUF_VALUE_TYPES["ARRAY"][0]
    if type_name not in GGUF_VALUE_TYPES or type_name == "ARRAY":
        raise ValueError("unknown GGUF value type %r (arrays are ARRAY:<element type>)" % type_name)
    return GGUF_VALUE_TYPES[type_name][0]


def _gguf_value(type_name, value):
    """Encoded value of a GGUF metadata type: a scalar type name, "STRING", or "ARRAY:<element type>" with a list
    (nested arrays as "ARRAY:ARRAY:INT32" with a list of lists). Returns (type id, bytes)."""
    type_name = type_name.upper()
    type_id = _gguf_type_id(type_name)
    if type_name.startswith("ARRAY:"):
        elem = type_name[len("ARRAY:"):]
        body = b"".join(_gguf_value(elem, v)[1] for v in value)
        return type_id, struct.pack("<IQ", _gguf_type_id(elem), len(value)) + body
    if type_name == "STRING":
        return type_id, _gguf_str(value)
    if type_name == "BOOL":
        value = 1 if value else 0
    return type_id, struct.pack(GGUF_VALUE_TYPES[type_name][1], value)


def write_gguf(path, tensors, kv=None, alignment=None):
    """Write a GGUF version 3 file.

    tensors: list of (name, ggml_type, dims, data) in file order; ggml_type is a GGML_TYPES name (any case) or a
    type id, dims the ggml ne[] list with ne[0] (the contiguous, innermost dimension) first, which must be a
    multiple of the type's block size; data is bytes of exactly the tensor's size or None for deterministic
    pseudo-random bytes. A type id outside GGML_TYPES is written as given when data is given (its length is then
    the size), so tests can produce files a reader must refuse.
    kv: list of (key, type, value); type is a GGUF_VALUE_TYPES name (UINT8 .. FLOAT64, BOOL, STRING) or
    "ARRAY:<element type>" with a list value, e.g. ("tokenizer.ggml.tokens", "ARRAY:STRING", ["a", "b"]).
    alignment: None writes no general.alignment KV (readers then use 32) unless kv carries one, whose value is
    then used; an int adds general.alignment (UINT32) as the first KV. The specification asks for a multiple of
    8 and ggml for a power of two; other positive values are written as asked.
    Returns {name: (begin, end)}, the absolute file offsets of each tensor's bytes.
    """
    kv = list(kv or [])
    given = [v for k, _, v in kv if k == "general.alignment"]
    if alignment is not None:
        if given:
            raise ValueError("general.alignment given both in kv and as alignment")
        kv.insert(0, ("general.alignment", "UINT32", alignment))
        align = alignment
    else:
        align = given[0] if given else GGUF_DEFAULT_ALIGNMENT
    if not isinstance(align, int) or align <= 0:
        raise ValueError("bad alignment %r" % (align,))

    head = bytearray(GGUF_MAGIC)
    head += struct.pack("<IQQ", GGUF_VERSION, len(tensors), len(kv))
    for key, type_name, value in kv:
        type_id, body = _gguf_value(type_name, value)
        head += _gguf_str(key) + struct.pack("<I", type_id) + body

    entries = []
    pos = 0
    seen = set()
    for name, gtype, dims, data in tensors:
        if name in seen:
            raise ValueError("duplicate tensor name %r" % name)
        seen.add(name)
        type_id, block_bytes, block_elems = _ggml_type(gtype)
        if block_bytes is None:
            if data is None:
                raise ValueError("%s: unknown ggml type %r needs explicit data" % (name, gtype))
            nbytes = len(data)
        else:
            n = _count(dims)
            if dims and dims[0] % block_elems:
                raise ValueError("%s: ne[0]=%d is not a multiple of the block size %d" % (name, dims[0],
                                                                                       block_elems))
            nbytes = n // block_elems * block_bytes
            if data is not None and len(data) != nbytes:
                raise ValueError("%s: %d bytes of data (%d expected)" % (name, len(data), nbytes))
        head += _gguf_str(name) + struct.pack("<I", len(dims))
        head += b"".join(struct.pack("<Q", d) for d in dims)
        head += struct.pack("<IQ", type_id, pos)
        entries.append((name, data, nbytes, pos))
        pos = _align(pos + nbytes, align)

    base = _align(len(head), align)
    with open(path, "wb") as f:
        f.write(head)
        f.write(b"\0" * (base - len(head)))
        for name, data, nbytes, off in entries:
            _write_data(f, name, data, nbytes)
            f.write(b"\0" * (_align(nbytes, align) - nbytes))
    return {name: (base + off, base + off + nbytes) for name, _, nbytes, off in entries}


def model(dir, shards=2, mib_per_shard=1, fmt="safetensors"):
    """Write a sharded model of about mib_per_shard MiB per file into dir and return the list of file paths.

    Each layer is one large [rows, 4096] matrix (BF16 for safetensors, F16 for GGUF; at most 32 MiB) and a
    [4096] F32 norm vector. safetensors shards are named model-00001-of-00002.safetensors ... and come with a
    model.safetensors.index.json as Hugging Face writes it (its path is the last one returned); GGUF shards are
    named model-00001-of-00002.gguf ... and carry llama.cpp's split.no, split.count and split.tensors.count KVs.
    With shards=1 the file is model.safetensors (no index) or model.gguf (no split KVs), as those tools name it.
    """
    if fmt not in ("safetensors", "gguf"):
        raise ValueError("fmt must be 'safetensors' or 'gguf'")
    if shards < 1:
        raise ValueError("shards must be at least 1")
    os.makedirs(dir, exist_ok=True)
    width = 4096
    row_bytes = width * 2
    max_rows = 32 * MIB // row_bytes
    layer = 0
    plan = []
    for _ in range(shards):
        rows = max(1, int(mib_per_shard * MIB) // row_bytes)
        shard = []
        while rows > 0:
            n = min(rows, max_rows)
            shard.append((layer, n))
            layer += 1
            rows -= n
        plan.append(shard)
    paths = []
    if fmt == "safetensors":
        weight_map = {}
        total = 0
        for i, shard in enumerate(plan):
            fname = "model.safetensors" if shards == 1 else "model-%05d-of-%05d.safetensors" % (i + 1, shards)
            tensors = []
            for li, n in shard:
                tensors.append(("model.layers.%d.mlp.down_proj.weight" % li, "BF16", [n, width], None))
                tensors.append(("model.layers.%d.input_layernorm.weight" % li, "F32", [width], None))
            offsets = write_safetensors(os.path.join(dir, fname), tensors, metadata={"format": "pt"})
            for name, (b, e) in offsets.items():
                weight_map[name] = fname
                total += e - b
            paths.append(os.path.join(dir, fname))
        if shards > 1:
            index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
            ipath = os.path.join(dir, "model.safetensors.index.json")
            with open(ipath, "w", encoding="utf-8") as f:
                f.write(json.dumps(index, indent=2, sort_keys=True) + "\n")
            paths.append(ipath)
        return paths
    n_tensors = 2 * layer
    for i, shard in enumerate(plan):
        fname = "model.gguf" if shards == 1 else "model-%05d-of-%05d.gguf" % (i + 1, shards)
        kv = []
        if i == 0:
            kv += [("general.architecture", "STRING", "llama"), ("general.name", "STRING", "asios-test"),
                   ("llama.block_count", "UINT32", layer), ("llama.embedding_length", "UINT32", width)]
        if shards > 1:
            kv += [("split.no", "UINT16", i), ("split.count", "UINT16", shards),
                   ("split.tensors.count", "INT32", n_tensors)]
        tensors = []
        for li, n in shard:
            tensors.append(("blk.%d.ffn_down.weight" % li, "F16", [width, n], None))
            tensors.append(("blk.%d.attn_norm.weight" % li, "F32", [width], None))
        write_gguf(os.path.join(dir, fname), tensors, kv=kv)
        paths.append(os.path.join(dir, fname))
    return paths


def truncate(path, nbytes):
    """Cut the file to nbytes. Returns what was done."""
    size = os.path.getsize(path)
    os.truncate(path, nbytes)
    return "%s truncated from %d to %d bytes" % (os.path.basename(path), size, nbytes)


def corrupt_header_len(path, value):
    """Rewrite the 8-byte little-endian header length at the start of a safetensors file. Returns what was
    done."""
    with open(path, "r+b") as f:
        old = struct.unpack("<Q", f.read(8))[0]
        f.seek(0)
        f.write(struct.pack("<Q", value))
    return "%s header length %d rewritten as %d" % (os.path.basename(path), old, value)


def overwrite(path, offset, data):
    """Overwrite len(data) bytes at offset (extending the file when it reaches past the end). Returns what was
    done."""
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)
    return "%s: %d bytes overwritten at offset %d" % (os.path.basename(path), len(data), offset)


def seed_corpus(dir):
    """Write the libFuzzer seed corpus of the model-file parser into dir (each file well under 4 KiB): two valid
    safetensors files (one with __metadata__), two valid GGUF v3 files (one with general.alignment=64 and array
    KVs, one with a Q4_0 tensor), and a truncated copy of one of each. Returns the list of paths."""
    os.makedirs(dir, exist_ok=True)

    def p(name):
        return os.path.join(dir, name)

    write_safetensors(p("safetensors-basic"), [
        ("embed.weight", "F16", [8, 16], None),
        ("norm.weight", "F32", [16], None),
        ("step", "I64", [], None),
    ])
    write_safetensors(p("safetensors-metadata"), [
        ("layers.0.weight", "BF16", [4, 32], None),
        ("layers.0.bias", "F32", [4], None),
        ("mask", "BOOL", [2, 3], bytes([1, 0, 1, 0, 1, 0])),
        ("empty", "U8", [0, 4], b""),
    ], metadata={"format": "pt", "note": "seed"})
    write_gguf(p("gguf-align64-array"), [
        ("token_embd.weight", "F32", [16, 4], None),
        ("output_norm.weight", "F16", [16], None),
    ], kv=[
        ("general.architecture", "STRING", "llama"),
        ("general.name", "STRING", "seed"),
        ("llama.block_count", "UINT32", 1),
        ("llama.vocab_size", "UINT64", 4),
        ("llama.rope.freq_base", "FLOAT32", 10000.0),
        ("tokenizer.ggml.add_bos_token", "BOOL", True),
        ("tokenizer.ggml.tokens", "ARRAY:STRING", ["<s>", "</s>", "a", "b"]),
        ("tokenizer.ggml.token_type", "ARRAY:INT32", [3, 3, 1, 1]),
    ], alignment=64)
    write_gguf(p("gguf-q4_0"), [
        ("blk.0.ffn_up.weight", "Q4_0", [64, 4], None),
        ("blk.0.ffn_norm.weight", "F32", [64], None),
        ("blk.0.attn_q.weight", "Q8_0", [32, 2], None),
    ], kv=[
        ("general.architecture", "STRING", "llama"),
        ("general.file_type", "UINT32", 2),
    ])
    write_safetensors(p("safetensors-truncated"), [
        ("a", "F32", [4, 4], None),
        ("b", "F32", [8], None),
    ])
    truncate(p("safetensors-truncated"), os.path.getsize(p("safetensors-truncated")) - 20)
    write_gguf(p("gguf-truncated"), [
        ("a", "F32", [8, 2], None),
        ("b", "I32", [8], None),
    ], kv=[("general.architecture", "STRING", "llama")])
    truncate(p("gguf-truncated"), os.path.getsize(p("gguf-truncated")) - 40)
    return sorted(p(n) for n in os.listdir(dir))


def main(argv):
    """Write a small safetensors file, a small GGUF file and a two-shard model of each format into argv[1]."""
    if len(argv) != 2:
        sys.stderr.write("usage: %s DIR\n" % argv[0])
        return 2
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    sample_st = os.path.join(out, "sample.safetensors")
    write_safetensors(sample_st, [("weight", "F16", [64, 64], None), ("bias", "F32", [64], None)],
                      metadata={"format": "pt"})
    sample_gguf = os.path.join(out, "sample.gguf")
    write_gguf(sample_gguf, [("blk.0.ffn_up.weight", "Q4_0", [64, 64], None),
                             ("output_norm.weight", "F32", [64], None)],
               kv=[("general.architecture", "STRING", "llama"), ("general.name", "STRING", "sample")])
    written = [sample_st, sample_gguf]
    written += model(os.path.join(out, "sharded-safetensors"), shards=2, mib_per_shard=1)
    written += model(os.path.join(out, "sharded-gguf"), shards=2, mib_per_shard=1, fmt="gguf")
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
