#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""asiosctl audit: every kind of check and every comparison on a tree built here (one value each way, so every
check can fail), sshd's configuration read as sshd reads it, a value that cannot be read reported unknown and
never passed, bad rules named by FILE:LINE, drop-ins, the shipped rules on this machine, on a capture of it
(`asiosctl snapshot`) and on a real machine's tree (hwloc's 128-CPU Kunpeng: iommu.passthrough=1)."""
import glob
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import taplib  # noqa: E402
from taplib import SHARED, TOP, check, ctl, done, eq, need, untar, write  # noqa: E402

RULES = os.path.join(TOP, "packages", "asiosctl", "audit.rules")

# (id, check, expect, what the tree below gives): one passing and one failing rule per kind and comparison
CASES = [
    ("sysctl-ge-pass", "sysctl kernel.kptr_restrict", ">= 1", "pass"),
    ("sysctl-ge-fail", "sysctl kernel.kptr_restrict", ">= 2", "fail"),
    ("sysctl-le-fail", "sysctl kernel.perf_event_paranoid", "<= 1", "fail"),
    ("sysctl-eq-numeric", "sysctl kernel.perf_event_paranoid", "= 2.0", "pass"),
    ("sysctl-missing", "sysctl kernel.kexec_load_disabled", "= 1", "unknown"),
    ("sysctl-default", "sysctl kernel.io_uring_disabled", "<= 1", "pass"),
    ("file-contains", "file /sys/kernel/security/lsm", "contains apparmor", "pass"),
    ("file-contains-fail", "file /sys/kernel/security/lsm", "contains selinux", "fail"),
    ("file-lacks", "file /sys/kernel/security/lsm", "lacks selinux", "pass"),
    ("file-missing", "file /sys/module/module/parameters/sig_enforce", "= Y", "unknown"),
    ("lockdown-in", "lockdown", "in integrity|confidentiality", "pass"),
    ("lockdown-eq-fail", "lockdown", "= confidentiality", "fail"),
    ("cmdline-ne", "cmdline mitigations", "!= off", "fail"),
    ("cmdline-absent", "cmdline iommu.passthrough", "!= 1", "pass"),
    ("cmdline-bare", "cmdline slab_nomerge", "= (present)", "pass"),
    ("kconfig-eq", "kconfig CONFIG_MODULE_SIG", "= y", "pass"),
    ("kconfig-not-set", "kconfig CONFIG_MODULE_SIG_FORCE", "= y", "fail"),
    ("kconfig-quoted-list", "kconfig CONFIG_LSM", "contains apparmor", "pass"),
    ("sshd-first", "sshd KexAlgorithms", "first mlkem768x25519-sha256|sntrup761x25519-sha512@openssh.com", "pass"),
    ("sshd-first-fail", "sshd kexalgorithms", "first curve25519-sha256", "fail"),
    ("sshd-included-wins", "sshd passwordauthentication", "= no", "pass"),
    ("sshd-match-ignored", "sshd x11forwarding", "= no", "pass"),
    ("sshd-unset", "sshd permitrootlogin", "in no|prohibit-password", "unknown"),
]


def tree(root):
    """a machine as files: the values the CASES judge"""
    write(os.path.join(root, "proc/sys/kernel/kptr_restrict"), "1\n")
    write(os.path.join(root, "proc/sys/kernel/perf_event_paranoid"), "2\n")
    write(os.path.join(root, "proc/sys/kernel/osrelease"), "6.12.9-asios\n")
    write(os.path.join(root, "sys/kernel/security/lsm"), "lockdown,capability,landlock,yama,apparmor,bpf\n")
    write(os.path.join(root, "sys/kernel/security/lockdown"), "none [integrity] confidentiality\n")
    write(os.path.join(root, "proc/cmdline"), "BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro mitigations=off slab_nomerge\n")
    write(os.path.join(root, "boot/config-6.12.9-asios"),
          "CONFIG_MODULE_SIG=y\n# CONFIG_MODULE_SIG_FORCE is not set\n"
          'CONFIG_LSM="landlock,lockdown,yama,apparmor,bpf"\n')
    write(os.path.join(root, "etc/ssh/sshd_config"),
          "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication yes\nX11Forwarding no\n"
          "Match User backup\n\tX11Forwarding yes\n")
    write(os.path.join(root, "etc/ssh/sshd_config.d/50-asios.conf"),
          "# the first value obtained wins\nKexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256\n"
          "PasswordAuthentication no\n")
    write(os.path.join(root, "etc/ssh/sshd_config.d/60-later.conf"), "KexAlgorithms curve25519-sha256\n")


def rules_text():
    out = []
    for rid, chk, exp, _ in CASES:
        out.append("[%s]\ncheck = %s\nexpect = %s\nseverity = medium\n" % (rid, chk, exp))
        if rid == "sysctl-default":
            out.append("default = 0\n")
    return "\n".join(out)


def audit(*args):
    p = ctl("audit", "--json", "--fail-on", "none", *args)
    try:
        return p, json.loads(p.stdout)
    except ValueError:
        return p, {}


def test_kinds(tmp):
    root = os.path.join(tmp, "m")
    tree(root)
    rules = os.path.join(tmp, "cases.rules")
    write(rules, rules_text())
    p, j = audit("--root", root, "--rules", rules, "--rules-dir", os.path.join(tmp, "none"))
    got = {r["id"]: r for r in j.get("rules", [])}
    for rid, chk, exp, want in CASES:
        r = got.get(rid, {})
        check(r.get("result") == want, "%s: %s %s -> %s" % (rid, chk, exp, want),
              "%s\n%s" % (r, p.stderr))
    unknown = [r for r in j.get("rules", []) if r["result"] == "unknown"]
    check(unknown and all(r["found"].startswith("(") for r in unknown) and
          j["summary"]["medium"]["unknown"] == len(unknown) and
          j["summary"]["medium"]["pass"] + j["summary"]["medium"]["fail"] + len(unknown) == len(CASES),
          "a value that cannot be read is unknown with the reason, counted apart from passes and failures",
          json.dumps(j.get("summary")))
    p = ctl("audit", "--root", root, "--rules", rules, "--rules-dir", os.path.join(tmp, "none"))
    check(p.returncode == 0 and "FAIL" in p.stdout and "SEVERITY" in p.stdout,
          "text report: failures shown, summary table, exit 0 when nothing high fails", p.stdout[-600:] + p.stderr)
    p = ctl("audit", "--root", root, "--rules", rules, "--rules-dir", os.path.join(tmp, "none"), "--fail-on",
            "medium")
    eq("--fail-on medium: a failing medium rule makes the exit status 1", 1, p.returncode)


def test_bad_rules(tmp):
    cases = [
        ("[a]\ncheck = sysctl x\nexpect = ~ 1\nseverity = low\n", ":3: expect = ~ 1"),
        ("[a]\ncheck = registry x\nexpect = = 1\nseverity = low\n", ":2: check = registry x"),
        ("[a]\ncheck = sysctl x\nexpect = >= many\nseverity = low\n", ":3: expect = >= many: not a number"),
        ("[a]\ncheck = file relative/path\nexpect = = 1\nseverity = low\n", ":2: check = file relative/path"),
        ("[a]\ncheck = sysctl x\nexpect = = 1\nseverity = grave\n", ":4: severity"),
        ("[a]\ncheck = sysctl x\nexpect = = 1\nseverity = low\ncolour = red\n", ':5: unknown key "colour"'),
        ("[a]\ncheck = sysctl x\nseverity = low\n", ":2: rule [a] has no expect"),
        ("[a b]\ncheck = sysctl x\n", ":2: [a b]: a rule ID"),
        ("check = sysctl x\n", ':1: "check" outside a [RULE] section'),
    ]
    for i, (text, want) in enumerate(cases):
        f = os.path.join(tmp, "bad%d.rules" % i)
        write(f, text)
        p = ctl("audit", "--rules", f, "--rules-dir", os.path.join(tmp, "none"))
        check(p.returncode == 2 and (f + want) in p.stderr and not p.stdout,
              "bad rules refused as FILE:LINE, nothing judged: %s" % want, p.stderr + p.stdout[:300])
    p = ctl("audit", "--rules", os.path.join(tmp, "missing.rules"))
    check(p.returncode == 2 and "missing.rules" in p.stderr, "a missing rules file is an error naming it", p.stderr)


def test_dropins(tmp):
    root = os.path.join(tmp, "m")
    d = os.path.join(tmp, "audit.d")
    write(os.path.join(d, "50-site.conf"), "[sysctl-ge-fail]\nenabled = no\n\n[sysctl-le-fail]\nexpect = <= 2\n")
    write(os.path.join(d, "60-more.conf"), "[site-extra]\ncheck = sysctl kernel.kptr_restrict\nexpect = = 1\n"
          "severity = high\n")
    write(os.path.join(d, "70-broken.conf.off"), "not even ini\n")
    p, j = audit("--root", root, "--rules", os.path.join(tmp, "cases.rules"), "--rules-dir", d)
    got = {r["id"]: r for r in j.get("rules", [])}
    check("sysctl-ge-fail" not in got and got.get("sysctl-le-fail", {}).get("result") == "pass" and
          got.get("site-extra", {}).get("defined_at") == os.path.join(d, "60-more.conf") + ":2",
          "drop-ins in name order: a rule turned off, one's expectation changed, one added (its origin named)",
          "%s %s" % (sorted(got), p.stderr))
    write(os.path.join(d, "80-incomplete.conf"), "[half]\ncheck = sysctl kernel.kptr_restrict\n")
    p = ctl("audit", "--root", root, "--rules", os.path.join(tmp, "cases.rules"), "--rules-dir", d)
    check(p.returncode == 2 and "80-incomplete.conf:2: rule [half] has no expect" in p.stderr,
          "an incomplete rule in a drop-in is named by the drop-in's FILE:LINE", p.stderr)


def test_shipped(tmp):
    p, j = audit("--rules", RULES, "--rules-dir", os.path.join(tmp, "none"))
    n = sum(sum(c.values()) for c in j.get("summary", {}).values())
    check(p.returncode == 0 and n == len(j.get("rules", [])) >= 30 and all(
        r["source"] and r["title"] for r in j["rules"]),
          "the shipped rules on this machine: %d rules judged, each with a title and a source" % n, p.stderr)
    conflicts = [r["id"] for r in j.get("rules", []) if r.get("ai_workloads")]
    check({"io-uring", "perf-paranoid", "lockdown", "iommu-passthrough"} <= set(conflicts),
          "the rules that conflict with AI workloads say what ASIOS chose", str(conflicts))
    live = {r["id"]: r for r in j.get("rules", [])}
    cap, sp = taplib.capture("/", tmp, "audit")
    pc, jc = audit("--root", cap, "--rules", RULES, "--rules-dir", os.path.join(tmp, "none"))
    same = [k for k, r in live.items() if r["check"] not in ("sshd", "unit")]
    differ = ["%s: %s vs %s" % (k, live[k]["found"], r["found"]) for k, r in
              ((k, {x["id"]: x for x in jc.get("rules", [])}.get(k, {})) for k in same) if r.get("found") != live[k]["found"]]
    check(sp.returncode == 0 and pc.returncode == 0 and not differ,
          "a capture of this machine (asiosctl snapshot) audits as the machine does (%d rules; sshd and units are "
          "not captured)" % len(same), "\n".join(differ) + sp.stderr + pc.stderr)


def test_units(tmp):
    if not shutil.which("systemd-analyze"):
        taplib.skip("unit exposure through systemd-analyze", "systemd-analyze is not installed")
        return
    root = os.path.join(tmp, "u")
    os.makedirs(os.path.join(root, "etc/systemd/system"))
    shutil.copy(os.path.join(TOP, "packages/asios-irqd/asios-irqd.service"), os.path.join(root, "etc/systemd/system"))
    write(os.path.join(root, "etc/systemd/system/bare.service"), "[Service]\nExecStart=/bin/true\n")
    rules = os.path.join(tmp, "units.rules")
    write(rules, "[irqd]\ncheck = unit asios-irqd.service\nexpect = <= 2.5\nseverity = low\n\n"
          "[bare]\ncheck = unit bare.service\nexpect = <= 2.5\nseverity = low\n\n"
          "[gone]\ncheck = unit nosuch.service\nexpect = <= 2.5\nseverity = low\n")
    p, j = audit("--root", root, "--rules", rules, "--rules-dir", os.path.join(tmp, "none"))
    got = {r["id"]: (r["result"], r["found"]) for r in j.get("rules", [])}
    check(got.get("irqd", ("",))[0] == "pass" and got.get("bare", ("",))[0] == "fail" and
          float(got["bare"][1]) > 9 and got.get("gone") == ("unknown", "(the unit is not installed)"),
          "unit exposure by systemd-analyze --offline: asios-irqd's sandbox passes, a bare unit fails, a missing one "
          "is unknown", str(got) + p.stderr)


def test_real_tree(tmp):
    tb = glob.glob(os.path.join(SHARED, "fixtures", "hwloc-linux", "128arm-2pa2n8cluster4co.tar.bz2"))
    if not tb:
        taplib.skip("a real machine's tree: iommu.passthrough=1 fails its rule", "shared fixtures not found")
        return
    d = os.path.join(tmp, "kunpeng")
    untar(tb[0], d)
    root = os.path.join(d, os.listdir(d)[0])
    p, j = audit("--root", root, "--rules", RULES, "--rules-dir", os.path.join(tmp, "none"))
    got = {r["id"]: r for r in j.get("rules", [])}
    r = got.get("iommu-passthrough", {})
    known = [k for k, v in got.items() if v["result"] != "unknown"]
    check(r.get("result") == "fail" and r.get("found") == "1" and set(known) == {"iommu-passthrough", "mitigations"},
          "a real machine's tree (128-CPU Kunpeng 920): its command line's iommu.passthrough=1 fails, the rest it "
          "holds no files for is unknown", "%s %s %s" % (r, known, p.stderr))


def main():
    if not need(taplib.ASIOSCTL):
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        test_kinds(tmp)
        test_bad_rules(tmp)
        test_dropins(tmp)
        test_units(tmp)
        test_real_tree(tmp)
        test_shipped(tmp)
    return done()


if __name__ == "__main__":
    sys.exit(main())
