# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""Shared pieces of the benchmark suite (benchmarks/run): statistics, knobs that are put back, the ASIOS
tuning steps a benchmark applies and reverts, and the report (JSON, Markdown, gnuplot SVG).

A benchmark is a module benchmarks/<name>/bench.py with:
  TITLE    one line
  METRICS  [(key, unit, "higher" | "lower")]; the first is the headline
  MODES    [(mode, label)]; the first is the baseline every other mode is compared with
  prepare(ctx)          -> raise Skip("why") when it cannot run here
  run(ctx, mode)        -> {metric key: value} of one repetition
  tuned(ctx, mode)      -> context manager around run(): applies the mode's tuning, always puts it back
  cleanup(ctx)          (optional)
"""
import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Skip(Exception):
    """The benchmark cannot run on this machine; the message says why."""


class Context:
    def __init__(self, build, out, reps, quick):
        self.build = os.path.abspath(build)
        self.out = os.path.abspath(out)
        self.reps = reps
        self.quick = quick  # shorter runs (the suite's own test)
        self.tmp = tempfile.mkdtemp(prefix="asios-bench-", dir=os.environ.get("BENCH_TMPDIR", "/var/tmp"))
        self.state = {}

    def program(self, name):
        """A program of the build folder (asiosctl, bench/stream, ...), or Skip when it was not built."""
        p = os.path.join(self.build, name)
        if not os.access(p, os.X_OK):
            raise Skip("%s is not built (make all bench-programs)" % p)
        return p

    def log(self, msg):
        print("  " + msg, flush=True)

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def load_module(path, name):
    """The Python module at PATH, as NAME (a benchmark that builds on another one's helpers)."""
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def need_root():
    if os.geteuid() != 0:
        raise Skip("needs root")


def need_tool(*names):
    for n in names:
        if not shutil.which(n):
            raise Skip("%s is missing (make bench installs benchmarks/deps.list)" % n)


def sh(cmd, **kw):
    """Run a command, raise with its output when it fails; returns stdout."""
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise RuntimeError("%s failed (exit %d): %s" % (" ".join(cmd), p.returncode, (p.stderr or p.stdout).strip()[-600:]))
    return p.stdout


def last_json(text):
    """The last line of TEXT that is a JSON object."""
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON object in: %s" % text.strip()[-300:])


@contextlib.contextmanager
def knobs(values):
    """Write each path -> value; put every original back afterwards, also after a failure."""
    saved = []
    try:
        for path, value in values.items():
            with open(path) as f:
                old = f.read().strip()
            saved.append((path, old))
            with open(path, "w") as f:
                f.write(str(value) + "\n")
        yield
    finally:
        for path, old in reversed(saved):
            try:
                with open(path, "w") as f:
                    f.write(old + "\n")
            except OSError as e:
                print("  WARNING: could not put back %s=%s: %s" % (path, old, e), flush=True)


def sysctl_file(path):
    """key -> value of a sysctl.d file (comments and '-' prefixes dropped), as /proc/sys paths."""
    out = {}
    for n, line in enumerate(open(path), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if "=" not in line:
            raise ValueError("%s:%d: not key = value" % (path, n))
        k, v = (s.strip() for s in line.split("=", 1))
        k = k.lstrip("-")
        out["/proc/sys/" + k.replace(".", "/")] = re.sub(r"\s+", "\t", v)
    return out


ASIOS_SYSCTL = os.path.join(TOP, "packages", "asios-base", "sysctl.conf")


DIRTY = (("dirty_background_bytes", "dirty_background_ratio"), ("dirty_bytes", "dirty_ratio"))


@contextlib.contextmanager
def sysctls(values):
    """/proc/sys path -> value for the duration, then the old values. vm.dirty_*_bytes and vm.dirty_*ratio are
    two faces of one setting (writing one zeroes the other; a bytes value of 0 is refused), so for those the
    face that was set before is what is put back."""
    dirty = {k: v for k, v in values.items() if os.path.basename(k).startswith("dirty_")}
    old = {n: open("/proc/sys/vm/" + n).read().strip() for pair in DIRTY for n in pair} if dirty else {}
    try:
        with knobs({k: v for k, v in values.items() if k not in dirty}):
            for k, v in dirty.items():
                with open(k, "w") as f:
                    f.write(str(v) + "\n")
            yield
    finally:
        for b, r in DIRTY if dirty else ():
            name = b if old[b] != "0" else r
            try:
                with open("/proc/sys/vm/" + name, "w") as f:
                    f.write(old[name] + "\n")
            except OSError as e:
                print("  WARNING: could not put back vm.%s=%s: %s" % (name, old[name], e), flush=True)


@contextlib.contextmanager
def asios_sysctls(only_prefix=""):
    """asios-base's sysctl defaults (packages/asios-base/sysctl.conf) for the duration, then the old values."""
    vals = {k: v for k, v in sysctl_file(ASIOS_SYSCTL).items() if k.startswith(only_prefix) and os.path.exists(k)}
    with sysctls(vals):
        yield vals


@contextlib.contextmanager
def asiosctl_applied(ctx, area, conf=None):
    """`asiosctl AREA apply` (irq, numa, ...) with an optional policy file; `asiosctl AREA revert` afterwards."""
    asiosctl = ctx.program("asiosctl")
    cmd = [asiosctl, area, "apply"]
    if conf:
        cmd += ["--config", conf, "--config-dir", os.path.join(ctx.tmp, "no-drop-ins")]
    out = sh(cmd)
    try:
        yield out
    finally:
        p = subprocess.run([asiosctl, area, "revert"], capture_output=True, text=True)
        if p.returncode != 0:
            print("  WARNING: asiosctl %s revert: %s" % (area, p.stderr.strip()), flush=True)


def workload_conf(ctx, name, pattern):
    """A numad.conf that makes processes whose command line matches PATTERN a workload on CPU 0's node."""
    node = 0
    for d in sorted(os.listdir("/sys/devices/system/cpu/cpu0")):
        if d.startswith("node") and d[4:].isdigit():
            node = int(d[4:])
    conf = os.path.join(ctx.tmp, name + "-numad.conf")
    with open(conf, "w") as f:
        f.write("[numad]\naccelerators = no\n[workload %s]\ncommand = %s\nnode = %d\n" % (name, pattern, node))
    return conf


def run_placed(ctx, cmd, conf, notes_key):
    """Start CMD (which takes --wait: it prints "ready" on stderr and waits for SIGUSR1), check that `asiosctl
    numa` sees it as a workload of CONF, apply the placement, let it run, revert; returns its last JSON line."""
    p = subprocess.Popen(cmd + ["--wait"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if p.stderr.readline().strip() != "ready":
            raise RuntimeError("%s did not get ready: %s" % (cmd[0], p.stderr.read()[-300:]))
        seen = sh([ctx.program("asiosctl"), "numa", "explain", "--config", conf,
                   "--config-dir", os.path.join(ctx.tmp, "no-drop-ins")])
        if "pid %d " % p.pid not in seen:
            raise RuntimeError("asiosctl numa does not see %s as a workload:\n%s" % (cmd[0], seen[-600:]))
        with asiosctl_applied(ctx, "numa", conf) as out:
            if not ctx.state.get(notes_key + ".applied"):
                ctx.state[notes_key + ".applied"] = True
                ctx.state.setdefault(notes_key, []).append(
                    "asiosctl numa apply on the first ASIOS repetition: " + out.strip().splitlines()[-1])
            p.send_signal(signal.SIGUSR1)
            stdout, stderr = p.communicate(timeout=900)
        if p.returncode:
            raise RuntimeError("%s failed: %s" % (cmd[0], stderr[-300:]))
        return last_json(stdout)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def stop_services(*units):
    """Stop the systemd units among UNITS that are active (a peer daemon the package started on install);
    returns them, for start_services() afterwards."""
    stopped = []
    for u in units:
        if subprocess.run(["systemctl", "is-active", "--quiet", u], capture_output=True).returncode == 0:
            sh(["systemctl", "stop", u])
            stopped.append(u)
    return stopped


def daemon_pair(ctx, peer, ours):
    """Prepare a daemon-cost benchmark: root, the PEER tool installed (its systemd unit of the same name stopped
    while the suite measures, started again by cleanup()), our daemon OURS built; neither may already run.
    Returns the path of OURS."""
    need_root()
    need_tool(peer)
    prog = ctx.program(ours)
    ctx.state["stopped"] = stop_services(peer)
    if any(subprocess.run(["pgrep", "-x", n], capture_output=True).returncode == 0 for n in (peer, ours)):
        raise Skip("%s or %s already runs on this machine: stop it first" % (peer, ours))
    return prog


def start_services(units):
    for u in units:
        subprocess.run(["systemctl", "start", u], capture_output=True)


def _cpu_seconds(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def _status_kib(pid, key):
    for line in open("/proc/%d/status" % pid):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def process_starts(seconds, every=0.1):
    """A process start every EVERY seconds for SECONDS (what a busy node sees); returns how many."""
    end, n = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        subprocess.run(["true"])
        n += 1
        time.sleep(every)
    return n


def daemon_cost(cmd, settle, seconds, find_pid=None, load=None):
    """Start a daemon (CMD, or a command that forks one that FIND_PID finds), let it settle, then measure its CPU
    time over SECONDS (while LOAD(seconds) runs, else idle) and its peak RSS; stop it."""
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pid = p.pid
    try:
        if find_pid:  # a daemon that forks: its launcher exits (and must be reaped, or pgrep finds the zombie)
            p.wait(30)
        time.sleep(settle)
        if find_pid:
            pid = find_pid()
        if not pid or not os.path.exists("/proc/%d" % pid) or (p.poll() is not None and not find_pid):
            raise RuntimeError("%s did not stay up" % cmd[0])
        c0, t0 = _cpu_seconds(pid), time.monotonic()
        if load:
            load(seconds)
        else:
            time.sleep(seconds)
        cpu, took = _cpu_seconds(pid) - c0, time.monotonic() - t0
        return {"rss_mib": _status_kib(pid, "VmHWM") / 1024, "cpu_s_per_hour": cpu * 3600 / took}
    finally:
        for q in {pid, p.pid}:
            try:
                os.kill(q, signal.SIGTERM)
            except (ProcessLookupError, TypeError):
                pass
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        for _ in range(200):  # a forked daemon is not our child: wait until it is gone
            if not pid or not os.path.exists("/proc/%d" % pid):
                break
            time.sleep(0.1)


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


# --- statistics and the report ---

def summary(values):
    vals = sorted(values)
    med = statistics.median(vals)
    q = statistics.quantiles(vals, n=4, method="inclusive") if len(vals) > 1 else [med, med, med]
    return {"n": len(vals), "median": med, "min": vals[0], "max": vals[-1], "q1": q[0], "q3": q[2],
            "spread_pct": (vals[-1] - vals[0]) / med * 100 if med else 0.0, "values": values}


def gain_pct(base, other, better):
    """How much better OTHER is than BASE, in percent (positive = better), by the metric's direction."""
    if not base or not other:
        return None
    return (other / base - 1) * 100 if better == "higher" else (base / other - 1) * 100


def fmt(v):
    if v is None:
        return "–"
    a = abs(v)
    return "%.0f" % v if a >= 1000 else "%.1f" % v if a >= 10 else "%.2f" % v if a >= 0.1 else "%.3g" % v


def plot(path_svg, title, unit, rows):
    """SVG bar chart of each mode's median with its min-max range. rows: [(label, median, min, max)]."""
    if not shutil.which("gnuplot"):
        return False
    data = path_svg[:-4] + ".dat"
    with open(data, "w") as f:
        for i, (label, med, lo, hi) in enumerate(rows):
            f.write('%d "%s" %g %g %g\n' % (i, label.replace('"', "'"), med, lo, hi))
    script = "\n".join([
        "set terminal svg size 720,400 noenhanced",
        'set output "%s"' % path_svg, 'set title "%s"' % title.replace('"', "'"), 'set ylabel "%s"' % unit,
        "set style fill solid 0.6 border -1", "set boxwidth 0.6", "set yrange [0:*]", "unset key", "set grid ytics",
        "set xtics rotate by -15",
        'plot "%s" using 1:3:xtic(2) with boxes lc rgb "#4a7ab5", "" using 1:3:4:5 with yerrorbars lc rgb "black" pt 0' % data,
    ])
    p = subprocess.run(["gnuplot"], input=script, capture_output=True, text=True)
    return p.returncode == 0 and os.path.exists(path_svg)


def report(out, results, meta):
    """results.json, report.md and one SVG plot per benchmark into OUT."""
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"meta": meta, "benchmarks": results}, f, indent=1)
    md = ["# ASIOS benchmarks", "",
          "`%s` on %s, %s, kernel %s, %d CPUs; %d repetitions per mode, modes interleaved (ABBA); medians with "
          "the min–max spread." % (meta["command"], meta["date"], meta["host"], meta["kernel"], meta["cpus"], meta["reps"]),
          "", "| benchmark | metric | baseline | ASIOS and peers (median, spread) | gain over baseline |",
          "|---|---|---|---|---|"]
    detail = []
    for name, r in results.items():
        if r.get("skipped"):
            md.append("| %s | – | skipped: %s | | |" % (name, r["skipped"]))
            continue
        if r.get("error"):
            md.append("| %s | – | failed: %s | | |" % (name, r["error"]))
            continue
        base = r["modes"][0][0]
        for key, unit, better in r["metrics"]:
            b = r["stats"][base].get(key)
            if not b:
                continue
            others, gains = [], []
            for mode, label in r["modes"][1:]:
                s = r["stats"][mode].get(key)
                if not s:
                    continue
                if s["median"] != s["median"]:  # NaN: never happened (a detector that never fired)
                    others.append("%s never" % label)
                    gains.append("%s –%%" % label)
                    continue
                others.append("%s %s (±%.0f%%)" % (label, fmt(s["median"]), s["spread_pct"] / 2))
                g = gain_pct(b["median"], s["median"], better)
                gains.append("%s %s%%" % (label, "–" if g is None else "%+.1f" % g))
            md.append("| %s | %s [%s, %s is better] | %s (±%.0f%%) | %s | %s |" % (
                name, key, unit, better, fmt(b["median"]), b["spread_pct"] / 2, "; ".join(others), "; ".join(gains)))
        key, unit, better = r["metrics"][0]
        rows = [(label, r["stats"][m][key]["median"], r["stats"][m][key]["min"], r["stats"][m][key]["max"])
                for m, label in r["modes"] if key in r["stats"][m]]
        svg = os.path.join(out, "%s.svg" % name)
        if plot(svg, "%s: %s (%s is better)" % (r["title"], key, better), unit, rows):
            detail += ["", "## %s" % name, "", r["title"], "", "![%s](%s.svg)" % (name, name)]
        for n in r.get("notes", []):
            detail.append("- " + n)
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(md + detail) + "\n")
    return "\n".join(md)


def now_iso():
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
