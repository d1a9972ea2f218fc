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
from .count_laws import (_EXACT_COST, _GW, EXACT_RECALL, _credit, _localization_table,  # noqa: F401
                         binom_pmf, localization_by_count, support, support_size)


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
