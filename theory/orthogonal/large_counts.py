r"""T6, count level at large counts: the recall of eqs. 6.19-6.20 when the count support is
too wide to run integer by integer (docs/orthogonal.md, section 3, "Large counts").

Beyond ``EXACT_RECALL`` support points (:mod:`theory.orthogonal.counts`, mean count
:math:`\bar n = N/V \gtrsim 150`) every count law is lumped (exact CDF differences,
:func:`theory.accuracy.binomial_law`) and the thinned counts are Gaussian given their bin:

.. math::
    c'_x \mid c \approx \mathcal N\big(cp,\ cp(1-p) + p^2 h_c^2/12\big),\qquad
    \Psi_c(s) = \sum_k w_{ck}\,\Phi\Big(\frac{s - n_k p_k}{\sqrt{n_k p_k(1-p_k) + p_k^2 h_n^2/12}}\Big),

with :math:`p = p(c \mid A, R)`, :math:`p_k = \mathbb E_R\,p(n_k \mid A, R)`, :math:`(n_k,
w_{ck})` the lumped law of a rival's count :math:`\mathrm{Bin}(N - c, 1/(V-1))` and
:math:`h^2/12` the variance of a lumped bin of width h.  :math:`\Psi_c(s)` is the
continuity-corrected :math:`P_< + P_=/2` of eq. 6.1, so the credit of the correct label at
:math:`s = 2c'_x` is :math:`\Psi_c(s)^{V-1}` (eq. 6.1 to second order in :math:`P_=`), and
:math:`c'_x` is integrated on Gauss-Hermite nodes.  Cost independent of N and L.  Error
against the exact count model at the switch-over below 1e-3 in the accuracy and in the
localization (3e-4 measured) (tests/test_theory_cost.py); it shrinks as :math:`1/\bar n`.
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from ..accuracy import binomial_law, count_value, lump
from ..occupancy import occupancy_classes
from ..quadrature import normal_nodes
from .count_laws import _GW, _localization_table, binom_pmf

__all__ = ["recall_large", "one_step_large"]

#: Lumped classes of the test token's count and of a rival's count.
N_CLASSES, N_RIVAL = 48, 48
_HX, _HW = normal_nodes(10)
#: Score grid of the rivals' CDFs in :func:`one_step_large`.
N_GRID = 1500


def _lumped(n, q, max_points):
    """Lumped Bin(n, q) for a real n >= 0: values (K,), probabilities (K,), bin variance.

    An integer n' = round(n) is lumped and shifted by (n - n') q, exact to first order."""
    m = int(round(n))
    x, p = binomial_law(m, q, max_points=max_points, k=9.0)
    mu, sd = m * q, np.sqrt(m * q * (1.0 - q))
    lo, hi = max(0, int(np.floor(mu - 9 * sd - 3))), min(m, int(np.ceil(mu + 9 * sd + 3)))
    h = (hi - lo) / max_points if hi - lo + 1 > max_points else 0.0    # as binomial_law lumps
    return x + (n - m) * q, p, h * h / 12.0


def recall_large(V: int, N: int, L: int):
    r"""Same contract as :func:`theory.orthogonal.counts.recall_by_count`, at large counts.

    Returns
    -------
    cs, pc : ndarray, shape (C,)
        Lumped classes of the test token's count and their masses.
    p : ndarray, shape (g, C)
        :math:`\mathbb E_R\, p(c \mid A, R)` at the nodes of A ((1, C) at L = 1).
    w : ndarray, shape (g,)
        Weights of the nodes of A.
    acc : ndarray, shape (g, C)
        :math:`\mathbb E_R[p\,\mathbb E_{c'}\Psi_c(2c')^{V-1}]`.
    """
    N = count_value(N)
    cs, pc, hc2 = _lumped(N, 1.0 / V, N_CLASSES)
    C = cs.size
    # a rival's count given c: Bin(N - c, 1/(V - 1)), one lumped law per class (padded)
    nv, nw, nh2 = np.zeros((C, N_RIVAL)), np.zeros((C, N_RIVAL)), np.zeros(C)
    for i, c in enumerate(cs):
        x, p, h2 = _lumped(N - c, 1.0 / (V - 1), N_RIVAL)
        nv[i, :x.size], nw[i, :x.size], nh2[i] = x, p, h2
        nv[i, x.size:] = x[-1]
    if L == 1:
        tab, tab_n, w = np.ones((1, 1, C)), np.ones((1, 1, C, N_RIVAL)), np.ones(1)
        rw = np.ones(1)
    else:
        tab = _localization_table(V, N, L, cs)                          # (g, r, C)
        tab_n = _localization_table(V, N, L, nv)                        # (g, r, C, R)
        w = rw = _GW
    P = np.tensordot(tab, rw, (1, 0))                                   # (g, C)
    Pn = np.clip(np.tensordot(tab_n, rw, (1, 0)), 0.0, 1.0)             # (g, C, R)
    acc = np.zeros(P.shape)
    for g in range(P.shape[0]):
        if w[g] < 1e-9:
            continue
        pr = Pn[g]
        mu = nv * pr                                                    # (C, R)
        sd = np.sqrt(np.maximum(nv * pr * (1 - pr) + pr**2 * nh2[:, None], 1e-6))
        p = np.clip(tab[g], 0.0, 1.0)                                   # (r, C)
        sc = np.sqrt(np.maximum(cs * p * (1 - p) + p**2 * hc2, 0.0))
        s = 2 * ((cs * p)[..., None] + sc[..., None] * _HX)           # 2c' nodes, (r, C, H)
        z = (s[..., None] - mu[None, :, None, :]) / sd[None, :, None, :]  # (r, C, H, R)
        above = (ndtr(-z) * nw[None, :, None, :]).sum(-1)               # 1 - Psi, (r, C, H)
        with np.errstate(divide="ignore"):                              # log 0 = -inf: credit 0
            cr = np.exp((V - 1) * np.log1p(-np.minimum(above, 1.0))) @ _HW                                      # (r, C)
        acc[g] = rw @ (p * cr)
    return cs, pc, P, w, acc



def _multiplicity(L, V, drop_zero, max_points=48):
    """Law of Bin(L - 1, 1/V) (zero-truncated if ``drop_zero``), lumped: values, probs, bin var."""
    n, q = L - 1, 1.0 / V
    mu, sd = n * q, np.sqrt(n * q * (1 - q))
    hi = min(n, int(np.ceil(mu + 9 * sd + 3)))
    if hi <= 4096:                                   # exact support, then lumped
        x = np.arange(hi + 1, dtype=float)
        p = binom_pmf(x, n, q)
        if drop_zero:
            x, p = x[1:], p[1:]
        p = p / p.sum()
        span = x[-1] - x[0]
        x2, p2 = lump(x, p, max_points)
        h = span / max_points if x.size > max_points else 0.0
        return x2, p2, h * h / 12.0
    # mean >= ~4000: the zero class carries below e^-4000
    x, p, h2 = _lumped(n, q, max_points)
    return x, p, h2


def _log_cdf_table(grid, means, sds, probs):
    r"""log P(X < s) (continuity-corrected) of a Gaussian mixture on ``grid`` (G,): (G,)."""
    z = (grid[:, None] - means[None, :]) / sds[None, :]                   # (G, K)
    lo = ndtr(z) @ probs
    up = ndtr(-z) @ probs
    with np.errstate(divide="ignore"):
        return np.where(up < 0.5, np.log1p(-np.minimum(up, 1.0)), np.log(lo))


def one_step_large(V: int, N: int, L: int) -> float:
    r"""Eq. 6.21 at bounded cost (the one-step model of :mod:`theory.orthogonal.one_step`).

    Same scores, with every count law lumped and the noise co-occurrences Gaussian (their
    CLT limit, eq. 6.16): a label of count n whose token occurs j times in the test
    sequence scores :math:`\mathcal N\big(n(1 + j + \rho L),\ n\rho S_2 + (1 + j + \rho L)^2
    h_n^2/12 + n^2 h_j^2/12\big)`, :math:`S_2 = L + L(L-1)/V`, h the widths of the lumped
    bins.  With :math:`\Psi_0, \Psi_1` the continuity-corrected CDFs of a rival absent from /
    drawn into the test sequence (tabulated on a grid of ``N_GRID`` scores), the correct label at
    score s gets :math:`\mathbb E_D[\Psi_0(s)^{V-1-D}\Psi_1(s)^D]` (ties split to second
    order; the atom of a zero count exactly), D from
    :func:`theory.occupancy.occupancy_classes`.  Cost independent of N and
    L; error against the exact model at the switch-over below 2e-4
    (tests/test_theory_cost.py).
    """
    N = count_value(N)
    rho = (L - 1) / V
    S2 = L + L * (L - 1) / V
    ns, pn, hn2 = _lumped(N, 1.0 / V, 64)
    jv, jp, hj2 = (_multiplicity(L, V, True, 32) if L > 1     # a drawn rival's
                   else (np.ones(1), np.ones(1), 0.0))                   # multiplicity
    mv, mp, hm2 = _multiplicity(L, V, drop_zero=False)     # extra copies of x
    D, pD = occupancy_classes(V, L)
    if L == 1:
        D, pD = np.zeros(1), np.ones(1)
    # correct label: c (2 + m) + G_c on (C, M, H) nodes
    c, m = ns[:, None], mv[None, :]
    mean = c * (2 + m + rho * L)
    sd = np.sqrt(c * rho * S2 + (2 + m + rho * L) ** 2 * hn2 + c**2 * hm2)
    s = (mean[..., None] + sd[..., None] * _HX).ravel()                   # (C M H,)
    ws = (pn[:, None, None] * mp[None, :, None] * _HW).ravel()
    grid = np.linspace(s.min() - 1.0, s.max() + 1.0, N_GRID)
    a = 1 + rho * L
    g0 = _log_cdf_table(grid, ns * a, np.sqrt(np.maximum(ns * rho * S2 + a * a * hn2, 0.25)), pn)
    n1, j1 = ns[:, None], jv[None, :]
    m1 = (n1 * (a + j1)).ravel()
    s1 = np.sqrt(np.maximum(n1 * rho * S2 + (a + j1) ** 2 * hn2 + n1**2 * hj2, 0.25)).ravel()
    g1 = _log_cdf_table(grid, m1, s1, (pn[:, None] * jp[None, :]).ravel())
    l0, l1 = np.interp(s, grid, g0), np.interp(s, grid, g1)              # (S,)
    cr = np.exp((V - 1 - D)[None, :] * l0[:, None] + D[None, :] * l1[:, None]) @ pD
    if ns[0] == 0 and hn2 == 0:
        # c = 0 scores exactly 0 and ties with every rival of count 0 (eq. 6.1 with
        # P_< = 0, P_= = P(n = 0)); a Gaussian would split that atom only to first order
        zero = np.repeat(ns == 0, mv.size * _HX.size)
        cr[zero] = pn[0] ** (V - 1) / V
    return float(min(max(ws @ cr, 0.0), 1.0))
