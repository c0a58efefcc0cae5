#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""asiosctl irq: golden plans, invariants, idempotence, apply/revert, failure paths and bad configuration.

Every fixture machine (synthetic AI servers and the shared hwloc captures) is planned; on all of them: no IRQ
goes to an isolated or nohz_full CPU, device IRQs land on the device's node when it has housekeeping CPUs,
planning twice gives the same plan, and after applying to a writable copy the plan is empty. Apply, revert,
an injected EIO (refused, skipped) and an injected EINVAL (full rollback) run on copies of the synthetic trees.
Goldens: tests/golden/NAME.irq-plan.json (ASIOS_REGEN=1 rewrites). TAP output.
"""
import glob
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import ASIOSCTL, SHARED, TOP, check, ctl, done, golden, irq_placement, need, need_root, plan_json, topo, untar  # noqa: E402


def plan(root, *extra):
    return plan_json("irq", root, *extra)


def affinities(root):
    out = {}
    for f in glob.glob(os.path.join(root, "proc/irq/*/smp_affinity_list")):
        out[f] = open(f).read()
    return out


def invariants(name, root, t, pl):
    irq_placement(name, t, pl)
    check(all(a["reason"] for a in pl["actions"]) and all(s["reason"] for s in pl["skipped"]),
          "%s: every action and skip has a reason" % name)
    rc, again, _ = plan(root)
    check(again == pl, "%s: deterministic" % name)


def synthetic(tmp):
    roots = {}
    for f in sorted(glob.glob(os.path.join(TOP, "tests", "fixtures", "*.tar.gz"))):
        name = os.path.basename(f)[:-len(".tar.gz")]
        untar(f, os.path.join(tmp, "syn"))
        roots[name] = os.path.join(tmp, "syn", name)
    return roots


def shared(tmp):
    roots = {}
    for f in sorted(glob.glob(os.path.join(SHARED, "fixtures", "hwloc-linux", "*.tar.bz2"))):
        name = os.path.basename(f)[:-len(".tar.bz2")]
        d = os.path.join(tmp, "shared", name)
        untar(f, d)
        roots[name] = os.path.join(d, os.listdir(d)[0])
    return roots


def apply_tests(name, root, tmp):
    work = os.path.join(tmp, "apply-" + name)
    shutil.copytree(root, work, symlinks=True)
    before = affinities(work)
    rc, pl, err = plan(work)
    p = ctl("irq", "apply", "--root", work)
    check(p.returncode == 0, "%s: apply" % name, p.stderr)
    after = affinities(work)
    want = {os.path.join(work, a["path"].lstrip("/")): a["to"] for a in pl["actions"]}
    got = {k: sorted(int(x) for x in expand(after[k])) for k in want}
    check(got == want, "%s: apply wrote every planned affinity" % name)
    check(os.path.exists(os.path.join(work, "run/asios/irqd.journal")), "%s: undo journal kept" % name)
    rc, again, err = plan(work)
    check(rc == 0 and again["actions"] == [], "%s: idempotent (re-plan after apply is empty)" % name, again)
    p = ctl("irq", "revert", "--root", work)
    check(p.returncode == 0 and affinities(work) == before, "%s: revert restores every affinity" % name, p.stderr)
    check(not os.path.exists(os.path.join(work, "run/asios/irqd.journal")), "%s: journal removed by revert" % name)

    if not pl["actions"]:
        return
    # a refused write (EIO): reported, skipped, the rest applied
    first = pl["actions"][0]["path"]
    p = ctl("irq", "apply", "--root", work, env={"ASIOS_FAULT_INJECT": first + "=EIO"})
    check(p.returncode == 0 and "the kernel refused" in p.stderr and "refused by the kernel 1" in p.stdout,
          "%s: EIO is reported and skipped" % name, p.stdout + p.stderr)
    rc, again, _ = plan(work)
    check([a["path"] for a in again["actions"]] == [first], "%s: only the refused IRQ is left to do" % name)
    ctl("irq", "revert", "--root", work)
    check(affinities(work) == before, "%s: revert after a partial apply" % name)
    # any other failure mid-apply (EINVAL): everything this apply changed is rolled back
    mid = pl["actions"][len(pl["actions"]) // 2]["path"]
    p = ctl("irq", "apply", "--root", work, env={"ASIOS_FAULT_INJECT": mid + "=EINVAL"})
    check(p.returncode == 1 and "Invalid argument" in p.stderr and "rolled back" in p.stderr,
          "%s: EINVAL mid-apply fails the apply" % name, p.stderr)
    check(affinities(work) == before, "%s: ... and rolls every change back" % name)
    j = os.path.join(work, "run/asios/irqd.journal")
    check(not os.path.exists(j) or open(j).read() == "", "%s: ... and leaves nothing to revert" % name)


def expand(lst):
    out = []
    for part in lst.strip().split(","):
        if not part:
            continue
        a, _, b = part.partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    return out


def config_tests(root, tmp):
    work = os.path.join(tmp, "conf")
    shutil.copytree(root, work, symlinks=True)
    before = affinities(work)
    cases = [
        ("[irqd]\nbanned_cpus = 0-3,x\n", "irqd.conf:2: banned_cpus: not a CPU list"),
        ("[irqd]\nfrobnicate = 1\n", "irqd.conf:2: unknown key \"frobnicate\" in [irqd]"),
        ("# comment\n[nonsense]\nx = 1\n", "irqd.conf:3: unknown section [nonsense]"),
        ("[irq 12a]\ncpus = 1\n", "irqd.conf:2: [irq 12a]: not an IRQ number"),
        ("[device 00:1f.6]\ncpus = 1\n", "irqd.conf:2: [device 00:1f.6]: not a PCI address"),
        ("[irqd]\ngpu_aware = maybe\n", "irqd.conf:2: gpu_aware: expected yes or no"),
        ("[irqd]\ninterval = 0\n", "irqd.conf:2: interval: expected seconds"),
        ("[irqd\n", "irqd.conf:1: "),
    ]
    os.makedirs(os.path.join(work, "etc/asios"), exist_ok=True)
    for text, want in cases:
        with open(os.path.join(work, "etc/asios/irqd.conf"), "w") as f:
            f.write(text)
        p = ctl("irq", "apply", "--root", work)
        check(p.returncode == 1 and want in p.stderr and "nothing applied" in p.stderr and affinities(work) == before,
              "bad config %r: %s, nothing applied" % (text.splitlines()[-1], want), p.stderr)
    # a drop-in with an error is named too
    with open(os.path.join(work, "etc/asios/irqd.conf"), "w") as f:
        f.write("[irqd]\nbanned_cpus = 0\n")
    os.makedirs(os.path.join(work, "etc/asios/irqd.conf.d"), exist_ok=True)
    with open(os.path.join(work, "etc/asios/irqd.conf.d/50-site.conf"), "w") as f:
        f.write("\n\n[irqd]\nbanned_irqs = 130, seven\n")
    p = ctl("irq", "plan", "--root", work)
    check(p.returncode == 1 and "irqd.conf.d/50-site.conf:4: banned_irqs: not an IRQ number" in p.stderr,
          "drop-in error names the drop-in and line", p.stderr)
    # good config: banned CPUs, banned IRQs, overrides
    with open(os.path.join(work, "etc/asios/irqd.conf.d/50-site.conf"), "w") as f:
        f.write("[irqd]\nbanned_irqs = 133\n[irq 134]\ncpus = 30-31\n[device 0000:01:00.0]\nignore = yes\n")
    rc, pl, err = plan(work)
    check(rc == 0, "good drop-in accepted", err)
    acts = {a["irq"]: a for a in pl["actions"]}
    skips = {s["irq"]: s["reason"] for s in pl["skipped"]}
    check(all(0 not in a["to"] for a in pl["actions"]), "banned_cpus = 0 keeps IRQs off CPU 0")
    check(skips.get(133) == "banned in the configuration", "banned_irqs skips IRQ 133", skips)
    check(acts.get(134, {}).get("to") == [30, 31], "[irq 134] cpus = 30-31 is honoured", acts.get(134))
    check("ignored in the configuration" in skips.get(130, ""), "[device …] ignore = yes leaves its IRQs alone", skips)


def live_tests(tmp):
    """A real run on this machine: plan, apply, revert of its own IRQs."""
    before = {f: open(f).read() for f in glob.glob("/proc/irq/*/smp_affinity_list")}
    rc, pl, err = plan("/")
    check(rc == 0, "this machine: plan", err)
    if not need_root("this machine: apply and revert"):
        return
    p = ctl("irq", "apply")
    check(p.returncode == 0, "this machine: apply (%d actions)" % len(pl["actions"]), p.stderr)
    rc, again, err = plan("/")
    check(rc == 0 and again["actions"] == [], "this machine: re-plan after apply is empty", again and again["actions"])
    p = ctl("irq", "revert")
    after = {f: open(f).read() for f in before}
    check(p.returncode == 0 and after == before, "this machine: revert restores every affinity",
          p.stderr + str({k: (before[k], after[k]) for k in before if before[k] != after[k]}))


def main():
    if not need(ASIOSCTL):
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        syn = synthetic(tmp)
        for name, root in sorted(syn.items()):
            rc, pl, err = plan(root)
            check(rc == 0, "%s: plan" % name, err)
            if rc:
                continue
            golden(name + ".irq-plan.json", json.dumps(pl, indent=1) + "\n")
            invariants(name, root, topo(root), pl)
            apply_tests(name, root, tmp)
        for name, root in sorted(shared(tmp).items()):
            rc, pl, err = plan(root)
            check(rc == 0, "%s: plan" % name, err)
            if rc == 0:
                invariants(name, root, topo(root), pl)
        config_tests(syn["ws-2g-iso"], tmp)
        live_tests(tmp)
    return done()


if __name__ == "__main__":
    sys.exit(main())
