#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""Red team of the configuration readers: bad irqd.conf, numad.conf and schedd.conf contents (long lines and
section names, NULs, control bytes, CRLF, BOM, bad values of every key, out-of-range numbers, repeated keys,
unknown keys and sections) must each be refused by `asiosctl VERB plan` and the daemon's `--once --dry-run`
with FILE:LINE and a non-zero exit, leaving the fixture tree as it was. Then the files themselves: a named
missing file, a directory, "", a FIFO, /dev/zero, a --config-dir that is a file, --root "", each with a clear
error and never a hang (every run has a timeout). TAP."""
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import ASIOSCTL, BUILD, FIXTURES, check, done, need, untar  # noqa: E402

DAEMON = {"irq": "asios-irqd", "numa": "asios-numad", "isolate": "asios-schedd"}
SECTION = {"irq": "irqd", "numa": "numad", "isolate": "schedd"}
TIMEOUT = 20
LONG_LIST = ",".join(str(i) for i in range(0, 190, 2))  # over 199 characters

BOOL_KEYS = {
    "irq": ["gpu_aware", "take_over_irqbalance", "rebalance"],
    "numa": ["accelerators", "migrate", "take_over_numad"],
    "isolate": ["boot", "nohz_full", "rcu_nocbs", "isolcpus", "irqaffinity", "kthread_cpus", "runtime", "partition",
                "system_affinity", "take_over_tuned", "watch"],
}
# key: values each refused
NUM_KEYS = {
    "irq": {"interval": ["0", "3601", "10s", "-5", "99999999999999999999", "0x10"],
            "rebalance_min_rate": ["0", "100000001"], "rebalance_gain": ["0", "100", "25%"],
            "rebalance_checks": ["0", "101"], "rebalance_holdoff": ["-1", "86401"],
            "banned_cpus": ["0-", "abc", "70000", "3-1"], "banned_irqs": ["-1", "x", "99999999999", "1;2"]},
    "numa": {"interval": ["0", "3601"], "settle": ["0", "3601", "1.5"], "multi_node": ["spread", ""],
             "autonuma": ["maybe", "yes"], "banned_cpus": ["0-", "x"]},
    "isolate": {"profile": ["fast", ""], "isolate": ["", "0-", "abc", "none,1"], "housekeeping_cores": ["0", "1025"],
                "cmdline_max": ["63", "4097"], "workload_slice": ["foo", "a/b.slice", ".slice"],
                "cpu_dma_latency": ["-1", "100001", "x"], "interval": ["0", "3601"]},
}
KNOBS = {"kernel.sched_autogroup_enabled": "2", "kernel.sched_rt_runtime_us": "-2", "kernel.timer_migration": "7",
         "vm.stat_interval": "0", "kernel.nmi_watchdog": "yes", "kernel.sched_schedstats": "-1",
         "debug.sched.migration_cost_ns": "1e9"}


def cases():
    """(verb, name, content bytes, line of the error)"""
    out = []
    head = b"# red team\n"
    for verb, sec in SECTION.items():
        s = ("[%s]\n" % sec).encode()
        ok = {"irq": b"interval = 5\n", "numa": b"interval = 5\n", "isolate": b"interval = 5\n"}[verb]
        out += [
            (verb, "long line", head + s + b"banned_cpus = " + LONG_LIST.encode() + b"\n", 3),
            (verb, "long line after a good one", head + s + ok + b"interval = " + b"0" * 200 + b"5\n", 4),
            (verb, "long section name", head + b"[" + b"w" * 60 + b"]\n" + ok, 2),
            (verb, "NUL in a value", head + s + b"interval = 5\x00junk\n", 3),
            (verb, "NUL in a comment", head + s + b"# a \x00 b\n" + ok, 3),
            (verb, "NUL alone", head + s + b"\x00\n", 3),
            (verb, "CRLF line ends", head.replace(b"\n", b"\r\n") + s + ok, 1),
            (verb, "CR inside a value", head + s + b"interval = 5\r6\n", 3),
            (verb, "byte order mark", b"\xef\xbb\xbf" + head + s + ok, 1),
            (verb, "garbage bytes", head + s + b"\xff\xfe\xfd\n", 3),
            (verb, "control byte ESC", head + s + b"interval = \x1b[31m5\n", 3),
            (verb, "control byte 0x01", head + b"\x01" + s + ok, 2),
            (verb, "broken UTF-8", head + s + b"# caf\xc3\n" + ok, 3),
            (verb, "overlong UTF-8", head + s + b"interval = \xc0\xb5\n", 3),
            (verb, "repeated key", head + s + ok + b"# again\n" + ok, 5),
            (verb, "unknown key", head + s + b"intervall = 5\n", 3),
            (verb, "unknown section", head + b"[irq-d]\n" + ok, 3),
            (verb, "key before any section", head + ok, 2),
            (verb, "line without =", head + s + b"interval 5\n", 3),
            (verb, "text after ]", head + s[:-1] + b" interval = 5\n", 2),
            (verb, "unclosed section", head + b"[" + s[1:-2] + b"\n" + ok, 2),
            (verb, "indented line meant as continuation", head + s + ok + b"   7\n", 4),
            (verb, "empty key", head + s + b"= 5\n", 3),
        ]
        for key in BOOL_KEYS[verb]:
            for v in ("maybe", ""):
                out.append((verb, "%s = %r" % (key, v), head + s + ("%s = %s\n" % (key, v)).encode(), 3))
        for key, vals in NUM_KEYS[verb].items():
            for v in vals:
                out.append((verb, "%s = %r" % (key, v), head + s + ok + ("%s = %s\n" % (key, v)).encode(), 4))
    irq = [("[irq x]", "cpus = 0"), ("[irq -1]", "cpus = 0"), ("[irq 5]", "cpus = "), ("[irq 5]", "cpus = a"),
           ("[irq 5]", "ignore = maybe"), ("[irq 5]", "spread = yes"), ("[device 0000:18:00]", "cpus = 0"),
           ("[device zz]", "ignore = yes"), ("[device 0000:18:20.0]", "cpus = 0"), ("[device 0000:18:00.8]", "cpus = 0"),
           ("[device -000:18:00.0]", "cpus = 0"), ("[device 0000:18:00.0]", "cpus = 1-0")]
    for sec, line in irq:
        out.append(("irq", "%s %s" % (sec, line), head + ("%s\n%s\n" % (sec, line)).encode(), 3))
    numa = [("[hugepages]", "nodeX = 5"), ("[hugepages]", "node-1 = 5"), ("[hugepages]", "node4096 = 5"),
            ("[hugepages]", "node0 = abc"), ("[hugepages]", "node0 = -5"), ("[hugepages]", "node0 = 5 3T"),
            ("[hugepages]", "node0 = 5 -2M"), ("[hugepages]", "node0 = 5 99999999999G"),
            ("[hugepages]", "node0 = 100000001"), ("[workload w]", "command = "), ("[workload w]", "cgroup = rel/x"),
            ("[workload w]", "node = x"), ("[workload w]", "node = 4096"), ("[workload w]", "cpus = "),
            ("[workload w]", "migrate = maybe"), ("[workload w]", "multi_node = all"), ("[workload w]", "color = red"),
            ("[workload ]", "command = x"), ("[workload w]", "autonuma = 2")]
    for sec, line in numa:
        out.append(("numa", "%s %s" % (sec, line), head + ("%s\n%s\n" % (sec, line)).encode(), 3))
    out.append(("numa", "workload without command", head + b"[workload w]\nnode = 0\n", 3))
    out.append(("numa", "two long workload names that libinih would merge",
                head + b"[workload " + b"a" * 45 + b"1]\ncommand = x\n[workload " + b"a" * 45 + b"2]\ncommand = y\n", 2))
    for knob, v in KNOBS.items():
        out.append(("isolate", "knob %s = %s" % (knob, v), head + ("[knobs]\n%s = %s\n" % (knob, v)).encode(), 3))
    out.append(("isolate", "unknown knob", head + b"[knobs]\nkernel.panic = 1\n", 3))
    out.append(("isolate", "knob value with a blank", head + b"[knobs]\nkernel.nmi_watchdog = 0 1\n", 3))
    return out


def tree_hash(root):
    h = hashlib.sha256()
    for d, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(files + [x for x in dirs if os.path.islink(os.path.join(d, x))]):
            p = os.path.join(d, name)
            h.update(p.encode())
            if os.path.islink(p):
                h.update(os.readlink(p).encode())
            elif os.path.isfile(p):
                with open(p, "rb") as f:
                    h.update(f.read())
    return h.hexdigest()


def run(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, errors="replace", timeout=TIMEOUT,
                           stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired:
        return "timeout", "no answer within %d s" % TIMEOUT


def tools(verb, root, conf, none):
    yield "asiosctl", [ASIOSCTL, verb, "plan", "--root", root, "--config", conf, "--config-dir", none]
    yield DAEMON[verb], [os.path.join(BUILD, DAEMON[verb]), "--once", "--dry-run", "--root", root, "--config", conf,
                         "--config-dir", none]


def bad_contents(tmp, root, none):
    stats = {"cases": 0, "runs": 0, "rejected": 0, "changed": 0}
    before = tree_hash(root)
    for i, (verb, name, content, line) in enumerate(cases()):
        conf = os.path.join(tmp, "case%03d.conf" % i)
        with open(conf, "wb") as f:
            f.write(content)
        stats["cases"] += 1
        for tool, argv in tools(verb, root, conf, none):
            rc, out = run(argv)
            stats["runs"] += 1
            want = "%s:%d:" % (conf, line)
            ok = rc not in (0, "timeout") and want in out
            stats["rejected"] += ok
            check(ok, "%s %s: %s: refused with FILE:%d" % (tool, SECTION[verb], name, line),
                  "exit %s, wanted %r in:\n%s" % (rc, want, out))
        after = tree_hash(root)
        if after != before:
            stats["changed"] += 1
            check(False, "%s: %s: the fixture tree is unchanged" % (verb, name), "the tree changed")
            before = after
    check(tree_hash(root) == before, "bad contents: the fixture tree is unchanged after all of them")
    return stats


def good_contents(tmp, root, none):
    """What must still be accepted: long comments (libinih split them into live lines), indentation, repeats
    in [hugepages], drop-ins overriding a key."""
    good = [
        ("isolate", "a long comment whose tail looks like a key",
         b"[schedd]\n# " + b"x" * 200 + b"isolate = bogus\n"),
        ("irq", "a commented-out long list", b"[irqd]\n#banned_cpus = " + LONG_LIST.encode() + b"\n"),
        ("irq", "indented keys", b"[irq 5]\n    cpus = 0\n    ignore = no\n"),
        ("numa", "two page sizes on one node", b"[hugepages]\nnode0 = 16\nnode0 = 1 1G\n"),
        ("isolate", "knobs within range", b"[knobs]\nkernel.nmi_watchdog = 0\nvm.stat_interval = leave\n"),
    ]
    for verb, name, content in good:
        conf = os.path.join(tmp, "good.conf")
        with open(conf, "wb") as f:
            f.write(content)
        for tool, argv in tools(verb, root, conf, none):
            rc, out = run(argv)
            check(rc == 0, "%s %s: %s: accepted" % (tool, SECTION[verb], name), "exit %s:\n%s" % (rc, out))


def structural(tmp, root, none):
    """(name, argv-builder, what the message must say): each refused, none hangs."""
    stats = {"cases": 0, "clear": 0}
    fifo = os.path.join(tmp, "fifo.conf")
    os.mkfifo(fifo)
    afile = os.path.join(tmp, "afile")
    open(afile, "w").close()
    dropins = os.path.join(tmp, "dropins")
    os.makedirs(dropins)
    os.mkfifo(os.path.join(dropins, "10-fifo.conf"))
    dirdrop = os.path.join(tmp, "dirdrop")
    os.makedirs(os.path.join(dirdrop, "20-dir.conf"))
    missing = os.path.join(tmp, "nonexistent.conf")
    for verb in SECTION:
        bins = {"asiosctl": [ASIOSCTL, verb, "plan"], DAEMON[verb]: [os.path.join(BUILD, DAEMON[verb]), "--once",
                                                                     "--dry-run"]}
        for tool, base in bins.items():
            for name, args, rc_want, said in [
                ("a missing file named by --config", ["--root", root, "--config", missing, "--config-dir", none],
                 None, missing + ": No such file"),
                ("a directory as --config", ["--root", root, "--config", tmp, "--config-dir", none], None,
                 tmp + ": a directory"),
                ("--config \"\"", ["--root", root, "--config", "", "--config-dir", none], 2, "--config: an empty"),
                ("a FIFO as --config", ["--root", root, "--config", fifo, "--config-dir", none], None,
                 fifo + ": a FIFO"),
                ("/dev/zero as --config", ["--root", root, "--config", "/dev/zero", "--config-dir", none], None,
                 "/dev/zero: a character device"),
                ("a FIFO as a drop-in", ["--root", root, "--config", afile, "--config-dir", dropins], None,
                 os.path.join(dropins, "10-fifo.conf") + ": a FIFO"),
                ("a directory as a drop-in", ["--root", root, "--config", afile, "--config-dir", dirdrop], None,
                 os.path.join(dirdrop, "20-dir.conf") + ": a directory"),
                ("a file as --config-dir", ["--root", root, "--config", afile, "--config-dir", afile], None,
                 afile + ": not a directory"),
                ("--config-dir \"\"", ["--root", root, "--config", afile, "--config-dir", ""], 2,
                 "--config-dir: an empty"),
                ("--root \"\"", ["--root", "", "--config", afile, "--config-dir", none], 2, "--root: an empty"),
            ]:
                rc, out = run(base + args)
                ok = rc not in (0, "timeout") and (rc_want is None or rc == rc_want) and said in out
                stats["cases"] += 1
                stats["clear"] += ok
                check(ok, "%s %s: %s: refused, saying so" % (tool, SECTION[verb], name),
                      "exit %s, wanted %s and %r in:\n%s" % (rc, rc_want or "non-zero", said, out))
    return stats


def reload_fifo(tmp, root, none):
    """SIGHUP with the configuration replaced by a FIFO: the reload is refused at once and SIGTERM still ends
    the daemon."""
    conf = os.path.join(tmp, "live.conf")
    with open(conf, "w") as f:
        f.write("[irqd]\ninterval = 3600\n")
    log = open(os.path.join(tmp, "live.log"), "w+")
    d = subprocess.Popen([os.path.join(BUILD, "asios-irqd"), "--dry-run", "--root", root, "--config", conf,
                          "--config-dir", none], stdout=log, stderr=subprocess.STDOUT)
    try:
        text = lambda: open(log.name, errors="replace").read()  # noqa: E731
        started = False
        for _ in range(100):
            if "start:" in text() or d.poll() is not None:
                started = "start:" in text()
                break
            subprocess.run(["sleep", "0.1"])
        check(started, "asios-irqd starts on the fixture", text())
        os.unlink(conf)
        os.mkfifo(conf)
        d.send_signal(signal.SIGHUP)
        subprocess.run(["sleep", "1"])
        d.send_signal(signal.SIGTERM)
        try:
            rc = d.wait(timeout=10)
        except subprocess.TimeoutExpired:
            rc = "hang"
        check(rc == 0, "a FIFO as the configuration at SIGHUP: the reload is refused and SIGTERM ends the daemon",
              "exit %s:\n%s" % (rc, text()))
        check(conf + ": a FIFO" in text(), "the refused reload names the FIFO", text())
    finally:
        if d.poll() is None:
            d.kill()
            d.wait()
        log.close()


def main():
    for b in ["asiosctl"] + list(DAEMON.values()):
        if not need(os.path.join(BUILD, b)):
            return 1
    tmp = tempfile.mkdtemp(prefix="asios-redteam-config-")
    try:
        root = os.path.join(tmp, "root")
        untar(os.path.join(FIXTURES, "ai-2s8g.tar.gz"), root)
        entries = os.listdir(root)
        if len(entries) == 1 and os.path.isdir(os.path.join(root, entries[0])):
            root = os.path.join(root, entries[0])
        none = os.path.join(tmp, "no-dropins")
        bad = bad_contents(tmp, root, none)
        good_contents(tmp, root, none)
        st = structural(tmp, root, none)
        reload_fifo(tmp, root, none)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("# red-team config: %d cases in %d runs, %d rejected with file:line, %d changed anything"
          % (bad["cases"], bad["runs"], bad["rejected"], bad["changed"]))
    print("# red-team config files: %d cases, %d refused with a clear error, none may hang" % (st["cases"], st["clear"]))
    return done()


if __name__ == "__main__":
    sys.exit(main())
