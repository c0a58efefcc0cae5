# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""asios_load: model weights at device speed, from Python (asios-load(1), docs/load.md).

A ctypes binding of libasios-load, so a loader in PyTorch (or anything else) can call it:

    import asios_load, torch
    with asios_load.load(["/srv/models/llama"], node=0) as m:          # safetensors/GGUF files or directories
        for f in m.files:
            for t in f.tensors:                                          # name, dtype, begin, end, shape
                raw = m.tensor_bytes(f, t)                               # a memoryview into the buffer, no copy
                w = torch.frombuffer(raw, dtype=torch.bfloat16).view(t.shape)
    asios_load.warm(["/srv/models/llama"])                               # page cache, for servers that mmap
    asios_load.save("/ckpt/step-1000", {"model.bin": buf})               # durable, crash-safe, verified

The library is found at $ASIOS_LOAD_LIB, beside this file's package install (/usr/lib/<triplet>/asios/), or by
the system's library search. Errors raise OSError with the library's message (file and offset).
"""
import ctypes
import ctypes.util
import glob
import os

__all__ = ["load", "warm", "save", "Model", "library"]

_MAX_DIMS = 8


class _Tensor(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_char * 16), ("begin", ctypes.c_uint64),
                ("end", ctypes.c_uint64), ("ndims", ctypes.c_uint), ("dims", ctypes.c_uint64 * _MAX_DIMS)]


class _Model(ctypes.Structure):
    _fields_ = [("format", ctypes.c_int), ("version", ctypes.c_uint32), ("file_size", ctypes.c_uint64),
                ("header_size", ctypes.c_uint64), ("alignment", ctypes.c_uint64), ("ntensors", ctypes.c_size_t),
                ("tensors", ctypes.POINTER(_Tensor)), ("nkv", ctypes.c_size_t)]


class _File(ctypes.Structure):
    _fields_ = [("path", ctypes.c_char_p), ("size", ctypes.c_uint64), ("offset", ctypes.c_uint64),
                ("direct", ctypes.c_bool), ("model", _Model), ("sha256", ctypes.c_char * 65)]


class _Opts(ctypes.Structure):
    _fields_ = [("target", ctypes.c_int), ("warm", ctypes.c_int), ("direct", ctypes.c_int), ("node", ctypes.c_int),
                ("depth", ctypes.c_uint), ("block", ctypes.c_size_t), ("hugepages", ctypes.c_bool),
                ("no_check", ctypes.c_bool), ("sha256", ctypes.c_bool), ("register_buffers", ctypes.c_bool)]


class _Result(ctypes.Structure):
    _fields_ = [("buf", ctypes.POINTER(ctypes.c_ubyte)), ("len", ctypes.c_size_t), ("mapped", ctypes.c_size_t),
                ("node", ctypes.c_int), ("huge", ctypes.c_bool), ("hugetlb", ctypes.c_bool),
                ("registered", ctypes.c_bool), ("files", ctypes.POINTER(_File)), ("nfiles", ctypes.c_size_t),
                ("bytes", ctypes.c_uint64), ("seconds", ctypes.c_double), ("method", ctypes.c_char_p)]


class _Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _Item(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("data", ctypes.c_void_p), ("len", ctypes.c_size_t),
                ("iov", ctypes.POINTER(_Iovec)), ("niov", ctypes.c_size_t)]


class _CkptResult(ctypes.Structure):
    _fields_ = [("bytes", ctypes.c_uint64), ("seconds", ctypes.c_double), ("verify_seconds", ctypes.c_double),
                ("method", ctypes.c_char_p)]


_lib = None


def library():
    """The loaded libasios-load (found once)."""
    global _lib
    if _lib is not None:
        return _lib
    candidates = [os.environ.get("ASIOS_LOAD_LIB", "")]
    candidates += sorted(glob.glob("/usr/lib/*/asios/libasios-load.so.0"))
    candidates += [ctypes.util.find_library("asios-load") or ""]
    for c in candidates:
        if c and os.path.exists(c) or (c and "/" not in c):
            lib = ctypes.CDLL(c)
            break
    else:
        raise OSError("libasios-load.so.0 not found (install asios-load, or set ASIOS_LOAD_LIB)")
    lib.asios_load.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t, ctypes.POINTER(_Opts),
                               ctypes.POINTER(_Result), ctypes.c_char_p, ctypes.c_size_t]
    lib.asios_load_release.argtypes = [ctypes.POINTER(_Result)]
    lib.asios_load_opts_default.argtypes = [ctypes.POINTER(_Opts)]
    lib.asios_load_expand.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t,
                                      ctypes.POINTER(ctypes.POINTER(ctypes.c_char_p)),
                                      ctypes.POINTER(ctypes.c_size_t), ctypes.c_char_p, ctypes.c_size_t]
    lib.asios_load_strv_free.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t]
    lib.asios_ckpt_write.argtypes = [ctypes.c_char_p, ctypes.POINTER(_Item), ctypes.c_size_t, ctypes.c_int,
                                     ctypes.c_uint, ctypes.POINTER(_CkptResult), ctypes.c_char_p, ctypes.c_size_t]
    _lib = lib
    return lib


class Tensor:
    """One tensor of a file: name, dtype (safetensors dtype or ggml type), begin/end (offsets in the file)."""

    def __init__(self, t):
        self.name = t.name.decode()
        self.dtype = t.dtype.decode()
        self.begin, self.end = t.begin, t.end
        self.shape = [t.dims[i] for i in range(t.ndims)]

    def __repr__(self):
        return "Tensor(%r, %s, %s)" % (self.name, self.dtype, self.shape)


class File:
    """One loaded file: path, size, offset (where it starts in the buffer), format, tensors, sha256."""

    def __init__(self, f):
        self.path = f.path.decode()
        self.size, self.offset, self.direct = f.size, f.offset, f.direct
        self.format = {1: "safetensors", 2: "gguf"}.get(f.model.format, "raw")
        self.tensors = [Tensor(f.model.tensors[i]) for i in range(f.model.ntensors)]
        self.sha256 = f.sha256.decode()


def _paths(paths):
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    enc = [os.fsencode(p) for p in paths]
    return (ctypes.c_char_p * len(enc))(*enc), len(enc)


def _opts(**kw):
    o = _Opts()
    library().asios_load_opts_default(ctypes.byref(o))
    for k, v in kw.items():
        setattr(o, k, v)
    return o


_DIRECT = {"auto": 0, "off": 1, "on": 2}
_WARM = {"uring": 0, "readahead": 1, "populate": 2}


class Model:
    """The files of a model in one buffer. `buffer` is a memoryview of all of it; close() (or the with block's
    end) unmaps it, after which views taken from it must not be used."""

    def __init__(self, res):
        self._res = res
        self.files = [File(res.files[i]) for i in range(res.nfiles)]
        self.bytes, self.seconds, self.node = res.bytes, res.seconds, res.node
        self.method = res.method.decode() if res.method else ""
        self.gbs = res.bytes / res.seconds / 1e9 if res.seconds > 0 else 0.0
        self.buffer = memoryview((ctypes.c_ubyte * res.len).from_address(ctypes.addressof(res.buf.contents))) \
            if res.len else memoryview(b"")

    def file_bytes(self, f):
        return self.buffer[f.offset:f.offset + f.size]

    def tensor_bytes(self, f, t):
        return self.buffer[f.offset + t.begin:f.offset + t.end]

    def close(self):
        if self._res is not None:
            self.buffer.release()
            library().asios_load_release(ctypes.byref(self._res))
            self._res = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


def _run(paths, opts):
    lib = library()
    files = ctypes.POINTER(ctypes.c_char_p)()
    n = ctypes.c_size_t()
    err = ctypes.create_string_buffer(4096)
    arr, k = _paths(paths)
    r = lib.asios_load_expand(arr, k, ctypes.byref(files), ctypes.byref(n), err, len(err))
    if r < 0:
        raise OSError(-r, err.value.decode(errors="replace"))
    res = _Result()
    try:
        r = lib.asios_load(files, n.value, ctypes.byref(opts), ctypes.byref(res), err, len(err))
    finally:
        lib.asios_load_strv_free(files, n.value)
    if r < 0:
        raise OSError(-r, err.value.decode(errors="replace"))
    return res


def load(paths, node=-1, direct="auto", depth=32, block=1 << 20, hugepages=False, check=True, sha256=False,
         register=False):
    """Read PATHS (files, or directories of .safetensors/.gguf files) into one buffer on NUMA node NODE (-1: no
    binding). Returns a Model."""
    return Model(_run(paths, _opts(target=0, direct=_DIRECT[direct], node=node, depth=depth, block=block,
                                   hugepages=hugepages, no_check=not check, sha256=sha256,
                                   register_buffers=register)))


def warm(paths, method="uring", depth=32, block=1 << 20, check=True):
    """Bring PATHS into the page cache (for servers that mmap them); returns {bytes, seconds, gbs, method}."""
    res = _run(paths, _opts(target=1, warm=_WARM[method], depth=depth, block=block, no_check=not check))
    out = {"bytes": res.bytes, "seconds": res.seconds, "method": res.method.decode() if res.method else "",
           "gbs": res.bytes / res.seconds / 1e9 if res.seconds > 0 else 0.0}
    library().asios_load_release(ctypes.byref(res))
    return out


def _pointer(obj):
    """(address, length, keep-alive) of a bytes-like object, or of an (address, length) pair (torch:
    (t.data_ptr(), t.numel() * t.element_size()))."""
    if isinstance(obj, tuple):
        return obj[0], obj[1], None
    mv = memoryview(obj).cast("B")
    if mv.readonly:
        keep = ctypes.c_char_p(bytes(mv)) if not isinstance(obj, bytes) else ctypes.c_char_p(obj)
        return ctypes.cast(keep, ctypes.c_void_p).value, mv.nbytes, keep
    arr = (ctypes.c_ubyte * mv.nbytes).from_buffer(mv)
    return ctypes.addressof(arr), mv.nbytes, (arr, mv)


def save(directory, items, method="direct", depth=8):
    """Write ITEMS ({file name: data}) into DIRECTORY as a checkpoint: temporary files, synced, read back from the
    disk and compared byte for byte, then renamed. DATA is a bytes-like object, an (address, length) pair, or a
    list of them written one after the other (a header and the tensors where they lie: nothing is copied).
    Returns {bytes, seconds, gbs, verify_seconds, method}."""
    lib = library()
    arr = (_Item * len(items))()
    keep = []
    for i, (name, obj) in enumerate(items.items()):
        bname = os.fsencode(name)
        keep.append(bname)
        if isinstance(obj, list):
            iov = (_Iovec * len(obj))()
            for k, piece in enumerate(obj):
                addr, length, hold = _pointer(piece)
                iov[k] = _Iovec(addr, length)
                keep.append(hold)
            keep.append(iov)
            arr[i] = _Item(bname, None, 0, iov, len(obj))
        else:
            addr, length, hold = _pointer(obj)
            keep.append(hold)
            arr[i] = _Item(bname, addr, length, None, 0)
    res = _CkptResult()
    err = ctypes.create_string_buffer(4096)
    r = lib.asios_ckpt_write(os.fsencode(directory), arr, len(items), 0 if method == "direct" else 1, depth,
                             ctypes.byref(res), err, len(err))
    if r < 0:
        raise OSError(-r, err.value.decode(errors="replace"))
    return {"bytes": res.bytes, "seconds": res.seconds, "verify_seconds": res.verify_seconds,
            "method": res.method.decode(), "gbs": res.bytes / res.seconds / 1e9 if res.seconds > 0 else 0.0}
