# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""Wake-up latency (jitter) of the last CPU under load on all the others: stress-ng's CPU, disk-write and timer
stressors pinned to the other CPUs, our probe (benchmarks/jitter/latprobe.c: SCHED_FIFO 90, pinned, clock_nanosleep every 200 µs,
full histogram) on the last CPU.

  stock       the machine as it is, nothing isolated at run time
  cyclictest  rt-tests' cyclictest with the same CPU, priority and interval, in the stock state: the check that
              our probe measures what cyclictest measures (their medians should agree within the spread)
  asios       the runtime isolation of `asiosctl isolate apply` for that CPU (no reboot: the cpuset partition,
              IRQs, workqueues, kthreads, RT throttling, timer migration and the cpu_dma_latency hold that
              asios-schedd applies), reverted afterwards. nohz_full and rcu_nocbs need the boot command line
              (asios-schedd writes it; a reboot takes it) and are not part of this run-time comparison.
"""
import contextlib
import json
import os
import subprocess

import benchlib

TITLE = "Wake-up latency on the last CPU under load on the others: stock vs ASIOS isolation (and cyclictest)"
METRICS = [("p99_us", "µs", "lower"), ("p999_us", "µs", "lower"), ("max_us", "µs", "lower"), ("p50_us", "µs", "lower")]
MODES = [("stock", "stock (our probe)"), ("cyclictest", "stock (cyclictest)"), ("asios", "ASIOS isolated")]


def prepare(ctx):
    benchlib.need_root()
    benchlib.need_tool("stress-ng", "cyclictest")
    ctx.state["probe"] = ctx.program("bench/latprobe")
    asiosctl = ctx.program("asiosctl")
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        raise benchlib.Skip("needs at least 2 CPUs (one measured, the others loaded)")
    ctx.state["cpu"], ctx.state["others"] = cpus[-1], cpus[:-1]
    if subprocess.run([asiosctl, "isolate", "--help"], capture_output=True).returncode != 0:
        raise benchlib.Skip("asiosctl has no isolate verb")
    conf = os.path.join(ctx.tmp, "schedd.conf")
    with open(conf, "w") as f:
        # the run-time part only: no boot command line (it needs a reboot), system services left where they are
        f.write("[schedd]\nisolate = %d\nprofile = latency\nboot = no\nsystem_affinity = no\n" % cpus[-1])
    ctx.state["jitter.conf"] = conf
    ctx.state["seconds"] = 3 if ctx.quick else 10
    ctx.state["jitter.notes"] = ["probe on CPU %d, stress-ng --cpu --hdd --timer on CPUs %s, %d s per repetition, 200 µs interval" % (
        cpus[-1], ",".join(map(str, cpus[:-1])), ctx.state["seconds"])]


@contextlib.contextmanager
def load(ctx):
    others = ctx.state["others"]
    p = subprocess.Popen(["stress-ng", "--cpu", str(len(others)), "--hdd", "1", "--hdd-bytes", "64M", "--timer", "1",
                          "--temp-path", ctx.tmp, "--taskset", ",".join(map(str, others)),
                          "--timeout", "%ds" % (ctx.state["seconds"] + 30), "--quiet"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        p.terminate()
        p.wait()


@contextlib.contextmanager
def tuned(ctx, mode):
    with contextlib.ExitStack() as st:
        if mode == "asios":
            st.enter_context(benchlib.asiosctl_applied(ctx, "isolate", ctx.state["jitter.conf"]))
        st.enter_context(load(ctx))
        yield


def run(ctx, mode):
    cpu, secs = ctx.state["cpu"], ctx.state["seconds"]
    if mode != "cyclictest":
        j = benchlib.last_json(benchlib.sh([ctx.state["probe"], "--cpu", str(cpu), "--interval-us", "200",
                                            "--seconds", str(secs), "--prio", "90"]))
        return {k: j[k] for k, _, _ in METRICS}
    out = os.path.join(ctx.tmp, "cyclictest.json")
    benchlib.sh(["cyclictest", "-m", "-q", "-p", "90", "-a", str(cpu), "-t", "1", "-i", "200", "-D", str(secs),
                 "-h", "100000", "--json=" + out])
    t = json.load(open(out))["thread"]["0"]
    hist = sorted((int(k), v) for k, v in t["histogram"].items())
    total = sum(v for _, v in hist)

    def q(share):
        seen = 0
        for us, v in hist:
            seen += v
            if seen >= max(1, int(total * share)):
                return us
        return hist[-1][0]
    return {"p99_us": q(0.99), "p999_us": q(0.999), "max_us": float(t["max"]), "p50_us": q(0.5)}
