"""(a) limit three-step time / time to sample its dataset; (c) peak memory of that run.

V=1024, d=64, L=16, N=10^6.  The child process (one BLAS thread) samples a fresh dataset
and runs ``three_step(limit=True)`` three times; each ratio is the median of the three
paired ratios, so a slow spell of a shared machine hits both sides of a pair.  The ratio of
CPU times is the headline (other processes' load inflates wall times); wall is printed too.
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np

from ._child import peak_rss_gib, run_child

SIZE = dict(V=1024, d=64, L=16, N=10**6)


def _child():
    from simulate import Task, sample, three_step
    task = Task(V=SIZE["V"], d=SIZE["d"], L=SIZE["L"], seed=0)
    cpu, wall = [], []
    for rep in range(3):
        c0, w0 = time.process_time(), time.perf_counter()
        data = sample(task, SIZE["N"], np.random.default_rng(rep))
        c1, w1 = time.process_time(), time.perf_counter()
        three_step(task, data, limit=True)
        c2, w2 = time.process_time(), time.perf_counter()
        cpu.append(((c2 - c1) / (c1 - c0), c2 - c1, c1 - c0))
        wall.append(((w2 - w1) / (w1 - w0), w2 - w1, w1 - w0))
        del data
    out = {f"{k}_{name}": float(np.median([r[i] for r in rows]))
           for k, rows in (("cpu", cpu), ("wall", wall))
           for i, name in enumerate(("ratio", "limit_s", "sample_s"))}
    print(json.dumps({**out, "peak_gib": peak_rss_gib()}))


def run() -> list[str]:
    r = run_child(__name__)
    size = ", ".join(f"{k}={v}" for k, v in SIZE.items())
    return [
        f"(a) limit three_step / sample time [{size}]: {r['cpu_ratio']:.2f} CPU time "
        f"({r['cpu_limit_s']:.3f} s vs {r['cpu_sample_s']:.3f} s), {r['wall_ratio']:.2f} wall "
        f"({r['wall_limit_s']:.3f} s vs {r['wall_sample_s']:.3f} s); medians of 3 "
        f"(target <= 3, aim 1.5)",
        f"(c) peak RSS of (a), sampling included: {r['peak_gib']:.2f} GiB (target < 2.5 GiB)",
    ]


if __name__ == "__main__" and "--child" in sys.argv:
    _child()
