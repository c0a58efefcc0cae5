# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""Shared helpers of the Python tests: paths, TAP output, golden files, synthetic /proc entries. Import after
`sys.path.insert(0, <tests folder>)`."""
import difflib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("ASIOS_SHARED") or os.path.join(TOP, "..", "shared")
BUILD = os.path.join(TOP, os.environ.get("ASIOS_BUILD", "build"))
ASIOSCTL = os.path.join(BUILD, "asiosctl")
FIXTURES = os.path.join(TOP, "tests", "fixtures")
GOLDEN = os.path.join(TOP, "tests", "golden")
REGEN = os.environ.get("ASIOS_REGEN") == "1"

_count = {"n": 0, "failed": 0}


def check(ok, name, detail=""):
    """One TAP line; on failure the detail follows as comments."""
    _count["n"] += 1
    print(("ok %d - %s" if ok else "not ok %d - %s") % (_count["n"], name))
    if not ok:
        _count["failed"] += 1
        for line in str(detail).splitlines()[:60]:
            print("#   " + line)


def wait_for(pred, seconds):
    """Poll PRED every 0.1 s until it holds or SECONDS pass; its last value."""
    end = time.time() + seconds
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


def terminate(proc, seconds):
    """SIGTERM to PROC (a Popen), its exit status within SECONDS, else killed and -1"""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return -1


def read(path):
    """A small file's content without surrounding blanks."""
    with open(path) as f:
        return f.read().strip()


def eq(name, expected, actual):
    check(expected == actual, name, "expected %r, got %r" % (expected, actual))


def golden(name, text, folder=None):
    """Compare TEXT with tests/golden/NAME (or FOLDER/NAME); only ASIOS_REGEN=1 writes it. A missing golden
    file fails: a test that writes its own expectation proves nothing."""
    path = os.path.join(folder or GOLDEN, name)
    if REGEN:
        with open(path, "w") as f:
            f.write(text)
    if not os.path.exists(path):
        check(False, "golden %s" % name, "%s is missing (ASIOS_REGEN=1 writes it; review it before committing)" % path)
        return
    want = open(path).read()
    diff = "".join(difflib.unified_diff(want.splitlines(True), text.splitlines(True), path, "actual"))
    check(not diff, "golden %s" % name, diff + "\n(ASIOS_REGEN=1 rewrites goldens)")


def skip(name, reason):
    """One TAP line for a check that did not run, with its reason: counted as skipped, never as passed."""
    _count["n"] += 1
    print("ok %d - %s # SKIP %s" % (_count["n"], name, reason))


def need_root(name):
    """True as root; otherwise NAME is reported as skipped ("needs root"), the same way in every test."""
    if os.geteuid() == 0:
        return True
    skip(name, "needs root")
    return False


def need(path):
    """Bail out (TAP) when a program under test is not built."""
    if not os.access(path, os.X_OK):
        print("Bail out! %s not built" % path)
        return False
    return True


def done():
    print("1..%d" % _count["n"])
    return 1 if _count["failed"] else 0


def fake_tuned(root, pid=900, uid=0):
    """A TuneD process under ROOT as the kernel shows it: python3 running /usr/sbin/tuned, real uid UID."""
    d = os.path.join(root, "proc", str(pid))
    write(os.path.join(d, "comm"), "tuned\n")
    write(os.path.join(d, "status"), "Name:\ttuned\nUid:\t%d\t%d\t%d\t%d\n" % (uid, uid, uid, uid))
    with open(os.path.join(d, "cmdline"), "w") as f:
        f.write("/usr/bin/python3\0-Es\0/usr/sbin/tuned\0-l\0-P\0")
    if os.path.lexists(os.path.join(d, "exe")):
        os.remove(os.path.join(d, "exe"))
    os.symlink("/usr/bin/python3.11", os.path.join(d, "exe"))


def irq_placement(name, t, pl):
    """The placement invariants of an IRQ plan PL on a machine of topology T: no IRQ onto an isolated or nohz_full
    CPU; a device's IRQs on its node when that node has housekeeping CPUs."""
    excluded = set(t["isolation"]["isolated"]) | set(t["isolation"]["nohz_full"])
    bad = [a for a in pl["actions"] if set(a["to"]) & excluded]
    check(not bad, "%s: no IRQ planned onto an isolated or nohz_full CPU" % name, bad)
    node_of = {c["id"]: c["node"] for c in t["cpus"]}
    hk = set(t["isolation"]["housekeeping"])
    dev = {d["pci"]: d for d in t["devices"]}
    wrong = []
    for a in pl["actions"]:
        d = dev.get(a["device"] or "")
        if not d or d["node"] < 0:
            continue
        node_cpus = next((set(nd["cpus"]) for nd in t["nodes"] if nd["id"] == d["node"]), set())
        if node_cpus & hk and any(node_of[c] != d["node"] for c in a["to"]):
            wrong.append((a["irq"], a["device"], a["to"]))
    check(not wrong, "%s: device IRQs on the device's node" % name, wrong[:10])


# the apply engine's counters (asios/stats.h) and effect records (asios/effect.h): telemetry that an apply and a
# revert add to, not a tuned value a revert restores
TELEMETRY = (os.path.join("run", "asios", "stats"), os.path.join("run", "asios", "effect"))


def is_telemetry(rel):
    return any(rel == t or rel.startswith(t + os.sep) for t in TELEMETRY)


def only_counters(root, rel):
    """Whether REL is a folder on the way to TELEMETRY (run, run/asios) that holds nothing else."""
    if rel not in (os.path.join("run"), os.path.join("run", "asios")):
        return False
    left = [x for x in os.listdir(os.path.join(root, rel)) if not is_telemetry(os.path.join(rel, x))]
    return not left or (rel == "run" and left == ["asios"] and only_counters(root, os.path.join("run", "asios")))


def export_files(text):
    """the files of `asiosctl export`'s plain output: {name: content}, split on its "==> NAME <==" lines (a
    blank line separates two files: it belongs to neither)"""
    out, name = {}, None
    for line in text.splitlines(True):
        m = re.match(r"^==> (\S+) <==\n$", line)
        if m:
            name = m.group(1)
            out[name] = ""
        elif name:
            out[name] += line
    return {k: (v[:-1] if v.endswith("\n\n") else v) for k, v in out.items()}


def untar(tarball, dest):
    """TARBALL (any compression) unpacked into DEST (made when missing) by GNU tar, which, unlike Python's
    tarfile, takes a fraction of a second for a machine's tree of ten thousand files. Members keep their modes but
    not their owners; tar refuses absolute names and names that climb out of DEST. Raises on a broken archive."""
    os.makedirs(dest, exist_ok=True)
    p = subprocess.run(["tar", "-x", "--no-same-owner", "-f", tarball, "-C", dest], capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError("tar -x %s: %s" % (tarball, p.stderr.strip()))


def unpack_root(tmp, tarball, label):
    """TARBALL, a capture of one machine, unpacked at TMP/LABEL; the machine's root (the archive's one folder)"""
    d = os.path.join(tmp, label)
    untar(tarball, d)
    return os.path.join(d, os.listdir(d)[0])


def fixture_tree(tmp, name):
    """tests/fixtures/NAME.tar.gz unpacked once under TMP; the machine's root"""
    d = os.path.join(tmp, "x-" + name)
    if not os.path.isdir(d):
        untar(os.path.join(FIXTURES, name + ".tar.gz"), d)
    return os.path.join(d, name)


def fixture_copy(tmp, name, label):
    """a writable copy of fixture NAME at TMP/LABEL (an apply changes it; the unpacked tree stays as it was)"""
    work = os.path.join(tmp, label)
    shutil.copytree(fixture_tree(tmp, name), work, symlinks=True)
    return work


def tree_digest(root):
    """Every file, folder and link under ROOT with its content (a digest): what diff -r compares. The apply
    counters and effect records (TELEMETRY) and the folders that hold only them are left out."""
    out = {}
    for d, dirs, files in os.walk(root):
        rel = os.path.relpath(d, root)
        if is_telemetry(rel):
            continue
        if not only_counters(root, rel):
            out[rel + "/"] = "dir"
        for f in files + [x for x in dirs if os.path.islink(os.path.join(d, x))]:
            p = os.path.join(d, f)
            out[os.path.relpath(p, root)] = "-> " + os.readlink(p) if os.path.islink(p) else \
                hashlib.sha256(open(p, "rb").read()).hexdigest()
    return out


def tree_differs(a, b):
    """The paths whose entry differs between two tree_digest() results."""
    return [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def cpulist(ids):
    ids = sorted(ids)
    out, i = [], 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        out.append(str(ids[i]) if i == j else "%d-%d" % (ids[i], ids[j]))
        i = j + 1
    return ",".join(out)


def add_proc(root, pid, comm, cmdline, devices, cpus, mems, pages, cgroup="0::/\n", uid=None, exe=None):
    """A process as the kernel shows it: fd links, status, stat, cmdline, cgroup, numa_maps; with UID, a Uid:
    line in status (real, effective, saved, filesystem), with EXE, the exe link to that program."""
    d = os.path.join(root, "proc", str(pid))
    os.makedirs(os.path.join(d, "fd"), exist_ok=True)
    for i, dev in enumerate(["/dev/null"] + devices):
        os.symlink(dev, os.path.join(d, "fd", str(i + 3)))
    write(os.path.join(d, "comm"), comm + "\n")
    write(os.path.join(d, "cmdline"), "\0".join(cmdline.split()) + "\0")
    write(os.path.join(d, "stat"), "%d (%s) S 1 %d %d 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 %d 0 0\n"
          % (pid, comm, pid, pid, 1000 + pid))
    write(os.path.join(d, "status"), "Name:\t%s\nPid:\t%d\n%sCpus_allowed_list:\t%s\nMems_allowed_list:\t%s\n"
          "voluntary_ctxt_switches:\t1\n" % (comm, pid, "" if uid is None else "Uid:\t%d\t%d\t%d\t%d\n" % ((uid,) * 4),
                                             cpulist(cpus), cpulist(mems)))
    if exe:
        os.symlink(exe, os.path.join(d, "exe"))
    write(os.path.join(d, "cgroup"), cgroup)
    lines = ["7f0000000000 default anon=%d dirty=%d %s kernelpagesize_kB=4" % (
        sum(pages.values()), sum(pages.values()), " ".join("N%d=%d" % (n, p) for n, p in sorted(pages.items())))]
    lines.append("7f1000000000 default file=/usr/lib/libc.so.6 mapped=10 N%d=10 kernelpagesize_kB=4" % min(pages))
    write(os.path.join(d, "numa_maps"), "\n".join(lines) + "\n")


PF_KTHREAD, PF_NO_SETAFFINITY = 0x00200000, 0x04000000


def cpumask(ids, nbits):
    """A mask as the kernel prints it: 32-bit groups, the first only as wide as its bits."""
    v = sum(1 << i for i in ids)
    groups, first = [], nbits % 32 or 32
    for base in range(((nbits + 31) // 32 - 1) * 32, -1, -32):
        width = (first if base == ((nbits + 31) // 32 - 1) * 32 else 32)
        groups.append("%0*x" % ((width + 3) // 4, (v >> base) & ((1 << width) - 1)))
    return ",".join(groups)


def kthread(root, pid, comm, flags, cpus):
    d = os.path.join(root, "proc", str(pid))
    write(os.path.join(d, "comm"), comm + "\n")
    write(os.path.join(d, "stat"), "%d (%s) S 2 0 0 0 -1 %d 0 0 0 0 0 0 0 0 20 0 1 0 %d 0 0\n"
          % (pid, comm, flags, 100 + pid))
    write(os.path.join(d, "status"), "Name:\t%s\nPid:\t%d\nCpus_allowed_list:\t%s\n" % (comm, pid, cpulist(cpus)))


def slice_dir(root):
    """ROOT's workload.slice folder in its cgroup2 mount, None without one."""
    path = os.path.join(root, "proc/mounts")
    m = re.search(r"^\S+ (\S+) cgroup2 ", open(path).read() if os.path.exists(path) else "", re.M)
    return os.path.join(root, m.group(1).lstrip("/"), "workload.slice") if m else None


def sched_tree(root, t):
    """The files asios-schedd plans with, under ROOT (T: its topology JSON), as on a machine with nothing tuned
    yet: workqueue, IRQ and watchdog masks, scheduler knobs, kernel threads (unbound, per-CPU, an IRQ thread),
    a user process and, where cgroup v2 is mounted, an empty workload.slice."""
    online = [c["id"] for c in t["cpus"] if c["online"]]
    nbits = max(t["possible"]) + 1
    every = cpumask(t["possible"], nbits)
    write(os.path.join(root, "sys/devices/virtual/workqueue/cpumask"), every + "\n")
    write(os.path.join(root, "sys/bus/workqueue/devices/writeback/cpumask"), every + "\n")
    write(os.path.join(root, "proc/irq/default_smp_affinity"), every + "\n")
    write(os.path.join(root, "proc/sys/kernel/watchdog_cpumask"), cpulist(online) + "\n")
    for f, v in [("kernel/sched_autogroup_enabled", "1"), ("kernel/sched_rt_runtime_us", "950000"),
                 ("kernel/timer_migration", "0"), ("vm/stat_interval", "1"), ("kernel/nmi_watchdog", "1"),
                 ("kernel/sched_schedstats", "0")]:
        write(os.path.join(root, "proc/sys", f), v + "\n")
    write(os.path.join(root, "sys/kernel/debug/sched/migration_cost_ns"), "500000\n")
    os.makedirs(os.path.join(root, "etc/default/grub.d"), exist_ok=True)
    node0 = next((n["cpus"] for n in t["nodes"] if n["cpus"]), online)
    kthread(root, 2, "kthreadd", PF_KTHREAD | 0x8040, online)
    kthread(root, 45, "kswapd0", PF_KTHREAD | 0x20840, [c for c in node0 if c in online] or online)
    kthread(root, 46, "ksoftirqd/%d" % online[-1], PF_KTHREAD | PF_NO_SETAFFINITY | 0x8040, [online[-1]])
    kthread(root, 47, "irq/130-nvme0q1", PF_KTHREAD | 0x8040, [online[-1]])
    # a user process: never touched
    d = os.path.join(root, "proc", "1000")
    write(os.path.join(d, "stat"), "1000 (python3) S 1 1000 1000 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 2000 0 0\n")
    write(os.path.join(d, "status"), "Name:\tpython3\nPid:\t1000\nCpus_allowed_list:\t%s\n" % cpulist(online))
    # the workload slice where cgroup v2 is mounted
    s = slice_dir(root)
    if s:
        write(os.path.join(s, "cgroup.controllers"), "cpuset cpu io memory pids\n")
        write(os.path.join(s, "cpuset.cpus"), "\n")
        write(os.path.join(s, "cpuset.cpus.partition"), "member\n")


def capture(root, tmp, name):
    """`asiosctl snapshot --root ROOT` unpacked under TMP: (the capture's root, the snapshot's process)."""
    out = os.path.join(tmp, "cap-%s.tar.gz" % name)
    p = ctl("snapshot", "-o", out, "--root", root)
    cap = os.path.join(tmp, "cap-" + name)
    if p.returncode == 0:
        untar(out, cap)
    return os.path.join(cap, "cap-" + name), p


def ctl(*args, env=None):
    """Run asiosctl with ARGS (ENV added to the environment); the CompletedProcess."""
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([ASIOSCTL] + list(args), capture_output=True, text=True, env=e)


def plan_json(verb, root, *extra):
    """`asiosctl VERB plan --json --root ROOT EXTRA`: (exit code, parsed plan or None, stderr)."""
    p = ctl(verb, "plan", "--json", "--root", root, *extra)
    return p.returncode, (json.loads(p.stdout) if p.returncode == 0 else None), p.stderr


def topo(root):
    """`asiosctl topology --json` of ROOT, parsed."""
    return json.loads(ctl("topology", "--json", "--root", root).stdout)
