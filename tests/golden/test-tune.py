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
import tarfile
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import ASIOSCTL, FIXTURES, check, ctl, done, need, read, tree_differs, tree_digest, wait_for, write  # noqa: E402

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


def main():
    if not need(ASIOSCTL):
        return 1
    tmp = tempfile.mkdtemp(prefix="asios-tune-")
    try:
        with tarfile.open(os.path.join(FIXTURES, "ws-2g-iso.tar.gz")) as tf:
            tf.extractall(tmp)
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
        bad(root, tmp, before)
        print("# %.1f s" % (time.time() - t0))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return done()


if __name__ == "__main__":
    sys.exit(main())
