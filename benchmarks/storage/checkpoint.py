# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""Checkpoint writes: a training job's tensors from memory to durable files on disk, GB/s.

The tensors: SHARDS state dicts of BF16 tensors of 16 MiB each (MIB MiB per shard, random, a fixed seed), made in
a fresh Python process before the clock starts. The clock runs from the tensors in memory to the files durable
on the disk under their final names; every mode then proves what it wrote (not timed): the page cache of the files
is dropped and each shard is read back from the disk and compared with the tensors, tensor by tensor.
  torch-save      torch.save of each shard into a temporary file, flush, fsync, rename, fsync of the folder: what
                  a careful trainer does with PyTorch alone (torch.save itself does not sync)
  asios-buffered  each shard as a safetensors file, its header and then the tensors where they lie in memory (no
                  copy), written with asios_load.save(method="buffered"): write(2), fdatasync, read back from the
                  disk and compared byte for byte with the tensors, renamed, the folder synced
  asios-direct    the same with method="direct": O_DIRECT writes through io_uring, 8 × 4 MiB in flight (the
                  tensors are copied into aligned buffers as they go)
  fio             the peer: fio writing the same number of bytes, O_DIRECT, io_uring, 1 MiB × 32 in flight, with an
                  fsync at the end: the device's practical write limit (the reference of the notes)
The asios modes' time includes their own read-back check, which torch.save does not do.
"""
import contextlib
import json
import os
import shutil
import statistics
import subprocess

import benchlib

PY = "/usr/bin/python3"
HAVE_TORCH = subprocess.run([PY, "-c", "import torch"], capture_output=True).returncode == 0

TITLE = "Checkpoint writes, durable: torch.save + fsync vs asios-load's checkpoint writer (buffered, O_DIRECT) vs fio"
METRICS = [("gbs", "GB/s", "higher")]
REFERENCE = "fio"
MODES = [("torch-save", "torch.save + fsync"), ("asios-buffered", "asios-load buffered"),
         ("asios-direct", "asios-load O_DIRECT"), ("fio", "fio write")]

# argv: mode, out folder, shards, MiB per shard, the folder of asios_load.py; prints one JSON object
SAVE = r"""
import json, os, struct, sys, time, torch
mode, out, shards, mib = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
sys.path.insert(0, sys.argv[5])
import asios_load
ELEMS = 8 << 20  # 16 MiB of BF16
gen = torch.Generator().manual_seed(1234)
state = [{"layers.%d.w%d" % (s, i): torch.rand(ELEMS, generator=gen).to(torch.bfloat16)
          for i in range(mib // 16)} for s in range(shards)]
total = sum(t.numel() * 2 for sd in state for t in sd.values())


def pieces(sd):  # a safetensors file of SD as pieces: its header, then each tensor where it lies (no copy)
    header, at = {}, 0
    for k, t in sd.items():
        header[k] = {"dtype": "BF16", "shape": [t.numel()], "data_offsets": [at, at + t.numel() * 2]}
        at += t.numel() * 2
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return [struct.pack("<Q", len(h)) + h] + [(t.data_ptr(), t.numel() * 2) for t in sd.values()]


def safetensors(sd):  # the same file as bytes (for the check)
    p = pieces(sd)
    return p[0] + b"".join(t.view(torch.int16).numpy().tobytes() for t in sd.values())


t0 = time.monotonic()
extra = {}
if mode == "torch-save":
    for s, sd in enumerate(state):
        tmp, final = os.path.join(out, ".shard-%d.pt.partial" % s), os.path.join(out, "shard-%d.pt" % s)
        with open(tmp, "wb") as f:
            torch.save(sd, f)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, final)
    d = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    os.fsync(d)
    os.close(d)
else:
    items = {"shard-%d.safetensors" % s: pieces(sd) for s, sd in enumerate(state)}
    r = asios_load.save(out, items, method=mode.split("-")[1])
    extra = {"write_gbs": r["gbs"], "verify_s": r["verify_seconds"], "method": r["method"]}
secs = time.monotonic() - t0

# the proof, not timed: the files from the disk equal the tensors
for f in os.listdir(out):
    fd = os.open(os.path.join(out, f), os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # clean after the sync: the next read goes to the disk
    os.close(fd)
for s, sd in enumerate(state):
    if mode == "torch-save":
        back = torch.load(os.path.join(out, "shard-%d.pt" % s))
        same = back.keys() == sd.keys() and all(torch.equal(back[k], t) for k, t in sd.items())
    else:
        with open(os.path.join(out, "shard-%d.safetensors" % s), "rb") as f:
            same = f.read() == safetensors(sd)
    if not same:
        sys.exit("%s: shard %d read back from the disk differs from the tensors" % (mode, s))
print(json.dumps(dict(extra, gbs=total / secs / 1e9, bytes=total, seconds=secs)))
"""


def prepare(ctx):
    benchlib.need_root()
    benchlib.need_tool("fio")
    if not HAVE_TORCH:
        raise benchlib.Skip("python3-torch is not installed (make bench installs benchmarks/deps.list)")
    lib = os.path.join(ctx.build, "libasios-load.so.0")
    if not os.path.exists(lib):
        raise benchlib.Skip("%s is not built (make all)" % lib)
    ctx.state["env"] = dict(os.environ, ASIOS_LOAD_LIB=lib)
    ctx.state["shards"], ctx.state["mib"] = (2, 32) if ctx.quick else (4, 256)
    ctx.state["extra"] = {}
    ctx.state["checkpoint.notes"] = [
        "%d shards × %d MiB of BF16 tensors in %s; every mode's files were read back from the disk and compared "
        "with the tensors" % (ctx.state["shards"], ctx.state["mib"], ctx.tmp)]


def out_dir(ctx, mode):
    d = os.path.join(ctx.tmp, "ckpt-" + mode)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def cleanup(ctx):
    for mode, _ in MODES:
        shutil.rmtree(os.path.join(ctx.tmp, "ckpt-" + mode), ignore_errors=True)


@contextlib.contextmanager
def tuned(ctx, mode):
    """every mode starts with nothing dirty and a cold page cache"""
    os.sync()
    benchlib.drop_caches()
    yield


def fio_write(ctx, d):
    size = ctx.state["shards"] * ctx.state["mib"] << 20
    out = benchlib.sh(["fio", "--name=ckpt", "--rw=write", "--direct=1", "--ioengine=io_uring", "--bs=1M",
                       "--iodepth=32", "--end_fsync=1", "--filename=" + os.path.join(d, "fio.bin"),
                       "--size=%d" % size, "--output-format=json"])
    j = json.loads(out[out.index("{"):])
    return {"gbs": j["jobs"][0]["write"]["bw_bytes"] / 1e9}


def run(ctx, mode):
    d = out_dir(ctx, mode)
    if mode == "fio":
        return fio_write(ctx, d)
    here = os.path.join(benchlib.TOP, "packages", "asios-load")
    j = benchlib.last_json(benchlib.sh([PY, "-c", SAVE, mode, d, str(ctx.state["shards"]), str(ctx.state["mib"]),
                                        here], env=ctx.state["env"]))
    if "write_gbs" in j:
        w, v = ctx.state["extra"].setdefault(mode, ([], []))
        w.append(j["write_gbs"])
        v.append(j["verify_s"])
        split = "asios-load's own split, medians (write until durable; read-back check): " + ", ".join(
            "%s %.2f GB/s; %.2f s" % (m, statistics.median(w), statistics.median(v))
            for m, (w, v) in sorted(ctx.state["extra"].items()))
        ctx.state["checkpoint.notes"] = ctx.state["checkpoint.notes"][:1] + [split]
    return {"gbs": j["gbs"]}
