#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""asios-base's auditd rules (packages/asios-base/audit.rules) loaded into this machine's kernel audit, each rule
triggered and its event found with ausearch: a module load attempt, a debugger attaching, a write to ASIOS's
configuration and to the model cache, an accelerator node opened by a program not on the allow list — and not
by one that is (a site's allow rule in a file before ours, as docs/security.md says). Each check also looks for
the event before the rules are loaded, so it proves the rule and not some other one.

Runs Debian's auditd in the foreground with its log in a temporary folder when no auditd runs; with one
running it uses that one and removes only its own rules afterwards. Needs root, auditd and a kernel with audit.

--booted: in a booted ASIOS image, whose auditd loaded the rules at boot (augenrules, /etc/audit/rules.d/
60-asios.rules from asios-base): checks that every rule is loaded, triggers each and finds its event; the site's
allow rule is put before ours with auditctl -A (and removed); nothing else is loaded or removed."""
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import TOP, check, done, skip  # noqa: E402

RULES = os.path.join(TOP, "packages", "asios-base", "audit.rules")
KEYS = ("asios-module", "asios-ptrace", "asios-config", "asios-model-write", "asios-accel-open")
NAMES = {
    "asios-module": "a kernel module load attempt (finit_module)",
    "asios-ptrace": "a debugger attaching to a process (PTRACE_ATTACH)",
    "asios-config": "a write under /etc/asios",
    "asios-model-write": "a write to the model cache (/var/cache/asios-load)",
    "asios-accel-open": "an accelerator node (/dev/nvidia0) opened by cat, not on the allow list",
}
AUDITD_CONF = """log_file = {log}
log_format = ENRICHED
flush = INCREMENTAL_ASYNC
freq = 1
max_log_file = 64
num_logs = 1
max_log_file_action = ROTATE
space_left = 10
space_left_action = IGNORE
admin_space_left = 5
admin_space_left_action = IGNORE
disk_full_action = IGNORE
disk_error_action = IGNORE
local_events = yes
write_logs = yes
"""
libc = ctypes.CDLL(None, use_errno=True)
BOOTED = "--booted" in sys.argv[1:]


# finit_module's number: x86-64's table, or the generic one of arm64 and riscv64 (include/uapi/asm-generic/unistd.h)
FINIT_MODULE = {"x86_64": 313, "aarch64": 273, "riscv64": 273}[os.uname().machine]


def sh(*cmd, **kw):
    return subprocess.run(list(cmd), capture_output=True, text=True, **kw)


def status():
    """auditctl -s as a dict; None when audit cannot be controlled here"""
    p = sh("auditctl", "-s")
    if p.returncode != 0:
        return None
    return dict(line.split(" ", 1) for line in p.stdout.splitlines() if " " in line)


class Auditd:
    """this machine's auditd, or a private one in the foreground logging to TMP"""

    def __init__(self, tmp):
        self.tmp, self.proc, self.made = tmp, None, []
        st = status()
        self.enabled_before = st.get("enabled", "0")
        self.log = "/var/log/audit/audit.log"
        if st.get("pid", "0") == "0":
            with open(os.path.join(tmp, "auditd.conf"), "w") as f:
                f.write(AUDITD_CONF.format(log=os.path.join(tmp, "audit.log")))
            os.chmod(os.path.join(tmp, "auditd.conf"), 0o640)
            self.log = os.path.join(tmp, "audit.log")
            self.proc = subprocess.Popen(["auditd", "-n", "-c", tmp], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
            for _ in range(50):
                if status().get("pid", "0") != "0":
                    break
                time.sleep(0.1)

    def close(self):
        if BOOTED:
            sh("auditctl", "-D", "-k", "asios-test-allow")
            return
        for key in KEYS + ("asios-accel-allow",):
            sh("auditctl", "-D", "-k", key)
        sh("auditctl", "-D", "-k", "asios-test-allow")
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)
            sh("auditctl", "-e", self.enabled_before)


def search(log, key, since):
    """ausearch's interpreted records of KEY in LOG since SINCE (a time.time()), as text"""
    t = time.localtime(since)
    p = sh("ausearch", "-i", "-if", log, "-k", key, "--start", time.strftime("%m/%d/%y", t),
           time.strftime("%H:%M:%S", t), env=dict(os.environ, LC_ALL="C"))
    return p.stdout if p.returncode == 0 else ""


def triggers(tmp, allowed):
    """one event of each kind; the allowed program opens the accelerator node too"""
    fd = os.open("/dev/null", os.O_RDONLY)
    libc.syscall(FINIT_MODULE, fd, b"", 0)  # refused (not a module), but it is the call that is audited
    os.close(fd)
    child = subprocess.Popen(["sleep", "30"])
    if libc.ptrace(16, child.pid, None, None) == 0:  # PTRACE_ATTACH
        os.waitpid(child.pid, 0)
        libc.ptrace(17, child.pid, None, None)  # PTRACE_DETACH
    child.kill()
    child.wait()
    for d in ("/etc/asios", "/var/cache/asios-load"):
        p = os.path.join(d, ".audit-test")
        with open(p, "w") as f:
            f.write("x")
        os.unlink(p)
    for prog in ("cat", allowed):
        sh(prog, "/dev/nvidia0")


def triggers_in_child(tmp, allowed):
    """triggers() in a process forked now: the kernel gives a task an audit context at fork only once audit has
    been enabled since boot, so this test's own process, started before its private auditd on a machine where
    audit had never been on, would make no events of its own (only its children would)"""
    pid = os.fork()
    if pid == 0:
        try:
            triggers(tmp, allowed)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def setup_paths(tmp):
    """what the rules watch, made when missing (removed by cleanup): the folders, a /dev/nvidia0 node"""
    made = []
    for d in ("/etc/asios", "/var/cache/asios-load"):
        if not os.path.isdir(d):
            os.makedirs(d)
            made.append(d)
    if not os.path.exists("/dev/nvidia0"):
        os.mknod("/dev/nvidia0", 0o600 | 0o020000, os.makedev(195, 0))  # a node without its driver: ENXIO
        made.append("/dev/nvidia0")
    allowed = os.path.join(tmp, "allowed-cat")
    shutil.copy("/usr/bin/cat", allowed)
    return made, allowed


def cleanup(made):
    for p in reversed(made):
        if os.path.isdir(p):
            os.rmdir(p)
        else:
            os.unlink(p)


def run(tmp):
    made, allowed = setup_paths(tmp)
    a = Auditd(tmp)
    try:
        run_checks(tmp, a, allowed)
    finally:
        a.close()
        cleanup(made)


def load_rules(tmp, allowed):
    """the site's allow rule first, then ours (loaded at boot already with --booted: the allow rule is
    prepended); True when all went in"""
    rule = "never,exit -F arch=b64 -S openat,openat2 -F dir=/dev -F exe=%s -k asios-test-allow" % allowed
    if BOOTED:
        p = sh("auditctl", "-A", *rule.split())
        listed = sh("auditctl", "-l").stdout
        # syscall rules list as "-F key=KEY", watches as "-k KEY"
        missing = [k for k in KEYS if "key=%s" % k not in listed and "-k %s" % k not in listed]
        check(not missing, "the shipped rules were loaded at boot (auditctl -l lists every key)",
              "missing: %s\n%s" % (" ".join(missing), listed[-1500:]))
        return p.returncode == 0
    # a site's allow rule, in a file sorting before ours: loaded first, so it comes first
    path = os.path.join(tmp, "55-asios-local.rules")
    with open(path, "w") as f:
        f.write("-a %s\n" % rule)
    p1, p2 = sh("auditctl", "-R", path), sh("auditctl", "-R", RULES)
    check(p1.returncode == 0 and p2.returncode == 0, "audit.rules loads into the kernel (auditctl -R)",
          p1.stderr + p2.stderr)
    return True


def run_checks(tmp, a, allowed):
    before = {}
    if not BOOTED:
        t0 = time.time()
        triggers_in_child(tmp, allowed)
        time.sleep(1.5)
        before = {k: search(a.log, k, t0) for k in KEYS}
    ok = load_rules(tmp, allowed)
    check(ok, "the site's allow rule goes before ours")
    t1 = time.time()
    time.sleep(1.1)  # ausearch's --start has a resolution of a second
    triggers_in_child(tmp, allowed)
    time.sleep(2)
    for key in KEYS:
        ev = search(a.log, key, t1 + 1)
        if BOOTED:
            check(ev, "%s: found by ausearch -k %s" % (NAMES[key], key), ev[-800:] or "(none)")
        else:
            check(ev and not before[key], "%s: found by ausearch -k %s, and not before the rules" % (NAMES[key], key),
                  "after: %s\nbefore: %s" % (ev[-800:] or "(none)", before[key][-400:] or "(none)"))
    ev = search(a.log, "asios-accel-open", t1 + 1)
    check("exe=/usr/bin/cat" in ev and allowed not in ev,
          "a program on the allow list opens the accelerator node without an event", ev[-1200:])


def syscall_names(path):
    """(line number, name) of every system call a rule of PATH names with -S"""
    names = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            words = line.split()
            names += [(n, name) for i, w in enumerate(words[:-1]) if w == "-S" for name in words[i + 1].split(",")]
    return names


def portable_checks():
    """the rules load on every architecture ASIOS ships: auditctl refuses a rule naming a system call the
    architecture's table lacks (arm64 and riscv64 share the generic table: no open, readlink, rename...), and
    augenrules stops at that line. audit 4.0 (Debian 13) turns a syscall rule's `-F perm=` into its read and write
    classes' system calls by name, from one list for every architecture, so a perm= rule fails there too"""
    with open(RULES) as f:
        perm = [n for n, line in enumerate(f, 1) if line.startswith("-a") and " perm=" in line]
    check(not perm, "audit.rules: no syscall rule filters on -F perm= (audit 4 names syscalls arm64/riscv64 lack)",
          "%s: lines %s" % (RULES, perm))
    names = syscall_names(RULES)
    arches = ["x86_64", "aarch64"]
    if sh("ausyscall", "riscv64", "openat", "--exact").returncode == 0:
        arches.append("riscv64")  # where ausyscall has riscv64's table (Debian 13's does; Debian 12's not)
    for arch in arches:
        bad = ["%s:%d: %s" % (os.path.basename(RULES), n, name) for n, name in names
               if sh("ausyscall", arch, name, "--exact").returncode != 0]
        check(names and not bad, "audit.rules: the %d system-call names of its rules all exist on %s (ausyscall)" %
              (len(names), arch), "unknown on %s: %s" % (arch, ", ".join(bad)))


def main():
    if shutil.which("ausyscall"):
        portable_checks()
    else:
        skip("audit.rules names only system calls every architecture has", "ausyscall is not installed (auditd)")
    if os.geteuid() != 0:
        skip("auditd rules triggered and found", "needs root")
        return done()
    if not (shutil.which("auditd") or os.path.exists("/sbin/auditd")) or not shutil.which("ausearch"):
        skip("auditd rules triggered and found", "auditd is not installed (tools/deps.list)")
        return done()
    if status() is None:
        skip("auditd rules triggered and found", "the kernel's audit cannot be controlled here (no CONFIG_AUDIT, "
             "or no CAP_AUDIT_CONTROL)")
        return done()
    with tempfile.TemporaryDirectory() as tmp:
        run(tmp)
    return done()


if __name__ == "__main__":
    sys.exit(main())
