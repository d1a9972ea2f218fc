r"""Theory overlays of the figures: cached evaluations of ``theory`` and missing hooks.

All theory evaluation happens in :func:`theory_rows`: each call is cached on disk (under
``<cache dir>/theory``, keyed by the hash of the ``theory`` sources) and a failing point
becomes a gap drawn with a warning.  A theory function or formula that does not exist is
an error (:class:`TheoryMissing`): a figure never draws a placeholder in its place.
"""
from __future__ import annotations

import concurrent.futures as cf
import importlib
import numbers
import os
import warnings
from pathlib import Path

import numpy as np

from common.interrupt import ignore_sigint
from simulate.cache import Cache, code_version, digest

from .grids import TAU, cache_dir, configs_of, plain

#: Theory functions that bisect over predictions (seconds per call): skipped in quick mode,
#: which must stay well under a minute (the tests run it).
BISECTIONS = {"critical_N", "capacity"}

_REPO = Path(__file__).resolve().parents[1]


def _resolve(path: str):
    """``theory.<path>``: a public name (``"predict"``) or ``"module.function"``."""
    head, _, attr = path.rpartition(".")
    return getattr(importlib.import_module("theory" + (f".{head}" if head else "")), attr)


class TheoryMissing(RuntimeError):
    """A figure asked for a theory function or formula that does not exist."""


def theory_fn(path: str):
    """``theory.<path>``; raises :class:`TheoryMissing` when it does not exist."""
    try:
        return _resolve(path)
    except (ImportError, AttributeError) as err:
        raise TheoryMissing(f"figures need theory.{path}, which does not exist ({err})") from None


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
        One value (or list of ``keys`` values) per call.  A call that raises gives NaN
        (one warning per table): a point outside the theory's domain is a gap.

    Raises
    ------
    TheoryMissing
        If ``theory.<path>`` does not exist.
    """
    theory_fn(path)                                       # raises when it does not exist
    calls = [{k: plain(v) for k, v in c.items()} for c in calls]
    version = code_version(_REPO / "theory", _REPO / "common")
    ids = [digest({"fn": path, "call": c, "v": version}) for c in calls]
    cache = Cache(cache_dir() / "theory")
    got = {i: cache.load(i) for i in dict.fromkeys(ids)}
    todo = [(i, c) for i, c in dict(zip(ids, calls)).items() if got[i] is None]
    workers = min(os.cpu_count() or 1, len(todo) // 16)      # a worker's first call warms caches
    jobs = [(path, c) for _, c in todo]
    if workers > 1:
        with cf.ProcessPoolExecutor(workers, initializer=ignore_sigint) as ex:
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
    """:func:`theory_rows` as a float array, (n,) or (n, len(keys))."""
    return np.array(theory_rows(path, calls, keys), dtype=float)


def predict_grid(keys, base: dict, axes: dict):
    """``theory.predict`` on the product of ``axes``; dict key -> array of the axes' shape."""
    table = theory_table("predict", configs_of(base, axes), keys=list(keys))
    shape = tuple(len(v) for v in axes.values())
    return {k: table[:, i].reshape(shape) for i, k in enumerate(keys)}


def theory_curve(path, base, xkey, xvals, quick=False, **extra):
    """``theory.<path>(**base, xkey=x, **extra)`` for each x (cached).

    None in quick mode for the :data:`BISECTIONS` (skipped there to keep quick builds short).
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


# ------------------------------------------------------------------ labels and gaps ---
def eq(name: str, module: str) -> str:
    """Equation number of the registered theory formula ``name`` (defined in
    ``theory.<module>``), for labels that cite it.

    Raises
    ------
    TheoryMissing
        If the module or the formula does not exist.
    """
    try:
        importlib.import_module(f"theory.{module}")
        return importlib.import_module("theory.formula").REGISTRY[name].eq
    except (ImportError, KeyError) as err:
        raise TheoryMissing(f"figures cite formula {name} of theory.{module}, "
                            f"which does not exist ({err!r})") from None
