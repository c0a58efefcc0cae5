# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""Model loading from storage, cold cache: how fast a set of model shards gets from disk into memory.

Files: SHARDS safetensors files (tests/load/modelfiles.py: BF16 layers) in BENCH_TMPDIR (default /var/tmp: a real
disk, not tmpfs), written once. Before every read the page cache is dropped.
  stock        `cat` of the shards (a buffered reader), the disk's read-ahead as the stock kernel sets it (128 KiB)
  asios-base   the same with asios-base's read-ahead (its udev rule, packages/asios-base/block.rules)
  python       Python reading each shard into memory (what safetensors' load() does before making tensors)
  torch        each shard read (readinto, no second copy) into a bytearray, then torch.frombuffer per tensor
               (Debian's python3-torch; left out when it is missing)
  asios-read   asios-load read: io_uring, O_DIRECT, 32 reads of 1 MiB in flight over all shards, one buffer of small
               pages (its defaults)
  asios-pinned the same with --hugepages --register: huge pages, the buffer registered (pinned) before the reads
  asios-warm   asios-load warm: the shards into the page cache (for servers that mmap them)
  mmap-cold    a server's mmap of the shards, every page touched, from a cold cache
  mmap-warm    the same right after asios-load warm (the warm itself not counted): page-cache speed
  fio          the peer: fio over the same files in the best of several io_uring/libaio configurations, picked
               once before the repetitions (the device's practical limit); its median is the reference the others
               are compared with in the notes
"""
import contextlib
import fnmatch
import json
import os
import re
import subprocess
import sys
import time

import benchlib

sys.path.insert(0, os.path.join(benchlib.TOP, "tests", "load"))
import modelfiles  # noqa: E402

PY = "/usr/bin/python3"
HAVE_TORCH = subprocess.run([PY, "-c", "import torch"], capture_output=True).returncode == 0

TITLE = ("Model loading, cold cache: buffered readers and Python vs asios-load (buffer, page cache) vs fio's best; "
         "mmap after asios-load warm")
METRICS = [("gbs", "GB/s", "higher")]
REFERENCE = "fio"
MODES = [("stock", "cat (stock RA)"), ("asios-base", "cat (ASIOS RA)"), ("python", "Python read")] + \
    ([("torch", "PyTorch frombuffer")] if HAVE_TORCH else []) + \
    [("asios-read", "asios-load read"), ("asios-pinned", "asios-load, huge+registered"),
     ("asios-warm", "asios-load warm"), ("mmap-cold", "mmap, cold"),
     ("mmap-warm", "mmap after warm"), ("fio", "fio best")]
STOCK_READ_AHEAD_KB = 128
# seconds of quiet before every mode, after the page cache is dropped: the previous mode's memory (up to the model's
# size, pinned or in huge pages) is freed by the kernel in the background, and a guest with free page reporting
# hands it back to its host; a mode started at once measured up to 2.5 times slower after another loader
SETTLE_S = 3
FIO_CONFIGS = [("io_uring", "1M", 32, 1), ("io_uring", "4M", 16, 1), ("libaio", "1M", 32, 1), ("io_uring", "1M", 8, 4)]


def block_queue(path):
    """/sys/block/<disk>/queue of the disk holding PATH (the whole disk when it is a partition)."""
    st = os.stat(path)
    dev = "/sys/dev/block/%d:%d" % (os.major(st.st_dev), os.minor(st.st_dev))
    if not os.path.exists(dev):
        raise benchlib.Skip("%s is not on a block device (tmpfs or overlay?); set BENCH_TMPDIR" % path)
    real = os.path.realpath(dev)
    q = os.path.join(real, "queue")
    if not os.path.isdir(q):  # a partition: its disk is the parent
        q = os.path.join(os.path.dirname(real), "queue")
    if not os.path.exists(os.path.join(q, "read_ahead_kb")):
        raise benchlib.Skip("no read_ahead_kb for the disk of %s (device-mapper or md stacks are not handled)" % path)
    return q


def asios_read_ahead_kb(queue):
    """the read-ahead asios-base's udev rule (packages/asios-base/block.rules) sets on the disk of QUEUE"""
    disk = os.path.basename(os.path.dirname(queue))
    rules = open(os.path.join(benchlib.TOP, "packages", "asios-base", "block.rules")).read().replace("\\\n", " ")
    for line in rules.splitlines():
        kernel = re.search(r'KERNEL=="([^"]+)"', line)
        value = re.search(r'ATTR\{queue/read_ahead_kb\}="(\d+)"', line)
        if kernel and value and any(fnmatch.fnmatch(disk, k) for k in kernel.group(1).split("|")):
            return int(value.group(1))
    raise benchlib.Skip("packages/asios-base/block.rules sets no read-ahead on %s" % disk)


def write_shards(ctx, shards, mib):
    """SHARDS safetensors files of about MIB MiB in ctx.tmp/shards, synced: (the folder, the files)"""
    d = os.path.join(ctx.tmp, "shards")
    os.makedirs(d)
    files = [p for p in modelfiles.model(d, shards=shards, mib_per_shard=mib) if p.endswith(".safetensors")]
    os.sync()
    return d, files


def prepare(ctx):
    benchlib.need_root()
    benchlib.need_tool("fio")
    ctx.state["loader"] = ctx.program("asios-load")
    shards, mib = (4, 64) if ctx.quick else (8, 256)
    d, ctx.state["files"] = write_shards(ctx, shards, mib)
    ctx.state["queue"] = block_queue(d)
    ctx.state["ra"] = asios_read_ahead_kb(ctx.state["queue"])
    ctx.state["storage.notes"] = ["%d shards × %d MiB on the disk behind %s; read-ahead stock %d KiB, ASIOS %d KiB" % (
        shards, mib, ctx.state["queue"], STOCK_READ_AHEAD_KB, ctx.state["ra"])] + \
        ([] if HAVE_TORCH else ["python3-torch is not installed: the PyTorch mode is left out"])
    fio_pick(ctx)


def cleanup(ctx):
    for f in os.listdir(os.path.join(ctx.tmp, "shards")) if os.path.isdir(os.path.join(ctx.tmp, "shards")) else []:
        os.unlink(os.path.join(ctx.tmp, "shards", f))


@contextlib.contextmanager
def tuned(ctx, mode):
    ra = ctx.state["ra"] if mode == "asios-base" else STOCK_READ_AHEAD_KB
    with benchlib.knobs({os.path.join(ctx.state["queue"], "read_ahead_kb"): ra}):
        benchlib.drop_caches()
        time.sleep(SETTLE_S)
        yield


def stamps(files):
    return [(os.stat(f).st_size, os.stat(f).st_mtime_ns) for f in files]


def fio_run(files, config):
    engine, bs, depth, jobs = config
    out = benchlib.sh(["fio", "--readonly", "--name=load", "--rw=read", "--direct=1", "--ioengine=" + engine,
                       "--bs=" + bs, "--iodepth=%d" % depth, "--numjobs=%d" % jobs, "--group_reporting",
                       "--filename=" + ":".join(files), "--output-format=json"])
    return json.loads(out[out.index("{"):])["jobs"][0]["read"]["bw_bytes"] / 1e9


def fio_pick(ctx):
    """fio's best configuration over the shards, each tried once from a cold cache (in prepare, not counted): the
    measured mode then runs that one configuration once per repetition, like every other mode (a best of four
    per repetition would be a maximum set against single runs). --readonly, and no --size: with a size, fio
    splits it evenly over the files and "lays out" (rewrites) any shard shorter than its share."""
    files = ctx.state["files"]
    before = stamps(files)
    tried = []
    for config in FIO_CONFIGS[:2] if ctx.quick else FIO_CONFIGS:
        benchlib.drop_caches()
        tried.append((fio_run(files, config), config))
    if stamps(files) != before:
        raise RuntimeError("fio changed the shards (size or mtime): the benchmark's files are void")
    gbs, best = max(tried)
    ctx.state["fio"] = best
    ctx.state["storage.notes"].append("fio's configurations tried once each: " + ", ".join(
        "%s bs=%s depth=%d jobs=%d %.2f GB/s" % (c + (g,)) for g, c in tried) + "; the best is the fio mode")


PY_READ = """
import sys, time
t = time.monotonic(); n = 0
for f in sys.argv[1:]:
    with open(f, "rb") as i:
        b = i.read()
    n += len(b)
print('{"gbs": %f}' % (n / (time.monotonic() - t) / 1e9))
"""
TORCH_READ = """
import json, os, struct, sys, time, torch
t = time.monotonic(); n = 0; keep = []
for f in sys.argv[1:]:
    b = bytearray(os.path.getsize(f))
    with open(f, "rb", buffering=0) as i:
        i.readinto(b)
    h = struct.unpack("<Q", b[:8])[0]
    for k, v in json.loads(b[8:8 + h]).items():
        if k != "__metadata__":
            s, e = v["data_offsets"]
            keep.append(torch.frombuffer(b, dtype=torch.bfloat16, offset=8 + h + s, count=(e - s) // 2))
    n += len(b)
print('{"gbs": %f}' % (n / (time.monotonic() - t) / 1e9))
"""
MMAP_READ = """
import mmap, sys, time
t = time.monotonic(); n = 0
for f in sys.argv[1:]:
    with open(f, "rb") as i, mmap.mmap(i.fileno(), 0, prot=mmap.PROT_READ) as m:
        s = 0
        for off in range(0, len(m), 4096):
            s += m[off]
        n += len(m)
print('{"gbs": %f}' % (n / (time.monotonic() - t) / 1e9))
"""


def python(script, files):
    return benchlib.last_json(benchlib.sh([PY, "-c", script] + files))["gbs"]


def run(ctx, mode):
    files = ctx.state["files"]
    if mode == "fio":
        return {"gbs": fio_run(files, ctx.state["fio"])}
    if mode in ("stock", "asios-base"):
        size = sum(os.path.getsize(f) for f in files)
        t = time.monotonic()
        benchlib.sh(["sh", "-c", 'cat "$@" > /dev/null', "cat"] + files)
        return {"gbs": size / (time.monotonic() - t) / 1e9}
    if mode in ("python", "torch", "mmap-cold"):
        return {"gbs": python({"python": PY_READ, "torch": TORCH_READ, "mmap-cold": MMAP_READ}[mode], files)}
    if mode == "mmap-warm":
        benchlib.sh([ctx.state["loader"], "warm"] + files)
        return {"gbs": python(MMAP_READ, files)}
    args = {"asios-read": ["read"], "asios-pinned": ["read", "--hugepages", "--register"], "asios-warm": ["warm"]}[mode]
    out = benchlib.sh([ctx.state["loader"]] + args + ["--json"] + files)
    return {"gbs": json.loads(out[out.index("{"):])["gbs"]}
