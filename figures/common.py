r"""Shared helpers of the figure modules: grids, cached sweeps, crossings, theory, plotting.

Compute happens only in :func:`sweep` (through :func:`simulate.sweep.run_sweep`, which
caches every point) and in :func:`theory_rows` (theory evaluations, each cached on disk
under the hash of the ``theory`` sources); the figure modules only load and draw.

The cache directory is ``$RECALL_FIGURES_CACHE`` when set (the tests point it at a
temporary directory), else ``<repo>/.cache/sweeps``.
"""
from __future__ import annotations

import concurrent.futures as cf
import importlib
import inspect
import itertools
import numbers
import os
import sys
import warnings
from pathlib import Path

import numpy as np
from matplotlib import patheffects
from matplotlib.legend_handler import HandlerTuple
from matplotlib.ticker import FixedLocator, LogFormatterMathtext, NullLocator, ScalarFormatter

from simulate.cache import Cache, code_version, digest
from simulate.sweep import DEFAULT_CACHE, measure_point, run_sweep

from . import style

#: Target accuracy of critical N and capacity (SPEC section 5).
TAU = 0.9
#: Environment variable overriding the cache directory.
CACHE_ENV = "RECALL_FIGURES_CACHE"
#: A point's randomness depends on these keys only: every N (and every step size) of one
#: (task, seed index) shares the task, so accuracy-vs-N curves are smooth per seed.
SEED_FROM = ("V", "d", "L", "m", "embeddings", "activation")
#: The main slice (V, L) shared by F1, F3, F4, F7 and F9, so its points are computed once.
V0, L0 = 128, 8
#: White outline that keeps a line readable on top of a heatmap.
HALO = [patheffects.withStroke(linewidth=3.2, foreground="white")]
#: Theory hooks that were missing during this run (reported by ``python -m figures``).
MISSING: set[str] = set()

_REPO = Path(__file__).resolve().parents[1]


def cache_dir() -> Path:
    """Sweep cache directory: ``$RECALL_FIGURES_CACHE`` or ``<repo>/.cache/sweeps``."""
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE)


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
    return [{**base, **{k: _plain(v) for k, v in zip(names, vals)}}
            for vals in itertools.product(*(axes[k] for k in names))]


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


def _version(fn) -> str:
    """Cache version of ``fn``'s points.

    The ``simulate`` sources and the source of the module defining ``fn`` when it is not
    ``measure_point`` (figures/measures.py); ``run_sweep`` keys ``seed_from`` itself.
    """
    own = "" if fn is measure_point else digest(inspect.getsource(inspect.getmodule(fn)))[:12]
    return f"{code_version()}-{own}"


def sweep(base: dict, axes: dict, quick: bool, fn=measure_point) -> Grid:
    """Run (or load) ``fn`` on the product grid; return a :class:`Grid`."""
    axes = {k: list(v) for k, v in axes.items()}
    res = run_sweep(fn, configs_of(base, axes), seeds=n_seeds(quick), cache_dir=cache_dir(),
                    code_version=_version(fn), seed_from=SEED_FROM)
    return Grid(axes, res)


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


# --------------------------------------------------------------------------- theory ---
def _resolve(path: str):
    """``theory.<path>``: a public name (``"predict"``) or ``"module.function"``."""
    head, _, attr = path.rpartition(".")
    return getattr(importlib.import_module("theory" + (f".{head}" if head else "")), attr)


def theory_fn(path: str):
    """``theory.<path>`` or None (recorded in :data:`MISSING`) while it is not written."""
    try:
        return _resolve(path)
    except (ImportError, AttributeError):
        MISSING.add(f"theory.{path}")
        return None


def _value(v):
    """A theory output as a JSON value (strings, floats, lists, dicts); None if it has none.

    Objects without a JSON form (e.g. internal read-out objects) are dropped.
    """
    if isinstance(v, str):
        return v
    if isinstance(v, (numbers.Real, np.generic)) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, (np.ndarray, list, tuple)):
        return [_value(x) for x in np.asarray(v, dtype=float).ravel()] \
            if np.asarray(v).dtype.kind in "iuf" else None
    if isinstance(v, dict):
        out = {k: _value(x) for k, x in v.items()}
        return {k: x for k, x in out.items() if x is not None}
    return None


def _theory_call(path: str, call: dict):
    """One theory evaluation in its JSON form (:func:`_value`).

    An error is kept as ``{"__error__": msg}`` and drawn as a gap with a warning: one
    failing point (outside the theory's domain, or a bug to report) must not stop the
    other figures.
    """
    try:
        return _value(_resolve(path)(**call))
    except Exception as err:                                       # noqa: BLE001 (see above)
        return {"__error__": f"{type(err).__name__}: {err}"}


def _theory_star(args):
    return _theory_call(*args)


def theory_rows(path: str, calls: list[dict], keys=None):
    """Evaluate ``theory.<path>(**call)`` for every call, each cached on disk.

    Each call is cached on its own (under the hash of the ``theory`` sources), so figures
    that evaluate the same configuration (a heatmap and F9, say) share the evaluation;
    missing calls run in a process pool when there are many.

    Parameters
    ----------
    path : str
        A public name of ``theory`` (``"predict"``, ``"critical_N"``, ...) or
        ``"module.function"`` below it.
    calls : list of dict
        Keyword arguments of each call (JSON-compatible).
    keys : sequence of str, optional
        For dict-valued functions, the entries to return (numbers or strings).

    Returns
    -------
    list or None
        One value (or list of ``keys`` values) per call; None when the function does not
        exist yet.  A call that raises gives NaN (one warning per table), so a partly
        written theory still draws where it is defined.
    """
    if theory_fn(path) is None:
        return None
    calls = [{k: _plain(v) for k, v in c.items()} for c in calls]
    version = code_version(_REPO / "theory")
    ids = [digest({"fn": path, "call": c, "v": version}) for c in calls]
    cache = Cache(cache_dir() / "theory")
    got = {i: cache.load(i) for i in dict.fromkeys(ids)}
    todo = [(i, c) for i, c in dict(zip(ids, calls)).items() if got[i] is None]
    workers = min(os.cpu_count() or 1, len(todo) // 16)      # a worker's first call warms caches
    jobs = [(path, c) for _, c in todo]
    if workers > 1:
        with cf.ProcessPoolExecutor(workers) as ex:
            results = list(ex.map(_theory_star, jobs, chunksize=max(1, len(jobs) // (8 * workers))))
    else:
        results = [_theory_star(j) for j in jobs]
    for (i, c), r in zip(todo, results):
        cache.store(i, {"fn": path, "call": c, "v": version}, r)
        got[i] = r
    out, failed = [], None
    for i, c in zip(ids, calls):
        r = got[i]
        if isinstance(r, dict) and "__error__" in r:
            failed = failed or f"theory.{path}({c}): {r['__error__']}"
            out.append([np.nan] * len(keys) if keys else np.nan)
        else:
            out.append([r.get(k, np.nan) for k in keys] if keys else r)
    if failed:
        warnings.warn(f"theory failed on some points, drawn as gaps; first: {failed}")
    return out


def theory_table(path: str, calls: list[dict], keys=None):
    """:func:`theory_rows` as a float array, (n,) or (n, len(keys)); None if missing."""
    rows = theory_rows(path, calls, keys)
    return None if rows is None else np.array(rows, dtype=float)


def eq(name: str, module: str) -> str:
    """Equation number of the registered theory formula ``name`` (defined in
    ``theory.<module>``), for labels that cite it; "?" while it does not exist."""
    try:
        importlib.import_module(f"theory.{module}")
        return importlib.import_module("theory.formula").REGISTRY[name].eq
    except (ImportError, KeyError):
        MISSING.add(f"theory formula {name}")
        return "?"


def predict_grid(keys, base: dict, axes: dict):
    """``theory.predict`` on the product of ``axes``; dict key -> array of the axes' shape."""
    table = theory_table("predict", configs_of(base, axes), keys=list(keys))
    if table is None:
        return None
    shape = tuple(len(v) for v in axes.values())
    return {k: table[:, i].reshape(shape) for i, k in enumerate(keys)}


def pending(ax, path: str):
    """Mark an axes whose theory overlay is missing (``theory.<path>`` not written yet), so
    the gap cannot go unnoticed; a no-op when the function exists."""
    what = f"theory.{path}"
    if what not in MISSING:
        return
    ax.text(0.02, 0.02, f"theory pending: {what}", transform=ax.transAxes, fontsize=7,
            color="0.2", style="italic", ha="left", va="bottom",
            bbox={"facecolor": "white", "edgecolor": "0.5", "alpha": 0.85})


def warn_missing():
    """Print the missing theory hooks on stderr (called once by ``python -m figures``)."""
    if MISSING:
        sys.stderr.write(f"figures: theory hooks still missing: {', '.join(sorted(MISSING))}\n")


# ------------------------------------------------------------------------- plotting ---
def edges(v, log=True):
    """Cell edges around grid values (geometric midpoints when ``log``)."""
    v = np.log(np.asarray(v, float)) if log else np.asarray(v, float)
    mid = (v[1:] + v[:-1]) / 2
    e = np.concatenate([[2 * v[0] - mid[0]], mid, [2 * v[-1] - mid[-1]]])
    return np.exp(e) if log else e


def errorbars(ax, x, Y, style_, label=None, **kw):
    """Median over seeds with min-max error bars; Y has shape (len(x), seeds).

    Infinite values (tau never reached) count as largest: an infinite median is not
    drawn, and a point whose max is infinite gets a caret above it instead of a bar.
    """
    med, lo, hi = spread(Y)
    x = np.asarray(x, float)
    ok = np.isfinite(med)
    top = np.where(np.isfinite(hi), hi, np.nan)
    kw = {"capsize": 2, "markersize": 4.5, "linestyle": "none", **kw}
    h = ax.errorbar(x[ok], med[ok], yerr=[med[ok] - lo[ok], np.nan_to_num(top[ok] - med[ok])],
                    color=style_["color"], marker=style_["marker"], label=label,
                    markerfacecolor="white", **kw)
    up = ok & ~np.isfinite(hi)
    if up.any():
        ax.plot(x[up], med[up] * 1.6, marker="^", linestyle="none", color=style_["color"],
                markersize=4)
    return h


def slope_triangle(ax, x0, y0, slope, width=2.0, label=None):
    """Reference slope triangle in log-log axes: legs from (x0, y0) over a factor ``width``.

    ``slope`` is a law's exponent from theory, never a fit; the label sits on the side of
    the horizontal leg away from the hypotenuse.
    """
    x1 = x0 * width
    y1 = y0 * width ** slope
    ax.plot([x0, x1, x1, x0], [y0, y1, y0, y0], color="0.2", lw=0.9, zorder=5)
    up = slope < 0
    ax.text(np.sqrt(x0 * x1), y0 * (1.12 if up else 0.89), label or f"slope {slope:g}",
            ha="center", va="bottom" if up else "top", fontsize=7, color="0.15", zorder=5)


def colorbar(fig, mappable, ax, label="accuracy"):
    """Colour bar on ``ax`` for accuracies in [0, 1]."""
    cb = fig.colorbar(mappable, ax=ax, fraction=0.06, pad=0.02)
    cb.set_label(label)
    return cb


def critical_sim(base, xkey, xvals, Ns, quick, fn=measure_point, key="accuracy"):
    """Simulated critical N per x and seed from an accuracy-vs-N grid.

    Returns ``(nstar, grid)``: ``nstar`` has shape (len(xvals), seeds) (first crossing of
    tau in log N per seed; inf when never reached), ``grid`` the underlying :class:`Grid`.
    """
    g = sweep(base, {xkey: xvals, "N": Ns}, quick, fn)
    return crossings(Ns, np.moveaxis(g[key], -1, 1)), g


#: Theory functions that bisect over predictions (seconds per call): skipped in quick mode,
#: which must stay well under a minute (the tests run it).
BISECTIONS = {"critical_N", "capacity"}


def theory_curve(path, base, xkey, xvals, quick=False, **extra):
    """``theory.<path>(**base, xkey=x, **extra)`` for each x (cached).

    None when the function is missing, or in quick mode for the :data:`BISECTIONS`.
    """
    if quick and path in BISECTIONS:
        return None
    return theory_table(path, [{**base, xkey: x, **extra} for x in xvals])


def critical_theory(base, ds, Ns, quick):
    """``theory.critical_N`` along ``ds`` at ``base``, for the simulated N range ``Ns``.

    The search stops at 10x the largest simulated N (``n_max``): beyond, the line is off
    the plot anyway, and the default search to 1e10 costs most below the ceiling.
    """
    return theory_curve("critical_N", base, "d", ds, quick, target=TAU, n_max=10 * int(Ns[-1]))


def series(ax, x, Y, st, label, xfine=None, theory=None):
    """One series: simulation markers with seed min-max bars, theory line in the same style.

    Returns a legend handle showing both (line and marker).
    """
    h = errorbars(ax, x, Y, st)
    if theory is not None:
        (line,) = ax.plot(xfine, theory, color=st["color"], linestyle=st["linestyle"], lw=1.5)
        return (line, h), label
    return h, label


def legend_pairs(ax, pairs, note=True, extra="", **kw):
    """Legend of (handle, label) pairs; ``note`` adds what markers and lines mean (and
    ``extra`` to that note).  ``ax`` may be a figure (e.g. ``loc="outside lower center"``)."""
    handles, labels = zip(*pairs)
    leg = ax.legend(handles, labels, handler_map={tuple: HandlerTuple(ndivide=1)}, **kw)
    if note:
        leg.set_title("markers: simulation (median, seed min-max)\nlines: theory" + extra,
                      prop={"size": 6.5})
    return leg


def pow2_ticks(axis, values, pad=1.15):
    """Major ticks at the powers of two spanned by ``values``, as plain integers.

    With ``pad``, the axis spans ``values`` widened by that factor on both sides, so a
    range without simulated points (e.g. below a ceiling) still shows.
    """
    lo, hi = np.log2(min(values)), np.log2(max(values))
    ticks = 2.0 ** np.arange(np.ceil(lo - 1e-9), np.floor(hi + 1e-9) + 1)
    axis.set_major_locator(FixedLocator(ticks))
    # plain integers while short, 2^k beyond four digits
    axis.set_major_formatter(ScalarFormatter() if hi <= 12 else LogFormatterMathtext(base=2))
    axis.set_minor_locator(NullLocator())
    if pad:
        lim = (min(values) / pad, max(values) * pad)
        (axis.axes.set_xlim if axis.axis_name == "x" else axis.axes.set_ylim)(*lim)


def accuracy_heatmap(base, Ns, ykey, ylabel, yvals, quick, yfactor=1):
    """Heatmap of simulated accuracy over (N, ``ykey``) with theory contours on top.

    Colour: mean simulated accuracy over seeds.  White markers: simulated critical N per
    row (median and min-max over seeds).  Lines: theory contours at tau (solid) and 0.5
    (dashed) of ``theory.predict`` at the same configurations.  The y axis
    shows ``yfactor * y`` (F5 plots m d over a grid of m).  Shared by F1, F2 and F5.

    Returns
    -------
    fig, ax
        Add overlays, then :func:`heatmap_legend`.
    """
    nstar, g = critical_sim(base, ykey, yvals, Ns, quick)        # (ny, seeds)
    acc = g["accuracy"]                                          # (ny, nN, seeds)
    y = np.asarray(yvals) * yfactor
    fig, axs = style.figure(width=4.0, height=3.2)
    ax = axs[0, 0]
    mesh = ax.pcolormesh(edges(Ns), edges(y), acc.mean(axis=-1), cmap=style.CMAP,
                         vmin=0, vmax=1, shading="flat")
    colorbar(fig, mesh, ax, "simulated accuracy (seed mean)")
    med, lo, hi = spread(nstar)
    ok = np.isfinite(med)
    ax.errorbar(med[ok], y[ok],
                xerr=[med[ok] - lo[ok], np.nan_to_num(np.minimum(hi[ok], Ns[-1]) - med[ok])],
                fmt="o", color="white", mec="black", ms=4, capsize=2, ecolor="white",
                label=rf"simulated $N^*$ ($\tau$={TAU}), seed min-max")
    # theory on the simulated grid itself: F9 evaluates the same configurations (cached once)
    th = predict_grid(["accuracy"], base, {ykey: list(yvals), "N": list(Ns)})
    if th is None:
        pending(ax, "predict")
    else:
        cs = ax.contour(Ns, y, th["accuracy"],
                        levels=[0.5, TAU], colors=["#E69F00", "#D55E00"],
                        linestyles=["--", "-"], linewidths=1.8)
        cs.set(path_effects=HALO)                                # no clabel: it cuts the line
        ax.plot([], [], color="#D55E00", ls="-", label=rf"theory, accuracy $= {TAU}$")
        ax.plot([], [], color="#E69F00", ls="--", label="theory, accuracy $= 0.5$")
    ax.set(xscale="log", yscale="log", xlabel="training samples $N$", ylabel=ylabel)
    ax.grid(False)
    pow2_ticks(ax.yaxis, y, pad=None)
    fixed = ", ".join(f"{k}={v}" for k, v in base.items())
    ax.set_title(f"accuracy over (N, {ykey}); {fixed}")
    return fig, ax


def heatmap_legend(fig, ax):
    """The legend of a heatmap figure, below the axes (nothing on the map is covered)."""
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=2,
               fontsize=6.5)
