#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""The eBPF observer loaded and attached for real: asiosctl sched watch on this machine.

A busy task with a name of its own is pinned to the CPU watched as isolated, and a sleeper wakes up on it
many times; the report must count context switches and timers on every online CPU, wakeups with ordered
latency percentiles, and name the busy task (by pid) among the disturbances of the isolated CPU. Skips
(TAP "1..0 # SKIP") without root or without kernel BTF. TAP output.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import ASIOSCTL, check, done, need  # noqa: E402


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
    # text output
    p = subprocess.run([ASIOSCTL, "sched", "watch", "--seconds", "1", "--cpus", str(cpu)], capture_output=True,
                       text=True)
    check(p.returncode == 0 and "disturbances of the isolated CPUs" in p.stdout and "rq p99" in p.stdout,
          "text report", p.stdout + p.stderr)
    p = subprocess.run([ASIOSCTL, "sched", "watch", "--seconds", "0"], capture_output=True, text=True)
    check(p.returncode == 2 and "--seconds" in p.stderr, "bad --seconds refused", p.stderr)
    return done()


if __name__ == "__main__":
    sys.exit(main())
