#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""asiosctl gpu (the GPU host-settings domain): golden plans, the switch ports, apply/revert, policy, bad input.
  - every synthetic machine and two real captures are planned; goldens tests/golden/NAME.gpu-plan.json
    (ASIOS_REGEN=1 rewrites): the switch ports whose ACS redirect the plan turns off are checked against those
    the test finds itself from the sysfs paths (each GPU with the NIC behind its PCIe switch, the bridges below
    their common upstream bridge); nothing is planned where no GPU shares a switch with a NIC;
  - with /etc/default/grub.d: apply writes the GRUB snippet, the plan is empty afterwards, revert removes it;
  - a parameter already on the running command line is left alone with its reason; gpu.conf's acs/iommu = leave;
    bad gpu.conf lines named with file and line, nothing applied; a capture plans as the tree does;
  - the peer-memory path: nvidia-peermem at boot (modules-load.d) under NVIDIA's proprietary kernel module only;
    DMA-BUF (nothing to load) under the open kernel module and for other vendors' GPUs (the same tree with the
    GPUs' vendor changed to AMD's); not decided before the driver is loaded; left alone when loaded outside
    ASIOS, or with peermem = leave; removed when no longer needed; apply/revert; carried by a capture.
  - persistence mode of NVIDIA's GPUs: nvidia-persistenced wanted by multi-user.target where the unit is installed
    and not enabled, the unit's ExecStart= without --no-persistence-mode (a drop-in systemd-analyze verify accepts;
    it refuses the same drop-in without the ExecStart= reset); nothing where it is enabled and starts with
    persistence on; left alone when not installed, masked, with persistence = leave, or (the override) when the unit
    has drop-ins of others; our drop-ins removed where no NVIDIA GPU is left; apply/revert; carried by a capture.
TAP output."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import (SHARED, TOP, ASIOSCTL, capture, check, ctl, done, fixture_copy, fixture_tree, golden, need,  # noqa: E402
                    plan_json, skip, tree_differs, tree_digest, unpack_root, write)

GRUB = "etc/default/grub.d/asios-gpu.cfg"
MODULES = "etc/modules-load.d/asios-gpu.conf"
VERSION = "proc/driver/nvidia/version"
# /proc/driver/nvidia/version as the two kinds of NVIDIA's kernel module write it
PROPRIETARY = ("NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.183.01  Sun May 12 19:39:15 UTC 2024\n"
               "GCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n")
OPEN = ("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  550.54.14  Release Build  "
        "(dvs-builder@U16-I3-B03-4-3)  Thu Feb 22 01:33:24 UTC 2024\n"
        "GCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n")
# NVIDIA's persistence daemon's unit as a distribution ships it (Debian's, with the flag some others start it with)
UNIT = "lib/systemd/system/nvidia-persistenced.service"
UNIT_TEXT = ("[Unit]\nDescription=NVIDIA Persistence Daemon\nWants=syslog.target\n\n[Service]\nType=forking\n"
             "ExecStart=/usr/bin/nvidia-persistenced --user nvpd%s\n"
             "ExecStopPost=/bin/rm -rf /var/run/nvidia-persistenced\n\n[Install]\nWantedBy=multi-user.target\n")
ENABLED = "etc/systemd/system/multi-user.target.wants/nvidia-persistenced.service"
WANTS = "etc/systemd/system/multi-user.target.d/asios-gpu.conf"
OVERRIDE = "etc/systemd/system/nvidia-persistenced.service.d/asios-gpu.conf"
# the machines with GPUs behind PCIe switches that hold a NIC too
PAIRED = {"ai-2s8g": 8, "ai-2s8g-nopxm": 8}


def pair_skips(pl):
    """what the plan left alone of the pairs' settings (persistence mode concerns every NVIDIA GPU, paired or not)"""
    return [s for s in pl["skipped"] if s["object"] != "GPU persistence mode"]


def pci_chain(root, addr):
    """the PCI addresses from the root port down to ADDR, from the sysfs path of the device"""
    path = os.path.realpath(os.path.join(root, "sys/bus/pci/devices", addr))
    parts = path.split("/")
    i = next(k for k, p in enumerate(parts) if p.startswith("pci0000:") or p.startswith("pci"))
    return parts[i:i + 1] + [p for p in parts[i + 1:] if len(p) == 12 and p[4] == ":"]


def pci_class(root, addr):
    with open(os.path.join(root, "sys/bus/pci/devices", addr, "class")) as f:
        return int(f.read().strip(), 16) >> 8


def expected_ports(root):
    """(pairs, ports): each GPU (display 0x03xx or accelerator 0x12xx) with the NIC (0x02xx) that shares the
    longest run of bridges with it, when they share one below the host bridge; the bridges below that run"""
    devs = sorted(os.listdir(os.path.join(root, "sys/bus/pci/devices")))
    gpus = [d for d in devs if pci_class(root, d) >> 8 in (0x03, 0x12)]
    nics = [d for d in devs if pci_class(root, d) >> 8 == 0x02]
    pairs, ports = 0, set()
    for g in gpus:
        cg = pci_chain(root, g)
        best = None
        for n in nics:
            cn = pci_chain(root, n)
            common = 0
            while common < min(len(cg), len(cn)) - 1 and cg[common] == cn[common]:
                common += 1
            if common >= 2 and (best is None or common > best[0]):  # the host bridge and at least one bridge
                best = (common, cn)
        if best:
            pairs += 1
            ports |= set(cg[best[0]:-1]) | set(best[1][best[0]:-1])
    return pairs, ports


def acs_ports(text):
    word = next((w.strip("'\"") for w in text.split() if "disable_acs_redir=" in w), "")
    return set(filter(None, word.split("disable_acs_redir=")[-1].rstrip("\"'").split(";"))) if word else set()


def with_grub(tmp, name, label):
    work = fixture_copy(tmp, name, label)
    os.makedirs(os.path.join(work, "etc/default/grub.d"), exist_ok=True)
    return work


def goldens(tmp):
    roots = {n: fixture_tree(tmp, n) for n in ("ai-2s8g", "ai-2s8g-nopxm", "gh200", "ws-2g-iso")}
    roots["h200-1g16c"] = unpack_root(tmp, os.path.join(TOP, "tests", "machines", "h200-1g16c.tar.gz"), "h200")
    roots["32em64t-2n8c+dax+nvme+mic+dimms"] = unpack_root(tmp, os.path.join(
        SHARED, "fixtures", "hwloc-linux", "32em64t-2n8c+dax+nvme+mic+dimms.tar.bz2"), "ib")
    for name, root in roots.items():
        rc, pl, err = plan_json("gpu", root)
        check(rc == 0, "%s: gpu plan" % name, err)
        if rc:
            continue
        golden(name + ".gpu-plan.json", json.dumps(pl, indent=2, sort_keys=True) + "\n")
        pairs, ports = expected_ports(root)
        notes = [n for n in pl["notes"] if "behind one PCIe switch" in n]
        check(pairs == PAIRED.get(name, 0) and len(notes) == pairs,
              "%s: %d GPU-NIC pairs behind PCIe switches, each named" % (name, pairs), {"test": pairs, "plan": notes})
        if not pairs:
            check(not pl["actions"] and not pair_skips(pl) and any("no GPU or accelerator shares" in n for n in pl["notes"]),
                  "%s: nothing planned on a machine without GPU-NIC pairs" % name, pl)
            continue
        skip = " ".join(s["reason"] for s in pl["skipped"])
        check(acs_ports(skip) == ports and "iommu=pt" in skip.split(),
              "%s: without GRUB, the command line named: ACS redirect off on the %d switch ports the test finds "
              "(and only those), iommu=pt" % (name, len(ports)), {"plan": sorted(acs_ports(skip)), "test": sorted(ports)})


def snippet_value(path):
    """GRUB_CMDLINE_LINUX_DEFAULT after the shell sources the snippet, as grub-mkconfig does"""
    p = subprocess.run(["sh", "-c", '. "$1"; printf %s "$GRUB_CMDLINE_LINUX_DEFAULT"', "sh", path],
                       capture_output=True, text=True, env={"GRUB_CMDLINE_LINUX_DEFAULT": "quiet", "PATH": "/usr/bin:/bin"})
    return p.stdout


def apply_revert(tmp):
    work = with_grub(tmp, "ai-2s8g", "apply")
    before = tree_digest(work)
    _, ports = expected_ports(work)
    p = ctl("gpu", "apply", "--root", work)
    check(p.returncode == 0 and "applied 1" in p.stdout, "ai-2s8g: gpu apply writes the GRUB snippet", p.stdout + p.stderr)
    value = snippet_value(os.path.join(work, GRUB)) if os.path.exists(os.path.join(work, GRUB)) else ""
    words = value.split(" ")
    check(words[0] == "quiet" and "iommu=pt" in words and acs_ports(value) == ports and
          any(w.startswith("'pci=disable_acs_redir=") and w.endswith("'") for w in words),
          "ai-2s8g: the snippet appends to the command line: iommu=pt and the ACS word, quoted for GRUB's ';'",
          value)
    rc, pl, err = plan_json("gpu", work)
    check(rc == 0 and not pl["actions"], "ai-2s8g: after apply the plan is empty", pl or err)
    p = ctl("gpu", "revert", "--root", work)
    diff = tree_differs(before, tree_digest(work))
    check(p.returncode == 0 and not diff, "ai-2s8g: gpu revert removes it, the tree as it was",
          p.stdout + p.stderr + "\n".join(diff[:10]))
    # a parameter the machine already boots with (set outside ASIOS) is left alone
    work = with_grub(tmp, "ai-2s8g", "booted")
    with open(os.path.join(work, "proc/cmdline")) as f:
        cmdline = f.read().strip()
    write(os.path.join(work, "proc/cmdline"), cmdline + " iommu=pt\n")
    rc, pl, err = plan_json("gpu", work)
    skipped = {s["object"]: s["reason"] for s in pl["skipped"]} if pl else {}
    new = pl["actions"][0]["new"] if pl and pl["actions"] else ""
    check(rc == 0 and "running kernel's command line already" in skipped.get("IOMMU", "") and "iommu=pt" not in new
          and "disable_acs_redir" in new, "iommu=pt on the running command line: left alone, only ACS planned", pl or err)
    # the ACS word is in effect: the running kernel booted with the snippet ASIOS wrote; nothing to do
    work = with_grub(tmp, "ai-2s8g", "rebooted")
    write(os.path.join(work, VERSION), OPEN)
    ctl("gpu", "apply", "--root", work)
    write(os.path.join(work, "proc/cmdline"), cmdline + " " + snippet_value(os.path.join(work, GRUB)).replace("'", "") + "\n")
    rc, pl, err = plan_json("gpu", work)
    check(rc == 0 and not pl["actions"] and not pair_skips(pl), "after the reboot with the snippet: nothing to do", pl or err)


def policy(tmp):
    conf = os.path.join(tmp, "gpu.conf")
    work = with_grub(tmp, "ai-2s8g", "policy")
    write(conf, "[gpu]\nacs = leave\n")
    rc, pl, err = plan_json("gpu", work, "--config", conf)
    new = pl["actions"][0]["new"] if pl and pl["actions"] else ""
    check(rc == 0 and "iommu=pt" in new and "disable_acs_redir" not in new and
          any(s["object"] == "ACS redirect" for s in pl["skipped"]), "gpu.conf acs = leave: only iommu=pt", pl or err)
    # both left: a snippet of ours from before is removed
    ctl("gpu", "apply", "--root", work)
    write(conf, "[gpu]\nacs = leave\niommu = leave\n")
    rc, pl, err = plan_json("gpu", work, "--config", conf)
    check(rc == 0 and len(pl["actions"]) == 1 and pl["actions"][0]["new"] is None,
          "gpu.conf leaving both: the snippet written before is removed", pl or err)
    for i, (text, where) in enumerate([("[gpu]\nacs = off\n", "gpu.conf:2:"), ("[gpu]\nmig = 1g.10gb\n", "gpu.conf:2:"),
                                       ("[nvidia]\nacs = auto\n", "gpu.conf:2:")]):
        write(conf, text)
        work = with_grub(tmp, "ai-2s8g", "bad%d" % i)
        before = tree_digest(work)
        p = ctl("gpu", "apply", "--root", work, "--config", conf)
        check(p.returncode == 1 and where in p.stderr and tree_digest(work) == before,
              "bad gpu.conf %r: %s named, nothing applied" % (text.strip(), where), p.stderr)


def peer_actions(pl):
    return [a for a in pl["actions"] if a["object"] == "GPU peer memory"] if pl else []


def peer_skip(pl):
    return " ".join(s["reason"] for s in pl["skipped"] if s["object"] == "GPU peer memory") if pl else ""


def peermem(tmp):
    # no driver loaded (the fixtures as generated): not decided yet
    rc, pl, err = plan_json("gpu", fixture_tree(tmp, "ai-2s8g"))
    check(rc == 0 and not peer_actions(pl) and "driver is not loaded" in peer_skip(pl),
          "peer memory: not decided before the NVIDIA driver is loaded", pl or err)
    # the proprietary module: nvidia-peermem at boot; apply, nothing left to do, revert
    work = with_grub(tmp, "ai-2s8g", "peer-prop")
    write(os.path.join(work, VERSION), PROPRIETARY)
    before = tree_digest(work)
    rc, pl, err = plan_json("gpu", work)
    acts = peer_actions(pl)
    check(rc == 0 and len(acts) == 1 and acts[0]["path"] == "/" + MODULES and acts[0]["old"] is None and
          "nvidia-peermem" in acts[0]["new"].splitlines() and "proprietary" in acts[0]["reason"] and
          "8 NVIDIA GPU" in acts[0]["reason"],
          "proprietary kernel module: nvidia-peermem loaded at boot for the 8 pairs (modules-load.d)", pl or err)
    p = ctl("gpu", "apply", "--root", work)
    path = os.path.join(work, MODULES)
    lines = [ln for ln in open(path).read().splitlines() if ln and not ln.startswith("#")] if os.path.exists(path) else []
    check(p.returncode == 0 and lines == ["nvidia-peermem"], "apply writes modules-load.d/asios-gpu.conf: one module",
          p.stdout + p.stderr + repr(lines))
    rc, pl, err = plan_json("gpu", work)
    check(rc == 0 and not pl["actions"], "after apply the plan is empty", pl or err)
    p = ctl("gpu", "revert", "--root", work)
    diff = tree_differs(before, tree_digest(work))
    check(p.returncode == 0 and not diff, "revert removes both files (and the folder apply made)",
          p.stdout + p.stderr + "\n".join(diff[:10]))
    # the open kernel module: DMA-BUF, nothing to load, and a file of ours from before removed
    work = with_grub(tmp, "ai-2s8g", "peer-open")
    write(os.path.join(work, VERSION), PROPRIETARY)
    ctl("gpu", "apply", "--root", work)
    write(os.path.join(work, VERSION), OPEN)
    rc, pl, err = plan_json("gpu", work)
    acts = peer_actions(pl)
    check(rc == 0 and len(acts) == 1 and acts[0]["new"] is None and any("DMA-BUF" in n and "open kernel module" in n
                                                                         for n in pl["notes"]),
          "open kernel module: DMA-BUF, the nvidia-peermem file of before removed", pl or err)
    # another vendor's GPUs (the same tree with AMD's vendor id): DMA-BUF, whatever NVIDIA's driver says
    work = with_grub(tmp, "ai-2s8g", "peer-amd")
    write(os.path.join(work, VERSION), PROPRIETARY)
    devs = os.path.join(work, "sys/bus/pci/devices")
    for d in os.listdir(devs):
        if pci_class(work, d) >> 8 == 0x03:
            write(os.path.join(devs, d, "vendor"), "0x1002\n")
    rc, pl, err = plan_json("gpu", work)
    check(rc == 0 and not peer_actions(pl) and not peer_skip(pl) and
          any("DMA-BUF" in n and "none of them NVIDIA" in n for n in pl["notes"]),
          "AMD GPUs paired with the NICs: DMA-BUF, no module", pl or err)
    # loaded outside ASIOS; gpu.conf peermem = leave
    work = with_grub(tmp, "ai-2s8g", "peer-loaded")
    write(os.path.join(work, VERSION), PROPRIETARY)
    write(os.path.join(work, "sys/module/nvidia_peermem/initstate"), "live\n")
    rc, pl, err = plan_json("gpu", work)
    check(rc == 0 and not peer_actions(pl) and "loaded already" in peer_skip(pl),
          "nvidia-peermem loaded outside ASIOS: left alone", pl or err)
    conf = os.path.join(tmp, "gpu-peer.conf")
    write(conf, "[gpu]\npeermem = leave\n")
    rc, pl, err = plan_json("gpu", work, "--config", conf)
    check(rc == 0 and not peer_actions(pl) and "peermem = leave" in peer_skip(pl), "gpu.conf peermem = leave", pl or err)
    # no pair (GH200: GPU and NIC meet at the CPU): nothing, even under the proprietary module
    work = fixture_copy(tmp, "gh200", "peer-gh200")
    write(os.path.join(work, VERSION), PROPRIETARY)
    rc, pl, err = plan_json("gpu", work)
    check(rc == 0 and not pl["actions"] and not pair_skips(pl), "no GPU-NIC pair: no peer-memory module", pl or err)


def persist_actions(pl):
    return {a["path"]: a for a in pl["actions"] if a["object"] == "GPU persistence mode"} if pl else {}


def persist_skip(pl):
    return " ".join(s["reason"] for s in pl["skipped"] if s["object"] == "GPU persistence mode") if pl else ""


def verify_units(tmp, work):
    """systemd-analyze verify of the unit with the drop-ins of WORK (the daemon's path made /bin/true, which takes
    any argument): (exit code, output)"""
    d = os.path.join(tmp, "verify-units")
    shutil.rmtree(d, ignore_errors=True)
    # the Wants= drop-in on a target of its own, so that the machine's other units (pulled in by multi-user.target)
    # do not take part
    write(os.path.join(d, "asios-verify.target"), "[Unit]\nDescription=verify\n")
    for rel, name in ((UNIT, "nvidia-persistenced.service"), (OVERRIDE, "nvidia-persistenced.service.d/asios-gpu.conf"),
                      (WANTS, "asios-verify.target.d/asios-gpu.conf")):
        src = os.path.join(work, rel)
        if os.path.exists(src):
            write(os.path.join(d, name), open(src).read().replace("/usr/bin/nvidia-persistenced", "/bin/true"))
    p = subprocess.run(["systemd-analyze", "verify", "nvidia-persistenced.service", "asios-verify.target"],
                       capture_output=True, text=True, env=dict(os.environ, SYSTEMD_UNIT_PATH=d + ":"))
    return p.returncode, p.stdout + p.stderr


def persistence_apply(tmp):
    """installed, not enabled, started with --no-persistence-mode: both drop-ins; apply, verify, revert"""
    work = fixture_copy(tmp, "ai-2s8g", "persist")
    write(os.path.join(work, UNIT), UNIT_TEXT % " --no-persistence-mode --verbose")
    before = tree_digest(work)
    rc, pl, err = plan_json("gpu", work)
    acts = persist_actions(pl)
    w, o = acts.get("/" + WANTS), acts.get("/" + OVERRIDE)
    check(rc == 0 and len(acts) == 2 and w and o and w["old"] is None and o["old"] is None and
          "Wants=nvidia-persistenced.service" in w["new"].splitlines() and "8 NVIDIA GPUs" in w["reason"] and
          "not enabled" in w["reason"] and o["new"].splitlines()[-2:] ==
          ["ExecStart=", "ExecStart=/usr/bin/nvidia-persistenced --user nvpd --verbose"] and
          "--no-persistence-mode" in o["reason"],
          "persistence: the daemon wanted at boot and started without --no-persistence-mode (two drop-ins)", pl or err)
    p = ctl("gpu", "apply", "--root", work)
    check(p.returncode == 0 and os.path.exists(os.path.join(work, WANTS)) and os.path.exists(os.path.join(work, OVERRIDE)),
          "persistence: apply writes both drop-ins", p.stdout + p.stderr)
    if shutil.which("systemd-analyze"):
        rc, out = verify_units(tmp, work)
        check(rc == 0 and not out.strip(), "persistence: systemd-analyze verify accepts the unit with our drop-ins", out)
        text = open(os.path.join(work, OVERRIDE)).read()
        write(os.path.join(work, OVERRIDE), text.replace("ExecStart=\n", ""))
        rc, out = verify_units(tmp, work)
        check(rc != 0 and "more than one ExecStart=" in out,
              "persistence: without its ExecStart= reset the override is refused (the check can fail)", out)
        write(os.path.join(work, OVERRIDE), text)
    else:
        skip("persistence: systemd-analyze verify of the drop-ins", "systemd-analyze is missing")
    rc, pl, err = plan_json("gpu", work)
    check(rc == 0 and not persist_actions(pl), "persistence: after apply nothing is left to do", pl or err)
    p = ctl("gpu", "revert", "--root", work)
    diff = tree_differs(before, tree_digest(work))
    check(p.returncode == 0 and not diff, "persistence: revert removes both drop-ins and the folders apply made",
          p.stdout + p.stderr + "\n".join(diff[:10]))
    return work


def persistence(tmp):
    rc, pl, err = plan_json("gpu", fixture_tree(tmp, "ai-2s8g"))
    check(rc == 0 and not persist_actions(pl) and "no systemd unit folder" in persist_skip(pl),
          "persistence: a tree without systemd's unit folders (the fixture, older captures): not decided", pl or err)
    work = fixture_copy(tmp, "ai-2s8g", "persist-none")
    os.makedirs(os.path.join(work, "usr/lib/systemd/system"))
    rc, pl, err = plan_json("gpu", work)
    check(rc == 0 and not persist_actions(pl) and "not installed" in persist_skip(pl) and
          "nvidia-persistenced" in persist_skip(pl), "persistence: daemon not installed, left alone with why", pl or err)
    work = persistence_apply(tmp)
    # Debian's packaging: installed, enabled, persistence on: nothing
    write(os.path.join(work, UNIT), UNIT_TEXT % "")
    os.makedirs(os.path.dirname(os.path.join(work, ENABLED)), exist_ok=True)
    os.symlink("/" + UNIT, os.path.join(work, ENABLED))
    rc, pl, err = plan_json("gpu", work)
    check(rc == 0 and not persist_actions(pl) and not persist_skip(pl) and
          any("enabled (outside ASIOS)" in n for n in pl["notes"]),
          "persistence: enabled with persistence on (Debian's package): nothing to do", pl or err)
    # the flag, and a drop-in of someone else: the override is left alone (naming it), nothing else to do
    write(os.path.join(work, UNIT), UNIT_TEXT % " --no-persistence-mode")
    write(os.path.join(work, "etc/systemd/system/nvidia-persistenced.service.d/local.conf"), "[Service]\nNice=-5\n")
    rc, pl, err = plan_json("gpu", work)
    check(rc == 0 and not persist_actions(pl) and "local.conf" in persist_skip(pl),
          "persistence: the unit's drop-ins of others: the override left alone, named", pl or err)
    conf = os.path.join(tmp, "gpu-persist.conf")
    write(conf, "[gpu]\npersistence = leave\n")
    rc, pl, err = plan_json("gpu", work, "--config", conf)
    check(rc == 0 and not persist_actions(pl) and "persistence = leave" in persist_skip(pl),
          "persistence: gpu.conf persistence = leave", pl or err)
    os.symlink("/dev/null", os.path.join(work, "etc/systemd/system/nvidia-persistenced.service"))
    rc, pl, err = plan_json("gpu", work)
    check(rc == 0 and not persist_actions(pl) and "masked" in persist_skip(pl),
          "persistence: a masked unit is left alone", pl or err)
    # our drop-ins from before on a machine whose GPUs are not NVIDIA's any more: removed
    work = fixture_copy(tmp, "ai-2s8g", "persist-amd")
    write(os.path.join(work, UNIT), UNIT_TEXT % " --no-persistence-mode")
    ctl("gpu", "apply", "--root", work)
    devs = os.path.join(work, "sys/bus/pci/devices")
    for d in os.listdir(devs):
        if pci_class(work, d) >> 8 == 0x03:
            write(os.path.join(devs, d, "vendor"), "0x1002\n")
    rc, pl, err = plan_json("gpu", work)
    acts = persist_actions(pl)
    check(rc == 0 and len(acts) == 2 and all(a["new"] is None and "no NVIDIA GPU" in a["reason"] for a in acts.values()),
          "persistence: no NVIDIA GPU left: our drop-ins removed", pl or err)


def snapshot(tmp):
    work = with_grub(tmp, "ai-2s8g", "snap")
    write(os.path.join(work, VERSION), PROPRIETARY)
    write(os.path.join(work, UNIT), UNIT_TEXT % " --no-persistence-mode")
    ctl("gpu", "apply", "--root", work)
    write(os.path.join(work, GRUB), open(os.path.join(work, GRUB)).read().replace("iommu=pt", "iommu=on"))
    os.remove(os.path.join(work, WANTS))
    cap, p = capture(work, tmp, "gpu")
    a, b = plan_json("gpu", work), plan_json("gpu", cap)
    check(p.returncode == 0 and a[0] == 0 and b[0] == 0 and a[1] == b[1] and a[1]["actions"],
          "the plan on a capture is the plan on the tree (a snippet edited by hand: rewritten)", (a, b, p.stderr))
    check(os.path.exists(os.path.join(cap, VERSION)) and os.path.exists(os.path.join(cap, MODULES)),
          "the capture carries the NVIDIA driver's version and ASIOS's modules-load.d file", sorted(os.listdir(cap)))
    check(all(os.path.exists(os.path.join(cap, f)) for f in (UNIT, OVERRIDE)) and
          list(persist_actions(b[1])) == ["/" + WANTS],
          "the capture carries the persistence daemon's unit and our drop-in (the removed one planned again)",
          b[1] and persist_actions(b[1]))


def main():
    if not need(ASIOSCTL):
        return 1
    with tempfile.TemporaryDirectory(prefix="asios-gpu-") as tmp:
        goldens(tmp)
        apply_revert(tmp)
        policy(tmp)
        peermem(tmp)
        persistence(tmp)
        snapshot(tmp)
        p = ctl("gpu", "--help")
        check(p.returncode == 0 and "/etc/asios/gpu.conf" in p.stdout, "gpu --help names its policy file", p.stdout)
    return done()


if __name__ == "__main__":
    sys.exit(main())
