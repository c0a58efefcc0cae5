#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""asiosctl isolate: golden plans, invariants, idempotence, apply/revert, rollback, bad configuration, TuneD.

Every fixture machine (the synthetic AI servers and every shared hwloc capture) gets, in a writable copy of its
tree, the runtime files the plan compares with (workqueue, writeback, default IRQ and watchdog masks, the
scheduler knobs, unbound and per-CPU kernel threads, a workload slice where cgroup v2 is mounted) and a
schedd.conf with isolate = auto and the latency profile. Goldens: tests/golden/NAME.isolate-plan.json
(ASIOS_REGEN=1 rewrites). On all machines: CPU 0 (or the first online CPU) is housekeeping, housekeeping and
isolated sets partition the online CPUs, siblings are never split, every node keeps a housekeeping CPU, the
command line is well-formed (no empty list, each parameter once, bounded), every action and skip has a reason,
deterministic; apply then re-plan is empty; revert restores every file and removes the snippet and drop-in.
Injected failures: a refused write (EIO) is skipped, any other (EINVAL, or a failing grub.d write) rolls the
whole apply back. Bad configuration names file:line and applies nothing. TAP output.
"""
import glob
import json
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import ASIOSCTL, SHARED, TOP, capture, check, cpulist, ctl, done, fake_tuned, golden, need, need_root, plan_json, sched_tree, skip, slice_dir, topo, untar, write  # noqa: E402

CONF = "[schedd]\nisolate = auto\nprofile = latency\n"
GRUB = "etc/default/grub.d/asios-isolation.cfg"
DROPIN = "etc/systemd/system.conf.d/60-asios-isolation.conf"


def plan(root, *extra):
    return plan_json("isolate", root, *extra)


def expand(lst):
    out = []
    for part in lst.strip().split(","):
        if not part:
            continue
        a, _, b = part.partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    return out


def files(root):
    """Everything apply may touch: contents by path (None: absent)."""
    out = {}
    pats = ["sys/devices/virtual/workqueue/cpumask", "sys/bus/workqueue/devices/writeback/cpumask",
            "proc/irq/default_smp_affinity", "proc/sys/kernel/*", "proc/sys/vm/*", "sys/kernel/debug/sched/*",
            "proc/[0-9]*/status"] + [os.path.join(slice_dir(root) or "-", "cpuset.*")]
    for pat in pats:
        for f in glob.glob(os.path.join(root, pat), recursive=True):
            if os.path.isfile(f):
                out[f] = open(f).read()
    for f in (GRUB, DROPIN):
        p = os.path.join(root, f)
        out[p] = open(p).read() if os.path.exists(p) else None
    return out


def invariants(name, root, t, pl):
    iso = pl["isolation"]
    online = {c["id"] for c in t["cpus"] if c["online"]}
    hk, isolated = set(iso["housekeeping"]), set(iso["isolated"])
    first = 0 if 0 in online else min(online)
    check(first in hk and first not in isolated, "%s: CPU %d keeps the housekeeping duties" % (name, first))
    check(hk | isolated == online and not hk & isolated, "%s: housekeeping and isolated partition the online CPUs"
          % name, iso)
    core = {c["id"]: c["core"] for c in t["cpus"] if c["online"]}
    split = [c for c in isolated if core[c] >= 0 and any(core[o] == core[c] and o not in isolated for o in online)]
    check(not split, "%s: isolated cores are whole (SMT siblings kept together)" % name, split)
    starved = [n["id"] for n in t["nodes"] if set(n["cpus"]) & online and not set(n["cpus"]) & hk]
    check(not starved, "%s: every node keeps a housekeeping CPU" % name, starved)
    cmd = iso["cmdline"]
    params = dict(p.split("=", 1) for p in cmd.split()) if cmd else {}
    ok = cmd is not None and len(cmd) <= 1024 and len(params) == len(cmd.split())
    for k, v in params.items():
        lst = v.split(",", 2)[-1] if k == "isolcpus" else v
        ok = ok and k in ("nohz_full", "rcu_nocbs", "isolcpus", "irqaffinity") and v and \
            re.fullmatch(r"\d+(-\d+)?(,\d+(-\d+)?)*", lst) is not None and \
            set(expand(lst)) == (hk if k == "irqaffinity" else isolated)
    check(ok and (bool(params) == bool(isolated)), "%s: command line well-formed, lists non-empty or absent, "
          "bounded, matching the sets" % name, cmd)
    check(all(a["reason"] for a in pl["actions"]) and all(s["reason"] for s in pl["skipped"]),
          "%s: every action and skip has a reason" % name)
    moved = {a["pid"] for a in pl["actions"] if a["kind"] == "affinity"}
    check(not moved & {46, 47, 1000}, "%s: per-CPU kernel threads, IRQ threads and user processes are not moved"
          % name, moved)
    check(not isolated or 2 in moved, "%s: kthreadd moved off the isolated CPUs" % name, moved)
    check(all(set(a["to"]) <= hk for a in pl["actions"] if a["kind"] == "affinity"),
          "%s: kernel threads only on housekeeping CPUs" % name)
    rc, again, _ = plan(root)
    check(again == pl, "%s: deterministic" % name)


def apply_tests(name, root, pl):
    before = files(root)
    p = ctl("isolate", "apply", "--root", root)
    check(p.returncode == 0, "%s: apply" % name, p.stdout + p.stderr)
    rc, again, err = plan(root)
    check(rc == 0 and again["actions"] == [], "%s: idempotent (re-plan after apply is empty)" % name,
          again and again["actions"])
    grub = os.path.join(root, GRUB)
    if pl["isolation"]["isolated"]:
        text = open(grub).read() if os.path.exists(grub) else ""
        check(pl["isolation"]["cmdline"] in text and "GRUB_CMDLINE_LINUX_DEFAULT=" in text,
              "%s: grub.d snippet carries the command line" % name, text)
        check("run update-grub and reboot" in p.stdout, "%s: apply says a reboot is needed" % name, p.stdout)
    p = ctl("isolate", "revert", "--root", root)
    check(p.returncode == 0 and files(root) == before, "%s: revert restores every file, removes snippet and drop-in"
          % name, p.stderr)
    check(not os.path.exists(os.path.join(root, "run/asios/schedd.journal")), "%s: journal removed by revert" % name)
    writes = [a for a in pl["actions"] if a["kind"] == "write"]
    if len(writes) < 2:
        return
    # a refused write (EIO): reported, skipped, the rest applied
    first = writes[0]["path"]
    p = ctl("isolate", "apply", "--root", root, env={"ASIOS_FAULT_INJECT": first + "=EIO"})
    check(p.returncode == 0 and "the kernel refused" in p.stderr and "refused 1" in p.stdout,
          "%s: EIO is reported and skipped" % name, p.stdout + p.stderr)
    rc, again, _ = plan(root)
    check([a["path"] for a in again["actions"]] == [first], "%s: only the refused write is left to do" % name,
          again["actions"])
    ctl("isolate", "revert", "--root", root)
    check(files(root) == before, "%s: revert after a partial apply" % name)
    # any other failure mid-apply: everything rolled back, the created snippet removed again
    mid = writes[len(writes) // 2]["path"]
    p = ctl("isolate", "apply", "--root", root, env={"ASIOS_FAULT_INJECT": mid + "=EINVAL"})
    check(p.returncode == 1 and "Invalid argument" in p.stderr and "rolled back" in p.stderr,
          "%s: EINVAL mid-apply fails the apply" % name, p.stderr)
    check(files(root) == before, "%s: ... and rolls every change back (files created are gone)" % name)
    j = os.path.join(root, "run/asios/schedd.journal")
    check(not os.path.exists(j) or open(j).read() == "", "%s: ... and leaves nothing to revert" % name)


def extract(tmp):
    roots = {}
    for f in sorted(glob.glob(os.path.join(TOP, "tests", "fixtures", "*.tar.gz"))):
        name = os.path.basename(f)[:-len(".tar.gz")]
        untar(f, os.path.join(tmp, "syn"))
        roots[name] = os.path.join(tmp, "syn", name)
    for f in sorted(glob.glob(os.path.join(SHARED, "fixtures", "hwloc-linux", "*.tar.bz2"))):
        name = os.path.basename(f)[:-len(".tar.bz2")]
        d = os.path.join(tmp, "shared", name)
        untar(f, d)
        roots[name] = os.path.join(d, os.listdir(d)[0])
    return roots


def policy_tests(roots):
    """Explicit lists, the length bound, the reboot flag, profiles, drop-ins, bad configuration, TuneD."""
    ws = roots["ws-2g-iso"]
    conf_d = os.path.join(ws, "etc/asios/schedd.conf.d")
    site = os.path.join(conf_d, "50-site.conf")
    # the running command line already isolates 4-7,20-23: planning the same needs no reboot
    write(site, "[schedd]\nisolate = 4-7,20-23\n")
    rc, pl, err = plan(ws)
    check(rc == 0 and pl["isolation"]["isolated"] == [4, 5, 6, 7, 20, 21, 22, 23] and
          not pl["isolation"]["reboot_required"], "isolate = list matching the running command line: no reboot",
          pl and pl["isolation"])
    write(site, "[schedd]\nisolate = 4-8,20-23\n")
    rc, pl, err = plan(ws)
    check(rc == 0 and not pl["isolation"]["reboot_required"] and 8 not in pl["isolation"]["isolated"] and
          any("8,24 share a core" in n for n in pl["notes"]), "a list splitting a core keeps the core and says so",
          pl and (pl["isolation"], pl["notes"]))
    write(site, "[schedd]\nisolate = 4-8,20-24\n")
    rc, pl, err = plan(ws)
    check(rc == 0 and pl["isolation"]["reboot_required"] and {8, 24} <= set(pl["isolation"]["isolated"]),
          "a list differing from the running command line needs a reboot", pl and pl["isolation"])
    write(site, "[schedd]\nisolate = 0-3\n")
    rc, pl, err = plan(ws)
    check(rc == 0 and 0 not in pl["isolation"]["isolated"] and 16 not in pl["isolation"]["isolated"] and
          any("core of CPU 0" in n for n in pl["notes"]), "CPU 0's core is never isolated, even when listed",
          pl and pl["notes"])
    write(site, "[schedd]\nisolate = none\n")
    rc, pl, err = plan(ws)
    check(rc == 0 and pl["isolation"]["cmdline"] == "" and not [a for a in pl["actions"] if a["kind"] == "file"],
          "isolate = none: no command line, no snippet", pl and pl["actions"])
    write(site, "[schedd]\nhousekeeping_cores = 4\nprofile = throughput\n")
    rc, pl, err = plan(ws)
    objs = {a["object"]: a for a in pl["actions"]}
    check(rc == 0 and pl["isolation"]["housekeeping"] == [0, 1, 2, 3, 16, 17, 18, 19] and
          "debug.sched.migration_cost_ns" in objs and "kernel.sched_rt_runtime_us" not in objs,
          "housekeeping_cores = 4, profile throughput: its knobs, RT throttling kept", pl and list(objs))
    write(site, "[schedd]\nprofile = latency\n[knobs]\nkernel.nmi_watchdog = leave\nvm.stat_interval = 5\n")
    rc, pl, err = plan(ws)
    objs = {a["object"]: a for a in pl["actions"]}
    check(rc == 0 and "kernel.nmi_watchdog" not in objs and objs.get("vm.stat_interval", {}).get("new") == "5",
          "[knobs] overrides: leave and a value", pl and list(objs))
    # the length bound: a scattered list on the 96-CPU machine with a small bound
    big = roots["ai-2s8g"]
    write(os.path.join(big, "etc/asios/schedd.conf.d/50-site.conf"),
          "[schedd]\nisolate = %s\ncmdline_max = 64\n" % ",".join(str(c) for c in range(2, 96, 2)))
    rc, pl, err = plan(big)
    check(rc == 0 and pl["isolation"]["cmdline"] is None and not [a for a in pl["actions"] if a["kind"] == "file"
                                                                and "grub" in a["path"]] and
          any("cmdline_max" in n for n in pl["notes"]), "an over-long command line is not written, and said so",
          pl and pl["notes"])
    os.remove(os.path.join(big, "etc/asios/schedd.conf.d/50-site.conf"))
    # a machine that does not boot with GRUB: the command line is shown, not written
    os.rmdir(os.path.join(big, "etc/default/grub.d"))
    rc, pl, err = plan(big)
    check(rc == 0 and pl["isolation"]["cmdline"] and not [a for a in pl["actions"] if "grub" in (a.get("path") or "")]
          and any("does not boot with GRUB" in s["reason"] for s in pl["skipped"]),
          "no /etc/default/grub.d: no snippet written, the reason says why", pl and pl["skipped"])
    os.remove(site)
    before = files(ws)
    conf = os.path.join(ws, "etc/asios/schedd.conf")
    cases = [
        ("[schedd]\nprofile = fast\n", "schedd.conf:2: profile: expected throughput, latency or inference"),
        ("[schedd]\nisolate = 1-\n", "schedd.conf:2: isolate: expected none, auto or a non-empty CPU list"),
        ("[schedd]\nhousekeeping_cores = 0\n", "schedd.conf:2: housekeeping_cores: expected a number of cores"),
        ("[schedd]\nnohz_full = maybe\n", "schedd.conf:2: nohz_full: expected yes or no"),
        ("[schedd]\ncmdline_max = 10\n", "schedd.conf:2: cmdline_max: expected characters between 64 and 4096"),
        ("[schedd]\nworkload_slice = ../x\n", "schedd.conf:2: workload_slice: expected a slice unit name"),
        ("[schedd]\ncpu_dma_latency = soon\n", "schedd.conf:2: cpu_dma_latency: expected off or microseconds"),
        ("[schedd]\nfrobnicate = 1\n", "schedd.conf:2: unknown key \"frobnicate\" in [schedd]"),
        ("[knobs]\nkernel.frob = 1\n", "schedd.conf:2: [knobs]: unknown knob \"kernel.frob\""),
        ("[knobs]\nvm.stat_interval = 1 2\n", "schedd.conf:2: vm.stat_interval: expected leave or one value"),
        ("[cpu]\nx = 1\n", "schedd.conf:2: unknown section [cpu]"),
        ("[schedd\n", "schedd.conf:1: "),
    ]
    for text, want in cases:
        write(conf, text)
        p = ctl("isolate", "apply", "--root", ws)
        check(p.returncode == 1 and want in p.stderr and "nothing applied" in p.stderr and files(ws) == before,
              "bad config %r: %s, nothing applied" % (text.splitlines()[-1], want), p.stderr)
    write(conf, CONF)
    write(site, "\n[schedd]\nrcu_nocbs = perhaps\n")
    p = ctl("isolate", "plan", "--root", ws)
    check(p.returncode == 1 and "schedd.conf.d/50-site.conf:3: rcu_nocbs: expected yes or no" in p.stderr,
          "drop-in error names the drop-in and line", p.stderr)
    os.remove(site)
    # a user's process that calls itself tuned is not TuneD: no reason to stand down
    write(os.path.join(ws, "etc/tuned/active_profile"), "cpu-partitioning\n")
    fake_tuned(ws, uid=1000)
    p = ctl("isolate", "apply", "--root", ws)
    check(p.returncode == 0 and "tuned runs" not in p.stderr, "a non-root process named tuned is not TuneD: applied",
          p.stderr)
    ctl("isolate", "revert", "--root", ws)
    # TuneD with a CPU partitioning profile: stand down unless told to take over
    fake_tuned(ws)
    with_tuned = files(ws)
    p = ctl("isolate", "apply", "--root", ws)
    check(p.returncode == 1 and "tuned runs the CPU partitioning profile" in p.stderr and files(ws) == with_tuned,
          "TuneD cpu-partitioning active: apply stands down, nothing applied", p.stderr)
    write(site, "[schedd]\ntake_over_tuned = yes\n")
    p = ctl("isolate", "apply", "--root", ws)
    check(p.returncode == 0, "take_over_tuned = yes: applied", p.stderr)
    ctl("isolate", "revert", "--root", ws)
    os.remove(site)
    shutil.rmtree(os.path.join(ws, "proc/900"))
    # a failing write of the grub.d snippet (a new file): rolled back with the rest
    p = ctl("isolate", "apply", "--root", ws, env={"ASIOS_FAULT_INJECT": "/etc/systemd/system.conf.d/"
                                                   "60-asios-isolation.conf=EROFS"})
    check(p.returncode == 1 and "rolled back" in p.stderr and files(ws) == before,
          "a refused drop-in write rolls back the grub.d snippet written before it", p.stderr)


def live_tests(tmp):
    """A real, safe run on this machine: the runtime part only (no grub.d snippet, no drop-in under /etc),
    the last CPU isolated for a moment, then everything reverted and compared."""
    online = expand(open("/sys/devices/system/cpu/online").read())
    if len(online) < 2:
        skip("this machine: isolate apply and revert", "this machine has one CPU")
        return
    if not need_root("this machine: isolate apply and revert"):
        return
    conf = os.path.join(tmp, "live.conf")
    write(conf, "[schedd]\nisolate = %d\nprofile = latency\nboot = no\nsystem_affinity = no\n" % online[-1])
    args = ["--config", conf, "--config-dir", os.path.join(tmp, "none")]
    watched = ["/sys/devices/virtual/workqueue/cpumask", "/sys/bus/workqueue/devices/writeback/cpumask",
               "/proc/irq/default_smp_affinity", "/proc/sys/kernel/watchdog_cpumask",
               "/proc/sys/kernel/sched_rt_runtime_us", "/proc/sys/kernel/sched_autogroup_enabled",
               "/proc/sys/vm/stat_interval", "/proc/sys/kernel/nmi_watchdog", "/proc/sys/kernel/timer_migration"]

    def state():
        return {f: open(f).read() for f in watched if os.path.exists(f)}

    before = state()
    p = ctl("isolate", "plan", "--json", *args)
    check(p.returncode == 0, "this machine: plan", p.stderr)
    pl = json.loads(p.stdout)
    check(not [a for a in pl["actions"] if a["kind"] == "file"], "this machine: boot = no, system_affinity = no: "
          "no file under /etc", pl["actions"])
    kthreads = {a["pid"]: a["from"] for a in pl["actions"] if a["kind"] == "affinity"}
    p = ctl("isolate", "apply", *args)
    check(p.returncode == 0, "this machine: apply (%d actions)" % len(pl["actions"]), p.stdout + p.stderr)
    wq = open("/sys/devices/virtual/workqueue/cpumask").read().strip()
    check(online[-1] not in [i for i in range(64) if int(wq.replace(",", ""), 16) >> i & 1],
          "this machine: workqueues off CPU %d (mask %s)" % (online[-1], wq))
    p2 = ctl("isolate", "plan", "--json", *args)
    again = json.loads(p2.stdout) if p2.returncode == 0 else None
    check(again is not None and [a for a in again["actions"] if a["kind"] != "affinity"] == [],
          "this machine: re-plan after apply is empty (kernel threads started since aside)", again and again["actions"])
    p = ctl("isolate", "revert")
    check(p.returncode == 0 and state() == before, "this machine: revert restores every value",
          p.stderr + str({k: (before[k], v) for k, v in state().items() if before.get(k) != v}))
    back = {}
    for pid, cpus in kthreads.items():
        try:
            st = open("/proc/%d/status" % pid).read()
        except OSError:
            continue
        back[pid] = re.search(r"Cpus_allowed_list:\s*(\S+)", st).group(1) == cpulist(cpus)
    check(all(back.values()), "this machine: kernel threads back on their CPUs", back)


def capture_equals(name, root, tmp):
    """A capture (`asiosctl snapshot --root`) of a machine with kernel threads and isolate = auto plans as the
    machine does: it holds the policy, the kernel threads' stat and status, the masks and knobs."""
    cap, p = capture(root, tmp, name)
    rc, pl, err = plan(root)
    rc2, there, err2 = plan(cap)
    threads = [a for a in pl["actions"] if a["kind"] == "affinity"]
    check(p.returncode == 0 and rc == rc2 == 0 and pl == there and threads,
          "%s: the isolation plan on a capture equals the plan on the machine (%d actions, %d kernel threads)"
          % (name, len(pl["actions"]), len(threads)),
          p.stderr + err + err2 + "\nmachine: %s\ncapture: %s" % (json.dumps(pl)[:1500], json.dumps(there)[:1500]))


def main():
    if not need(ASIOSCTL):
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        roots = extract(tmp)
        for name, root in sorted(roots.items()):
            t = topo(root)
            sched_tree(root, t)
            write(os.path.join(root, "etc/asios/schedd.conf"), CONF)
            rc, pl, err = plan(root)
            check(rc == 0, "%s: plan" % name, err)
            if rc != 0:
                continue
            golden(name + ".isolate-plan.json", json.dumps(pl, indent=2, sort_keys=True) + "\n")
            invariants(name, root, t, pl)
            if name == "ai-2s8g":
                capture_equals(name, root, tmp)
            apply_tests(name, root, pl)
        policy_tests(roots)
        live_tests(tmp)
    return done()


if __name__ == "__main__":
    sys.exit(main())
