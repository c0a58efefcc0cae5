#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""The effect of a decision (asios/effect.h) on captured machines: an apply records the metric its domain is
meant to lower just before and after it; the numbers are the machine's (recomputed here from the capture's
/proc/interrupts and topology, from its processes' numa_maps); interrupts that arrive after the apply (written
into the capture's /proc/interrupts) move the after window exactly as much as they should, for the IRQ share and
the isolation rate; asiosctl status and asiosctl metrics show the same windows; an apply that changes nothing
records nothing; a revert keeps the record; a workload's memory on and off its node is exported; a malformed record is named with its line and read as none;
--measure is refused where it means nothing; the block domain's service time per request. TAP output."""
import json
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import ASIOSCTL, FIXTURES, add_proc, check, ctl, done, eq, need, read, untar, write  # noqa: E402


def unpack(tmp, name):
    untar(os.path.join(FIXTURES, name + ".tar.gz"), tmp)
    return os.path.join(tmp, name)


def record(root, journal):
    path = os.path.join(root, "run", "asios", "effect", journal)
    if not os.path.exists(path):
        return None
    out = {}
    for line in read(path).splitlines():
        f = line.split()
        if f and f[0] in ("before_start", "before_end", "after_start"):
            out[f[0]] = [float(x) for x in f[1:]]
    return out


def status(root):
    p = ctl("status", "--json", "--root", root)
    try:
        return {d["domain"]: d for d in json.loads(p.stdout)["domains"]}, p
    except (ValueError, KeyError):
        return {}, p


def interrupts(root):
    """/proc/interrupts of ROOT: (CPU ids of the columns, {row id: [counts]}, the lines)"""
    lines = read(os.path.join(root, "proc", "interrupts")).splitlines()
    cpus = [int(c[3:]) for c in lines[0].split()]
    rows = {}
    for line in lines[1:]:
        f = line.split()
        rows[f[0].rstrip(":")] = [int(x) for x in f[1:1 + len(cpus)] if x.isdigit()]
    return cpus, rows, lines


def add_counts(root, row_id, add):
    """ADD {cpu: n} to row ROW_ID of ROOT's /proc/interrupts (columns right-aligned as the kernel prints them)"""
    cpus, rows, lines = interrupts(root)
    out = [lines[0]]
    for line in lines[1:]:
        f = line.split()
        if f[0].rstrip(":") == row_id:
            n = len(rows[row_id])
            counts = [rows[row_id][i] + add.get(cpus[i], 0) for i in range(n)]
            line = "%4s: " % row_id + "".join("%10d " % c for c in counts) + " ".join(f[1 + n:])
        out.append(line)
    write(os.path.join(root, "proc", "interrupts"), "\n".join(out) + "\n")


def irq_share_expected(root):
    """(off-node, all) interrupts of the IRQs of a PCI device whose node is known, from the topology JSON"""
    t = json.loads(ctl("topology", "--json", "--root", root).stdout)
    node_of_dev = {d["pci"]: d["node"] for d in t["devices"]}
    node_of_cpu = {c: n["id"] for n in t["nodes"] for c in n["cpus"]}
    cpus, rows, _ = interrupts(root)
    num = den = 0
    for irq in t["irqs"]:
        node = node_of_dev.get(irq["device"], -1) if irq["device"] else -1
        for i, c in enumerate(rows.get(str(irq["irq"]), [])):
            if node is not None and node >= 0:
                den += c
                num += c if node_of_cpu.get(cpus[i]) != node else 0
    return num, den, t, node_of_dev, node_of_cpu


def test_irq(tmp):
    root = unpack(tmp, "ai-2s8g")
    num, den, t, node_of_dev, node_of_cpu = irq_share_expected(root)
    a = ctl("irq", "apply", "--root", root)
    rec = record(root, "irqd")
    check(a.returncode == 0 and rec is not None, "irq apply on ai-2s8g records its effect", a.stderr)
    if not rec:
        return
    eq("the share sampled before the apply is the capture's: off-node and all device interrupts",
       [float(num), float(den)], rec["before_end"][1:])
    eq("... and after it the same counters (nothing arrived in between)", rec["before_end"][1:], rec["after_start"][1:])
    st, _ = status(root)
    e = st.get("irq", {}).get("effect") or {}
    check(e.get("after") is None and abs((e.get("before") or -1) - num / den) < 1e-9,
          "status: before %.5f (%d of %d), after none yet (no interrupt since)" % (num / den, num, den), json.dumps(e))
    # 300 interrupts of a node-0 device's IRQ after the apply: 100 on a node-1 CPU, 200 on a node-0 CPU
    irq = next(i for i in t["irqs"] if i["device"] and node_of_dev.get(i["device"]) == 0)
    cpu0 = next(c for c, n in sorted(node_of_cpu.items()) if n == 0)
    cpu1 = next(c for c, n in sorted(node_of_cpu.items()) if n == 1)
    add_counts(root, str(irq["irq"]), {cpu1: 100, cpu0: 200})
    st, _ = status(root)
    e = st.get("irq", {}).get("effect") or {}
    check(abs((e.get("after") or -1) - 1 / 3) < 1e-9 and abs(e.get("change", 0) - (1 / 3 - num / den)) < 1e-9,
          "interrupts since the apply: after = 100 of 300 off-node, change = after - before", json.dumps(e))
    m = ctl("metrics", "--root", root).stdout
    got = re.search(r'^asios_decision_effect\{domain="irq",metric="cross_node_irq_share"\} (\S+)$', m, re.M)
    check(got and abs(float(got.group(1)) - (1 / 3 - num / den)) < 1e-5, "asios_decision_effect says the same",
          got.group(0) if got else m[-600:])
    r = ctl("irq", "revert", "--root", root)
    check(r.returncode == 0 and record(root, "irqd") == rec, "a revert keeps the record (telemetry, not tuned state)",
          r.stderr)
    a = ctl("irq", "apply", "--root", root)
    again = record(root, "irqd")
    check(a.returncode == 0 and again["before_start"] == rec["after_start"],
          "the next apply's before window starts where the last one's after window did", json.dumps(again))
    write(os.path.join(root, "run", "asios", "effect", "irqd"), "before_end 12 x 3\n")
    p = ctl("status", "--root", root)
    check(p.returncode == 0 and "run/asios/effect/irqd: malformed line \"before_end 12 x 3\"" in p.stderr and
          re.search(r"^irq .*no apply recorded", p.stdout, re.M),
          "a malformed record: named with its line, read as none", p.stdout + p.stderr)


def test_isolate(tmp):
    root = unpack(tmp, "ws-2g-iso")
    # the capture isolates 4-7,20-23 on its command line; the policy here isolates 6-7,22-23 at run time
    write(os.path.join(root, "etc", "asios", "schedd.conf.d", "50-test.conf"), "[schedd]\nisolate = 6-7,22-23\nboot = no\n")
    cpus, rows, _ = interrupts(root)
    iso = {6, 7, 22, 23}
    want = sum(c for r in rows.values() for i, c in enumerate(r) if i < len(cpus) and cpus[i] in iso)
    a = ctl("isolate", "apply", "--root", root)
    rec = record(root, "schedd")
    check(a.returncode == 0 and rec is not None, "isolate apply on ws-2g-iso records its effect", a.stdout + a.stderr)
    if not rec:
        return
    eq("the disturbance counter before the apply: every interrupt of the 4 CPUs the policy isolates", float(want),
       rec["before_end"][1])
    add_counts(root, "LOC", {6: 500, 22: 500})
    add_counts(root, "RES", {7: 250, 4: 9999})  # CPU 4 is not one the policy isolates
    st, _ = status(root)
    e = st.get("isolate", {}).get("effect") or {}
    secs = e.get("after_seconds") or 0
    check(e.get("metric") == "isolated_cpu_interrupts_per_second" and secs > 0 and
          abs((e.get("after") or 0) * secs - 1250) < 1250 * 0.02,
          "1,250 interrupts on isolated CPUs since the apply: after = 1250 / %.2f s" % secs, json.dumps(e))


def workload_memory(metrics):
    return dict(re.findall(r'^asios_workload_memory_bytes\{workload="python3",placement="(local|remote)"\} (\d+)$',
                           metrics, re.M))


def test_numa(tmp):
    root = unpack(tmp, "ai-2s8g")
    t = json.loads(ctl("topology", "--json", "--root", root).stdout)
    gpu = sorted((d for d in t["devices"] if d["class"] == "gpu"), key=lambda d: d["pci"])[0]
    other = next(n["id"] for n in t["nodes"] if n["id"] != gpu["node"] and n["cpus"])
    online = [c for n in t["nodes"] for c in n["cpus"]]
    mems = [n["id"] for n in t["nodes"]]
    # a training process on GPU 0 with 3,000 pages on the GPU's node and 1,000 on the other (and libc's 10)
    add_proc(os.path.join(root), 1000, "python3", "python3 train.py", ["/dev/nvidia0", "/dev/nvidiactl"], online, mems,
             {gpu["node"]: 3000, other: 1000})
    eq("asios_workload_memory_bytes before the apply: the workload's memory on and off its GPU's node (by its "
       "command name)", {"local": str((3000 + 10 * (min(gpu["node"], other) == gpu["node"])) * 4096),
                         "remote": str((1000 + 10 * (min(gpu["node"], other) == other)) * 4096)},
       workload_memory(ctl("metrics", "--root", root).stdout))
    a = ctl("numa", "apply", "--root", root)
    rec = record(root, "numad")
    local = 3000 + (10 if min(gpu["node"], other) == gpu["node"] else 0)
    remote = 1000 + (10 if min(gpu["node"], other) == other else 0)
    check(a.returncode == 0 and rec is not None, "numa apply on ai-2s8g with a GPU process records its effect",
          a.stdout + a.stderr)
    if rec:
        eq("the remote share of the workload's memory before the apply: numa_maps's pages off GPU 0's node (KiB)",
           [remote * 4.0, (local + remote) * 4.0], rec["before_end"][1:])
        st, _ = status(root)
        e = st.get("numa", {}).get("effect") or {}
        check(e.get("kind") == "gauge" and abs((e.get("before") or 0) - remote / (local + remote)) < 1e-9 and
              e.get("after") == 0, "status: a gauge, before %.4f, after 0 (the pages moved)" % (remote / (local + remote)),
              json.dumps(e))
        m = ctl("metrics", "--root", root).stdout
        eq("... and after it asios_workload_memory_bytes has all of it local (the capture's pages moved)",
           {"local": str((local + remote) * 4096), "remote": "0"}, workload_memory(m))


def test_block(tmp):
    root = unpack(tmp, "ws-2g-iso")
    # nvme0n1 and sda are the capture's disks (both of a class the domain tunes); loop0 is none of its disks
    stats = ("%4d %7d nvme0n1 {} 0 0 {} {} 0 0 {} 0 0 0 0 0 0 0 0 0\n" % (259, 0) +
             "%4d %7d sda {} 0 0 {} {} 0 0 {} 0 0 0 0 0 0 0 0 0\n" % (8, 0) +
             "%4d %7d loop0 {} 0 0 {} 0 0 0 0 0 0 0 0 0 0 0 0 0\n" % (7, 0))
    write(os.path.join(root, "proc", "diskstats"), stats.format(1000, 3000, 1000, 1000, 500, 500, 500, 500,
                                                                 99999, 99999))
    a = ctl("block", "apply", "--root", root)
    rec = record(root, "block")
    check(a.returncode == 0 and rec is not None and rec["before_end"][1:] == [5000.0, 3000.0],
          "block apply records the ms and requests of its disks (5,000 ms over 3,000 requests; loop0 not counted)",
          a.stdout + a.stderr + json.dumps(rec))
    write(os.path.join(root, "proc", "diskstats"), stats.format(1600, 3300, 1400, 1100, 500, 500, 500, 500,
                                                                 199999, 199999))
    st, _ = status(root)
    e = st.get("block", {}).get("effect") or {}
    check(e.get("metric") == "io_milliseconds_per_request" and abs((e.get("before") or 0) - 5000 / 3000) < 1e-9 and
          abs((e.get("after") or 0) - 0.4) < 1e-9,
          "status: 1.67 ms per request before, 0.4 after (400 ms over 1,000 requests since the apply)", json.dumps(e))


def test_refusals(tmp):
    root = unpack(tmp, "ws-2g-iso")
    a = ctl("isolate", "apply", "--root", root)
    check(a.returncode == 0 and record(root, "schedd") is None,
          "an apply with nothing to change records no effect", a.stdout + a.stderr)
    for args, want in ((["irq", "plan", "--measure", "1"], "--measure goes with apply"),
                       (["irq", "apply", "--measure", "0"], "not a number of seconds")):
        p = ctl(*args, "--root", root)
        check(p.returncode in (1, 2) and want in p.stderr, "asiosctl %s: refused (%s)" % (" ".join(args), want),
              p.stderr)


def main():
    if not need(ASIOSCTL):
        return 1
    tmp = tempfile.mkdtemp(prefix="asios-effect-")
    try:
        for i, t in enumerate((test_irq, test_isolate, test_numa, test_block, test_refusals)):
            d = os.path.join(tmp, str(i))
            os.makedirs(d)
            t(d)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return done()


if __name__ == "__main__":
    sys.exit(main())
