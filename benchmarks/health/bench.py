# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""asios-healthd on this machine: false positives over a quiet period and how fast real memory pressure is
caught, against the way a fleet catches it today (node_exporter's PSI avg10, checked by an alert rule at each
scrape) side by side in one run.

Quiet period (once, QUIET seconds, both detectors at the same time): a steady workload (stress-ng: one CPU worker
at 50% load and one I/O mix worker) runs while asios-healthd watches with every shipped
signature (learned baselines included) and a poller reads /proc/pressure/memory every 15 s as a Prometheus alert
rule `avg10 >= 20` would see it. Every incident either reports is a false positive. asios-healthd's CPU time per
pass and its peak RSS are measured over the same period.

Pressure (each repetition, each mode): stress-ng in a 48 MiB memory cgroup thrashes its page cache; the time
from its start until the mode reports memory pressure: asios-healthd's PSI trigger (event) vs the 15 s poll of
avg10.

Netdata (Debian's package, when installed: benchmarks/deps.list) runs as a third detector on the same quiet period
and the same pressure, with its shipped health alarms at its default 1 s collection: every alarm that goes to
WARNING or CRITICAL after its 30 s warm-up counts. Its machine-learning anomaly detection, the peer the learned
baselines would best be compared with, is not built into Debian's package (`netdata -W buildinfo`: Machine
Learning: NO), and neither trixie nor bookworm-backports carries a newer one. systemd-oomd needs systemd as
PID 1: it is compared in the booted cloud image instead (tests/images/test-cloud-image.sh).
Needs root (PSI triggers, a memory cgroup, /dev/kmsg)."""
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request

import benchlib

TITLE = ("Health detection: asios-healthd (PSI trigger, baselines) vs avg10 polled at each 15 s scrape and "
         "Netdata's alarms")
METRICS = [("false_positives", "incidents", "lower"), ("detect_s", "s", "lower"),
           ("cpu_ms_per_pass", "CPU ms", "lower"), ("rss_mib", "MiB", "lower")]
MODES = [("poll", "PSI avg10 polled every 15 s"), ("netdata", "Netdata's shipped alarms"),
         ("healthd", "asios-healthd")]
NOTES = ["The quiet period runs once for all detectors at the same time; its numbers repeat in each repetition.",
         "Netdata: Debian's 1.37 with its shipped health alarms (its anomaly detection is not built into Debian's "
         "package); its CPU time is per 10 s (one asios-healthd pass) at its default 1 s collection.",
         "systemd-oomd needs systemd as PID 1: compared in the booted cloud image (tests/images/test-cloud-image.sh)."]
NETDATA_WARMUP = 30
SCRAPE = 15
THRESHOLD = 20.0


def _quiet_seconds(ctx):
    return 60 if ctx.quick else int(os.environ.get("ASIOS_BENCH_QUIET", "600"))


def _memory_cgroup(tmp, name):
    for base, limit in (("/sys/fs/cgroup", "memory.max"), ("/sys/fs/cgroup/unified", "memory.max"),
                        ("/sys/fs/cgroup/memory", "memory.limit_in_bytes")):
        ctl = os.path.join(base, "cgroup.controllers")
        if limit == "memory.max" and (not os.path.exists(ctl) or "memory" not in open(ctl).read().split()):
            continue
        if not os.path.isdir(base):
            continue
        path = os.path.join(base, name)
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, limit), "w") as f:
            f.write(str(48 << 20))
        return path
    raise benchlib.Skip("no memory cgroup controller")


def _avg10():
    with open("/proc/pressure/memory") as f:
        return float(f.readline().split()[1].split("=")[1])


class Poller:
    """What an alert rule on node_exporter's PSI sees: avg10 read every SCRAPE seconds."""

    def __init__(self):
        self.hits = []
        self.stop = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stop.wait(SCRAPE):
            if _avg10() >= THRESHOLD:
                self.hits.append(time.time())

    def close(self):
        self.stop.set()
        self.t.join()


class Netdata:
    """Netdata with its shipped alarms, as its own instance (private port, folders and memory database)."""

    def __init__(self, ctx):
        d = os.path.join(ctx.tmp, "netdata")
        for sub in ("cache", "lib", "log", "run"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        conf = os.path.join(d, "netdata.conf")
        with open(conf, "w") as f:
            f.write("[global]\n\trun as user = root\n\tmemory mode = ram\n"
                    "[directories]\n\tcache = %s/cache\n\tlib = %s/lib\n\tlog = %s/log\n\tlock = %s/run\n"
                    "[logs]\n\terror = %s/log/error.log\n\taccess = none\n\tdebug = none\n"
                    "[web]\n\tbind to = 127.0.0.1:%d\n[cloud]\n\tenabled = no\n" % (d, d, d, d, d, self.port))
        self.p = subprocess.Popen(["netdata", "-D", "-c", conf], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        self.started = time.time()
        end = time.time() + 30
        while time.time() < end and self._get("info") is None:
            time.sleep(0.5)

    def _get(self, what):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/%s" % (self.port, what), timeout=5) as r:
                return json.load(r)
        except (OSError, ValueError):
            return None

    def warm(self):
        time.sleep(max(0, self.started + NETDATA_WARMUP - time.time()))
        return time.time()

    def raised(self, after):
        """alarms that went to WARNING or CRITICAL at or after AFTER: [(name, status)]"""
        log = self._get("alarm_log?after=%d" % int(after)) or []
        return [(e.get("name"), e.get("status")) for e in log
                if e.get("status") in ("WARNING", "CRITICAL") and e.get("when", 0) >= after]

    def close(self):
        try:
            os.killpg(self.p.pid, 15)
        except ProcessLookupError:
            pass
        _stop(self.p)


def _have_netdata():
    return shutil.which("netdata") is not None and \
        subprocess.run(["pgrep", "-x", "netdata"], capture_output=True).returncode != 0


def _healthd(ctx, conf):
    log = open(os.path.join(ctx.tmp, "healthd.log"), "w+")
    env = dict(os.environ, ASIOS_HEALTH_SIGNATURES=os.path.join(benchlib.TOP, "packages", "asios-healthd",
                                                                 "signatures.conf"))
    p = subprocess.Popen([ctx.program("asios-healthd"), "--config", conf, "--config-dir",
                          os.path.join(ctx.tmp, "none")], stdout=log, stderr=subprocess.STDOUT, env=env)
    return p, log


def _incidents(text):
    """incidents logged after the start pass (which reports what the kernel log holds since boot)"""
    after = text.split("start: ", 1)[1] if "start: " in text else ""
    return [line for line in after.splitlines() if line.startswith(("<2>", "<3>", "<4>", "<5>")) and " on " in line]


def _stop(p):
    p.terminate()
    try:
        p.wait(20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def prepare(ctx):
    benchlib.need_root()
    benchlib.need_tool("stress-ng")
    if not os.path.exists("/proc/pressure/memory"):
        raise benchlib.Skip("no /proc/pressure (a kernel without PSI)")
    ctx.state["health.had_state"] = os.path.exists("/var/lib/asios/health")
    conf = os.path.join(ctx.tmp, "health.conf")
    with open(conf, "w") as f:
        f.write("[health]\ninterval = 10\nbaseline_min = 12\n")
    ctx.state["health.conf"] = conf
    quiet = _quiet_seconds(ctx)
    if shutil.which("netdata"):
        ctx.state["stopped"] = benchlib.stop_services("netdata")
    nd = Netdata(ctx) if _have_netdata() else None
    if nd:
        nd.warm()
    p, log = _healthd(ctx, conf)
    poll = Poller()
    load = subprocess.Popen(["stress-ng", "--cpu", "1", "--cpu-load", "50", "--iomix", "1", "--iomix-bytes", "64M",
                             "--temp-path", ctx.tmp, "-q", "-t", str(quiet)])
    try:
        while "start: " not in open(log.name).read() and p.poll() is None:
            time.sleep(0.2)
        c0, t0 = benchlib._cpu_seconds(p.pid), time.time()
        n0 = benchlib._cpu_seconds(nd.p.pid) if nd else 0
        ctx.log("quiet period: %d s of a steady workload" % quiet)
        load.wait(quiet + 60)
        cpu = benchlib._cpu_seconds(p.pid) - c0
        rss = benchlib._status_kib(p.pid, "VmHWM") / 1024
        if nd:
            nd_cpu = benchlib._cpu_seconds(nd.p.pid) - n0
            nd_rss = benchlib._status_kib(nd.p.pid, "VmHWM") / 1024
            nd_fp = nd.raised(t0)
    finally:
        if load.poll() is None:
            load.kill()
        poll.close()
        _stop(p)
        if nd:
            nd.close()
    text = open(log.name).read()
    fp = _incidents(text)
    for line in fp:
        ctx.log("quiet-period incident: " + line[:200])
    passes = max(1, quiet // 10)
    ctx.state["health.quiet"] = {
        "healthd": {"false_positives": len(fp), "cpu_ms_per_pass": cpu * 1000 / passes, "rss_mib": rss},
        "poll": {"false_positives": len(poll.hits)},
    }
    if nd:
        for name, status in nd_fp:
            ctx.log("quiet-period Netdata alarm: %s %s" % (name, status))
        ctx.state["health.quiet"]["netdata"] = {"false_positives": len(nd_fp),
                                                "cpu_ms_per_pass": nd_cpu * 1000 / max(1, quiet / 10),
                                                "rss_mib": nd_rss}
    else:
        ctx.state["health.notes"] = ["Netdata was not measured: not installed (benchmarks/deps.list), or another "
                                     "netdata already runs."]
    _clean(ctx)


def cleanup(ctx):
    benchlib.start_services(ctx.state.get("stopped", []))


def _clean(ctx):
    if not ctx.state.get("health.had_state"):
        shutil.rmtree("/var/lib/asios/health", ignore_errors=True)
    shutil.rmtree("/run/asios/health", ignore_errors=True)


def tuned(ctx, mode):
    return benchlib.knobs({})


def _pressure(ctx, seen, timeout=60):
    """Start the thrashing cgroup; seconds until SEEN() is true (None when it never is)."""
    cg = _memory_cgroup(ctx.tmp, "asios-bench-health")
    stress = subprocess.Popen(["sh", "-c", "echo $$ > %s/cgroup.procs && exec stress-ng --vm 2 --vm-bytes 40M "
                               "--vm-keep --iomix 1 --iomix-bytes 100M --temp-path %s -q -t %d"
                               % (cg, ctx.tmp, timeout)])
    t0 = time.time()
    try:
        while time.time() - t0 < timeout:
            if seen():
                return time.time() - t0
            time.sleep(0.05)
        return None
    finally:
        stress.kill()
        stress.wait()
        time.sleep(0.5)
        try:
            os.rmdir(cg)
        except OSError:
            pass
        # let the pressure decay before the next measurement
        end = time.time() + 90
        while time.time() < end and _avg10() > 1:
            time.sleep(1)


def run(ctx, mode):
    q = ctx.state["health.quiet"].get(mode)
    if q is None:
        return {"false_positives": float("nan"), "detect_s": float("nan")}
    if mode == "netdata":
        nd = Netdata(ctx)
        try:
            t0 = nd.warm()
            last = [0.0]

            def seen():  # its API at most twice a second (it collects once a second)
                if time.time() - last[0] < 0.5:
                    return False
                last[0] = time.time()
                return bool(nd.raised(t0))
            dt = _pressure(ctx, seen)
            for name, status in nd.raised(t0):
                ctx.log("Netdata alarm under memory pressure: %s %s" % (name, status))
        finally:
            nd.close()
    elif mode == "poll":
        poll = Poller()
        try:
            dt = _pressure(ctx, lambda: bool(poll.hits))
        finally:
            poll.close()
    else:
        p, log = _healthd(ctx, ctx.state["health.conf"])
        try:
            time.sleep(6)  # past the PSI triggers' first window
            dt = _pressure(ctx, lambda: "memory-pressure on memory" in open(log.name).read())
        finally:
            _stop(p)
            _clean(ctx)
    out = dict(q)
    out["detect_s"] = dt if dt is not None else float("nan")
    return out
