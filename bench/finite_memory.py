"""Peak memory and time of a finite-step three_step at V=1024, d=64, L=16, N=200000."""
from __future__ import annotations

import json
import sys
import time

import numpy as np

from ._child import peak_rss_gib, run_child

SIZE = dict(V=1024, d=64, L=16, N=200_000)


def _child():
    from simulate import Task, sample, three_step
    task = Task(V=SIZE["V"], d=SIZE["d"], L=SIZE["L"], seed=0)
    data = sample(task, SIZE["N"], np.random.default_rng(0))
    t0 = time.perf_counter()
    three_step(task, data, eta=1e-2, gamma=1e4)
    print(json.dumps({"seconds": time.perf_counter() - t0, "peak_gib": peak_rss_gib()}))


def run() -> list[str]:
    r = run_child(__name__)
    size = ", ".join(f"{k}={v}" for k, v in SIZE.items())
    return [f"(d) finite-step three_step [{size}]: peak RSS {r['peak_gib']:.2f} GiB "
            f"(target < 2 GiB), {r['seconds']:.1f} s"]


if __name__ == "__main__" and "--child" in sys.argv:
    _child()
