#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""Self-test of the remote model store (remote.py), run by hand as root: mounts a 64 MiB file, measures the read
throughput at two rates and without a limit, checks sizes and mtimes, kills the server and shows the error, and
checks that nothing is left behind. `--cleanup NAME` only removes what a killed run of NAME left behind."""

import argparse
import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostops as host  # noqa: E402
import remote  # noqa: E402

_READER = r"""
import json, os, sys, time
start, n = time.monotonic(), 0
try:
    with open(sys.argv[1], "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            n += len(b)
    out = {"ok": True, "errno": 0, "error": ""}
except OSError as exc:
    out = {"ok": False, "errno": exc.errno, "error": exc.strerror or str(exc)}
out.update(bytes=n, start=start, end=time.monotonic())
print(json.dumps(out))
"""


def _drop_caches():
    """Write dirty pages back and drop the page cache, dentries and inodes."""
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w", encoding="ascii") as f:
        f.write("3\n")


def _dd_read(path):
    """Read PATH with dd bs=1M after dropping the page cache; (bytes, seconds)."""
    _drop_caches()
    start = time.monotonic()
    proc = subprocess.run(["dd", "if=" + path, "of=/dev/null", "bs=1M"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=300, check=True)
    seconds = time.monotonic() - start
    words = proc.stderr.split()
    nbytes = int(words[words.index("bytes") - 1]) if "bytes" in words else os.path.getsize(path)
    return nbytes, seconds


def _reader(path):
    """Start a child reading PATH to its end; its JSON result comes from .communicate()."""
    return subprocess.Popen([sys.executable, "-c", _READER, path], stdout=subprocess.PIPE, text=True)


def _reader_result(proc, timeout_s=60):
    """The JSON result of a _reader child; a hang past TIMEOUT_S kills it and counts as a failure."""
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"ok": False, "errno": None, "error": "hung for %d s" % timeout_s, "end": time.monotonic()}
    return json.loads(out)


def _sha256(path):
    """Hex SHA-256 of the file PATH."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _self_test(args):
    """Run the checks described in the module docstring; 0 when all pass, 1 when one fails, 77 on a skip."""
    ok, why = remote.available()
    if not ok:
        print("SKIP: %s" % why)
        return 77
    failures = []

    def check(cond, what, detail=""):
        """Print one result line; remember a failure."""
        print("%s: %s%s" % ("ok" if cond else "FAIL", what, (" (%s)" % detail) if detail else ""))
        if not cond:
            failures.append(what)

    rates = [float(x) for x in args.rates.split(",")]
    src = tempfile.mkdtemp(prefix="remote-src-")
    try:
        big = os.path.join(src, "model.bin")
        with open(big, "wb") as f:
            for _ in range(args.size_mib):
                f.write(os.urandom(1 << 20))
        whole = int(time.time()) - 86400
        os.utime(big, ns=(whole * 10**9, whole * 10**9))
        os.mkdir(os.path.join(src, "sub"))
        frac = os.path.join(src, "sub", "config.json")
        with open(frac, "w", encoding="utf-8") as f:
            f.write('{"layers": 32}\n')
        os.utime(frac, ns=(whole * 10**9 + 123456789, whole * 10**9 + 123456789))
        big_sha = _sha256(big)

        with remote.Remote(src, rate_mbit=rates[0], name=args.name, subnet=args.subnet) as r:
            print("mounted %s at %s (server %s, host veth %s)" % (src, r.mount, r.url, r.host_if))
            check(sorted(os.listdir(r.mount)) == sorted(os.listdir(src)), "listing equals the source")

            st_src, st1 = os.stat(big), os.stat(os.path.join(r.mount, "model.bin"))
            time.sleep(2 * r.cache_s + 0.5)
            st2 = os.stat(os.path.join(r.mount, "model.bin"))
            check(st1.st_size == st_src.st_size and st1.st_mtime_ns == st_src.st_mtime_ns,
                  "size and whole-second mtime equal the source", "%d %d" % (st1.st_size, st1.st_mtime_ns))
            check((st1.st_size, st1.st_mtime_ns) == (st2.st_size, st2.st_mtime_ns), "stable across two stats")
            stf = os.stat(os.path.join(r.mount, "sub", "config.json"))
            check(stf.st_mtime_ns == whole * 10**9, "a sub-second mtime shows cut to the second",
                  "%d vs source %d" % (stf.st_mtime_ns, os.stat(frac).st_mtime_ns))

            results = []
            for rate in rates + [None]:
                r.set_rate(rate)
                nbytes, seconds = _dd_read(os.path.join(r.mount, "model.bin"))
                mbit = nbytes * 8 / seconds / 1e6
                results.append((rate, mbit, nbytes / seconds / (1 << 20)))
                label = "limit %s" % ("%g Mbit/s" % rate if rate else "none")
                detail = "%d MiB in %.2f s: %.1f Mbit/s, %.1f MiB/s" % (
                    nbytes >> 20, seconds, mbit, nbytes / seconds / (1 << 20))
                if rate:
                    check(0.80 * rate <= mbit <= 1.05 * rate, label + ": throughput within -20%/+5%", detail)
                else:
                    check(mbit > 1.5 * max(rates), label + ": faster than the limits", detail)
            check(_sha256(os.path.join(r.mount, "model.bin")) == big_sha, "content equals the source")

            remote.size_mtime(os.path.join(r.mount, "sub", "config.json"))  # cached now: the change must expire it
            with open(frac, "a", encoding="utf-8") as f:
                f.write('{"heads": 8}\n')
            os.utime(frac, ns=((whole + 60) * 10**9,) * 2)
            try:
                waited = r.wait_synced(os.path.join("sub", "config.json"))
                check(True, "a changed source file shows its new size and mtime", "after %.1f s" % waited)
            except TimeoutError as exc:
                check(False, "a changed source file shows its new size and mtime", str(exc))

            r.set_rate(rates[0])
            _drop_caches()
            child = _reader(os.path.join(r.mount, "model.bin"))
            time.sleep(0.7)
            killed = time.monotonic()
            r.stop_server()
            res = _reader_result(child)
            fail_s = res["end"] - killed
            check(not res["ok"] and fail_s < 10, "a read under way when the server dies fails in < 10 s",
                  "errno %s (%s) after %.2f s, %d MiB read" % (
                      res["errno"], res["error"], fail_s, res.get("bytes", 0) >> 20))
            res = _reader_result(_reader(os.path.join(r.mount, "model.bin")))
            check(not res["ok"] and res["end"] - res["start"] < 10, "a new read with the server dead fails in < 10 s",
                  "errno %s (%s) after %.2f s" % (res["errno"], res["error"], res["end"] - res["start"]))
            time.sleep(r.cache_s + 0.5)
            start = time.monotonic()
            try:
                os.listdir(r.mount)
                check(False, "a listing with the server dead fails")
            except OSError as exc:
                check(exc.errno == errno.EIO, "a listing with the server dead fails",
                      "errno %d (%s) after %.2f s" % (exc.errno, exc.strerror, time.monotonic() - start))

            start = time.monotonic()
            r.start_server()
            back = time.monotonic() - start
            r.set_rate(None)
            check(_sha256(os.path.join(r.mount, "model.bin")) == big_sha, "reads work again after start_server()",
                  "mount answering %.2f s after the restart" % back)
            mount, host_if, name = r.mount, r.host_if, r.name
            pids = [p.pid for p in (r._server, r._mounter)]

        check(not host.is_mounted(mount) and not os.path.exists(mount), "unmounted and mount point removed")
        check(not host.netns_exists(name) and not host.link_exists(host_if), "namespace and veth pair deleted")
        check(not any(os.path.exists("/proc/%d" % p) for p in pids), "rclone processes gone")
        print("throughput: " + ", ".join(
            "%s: %.0f Mbit/s (%.1f MiB/s)" % ("limit %g" % rate if rate else "unlimited", mbit, mib)
            for rate, mbit, mib in results))
    finally:
        shutil.rmtree(src, ignore_errors=True)
    print("PASS" if not failures else "FAILED: " + "; ".join(failures))
    return 1 if failures else 0


def main(argv=None):
    """Command line: the self-test, or --cleanup NAME for what a killed run left behind."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--rates", default="200,400", help="Mbit/s limits to measure, comma separated")
    parser.add_argument("--size-mib", type=int, default=64, help="size of the test file")
    parser.add_argument("--name", default="asiosload", help="instance name (network namespace)")
    parser.add_argument("--subnet", default=remote.DEFAULT_SUBNET, help="IPv4 /30 of the veth pair")
    parser.add_argument("--cleanup", metavar="NAME", help="only remove what a killed run of NAME left behind")
    args = parser.parse_args(argv)
    if args.cleanup:
        remote.cleanup_stale(args.cleanup, force=True)
        return 0
    return _self_test(args)


if __name__ == "__main__":
    sys.exit(main())
