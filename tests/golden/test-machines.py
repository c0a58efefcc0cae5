#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""One golden driver for every registered domain on every machine of tests/machines/ (see its README.md).

The machines: the captures dropped there (NAME.tar.gz, one top folder) and the joined machines of
tests/machines/joined.json (a real hwloc capture with a real /proc/interrupts, built by tests/machines/join.py
from ../shared). The domains: every one `asiosctl --help` lists with plan|explain|apply|revert, so a new domain
is planned here without an edit. For each machine and domain:
  - the plan equals tests/machines/golden/NAME.DOMAIN.json (a missing golden fails; ASIOS_REGEN=1 writes);
  - planning twice gives the same plan; every action and every object left alone has a reason;
  - irq: no IRQ goes to an isolated or nohz_full CPU, and a device's IRQs go to its node when it has
    housekeeping CPUs there (on real interrupt data: the shared hwloc captures alone have none);
  - on a copy: apply, then the plan is empty, then revert gives the tree back byte-exact.
TAP output.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import irq_placement, tree_digest, tree_differs, ASIOSCTL, SHARED, TOP, check, ctl, done, golden, need, plan_json, skip, topo  # noqa: E402

MACHINES = os.path.join(TOP, "tests", "machines")


def domains():
    out = ctl("--help").stdout
    return re.findall(r"^  ([a-z]+) +plan\|explain\|apply\|revert", out, re.M)


def machines(tmp):
    roots = {}
    for f in sorted(glob.glob(os.path.join(MACHINES, "*.tar.gz"))):
        name = os.path.basename(f)[:-len(".tar.gz")]
        d = os.path.join(tmp, "cap-" + name)
        with tarfile.open(f) as tf:
            tf.extractall(d, filter="tar") if hasattr(tarfile, "data_filter") else tf.extractall(d)
        roots[name] = os.path.join(d, os.listdir(d)[0])
    if not os.path.isdir(os.path.join(SHARED, "fixtures")):
        skip("joined machines", "no %s/fixtures (the shared fixtures beside the checkout)" % SHARED)
        return roots
    p = subprocess.run([sys.executable, os.path.join(MACHINES, "join.py"), os.path.join(tmp, "joined")],
                       capture_output=True, text=True, env=dict(os.environ, ASIOS_SHARED=SHARED))
    check(p.returncode == 0, "tests/machines/join.py builds the joined machines", p.stderr)
    for line in p.stdout.split():
        roots[os.path.basename(line)] = line
    return roots


def irq_invariants(name, root, pl):
    irq_placement(name, topo(root), pl)
    owned = sum(1 for a in pl["actions"] if a["device"])
    check(owned > 0, "%s: the real interrupt rows are planned onto the capture's devices (%d moves)" % (name, owned))


def apply_revert(name, domain, root, tmp):
    work = os.path.join(tmp, "work-%s-%s" % (name, domain))
    shutil.copytree(root, work, symlinks=True)
    before = tree_digest(work)
    p = ctl(domain, "apply", "--root", work)
    rc, again, err = plan_json(domain, work)
    check(p.returncode == 0 and rc == 0 and not again["actions"],
          "%s %s: apply, then the plan is empty" % (name, domain), p.stdout + p.stderr + err)
    p = ctl(domain, "revert", "--root", work)
    diff = tree_differs(before, tree_digest(work))
    check(p.returncode == 0 and not diff, "%s %s: revert gives the tree back byte-exact" % (name, domain),
          p.stderr + "\n".join(diff[:10]))
    shutil.rmtree(work, ignore_errors=True)


def main():
    if not need(ASIOSCTL):
        return 1
    tmp = tempfile.mkdtemp(prefix="asios-machines-")
    try:
        doms = domains()
        check(len(doms) >= 4, "asiosctl lists the registered domains (%s)" % " ".join(doms))
        for name, root in sorted(machines(tmp).items()):
            for d in doms:
                rc, pl, err = plan_json(d, root)
                check(rc == 0, "%s: %s plan" % (name, d), err)
                if rc:
                    continue
                golden("%s.%s.json" % (name, d), json.dumps(pl, indent=2, sort_keys=True) + "\n",
                       os.path.join(MACHINES, "golden"))
                rc, again, _ = plan_json(d, root)
                check(again == pl, "%s %s: deterministic" % (name, d))
                check(all(a["reason"] for a in pl["actions"]) and all(s["reason"] for s in pl["skipped"]),
                      "%s %s: every change and everything left alone has a reason" % (name, d))
                if d == "irq":
                    irq_invariants(name, root, pl)
                if pl["actions"]:
                    apply_revert(name, d, root, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return done()


if __name__ == "__main__":
    sys.exit(main())
