# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""TCP throughput between two network namespaces over a veth pair, several iperf3 streams in parallel (the
archive's iperf3 is single-threaded, so one process per stream, on its own port).

  stock  the kernel's default socket buffer limits and backlog, set explicitly (a machine with asios-base
         installed has ours already)
  asios  what ASIOS sets on this machine: asios-base's sysctl defaults (packages/asios-base/sysctl.conf) and
         the net domain's plan for the machine's link class (asiosctl net plan, from stock): the global net.core
         ones on the host, the per-namespace net.ipv4 ones inside both namespaces
On a real NIC pair the same comparison adds asios-irqd's queue IRQ placement; veth has no IRQs, so here it
measures the sysctls and the stack alone.
"""
import contextlib
import json
import os
import subprocess
import time

import benchlib

TITLE = "TCP throughput, parallel iperf3 over veth between two namespaces: stock vs ASIOS sysctls"
METRICS = [("gbits", "Gbit/s", "higher"), ("retransmits", "segments", "lower")]
MODES = [("stock", "stock"), ("asios", "ASIOS sysctls")]
NS = ("asios-bench-a", "asios-bench-b")
ADDR = ("10.231.77.1", "10.231.77.2")
# the kernel's defaults (Linux 6.12) of what asios-base changes
STOCK = {"net.core.rmem_max": "212992", "net.core.wmem_max": "212992", "net.core.netdev_max_backlog": "1000",
         "net.ipv4.tcp_rmem": "4096\t131072\t6291456", "net.ipv4.tcp_wmem": "4096\t16384\t4194304",
         "net.ipv4.tcp_mtu_probing": "0"}


def ns(n, *cmd):
    return ["ip", "netns", "exec", n] + list(cmd)


def prepare(ctx):
    benchlib.need_root()
    benchlib.need_tool("iperf3", "ip")
    cleanup(ctx)
    benchlib.sh(["ip", "netns", "add", NS[0]])
    benchlib.sh(["ip", "netns", "add", NS[1]])
    benchlib.sh(["ip", "link", "add", "asbench0", "netns", NS[0], "type", "veth", "peer", "name", "asbench1",
                 "netns", NS[1]])
    for n, dev, addr in ((NS[0], "asbench0", ADDR[0]), (NS[1], "asbench1", ADDR[1])):
        benchlib.sh(ns(n, "ip", "addr", "add", addr + "/24", "dev", dev))
        benchlib.sh(ns(n, "ip", "link", "set", dev, "up"))
        benchlib.sh(ns(n, "ip", "link", "set", "lo", "up"))
    vals = {k[len("/proc/sys/"):].replace("/", "."): v for k, v in benchlib.sysctl_file(benchlib.ASIOS_SYSCTL).items()
            if k.startswith("/proc/sys/net/")}
    with benchlib.knobs({"/proc/sys/" + k.replace(".", "/"): v for k, v in STOCK.items()}):
        plan = json.loads(benchlib.sh([ctx.program("asiosctl"), "net", "plan", "--json"]))
    vals.update({a["object"]: a["new"] for a in plan["actions"]})
    ctx.state["asios"] = dict(STOCK, **vals)
    streams = 2 if ctx.quick else max(2, min(8, (os.cpu_count() or 2) * 2))
    ctx.state["streams"] = streams
    ctx.state["network.notes"] = ["%d iperf3 streams of %d s each" % (streams, 2 if ctx.quick else 5),
                                  "the net domain here: %s (%d changes from stock)" % ("; ".join(plan.get("notes", [])),
                                                                                       len(plan["actions"]))]


def cleanup(ctx):
    for n in NS:
        p = subprocess.run(["ip", "netns", "pids", n], capture_output=True, text=True)
        for pid in p.stdout.split():
            subprocess.run(["kill", pid], capture_output=True)
        subprocess.run(["ip", "netns", "del", n], capture_output=True)


def _set(values):
    """Global net.core values on the host (knobs, put back); per-namespace net.ipv4 ones in both namespaces."""
    glob, per_ns = {}, {}
    for k, v in values.items():
        (glob if k.startswith("net.core.") else per_ns)[k] = v
    for n in NS:
        for k, v in per_ns.items():
            benchlib.sh(ns(n, "sysctl", "-q", "-w", "%s=%s" % (k, v)))
    return benchlib.knobs({"/proc/sys/" + k.replace(".", "/"): v for k, v in glob.items()})


@contextlib.contextmanager
def tuned(ctx, mode):
    if mode == "asios":
        vals = dict(ctx.state["asios"])
    else:
        vals = STOCK
    with _set(vals):
        yield


def run(ctx, mode):
    n, secs = ctx.state["streams"], 2 if ctx.quick else 5
    servers = [subprocess.Popen(ns(NS[1], "iperf3", "-s", "-1", "-p", str(5201 + i)), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL) for i in range(n)]
    try:
        time.sleep(0.5)
        clients = [subprocess.Popen(ns(NS[0], "iperf3", "-c", ADDR[1], "-p", str(5201 + i), "-t", str(secs), "-J"),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(n)]
        bits, retr = 0.0, 0
        for c in clients:
            out, err = c.communicate(timeout=secs + 60)
            if c.returncode:
                raise RuntimeError("iperf3 client failed: %s" % (err or out)[-300:])
            j = json.loads(out)
            bits += j["end"]["sum_received"]["bits_per_second"]
            retr += j["end"]["sum_sent"].get("retransmits", 0)
        return {"gbits": bits / 1e9, "retransmits": retr}
    finally:
        for s in servers:
            if s.poll() is None:
                s.kill()
            s.wait()
