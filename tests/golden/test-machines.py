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
A capture with an evidence folder (evidence/NAME/, written by capture-gpu.sh on the machine itself) is also
held to what was seen there: each live.DOMAIN.json (the plan made on the running machine) equals the plan on the
capture, and ASIOS's GPUs, their NUMA node, CPUs and GPU-to-NIC PCIe distances equal `nvidia-smi topo -m`.
`asiosctl metrics` on each machine equals golden/NAME.metrics.prom, passes `promtool check metrics`, and its
per-domain drift (asios_domain_pending_actions) is the size of that domain's plan.
TAP output.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import ASIOSCTL, SHARED, TOP, check, cpulist, ctl, done, eq, golden, irq_placement, need, plan_json, skip, topo, tree_differs, tree_digest, untar  # noqa: E402

MACHINES = os.path.join(TOP, "tests", "machines")


def domains():
    out = ctl("--help").stdout
    return re.findall(r"^  ([a-z]+) +plan\|explain\|apply\|revert", out, re.M)


def machines(tmp):
    roots = {}
    for f in sorted(glob.glob(os.path.join(MACHINES, "*.tar.gz"))):
        name = os.path.basename(f)[:-len(".tar.gz")]
        d = os.path.join(tmp, "cap-" + name)
        untar(f, d)
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


# the domains registered after a machine's evidence was recorded (its next capture-gpu.sh run records them)
ADDED_SINCE = {"h200-1g16c": ("net", "nic", "gpu")}


def live_evidence(name, root, domain, pl):
    """The plan made on the machine itself (evidence/NAME/live.DOMAIN.json) equals the plan on its capture."""
    path = os.path.join(MACHINES, "evidence", name, "live.%s.json" % domain)
    if not os.path.isdir(os.path.dirname(path)):
        return
    if not os.path.exists(path) and domain in ADDED_SINCE.get(name, ()):
        # a domain added after the machine was captured: nothing to compare with until it is captured again
        skip("%s %s: the plan on the capture makes the decisions the plan made on the machine" % (name, domain),
             "%s was not recorded there (capture-gpu.sh on the machine records it)" % os.path.basename(path))
        return
    if not os.path.exists(path):
        check(False, "%s %s: the live plan is recorded" % (name, domain), path + " is missing")
        return
    live = json.load(open(path))
    check(decisions(live) == decisions(pl),
          "%s %s: the plan on the capture makes the decisions the plan made on the machine" % (name, domain),
          "live: %s\ncapture: %s" % (json.dumps(live)[:1500], json.dumps(pl)[:1500]))
    # the reasons are the shipped policy's words: they change with a default (block.rules' cloud read-ahead)
    for a, b in zip(live.get("actions", []) + live.get("skipped", []), pl.get("actions", []) + pl.get("skipped", [])):
        if a.get("reason") != b.get("reason"):
            print("# %s %s: %s: recorded \"%s\", now \"%s\"" % (name, domain, a.get("object"), a.get("reason"),
                                                              b.get("reason")))


def decisions(pl):
    """a plan without its reasons: what it changes (object, path, old and new values) and what it leaves alone"""
    return {k: [{f: v for f, v in x.items() if f != "reason"} for x in pl.get(k, [])]
            for k in ("actions", "skipped")} | {"notes": pl.get("notes")}


def nvidia_topo(path):
    """`nvidia-smi topo -m` as {row: {column: value}} and the NIC legend {NICk: rdma device}."""
    rows, legend, header = {}, {}, None
    for line in open(path):
        m = re.match(r"\s*(NIC\d+): (\S+)", line)
        if m:
            legend[m.group(1)] = m.group(2)
            continue
        cells = [c.strip() for c in line.rstrip("\n").split("\t") if c.strip()]
        if header is None and "CPU Affinity" in cells:
            header = cells
        elif header and cells and re.match(r"(GPU|NIC)\d+$", cells[0]):
            rows[cells[0]] = dict(zip(header, cells[1:]))
    return rows, legend


def bus_ids(path):
    """GPUk -> PCI address from `nvidia-smi --query-gpu=index,...,pci.bus_id --format=csv`."""
    out = {}
    lines = open(path).read().splitlines()
    cols = [c.strip() for c in lines[0].split(",")]
    for line in lines[1:]:
        v = dict(zip(cols, [c.strip() for c in line.split(",")]))
        dom, rest = v["pci.bus_id"].split(":", 1)
        out["GPU" + v["index"]] = ("%04x:%s" % (int(dom, 16), rest)).lower()
    return out


def vendor_view(name, root):
    """ASIOS's GPUs, their node and CPUs, and GPU-to-NIC distances against `nvidia-smi topo -m`."""
    ev = os.path.join(MACHINES, "evidence", name)
    if not os.path.exists(os.path.join(ev, "nvidia-smi-topo.txt")):
        return
    rows, legend = nvidia_topo(os.path.join(ev, "nvidia-smi-topo.txt"))
    pci = bus_ids(os.path.join(ev, "nvidia-smi-gpus.csv"))
    t = topo(root)
    gpus = t["gpu_nic"]["gpus"]
    check(sorted(pci.values()) == sorted(gpus), "%s: ASIOS finds the GPUs nvidia-smi lists (%s)" % (name, " ".join(gpus)),
          "nvidia-smi: %s, ASIOS: %s" % (sorted(pci.values()), gpus))
    dev = {d["pci"]: d for d in t["devices"]}
    nodes = {n["id"]: n for n in t["nodes"]}
    for g, addr in sorted(pci.items()):
        r, d = rows.get(g, {}), dev.get(addr)
        if not d:
            continue
        want = r.get("NUMA Affinity", "N/A")
        check(str(d["node"]) == want or (want == "N/A" and d["node"] is None),
              "%s %s (%s): NUMA node %s as nvidia-smi says" % (name, g, addr, want), "ASIOS: %s" % d["node"])
        cpus = cpulist(nodes[d["node"]]["cpus"]) if d["node"] is not None else "N/A"
        check(cpus == r.get("CPU Affinity"), "%s %s: CPU affinity %s as nvidia-smi says" % (name, g, cpus),
              "nvidia-smi: %s" % r.get("CPU Affinity"))
    nics = t["gpu_nic"]["nics"]
    by_rdma = {rd: d["pci"] for d in t["devices"] for rd in d["rdma"]}
    for g, addr in sorted(pci.items()):
        for nic, rdma in sorted(legend.items()):
            if addr not in gpus or by_rdma.get(rdma) not in nics:
                check(False, "%s %s-%s: ASIOS pairs GPU and %s" % (name, g, nic, rdma), "not in gpu_nic")
                continue
            got = t["gpu_nic"]["distance"][gpus.index(addr)][nics.index(by_rdma[rdma])]
            eq("%s %s-%s (%s): PCIe distance as nvidia-smi says" % (name, g, nic, rdma), rows[g].get(nic), got)
    if not legend:
        skip("%s: GPU-to-NIC distances against nvidia-smi" % name, "nvidia-smi lists no NIC on this machine")


def metrics(name, root, plans):
    """`asiosctl metrics --root`: golden, promtool-clean, and the drift it reports is each plan's size."""
    p = ctl("metrics", "--root", root)
    check(p.returncode == 0, "%s: asiosctl metrics" % name, p.stderr)
    if p.returncode:
        return
    golden("%s.metrics.prom" % name, re.sub(r'version="[^"]*"', 'version="VERSION"', p.stdout),
           os.path.join(MACHINES, "golden"))
    drift = dict(re.findall(r'^asios_domain_pending_actions\{domain="(\w+)"\} (\d+)$', p.stdout, re.M))
    want = {d: str(len(pl["actions"])) for d, pl in plans.items()}
    eq("%s: metrics: each domain's pending actions are its plan's actions" % name, want, drift)
    if not shutil.which("promtool"):
        skip("%s: promtool check metrics" % name, "no promtool (Debian's prometheus package; make deps installs it)")
        return
    lint = subprocess.run(["promtool", "check", "metrics"], input=p.stdout, capture_output=True, text=True)
    check(lint.returncode == 0 and not lint.stdout.strip(), "%s: promtool check metrics is clean" % name,
          lint.stdout + lint.stderr)


def counters(m, domain):
    """the apply engine's counters of DOMAIN in metrics text M: {family or outcome: value}"""
    out = {f: v for f, v in re.findall(r'^asios_domain_(\w+?)(?:_total)?\{domain="%s"\} (\S+)$' % domain, m, re.M)}
    out.update(re.findall(r'^asios_domain_actions_total\{domain="%s",outcome="(\w+)"\} (\S+)$' % domain, m, re.M))
    out.update(("result_" + r, v) for r, v in
               re.findall(r'^asios_domain_last_apply_result\{domain="%s",result="(\w+)"\} (\S+)$' % domain, m, re.M))
    return out


def apply_revert(name, domain, root, tmp, n_actions):
    work = os.path.join(tmp, "work-%s-%s" % (name, domain))
    shutil.copytree(root, work, symlinks=True)
    before = tree_digest(work)
    p = ctl(domain, "apply", "--root", work)
    c = counters(ctl("metrics", "--root", work).stdout, domain)
    eq("%s %s: metrics count the apply and its %d actions, result ok" % (name, domain, n_actions),
       ("1", str(n_actions), "0", "0", "0", "1"),
       (c.get("applies"), c.get("applied"), c.get("failed"), c.get("rollbacks"), c.get("reverts"), c.get("result_ok")))
    rc, again, err = plan_json(domain, work)
    check(p.returncode == 0 and rc == 0 and not again["actions"],
          "%s %s: apply, then the plan is empty" % (name, domain), p.stdout + p.stderr + err)
    m = ctl("metrics", "--root", work).stdout
    drift = re.search(r'^asios_domain_pending_actions\{domain="%s"\} (\d+)$' % domain, m, re.M)
    check(drift and drift.group(1) == "0", "%s %s: after apply, metrics reports no drift" % (name, domain),
          drift.group(0) if drift else m[-500:])
    if domain == "irq":
        eq("%s irq: after apply, no device IRQ is off its node" % name, "asios_irq_misplaced 0",
           re.search(r"^asios_irq_misplaced \d+$", m, re.M).group(0))
    p = ctl(domain, "revert", "--root", work)
    c = counters(ctl("metrics", "--root", work).stdout, domain)
    eq("%s %s: metrics count the revert" % (name, domain), ("1", "1"), (c.get("applies"), c.get("reverts")))
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
            vendor_view(name, root)
            plans = {}
            for d in doms:
                rc, pl, err = plan_json(d, root)
                check(rc == 0, "%s: %s plan" % (name, d), err)
                if rc:
                    continue
                plans[d] = pl
                golden("%s.%s.json" % (name, d), json.dumps(pl, indent=2, sort_keys=True) + "\n",
                       os.path.join(MACHINES, "golden"))
                rc, again, _ = plan_json(d, root)
                check(again == pl, "%s %s: deterministic" % (name, d))
                check(all(a["reason"] for a in pl["actions"]) and all(s["reason"] for s in pl["skipped"]),
                      "%s %s: every change and everything left alone has a reason" % (name, d))
                live_evidence(name, root, d, pl)
                if d == "irq":
                    irq_invariants(name, root, pl)
                if pl["actions"]:
                    apply_revert(name, d, root, tmp, len(pl["actions"]))
            metrics(name, root, plans)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return done()


if __name__ == "__main__":
    sys.exit(main())
