"""Datasets of docs/model.md, section 2: one informative token at a random position among noise."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from common.checks import check_int, check_memory


@dataclass(frozen=True)
class Dataset:
    """N samples. ``tokens`` (N, L) ints, ``pos`` (N,) informative positions, ``labels`` (N,)."""

    tokens: np.ndarray
    pos: np.ndarray
    labels: np.ndarray

    @property
    def N(self) -> int:
        return self.tokens.shape[0]

    @property
    def x(self) -> np.ndarray:
        """Informative tokens, shape (N,)."""
        return self.tokens[np.arange(self.N), self.pos]


def _check_task(task):
    from .task import Task                   # task.py does not import this module: no cycle
    if not isinstance(task, Task):
        raise TypeError(f"task must be a simulate.Task, got {type(task).__name__}")


def _check_rng(rng):
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return rng


def sample(task, N: int, rng: np.random.Generator) -> Dataset:
    r"""Draw N iid samples: :math:`\ell \sim \mathrm{Unif}\{0..L-1\}`, tokens iid
    :math:`\mathrm{Unif}[V]`, label :math:`y = \pi^*(t_\ell)`.

    Returns a :class:`Dataset` with ``tokens`` (N, L), ``pos`` (N,), ``labels`` (N,).
    """
    _check_task(task)
    N = check_int("N", N, 1)
    rng = _check_rng(rng)
    check_memory(f"sampling N={N} sequences of length {task.L}", 8.0 * N * (task.L + 3))
    dtype = np.int32 if task.V < 2**31 else np.int64
    pos = rng.integers(0, task.L, size=N).astype(np.int32)                  # (N,)
    tokens = rng.integers(0, task.V, size=(N, task.L), dtype=dtype)         # (N, L)
    labels = task.perm[tokens[np.arange(N), pos]]                           # (N,)
    return Dataset(tokens=tokens, pos=pos, labels=labels)


def probe(task, reps: int, rng: np.random.Generator) -> Dataset:
    """Test set of docs/model.md, section 5: every token x, ``reps`` times, at a random position.

    Returns a :class:`Dataset` of ``V * reps`` rows (token-major order).
    """
    _check_task(task)
    reps = check_int("reps", reps, 1)
    rng = _check_rng(rng)
    V, L = task.V, task.L
    check_memory(f"probing {V} x {reps} test sequences", 8.0 * V * reps * (L + 3))
    n = V * reps
    x = np.repeat(np.arange(V), reps)                                       # (n,)
    pos = rng.integers(0, L, size=n).astype(np.int32)                       # (n,)
    tokens = rng.integers(0, V, size=(n, L)).astype(np.int32)               # (n, L)
    tokens[np.arange(n), pos] = x
    return Dataset(tokens=tokens, pos=pos, labels=task.perm[x])
