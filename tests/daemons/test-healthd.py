#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""asios-healthd by fault injection on a captured workstation (ws-2g-iso, CPUs 4-7 and 20-23 isolated), run as
its unit would: an NVIDIA Xid line in the kernel log, another program rewriting an IRQ affinity, a CPU hog on an
isolated CPU, memory pressure, an action that does not help (rolled back, demoted, not taken again), a program
that fights a re-apply, the circuit breaker and its reset, a restart that keeps the kernel-log cursor and the
learned baselines, bad configuration. Each fault must be detected (its latency is reported) and its outcome
recorded; asiosctl health history and check read the same state. Then, as root, this machine: an Xid line in
the real /dev/kmsg; GPUs through NVML (a stand-in libnvidia-ml.so.1 whose values the test changes, and a
stand-in nvidia-smi): persistence mode off turned on and verified (and the control: a tool that does not help
is rolled back and demoted), a steady GPU memory leak and a GPU heating up forecast, a model load (a step) not
forecast; and real memory pressure (stress-ng in a memory cgroup) caught by a PSI trigger. TAP."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import (ASIOSCTL, BUILD, FIXTURES, TOP, add_proc, check, done, need, need_root, read, skip,  # noqa: E402
                    terminate, wait_for, write, untar)
import unitcaps  # noqa: E402

HEALTHD = os.path.join(BUILD, "asios-healthd")
FAKE_NVML = os.path.join(BUILD, "fake-nvml")
GIB = 1 << 30
# stand-ins for nvidia-smi and systemctl: they log their arguments. nvidia-persistenced.service is not installed
# (systemctl exits 5, as for a unit not found); nvidia-smi turns persistence mode on in the stand-in NVML's
# state unless the file "broken" beside it exists (then it exits 0 and changes nothing: an action that does not
# help)
FAKE_SMI = """#!/bin/sh
dir=$(dirname "$0")
echo "nvidia-smi $*" >> "$dir/calls"
[ -e "$dir/broken" ] && exit 0
if [ "$1" = -i ] && [ "$3" = -pm ] && [ "$2" = 0000:17:00.0 ]; then echo "0 persistence $4" >> "$FAKE_NVML_STATE"; fi
"""
FAKE_SYSTEMCTL = """#!/bin/sh
echo "systemctl $*" >> "$(dirname "$0")/calls"
exit 5
"""
SIGNATURES = os.path.join(TOP, "packages", "asios-healthd", "signatures.conf")
UNIT = unitcaps.prefix("asios-healthd")
ENV = dict(os.environ, ASIOS_HEALTH_SIGNATURES=SIGNATURES)
IRQ131 = "proc/irq/131/smp_affinity_list"
PLACED = "0-3,8-19,24-31"
PSI_QUIET = "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
CONF = """[health]
interval = 1
verify_after = 2
rate_limit = 0
max_actions_per_hour = 5
baseline_min = 5
[signature drift]
act = yes
[signature memory-pressure]
act = yes
[signature isolated-cpu-task]
act = yes
[signature gpu-xid-79]
act = yes
heal = node-label
"""


def stat_line(pid, comm, state, cpu):
    """/proc/PID/stat with every field up to processor (39): state, flags 0 (a user task), CPU."""
    fields = [str(pid), "(%s)" % comm, state] + ["0"] * 35 + [str(cpu)] + ["0"] * 13
    fields[21] = str(1000 + pid)  # starttime
    return " ".join(fields) + "\n"


def history(root):
    p = subprocess.run([ASIOSCTL, "health", "history", "--root", root, "--json"], capture_output=True, text=True)
    try:
        return json.loads(p.stdout)
    except ValueError:
        return {"incidents": [], "actions": [], "error": p.stderr}


def outcomes(root, sig, obj=None):
    return [e["outcome"] for e in history(root)["incidents"]
            if e["signature"] == sig and (obj is None or e["object"] == obj)]


def action_row(root, sig, action):
    for a in history(root)["actions"]:
        if a["signature"] == sig and a["action"] == action:
            return a
    return {"outcomes": {}, "demoted": False}


class Daemon:
    def __init__(self, tmp, root, conf):
        self.log = open(os.path.join(tmp, "log"), "w+")
        sock_path = os.path.join(tmp, "notify")
        if os.path.exists(sock_path):
            os.unlink(sock_path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(sock_path)
        sock.settimeout(60)
        env = dict(ENV, NOTIFY_SOCKET=sock_path)
        self.p = subprocess.Popen(UNIT + [HEALTHD, "--root", root, "--config", conf, "--config-dir",
                                          os.path.join(tmp, "none")], stdout=self.log, stderr=subprocess.STDOUT, env=env)
        try:
            self.ready = sock.recv(4096).decode()
        except socket.timeout:
            self.ready = ""
        sock.close()

    def text(self):
        return open(self.log.name).read()

    def stop(self):
        return terminate(self.p, 20)


def timed(pred, seconds):
    """(held, seconds it took)"""
    t0 = time.time()
    ok = wait_for(pred, seconds)
    return ok, time.time() - t0


def fault_xid(d, root):
    kmsg = os.path.join(root, "dev/kmsg")
    with open(kmsg, "a") as f:
        f.write("6,200,9000000,-;NVRM: Xid (PCI:0000:3b:00): 79, pid=4321, name=python3, GPU has fallen off the bus.\n"
                " SUBSYSTEM=pci\n"
                "4,201,9000001,-;NVRM: Xid (PCI:0000:3b:00): 13, pid=4321, Graphics Exception: ESR 0x404600\n")
    label = os.path.join(root, "etc/kubernetes/node-feature-discovery/features.d/asios-health")
    ok, dt = timed(lambda: os.path.exists(label) and "gpu-xid-13" in d.text(), 15)
    print("# Xid 79 detected and handed over in %.2f s" % dt)
    check(ok and "asios-health.gpu-xid-79=critical" in read(label),
          "Xid 79 in the kernel log: detected, the node labelled for Kubernetes (its opted-in action)", d.text())
    check("RESTART_BM" in d.text() and outcomes(root, "gpu-xid-79") == ["handed-over"],
          "the Xid catalogue's meaning and immediate action are logged; the history says handed-over", d.text())
    check(outcomes(root, "gpu-xid-13") == ["advised"] and "RESTART_APP" in d.text(),
          "Xid 13 (not opted in): advised only, with the catalogue's action", str(history(root)))
    p = subprocess.run([ASIOSCTL, "metrics", "--root", root], capture_output=True, text=True, env=ENV)
    xids = sorted(l for l in p.stdout.splitlines() if l.startswith("asios_gpu_xid_errors_total{"))
    check(xids == ['asios_gpu_xid_errors_total{device="0000:3b:00.0",xid="13"} 1',
                   'asios_gpu_xid_errors_total{device="0000:3b:00.0",xid="79"} 1'],
          "the Xid events are counted by GPU and code in the exposition (asios_gpu_xid_errors_total)", p.stdout[-3000:])


def fault_drift(d, root):
    write(os.path.join(root, IRQ131), "8-9\n")
    ok, dt = timed(lambda: read(os.path.join(root, IRQ131)) == PLACED, 15)
    print("# drift detected and re-applied in %.2f s" % dt)
    check(ok and "drift on domain irq: 1 change from its policy: irq 131: 8-9" in d.text(),
          "another program rewrites an IRQ affinity: detected and re-applied", d.text())
    ok = wait_for(lambda: outcomes(root, "drift") == ["pending", "improved"], 15)
    check(ok, "the re-apply is verified after its window: improved, recorded", str(history(root)))


def fault_hog(d, root):
    add_proc(root, 5000, "hog", "/usr/bin/hog", [], range(32), [0], {0: 1}, cgroup="0::/user.slice/hog.scope\n")
    add_proc(root, 5100, "trainer", "/usr/bin/trainer", [], [5], [0], {0: 1}, cgroup="0::/workload.slice/job.scope\n")
    write(os.path.join(root, "proc/5100/stat"), stat_line(5100, "trainer", "R", 5))
    write(os.path.join(root, "proc/5000/stat"), stat_line(5000, "hog", "R", 5))
    status = os.path.join(root, "proc/5000/status")
    ok, dt = timed(lambda: "Cpus_allowed_list:\t%s" % PLACED in open(status).read(), 15)
    print("# hog on isolated CPU 5 detected and moved in %.2f s" % dt)
    check(ok and "task 5000 (hog) of process 5000 runs on isolated CPU 5" in d.text(),
          "a CPU hog on isolated CPU 5: reported with the offending task, moved to the housekeeping CPUs",
          d.text() + open(status).read())
    check("trainer" not in d.text(), "the workload's own task on an isolated CPU is no incident", d.text())
    write(os.path.join(root, "proc/5000/stat"), stat_line(5000, "hog", "R", 0))  # the scheduler moves it
    ok = wait_for(lambda: outcomes(root, "isolated-cpu-task") == ["pending", "improved"], 15)
    check(ok, "the move is verified: improved", str(history(root)))
    shutil.rmtree(os.path.join(root, "proc/5100"))


def fault_pressure(d, root):
    psi = os.path.join(root, "proc/pressure/memory")
    compact = os.path.join(root, "proc/sys/vm/compact_memory")
    write(psi, PSI_QUIET.replace("some avg10=0.00", "some avg10=35.50", 1))
    ok, dt = timed(lambda: read(compact) == "1", 15)
    print("# memory pressure detected and compaction started in %.2f s" % dt)
    check(ok and "memory pressure: some avg10=35.50%" in d.text(),
          "memory pressure (PSI avg10 35.5%): detected, compaction started (its opted-in action)", d.text())
    # the pressure stays: compaction did not help
    ok = wait_for(lambda: outcomes(root, "memory-pressure") == ["pending", "rolled-back"], 15)
    row = action_row(root, "memory-pressure", "compact")
    check(ok and row["demoted"] and "compact demoted for memory-pressure" in d.text(),
          "false action: compaction did not lower the pressure: rolled back and demoted", str(history(root)))
    write(psi, PSI_QUIET)
    time.sleep(4)  # quiet passes for two intervals: the incident has ended
    write(compact, "0\n")
    write(psi, PSI_QUIET.replace("some avg10=0.00", "some avg10=41.00", 1))
    ok = wait_for(lambda: outcomes(root, "memory-pressure")[-1:] == ["advised"], 15)
    check(ok and read(compact) == "0" and "compact skipped: it did not help memory-pressure before" in d.text(),
          "the next memory-pressure incident is not acted on the same way (advised, nothing written)",
          d.text() + str(history(root)))
    write(psi, PSI_QUIET)


def fault_fight(d, root):
    stop = threading.Event()

    def fighter():
        while not stop.is_set():
            write(os.path.join(root, IRQ131), "8-9\n")
            time.sleep(0.3)
    t = threading.Thread(target=fighter)
    t.start()
    try:
        ok = wait_for(lambda: outcomes(root, "drift")[-2:] == ["pending", "rolled-back"], 20)
    finally:
        stop.set()
        t.join()
    row = action_row(root, "drift", "reapply")
    check(ok and row["demoted"] and "reapply demoted for drift" in d.text(),
          "another tuner fights the re-apply: rolled back (ASIOS stops fighting) and demoted", str(history(root)))
    # fixed by hand, then drifted again: advised, not re-applied
    subprocess.run([ASIOSCTL, "irq", "apply", "--root", root], capture_output=True, check=False)
    time.sleep(4)
    write(os.path.join(root, IRQ131), "8-9\n")
    ok = wait_for(lambda: outcomes(root, "drift")[-1:] == ["advised"], 15)
    time.sleep(1.5)
    check(ok and read(os.path.join(root, IRQ131)) == "8-9" and "reapply skipped: it did not help drift before" in d.text(),
          "the next drift is advised only: the demoted re-apply is not taken again", d.text())


def fault_breaker(d, root, tmp):
    add_proc(root, 5001, "hog2", "/usr/bin/hog2", [], range(32), [0], {0: 1}, cgroup="0::/user.slice/x.scope\n")
    write(os.path.join(root, "proc/5001/stat"), stat_line(5001, "hog2", "R", 6))
    ok = wait_for(lambda: outcomes(root, "isolated-cpu-task")[-1:] == ["breaker-open"], 15)
    check(ok and "circuit breaker open: 5 actions in the last hour" in d.text() and history(root)["breaker_open"],
          "the sixth action within an hour opens the circuit breaker: advise only", d.text())
    p = subprocess.run([ASIOSCTL, "health", "reset", "--root", root], capture_output=True, text=True)
    check(p.returncode == 0 and not history(root)["breaker_open"], "asiosctl health reset closes it", p.stdout + p.stderr)
    add_proc(root, 5002, "hog3", "/usr/bin/hog3", [], range(32), [0], {0: 1}, cgroup="0::/user.slice/y.scope\n")
    write(os.path.join(root, "proc/5002/stat"), stat_line(5002, "hog3", "R", 7))
    status = os.path.join(root, "proc/5002/status")
    ok = wait_for(lambda: "Cpus_allowed_list:\t%s" % PLACED in open(status).read(), 15)
    check(ok, "after the reset the next incident is acted on again", d.text())
    for pid in (5000, 5001, 5002):
        shutil.rmtree(os.path.join(root, "proc", str(pid)))


def check_ctl(root):
    p = subprocess.run([ASIOSCTL, "health", "check", "--root", root, "--json"], capture_output=True, text=True,
                       env=ENV)
    try:
        j = json.loads(p.stdout)
    except ValueError:
        j = {"incidents": []}
    sigs = sorted({i["signature"] for i in j["incidents"]})
    check(p.returncode == 1 and sigs == ["drift", "gpu-xid-13", "gpu-xid-79"],
          "asiosctl health check --root: the capture's drift and Xid events, exit 1", p.stdout + p.stderr)
    xid = [i for i in j["incidents"] if i["signature"] == "gpu-xid-79"]
    check(xid and xid[0]["object"] == "GPU 0000:3b:00" and "RESTART_BM" in xid[0]["advice"],
          "--json names the GPU and the catalogue's action", p.stdout)
    p = subprocess.run([ASIOSCTL, "health", "history", "--root", root], capture_output=True, text=True)
    check(p.returncode == 0 and re.search(r"drift\s+reapply\s+\d+\s+1\s+1\s+0 yes", p.stdout),
          "asiosctl health history: the re-apply helped once, was rolled back once, is demoted", p.stdout)


def bad_config(tmp, root):
    conf = os.path.join(tmp, "bad.conf")
    write(conf, "[health]\ninterval = 1\n[signature drift]\nheal = reboot\n")
    p = subprocess.run(UNIT + [HEALTHD, "--root", root, "--config", conf, "--once"], capture_output=True, text=True,
                       env=ENV)
    check(p.returncode == 1 and "bad.conf:4: heal: unknown action \"reboot\"" in p.stderr,
          "a bad health.conf: exit 1, file:line", p.stderr)
    write(conf, "[signature mine]\nsource = kmsg\nmatch = (unclosed\n")
    p = subprocess.run(UNIT + [HEALTHD, "--root", root, "--config", conf, "--once"], capture_output=True, text=True,
                       env=ENV)
    check(p.returncode == 1 and "bad.conf:3: match: Unmatched ( or \\(" in p.stderr,
          "a signature whose pattern does not compile: named with its file and line", p.stderr)
    for pattern, why in (("N" + "+" * 29, "a repetition of a repetition"), ("a{9}{9}", "a repetition of a repetition"),
                         ("x{1,500}", "a repetition count above 100"), ("a?" * 17, "more than 16 repetitions")):
        write(conf, "[signature mine]\nsource = kmsg\nmatch = %s\n" % pattern)
        p = subprocess.run(UNIT + [HEALTHD, "--root", root, "--config", conf, "--once"], capture_output=True,
                           text=True, env=ENV)
        check(p.returncode == 1 and ("bad.conf:3: match: " + why) in p.stderr,
              "a pattern that would exhaust regcomp's memory is refused (%s): file and line" % why, p.stderr)
    write(conf, "[signature mine]\nsource = kmsg\nmatch = [+*]+ (a|b)? x\\+\\+ c{2,3}\n")
    p = subprocess.run(UNIT + [HEALTHD, "--root", root, "--config", conf, "--once"], capture_output=True, text=True,
                       env=ENV)
    check("bad.conf" not in p.stderr, "repetition signs in a bracket or escaped, and a small interval, are fine",
          p.stderr)
    p = subprocess.run(UNIT + [HEALTHD, "--root", root, "--once"], capture_output=True, text=True,
                       env=dict(ENV, ASIOS_HEALTH_SIGNATURES=os.path.join(tmp, "missing.conf")))
    check(p.returncode == 1 and "missing.conf" in p.stderr, "a missing signature catalogue is named", p.stderr)


def fixture(tmp):
    untar(os.path.join(FIXTURES, "ws-2g-iso.tar.gz"), tmp)
    root = os.path.join(tmp, "ws-2g-iso")
    unitcaps.kernel_modes(root)
    write(os.path.join(root, "dev/kmsg"), "6,1,1000,-;Linux version 6.12.0\n")
    write(os.path.join(root, "proc/pressure/memory"), PSI_QUIET)
    write(os.path.join(root, "proc/sys/vm/compact_memory"), "0\n")
    p = subprocess.run([ASIOSCTL, "irq", "apply", "--root", root], capture_output=True, text=True)
    check(p.returncode == 0 and read(os.path.join(root, IRQ131)) == PLACED, "the capture's IRQs are placed (journal)",
          p.stdout + p.stderr)
    return root


def live(tmp):
    if not need_root("this machine: an Xid line in /dev/kmsg, a link flap and memory pressure by a PSI trigger"):
        return
    line = "NVRM: Xid (PCI:0000:ff:1f): 79, pid=0, name=asios-test, injected by the ASIOS test suite"
    with open("/dev/kmsg", "w") as f:
        f.write(line + "\n")
    p = subprocess.run([ASIOSCTL, "health", "check", "--json"], capture_output=True, text=True, env=ENV)
    try:
        inc = [i for i in json.loads(p.stdout)["incidents"] if i["object"] == "GPU 0000:ff:1f"]
    except (ValueError, KeyError):
        inc = []
    check(p.returncode == 1 and inc and inc[0]["signature"] == "gpu-xid-79",
          "this machine: an Xid line written to /dev/kmsg is found by asiosctl health check", p.stdout + p.stderr)
    live_gpu(tmp)
    if not os.path.exists("/proc/pressure/memory"):
        skip("this machine: memory pressure caught by a PSI trigger", "no /proc/pressure (kernel without PSI)")
        return
    if not shutil.which("stress-ng"):
        skip("this machine: memory pressure caught by a PSI trigger", "stress-ng is not installed")
        return
    live_pressure(tmp)


class LiveState:
    """/var/lib/asios/health and /run/asios/health of this machine, put back as they were"""
    def __enter__(self):
        self.state = "/var/lib/asios/health"
        self.saved = None
        if os.path.exists(self.state):
            self.saved = self.state + ".asios-test"
            shutil.rmtree(self.saved, ignore_errors=True)
            shutil.move(self.state, self.saved)
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.state, ignore_errors=True)
        if self.saved:
            shutil.move(self.saved, self.state)
        shutil.rmtree("/run/asios/health", ignore_errors=True)


def gpu_state(path, lines):
    with open(path, "a") as f:
        f.write("".join("%d %s %d\n" % x for x in lines))


def live_gpu(tmp):
    """GPUs of this machine through NVML: the stand-in library answers for two GPUs (0000:17:00.0, 0000:65:00.0)"""
    if not os.path.exists(os.path.join(FAKE_NVML, "libnvidia-ml.so.1")):
        skip("this machine: GPU persistence mode and GPU forecasts", "the stand-in NVML is not built")
        return
    bindir = os.path.join(tmp, "gpu-bin")
    os.makedirs(bindir, exist_ok=True)
    for name, text in (("nvidia-smi", FAKE_SMI), ("systemctl", FAKE_SYSTEMCTL)):
        write(os.path.join(bindir, name), text)
        os.chmod(os.path.join(bindir, name), 0o755)
    nvml = os.path.join(tmp, "nvml-state")
    write(nvml, "")
    gpu_state(nvml, [(0, "persistence", 0), (0, "used", 40 * GIB), (0, "temp", 41)])
    env = dict(ENV, LD_LIBRARY_PATH=FAKE_NVML, FAKE_NVML_STATE=nvml, PATH=bindir + ":" + os.environ["PATH"])
    p = subprocess.run([ASIOSCTL, "health", "check", "--json"], capture_output=True, text=True, env=env)
    try:
        inc = [i["object"] for i in json.loads(p.stdout)["incidents"] if i["signature"] == "gpu-persistence-off"]
    except (ValueError, KeyError):
        inc = []
    check(p.returncode == 1 and inc == ["GPU 0000:17:00.0"],
          "this machine: asiosctl health check finds the GPU whose persistence mode is off (NVML)", p.stdout + p.stderr)
    conf = os.path.join(tmp, "gpu.conf")
    write(conf, "[health]\ninterval = 1\nverify_after = 2\nrate_limit = 0\nforecast_samples = 20\n"
          "[signature gpu-persistence-off]\nact = yes\n")
    with LiveState():
        log = open(os.path.join(tmp, "gpu.log"), "w+")
        d = subprocess.Popen(UNIT + [HEALTHD, "--config", conf, "--config-dir", os.path.join(tmp, "none")],
                             stdout=log, stderr=subprocess.STDOUT, env=env)
        text = lambda: open(log.name).read()
        try:
            live_gpu_faults(d, text, nvml, bindir)
        finally:
            terminate(d, 20)


def smi_calls(bindir):
    """the stand-in nvidia-smi's calls, one per line"""
    path = os.path.join(bindir, "calls")
    return open(path).read().splitlines() if os.path.exists(path) else []


def live_gpu_faults(d, text, nvml, bindir):
    t0 = time.time()
    ok = wait_for(lambda: outcomes("/", "gpu-persistence-off") == ["pending", "improved"], 30)
    print("# GPU persistence mode off: turned on and verified in %.2f s" % (time.time() - t0))
    calls = smi_calls(bindir)
    check(ok and calls == ["systemctl start nvidia-persistenced.service", "nvidia-smi -i 0000:17:00.0 -pm 1"],
          "persistence mode off (opted in), no nvidia-persistenced: nvidia-smi -i GPU -pm 1, verified improved",
          str(calls) + text())
    # a leak on GPU 0 (1 GiB/s, 101 GiB free) and GPU 0 heating (0.5 °C/s, 46 °C below its slowdown at 87);
    # GPU 1 loads a model: 130 GiB in 4 s, then steady (a step: no line fits it)
    t0 = time.time()
    loaded = False
    while time.time() - t0 < 25 and not ("forecast-gpu-memory on gpu_0000:17" in text() and
                                         "forecast-gpu-thermal on gpu_0000:17" in text()):
        dt = time.time() - t0
        gpu_state(nvml, [(0, "used", int(40 * GIB + dt * GIB)), (0, "temp", int(41 + dt / 2))])
        if dt > 8 and not loaded:
            for k in range(1, 5):
                gpu_state(nvml, [(1, "used", GIB + k * 32 * GIB)])
                time.sleep(1)
            loaded = True
        time.sleep(0.5)
    dt = time.time() - t0
    print("# a GPU memory leak and a GPU heating up forecast within %.1f s" % dt)
    check("forecast-gpu-memory on gpu_0000:17:00.0_memory_free_bytes" in text(),
          "a steady GPU memory leak: forecast to run out, with the predicted time", text())
    check("forecast-gpu-thermal on gpu_0000:17:00.0_thermal_headroom_celsius" in text(),
          "a GPU heating towards its slowdown temperature: forecast", text())
    time.sleep(6)
    check(loaded and "gpu_0000:65:00.0" not in text(),
          "a model load on the other GPU (a step, then steady) is not forecast", text())
    # the control: persistence mode off again, and an nvidia-smi that does not help
    write(os.path.join(bindir, "broken"), "")
    gpu_state(nvml, [(0, "persistence", 0)])
    ok = wait_for(lambda: outcomes("/", "gpu-persistence-off")[-1:] == ["rolled-back"], 30)
    check(ok and action_row("/", "gpu-persistence-off", "gpu-persistence")["demoted"],
          "control: persistence still off after the action: rolled back and demoted", str(history("/")) + text())
    gpu_state(nvml, [(0, "persistence", 1)])
    time.sleep(4)
    n = len(smi_calls(bindir))
    gpu_state(nvml, [(0, "persistence", 0)])
    ok = wait_for(lambda: outcomes("/", "gpu-persistence-off")[-1:] == ["advised"], 30)
    check(ok and n == 4 and len(smi_calls(bindir)) == n,
          "the next time persistence mode is off it is only advised (nvidia-smi not run again)", text())


def memory_cgroup(tmp):
    """A memory cgroup of 48 MiB (v2 when the unified hierarchy has the memory controller, else v1): its path."""
    for base, limit in (("/sys/fs/cgroup", "memory.max"), ("/sys/fs/cgroup/unified", "memory.max"),
                        ("/sys/fs/cgroup/memory", "memory.limit_in_bytes")):
        ctl = os.path.join(base, "cgroup.controllers")
        if limit == "memory.max" and (not os.path.exists(ctl) or "memory" not in open(ctl).read().split()):
            continue
        if not os.path.isdir(base):
            continue
        path = os.path.join(base, "asios-health-test")
        os.makedirs(path, exist_ok=True)
        write(os.path.join(path, limit), str(48 << 20) + "\n")
        return path
    return None


def link_flap(text):
    """a veth pair flapped: each time it comes up the daemon checks for drift at once (a NIC's driver resets its
    IRQ affinities on link-up; the re-placement itself is the drift re-apply proven on the capture above)"""
    if not shutil.which("ip") or subprocess.run(["ip", "link", "add", "asioshd0", "type", "veth", "peer", "name",
                                                 "asioshd1"], capture_output=True).returncode:
        skip("this machine: a link flap is noticed at once", "no ip(8) or no veth in this kernel")
        return
    try:
        t0 = time.time()
        subprocess.run(["ip", "link", "set", "asioshd1", "up"], check=True)
        subprocess.run(["ip", "link", "set", "asioshd0", "up"], check=True)
        ok = wait_for(lambda: "link up (asioshd" in text(), 10)
        print("# this machine: link up noticed in %.2f s" % (time.time() - t0))
        subprocess.run(["ip", "link", "set", "asioshd0", "down"], check=True)
        time.sleep(1)
        subprocess.run(["ip", "link", "set", "asioshd0", "up"], check=True)
        ok = ok and wait_for(lambda: text().count("link up (asioshd") >= 2, 10)
        check(ok and "checking for drift now" in text(),
              "this machine: a veth link flap: each link-up starts a drift pass at once", text())
    finally:
        t0 = time.time()
        subprocess.run(["ip", "link", "del", "asioshd0"], capture_output=True)
    ok = wait_for(lambda: "test-net-removed on net asioshd" in text(), 10)
    print("# this machine: a device removed (uevent) reported in %.2f s" % (time.time() - t0))
    check(ok and "device added (" not in text(),
          "this machine: a device removed is a uevent incident; a virtual device added starts no pass", text())
    uevent_add(text)


def uevent_add(text):
    """a synthetic add uevent of this machine's first PCI device (what `udevadm trigger` writes): a pass at once"""
    devs = sorted(os.listdir("/sys/bus/pci/devices")) if os.path.isdir("/sys/bus/pci/devices") else []
    if not devs:
        skip("this machine: a PCI device added starts a drift pass at once", "no PCI device")
        return
    t0 = time.time()
    with open(os.path.join("/sys/bus/pci/devices", devs[0], "uevent"), "w") as f:
        f.write("add\n")
    ok = wait_for(lambda: "device added (add@/devices/pci" in text(), 10)
    print("# this machine: a PCI device added noticed in %.2f s" % (time.time() - t0))
    check(ok and re.search(r"device added \(add@/devices/pci[^)]*%s\): checking for drift now" % re.escape(devs[0]),
                           text()), "this machine: a PCI device added (uevent) starts a drift pass at once", text())


def live_pressure(tmp):
    """the live daemon: a link flap, then real memory pressure in a memory cgroup, caught by a PSI trigger"""
    conf = os.path.join(tmp, "live.conf")
    write(conf, "[health]\ninterval = 30\nverify_after = 5\n[signature memory-pressure]\nact = yes\n"
          "[signature test-net-removed]\nsource = uevent\nmatch = remove:net\n")
    cg = memory_cgroup(tmp)
    if not cg:
        skip("this machine: memory pressure caught by a PSI trigger", "no memory cgroup controller")
        return
    with LiveState():  # a state left by an earlier run (an interrupted one) would answer for this daemon
        live_pressure_run(tmp, conf, cg)


def live_pressure_run(tmp, conf, cg):
    log = open(os.path.join(tmp, "live.log"), "w+")
    d = subprocess.Popen(UNIT + [HEALTHD, "--config", conf, "--config-dir", os.path.join(tmp, "none")],
                         stdout=log, stderr=subprocess.STDOUT, env=ENV)
    text = lambda: open(log.name).read()
    stress = None
    try:
        wait_for(lambda: "start:" in text(), 30)
        link_flap(text)
        time.sleep(5)  # past the triggers' first window
        t0 = time.time()
        stress = subprocess.Popen(["sh", "-c", "echo $$ > %s/cgroup.procs && exec stress-ng --vm 2 --vm-bytes 40M "
                                   "--vm-keep --iomix 1 --iomix-bytes 100M --temp-path %s -q -t 40" % (cg, tmp)])
        ok = wait_for(lambda: "memory-pressure on memory" in text(), 40)
        dt = time.time() - t0
        print("# this machine: memory pressure caught %.2f s after stress-ng started" % dt)
        check(ok and "PSI trigger" in text(), "this machine: memory pressure in a 48 MiB cgroup is caught by a PSI "
              "trigger and compaction started", text())
        ok = wait_for(lambda: "compact did not help" in text() or "compact helped" in text(), 40)
        check(ok, "this machine: the compaction's effect is verified after its window", text())
    finally:
        if stress:
            stress.kill()
            stress.wait()
        terminate(d, 20)
        time.sleep(0.5)
        try:
            os.rmdir(cg)
        except OSError:
            pass


def main():
    if not need(HEALTHD) or not need(ASIOSCTL):
        return 1
    tmp = tempfile.mkdtemp()
    try:
        root = fixture(tmp)
        conf = os.path.join(tmp, "health.conf")
        write(conf, CONF)
        d = Daemon(tmp, root, conf)
        check("READY=1" in d.ready and "start: 0 incidents" in d.text(), "READY=1 after the start pass, no incident",
              d.ready + d.text())
        p = subprocess.run(UNIT + [HEALTHD, "--root", root, "--config", conf, "--once"], capture_output=True,
                           text=True, env=ENV)
        check(p.returncode == 1 and "another asios-healthd runs on this root" in p.stderr,
              "a second asios-healthd on the same root refuses to start (it would race on the state)", p.stderr)
        try:
            fault_xid(d, root)
            fault_drift(d, root)
            fault_hog(d, root)
            fault_pressure(d, root)
            fault_fight(d, root)
            fault_breaker(d, root, tmp)
        finally:
            rc = d.stop()
        check(rc == 0 and "stopping after" in d.text(), "SIGTERM stops the daemon cleanly", d.text())
        d = Daemon(tmp, root, conf)
        time.sleep(4)
        rc = d.stop()
        check("learned baselines kept from before" in d.text() and "gpu-xid-79" not in d.text(),
              "a restart keeps the baselines and the kernel-log cursor (no Xid reported twice)", d.text())
        check_ctl(root)
        bad_config(tmp, root)
        live(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return done()


if __name__ == "__main__":
    sys.exit(main())
