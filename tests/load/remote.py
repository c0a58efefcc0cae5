# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""A slow remote model store for the load tests: a folder served over WebDAV from a separate network namespace,
its bandwidth limited with tc, and mounted on the host as an ordinary read-only directory by `rclone mount`.

It stands in for a network file system or object store in front of which a local cache sits::

    import remote
    ok, why = remote.available()          # (False, reason) -> report a skip with the reason
    with remote.Remote(src_dir, rate_mbit=200, name="asiosload") as r:
        r.mount                           # host path: the files of src_dir, read-only, read at about 200 Mbit/s
        r.set_rate(400)                   # change the limit (None: unlimited)
        r.stop_server()                   # kill -9 the server: reads through the mount fail with EIO within seconds
        r.start_server()                  # serve again (returns once the mount answers)
        r.wait_synced("sub/file")         # wait until a change of src_dir shows through the mount

Layout: a veth pair joins the host (first address of the /30, default 10.203.117.1) and the network namespace
NAME (second address, 10.203.117.2), where `rclone serve webdav SRC` listens. A tbf qdisc on the namespace's end of
the pair (its egress: the data flowing to the host) sets the rate. On the host `rclone mount :webdav:` presents it.

What the mount shows and what it does not:

* sizes are exact; modification times are those of src_dir cut to whole seconds (they travel as HTTP dates), the
  same value at every stat. A file whose size or mtime changes in src_dir shows the change within about two
  seconds (directory listings are cached for 1 s on both sides, attributes for 1 s by the kernel);
* no caching of file data: no rclone VFS cache (--vfs-cache-mode off), no read-ahead buffer (--buffer-size 0), and
  rclone does not ask the kernel to keep a file's pages across opens, so each open reads from the server again;
* the rate is that of the link: a file reads at about 95 % of RATE_MBIT (TCP/IP and HTTP take the rest);
* a dead server makes reads, opens and listings fail with EIO, never a hang: within a fraction of a second after
  stop_server() (the connection is refused), within about 6 s should the network go silent (the 5 s I/O timeout).
  rclone makes one attempt per request (--low-level-retries 1) with --contimeout 2s and --timeout 5s; its defaults
  took 5 to 20 s.

Tests import it after `sys.path.insert(0, <this folder>)`.

Needs root, rclone, fuse3 (fusermount3), iproute2 (ip, tc) and /dev/fuse. The host plumbing (commands, namespaces,
links, mounts, processes) is in hostops.py; remote_selftest.py is the self-test, run by hand.
"""

import atexit
import glob
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostops as host  # noqa: E402
from hostops import RemoteError  # noqa: E402,F401 (part of this module's interface)

DEFAULT_SUBNET = "10.203.117.0/30"
DEFAULT_PORT = 8080
_ROUTE_TYPES = ("unicast", "local", "broadcast", "multicast", "anycast", "blackhole", "unreachable", "prohibit",
                "throw", "nat")



def _devname(name):
    """The device name of the mount of instance NAME, as shown in /proc/mounts (finds stale mounts)."""
    return "asios-remote-" + name


def _ifnames(name):
    """Host-side and namespace-side names of the veth pair of instance NAME."""
    return name + "-h", name + "-n"


def cleanup_stale(name, force=False):
    """Remove what a killed run of instance NAME left behind: its network namespace, veth pair, mount and
    temporary folder. Unless FORCE, raises RemoteError when the instance looks alive (a process in the namespace,
    or its mount present)."""
    host_if, _ = _ifnames(name)
    mounts = [mnt for source, mnt in host.fuse_mounts() if source == _devname(name)]
    pids = host.run(["ip", "netns", "pids", name], check=False).stdout.split() if host.netns_exists(name) else []
    if (pids or mounts) and not force:
        raise RemoteError("instance %s looks alive (pids %s in its namespace, mounts %s); if it is a leftover, run "
                          "tests/load/remote_selftest.py --cleanup %s" % (name, " ".join(pids) or "none",
                                                                 " ".join(mounts) or "none", name))
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (OSError, ValueError):
            pass
    for mnt in mounts:
        host.unmount(mnt)
    if host.link_exists(host_if):
        host.run(["ip", "link", "del", host_if], check=False)
    if host.netns_exists(name):
        host.run(["ip", "netns", "del", name], check=False)
    for folder in glob.glob(os.path.join(tempfile.gettempdir(), glob.escape(name) + "-*")):
        mnt = os.path.join(folder, "mnt")
        if os.path.isfile(os.path.join(folder, "rclone.conf")) and not host.is_mounted(mnt):
            shutil.rmtree(folder, ignore_errors=True)


def available():
    """(True, "") when a Remote can run here, else (False, reason): not root, a program or /dev/fuse missing, or
    no network namespace, veth pair or tbf qdisc can be made."""
    if os.geteuid() != 0:
        return False, "needs root (network namespace, tc, FUSE mount)"
    for prog, package in (("rclone", "rclone"), ("fusermount3", "fuse3"), ("ip", "iproute2"), ("tc", "iproute2")):
        if not host.tool(prog):
            return False, "%s not found (Debian package %s)" % (prog, package)
    try:
        fd = os.open("/dev/fuse", os.O_RDWR)
        os.close(fd)
    except OSError as exc:
        return False, "/dev/fuse: %s" % (exc.strerror or exc)
    probe = "asprobe%d" % (os.getpid() % 100000)
    host_if, ns_if = _ifnames(probe)
    try:
        steps = (["ip", "netns", "add", probe],
                 ["ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if],
                 ["ip", "link", "set", ns_if, "netns", probe],
                 ["ip", "-n", probe, "link", "set", ns_if, "up"],
                 ["tc", "-n", probe, "qdisc", "add", "dev", ns_if, "root", "tbf", "rate",
                  "100mbit", "burst", "128kb", "latency", "100ms"])
        for cmd in steps:
            proc = host.run(cmd, check=False)
            if proc.returncode != 0:
                reason = proc.stderr.strip() or "exit %d" % proc.returncode
                return False, "cannot %s: %s" % (" ".join(cmd[:4]), reason)
    finally:
        if host.link_exists(host_if):
            host.run(["ip", "link", "del", host_if], check=False)
        if host.netns_exists(probe):
            host.run(["ip", "netns", "del", probe], check=False)
    return True, ""


class Remote:
    """The folder SRC_DIR served from network namespace NAME at RATE_MBIT Mbit/s (None: no limit) and mounted
    read-only on the host at `mount` (a new temporary folder unless MOUNTPOINT is given).

    A context manager: entering sets everything up (start()), leaving tears it down (close()), also after an
    exception, at interpreter exit, and on SIGTERM when the program had no handler of its own. NAME must be unique
    among instances running at the same time (at most 13 characters: letters, digits, '-', '_'); SUBNET is a /30
    (or larger) IPv4 network of which the host gets the first address and the namespace the second, and must not
    overlap an address or route of the host. The rclone processes die with the thread that started them (create
    the instance in a thread that outlives it, normally the main one); a run killed with SIGKILL thus leaves only
    the namespace and veth pair, which the next start() of the same NAME removes.

    PORT is the server's TCP port in the namespace; MOUNTPOINT an existing empty folder to mount on instead of a
    temporary one; CONNECT_TIMEOUT_S and IO_TIMEOUT_S are rclone's --contimeout and --timeout (how soon a silent
    server makes reads fail); CACHE_S how long directory listings (server and mount) and attributes (kernel) are
    cached, hence how soon a change of src_dir shows.

    Attributes: mount, url (of the server), host_addr, server_addr, port, rate_mbit, src, name.
    """

    def __init__(self, src_dir, rate_mbit=200, name="asiosload", subnet=DEFAULT_SUBNET, port=DEFAULT_PORT,
                 mountpoint=None, io_timeout_s=5, connect_timeout_s=2, cache_s=1):
        if not name or len(name) > 13 or not all(c.isalnum() or c in "-_" for c in name):
            raise ValueError("name: 1 to 13 letters, digits, '-' or '_': %r" % name)
        if not os.path.isdir(src_dir):
            raise ValueError("src_dir is not a folder: %r" % src_dir)
        net = ipaddress.IPv4Network(subnet, strict=True)
        if net.num_addresses < 4:
            raise ValueError("subnet must have at least 4 addresses (a /30): %s" % subnet)
        self.src = os.path.abspath(src_dir)
        self.name = name
        self.subnet = net
        self.host_addr = str(net.network_address + 1)
        self.server_addr = str(net.network_address + 2)
        self.port = int(port)
        self.url = "http://%s:%d/" % (self.server_addr, self.port)
        self.rate_mbit = rate_mbit
        self.io_timeout_s = io_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.cache_s = cache_s
        self.host_if, self.ns_if = _ifnames(name)
        self._own_mountpoint = mountpoint is None
        self.mount = None if mountpoint is None else os.path.abspath(mountpoint)
        self._workdir = None
        self._server = None
        self._mounter = None
        self._netns_made = False
        self._old_sigterm = None

    # life cycle

    def __enter__(self):
        if threading.current_thread() is threading.main_thread() \
                and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            self._old_sigterm = signal.signal(signal.SIGTERM, _sigterm_exit)
        try:
            self.start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            self.close()
        finally:
            if self._old_sigterm is not None:
                signal.signal(signal.SIGTERM, self._old_sigterm)
                self._old_sigterm = None
        return False

    def start(self):
        """Make the namespace and veth pair, set the rate, start the server and the mount; returns once the mount
        answers. On failure what was made is removed and RemoteError raised (with the rclone logs' last lines)."""
        atexit.register(self.close)
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self):
        """start() without the cleanup on failure."""
        for prog in ("rclone", "fusermount3", "ip", "tc"):
            if not host.tool(prog):
                raise RemoteError("%s not found" % prog)
        cleanup_stale(self.name)
        self._check_subnet_free()
        self._workdir = tempfile.mkdtemp(prefix="%s-" % self.name)
        os.chmod(self._workdir, 0o755)
        with open(os.path.join(self._workdir, "rclone.conf"), "w", encoding="utf-8"):
            pass
        if self.mount is None:
            self.mount = os.path.join(self._workdir, "mnt")
            os.mkdir(self.mount)
        elif not os.path.isdir(self.mount):
            raise RemoteError("mount point is not a folder: %s" % self.mount)
        self._netns_made = True
        ns = self.name
        prefix = "/%d" % self.subnet.prefixlen
        for cmd in (["ip", "netns", "add", ns],
                    ["ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if],
                    ["ip", "link", "set", self.ns_if, "netns", ns],
                    ["ip", "addr", "add", self.host_addr + prefix, "dev", self.host_if],
                    ["ip", "link", "set", self.host_if, "up"],
                    ["ip", "-n", ns, "addr", "add", self.server_addr + prefix, "dev", self.ns_if],
                    ["ip", "-n", ns, "link", "set", self.ns_if, "up"],
                    ["ip", "-n", ns, "link", "set", "lo", "up"]):
            host.run(cmd)
        self.set_rate(self.rate_mbit)
        self.start_server()
        self._start_mount()

    def close(self):
        """Unmount (lazily if busy), stop both rclone processes, delete the namespace and veth pair, remove the
        temporary folders. Idempotent; never raises for what is already gone."""
        atexit.unregister(self.close)
        if self.mount is not None and host.is_mounted(self.mount):
            host.unmount(self.mount)
        host.stop_process(self._mounter, grace_s=2.0)
        self._mounter = None
        if self._server is not None:
            self.stop_server()
        if self._netns_made:
            if host.link_exists(self.host_if):
                host.run(["ip", "link", "del", self.host_if], check=False)
            if host.netns_exists(self.name):
                host.run(["ip", "netns", "del", self.name], check=False)
            deadline = time.monotonic() + 5
            while host.link_exists(self.host_if) and time.monotonic() < deadline:
                time.sleep(0.05)
            self._netns_made = False
        if self._workdir is not None:
            if self.mount is not None and self._own_mountpoint and host.is_mounted(self.mount):
                return  # a mount that would not go: leave the folder rather than delete through it
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
            if self._own_mountpoint:
                self.mount = None

    # the server

    def start_server(self):
        """Start the WebDAV server in the namespace (nothing if it runs); returns once it accepts connections and,
        when mounted, once the mount lists the folder again."""
        if self._server is not None and self._server.poll() is None:
            return
        cmd = [host.tool("ip"), "netns", "exec", self.name, host.tool("rclone"), "serve", "webdav", self.src,
               "--addr", "%s:%d" % (self.server_addr, self.port),
               "--read-only", "--vfs-cache-mode", "off",
               "--dir-cache-time", "%gs" % self.cache_s, "--poll-interval", "0",
               "--config", os.path.join(self._workdir, "rclone.conf")]
        self._server = self._spawn(cmd, "server.log", signal.SIGKILL)
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection((self.server_addr, self.port), timeout=0.5).close()
                break
            except OSError:
                pass
            if self._server.poll() is not None or time.monotonic() > deadline:
                raise RemoteError("rclone serve webdav did not come up (exit %s)\n%s"
                                  % (self._server.poll(), self.logs()))
            time.sleep(0.05)
        if self._mounter is not None:
            self._wait_mount_answers(15)

    def stop_server(self):
        """kill -9 the server. Reads through the mount then fail with EIO (errno 5) within a fraction of a
        second, also those under way; stats and listings too once the cached attributes expire (about 1 s)."""
        if self._server is None:
            return
        if self._server.poll() is None:
            try:
                self._server.kill()
            except OSError:
                pass
        try:
            self._server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self._server = None

    def server_running(self):
        """Whether the server process is alive."""
        return self._server is not None and self._server.poll() is None

    # the link

    def set_rate(self, mbit):
        """Limit the data flowing from the server to the host to MBIT Mbit/s (a float is fine); None or 0 lifts
        the limit. Takes effect at once, also on transfers under way."""
        dev = ["tc", "-n", self.name, "qdisc"]
        if not mbit or mbit <= 0:
            host.run(dev + ["del", "dev", self.ns_if, "root"], check=False)
            self.rate_mbit = None
            return
        kbit = max(8, int(round(mbit * 1000)))
        burst = max(kbit * 1000 // 8 // 100, 32 * 1024)  # 10 ms at the rate, at least 32 KiB
        host.run(dev + ["replace", "dev", self.ns_if, "root", "tbf", "rate", "%dkbit" % kbit, "burst", str(burst),
                    "latency", "100ms"])
        self.rate_mbit = mbit

    # the mount

    def _start_mount(self):
        """Run `rclone mount` of the server at self.mount; returns once mounted and answering."""
        cmd = [host.tool("rclone"), "mount", ":webdav:", self.mount, "--webdav-url", self.url,
               "--read-only",
               "--vfs-cache-mode", "off", "--buffer-size", "0",
               "--dir-cache-time", "%gs" % self.cache_s, "--attr-timeout", "%gs" % self.cache_s,
               "--poll-interval", "0",
               "--contimeout", "%gs" % self.connect_timeout_s, "--timeout", "%gs" % self.io_timeout_s,
               "--low-level-retries", "1", "--retries", "1",
               "--allow-other", "--devname", _devname(self.name),
               "--config", os.path.join(self._workdir, "rclone.conf")]
        self._mounter = self._spawn(cmd, "mount.log", signal.SIGTERM)  # rclone unmounts on SIGTERM
        deadline = time.monotonic() + 20
        while not host.is_mounted(self.mount):
            if self._mounter.poll() is not None or time.monotonic() > deadline:
                raise RemoteError("rclone mount did not mount %s (exit %s)\n%s"
                                  % (self.mount, self._mounter.poll(), self.logs()))
            time.sleep(0.05)
        self._wait_mount_answers(15)

    def _wait_mount_answers(self, seconds):
        """Wait until the mount lists its root; RemoteError after SECONDS."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                os.listdir(self.mount)
                return
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise RemoteError("the mount does not answer: %s\n%s" % (exc, self.logs())) from exc
            time.sleep(0.1)

    def wait_synced(self, relpath, timeout_s=10):
        """Wait until RELPATH (relative to src_dir) looks the same through the mount as in src_dir: both absent,
        or the same size and the same whole-second mtime. Returns the seconds waited; TimeoutError after
        TIMEOUT_S."""
        src, seen = os.path.join(self.src, relpath), os.path.join(self.mount, relpath)
        start = time.monotonic()
        while True:
            want = size_mtime(src)
            got = size_mtime(seen)
            if want == got:
                return time.monotonic() - start
            if time.monotonic() - start > timeout_s:
                raise TimeoutError("%s: %s in the source, %s through the mount" % (relpath, want, got))
            time.sleep(0.1)

    # helpers

    def logs(self, lines=20):
        """The last LINES lines of the server's and the mount's logs (for failure messages)."""
        out = []
        for log in ("server.log", "mount.log"):
            path = os.path.join(self._workdir or "", log)
            if self._workdir and os.path.exists(path):
                with open(path, encoding="utf-8", errors="replace") as f:
                    tail = f.read().splitlines()[-lines:]
                out.append("--- %s\n%s" % (log, "\n".join(tail)))
        return "\n".join(out)

    def _spawn(self, cmd, log, death_signal):
        """Start CMD in a session of its own, output appended to LOG in the work folder; it gets DEATH_SIGNAL
        when this thread ends."""
        with open(os.path.join(self._workdir, log), "ab") as logf:
            return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                    start_new_session=True, preexec_fn=host.die_with_parent(death_signal))

    def _check_subnet_free(self):
        """RemoteError when self.subnet overlaps an address or a route of the host."""
        nets = []
        for line in host.run(["ip", "-4", "-o", "addr", "show"]).stdout.splitlines():
            words = line.split()
            if "inet" in words:
                nets.append(ipaddress.IPv4Interface(words[words.index("inet") + 1]).network)
        for line in host.run(["ip", "-4", "route", "show", "table", "all"], check=False).stdout.splitlines():
            words = line.split()
            if words and words[0] in _ROUTE_TYPES and len(words) > 1:
                words = words[1:]
            dest = words[0] if words else "default"
            if dest != "default":
                try:
                    nets.append(ipaddress.IPv4Network(dest, strict=False))
                except ValueError:
                    pass
        clash = [str(n) for n in nets if n.overlaps(self.subnet) and n.prefixlen > 0]
        if clash:
            raise RemoteError("subnet %s overlaps %s on this host; pass another subnet"
                              % (self.subnet, ", ".join(sorted(set(clash)))))


def _sigterm_exit(signum, frame):
    """SIGTERM handler installed while a Remote is open: exit through the cleanup code."""
    raise SystemExit(128 + signum)


def size_mtime(path):
    """(size, whole-second mtime) of PATH, or None when it does not exist (or cannot be read)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns // 1_000_000_000
