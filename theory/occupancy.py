r"""Occupancy law of the noise positions (eq. 2.35 of docs/localization.md), shared by the
gaussian and orthogonal localization models: how many distinct vocabulary tokens the
:math:`L - 1` uniform noise draws hit,

.. math::
    \varpi_D = \binom VD\sum_{i=0}^{D}(-1)^i\binom Di\frac{(D-i)^{L-1}}{V^{L-1}}.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import stats

from .accuracy import lump


@lru_cache(maxsize=256)
def occupancy(V: int, L: int) -> np.ndarray:
    r"""Eq. 2.35 by recursion: ``pi[D]`` :math:`=\varpi_D` = P(D distinct tokens among
    :math:`L - 1` uniform draws from V).

    One more draw hits an already drawn token with probability :math:`D/V`, so
    :math:`\varpi'_D = \varpi_D D/V + \varpi_{D-1}(V - D + 1)/V`.

    Returns
    -------
    ndarray, shape (min(L - 1, V) + 1,)
        Probabilities of :math:`D = 0, 1, \dots`; sums to 1.
    """
    pi = np.zeros(min(L - 1, V) + 1)
    pi[0] = 1.0
    for _ in range(L - 1):                          # one more draw: old token w.p. D/V
        Dv = np.arange(pi.size)
        nxt = pi * Dv / V
        nxt[1:] += pi[:-1] * (V - Dv[:-1]) / V
        pi = nxt
    return pi


#: Largest (L - 1) x (min(L - 1, V) + 1) run by the exact recursion in :func:`occupancy_law`.
EXACT_COST = 4_000_000
#: Expected number of collisions (or of empty cells) below which that number is Poisson.
POISSON_MEAN = 30.0


def occupancy_moments(V, L):
    r"""Exact mean and variance of D (distinct tokens among n = L - 1 uniform draws from V).

    With :math:`a = (1 - 1/V)^n` (a token missed by every draw),
    :math:`\mathbb E D = V(1 - a)` and
    :math:`\mathrm{Var}\,D = Va(1-a) + V(V-1)a^2\,(e^{n\delta} - 1)`,
    :math:`\delta = \log(1 - 1/(V-1)^2)` (from :math:`(1-2/V)^n = a^2 e^{n\delta}`), written
    with expm1/log1p so that neither cancels for huge V or n.  Returns two floats.
    """
    n, V = float(L - 1), float(V)
    la = n * np.log1p(-1.0 / V)
    a = np.exp(la)
    mean = -V * np.expm1(la)
    delta = np.log1p(-1.0 / (V - 1.0) ** 2) if V > 2 else -np.inf
    var = V * a * (-np.expm1(la)) + V * (V - 1.0) * a * a * np.expm1(n * delta)
    return float(mean), float(max(var, 0.0))


@lru_cache(maxsize=256)
def occupancy_law(V: int, L: int):
    r"""Law of D as (values (K,), probabilities (K,)), at bounded cost for any V and L.

    While :math:`(L-1)(\min(L-1, V)+1) \le` ``EXACT_COST`` this is :func:`occupancy`
    itself (values 0, 1, ...).  Beyond, a law with the exact mean and variance of
    :func:`occupancy_moments`: :math:`D = L - 1 - \mathrm{Poisson}(L - 1 - \mathbb E D)` when
    fewer than ``POISSON_MEAN`` collisions are expected (few draws, Poisson limit of the
    birthday problem), :math:`D = V - \mathrm{Poisson}(V - \mathbb E D)` when fewer than
    ``POISSON_MEAN`` cells stay empty (many draws, the empty-cell limit), else the normal
    limit (Renyi's central limit theorem for occupancy) discretised on the integers within
    12 sd.  Consumers integrate smooth functions of D (:math:`b^D`) against it; the
    measured error at the switch-over is below 1e-4 in those integrals
    (tests/test_theory_cost.py).  Arrays are read-only (cached).
    """
    n = L - 1
    top = min(n, V)
    if n * (top + 1) <= EXACT_COST:
        pi = occupancy(V, L)
        x = np.arange(pi.size, dtype=float)
    else:
        mean, var = occupancy_moments(V, L)
        coll, empty = n - mean, V - mean
        if min(coll, empty) < POISSON_MEAN:
            lam = min(coll, empty)
            k = np.arange(int(lam + 12 * np.sqrt(lam) + 30))
            pi = stats.poisson.pmf(k, lam)
            x = (n - k if coll <= empty else V - k).astype(float)
            ok = (x >= 1) & (x <= top)
            x, pi = x[ok][::-1], pi[ok][::-1]
        else:
            sd = np.sqrt(var)
            x = np.arange(max(1, np.floor(mean - 12 * sd)), min(top, np.ceil(mean + 12 * sd)) + 1)
            pi = stats.norm.pdf((x - mean) / sd)
        pi = pi / pi.sum()
    x.flags.writeable = pi.flags.writeable = False
    return x, pi


def occupancy_classes(V: int, L: int, max_points: int = 128):
    r"""The law of :func:`occupancy_law` on at most ``max_points`` classes: values (K,),
    probabilities (K,).

    Values of probability below 1e-20 at either end are dropped (mass < 1e-17); a support
    still wider than ``max_points`` is lumped into equal-width classes at their conditional
    means (:func:`theory.accuracy.lump`).  For :math:`f(D) = b^D` (what the localization
    integrals need, any :math:`b\in(0,1)`), :math:`|f''| \le (\log b)^2 b^D \le 4e^{-2}/D^2`,
    so a class of width w costs at most :math:`\tfrac12 \cdot 4e^{-2} D^{-2}\, w^2/4`
    times its mass: the total error is below :math:`0.034\,(w/D_{\min})^2`, e.g. 2e-5 for
    a 2400-wide support around 1e5 (V = 1e5, L = 1e5).
    """
    x, pi = occupancy_law(V, L)
    keep = np.flatnonzero(pi > 1e-20)
    x, pi = x[keep[0]:keep[-1] + 1], pi[keep[0]:keep[-1] + 1]
    if x.size > max_points:
        x, pi = lump(x, pi / pi.sum(), max_points)
    return x, pi
