# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""STREAM-style memory bandwidth (benchmarks/stream/stream.c, OpenMP, best of 10), stock vs ASIOS placement.

baseline: the program as the stock system runs it (threads where the scheduler puts them, pages where they are
first touched, the machine's THP setting). asios: the same binary, its arrays touched, then placed by
`asiosctl numa apply` as a `[workload]` of numad.conf on the node of CPU 0 (CPUs of that node, pages migrated
there, AutoNUMA off for it) before the measured passes; `asiosctl numa revert` afterwards.

Array size: STREAM's rule is 4 x the last-level cache. A VM may report its host's whole L3 (the build VMs report
508 MiB: 2 GiB arrays, 6 GiB touched per run, which alone took 19 of a 38-minute suite), so the suite caps each
array at BENCH_STREAM_MAX_MIB (default 1024) and says so in the report; BENCH_STREAM_MAX_MIB=0 keeps the rule.
"""
import contextlib
import os

import benchlib

TITLE = "STREAM-style memory bandwidth: stock vs ASIOS NUMA placement"
METRICS = [("triad_mbs", "MB/s", "higher"), ("copy_mbs", "MB/s", "higher"), ("scale_mbs", "MB/s", "higher"),
           ("add_mbs", "MB/s", "higher")]
MODES = [("baseline", "stock"), ("asios", "ASIOS-placed")]
NOTES = ["One node (a VM like the build machines) leaves nothing to place: the ratio is then noise. On a "
         "multi-socket machine the ASIOS side measures one node's bandwidth with everything local, as an "
         "accelerator workload placed next to its GPU runs."]


def prepare(ctx):
    benchlib.need_root()
    ctx.state["stream"] = ctx.program("bench/stream")
    ctx.program("asiosctl")
    ctx.state["stream.conf"] = benchlib.workload_conf(ctx, "stream", "*bench/stream --mib*")


def _max_mib():
    v = os.environ.get("BENCH_STREAM_MAX_MIB", "1024")
    if not v.isdigit():
        raise ValueError("BENCH_STREAM_MAX_MIB=%s: not a number of MiB" % v)
    return v


def _args(ctx):
    if ctx.quick:
        return ["--mib", "64", "--ntimes", "4"]
    return ["--mib", "0", "--max-mib", _max_mib(), "--ntimes", "10"]


@contextlib.contextmanager
def tuned(ctx, mode):
    yield


def run(ctx, mode):
    cmd = [ctx.state["stream"]] + _args(ctx)
    if mode == "baseline":
        return _pick(ctx, benchlib.last_json(benchlib.sh(cmd)))
    return _pick(ctx, benchlib.run_placed(ctx, cmd, ctx.state["stream.conf"], "stream.notes"))


def _pick(ctx, j):
    if "stream.size" not in ctx.state:  # once: the size every run used and whether it follows STREAM's rule
        mib, llc = j.get("array_mib", 0), j.get("llc_mib", 0)
        ctx.state["stream.size"] = mib
        ctx.state.setdefault("stream.notes", []).append(
            "arrays of %d MiB each, %d MiB touched per pass of add/triad; last-level cache reported: %d MiB%s" % (
                mib, 3 * mib, llc, "" if mib >= 4 * llc else
                " (below STREAM's 4 x LLC: --quick, or capped by BENCH_STREAM_MAX_MIB)"))
    return {k: j[k] for k, _, _ in METRICS}
