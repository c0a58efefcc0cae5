#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""Red team of the machine-reading layer: fixture machines with one malformed /proc or /sys input each (truncated,
huge, negative, non-numeric, binary, empty, missing, looping or escaping links, oversized files), run through the
four read-only verbs that observe and plan. Each run must end (no hang), exit 0 or 1, leave no sanitizer report,
name the bad file or object where it warns, and read nothing outside the root. Then the capture-root checks: a
configuration link leading outside the root, and mkdir through links and "..".
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import taplib  # noqa: E402
from taplib import check, untar  # noqa: E402

COMMANDS = [["topology", "--json"], ["irq", "plan"], ["numa", "plan"], ["isolate", "plan"]]
TIMEOUT = 60
SANITIZER = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:", "SUMMARY: UndefinedBehavior")
ONLY = sys.argv[1] if len(sys.argv) > 1 else ""  # run only the inputs whose name holds this
counts = {"inputs": 0, "runs": 0, "crashes": 0, "bad": 0}


PRISTINE = {}
# on the second fixture, the inputs whose handling depends on the machine (IRQs, devices, nodes)
SECOND = ("truncated /proc/interrupts", "IRQ 10^8", "negative counts", "non-numeric counts", "binary /proc/interrupts",
          "garbage cpu/online", "numa_node -5", "numa_node 99999", "local_cpulist garbage", "class +0x30000",
          "vanished /proc/irq/N", "/proc/irq/N links outside", "pci devices links outside", "node distance garbage")


def unpack(name, dest):
    """A private copy of fixture NAME under DEST: hard links to one unpacked tree (every mutation replaces a file
    rather than writing into it, so the pristine tree stays as it was)."""
    if name not in PRISTINE:
        base = tempfile.mkdtemp(dir=os.path.dirname(dest))
        untar(os.path.join(taplib.FIXTURES, name + ".tar.gz"), base)
        PRISTINE[name] = os.path.join(base, name)
    subprocess.run(["cp", "-al", PRISTINE[name], os.path.join(dest, name)], check=True)
    return os.path.join(dest, name)


def put(root, rel, data, mode="w"):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    if os.path.islink(p) or os.path.isfile(p):
        os.unlink(p)
    elif os.path.isdir(p):
        shutil.rmtree(p)
    with open(p, mode) as f:
        f.write(data)


def big(root, rel):
    """A 100 MB file (sparse: NUL bytes, no newline) where a short one belongs."""
    put(root, rel, "")
    os.truncate(os.path.join(root, rel), 100 << 20)


def remove(root, rel):
    p = os.path.join(root, rel)
    if os.path.isdir(p) and not os.path.islink(p):
        shutil.rmtree(p)
    elif os.path.lexists(p):
        os.unlink(p)


def link(root, rel, target):
    remove(root, rel)
    os.symlink(target, os.path.join(root, rel))


def pci_dir(root, addr):
    return os.path.relpath(os.path.realpath(os.path.join(root, "sys/bus/pci/devices", addr)), root)


def first_gpu(root):
    for a in sorted(os.listdir(os.path.join(root, "sys/bus/pci/devices"))):
        cls = open(os.path.join(root, "sys/bus/pci/devices", a, "class")).read().strip()
        if cls.startswith("0x03") or cls.startswith("0x0302"):
            return a
    return sorted(os.listdir(os.path.join(root, "sys/bus/pci/devices")))[0]


def first_irq(root):
    return sorted(int(d) for d in os.listdir(os.path.join(root, "proc/irq")) if d.isdigit() and d != "0")[0]


def interrupts(root):
    return open(os.path.join(root, "proc/interrupts")).read()


def ncols(root):
    return len(interrupts(root).splitlines()[0].split())


def overlapping_caches(root):
    """Two L2 caches that intersect without one holding the other: hwloc prints its error banner."""
    for cpus, lst, mask in (((0, 16, 1, 17), "0-1,16-17", "00030003"), ((1, 17, 2, 18), "1-2,17-18", "00060006")):
        for c in cpus:
            d = "sys/devices/system/cpu/cpu%d/cache/index2/" % c
            put(root, d + "shared_cpu_list", lst + "\n")
            put(root, d + "shared_cpu_map", mask + "\n")


def cases(outside):
    """(name, mutate(root), substring the warnings or errors must name or None)"""
    g = lambda r: pci_dir(r, first_gpu(r))  # noqa: E731
    irq = lambda r: first_irq(r)  # noqa: E731
    row = lambda r, n, cells: "%d: %s IR-PCI-MSI 1-edge x\n" % (n, " ".join(cells(ncols(r))))  # noqa: E731
    cpu = "sys/devices/system/cpu"
    return [
        ("truncated /proc/interrupts", lambda r: put(r, "proc/interrupts", interrupts(r)[:2000]), "/proc/interrupts:"),
        ("/proc/interrupts cut in the header", lambda r: put(r, "proc/interrupts", interrupts(r)[:20]), "/proc/interrupts"),
        ("IRQ 10^8", lambda r: put(r, "proc/interrupts", interrupts(r) + row(r, 10 ** 8, lambda n: ["1"] * n)),
         "/proc/interrupts:"),
        ("IRQ 2^31", lambda r: put(r, "proc/interrupts", interrupts(r) + row(r, 2 ** 31, lambda n: ["1"] * n)),
         "/proc/interrupts:"),
        ("IRQ 10^30", lambda r: put(r, "proc/interrupts", interrupts(r) + row(r, 10 ** 30, lambda n: ["1"] * n)),
         "/proc/interrupts:"),
        ("negative counts", lambda r: put(r, "proc/interrupts", interrupts(r) + row(r, 999, lambda n: ["-5"] * n)),
         "/proc/interrupts:"),
        ("count 2^64", lambda r: put(r, "proc/interrupts", interrupts(r) + row(r, 998, lambda n: [str(2 ** 64)] * n)),
         "/proc/interrupts:"),
        ("counts that overflow the total", lambda r: put(r, "proc/interrupts", interrupts(r) + row(
            r, 997, lambda n: [str(2 ** 64 - 1)] * n)), None),
        ("non-numeric counts", lambda r: put(r, "proc/interrupts", interrupts(r) + row(r, 996, lambda n: ["x"] * n)),
         "/proc/interrupts:"),
        ("negative IRQ", lambda r: put(r, "proc/interrupts", interrupts(r) + row(r, -3, lambda n: ["1"] * n)), None),
        ("binary /proc/interrupts", lambda r: put(r, "proc/interrupts", bytes(range(256)) * 64, "wb"),
         "/proc/interrupts"),
        ("empty /proc/interrupts", lambda r: put(r, "proc/interrupts", ""), "/proc/interrupts"),
        ("missing /proc/interrupts", lambda r: remove(r, "proc/interrupts"), "/proc/interrupts"),
        ("header of 70000 CPUs", lambda r: put(r, "proc/interrupts", " ".join(
            "CPU%d" % i for i in range(70000)) + "\n"), "/proc/interrupts:1"),
        ("header of 20000 CPU columns", lambda r: put(r, "proc/interrupts", " ".join(
            "CPU%d" % i for i in range(20000)) + "\n 5: 1\n"), "/proc/interrupts:"),
        ("100 MB /proc/interrupts", lambda r: big(r, "proc/interrupts"), "/proc/interrupts"),
        ("/proc/interrupts is a folder", lambda r: (remove(r, "proc/interrupts"), os.mkdir(
            os.path.join(r, "proc/interrupts"))), "/proc/interrupts"),
        ("/proc/interrupts is a FIFO", lambda r: (remove(r, "proc/interrupts"), os.mkfifo(
            os.path.join(r, "proc/interrupts"))), "/proc/interrupts"),
        ("/proc/interrupts links outside", lambda r: link(r, "proc/interrupts", outside + "/interrupts"), None),
        ("/proc/interrupts links up and out", lambda r: link(
            r, "proc/interrupts", "../" * 30 + outside.lstrip("/") + "/interrupts"), None),
        ("/proc/interrupts symlink loop", lambda r: (link(r, "proc/loop-a", "loop-b"), link(
            r, "proc/loop-b", "loop-a"), link(r, "proc/interrupts", "loop-a")), "/proc/interrupts"),
        ("huge CPU in cpu/possible", lambda r: put(r, cpu + "/possible", "0-4294967295\n"), cpu + "/possible"),
        ("huge CPU in a node cpulist", lambda r: put(r, "sys/devices/system/node/node0/cpulist", "0-99999999\n"),
         "node0/cpulist:"),
        ("garbage cpu/online", lambda r: put(r, cpu + "/online", "garbage\n"), cpu + "/online"),
        ("huge cpu/online", lambda r: put(r, cpu + "/online", "0-99999999\n"), cpu + "/online"),
        ("empty cpu/online", lambda r: put(r, cpu + "/online", ""), None),
        ("100 MB cpu/online", lambda r: big(r, cpu + "/online"), cpu + "/online"),
        ("cpu/online links outside", lambda r: link(r, cpu + "/online", outside + "/online"), "outside the root"),
        ("cpu0 folder links up and out", lambda r: link(r, cpu + "/cpu1", "../" * 12 + outside.lstrip("/")),
         "outside the root"),
        ("numa_node -5", lambda r: put(r, g(r) + "/numa_node", "-5\n"), "/numa_node:"),
        ("numa_node 99999", lambda r: put(r, g(r) + "/numa_node", "99999\n"), "/numa_node:"),
        ("numa_node 2^40", lambda r: put(r, g(r) + "/numa_node", "1099511627776\n"), "/numa_node:"),
        ("numa_node garbage", lambda r: put(r, g(r) + "/numa_node", "zero\n"), "/numa_node:"),
        ("local_cpulist garbage", lambda r: put(r, g(r) + "/local_cpulist", "1-x,\n"), "/local_cpulist:"),
        ("local_cpulist huge", lambda r: put(r, g(r) + "/local_cpulist", "4000000000\n"), "/local_cpulist:"),
        ("class +0x30000", lambda r: put(r, g(r) + "/class", "+0x30000\n"), "/class:"),
        ("class -1", lambda r: put(r, g(r) + "/class", "-1\n"), "/class:"),
        ("class 0x", lambda r: put(r, g(r) + "/class", "0x\n"), "/class:"),
        ("vendor +12", lambda r: put(r, g(r) + "/vendor", "+12\n"), "/vendor:"),
        ("vendor 0x1234567890", lambda r: put(r, g(r) + "/vendor", "0x1234567890\n"), "/vendor:"),
        ("legacy irq 10^12", lambda r: put(r, g(r) + "/irq", "1000000000000\n"), "/irq:"),
        ("legacy irq -7", lambda r: put(r, g(r) + "/irq", "-7\n"), "/irq:"),
        ("msi_irqs entry 10^10", lambda r: put(r, g(r) + "/msi_irqs/10000000000", "msix\n"), "/msi_irqs/"),
        ("msi_irqs entry +5", lambda r: put(r, g(r) + "/msi_irqs/+5", "msix\n"), "/msi_irqs/"),
        ("100 MB class file", lambda r: big(r, g(r) + "/class"), "/class:"),
        ("vanished /proc/irq/N", lambda r: remove(r, "proc/irq/%d" % irq(r)), "went away"),
        ("/proc/irq/N links outside", lambda r: link(r, "proc/irq/%d" % irq(r), outside), None),
        ("smp_affinity_list binary", lambda r: put(r, "proc/irq/%d/smp_affinity_list" % irq(r), b"\xff\x00\x01",
                                                   "wb"), "/smp_affinity_list:"),
        ("smp_affinity_list is a FIFO", lambda r: (remove(r, "proc/irq/%d/smp_affinity_list" % irq(r)), os.mkfifo(
            os.path.join(r, "proc/irq/%d/smp_affinity_list" % irq(r)))), None),
        ("overlapping L2 caches (hwloc complains)", overlapping_caches, "hwloc: "),
        ("node distance garbage", lambda r: put(r, "sys/devices/system/node/node0/distance", "10 -3 999999\n"),
         "node0/distance:"),
        ("pci devices links outside", lambda r: (remove(r, "sys/bus/pci/devices"), os.symlink(
            outside + "/pcidevs", os.path.join(r, "sys/bus/pci/devices"))), None),
        ("pci device link outside", lambda r: link(r, "sys/bus/pci/devices/" + first_gpu(r), outside + "/dev"),
         None),
        ("cmdline binary", lambda r: put(r, "proc/cmdline", bytes(range(1, 256)), "wb"), None),
        ("/proc/cmdline 100 MB", lambda r: big(r, "proc/cmdline"), "/proc/cmdline"),
        ("missing cpu folder", lambda r: remove(r, cpu), None),
    ]


def bait(outside):
    """Files outside the root that a link may point at: reading them would change the output."""
    os.makedirs(os.path.join(outside, "pcidevs/0000:ff:1f.7"), exist_ok=True)
    for f, v in [("vendor", "0x10de"), ("device", "0x2330"), ("class", "0x030200"), ("numa_node", "0")]:
        taplib.write(os.path.join(outside, "pcidevs/0000:ff:1f.7", f), v + "\n")
    os.makedirs(os.path.join(outside, "dev"), exist_ok=True)
    taplib.write(os.path.join(outside, "dev/class"), "0x030200\n")
    taplib.write(os.path.join(outside, "interrupts"), "           CPU0\n 4242: 1 OUTSIDE 1-edge outside-bait\n")
    taplib.write(os.path.join(outside, "online"), "0\n")
    taplib.write(os.path.join(outside, "/smp_affinity_list:"), "0\n")


def run(cmd, root):
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:allocator_may_return_null=1",
               UBSAN_OPTIONS="print_stacktrace=1")
    try:
        p = subprocess.run([taplib.ASIOSCTL] + cmd + ["--root", root], capture_output=True, text=True,
                           errors="replace", timeout=TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        return None
    return p


def one(tmp, fixture, name, mutate, needle, outside):
    d = tempfile.mkdtemp(dir=tmp)
    root = unpack(fixture, d)
    mutate(root)
    counts["inputs"] += 1
    problems, named = [], needle is None
    for cmd in COMMANDS:
        counts["runs"] += 1
        p = run(cmd, root)
        if p is None:
            counts["crashes"] += 1
            problems.append("%s: hang (over %d s)" % (cmd[0], TIMEOUT))
            continue
        text = p.stdout + p.stderr
        if p.returncode not in (0, 1) or any(s in p.stderr for s in SANITIZER):
            counts["crashes"] += 1
            problems.append("%s: exit %d\n%s" % (" ".join(cmd), p.returncode, p.stderr[-3000:]))
            continue
        if "*****" in p.stderr:
            counts["bad"] += 1
            problems.append("%s: hwloc's banner on stderr, without a priority" % " ".join(cmd))
        if "outside-bait" in text or "0000:ff:1f.7" in text or "4242" in text:
            counts["bad"] += 1
            problems.append("%s: read a file outside the root" % " ".join(cmd))
        if needle and needle in text:
            named = True
        if cmd[0] == "topology" and p.returncode == 0:
            t = json.loads(p.stdout)
            if name in ("garbage cpu/online", "huge cpu/online") and len([c for c in t["cpus"] if c["online"]]) < 2:
                counts["bad"] += 1
                problems.append("topology: %s leaves %d CPU online" % (name, len(
                    [c for c in t["cpus"] if c["online"]])))
    if not named:
        counts["bad"] += 1
        problems.append("no message names %r" % needle)
    check(not problems, "%s: %s" % (fixture, name), "\n".join(problems))
    shutil.rmtree(d, ignore_errors=True)


def conf_outside(tmp, outside):
    """asiosctl reads a capture's configuration inside the capture: a link to a host file is not followed."""
    root = unpack("ws-2g-iso", tempfile.mkdtemp(dir=tmp))
    secret = os.path.join(outside, "irqd.conf")
    taplib.write(secret, "[Irq]\nthis-line-is-outside = 1\n")
    os.makedirs(os.path.join(root, "etc/asios/irqd.conf.d"), exist_ok=True)
    link(root, "etc/asios/irqd.conf", secret)
    p = run(["irq", "plan"], root)
    check(p is not None and "this-line-is-outside" not in p.stdout + p.stderr and p.returncode == 0,
          "capture config: an absolute link to a host file is resolved inside the root",
          "" if p is None else "exit %d\n%s" % (p.returncode, p.stderr))
    link(root, "etc/asios/irqd.conf", "../../" * 20 + secret.lstrip("/"))
    p = run(["irq", "plan"], root)
    check(p is not None and "this-line-is-outside" not in p.stdout + p.stderr and p.returncode == 0,
          "capture config: a ../ link out of the root stays inside it",
          "" if p is None else "exit %d\n%s" % (p.returncode, p.stderr))
    remove(root, "etc/asios/irqd.conf")
    link(root, "etc/asios/irqd.conf.d/10-x.conf", secret)
    p = run(["irq", "plan"], root)
    # resolved inside the capture, where nothing is there: a named drop-in that is missing is an error naming it
    check(p is not None and "this-line-is-outside" not in p.stdout + p.stderr and p.returncode == 1
          and "10-x.conf: No such file or directory" in p.stderr,
          "capture config: a drop-in linked outside is resolved inside the root (missing there: named)",
          "" if p is None else "exit %d\n%s" % (p.returncode, p.stderr))
    put(root, "etc/asios/irqd.conf.d/10-x.conf", "[Irq]\nthis-line-is-inside = 1\n")
    p = run(["irq", "plan"], root)
    check(p is not None and p.returncode == 1 and "irqd.conf.d/10-x.conf" in p.stderr,
          "capture config: a drop-in inside the capture is still read (and its bad key named)",
          "" if p is None else "exit %d\n%s" % (p.returncode, p.stderr))


def main():
    if not taplib.need(taplib.ASIOSCTL):
        return 1
    tmp = tempfile.mkdtemp(prefix="asios-redteam-")
    outside = os.path.join(tmp, "outside")
    bait(outside)
    try:
        for fixture in ("ws-2g-iso", "ai-2s8g"):
            for name, mutate, needle in cases(outside):
                if (fixture == "ai-2s8g" and name not in SECOND) or (ONLY and ONLY not in name):
                    continue
                one(tmp, fixture, name, mutate, needle, outside)
        if not ONLY:
            conf_outside(tmp, outside)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("# red-team machine: %d inputs x %d commands (%d runs), %d crashes, %d handled badly"
          % (counts["inputs"], len(COMMANDS), counts["runs"], counts["crashes"], counts["bad"]))
    return taplib.done()


if __name__ == "__main__":
    sys.exit(main())
