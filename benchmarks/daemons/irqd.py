# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""asios-irqd vs irqbalance on this machine: peak RSS and CPU time per hour once settled, idle. (Placement
quality on the fixture machines and the reaction to a new IRQ: `make bench-irqd`.)"""
import contextlib
import glob
import shutil
import subprocess

import benchlib

TITLE = "IRQ daemon cost, idle: asios-irqd vs irqbalance"
METRICS = [("cpu_s_per_hour", "CPU s/h", "lower"), ("rss_mib", "MiB", "lower")]
MODES = [("irqbalance", "irqbalance"), ("asios-irqd", "asios-irqd")]


def prepare(ctx):
    ctx.state["irqd"] = benchlib.daemon_pair(ctx, "irqbalance", "asios-irqd")
    ctx.state["irq.before"] = {f: open(f).read() for f in glob.glob("/proc/irq/*/smp_affinity_list")}


@contextlib.contextmanager
def tuned(ctx, mode):
    try:
        yield
    finally:  # both move IRQs: put every affinity back
        subprocess.run([ctx.program("asiosctl"), "irq", "revert"], capture_output=True)
        for f, v in ctx.state["irq.before"].items():
            try:
                with open(f, "w") as fh:
                    fh.write(v)
            except OSError:
                pass


def run(ctx, mode):
    settle, secs = (3, 3) if ctx.quick else (5, 20)
    cmd = [ctx.state["irqd"]] if mode == "asios-irqd" else [shutil.which("irqbalance"), "--foreground"]
    return benchlib.daemon_cost(cmd, settle, secs)


def cleanup(ctx):
    benchlib.start_services(ctx.state.get("stopped", []))
