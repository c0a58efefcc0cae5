#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""asiosctl tune on a writable capture (ws-2g-iso: its NVMe disk's read_ahead_kb 128), with objectives that read
the candidate back from $ASIOS_TUNE_ROOT: a throughput that peaks at 2048 KiB with 2 % noise is tuned to 2048
and undone by revert; an objective that every change makes worse ends with nothing changed; a guard that gets
worse blocks a win (and the same run with a tolerance that allows it keeps it: the control); --save writes the
boot files (a udev rule; a schedd.conf.d drop-in whose value asios-schedd's plan sets again after a reboot) and the
evidence, revert removes them; kill -9 in the middle of a run, then a new run, leaves the
capture as before; a second tuner on the same root is refused; bad knobs, a failing objective and one that
prints nothing are refused or undone with a clear message. TAP output."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import ASIOSCTL, FIXTURES, check, ctl, done, need, read, skip, tree_differs, tree_digest, untar, wait_for, write  # noqa: E402

RA = "sys/block/nvme0n1/queue/read_ahead_kb"
PEAK = """#!/bin/sh
# a throughput that peaks at read_ahead_kb 2048, 2 %% noise; GUARD: retransmits 31 above 128, else 1
ra=$(cat "$ASIOS_TUNE_ROOT/%s")
awk -v ra="$ra" -v s="$(date +%%N)$$" 'BEGIN { srand(s); x = log(ra + 1) / log(2)
  printf "throughput %%.2f\\nretransmits %%d\\n", (1000 - 20 * (x - 11) ^ 2) * (1 + 0.02 * (rand() - 0.5)), (ra > 128 ? 31 : 1) }'
""" % RA
WORSE = """#!/bin/sh
# 1000 at the start value, 900 anywhere else, 1 %% noise
ra=$(cat "$ASIOS_TUNE_ROOT/%s")
awk -v ra="$ra" -v s="$(date +%%N)$$" 'BEGIN { srand(s); printf "%%.2f\\n", (ra == 128 ? 1000 : 900) * (1 + 0.01 * (rand() - 0.5)) }'
""" % RA


def state(root):
    """the capture's files (not the tuner's own log and lock, not the apply counters)"""
    return {k: v for k, v in tree_digest(root).items()
            if not k.endswith("/") and not k.startswith("var/lib/asios/tune/") and k != "run/asios/tune.lock"}


def script(tmp, name, text):
    path = os.path.join(tmp, name)
    write(path, text)
    os.chmod(path, 0o755)
    return path


def tune(root, *args):
    return ctl("tune", "--root", root, "--objects", "nvme0n1", *args)


def peak_and_revert(root, peak, before):
    p = tune(root, "--objective", peak, "--maximize", "--knobs", "read_ahead_kb", "--budget", "80", "--json")
    r = json.loads(p.stdout) if p.returncode == 0 else {}
    check(p.returncode == 0 and r.get("result") == "kept" and read(os.path.join(root, RA)) == "2048",
          "a throughput peaking at 2048 KiB: read_ahead_kb 128 -> 2048, kept (%s runs)" % r.get("runs"),
          p.stdout[-1500:] + p.stderr)
    kept = [t for t in r.get("trials", []) if t["decision"] == "kept"]
    check(kept and all(t["p"] < 0.05 and t["pairs"] == 6 and len(t["a"]) == 6 for t in kept) and
          r.get("runs", 999) <= 80, "each kept step: 6 ABBA pairs, p < 0.05, within the budget",
          json.dumps(kept)[:800])
    p = ctl("tune", "explain", "--root", root)
    check(p.returncode == 0 and "128 -> 512" in p.stdout and "kept: better by" in p.stdout and
          "run " in p.stdout, "tune explain: every comparison with its medians, p-value and decision", p.stdout)
    p = ctl("tune", "revert", "--root", root)
    check(p.returncode == 0 and not tree_differs(before, state(root)), "tune revert: the capture as before",
          tree_differs(before, state(root)))


def worse_and_guard(root, peak, worse, before):
    p = tune(root, "--objective", worse, "--maximize", "--knobs", "read_ahead_kb", "--budget", "60")
    check(p.returncode == 0 and "nothing won" in p.stdout and not tree_differs(before, state(root)),
          "every change makes it worse: nothing won, nothing changed", p.stdout + p.stderr)
    p = tune(root, "--objective", peak, "--maximize", "--metric", "throughput", "--guard", "retransmits:min:5%",
             "--knobs", "read_ahead_kb", "--budget", "40", "--json")
    r = json.loads(p.stdout) if p.returncode == 0 else {}
    guarded = [t for t in r.get("trials", []) if t["decision"] == "guard"]
    check(p.returncode == 0 and guarded and "guard retransmits worse" in guarded[0]["why"] and
          r.get("result", "").startswith("nothing won") and not tree_differs(before, state(root)),
          "a win whose retransmits guard got 31 times worse: not kept", p.stdout[-1500:] + p.stderr)
    p = tune(root, "--objective", peak, "--maximize", "--metric", "throughput", "--guard", "retransmits:min:5000%",
             "--knobs", "read_ahead_kb", "--budget", "40")
    check(p.returncode == 0 and read(os.path.join(root, RA)) != "128",
          "the control: the same run with a tolerance that allows it keeps the win", p.stdout + p.stderr)
    ctl("tune", "revert", "--root", root)


def save(root, peak, before):
    p = tune(root, "--objective", peak, "--maximize", "--knobs", "read_ahead_kb", "--budget", "40", "--save", "models")
    rule = os.path.join(root, "etc/udev/rules.d/61-asios-tune-models.rules")
    evidence = os.path.join(root, "var/lib/asios/tune/models.json")
    ok = p.returncode == 0 and os.path.exists(rule) and os.path.exists(evidence)
    check(ok and 'KERNEL=="nvme0n1", ATTR{queue/read_ahead_kb}="%s"' % read(os.path.join(root, RA)) in read(rule) and
          json.load(open(evidence))["trials"], "--save: a udev rule applied at boot, the evidence beside the log",
          p.stdout + p.stderr + (read(rule) if os.path.exists(rule) else ""))
    p = ctl("tune", "revert", "--root", root)
    check(p.returncode == 0 and not os.path.exists(rule) and not tree_differs(before, state(root)),
          "revert also removes the saved boot file", tree_differs(before, state(root)))


def save_sched(root, tmp, before):
    """a scheduler knob: --save writes a schedd.conf.d drop-in that asios-schedd's plan applies (at boot)"""
    iv = os.path.join(root, "proc/sys/vm/stat_interval")
    best16 = script(tmp, "iv.sh", "#!/bin/sh\nv=$(cat \"$ASIOS_TUNE_ROOT/proc/sys/vm/stat_interval\")\n"
                    "awk -v v=\"$v\" -v s=\"$(date +%N)$$\" 'BEGIN { srand(s); d = log(v) / log(2) - 4; "
                    "printf \"%.2f\\n\", (100 - d * d) * (1 + 0.01 * (rand() - 0.5)) }'\n")
    p = ctl("tune", "--root", root, "--objective", best16, "--maximize", "--knobs", "vm.stat_interval", "--budget", "60",
            "--save", "sched")
    dropin = os.path.join(root, "etc/asios/schedd.conf.d/60-tune-sched.conf")
    check(p.returncode == 0 and read(iv) == "16" and os.path.exists(dropin) and "vm.stat_interval = 16" in read(dropin),
          "a scheduler knob: vm.stat_interval 1 -> 16, saved as a schedd.conf.d drop-in", p.stdout + p.stderr)
    write(iv, "1\n")  # a reboot puts the runtime value back; asios-schedd's plan at start sets it again
    p = ctl("isolate", "plan", "--root", root)
    check(p.returncode == 0 and re.search(r"vm.stat_interval +set 1 -> 16 .*\[knobs\]", p.stdout),
          "after a reboot asios-schedd's plan sets it from the drop-in", p.stdout + p.stderr)
    write(iv, "16\n")
    p = ctl("tune", "revert", "--root", root)
    check(p.returncode == 0 and not os.path.exists(dropin) and not tree_differs(before, state(root)),
          "revert: the value and the drop-in gone", tree_differs(before, state(root)))


def interrupted(root, tmp, before):
    slow = script(tmp, "slow.sh", "#!/bin/sh\nsleep 0.2\ncat \"$ASIOS_TUNE_ROOT/%s\"\n" % RA)
    d = subprocess.Popen([ASIOSCTL, "tune", "--root", root, "--objects", "nvme0n1", "--objective", slow, "--maximize",
                          "--knobs", "read_ahead_kb", "--budget", "200"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    ok = wait_for(lambda: read(os.path.join(root, RA)) != "128", 30)
    d.send_signal(signal.SIGKILL)
    d.wait()
    left = read(os.path.join(root, RA))
    check(ok and left != "128" and os.path.exists(os.path.join(root, "run/asios/tune-run.journal")),
          "kill -9 while a candidate is set: read_ahead_kb left at %s, the run's journal kept" % left)
    p = tune(root, "--objective", "echo 1", "--maximize", "--knobs", "read_ahead_kb", "--budget", "24")
    check(p.returncode == 0 and "an interrupted run left 1 setting: put back first" in p.stderr and
          not tree_differs(before, state(root)), "the next run puts it back first: the capture as before",
          p.stderr + str(tree_differs(before, state(root))))
    # one tuner per root
    d = subprocess.Popen([ASIOSCTL, "tune", "--root", root, "--objects", "nvme0n1", "--objective", slow, "--maximize",
                          "--knobs", "read_ahead_kb", "--budget", "200"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    wait_for(lambda: read(os.path.join(root, RA)) != "128", 30)
    p = tune(root, "--objective", "echo 1", "--maximize", "--knobs", "read_ahead_kb")
    d.send_signal(signal.SIGTERM)
    d.wait()
    check(p.returncode == 1 and "another asiosctl tune runs on this root" in p.stderr, "a second tuner is refused",
          p.stderr)
    ctl("tune", "revert", "--root", root)


def bad(root, tmp, before):
    cases = [
        (["--knobs", "read_ahead_kb"], 2, "--objective CMD and --maximize or --minimize are needed"),
        (["--objective", "echo 1", "--maximize", "--knobs", "frobs"], 1, "frobs: no domain declares a knob"),
        (["--objective", "echo 1", "--maximize", "--knobs", "kernel.nmi_watchdog"], 1,
         "kernel.nmi_watchdog: not tunable: marked unsafe"),
        (["--objective", "echo 1", "--maximize", "--knobs", "read_ahead_kb", "--objects", "sdz"], 1,
         "read_ahead_kb: no disk sdz"),
        (["--objective", "echo 1", "--maximize", "--budget", "3"], 2, "bad value \"3\" for --budget"),
        (["--objective", "echo 1", "--maximize", "--guard", "x:sideways"], 2, "for --guard"),
        (["--objective", "echo hello", "--maximize", "--knobs", "read_ahead_kb"], 1, "the objective printed no number"),
        (["--objective", "exit 3", "--maximize", "--knobs", "read_ahead_kb"], 1, "the objective failed (exit status 3)"),
        (["--objective", "echo 1", "--maximize", "--metric", "tps", "--knobs", "read_ahead_kb"], 1,
         "the objective printed no value for tps"),
    ]
    for args, rc, msg in cases:
        p = ctl("tune", "--root", root, *args)
        check(p.returncode == rc and msg in p.stderr and not tree_differs(before, state(root)),
              "refused (exit %d): %s" % (rc, msg), p.stderr)
    # an objective that prints more than it reads (300 KB): its first number counts, the rest is drained
    p = tune(root, "--objective", "echo 5; yes 1 | head -c 300000", "--maximize", "--knobs", "read_ahead_kb",
             "--budget", "12")
    check(p.returncode == 0 and "nothing won" in p.stdout and "median: 5 at the start" in p.stdout,
          "an objective that prints 300 KB: its first number, the rest drained", p.stdout + p.stderr)
    # an objective that fails after a candidate was set: everything put back
    flaky = script(tmp, "flaky.sh", "#!/bin/sh\n[ \"$(cat \"$ASIOS_TUNE_ROOT/%s\")\" = 128 ] || exit 7\necho 5\n" % RA)
    p = tune(root, "--objective", flaky, "--maximize", "--knobs", "read_ahead_kb")
    check(p.returncode == 1 and "exit status 7" in p.stderr and "stopped: everything put back" in p.stdout and
          not tree_differs(before, state(root)), "the objective failing under a candidate: stopped, put back",
          p.stdout + p.stderr)


WMEM = "proc/sys/net/ipv4/tcp_wmem"
# a throughput that peaks where tcp_wmem's limit equals the number in WORKLOAD (a file beside the capture), 1 % noise
NETPEAK = """#!/bin/sh
v=$(cut -f3 "$ASIOS_TUNE_ROOT/%s"); w=$(cat "$ASIOS_TUNE_ROOT/../workload")
awk -v v="$v" -v w="$w" -v s="$(date +%%N)$$" 'BEGIN { srand(s); d = log(v / w) / log(2)
  printf "%%.2f\\n", (100 - 10 * (d < 0 ? -d : d)) * (1 + 0.01 * (rand() - 0.5)) }'
""" % WMEM


def net_save_verify(root, tmp, before):
    """a network knob of a triple, raised with the knob kept at least as large; saved as a sysctl.d file;
    verified (still wins), then retired when the workload changed; the loss remembered by the next run"""
    work = os.path.join(tmp, "workload")
    write(work, "16777216\n")
    peak = script(tmp, "netpeak.sh", NETPEAK)
    run = ["tune", "--root", root, "--objective", peak, "--maximize", "--knobs", "net.ipv4.tcp_wmem", "--budget", "40"]
    p = ctl(*run, "--save", "net")
    conf = os.path.join(root, "etc/sysctl.d/61-asios-tune-net.conf")
    check(p.returncode == 0 and read(os.path.join(root, WMEM)) == "4096\t16384\t16777216" and
          read(os.path.join(root, "proc/sys/net/core/wmem_max")) == "16777216",
          "tcp_wmem's limit 4 MiB -> 16 MiB (its other numbers kept), wmem_max raised along (never below it)",
          p.stdout + p.stderr)
    check(os.path.exists(conf) and "net.ipv4.tcp_wmem = 4096 16384 16777216" in read(conf) and
          "net.core.wmem_max = 16777216" in read(conf), "--save: a sysctl.d file applied at boot",
          read(conf) if os.path.exists(conf) else "no " + conf)
    p = ctl("tune", "verify", "net", "--root", root, "--json")
    v = json.loads(p.stdout) if p.returncode == 0 else {}
    check(v.get("verify") == "still wins" and v.get("p", 1) < 0.05 and os.path.exists(conf) and
          read(os.path.join(root, WMEM)) == "4096\t16384\t16777216",
          "tune verify: the profile still wins against what it replaced, and stays", p.stdout + p.stderr)
    m = ctl("metrics", "--root", root).stdout
    check('asios_tune_profile_kept{profile="net"} 1' in m and
          re.search(r'^asios_tune_profile_gain_ratio\{profile="net"\} 0\.[12]', m, re.M) and
          re.search(r'^asios_tune_profile_checked_timestamp_seconds\{profile="net"\} \d{10}$', m, re.M) and
          "asios_tune_lost_comparisons 0" in m, "metrics: the profile kept, its verified gain and when",
          "\n".join(x for x in m.splitlines() if "asios_tune" in x))
    write(work, "4194304\n")  # the workload changed: the kernel's value is the best now
    p = ctl("tune", "verify", "net", "--root", root)
    lost = [json.loads(x) for x in open(os.path.join(root, "var/lib/asios/tune/lost.jsonl"))] if p.returncode == 0 else []
    check(p.returncode == 0 and "net: retired" in p.stdout and read(os.path.join(root, WMEM)) == "4096\t16384\t4194304"
          and read(os.path.join(root, "proc/sys/net/core/wmem_max")) == "212992" and not os.path.exists(conf) and
          any(x["knob"] == "net.ipv4.tcp_wmem" and x["to"] == 16777216 for x in lost),
          "tune verify after the workload changed: retired, values and boot file back, the loss remembered",
          p.stdout + p.stderr)
    m = ctl("metrics", "--root", root).stdout
    check('asios_tune_profile_kept{profile="net"} 0' in m and
          re.search(r'^asios_tune_profile_gain_ratio\{profile="net"\} -0\.', m, re.M) and
          re.search(r"^asios_tune_lost_comparisons [1-9]", m, re.M),
          "metrics: the profile retired, the loss it was retired with, the lost comparisons counted",
          "\n".join(x for x in m.splitlines() if "asios_tune" in x))
    p = ctl("tune", "verify", "net", "--root", root)
    check(p.returncode == 1 and "retired already" in p.stderr, "a retired profile is not verified again", p.stderr)
    prof = os.path.join(root, "var/lib/asios/tune/bad.json")
    for text, msg in (("{", "not a saved profile"), ('{"settings": [{"start": 1}], "objective": "x", "direction": '
                      '"maximize"}', "setting 1 names no knob"), ('{"settings": [], "objective": "x", "direction": '
                      '"maximize", "guards": [null]}', "is not NAME:min|max:TOL%"),
                      ('{"settings": [], "objective": "x", "direction": "up", "guards": 3}', '"guards" is not a list')):
        write(prof, text)
        p = ctl("tune", "verify", "bad", "--root", root)
        check(p.returncode == 1 and msg in p.stderr and "bad.json" in p.stderr,
              "a corrupt profile is refused, naming the file: %s" % msg, p.stderr)
    os.unlink(prof)
    p = ctl("tune", "verify", "nosuch", "--root", root)
    check(p.returncode == 1 and "no such profile" in p.stderr, "verify of a profile that does not exist", p.stderr)
    write(work, "16777216\n")
    p = ctl(*run)
    check(p.returncode == 0 and "1 comparison that lost on this machine before is not made again" in p.stderr and
          read(os.path.join(root, WMEM)) == "4096\t16384\t4194304",
          "the next run does not retry blindly what lost here", p.stdout + p.stderr)
    p = ctl(*run, "--retry-lost")
    check(p.returncode == 0 and read(os.path.join(root, WMEM)) == "4096\t16384\t16777216",
          "the control: --retry-lost tries it, and it wins again", p.stdout + p.stderr)
    p = ctl("tune", "revert", "--root", root)
    check(p.returncode == 0 and not tree_differs(before, state(root)), "revert: the capture as before",
          tree_differs(before, state(root)))


# the mean over two disks of a throughput that peaks at read_ahead_kb 2048; the second disk's value during the
# canary phase logged; ONLY_CANARY: the other disks serve random reads, where read-ahead hurts
CANARY_DISK = """#!/bin/sh
r="$ASIOS_TUNE_ROOT/sys/block"
a=$(cat "$r/nvme0n1/queue/read_ahead_kb"); b=$(cat "$r/nvme1n1/queue/read_ahead_kb")
[ "$ASIOS_TUNE_SCOPE" = canary ] && echo "$b" >> "%s"
[ -n "$ONLY_CANARY" ] && [ "$b" != 128 ] && b=1
awk -v a="$a" -v b="$b" -v s="$(date +%%N)$$" 'BEGIN { srand(s); x = log(a + 1) / log(2) - 11; y = log(b + 1) / log(2) - 11
  printf "%%.2f\\n", (2000 - 20 * x * x - 20 * y * y) / 2 * (1 + 0.01 * (rand() - 0.5)) }'
"""


def canary_disk(tmp):
    """--canary-disk on ai-2s8g: read-ahead found on nvme0n1 while the other disks kept theirs, then set on every
    disk and confirmed; the control: a win that other disks' workload does not share is not kept"""
    untar(os.path.join(FIXTURES, "ai-2s8g.tar.gz"), os.path.join(tmp, "cd"))
    root = os.path.join(tmp, "cd", "ai-2s8g")
    before = state(root)
    log = os.path.join(tmp, "other-disk-during-canary")
    obj = script(tmp, "canary-disk.sh", CANARY_DISK % log)
    ra = lambda d: read(os.path.join(root, "sys/block/%s/queue/read_ahead_kb" % d))  # noqa: E731
    args = ["tune", "--root", root, "--canary-disk", "nvme0n1", "--objective", obj, "--maximize", "--knobs",
            "read_ahead_kb", "--budget", "80", "--json"]
    p = ctl(*args)
    r = json.loads(p.stdout) if p.returncode == 0 else {}
    whole = [t for t in r.get("trials", []) if t["object"] == "the whole machine"]
    seen = set(open(log).read().split()) if os.path.exists(log) else set()
    check(p.returncode == 0 and r.get("result") == "kept" and seen == {"128"} and whole and
          whole[0]["decision"] == "kept" and ra("nvme0n1") == ra("nvme1n1") == ra("sda") == "2048" and
          ra("nvme3n1") == "8192", "canary disk: 2048 found on nvme0n1 while nvme1n1 kept 128, then confirmed and set "
          "on every disk that was at 128 (nvme3n1's 8192 left as it was)",
          p.stdout[-1200:] + p.stderr + " other disk seen %s" % seen)
    p = ctl("tune", "revert", "--root", root)
    check(p.returncode == 0 and not tree_differs(before, state(root)), "revert: the capture as before",
          tree_differs(before, state(root)))
    p = ctl(*args, env={"ONLY_CANARY": "1"})
    r = json.loads(p.stdout) if p.returncode == 0 else {}
    whole = [t for t in r.get("trials", []) if t["object"] == "the whole machine"]
    check(p.returncode == 0 and r.get("result", "").startswith("nothing won") and whole and
          whole[0]["decision"] != "kept" and not tree_differs(before, state(root)),
          "the control: a win on the canary disk that the other disks lose is not kept; the capture as before",
          p.stdout[-1200:] + p.stderr)
    p = ctl("tune", "--root", root, "--canary-disk", "nvme0n1", "--objective", obj, "--maximize", "--knobs",
            "net.ipv4.tcp_wmem")
    check(p.returncode == 1 and "not a block knob" in p.stderr, "--canary-disk refuses a knob that is not a disk's",
          p.stderr)


CANARY_NS = "asios-tune-canary-test"
# peaks at tcp_wmem 16 MiB as this namespace sees it; ONLY_CANARY: on the whole machine every value scores the
# same but the kernel's (a win that does not carry over); HOSTLOG: the host's value seen during the canary phase
CANARY_OBJ = """#!/bin/sh
v=$(cut -f3 /proc/sys/net/ipv4/tcp_wmem)
[ "$ASIOS_TUNE_SCOPE" = canary ] && nsenter --net=/proc/%d/ns/net cut -f3 /proc/sys/net/ipv4/tcp_wmem >> "%s"
[ -n "$ONLY_CANARY" ] && [ "$ASIOS_TUNE_SCOPE" = machine ] && v=$([ "$v" = 4194304 ] && echo 16777216 || echo 1)
awk -v v="$v" -v s="$(date +%%N)$$" 'BEGIN { srand(s); d = log(v / 16777216) / log(2)
  printf "%%.2f\\n", (100 - 10 * (d < 0 ? -d : d)) * (1 + 0.01 * (rand() - 0.5)) }'
"""


def ns_wmem(ns=None):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + ["cat", "/proc/sys/net/ipv4/tcp_wmem"]
    return subprocess.run(cmd, capture_output=True, text=True).stdout.split()


def canary(tmp):
    """--canary-netns on this machine: the search inside one network namespace (the host untouched meanwhile),
    its winner confirmed on the whole machine; the control: a win only the canary sees is not kept"""
    if os.geteuid() != 0 or subprocess.run(["ip", "netns", "add", CANARY_NS], capture_output=True).returncode:
        skip("tune --canary-netns on this machine", "needs root and network namespaces (ip netns add)")
        return
    host = {f: open("/proc/sys/net/" + f).read() for f in ("ipv4/tcp_wmem", "core/wmem_max")}
    try:
        for f, v in (("ipv4/tcp_wmem", "4096\t16384\t4194304\n"), ("core/wmem_max", "212992\n")):
            write("/proc/sys/net/" + f, v)
        subprocess.run(["ip", "netns", "del", CANARY_NS], capture_output=True)
        subprocess.run(["ip", "netns", "add", CANARY_NS], check=True)  # it starts with the host's values
        hostlog = os.path.join(tmp, "host-during-canary")
        obj = script(tmp, "canary.sh", CANARY_OBJ % (os.getpid(), hostlog))
        args = ["tune", "--canary-netns", CANARY_NS, "--objective", obj, "--maximize", "--knobs", "net.ipv4.tcp_wmem",
                "--budget", "40", "--json"]
        p = ctl(*args)
        r = json.loads(p.stdout) if p.returncode == 0 else {}
        seen = set(open(hostlog).read().split()) if os.path.exists(hostlog) else set()
        whole = [t for t in r.get("trials", []) if t["object"] == "the whole machine"]
        check(p.returncode == 0 and r.get("result") == "kept" and seen == {"4194304"} and whole and
              whole[0]["decision"] == "kept" and ns_wmem()[2] == "16777216" and
              open("/proc/sys/net/core/wmem_max").read().strip() == "16777216" and ns_wmem(CANARY_NS)[2] == "4194304",
              "canary: 16 MiB found inside the namespace while the host kept 4 MiB, then confirmed and kept "
              "machine-wide (wmem_max raised along); the canary's own value put back",
              p.stdout[-1200:] + p.stderr + " host seen %s" % seen)
        p = ctl("tune", "revert")
        check(p.returncode == 0 and ns_wmem()[2] == "4194304", "revert: the host's value back", p.stderr)
        p = ctl(*args, env={"ONLY_CANARY": "1"})
        r = json.loads(p.stdout) if p.returncode == 0 else {}
        whole = [t for t in r.get("trials", []) if t["object"] == "the whole machine"]
        check(p.returncode == 0 and r.get("result", "").startswith("nothing won") and whole and
              whole[0]["decision"] != "kept" and ns_wmem()[2] == "4194304" and ns_wmem(CANARY_NS)[2] == "4194304",
              "the control: a win only the canary sees is not kept on the machine; both as before",
              p.stdout[-1200:] + p.stderr)
        slow = script(tmp, "slow-canary.sh", "#!/bin/sh\nsleep 0.2\ncut -f3 /proc/sys/net/ipv4/tcp_wmem\n")
        d = subprocess.Popen([ASIOSCTL, "tune", "--canary-netns", CANARY_NS, "--objective", slow, "--maximize",
                              "--knobs", "net.ipv4.tcp_wmem", "--budget", "200"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        ok = wait_for(lambda: ns_wmem(CANARY_NS)[2] != "4194304", 30)
        d.send_signal(signal.SIGKILL)
        d.wait()
        p = ctl("tune", "revert")
        check(ok and p.returncode == 0 and "interrupted canary run's settings in %s: put back" % CANARY_NS in p.stderr
              and ns_wmem(CANARY_NS)[2] == "4194304" and ns_wmem()[2] == "4194304",
              "kill -9 during the canary phase: revert puts the namespace back, inside it", p.stderr)
    finally:
        subprocess.run(["ip", "netns", "del", CANARY_NS], capture_output=True)
        for f, v in host.items():
            write("/proc/sys/net/" + f, v)


def main():
    if not need(ASIOSCTL):
        return 1
    tmp = tempfile.mkdtemp(prefix="asios-tune-")
    try:
        untar(os.path.join(FIXTURES, "ws-2g-iso.tar.gz"), tmp)
        root = os.path.join(tmp, "ws-2g-iso")
        write(os.path.join(root, "proc/sys/vm/stat_interval"), "1\n")  # a scheduler knob (the capture has none)
        before = state(root)
        peak = script(tmp, "peak.sh", PEAK)
        worse = script(tmp, "worse.sh", WORSE)
        t0 = time.time()
        peak_and_revert(root, peak, before)
        worse_and_guard(root, peak, worse, before)
        save(root, peak, before)
        save_sched(root, tmp, before)
        interrupted(root, tmp, before)
        net_save_verify(root, tmp, before)
        bad(root, tmp, before)
        canary_disk(tmp)
        canary(tmp)
        print("# %.1f s" % (time.time() - t0))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return done()


if __name__ == "__main__":
    sys.exit(main())
