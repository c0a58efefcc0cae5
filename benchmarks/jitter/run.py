#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""Wake-up jitter of a pinned SCHED_FIFO thread on the last CPU, stock vs ASIOS-isolated, in one run.

The same stress-ng load (CPU, disk writes, timers) runs pinned to the other CPUs throughout. Stock: the
machine as it is. ASIOS: `asiosctl isolate apply` with that CPU isolated and the latency profile (runtime part
only: workqueue, writeback, default IRQ and watchdog masks, kernel threads, RT throttling and the other knobs;
no command line, which would need a reboot), reverted at the end. In each phase our own probe
(benchmarks/jitter/probe.c, clock_nanosleep loop, 1 µs histogram) and rt-tests' cyclictest run one after the
other with the same interval and priority, so each number is cross-checked by the other tool. Prints a table
with p50, p99, p99.9 and max and the stock/ASIOS ratios; writes O/bench/jitter.json.

    benchmarks/jitter/run.py O SECONDS      (root; cyclictest and stress-ng installed: make deps)
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INTERVAL, PRIO = 200, 90


def cyclictest(cpu, seconds):
    p = subprocess.run(["cyclictest", "-m", "-q", "-p", str(PRIO), "-a", str(cpu), "-t", "1", "-i", str(INTERVAL),
                        "-D", "%ds" % seconds, "-h", "20000"], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit("cyclictest failed: " + p.stderr)
    hist, mx = [], None
    for line in p.stdout.splitlines():
        if line.startswith("# Max Latencies:"):
            mx = int(line.split()[-1])
        elif line and line[0].isdigit():
            us, n = line.split()[:2]
            hist.append((int(us), int(n)))
    total = sum(n for _, n in hist)

    def pct(q):
        want, seen = min(int(total * q), total - 1), 0
        for us, n in hist:
            seen += n
            if seen > want:
                return us
        return hist[-1][0]
    return {"samples": total, "p50_us": pct(0.5), "p99_us": pct(0.99), "p999_us": pct(0.999), "max_us": mx}


def probe(exe, cpu, seconds):
    p = subprocess.run([exe, str(cpu), str(seconds), str(INTERVAL), str(PRIO)], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit("probe failed: " + p.stderr)
    return json.loads(p.stdout)


def phase(name, exe, cpu, seconds):
    r = {"probe": probe(exe, cpu, seconds), "cyclictest": cyclictest(cpu, seconds)}
    print("# %s: probe %s" % (name, r["probe"]), flush=True)
    print("# %s: cyclictest %s" % (name, r["cyclictest"]), flush=True)
    return r


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    out, seconds = sys.argv[1], int(sys.argv[2])
    if os.geteuid() != 0:
        raise SystemExit("bench-jitter: needs root (SCHED_FIFO, isolation)")
    for tool in ("cyclictest", "stress-ng"):
        if not shutil.which(tool):
            raise SystemExit("bench-jitter: %s missing (make deps installs rt-tests and stress-ng)" % tool)
    exe, ctl = os.path.join(out, "jitter-probe"), os.path.join(out, "asiosctl")
    online = sorted(os.sched_getaffinity(0))
    if len(online) < 2:
        raise SystemExit("bench-jitter: needs two CPUs")
    cpu, others = online[-1], online[:-1]
    tmp = tempfile.mkdtemp()
    conf = os.path.join(tmp, "schedd.conf")
    with open(conf, "w") as f:
        f.write("[schedd]\nisolate = %d\nprofile = latency\nboot = no\nsystem_affinity = no\n" % cpu)
    cargs = ["--config", conf, "--config-dir", os.path.join(tmp, "none")]
    load = subprocess.Popen(["stress-ng", "--taskset", ",".join(map(str, others)), "--cpu", str(len(others)),
                             "--hdd", "1", "--hdd-bytes", "64M", "--timer", "1", "--temp-path", tmp,
                             "--timeout", str(4 * seconds + 60)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    res = {"cpu": cpu, "others": others, "seconds": seconds, "interval_us": INTERVAL, "priority": PRIO,
           "kernel": os.uname().release}
    try:
        res["stock"] = phase("stock", exe, cpu, seconds)
        p = subprocess.run([ctl, "isolate", "apply"] + cargs, capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit("asiosctl isolate apply failed: " + p.stderr)
        print("# asios: " + p.stdout.strip(), flush=True)
        res["asios"] = phase("asios", exe, cpu, seconds)
    finally:
        subprocess.run([ctl, "isolate", "revert"], capture_output=True)
        load.terminate()
        load.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print("\nwake-up latency on CPU %d (µs), %d s each, load on CPUs %s:" % (cpu, seconds, others))
    print("%-12s %-7s %8s %8s %8s %9s" % ("tool", "setup", "p50", "p99", "p99.9", "max"))
    for tool in ("probe", "cyclictest"):
        for setup in ("stock", "asios"):
            r = res[setup][tool]
            print("%-12s %-7s %8s %8s %8s %9s" % (tool, setup, r["p50_us"], r["p99_us"], r["p999_us"], r["max_us"]))
        ratio = {k: (res["stock"][tool][k] / res["asios"][tool][k] if res["asios"][tool][k] else None)
                 for k in ("p99_us", "p999_us", "max_us")}
        res.setdefault("ratio_stock_over_asios", {})[tool] = ratio
        print("%-12s %-7s %8s %8s %8s %9s" % (tool, "ratio", "", *("%.2f" % v if v else "-" for v in ratio.values())))
    os.makedirs(os.path.join(out, "bench"), exist_ok=True)
    with open(os.path.join(out, "bench", "jitter.json"), "w") as f:
        json.dump(res, f, indent=2)
    print("(ratio = stock / ASIOS: above 1 means ASIOS is better; written to %s)" %
          os.path.join(out, "bench", "jitter.json"))


if __name__ == "__main__":
    main()
