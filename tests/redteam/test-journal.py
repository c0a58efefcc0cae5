#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""Red team: the undo journal under concurrency, crashes, failed rollbacks, reboots and tampering.

On copies of the synthetic AI server (ai-2s8g, ~100 IRQ moves per apply) and of ws-2g-iso (isolation with a
grub.d snippet and a systemd drop-in, whole files that outlive a reboot):
  - apply racing a failing apply, and apply racing revert, then revert: every affinity back (byte-exact tree);
  - kill -9 at random points of apply and of revert, then revert: the tree byte-exact as before (diff -r);
  - kill -9 at every folder made, file renamed into place and name removed (strace's fault injection stops
    the process on entry to the Nth mkdirat, renameat or unlinkat), then revert: byte-exact at each point;
  - a rollback that fails keeps the record it could not restore, names it, and revert restores it later;
  - after a simulated reboot (/run emptied, another boot id) revert removes the persistent files;
  - an incomplete last record is ignored, a journal of another machine is refused, an IRQ that now serves another
    device or has gone is left alone, a refused knob (EPERM) is skipped without undoing the rest, a placement that
    something keeps undoing does not grow the journal, a held lock names its holder.
TAP; the counts of each kind are printed at the end. ASIOS_REDTEAM_RACES and ASIOS_REDTEAM_KILLS (default 8
and 10) set the trials per race and the kill -9 runs per command; ASIOS_SEED the random points."""
import fcntl
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import ASIOSCTL, FIXTURES, check, done, need, plan_json, skip, tree_digest as tree, untar, write  # noqa: E402

RACES = int(os.environ.get("ASIOS_REDTEAM_RACES", "8"))
KILLS = int(os.environ.get("ASIOS_REDTEAM_KILLS", "10"))
counts = {"races": 0, "race_ok": 0, "kills": 0, "kill_ok": 0}


def differs(a, b):
    keys = sorted(set(a) | set(b))
    return [k for k in keys if a.get(k) != b.get(k)][:20]


def ctl(*args, env=None):
    return subprocess.run([ASIOSCTL] + list(args), capture_output=True, text=True,
                          env=dict(os.environ, **(env or {})), timeout=300)


def start(*args, env=None):
    return subprocess.Popen([ASIOSCTL] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, **(env or {})))


def unpack(tmp, name):
    d = os.path.join(tmp, "src-" + name)
    if not os.path.isdir(d):
        untar(os.path.join(FIXTURES, name + ".tar.gz"), d)
    return os.path.join(d, name)


def fresh(tmp, name, tag):
    work = os.path.join(tmp, "%s-%s" % (name, tag))
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(unpack(tmp, name), work, symlinks=True)
    return work


def races(tmp):
    """apply racing a failing apply, and apply racing revert (RACES trials each)"""
    for trial in range(RACES):
        work = fresh(tmp, "ai-2s8g", "race%d" % trial)
        before = tree(work)
        acts = plan_json("irq", work)[1]["actions"]
        last = acts[-1]["path"]
        good = start("irq", "apply", "--root", work)
        bad = start("irq", "apply", "--root", work, env={"ASIOS_FAULT_INJECT": last + "=EINVAL"})
        good.communicate()
        bad.communicate()
        p = ctl("irq", "revert", "--root", work)
        d = differs(before, tree(work))
        counts["races"] += 1
        counts["race_ok"] += not d and p.returncode == 0
        check(not d and p.returncode == 0, "apply racing a failing apply (trial %d): revert restores every IRQ" % trial,
              p.stdout + p.stderr + "\n" + "\n".join(d))
    for trial in range(RACES):
        work = fresh(tmp, "ai-2s8g", "rrace%d" % trial)
        before = tree(work)
        a = start("irq", "apply", "--root", work)
        time.sleep(random.uniform(0, 0.3))
        r = start("irq", "revert", "--root", work)
        a.communicate()
        r.communicate()
        p = ctl("irq", "revert", "--root", work)
        d = differs(before, tree(work))
        counts["races"] += 1
        counts["race_ok"] += not d
        check(not d, "apply racing revert (trial %d): a second revert restores every IRQ" % trial,
              p.stdout + p.stderr + "\n" + "\n".join(d))


def kill_runs(tmp, verb, name, n):
    """kill -9 at random points of apply (or of revert after a full apply), then revert: byte-exact"""
    args = {"irq": ["irq"], "isolate": ["isolate"]}[verb]
    for trial in range(n):
        work = fresh(tmp, name, "kill-%s-%d" % (verb, trial))
        prepare(work, name)
        before = tree(work)
        when = random.uniform(0.0, 0.35)
        if trial % 2:  # kill the revert
            ctl(*args, "apply", "--root", work)
            p = start(*args, "revert", "--root", work)
        else:
            p = start(*args, "apply", "--root", work)
        time.sleep(when)
        p.send_signal(signal.SIGKILL)
        p.communicate()
        q = ctl(*args, "revert", "--root", work)
        d = differs(before, tree(work))
        counts["kills"] += 1
        counts["kill_ok"] += not d
        check(not d and q.returncode in (0, 1) and "Sanitizer" not in q.stderr,
              "%s: kill -9 %s after %.0f ms, then revert: tree byte-exact" % (name, "revert" if trial % 2 else "apply",
                                                                          when * 1000),
              q.stdout + q.stderr + "\n" + "\n".join(d))


def strace_works():
    strace = shutil.which("strace")
    try:
        return strace if strace and subprocess.run([strace, "-f", "-o", "/dev/null", "true"], capture_output=True,
                                                   timeout=60).returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired):
        return None


def crash_points(tmp):
    """kill -9 on entry to the Nth mkdirat, renameat and unlinkat of an isolate apply (and of a revert after a
    full apply), for every N the command reaches, then revert: the tree byte-exact every time"""
    strace = strace_works()
    for verb in ("apply", "revert"):
        name = "isolate %s: kill -9 at each of its mkdirat, renameat and unlinkat calls, then revert: byte-exact" % verb
        if not strace:
            skip(name, "strace cannot trace here (not installed or ptrace not allowed)")
            continue
        points, bad = {}, []
        for call in ("mkdirat", "renameat", "unlinkat"):
            for n in range(1, 100):
                work = fresh(tmp, "ws-2g-iso", "crash-%s-%s-%d" % (verb, call, n))
                prepare(work, "ws-2g-iso")
                before = tree(work)
                if verb == "revert":
                    ctl("isolate", "apply", "--root", work)
                p = subprocess.run([strace, "-f", "-o", "/dev/null", "-e", "trace=" + call,
                                    "-e", "inject=%s:signal=KILL:when=%d" % (call, n),
                                    ASIOSCTL, "isolate", verb, "--root", work], capture_output=True, text=True,
                                   timeout=300)
                if p.returncode != -signal.SIGKILL:  # the command ended before its Nth such call
                    break
                points[call] = n
                q = ctl("isolate", "revert", "--root", work)
                d = differs(before, tree(work))
                if d or q.returncode not in (0, 1) or "Sanitizer" in q.stderr:
                    bad.append("%s #%d: %s %s" % (call, n, d, (q.stdout + q.stderr).strip()[-300:]))
        total = sum(points.values())
        counts["kills"] += total
        counts["kill_ok"] += total - len(bad)
        check(total >= 5 and not bad, "%s (%s)" % (name, ", ".join("%d %s" % (n, c) for c, n in points.items())),
              "\n".join(bad) or "only %d crash points reached" % total)


def prepare(work, name):
    """ws-2g-iso boots with GRUB here, so isolate writes whole files too (grub.d snippet, systemd drop-in)"""
    if name == "ws-2g-iso":
        os.makedirs(os.path.join(work, "etc/default/grub.d"), exist_ok=True)
        write(os.path.join(work, "etc/asios/schedd.conf"), "[schedd]\nisolate = auto\nprofile = latency\n")
        write(os.path.join(work, "etc/machine-id"), "0123456789abcdef0123456789abcdef\n")
        write(os.path.join(work, "proc/sys/kernel/random/boot_id"), "11111111-2222-3333-4444-555555555555\n")


def rollback_failure(tmp):
    work = fresh(tmp, "ai-2s8g", "rbfail")
    before = tree(work)
    acts = plan_json("irq", work)[1]["actions"]
    plain = [a for a in acts[:len(acts) // 2]
             if "," not in open(os.path.join(work, a["path"].lstrip("/"))).read().strip()]
    j = plain[0]
    old = open(os.path.join(work, j["path"].lstrip("/"))).read().strip()
    mid = acts[len(acts) // 2]["path"]
    p = ctl("irq", "apply", "--root", work, env={"ASIOS_FAULT_INJECT": "%s=EINVAL,%s=EINVAL/%s" % (mid, j["path"], old)})
    journal = os.path.join(work, "run/asios/irqd.journal")
    text = open(journal).read() if os.path.exists(journal) else ""
    check(p.returncode == 1 and "kept in the undo journal" in p.stderr and j["path"] in p.stderr
          and "every change" not in p.stdout + p.stderr,
          "a rollback that fails is named and not claimed as rolled back", p.stdout + p.stderr)
    check(j["path"] in text and len([ln for ln in text.splitlines() if not ln.startswith(("#", "mkdir:"))]) == 1,
          "... its record (and only it) stays in the journal", text)
    p = ctl("irq", "revert", "--root", work)
    d = differs(before, tree(work))
    check(p.returncode == 0 and not d, "... and revert restores it later: tree byte-exact", p.stderr + "\n".join(d))


def reboot(tmp):
    work = fresh(tmp, "ws-2g-iso", "reboot")
    prepare(work, "ws-2g-iso")
    before = tree(work)
    p = ctl("isolate", "apply", "--root", work)
    snippet = os.path.join(work, "etc/default/grub.d/asios-isolation.cfg")
    wrote = [f for f in ("etc/default/grub.d", "etc/systemd/system.conf.d")
             if os.path.isdir(os.path.join(work, f)) and os.listdir(os.path.join(work, f))]
    check(p.returncode == 0 and wrote, "isolate apply writes files that outlive a reboot (%s)" % ", ".join(wrote),
          p.stdout + p.stderr)
    check(os.path.exists(os.path.join(work, "var/lib/asios/schedd.journal")),
          "... journalled in /var/lib/asios", p.stderr)
    # the reboot the tool asks for: /run is empty, the boot id is new, runtime values are back to the defaults
    shutil.rmtree(os.path.join(work, "run"), ignore_errors=True)
    write(os.path.join(work, "proc/sys/kernel/random/boot_id"), "99999999-2222-3333-4444-555555555555\n")
    for f, h in before.items():  # runtime files come back as they were at boot
        full, src = os.path.join(work, f), os.path.join(unpack(tmp, "ws-2g-iso"), f)
        if f.startswith(("proc/", "sys/")) and h != "dir" and os.path.isfile(full) and os.path.isfile(src):
            shutil.copyfile(src, full)
    write(os.path.join(work, "proc/sys/kernel/random/boot_id"), "99999999-2222-3333-4444-555555555555\n")
    p = ctl("isolate", "revert", "--root", work)
    after = tree(work)
    after.pop("proc/sys/kernel/random/boot_id", None)
    want = dict(before)
    want.pop("proc/sys/kernel/random/boot_id", None)
    d = differs(want, after)
    check(p.returncode == 0 and "nothing to revert" not in p.stdout and not os.path.exists(snippet) and not d,
          "after a reboot, isolate revert removes the grub.d snippet and the drop-in (tree byte-exact)",
          p.stdout + p.stderr + "\n" + "\n".join(d))


def tampering(tmp):
    work = fresh(tmp, "ai-2s8g", "torn")
    write(os.path.join(work, "etc/machine-id"), "0123456789abcdef0123456789abcdef\n")
    acts = plan_json("irq", work)[1]["actions"]
    a, b = acts[0]["path"], acts[1]["path"]
    va, vb = [open(os.path.join(work, x.lstrip("/"))).read().strip() for x in (a, b)]
    write(os.path.join(work, a.lstrip("/")), "1\n")
    write(os.path.join(work, b.lstrip("/")), "2\n")
    boot = "-"
    header = "#asios-journal 2\tmachine=0123456789abcdef0123456789abcdef\tboot=%s\n" % boot
    journal = os.path.join(work, "run/asios/irqd.journal")
    # a complete record, then one whose write was cut short (no newline): "0-2" of "0-23,48-71"
    write(journal, header + "write:%s\t%s\t-\n" % (a, va) + "write:%s\t0-2" % b)
    p = ctl("irq", "revert", "--root", work)
    got_b = open(os.path.join(work, b.lstrip("/"))).read().strip()
    check(p.returncode == 0 and open(os.path.join(work, a.lstrip("/"))).read().strip() == va and got_b == "2"
          and "incomplete record" in p.stderr,
          "an incomplete last record is ignored and said, the complete one restored", p.stdout + p.stderr + got_b)
    # another machine's journal: refused, nothing written
    write(os.path.join(work, a.lstrip("/")), "1\n")
    write(journal, header.replace("0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210") +
          "write:%s\t%s\t-\n" % (a, va))
    p = ctl("irq", "revert", "--root", work)
    check(p.returncode == 1 and "written on machine" in p.stderr
          and open(os.path.join(work, a.lstrip("/"))).read().strip() == "1" and os.path.exists(journal),
          "a journal written on another machine is refused and kept", p.stdout + p.stderr)
    os.unlink(journal)
    check(vb != "2", "(the second IRQ's value differs from the marker)", vb)


def identity(tmp):
    work = fresh(tmp, "ai-2s8g", "ident")
    before = tree(work)
    acts = [a for a in plan_json("irq", work)[1]["actions"] if a.get("irq", -1) >= 0]
    irq_a, irq_b = acts[0]["irq"], acts[1]["irq"]
    p = ctl("irq", "apply", "--root", work)
    check(p.returncode == 0, "identity: apply", p.stderr)
    actions = os.path.join(work, "sys/kernel/irq/%d/actions" % irq_a)
    os.makedirs(os.path.dirname(actions), exist_ok=True)
    write(actions, "somebody_else@pci:0000:ff:00.0\n")
    moved = open(os.path.join(work, "proc/irq/%d/smp_affinity_list" % irq_a)).read()
    shutil.rmtree(os.path.join(work, "proc/irq/%d" % irq_b))
    p = ctl("irq", "revert", "--root", work)
    now = open(os.path.join(work, "proc/irq/%d/smp_affinity_list" % irq_a)).read()
    check(p.returncode == 0 and now == moved and "now serves" in p.stderr,
          "an IRQ that now serves another device is left alone on revert", p.stdout + p.stderr)
    check("irq %d has gone" % irq_b in p.stderr, "an IRQ that has gone is said and not a failure", p.stderr)
    d = [k for k in differs(before, tree(work))
         if not k.startswith(("proc/irq/%d/" % irq_a, "proc/irq/%d/" % irq_b, "sys/kernel/irq/%d/" % irq_a))]
    check(not d, "... every other IRQ restored", "\n".join(d))


def refused_and_compaction(tmp):
    work = fresh(tmp, "ai-2s8g", "eperm")
    before = tree(work)
    acts = plan_json("irq", work)[1]["actions"]
    first = acts[0]["path"]
    p = ctl("irq", "apply", "--root", work, env={"ASIOS_FAULT_INJECT": first + "=EPERM"})
    check(p.returncode == 0 and "the kernel refused" in p.stderr and "Operation not permitted" in p.stderr,
          "a knob refused with EPERM is skipped and said; the rest stays applied", p.stdout + p.stderr)
    again = plan_json("irq", work)[1]["actions"]
    check([a["path"] for a in again] == [first], "... only the refused one is left to do", again)
    ctl("irq", "revert", "--root", work)
    journal = os.path.join(work, "run/asios/irqd.journal")
    sizes = []
    for _ in range(4):  # something keeps undoing the placement; the daemon keeps applying it
        for a in acts[:10]:
            shutil.copyfile(os.path.join(unpack(tmp, "ai-2s8g"), a["path"].lstrip("/")),
                            os.path.join(work, a["path"].lstrip("/")))
        ctl("irq", "apply", "--root", work)
        sizes.append(len(open(journal).read().splitlines()))
    check(len(set(sizes)) == 1, "a placement undone and re-applied 4 times does not grow the journal (%s lines)" %
          sizes, sizes)
    p = ctl("irq", "revert", "--root", work)
    d = differs(before, tree(work))
    check(p.returncode == 0 and not d, "... and revert still restores the values from before the first apply",
          p.stderr + "\n".join(d))


def lock_holder(tmp):
    work = fresh(tmp, "ai-2s8g", "lock")
    before = tree(work)
    os.makedirs(os.path.join(work, "run/asios"))
    with open(os.path.join(work, "run/asios/irqd.journal.lock"), "w") as f:
        fcntl.lockf(f, fcntl.LOCK_EX)
        p = ctl("irq", "apply", "--root", work, env={"ASIOS_LOCK_TIMEOUT": "1"})
        d = differs(before, tree(work))
        check(p.returncode == 1 and ("pid %d" % os.getpid()) in p.stderr and
              all(k.startswith("run/") for k in d),
              "an apply that cannot get the journal lock names its holder and changes nothing", p.stderr + str(d))
        p = ctl("irq", "revert", "--root", work, env={"ASIOS_LOCK_TIMEOUT": "1"})
        check(p.returncode == 0 and "nothing to revert" in p.stdout, "... revert with no journal says so", p.stdout)


def main():
    if not need(ASIOSCTL):
        return 1
    random.seed(int(os.environ.get("ASIOS_SEED", "1")))
    tmp = tempfile.mkdtemp()
    try:
        races(tmp)
        kill_runs(tmp, "irq", "ai-2s8g", KILLS)
        kill_runs(tmp, "isolate", "ws-2g-iso", KILLS)
        crash_points(tmp)
        rollback_failure(tmp)
        reboot(tmp)
        tampering(tmp)
        identity(tmp)
        refused_and_compaction(tmp)
        lock_holder(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("# red-team journal: %d races, %d restored exactly; %d kill -9 runs, %d restored byte-exact" %
          (counts["races"], counts["race_ok"], counts["kills"], counts["kill_ok"]))
    return done()


if __name__ == "__main__":
    sys.exit(main())
