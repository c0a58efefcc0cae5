# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""STREAM-style memory bandwidth (benchmarks/stream/stream.c, OpenMP, best of 10), stock vs ASIOS placement.

baseline: the program as the stock system runs it (threads where the scheduler puts them, pages where they are
first touched, the machine's THP setting). asios: the same binary, its arrays touched, then placed by
`asiosctl numa apply` as a `[workload]` of numad.conf on the node of CPU 0 (CPUs of that node, pages migrated
there, AutoNUMA off for it) before the measured passes; `asiosctl numa revert` afterwards.
"""
import contextlib

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


def _args(ctx):
    return ["--mib", "64" if ctx.quick else "0", "--ntimes", "4" if ctx.quick else "10"]


@contextlib.contextmanager
def tuned(ctx, mode):
    yield


def run(ctx, mode):
    cmd = [ctx.state["stream"]] + _args(ctx)
    if mode == "baseline":
        return _pick(benchlib.last_json(benchlib.sh(cmd)))
    return _pick(benchlib.run_placed(ctx, cmd, ctx.state["stream.conf"], "stream.notes"))


def _pick(j):
    return {k: j[k] for k, _, _ in METRICS}
