# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""Run a daemon under its own systemd unit's capability bounding set, without systemd (which need not be PID 1
where the tests run): CapabilityBoundingSet= and NoNewPrivileges= of packages/NAME/NAME.service become a setpriv(1)
prefix. As root the bounding set is what limits the capabilities after exec, exactly as under the unit; as
another user the program holds no capability anyway and runs as it is. ASIOS_SOURCE (default: this tree) names
the tree whose unit files are read, so that old units can be tried against old programs."""
import os
import shutil
import subprocess

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.environ.get("ASIOS_SOURCE") or TOP


def unit_path(daemon):
    """packages/DAEMON/DAEMON.service of the source tree; for a unit that runs asiosctl (asios-net,
    asios-pcie@), packages/asiosctl/DAEMON.service"""
    own = os.path.join(SOURCE, "packages", daemon, daemon + ".service")
    return own if os.path.exists(own) else os.path.join(SOURCE, "packages", "asiosctl", daemon + ".service")


def all_caps():
    """every capability name this kernel and setpriv know, without the cap_ prefix"""
    p = subprocess.run(["setpriv", "--list-caps"], capture_output=True, text=True, check=True)
    return set(p.stdout.split())


def service_settings(path):
    """NAME -> [values] of the [Service] section, in order (continuation lines joined, comments dropped)"""
    out, section, pending = {}, None, ""
    for raw in open(path):
        line = pending + raw.rstrip("\n")
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "Service" and "=" in line:
            k, v = line.split("=", 1)
            out.setdefault(k.strip(), []).append(v.strip())
    return out


def bounding_set(daemon):
    """The unit's capability bounding set as lower-case names without cap_ (a set), None when the unit leaves
    it alone. systemd.exec(5): assignments add up (OR), "~" ones take away (AND NOT), an empty one resets to
    the empty set."""
    values = service_settings(unit_path(daemon)).get("CapabilityBoundingSet")
    if values is None:
        return None
    caps = None
    for v in values:
        if not v:
            caps = set()
            continue
        invert = v.startswith("~")
        names = {c.lower()[4:] if c.lower().startswith("cap_") else c.lower() for c in v.lstrip("~").split()}
        if invert:
            caps = (all_caps() if caps is None else caps) - names
        else:
            caps = (caps or set()) | names
    return caps


def no_new_privs(daemon):
    v = service_settings(unit_path(daemon)).get("NoNewPrivileges", ["no"])[-1]
    return v.lower() in ("yes", "true", "1", "on")


def prefix(daemon):
    """The argv prefix that runs a program as DAEMON's unit would, as far as capabilities go: [] when not root
    (no capability to take away). Raises RuntimeError as root without setpriv: a test would otherwise run with
    every capability and prove nothing about the unit."""
    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        raise RuntimeError("setpriv (util-linux) is needed to run the daemons under their units' capabilities")
    caps = bounding_set(daemon)
    out = ["setpriv", "--inh-caps=-all"]
    if caps is not None:
        out.append("--bounding-set=" + ",".join(["-all"] + ["+" + c for c in sorted(caps)]))
    if no_new_privs(daemon):
        out.append("--no-new-privs")
    return out + ["--"]


def command(daemon, argv):
    """ARGV run under DAEMON's unit capabilities"""
    return prefix(daemon) + list(argv)


def kernel_modes(root):
    """Give the files of the fixture machine ROOT the owner and write permission the kernel gives them: a capture
    stores its /proc and /sys files read-only (0444), where on a live kernel root owns them and may write
    (/proc/irq/N/smp_affinity_list is 0644), and a daemon without CAP_DAC_OVERRIDE, as its unit runs it, could
    not write them. Only as root, where the capabilities matter."""
    if os.geteuid() != 0:
        return
    for folder, dirs, files in os.walk(root):
        for n in dirs + files:
            path = os.path.join(folder, n)
            if os.path.islink(path):
                continue
            os.chown(path, 0, 0)
            os.chmod(path, os.stat(path).st_mode | 0o200)
