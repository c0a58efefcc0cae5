#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""asios-irqd side by side with irqbalance, in one run.

1. Placement quality on every synthetic fixture machine: each tool places the IRQs of its own writable copy
   (irqbalance in a private mount namespace with the copy's /sys, /proc/interrupts, /proc/irq and a /proc/stat
   bind-mounted over the real ones, `--oneshot`). Scores: share of device IRQs on their device's node (when that
   node has housekeeping CPUs), IRQs left on isolated CPUs, CPUs used by the queues of multi-queue devices.
2. Idle cost on this machine: each daemon alone for SECONDS; RSS (VmHWM) and CPU time, per hour.
3. Reaction: a new IRQ appears on a fixture copy together with a PCI uevent; time until each places it.

Needs root, irqbalance and unshare. Writes BUILD/bench/irqd/results.json and report.md.
  benchmarks/daemons/irqd-vs-irqbalance.py BUILD_DIR [SECONDS]
"""
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def expand_list(text):
    out = set()
    for part in text.strip().split(","):
        if part:
            a, _, b = part.partition("-")
            out.update(range(int(a), int(b or a) + 1))
    return out


def expand_mask(text):
    v = int(text.strip().replace(",", "") or "0", 16)
    return {i for i in range(v.bit_length()) if v >> i & 1}


def topology(asiosctl, root):
    return json.loads(subprocess.run([asiosctl, "topology", "--json", "--root", root], capture_output=True,
                                     text=True, check=True).stdout)


def prepare(src, dst, ncpus):
    shutil.copytree(src, dst, symlinks=True)
    for f in glob.glob(os.path.join(dst, "proc/irq/*/*")):
        os.chmod(f, 0o644)  # real /proc/irq files are root-writable; irqbalance drops CAP_DAC_OVERRIDE
    with open(os.path.join(dst, "proc/stat"), "w") as f:
        f.write("cpu  %s\n" % " ".join(["100"] * 10))
        for i in range(ncpus):
            f.write("cpu%d %s\n" % (i, " ".join(["10"] * 10)))
        f.write("intr 0\nctxt 0\nbtime 0\nprocesses 1\nprocs_running 1\nprocs_blocked 0\n")


def in_namespace(root, cmd, timeout):
    binds = " && ".join("mount --bind %s/%s /%s" % (root, p, p) for p in ("sys", "proc/interrupts", "proc/irq", "proc/stat"))
    return subprocess.run(["unshare", "-m", "sh", "-c", "%s && exec %s" % (binds, cmd)], capture_output=True, text=True,
                          timeout=timeout)


def score(topo, affinity):
    iso = set(topo["isolation"]["isolated"]) | set(topo["isolation"]["nohz_full"])
    hk = set(topo["isolation"]["housekeeping"])
    node_cpus = {nd["id"]: set(nd["cpus"]) for nd in topo["nodes"]}
    devs = {d["pci"]: d for d in topo["devices"]}
    local = total = on_iso = managed_iso = 0
    queues = {}
    for q in topo["irqs"]:
        cpus = affinity[q["irq"]]
        if cpus & iso:
            # a kernel-managed IRQ cannot be moved on a real kernel (the write fails with EIO): counted apart
            if q["managed"]:
                managed_iso += 1
            else:
                on_iso += 1
        d = devs.get(q["device"] or "")
        if q["managed"] or not d or d["node"] < 0 or not (node_cpus.get(d["node"], set()) & hk):
            continue
        total += 1
        local += cpus <= node_cpus[d["node"]]
        if any(w in (q["name"] or "") for w in ("comp", "TxRx")):
            queues.setdefault(d["pci"], set()).update(cpus if len(cpus) == 1 else set())
            queues.setdefault(d["pci"] + "#n", []).append(len(cpus))
    spread = {k: len(v) for k, v in queues.items() if not k.endswith("#n")}
    return {"device_irqs": total, "on_local_node": local, "local_share": round(local / total, 3) if total else None,
            "irqs_on_isolated_cpus": on_iso, "managed_irqs_on_isolated_cpus": managed_iso,
            "distinct_single_cpu_queue_targets": spread}


def placement(build, tmp):
    asiosctl, irqd = os.path.join(build, "asiosctl"), os.path.join(build, "asios-irqd")
    out = {}
    for tgz in sorted(glob.glob(os.path.join(TOP, "tests/fixtures/*.tar.gz"))):
        name = os.path.basename(tgz)[:-7]
        src = os.path.join(tmp, "src", name)
        with tarfile.open(tgz) as tf:
            tf.extractall(os.path.join(tmp, "src"))
        topo = topology(asiosctl, src)
        a, b = os.path.join(tmp, "asios-" + name), os.path.join(tmp, "irqb-" + name)
        prepare(src, a, len(topo["cpus"]))
        prepare(src, b, len(topo["cpus"]))
        subprocess.run([irqd, "--root", a, "--once", "--config", "/nonexistent", "--config-dir", "/nonexistent"],
                       capture_output=True, check=True)
        p = in_namespace(b, "irqbalance --oneshot --foreground", 120)
        ours = {q["irq"]: expand_list(open(os.path.join(a, "proc/irq/%d/smp_affinity_list" % q["irq"])).read())
                for q in topo["irqs"]}
        theirs = {q["irq"]: expand_mask(open(os.path.join(b, "proc/irq/%d/smp_affinity" % q["irq"])).read())
                  for q in topo["irqs"]}
        before = {q["irq"]: set(q["affinity"]) for q in topo["irqs"]}
        out[name] = {"before": score(topo, before), "asios-irqd": score(topo, ours), "irqbalance": score(topo, theirs),
                     "irqbalance_exit": p.returncode}
    return out


def cpu_seconds(pid):
    stat = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def idle_cost(cmd, seconds):
    """steady state: CPU time between 15 s after the start (first placement done) and the end"""
    d = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(15)
    start = cpu_seconds(d.pid)
    time.sleep(seconds)
    cpu = cpu_seconds(d.pid) - start
    status = open("/proc/%d/status" % d.pid).read()
    hwm = next(int(l.split()[1]) for l in status.splitlines() if l.startswith("VmHWM"))
    d.send_signal(signal.SIGTERM)
    d.wait(20)
    return {"seconds": seconds, "rss_peak_kib": hwm, "cpu_seconds": cpu, "cpu_seconds_per_hour": round(cpu * 3600 / seconds, 2)}


def reaction(build, tmp, tool):
    """seconds from a new IRQ (with a PCI uevent) to its placement on a fixture copy"""
    asiosctl, irqd = os.path.join(build, "asiosctl"), os.path.join(build, "asios-irqd")
    root = os.path.join(tmp, "react-" + tool)
    with tarfile.open(os.path.join(TOP, "tests/fixtures/ws-2g-iso.tar.gz")) as tf:
        tf.extractall(os.path.join(tmp, "react-src-" + tool))
    prepare(os.path.join(tmp, "react-src-" + tool, "ws-2g-iso"), root, 32)
    if tool == "asios-irqd":
        d = subprocess.Popen([irqd, "--root", root, "--config", "/nonexistent", "--config-dir", "/nonexistent"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        affinity_file, parse = "smp_affinity_list", expand_list
    else:
        binds = " && ".join("mount --bind %s/%s /%s" % (root, p, p) for p in ("sys", "proc/interrupts", "proc/irq", "proc/stat"))
        d = subprocess.Popen(["unshare", "-m", "sh", "-c", binds + " && exec irqbalance --foreground"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        affinity_file, parse = "smp_affinity", expand_mask
    time.sleep(12)  # both settled after their first pass
    nic = os.path.join(root, "sys/devices/pci0000:00/0000:00:1c.0/0000:03:00.0")
    with open(os.path.join(nic, "msi_irqs/137"), "w") as f:
        f.write("msix\n")
    os.makedirs(os.path.join(root, "proc/irq/137"))
    for fn, v in (("smp_affinity_list", "5"), ("smp_affinity", "00000020"), ("node", "0")):
        with open(os.path.join(root, "proc/irq/137", fn), "w") as f:
            f.write(v + "\n")
    lines = open(os.path.join(root, "proc/interrupts")).read().splitlines()
    at = next(i for i, l in enumerate(lines) if l.lstrip().startswith("140:"))
    lines.insert(at, " 137:" + "          0" * 32 + "  IR-PCI-MSI 137-edge   enp3s0-TxRx-4")
    with open(os.path.join(root, "proc/interrupts"), "w") as f:
        f.write("\n".join(lines) + "\n")
    t0 = time.time()
    dev = sorted(glob.glob("/sys/bus/pci/devices/*/uevent"))[0]
    with open(dev, "w") as f:
        f.write("add\n")  # the uevent that comes with a new device or vector
    took = None
    while time.time() - t0 < 40:
        if parse(open(os.path.join(root, "proc/irq/137", affinity_file)).read()) != {5}:
            took = round(time.time() - t0, 2)
            break
        time.sleep(0.05)
    d.send_signal(signal.SIGTERM)
    d.wait(20)
    return {"seconds_to_place_new_irq": took}


def main():
    build = sys.argv[1]
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    if os.geteuid() != 0 or not shutil.which("irqbalance") or not shutil.which("unshare"):
        sys.exit("needs root, irqbalance (apt-get install irqbalance) and unshare")
    if subprocess.run(["pgrep", "-x", "irqbalance"], capture_output=True).returncode == 0:
        sys.exit("irqbalance is already running: stop it first")
    out_dir = os.path.join(build, "bench", "irqd")
    os.makedirs(out_dir, exist_ok=True)
    res = {"irqbalance_version": subprocess.run(["irqbalance", "--version"], capture_output=True, text=True).stdout.strip()}
    only = os.environ.get("BENCH_ONLY", "")  # "placement" skips the slower parts
    with tempfile.TemporaryDirectory() as tmp:
        print("== placement quality on the fixture machines", flush=True)
        res["placement"] = placement(build, tmp)
        if only != "placement":
            print("== reaction to a new IRQ", flush=True)
            res["reaction"] = {t: reaction(build, tmp, t) for t in ("asios-irqd", "irqbalance")}
    before = {f: open(f).read() for f in glob.glob("/proc/irq/*/smp_affinity_list")}
    if only != "placement":
        print("== idle cost on this machine, %d s each" % seconds, flush=True)
        res["idle"] = {"asios-irqd": idle_cost([os.path.join(build, "asios-irqd")], seconds),
                       "irqbalance": idle_cost(["irqbalance", "--foreground"], seconds)}
    subprocess.run([os.path.join(build, "asiosctl"), "irq", "revert"], capture_output=True)
    for f, v in before.items():  # put back what irqbalance changed too
        try:
            with open(f, "w") as fh:
                fh.write(v)
        except OSError:
            pass
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    md = ["# asios-irqd vs %s" % res["irqbalance_version"], "",
          "| machine | tool | device IRQs on their node | movable IRQs on isolated CPUs | managed IRQs on isolated CPUs (not movable) | distinct CPUs of single-CPU queues |",
          "|---|---|---|---|---|---|"]
    for name, r in res["placement"].items():
        for tool in ("before", "asios-irqd", "irqbalance"):
            s = r[tool]
            md.append("| %s | %s | %s/%s | %d | %d | %s |" % (name, tool, s["on_local_node"], s["device_irqs"],
                                                           s["irqs_on_isolated_cpus"], s["managed_irqs_on_isolated_cpus"],
                                                           sum(s["distinct_single_cpu_queue_targets"].values())))
    if "idle" not in res:
        with open(os.path.join(out_dir, "report.md"), "w") as f:
            f.write("\n".join(md) + "\n")
        print("\n".join(md))
        return
    md += ["", "| | asios-irqd | irqbalance |", "|---|---|---|"]
    md.append("| new IRQ placed after (s) | %s | %s |" % (res["reaction"]["asios-irqd"]["seconds_to_place_new_irq"],
                                                         res["reaction"]["irqbalance"]["seconds_to_place_new_irq"]))
    for k in ("rss_peak_kib", "cpu_seconds_per_hour"):
        md.append("| %s (idle, %d s) | %s | %s |" % (k, seconds, res["idle"]["asios-irqd"][k], res["idle"]["irqbalance"][k]))
    with open(os.path.join(out_dir, "report.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
