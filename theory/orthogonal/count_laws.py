r"""T6, count laws and localization by count (docs/orthogonal.md, sections 2-3): the law of a
token's training count, lumped where it is wide, and the localization probability of a
token with c training samples (eq. 6.18).  Shared by the exact recall of
:mod:`theory.orthogonal.counts` and the large-count path of
:mod:`theory.orthogonal.large_counts`.
"""
from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.special import gammaln, xlog1py, xlogy

from ..accuracy import binomial_law, count_value
from ..occupancy import occupancy_classes
from ..quadrature import legendre01_nodes, normal_nodes
from . import terms as T

_GX, _GW = normal_nodes(24)
_EXACT_COST = 1e7          # largest (counts x nodes x FFT length) for the exact multinomial
#: Largest count support (:func:`support`) run by the exact count-level recall
#: (:func:`recall_by_count`); beyond, :func:`theory.orthogonal.large_counts.recall_large`.
EXACT_RECALL = 320
#: Largest count support integrated point by point in the localization margins; beyond,
#: the lumped binomial law of :func:`count_law`.
EXACT_SUPPORT = 4096


def support_size(N: int, p: float, k: float = 12.0) -> int:
    """Number of points of :func:`support` (without building it)."""
    return int(min(N, N * p + k * np.sqrt(N * p + 1.0) + 8)) + 1


def support(N: int, p: float, k: float = 12.0) -> np.ndarray:
    """Integers carrying all but ~1e-30 of Bin(N, p): 0 .. mean + k sd + 8, shape (K,)."""
    return np.arange(0, support_size(N, p, k))


def count_law(N: int, q: float, max_points: int = 256):
    r"""Law of a :math:`\mathrm{Bin}(N, q)` count as values (K,), probabilities (K,) and the
    variance within each value's bin (K,).

    The integers of :func:`support` (bin variance 0) while there are at most
    ``EXACT_SUPPORT`` of them; beyond, :func:`theory.accuracy.binomial_law` lumped to
    ``max_points`` equal bins of width h (cost independent of N), each carrying the variance
    :math:`h^2/12` of a uniform bin, which consumers add to the Gaussian spread they integrate
    the law against (a second-order correction of the lumping).
    """
    if support_size(N, q) <= EXACT_SUPPORT:
        ns = support(N, q)
        return ns.astype(float), binom_pmf(ns, N, q), np.zeros(ns.size)
    x, p = binomial_law(N, q, max_points=max_points, k=12.0)
    h = np.sqrt(N * q * (1 - q)) * 24.0 / max_points
    return x, p, np.full(x.size, h * h / 12.0)


def binom_pmf(k, n, p):
    r"""Binomial pmf :math:`\mathrm{Bin}(k; n, p)` in log space (any n, p in [0, 1];
    SciPy's overflows for vanishingly small p); arrays broadcast."""
    k, n, p = np.broadcast_arrays(np.asarray(k, float), np.asarray(n, float), np.asarray(p, float))
    ok = (k >= 0) & (k <= n)
    kk, nk = np.where(ok, k, 0.0), np.where(ok, n - k, 0.0)
    logp = gammaln(kk + nk + 1) - gammaln(kk + 1) - gammaln(nk + 1) + xlogy(kk, p) + xlog1py(nk, -p)
    return np.where(ok, np.exp(logp), 0.0)


def _credit(lt, eq, m):
    r"""Eq. 6.1 for m iid rivals: :math:`((P_<+P_=)^{m+1} - P_<^{m+1})/((m+1)P_=)`, stable
    as :math:`P_= \to 0`; ``lt``, ``eq`` broadcast together, the result has their shape."""
    lt, eq = np.broadcast_arrays(np.asarray(lt, float), np.asarray(eq, float))
    out = lt ** m                                                  # eq -> 0 limit
    big = eq > 1e-12
    out = np.where(big, ((lt + eq) ** (m + 1) - lt ** (m + 1)) / ((m + 1) * np.where(big, eq, 1)),
                   out)
    return out


def _localization_table(V: int, N: int, L: int, counts) -> np.ndarray:
    r"""Eq. 6.18 per node: :math:`p(c \mid A, R)`, shape (g, g) + counts.shape.

    Margins :math:`A + a(c) + \sigma(c)R - a(n_t) - \sigma(n_t)R_t` against the D distinct
    noise tokens (law :func:`theory.occupancy.occupancy_classes`, eq. 2.35), :math:`n_t`
    binomial, :math:`R_t` standard normal; axis 0 runs over the nodes of
    :math:`A\sim\mathcal N(\mathbb E A, \mathrm{Var} A)` (eqs. 6.8, 6.14), axis 1 over those
    of the test token's own :math:`R`.  A noise token equal to x needs A > 0.
    """
    counts = np.asarray(counts, dtype=float)
    N = count_value(N)
    ns, pn, h2 = count_law(N, 1.0 / V)                                      # (K,) x 3
    a_n, v_n = T.score_moments(V, N, L, ns)                                # (K,), (K,)
    a_c, v_c = T.score_moments(V, N, L, counts)
    EA, sA = float(T.A_MEAN(V=V, N=N, L=L)), float(np.sqrt(T.VAR_A(V=V, N=N, L=L)))
    # a lumped bin spreads the profile by a'(n) sqrt(h^2/12) (zero on the exact support)
    slope = (T.PROFILE(V=V, N=N, L=L, n=ns + 0.5) - T.PROFILE(V=V, N=N, L=L, n=ns - 0.5))
    s_n = np.sqrt(np.maximum(v_n + slope**2 * h2, 1e-12))
    # margin grid -> F(m) = P(one noise token scores below m), then the occupancy polynomial
    lo, hi = (a_n - 9 * s_n).min(), (a_n + 9 * s_n).max()
    grid = np.linspace(lo, hi, 2001)
    F = (pn * stats.norm.cdf((grid[:, None] - a_n) / s_n)).sum(-1)        # (G,)
    D, pi = occupancy_classes(V, L)
    notx = (pi * (1 - D / V) * F[:, None] ** D).sum(-1)                    # x not among noise
    isx = (pi * (D / V) * np.where(D > 0, F[:, None] ** np.maximum(D - 1, 0), 0)).sum(-1)
    one = [1] * counts.ndim
    A = (EA + sA * _GX).reshape(-1, 1, *one)                               # (g, 1, ...)
    m = A + a_c + np.sqrt(v_c) * _GX.reshape(1, -1, *one)                  # (g, g, ...)
    return np.interp(m, grid, notx) + (A > 0) * np.interp(m, grid, isx)


def localization_by_count(V: int, N: int, L: int, counts) -> np.ndarray:
    r"""Localization probability of a test sequence whose token has c training samples.

    Eq. 6.18 averaged over the trigger score A and the token's own fluctuation R.

    Parameters
    ----------
    V, N, L : int
        Vocabulary, training samples, sequence length.
    counts : array_like, any shape
        Training counts c of the test token.

    Returns
    -------
    ndarray, same shape as ``counts``
        :math:`\mathbb E_{A,R}\, p(c \mid A, R)` (all ones at L = 1).
    """
    counts = np.asarray(counts, dtype=float)
    if L == 1:
        return np.ones_like(counts)
    return np.tensordot(_GW, np.tensordot(_GW, _localization_table(V, N, L, counts), (0, 1)), 1)
