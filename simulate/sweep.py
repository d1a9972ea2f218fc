r"""Sweeps: a function over configurations x seeds, in parallel, reproducible and resumable.

Example (figure scripts must guard the call with ``if __name__ == "__main__":`` on
platforms that start workers by spawning)::

    from simulate.sweep import measure_point, run_sweep
    configs = [dict(V=64, d=d, L=8, N=N) for d in (16, 32) for N in (1000, 4000)]
    res = run_sweep(measure_point, configs, seeds=5)
    acc = [[r["accuracy"] for r in row] for row in res]      # configs x seeds

Reproducibility: the point (config, seed index j) gets the seed sequence
``SeedSequence([base_seed, *h(config)], spawn_key=(j,))`` with h a SHA-256 of the
canonical JSON of the configuration, so a point's randomness depends on nothing else: not
the number of workers, not the order of ``configs``, not which points were cached.

Caching: each point is stored as checksummed JSON (:mod:`simulate.cache`) under a key
hashing the configuration, seed index, base seed, the function's name and a code version
(by default a hash of the ``simulate`` sources), as soon as it finishes; a rerun after an
interruption computes only what is missing; a damaged record is recomputed.

Executors: points run in a local process pool by default, or in any
``concurrent.futures.Executor``, such as a dask cluster's (:mod:`simulate.cluster`).
Workers return results and only this process writes the cache, so a cluster needs no
shared disk; the seeds above make its results bit-identical to a local run.
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import functools
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from common.checks import check_config, check_int, check_positive
from common.interrupt import ignore_sigint, stop_processes

from .cache import Cache, code_version as source_version, digest, normalise
from .data import sample
from .early_phase import three_step
from .evaluate import evaluate
from .task import Task

#: Default cache directory, ``<repo>/.cache/sweeps`` (git-ignored).
DEFAULT_CACHE = Path(__file__).resolve().parents[1] / ".cache" / "sweeps"

_MEASURE_KEYS = {"V", "d", "L", "N", "m", "embeddings", "activation", "eta", "gamma",
                 "gamma_v", "reps", "limit", "facts"}
#: From this V on (or with ``facts``), results carry ``facts`` and ``accuracy_se``.
LARGE_V = 4096


def point_seed(base_seed, config, seed_index, seed_from=None) -> np.random.SeedSequence:
    """Seed sequence of one point; ``seed_from`` restricts the config keys it depends on."""
    cfg = config if seed_from is None else {k: config.get(k) for k in seed_from}
    words = np.frombuffer(bytes.fromhex(digest(cfg)), dtype=np.uint32)   # 8 words of the hash
    return np.random.SeedSequence([check_int("base_seed", base_seed, 0), *map(int, words)],
                                  spawn_key=(check_int("seed index", seed_index, 0),))


def _child(seq, i):
    """The i-th child of ``seq`` without mutating it (``spawn`` counts its children)."""
    return np.random.SeedSequence(seq.entropy, spawn_key=tuple(seq.spawn_key) + (i,),
                                  pool_size=seq.pool_size)


def measure_point(config, seed_seq) -> dict:
    r"""The standard measurement: draw a task and N samples, train three steps, evaluate.

    Parameters
    ----------
    config : dict
        ``V, d, L, N`` (required); ``m`` (None: attention-only), ``embeddings``,
        ``activation``; ``eta, gamma`` (and ``gamma_v``) for finite steps, else the
        early-phase limit; ``reps`` test sequences per token (default 1); ``facts``
        evaluate a random subset of that many facts (see :func:`simulate.evaluate`).
    seed_seq : numpy.random.SeedSequence
        Its children 0, 1, 2 seed the task, the training data and the test data.

    Returns
    -------
    dict
        ``accuracy``, ``localization``, ``recall``, ``attention_weight`` (floats; recall
        is NaN when nothing is localized) and ``n``, ``n_localized``; from ``LARGE_V`` on
        or with ``facts``, also ``facts`` (facts evaluated) and ``accuracy_se``.
    """
    unknown = set(config) - _MEASURE_KEYS
    if unknown:
        raise ValueError(f"unknown configuration keys: {', '.join(sorted(unknown))}")
    cfg = check_config(config["V"], config["d"], config["L"], config.get("m"),
                       config.get("embeddings", "gaussian"), config.get("activation", "relu"),
                       config["N"])
    steps = {k: config[k] for k in ("eta", "gamma", "gamma_v") if config.get(k) is not None}
    if steps and config.get("limit"):
        raise ValueError("limit=True takes no step sizes (eta, gamma, gamma_v)")
    steps = {k: check_positive(k, v) for k, v in steps.items()}
    task_seed = int(_child(seed_seq, 0).generate_state(1, np.uint64)[0])
    task = Task(V=cfg["V"], d=cfg["d"], L=cfg["L"], m=cfg["m"], embeddings=cfg["embeddings"],
                activation=cfg["activation"], seed=task_seed)
    data = sample(task, cfg["N"], np.random.default_rng(_child(seed_seq, 1)))
    params = three_step(task, data, **steps) if steps else three_step(task, data, limit=True)
    res = evaluate(task, params, np.random.default_rng(_child(seed_seq, 2)),
                   reps=config.get("reps", 1), facts=config.get("facts"))
    keys = ("accuracy", "localization", "recall", "attention_weight", "n", "n_localized")
    big = config.get("facts") is not None or cfg["V"] >= LARGE_V
    return {k: res[k] for k in keys + (("facts", "accuracy_se") if big else ())}


def _one_blas_thread():
    """Context limiting BLAS and OpenMP pools to one thread (threadpoolctl), or a no-op.

    Sweep workers already fill every core, and BLAS threads on top of them only contend.
    threadpoolctl is optional (the ``distributed`` and ``test`` extras install it);
    without it points still run, only with the BLAS's default thread count.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1)


@functools.lru_cache(maxsize=None)
def _worker_sources():
    """Code version of the ``simulate`` sources where this worker runs (hashed once)."""
    return source_version()


def _task(fn, config, seq, sources):
    """One point as a worker runs it, in a pool or on a dask cluster: check that the
    worker has the caller's ``simulate`` sources (else its results would be cached under
    the wrong code version), then compute with one BLAS thread."""
    if sources != _worker_sources():
        raise RuntimeError(f"worker runs other simulate sources ({_worker_sources()}, caller "
                           f"{sources}): install the same commit on every worker")
    with _one_blas_thread():
        return normalise(fn(config, seq))


def _call(fn, config, seq):
    return normalise(fn(config, seq))


class _Progress:
    """One self-overwriting status line with an ETA on stderr, only when it is a terminal."""

    def __init__(self, total, cached, enabled):
        self.total, self.done, self.cached = total, cached, cached
        self.t0 = time.monotonic()
        self.on = enabled and hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
        self.show()

    def show(self, final=False):
        if not self.on:
            return
        new, left = self.done - self.cached, self.total - self.done
        spent = time.monotonic() - self.t0
        eta = f"{spent / new * left:6.0f}s" if new else "     ?"
        sys.stderr.write(f"\rsweep: {self.done}/{self.total} points ({self.cached} cached), "
                         f"{spent:6.0f}s elapsed, ETA {eta}" + ("\n" if final else ""))
        sys.stderr.flush()

    def step(self):
        self.done += 1
        self.show(final=self.done == self.total)


def run_sweep(fn, configs, seeds=1, base_seed=0, executor=None, cache_dir=DEFAULT_CACHE,
              code_version=None, progress=True, seed_from=None):
    r"""Evaluate ``fn(config, seed_seq)`` on every configuration and seed index.

    Parameters
    ----------
    fn : callable
        ``fn(config: dict, seed_seq: numpy.random.SeedSequence) -> dict`` returning
        JSON-compatible values (NumPy scalars and arrays are converted).  It must be
        picklable (a module-level function) for process executors.  :func:`measure_point`
        is the standard one.
    configs : sequence of dict
        JSON-compatible configurations; duplicates are computed once.
    seeds : int or sequence of int
        Number of seed indices (0..seeds-1) or the seed indices themselves.
    base_seed : int
        Root of every point's seed (see the module docstring).
    executor : concurrent.futures.Executor, optional
        Where points run (left open afterwards), e.g. a dask cluster's
        (:func:`simulate.cluster.executor`).  Default: a process pool with one worker per
        core; points run in this process when at most one is left to compute.  In an
        executor, each point runs with one BLAS thread (threadpoolctl, when installed)
        and fails unless the worker's ``simulate`` sources hash as the caller's.
    cache_dir : path or None
        Cache directory (default ``<repo>/.cache/sweeps``); None disables caching.
    code_version : str, optional
        Part of every cache key; default: a hash of the ``simulate`` sources, so editing
        them invalidates old results.
    progress : bool
        Progress line with an ETA on stderr (only when stderr is a terminal).
    seed_from : sequence of str, optional
        Config keys the seed depends on (default: all).  E.g. ``("V", "d", "L")`` gives
        every N the same task and data stream (common random numbers across N).

    Returns
    -------
    list of list of dict
        ``results[i][j]``: the result of ``configs[i]`` at the j-th seed index, as it reads
        back from the cache.
    """
    configs = [normalise(c) for c in configs]
    base_seed = check_int("base_seed", base_seed, 0)
    index = list(range(check_int("seeds", seeds, 1))) if np.isscalar(seeds) else \
        [check_int("seed index", s, 0) for s in seeds]
    version = source_version() if code_version is None else str(code_version)
    # seed_from changes every point's randomness, so it is part of the cache key
    seed_keys = None if seed_from is None else sorted(seed_from)
    name = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"
    cache = None if cache_dir is None else Cache(cache_dir)
    metas = {}                                                      # key -> meta of the point
    slots = []                                                      # (i, j, key) of every cell
    for i, cfg in enumerate(configs):
        for j, s in enumerate(index):
            meta = {"config": cfg, "seed_index": s, "base_seed": base_seed, "fn": name,
                    "code_version": version, "seed_from": seed_keys}
            key = digest(meta)
            metas[key] = meta
            slots.append((i, j, key))
    done = {}
    for key in metas:
        hit = None if cache is None else cache.load(key)
        if hit is None and cache is not None and cache.path(key).exists():
            warnings.warn(f"damaged cache record {cache.path(key).name}: recomputing", stacklevel=2)
        if hit is not None:
            done[key] = hit
    todo = [k for k in metas if k not in done]
    bar = _Progress(len(metas), len(done), progress)
    own = None
    if executor is None and len(todo) > 1:
        own = executor = cf.ProcessPoolExecutor(max_workers=os.cpu_count() or 1,
                                                initializer=ignore_sigint)
    try:
        if executor is None:
            futures = {}
            for key in todo:
                done[key] = _finish(cache, key, metas[key],
                                    _call(fn, metas[key]["config"], _seed(metas[key])))
                bar.step()
        else:
            sources = source_version()
            futures = {executor.submit(_task, fn, metas[k]["config"], _seed(metas[k]), sources): k
                       for k in todo}
            try:
                for fut in cf.as_completed(futures):
                    key = futures[fut]
                    done[key] = _finish(cache, key, metas[key], fut.result())
                    bar.step()
            except BaseException:
                for fut in futures:                                 # keep what has finished
                    if not fut.cancel() and fut.done() and futures[fut] not in done \
                            and not fut.cancelled() and fut.exception() is None:
                        done[futures[fut]] = _finish(cache, futures[fut], metas[futures[fut]],
                                                     fut.result())
                raise
    except KeyboardInterrupt:
        if own is not None:                 # its workers ignore SIGINT: stop them now
            stop_processes([p.pid for p in getattr(own, "_processes", {}).values()])
        raise
    finally:
        if own is not None:
            own.shutdown(wait=True, cancel_futures=True)
    out = [[None] * len(index) for _ in configs]
    for i, j, key in slots:
        out[i][j] = done[key]
    return out


def _seed(meta):
    return point_seed(meta["base_seed"], meta["config"], meta["seed_index"], meta["seed_from"])


def _finish(cache, key, meta, result):
    if cache is not None:
        cache.store(key, meta, result)
    return result
