#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""asiosctl net (the network-stack domain): golden plans, the link class, apply/revert, policy.

  - every synthetic machine is planned; goldens tests/golden/NAME.net-plan.json (ASIOS_REGEN=1 rewrites):
    ai-2s8g has 400 Gb/s links (class fast: five changes), gh200's only link is down and ws-2g-iso's is
    2.5 Gb/s (class standard: nothing changes);
  - on a copy of ai-2s8g: apply, the plan is empty afterwards, revert gives the tree back byte-exact; the
    tcp_rmem line keeps its first two numbers; a refused write rolls everything back;
  - a value above the class's is kept (only raised);
  - net.conf: fast_link_mbps, class values, `leave`; bad lines fail with FILE:LINE and apply nothing;
  - malformed /proc data (a tcp_rmem of two numbers) is a warning naming the file, and the knob is left alone.
TAP output.
"""
import glob
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import fixture_copy, fixture_tree, tree_digest, tree_differs, ASIOSCTL, TOP, check, ctl, done, golden, need, plan_json, write  # noqa: E402


def read(root, path):
    return open(os.path.join(root, path.lstrip("/"))).read()


def goldens(tmp):
    want = {"ai-2s8g": 5, "ai-2s8g-nopxm": 5, "gh200": 0, "ws-2g-iso": 0}
    for f in sorted(glob.glob(os.path.join(TOP, "tests", "fixtures", "*.tar.gz"))):
        name = os.path.basename(f)[:-len(".tar.gz")]
        rc, pl, err = plan_json("net", fixture_tree(tmp, name))
        check(rc == 0, "%s: net plan" % name, err)
        if rc:
            continue
        golden(name + ".net-plan.json", json.dumps(pl, indent=2, sort_keys=True) + "\n")
        check(len(pl["actions"]) == want.get(name, -1) and all(a["reason"] for a in pl["actions"]),
              "%s: %d changes, each with its reason" % (name, want.get(name, -1)), pl)


def apply_revert(tmp):
    work = fixture_copy(tmp, "ai-2s8g", "apply")
    before = tree_digest(work)
    p = ctl("net", "apply", "--root", work)
    check(p.returncode == 0 and "applied 5" in p.stdout, "ai-2s8g: net apply makes the 5 changes", p.stdout + p.stderr)
    check(read(work, "/proc/sys/net/ipv4/tcp_rmem") == "4096\t131072\t268435456\n",
          "ai-2s8g: tcp_rmem's limit raised, its minimum and default kept", read(work, "/proc/sys/net/ipv4/tcp_rmem"))
    rc, pl, err = plan_json("net", work)
    check(rc == 0 and not pl["actions"], "ai-2s8g: after apply the plan is empty", pl or err)
    p = ctl("net", "revert", "--root", work)
    diff = tree_differs(before, tree_digest(work))
    check(p.returncode == 0 and not diff, "ai-2s8g: net revert gives the tree back byte-exact",
          p.stdout + p.stderr + "\n".join(diff[:10]))
    work = fixture_copy(tmp, "ai-2s8g", "refused")
    before = tree_digest(work)
    p = ctl("net", "apply", "--root", work, env={"ASIOS_FAULT_INJECT": "/proc/sys/net/ipv4/tcp_wmem=EINVAL"})
    diff = tree_differs(before, tree_digest(work))
    check(p.returncode == 1 and "tcp_wmem" in p.stderr and not diff,
          "ai-2s8g: a refused tcp_wmem write rolls the whole apply back", p.stderr + "\n".join(diff[:10]))
    # only raised: a larger value (an admin's, a cloud image's) stays
    work = fixture_copy(tmp, "ai-2s8g", "above")
    write(os.path.join(work, "proc/sys/net/core/netdev_max_backlog"), "500000\n")
    rc, pl, err = plan_json("net", work)
    skipped = {s["object"]: s["reason"] for s in pl["skipped"]} if pl else {}
    check(rc == 0 and "already above" in skipped.get("net.core.netdev_max_backlog", "")
          and len(pl["actions"]) == 4, "a backlog above the class's value is kept", pl or err)
    # malformed /proc data: a warning naming the file, the knob left alone, the rest planned
    work = fixture_copy(tmp, "ai-2s8g", "malformed")
    write(os.path.join(work, "proc/sys/net/ipv4/tcp_rmem"), "4096 x\n")
    p = ctl("net", "plan", "--json", "--root", work)
    pl = json.loads(p.stdout) if p.returncode == 0 else None
    check(pl is not None and len(pl["actions"]) == 4 and "/proc/sys/net/ipv4/tcp_rmem" in p.stderr,
          "a malformed tcp_rmem is named and left alone; the other four are planned", p.stdout[-600:] + p.stderr)


def policy(tmp):
    root = fixture_tree(tmp, "ws-2g-iso")
    conf = os.path.join(tmp, "net.conf")
    write(conf, "[net]\nfast_link_mbps = 2500\n[fast]\nnet.core.netdev_max_backlog = 16000\nnet.core.wmem_max = leave\n")
    rc, pl, err = plan_json("net", root, "--config", conf)
    objs = {a["object"]: a["new"] for a in pl["actions"]} if pl else {}
    check(rc == 0 and objs.get("net.core.netdev_max_backlog") == "16000" and "net.core.wmem_max" not in objs
          and objs.get("net.ipv4.tcp_wmem") == "4096\t16384\t268435456" and len(objs) == 4,
          "net.conf: a 2.5 Gb/s link made fast, a class value and leave", pl or err)
    bad = [
        ("[net]\nfast_link_mbps = 0\n", "net.conf:2:"),
        ("[fast]\nnet.ipv4.tcp_rmem = 12\n", "net.conf:2:"),
        ("[fast]\nnet.core.frob = 1\n", "net.conf:2:"),
        ("[slow]\nnet.core.rmem_max = 4096\n", "net.conf:2:"),
    ]
    for i, (text, where) in enumerate(bad):
        write(conf, text)
        work = fixture_copy(tmp, "ai-2s8g", "bad%d" % i)
        before = tree_digest(work)
        p = ctl("net", "apply", "--root", work, "--config", conf)
        check(p.returncode == 1 and where in p.stderr and tree_digest(work) == before,
              "bad net.conf %r: %s named, nothing applied" % (text.strip(), where), p.stderr)


def main():
    if not need(ASIOSCTL):
        return 1
    tmp = tempfile.mkdtemp(prefix="asios-net-")
    try:
        goldens(tmp)
        apply_revert(tmp)
        policy(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return done()


if __name__ == "__main__":
    sys.exit(main())
