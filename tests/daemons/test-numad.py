#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""asios-numad as a daemon: READY over NOTIFY_SOCKET, placement at start, a new workload placed by the rescan,
SIGHUP with a bad configuration (kept running, file:line logged) and a good one, numad stand-down and explicit
take-over, clean stop on SIGTERM, revert; and on this machine a process placed from the kernel's proc connector
(the rescan interval is longer than the test), then asiosctl numa revert. TAP."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import (ASIOSCTL, BUILD, FIXTURES, add_proc, check, done, need, need_root, skip,  # noqa: E402
                    terminate, wait_for, write, untar)
import unitcaps  # noqa: E402

NUMAD = os.path.join(BUILD, "asios-numad")
# as its systemd unit runs it: with the unit's capability bounding set (tests/unitcaps.py)
UNIT = unitcaps.prefix("asios-numad")


def allowed(root, pid):
    for line in open(os.path.join(root, "proc/%d/status" % pid)):
        if line.startswith("Cpus_allowed_list:"):
            return line.split()[1]
    return None


def fixture_tests(tmp):
    untar(os.path.join(FIXTURES, "ws-2g-iso.tar.gz"), tmp)
    root = os.path.join(tmp, "ws-2g-iso")
    unitcaps.kernel_modes(root)
    add_proc(root, 1000, "python3", "python3 train.py", ["/dev/nvidia0"], range(32), [0], {0: 100})
    conf = os.path.join(tmp, "numad.conf")
    write(conf, "[numad]\ninterval = 1\n")
    sock_path = os.path.join(tmp, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    sock.settimeout(30)
    log = open(os.path.join(tmp, "log"), "w+")
    none = os.path.join(tmp, "none")
    d = subprocess.Popen(UNIT + [NUMAD, "--root", root, "--config", conf, "--config-dir", none], stdout=log,
                         stderr=subprocess.STDOUT, env=dict(os.environ, NOTIFY_SOCKET=sock_path))
    try:
        msg = sock.recv(4096).decode()
    except socket.timeout:
        msg = ""
    logtext = lambda: open(log.name).read()  # noqa: E731
    check("READY=1" in msg, "daemon reports READY=1", msg + logtext())
    check(allowed(root, 1000) == "0-3,8-19,24-31", "at start: the GPU workload is moved off the isolated CPUs",
          logtext())
    check("start: 1 workloads, 1 changes applied" in logtext(), "start is logged with its counts", logtext())
    # a new workload appears: the rescan places it
    add_proc(root, 1001, "python3", "python3 eval.py", ["/dev/nvidia1"], range(32), [0], {0: 100})
    # the summary is logged after the apply (and its effect samples): wait for both
    ok = wait_for(lambda: allowed(root, 1001) != "0-31" and "rescan" in logtext(), 10)
    check(ok, "a new workload is placed by the rescan", logtext())
    write(conf, "[numad]\ninterval = 1\nmulti_node = everywhere\n")
    d.send_signal(signal.SIGHUP)
    ok = wait_for(lambda: "numad.conf:3: multi_node: expected split" in logtext(), 10)
    check(ok and d.poll() is None and "keeping the previous one" in logtext(),
          "SIGHUP with a bad configuration: file:line logged, daemon keeps running", logtext())
    write(conf, "[numad]\ninterval = 1\nbanned_cpus = 0-3\n")
    d.send_signal(signal.SIGHUP)
    ok = wait_for(lambda: "configuration reloaded" in logtext() and allowed(root, 1000) == "8-19,24-31", 10)
    check(ok, "SIGHUP with a good configuration re-plans (banned CPUs 0-3)", allowed(root, 1000) + logtext())
    d.send_signal(signal.SIGTERM)
    try:
        rc = d.wait(10)
    except subprocess.TimeoutExpired:
        d.kill()
        rc = -1
    check(rc == 0 and "stopping after" in logtext(), "SIGTERM stops the daemon cleanly", logtext())
    p = subprocess.run([ASIOSCTL, "numa", "revert", "--root", root], capture_output=True, text=True)
    check(p.returncode == 0 and allowed(root, 1000) == "0-31" and allowed(root, 1001) == "0-31",
          "asiosctl numa revert undoes what the daemon did", p.stdout + p.stderr)
    # numad beside us: stand down unless told to take over
    add_proc(root, 4242, "numad", "/usr/bin/numad -i 15", [], range(32), [0], {0: 1}, uid=0, exe="/usr/bin/numad")
    p = subprocess.run(UNIT + [NUMAD, "--root", root, "--config", conf, "--config-dir", none, "--once"], capture_output=True,
                       text=True)
    check(p.returncode == 1 and "numad is running (pid 4242)" in p.stderr and "standing down" in p.stderr,
          "stands down beside numad", p.stderr)
    with open(conf, "a") as f:
        f.write("take_over_numad = yes\n")
    p = subprocess.run(UNIT + [NUMAD, "--root", root, "--config", conf, "--config-dir", none, "--once"], capture_output=True,
                       text=True)
    check(p.returncode == 0 and "taking over from numad (pid 4242)" in p.stderr, "take_over_numad = yes: runs and says so",
          p.stderr)
    shutil.rmtree(os.path.join(root, "proc/4242"))
    write(os.path.join(tmp, "bad.conf"), "[workload x]\ncommand = x\nnode = first\n")
    p = subprocess.run(UNIT + [NUMAD, "--root", root, "--config", os.path.join(tmp, "bad.conf"), "--once"], capture_output=True,
                       text=True)
    check(p.returncode == 1 and "bad.conf:3: node: not a NUMA node number" in p.stderr,
          "bad configuration at start: exit 1, file:line", p.stderr)


def live_tests(tmp):
    """The proc connector on this machine: a new process matching a [workload] is placed without a rescan."""
    if not need_root("this machine: the proc connector"):
        return
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        skip("this machine: the proc connector", "this machine has one CPU")
        return
    conf = os.path.join(tmp, "live.conf")
    write(conf, "[numad]\nsettle = 1\ninterval = 3600\nautonuma = leave\nmigrate = no\n"
          "[workload probe]\ncommand = sleep 4242.5*\ncpus = %d\n" % cpus[-1])
    log = open(os.path.join(tmp, "live.log"), "w+")
    d = subprocess.Popen(UNIT + [NUMAD, "--config", conf, "--config-dir", os.path.join(tmp, "none")], stdout=log,
                         stderr=subprocess.STDOUT)
    logtext = lambda: open(log.name).read()  # noqa: E731
    wait_for(lambda: "start:" in logtext(), 20)
    probe = subprocess.Popen(["sleep", "4242.5"])
    try:
        ok = wait_for(lambda: os.sched_getaffinity(probe.pid) == {cpus[-1]} and "new processes" in logtext(), 20)
        check(ok and "proc connector unavailable" not in logtext(),
              "this machine: a new process is placed from the proc connector", logtext())
    finally:
        terminate(d, 10)
        p = subprocess.run([ASIOSCTL, "numa", "revert"], capture_output=True, text=True)
        check(p.returncode == 0 and os.sched_getaffinity(probe.pid) == set(cpus),
              "this machine: asiosctl numa revert restores its affinity", p.stdout + p.stderr)
        probe.kill()
        probe.wait()


def main():
    if not need(NUMAD) or not need(ASIOSCTL):
        return 1
    tmp = tempfile.mkdtemp()
    try:
        fixture_tests(tmp)
        live_tests(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return done()


if __name__ == "__main__":
    sys.exit(main())
