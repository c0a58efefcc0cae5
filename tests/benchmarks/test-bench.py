#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""The benchmark suite's own parts: the programs (built with ASan+UBSan) give right answers and clear errors,
the statistics and report are right, tuning steps are put back even when a run fails, and the runner
reports a skipped or failing benchmark without losing the others."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "benchmarks"))
from taplib import BUILD, check, done, eq, need  # noqa: E402
import benchlib  # noqa: E402

PROBE, STREAM = (os.path.join(BUILD, "bench", p) for p in ("latprobe", "stream"))


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def test_probe():
    p = run([PROBE, "--cpu", "0", "--interval-us", "1000", "--seconds", "0.5", "--hist"])
    if p.returncode != 0 and "CAP_SYS_NICE" in p.stderr:
        check(True, "latprobe without CAP_SYS_NICE says so # SKIP not root")
        return
    j = benchlib.last_json(p.stdout) if p.returncode == 0 else {}
    ok = (j.get("samples") == 500 and j["min_us"] <= j["p50_us"] + 1 and j["p50_us"] <= j["p99_us"] <= j["p999_us"]
          and j["p999_us"] <= j["max_us"] and sum(j["hist"].values()) == 500)
    check(ok, "latprobe: 500 wake-ups at 1 ms, ordered percentiles, histogram adds up", p.stdout + p.stderr)
    p = run([PROBE, "--prio", "100"])
    check(p.returncode == 2 and "priority" in p.stderr, "latprobe refuses priority 100", p.stderr)


def test_stream():
    p = run([STREAM, "--mib", "8", "--ntimes", "3"])
    j = benchlib.last_json(p.stdout) if p.returncode == 0 else {}
    check(p.returncode == 0 and all(j.get(k + "_mbs", 0) > 0 for k in ("copy", "scale", "add", "triad")),
          "stream: four kernels validate and report MB/s", p.stdout + p.stderr)
    p = run([STREAM, "--max-mib", "96", "--ntimes", "2"])
    j = benchlib.last_json(p.stdout) if p.returncode == 0 else {}
    check(j.get("array_mib") == max(64, min(96, 4 * j.get("llc_mib", 0))) and j.get("llc_mib", 0) > 0,
          "stream: --max-mib caps the 4 x LLC default (never below 64 MiB) and reports the LLC", p.stdout + p.stderr)
    p = run([STREAM, "--ntimes", "1"])
    check(p.returncode == 2 and "at least 2" in p.stderr, "stream refuses a single pass", p.stderr)


def test_stats():
    s = benchlib.summary([5.0, 1.0, 3.0, 2.0, 4.0])
    eq("median of 1..5", 3.0, s["median"])
    eq("min/max of 1..5", (1.0, 5.0), (s["min"], s["max"]))
    eq("spread of 1..5 around 3", 4 / 3 * 100, s["spread_pct"])
    eq("gain when higher is better", 10.0, round(benchlib.gain_pct(100, 110, "higher"), 6))
    eq("gain when lower is better (50 -> 25 µs)", 100.0, round(benchlib.gain_pct(50, 25, "lower"), 6))
    eq("no gain from a zero baseline", None, benchlib.gain_pct(0, 25, "lower"))


def test_knobs(tmp):
    a, b = os.path.join(tmp, "knob-a"), os.path.join(tmp, "knob-b")
    for f, v in ((a, "old-a"), (b, "old-b")):
        with open(f, "w") as fh:
            fh.write(v + "\n")
    try:
        with benchlib.knobs({a: "new-a", b: "new-b"}):
            eq("knobs written", ("new-a", "new-b"), (open(a).read().strip(), open(b).read().strip()))
            raise RuntimeError("benchmark failed")
    except RuntimeError:
        pass
    eq("knobs put back after a failure", ("old-a", "old-b"), (open(a).read().strip(), open(b).read().strip()))
    missing = os.path.join(tmp, "no-such-knob")
    try:
        with benchlib.knobs({a: "new-a", missing: "x"}):
            pass
        raised = False
    except OSError:
        raised = True
    check(raised and open(a).read().strip() == "old-a", "a knob that cannot be read stops the run and what was set is put back")
    conf = os.path.join(tmp, "sysctl.conf")
    with open(conf, "w") as fh:
        fh.write("# comment\nvm.max_map_count = 1048576\n-net.ipv4.tcp_rmem = 4096 131072  268435456\n")
    eq("sysctl.d file read as /proc/sys paths", {"/proc/sys/vm/max_map_count": "1048576",
                                                 "/proc/sys/net/ipv4/tcp_rmem": "4096\t131072\t268435456"},
       benchlib.sysctl_file(conf))
    with open(conf, "a") as fh:
        fh.write("vm.swappiness\n")
    try:
        benchlib.sysctl_file(conf)
        msg = ""
    except ValueError as e:
        msg = str(e)
    check(msg.endswith("sysctl.conf:4: not key = value"), "a bad sysctl line is named by file:line", msg)
    eq("asios-base's sysctl.conf parses", True, len(benchlib.sysctl_file(benchlib.ASIOS_SYSCTL)) >= 4)


def test_report(tmp):
    stats = {"base": {"lat": benchlib.summary([10, 12, 11])}, "ours": {"lat": benchlib.summary([5, 6, 5])}}
    results = {"demo": {"title": "Demo", "metrics": [("lat", "µs", "lower")], "modes": [("base", "stock"), ("ours", "ASIOS")],
                        "stats": stats, "notes": ["a note"], "seconds": 1},
               "gone": {"title": "Gone", "skipped": "needs a GPU", "metrics": [], "modes": []},
               "broke": {"title": "Broke", "error": "RuntimeError: boom", "metrics": [], "modes": []}}
    md = benchlib.report(tmp, results, {"command": "benchmarks/run", "date": "d", "host": "h", "kernel": "k", "cpus": 2, "reps": 3})
    check("| demo | lat [µs, lower is better] | 11.0 (±9%) | ASIOS 5.00 (±10%) | ASIOS +120.0% |" in md,
          "report row: medians, spread, gain by direction", md)
    check("skipped: needs a GPU" in md and "failed: RuntimeError: boom" in md, "skipped and failed benchmarks are listed", md)
    j = json.load(open(os.path.join(tmp, "results.json")))
    eq("results.json keeps every value", [10, 12, 11], j["benchmarks"]["demo"]["stats"]["base"]["lat"]["values"])
    svg = os.path.join(tmp, "demo.svg")
    if benchlib.shutil.which("gnuplot"):
        check(os.path.exists(svg) and "<svg" in open(svg).read(), "SVG plot written with gnuplot")
        check("![demo](demo.svg)" in open(os.path.join(tmp, "report.md")).read(), "report.md links the plot")


def test_runner():
    p = run([os.path.join(benchlib.TOP, "benchmarks", "run"), "--reps", "1", "nosuch"])
    check(p.returncode == 2 and "unknown benchmark nosuch" in p.stderr, "runner refuses an unknown benchmark", p.stderr)
    check(all(n in p.stderr for n in ("stream", "irqd", "numad", "schedd")), "runner lists the daemon benchmarks", p.stderr)


def main():
    if not (need(PROBE) and need(STREAM)):
        return 1
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:  # a disk: O_DIRECT is refused on tmpfs
        test_knobs(tmp)
        test_report(tmp)
    test_probe()
    test_stream()
    test_stats()
    test_runner()
    return done()


if __name__ == "__main__":
    sys.exit(main())
