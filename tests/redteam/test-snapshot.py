#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""`asiosctl snapshot` as a bug-report capture under attack (red-team findings 7, 8 and the tar option one).

A synthetic AI server (tests/fixtures/ai-2s8g) is given what real machines carry and a bug report must not: a
10,000-byte kernel command line followed by credentials of every kind (BMC passwords, URL user:password,
signed-URL signatures, tokens, a LUKS key, an iSCSI CHAP secret, UUIDs, a MAC address), a workload whose
command line and environment hold secrets, a CIFS mount with its password, a kernel configuration with a
secret in CONFIG_CMDLINE, PCI configuration space and VPD holding serial numbers, MAC addresses of every NIC.
Its capture must hold none of them, only text, no PCI `config`, no `address`; it must be mode 0600 whatever
the umask, must not write through a link planted at its name, and an output named like a tar option must
work as a name. What the planners read must survive: the capture's topology is the machine's. TAP output.
"""
import gzip
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import ASIOSCTL, FIXTURES, check, done, eq, need, untar, write  # noqa: E402

PAD = "asios.pad=" + "x" * 10000
# (parameter, its secret part): the secret must not survive; the name before '=' must
SECRET_PARAMS = [
    ("ipmi.pw=PwSecret1", "PwSecret1"),
    ("ipmi.password=PwSecret2", "PwSecret2"),
    ("BMC_CRED=admin:CredSecret3", "CredSecret3"),
    ("rd.luks.key=KeySecret4", "KeySecret4"),
    ("api.token=TokSecret5", "TokSecret5"),
    ("ds=nocloud;s=https://cloud:UrlSecret6@seed.example/nocloud/", "UrlSecret6"),
    ("initrd=https://s3.example/b/i.img?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAQWERTYUIOP123456"
     "%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=SigSecret7&X-Amz-Expires=300", "SigSecret7"),
    ("fw=https://acct.blob.example/c/fw.bin?sv=2022-11-02&sr=b&sig=SigSecret8", "SigSecret8"),
    ("cfg=https://cdn.example/cfg?Expires=1767225600&Signature=SigSecret9&Key-Pair-Id=K2JCJMDEHXQW5F", "SigSecret9"),
    ("boot.url=https://repo.example/x?token=TokSecret10", "TokSecret10"),
    ("netroot=iscsi:iuser:IscsiSecret11@10.0.0.1::3260::iqn.2026-01.example:disk", "IscsiSecret11"),
    ("root=UUID=c0ffee00-1234-4abc-8def-0123456789ab", "c0ffee00-1234-4abc-8def-0123456789ab"),
    ("BOOTIF=01-52-54-00-ab-cd-ef", "52-54-00-ab-cd-ef"),
    ("ip=10.0.0.9::10.0.0.1:255.255.255.0:gpu01:ens1np0:none:52:54:00:12:34:56", "52:54:00:12:34:56"),
]
INIT_ARGS = "-- --password OptSecret12"
OTHER_SECRETS = ["OptSecret12", "ProcSecret13", "EnvSecret14", "MountSecret15", "KconfigSecret16",
                 "SerialSecret17", "VpdSecret18", "AKIAQWERTYUIOP123456", "02:00:c0:ff:ee:01", "ReleaseSecret19"]
SECRETS = [s for _, s in SECRET_PARAMS] + OTHER_SECRETS
KCONFIG = ('CONFIG_NUMA=y\nCONFIG_CMDLINE="console=ttyS0 ipmi.password=KconfigSecret16"\n'
           'CONFIG_MODULE_SIG_KEY="certs/signing_key.pem"\nCONFIG_TRUSTED_KEYS=m\n# CONFIG_PREEMPT_RT is not set\n')


def unpack_fixture(tmp, name):
    untar(os.path.join(FIXTURES, name + ".tar.gz"), os.path.join(tmp, "src"))
    return os.path.join(tmp, "src", name)


def pci_functions(root):
    out = []
    for dirpath, dirnames, _ in os.walk(os.path.join(root, "sys/devices")):
        for d in dirnames:
            if re.fullmatch(r"[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]", d):
                out.append(os.path.join(dirpath, d))
    return out


def arm(root):
    """Give the machine what a real one carries and a bug report must not."""
    base = open(os.path.join(root, "proc/cmdline")).read().strip()
    cmdline = " ".join([base, PAD] + [p for p, _ in SECRET_PARAMS] + [INIT_ARGS]) + "\n"
    os.chmod(os.path.join(root, "proc/cmdline"), 0o644)
    write(os.path.join(root, "proc/cmdline"), cmdline)
    # a workload: the snapshot does not read processes; nothing of it may be captured
    write(os.path.join(root, "proc/4242/cmdline"), "\0".join(["python3", "train.py", "--" + "y" * 10000, "--token",
                                                            "ProcSecret13"]) + "\0")
    write(os.path.join(root, "proc/4242/environ"), "AWS_SECRET_ACCESS_KEY=EnvSecret14\0HOME=/root\0")
    write(os.path.join(root, "proc/4242/comm"), "python3\n")
    write(os.path.join(root, "proc/self/environ"), "BMC_PASSWORD=EnvSecret14\0")
    mounts = os.path.join(root, "proc/mounts")
    os.chmod(mounts, 0o644)
    with open(mounts, "a") as f:
        f.write("//fs.example/models /mnt/models cifs rw,vers=3.0,username=svc,password=MountSecret15,uid=0 0 0\n")
    with gzip.open(os.path.join(root, "proc/config.gz"), "wt") as f:
        f.write(KCONFIG)
    # the cgroup's other files: task lists and a release agent, not what a snapshot needs
    write(os.path.join(root, "sys/fs/cgroup/cgroup.procs"), "1\n4242\n")
    write(os.path.join(root, "sys/fs/cgroup/release_agent"), "/usr/bin/agent --key ReleaseSecret19\n")
    for fn in pci_functions(root):
        # configuration space with a Device Serial Number capability in its extended part (after the function's
        # own 256 standard bytes, whose registers the topology shows), VPD with a serial number
        cfg = os.path.join(fn, "config")
        std = open(cfg, "rb").read()[:256] if os.path.exists(cfg) else bytes(range(256))
        if os.path.exists(cfg):
            os.chmod(cfg, 0o644)
        with open(cfg, "wb") as f:
            f.write(std + b"\x03\x00\x01\x00" + b"SerialSecret17" + bytes(48))
        with open(os.path.join(fn, "vpd"), "wb") as f:
            f.write(b"\x82\x10GPU board\x90\x20SN\x0cVpdSecret18\x78")
        write(os.path.join(fn, "resource"), "0x00000000fb000000 0x00000000fbffffff 0x0000000000040200\n")
        write(os.path.join(fn, "serial_number"), "SerialSecret17\n")
        for sub in ("net",):
            d = os.path.join(fn, sub)
            if os.path.isdir(d):
                for ifname in os.listdir(d):
                    write(os.path.join(d, ifname, "address"), "02:00:c0:ff:ee:01\n")
                    write(os.path.join(d, ifname, "broadcast"), "ff:ff:ff:ff:ff:ff\n")
                    write(os.path.join(d, ifname, "phys_port_id"), "0200c0ffee01\n")
    write(os.path.join(root, "sys/devices/virtual/dmi/id/product_serial"), "SerialSecret17\n")
    write(os.path.join(root, "sys/devices/virtual/dmi/id/product_uuid"), "c0ffee00-1234-4abc-8def-0123456789ab\n")
    return cmdline


def snapshot(root, out, cwd=None, umask=None):
    def pre():
        if umask is not None:
            os.umask(umask)
    return subprocess.run([ASIOSCTL, "snapshot", "--root", root, "-o", out], capture_output=True, cwd=cwd,
                          preexec_fn=pre, timeout=300)


def members(path):
    """{name: bytes} of the regular files of the tarball, names without the top-level folder; the folder."""
    files, tops = {}, set()
    with tarfile.open(path) as t:
        for m in t.getmembers():
            tops.add(m.name.split("/")[0])
            if m.isfile():
                files[m.name.split("/", 1)[1] if "/" in m.name else m.name] = t.extractfile(m).read()
    return files, tops


def topology(root):
    p = subprocess.run([ASIOSCTL, "topology", "--json", "--root", root], capture_output=True, text=True)
    if p.returncode:
        return None
    t = json.loads(p.stdout)
    t.pop("root")
    t["kernel"].pop("cmdline")
    t["kernel"].pop("config_source", None)
    t["kernel"].pop("config", None)
    return t


def binary(data):
    """The offsets of the bytes no sysfs or procfs text has (control bytes but tab, newline, CR; DEL)."""
    return [i for i, b in enumerate(data) if (b < 0x20 and b not in (9, 10, 13)) or b == 0x7f]


def main():
    if not need(ASIOSCTL):
        return 1
    tmp = tempfile.mkdtemp(prefix="asios-redteam-")
    try:
        return run(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(tmp):
    root = unpack_fixture(tmp, "ai-2s8g")
    want = topology(root)
    cmdline = arm(root)

    # --- the capture of the armed machine (umask 0: the mode must not come from it)
    out = os.path.join(tmp, "cap.tar.xz")
    p = snapshot(root, out, umask=0)
    err = p.stderr.decode(errors="replace")
    check(p.returncode == 0, "snapshot of a machine with a 10,000-byte command line: exit 0",
          "exit %d\n%s" % (p.returncode, err[-3000:]))
    check("Sanitizer" not in err and "runtime error" not in err, "no sanitizer report", err[-3000:])
    if p.returncode != 0 or not os.path.exists(out):
        print("Bail out! no capture to inspect")
        return 1
    mode = stat.S_IMODE(os.lstat(out).st_mode)
    eq("the tarball is mode 0600 (umask 0)", "0o600", oct(mode))
    files, tops = members(out)
    eq("one top-level folder named after the file", {"cap"}, tops)

    # no secret anywhere: names, contents, the kernel configuration inside its gzip
    texts = {}
    for name, data in files.items():
        if name == "proc/config.gz":
            try:
                data = gzip.decompress(data)
            except OSError as e:
                check(False, "proc/config.gz is a gzip", str(e))
                continue
        texts[name] = data
    found = ["%s in %s" % (s, n) for n, d in texts.items() for s in SECRETS if s.encode() in d]
    found += ["%s in the name %s" % (s, n) for n in files for s in SECRETS if s in n]
    check(not found, "no secret survives in the capture (%d secrets, %d files)" % (len(SECRETS), len(files)),
          "\n".join(found[:40]))
    bad = ["%s: byte 0x%02x at %d" % (n, d[b[0]], b[0]) for n, d in texts.items() for b in [binary(d)] if b]
    check(not bad, "every file is text: no binary garbage, no stack bytes", "\n".join(bad[:20]))
    hw = [n for n, d in texts.items() if re.search(rb"\b([0-9a-f]{2}[:-]){5}[0-9a-f]{2}\b", d, re.I)]
    check(not hw, "no hardware address in any file", "\n".join(hw))
    uuid = [n for n, d in texts.items() if re.search(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                                                      d, re.I)]
    check(not uuid, "no UUID in any file", "\n".join(uuid))

    # what is left out
    base = {n: n.rsplit("/", 1)[-1] for n in files}
    eq("no PCI configuration space (config)", [], [n for n, b in base.items() if b == "config"])
    eq("no VPD, resource map or serial number files", [],
       [n for n, b in base.items() if b in ("vpd", "resource") or "serial" in b or "uuid" in b])
    eq("no MAC address files (address, broadcast, phys_port_id)", [],
       [n for n, b in base.items() if b in ("address", "broadcast", "phys_port_id")])
    eq("no process command line or environment", [],
       [n for n, b in base.items() if b in ("environ",) or re.match(r"proc/[0-9]+/", n)])
    eq("no cgroup task lists or release agent", [],
       [n for n, b in base.items() if b in ("cgroup.procs", "release_agent", "tasks")])

    # the kernel command line: whole, with each secret's name kept and its value redacted
    got = texts.get("proc/cmdline", b"").decode(errors="replace")
    check(PAD in got, "the 10,000-byte parameter is captured whole", "got %d bytes" % len(got))
    check(got.startswith(open(os.path.join(root, "proc/cmdline")).read().split(" asios.pad")[0]),
          "the parameters before it are kept", got[:200])
    check(got.endswith("\n") and got.count("\n") == 1, "one line, as the kernel writes it", repr(got[-80:]))
    for param, secret in SECRET_PARAMS:
        name = param.split("=", 1)[0]
        check(secret not in got and (name + "=") in got, "cmdline: %s redacted, its name kept" % name,
              [w for w in got.split() if w.startswith(name + "=")])
    for param in ("ipmi.pw", "ipmi.password", "BMC_CRED", "rd.luks.key", "api.token"):
        check(param + "=<redacted>" in got, "cmdline: %s=<redacted>" % param)
    check("--password <redacted>" in got, "cmdline: the init's --password argument redacted")
    check(len(got) <= 3 * len(cmdline) + 16, "the redacted command line stays bounded", len(got))

    # the kernel configuration: the secret inside CONFIG_CMDLINE gone, the options themselves kept
    kc = texts.get("proc/config.gz", b"").decode(errors="replace")
    check('CONFIG_MODULE_SIG_KEY="certs/signing_key.pem"' in kc and "CONFIG_TRUSTED_KEYS=m" in kc
          and "CONFIG_NUMA=y" in kc, "kernel configuration kept (build options are not secrets)", kc)
    check('CONFIG_CMDLINE="console=ttyS0 ipmi.password=<redacted>"' in kc, "CONFIG_CMDLINE redacted inside", kc)

    # what the planners read is all there
    x = os.path.join(tmp, "x")
    os.makedirs(x)
    untar(out, x)
    got_t = topology(os.path.join(x, "cap"))
    check(got_t is not None and got_t == want,
          "the capture's topology is the machine's (devices, IRQs, nodes, isolation, cgroup)",
          "" if got_t is None else "\n".join("%s differs" % k for k in want if want.get(k) != got_t.get(k)))

    # --- output names: one that reads as a tar option is a name; a link planted at the name is replaced
    root = unpack_fixture(tmp, "ws-2g-iso")  # (a smaller machine: only the names matter here)
    cwd = os.path.join(tmp, "cwd")
    os.makedirs(cwd)
    for name, top in (("-dash.tar.gz", "-dash"), ("--checkpoint=1.tar.gz", "--checkpoint=1"),
                      ("-Tlist.tar.xz", "-Tlist")):
        p = snapshot(root, name, cwd=cwd)
        path = os.path.join(cwd, name)
        ok = p.returncode == 0 and os.path.isfile(path)
        tops = members(path)[1] if ok else set()
        check(ok and tops == {top}, "an output named %s: written, its folder %s" % (name, top),
              "exit %d, folders %s\n%s" % (p.returncode, sorted(tops), p.stderr.decode(errors="replace")[-600:]))
    victim = os.path.join(tmp, "victim")
    write(victim, "precious\n")
    link = os.path.join(cwd, "linked.tar.gz")
    os.symlink(victim, link)
    p = snapshot(root, link)
    check(p.returncode == 0 and open(victim, "rb").read() == b"precious\n" and not os.path.islink(link)
          and stat.S_IMODE(os.lstat(link).st_mode) == 0o600,
          "a link planted at the output name is replaced, not written through", p.stderr.decode(errors="replace"))
    check(not [f for f in os.listdir(cwd) if f.startswith(".asios-snapshot-")], "no temporary file left behind",
          os.listdir(cwd))

    # --- the rules are data, and listed
    p = subprocess.run([ASIOSCTL, "snapshot", "--rules"], capture_output=True, text=True)
    check(p.returncode == 0 and all(r in p.stdout for r in ("secret-parameter", "url-userinfo", "uuid",
                                                            "hardware-address", "PCI configuration space")),
          "snapshot --rules lists what is copied, never copied and redacted", p.stdout[-2000:] + p.stderr)

    return done()


if __name__ == "__main__":
    sys.exit(main())
