# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""The layered cache in front of a slow remote model store, GB/s.

The remote: SHARDS safetensors files (tests/load/modelfiles.py) served by `rclone serve webdav` from a network
namespace, its link limited to RATE_MBIT by `tc tbf`, mounted on the host with `rclone mount` (tests/load/remote.py:
what stands in for NFS or an object store). The cache folder is on the local disk (BENCH_TMPDIR). The page cache is
dropped before every mode. Every mode is timed as the whole asios-load command, start to exit (listing, cache lookups
and fills, the load), over the bytes of the model.
  remote      asios-load read of the model straight from the mount: what a server without a cache gets
  cache-fill  asios-load read --cache of an empty cache: the first load (fill, checksums, entries committed)
  cache-hit   the same with the cache filled: the second load, from the local disk
  local       asios-load read of the same files on the local disk without a cache: local speed (the reference
              of the notes: the second load should be close to it)
"""
import contextlib
import json
import os
import shutil
import sys
import time

import benchlib

sys.path.insert(0, os.path.join(benchlib.TOP, "tests", "load"))
import modelfiles  # noqa: E402
import remote  # noqa: E402

TITLE = "Layered cache in front of a remote limited by tc: no cache vs first load (fill) vs second load vs local disk"
METRICS = [("gbs", "GB/s", "higher")]
REFERENCE = "local"
MODES = [("remote", "remote, no cache"), ("cache-fill", "first load (fill)"), ("cache-hit", "second load (hit)"),
         ("local", "local disk")]
RATE_MBIT = 800


def prepare(ctx):
    benchlib.need_root()
    ok, why = remote.available()
    if not ok:
        raise benchlib.Skip(why)
    ctx.state["loader"] = ctx.program("asios-load")
    shards, mib = (2, 16) if ctx.quick else (4, 64)
    src = os.path.join(ctx.tmp, "store")
    os.makedirs(src)
    ctx.state["files"] = [p for p in modelfiles.model(src, shards=shards, mib_per_shard=mib)
                          if p.endswith(".safetensors")]
    os.sync()
    r = remote.Remote(src, rate_mbit=RATE_MBIT, name="asiosbench", subnet="10.203.119.0/30")
    ctx.state["remote"] = r.__enter__()
    ctx.state["cache"] = os.path.join(ctx.tmp, "cache")
    ctx.state["storage-cache.notes"] = [
        "%d shards × %d MiB served over WebDAV from a network namespace at %d Mbit/s (%.0f MB/s); cache and local "
        "files on the disk of %s" % (shards, mib, RATE_MBIT, RATE_MBIT / 8 * 0.95, ctx.tmp)]


def cleanup(ctx):
    r = ctx.state.pop("remote", None)
    if r is not None:
        r.__exit__(None, None, None)
    for d in ("store", "cache"):
        shutil.rmtree(os.path.join(ctx.tmp, d), ignore_errors=True)


def on_remote(ctx):
    return [os.path.join(ctx.state["remote"].mount, os.path.basename(p)) for p in ctx.state["files"]]


def read(ctx, args, files):
    """asios-load read ARGS FILES: its report, with "wall_gbs" (the bytes over the command's time) added"""
    t = time.monotonic()
    out = benchlib.sh([ctx.state["loader"], "read", "--json"] + args + files)
    secs = time.monotonic() - t
    j = json.loads(out[out.index("{"):])
    j["wall_gbs"] = j["bytes"] / secs / 1e9
    return j


@contextlib.contextmanager
def tuned(ctx, mode):
    """cache-fill starts from an empty cache, cache-hit from a full one (filled here, not timed)"""
    if mode == "cache-fill":
        shutil.rmtree(ctx.state["cache"], ignore_errors=True)
    if mode == "cache-hit":
        read(ctx, ["--cache", ctx.state["cache"]], on_remote(ctx))
    benchlib.drop_caches()
    yield


def run(ctx, mode):
    if mode == "local":
        return {"gbs": read(ctx, [], ctx.state["files"])["wall_gbs"]}
    if mode == "remote":
        return {"gbs": read(ctx, [], on_remote(ctx))["wall_gbs"]}
    j = read(ctx, ["--cache", ctx.state["cache"]], on_remote(ctx))
    n = len(ctx.state["files"])
    want = {"cache-fill": ("misses", n), "cache-hit": ("hits", n)}[mode]
    if j.get("cache", {}).get(want[0]) != want[1]:
        raise RuntimeError("%s: expected %d %s, got %s" % (mode, want[1], want[0], j.get("cache")))
    return {"gbs": j["wall_gbs"]}
