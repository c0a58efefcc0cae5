# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""Host plumbing of the remote model store (remote.py): commands, network namespaces and links, FUSE mounts,
child processes that die with their parent."""

import ctypes
import os
import shutil
import signal
import subprocess

_SBIN = os.pathsep.join(("/usr/sbin", "/sbin"))


class RemoteError(RuntimeError):
    """Setting up or driving the remote store failed; the message says which command and why."""


def tool(name):
    """Absolute path of the program NAME (also looked for in the sbin folders), or None."""
    return shutil.which(name) or shutil.which(name, path=_SBIN)


def run(cmd, check=True, timeout=30):
    """Run CMD (a list, its first word looked up with _tool), return the CompletedProcess; raise RemoteError when
    CHECK and it fails."""
    exe = tool(cmd[0]) or cmd[0]
    try:
        proc = subprocess.run([exe] + list(cmd[1:]), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        if check:
            raise RemoteError("%s: %s" % (" ".join(cmd), exc)) from exc
        return subprocess.CompletedProcess(cmd, -1, "", str(exc))
    if check and proc.returncode != 0:
        raise RemoteError("%s: exit %d: %s" % (" ".join(cmd), proc.returncode, proc.stderr.strip()))
    return proc


def netns_exists(name):
    """Whether the named network namespace exists."""
    return name in run(["ip", "netns", "list"], check=False).stdout.split()


def link_exists(ifname):
    """Whether the host has a network interface IFNAME."""
    return os.path.exists(os.path.join("/sys/class/net", ifname))


def fuse_mounts():
    """(source, mount point) of each FUSE mount of this mount namespace."""
    out = []
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            if fields[sep + 1].startswith("fuse"):
                out.append((fields[sep + 2], fields[4].replace("\\040", " ")))
    return out


def is_mounted(path):
    """Whether PATH is a FUSE mount point (read from mountinfo: asks nothing of the FUSE server)."""
    path = os.path.realpath(path)
    return any(mnt == path for _, mnt in fuse_mounts())


def unmount(path):
    """Unmount the FUSE mount at PATH: fusermount3 -u, lazily if busy; True when it is gone."""
    for cmd in (["fusermount3", "-u", path], ["fusermount3", "-u", "-z", path], ["umount", "-l", path]):
        if not is_mounted(path):
            return True
        run(cmd, check=False, timeout=15)
    return not is_mounted(path)


def stop_process(proc, grace_s=5.0):
    """Let PROC exit on its own for GRACE_S seconds, then SIGTERM, then SIGKILL; reap it."""
    if proc is None:
        return
    for sig, wait_s in ((None, grace_s), (signal.SIGTERM, 3.0), (signal.SIGKILL, 10.0)):
        if sig is not None and proc.poll() is None:
            try:
                proc.send_signal(sig)
            except OSError:
                pass
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def die_with_parent(sig):
    """A preexec_fn: the child gets SIG when the thread that started it ends (prctl PR_SET_PDEATHSIG), so that a
    test killed with SIGKILL does not leave rclone running; the next start() then removes the rest."""
    parent = os.getpid()

    def preexec():
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(sig), 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            return
        if os.getppid() != parent:
            os._exit(1)
    return preexec
