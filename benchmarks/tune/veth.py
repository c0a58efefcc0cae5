# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""Auto-tuning TCP over veth between two network namespaces: the socket buffer limits and backlog that
`asiosctl tune` keeps from stock with retransmits as a guard, against the static choices.

Every run (the tuner's objective and the side-by-side repetitions alike) makes two fresh namespaces joined by a
veth pair, so that they start with the host's per-namespace TCP values, and runs STREAMS iperf3 streams (one
process per stream, the archive's iperf3 being single-threaded) for a few seconds: the sum of the received
Gbit/s, and the segments the senders retransmitted.
  stock       the kernel's defaults (Linux 6.12) of the five knobs
  tuned       TuneD's network-throughput: its tcp_rmem and tcp_wmem (read from the installed profile)
  asios-fast  the net domain's fast class (256 MiB buffers, backlog 250000): asios-base's static defaults until
              they moved into the net domain, and what a machine with a 25 Gb/s or faster link still gets
  asios       what ASIOS sets on this machine: the net domain's plan for its class, from stock
  asios-tune  what `asiosctl tune` kept from stock over tcp_wmem, tcp_rmem and the backlog (rmem_max and
              wmem_max raised along, never below), maximising Gbit/s with retransmits as a guard
"""
import contextlib
import json
import os
import re
import subprocess
import sys

import benchlib

TITLE = ("Auto-tuning TCP over veth (iperf3 between two namespaces): stock vs TuneD network-throughput vs "
         "asios-base fast class vs ASIOS vs asiosctl tune")
METRICS = [("gbits", "Gbit/s", "higher"), ("retransmits", "segments", "lower")]
MODES = [("stock", "stock"), ("tuned", "TuneD network-thr."), ("asios-fast", "ASIOS fast class"),
         ("asios", "ASIOS (this machine)"), ("asios-tune", "asiosctl tune")]
# the kernel's defaults of what the net domain sets
STOCK = {"net.core.rmem_max": 212992, "net.core.wmem_max": 212992, "net.core.netdev_max_backlog": 1000,
         "net.ipv4.tcp_rmem": 6291456, "net.ipv4.tcp_wmem": 4194304}
TRIPLE = {"net.ipv4.tcp_rmem": (4096, 131072), "net.ipv4.tcp_wmem": (4096, 16384)}
TUNED_PROFILE = "/usr/lib/tuned/network-throughput/tuned.conf"
KNOBS = ("net.ipv4.tcp_wmem", "net.ipv4.tcp_rmem", "net.core.netdev_max_backlog")

# one measurement: fresh namespaces, N streams, one JSON line (also the tuner's objective, as a script)
RUN = r'''
import json, os, subprocess, sys, time
streams, secs = int(sys.argv[1]), int(sys.argv[2])
tag = "asv%d" % os.getpid()
ns = (tag + "a", tag + "b")
def sh(*c):
    subprocess.run(c, check=True, capture_output=True)
def cleanup():
    for n in ns:
        p = subprocess.run(["ip", "netns", "pids", n], capture_output=True, text=True)
        for pid in p.stdout.split():
            subprocess.run(["kill", pid], capture_output=True)
        subprocess.run(["ip", "netns", "del", n], capture_output=True)
try:
    for n in ns:
        sh("ip", "netns", "add", n)
    sh("ip", "link", "add", tag + "0", "netns", ns[0], "type", "veth", "peer", "name", tag + "1", "netns", ns[1])
    for n, dev, addr in ((ns[0], tag + "0", "10.231.79.1"), (ns[1], tag + "1", "10.231.79.2")):
        sh("ip", "-n", n, "addr", "add", addr + "/24", "dev", dev)
        sh("ip", "-n", n, "link", "set", dev, "up")
        sh("ip", "-n", n, "link", "set", "lo", "up")
    servers = [subprocess.Popen(["ip", "netns", "exec", ns[1], "iperf3", "-s", "-1", "-p", str(5301 + i)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(streams)]
    time.sleep(0.5)
    clients = [subprocess.Popen(["ip", "netns", "exec", ns[0], "iperf3", "-c", "10.231.79.2", "-p", str(5301 + i),
                                 "-t", str(secs), "-J"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for i in range(streams)]
    bits = retr = 0
    for c in clients:
        out, err = c.communicate(timeout=secs + 60)
        if c.returncode:
            sys.exit("iperf3: " + (err or out)[-300:])
        j = json.loads(out)
        bits += j["end"]["sum_received"]["bits_per_second"]
        retr += j["end"]["sum_sent"].get("retransmits", 0)
    for s in servers:
        s.wait(timeout=30)
    print("gbits %.4f" % (bits / 1e9))
    print("retransmits %d" % retr)
finally:
    cleanup()
'''


def path_of(name):
    return "/proc/sys/" + name.replace(".", "/")


def file_values(values):
    """{knob: number} as {/proc/sys path: the text the file takes} (the triples keep their first two numbers)"""
    out = {}
    for k, v in values.items():
        out[path_of(k)] = "%d\t%d\t%d" % (TRIPLE[k] + (v,)) if k in TRIPLE else str(v)
    return out


def tuned_values():
    """TuneD network-throughput's tcp_rmem and tcp_wmem limits over stock"""
    try:
        text = open(TUNED_PROFILE).read()
    except FileNotFoundError:
        raise benchlib.Skip("TuneD is not installed (%s; make bench-deps installs it)" % TUNED_PROFILE)
    out = dict(STOCK)
    for k in TRIPLE:
        m = re.search(r"^%s\s*=\s*\"?\s*\d+\s+\d+\s+(\d+)" % re.escape(k), text, re.M)
        if not m:
            raise RuntimeError("%s: no %s" % (TUNED_PROFILE, k))
        out[k] = int(m.group(1))
    return out


def asios_values(ctx, cls):
    """the net domain's values: CLS "fast" from its knob table, or "plan": its plan on this machine from stock"""
    if cls == "fast":
        knobs = json.loads(benchlib.sh([ctx.program("asiosctl"), "net", "knobs", "--json"]))
        return dict(STOCK, **{k["name"]: int(k["values"]["fast"]) for k in knobs if "fast" in k["values"]})
    with benchlib.knobs(file_values(STOCK)):
        plan = json.loads(benchlib.sh([ctx.program("asiosctl"), "net", "plan", "--json"]))
    out = dict(STOCK)
    for a in plan["actions"]:
        out[a["object"]] = int(a["new"].split()[-1])
    ctx.state["tune-veth.notes"].append("the net domain on this machine: %s; %d changes from stock" % (
        "; ".join(plan.get("notes", [])), len(plan["actions"])))
    return out


def run_tuner(ctx, budget):
    objective = "%s %s %d %d" % (sys.executable, ctx.state["script"], ctx.state["streams"], ctx.state["secs"])
    with benchlib.knobs(file_values(STOCK)):
        p = subprocess.run([ctx.program("asiosctl"), "tune", "--objective", objective, "--metric", "gbits",
                            "--maximize", "--guard", "retransmits:min:25%", "--knobs", ",".join(KNOBS),
                            "--budget", str(budget), "--timeout", "120", "--json"], capture_output=True, text=True)
        subprocess.run([ctx.program("asiosctl"), "tune", "revert"], capture_output=True)
    if p.returncode != 0:
        raise RuntimeError("asiosctl tune failed: %s" % p.stderr.strip()[-500:])
    r = json.loads(p.stdout)
    values = dict(STOCK, **{s["knob"]: s["result"] for s in r["settings"]})
    steps = ["%s %d->%d %s (p %.3g)" % (t["knob"], t["from"], t["to"], t["decision"], t.get("p", 1))
             for t in r["trials"]]
    ctx.log("asiosctl tune: %s" % "; ".join(steps))
    ctx.state["tune-veth.notes"].append("asiosctl tune (%d runs of %d, %d comparisons, %d kept; from stock, guard "
                                        "retransmits:min:25%%): %s" % (r["runs"], budget, r["trials_run"], r["kept"],
                                                                      "; ".join(steps)))
    return values


def prepare(ctx):
    benchlib.need_root()
    benchlib.need_tool("iperf3", "ip")
    ctx.state["script"] = os.path.join(ctx.tmp, "veth-run.py")
    with open(ctx.state["script"], "w") as f:
        f.write(RUN)
    ctx.state["streams"] = 2 if ctx.quick else 4
    ctx.state["secs"] = 1 if ctx.quick else 3
    ctx.state["tune-veth.notes"] = ["%d iperf3 streams of %d s between two fresh namespaces per run" % (
        ctx.state["streams"], ctx.state["secs"])]
    ctx.state["values"] = {"stock": dict(STOCK), "tuned": tuned_values(), "asios-fast": asios_values(ctx, "fast"),
                           "asios": asios_values(ctx, "plan")}
    ctx.state["values"]["asios-tune"] = run_tuner(ctx, 24 if ctx.quick else 84)
    ctx.state["tune-veth.notes"].append("settings: " + "; ".join(
        "%s %s" % (m, " ".join("%s=%d" % (k.split(".")[-1], v[k]) for k in STOCK))
        for m, v in ctx.state["values"].items()))


def cleanup(ctx):
    pass


@contextlib.contextmanager
def tuned(ctx, mode):
    with benchlib.knobs(file_values(ctx.state["values"][mode])):
        yield


def run(ctx, mode):
    out = benchlib.sh([sys.executable, ctx.state["script"], str(ctx.state["streams"]), str(ctx.state["secs"])])
    vals = dict(line.split() for line in out.strip().splitlines())
    return {"gbits": float(vals["gbits"]), "retransmits": float(vals["retransmits"])}
