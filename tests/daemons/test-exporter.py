#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""asios-exporter as its systemd units run it: socket-activated (systemd-socket-activate passes the listening
socket as asios-exporter.socket does) under the capability bounding set of asios-exporter.service, READY=1 over
NOTIFY_SOCKET; /metrics is `asiosctl metrics --root` of the same capture (less the exporter's own families),
promtool-clean, served as the 0.0.4 text format; / links to it, other paths are 404 and other methods 405; an
apply and a revert made meanwhile by asiosctl show in the next scrape as counters; a capture that cannot be read
answers 500 and the exporter serves on; --listen on a port in use fails with a message; SIGTERM ends it with 0.
TAP output."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import ASIOSCTL, BUILD, FIXTURES, check, ctl, done, eq, need, skip, untar, wait_for  # noqa: E402
import unitcaps  # noqa: E402

EXPORTER = os.path.join(BUILD, "asios-exporter")
UNIT = unitcaps.prefix("asios-exporter")
OWN = re.compile(r"^(# (HELP|TYPE) )?asios_(exporter|program)_.*\n", re.M)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def knock(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def get(port, path="/metrics", method="GET"):
    """(status, content type, body) of an HTTP request to the exporter"""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


def counters(text):
    return dict(re.findall(r'^asios_domain_(applies|reverts|rollbacks)_total\{domain="irq"\} (\d+)$', text, re.M))


def serve(tmp, root, port):
    """the exporter socket-activated on PORT, reading ROOT; (process, log file, NOTIFY message)"""
    sock_path = os.path.join(tmp, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    sock.settimeout(60)
    log = open(os.path.join(tmp, "log"), "w+")
    d = subprocess.Popen(["systemd-socket-activate", "-l", "127.0.0.1:%d" % port, "-E", "NOTIFY_SOCKET=" + sock_path,
                          "--"] + UNIT + [EXPORTER, "--root", root], stdout=log, stderr=subprocess.STDOUT)
    # the first connection starts it, as systemd would
    wait_for(lambda: knock(port), 30)
    try:
        msg = sock.recv(4096).decode()
    except socket.timeout:
        msg = ""
    sock.close()
    return d, log, msg


def scrapes(port, root, log):
    st, ctype, body = get(port)
    check(st == 200 and ctype == "text/plain; version=0.0.4; charset=utf-8",
          "GET /metrics: 200, text format 0.0.4", "%s %s %s" % (st, ctype, open(log.name).read()))
    want = ctl("metrics", "--root", root)
    eq("the scrape is asiosctl metrics of the same capture (less the exporter's own families)",
       OWN.sub("", want.stdout), OWN.sub("", body))
    check(re.search(r"^asios_exporter_scrapes_total 1$", body, re.M), "the exporter counts its scrapes", body[-600:])
    if shutil.which("promtool"):
        lint = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, text=True)
        check(lint.returncode == 0 and not lint.stdout.strip(), "promtool check metrics is clean on the scrape",
              lint.stdout + lint.stderr)
    else:
        skip("promtool check metrics on the scrape", "no promtool (make deps installs Debian's prometheus)")
    st, ctype, body = get(port, "/")
    check(st == 200 and 'href="/metrics"' in body, "GET / links to /metrics", body)
    eq("another path: 404", 404, get(port, "/nothing")[0])
    eq("POST: 405", 405, get(port, "/metrics", "POST")[0])


def follows_applies(port, root):
    before = counters(get(port)[2])
    a = ctl("irq", "apply", "--root", root)
    after = counters(get(port)[2])
    r = ctl("irq", "revert", "--root", root)
    last = get(port)[2]
    eq("an asiosctl apply meanwhile: counted in the next scrape",
       ({"applies": "0", "reverts": "0", "rollbacks": "0"}, {"applies": "1", "reverts": "0", "rollbacks": "0"}),
       (before, after))
    check(a.returncode == 0 and r.returncode == 0 and counters(last)["reverts"] == "1" and
          re.search(r'^asios_domain_pending_actions\{domain="irq"\} [1-9]', last, re.M),
          "... and its revert: counted, the drift back", a.stderr + r.stderr)


def unreadable(port, root, log):
    hidden = root + ".away"
    os.rename(root, hidden)
    st, _, body = get(port)
    os.rename(hidden, root)
    check(st == 500 and "cannot read the machine under %s" % root in open(log.name).read(),
          "a machine that cannot be read: 500, and the log says why", "%s %s" % (st, body))
    eq("... and the next scrape is served", 200, get(port)[0])


def main():
    if not need(EXPORTER) or not need(ASIOSCTL):
        return 1
    if not shutil.which("systemd-socket-activate"):
        skip("asios-exporter socket-activated", "no systemd-socket-activate (the systemd package)")
        return done()
    tmp = tempfile.mkdtemp(prefix="asios-exporter-")
    d = None
    try:
        untar(os.path.join(FIXTURES, "ws-2g-iso.tar.gz"), tmp)
        root = os.path.join(tmp, "ws-2g-iso")
        port = free_port()
        d, log, msg = serve(tmp, root, port)
        check("READY=1" in msg and "STATUS=serving the socket's/metrics" in msg,
              "socket-activated, under its unit's capabilities: READY=1", msg + open(log.name).read())
        scrapes(port, root, log)
        follows_applies(port, root)
        unreadable(port, root, log)
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        p = subprocess.run(UNIT + [EXPORTER, "--listen", "127.0.0.1:%d" % busy.getsockname()[1]], capture_output=True,
                           text=True, timeout=30)
        busy.close()
        check(p.returncode == 1 and "Address already in use" in p.stderr, "--listen on a port in use: exit 1, said",
              p.stderr)
        p = subprocess.run([EXPORTER, "--listen", "nowhere"], capture_output=True, text=True, timeout=30)
        check(p.returncode == 1 and "--listen nowhere: not a numeric ADDRESS:PORT" in p.stderr,
              "--listen without a port: exit 1, said", p.stderr)
        d.send_signal(signal.SIGTERM)
        check(wait_for(lambda: d.poll() is not None, 30) and d.returncode == 0, "SIGTERM: exit 0", str(d.returncode))
    finally:
        if d and d.poll() is None:
            d.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    return done()


if __name__ == "__main__":
    sys.exit(main())
