# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""What a scrape costs: node_exporter (the exporter every fleet already runs, with the collectors of ASIOS's
drop-in) vs asios-exporter on this machine vs asios-exporter reading the largest captured machine (ai-2s8g:
96 CPUs, 8 GPUs, 8 NICs). Each exporter is started afresh, scraped SCRAPES times back to back over loopback like
Prometheus does; the latency of each scrape (median and p99), the exporter's CPU time per scrape and its peak RSS
are measured. Needs no root."""
import os
import shutil
import statistics
import subprocess
import tarfile
import time
import urllib.request

import benchlib

TITLE = "Prometheus scrape cost: node_exporter vs asios-exporter (this machine, a 96-CPU 8-GPU capture)"
METRICS = [("p50_ms", "ms", "lower"), ("p99_ms", "ms", "lower"), ("cpu_ms_per_scrape", "CPU ms", "lower"),
           ("rss_mib", "MiB", "lower"), ("kib_per_scrape", "KiB", "lower")]
MODES = [("node", "node_exporter"), ("asios", "asios-exporter"), ("asios-96cpu", "asios-exporter, ai-2s8g")]
NOTES = ["node_exporter runs with its default collectors and the drop-in's (meminfo_numa, ethtool, cpu.info, vmstat "
         "fields); asios-exporter exports only what node_exporter does not (docs/telemetry.md), so the two are "
         "scraped side by side in a fleet, not instead of each other."]
FIXTURE = "ai-2s8g"


def _free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(ctx):
    node = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")
    if not node:
        raise benchlib.Skip("no node_exporter (apt-get install prometheus-node-exporter)")
    exporter = ctx.program("asios-exporter")
    with tarfile.open(os.path.join(benchlib.TOP, "tests", "fixtures", FIXTURE + ".tar.gz")) as tf:
        tf.extractall(ctx.tmp)
    with open(os.path.join(benchlib.TOP, "packages", "asios-exporter", "node-exporter.conf")) as f:
        line = next(x for x in f if x.startswith('Environment="ASIOS_NODE_EXPORTER_ARGS='))
    args = line.split("=", 2)[2].rstrip().rstrip('"').split()
    ctx.state["telemetry"] = {"node": [node] + args, "asios": [exporter],
                              "asios-96cpu": [exporter, "--root", os.path.join(ctx.tmp, FIXTURE)]}


def tuned(ctx, mode):
    return benchlib.knobs({})


def _scrape(url):
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as r:
        n = len(r.read())
    return time.perf_counter() - t0, n


def run(ctx, mode):
    scrapes = 20 if ctx.quick else 200
    port = _free_port()
    cmd = list(ctx.state["telemetry"][mode])
    cmd += ["--web.listen-address=127.0.0.1:%d" % port] if mode == "node" else ["--listen", "127.0.0.1:%d" % port]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = "http://127.0.0.1:%d/metrics" % port
    try:
        for _ in range(100):  # until it listens
            try:
                _scrape(url)  # the first scrape (caches warmed) is not counted
                break
            except OSError:
                if p.poll() is not None:
                    raise RuntimeError("%s exited with %s" % (cmd[0], p.returncode))
                time.sleep(0.1)
        c0 = benchlib._cpu_seconds(p.pid)
        lat, size = [], 0
        for _ in range(scrapes):
            t, size = _scrape(url)
            lat.append(t * 1000)
        cpu = benchlib._cpu_seconds(p.pid) - c0
        lat.sort()
        return {"p50_ms": statistics.median(lat), "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))],
                "cpu_ms_per_scrape": cpu * 1000 / scrapes, "rss_mib": benchlib._status_kib(p.pid, "VmHWM") / 1024,
                "kib_per_scrape": size / 1024}
    finally:
        p.terminate()
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
