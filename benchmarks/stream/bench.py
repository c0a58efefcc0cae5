# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""STREAM-style memory bandwidth (benchmarks/stream/stream.c, OpenMP, best of 10), stock vs ASIOS placement.

baseline: the program as the stock system runs it (threads where the scheduler puts them, pages where they are
first touched, the machine's THP setting). asios: the same binary, its arrays touched, then placed by
`asiosctl numa apply` as a `[workload]` of numad.conf on the node of CPU 0 (CPUs of that node, pages migrated
there, AutoNUMA off for it) before the measured passes; `asiosctl numa revert` afterwards.
"""
import contextlib
import os
import signal
import subprocess

import benchlib

TITLE = "STREAM-style memory bandwidth: stock vs ASIOS NUMA placement"
METRICS = [("triad_mbs", "MB/s", "higher"), ("copy_mbs", "MB/s", "higher"), ("scale_mbs", "MB/s", "higher"),
           ("add_mbs", "MB/s", "higher")]
MODES = [("baseline", "stock"), ("asios", "ASIOS-placed")]
NOTES = ["One node (a VM like the build machines) leaves nothing to place: the ratio is then noise. On a "
         "multi-socket machine the ASIOS side measures one node's bandwidth with everything local, as an "
         "accelerator workload placed next to its GPU runs."]


def node_of_cpu0():
    for d in sorted(os.listdir("/sys/devices/system/cpu/cpu0")):
        if d.startswith("node") and d[4:].isdigit():
            return int(d[4:])
    return 0


def prepare(ctx):
    benchlib.need_root()
    ctx.state["stream"] = ctx.program("bench/stream")
    ctx.program("asiosctl")
    conf = os.path.join(ctx.tmp, "stream-numad.conf")
    with open(conf, "w") as f:
        f.write("[numad]\naccelerators = no\n[workload stream]\ncommand = *bench/stream --mib*\nnode = %d\n"
                % node_of_cpu0())
    ctx.state["stream.conf"] = conf


def _args(ctx):
    return ["--mib", "64" if ctx.quick else "0", "--ntimes", "4" if ctx.quick else "10"]


@contextlib.contextmanager
def tuned(ctx, mode):
    yield


def run(ctx, mode):
    cmd = [ctx.state["stream"]] + _args(ctx)
    if mode == "baseline":
        return _pick(benchlib.last_json(benchlib.sh(cmd)))
    p = subprocess.Popen(cmd + ["--wait"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if p.stderr.readline().strip() != "ready":
            raise RuntimeError("stream did not get ready: %s" % p.stderr.read()[-300:])
        conf = ctx.state["stream.conf"]
        seen = benchlib.sh([ctx.program("asiosctl"), "numa", "explain", "--config", conf, "--config-dir", os.path.join(ctx.tmp, "no-drop-ins")])
        if "pid %d " % p.pid not in seen:
            raise RuntimeError("asiosctl numa does not see the stream process as a workload:\n" + seen[-600:])
        with benchlib.asiosctl_applied(ctx, "numa", conf) as out:
            notes = ctx.state.setdefault("stream.notes", [])
            if not notes:
                notes.append("asiosctl numa apply on the first ASIOS repetition: " + out.strip().splitlines()[-1])
            p.send_signal(signal.SIGUSR1)
            stdout, stderr = p.communicate(timeout=600)
        if p.returncode:
            raise RuntimeError("stream failed: " + stderr[-300:])
        return _pick(benchlib.last_json(stdout))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def _pick(j):
    return {k: j[k] for k, _, _ in METRICS}
