r"""Calibration on a random grid: ``python -m figures.random_grid [--points P] [--seeds S]``.

F9 compares theory and simulation on the figures' own grids with 3 seeds per point, where
the task-to-task spread of the accuracy (s.d. up to 0.17 at small V) dominates the largest
errors.  This command draws configurations at random, log-uniformly over
V in [4, 2048], d in [2, 1024], L in [2, 256] and N in [3, 10^6] (with N L <= 2e7 and
V d <= 2^19 so that a point takes seconds), simulates each with S seeds (``reps = 4`` test
sequences per token) and compares the seed-mean accuracy with :func:`theory.predict`.
The grid does not depend on the theory: no configuration is chosen or dropped by its
prediction.  Results are cached like every sweep and written to
figures/out/random_grid.json (``--outdir`` elsewhere; per point: configuration, simulated
mean and standard error, prediction).  It is not part of ``make figures``: 100 points x 16
seeds take about 8 minutes on 2 cores.  ``--scheduler ADDRESS`` (or ``$RECALL_SCHEDULER``)
runs the points on a dask cluster, ``local`` / ``local:N`` on a LocalCluster started here.
Bad input (an unreachable scheduler included): one line on stderr, exit status 2.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys

import numpy as np

from simulate import cluster
from simulate.sweep import measure_point, run_sweep
from common.cli import Parser

from . import style
from .fig9_calibration import stats
from .grids import CACHE_ENV, cache_dir, writable_dir

#: Root of the grid's randomness (configurations and simulations).
BASE_SEED = 2026


def draw_configs(n, seed=BASE_SEED):
    """``n`` random configurations (dicts V, N, d, L); the same for the same ``seed``."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
    out = []
    while len(out) < n:
        V, d, L = (int(round(2 ** rng.uniform(lo, hi))) for lo, hi in ((2, 11), (1, 10), (1, 8)))
        N = int(round(10 ** rng.uniform(0.5, 6)))
        if N * L <= 2e7 and V * d <= 2**19:
            out.append(dict(V=V, N=N, d=d, L=L))
    return out


def measure(configs, seeds, executor=None):
    """Seed-mean accuracy and its standard error per configuration, shape (n,), (n,)."""
    res = run_sweep(measure_point, [dict(c, reps=4) for c in configs], seeds=seeds,
                    base_seed=BASE_SEED, executor=executor, cache_dir=cache_dir())
    acc = np.array([[r["accuracy"] for r in row] for row in res])      # (n, seeds)
    return acc.mean(axis=1), acc.std(axis=1, ddof=1) / np.sqrt(seeds)


def summary(err, se):
    """F9's error statistics, plus the largest error beyond twice its standard error."""
    return {**stats(err), "max_excess_over_2se": float(np.max(np.abs(err) - 2 * se))}


def main(argv=None) -> int:
    p = Parser(prog="python -m figures.random_grid", description=__doc__.splitlines()[0])
    p.add_argument("--points", type=int, default=100, help="configurations (default 100)")
    p.add_argument("--seeds", type=int, default=16, help="seeds per configuration (>= 2)")
    p.add_argument("--outdir", default=style.OUT, help="where random_grid.json goes "
                   "(default figures/out)")
    p.add_argument("--scheduler", metavar="ADDRESS", default=cluster.address_from(),
                   help=f"dask scheduler (tcp://host:8786, local or local:N); default "
                   f"${cluster.ENV}, else local processes")
    args = p.parse_args(argv)
    if args.points < 1 or args.seeds < 2:
        p.error("--points must be >= 1 and --seeds >= 2")
    try:
        writable_dir(args.outdir, "output directory")
        writable_dir(cache_dir(), f"sweep cache (${CACHE_ENV})")
    except ValueError as err:
        p.error(str(err))
    with contextlib.ExitStack() as stack:
        try:                                   # only connecting is bad input, not the sweep
            ex = stack.enter_context(cluster.executor(args.scheduler))
        except (ValueError, ConnectionError) as err:
            p.error(str(err))
        configs = draw_configs(args.points)
        try:
            sim, se = measure(configs, args.seeds, ex)
        except KeyboardInterrupt:              # finished points are cached; rerun resumes
            sys.stderr.write("python -m figures.random_grid: interrupted\n")
            return 130
    from theory import predict
    pred = np.array([predict(**c)["accuracy"] for c in configs])
    err = pred - sim
    report = {"seeds": args.seeds, "base_seed": BASE_SEED, **summary(err, se),
              "points": [{**c, "simulated": float(s), "se": float(e), "predicted": float(q)}
                         for c, s, e, q in zip(configs, sim, se, pred)]}
    path = os.path.join(args.outdir, "random_grid.json")
    with open(path, "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps({k: v for k, v in report.items() if k != "points"}))
    for i in np.argsort(-np.abs(err))[:10]:
        c = configs[i]
        print(f"V={c['V']} N={c['N']} d={c['d']} L={c['L']}: simulated {sim[i]:.3f} "
              f"+- {se[i]:.3f}, predicted {pred[i]:.3f}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
