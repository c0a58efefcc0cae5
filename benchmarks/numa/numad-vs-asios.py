#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""asios-numad vs numad: memory and CPU of each daemon over the same run on this machine.

  benchmarks/numa/numad-vs-asios.py BUILD SECONDS      (root; apt-get install numad)

Each daemon runs alone for SECONDS with its defaults (numad -i 15, its usual interval; asios-numad with the
shipped configuration) while the same load runs: four long-lived processes and a process start every 100 ms
(what a busy node sees; asios-numad hears each one from the proc connector). Reported: peak and final RSS, CPU
seconds (user + system) over the run and per hour. numad changes khugepaged's scan_sleep_millisecs at start
and does not put it back; this script restores it.
"""
import os
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")
THP = "/sys/kernel/mm/transparent_hugepage/khugepaged/scan_sleep_millisecs"


def status(pid, key):
    for line in open("/proc/%d/status" % pid):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def cpu(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TICK


def load(seconds):
    """Four idle processes and a short-lived process every 100 ms."""
    sleepers = [subprocess.Popen(["sleep", str(seconds + 30)]) for _ in range(4)]
    end = time.time() + seconds
    starts = 0
    while time.time() < end:
        subprocess.run(["true"])
        starts += 1
        time.sleep(0.1)
    for s in sleepers:
        s.kill()
        s.wait()
    return starts


def measure(name, start, find_pid, seconds):
    proc = start()
    time.sleep(2)
    pid = find_pid(proc)
    if not pid:
        print("%s did not start" % name)
        return None
    c0 = cpu(pid)
    starts = load(seconds)
    c1 = cpu(pid)
    r = {"rss": status(pid, "VmRSS"), "hwm": status(pid, "VmHWM"), "cpu": c1 - c0, "starts": starts}
    os.kill(pid, 15)
    if proc:
        proc.wait()
    time.sleep(1)
    return r


def main():
    build, seconds = sys.argv[1], int(sys.argv[2])
    if os.geteuid() != 0:
        print("bench-numad: needs root (the proc connector, numad)")
        return 1
    if subprocess.run(["sh", "-c", "command -v numad"], capture_output=True).returncode:
        print("bench-numad: numad is missing (apt-get install numad)")
        return 1
    if subprocess.run(["pgrep", "-x", "numad"], capture_output=True).returncode == 0:
        print("bench-numad: numad is already running; stop it first")
        return 1
    thp = open(THP).read().strip() if os.path.exists(THP) else None
    numad = os.path.join(build, "asios-numad")
    conf = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "packages", "asios-numad", "numad.conf")
    log = open("/tmp/bench-asios-numad.log", "w")
    a = measure("asios-numad", lambda: subprocess.Popen([numad, "--config", conf, "--config-dir", "/nonexistent"],
                                                        stdout=log, stderr=subprocess.STDOUT),
                lambda p: p.pid, seconds)
    subprocess.run(["numad", "-i", "15"])

    def numad_pid(_):
        p = subprocess.run(["pgrep", "-x", "numad"], capture_output=True, text=True)
        return int(p.stdout.split()[0]) if p.stdout.strip() else 0
    n = measure("numad", lambda: None, numad_pid, seconds)
    if thp:
        with open(THP, "w") as f:
            f.write(thp + "\n")
    print("%d s each, %d process starts during each run" % (seconds, a["starts"] if a else 0))
    print("| | asios-numad | numad |")
    print("|---|---|---|")
    fmt = lambda r, k, f: f(r[k]) if r else "-"  # noqa: E731
    print("| peak RSS | %s | %s |" % (fmt(a, "hwm", lambda v: "%.1f MiB" % (v / 1024)), fmt(n, "hwm", lambda v: "%.1f MiB" % (v / 1024))))
    print("| RSS at the end | %s | %s |" % (fmt(a, "rss", lambda v: "%.1f MiB" % (v / 1024)), fmt(n, "rss", lambda v: "%.1f MiB" % (v / 1024))))
    print("| CPU over the run | %s | %s |" % (fmt(a, "cpu", lambda v: "%.2f s" % v), fmt(n, "cpu", lambda v: "%.2f s" % v)))
    print("| CPU per hour | %s | %s |" % (fmt(a, "cpu", lambda v: "%.1f s" % (v * 3600 / seconds)),
                                        fmt(n, "cpu", lambda v: "%.1f s" % (v * 3600 / seconds))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
