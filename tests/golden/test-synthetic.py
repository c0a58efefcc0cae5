#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""The synthetic AI servers of tests/fixtures through `asiosctl topology`: golden output and assertions.

The generator must reproduce the committed tarballs byte for byte. `asiosctl topology` text and JSON of each
machine are diffed against tests/golden/NAME.topology.{txt,json}; ASIOS_REGEN=1 rewrites them. TAP output.
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import ASIOSCTL, FIXTURES, check, done, eq, golden, need, untar  # noqa: E402


def run(root, *args):
    p = subprocess.run([ASIOSCTL, "topology", "--root", root] + list(args), capture_output=True, text=True)
    return p.returncode, p.stdout.replace(root.rstrip("/"), "ROOT"), p.stderr


def by_class(topo, cls):
    return [d for d in topo["devices"] if d["class"] == cls]


def ai_2s8g(topo):
    gpus, nics = by_class(topo, "gpu"), by_class(topo, "nic")
    eq("ai-2s8g: 8 GPUs", 8, len(gpus))
    eq("ai-2s8g: 4 ConnectX + 1 onboard NIC", ["mellanox"] * 4 + ["intel"], sorted(d["vendor_name"] for d in nics)[::-1])
    eq("ai-2s8g: the BMC VGA is not a GPU", "other", next(d["class"] for d in topo["devices"] if d["vendor"] == "0x1a03"))
    m = topo["gpu_nic"]
    for i, g in enumerate(m["gpus"]):
        row = dict(zip(m["nics"], m["distance"][i]))
        pix = [k for k, v in row.items() if v == "PIX"]
        gnode = next(d["node"] for d in gpus if d["pci"] == g)
        check(len(pix) == 1 and next(d["node"] for d in nics if d["pci"] == pix[0]) == gnode,
              "ai-2s8g: GPU %s has one NIC on its switch, on its node" % g, row)
        check(all(v == "SYS" for k, v in row.items() if next(d["node"] for d in nics if d["pci"] == k) != gnode),
              "ai-2s8g: GPU %s reaches the other socket's NICs through SYS" % g, row)
    mlx = [d for d in nics if d["driver"] == "mlx5_core"]
    check(all(len(d["irqs"]) == 17 for d in mlx), "ai-2s8g: 17 MSI-X vectors per ConnectX (async + 16 completion)")
    check(all(d["rdma"] == ["mlx5_%d" % i] for i, d in enumerate(mlx)), "ai-2s8g: RDMA devices matched to NICs")
    nvme3 = next(d for d in topo["devices"] if d["nvme"] == ["nvme3"])
    eq("ai-2s8g: NVMe with numa_node -1 takes its switch's node", (1, "parent"), (nvme3["node"], nvme3["node_source"]))
    irqs = topo["irqs"]
    eq("ai-2s8g: kernel-managed NVMe queue IRQs", 32, sum(1 for q in irqs if q["managed"]))
    eq("ai-2s8g: eno1 queues owned by name", ["0000:00:1f.6"] * 2, [q["device"] for q in irqs if q["name"].startswith("eno1")])
    eq("ai-2s8g: legacy timer has no device", None, next(q["device"] for q in irqs if q["irq"] == 0))
    node_of = {c["id"]: c["node"] for c in topo["cpus"]}
    dev_node = {d["pci"]: d["node"] for d in topo["devices"]}
    check(all(node_of[c] == dev_node[q["device"]] for q in irqs if "mlx5_comp" in (q["name"] or "") for c in q["affinity"]),
          "ai-2s8g: completion vectors affine to their NIC's node")
    eq("ai-2s8g: SMT siblings share a core", topo["cpus"][0]["core"], topo["cpus"][48]["core"])
    eq("ai-2s8g: packages", 2, topo["packages"])


def gh200(topo):
    eq("gh200: architecture", "aarch64", topo["arch"])
    eq("gh200: CPU-less GPU memory node", [1], [nd["id"] for nd in topo["nodes"] if nd["cpuless"]])
    eq("gh200: node 1 memory", 96 << 30, topo["nodes"][1]["memory_bytes"])
    eq("gh200: GPU and NIC on different host bridges of one node", [["NODE"]], topo["gpu_nic"]["distance"])
    nic = by_class(topo, "nic")[0]
    eq("gh200: ITS-MSI vectors of the NIC", 9, len(nic["irqs"]))
    eq("gh200: GIC chip parsed", "GICv3", next(q["chip"] for q in topo["irqs"] if q["irq"] == 11))
    eq("gh200: action missing from /proc/interrupts taken from /sys/kernel/irq", "arm-pmu",
       next(q["name"] for q in topo["irqs"] if q["irq"] == 12))


def ws_2g_iso(topo):
    iso = topo["isolation"]
    eq("ws-2g-iso: isolated", [4, 5, 6, 7, 20, 21, 22, 23], iso["isolated"])
    eq("ws-2g-iso: nohz_full", [4, 5, 6, 7, 20, 21, 22, 23], iso["nohz_full"])
    eq("ws-2g-iso: housekeeping", [c for c in range(32) if c not in iso["isolated"]], iso["housekeeping"])
    eq("ws-2g-iso: isolcpus flags kept", "managed_irq,domain,4-7,20-23", iso["cmdline"]["isolcpus"])
    eq("ws-2g-iso: irqaffinity", "0-3,8-19,24-31", iso["cmdline"]["irqaffinity"])
    eq("ws-2g-iso: devices with numa_node -1 placed by local CPUs", ["local_cpus"] * 4,
       [d["node_source"] for d in topo["devices"] if d["class"] in ("gpu", "nic")] + [
           d["node_source"] for d in topo["devices"] if d["class"] == "storage"])
    eq("ws-2g-iso: an IRQ left on an isolated CPU is reported as is", [5],
       next(q["affinity"] for q in topo["irqs"] if q["irq"] == 131))
    eq("ws-2g-iso: ahci legacy line owned through its irq file", "0000:00:17.0",
       next(q["device"] for q in topo["irqs"] if q["irq"] == 16))
    eq("ws-2g-iso: the GPU's audio function is other", "other",
       next(d["class"] for d in topo["devices"] if d["pci"] == "0000:01:00.1"))


def ai_2s8g_nopxm(topo):
    devs = [d for d in topo["devices"] if d["class"] in ("gpu", "nic", "nvme")]
    eq("ai-2s8g-nopxm: every device placed by its local CPUs (nvme3, without them, by its switch)",
       ["parent"] + ["local_cpus"] * 16, sorted(d["node_source"] for d in devs)[::-1])
    eq("ai-2s8g-nopxm: 8 GPUs per node 4+4", [4, 4], [sum(1 for d in devs if d["class"] == "gpu" and d["node"] == n)
                                                     for n in (0, 1)])
    eq("ai-2s8g-nopxm: ConnectX on their sockets", [0, 0, 1, 1],
       [d["node"] for d in devs if d["vendor_name"] == "mellanox"])


CHECKS = {"ai-2s8g": ai_2s8g, "ai-2s8g-nopxm": ai_2s8g_nopxm, "gh200": gh200, "ws-2g-iso": ws_2g_iso}


def main():
    if not need(ASIOSCTL):
        return 1
    with tempfile.TemporaryDirectory() as regen:
        p = subprocess.run([os.path.join(FIXTURES, "gen-fixtures.py"), regen], capture_output=True, text=True)
        check(p.returncode == 0, "generator runs", p.stderr)
        for name in sorted(CHECKS):
            same = open(os.path.join(regen, name + ".tar.gz"), "rb").read() == \
                open(os.path.join(FIXTURES, name + ".tar.gz"), "rb").read()
            check(same, "%s: committed tarball is what the generator writes" % name)
    for name in sorted(CHECKS):
        with tempfile.TemporaryDirectory() as tmp:
            untar(os.path.join(FIXTURES, name + ".tar.gz"), tmp)
            root = os.path.join(tmp, name)
            rc, text, err = run(root)
            check(rc == 0 and not err, "%s: asiosctl topology" % name, err)
            golden(name + ".topology.txt", text)
            rc, js, err = run(root, "--json")
            check(rc == 0 and not err, "%s: asiosctl topology --json" % name, err)
            golden(name + ".topology.json", js)
            topo = json.loads(js)
            eq("%s: no warnings" % name, [], topo["warnings"])
            CHECKS[name](topo)
    return done()


if __name__ == "__main__":
    sys.exit(main())
