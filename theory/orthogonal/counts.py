r"""T6, count level: localization and recall of a token given its training count
(docs/orthogonal.md, sections 0 and 3).

With orthonormal vectors every step-3 logit is an integer count (eq. 6.2).  This module
turns the step-2 score profile :math:`a(n)`, the variance :math:`\sigma^2(n)` and the
trigger moments of :mod:`theory.orthogonal.terms` (eqs. 6.7-6.14) into the localization
probability of a token with c training samples (eq. 6.18) and the recall of such a token
against the maximum of the rival counts (eqs. 6.1, 6.19-6.20).  The law of the number D of
distinct noise tokens is :func:`theory.occupancy.occupancy` (eq. 2.35).
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from scipy.special import gammaln, xlog1py, xlogy

from ..accuracy import binomial_law, count_value
from ..occupancy import occupancy_classes
from ..quadrature import legendre01_nodes, normal_nodes
from . import terms as T

__all__ = ["support", "support_size", "count_law", "binom_pmf", "localization_by_count", "recall_by_count"]

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


def _thinning(ploc):
    r"""Thinning matrix, shape (K, K): :math:`P(c' = j \mid n = k) = \mathrm{Bin}(j; k, p(k))` (eq. 6.19)."""
    ks = np.arange(ploc.size)
    return binom_pmf(ks[None, :], ks[:, None], ploc[:, None])


def _rival_law(V, N, c, thin):
    r"""Law :math:`\psi` of a rival's localized count given :math:`c_x = c` (eq. 6.19), shape (K,)."""
    return stats.binom.pmf(np.arange(thin.shape[0]), N - c, 1.0 / (V - 1)) @ thin


def _exact_credit(V, N, c, j, ploc):
    r"""Eq. 6.20: :math:`\mathbb E[1/(1+J);\ \text{no rival} > j]` for the exact multinomial
    of the V-1 rivals.

    Poissonise the rivals' label counts (iid :math:`\mathrm{Poisson}(n/(V-1))`, ``mm = V-1``),
    thin each by ``ploc`` (shape (K,)), and condition on their sum :math:`n = N - c` by
    extracting the coefficient of :math:`s^n` from the (V-1)-th power of
    :math:`g_< + \xi g_=` (FFT, no aliasing); Gauss-Legendre nodes in the tie weight
    :math:`\xi` (code ``u``).  Returns a float.
    """
    mm, n = V - 1, N - c
    lam = n / mm
    ks = np.arange(ploc.size)
    pk = stats.poisson.pmf(ks, lam)
    thin = stats.binom.pmf(j, ks, ploc)                                    # P(c'_k = j | k)
    below = stats.binom.cdf(j - 1, ks, ploc) if j > 0 else np.zeros_like(pk)
    size = 1 << int(np.ceil(np.log2(mm * ks[-1] + 2)))
    G_lt, G_eq = np.fft.rfft(pk * below, size), np.fft.rfft(pk * thin, size)
    u, wu = legendre01_nodes(mm // 2 + 1)
    phase = np.exp(2j * np.pi * np.arange(G_lt.size) * n / size)          # inverse-DFT row n
    herm = np.full(G_lt.size, 2.0)
    herm[0] = 1.0
    if size % 2 == 0:
        herm[-1] = 1.0
    z = G_lt[None] + u[:, None] * G_eq[None]                               # (U, F)
    zm = np.abs(z) ** mm * np.exp(1j * mm * np.angle(z))                   # polar: fast power
    coef = (zm * phase * herm).real.sum(-1) / size
    return float(wu @ coef) / stats.poisson.pmf(n, mm * lam)


def _perfect_recall(V, N, cs, pc, exact):
    """E[credit | c] with every sample localized (eq. 6.1 or the exact eq. 6.20), shape (C,)."""
    if exact:
        return np.array([_exact_credit(V, N, c, 2 * c, np.ones(len(cs))) if w > 1e-14 else 0.0
                         for c, w in zip(cs, pc)])
    q = stats.binom.pmf(cs[None, :], N - cs[:, None], 1.0 / (V - 1))     # (C, K) rivals
    cdf = np.concatenate([np.zeros((len(cs), 1)), np.cumsum(q, 1)], 1)
    j = np.minimum(2 * cs, len(cs))
    eqj = np.where(2 * cs < len(cs), q[np.arange(len(cs)), np.minimum(j, len(cs) - 1)], 0.0)
    return _credit(cdf[np.arange(len(cs)), j], eqj, V - 1)


def recall_by_count(V: int, N: int, L: int, exact: bool | None = None):
    r"""Test-token counts and the localized accuracy per trigger node (eqs. 6.19-6.20).

    Given A and the test token's own score fluctuation R, its training samples localize
    with the same probability :math:`p(c \mid A, R)` as its test sequence (they face the
    same scores), so :math:`c' \sim \mathrm{Bin}(c, p(c \mid A, R))`; each rival's count is
    thinned with its own :math:`p(n \mid A)` averaged over its R.  Rivals are iid thinned
    binomials, or the exact multinomial (eq. 6.20) where all is localized.

    Parameters
    ----------
    V, N, L : int
        Vocabulary, training samples, sequence length.
    exact : bool or None
        Use eq. 6.20 where everything is localized; None decides by cost.

    Returns
    -------
    cs : ndarray, shape (C,)
        Test-token counts c.
    pc : ndarray, shape (C,)
        Their law :math:`\mathrm{Bin}(c; N, 1/V)`.
    p : ndarray, shape (g, C)
        :math:`\mathbb E_R\, p(c \mid A, R)` at the g nodes of A (shape (1, C) at L = 1).
    w : ndarray, shape (g,)
        Weights of the nodes of the common trigger score A.
    acc : ndarray, shape (g, C)
        :math:`\mathbb E_R[p(c \mid A, R)\, \mathbb E_{c'}\mathrm{credit}(c')]`.
    """
    if support_size(N, 1.0 / V) > EXACT_RECALL:
        from .large_counts import recall_large          # it imports this module
        return recall_large(V, N, L)
    cs = support(N, 1.0 / V)
    pc = stats.binom.pmf(cs, N, 1.0 / V)
    if exact is None:
        exact = len(cs) * (V // 2 + 1) * 2 ** np.ceil(np.log2((V - 1) * cs[-1] + 2)) < _EXACT_COST
    if L == 1:
        return cs, pc, np.ones((1, len(cs))), np.ones(1), _perfect_recall(V, N, cs, pc, exact)[None]
    tab = _localization_table(V, N, L, cs.astype(float))                   # (g, r, C)
    P = np.tensordot(tab, _GW, (1, 0))                                     # (g, C)
    acc = np.zeros(P.shape)
    perfect = None
    for g in range(P.shape[0]):
        if _GW[g] < 1e-9:
            continue
        if pc @ P[g] > 1 - 1e-4:                                           # all localized
            perfect = _perfect_recall(V, N, cs, pc, exact) if perfect is None else perfect
            acc[g] = P[g] * perfect
            continue
        thin = _thinning(np.clip(P[g], 0.0, 1.0 - 1e-12))   # scipy's binomial is nan at p = 1
        for i, c in enumerate(cs):
            if pc[i] < 1e-14:
                continue
            q = _rival_law(V, N, c, thin)
            cdf = np.concatenate([[0.0], np.cumsum(q)])
            cp = np.arange(c + 1)
            j = np.minimum(2 * cp, len(q))
            eqj = np.where(2 * cp < len(q), q[np.minimum(j, len(q) - 1)], 0.0)
            cr = _credit(cdf[j], eqj, V - 1)                               # (c+1,)
            p_r = np.clip(tab[g, :, i], 0.0, 1.0)                          # (r,)
            pcp = binom_pmf(cp[None, :], c, np.minimum(p_r, 1 - 1e-12)[:, None])
            acc[g, i] = _GW @ (p_r * (pcp @ cr))
    return cs, pc, P, _GW, acc
