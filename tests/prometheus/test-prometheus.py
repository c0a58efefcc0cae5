#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""A real Prometheus on loopback scraping asios-exporter (reading a captured machine) and node_exporter (started
with the collectors of ASIOS's drop-in for prometheus-node-exporter.service), with ASIOS's rules loaded and one
alert of this test's own on the irq domain's drift: both targets up, the asios_* series and node_exporter's
per-node NUMA series queryable, the rule groups healthy, the recording rules evaluated, and the drift alert firing;
then `asiosctl irq apply` on the capture: Prometheus sees the drift at 0 and the apply counted, and the alert
resolves. A headless Chromium takes a screenshot of Prometheus's graph page for asios_domain_pending_actions
(kept as BUILD/prometheus-graph.png): each series the page drew (its SVG paths) shows in the picture in its
colour, and a query without data draws none. TAP output."""
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import ASIOSCTL, BUILD, FIXTURES, TOP, check, ctl, done, eq, need, skip, untar, write  # noqa: E402

EXPORTER = os.path.join(BUILD, "asios-exporter")
PKG = os.path.join(TOP, "packages", "asios-exporter")
NODE_EXPORTER = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")
PROMETHEUS = shutil.which("prometheus")
CHROMIUM = shutil.which("chromium-headless-shell") or shutil.which("chromium")
# the domains libasios registers, each exported with its pending actions
DOMAINS = ["block", "gpu", "irq", "isolate", "net", "nic", "numa"]

CONFIG = """global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%(rules)s, %(mine)s]
scrape_configs:
  - job_name: asios
    static_configs: [{targets: ["127.0.0.1:%(asios)d"]}]
  - job_name: node
    static_configs: [{targets: ["127.0.0.1:%(node)d"]}]
"""
MINE = """groups:
  - name: test
    rules:
      - alert: TestIrqDrift
        expr: asios_domain_pending_actions{domain="irq"} > 0
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(port, path, **query):
    url = "http://127.0.0.1:%d/api/v1/%s" % (port, path)
    if query:
        url += "?" + urllib.parse.urlencode(query)
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r).get("data")
    except (OSError, ValueError):
        return None


def instant(port, expr):
    """{labels as a sorted tuple: value} of an instant query"""
    data = api(port, "query", query=expr) or {}
    return {tuple(sorted(r["metric"].items())): r["value"][1] for r in data.get("result", [])}


def until(pred, seconds):
    """PRED's last value, polled until true or SECONDS passed"""
    end = time.monotonic() + seconds
    while True:
        v = pred()
        if v or time.monotonic() > end:
            return v
        time.sleep(0.5)


def drop_in_args():
    """the node_exporter flags of ASIOS's drop-in (its ASIOS_NODE_EXPORTER_ARGS)"""
    with open(os.path.join(PKG, "node-exporter.conf")) as f:
        m = re.search(r'^Environment="ASIOS_NODE_EXPORTER_ARGS=([^"]*)"', f.read(), re.M)
    return m.group(1).split() if m else []


def alerts(port):
    return {a["labels"]["alertname"]: a["state"] for a in (api(port, "alerts") or {}).get("alerts", [])}


def start(tmp, root, ports):
    procs = []
    log = open(os.path.join(tmp, "log"), "w")
    procs.append(subprocess.Popen([EXPORTER, "--listen", "127.0.0.1:%d" % ports["asios"], "--root", root],
                                  stdout=log, stderr=log))
    args = drop_in_args()
    check(len(args) >= 3, "the drop-in gives node_exporter flags: " + " ".join(a.split("=")[0] for a in args))
    procs.append(subprocess.Popen([NODE_EXPORTER, "--web.listen-address=127.0.0.1:%d" % ports["node"]] + args,
                                  stdout=log, stderr=log))
    write(os.path.join(tmp, "mine.yml"), MINE)
    write(os.path.join(tmp, "prometheus.yml"), CONFIG % dict(ports, rules=json.dumps(os.path.join(PKG, "asios.rules.yml")),
                                                          mine=json.dumps(os.path.join(tmp, "mine.yml"))))
    procs.append(subprocess.Popen([PROMETHEUS, "--config.file=" + os.path.join(tmp, "prometheus.yml"),
                                   "--storage.tsdb.path=" + os.path.join(tmp, "tsdb"),
                                   "--web.listen-address=127.0.0.1:%d" % ports["prom"]], stdout=log, stderr=log))
    return procs, log


def scraped(port):
    data = api(port, "targets") or {}
    up = {t["labels"]["job"]: t["health"] for t in data.get("activeTargets", [])}
    return up if up.get("asios") == "up" and up.get("node") == "up" else None


def before_apply(port):
    up = until(lambda: scraped(port), 90)
    eq("Prometheus scrapes asios-exporter and node_exporter: both up", {"asios": "up", "node": "up"}, up)
    pending = until(lambda: instant(port, 'asios_domain_pending_actions{job="asios"}'), 30)
    doms = sorted(dict(k)["domain"] for k in pending)
    eq("asios_domain_pending_actions queryable per domain", DOMAINS, doms)
    irq = [v for k, v in pending.items() if dict(k)["domain"] == "irq"]
    check(irq and int(irq[0]) > 0, "... the capture's irq drift: %s actions" % (irq[0] if irq else "none"))
    numa = until(lambda: instant(port, 'node_memory_numa_MemTotal{job="node"}'), 30)
    check(len(numa) >= 1, "the drop-in's meminfo_numa collector: node_memory_numa_MemTotal for %d node(s)" % len(numa))
    vm = instant(port, '{__name__=~"node_vmstat_(numa|thp|pgmigrate)_.*",job="node"}')
    check(len(vm) >= 3, "the drop-in's vmstat fields: %d numa_/thp_/pgmigrate_ series" % len(vm))
    groups = (api(port, "rules") or {}).get("groups", [])
    health = {r.get("name"): r.get("health") for g in groups for r in g.get("rules", [])}
    bad = {n: h for n, h in health.items() if h != "ok"}
    check(len(health) >= 13 and not bad, "the rules loaded and evaluate: %d rules, all healthy" % len(health),
          json.dumps(bad))
    rec = until(lambda: instant(port, "asios:numa_remote_share:rate15m"), 30)
    check(len(rec) >= 1, "recording rule asios:numa_remote_share:rate15m evaluated on node_exporter's counters")
    state = until(lambda: alerts(port).get("TestIrqDrift") == "firing" and alerts(port), 30) or alerts(port)
    eq("an alert on the irq drift fires", "firing", state.get("TestIrqDrift"))
    quiet = sorted(n for n, s in state.items() if n.startswith("ASIOS") and s == "firing")
    eq("none of ASIOS's own alerts fires on a captured machine before any apply", [], quiet)


def after_apply(port, root):
    a = ctl("irq", "apply", "--root", root)
    check(a.returncode == 0, "asiosctl irq apply on the capture", a.stderr)
    drift = until(lambda: instant(port, 'asios_domain_pending_actions{domain="irq"} == 0'), 30)
    check(len(drift) == 1, "Prometheus sees the irq drift at 0 after the apply")
    applies = instant(port, 'asios_domain_applies_total{domain="irq"}')
    eq("... and the apply counted", ["1"], list(applies.values()))
    gone = until(lambda: "TestIrqDrift" not in alerts(port), 30)
    check(gone, "... and the drift alert resolves", json.dumps(alerts(port)))


def png_pixels(path):
    """(width, height, rows, bytes per pixel) of an 8-bit RGB or RGBA PNG, decoded with zlib alone"""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("%s: not a PNG" % path)
    pos, idat, hdr = 8, b"", None
    while pos + 8 <= len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", data[pos + 8:pos + 8 + n])
        elif kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + n]
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError("%s: not an 8-bit RGB(A) PNG" % path)
    bpp = 3 if ctype == 2 else 4
    raw, stride, rows, prev = zlib.decompress(idat), w * bpp, [], bytearray(w * bpp)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a, b = line[i - bpp] if i >= bpp else 0, prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return w, h, rows, bpp


def drawn(port, expr, png):
    """Screenshot of the graph page for EXPR into PNG: (the series' stroke colours the page drew, pixels of each
    colour in the picture, whether the page said it found no data)"""
    url = "http://127.0.0.1:%d/graph?g0.expr=%s&g0.tab=0&g0.range_input=1m" % (port, urllib.parse.quote(expr))
    base = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
            "--virtual-time-budget=15000"]
    subprocess.run(base + ["--screenshot=" + png, url], capture_output=True, timeout=120)
    dom = subprocess.run(base + ["--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    strokes = re.findall(r'<path class="path"[^>]* stroke="#([0-9a-f]{6})"', dom)
    w, h, rows, bpp = png_pixels(png)
    want = {c: bytes.fromhex(c) for c in strokes}
    count = dict.fromkeys(strokes, 0)
    for r in rows:
        for x in range(0, w * bpp, bpp):
            px = bytes(r[x:x + 3])
            for c, rgb in want.items():
                if px == rgb:
                    count[c] += 1
    return strokes, count, "No datapoints found" in dom


def screenshot(port):
    if not CHROMIUM:
        skip("a screenshot of Prometheus's graph page", "no chromium-headless-shell (or chromium)")
        return
    png = os.path.join(BUILD, "prometheus-graph.png")
    strokes, count, empty = drawn(port, "asios_domain_pending_actions", png)
    check(len(strokes) == len(DOMAINS) and all(n >= 50 for n in count.values()) and not empty,
          "screenshot of the graph page (%s): the %d domains' series drawn, each line in the picture (%s px)" %
          (os.path.relpath(png, TOP), len(DOMAINS), ", ".join("#%s %d" % kv for kv in count.items())), json.dumps(count))
    none = os.path.join(tempfile.gettempdir(), "asios-prometheus-none.png")
    strokes, count, empty = drawn(port, "asios_no_such_series", none)
    check(not strokes and empty, "... and a query without data draws no line (the check can fail)")
    os.unlink(none)


def main():
    if not need(EXPORTER) or not need(ASIOSCTL):
        return 1
    if not PROMETHEUS or not NODE_EXPORTER:
        skip("a real Prometheus scraping asios-exporter", "prometheus or prometheus-node-exporter not installed")
        return done()
    tmp = tempfile.mkdtemp(prefix="asios-prometheus-")
    procs, log = [], None
    try:
        untar(os.path.join(FIXTURES, "ws-2g-iso.tar.gz"), tmp)
        root = os.path.join(tmp, "ws-2g-iso")
        ports = {"asios": free_port(), "node": free_port(), "prom": free_port()}
        procs, log = start(tmp, root, ports)
        before_apply(ports["prom"])
        screenshot(ports["prom"])
        after_apply(ports["prom"], root)
        died = [p.args[0] for p in procs if p.poll() is not None]
        eq("nothing died meanwhile", [], died)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        if log:
            log.close()
            if os.environ.get("ASIOS_TEST_VERBOSE"):
                print("".join("# " + line for line in open(log.name)))
        shutil.rmtree(tmp, ignore_errors=True)
    return done()


if __name__ == "__main__":
    sys.exit(main())
