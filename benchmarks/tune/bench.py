# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""Auto-tuning for buffered large-file reads (cold cache): what read-ahead and queue depth make model shards load
fastest on this disk, found by `asiosctl tune` from stock, against the static choices.

Files: SHARDS files of random data in BENCH_TMPDIR (default /var/tmp: a real disk), written once; the reader is
a buffered reader (read(2) of 128 KiB into one buffer, one shard after the other: reader.py, written beside the
shards), the page cache dropped before every read.
  stock        the kernel's read-ahead (128 KiB) and nr_requests
  tuned        TuneD's throughput-performance: its [disk] readahead (read from the installed profile)
  asios-base   asios-base's read-ahead (its udev rule, packages/asios-base/block.rules)
  asios-tune   what `asiosctl tune --knobs read_ahead_kb,nr_requests` kept, tuning from stock with the same
               reader as its objective (budget: 60 runs) before the side-by-side repetitions
"""
import contextlib
import json
import os
import re
import subprocess
import sys

import benchlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "storage"))
import bench as storage  # noqa: E402  (its disk and read-ahead helpers)

TITLE = "Auto-tuning buffered model loading: stock vs TuneD throughput-performance vs asios-base vs asiosctl tune"
METRICS = [("gbs", "GB/s", "higher")]
MODES = [("stock", "stock"), ("tuned", "TuneD throughput-perf."), ("asios-base", "asios-base"),
         ("asios-tune", "asiosctl tune")]
STOCK_READ_AHEAD_KB = 128
TUNED_PROFILE = "/usr/lib/tuned/throughput-performance/tuned.conf"


def tuned_read_ahead_kb():
    """[disk] readahead of TuneD's throughput-performance (">" only raises it: from stock, it is the value)"""
    try:
        text = open(TUNED_PROFILE).read()
    except FileNotFoundError:
        raise benchlib.Skip("TuneD is not installed (%s; make bench-deps installs it)" % TUNED_PROFILE)
    m = re.search(r"^\[disk\][^\[]*?^readahead\s*=\s*>?\s*(\d+)\s*$", text, re.M | re.S)
    if not m:
        raise RuntimeError("%s: no [disk] readahead in KiB" % TUNED_PROFILE)
    return int(m.group(1))


READER = """import os, sys, time
buf = bytearray(128 << 10)
t = time.monotonic(); n = 0
for f in sys.argv[1:]:
    fd = os.open(f, os.O_RDONLY)
    while True:
        got = os.readv(fd, [buf])
        if not got:
            break
        n += got
    os.close(fd)
print('{"gbs": %f}' % (n / (time.monotonic() - t) / 1e9))
"""


def reader(ctx):
    """the buffered reader: read(2) of 128 KiB into one buffer, one shard after the other (a naive loader); the
    command that runs it"""
    path = os.path.join(ctx.tmp, "reader.py")
    with open(path, "w") as f:
        f.write(READER)
    return [sys.executable, path]


def objective(ctx):
    """the tuner's objective: the same cold-cache buffered read, its GB/s"""
    path = os.path.join(ctx.tmp, "objective.py")
    with open(path, "w") as f:
        f.write("import json, subprocess, sys\n"
                "open('/proc/sys/vm/drop_caches', 'w').write('3\\n')\n"
                "out = subprocess.run(%r, capture_output=True, text=True, check=True).stdout\n"
                "print('gbs %%s' %% json.loads(out.strip().splitlines()[-1])['gbs'])\n"
                % (ctx.state["reader"] + ctx.state["files"]))
    return "%s %s" % (sys.executable, path)


def run_tuner(ctx, objective_cmd, knobs, start, budget):
    """asiosctl tune of KNOBS on the disk of ctx.state["queue"] from START ({knob: value}) with OBJECTIVE_CMD
    (maximised); its kept values, then reverted (the modes set them themselves), and a note of its trials"""
    q = ctx.state["queue"]
    disk = os.path.basename(os.path.dirname(q))
    with benchlib.knobs({os.path.join(q, k): v for k, v in start.items()}):
        p = subprocess.run([ctx.program("asiosctl"), "tune", "--objective", objective_cmd, "--maximize",
                            "--knobs", ",".join(knobs), "--objects", disk, "--budget", str(budget), "--json"],
                           capture_output=True, text=True)
        subprocess.run([ctx.program("asiosctl"), "tune", "revert"], capture_output=True)
    if p.returncode != 0:
        raise RuntimeError("asiosctl tune failed: %s" % p.stderr.strip()[-500:])
    r = json.loads(p.stdout)
    values = {s["knob"]: s["result"] for s in r["settings"]}
    steps = ["%s %d->%d %s (p %.3g)" % (t["knob"], t["from"], t["to"], t["decision"], t.get("p", 1))
             for t in r["trials"]]
    ctx.log("asiosctl tune: %s" % "; ".join(steps))
    return values, "asiosctl tune (%d runs of %d, %d comparisons, %d kept; from stock): %s; kept: %s" % (
        r["runs"], budget, r["trials_run"], r["kept"], "; ".join(steps), ", ".join("%s %s" % kv for kv in values.items()))


def tune(ctx):
    values, note = run_tuner(ctx, objective(ctx), ["read_ahead_kb", "nr_requests"],
                             {"read_ahead_kb": STOCK_READ_AHEAD_KB}, 24 if ctx.quick else 60)
    ctx.state["tune.notes"].append(note)
    return values


def prepare(ctx):
    benchlib.need_root()
    ctx.state["reader"] = reader(ctx)
    shards, mib = (2, 32) if ctx.quick else (4, 128)
    d, ctx.state["files"] = storage.write_shards(ctx, shards, mib)
    what = "%d shards × %d MiB" % (shards, mib)
    q = ctx.state["queue"] = storage.block_queue(d)
    with open(os.path.join(q, "nr_requests")) as f:
        nr = int(f.read())
    ctx.state["values"] = {
        "stock": {"read_ahead_kb": STOCK_READ_AHEAD_KB, "nr_requests": nr},
        "tuned": {"read_ahead_kb": tuned_read_ahead_kb(), "nr_requests": nr},
        "asios-base": {"read_ahead_kb": storage.asios_read_ahead_kb(q), "nr_requests": nr},
    }
    ctx.state["tune.notes"] = ["%s on the disk behind %s, buffered read(2) of 128 KiB, cold cache" % (what, q)]
    ctx.state["values"]["asios-tune"] = dict(ctx.state["values"]["stock"], **tune(ctx))
    ctx.state["tune.notes"].append("settings: " + "; ".join(
        "%s read_ahead_kb %d nr_requests %d" % (m, v["read_ahead_kb"], v["nr_requests"])
        for m, v in ctx.state["values"].items()))


def cleanup(ctx):
    for f in ctx.state.get("files", []):
        os.unlink(f)


@contextlib.contextmanager
def tuned(ctx, mode):
    q = ctx.state["queue"]
    v = ctx.state["values"][mode]
    with benchlib.knobs({os.path.join(q, k): v[k] for k in ("read_ahead_kb", "nr_requests")}):
        benchlib.drop_caches()
        yield


def run(ctx, mode):
    out = benchlib.sh(ctx.state["reader"] + ctx.state["files"])
    return {"gbs": benchlib.last_json(out)["gbs"]}
