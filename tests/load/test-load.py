#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""asios-load on real files: headers of safetensors and GGUF files checked against the files, the io_uring loader
into a buffer and into the page cache, the Python binding, checkpoints (durable, verified, crash-safe), the layered
cache (hit, stale, checksum, cap, full file system, a remote that goes away, kill -9 mid-fill) and its metrics.
Models are written by tests/load/modelfiles.py from the formats' specifications; the slow remote is served from a
network namespace through rclone, limited by tc (tests/load/remote.py)."""
import contextlib
import glob
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
import taplib  # noqa: E402
from taplib import check, skip  # noqa: E402
import modelfiles  # noqa: E402

LOAD = os.path.join(taplib.BUILD, "asios-load")
ASIOSCTL = os.path.join(taplib.BUILD, "asiosctl")
SO = os.path.join(taplib.BUILD, "libasios-load.so.0")
ENV = dict(os.environ, ASIOS_LOAD_LIB=SO)


def run(*args, env=None):
    p = subprocess.run([LOAD] + list(args), capture_output=True, text=True, env=env or ENV)
    return p.returncode, p.stdout, p.stderr


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def formats(tmp):
    st = os.path.join(tmp, "a.safetensors")
    offs = modelfiles.write_safetensors(st, [("w", "BF16", [64, 128], None), ("b", "F32", [128], None)],
                                        metadata={"format": "pt"})
    rc, out, err = run("inspect", "--json", st)
    got = {t["name"]: (t["begin"], t["end"]) for t in json.loads(out)[0]["tensor_list"]} if rc == 0 else {}
    check(got == offs, "safetensors: every tensor's extent as the writer placed it", err or str(got))
    gg = os.path.join(tmp, "a.gguf")
    offs = modelfiles.write_gguf(gg, [("blk.0.w", "Q4_0", [256, 8], None), ("norm", "F32", [256], None),
                                      ("blk.0.k", "Q6_K", [256, 2], None)],
                                 kv=[("general.architecture", "STRING", "llama"),
                                     ("tokenizer.ggml.tokens", "ARRAY:STRING", ["a", "b", "c"])], alignment=64)
    rc, out, err = run("inspect", "--json", gg)
    j = json.loads(out)[0] if rc == 0 else {}
    got = {t["name"]: (t["begin"], t["end"]) for t in j.get("tensor_list", [])}
    check(got == offs, "GGUF v3 (alignment 64, quantized types, an array key): extents as written", err or str(got))
    return st, gg


def bad_input(tmp, st, gg):
    """each broken file is refused with the file and the offset named, and exit status 1"""
    cases = []
    for name, src, breaker, words in [
            ("safetensors cut inside its data", st, lambda p: modelfiles.truncate(p, os.path.getsize(p) - 100),
             "shorter than its header says"),
            ("safetensors header length past the file", st, lambda p: modelfiles.corrupt_header_len(p, 1 << 40),
             "header length"),
            ("safetensors JSON broken", st, lambda p: modelfiles.overwrite(p, 10, b"\x00\x01"), "offset"),
            ("GGUF cut inside its data", gg, lambda p: modelfiles.truncate(p, os.path.getsize(p) - 40),
             "shorter than its header says"),
            ("GGUF cut inside its header", gg, lambda p: modelfiles.truncate(p, 200), "runs past the end"),
            ("GGUF tensor count impossible", gg, lambda p: modelfiles.overwrite(p, 8, (1 << 60).to_bytes(8, "little")),
             "cannot fit"),
            ("GGUF version 1", gg, lambda p: modelfiles.overwrite(p, 4, (1).to_bytes(4, "little")), "version 1")]:
        p = os.path.join(tmp, "bad-" + os.path.basename(src))
        with open(src, "rb") as i, open(p, "wb") as o:
            o.write(i.read())
        breaker(p)
        rc, out, err = run("read", p)
        ok = rc == 1 and p in err and "offset" in err and words in err and not out
        check(ok, "bad input refused, file and offset named: " + name, "exit %d: %s" % (rc, err.strip()))
        cases.append(p)
    conf = os.path.join(tmp, "load.conf")
    with open(conf, "w") as f:
        f.write("[load]\ndepth = 8\nblock = 3000\n")
    rc, out, err = run("read", "--config", conf, st)
    check(rc == 1 and conf + ":3:" in err, "a bad line of load.conf is named FILE:LINE, nothing read", err.strip())


def loads(tmp):
    d = os.path.join(tmp, "model")
    os.makedirs(d)
    files = [p for p in modelfiles.model(d, shards=3, mib_per_shard=2) if p.endswith(".safetensors")]
    want = {p: sha(p) for p in files}
    rc, out, err = run("read", "--json", "--sha256", d)
    j = json.loads(out) if rc == 0 else {}
    got = {f["path"]: f.get("sha256") for f in j.get("files", [])}
    check(rc == 0 and got == want, "read: every shard of a directory lands whole in the buffer (SHA-256)", err)
    check(j.get("method") == "uring-direct", "read on a disk file system uses O_DIRECT", j.get("method"))
    check(j.get("registered") is False and j.get("hugepages") == "no",
          "read: small pages and no registered buffer by default (they measured faster)", str(j)[:200])
    conf = os.path.join(tmp, "pinned.conf")
    with open(conf, "w") as f:
        f.write("[load]\nhugepages = yes\nregister = yes\n")
    rc, out, err = run("read", "--json", "--sha256", "--config", conf, d)
    j = json.loads(out) if rc == 0 else {}
    got = {f["path"]: f.get("sha256") for f in j.get("files", [])}
    pinned = j.get("registered") is True or os.geteuid() != 0  # pinning needs RLIMIT_MEMLOCK room unless root
    check(rc == 0 and got == want and pinned and j.get("hugepages") in ("thp", "hugetlb"),
          "read with hugepages and register from load.conf: huge pages, a registered buffer, same bytes",
          err or str(j)[:200])
    rc, out, err = run("read", "--json", "--hugepages", "--register", "--no-hugepages", files[0])
    j = json.loads(out) if rc == 0 else {}
    check(rc == 0 and j.get("hugepages") == "no" and (j.get("registered") is True or os.geteuid() != 0),
          "read --register --no-hugepages: the later option wins, the buffer registered", err or str(j)[:200])
    shm = tempfile.mkdtemp(dir="/dev/shm") if os.path.isdir("/dev/shm") else None
    shm_direct = False
    if shm:  # tmpfs takes O_DIRECT since Linux 6.6
        probe = os.path.join(shm, "probe")
        open(probe, "w").close()
        try:
            os.close(os.open(probe, os.O_RDONLY | os.O_DIRECT))
            shm_direct = True
        except OSError:
            pass
        os.unlink(probe)
    if shm and shm_direct:
        skip("read on a file system without O_DIRECT falls back to the page cache",
             "this kernel's tmpfs takes O_DIRECT (Linux 6.6 and later); no such file system here")
        skip("--direct on where the file system refuses it: an error", "no file system without O_DIRECT here")
        os.rmdir(shm)
    elif shm:
        p = os.path.join(shm, os.path.basename(files[0]))
        with open(files[0], "rb") as i, open(p, "wb") as o:
            o.write(i.read())
        rc, out, err = run("read", "--json", "--sha256", p)
        j = json.loads(out) if rc == 0 else {}
        check(rc == 0 and j.get("method") == "uring" and j["files"][0]["sha256"] == want[files[0]],
              "read on tmpfs (no O_DIRECT) falls back to the page cache, same bytes", err or j.get("method"))
        rc, out, err = run("read", "--direct", "on", p)
        check(rc == 1 and "O_DIRECT" in err and p in err, "--direct on where the file system refuses it: an error",
              err.strip())
        os.unlink(p)
        os.rmdir(shm)
    else:
        skip("read on tmpfs falls back to the page cache", "no /dev/shm")
    return d, files, want


def resident(path):
    """pages of PATH in the page cache, and its pages (fincore from util-linux)"""
    out = subprocess.run(["fincore", "--bytes", "--noheadings", "--raw", "-o", "RES,SIZE", path],
                         capture_output=True, text=True).stdout.split()
    return (int(out[0]), int(out[1])) if len(out) == 2 else (-1, 0)


def warm(d, files):
    if not taplib.need_root("warm: each method leaves the files resident in the page cache"):
        return
    for method in ("uring", "readahead", "populate"):
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        before = resident(files[0])[0]
        rc, out, err = run("warm", "--method", method, "--json", d)
        res = [resident(p) for p in files]
        ok = rc == 0 and all(r >= s for r, s in res) and before < res[0][1]
        check(ok, "warm --method %s: from cold, every page of every shard resident afterwards" % method,
              "before %d; after %s; %s" % (before, res, err.strip()))


def binding(tmp, files, want):
    sys.path.insert(0, os.path.join(taplib.TOP, "packages", "asios-load"))
    os.environ["ASIOS_LOAD_LIB"] = SO
    try:
        import asios_load
        asios_load.library()
    except OSError as e:
        check(False, "Python binding loads libasios-load", str(e))
        return
    with asios_load.load(files[:2], sha256=True) as m:
        f = m.files[0]
        t = f.tensors[0]
        raw = open(files[0], "rb").read()
        ok = bytes(m.tensor_bytes(f, t)) == raw[t.begin:t.end] and f.sha256 == want[files[0]]
        check(ok, "Python: a tensor's bytes, without a copy, are the file's bytes at its extent", repr(t))
    out = os.path.join(tmp, "ckpt-py")
    os.makedirs(out)
    data = {"model.bin": raw, "optim.bin": bytearray(os.urandom(3 * 4096 + 123))}
    r = asios_load.save(out, data)
    ok = all(open(os.path.join(out, k), "rb").read() == bytes(v) for k, v in data.items()) and \
        not glob.glob(os.path.join(out, ".*"))
    check(ok, "Python: save() writes every item whole, no partial file left", str(r))
    big = bytearray(os.urandom(6 << 20))
    pieces = [b"header{}" * 3, memoryview(big)[1:(5 << 20) + 3], b"", memoryview(big)[7:4096 * 300 + 11], raw]
    whole = b"".join(bytes(p) for p in pieces)
    for method in ("direct", "buffered"):
        r = asios_load.save(out, {"pieces.bin": list(pieces)}, method=method)
        got = open(os.path.join(out, "pieces.bin"), "rb").read()
        check(got == whole and r["bytes"] == len(whole),
              "Python: save(%s) of an item in unaligned pieces across 4 MiB blocks writes them one after the other"
              % method, "%d of %d bytes, %s" % (len(got), len(whole), r))
    try:
        asios_load.save(out, {"hole.bin": [b"x", (0, 4096)]})
        check(False, "Python: a piece with a length but no memory is refused, naming the item")
    except OSError as e:
        check("hole.bin" in str(e) and "no memory" in str(e),
              "Python: a piece with a length but no memory is refused, naming the item", str(e))
    try:
        asios_load.load([files[0] + ".missing"])
        check(False, "Python: a missing file raises OSError naming it")
    except OSError as e:
        check(files[0] + ".missing" in str(e), "Python: a missing file raises OSError naming it", str(e))


@contextlib.contextmanager
def small_fs(tmp, name, size):
    """a tmpfs of SIZE mounted at TMP/NAME for the block: a file system that fills up"""
    mnt = os.path.join(tmp, name)
    os.makedirs(mnt)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", mnt], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", mnt])


def checkpoint(tmp, files, want):
    out = os.path.join(tmp, "ckpt")
    os.makedirs(out)
    for method in ("direct", "buffered"):
        rc, o, err = run("checkpoint", "--method", method, "--out", out, "--json", *files)
        j = json.loads(o) if rc == 0 else {}
        ok = rc == 0 and j.get("verified") and all(sha(os.path.join(out, os.path.basename(p))) == want[p]
                                                   for p in files) and not glob.glob(os.path.join(out, ".*"))
        check(ok, "checkpoint --method %s: files whole, read back and verified, renamed into place" % method,
              err or o)
    if not taplib.need_root("checkpoint on a full file system keeps the old files, no partial left"):
        return
    with small_fs(tmp, "small", "3m") as mnt:
        old = os.path.join(mnt, os.path.basename(files[0]))
        with open(old, "wb") as f:
            f.write(b"the previous checkpoint")
        rc, o, err = run("checkpoint", "--out", mnt, *files)
        ok = rc == 1 and "full" in err and open(old, "rb").read() == b"the previous checkpoint" and \
            sorted(os.listdir(mnt)) == [os.path.basename(old)]
        check(ok, "checkpoint on a full file system: an error, the old file intact, no partial left",
              "%s; %s" % (err.strip(), os.listdir(mnt)))


def cache_local(tmp, files, want):
    """the cache in front of a local directory standing for the remote"""
    remote = os.path.join(tmp, "remote")
    cache = os.path.join(tmp, "cache")
    os.makedirs(remote)
    rfiles = []
    for p in files:
        q = os.path.join(remote, os.path.basename(p))
        with open(p, "rb") as i, open(q, "wb") as o:
            o.write(i.read())
        rfiles.append(q)
    state = os.path.join(tmp, "state")
    env = dict(ENV, ASIOS_LOAD_STATE_DIR=state)
    r1 = run("read", "--json", "--sha256", "--cache", cache, remote, env=env)
    r2 = run("read", "--json", "--sha256", "--cache", cache, remote, env=env)
    j1 = json.loads(r1[1]) if r1[0] == 0 else {}
    j2 = json.loads(r2[1]) if r2[0] == 0 else {}
    same = [f["sha256"] for f in j2.get("files", [])] == [want[p] for p in files]
    check(j1.get("cache", {}).get("misses") == 3 and j2.get("cache", {}).get("hits") == 3 and same,
          "cache: first read fills (3 misses), second is served locally (3 hits), same bytes",
          "%s %s %s" % (j1.get("cache"), j2.get("cache"), r1[2] + r2[2]))
    with open(rfiles[0], "r+b") as f:
        f.seek(1000)
        f.write(b"changed")
    os.utime(rfiles[0], (time.time() + 5, time.time() + 5))
    rc, out, err = run("read", "--json", "--sha256", "--cache", cache, rfiles[0], env=env)
    j = json.loads(out) if rc == 0 else {}
    check(j.get("cache", {}).get("stale") == 1 and j["files"][0]["sha256"] == sha(rfiles[0]),
          "cache: a remote file changed (size/mtime) is refilled, the new bytes served", err or str(j.get("cache")))
    with open(os.path.join(remote, "SHA256SUMS"), "w") as f:
        f.write("%s  %s\n" % ("0" * 64, os.path.basename(rfiles[1])))
    cache2 = os.path.join(tmp, "cache2")
    rc, out, err = run("read", "--cache", cache2, rfiles[1], env=env)
    left = os.listdir(os.path.join(cache2, "objects")) + os.listdir(os.path.join(cache2, "partial"))
    check(rc == 1 and "checksum mismatch" in err and rfiles[1] in err and not left,
          "cache: a checksum mismatch with the remote's SHA256SUMS is an error, nothing left in the cache",
          "%s %s" % (err.strip(), left))
    os.unlink(os.path.join(remote, "SHA256SUMS"))
    size = os.path.getsize(rfiles[0])
    cache3 = os.path.join(tmp, "cache3")
    for p in rfiles:
        run("read", "--cache", cache3, "--cache-max", str(int(size * 2.5)), p, env=env)
    objs = [f for f in os.listdir(os.path.join(cache3, "objects")) if not f.endswith(".meta")]
    total = sum(os.path.getsize(os.path.join(cache3, "objects", f)) for f in objs)
    check(len(objs) == 2 and total <= size * 2.5, "cache: the cap evicts the least recently used entry",
          "%d entries, %d bytes" % (len(objs), total))
    rc, out, err = run("cache", "verify", "--cache", cache)
    check(rc == 0 and "0 bad" in out, "cache verify: every entry hashes to its record", out + err)
    bad = [f for f in glob.glob(os.path.join(cache, "objects", "*")) if not f.endswith(".meta")][0]
    with open(bad, "r+b") as f:
        f.write(b"rot")
    rc, out, err = run("cache", "verify", "--cache", cache)
    check(rc == 1 and "removed" in out and not os.path.exists(bad), "cache verify: a rotten entry is found and removed",
          out + err)
    stats = json.load(open(os.path.join(state, "stats.json")))
    c = stats["caches"].get(cache, {})
    check(c.get("hits") == 3 and c.get("misses") == 4 and c.get("stale") == 1,
          "counters kept for asios-exporter: hits, misses, stale per cache", str(c))
    metrics(tmp, state, cache)
    return remote, rfiles


def metrics(tmp, state, cache):
    """the counters through asiosctl metrics (what asios-exporter serves) on a fixture machine holding them"""
    root = taplib.fixture_copy(tmp, "ws-2g-iso", "metrics-root")
    dst = os.path.join(root, "var", "lib", "asios", "load")
    os.makedirs(dst, exist_ok=True)
    with open(os.path.join(state, "stats.json")) as i, open(os.path.join(dst, "stats.json"), "w") as o:
        o.write(i.read())
    out = subprocess.run([ASIOSCTL, "metrics", "--root", root], capture_output=True, text=True)
    want = 'asios_load_cache_hits_total{cache="%s"} 3' % cache
    check(want in out.stdout and 'asios_load_operations_total{mode="read"}' in out.stdout,
          "asiosctl metrics (and so asios-exporter) exports the loader's and caches' counters",
          out.stderr[-400:] or [line for line in out.stdout.splitlines() if "asios_load" in line][:6])


def cache_full(tmp, rfiles):
    if not taplib.need_root("cache on a full file system: an error naming it, nothing left"):
        return
    with small_fs(tmp, "fullcache", "1m") as mnt:
        rc, out, err = run("read", "--cache", mnt, rfiles[0])
        left = os.listdir(os.path.join(mnt, "objects")) + os.listdir(os.path.join(mnt, "partial"))
        check(rc == 1 and "full" in err and "offset" in err and not left,
              "cache on a full file system: an error with file and offset, nothing left", "%s %s" % (err, left))


def cache_remote(tmp):
    import remote as rem
    ok, why = rem.available()
    if not ok:
        for n in ("remote cache: first load at the remote's limit", "remote cache: the report's total covers the fill",
                  "remote cache: kill -9 mid-fill leaves no entry",
                  "remote cache: the remote going away mid-fill is an error naming file and offset",
                  "remote cache: the next fill resumes and completes"):
            skip(n, why)
        return
    src = os.path.join(tmp, "store")
    os.makedirs(src)
    files = modelfiles.model(src, shards=2, mib_per_shard=16)
    files = [p for p in files if p.endswith(".safetensors")]
    want = {os.path.basename(p): sha(p) for p in files}
    with rem.Remote(src, rate_mbit=200, name="asltest", subnet="10.203.118.0/30") as r:
        mnt = lambda p: os.path.join(r.mount, os.path.basename(p))  # noqa: E731
        cache = os.path.join(tmp, "rcache")
        t0 = time.time()
        rc, out, err = run("read", "--json", "--sha256", "--cache", cache, mnt(files[0]))
        secs = time.time() - t0
        j = json.loads(out) if rc == 0 else {}
        mbit = os.path.getsize(files[0]) * 8 / secs / 1e6
        check(rc == 0 and j["files"][0]["sha256"] == want[os.path.basename(files[0])] and mbit < 260,
              "remote cache: first load at the remote's limit (200 Mbit/s), bytes whole",
              "%.0f Mbit/s; %s" % (mbit, err))
        c = j.get("cache", {})
        check(rc == 0 and c["fill_seconds"] + j["seconds"] <= c["total_seconds"] <= secs and
              c["total_gbs"] * 8e3 < 260, "remote cache: the report's total covers the fill and the load (%.0f "
              "Mbit/s), its gbs the load from the local copy alone" % (c.get("total_gbs", 0) * 8e3), str(c))
        p = subprocess.Popen([LOAD, "read", "--cache", cache, mnt(files[1])], env=ENV)
        time.sleep(0.3)
        p.send_signal(signal.SIGKILL)
        p.wait()
        objs = [f for f in os.listdir(os.path.join(cache, "objects"))]
        check(len(objs) == 2 and os.listdir(os.path.join(cache, "partial")),
              "remote cache: kill -9 mid-fill leaves no entry (only a partial file to resume)", str(objs))
        p = subprocess.Popen([LOAD, "read", "--json", "--cache", cache, mnt(files[1])], env=ENV,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.3)
        r.stop_server()
        out, err = p.communicate(timeout=60)
        check(p.returncode == 1 and mnt(files[1]) in err and "offset" in err,
              "remote cache: the remote going away mid-fill is an error naming file and offset", err.strip())
        r.start_server()
        rc, out, err = run("read", "--json", "--sha256", "--cache", cache, mnt(files[1]))
        j = json.loads(out) if rc == 0 else {}
        check(rc == 0 and j["cache"]["resumed"] == 1 and j["files"][0]["sha256"] == want[os.path.basename(files[1])],
              "remote cache: the next fill resumes and completes, bytes whole", err or str(j.get("cache")))


def main():
    if not taplib.need(LOAD):
        return 1
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        st, gg = formats(tmp)
        bad_input(tmp, st, gg)
        d, files, want = loads(tmp)
        warm(d, files)
        binding(tmp, files, want)
        checkpoint(tmp, files, want)
        remote, rfiles = cache_local(tmp, files, want)
        cache_full(tmp, rfiles)
        if os.geteuid() == 0:
            cache_remote(tmp)
        else:
            skip("remote cache (netns, rclone, tc)", "needs root")
    return taplib.done()


if __name__ == "__main__":
    sys.exit(main())
