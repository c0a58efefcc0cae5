# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""End to end: a small PyTorch CPU training loop and inference loop (benchmarks/e2e/train.py, Debian's
python3-torch, model and data generated locally), stock vs the machine as ASIOS tunes it.

  stock  the kernel's defaults for what asios-base changes, IRQs as they are, the process where it starts
  asios  asios-base's sysctl defaults, `asiosctl irq apply` (device IRQs on their node, off isolated CPUs), and
         the training process placed by `asiosctl numa apply` as a [workload] on CPU 0's node; all reverted
"""
import contextlib
import os

import benchlib

TITLE = "PyTorch CPU training step and inference: stock vs ASIOS-tuned machine"
METRICS = [("train_step_ms", "ms", "lower"), ("infer_samples_s", "samples/s", "higher")]
MODES = [("stock", "stock"), ("asios", "ASIOS-tuned")]
PYTHON = "/usr/bin/python3"  # Debian's, which python3-torch is built for
STOCK = {"/proc/sys/vm/max_map_count": "65530", "/proc/sys/vm/dirty_background_ratio": "10",
         "/proc/sys/vm/dirty_ratio": "20"}


def prepare(ctx):
    benchlib.need_root()
    ctx.program("asiosctl")
    if not os.access(PYTHON, os.X_OK) or benchlib.subprocess.run([PYTHON, "-c", "import torch"],
                                                                 capture_output=True).returncode:
        raise benchlib.Skip("python3-torch is missing (make bench installs benchmarks/deps.list)")
    ctx.state["e2e.script"] = os.path.join(benchlib.TOP, "benchmarks", "e2e", "train.py")
    ctx.state["e2e.conf"] = benchlib.workload_conf(ctx, "e2e", "*e2e/train.py*")


@contextlib.contextmanager
def tuned(ctx, mode):
    if mode == "stock":  # the ratios undo the byte values asios-base sets (writing a ratio clears the bytes)
        with benchlib.sysctls(STOCK):
            yield
        return
    with benchlib.asios_sysctls(), benchlib.asiosctl_applied(ctx, "irq"):
        yield


def run(ctx, mode):
    cmd = [PYTHON, ctx.state["e2e.script"], "--steps", "6" if ctx.quick else "20", "--batches", "4" if ctx.quick else "20"]
    j = (benchlib.last_json(benchlib.sh(cmd)) if mode == "stock"
         else benchlib.run_placed(ctx, cmd, ctx.state["e2e.conf"], "e2e.notes"))
    return {k: j[k] for k, _, _ in METRICS}
