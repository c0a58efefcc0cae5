#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""asiosctl workload NAME --gpus LIST -- COMMAND: the drop-in of asios-workload@NAME.service.

  - goldens tests/golden/workload/MACHINE.txt (ASIOS_REGEN=1 rewrites; a missing one fails) of
    `asiosctl workload job --gpus 0,1 --root MACHINE -- python3 train.py` on the synthetic 8-GPU server ai-2s8g,
    the isolated workstation ws-2g-iso, gh200 (one GPU: --gpus 0), the real POWER9 capture nvidiagpunumanodes
    (GPU memory as CPU-less NUMA nodes, vendor files unreadable, GPUs listed by the NVIDIA driver) and the capture
    h200-1g16c of tests/machines (one H200 in a virtual machine: --gpus 0);
  - against `asiosctl topology --json`: one DeviceAllow= per GPU's /dev/nvidiaN and the shared NVIDIA files, no
    other GPU's file; AllowedCPUs= the online CPUs of the GPUs' nodes (the isolated ones of them when CPUs are
    isolated); AllowedMemoryNodes= those nodes and the GPUs' own memory nodes; MemoryMax= 0.9 (or
    --memory-fraction) of their memory, in MiB rounded down;
  - systemd-analyze verify reads the template with the drop-in without a word (when systemd-analyze is there), and
    ExecStart= unquotes to the command given, spaces, quotes, backslashes, $ and % included;
  - GPUs by PCI address and ranges; AMD (render node and /dev/kfd) and accel-class devices (/dev/accel/accelN)
    on copies of ai-2s8g given such devices; --json carries the same drop-in; --write puts it under the root;
  - errors: an unknown GPU index or address (named, the known GPUs listed), a NIC given as a GPU, no GPU on the
    machine, a GPU of no known device file (the Xeon Phi of a capture), a NUMA node without memory, a GPU of
    unknown node, and the usage errors (exit 2).
TAP output.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import ASIOSCTL, GOLDEN, SHARED, TOP, check, ctl, done, eq, fixture_tree, golden, need, skip, topo, untar, write  # noqa: E402

CMD = ("python3", "train.py")
SYNTHETIC = {"ai-2s8g": "0,1", "ws-2g-iso": "0,1", "gh200": "0"}
REAL = {"nvidiagpunumanodes": "0,1"}
CAPTURES = {"h200-1g16c": "0"}  # tests/machines: a capture of a virtual machine with one H200 passed through
NVIDIA_SHARED = ["/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidia-modeset"]
UNIT = os.path.join(TOP, "packages", "asiosctl", "asios-workload@.service")
SLICE = os.path.join(TOP, "packages", "asiosctl", "asios-workload.slice")


def parse_list(text):
    out = set()
    for part in filter(None, text.replace(" ", ",").split(",")):
        a, _, b = part.partition("-")
        out |= set(range(int(a), int(b or a) + 1))
    return out


def settings(text):
    """KEY -> [values] of the drop-in's [Service] lines"""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith(("#", "[")):
            k, _, v = line.partition("=")
            out.setdefault(k, []).append(v)
    return out


def unquote_exec(line):
    """ExecStart='s words as systemd reads them: double quotes with C escapes; %% and $$ are one % and $"""
    words, i, esc = [], 0, {"n": "\n", "t": "\t", "\\": "\\", '"': '"'}
    while i < len(line):
        if line[i] == " ":
            i += 1
            continue
        w = ""
        if line[i] == '"':
            i += 1
            while line[i] != '"':
                if line[i] == "\\":
                    if line[i + 1] == "x":
                        w += chr(int(line[i + 2:i + 4], 16))
                        i += 4
                        continue
                    w += esc[line[i + 1]]
                    i += 2
                else:
                    w += line[i]
                    i += 1
            i += 1
        else:
            while i < len(line) and line[i] != " ":
                w += line[i]
                i += 1
        words.append(w.replace("%%", "%").replace("$$", "$"))
    return words


def gpus_of(t):
    return [d for d in t["devices"] if d["class"] in ("gpu", "accel")]


def check_dropin(name, t, text, sel, fraction=0.9):
    """the drop-in TEXT of GPUs SEL (indices) on machine T"""
    s = settings(text)
    gpus = gpus_of(t)
    chosen = [gpus[i] for i in sel]
    nvidia = [g["pci"] for g in gpus]  # every GPU of these machines is an NVIDIA one, numbered in PCI order
    want = ["/dev/nvidia%d" % nvidia.index(g["pci"]) for g in chosen] + NVIDIA_SHARED
    allowed = [v.split()[0] for v in s.get("DeviceAllow", [])]
    eq("%s: DeviceAllow= the GPUs' /dev/nvidiaN and the shared NVIDIA files, nothing else" % name, want, allowed)
    check(all(v.endswith(" rw") for v in s.get("DeviceAllow", [])), "%s: each DeviceAllow= is rw" % name)
    eq("%s: ExecStart= reset, then the command" % name, ["", " ".join(CMD)], s.get("ExecStart"))
    nodes = {g["node"] for g in chosen}
    node_cpus = set().union(*(set(n["cpus"]) for n in t["nodes"] if n["id"] in nodes)) & set(t["online"])
    hk = set(t["isolation"]["housekeeping"])
    if hk and set(t["online"]) - hk and node_cpus - hk:
        node_cpus -= hk
    eq("%s: AllowedCPUs= the online CPUs of the GPUs' nodes (the isolated ones when CPUs are isolated)" % name,
       sorted(node_cpus), sorted(parse_list(s.get("AllowedCPUs", [""])[0])))
    mems = nodes | {n["id"] for n in t["nodes"] if n.get("gpu") in {g["pci"] for g in chosen}}
    eq("%s: AllowedMemoryNodes= the GPUs' nodes and their own memory nodes" % name, sorted(mems),
       sorted(parse_list(s.get("AllowedMemoryNodes", [""])[0])))
    total = sum(n["memory_bytes"] for n in t["nodes"] if n["id"] in mems)
    eq("%s: MemoryMax= %g of those nodes' memory, in MiB" % (name, fraction), "%dM" % int(fraction * (total >> 20)),
       s.get("MemoryMax", [""])[0])


def verify(tmp, name, text):
    """systemd-analyze verify of the template with TEXT as the drop-in of asios-workload@job"""
    if not shutil.which("systemd-analyze"):
        skip("%s: systemd-analyze verify" % name, "systemd-analyze not installed")
        return
    d = os.path.join(tmp, "units-" + name)
    os.makedirs(os.path.join(d, "asios-workload@job.service.d"))
    shutil.copy(UNIT, d)
    shutil.copy(SLICE, d)
    write(os.path.join(d, "asios-workload@job.service.d", "50-asios.conf"), text)
    p = subprocess.run(["systemd-analyze", "verify", "--man=no", os.path.join(d, "asios-workload@job.service")],
                       capture_output=True, text=True)
    out = "\n".join(x for x in (p.stdout + p.stderr).splitlines() if "is not executable" not in x)
    check(p.returncode == 0 and not out, "%s: systemd-analyze verify reads the unit with the drop-in" % name, out)


def machines(tmp):
    roots = {name: fixture_tree(tmp, name) for name in SYNTHETIC}
    for name in REAL:
        d = os.path.join(tmp, "shared-" + name)
        untar(os.path.join(SHARED, "fixtures", "hwloc-linux", name + ".tar.bz2"), d)
        roots[name] = os.path.join(d, os.listdir(d)[0])
    for name in CAPTURES:
        d = os.path.join(tmp, "capture-" + name)
        untar(os.path.join(TOP, "tests", "machines", name + ".tar.gz"), d)
        roots[name] = os.path.join(d, os.listdir(d)[0])
    return roots


def goldens(tmp, roots):
    folder = os.path.join(GOLDEN, "workload")
    for name, root in sorted(roots.items()):
        sel = {**SYNTHETIC, **REAL, **CAPTURES}[name]
        p = ctl("workload", "job", "--gpus", sel, "--root", root, "--", *CMD)
        check(p.returncode == 0 and not p.stderr, "%s: workload job --gpus %s" % (name, sel), p.stderr)
        golden(name + ".txt", p.stdout, folder)
        t = topo(root)
        check_dropin(name, t, p.stdout, sorted(parse_list(sel)))
        verify(tmp, name, p.stdout)
        j = ctl("workload", "job", "--gpus", sel, "--root", root, "--json", "--", *CMD)
        try:
            o = json.loads(j.stdout)
        except ValueError as e:
            o = {"error": str(e)}
        eq("%s: --json carries the same drop-in, unit and command" % name,
           (p.stdout, "asios-workload@job.service", list(CMD), False),
           (o.get("dropin"), o.get("unit"), o.get("command"), o.get("written")))


def forms(tmp, root, t):
    """addresses, ranges, fractions, quoting, --write on ai-2s8g"""
    gpus = gpus_of(t)
    a = ctl("workload", "job", "--gpus", "%s,%s" % (gpus[7]["pci"], gpus[2]["pci"][5:].upper()), "--root", root,
            "--", *CMD)
    b = ctl("workload", "job", "--gpus", "7,2", "--root", root, "--", *CMD)
    check(a.returncode == 0 and a.stdout == b.stdout, "GPUs by PCI address (full, short, any case) = by index",
          a.stderr)
    c = ctl("workload", "job", "--gpus", "2-3,3", "--root", root, "--memory-fraction", "0.5", "--", *CMD)
    check(c.returncode == 0, "a range and a repeated GPU", c.stderr)
    if c.returncode == 0:
        check_dropin("ai-2s8g --gpus 2-3 --memory-fraction 0.5", t, c.stdout, [2, 3], 0.5)
    d = ctl("workload", "job", "--gpus", "3,4", "--root", root, "--", *CMD)
    eq("GPUs on both nodes: AllowedMemoryNodes= both", "0-1", settings(d.stdout).get("AllowedMemoryNodes", [""])[0])
    odd = ["/usr/bin/env", "a b", 'say "hi"', "back\\slash", "$HOME", "100%", "tab\there", "new\nline", ""]
    e = ctl("workload", "job", "--gpus", "0", "--root", root, "--", *odd)
    line = settings(e.stdout).get("ExecStart", ["", ""])[-1]
    eq("ExecStart= unquotes to the command, $ and % not expanded", odd, unquote_exec(line))
    verify(tmp, "odd-command", e.stdout)
    work = os.path.join(tmp, "write-root")
    shutil.copytree(root, work, symlinks=True)
    w = ctl("workload", "job", "--gpus", "0,1", "--root", work, "--write", "--", *CMD)
    path = os.path.join(work, "run/systemd/system/asios-workload@job.service.d/50-asios.conf")
    plain = ctl("workload", "job", "--gpus", "0,1", "--root", root, "--", *CMD).stdout
    got = open(path).read() if os.path.exists(path) else None
    check(w.returncode == 0 and got == plain and "daemon-reload" in w.stdout and path in w.stdout,
          "--write puts the drop-in under the root and says to daemon-reload", w.stdout + w.stderr)
    check(not [f for f in os.listdir(os.path.dirname(path)) if f != "50-asios.conf"] if got else False,
          "--write leaves no temporary file")


def sysfs_dev(root, cls, name, addr):
    """/sys/class/CLS/NAME/device -> the PCI device ADDR, as the kernel links it"""
    d = os.path.join(root, "sys", "class", cls, name)
    os.makedirs(d, exist_ok=True)
    target = os.path.realpath(os.path.join(root, "sys", "bus", "pci", "devices", addr))
    os.symlink(os.path.relpath(target, d), os.path.join(d, "device"))


def other_vendors(tmp, root, t):
    """AMD GPUs (render node, /dev/kfd) and an accel-class device on copies of ai-2s8g"""
    gpus = gpus_of(t)
    amd = os.path.join(tmp, "amd")
    shutil.copytree(root, amd, symlinks=True)
    for i, g in enumerate(gpus[:2]):
        write(os.path.join(amd, "sys/bus/pci/devices", g["pci"], "vendor"), "0x1002\n")
        sysfs_dev(amd, "drm", "renderD%d" % (128 + i), g["pci"])
    sysfs_dev(amd, "drm", "card0", gpus[0]["pci"])
    p = ctl("workload", "job", "--gpus", "0,1", "--root", amd, "--", *CMD)
    eq("AMD GPUs: their render nodes and /dev/kfd once", ["/dev/dri/renderD128", "/dev/dri/renderD129", "/dev/kfd"],
       [v.split()[0] for v in settings(p.stdout).get("DeviceAllow", [])])
    eq("AMD GPUs: the group render (their files' group)", ["render"], settings(p.stdout).get("SupplementaryGroups"))
    p = ctl("workload", "job", "--gpus", "2", "--root", amd, "--", *CMD)
    eq("an NVIDIA GPU beside AMD ones keeps its minor (NVIDIA GPU 0 in PCI order)", "/dev/nvidia0",
       (settings(p.stdout).get("DeviceAllow") or [""])[0].split()[0])
    acc = os.path.join(tmp, "accel")
    shutil.copytree(root, acc, symlinks=True)
    write(os.path.join(acc, "sys/bus/pci/devices", gpus[5]["pci"], "vendor"), "0x1da3\n")
    write(os.path.join(acc, "sys/bus/pci/devices", gpus[5]["pci"], "class"), "0x120000\n")
    sysfs_dev(acc, "accel", "accel0", gpus[5]["pci"])
    p = ctl("workload", "job", "--gpus", "5", "--root", acc, "--", *CMD)
    eq("an accelerator: its /dev/accel/accelN only", ["/dev/accel/accel0"],
       [v.split()[0] for v in settings(p.stdout).get("DeviceAllow", [])])
    check("SupplementaryGroups=" not in settings(p.stdout) and "udev rule" in p.stdout,
          "an accelerator: no group assumed, the need for one said", p.stdout)
    drv = os.path.join(tmp, "minor")
    shutil.copytree(root, drv, symlinks=True)
    write(os.path.join(drv, "proc/driver/nvidia/gpus", gpus[1]["pci"], "information"),
          "Model:\t\tH100\nBus Location:\t%s\nDevice Minor:\t6\n" % gpus[1]["pci"])
    p = ctl("workload", "job", "--gpus", "1", "--root", drv, "--", *CMD)
    check("DeviceAllow=/dev/nvidia6 rw" in p.stdout and "Device Minor" in p.stdout,
          "the NVIDIA driver's Device Minor wins over the PCI order", p.stdout + p.stderr)


def fails(args, code, what, *needles):
    p = ctl("workload", *args)
    check(p.returncode == code and p.stderr.startswith("asiosctl") and all(n in p.stderr for n in needles),
          "%s: exit %d%s" % (what, code, ", naming " + ", ".join(needles) if needles else ""),
          "%d %s" % (p.returncode, p.stderr))


def errors(tmp, root, t):
    gpus = gpus_of(t)
    cmd = ["--", *CMD]
    fails(["job", "--gpus", "0,8", "--root", root, *cmd], 1, "an unknown GPU index", "no GPU 8", gpus[0]["pci"],
          "7 " + gpus[7]["pci"])
    fails(["job", "--gpus", "0000:77:00.0", "--root", root, *cmd], 1, "an unknown PCI address", "0000:77:00.0",
          gpus[0]["pci"])
    nic = next(d["pci"] for d in t["devices"] if d["class"] == "nic")
    fails(["job", "--gpus", nic, "--root", root, *cmd], 1, "a NIC given as a GPU", nic, "not a GPU")
    for name in ("offline-cpu0-node0", "32em64t-2n8c+dax+nvme+mic+dimms"):
        d = os.path.join(tmp, "shared-" + name)
        untar(os.path.join(SHARED, "fixtures", "hwloc-linux", name + ".tar.bz2"), d)
        r = os.path.join(d, os.listdir(d)[0])
        if name.startswith("offline"):
            fails(["job", "--gpus", "0", "--root", r, *cmd], 1, "a machine without GPU", "no GPU", r)
        else:
            fails(["job", "--gpus", "0", "--root", r, *cmd], 1, "a Xeon Phi: no device file known", "0000:83:00.0",
                  "no device file known")
    nomem = os.path.join(tmp, "nomem")
    shutil.copytree(root, nomem, symlinks=True)
    write(os.path.join(nomem, "sys/devices/system/node/node1/meminfo"), "Node 1 MemTotal:       0 kB\n")
    fails(["job", "--gpus", "4", "--root", nomem, *cmd], 1, "a NUMA node without memory", "NUMA node 1",
          "no memory")
    nonode = os.path.join(tmp, "nonode")
    shutil.copytree(root, nonode, symlinks=True)
    for dev in gpus[0]["pci_path"].split("/")[1:]:  # the GPU and its bridges: no node, CPUs of both nodes
        base = os.path.join(nonode, "sys/bus/pci/devices", dev)
        write(os.path.join(base, "numa_node"), "-1\n")
        write(os.path.join(base, "local_cpulist"), "0-95\n")
        write(os.path.join(base, "local_cpus"), "ffffffff,ffffffff,ffffffff\n")
    p = ctl("topology", "--json", "--root", nonode)
    unknown = [d for d in json.loads(p.stdout)["devices"] if d["pci"] == gpus[0]["pci"]] if p.returncode == 0 else []
    if unknown and unknown[0]["node"] < 0:
        fails(["job", "--gpus", "0", "--root", nonode, *cmd], 1, "a GPU of unknown NUMA node", gpus[0]["pci"],
              "NUMA node unknown")
    else:
        skip("a GPU of unknown NUMA node", "the model found its node another way (%s)" % unknown[:1])
    missing = os.path.join(tmp, "no-such-machine")
    fails(["job", "--gpus", "0", "--root", missing, *cmd], 1, "a missing --root", missing)
    for args, what in ((["job", "--root", root, *cmd], "no --gpus"),
                       (["job", "--gpus", "0", "--root", root], "no -- COMMAND"),
                       (["job", "--gpus", "0", "--root", root, "--"], "an empty command"),
                       (["job", "--gpus", "0", "--root", root, "--", "./train.sh"], "a relative program path"),
                       (["--gpus", "0", "--root", root, *cmd], "no NAME"),
                       (["a/b", "--gpus", "0", "--root", root, *cmd], "a NAME with a slash"),
                       (["job", "extra", "--gpus", "0", *cmd], "an extra argument"),
                       (["job", "--gpus", "0", "--memory-fraction", "1.5", *cmd], "a fraction above 1"),
                       (["job", "--gpus", "0", "--memory-fraction", "0", *cmd], "a fraction of 0"),
                       (["job", "--gpus", "x-y", "--root", root, *cmd], "a bad --gpus item"),
                       (["job", "--gpus", "0", "--bogus", *cmd], "an unknown option"),
                       (["job", "--gpus", "0", "--root", "", *cmd], "an empty --root")):
        fails(args, 2 if what != "a bad --gpus item" else 1, what)
    p = ctl("workload", "--help")
    check(p.returncode == 0 and "--gpus" in p.stdout and "--memory-fraction" in p.stdout, "workload --help")
    p = ctl("--help")
    check(re.search(r"^  workload ", p.stdout, re.M) is not None, "asiosctl --help lists workload")


def main():
    if not need(ASIOSCTL):
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        roots = machines(tmp)
        goldens(tmp, roots)
        t = topo(roots["ai-2s8g"])
        forms(tmp, roots["ai-2s8g"], t)
        other_vendors(tmp, roots["ai-2s8g"], t)
        errors(tmp, roots["ai-2s8g"], t)
    return done()


if __name__ == "__main__":
    sys.exit(main())
