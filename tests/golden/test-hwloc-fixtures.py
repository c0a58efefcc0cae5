#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""Every captured machine of the shared hwloc fixtures through `asiosctl topology --json --root`.

Counts are checked against the expected output hwloc ships beside each tarball (.console = `lstopo -v`,
.xml = lstopo XML, with the options and environment of its .test descriptor), and a table of facts known
about each machine is asserted on top. TAP output.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import ASIOSCTL, SHARED, check, done, eq, need, untar  # noqa: E402
import xml.etree.ElementTree as ET


def mask_to_set(mask):
    value = int(mask.replace("0x", "").replace(",", ""), 16) if mask else 0
    return {i for i in range(value.bit_length()) if value >> i & 1}


def descriptors(folder):
    """.test files: {source, target, options, env}"""
    out = []
    for f in sorted(os.listdir(folder)):
        if not f.endswith(".test"):
            continue
        d = {"options": "", "env": []}
        with open(os.path.join(folder, f)) as fh:
            for line in fh:
                m = re.match(r"(source|target|options|env):\s*(.*)", line.strip())
                if m:
                    if m.group(1) == "env":
                        d["env"].append(m.group(2))
                    else:
                        d[m.group(1)] = m.group(2)
        out.append(d)
    return out


def expected_counts(path, options, env):
    """Counts of an expected hwloc output file."""
    e = {}
    if path.endswith(".console"):
        text = open(path).read()
        for t in ("PU", "Core", "Package"):
            e[t] = len(re.findall(r"^\s*%s L#" % t, text, re.M))
        e["NUMANode"] = len(re.findall(r"^\s*NUMANode(\([^)]*\))? L#\d+ \(P#", text, re.M))
        return e
    root = ET.parse(path).getroot()
    objs = list(root.iter("object"))
    for t in ("PU", "Core", "Package", "NUMANode", "PCIDev"):
        e[t] = sum(1 for o in objs if o.get("type") == t)
    machine = objs[0]
    e["cpuset"] = mask_to_set(machine.get("cpuset"))
    e["complete"] = mask_to_set(machine.get("complete_cpuset"))
    # PCI locality: the nodeset of the nearest non-I/O ancestor, when it is one node
    e["pci_node"] = {}

    def walk(o, nodeset):
        for c in o.findall("object"):
            if c.get("type") == "PCIDev" and len(nodeset) == 1:
                e["pci_node"][c.get("pci_busid")] = next(iter(nodeset))
            ns = nodeset if c.get("type") in ("Bridge", "PCIDev", "OSDev") else mask_to_set(c.get("nodeset"))
            walk(c, ns)
    walk(root, set())
    return e


def our_counts(topo, disallowed, keep_gpu_nodes):
    cpus = [c for c in topo["cpus"] if c["online"] and (disallowed or c["allowed"])]
    nodes = [nd for nd in topo["nodes"] if (disallowed or nd["allowed"])
             and (keep_gpu_nodes or nd["kind"] != "GPUMemory")]
    # hwloc keeps a package that has an allowed PU or an allowed NUMA node
    node_cpus = {cpu for nd in nodes for cpu in nd["cpus"]}
    packages = {c["package"] for c in topo["cpus"] if c["package"] >= 0 and (c in cpus or (c["online"] and c["id"] in node_cpus))}
    return {
        "PU": len(cpus),
        "Core": len({c["core"] for c in cpus}),
        "Package": len(packages),
        "NUMANode": len(nodes),
        "PCIDev": len(topo["devices"]),
        "cpuset": {c["id"] for c in cpus},
        "complete": {c["id"] for c in topo["cpus"]},
    }


# Facts about each machine, from the fixture descriptions, asserted beyond hwloc's own counts.
FACTS = {
    "16em64t-4s2c2t-offlines": {"offline": [2, 5, 13, 14], "nodes": [0]},
    "16amd64-8n2c-cpusets": {"offline": [4], "allowed": [0, 1, 2, 3, 5, 6, 12, 13, 14, 15],
                             "cgroup": (1, [0, 1, 2, 3, 4, 5, 6, 12, 13, 14, 15], [1, 2, 3, 4])},
    "32amd64-4s2n4c-cgroup2": {"allowed": [0, 1, 2, 3, 4, 5], "possible": 48, "cgroup": (2, list(range(6)), list(range(6))),
                               "nodes": list(range(8))},
    "40intel64-2g2n4c+pcilocality": {"cgroup": (1, list(range(40)), [0, 1, 2, 3]), "possible": 80,
                                     "class": {"0000:43:00.0": "nic", "0000:02:00.0": "nic", "0000:01:00.0": "storage"},
                                     "rdma": {"0000:43:00.0": ["qib0"]}, "node": {"0000:43:00.0": 2}},
    "32em64t-2n8c+dax+nvme+mic+dimms": {"possible": 128, "nodes": [0, 1],
                                        "class": {"0000:00:02.0": "nvme", "0000:82:00.0": "nic", "0000:83:00.0": "accel",
                                                  "0000:02:00.0": "nic", "0000:00:1f.2": "storage"},
                                        "rdma": {"0000:82:00.0": ["mlx4_0"]}, "netdevs": {"0000:82:00.0": ["ib0"]},
                                        "node": {"0000:00:02.0": 0, "0000:82:00.0": 1},
                                        "node_source": {"0000:00:02.0": "local_cpus"}},
    "nvidiagpunumanodes": {"cpuless": [250, 251, 252, 253, 254, 255], "gpus": 6,
                           "gpu_node": {253: "0006:00:00.0", 255: "0004:05:00.0", 250: "0035:05:00.0"}},
    "offline-cpu0-node0": {"online": list(range(4, 21)), "nodes": [1], "no_node": list(range(4, 21, 2))},
    "fakeheteromemtiers": {"cpuless": [4, 6, 8, 9], "nodes": [0, 1, 2, 4, 6, 8, 9]},
    "128arm-2pa2n8cluster4co": {"arch": "aarch64", "nodes": [0, 1, 2, 3], "cores": 128},
    "256ppc-8n8s4t": {"arch": "ppc64", "nodes": [0, 1, 4, 5, 8, 9, 12, 13]},
    "memorysidecaches": {"nodes": [0, 1, 2, 3], "node_cpus": {1: list(range(1, 80, 4))}},
}


def check_facts(name, topo):
    f = FACTS.get(name, {})
    devs = {d["pci"]: d for d in topo["devices"]}
    if "offline" in f:
        eq("%s: offline CPUs" % name, f["offline"], topo["offline"])
    if "online" in f:
        eq("%s: online CPUs" % name, f["online"], topo["online"])
    if "allowed" in f:
        eq("%s: allowed CPUs" % name, f["allowed"], topo["allowed"])
    if "possible" in f:
        eq("%s: possible CPUs" % name, f["possible"], len(topo["possible"]))
    if "nodes" in f:
        eq("%s: node ids" % name, f["nodes"], [nd["id"] for nd in topo["nodes"]])
    if "cpuless" in f:
        eq("%s: CPU-less nodes" % name, f["cpuless"], [nd["id"] for nd in topo["nodes"] if nd["cpuless"]])
    if "cgroup" in f:
        cg = topo["cgroup"]
        eq("%s: cgroup version, cpus, mems" % name, f["cgroup"], (cg["version"], cg["cpus"], cg["mems"]))
    if "arch" in f:
        eq("%s: architecture" % name, f["arch"], topo["arch"])
    if "cores" in f:
        eq("%s: cores" % name, f["cores"], topo["cores"])
    if "gpus" in f:
        eq("%s: GPUs" % name, f["gpus"], sum(1 for d in topo["devices"] if d["class"] == "gpu"))
    for node, gpu in f.get("gpu_node", {}).items():
        eq("%s: GPU memory node %d belongs to %s" % (name, node, gpu), gpu,
           next(nd["gpu"] for nd in topo["nodes"] if nd["id"] == node))
    for key in ("class", "rdma", "netdevs", "node", "node_source"):
        for pci, want in f.get(key, {}).items():
            eq("%s: %s of %s" % (name, key, pci), want, devs.get(pci, {}).get(key))
    for node, cpus in f.get("node_cpus", {}).items():
        eq("%s: CPUs of node %d" % (name, node), cpus, next(nd["cpus"] for nd in topo["nodes"] if nd["id"] == node))


def invariants(name, topo):
    ids = [c["id"] for c in topo["cpus"]]
    check(ids == sorted(ids) and len(ids) == len(set(ids)), "%s: CPU ids sorted and unique" % name)
    node_ids = {nd["id"] for nd in topo["nodes"]}
    no_node = [c["id"] for c in topo["cpus"] if c["online"] and c["node"] not in node_ids]
    eq("%s: online CPUs without a node (an offlined node)" % name, FACTS.get(name, {}).get("no_node", []), no_node)
    check(all(d["node"] == -1 or d["node"] in node_ids for d in topo["devices"]), "%s: device nodes exist" % name)
    check(set(topo["isolation"]["housekeeping"]) <= set(topo["online"]), "%s: housekeeping within online" % name)


def rdma_ports(name, root, topo):
    """the RDMA ports of the topology against the machine's own sysfs files, read here: device, port, state
    and physical state (without their number), link layer, rate, the interface (the device's IPoIB one)"""
    want = []
    base = os.path.join(root, "sys", "class", "infiniband")
    for dev in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        ports = os.path.join(base, dev, "ports")
        for port in sorted(os.listdir(ports), key=int) if os.path.isdir(ports) else []:
            def val(f, strip_num=False):
                try:
                    v = open(os.path.join(ports, port, f)).read().strip()
                except OSError:
                    return None
                return v.split(":", 1)[1].strip() if strip_num and ":" in v else v
            net = os.path.join(base, dev, "device", "net")
            nets = sorted(os.listdir(net)) if os.path.isdir(net) else []
            want.append({"device": dev, "port": int(port), "state": val("state", True),
                         "phys_state": val("phys_state", True), "link_layer": val("link_layer"), "rate": val("rate"),
                         "netdev": nets[0] if nets else None})
    keys = ("device", "port", "state", "phys_state", "link_layer", "rate", "netdev")
    got = [{k: p.get(k) for k in keys} for p in topo.get("rdma", [])]
    eq("%s: RDMA ports as sysfs has them (%d)" % (name, len(want)), want, got)


def main():
    if not need(ASIOSCTL):
        return 1
    folders = [os.path.join(SHARED, "fixtures", d) for d in ("hwloc-linux", "hwloc-x86+linux")]
    for folder in folders:
        descs = descriptors(folder)
        for tarball in sorted(f for f in os.listdir(folder) if f.endswith(".tar.bz2")):
            name = tarball[:-len(".tar.bz2")]
            with tempfile.TemporaryDirectory() as tmp:
                untar(os.path.join(folder, tarball), tmp)
                top = os.path.join(tmp, os.listdir(tmp)[0])
                root = os.path.join(top, "fsroot") if os.path.isdir(os.path.join(top, "fsroot")) else top
                p = subprocess.run([ASIOSCTL, "topology", "--json", "--root", root], capture_output=True, text=True)
                check(p.returncode == 0, "%s: asiosctl topology --json" % name, p.stderr)
                if p.returncode != 0:
                    continue
                topo = json.loads(p.stdout)
                p2 = subprocess.run([ASIOSCTL, "topology", "--root", root], capture_output=True, text=True)
                check(p2.returncode == 0 and "NUMA nodes:" in p2.stdout, "%s: asiosctl topology (text)" % name, p2.stderr)
                invariants(name, topo)
                rdma_ports(name, root, topo)
                check_facts(name, topo)
                for d in descs:
                    if d.get("source") != tarball:
                        continue
                    target = d["target"]
                    env = " ".join(d["env"])
                    e = expected_counts(os.path.join(folder, target), d["options"], env)
                    ours = our_counts(topo, "--disallowed" in d["options"], "KEEP_NVIDIA_GPU_NUMA_NODES" in env)
                    for key in ("PU", "Core", "Package", "NUMANode"):
                        eq("%s vs %s: %s count" % (name, target, key), e[key], ours[key])
                    if "cpuset" in e:
                        eq("%s vs %s: online allowed CPUs" % (name, target), sorted(e["cpuset"]), sorted(ours["cpuset"]))
                        eq("%s vs %s: present CPUs" % (name, target), sorted(e["complete"]), sorted(ours["complete"]))
                    if "--whole-io" in d["options"]:
                        eq("%s vs %s: PCI functions" % (name, target), e["PCIDev"], ours["PCIDev"])
                        if "HWLOC_PCI_LOCALITY" not in env:  # forced locality is hwloc's, not the machine's
                            ournodes = {dv["pci"]: dv["node"] for dv in topo["devices"]}
                            wrong = {k: (v, ournodes.get(k)) for k, v in e["pci_node"].items() if ournodes.get(k) != v}
                            check(not wrong and e["pci_node"], "%s vs %s: PCI NUMA nodes (%d devices)" % (
                                name, target, len(e["pci_node"])), wrong)
    return done()


if __name__ == "__main__":
    sys.exit(main())
