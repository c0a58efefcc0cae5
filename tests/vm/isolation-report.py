#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""The table and the judgement of tests/vm/test-isolation.sh.

Reads the `asiosctl sched watch --json` output each boot printed between ASIOS-JSON-BEGIN and ASIOS-JSON-END in
OUT/MODE.log, prints the disturbances per isolated CPU per second side by side (stock, TuneD, ASIOS), the
sources of what remains under ASIOS, and "PASS|FAIL NAME" lines:
  - every mode watched every isolated CPU;
  - stock is disturbed (more than 10 per second: the measurement tells isolation from none);
  - ASIOS <= TuneD on every row (the mean over the isolated CPUs; one event in the watched time allowed:
    counts, not rates, are exact);
  - ASIOS: at most 1 disturbance per second on each isolated CPU, and no scheduler tick.
Writes OUT/report.json and OUT/report.md.
"""
import argparse
import json
import os
import sys

ROWS = [
    ("device_irqs", "device interrupts"),
    ("local_timer", "local timer interrupts (LOC)"),
    ("other_irqs", "other interrupts (IPIs, NMIs)"),
    ("ticks", "scheduler ticks"),
    ("context_switches", "context switches"),
    ("preemptions", "preemptions of the polling task"),
    ("kernel_threads", "kernel threads switched in"),
    ("work_items", "workqueue items run"),
    ("rcu_softirqs", "RCU softirqs"),
    ("timer_softirqs", "timer softirqs"),
    ("total", "**total** (interrupts + preemptions)"),
]
NAMES = {"stock": "stock", "tuned": "TuneD cpu-partitioning", "asios": "ASIOS"}


def watch_json(path):
    """the JSON a boot printed, or None"""
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace").replace("\r", "")
    except OSError:
        return None
    if "ASIOS-JSON-BEGIN\n" not in text or "\nASIOS-JSON-END" not in text:
        return None
    body = text.split("ASIOS-JSON-BEGIN\n", 1)[1].split("\nASIOS-JSON-END", 1)[0]
    try:
        return json.loads(body)
    except ValueError:
        return None


def cmdline(path):
    try:
        with open(path, "rb") as f:
            for line in f.read().decode("utf-8", "replace").replace("\r", "").splitlines():
                if line.startswith("ASIOS: value cmdline "):
                    return line[len("ASIOS: value cmdline "):]
    except OSError:
        pass
    return ""


def verdict(ok, name, detail=""):
    print(("PASS " if ok else "FAIL ") + name)
    if not ok and detail:
        print("  %s" % detail)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="the folder of the boots' logs; the report goes there")
    ap.add_argument("--cpus", required=True, help="the isolated CPUs, a list like 1,3")
    ap.add_argument("modes", nargs="+", choices=["stock", "tuned", "asios"])
    a = ap.parse_args()
    iso = [int(c) for c in a.cpus.split(",")]
    runs, per_cpu, mean = {}, {}, {}
    good = True
    for m in a.modes:
        r = watch_json(os.path.join(a.out, m + ".log"))
        t = {e["cpu"]: e["per_second"] for e in (r or {}).get("isolated_per_second", [])}
        good &= verdict(r is not None and sorted(t) == iso, "%s: watched every isolated CPU (%s)" % (m, a.cpus),
                        "no watch output in %s.log" % m if r is None else "watched %s" % sorted(t))
        if r is None or sorted(t) != iso:
            continue
        runs[m] = r
        per_cpu[m] = t
        mean[m] = {k: sum(t[c][k] for c in iso) / len(iso) for k, _ in ROWS}
    secs = {m: runs[m]["seconds"] for m in runs}
    if "stock" in mean:
        good &= verdict(mean["stock"]["total"] > 10, "stock: the isolated CPUs are disturbed without isolation "
                        "(%.0f per second)" % mean["stock"]["total"])
    if "asios" in mean and "tuned" in mean:
        slack = 1.0 / min(secs["asios"], secs["tuned"])
        worse = [k for k, _ in ROWS if mean["asios"][k] > mean["tuned"][k] + slack]
        good &= verdict(not worse, "ASIOS <= TuneD on every row (mean per isolated CPU per second)",
                        "; ".join("%s: ASIOS %.3f, TuneD %.3f" % (k, mean["asios"][k], mean["tuned"][k])
                                  for k in worse))
    if "asios" in per_cpu:
        t = per_cpu["asios"]
        good &= verdict(all(t[c]["total"] <= 1.0 for c in iso),
                        "ASIOS: at most 1 disturbance per second on each isolated CPU under load",
                        ", ".join("CPU %d: %.2f/s" % (c, t[c]["total"]) for c in iso))
        good &= verdict(all(t[c]["ticks"] == 0 for c in iso), "ASIOS: no scheduler tick on the isolated CPUs",
                        ", ".join("CPU %d: %.2f/s" % (c, t[c]["ticks"]) for c in iso))
    md = table(a, mean, per_cpu, runs, iso)
    for line in md:
        print(line)
    with open(os.path.join(a.out, "report.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    with open(os.path.join(a.out, "report.json"), "w") as f:
        json.dump({"isolated": iso, "mean_per_cpu_per_second": mean, "per_cpu_per_second": per_cpu,
                   "cmdline": {m: cmdline(os.path.join(a.out, m + ".log")) for m in runs},
                   "seconds": secs}, f, indent=1, sort_keys=True)
    return 0 if good else 1


def table(a, mean, per_cpu, runs, iso):
    modes = [m for m in ("stock", "tuned", "asios") if m in mean]
    md = ["Disturbances per isolated CPU per second (mean of CPUs %s; %s s watched under load):" %
          (a.cpus, "/".join("%.0f" % runs[m]["seconds"] for m in modes)), "",
          "| per isolated CPU per second | " + " | ".join(NAMES[m] for m in modes) + " |",
          "|---|" + "---:|" * len(modes)]
    for k, label in ROWS:
        md.append("| %s | " % label + " | ".join(fmt(mean[m][k], k == "total") for m in modes) + " |")
    md.append("")
    md.append("Total per CPU: " + "; ".join(
        "%s %s" % (NAMES[m], ", ".join("CPU %d %.2f" % (c, per_cpu[m][c]["total"]) for c in iso)) for m in modes))
    for m in ("asios", "tuned"):
        if m not in runs:
            continue
        ev = [e for e in runs[m].get("disturbances", []) if e["kind"] in ("kthread", "irq", "work", "task")]
        md.append("What still ran on the isolated CPUs under %s (%.0f s): %s" % (NAMES[m], runs[m]["seconds"], "; ".join(
            "CPU %d %s %s x%d" % (e["cpu"], e["kind"], e["name"], e["count"]) for e in ev[:12]) or "nothing"))
    for m in modes:
        c = cmdline(os.path.join(a.out, m + ".log"))
        md.append("Command line (%s): `%s`" % (NAMES[m], c))
    return md


def fmt(v, bold):
    s = "%.2f" % v if v < 100 else "%.0f" % v
    return "**%s**" % s if bold else s


if __name__ == "__main__":
    sys.exit(main())
