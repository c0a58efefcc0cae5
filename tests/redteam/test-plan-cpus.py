#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""Red team: configured CPU lists that name CPUs the machine does not have (a fleet-wide configuration on a
smaller machine) are left out and said in the plan's notes, naming the key, never silently. TAP."""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import ASIOSCTL, FIXTURES, check, done, need, plan_json, untar, write  # noqa: E402

CASES = [
    ("irq", "[irqd]\nbanned_cpus = 2,500-501\n", "banned_cpus lists CPUs 500-501"),
    ("irq", "[device 0000:18:00.0]\ncpus = 0-3,4000\n", "[device 0000:18:00.0] cpus lists CPUs 4000"),
    ("irq", "[irq 130]\ncpus = 96\n", "[irq 130] cpus lists CPUs 96"),
    ("numa", "[numad]\nbanned_cpus = 900\n", "banned_cpus lists CPUs 900"),
    ("numa", "[workload x]\ncommand = foo*\ncpus = 0-3,700\n", "[workload x] cpus lists CPUs 700"),
    ("isolate", "[schedd]\nisolate = 8-15,200-300\n", "isolate lists CPUs 200-300"),
]


def main():
    if not need(ASIOSCTL):
        return 1
    tmp = tempfile.mkdtemp()
    try:
        untar(os.path.join(FIXTURES, "ai-2s8g.tar.gz"), tmp)
        root = os.path.join(tmp, "ai-2s8g")
        for i, (verb, conf, want) in enumerate(CASES):
            path = os.path.join(tmp, "c%d.conf" % i)
            write(path, conf)
            rc, pl, err = plan_json(verb, root, "--config", path, "--config-dir", os.path.join(tmp, "none"))
            notes = pl["notes"] if pl else []
            check(rc == 0 and any(want in n and "not online here" in n for n in notes),
                  "%s plan: %s is said in the notes" % (verb, want), "%s\n%s" % (notes, err))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return done()


if __name__ == "__main__":
    sys.exit(main())
