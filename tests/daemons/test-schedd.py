#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""asios-schedd as a daemon on a writable copy of the isolated workstation: READY over NOTIFY_SOCKET after the
runtime isolation is applied at start, the /dev/cpu_dma_latency hold, a kernel thread started later moved by the
periodic check, SIGHUP with a bad configuration (kept running, file:line logged) and a good one (new profile
applied), TuneD with a CPU partitioning profile (stands down, applies nothing, takes over once it is gone),
clean stop on SIGTERM, then asiosctl isolate revert restoring the tree. TAP."""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import (fake_tuned, ASIOSCTL, BUILD, FIXTURES, PF_KTHREAD, check, done, kthread, need, read, sched_tree,  # noqa: E402
                    wait_for, write, untar)
import unitcaps  # noqa: E402

SCHEDD = os.path.join(BUILD, "asios-schedd")
# as its systemd unit runs it: with the unit's capability bounding set (tests/unitcaps.py)
UNIT = unitcaps.prefix("asios-schedd")


def tree_state(root):
    out = {}
    for f in ["sys/devices/virtual/workqueue/cpumask", "proc/irq/default_smp_affinity", "proc/sys/vm/stat_interval",
              "proc/sys/kernel/sched_rt_runtime_us", "sys/fs/cgroup/workload.slice/cpuset.cpus.partition",
              "proc/2/status", "etc/default/grub.d/asios-isolation.cfg"]:
        p = os.path.join(root, f)
        out[f] = open(p).read() if os.path.exists(p) else None
    return out


def start(root, conf, tmp, name):
    sock_path = os.path.join(tmp, "notify-" + name)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    sock.settimeout(30)
    log = open(os.path.join(tmp, "log-" + name), "w+")
    d = subprocess.Popen(UNIT + [SCHEDD, "--root", root, "--config", conf, "--config-dir", os.path.join(tmp, "none")],
                         stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, NOTIFY_SOCKET=sock_path))
    msg = ""
    try:
        while "READY=1" not in msg:
            msg += sock.recv(4096).decode() + "\n"
    except socket.timeout:
        pass
    sock.close()
    return d, msg, lambda: open(log.name).read()


def main():
    if not need(SCHEDD) or not need(ASIOSCTL):
        return 1
    tmp = tempfile.mkdtemp()
    try:
        untar(os.path.join(FIXTURES, "ws-2g-iso.tar.gz"), tmp)
        root = os.path.join(tmp, "ws-2g-iso")
        unitcaps.kernel_modes(root)
        t = json.loads(subprocess.run([ASIOSCTL, "topology", "--json", "--root", root], capture_output=True,
                                      text=True).stdout)
        sched_tree(root, t)
        write(os.path.join(root, "dev/cpu_dma_latency"), "")
        before = tree_state(root)
        conf = os.path.join(tmp, "schedd.conf")
        write(conf, "[schedd]\nisolate = 4-7,20-23\nprofile = latency\ninterval = 1\ncpu_dma_latency = 0\n")
        d, msg, logtext = start(root, conf, tmp, "a")
        check("READY=1" in msg, "daemon reports READY=1", msg + logtext())
        check(read(os.path.join(root, "sys/devices/virtual/workqueue/cpumask")) == "ff0fff0f",
              "at start: workqueues on the housekeeping CPUs (0-3,8-19,24-31)", logtext())
        # the fixture booted with isolcpus=domain for these CPUs: the slice owns them as a member, no partition
        # (6.12 refuses an isolated partition of boot-isolated CPUs; docs/schedd.md)
        check(read(os.path.join(root, "sys/fs/cgroup/workload.slice/cpuset.cpus")) == "4-7,20-23" and
              read(os.path.join(root, "sys/fs/cgroup/workload.slice/cpuset.cpus.partition")) != "isolated",
              "at start: the workload slice owns CPUs 4-7,20-23, no partition of boot-isolated CPUs", logtext())
        check("start: profile latency, isolated CPUs 4-7,20-23" in logtext() and "command line differs" not in logtext(),
              "start logged; the running command line already matches (no reboot asked)", logtext())
        check(open(os.path.join(root, "dev/cpu_dma_latency"), "rb").read() == struct.pack("i", 0) and
              "holding /dev/cpu_dma_latency at 0 us" in logtext(), "/dev/cpu_dma_latency held at 0 us", logtext())
        # a kernel thread started on every CPU: the periodic check moves it
        kthread(root, 60, "kworker-late", PF_KTHREAD | 0x8040, list(range(32)))
        ok = wait_for(lambda: "Cpus_allowed_list:\t0-3,8-19,24-31" in open(os.path.join(root, "proc/60/status")).read(),
                      10)
        check(ok, "a kernel thread started later is moved off the isolated CPUs by the periodic check", logtext())
        # SIGHUP with a broken configuration: logged with file:line, previous policy kept, still running
        write(conf, "[schedd]\nisolate = 4-7,20-23\ninterval = 1\nprofile = fastest\n")
        d.send_signal(signal.SIGHUP)
        ok = wait_for(lambda: "schedd.conf:4: profile: expected throughput, latency or inference" in logtext(), 10)
        check(ok and d.poll() is None and "keeping the previous one" in logtext(),
              "SIGHUP with a bad configuration: file:line logged, daemon keeps running", logtext())
        write(conf, "[schedd]\nisolate = 4-7,20-23\ninterval = 1\nprofile = throughput\n")
        d.send_signal(signal.SIGHUP)
        ok = wait_for(lambda: "configuration reloaded: profile throughput" in logtext(), 10)
        check(ok and read(os.path.join(root, "sys/kernel/debug/sched/migration_cost_ns")) == "5000000" and
              "released the /dev/cpu_dma_latency hold" in logtext(),
              "SIGHUP with a good configuration: throughput knobs applied, latency hold released", logtext())
        d.send_signal(signal.SIGTERM)
        try:
            rc = d.wait(10)
        except subprocess.TimeoutExpired:
            d.kill()
            rc = None
        check(rc == 0 and "stopping after" in logtext(), "SIGTERM stops it cleanly", logtext())
        p = subprocess.run([ASIOSCTL, "isolate", "revert", "--root", root], capture_output=True, text=True)
        after = tree_state(root)
        check(p.returncode == 0 and {k: v for k, v in after.items() if k != "proc/60/status"} == before,
              "asiosctl isolate revert restores what the daemon changed", p.stderr)
        # TuneD partitioning the CPUs: stand down, apply nothing, take over once it is gone
        fake_tuned(root)
        write(os.path.join(root, "etc/tuned/active_profile"), "cpu-partitioning\n")
        write(conf, "[schedd]\nisolate = 4-7,20-23\ninterval = 1\n")
        d, msg, logtext = start(root, conf, tmp, "b")
        check("READY=1" in msg and "standing down" in msg and "standing down" in logtext() and
              tree_state(root) == before, "TuneD cpu-partitioning: READY, standing down, nothing applied",
              msg + logtext())
        shutil.rmtree(os.path.join(root, "proc/900"))
        ok = wait_for(lambda: read(os.path.join(root, "sys/devices/virtual/workqueue/cpumask")) == "ff0fff0f" and
                      "taking over" in logtext(), 10)
        check(ok, "TuneD gone: the daemon takes over at the next check", logtext())
        d.send_signal(signal.SIGTERM)
        d.wait(10)
        subprocess.run([ASIOSCTL, "isolate", "revert", "--root", root], capture_output=True)
        # --once --dry-run changes nothing; a bad configuration at start refuses to start
        p = subprocess.run(UNIT + [SCHEDD, "--root", root, "--config", conf, "--config-dir", os.path.join(tmp, "none"),
                            "--once", "--dry-run"], capture_output=True, text=True)
        check(p.returncode == 0 and "would set unbound workqueues" in p.stderr and
              read(os.path.join(root, "sys/devices/virtual/workqueue/cpumask")) != "ff0fff0f",
              "--once --dry-run logs the plan and changes nothing", p.stderr)
        write(conf, "[schedd]\nisolate = x\n")
        p = subprocess.run(UNIT + [SCHEDD, "--root", root, "--config", conf, "--once"], capture_output=True, text=True)
        check(p.returncode == 1 and "schedd.conf:2: isolate:" in p.stderr and "not started" in p.stderr,
              "a bad configuration at start: file:line, not started", p.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return done()


if __name__ == "__main__":
    sys.exit(main())
