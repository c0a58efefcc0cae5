#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""asiosctl numa: golden plans, invariants, idempotence, apply/revert, rollback, bad configuration, unknown devices.

Each machine (the synthetic GPU servers and three shared captures: CPU-less GPU-memory nodes with a cgroup v1
cpuset, offline CPUs, a cgroup v2 restriction) gets a synthetic /proc of workloads written by this test into a
copy of its tree: processes with fd links to accelerator files, a status with Cpus_allowed_list and
Mems_allowed_list, a cgroup file and a numa_maps with pages on the wrong node; plus per-node huge page pools
and the AutoNUMA switch. Same input, same tree: goldens tests/golden/NAME.numa-plan.json (ASIOS_REGEN=1
rewrites). On every machine: no CPU outside the online, housekeeping and cgroup sets (unless a workload owns
it), pages only moved to nodes with CPUs, a reason everywhere, deterministic, and after an apply the plan is
empty; revert restores every file; an injected EINVAL mid-apply rolls everything back. TAP output.
"""
import glob
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import ASIOSCTL, SHARED, TOP, add_proc, capture, check, cpulist, ctl, done, golden, need, plan_json, topo, untar, write  # noqa: E402

SHARED_MACHINES = ["nvidiagpunumanodes", "offline-cpu0-node0", "32amd64-4s2n4c-cgroup2"]


def plan(root, *extra):
    return plan_json("numa", root, *extra)


def machine_info(t):
    cpu_nodes = [n for n in t["nodes"] if n["cpus"]]
    gpus = [d for d in t["devices"] if d["class"] == "gpu"]
    return cpu_nodes, gpus


def populate(root, name, t):
    """Workloads for machine T (topology JSON) under ROOT."""
    cpu_nodes, gpus = machine_info(t)
    online = [c["id"] for c in t["cpus"] if c["online"]]
    mems = [n["id"] for n in t["nodes"]]
    first, last = cpu_nodes[0]["id"], cpu_nodes[-1]["id"]
    # the workloads live in the machine's restricted cgroup, when it has one
    c = t.get("cgroup") or {}
    cg = "0::/\n"
    if c.get("version") == 2:
        cg = "0::%s\n" % c["path"]
    elif c.get("version") == 1:
        cg = "7:cpuset:%s\n" % c["path"]
    restricted_mems = t.get("cgroup", {}).get("mems") or mems
    for n in t["nodes"]:
        write(os.path.join(root, "sys/devices/system/node/node%d/hugepages/hugepages-2048kB/nr_hugepages" % n["id"]),
              "0\n")
    write(os.path.join(root, "proc/sys/kernel/numa_balancing"), "1\n")
    if name == "nvidiagpunumanodes":
        # the driver's view: Device Minor N of each GPU (the capture has only numa_status there)
        for i, g in enumerate(sorted(gpus, key=lambda g: g["pci"])):
            write(os.path.join(root, "proc/driver/nvidia/gpus", g["pci"], "information"),
                  "Model:\t\tTesla V100\nBus Location:\t%s\nDevice Minor:\t%d\n" % (g["pci"], i))
    # 1000: one GPU, pages mostly on the other CPU node
    far = cpu_nodes[-1]["id"] if len(cpu_nodes) > 1 else first
    if gpus:
        pages = {first: 1000, far: 50000}
        cpuless = [n["id"] for n in t["nodes"] if not n["cpus"]]
        if cpuless:  # managed memory on a GPU-memory node: stays there
            pages[cpuless[-1]] = 3000
        add_proc(root, 1000, "python3", "python3 train.py --gpu 0", ["/dev/nvidia0", "/dev/nvidiactl", "/dev/nvidia-uvm"],
                 online, restricted_mems, pages, cg)
    # 1001: GPUs on every node (the first and the last GPU): the multi-node policy
    if len(gpus) > 1:
        add_proc(root, 1001, "python3", "python3 ddp.py", ["/dev/nvidia0", "/dev/nvidia%d" % (len(gpus) - 1)],
                 online, restricted_mems, {first: 30000}, cg)
    # 1002: an accelerator file of no device: reported, left alone
    add_proc(root, 1002, "infer", "infer --model m", ["/dev/accel/accel9"], online, mems, {first: 100}, cg)
    # 1003: not a workload
    add_proc(root, 1003, "bash", "-bash", [], online, mems, {first: 10}, cg)
    # 1004: configured by command pattern, node given; pages on the first node
    add_proc(root, 1004, "serve", "serve --port 80", [], online, restricted_mems, {first: 20000}, cg)
    # 1005: configured, ignored
    add_proc(root, 1005, "python3", "python3 notebook.py", ["/dev/nvidia0"], online, mems, {first: 5}, cg)
    # 1006: a render node (DRM) of the last GPU
    if gpus:
        g = gpus[-1]
        link = os.path.join(root, "sys/class/drm/renderD128/device")
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink("../../../bus/pci/devices/" + g["pci"], link)
        add_proc(root, 1006, "vllm", "vllm serve", ["/dev/dri/renderD128"], online, restricted_mems, {first: 4000}, cg)
    write(os.path.join(root, "etc/asios/numad.conf"),
          "[numad]\nautonuma = auto\n[hugepages]\nnode%d = 64\n[workload serve]\ncommand = serve *\nnode = %d\n"
          "[workload notebooks]\ncommand = *notebook*\nignore = yes\n" % (last, last))


def snapshot(root):
    """The files apply may touch."""
    out = {}
    for pat in ["proc/[0-9]*/status", "proc/[0-9]*/numa_maps", "proc/sys/kernel/numa_balancing",
                "sys/devices/system/node/node*/hugepages/*/nr_hugepages"]:
        for f in glob.glob(os.path.join(root, pat)):
            out[f] = open(f).read()
    return out


def invariants(name, root, t, pl):
    online = {c["id"] for c in t["cpus"] if c["online"]}
    excluded = set(t["isolation"]["isolated"]) | set(t["isolation"]["nohz_full"])
    cg = set(t.get("cgroup", {}).get("cpus") or [])
    aff = [a for a in pl["actions"] if a["kind"] == "affinity"]
    check(all(set(a["to"]) <= online for a in aff), "%s: affinities only on online CPUs" % name, aff)
    check(not [a for a in aff if set(a["to"]) & excluded], "%s: no workload on an isolated CPU" % name, aff)
    check(not cg or all(set(a["to"]) <= cg for a in aff), "%s: affinities within the cgroup cpuset" % name, aff)
    cpu_nodes = {n["id"] for n in t["nodes"] if n["cpus"]}
    mig = [a for a in pl["actions"] if a["kind"] == "migrate"]
    check(all(set(a["to"]) <= cpu_nodes for a in mig), "%s: pages only moved to nodes with CPUs" % name, mig)
    check(all(a["reason"] for a in pl["actions"]) and all(s["reason"] for s in pl["skipped"]),
          "%s: every action and skip has a reason" % name)
    order = [a["kind"] for a in pl["actions"]]
    check(order == sorted(order, key=lambda k: k == "migrate"), "%s: page migrations come last" % name, order)
    rc, again, _ = plan(root)
    check(again == pl, "%s: deterministic" % name)
    skipped = {s["object"]: s["reason"] for s in pl["skipped"]}
    check("unknown accelerator: /dev/accel/accel9 (no /sys/class/accel/accel9/device); left alone"
          in skipped.values(), "%s: an unknown device is reported and left alone" % name, skipped)
    check(not any(a.get("pid") == 1003 for a in pl["actions"]), "%s: a process without accelerator is not touched" % name)
    check(skipped.get("pid 1005 (python3)") == "ignored by [workload notebooks]", "%s: ignore = yes" % name, skipped)


def apply_tests(name, root):
    before = snapshot(root)
    rc, pl, err = plan(root)
    p = ctl("numa", "apply", "--root", root)
    check(p.returncode == 0, "%s: apply" % name, p.stdout + p.stderr)
    rc, again, err = plan(root)
    check(rc == 0 and again["actions"] == [], "%s: idempotent (re-plan after apply is empty)" % name, again)
    for a in pl["actions"]:
        if a["kind"] == "affinity":
            st = open(os.path.join(root, "proc/%d/status" % a["pid"])).read()
            check("Cpus_allowed_list:\t%s\n" % cpulist(a["to"]) in st, "%s: pid %d placed" % (name, a["pid"]), st)
    p = ctl("numa", "revert", "--root", root)
    after = snapshot(root)
    restored = {k: v for k, v in after.items() if not k.endswith("numa_maps")}
    check(p.returncode == 0 and restored == {k: v for k, v in before.items() if not k.endswith("numa_maps")},
          "%s: revert restores affinities, huge page pools and AutoNUMA" % name, p.stderr)
    moved = [a for a in pl["actions"] if a["kind"] == "migrate"]
    check(not moved or "stay there (page migration is not undone)" in p.stderr,
          "%s: revert says moved pages stay" % name, p.stderr)
    for f, v in before.items():  # back to the original tree for the failure tests
        with open(f, "w") as fh:
            fh.write(v)
    aff = [a for a in pl["actions"] if a["kind"] == "affinity"]
    if len(aff) < 2:
        return
    # an EINVAL on the second affinity: everything of this apply is rolled back, no page moved
    target = "/proc/%d/status" % aff[1]["pid"]
    p = ctl("numa", "apply", "--root", root, env={"ASIOS_FAULT_INJECT": target + "=EINVAL"})
    check(p.returncode == 1 and "Invalid argument" in p.stderr and "rolled back" in p.stderr,
          "%s: EINVAL mid-apply fails the apply" % name, p.stderr)
    check(snapshot(root) == before, "%s: ... nothing half-applied (files and pages as before)" % name)
    j = os.path.join(root, "run/asios/numad.journal")
    check(not os.path.exists(j) or open(j).read() == "", "%s: ... and nothing to revert" % name)


def config_tests(root):
    conf = os.path.join(root, "etc/asios/numad.conf")
    saved = open(conf).read()
    before = snapshot(root)
    cases = [
        ("[numad]\nmulti_node = spread\n", "numad.conf:2: multi_node: expected split, interleave or leave"),
        ("[numad]\nautonuma = maybe\n", "numad.conf:2: autonuma: expected leave, auto, off or on"),
        ("[numad]\nfrobnicate = 1\n", "numad.conf:2: unknown key \"frobnicate\" in [numad]"),
        ("[hugepages]\nnode1 = lots\n", "numad.conf:2: node1: expected COUNT [2M|1G|NkB]"),
        ("[hugepages]\nnodeX = 4\n", "numad.conf:2: [hugepages]: expected nodeN = COUNT [SIZE]"),
        ("[workload a]\ncommand = a*\nnode = -1\n", "numad.conf:3: node: not a NUMA node number"),
        ("[workload a]\ncommand = a*\ncpus = 1-\n", "numad.conf:3: cpus: not a non-empty CPU list"),
        ("[workload a]\ncgroup = relative/x\n", "numad.conf:2: cgroup: expected an absolute cgroup path"),
        ("[workload a]\nnode = 0\n", "numad.conf:2: [workload a]: needs command = PATTERN or cgroup = PATH"),
        ("[cpu]\nx = 1\n", "numad.conf:2: unknown section [cpu]"),
        ("[numad\n", "numad.conf:1: "),
    ]
    for text, want in cases:
        write(conf, text)
        p = ctl("numa", "apply", "--root", root)
        check(p.returncode == 1 and want in p.stderr and "nothing applied" in p.stderr and snapshot(root) == before,
              "bad config %r: %s, nothing applied" % (text.splitlines()[-1], want), p.stderr)
    write(conf, saved)
    write(os.path.join(root, "etc/asios/numad.conf.d/50-site.conf"), "\n[numad]\nmigrate = perhaps\n")
    p = ctl("numa", "plan", "--root", root)
    check(p.returncode == 1 and "numad.conf.d/50-site.conf:3: migrate: expected yes or no" in p.stderr,
          "drop-in error names the drop-in and line", p.stderr)
    # policies: leave / interleave for the multi-node process, migrate = no, autonuma = leave
    write(os.path.join(root, "etc/asios/numad.conf.d/50-site.conf"), "[numad]\nmulti_node = leave\n")
    rc, pl, err = plan(root)
    sk = {s["object"]: s["reason"] for s in pl["skipped"]}
    check("multi_node = leave" in sk.get("pid 1001 (python3)", ""), "multi_node = leave: reported, untouched", sk)
    write(os.path.join(root, "etc/asios/numad.conf.d/50-site.conf"), "[numad]\nmulti_node = interleave\n")
    rc, pl, err = plan(root)
    acts = [a for a in pl["actions"] if a.get("pid") == 1001 and a["kind"] == "migrate"]
    sk = {s["object"]: s["reason"] for s in pl["skipped"]}
    check(not acts and "pid 1001 (python3)" not in sk,
          "multi_node = interleave: placed on both nodes, pages left", acts)
    write(os.path.join(root, "etc/asios/numad.conf.d/50-site.conf"), "[numad]\nmigrate = no\nautonuma = leave\n")
    rc, pl, err = plan(root)
    check(not [a for a in pl["actions"] if a["kind"] == "migrate" or a["object"] == "AutoNUMA"] and
          any("autonuma = leave" in n for n in pl["notes"]), "migrate = no, autonuma = leave: no migration, switch kept",
          pl)
    write(os.path.join(root, "etc/asios/numad.conf.d/50-site.conf"), "[workload serve]\nautonuma = yes\n")
    rc, pl, err = plan(root)
    check(any("workloads disagree on AutoNUMA" in n for n in pl["notes"]), "autonuma = auto: disagreement leaves it",
          pl["notes"])
    os.remove(os.path.join(root, "etc/asios/numad.conf.d/50-site.conf"))


def extract(tmp):
    roots = {}
    for f in sorted(glob.glob(os.path.join(TOP, "tests", "fixtures", "*.tar.gz"))):
        name = os.path.basename(f)[:-len(".tar.gz")]
        untar(f, os.path.join(tmp, "syn"))
        roots[name] = os.path.join(tmp, "syn", name)
    for name in SHARED_MACHINES:
        f = os.path.join(SHARED, "fixtures", "hwloc-linux", name + ".tar.bz2")
        d = os.path.join(tmp, "shared", name)
        untar(f, d)
        roots[name] = os.path.join(d, os.listdir(d)[0])
    return roots


def capture_equals(name, root, tmp):
    """A capture (`asiosctl snapshot --root`) of a machine with workloads plans as the machine does: it holds
    the policy, the workloads' status, stat, cmdline, cgroup, numa_maps and their /dev descriptors, and of no
    other process more than its status, of no descriptor more than links into /dev."""
    cap, p = capture(root, tmp, name)
    rc, pl, err = plan(root)
    rc2, there, err2 = plan(cap)
    check(p.returncode == 0 and rc == rc2 == 0 and pl == there and pl["actions"],
          "%s: the NUMA plan on a capture equals the plan on the machine (%d actions)" % (name, len(pl["actions"])),
          p.stderr + err + err2 + "\nmachine: %s\ncapture: %s" % (json.dumps(pl)[:1500], json.dumps(there)[:1500]))
    fds = sorted(os.path.join(dp, f)[len(cap):] for dp, _, fs in os.walk(os.path.join(cap, "proc")) for f in fs
                 if "/fd" in dp)
    targets = {os.readlink(os.path.join(cap, f.lstrip("/"))) for f in fds}
    check(fds and all(t.startswith("/dev/") and t != "/dev/null" or t == "/dev/null" for t in targets) and
          not os.path.exists(os.path.join(cap, "proc/1003/cmdline")),
          "%s: the capture holds the workloads' device links and nothing of other processes" % name,
          "%s %s" % (fds, targets))


def main():
    if not need(ASIOSCTL):
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        for name, root in sorted(extract(tmp).items()):
            t = topo(root)
            populate(root, name, t)
            rc, pl, err = plan(root)
            check(rc == 0, "%s: plan" % name, err)
            if rc:
                continue
            golden(name + ".numa-plan.json", json.dumps(pl, indent=1) + "\n")
            invariants(name, root, t, pl)
            apply_tests(name, root)
            if name == "ai-2s8g":
                capture_equals(name, root, tmp)
                config_tests(root)
        p = ctl("numa", "explain", "--root", os.path.join(tmp, "syn", "ai-2s8g"))
        check(p.returncode == 0 and "pid 1000 (python3)" in p.stdout and "left alone: unknown accelerator" in p.stdout,
              "explain shows every workload and why", p.stdout + p.stderr)
    return done()


if __name__ == "__main__":
    sys.exit(main())
