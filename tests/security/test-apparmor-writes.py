#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""The AppArmor profiles let each program write what its plans write, read without a kernel: every file and sysfs
or procfs write of the golden plans (tests/golden/*-plan.json of the synthetic servers, sysfs paths resolved
through their fixture trees, as the kernel resolves them before AppArmor looks) and every file ASIOS's domains
write in /etc (the ASIOS_* paths of packages/libasios/include/asios/*.h), and the configuration space of each PCI
function whose Device Control a plan sets, is granted `w` by asiosctl's profile, which applies plans of every domain; and the daemons' profiles grant their own domains' writes (asios-irqd: irq and
nic, asios-numad: numa, asios-schedd: isolate). The rules are read from packages/apparmor with our abstractions
included, AppArmor's globbing (*, **, ?, {a,b}, [..]) and the variables of tunables/global. A profile that lacks a
rule fails here, not on a customer's machine with AppArmor enforcing. TAP."""
import glob
import json
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import FIXTURES, TOP, check, done, untar  # noqa: E402

AA = os.path.join(TOP, "packages", "apparmor")
VARS = {"PROC": ["/proc"], "sys": ["/sys"], "run": ["/run", "/var/run"], "HOME": ["/home/*", "/root"]}
RULE = re.compile(r"^\s*(deny\s+)?(?:owner\s+)?((?:/|@\{)\S*)\s+([a-zA-Z]+)\s*,")
DAEMONS = {"usr.sbin.asios-irqd": ("irq", "nic"), "usr.sbin.asios-numad": ("numa",),
           "usr.sbin.asios-schedd": ("isolate",)}
# /etc files a domain writes only where their folder exists (the machine boots with GRUB): no mkdir to grant
NO_MKDIR = ("/etc/default/grub.d",)


def lines(name):
    """the profile NAME's lines, our abstractions included where they are"""
    out = []
    with open(os.path.join(AA, name), encoding="utf-8") as f:
        for ln in f:
            m = re.match(r"^\s*include\s+<(abstractions/asios-[\w-]+)>", ln)
            out += lines(m.group(1)) if m else [ln]
    return out


def glob_re(pattern):
    """AppArmor's path glob as a regular expression"""
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            out, i = out + ".*", i + 2
            continue
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "{":
            j = pattern.index("}", i)
            out += "(?:" + "|".join(glob_re(p) for p in pattern[i + 1:j].split(",")) + ")"
            i = j
        elif c == "[":
            j = pattern.index("]", i)
            out += pattern[i:j + 1]
            i = j
        else:
            out += re.escape(c)
        i += 1
    return out


def expand(path):
    """PATH with its @{VAR}s replaced, every combination"""
    m = re.search(r"@\{(\w+)\}", path)
    if not m:
        return [path]
    return [e for v in VARS.get(m.group(1), []) for e in expand(path[:m.start()] + v + path[m.end():])]


def rules(name):
    """(allowed write patterns, denied write patterns) of profile NAME as compiled regular expressions"""
    allow, deny = [], []
    for ln in lines(name):
        m = RULE.match(ln)
        if not m or not set(m.group(3)) & set("wa"):
            continue
        for p in expand(m.group(2)):
            (deny if m.group(1) else allow).append(re.compile(glob_re(p.replace("//", "/")) + r"\Z"))
    return allow, deny


def writable(r, path):
    allow, deny = r
    return any(a.match(path) for a in allow) and not any(d.match(path) for d in deny)


def fixture_root(tmp, name):
    d = os.path.join(tmp, name)
    if not os.path.isdir(d):
        untar(os.path.join(FIXTURES, name + ".tar.gz"), d)
    return os.path.join(d, name)


def resolved(root, path):
    """PATH as the kernel names it: sysfs links followed inside the fixture tree ROOT"""
    if not path.startswith("/sys/"):
        return path
    real = os.path.realpath(os.path.join(root, path.lstrip("/")))
    path = "/" + os.path.relpath(real, root) if real.startswith(root + os.sep) else path
    # the synthetic trees hold /sys/block/DISK as a folder; the kernel's is a link into the device's folder,
    # /sys/devices/<bus path>/block/DISK (sysfs-block ABI), whose bus path a rule can only match with **
    m = re.match(r"^/sys/block/([^/]+)/(.*)$", path)
    return "/sys/devices/BUS/block/%s/%s" % m.groups() if m else path


def plan_writes(tmp):
    """{domain: set of paths}: the file and write actions of the golden plans of the fixtures in tests/fixtures"""
    out = {}
    names = [os.path.basename(f)[:-7] for f in glob.glob(os.path.join(FIXTURES, "*.tar.gz"))]
    for name in names:
        root = fixture_root(tmp, name)
        for f in glob.glob(os.path.join(TOP, "tests", "golden", name + ".*-plan.json")):
            domain = os.path.basename(f)[len(name) + 1:-len("-plan.json")]
            with open(f, encoding="utf-8") as fh:
                plan = json.load(fh)
            for a in plan.get("actions", []):
                if a.get("kind") in ("file", "write") and a.get("path", "").startswith(("/etc/", "/proc/", "/sys/")):
                    out.setdefault(domain, set()).add(resolved(root, a["path"]))
                elif a.get("kind") == "pcie":
                    # a PCI function's Device Control, in its configuration space; only asiosctl writes it
                    # (asios-irqd lacks CAP_SYS_ADMIN, without which the registers cannot even be read)
                    cfg = "/sys/bus/pci/devices/%s/config" % a["path"].split("/")[0]
                    out.setdefault(domain + "-pcie", set()).add(resolved(root, cfg))
    return out


def etc_files():
    """the /etc files ASIOS's domains write (not their policy files, which are the administrator's)"""
    out = set()
    for h in glob.glob(os.path.join(TOP, "packages", "libasios", "include", "asios", "*.h")):
        with open(h, encoding="utf-8") as f:
            for m in re.finditer(r'#define ASIOS_\w+ "(/etc/[^"]+)"', f.read()):
                if not m.group(1).startswith("/etc/asios/"):
                    out.add(m.group(1))
    return out


def main():
    with tempfile.TemporaryDirectory(prefix="asios-aa-") as tmp:
        writes = plan_writes(tmp)
    files = etc_files()
    check(len(files) >= 6 and sum(len(v) for v in writes.values()) >= 50,
          "%d /etc files of the domains and %d paths written by golden plans found" %
          (len(files), sum(len(v) for v in writes.values())), {"files": sorted(files), "domains": sorted(writes)})
    ctl = rules("usr.bin.asiosctl")
    for path in sorted(files):
        check(writable(ctl, path), "asiosctl may write %s" % path)
        folder = os.path.dirname(path)
        if folder not in NO_MKDIR:
            check(writable(ctl, folder + "/"), "asiosctl may make %s/ (apply makes a missing folder)" % folder)
    for domain in sorted(writes):
        missing = sorted(p for p in writes[domain] if not writable(ctl, p))
        check(not missing, "asiosctl may write the %d paths of the %s golden plans" % (len(writes[domain]), domain),
              missing[:10])
    for profile, domains in sorted(DAEMONS.items()):
        r = rules(profile)
        paths = set().union(*(writes.get(d, set()) for d in domains))
        missing = sorted(p for p in paths if not writable(r, p))
        check(paths and not missing, "%s may write the %d paths of its golden plans (%s)" %
              (profile.split(".")[-1], len(paths), ", ".join(domains)), missing[:10])
    return done()


if __name__ == "__main__":
    sys.exit(main())
