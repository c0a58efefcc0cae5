#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""asios-irqd as a daemon: READY over NOTIFY_SOCKET, placement at start, a new IRQ placed by the periodic check,
SIGHUP with a bad configuration (kept running, file:line logged) and a good one, irqbalance refusal and explicit
take-over, clean stop on SIGTERM; and a real --once run on this machine followed by asiosctl irq revert. TAP."""
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import ASIOSCTL, BUILD, FIXTURES, add_proc, check, done, need, need_root, read, terminate, untar, wait_for  # noqa: E402
import unitcaps  # noqa: E402

IRQD = os.path.join(BUILD, "asios-irqd")
# as its systemd unit runs it: with the unit's capability bounding set (tests/unitcaps.py)
UNIT = unitcaps.prefix("asios-irqd")


def main():
    if not need(IRQD) or not need(ASIOSCTL):
        return 1
    tmp = tempfile.mkdtemp()
    try:
        untar(os.path.join(FIXTURES, "ws-2g-iso.tar.gz"), tmp)
        root = os.path.join(tmp, "ws-2g-iso")
        unitcaps.kernel_modes(root)
        conf = os.path.join(tmp, "irqd.conf")
        with open(conf, "w") as f:
            f.write("[irqd]\ninterval = 1\n")
        # NOTIFY_SOCKET: the daemon must report READY=1 once it has placed the IRQs
        sock_path = os.path.join(tmp, "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(sock_path)
        sock.settimeout(30)
        log = open(os.path.join(tmp, "log"), "w+")
        env = dict(os.environ, NOTIFY_SOCKET=sock_path)
        d = subprocess.Popen(UNIT + [IRQD, "--root", root, "--config", conf, "--config-dir", os.path.join(tmp, "none")],
                             stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            msg = sock.recv(4096).decode()
        except socket.timeout:
            msg = ""
        check("READY=1" in msg, "daemon reports READY=1", msg)
        logtext = lambda: open(log.name).read()
        check(read(os.path.join(root, "proc/irq/131/smp_affinity_list")) == "0-3,8-19,24-31",
              "at start: the GPU IRQ left on isolated CPU 5 is moved to housekeeping CPUs", logtext())
        check("start: 18 IRQs, 5 moved" in logtext(), "start is logged with its counts", logtext())
        # a new MSI vector appears on the NIC: the periodic check places it
        nic = os.path.join(root, "sys/devices/pci0000:00/0000:00:1c.0/0000:03:00.0")
        with open(os.path.join(nic, "msi_irqs/137"), "w") as f:
            f.write("msix\n")
        os.makedirs(os.path.join(root, "proc/irq/137"))
        with open(os.path.join(root, "proc/irq/137/smp_affinity_list"), "w") as f:
            f.write("5\n")
        lines = open(os.path.join(root, "proc/interrupts")).read().splitlines()
        at = next(i for i, l in enumerate(lines) if l.lstrip().startswith("140:"))
        lines.insert(at, " 137:" + "          0" * 32 + "  IR-PCI-MSI 137-edge   enp3s0-TxRx-4")
        with open(os.path.join(root, "proc/interrupts"), "w") as f:
            f.write("\n".join(lines) + "\n")
        # the summary is logged after the apply (and its effect samples): wait for both
        ok = wait_for(lambda: read(os.path.join(root, "proc/irq/137/smp_affinity_list")) != "5" and
                      "IRQs changed" in logtext(), 10)
        check(ok, "a new IRQ is placed by the periodic check",
              read(os.path.join(root, "proc/irq/137/smp_affinity_list")) + "\n" + logtext())
        # SIGHUP with a broken configuration: logged with file:line, previous policy kept, still running
        with open(conf, "w") as f:
            f.write("[irqd]\ninterval = 1\nbanned_cpus = nonsense\n")
        d.send_signal(signal.SIGHUP)
        ok = wait_for(lambda: "irqd.conf:3: banned_cpus: not a CPU list" in logtext(), 10)
        check(ok and d.poll() is None and "keeping the previous one" in logtext(),
              "SIGHUP with a bad configuration: file:line logged, daemon keeps running", logtext())
        with open(conf, "w") as f:
            f.write("[irqd]\ninterval = 1\nbanned_cpus = 0-3\n")
        d.send_signal(signal.SIGHUP)
        ok = wait_for(lambda: "configuration reloaded" in logtext(), 10)
        aff = read(os.path.join(root, "proc/irq/130/smp_affinity_list"))
        check(ok and aff == "8-19,24-31", "SIGHUP with a good configuration re-plans (banned CPUs 0-3)", aff + logtext())
        rc = terminate(d, 10)
        check(rc == 0 and "stopping after" in logtext(), "SIGTERM stops the daemon cleanly", logtext())
        p = subprocess.run([ASIOSCTL, "irq", "revert", "--root", root], capture_output=True, text=True)
        check(p.returncode == 0 and read(os.path.join(root, "proc/irq/131/smp_affinity_list")) == "5",
              "asiosctl irq revert undoes what the daemon did", p.stdout + p.stderr)
        # irqbalance beside us: refused unless told to take over
        add_proc(root, 4242, "irqbalance", "/usr/sbin/irqbalance", [], range(32), [0], {0: 1}, uid=0,
                 exe="/usr/sbin/irqbalance")
        p = subprocess.run(UNIT + [IRQD, "--root", root, "--config", conf, "--once"], capture_output=True, text=True)
        check(p.returncode == 1 and "irqbalance is running (pid 4242)" in p.stderr, "refuses to run beside irqbalance",
              p.stderr)
        with open(conf, "a") as f:
            f.write("take_over_irqbalance = yes\n")
        p = subprocess.run(UNIT + [IRQD, "--root", root, "--config", conf, "--once"], capture_output=True, text=True)
        check(p.returncode == 0 and "taking over from irqbalance (pid 4242)" in p.stderr,
              "take_over_irqbalance = yes: runs and says so", p.stderr)
        shutil.rmtree(os.path.join(root, "proc/4242"))
        p = subprocess.run(UNIT + [IRQD, "--root", root, "--config", os.path.join(tmp, "bad.conf"), "--once"],
                           capture_output=True, text=True)
        check(p.returncode == 1 and "bad.conf: No such file" in p.stderr,
              "a missing configuration file named by --config: exit 1, named", p.stderr)
        with open(os.path.join(tmp, "bad.conf"), "w") as f:
            f.write("[irqd]\nbanned_irqs = x\n")
        p = subprocess.run(UNIT + [IRQD, "--root", root, "--config", os.path.join(tmp, "bad.conf"), "--once"],
                           capture_output=True, text=True)
        check(p.returncode == 1 and "bad.conf:2: banned_irqs" in p.stderr, "bad configuration at start: exit 1, file:line",
              p.stderr)
        # a real run on this machine
        if not need_root("this machine: asios-irqd --once, then asiosctl irq revert"):
            return done()
        before = {f: read(f) for f in glob.glob("/proc/irq/*/smp_affinity_list")}
        open(os.path.join(tmp, "none.conf"), "w").close()
        p = subprocess.run(UNIT + [IRQD, "--once", "--config", os.path.join(tmp, "none.conf"), "--config-dir",
                            os.path.join(tmp, "none")], capture_output=True, text=True)
        check(p.returncode == 0 and "start:" in p.stderr, "this machine: asios-irqd --once plans and applies", p.stderr)
        p = subprocess.run([ASIOSCTL, "irq", "revert"], capture_output=True, text=True)
        after = {f: read(f) for f in before}
        check(p.returncode == 0 and after == before, "this machine: revert restores every affinity", p.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return done()


if __name__ == "__main__":
    sys.exit(main())
