#!/usr/bin/python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""A small but real PyTorch CPU workload: a transformer encoder trained with AdamW on generated token data,
then batched inference with the trained model. Nothing is downloaded; data and model come from a fixed seed.

  train.py [--steps N] [--batches N] [--wait]

Prints one JSON object: median training step time (ms) and inference throughput (samples/s), the first steps
left out as warm-up. --wait builds the model and data, prints "ready" on stderr and waits for SIGUSR1 before
the timed part (a placement tool moves the process in between).
"""
import argparse
import json
import os
import signal
import statistics
import sys
import time

import torch
from torch import nn


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--wait", action="store_true")
    a = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    vocab, seq, dim, batch = 1000, 32, 64, 16
    model = nn.Sequential(nn.Embedding(vocab, dim),
                          nn.TransformerEncoder(nn.TransformerEncoderLayer(dim, 4, 4 * dim, batch_first=True), 2),
                          nn.Linear(dim, vocab))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    data = torch.randint(0, vocab, (a.steps + 1, batch, seq + 1))
    if a.wait:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
        print("ready", file=sys.stderr, flush=True)
        signal.sigwait({signal.SIGUSR1})
        torch.set_num_threads(len(os.sched_getaffinity(0)))  # the placement may have changed the CPUs
    loss_fn = nn.CrossEntropyLoss()
    steps = []
    model.train()
    for i in range(a.steps + 1):
        x, y = data[i, :, :-1], data[i, :, 1:]
        t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x).reshape(-1, vocab), y.reshape(-1))
        loss.backward()
        opt.step()
        steps.append(time.perf_counter() - t)
    model.eval()
    n = 0
    with torch.inference_mode():
        model(data[0, :, :-1])  # warm-up
        t = time.perf_counter()
        for i in range(a.batches):
            model(data[i % (a.steps + 1), :, :-1]).argmax(-1)
            n += batch
        infer = time.perf_counter() - t
    print(json.dumps({"train_step_ms": statistics.median(steps[3:] or steps) * 1000, "infer_samples_s": n / infer,
                      "final_loss": float(loss), "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
