#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""asios-irqd rebalancing by measured interrupt rate, on a writable copy of the ws-2g-iso fixture whose
/proc/interrupts counters this test advances: an even load moves nothing; two hot NIC queues sharing a CPU are
split after rebalance_checks consecutive checks (not at the first); the split survives a re-plan (SIGHUP);
the rates it was planned with are kept in /run/asios/irqd.rates, which `asiosctl irq plan` and a restarted
daemon plan with; rebalance = no never moves anything. TAP."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import ASIOSCTL, BUILD, FIXTURES, check, done, need, read, terminate, untar, wait_for  # noqa: E402
import unitcaps  # noqa: E402

IRQD = os.path.join(BUILD, "asios-irqd")
# as its systemd unit runs it: with the unit's capability bounding set (tests/unitcaps.py)
UNIT = unitcaps.prefix("asios-irqd")
QUEUES = [133, 134, 135, 136]  # enp3s0-TxRx-0..3 of the NIC on node 0


class Load(threading.Thread):
    """Advance the counters of /proc/interrupts in ROOT: rates[irq] interrupts per second."""

    def __init__(self, root):
        super().__init__(daemon=True)
        self.path = os.path.join(root, "proc/interrupts")
        self.rates = {}
        self.counts = {}
        self.stop = False
        self.lock = threading.Lock()

    def set(self, rates):
        with self.lock:
            self.rates = dict(rates)

    def run(self):
        last = time.monotonic()
        while not self.stop:
            time.sleep(0.1)
            now = time.monotonic()
            with self.lock:
                for irq, r in self.rates.items():
                    self.counts[irq] = self.counts.get(irq, 0) + r * (now - last)
            last = now
            out = []
            for line in open(self.path).read().splitlines():
                head = line.split(":", 1)[0].strip()
                if head.isdigit() and int(head) in self.counts:
                    fields = line.split(":", 1)[1].split()
                    fields[0] = str(int(self.counts[int(head)]))
                    # 32 CPU columns, then the chip and name as they were
                    line = "%4s:" % head + "".join("%11s" % f for f in fields[:32]) + "  " + " ".join(fields[32:])
                out.append(line)
            tmp = self.path + ".new"
            with open(tmp, "w") as f:
                f.write("\n".join(out) + "\n")
            os.replace(tmp, self.path)


def start(tmp, root, conf_text):
    conf = os.path.join(tmp, "irqd.conf")
    with open(conf, "w") as f:
        f.write(conf_text)
    sock_path = os.path.join(tmp, "notify")
    if os.path.exists(sock_path):
        os.unlink(sock_path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    sock.settimeout(30)
    log = open(os.path.join(tmp, "log"), "w+")
    d = subprocess.Popen(UNIT + [IRQD, "--root", root, "--config", conf, "--config-dir", os.path.join(tmp, "none")],
                         stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, NOTIFY_SOCKET=sock_path))
    try:
        sock.recv(4096)
    except socket.timeout:
        pass
    sock.close()
    return d, lambda: open(log.name).read()


def stop(d):
    terminate(d, 10)


def irq_plan(tmp, root):
    return subprocess.run([ASIOSCTL, "irq", "plan", "--root", root, "--config", os.path.join(tmp, "irqd.conf"),
                           "--config-dir", os.path.join(tmp, "none")], capture_output=True, text=True)


def kept_rates(tmp, root, hot):
    """the rates file: written at the rebalance, honoured by asiosctl irq plan under --root"""
    path = os.path.join(root, "run/asios/irqd.rates")
    rates = {}
    if os.path.exists(path):
        for line in open(path).read().splitlines():
            if not line.startswith("#"):
                irq, rate = line.split()
                rates[int(irq)] = float(rate)
    check(all(rates.get(q, 0) > 4000 for q in hot), "the rates of the rebalance are kept in /run/asios/irqd.rates",
          str(rates))
    p = irq_plan(tmp, root)
    check(p.returncode == 0 and "0 changes" in p.stdout, "asiosctl irq plan --root plans with them: nothing to move",
          p.stdout + p.stderr)
    os.rename(path, path + ".away")
    p = irq_plan(tmp, root)
    os.rename(path + ".away", path)
    check(p.returncode == 0 and "0 changes" not in p.stdout and any("irq %d " % q in p.stdout for q in hot),
          "without them it would put the plain spread back", p.stdout + p.stderr)


def main():
    if not need(IRQD):
        return 1
    tmp = tempfile.mkdtemp()
    # node 0 keeps two housekeeping CPUs (0 and 1): the four NIC queues share them two by two
    conf = ("[irqd]\ninterval = 1\nbanned_cpus = 2-3,8-19,24-31\nrebalance_min_rate = 1000\n"
            "rebalance_checks = 2\nrebalance_holdoff = 0\n")
    try:
        untar(os.path.join(FIXTURES, "ws-2g-iso.tar.gz"), tmp)
        root = os.path.join(tmp, "ws-2g-iso")
        unitcaps.kernel_modes(root)
        aff = lambda q: read(os.path.join(root, "proc/irq/%d/smp_affinity_list" % q))
        load = Load(root)
        load.start()
        d, logtext = start(tmp, root, conf)
        placed = {q: aff(q) for q in QUEUES}
        check(sorted(set(placed.values())) == ["0", "1"], "at start the four queues share CPUs 0 and 1", str(placed))
        # an even load: nothing to gain
        load.set({q: 3000 for q in QUEUES})
        time.sleep(4.5)
        check("rebalancing" not in logtext() and {q: aff(q) for q in QUEUES} == placed,
              "an even load (3000/s per queue) moves nothing", logtext())
        # two hot queues on the same CPU, the other two idle
        cpu0 = [q for q in QUEUES if placed[q] == placed[QUEUES[0]]]
        hot = cpu0[:2]
        load.set({q: (8000 if q in hot else 0) for q in QUEUES})
        ok = wait_for(lambda: "rate rebalance:" in logtext(), 20)
        text = logtext()
        check(ok, "two hot queues on one CPU (16000/s vs 0/s): the daemon rebalances", text)
        first = text.find("(check 1 of 2)")
        check(0 <= first < text.find("rebalancing"), "not at the first imbalanced check: after rebalance_checks = 2", text)
        check(aff(hot[0]) != aff(hot[1]), "the hot queues %d and %d now have a CPU each" % tuple(hot),
              "%s %s\n%s" % (aff(hot[0]), aff(hot[1]), text))
        check("by measured rate" in text, "the moves give their reason (measured rate)", text)
        split = {q: aff(q) for q in QUEUES}
        d.send_signal(signal.SIGHUP)
        wait_for(lambda: "configuration reloaded" in logtext(), 10)
        check({q: aff(q) for q in QUEUES} == split, "a re-plan (SIGHUP) keeps the rate-aware layout", logtext())
        kept_rates(tmp, root, hot)
        stop(d)
        # a restart plans with the kept rates: the split stays
        d, logtext = start(tmp, root, conf)
        check("planning with the interrupt rates of the last rebalance" in logtext() and
              {q: aff(q) for q in QUEUES} == split, "a restarted daemon keeps the rate-aware layout", logtext())
        stop(d)
        # rebalance = no: the same imbalance moves nothing
        for q in QUEUES:
            with open(os.path.join(root, "proc/irq/%d/smp_affinity_list" % q), "w") as f:
                f.write(placed[q] + "\n")
        d, logtext = start(tmp, root, conf + "rebalance = no\n")
        time.sleep(4.5)
        check("rebalancing" not in logtext() and aff(hot[0]) == aff(hot[1]), "rebalance = no: nothing moves by rate",
              logtext())
        stop(d)
        load.stop = True
        load.join(2)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return done()


if __name__ == "__main__":
    sys.exit(main())
