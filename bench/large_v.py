"""(e) limit three-step time at V=32768 over V=4096; (f) peak memory at V=32768.

d=256, L=8, N=4*10^6.  One child process (one BLAS thread) samples a dataset and runs
``three_step(limit=True)`` at V=4096 and at V=32768, in turn, twice; the time ratio is the
mean of the two paired ratios of CPU times (wall printed too).  Without a V x V array the
cost is :math:`O(\\min(NL, V^2) d + V d^2)`: 8x the vocabulary should cost far less than the
64x of the dense products.  The peak is measured in a second child that runs V=32768 only,
sampling included.
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np

from ._child import peak_rss_gib, run_child

SIZE = dict(d=256, L=8, N=4 * 10**6)
SMALL, LARGE = 4096, 32768


def _limit_time(V, rep):
    from simulate import Task, sample, three_step
    task = Task(V=V, d=SIZE["d"], L=SIZE["L"], seed=rep)
    data = sample(task, SIZE["N"], np.random.default_rng(rep))
    c0, w0 = time.process_time(), time.perf_counter()
    three_step(task, data, limit=True)
    return time.process_time() - c0, time.perf_counter() - w0


def _child():
    if "--peak" in sys.argv:
        _limit_time(LARGE, 0)
        print(json.dumps({"peak_gib": peak_rss_gib()}))
        return
    rows = []
    for rep in range(2):
        small, large = _limit_time(SMALL, rep), _limit_time(LARGE, rep)
        rows.append((large[0] / small[0], large[1] / small[1], *small, *large))
    names = ("cpu_ratio", "wall_ratio", "cpu_small", "wall_small", "cpu_large", "wall_large")
    print(json.dumps({k: float(np.mean([r[i] for r in rows])) for i, k in enumerate(names)}))


def run() -> list[str]:
    r = run_child(__name__)
    p = run_child(__name__, "--peak")
    size = ", ".join(f"{k}={v}" for k, v in SIZE.items())
    return [
        f"(e) limit three_step time, V={LARGE} / V={SMALL} [{size}]: {r['cpu_ratio']:.2f} CPU "
        f"time ({r['cpu_large']:.1f} s vs {r['cpu_small']:.1f} s), {r['wall_ratio']:.2f} wall "
        f"({r['wall_large']:.1f} s vs {r['wall_small']:.1f} s); means of 2 pairs (target <= 2.5)",
        f"(f) peak RSS of the limit three_step at V={LARGE}, sampling included: "
        f"{p['peak_gib']:.2f} GiB (target < 2.5 GiB)",
    ]


if __name__ == "__main__" and "--child" in sys.argv:
    _child()
