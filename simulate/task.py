"""The random objects of one recall task: embeddings, special vectors, fact table, MLP layer.

See docs/model.md, section 1.  A :class:`Task` is drawn once from its seed; datasets drawn from it
(:func:`simulate.data.sample`) take their own generator.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from common.checks import check_config, check_memory, check_seed


def _activation(name: str):
    """Return ``(sigma, sigma')`` as vectorised functions for the named activation."""
    if name == "relu":
        return (lambda x: np.maximum(x, 0.0)), (lambda x: (x > 0).astype(x.dtype))
    # he2: the normalised second Hermite polynomial, (x^2 - 1)/sqrt(2); its Hermite
    # coefficients of order 0 and 1 vanish under x ~ N(0, 1).
    c = 1.0 / np.sqrt(2.0)
    return (lambda x: c * (x * x - 1.0)), (lambda x: (2.0 * c) * x)


@dataclass(frozen=True, eq=False)
class Task:
    r"""One draw of the task of docs/model.md, section 1.

    Parameters
    ----------
    V, d, L : int
        Vocabulary size (= number of labels), embedding dimension, sequence length.
    m : int or None
        MLP width; ``None`` selects the attention-only model.
    embeddings : {"gaussian", "orthogonal"}
        ``"gaussian"``: every entry iid :math:`\mathcal N(0, 1/d)`.  ``"orthogonal"``: the
        :math:`2V+2` vectors are orthonormal (needs :math:`d \ge 2V+2`).
    activation : {"relu", "he2"}
        :math:`\sigma` of the attention-MLP model; ``he2`` is :math:`(x^2-1)/\sqrt 2`.
    seed : int
        Seed of the task's own generator.

    Attributes
    ----------
    E, U : ndarray, shape (d, V)
        Token and label embeddings (columns).
    z_trig, z_eos : ndarray, shape (d,)
        Trigger and query vectors.
    perm : ndarray of int, shape (V,)
        The fact table :math:`\pi^*`: token ``x`` has label ``perm[x]``.
    W1 : ndarray, shape (m, d), or None
        Fixed first MLP layer, entries iid :math:`\mathcal N(0, 1)`.
    """

    V: int
    d: int
    L: int
    m: int | None = None
    embeddings: str = "gaussian"
    activation: str = "relu"
    seed: int = 0
    E: np.ndarray = field(init=False, repr=False)
    U: np.ndarray = field(init=False, repr=False)
    z_trig: np.ndarray = field(init=False, repr=False)
    z_eos: np.ndarray = field(init=False, repr=False)
    perm: np.ndarray = field(init=False, repr=False)
    W1: np.ndarray | None = field(init=False, repr=False)

    def __post_init__(self):
        cfg = check_config(self.V, self.d, self.L, self.m, self.embeddings, self.activation)
        for k in ("V", "d", "L", "m"):
            object.__setattr__(self, k, cfg[k])
        object.__setattr__(self, "seed", check_seed(self.seed))
        # the (d, 2V+2) frame, its QR copy (orthogonal) and W1 (m, d), float64
        check_memory("this task", 8.0 * cfg["d"] * ((2 * cfg["V"] + 2) * 2 + (cfg["m"] or 0)))
        rng = np.random.default_rng(self.seed)
        V, d = self.V, self.d
        if self.embeddings == "gaussian":
            vecs = rng.standard_normal((d, 2 * V + 2)) / np.sqrt(d)         # (d, 2V+2)
        else:
            g = rng.standard_normal((d, 2 * V + 2))                         # (d, 2V+2)
            q, r = np.linalg.qr(g)                                          # (d, 2V+2)
            vecs = q * np.sign(np.diag(r))                                  # Haar-distributed frame
        object.__setattr__(self, "E", np.ascontiguousarray(vecs[:, :V]))
        object.__setattr__(self, "U", np.ascontiguousarray(vecs[:, V:2 * V]))
        object.__setattr__(self, "z_trig", vecs[:, 2 * V].copy())
        object.__setattr__(self, "z_eos", vecs[:, 2 * V + 1].copy())
        object.__setattr__(self, "perm", rng.permutation(V))
        W1 = None if self.m is None else rng.standard_normal((self.m, d))   # (m, d)
        object.__setattr__(self, "W1", W1)

    @property
    def mlp(self) -> bool:
        """True for the attention-MLP model."""
        return self.m is not None

    @property
    def width(self) -> int:
        """Input width of W_V: d for attention-only, m for attention-MLP."""
        return self.d if self.m is None else self.m

    def sigma(self):
        """``(sigma, sigma')`` of the task's activation."""
        return _activation(self.activation)
