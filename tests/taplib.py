# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""Shared helpers of the Python tests: paths, TAP output, golden files, synthetic /proc entries. Import after
`sys.path.insert(0, <tests folder>)`."""
import difflib
import os
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


def read(path):
    """A small file's content without surrounding blanks."""
    with open(path) as f:
        return f.read().strip()


def eq(name, expected, actual):
    check(expected == actual, name, "expected %r, got %r" % (expected, actual))


def golden(name, text):
    """Compare TEXT with tests/golden/NAME; ASIOS_REGEN=1 (or a missing file) rewrites it."""
    path = os.path.join(GOLDEN, name)
    if REGEN or not os.path.exists(path):
        with open(path, "w") as f:
            f.write(text)
    want = open(path).read()
    diff = "".join(difflib.unified_diff(want.splitlines(True), text.splitlines(True), path, "actual"))
    check(not diff, "golden %s" % name, diff + "\n(ASIOS_REGEN=1 rewrites goldens)")


def need(path):
    """Bail out (TAP) when a program under test is not built."""
    if not os.access(path, os.X_OK):
        print("Bail out! %s not built" % path)
        return False
    return True


def done():
    print("1..%d" % _count["n"])
    return 1 if _count["failed"] else 0


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


def add_proc(root, pid, comm, cmdline, devices, cpus, mems, pages, cgroup="0::/\n"):
    """A process as the kernel shows it: fd links, status, stat, cmdline, cgroup, numa_maps."""
    d = os.path.join(root, "proc", str(pid))
    os.makedirs(os.path.join(d, "fd"), exist_ok=True)
    for i, dev in enumerate(["/dev/null"] + devices):
        os.symlink(dev, os.path.join(d, "fd", str(i + 3)))
    write(os.path.join(d, "comm"), comm + "\n")
    write(os.path.join(d, "cmdline"), "\0".join(cmdline.split()) + "\0")
    write(os.path.join(d, "stat"), "%d (%s) S 1 %d %d 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 %d 0 0\n"
          % (pid, comm, pid, pid, 1000 + pid))
    write(os.path.join(d, "status"), "Name:\t%s\nPid:\t%d\nCpus_allowed_list:\t%s\nMems_allowed_list:\t%s\n"
          "voluntary_ctxt_switches:\t1\n" % (comm, pid, cpulist(cpus), cpulist(mems)))
    write(os.path.join(d, "cgroup"), cgroup)
    lines = ["7f0000000000 default anon=%d dirty=%d %s kernelpagesize_kB=4" % (
        sum(pages.values()), sum(pages.values()), " ".join("N%d=%d" % (n, p) for n, p in sorted(pages.items())))]
    lines.append("7f1000000000 default file=/usr/lib/libc.so.6 mapped=10 N%d=10 kernelpagesize_kB=4" % min(pages))
    write(os.path.join(d, "numa_maps"), "\n".join(lines) + "\n")
