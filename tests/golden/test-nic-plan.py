#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""asiosctl nic (the NIC domain): golden plans, queue counts, apply/revert, policy, captures, bad input.

  - every synthetic machine is planned; goldens tests/golden/NAME.nic-plan.json (ASIOS_REGEN=1 rewrites): each
    mlx5's queue count is the housekeeping cores of its node, counted here from the tree's sysfs files
    (node cpulist, core and package ids, isolated, nohz_full), not from asiosctl; rings raised to 8192 or the
    device's maximum; the igb's coalescing offers no adaptive moderation (skipped, named);
  - real captures without ethtool state (the H200 VM, hwloc's InfiniBand server): nothing planned, every
    interface named with the reason;
  - on a copy of ai-2s8g: apply makes the 14 changes, the plan is empty afterwards, revert gives the tree back
    byte-exact; a refused set rolls everything back; a ring above the profile's is kept; an interface whose
    index changed (a driver reload) is left alone on revert, the others restored;
  - nic.conf: latency profile, per-interface latency, leave, a fixed queue count; bad lines fail with FILE:LINE
    and apply nothing; a malformed capture file is a warning naming its file and line;
  - `asiosctl snapshot` of the tree keeps the ethtool state: the plan on the capture is the plan on the tree;
  - PCIe read requests: 4096 bytes on exactly the ConnectX functions with a GPU behind their switch (found here
    from sysfs paths and config bytes), apply read back from the config bytes (only that field changed), revert
    byte-exact, a refused write (EPERM) skipped, a looping capability list warned with its file, a capture that
    keeps 256 bytes of a 4096-byte config space, nic.conf sizes (a bad one said, one above 4096 failing);
  - `nic apply --only pcie` (asios-pcie@.service at boot): the three config spaces change and nothing else in the
    tree, every other change left out with its kind; revert byte-exact; an unknown kind and --only with revert
    refused (exit 2).
TAP output.
"""
import glob
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import (SHARED, TOP, ASIOSCTL, capture, check, ctl, done, fixture_copy, fixture_tree, golden, need,  # noqa: E402
                    plan_json, tree_differs, tree_digest, unpack_root, write)

WANT = {"ai-2s8g": 14, "ai-2s8g-nopxm": 14, "gh200": 2, "ws-2g-iso": 2}


def rd(root, path):
    with open(os.path.join(root, path.lstrip("/"))) as f:
        return f.read().strip()


def cpus_of(text):
    out = set()
    for part in filter(None, text.replace("(null)", "").split(",")):
        a, _, b = part.partition("-")
        out.update(range(int(a), int(b or a) + 1))
    return out


def housekeeping_cpus(root, node):
    """online CPUs of NODE (None: the machine) not isolated or nohz_full, from sysfs"""
    base = "/sys/devices/system"
    cpus = cpus_of(rd(root, "%s/node/node%d/cpulist" % (base, node))) if node is not None else \
        cpus_of(rd(root, base + "/cpu/online"))
    for f in ("isolated", "nohz_full"):
        if os.path.exists(os.path.join(root, base.lstrip("/"), "cpu", f)):
            cpus -= cpus_of(rd(root, base + "/cpu/" + f))
    return cpus


def mask_cpus(text):
    v = int(text.replace(",", ""), 16)
    return {i for i in range(v.bit_length()) if v >> i & 1}


def node_of(root, ifname):
    """the NUMA node of IFNAME's device (of the CPUs it is local to when the firmware gives none; None: unknown)"""
    dev = os.path.realpath(os.path.join(root, "sys/class/net", ifname, "device"))
    node = int(rd(dev, "numa_node")) if os.path.exists(os.path.join(dev, "numa_node")) else -1
    if node < 0 and os.path.exists(os.path.join(dev, "local_cpulist")):
        local = cpus_of(rd(dev, "local_cpulist"))
        node = next((n for n in range(8) if os.path.exists(os.path.join(
            root, "sys/devices/system/node/node%d" % n)) and local <= cpus_of(
            rd(root, "/sys/devices/system/node/node%d/cpulist" % n))), -1)
    return node if node >= 0 else None


def rps_expected(name, root, pl):
    """RPS on each receive queue of an interface whose queues (once the plan's count is set) are at most half
    the housekeeping cores of its node, the mask those cores' CPUs: counted here from sysfs"""
    acts = {a["object"]: a for a in pl["actions"]}
    want, got = {}, {o: mask_cpus(a["new"]) for o, a in acts.items() if o.endswith(" rps_cpus")}
    for ifname in sorted(os.listdir(os.path.join(root, "sys/class/net"))):
        qdir = os.path.join(root, "sys/class/net", ifname, "queues")
        if not os.path.exists(os.path.join(root, "sys/class/net", ifname, "device")) or not os.path.isdir(qdir):
            continue
        n_rx = len([q for q in os.listdir(qdir) if q.startswith("rx-")])
        ch = acts.get(ifname + " channels.combined") or acts.get(ifname + " channels.rx")
        after = int(ch["new"]) if ch else n_rx
        node = node_of(root, ifname)
        hk = housekeeping_cpus(root, node)
        if after * 2 > housekeeping_cores(root, node):
            continue
        for q in range(min(n_rx, after)):
            if mask_cpus(rd(qdir, "rx-%d/rps_cpus" % q)) != hk:
                want["%s rx-%d rps_cpus" % (ifname, q)] = hk
    check(got == want and all(acts[o]["kind"] == "write" and acts[o]["reason"].startswith("RPS: ") for o in got),
          "%s: RPS on the %d receive queues of interfaces with at most half as many queues as housekeeping cores, "
          "over those cores' CPUs" % (name, len(want)), {"planned": sorted(got), "expected": sorted(want)})


def isolated_cpus(root):
    """online CPUs that are isolated or nohz_full, from sysfs"""
    base = "sys/devices/system/cpu/"
    off = set()
    for f in ("isolated", "nohz_full"):
        if os.path.exists(os.path.join(root, base, f)):
            off |= cpus_of(rd(root, "/" + base + f))
    return off & cpus_of(rd(root, "/" + base + "online"))


def rfs_expected(name, root, pl):
    """RFS where RPS is spread (the queues at most half the node's housekeeping cores) on a machine without
    isolated CPUs: each kept queue's rps_flow_cnt to 32768 / queues rounded down to a power of two, and the
    sockets' table raised to 32768; counted here from sysfs"""
    acts = {a["object"]: a for a in pl["actions"]}
    got = {o: a["new"] for o, a in acts.items() if o.endswith(" rps_flow_cnt") or o.startswith("net.core.")}
    want, sockets = {}, False
    for ifname in sorted(os.listdir(os.path.join(root, "sys/class/net"))):
        qdir = os.path.join(root, "sys/class/net", ifname, "queues")
        if not os.path.exists(os.path.join(root, "sys/class/net", ifname, "device")) or not os.path.isdir(qdir) \
                or not os.path.exists(os.path.join(qdir, "rx-0", "rps_flow_cnt")):
            continue
        n_rx = len([q for q in os.listdir(qdir) if q.startswith("rx-")])
        ch = acts.get(ifname + " channels.combined") or acts.get(ifname + " channels.rx")
        after = int(ch["new"]) if ch else n_rx
        if after * 2 > housekeeping_cores(root, node_of(root, ifname)) or isolated_cpus(root):
            continue
        share = 1
        while share * 2 <= 32768 // after:
            share *= 2
        sockets = True
        for q in range(min(n_rx, after)):
            if rd(qdir, "rx-%d/rps_flow_cnt" % q) != str(share):
                want["%s rx-%d rps_flow_cnt" % (ifname, q)] = str(share)
    sysctl = os.path.join(root, "proc/sys/net/core/rps_sock_flow_entries")
    if sockets and os.path.exists(sysctl) and int(rd(root, "/proc/sys/net/core/rps_sock_flow_entries")) < 32768:
        want["net.core.rps_sock_flow_entries"] = "32768"
    check(got == want and all(acts[o]["kind"] == "write" and acts[o]["reason"].startswith("RFS: ") for o in got),
          "%s: RFS on the %d receive queues RPS spreads (no isolated CPU), the sockets' table %s" % (
              name, sum(o.endswith("rps_flow_cnt") for o in want),
              "raised" if "net.core.rps_sock_flow_entries" in want else "not planned"),
          {"planned": got, "expected": want})


def ethtool_actions(pl):
    return [a for a in pl["actions"] if a["kind"] == "ethtool"]


def housekeeping_cores(root, node):
    """online cores of NODE (None: the machine) not isolated or nohz_full, SMT siblings once, from sysfs"""
    base = "/sys/devices/system"
    cpus = cpus_of(rd(root, "%s/node/node%d/cpulist" % (base, node))) if node is not None else \
        cpus_of(rd(root, base + "/cpu/online"))
    off = set()
    for f in ("isolated", "nohz_full"):
        p = os.path.join(root, base.lstrip("/"), "cpu", f)
        if os.path.exists(p):
            off |= cpus_of(rd(root, base + "/cpu/" + f))
    cores = set()
    for c in cpus - off:
        t = "%s/cpu/cpu%d/topology/" % (base, c)
        cores.add((rd(root, t + "physical_package_id"), rd(root, t + "core_id")))
    return len(cores)


def goldens(tmp):
    for f in sorted(glob.glob(os.path.join(TOP, "tests", "fixtures", "*.tar.gz"))):
        name = os.path.basename(f)[:-len(".tar.gz")]
        root = fixture_tree(tmp, name)
        rc, pl, err = plan_json("nic", root)
        check(rc == 0, "%s: nic plan" % name, err)
        if rc:
            continue
        golden(name + ".nic-plan.json", json.dumps(pl, indent=2, sort_keys=True) + "\n")
        eth = ethtool_actions(pl)
        check(len(eth) == WANT.get(name, -1) and all(a["reason"] for a in eth),
              "%s: %d ethtool changes, each with its reason" % (name, WANT.get(name, -1)), eth)
        rps_expected(name, root, pl)
        rfs_expected(name, root, pl)
        # each queue count against the cores counted here, by the node its PCI function reports (or whose
        # CPUs it is local to, when the firmware gives none)
        for a in pl["actions"]:
            if ".combined" not in a["object"]:
                continue
            ifname = a["object"].split()[0]
            dev = os.path.realpath(os.path.join(root, "sys/class/net", ifname, "device"))
            node = int(rd(dev, "numa_node"))
            if node < 0:
                local = cpus_of(rd(dev, "local_cpulist"))
                node = next(n for n in range(8) if os.path.exists(os.path.join(
                    root, "sys/devices/system/node/node%d" % n)) and local <= cpus_of(
                    rd(root, "/sys/devices/system/node/node%d/cpulist" % n)))
            want = min(housekeeping_cores(root, node), int(rd(root, "/capture/ethtool/%s/channels" % ifname)
                                                           .split("combined_max ")[1].split()[0]))
            check(a["new"] == str(want), "%s: %s queues = the %d housekeeping cores of node %d" %
                  (name, ifname, want, node), a)
        rings = [a for a in pl["actions"] if " rings." in a["object"]]
        check(all(int(a["new"]) > int(a["old"]) and int(a["new"]) <= 8192 for a in rings) and rings,
              "%s: rings only raised, to at most 8192" % name, rings)
    root = fixture_tree(tmp, "ai-2s8g")
    rc, pl, err = plan_json("nic", root)
    skipped = {s["object"]: s["reason"] for s in pl["skipped"]} if pl else {}
    check("eno1 coalesce.adaptive_rx" in skipped and "not reported" in skipped["eno1 coalesce.adaptive_rx"],
          "ai-2s8g: the igb has no adaptive moderation: skipped with the reason", skipped)


def real(tmp):
    roots = {
        "h200-1g16c": unpack_root(tmp, os.path.join(TOP, "tests", "machines", "h200-1g16c.tar.gz"), "h200"),
        "32em64t-2n8c+dax+nvme+mic+dimms": unpack_root(tmp, os.path.join(
            SHARED, "fixtures", "hwloc-linux", "32em64t-2n8c+dax+nvme+mic+dimms.tar.bz2"), "ib"),
    }
    for name, root in roots.items():
        rc, pl, err = plan_json("nic", root)
        check(rc == 0, "%s: nic plan on a real capture" % name, err)
        if rc:
            continue
        golden(name + ".nic-plan.json", json.dumps(pl, indent=2, sort_keys=True) + "\n")
        nics = sorted(n for n in os.listdir(os.path.join(root, "sys/class/net"))
                      if os.path.exists(os.path.join(root, "sys/class/net", n, "device")))
        named = {s["object"].split()[0] for s in pl["skipped"] if "no ethtool state" in s["reason"]}
        check(not ethtool_actions(pl) and nics and set(nics) == named,
              "%s: no ethtool state in the capture: no ethtool change planned, each of %s named" % (name, nics), pl)
        rps_expected(name, root, pl)
        rfs_expected(name, root, pl)


def apply_revert(tmp):
    work = fixture_copy(tmp, "ai-2s8g", "apply")
    before = tree_digest(work)
    p = ctl("nic", "apply", "--root", work)
    check(p.returncode == 0 and "applied 34" in p.stdout, "ai-2s8g: nic apply makes the 14 ethtool changes, eno1's "
          "8 RPS masks and 8 RFS flow tables, the sockets' flow table and 3 read-request sizes", p.stdout + p.stderr)
    rps = rd(work, "/sys/class/net/eno1/queues/rx-7/rps_cpus")
    check(mask_cpus(rps) == housekeeping_cpus(work, 0), "ai-2s8g: eno1's last receive queue spreads over node 0's "
          "housekeeping CPUs: %s" % rps, rps)
    rfs = (rd(work, "/sys/class/net/eno1/queues/rx-7/rps_flow_cnt"), rd(work, "/proc/sys/net/core/rps_sock_flow_entries"))
    check(rfs == ("4096", "32768"), "ai-2s8g: eno1's last receive queue has 4096 RFS entries (32768 / 8), the "
          "sockets' table 32768: %s" % (rfs,), rfs)
    ch = rd(work, "/capture/ethtool/ens3np0/channels")
    check(ch == "combined_max 63\ncombined 24", "ai-2s8g: ens3np0's queue count set, its maximum kept", ch)
    rc, pl, err = plan_json("nic", work)
    check(rc == 0 and not pl["actions"], "ai-2s8g: after apply the plan is empty", pl or err)
    p = ctl("nic", "revert", "--root", work)
    diff = tree_differs(before, tree_digest(work))
    check(p.returncode == 0 and not diff, "ai-2s8g: nic revert gives the tree back byte-exact",
          p.stdout + p.stderr + "\n".join(diff[:10]))
    # a set the driver refuses (EINVAL) after others were made: all of them rolled back
    work = fixture_copy(tmp, "ai-2s8g", "refused")
    before = tree_digest(work)
    p = ctl("nic", "apply", "--root", work, env={"ASIOS_FAULT_INJECT": "/capture/ethtool/ens3np0/rings=EINVAL"})
    diff = tree_differs(before, tree_digest(work))
    check(p.returncode == 1 and "ens3np0 rings" in p.stderr and "rolled back" in p.stderr and not diff,
          "ai-2s8g: a refused ring size rolls the whole apply back", p.stderr + "\n".join(diff[:10]))
    # only raised: a ring above the profile's (an admin's) stays
    work = fixture_copy(tmp, "ai-2s8g", "above")
    write(os.path.join(work, "capture/ethtool/ens1np0/rings"), "rx_max 16384\ntx_max 8192\nrx 12000\ntx 1024\n")
    rc, pl, err = plan_json("nic", work)
    skipped = {s["object"]: s["reason"] for s in pl["skipped"]} if pl else {}
    check(rc == 0 and "already above" in skipped.get("ens1np0 rings.rx", "") and len(ethtool_actions(pl)) == 13,
          "a receive ring above the profile's 8192 is kept", pl or err)
    # a driver reload between apply and revert: the new interface (another index) is left alone
    work = fixture_copy(tmp, "ai-2s8g", "reload")
    p = ctl("nic", "apply", "--root", work)
    ifindex = os.path.join(os.path.realpath(os.path.join(work, "sys/class/net/ens2np0")), "ifindex")
    write(ifindex, "77\n")
    p = ctl("nic", "revert", "--root", work)
    check(p.returncode == 0 and "ens2np0 is another interface now" in p.stdout + p.stderr
          and rd(work, "/capture/ethtool/ens2np0/channels").endswith("combined 24")
          and rd(work, "/capture/ethtool/ens1np0/channels").endswith("combined 63"),
          "a reloaded interface (new index) is left alone on revert, the others restored", p.stdout + p.stderr)


def policy(tmp):
    conf = os.path.join(tmp, "nic.conf")
    root = fixture_tree(tmp, "ai-2s8g")
    write(conf, "[nic]\nprofile = latency\nleave = eno1 ens4*\n")
    rc, pl, err = plan_json("nic", root, "--config", conf)
    acts = {a["object"]: a["new"] for a in pl["actions"]} if pl else {}
    skipped = {s["object"]: s["reason"] for s in pl["skipped"]} if pl else {}
    check(rc == 0 and acts.get("ens1np0 coalesce.adaptive_rx") == "0" and acts.get("ens1np0 coalesce.rx_usecs") == "0"
          and not any(" rings." in o for o in acts) and "eno1" in skipped and "ens4np0" in skipped
          and not any(o.startswith(("eno1 ", "ens4np0 ")) for o in acts) and len(acts) == 3 * 4 + 2
          and acts.get("ens1np0 pcie.read_request") == "4096",
          "nic.conf: latency profile (adaptive off, rx-usecs 0, rings left, read requests as in throughput) and "
          "leave globs", pl or err)
    write(conf, "[nic]\nlatency = ens1np0\n[throughput]\nchannels = 8\nrings.tx = leave\n")
    rc, pl, err = plan_json("nic", root, "--config", conf)
    acts = {a["object"]: a["new"] for a in pl["actions"]} if pl else {}
    check(rc == 0 and acts.get("ens2np0 channels.combined") == "8" and acts.get("ens1np0 coalesce.adaptive_rx") == "0"
          and "ens2np0 rings.rx" in acts and "ens2np0 rings.tx" not in acts and "ens1np0 rings.rx" not in acts,
          "nic.conf: one interface on the latency profile, a fixed queue count, a ring left", pl or err)
    rps_policy(tmp, conf)
    bad = [
        ("[throughput]\nrps = 5\n", "nic.conf:2:"),
        ("[throughput]\nrfs = on\n", "nic.conf:2:"),
        ("[nic]\nprofile = fast\n", "nic.conf:2:"),
        ("[throughput]\nchannels = 0\n", "nic.conf:2:"),
        ("[throughput]\nrings.frob = 1\n", "nic.conf:2:"),
        ("[slow]\nchannels = 4\n", "nic.conf:2:"),
    ]
    for i, (text, where) in enumerate(bad):
        write(conf, text)
        work = fixture_copy(tmp, "ai-2s8g", "bad%d" % i)
        before = tree_digest(work)
        p = ctl("nic", "apply", "--root", work, "--config", conf)
        check(p.returncode == 1 and where in p.stderr and tree_digest(work) == before,
              "bad nic.conf %r: %s named, nothing applied" % (text.strip(), where), p.stderr)
    # malformed capture data: the file and line named, that group left alone, the rest planned
    work = fixture_copy(tmp, "ai-2s8g", "malformed")
    write(os.path.join(work, "capture/ethtool/ens2np0/channels"), "combined_max 63\ncombined x\n")
    p = ctl("nic", "plan", "--json", "--root", work)
    pl = json.loads(p.stdout) if p.returncode == 0 else None
    check(pl is not None and len(ethtool_actions(pl)) == 13 and "/capture/ethtool/ens2np0/channels:2:" in p.stderr,
          "a malformed capture file is named with its line; its group left alone, the rest planned",
          p.stdout[-600:] + p.stderr)


def rps_policy(tmp, conf):
    root = fixture_tree(tmp, "ai-2s8g")
    hk0 = housekeeping_cpus(root, 0)
    # rps = 0: RPS off where it is on (an admin's masks on eno1), whatever the queue count
    work = fixture_copy(tmp, "ai-2s8g", "rps-off")
    for q in range(8):
        write(os.path.join(work, "sys/class/net/eno1/queues/rx-%d/rps_cpus" % q), "00000000,00000000,0000000f\n")
    write(conf, "[throughput]\nrps = 0\n")
    rc, pl, err = plan_json("nic", work, "--config", conf)
    acts = {a["object"]: a["new"] for a in pl["actions"] if a["kind"] == "write"} if pl else {}
    check(rc == 0 and len(acts) == 8 and all(mask_cpus(v) == set() for v in acts.values()),
          "nic.conf rps = 0: eno1's 8 masks cleared", pl or err)
    # the latency profile leaves RPS alone; rps = auto there asks for it
    write(conf, "[nic]\nprofile = latency\n")
    rc, pl, err = plan_json("nic", root, "--config", conf)
    check(rc == 0 and not any(a["kind"] == "write" for a in pl["actions"]), "nic.conf latency profile: no RPS", pl or err)
    write(conf, "[nic]\nprofile = latency\n[latency]\nrps = auto\n")
    rc, pl, err = plan_json("nic", root, "--config", conf)
    acts = {a["object"]: a["new"] for a in pl["actions"] if a["kind"] == "write"} if pl else {}
    check(rc == 0 and len(acts) == 8 and all(mask_cpus(v) == hk0 for v in acts.values()),
          "nic.conf [latency] rps = auto: eno1's 8 queues spread over node 0's housekeeping CPUs", pl or err)
    # a queue count raised from 4 to 10: the 4 queues there get their masks, the 6 to come are named
    work = fixture_copy(tmp, "ai-2s8g", "rps-more")
    write(os.path.join(work, "capture/ethtool/ens1np0/channels"), "combined_max 63\ncombined 4\n")
    qdir = os.path.join(os.path.realpath(os.path.join(work, "sys/class/net/ens1np0")), "queues")
    for q in range(4, 63):
        shutil.rmtree(os.path.join(qdir, "rx-%d" % q))
    write(conf, "[throughput]\nchannels = 10\n")
    rc, pl, err = plan_json("nic", work, "--config", conf)
    acts = [a["object"] for a in pl["actions"] if a["object"].startswith("ens1np0 rx-")] if pl else []
    skipped = {s["object"]: s["reason"] for s in pl["skipped"]} if pl else {}
    check(rc == 0 and acts == ["ens1np0 rx-%d rps_cpus" % q for q in range(4)] +
          ["ens1np0 rx-%d rps_flow_cnt" % q for q in range(4)]
          and "rx-4 to rx-9 come with the new queue count" in skipped.get("ens1np0", ""),
          "a queue count raised from 4 to 10: RPS and RFS on the 4 queues there, the 6 to come named", pl or err)
    rfs_policy(tmp, conf)


def rfs_policy(tmp, conf):
    # rfs = 0: each queue's flow table off (an admin's on eno1), the sockets' table left
    work = fixture_copy(tmp, "ai-2s8g", "rfs-off")
    for q in range(8):
        write(os.path.join(work, "sys/class/net/eno1/queues/rx-%d/rps_flow_cnt" % q), "2048\n")
    write(os.path.join(work, "proc/sys/net/core/rps_sock_flow_entries"), "16384\n")
    write(conf, "[throughput]\nrfs = 0\n")
    rc, pl, err = plan_json("nic", work, "--config", conf)
    acts = {a["object"]: a["new"] for a in pl["actions"] if a["kind"] == "write"} if pl else {}
    flows = {o: v for o, v in acts.items() if "rps_flow_cnt" in o}
    check(rc == 0 and len(flows) == 8 and set(flows.values()) == {"0"} and not any("net.core" in o for o in acts),
          "nic.conf rfs = 0: eno1's 8 flow tables off, the sockets' table left", pl or err)
    # a sockets' table above 32768 (another device's, an admin's) is not lowered; the queues still get theirs
    write(os.path.join(work, "proc/sys/net/core/rps_sock_flow_entries"), "65536\n")
    write(conf, "")
    rc, pl, err = plan_json("nic", work, "--config", conf)
    acts = {a["object"]: a["new"] for a in pl["actions"] if a["kind"] == "write"} if pl else {}
    check(rc == 0 and not any("net.core" in o for o in acts) and
          [acts.get("eno1 rx-%d rps_flow_cnt" % q) for q in range(8)] == ["4096"] * 8,
          "a sockets' flow table of 65536 is kept; eno1's queues get 4096 each", pl or err)
    # isolated CPUs: RPS spread over the housekeeping CPUs, RFS not planned, the isolated CPUs named
    work = fixture_copy(tmp, "ai-2s8g", "rfs-iso")
    write(os.path.join(work, "sys/devices/system/cpu/isolated"), "20-23,68-71\n")
    rc, pl, err = plan_json("nic", work, "--config", conf)
    acts = [a["object"] for a in pl["actions"]] if pl else []
    skipped = {s["object"]: s["reason"] for s in pl["skipped"]} if pl else {}
    check(rc == 0 and sum(o.endswith("rps_cpus") for o in acts) == 8 and not any("rps_flow" in o or "net.core" in o
                                                                                for o in acts)
          and "CPUs 20-23,68-71 are isolated or nohz_full" in skipped.get("eno1 rfs", ""),
          "isolated CPUs 20-23,68-71: RPS spread, RFS left off with the reason (it would follow a reader onto them)",
          pl or err)


def snapshot(tmp):
    root = fixture_tree(tmp, "ws-2g-iso")
    cap, p = capture(root, tmp, "ws")
    check(p.returncode == 0 and os.path.exists(os.path.join(cap, "capture/ethtool/enp3s0/rings")),
          "asiosctl snapshot keeps the ethtool state of each interface", p.stderr)
    a, b = plan_json("nic", root), plan_json("nic", cap)
    check(a[0] == 0 and b[0] == 0 and a[1]["actions"] == b[1]["actions"],
          "the plan on the capture is the plan on the machine", (a, b))


def config_path(root, addr):
    return os.path.join(root, "sys/bus/pci/devices", addr, "config")


def devctl(root, addr):
    """(capability offset, Device Control) of ADDR, walked here from its config bytes; (None, None) without one"""
    try:
        c = open(config_path(root, addr), "rb").read()
    except OSError:
        return None, None
    pos, seen = (c[0x34] & 0xfc if len(c) > 0x34 and c[6] & 0x10 else 0), set()
    while pos and pos not in seen and pos + 10 <= len(c):
        seen.add(pos)
        if c[pos] == 0x10:
            return pos, int.from_bytes(c[pos + 8:pos + 10], "little")
        pos = c[pos + 1] & 0xfc
    return None, None


def read_request(root, addr):
    cap, ctl_ = devctl(root, addr)
    return None if cap is None else 128 << ((ctl_ >> 12) & 7)


def gpu_behind_switch(root, addr):
    """a GPU (class 0x03) below the same switch as ADDR: a common bridge below the root port (the sysfs paths)"""
    mine = os.path.realpath(os.path.join(root, "sys/bus/pci/devices", addr)).split("/")
    for d in glob.glob(os.path.join(root, "sys/bus/pci/devices/*")):
        if rd(root, "/sys/bus/pci/devices/%s/class" % os.path.basename(d)).startswith("0x03"):
            other = os.path.realpath(d).split("/")
            common = 0
            while common < min(len(mine), len(other)) and mine[common] == other[common]:
                common += 1
            # below pciDOMAIN:BUS/ROOTPORT/: the common part reaches into a switch
            if common - mine.index(next(x for x in mine if x.startswith("pci"))) >= 3:
                return True
    return False


def pcie(tmp):
    """read-request sizes: which NICs, apply read back from the config bytes, refused, malformed, captures, policy"""
    work = fixture_copy(tmp, "ai-2s8g", "pcie")
    nics = {os.path.basename(n): os.path.basename(os.path.realpath(os.path.join(n, "device")))
            for n in glob.glob(os.path.join(work, "sys/class/net/*")) if os.path.exists(os.path.join(n, "device"))}
    want = sorted(n for n, a in nics.items() if rd(work, "/sys/bus/pci/devices/%s/vendor" % a) == "0x15b3"
                  and gpu_behind_switch(work, a) and read_request(work, a) != 4096)
    rc, pl, err = plan_json("nic", work)
    acts = {a["object"].split()[0]: a for a in pl["actions"] if a["kind"] == "pcie"} if pl else {}
    skipped = {s["object"]: s["reason"] for s in pl["skipped"]} if pl else {}
    check(rc == 0 and sorted(acts) == want and len(want) == 3 and all(
          a["old"] == "512" and a["new"] == "4096" for a in acts.values()),
          "ai-2s8g: 4096-byte read requests on the ConnectX NICs with a GPU behind their switch, found here from "
          "sysfs and config bytes (%s), not on ens3np0 (4096 already)" % ", ".join(want), pl or err)
    check("vendor 0x8086" in skipped.get("eno1 pcie.read_request", "") and
          "relaxed ordering is off" in skipped.get("ens2np0 pcie.relaxed_ordering", ""),
          "ai-2s8g: the igb is left alone (no vendor size), ens2np0's relaxed ordering off is named, not changed",
          skipped)
    before = {n: (devctl(work, a)[1], open(config_path(work, a), "rb").read()) for n, a in nics.items()}
    p = ctl("nic", "apply", "--root", work)
    after = {n: open(config_path(work, a), "rb").read() for n, a in nics.items()}
    ok = p.returncode == 0
    for n, a in nics.items():
        cap, now = devctl(work, a)
        old, raw = before[n]
        if n in want:  # only the field changed: the other bits and every other byte as they were
            ok = ok and read_request(work, a) == 4096 and (now & ~0x7000) == (old & ~0x7000) and \
                after[n][:cap + 8] + after[n][cap + 10:] == raw[:cap + 8] + raw[cap + 10:]
        else:
            ok = ok and after[n] == raw
    check(ok, "apply: the three functions' Device Control read back with 4096-byte requests, every other bit and "
          "byte of every config space as before", p.stdout + p.stderr)
    p = ctl("nic", "revert", "--root", work)
    check(p.returncode == 0 and all(open(config_path(work, nics[n]), "rb").read() == before[n][1] for n in nics),
          "revert: every config space byte-exact", p.stdout + p.stderr)
    # lockdown (or no CAP_SYS_ADMIN) refuses a config write: that one skipped and said, the rest applied
    a1 = nics[want[0]]
    p = ctl("nic", "apply", "--root", work, env={"ASIOS_FAULT_INJECT": "/sys/bus/pci/devices/%s/config=EPERM" % a1})
    check(p.returncode == 0 and "refused 1" in p.stdout and read_request(work, a1) == 512 and
          all(read_request(work, nics[n]) == 4096 for n in want[1:]),
          "a refused config write (EPERM: lockdown) is skipped and reported, the other NICs set", p.stdout + p.stderr)
    ctl("nic", "revert", "--root", work)
    # a capability list that loops: a warning naming the file, the NIC left alone with the reason
    path = config_path(work, a1)
    c = bytearray(open(path, "rb").read())
    c[0x51] = 0x40
    os.chmod(path, 0o644)
    open(path, "wb").write(bytes(c))
    rc, pl, err = plan_json("nic", work)
    skipped = {s["object"]: s["reason"] for s in pl["skipped"]} if pl else {}
    check(rc == 0 and "devices/%s/config: the capability list loops" % a1 in err and
          "were not read" in skipped.get("%s pcie.read_request" % want[0], ""),
          "a looping capability list: a warning naming the config file, the NIC left alone", err + str(skipped))
    # a capture never holds a config space (its extended part has the serial number: 4096 bytes here) but the
    # three register values read from it, as text; the plan on it, its apply and revert, are those of the tree
    work = fixture_copy(tmp, "ai-2s8g", "pcie-cap")
    path = config_path(work, a1)
    raw = open(path, "rb").read()
    os.chmod(path, 0o644)
    open(path, "wb").write(raw + b"\x03\x00\x01\x00SerialSecret" + bytes(4096 - len(raw) - 16))
    cap, p = capture(work, tmp, "pcie")
    regs = devctl(work, a1)
    text = open(os.path.join(cap, "capture/pcie", a1)).read() if p.returncode == 0 else ""
    a, b = plan_json("nic", work), plan_json("nic", cap)
    check(not os.path.exists(config_path(cap, a1)) and
          text == "cap 0x%02x\ndevcap 0x00008022\ndevctl 0x%04x\n" % regs and
          a[0] == 0 and b[0] == 0 and a[1]["actions"] == b[1]["actions"],
          "asiosctl snapshot: no config space in the capture, the three register values as text (%s), the plan on "
          "the capture is the plan on the tree" % text.replace("\n", "; ").strip("; "), p.stderr + str((a, b)))
    before = open(os.path.join(cap, "capture/pcie", a1)).read() if text else ""
    p = ctl("nic", "apply", "--root", cap)
    mid = open(os.path.join(cap, "capture/pcie", a1)).read() if text else ""
    p2 = ctl("nic", "revert", "--root", cap)
    after = open(os.path.join(cap, "capture/pcie", a1)).read() if text else ""
    check(p.returncode == 0 and p2.returncode == 0 and mid == before.replace("devctl 0x29", "devctl 0x59") and
          after == before, "on the capture: apply sets devctl to 4096-byte requests in its text, revert gives it "
          "back", p.stdout + p.stderr + p2.stderr + mid)
    write(os.path.join(cap, "capture/pcie", a1), "cap 0x60\ndevctl 0x293e\ndevctl 0x593e\n")
    rc, pl, err = plan_json("nic", cap)
    skipped = {s["object"]: s["reason"] for s in pl["skipped"]} if pl else {}
    check(rc == 0 and "/capture/pcie/%s: a line is there twice" % a1 in err and "were not read" in
          skipped.get("%s pcie.read_request" % want[0], ""), "a malformed register capture: a warning naming its file "
          "and the fault, the NIC left alone", err + str(skipped))
    # nic.conf: a size for every NIC ASIOS can read; a size the register cannot hold is said, nothing set
    work = fixture_copy(tmp, "ai-2s8g", "pcie-conf")
    conf = os.path.join(work, "etc/asios/nic.conf")
    write(conf, "[throughput]\npcie.read_request = 1024\n")
    rc, pl, err = plan_json("nic", work)
    acts = {a["object"].split()[0]: a["new"] for a in pl["actions"] if a["kind"] == "pcie"} if pl else {}
    check(rc == 0 and acts == {n: "1024" for n in nics}, "nic.conf pcie.read_request = 1024: set on every NIC, "
          "the igb and the ConnectX already at 4096 included", pl or err)
    write(conf, "[throughput]\npcie.read_request = 3000\n")
    rc, pl, err = plan_json("nic", work)
    skipped = {s["object"]: s["reason"] for s in pl["skipped"]} if pl else {}
    check(rc == 0 and not any(a["kind"] == "pcie" for a in pl["actions"]) and
          "3000 is no read-request size" in skipped.get("ens1np0 pcie.read_request", ""),
          "nic.conf pcie.read_request = 3000 (not a power of two): nothing set, the reason named", pl or err)
    write(conf, "[throughput]\npcie.read_request = 8192\n")
    rc, pl, err = plan_json("nic", work)
    check(rc != 0 and "nic.conf:2" in err, "nic.conf pcie.read_request = 8192 (above 4096) fails naming its line",
          err)


def only_pcie(tmp):
    """--only pcie, as asios-pcie@.service runs it: the registers set, nothing else of the NIC domain"""
    work = fixture_copy(tmp, "ai-2s8g", "only")
    nics = {os.path.basename(n): os.path.basename(os.path.realpath(os.path.join(n, "device")))
            for n in glob.glob(os.path.join(work, "sys/class/net/*")) if os.path.exists(os.path.join(n, "device"))}
    rc, pl, err = plan_json("nic", work, "--only", "pcie")
    kinds = sorted({a["kind"] for a in pl["actions"]}) if pl else []
    out = [s["reason"] for s in pl["skipped"] if "left out (only pcie asked for)" in s["reason"]] if pl else []
    check(rc == 0 and kinds == ["pcie"] and len(pl["actions"]) == 3 and len(out) > 14 and
          any(r.startswith("a change of kind ethtool") for r in out) and
          any(r.startswith("a change of kind write") for r in out),
          "nic plan --only pcie: the 3 read-request changes; the ethtool and sysfs changes left out with their kind "
          "(%d)" % len(out), pl or err)
    before = tree_digest(work)
    p = ctl("nic", "apply", "--root", work, "--only", "pcie")
    changed = [c for c in tree_differs(before, tree_digest(work)) if not c.startswith("run/")]  # the journal
    configs = sorted(os.path.relpath(os.path.realpath(config_path(work, nics[n])), work)
                     for n in ("ens1np0", "ens2np0", "ens4np0"))
    check(p.returncode == 0 and "applied 3, refused 0" in p.stdout and changed == configs and
          all(read_request(work, nics[n]) == 4096 for n in ("ens1np0", "ens2np0", "ens4np0")),
          "nic apply --only pcie: the three config spaces changed (4096-byte requests), nothing else in the tree", p.stdout + p.stderr +
          "\nchanged: %s\nconfigs: %s" % (changed, configs))
    rc, pl, err = plan_json("nic", work)
    kinds = sorted({a["kind"] for a in pl["actions"]}) if pl else []
    check(rc == 0 and kinds == ["ethtool", "write"], "after it, the full plan still has the ethtool and sysfs "
          "changes and no pcie one (%s)" % ", ".join(kinds), pl or err)
    p = ctl("nic", "revert", "--root", work)
    check(p.returncode == 0 and not tree_differs(before, tree_digest(work)), "revert: the tree byte-exact",
          p.stdout + p.stderr)
    p = ctl("nic", "apply", "--root", work, "--only", "pcie,bogus")
    check(p.returncode == 2 and "'bogus' is no kind of change (there are: write, affinity, migrate, file, ethtool, "
          "pcie)" in p.stderr and not tree_differs(before, tree_digest(work)),
          "--only with an unknown kind: exit 2 naming it and the kinds, nothing applied", p.stderr)
    p = ctl("nic", "revert", "--root", work, "--only", "pcie")
    check(p.returncode == 2 and "--only goes with plan, explain and apply" in p.stderr, "revert --only: exit 2",
          p.stderr)


def verbs():
    p = ctl("nic", "knobs")
    check(p.returncode == 0 and p.stdout.count("never auto-tuned") == 9, "nic knobs: nine knobs, none auto-tuned",
          p.stdout)
    p = ctl("nic", "--help")
    check(p.returncode == 0 and "/etc/asios/nic.conf" in p.stdout, "nic --help names its policy file", p.stdout)


def main():
    if not need(ASIOSCTL):
        return 1
    tmp = tempfile.mkdtemp(prefix="asios-nic-")
    try:
        goldens(tmp)
        real(tmp)
        apply_revert(tmp)
        policy(tmp)
        snapshot(tmp)
        pcie(tmp)
        only_pcie(tmp)
        verbs()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return done()


if __name__ == "__main__":
    sys.exit(main())
