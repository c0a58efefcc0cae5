# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""Auto-tuning for random reads (fio, 4 KiB buffered random reads of a file on a real disk, cold cache): the
block knobs `asiosctl tune` finds from stock, against the static choices.

A data loader that samples records from a large dataset file reads it at random; read-ahead then fetches data
nobody asked for. The objective is fio's IOPS over a 1 GiB file in BENCH_TMPDIR (default /var/tmp), psync, 4
jobs, 4 KiB, the page cache dropped first, with fio's fadvise hint off (a loader does not tell the kernel its
pattern).
  stock        the kernel's read-ahead (128 KiB), nr_requests and rq_affinity
  tuned        TuneD's throughput-performance ([disk] readahead from the installed profile)
  asios-base   asios-base's read-ahead for this disk (its udev rule)
  asios-tune   what `asiosctl tune --knobs read_ahead_kb,nr_requests,rq_affinity` kept from stock with the same
               fio run as its objective (budget: 60 runs)
"""
import contextlib
import json
import os
import sys

import benchlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "storage"))
import bench as storage  # noqa: E402  (its disk and read-ahead helpers)

tune = benchlib.load_module(os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench.py"), "bench_tune_seq")

TITLE = "Auto-tuning 4 KiB random reads (fio IOPS): stock vs TuneD throughput-performance vs asios-base vs asiosctl tune"
METRICS = [("iops", "IOPS", "higher")]
MODES = tune.MODES
KNOBS = ("read_ahead_kb", "nr_requests", "rq_affinity")


def fio_cmd(ctx):
    secs = 2 if ctx.quick else 4
    return ["fio", "--name=randread", "--filename=" + ctx.state["file"], "--rw=randread", "--bs=4k",
            "--ioengine=psync", "--numjobs=4", "--group_reporting", "--fadvise_hint=0", "--invalidate=1",
            "--time_based", "--runtime=%d" % secs, "--output-format=json"]


def iops(out):
    return json.loads(out[out.index("{"):])["jobs"][0]["read"]["iops"]


def objective(ctx):
    path = os.path.join(ctx.tmp, "randread-objective.py")
    with open(path, "w") as f:
        f.write("import json, subprocess\n"
                "open('/proc/sys/vm/drop_caches', 'w').write('3\\n')\n"
                "out = subprocess.run(%r, capture_output=True, text=True, check=True).stdout\n"
                "print('iops %%s' %% json.loads(out[out.index('{'):])['jobs'][0]['read']['iops'])\n" % fio_cmd(ctx))
    return "%s %s" % (sys.executable, path)


def prepare(ctx):
    benchlib.need_root()
    benchlib.need_tool("fio")
    d = os.path.join(ctx.tmp, "dataset")
    os.makedirs(d)
    f = ctx.state["file"] = os.path.join(d, "records.bin")
    mib = 256 if ctx.quick else 1024
    with open(f, "wb") as out:
        for _ in range(mib):
            out.write(os.urandom(1 << 20))
    os.sync()
    q = ctx.state["queue"] = storage.block_queue(d)
    stock = {k: int(open(os.path.join(q, k)).read()) for k in KNOBS}
    stock["read_ahead_kb"] = tune.STOCK_READ_AHEAD_KB
    ctx.state["values"] = {"stock": stock, "tuned": dict(stock, read_ahead_kb=tune.tuned_read_ahead_kb()),
                           "asios-base": dict(stock, read_ahead_kb=storage.asios_read_ahead_kb(q))}
    ctx.state["tune-randread.notes"] = ["a %d MiB file on the disk behind %s; fio 4 KiB psync random reads, 4 jobs, "
                                        "fadvise hint off, cold cache" % (mib, q)]
    values, note = tune.run_tuner(ctx, objective(ctx), list(KNOBS), stock, 24 if ctx.quick else 60)
    ctx.state["tune-randread.notes"].append(note)
    ctx.state["values"]["asios-tune"] = dict(stock, **values)
    ctx.state["tune-randread.notes"].append("settings: " + "; ".join(
        "%s %s" % (m, " ".join("%s %d" % kv for kv in v.items())) for m, v in ctx.state["values"].items()))


def cleanup(ctx):
    if "file" in ctx.state:
        os.unlink(ctx.state["file"])


@contextlib.contextmanager
def tuned(ctx, mode):
    q = ctx.state["queue"]
    with benchlib.knobs({os.path.join(q, k): v for k, v in ctx.state["values"][mode].items()}):
        benchlib.drop_caches()
        yield


def run(ctx, mode):
    return {"iops": iops(benchlib.sh(fio_cmd(ctx)))}
