#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""`asiosctl export slurm` in a real Slurm on localhost (slurmctld, slurmd, srun, sinfo; Debian's 22.05).

This machine is captured (`asiosctl snapshot`) and the capture edited so that CPU 1 is isolated
(sys/devices/system/cpu/isolated, and isolcpus= on its command line) and so that it holds one NVIDIA GPU (a
made-up PCI function on node 0: this machine has none; the GRES path is exercised, not a GPU). The export of
that capture gives the node line (CpuSpecList=0: CPU 0 is the housekeeping CPU) and the gres.conf, whose
File=/dev/nvidia0 is pointed at a plain file in the temporary folder (slurmd only checks that it exists), and
NodeAddr=127.0.0.1 is added (the network address is the site's). slurmctld and slurmd run in the foreground
as root with auth/none, free ports and every state, spool, pid and log file in a temporary folder: the
machine's own Slurm configuration and daemons are not touched. Checks: the node registers idle with its GPU;
`srun --cpu-bind=verbose,cores -n1` runs bound to CPUs without CPU 0 (the specialized one); `--gres=gpu:1`
runs and sees CUDA_VISIBLE_DEVICES. With ASIOS_SLURM_NO_SPEC=1 the CpuSpecList is dropped from the node line
(the binding check is then expected to fail: it shows the check can fail). Skipped when not root or when
Slurm is not installed. TAP output.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import ASIOSCTL, capture, check, ctl, done, eq, export_files, need, need_root, skip, wait_for, write  # noqa: E402

PROGRAMS = ("slurmctld", "slurmd", "srun", "sinfo", "scontrol")
FAKE_GPU = "0000:00:1e.0"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def isolate_cpu1(cap):
    """the capture believes CPU 1 is isolated: the kernel's isolated list and isolcpus= on the command line"""
    write(os.path.join(cap, "sys/devices/system/cpu/isolated"), "1\n")
    cmdline = os.path.join(cap, "proc/cmdline")
    text = open(cmdline).read().strip() if os.path.exists(cmdline) else ""
    write(cmdline, (text + " isolcpus=domain,managed_irq,1").strip() + "\n")


def add_gpu(cap):
    """a made-up NVIDIA H100 PCI function on node 0 of the capture, as sysfs shows one"""
    dev = os.path.join(cap, "sys/devices/pci0000:00", FAKE_GPU)
    for f, v in (("vendor", "0x10de"), ("device", "0x2330"), ("subsystem_vendor", "0x10de"),
                 ("subsystem_device", "0x16c1"), ("class", "0x030200"), ("numa_node", "0"),
                 ("local_cpulist", "0-1"), ("irq", "0")):
        write(os.path.join(dev, f), v + "\n")
    link = os.path.join(cap, "sys/bus/pci/devices", FAKE_GPU)
    if not os.path.lexists(link):
        os.symlink("../../../devices/pci0000:00/" + FAKE_GPU, link)


def config(tmp, host, node_line, gres):
    """slurm.conf, gres.conf and the node include in TMP; the path of slurm.conf"""
    for d in ("state", "spool"):
        os.makedirs(os.path.join(tmp, d), exist_ok=True)
    write(os.path.join(tmp, "nvidia0"), "")
    write(os.path.join(tmp, "gres.conf"), gres.replace("File=/dev/nvidia0", "File=" + os.path.join(tmp, "nvidia0")))
    write(os.path.join(tmp, "slurm-node.conf"), node_line)
    conf = os.path.join(tmp, "slurm.conf")
    write(conf, "\n".join([
        "ClusterName=asios-test", "SlurmctldHost=%s(127.0.0.1)" % host,
        "SlurmctldPort=%d" % free_port(), "SlurmdPort=%d" % free_port(),
        "AuthType=auth/none", "CredType=cred/none", "SlurmUser=root", "SlurmdUser=root",
        "StateSaveLocation=%s/state" % tmp, "SlurmdSpoolDir=%s/spool" % tmp,
        "SlurmctldPidFile=%s/slurmctld.pid" % tmp, "SlurmdPidFile=%s/slurmd.pid" % tmp,
        "SlurmctldLogFile=%s/slurmctld.log" % tmp, "SlurmdLogFile=%s/slurmd.log" % tmp,
        "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/affinity", "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core", "GresTypes=gpu", "ReturnToService=2", "MpiDefault=none",
        "SchedulerType=sched/builtin", "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none", "JobCompType=jobcomp/none",
        "SlurmctldTimeout=10", "SlurmdTimeout=10", "InactiveLimit=0", "KillWait=2", "MinJobAge=5",
        "Include %s/slurm-node.conf" % tmp,
        "PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP", ""]))
    return conf


def start(args, env, log):
    return subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop(procs):
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def tail(path, n=30):
    return "".join(open(path).readlines()[-n:]) if os.path.exists(path) else "(no %s)" % path


def jobs(tmp, env):
    run = dict(env=env, capture_output=True, text=True, timeout=30)
    p = subprocess.run(["srun", "--cpu-bind=verbose,cores", "-n1", "grep", "Cpus_allowed_list", "/proc/self/status"],
                       **run)
    m = re.search(r"Cpus_allowed_list:\s*(\S+)", p.stdout)
    cpus = set()
    for part in (m.group(1) if m else "").split(","):
        if part:
            a, _, b = part.partition("-")
            cpus |= set(range(int(a), int(b or a) + 1))
    check(p.returncode == 0 and cpus and 0 not in cpus,
          "srun --cpu-bind=cores -n1 is bound to CPUs without the specialized CPU 0 (%s)" % sorted(cpus),
          p.stdout + p.stderr + tail(os.path.join(tmp, "slurmd.log")))
    # (the device file is a plain file, not /dev/nvidia0: Slurm allocates the GPU, SLURM_GPUS_ON_NODE says so,
    # but CUDA_VISIBLE_DEVICES is not set for it)
    p = subprocess.run(["srun", "--gres=gpu:1", "-n1", "sh", "-c", "echo GPUS=$SLURM_GPUS_ON_NODE"], **run)
    check(p.returncode == 0 and "GPUS=1" in p.stdout, "srun --gres=gpu:1 is given the GPU of the gres.conf",
          p.stdout + p.stderr)
    p = subprocess.run(["srun", "--gres=gpu:2", "-n1", "true"], **dict(run, timeout=10))
    check(p.returncode != 0, "srun --gres=gpu:2 is refused (the node has one)", p.stdout + p.stderr)


def main():
    if not need(ASIOSCTL):
        return 1
    missing = [p for p in PROGRAMS if not shutil.which(p)]
    if missing:
        skip("Slurm runs the export", "not installed: " + " ".join(missing))
        return done()
    if not need_root("Slurm runs the export (slurmd runs jobs as root here)"):
        return done()
    host = socket.gethostname().split(".")[0]
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        cap, p = capture("/", tmp, "slurm")
        check(p.returncode == 0, "a capture of this machine", p.stderr)
        isolate_cpu1(cap)
        add_gpu(cap)
        p = ctl("export", "slurm", "--root", cap, "--node-name", host)
        files = export_files(p.stdout)
        node = next((x for x in files.get("slurm-node.conf", "").splitlines() if x.startswith("NodeName=")), "")
        check(p.returncode == 0 and " CpuSpecList=0" in node and " Gres=gpu:1" in node,
              "the export of the capture: CpuSpecList=0 and one GPU", p.stdout + p.stderr)
        if os.environ.get("ASIOS_SLURM_NO_SPEC") == "1":
            node = re.sub(r" CpuSpecList=\S+", "", node)
        conf = config(tmp, host, node + " NodeAddr=127.0.0.1\n", files.get("gres.conf", ""))
        env = dict(os.environ, SLURM_CONF=conf)
        procs = []
        try:
            with open(os.path.join(tmp, "daemons.out"), "w") as log:
                procs.append(start(["slurmctld", "-D", "-i"], env, log))
                procs.append(start(["slurmd", "-D"], env, log))
            up = wait_for(lambda: re.search(r"\bidle\b", subprocess.run(
                ["sinfo", "-h", "-N", "-o", "%N %t %G"], env=env, capture_output=True, text=True).stdout or ""), 30)
            info = subprocess.run(["sinfo", "-h", "-N", "-o", "%N %t %G"], env=env, capture_output=True, text=True)
            check(up and info.stdout.split()[:1] == [host] and "gpu:1" in info.stdout,
                  "slurmd registers the exported node idle with gpu:1 (%s)" % info.stdout.strip(),
                  info.stderr + tail(os.path.join(tmp, "slurmctld.log")) + tail(os.path.join(tmp, "slurmd.log")))
            if up:
                show = subprocess.run(["scontrol", "show", "node", host], env=env, capture_output=True, text=True)
                m = re.search(r"CPUSpecList=(\S+)", show.stdout)
                eq("slurmctld keeps the exported CpuSpecList", "0" if " CpuSpecList=" in node else None,
                   m.group(1) if m else None)
                jobs(tmp, env)
        finally:
            stop(procs)
        eq("the daemons are stopped", [], [p.pid for p in procs if p.poll() is None])
    check(time.time() - t0 < 60, "under a minute (%.1f s)" % (time.time() - t0))
    return done()


if __name__ == "__main__":
    sys.exit(main())
