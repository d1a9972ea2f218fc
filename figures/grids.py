r"""Measured grids of the figures: axes, cached sweeps, and where accuracy crosses tau.

All simulation happens in :func:`sweep` (through :func:`simulate.sweep.run_sweep`, which
caches every point); the figure modules only load and draw.  :func:`first_crossing`,
:func:`last_crossing` and :func:`crossings` turn accuracy curves into a critical N or a
capacity per seed, :func:`spread` summarizes seeds.

The cache directory is ``$RECALL_FIGURES_CACHE`` when set (the tests point it at a
temporary directory), else ``<repo>/.cache/sweeps``.  Points run on the dask scheduler
at ``$RECALL_SCHEDULER`` when set (:mod:`simulate.cluster`), else in local processes.
"""
from __future__ import annotations

import inspect
import itertools
import os
import tempfile
from pathlib import Path

import numpy as np

from simulate import cluster
from simulate.cache import code_version, digest
from simulate.sweep import DEFAULT_CACHE, measure_point, run_sweep

#: Target accuracy of critical N and capacity (docs/model.md, section 5).
TAU = 0.9
#: Environment variable overriding the cache directory.
CACHE_ENV = "RECALL_FIGURES_CACHE"
#: A point's randomness depends on these keys only: every N (and every step size) of one
#: (task, seed index) shares the task, so accuracy-vs-N curves are smooth per seed.
SEED_FROM = ("V", "d", "L", "m", "embeddings", "activation")
#: The main slice (V, L) shared by F1, F3, F4, F7 and F9, so its points are computed once.
V0, L0 = 128, 8


def cache_dir() -> Path:
    """Sweep cache directory: ``$RECALL_FIGURES_CACHE`` or ``<repo>/.cache/sweeps``."""
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE)


def writable_dir(path, what: str) -> Path:
    """Create ``path`` if needed and prove it writable (a temporary file); else raise
    ValueError with one line naming ``what`` (checked once, before any work starts)."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as err:
        raise ValueError(f"{what} {str(path)!r} is not a writable directory: "
                         f"{err.strerror or err}") from None
    return path


def n_seeds(quick: bool) -> int:
    """Seeds per point: enough for a visible spread, fewer in quick mode."""
    return 2 if quick else 3


def logrange(lo, hi, step, base=10.0):
    """Integers ``round(base**k)`` for k = lo, lo+step, ..., hi (duplicates dropped)."""
    k = np.arange(lo, hi + 1e-9, step)
    return np.unique(np.round(base ** k).astype(int))


def theory_axis(values, quick=False, step=0.5):
    """Integer points at ``step`` octaves across ``values``: where theory lines are drawn.

    A critical N or a capacity is a bisection over predictions (about a second each), so
    the full-theory lines use half an octave, and quick mode only the simulated values.
    """
    if quick:
        return np.asarray(values)
    return logrange(np.log2(values[0]), np.log2(values[-1]), step, base=2)


def main_grid(quick: bool) -> dict:
    """Axes of the shared main slice: N (10^2..10^5.5) and d (2^4..2^9) at V0, L0."""
    if quick:
        return {"N": logrange(2, 4, 2), "d": logrange(5, 7, 2, base=2)}
    return {"N": logrange(2, 5.5, 0.25), "d": logrange(4, 9, 0.5, base=2)}


# ----------------------------------------------------------------------- simulation ---
class Grid:
    """Sweep results on the product of named axes.

    ``grid[key]`` is an array of shape ``(*axis lengths, seeds)`` (NaN where a result is
    missing); ``grid.axes`` maps axis names to their values in order.
    """

    def __init__(self, axes, results):
        self.axes = axes
        self.shape = tuple(len(v) for v in axes.values())
        self.results = results                                    # flat list of seed lists

    def __getitem__(self, key):
        def value(r):
            v = r.get(key)
            return np.nan if v is None else v
        arr = np.array([[value(r) for r in row] for row in self.results], dtype=float)
        return arr.reshape(*self.shape, -1, *arr.shape[2:])


def configs_of(base: dict, axes: dict) -> list[dict]:
    """Configurations of the product of ``axes`` (last axis fastest) over ``base``."""
    names = list(axes)
    return [{**base, **{k: plain(v) for k, v in zip(names, vals)}}
            for vals in itertools.product(*(axes[k] for k in names))]


def plain(v):
    """``v`` as a plain Python value (NumPy scalars unwrapped), for JSON configurations."""
    return v.item() if isinstance(v, np.generic) else v


def _version(fn) -> str:
    """Cache version of ``fn``'s points.

    The ``simulate`` sources and the source of the module defining ``fn`` when it is not
    ``measure_point`` (figures/measures.py); ``run_sweep`` keys ``seed_from`` itself.
    """
    own = "" if fn is measure_point else digest(inspect.getsource(inspect.getmodule(fn)))[:12]
    return f"{code_version()}-{own}"


def sweep(base: dict, axes: dict, quick: bool, fn=measure_point, seeds=None) -> Grid:
    """Run (or load) ``fn`` on the product grid (``seeds`` per point, default
    :func:`n_seeds`); return a :class:`Grid`."""
    axes = {k: list(v) for k, v in axes.items()}
    seeds = n_seeds(quick) if seeds is None or quick else seeds
    with cluster.executor(cluster.address_from()) as ex:
        res = run_sweep(fn, configs_of(base, axes), seeds=seeds, cache_dir=cache_dir(),
                        code_version=_version(fn), seed_from=SEED_FROM, executor=ex)
    return Grid(axes, res)


# ------------------------------------------------------------------------ crossings ---
def first_crossing(x, y, tau=TAU, log=True):
    """Smallest x at which y reaches ``tau`` (interpolated, in log x when ``log``).

    Returns ``inf`` when y never reaches tau, ``x[0]`` when it starts above (censored).
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    above = np.flatnonzero(y >= tau)
    if above.size == 0:
        return np.inf
    i = above[0]
    if i == 0:
        return x[0]
    return _interp(x[i - 1], x[i], y[i - 1], y[i], tau, log)


def last_crossing(x, y, tau=TAU, log=True):
    """Largest x at which y is still >= ``tau`` (interpolated to the next grid point).

    Returns NaN when y is below tau at ``x[0]``, ``x[-1]`` when it never drops (censored).
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    above = np.flatnonzero(y >= tau)
    if above.size == 0:
        return np.nan
    i = above[-1]
    if i == len(x) - 1:
        return x[-1]
    return _interp(x[i], x[i + 1], y[i], y[i + 1], tau, log)


def _interp(x0, x1, y0, y1, tau, log):
    t = (tau - y0) / (y1 - y0)
    return float(np.exp(np.log(x0) + t * np.log(x1 / x0))) if log else float(x0 + t * (x1 - x0))


def crossings(x, Y, tau=TAU, last=False):
    """Per-row crossings of ``Y`` (..., len(x)) along its last axis; shape Y.shape[:-1]."""
    Y = np.asarray(Y, float)
    f = last_crossing if last else first_crossing
    out = np.array([f(x, row, tau) for row in Y.reshape(-1, Y.shape[-1])])
    return out.reshape(Y.shape[:-1])


def spread(values, axis=-1):
    """Median, min and max over seeds (``axis``); infinities propagate."""
    v = np.asarray(values, float)
    return np.median(v, axis=axis), np.min(v, axis=axis), np.max(v, axis=axis)


def critical_sim(base, xkey, xvals, Ns, quick, fn=measure_point, key="accuracy", seeds=None):
    """Simulated critical N per x and seed from an accuracy-vs-N grid.

    Returns ``(nstar, grid)``: ``nstar`` has shape (len(xvals), seeds) (first crossing of
    tau in log N per seed; inf when never reached), ``grid`` the underlying :class:`Grid`.
    """
    g = sweep(base, {xkey: xvals, "N": Ns}, quick, fn, seeds)
    return crossings(Ns, np.moveaxis(g[key], -1, 1)), g
