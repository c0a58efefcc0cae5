# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""Model loading from storage, cold cache: how fast a set of model shards gets from disk into memory.

Files: SHARDS files of random data (a model's safetensors shards) in BENCH_TMPDIR (default /var/tmp: a real
disk, not tmpfs), written once. Before every read the page cache is dropped.
  stock        buffered read(2) of each shard in turn (what a naive loader does), the disk's read-ahead as the
               stock kernel sets it (128 KiB)
  asios-base   the same reader with asios-base's read-ahead (its udev rule, packages/asios-base/block.rules)
  asios-uring  our loader (benchmarks/storage/loader.c): io_uring, registered buffers and files, O_DIRECT,
               32 reads of 1 MiB in flight over all shards at once
  fio-best     the peer: fio over the same files, best of several io_uring/libaio configurations (the device's
               practical limit); its median is the reference the others are compared with in the notes
"""
import contextlib
import fnmatch
import json
import os
import re

import benchlib

TITLE = "Model loading, cold cache: stock buffered vs ASIOS read-ahead vs ASIOS io_uring loader vs fio's best"
METRICS = [("gbs", "GB/s", "higher")]
REFERENCE = "fio"
MODES = [("stock", "stock buffered"), ("asios-base", "ASIOS read-ahead"), ("asios-uring", "ASIOS io_uring"),
         ("fio", "fio best")]
STOCK_READ_AHEAD_KB = 128
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
    """SHARDS files of MIB MiB of random data (a model's safetensors shards) in ctx.tmp/shards, synced: (the
    folder, the files)"""
    d = os.path.join(ctx.tmp, "shards")
    os.makedirs(d)
    files = []
    for i in range(shards):
        f = os.path.join(d, "model-%05d-of-%05d.safetensors" % (i + 1, shards))
        with open(f, "wb") as out:
            for _ in range(mib):
                out.write(os.urandom(1 << 20))
        files.append(f)
    os.sync()
    return d, files


def prepare(ctx):
    benchlib.need_root()
    benchlib.need_tool("fio")
    ctx.state["loader"] = ctx.program("bench/loader")
    shards, mib = (4, 64) if ctx.quick else (8, 256)
    d, ctx.state["files"] = write_shards(ctx, shards, mib)
    ctx.state["queue"] = block_queue(d)
    ctx.state["ra"] = asios_read_ahead_kb(ctx.state["queue"])
    ctx.state["storage.notes"] = ["%d shards × %d MiB on the disk behind %s; read-ahead stock %d KiB, ASIOS %d KiB" % (
        shards, mib, ctx.state["queue"], STOCK_READ_AHEAD_KB, ctx.state["ra"])]


def cleanup(ctx):
    for f in ctx.state.get("files", []):
        os.unlink(f)


@contextlib.contextmanager
def tuned(ctx, mode):
    ra = ctx.state["ra"] if mode == "asios-base" else STOCK_READ_AHEAD_KB
    with benchlib.knobs({os.path.join(ctx.state["queue"], "read_ahead_kb"): ra}):
        benchlib.drop_caches()
        yield


def fio_best(ctx):
    best = 0.0
    size = sum(os.path.getsize(f) for f in ctx.state["files"])
    for engine, bs, depth, jobs in FIO_CONFIGS[:2] if ctx.quick else FIO_CONFIGS:
        benchlib.drop_caches()
        out = benchlib.sh(["fio", "--name=load", "--rw=read", "--direct=1", "--ioengine=" + engine, "--bs=" + bs,
                           "--iodepth=%d" % depth, "--numjobs=%d" % jobs, "--group_reporting",
                           "--filename=" + ":".join(ctx.state["files"]), "--size=%d" % size,
                           "--output-format=json"])
        j = json.loads(out[out.index("{"):])
        gbs = j["jobs"][0]["read"]["bw_bytes"] / 1e9
        best = max(best, gbs)
    return best


def run(ctx, mode):
    if mode == "fio":
        return {"gbs": fio_best(ctx)}
    args = ["--mode", "uring"] if mode == "asios-uring" else ["--mode", "buffered", "--block", "128"]
    out = benchlib.sh([ctx.state["loader"]] + args + ctx.state["files"])
    j = benchlib.last_json(out)
    return {"gbs": j["gbs"]}
