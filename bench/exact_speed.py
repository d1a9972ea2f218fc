"""(b) exact finite-step three_step against the naive einsum reference (bench/naive.py).

V=1024, d=64, L=16, N=20000, eta=1e-2, gamma=1e4: both once after a warm-up, timed
alternately three times; the speed-up is the median of the paired ratios.  The relative
difference of the two results is printed as a sanity check.
"""
from __future__ import annotations

import time

import numpy as np

from . import naive

SIZE = dict(V=1024, d=64, L=16, N=20_000)
STEPS = dict(eta=1e-2, gamma=1e4)


def run() -> list[str]:
    from simulate import Task, sample, three_step
    task = Task(V=SIZE["V"], d=SIZE["d"], L=SIZE["L"], seed=0)
    data = sample(task, SIZE["N"], np.random.default_rng(0))
    small = sample(task, 500, np.random.default_rng(1))
    three_step(task, small, **STEPS), naive.three_step(task, small, **STEPS)   # warm-up
    ratios, t_ours, t_naive = [], [], []
    for _ in range(3):
        t0 = time.perf_counter()
        ours = three_step(task, data, **STEPS)
        t1 = time.perf_counter()
        ref = naive.three_step(task, data, **STEPS)
        t2 = time.perf_counter()
        t_ours.append(t1 - t0)
        t_naive.append(t2 - t1)
        ratios.append((t2 - t1) / (t1 - t0))
    diff = max(np.linalg.norm(ours.W_v - ref[0]) / np.linalg.norm(ref[0]),
               np.linalg.norm(ours.W_kq - ref[1]) / np.linalg.norm(ref[1]))
    size = ", ".join(f"{k}={v}" for k, v in SIZE.items())
    return [f"(b) naive einsum / exact three_step, finite steps [{size}]: speed-up "
            f"{np.median(ratios):.2f}x ({np.median(t_naive):.2f} s vs {np.median(t_ours):.2f} s, "
            f"medians of 3; results agree to {diff:.1e} relative) (target > 1)"]
