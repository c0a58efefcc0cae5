#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""The Prometheus rules and the Grafana dashboard asios-exporter ships: promtool accepts the rules and their unit
tests pass (each alert firing and quiet); every asios_* series the rules and the dashboard's queries name is one
that `asiosctl metrics` or asios-exporter exports (the GPU families through the stand-in NVML) (the name check is shown to catch a misspelt one); the
dashboard is valid JSON whose every panel has a query and reads the data source variable; and
asios_isolated_cpu_schedules_total counts /proc/schedstat's schedule() calls of isolated CPUs only.
TAP output."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import ASIOSCTL, BUILD, FIXTURES, TOP, check, ctl, done, eq, need, skip, untar, write  # noqa: E402

PKG = os.path.join(TOP, "packages", "asios-exporter")
RULES = os.path.join(PKG, "asios.rules.yml")
DASHBOARD = os.path.join(PKG, "asios-dashboard.json")
RULE_TESTS = os.path.join(TOP, "tests", "prometheus", "asios.rules.test.yml")
NAME = re.compile(r"\basios_[a-z0-9_]+")


def exported(root):
    """the families `asiosctl metrics --root ROOT` declares, and the exporter's own (its source's HELP lines)"""
    p = ctl("metrics", "--root", root)
    names = set(re.findall(r"^# HELP (asios_[a-z0-9_]+) ", p.stdout, re.M))
    with open(os.path.join(PKG, "asios-exporter.c")) as f:
        names |= set(re.findall(r"# HELP (asios_exporter_[a-z0-9_]+) ", f.read()))
    # the GPU families, of this machine read through the stand-in NVML (tests/fixtures/nvml)
    g = ctl("metrics", env={"LD_LIBRARY_PATH": os.path.join(BUILD, "fake-nvml")})
    names |= set(re.findall(r"^# HELP (asios_gpu_[a-z0-9_]+) ", g.stdout, re.M))
    return names, p


def unknown_names(text, known):
    """asios_* series TEXT names that no exporter exports (label values and recording rules aside)"""
    return sorted({n for n in NAME.findall(text) if n not in known and not n.endswith("_")})


def promtool(*args):
    return subprocess.run(["promtool"] + list(args), capture_output=True, text=True, timeout=120)


def dashboard_queries(d):
    """every PromQL expression of the dashboard: panel targets and templating queries"""
    exprs = [t.get("expr", "") for p in d.get("panels", []) for t in p.get("targets", [])]
    for v in d.get("templating", {}).get("list", []):
        q = v.get("query")
        exprs.append(q.get("query", "") if isinstance(q, dict) else "")
    return [e for e in exprs if e]


def check_dashboard(known):
    try:
        with open(DASHBOARD) as f:
            d = json.load(f)
    except (OSError, ValueError) as e:
        check(False, "the dashboard is valid JSON", e)
        return
    panels = d.get("panels", [])
    check(len(panels) >= 10, "the dashboard has panels (%d)" % len(panels))
    no_query = [p.get("title") for p in panels if p.get("type") != "row" and not p.get("targets")]
    eq("every dashboard panel has a query", [], no_query)
    fixed_source = [p.get("title") for p in panels
                    if p.get("type") != "row" and p.get("datasource", {}).get("uid") != "${datasource}"]
    eq("every dashboard panel reads the ${datasource} variable", [], fixed_source)
    eq("every asios_* series the dashboard queries is exported", [],
       unknown_names("\n".join(dashboard_queries(d)), known))


def schedstat(root):
    """a /proc/schedstat whose schedule() count is 1000 + CPU for every CPU of ROOT's cpuinfo"""
    with open(os.path.join(root, "proc", "cpuinfo")) as f:
        cpus = [int(c) for c in re.findall(r"^processor\s*:\s*(\d+)", f.read(), re.M)]
    lines = ["version 15", "timestamp 4295000000"]
    lines += ["cpu%d 0 0 %d 400 300 200 123456789 98765 4321" % (c, 1000 + c) for c in cpus]
    lines.append("domain0 ff 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0")
    write(os.path.join(root, "proc", "schedstat"), "\n".join(lines) + "\n")


def check_schedstat(root):
    """the schedule() column of the isolated CPUs (ws-2g-iso: 4-7 and 20-23), no housekeeping CPU"""
    schedstat(root)
    p = ctl("metrics", "--root", root)
    got = dict(re.findall(r'^asios_isolated_cpu_schedules_total\{cpu="(\d+)"\} (\d+)$', p.stdout, re.M))
    want = {str(c): str(1000 + c) for c in list(range(4, 8)) + list(range(20, 24))}
    eq("asios_isolated_cpu_schedules_total: /proc/schedstat's schedule() calls of the 8 isolated CPUs", want, got)
    os.unlink(os.path.join(root, "proc", "schedstat"))
    p = ctl("metrics", "--root", root)
    check(p.returncode == 0 and "asios_isolated_cpu_schedules_total" not in p.stdout,
          "without /proc/schedstat (no CONFIG_SCHEDSTATS): no schedules family, the rest exported", p.stderr)


def check_observer(root):
    """asios-schedd's observer counters (/run/asios/schedwatch) in the capture: exported; a bad line named,
    the rest still exported; the file left written for the name checks"""
    path = os.path.join(root, "run", "asios", "schedwatch")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write(path, "started 1700000000 updated 1700000600.5\ncpu 4 switches 100 irqs 2 hrtimers 50 local_timer 50 "
          "tick_stops 9 by_task 7 by_irq 2 by_timer 50\n")
    p = ctl("metrics", "--root", root)
    check(p.returncode == 0 and
          'asios_isolated_cpu_observed_events_total{cpu="4",event="switch"} 100\n' in p.stdout and
          'asios_isolation_violations_total{cpu="4",by="task"} 7\n' in p.stdout and
          "asios_isolation_observer_updated_timestamp_seconds 1700000600.500\n" in p.stdout,
          "asios-schedd's observer counters in a capture: exported", p.stdout[-2000:] + p.stderr)
    write(path, "started 1700000000 updated 1700000600\ncpu 4 switches many\n")
    p = ctl("metrics", "--root", root)
    check("/run/asios/schedwatch:2: switches: not a count" in p.stderr and "asios_isolation_violations" not in p.stdout
          and "asios_domain_up" in p.stdout, "a bad line in them: named (file:line), the rest exported", p.stderr)
    write(path, "started 1700000000 updated 1700000600.5\ncpu 4 switches 100 by_task 7\n")


def main():
    if not need(ASIOSCTL):
        return 1
    if not shutil.which("promtool"):
        skip("the rules and dashboard", "no promtool (the prometheus package)")
        return done()
    p = promtool("check", "rules", RULES)
    check(p.returncode == 0 and "SUCCESS" in p.stdout, "promtool check rules: " + p.stdout.strip().replace("\n", "; "),
          p.stdout + p.stderr)
    p = promtool("test", "rules", RULE_TESTS)
    check(p.returncode == 0, "promtool test rules: every alert fires where it should and stays quiet elsewhere",
          p.stdout + p.stderr)
    tmp = tempfile.mkdtemp(prefix="asios-rules-")
    try:
        untar(os.path.join(FIXTURES, "ws-2g-iso.tar.gz"), tmp)
        root = os.path.join(tmp, "ws-2g-iso")
        check_schedstat(root)
        schedstat(root)
        # asios-healthd's state with one Xid counted: the Xid family appears only once there is one
        os.makedirs(os.path.join(root, "var/lib/asios/health"), exist_ok=True)
        with open(os.path.join(root, "var/lib/asios/health/state"), "w") as f:
            f.write("xid 0000:3b:00.0 79 1\n")
        check_observer(root)
        known, p = exported(root)
        check(p.returncode == 0 and len(known) >= 20, "asiosctl metrics declares %d families" % len(known), p.stderr)
        with open(RULES) as f:
            rules = f.read()
        eq("every asios_* series the rules name is exported", [], unknown_names(rules, known))
        eq("the name check catches a misspelt series", ["asios_domain_pending_action"],
           unknown_names(rules.replace("asios_domain_pending_actions", "asios_domain_pending_action", 1), known))
        check_dashboard(known)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return done()


if __name__ == "__main__":
    sys.exit(main())
