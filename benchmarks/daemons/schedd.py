# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""asios-schedd vs TuneD on this machine: peak RSS and CPU time per hour once settled, idle, each holding its
low-latency profile (TuneD `latency-performance`: sysctls, CPU latency hold, its 1 s monitor loop;
asios-schedd `profile = latency`: its knobs, the re-plan timer). Neither isolates CPUs here (TuneD's
cpu-partitioning and asios-schedd's isolation both need a boot command line and a reboot).

Both change sysctls: TuneD rolls its profile back when stopped, asios-schedd leaves its tuning in place by design
and `asiosctl isolate revert` restores it. After each mode every writable value under /proc/sys/kernel and
/proc/sys/vm that differs from before is put back (and reported), and TuneD's state files in /etc/tuned are
restored as they were."""
import contextlib
import os
import shutil
import subprocess

import benchlib

TITLE = "Scheduler/latency daemon cost, idle: asios-schedd vs TuneD"
METRICS = [("cpu_s_per_hour", "CPU s/h", "lower"), ("rss_mib", "MiB", "lower")]
MODES = [("tuned", "TuneD"), ("asios-schedd", "asios-schedd")]
TUNED_STATE = ["/etc/tuned/active_profile", "/etc/tuned/profile_mode", "/etc/tuned/post_loaded_profile"]
# counters and values the kernel changes by itself (the perf sample rate is lowered when its interrupts take
# too long; taint only grows): never restored, never reported
VOLATILE = ("kernel/random/", "kernel/ns_last_pid", "kernel/tainted", "kernel/perf_event_max_sample_rate",
            "vm/drop_caches", "vm/compact_memory")


def prepare(ctx):
    ctx.state["schedd"] = benchlib.daemon_pair(ctx, "tuned", "asios-schedd")
    conf_d = os.path.join(ctx.tmp, "schedd.conf.d")
    os.makedirs(conf_d, exist_ok=True)
    ctx.state["schedd.conf"] = conf = os.path.join(ctx.tmp, "schedd.conf")
    with open(conf, "w") as f:
        f.write("[schedd]\nprofile = latency\nisolate = none\nboot = no\n")
    ctx.state["schedd.conf.d"] = conf_d


def _writable_sysctls():
    vals = {}
    for top in ("/proc/sys/kernel", "/proc/sys/vm"):
        for d, _, files in os.walk(top):
            for n in files:
                p = os.path.join(d, n)
                if any(v in p for v in VOLATILE) or not os.stat(p).st_mode & 0o200:
                    continue
                try:
                    with open(p) as f:
                        vals[p] = f.read()
                except OSError:
                    pass
    return vals


def _files(paths):
    out = {}
    for p in paths:
        try:
            with open(p, "rb") as f:
                out[p] = f.read()
        except FileNotFoundError:
            out[p] = None
    return out


@contextlib.contextmanager
def tuned(ctx, mode):
    before, state = _writable_sysctls(), _files(TUNED_STATE)
    try:
        yield
    finally:
        if mode == "asios-schedd":
            subprocess.run([ctx.program("asiosctl"), "isolate", "revert"], capture_output=True)
        left = []
        for p, v in _writable_sysctls().items():
            if p in before and before[p] != v:
                left.append(p[len("/proc/sys/"):].replace("/", "."))
                try:
                    with open(p, "w") as f:
                        f.write(before[p])
                except OSError as e:
                    ctx.log("schedd: could not restore %s: %s" % (p, e))
        for p, v in state.items():
            if v is None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(p)
            else:
                with open(p, "wb") as f:
                    f.write(v)
        if left:
            key = "schedd.left.%s" % mode
            if key not in ctx.state:
                ctx.state[key] = left
                ctx.state.setdefault("schedd.notes", []).append(
                    "%s left %s changed after stopping; put back by the suite" % (dict(MODES)[mode], ", ".join(left)))


def run(ctx, mode):
    settle, secs = (3, 3) if ctx.quick else (5, 20)
    if mode == "asios-schedd":
        cmd = [ctx.state["schedd"], "--config", ctx.state["schedd.conf"], "--config-dir", ctx.state["schedd.conf.d"]]
    else:
        cmd = [shutil.which("tuned"), "--no-dbus", "--no-socket", "--profile", "latency-performance",
               "--log", os.path.join(ctx.tmp, "tuned.log")]
    return benchlib.daemon_cost(cmd, settle, secs)


def cleanup(ctx):
    benchlib.start_services(ctx.state.get("stopped", []))
