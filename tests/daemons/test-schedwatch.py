#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""The eBPF observer loaded and attached for real: asiosctl sched watch on this machine.

A busy task with a name of its own is pinned to the CPU watched as isolated, and a sleeper wakes up on it
many times; the report must count context switches and timers on every online CPU, wakeups with ordered
latency percentiles, and name the busy task (by pid) among the disturbances of the isolated CPU. Then
asios-schedd itself (--dry-run: nothing set) watching that CPU as isolated: its observer's counters written to
/run/asios/schedwatch each check and exported by `asiosctl metrics` (promtool-clean, growing, the intruder's
switches counted as violations), and gone when it stops. Skips (TAP "1..0 # SKIP") without root or without
kernel BTF. TAP output.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import ASIOSCTL, BUILD, check, done, need, skip, terminate, wait_for  # noqa: E402

STATE = "/run/asios/schedwatch"


def main():
    if os.geteuid() != 0:
        print("1..0 # SKIP the eBPF observer needs root")
        return 0
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        print("1..0 # SKIP the kernel has no BTF (/sys/kernel/btf/vmlinux)")
        return 0
    if not need(ASIOSCTL):
        return 1
    online = sorted(os.sched_getaffinity(0))
    cpu = online[-1]
    # a busy task and a sleeper on the watched CPU
    busy = subprocess.Popen([sys.executable, "-c", "import ctypes, os, time\n"
                             "ctypes.CDLL(None).prctl(15, b'asios-intruder', 0, 0, 0)\n"
                             "os.sched_setaffinity(0, {%d})\nend = time.time() + 4\n"
                             "while time.time() < end:\n    pass\n" % cpu])
    sleeper = subprocess.Popen([sys.executable, "-c", "import os, time\nos.sched_setaffinity(0, {%d})\n"
                                "for _ in range(2000):\n    time.sleep(0.001)\n" % cpu])
    time.sleep(0.2)
    p = subprocess.run([ASIOSCTL, "sched", "watch", "--seconds", "2", "--cpus", str(cpu), "--json"],
                       capture_output=True, text=True)
    busy.wait()
    sleeper.wait()
    check(p.returncode == 0, "sched watch loads and attaches the observer", p.stderr)
    if p.returncode != 0:
        return done()
    r = json.loads(p.stdout)
    check(1.5 < r["seconds"] < 3, "watched about 2 s", r["seconds"])
    cpus = {c["cpu"]: c for c in r["cpus"]}
    check(all(cpus[c]["switches"] > 0 for c in online), "context switches counted on every online CPU",
          {c: cpus[c]["switches"] for c in online})
    check(all(cpus[c]["timers"] > 0 for c in online), "expired timers counted on every online CPU",
          {c: cpus[c]["timers"] for c in online})
    w = cpus[cpu]
    lat = w["runqueue_latency_ns"]
    check(w["wakeups"] >= 100 and sum(w["histogram_log2_us"]) == w["wakeups"],
          "run-queue latency of the sleeper's wakeups measured on CPU %d" % cpu, w)
    check(0 < lat["p50"] <= lat["p99"] <= lat["p999"] and lat["mean"] <= lat["max"],
          "latency percentiles ordered", lat)
    check(r["isolated"] == [cpu] and w["isolated"], "CPU %d watched as isolated" % cpu, r["isolated"])
    mine = [e for e in r["disturbances"] if e["kind"] == "task" and e["id"] == busy.pid]
    check(mine and mine[0]["name"] == "asios-intruder" and mine[0]["cpu"] == cpu,
          "the pinned task is named as a disturbance of the isolated CPU", r["disturbances"][:10])
    check(all(e["cpu"] == cpu for e in r["disturbances"]), "disturbances only for the isolated CPU")
    check(any(e["kind"] == "timer" and e["name"] and not e["name"].startswith("0x") for e in r["disturbances"]),
          "timer disturbances named from kallsyms", [e for e in r["disturbances"] if e["kind"] == "timer"])
    if os.uname().machine == "x86_64":
        check(r["local_timer_traced"] and w["local_timer"] > 0, "x86: local timer interrupts counted", w)
    # the disturbance table: one entry for the isolated CPU, every row, interrupts from /proc/interrupts
    rows = {"device_irqs", "local_timer", "other_irqs", "ticks", "context_switches", "preemptions", "kernel_threads", "work_items",
            "rcu_softirqs", "timer_softirqs", "total"}
    t = r.get("isolated_per_second", [])
    ps = t[0]["per_second"] if len(t) == 1 and t[0]["cpu"] == cpu else {}
    check(set(ps) == rows, "disturbance table: every row for CPU %d" % cpu, t)
    if set(ps) == rows:
        check(ps["preemptions"] > 0 and w["preemptions"] > 0,
              "the busy task pinned there is preempted (by the sleeper)", (ps, w))
        check(abs(ps["total"] - (ps["device_irqs"] + ps["local_timer"] + ps["other_irqs"] + ps["preemptions"]))
              < 1e-6 * max(1, ps["total"]), "total = interrupts + preemptions", ps)
        check(ps["local_timer"] > 0 and ps["ticks"] > 0, "the tick runs on a CPU without nohz_full", ps)
        check(abs(ps["preemptions"] * r["seconds"] - w["preemptions"]) <= 1 and
              abs(ps["context_switches"] * r["seconds"] - w["switches"]) <= 1 and
              abs(ps["kernel_threads"] * r["seconds"] - w["kernel_threads"]) <= 1,
              "per-second rows are the observer's counts over the watched time", (ps, w, r["seconds"]))
    # text output
    p = subprocess.run([ASIOSCTL, "sched", "watch", "--seconds", "1", "--cpus", str(cpu)], capture_output=True,
                       text=True)
    check(p.returncode == 0 and "disturbances of the isolated CPUs" in p.stdout and "rq p99" in p.stdout and
          "disturbances per second of each isolated CPU" in p.stdout and "preemptions" in p.stdout,
          "text report", p.stdout + p.stderr)
    p = subprocess.run([ASIOSCTL, "sched", "watch", "--seconds", "0"], capture_output=True, text=True)
    check(p.returncode == 2 and "--seconds" in p.stderr, "bad --seconds refused", p.stderr)
    daemon_metrics(cpu)
    return done()


def observed(text):
    """{(cpu, event or by): value} of the observer's families in an exposition"""
    out = {}
    for m in re.finditer(r'^asios_(?:isolated_cpu_observed_events|isolation_violations)_total\{cpu="(\d+)",'
                         r'(?:event|by)="(\w+)"\} (\d+)$', text, re.M):
        out[(int(m.group(1)), m.group(2))] = int(m.group(3))
    return out


def metrics():
    return subprocess.run([ASIOSCTL, "metrics"], capture_output=True, text=True).stdout


def daemon_metrics(cpu):
    """asios-schedd --dry-run watching CPU as isolated: its observer's counters in the metrics while it runs"""
    name = "asios-schedd's observer counters in asiosctl metrics"
    if os.path.exists(STATE) or subprocess.run(["pgrep", "-x", "asios-schedd"], capture_output=True).returncode == 0:
        skip(name, "an asios-schedd runs on this machine already")
        return
    check(not observed(metrics()), "the control: no observer counters while no asios-schedd watches")
    tmp = tempfile.mkdtemp(prefix="asios-schedwatch-")
    conf = os.path.join(tmp, "schedd.conf")
    with open(conf, "w") as f:
        f.write("[schedd]\nisolate = %d\ninterval = 1\n" % cpu)
    intruder = subprocess.Popen([sys.executable, "-c", "import os, time\nos.sched_setaffinity(0, {%d})\n"
                                 "for _ in range(6000):\n    time.sleep(0.001)\n" % cpu])
    log = open(os.path.join(tmp, "log"), "w")
    d = subprocess.Popen([os.path.join(BUILD, "asios-schedd"), "--config", conf, "--config-dir",
                          os.path.join(tmp, "none"), "--dry-run"], stderr=log)
    try:
        ok = wait_for(lambda: observed(metrics()).get((cpu, "switch"), 0) > 0, 10)
        first = observed(metrics())
        time.sleep(2.2)
        text = metrics()
        second = observed(text)
        check(ok and set(k for c, k in second if c == cpu) >=
              {"switch", "irq", "hrtimer", "local_timer", "tick_stop", "preemption", "kthread", "work_item", "task",
               "timer"},
              "asios-schedd --dry-run: its observer's counters for CPU %d exported" % cpu, second)
        check(all(second[k] >= first.get(k, 0) for k in second) and second[(cpu, "switch")] > first[(cpu, "switch")],
              "the counters grow from check to check", (first, second))
        check(0 < second[(cpu, "task")] <= second[(cpu, "switch")],
              "the sleeper outside the workload slice: its switches counted as violations", second)
        m = re.search(r"^asios_isolation_observer_updated_timestamp_seconds (\S+)$", text, re.M)
        check(m and abs(float(m.group(1)) - time.time()) < 5, "the counters' update time is a second or so old",
              m and m.group(0))
        if shutil.which("promtool"):
            lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
            check(lint.returncode == 0 and not lint.stdout.strip(), "promtool check metrics is clean with them",
                  lint.stdout + lint.stderr)
        else:
            skip("promtool check metrics with the observer's counters", "no promtool")
    finally:
        terminate(d, 10)
        log.close()
        intruder.kill()
        intruder.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    check(not os.path.exists(STATE) and not observed(metrics()),
          "asios-schedd stopped: the file is removed and the counters are gone from the metrics")


if __name__ == "__main__":
    sys.exit(main())
