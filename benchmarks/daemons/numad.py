# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""asios-numad vs numad on this machine: peak RSS and CPU time per hour while a process starts every 100 ms
(asios-numad hears each from the proc connector; numad rescans every 15 s, its usual interval). numad changes
khugepaged's scan_sleep_millisecs and does not put it back: it is restored here."""
import contextlib
import os
import subprocess

import benchlib

TITLE = "NUMA daemon cost under process churn: asios-numad vs numad"
METRICS = [("cpu_s_per_hour", "CPU s/h", "lower"), ("rss_mib", "MiB", "lower")]
MODES = [("numad", "numad"), ("asios-numad", "asios-numad")]
THP = "/sys/kernel/mm/transparent_hugepage/khugepaged/scan_sleep_millisecs"


def prepare(ctx):
    ctx.state["numad"] = benchlib.daemon_pair(ctx, "numad", "asios-numad")


@contextlib.contextmanager
def tuned(ctx, mode):
    with benchlib.knobs({THP: open(THP).read().strip()} if os.path.exists(THP) else {}):
        yield


def _numad_pid():
    p = subprocess.run(["pgrep", "-x", "numad"], capture_output=True, text=True)
    return int(p.stdout.split()[0]) if p.stdout.strip() else 0


def run(ctx, mode):
    settle, secs = (3, 3) if ctx.quick else (5, 20)
    if mode == "asios-numad":
        conf = os.path.join(benchlib.TOP, "packages", "asios-numad", "numad.conf")
        cmd = [ctx.state["numad"], "--config", conf, "--config-dir", os.path.join(ctx.tmp, "no-drop-ins")]
        return benchlib.daemon_cost(cmd, settle, secs, load=benchlib.process_starts)
    # numad forks into the background: its pid is found after the start
    return benchlib.daemon_cost(["numad", "-i", "15"], settle, secs, find_pid=_numad_pid, load=benchlib.process_starts)


def cleanup(ctx):
    benchlib.start_services(ctx.state.get("stopped", []))
