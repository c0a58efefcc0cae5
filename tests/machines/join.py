#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""Make the joined machines of tests/machines/joined.json: a real hwloc capture with a real /proc/interrupts.

  tests/machines/join.py OUTDIR [NAME...]     (default: every machine of joined.json)

For each machine the hwloc capture is unpacked to OUTDIR/NAME and given the interrupt sample's rows: its first N
CPU columns (N: the capture's online CPUs), NIC queue vectors renamed onto the capture's NICs as PORTS says
("i40e-enp195s0f1-TxRx-7" becomes "i40e-eth1-TxRx-7"), every other row as it is (devices the capture lacks stay
without an owner), and /proc/irq/N/smp_affinity_list set to every online CPU, as a kernel without irqbalance
leaves them. Prints OUTDIR/NAME for each. The inputs come from ASIOS_SHARED or ../shared beside the checkout.
"""
import bz2
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from taplib import cpulist, untar  # noqa: E402
SHARED = os.environ.get("ASIOS_SHARED") or os.path.join(HERE, "..", "..", "..", "shared")


def machines():
    with open(os.path.join(HERE, "joined.json")) as f:
        return json.load(f)["machines"]


def online_cpus(root):
    text = open(os.path.join(root, "sys/devices/system/cpu/online")).read().strip()
    out = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    return out


def rows(sample):
    """(header CPU count, [(label, counts, rest)]) of a /proc/interrupts text"""
    lines = sample.splitlines()
    ncol = len(lines[0].split())
    out = []
    for line in lines[1:]:
        label, _, tail = line.partition(":")
        fields = tail.split()
        counts = [f for f in fields[:ncol] if f.isdigit()]
        rest = " ".join(fields[len(counts):])
        out.append((label.strip(), counts, rest))
    return ncol, out


def rename(rest, ports):
    for old, new in ports.items():
        rest = re.sub(r"(?<=-)%s(?=-)" % re.escape(old), new, rest)
    return rest


def join(m, outdir):
    root = os.path.join(outdir, m["name"])
    untar(os.path.join(SHARED, "fixtures", "hwloc-linux", m["topology"]), os.path.join(outdir, ".x-" + m["name"]))
    top, = os.listdir(os.path.join(outdir, ".x-" + m["name"]))
    os.rename(os.path.join(outdir, ".x-" + m["name"], top), root)
    os.rmdir(os.path.join(outdir, ".x-" + m["name"]))
    cpus = online_cpus(root)
    with open(os.path.join(SHARED, "fixtures", "proc-interrupts", m["interrupts"]), "rb") as f:
        raw = f.read()
    ncol, table = rows((bz2.decompress(raw) if m["interrupts"].endswith(".bz2") else raw).decode())
    n = min(len(cpus), ncol)
    text = " " * 11 + "".join("%-11s" % ("CPU%d" % c) for c in cpus[:n]).rstrip() + "\n"
    for label, counts, rest in table:
        counts = (counts + ["0"] * n)[:n]
        text += "%4s:%s %s\n" % (label, "".join("%11s" % c for c in counts), rename(rest, m["ports"]))
        if label.isdigit():
            d = os.path.join(root, "proc", "irq", label)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "smp_affinity_list"), "w") as f:
                f.write(cpulist(cpus) + "\n")
    with open(os.path.join(root, "proc", "interrupts"), "w") as f:
        f.write(text)
    return root


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    want = set(sys.argv[2:])
    for m in machines():
        if not want or m["name"] in want:
            print(join(m, sys.argv[1]))


if __name__ == "__main__":
    main()
