#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""The AppArmor profiles ASIOS ships (packages/apparmor), checked without a kernel: each compiles with Debian's
apparmor_parser against the system's abstractions and ours (a broken one is refused with its file and line),
ships in enforce mode, attaches to the path its program is installed at, grants no capability its unit's bounding
set lacks, and is installed and loaded by its package (debian/*.install, dh_apparmor). Every program ASIOS
installs in /usr/sbin or /usr/bin has one, except asios-load: its profile is applied by its warm unit
(AppArmorProfile=), since by hand it reads and writes what its user names. In a booted image
tests/images/guest/test-apparmor.sh checks them loaded, enforced and confining."""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import TOP, check, done, skip  # noqa: E402

AA = os.path.join(TOP, "packages", "apparmor")
# program -> (installed path, its unit or None)
PROGRAMS = {
    "asios-irqd": ("/usr/sbin/asios-irqd", "packages/asios-irqd/asios-irqd.service"),
    "asios-numad": ("/usr/sbin/asios-numad", "packages/asios-numad/asios-numad.service"),
    "asios-schedd": ("/usr/sbin/asios-schedd", "packages/asios-schedd/asios-schedd.service"),
    "asios-healthd": ("/usr/sbin/asios-healthd", "packages/asios-healthd/asios-healthd.service"),
    "asios-exporter": ("/usr/sbin/asios-exporter", "packages/asios-exporter/asios-exporter.service"),
    "asiosctl": ("/usr/bin/asiosctl", None),
}
PROFILE_RE = re.compile(r"^profile\s+(\S+)(?:\s+(/\S+))?(?:\s+flags=\(([^)]*)\))?\s*\{", re.M)


def parse(path, tmp):
    """apparmor_parser's verdict on PATH, compiled only (-Q: no kernel), ours and the system's abstractions"""
    return subprocess.run(["apparmor_parser", "-Q", "-K", "-I", AA, "-I", "/etc/apparmor.d", "-o",
                           os.path.join(tmp, "out"), path], capture_output=True, text=True)


def caps(text):
    """the capabilities a profile (children included) grants"""
    return set(re.findall(r"^\s*capability\s+(\w+)\s*,", text, re.M))


def unit_caps(unit):
    with open(os.path.join(TOP, unit), encoding="utf-8") as f:
        m = re.search(r"^CapabilityBoundingSet=(.*)$", f.read(), re.M)
    return {c[4:].lower() for c in (m.group(1).split() if m else [])}


def main():
    if not shutil.which("apparmor_parser"):
        skip("AppArmor profiles compile", "apparmor_parser is missing (tools/deps-packaging.list: apparmor)")
        return done()
    files = sorted(f for f in glob.glob(os.path.join(AA, "*")) if os.path.isfile(f))
    profiles = {}
    with tempfile.TemporaryDirectory() as tmp:
        for f in files:
            p = parse(f, tmp)
            check(p.returncode == 0, "%s compiles" % os.path.basename(f), p.stderr)
            with open(f, encoding="utf-8") as fh:
                text = fh.read()
            for name, attach, flags in PROFILE_RE.findall(text):
                profiles[name] = (os.path.basename(f), attach, flags, text)
        # a broken rule is refused, naming the file and the line
        bad = os.path.join(tmp, "usr.sbin.asios-irqd")
        with open(os.path.join(AA, "usr.sbin.asios-irqd"), encoding="utf-8") as fh:
            lines = fh.read().splitlines()
        at = next(i for i, ln in enumerate(lines) if ln.strip().startswith("network netlink"))
        lines.insert(at, "  /etc/asios/** rwz,")
        with open(bad, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
        p = parse(bad, tmp)
        check(p.returncode != 0 and ("line %d" % (at + 1)) in p.stderr and bad in p.stderr,
              "a profile with a bad rule is refused with its file and line", p.stderr)
    for name, (path, unit) in PROGRAMS.items():
        got = profiles.get(name)
        check(got is not None and got[1] == path, "%s has a profile attached to %s" % (name, path),
              "profiles: %s" % ", ".join("%s %s" % (k, v[1]) for k, v in profiles.items()))
        if got and unit:
            extra = caps(got[3]) - unit_caps(unit)
            check(not extra, "%s's profile grants no capability its unit's bounding set lacks" % name,
                  "extra: %s" % " ".join(sorted(extra)))
    warm = os.path.join(TOP, "packages", "asios-load", "asios-load-warm@.service")
    with open(warm, encoding="utf-8") as fh:
        check(re.search(r"^AppArmorProfile=-asios-load-warm$", fh.read(), re.M) and "asios-load-warm" in profiles,
              "asios-load-warm@.service applies its profile asios-load-warm")
    for name, (fname, _attach, flags, _text) in sorted(profiles.items()):
        check("complain" not in flags, "%s ships in enforce mode (%s)" % (name, fname), "flags=(%s)" % flags)
    # packaged and loaded on install
    with open(os.path.join(TOP, "debian", "rules"), encoding="utf-8") as fh:
        rules = fh.read()
    installs = ""
    for f in glob.glob(os.path.join(TOP, "debian", "*.install")):
        with open(f, encoding="utf-8") as fh:
            installs += fh.read()
    for f in files:
        base = os.path.basename(f)
        check("etc/apparmor.d/%s\n" % base in installs, "%s is installed by a package" % base)
        check(base in rules, "dh_apparmor loads %s on install" % base)
    for f in glob.glob(os.path.join(AA, "abstractions", "*")):
        check("etc/apparmor.d/abstractions/%s\n" % os.path.basename(f) in installs,
              "abstractions/%s is installed by a package" % os.path.basename(f))
    return done()


if __name__ == "__main__":
    sys.exit(main())
