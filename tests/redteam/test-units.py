#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""The daemons as their own systemd units run them: with the capability bounding set of packages/NAME/NAME.service
(tests/unitcaps.py, through setpriv). For each daemon: its first apply --once on a fixture is not rolled back;
on this machine asios-numad's AutoNUMA write and asios-irqd's placement are not rolled back either (the value in
force is put back after); every kind of write the plans hold is possible with the unit's capabilities (probed on
this machine by writing back the value in force, and by setting the CPU affinity of a root process holding every
capability, as kernel threads and root workloads do); the eBPF observer loads with asios-schedd's capabilities
under a small locked-memory limit; asios-pcie@.service's capabilities read this machine's NICs' PCI Express
registers, asios-irqd's do not (the test fails with the pcie unit given irqd's bounding set); a process merely named irqbalance or numad does not make them stand down, a
root one running that program does; --once exits 1 when the apply is rolled back or the machine cannot be read.
TAP."""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import ASIOSCTL, BUILD, FIXTURES, add_proc, check, done, need, need_root, read, sched_tree, skip, topo, \
    untar, write  # noqa: E402
import unitcaps  # noqa: E402

DAEMONS = ("asios-irqd", "asios-numad", "asios-schedd")
VERB = {"asios-irqd": "irq", "asios-numad": "numa", "asios-schedd": "isolate"}
PEER = {"asios-irqd": "irqbalance", "asios-numad": "numad"}
CONF = {
    "asios-irqd": "[irqd]\n",
    # the default autonuma = auto: the placed workload has no wish, so AutoNUMA (on in the fixture) goes off
    "asios-numad": "[numad]\nautonuma = auto\n",
    "asios-schedd": "[schedd]\nisolate = 4-7,20-23\nprofile = latency\n",
}
# the start line: (changes made, changes refused)
START = {
    "asios-irqd": r"start: \d+ IRQs, (\d+) moved, (\d+) refused",
    "asios-numad": r"start: \d+ workloads, (\d+) changes applied, (\d+) skipped",
    "asios-schedd": r"start: profile \S+, isolated CPUs \S+, (\d+) changed, (\d+) refused",
}
NUMA_BALANCING = "/proc/sys/kernel/numa_balancing"


def prog(daemon):
    return os.path.join(BUILD, daemon)


def machine(tmp, daemon, name):
    """a fixture machine set up for DAEMON to have work, and its configuration file"""
    folder = os.path.join(tmp, name)
    untar(os.path.join(FIXTURES, "ws-2g-iso.tar.gz"), folder)
    root = os.path.join(folder, "ws-2g-iso")
    unitcaps.kernel_modes(root)
    if daemon == "asios-numad":
        add_proc(root, 1000, "python3", "python3 train.py", ["/dev/nvidia0"], range(32), [0], {0: 100})
        write(os.path.join(root, NUMA_BALANCING.lstrip("/")), "1\n")
    if daemon == "asios-schedd":
        sched_tree(root, topo(root))
        # scheduler statistics on (schedstats=enable): every profile turns them off, a write needing CAP_SYS_ADMIN
        write(os.path.join(root, "proc/sys/kernel/sched_schedstats"), "1\n")
        write(os.path.join(root, "dev/cpu_dma_latency"), "")
    conf = os.path.join(folder, "daemon.conf")
    write(conf, CONF[daemon])
    return root, conf


_empty = []


def empty_conf():
    """an empty configuration file (all defaults); a named one that is missing is an error"""
    if not _empty:
        fd, path = tempfile.mkstemp(suffix=".conf")
        os.close(fd)
        os.chmod(path, 0o644)
        _empty.append(path)
    return _empty[0]


def run(daemon, args, env=None, caps=True):
    """DAEMON with ARGS under its unit's capabilities (CAPS) and the default drop-in folder kept out"""
    argv = [prog(daemon)] + list(args) + ["--config-dir", "/nonexistent/asios-test.d"]
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(unitcaps.command(daemon, argv) if caps else argv, capture_output=True, text=True, env=e)


def plan(daemon, root, conf):
    """asiosctl's plan of DAEMON's kind for ROOT with CONF, as JSON on stdout"""
    return subprocess.run([ASIOSCTL, VERB[daemon], "plan", "--json", "--root", root, "--config", conf],
                          capture_output=True, text=True)


def counts(daemon, text):
    m = re.search(START[daemon], text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def fixture_once(tmp, daemon):
    """--once on a fixture under the unit's capabilities: applied, nothing refused, nothing rolled back"""
    root, conf = machine(tmp, daemon, "once-" + daemon)
    p = run(daemon, ["--root", root, "--config", conf, "--once"])
    c = counts(daemon, p.stderr)
    check(p.returncode == 0 and c and c[0] > 0 and c[1] == 0 and "rolled back" not in p.stderr,
          "%s --once on a fixture under its unit's capabilities: first apply made, not rolled back" % daemon,
          " ".join(unitcaps.prefix(daemon)) + "\n" + p.stderr)
    if daemon == "asios-numad":
        check(read(os.path.join(root, NUMA_BALANCING.lstrip("/"))) == "0",
              "asios-numad, autonuma = auto: AutoNUMA switched off for the placed workload", p.stderr)


def exit_codes(tmp, daemon):
    """--once: 1 after a rolled-back apply, 1 when the machine cannot be read"""
    root, conf = machine(tmp, daemon, "fail-" + daemon)
    q = plan(daemon, root, conf)
    paths = [a["path"] for a in json.loads(q.stdout)["actions"] if a.get("kind") not in ("affinity", "migrate")
             and a.get("path")] if q.returncode == 0 else []
    if daemon == "asios-numad":
        paths = [NUMA_BALANCING]
    if not paths:
        check(False, "%s: a plan with a file write to fail" % daemon, q.stdout + q.stderr)
        return
    p = run(daemon, ["--root", root, "--config", conf, "--once"], env={"ASIOS_FAULT_INJECT": paths[-1] + "=EINVAL"})
    check(p.returncode == 1 and "rolled back" in p.stderr,
          "%s --once: exit 1 after a failed, rolled-back apply" % daemon, "exit %d\n%s" % (p.returncode, p.stderr))
    # a machine hwloc cannot read: no CPU folders (the folders the daemons look for first are still there)
    for cpu in os.listdir(os.path.join(root, "sys/devices/system/cpu")):
        if re.fullmatch(r"cpu\d+", cpu):
            shutil.rmtree(os.path.join(root, "sys/devices/system/cpu", cpu))
    p = run(daemon, ["--root", root, "--config", conf, "--once"])
    check(p.returncode == 1 and "cannot read the machine" in p.stderr,
          "%s --once: exit 1 when the machine cannot be read" % daemon, "exit %d\n%s" % (p.returncode, p.stderr))


def peers_fixture(tmp, daemon):
    """uid and executable, not the name: impostors are ignored, the real program (also after an upgrade) is not"""
    name = PEER[daemon]
    root, conf = machine(tmp, daemon, "peer-" + daemon)
    cases = [
        ("an unprivileged process running %s" % name, 1000, "/usr/sbin/" + name, False),
        ("a root process named %s running python3" % name, 0, "/usr/bin/python3", False),
        ("a root process running /usr/sbin/%s" % name, 0, "/usr/sbin/" + name, True),
        ("a root process running a replaced /usr/sbin/%s" % name, 0, "/usr/sbin/%s (deleted)" % name, True),
    ]
    for i, (what, uid, exe, peer) in enumerate(cases):
        pid = 4242 + i
        add_proc(root, pid, name, name, [], range(32), [0], {0: 1}, uid=uid, exe=exe)
        p = run(daemon, ["--root", root, "--config", conf, "--once", "--dry-run"])
        shutil.rmtree(os.path.join(root, "proc", str(pid)))
        said = "%s is running (pid %d)" % (name, pid) in p.stderr
        if peer:
            check(p.returncode == 1 and said, "%s stands down beside %s" % (daemon, what), p.stderr)
        else:
            check(p.returncode == 0 and not said, "%s runs beside %s" % (daemon, what), p.stderr)


def peers_live(tmp, daemon):
    """the same on this machine: a copy of sleep called NAME, run by nobody, then by root"""
    name = PEER[daemon]
    if not need_root("this machine: %s beside processes named %s" % (daemon, name)):
        return
    folder = os.path.join(tmp, "peer-bin")
    os.makedirs(folder, exist_ok=True)
    os.chmod(tmp, 0o755)
    os.chmod(folder, 0o755)
    exe = os.path.join(folder, name)
    shutil.copy(shutil.which("sleep"), exe)
    os.chmod(exe, 0o755)
    for who, pre, peer in [("nobody", ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"], False),
                           ("root", [], True)]:
        proc = subprocess.Popen(pre + [exe, "600"])
        try:
            p = run(daemon, ["--once", "--dry-run", "--config", empty_conf()])
            said = "%s is running (pid %d)" % (name, proc.pid) in p.stderr
            if peer:
                check(p.returncode == 1 and said, "this machine: %s stands down beside %s run by root" % (daemon, name),
                      p.stderr)
            else:
                check(p.returncode == 0 and not said,
                      "this machine: %s runs beside a process called %s run by %s" % (daemon, name, who), p.stderr)
        finally:
            proc.kill()
            proc.wait()


PROBE = r"""
import ctypes, json, os, sys
req, out = json.loads(sys.argv[1]), {}
for path in req["files"]:
    try:
        with open(path) as f:
            value = f.read()
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, value.encode())
        finally:
            os.close(fd)
        out[path] = 0
    except OSError as e:
        out[path] = e.errno
if "affinity" in req["kinds"]:
    try:
        os.sched_setaffinity(req["pid"], os.sched_getaffinity(req["pid"]))
        out["affinity"] = 0
    except OSError as e:
        out["affinity"] = e.errno
if "migrate" in req["kinds"] and req["migrate_nr"]:
    libc = ctypes.CDLL(None, use_errno=True)
    mask = ctypes.c_ulong(1)
    r = libc.syscall(req["migrate_nr"], req["pid"], 64, ctypes.byref(mask), ctypes.byref(mask))
    out["migrate"] = ctypes.get_errno() if r < 0 else 0
print(json.dumps(out))
"""


def probe(daemon, req, caps):
    argv = [sys.executable, "-c", PROBE, json.dumps(req)]
    p = subprocess.run(unitcaps.command(daemon, argv) if caps else argv, capture_output=True, text=True)
    return json.loads(p.stdout) if p.returncode == 0 else {"probe": p.stderr}


def capabilities_cover_plans(tmp, daemon):
    """every kind of write in DAEMON's plans, tried on this machine as root and under the unit's capabilities"""
    name = "%s: its unit's capabilities allow every kind of write its plans hold" % daemon
    if not need_root("this machine: " + name):
        return
    root, conf = machine(tmp, daemon, "caps-" + daemon)
    q = plan(daemon, root, conf)
    if q.returncode != 0:
        check(False, name, q.stderr)
        return
    actions = json.loads(q.stdout)["actions"]
    kinds = sorted({a["kind"] for a in actions if a.get("kind") in ("affinity", "migrate")})
    files = sorted({a["path"] for a in actions if a.get("kind") not in ("affinity", "migrate") and a.get("path", "")
                    .startswith(("/proc/", "/sys/"))})
    live = [f for f in files if os.path.isfile(f)]
    # the fixture's IRQ numbers are not this machine's: the same file of a few IRQs here stands in
    for kind in sorted({m.group(1) for m in (re.fullmatch(r"/proc/irq/\d+/(\w+)", f) for f in files) if m}):
        live += sorted(glob.glob("/proc/irq/*/" + kind))[:4]
    # a root process holding every capability: what kernel threads and root workloads are
    target = subprocess.Popen(["sleep", "600"])
    try:
        req = {"files": live, "kinds": kinds, "pid": target.pid,
               "migrate_nr": {"x86_64": 256, "aarch64": 238}.get(os.uname().machine)}
        as_root, as_unit = probe(daemon, req, False), probe(daemon, req, True)
    finally:
        target.kill()
        target.wait()
    tried = [k for k in as_root if as_root[k] == 0]
    gaps = ["%s: %s" % (k, os.strerror(as_unit.get(k, 0)) if isinstance(as_unit.get(k), int) else as_unit)
            for k in tried if as_unit.get(k) != 0]
    detail = "bounding set %s\nplanned kinds %s, files %s\nnot on this machine: %s\nrefused under the unit:\n%s" % (
        sorted(unitcaps.bounding_set(daemon) or []), kinds, files, sorted(set(files) - set(live)), "\n".join(gaps))
    if not tried:
        skip(name, "none of the planned writes can be tried on this machine")
        return
    check(not gaps, name + " (%d writes tried)" % len(tried), detail)


def numad_live(tmp):
    """asios-numad --once on this machine, autonuma set to the other value: written, not rolled back; restored"""
    name = "this machine: asios-numad --once under its unit writes kernel.numa_balancing, no rollback"
    if not need_root(name):
        return
    if not os.path.exists(NUMA_BALANCING):
        skip(name, "this kernel has no AutoNUMA")
        return
    before = read(NUMA_BALANCING)
    want = "0" if before != "0" else "1"
    conf = os.path.join(tmp, "live-numad.conf")
    write(conf, "[numad]\nautonuma = %s\nmigrate = no\n" % ("on" if want == "1" else "off"))
    try:
        p = run("asios-numad", ["--once", "--config", conf])
        after = read(NUMA_BALANCING)
        c = counts("asios-numad", p.stderr)
        check(p.returncode == 0 and after == want and c and c[0] >= 1 and c[1] == 0 and "rolled back" not in p.stderr,
              name, "%s -> %s (wanted %s), exit %d\n%s\n%s" % (before, after, want, p.returncode,
                                                                " ".join(unitcaps.prefix("asios-numad")), p.stderr))
        r = subprocess.run([ASIOSCTL, "numa", "revert"], capture_output=True, text=True)
        check(read(NUMA_BALANCING) == before, "this machine: asiosctl numa revert restores kernel.numa_balancing",
              r.stdout + r.stderr)
    finally:
        if read(NUMA_BALANCING) != before:
            write(NUMA_BALANCING, before + "\n")


def irqd_live(tmp):
    """asios-irqd --once on this machine under its unit: not rolled back; asiosctl irq revert puts it back"""
    name = "this machine: asios-irqd --once under its unit, no rollback"
    if not need_root(name):
        return
    before = {f: read(f) for f in glob.glob("/proc/irq/*/smp_affinity_list")}
    try:
        p = run("asios-irqd", ["--once", "--config", empty_conf()])
        check(p.returncode == 0 and counts("asios-irqd", p.stderr) and "rolled back" not in p.stderr, name, p.stderr)
    finally:
        r = subprocess.run([ASIOSCTL, "irq", "revert"], capture_output=True, text=True)
    check({f: read(f) for f in before} == before, "this machine: asiosctl irq revert restores every affinity",
          r.stdout + r.stderr)


def pcie_unit_live():
    """asios-pcie@.service's capabilities read the PCI Express registers of this machine's NICs, asios-irqd's do
    not: the reason the read-request size has a unit of its own"""
    name = "this machine: asiosctl nic plan --only pcie reads the NICs' PCIe registers under asios-pcie@.service's " \
           "capabilities, and not under asios-irqd's"
    if not need_root(name):
        return
    plan = [ASIOSCTL, "nic", "plan", "--json", "--only", "pcie"]
    reasons = {}
    for unit in ("asios-pcie@", "asios-irqd"):
        p = subprocess.run(unitcaps.command(unit, plan), capture_output=True, text=True)
        pl = json.loads(p.stdout) if p.returncode == 0 else {"actions": [], "skipped": []}
        reasons[unit] = [s["reason"] for s in pl["skipped"] if s["object"].endswith(" pcie.read_request")] + \
            [a["reason"] for a in pl["actions"]]
    if not reasons["asios-irqd"]:
        skip(name, "no network interface of a PCI function here")
        return
    cut = "its configuration space ends at the 64-byte header"
    check(not any(cut in r for r in reasons["asios-pcie@"]) and all(cut in r for r in reasons["asios-irqd"]),
          name, json.dumps(reasons, indent=1))


def observer_live():
    """the eBPF loader of asios-schedd (shared with asiosctl sched watch) with the unit's capabilities and a
    64 KiB locked-memory limit: CAP_SYS_RESOURCE is not needed"""
    name = "this machine: the eBPF observer loads with asios-schedd's capabilities, RLIMIT_MEMLOCK 64 KiB"
    if not need_root(name):
        return
    cpu = str(sorted(os.sched_getaffinity(0))[0])
    watch = [ASIOSCTL, "sched", "watch", "--seconds", "1", "--cpus", cpu]
    base = subprocess.run(watch, capture_output=True, text=True)
    if base.returncode != 0:
        skip(name, "no eBPF here even with every capability: " + base.stderr.strip())
        return
    p = subprocess.run(["prlimit", "--memlock=65536:65536"] + unitcaps.command("asios-schedd", watch),
                       capture_output=True, text=True)
    check(p.returncode == 0 and "cpu " + cpu in p.stdout, name, p.stdout + p.stderr)


def main():
    if not all(need(prog(d)) for d in DAEMONS) or not need(ASIOSCTL):
        return 1
    for d in DAEMONS:
        caps = unitcaps.bounding_set(d)
        check(caps is not None, "%s.service sets CapabilityBoundingSet=" % d, unitcaps.unit_path(d))
    tmp = tempfile.mkdtemp()
    try:
        for d in DAEMONS:
            fixture_once(tmp, d)
        for d in DAEMONS:
            exit_codes(tmp, d)
        for d in PEER:
            peers_fixture(tmp, d)
        numad_live(tmp)
        irqd_live(tmp)
        for d in DAEMONS:
            capabilities_cover_plans(tmp, d)
        pcie_unit_live()
        observer_live()
        for d in PEER:
            peers_live(tmp, d)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        for f in _empty:
            os.unlink(f)
    return done()


if __name__ == "__main__":
    sys.exit(main())
