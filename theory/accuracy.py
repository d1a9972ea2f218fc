r"""Numerical evaluation of the accuracy integrals (docs/theory.md, eqs. 1.12, 3.24; section 5).

Every accuracy of the theory has the form (eq. 3.24)

.. math::
    \mathrm{acc} = \mathbb E_{\rm common}\Big[\prod_k \big(1 - T_k(F, S^2)\big)^{n_k}\Big],
    \qquad T_k(F, S^2) = \sum_J p_{kJ}\,\Phi\Big(\frac{\mu_{kJ} - F}{\sqrt{v_{kJ} + S^2}}\Big):

an expectation over the quantities common to all wrong labels of one test token (its
count, the norms, the label-Gram factors; they give the effective correct value F and the
variance :math:`S^2` common to every wrong label), of a product over groups of
:math:`n_k` wrong labels whose read weight is a finite Gaussian mixture (a count law times
a Gaussian of mean :math:`\mu` and own variance v).

This module holds the count laws (lumped binomial laws and mixtures; the quadrature rules
are in :mod:`theory.quadrature`) and :func:`all_below`, which tabulates each
:math:`\log T_k` on a grid and interpolates it at the nodes, so the cost is
(grid x mixture) + nodes, never their product.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import special, stats
from scipy.special import gammaln, log_ndtr


#: Default table grid of :func:`all_below` (u, log S^2).
N_GRID, N_SCALE = 160, 24
#: Largest number of support points kept for a count law before lumping.
MAX_COUNT_POINTS = 160


def count_value(n):
    """A count as used in the formulas: the int itself up to 2^53, a float beyond (NumPy
    cannot hold larger ints, and no formula needs their last digits)."""
    return n if abs(n) <= 2**53 else float(n)


def lump(values, probs, max_points: int = MAX_COUNT_POINTS, width: float = 0.0):
    """Merge a sorted discrete law into bins of equal width (bin mean, bin mass).

    The width is the larger of ``width`` and range / ``max_points``; with both small the law
    is returned unchanged.  Lumping is harmless where the function integrated against the
    law varies on a scale much larger than the width.
    """
    values = np.asarray(values, dtype=float)
    probs = np.asarray(probs, dtype=float)
    span = float(values[-1] - values[0]) if values.size else 0.0
    h = max(width, span / max_points)
    if values.size <= 1 or h <= 1.0 or span <= h:
        if values.size <= max_points:
            return values, probs
    nb = max(1, int(np.ceil(span / h)))
    idx = np.minimum(((values - values[0]) / h).astype(int), nb - 1)
    mass = np.bincount(idx, weights=probs, minlength=nb)
    mean = np.bincount(idx, weights=probs * values, minlength=nb)
    keep = mass > 0
    return mean[keep] / mass[keep], mass[keep]


#: Largest support (points within k sd) materialised by :func:`binomial_law`; beyond, the
#: lumped law is computed from CDF differences (:func:`_binomial_bins`).
EXACT_SUPPORT = 1 << 15
#: Variance nq(1-q) above which the binomial CDF is its one-term Edgeworth expansion.
EDGEWORTH_VAR = 1e12


@lru_cache(maxsize=4096)
def binomial_law(n: int, q: float, max_points: int = MAX_COUNT_POINTS, k: float = 9.0):
    r"""Law of a :math:`\mathrm{Binomial}(n, q)` count (docs/theory.md, eqs. 3.4-3.5):
    support within k sd, lumped.

    Returns values (J,) and probabilities (J,) summing to 1 (cached, read-only).
    """
    q = min(max(float(q), 0.0), 1.0)
    if q == 0.0 or n == 0:
        x, p = np.zeros(1), np.ones(1)
        x.flags.writeable = p.flags.writeable = False
        return x, p
    mu, sd = n * q, np.sqrt(n * q * (1.0 - q))
    lo, hi = max(0, int(np.floor(mu - k * sd - 3))), min(n, int(np.ceil(mu + k * sd + 3)))
    if hi - lo + 1 > max(EXACT_SUPPORT, max_points):
        x, p = _binomial_bins(float(n), q, lo, hi, max_points)
        x.flags.writeable = p.flags.writeable = False
        return x, p
    x = np.arange(lo, hi + 1, dtype=float)
    # log-space pmf: scipy's binom.pmf overflows (OverflowError) for vanishingly small q
    logp = (gammaln(n + 1.0) - gammaln(x + 1.0) - gammaln(n - x + 1.0)
            + x * np.log(q) + (n - x) * np.log1p(-q) if q < 1.0 else
            np.where(x == n, 0.0, -np.inf))
    p = np.exp(logp - logp.max())
    x, p = lump(x, p / p.sum(), max_points)
    x.flags.writeable = p.flags.writeable = False         # shared by the cache
    return x, p


def _binomial_bins(n: float, q: float, lo: int, hi: int, max_points: int):
    r"""The lumped law of :func:`binomial_law` (same bins as :func:`lump`) without its support.

    Bin :math:`[a, b]` has mass :math:`P(a \le X \le b)` (CDF differences, upper tail from
    the survival function) and, with :math:`Y \sim \mathrm{Bin}(n-1, q)` and
    :math:`X = Y + \mathrm{Bernoulli}(q)`,

    .. math::
        \mathbb E[(X - nq)\,1\{a \le X \le b\}] = nq(1-q)\,[P(Y = a-1) - P(Y = b)],

    so the bin mean needs no sum over its points and has no cancellation.  Exact up to
    rounding (relative 1e-12) while :math:`nq(1-q) \le` ``EDGEWORTH_VAR``; above, SciPy's
    binomial loses precision (its arguments exceed 2^53 / 1e18) and the CDF is the
    continuity-corrected one-term Edgeworth expansion :math:`\Phi(z) - \frac{\gamma}{6}
    (z^2 - 1)\varphi(z)`, :math:`\gamma = (1-2q)/\sigma`, whose error is
    :math:`O(\sigma^{-2})` in every bin mass (4e-11 against SciPy at the switch-over);
    the bin means then use the Gaussian density (error below :math:`10^{-3}\sigma`, 1 % of
    a bin, in the 9-sd tail bins).  Cost O(max_points).
    Returns values (B,), probabilities (B,).
    """
    span = float(hi - lo)
    h = span / max_points
    nb = max(1, int(np.ceil(span / h)))
    # first integer offset of each bin, as lump assigns int((x - lo) / h)
    start = np.ceil(np.arange(nb) * h)
    start += (np.floor(start / h) < np.arange(nb))
    start -= (start > 0) & (np.floor((start - 1) / h) >= np.arange(nb))
    a = lo + start                                                  # (B,) first points
    b = np.append(a[1:] - 1, float(hi))                             # (B,) last points
    mu, var = n * q, n * q * (1.0 - q)
    sd = np.sqrt(var)
    if var <= EDGEWORTH_VAR:
        up = a > mu                                                 # upper tail: survival
        mass = np.where(up, stats.binom.sf(a - 1, n, q) - stats.binom.sf(b, n, q),
                        stats.binom.cdf(b, n, q) - stats.binom.cdf(a - 1, n, q))
        dens = stats.binom.pmf(a - 1, n - 1, q) - stats.binom.pmf(b, n - 1, q)
    else:
        za, zb = (a - 0.5 - mu) / sd, (b + 0.5 - mu) / sd
        g = (1.0 - 2.0 * q) / sd
        cdf = lambda z: special.ndtr(z) - g / 6.0 * (z * z - 1.0) * stats.norm.pdf(z)  # noqa
        sf = lambda z: special.ndtr(-z) + g / 6.0 * (z * z - 1.0) * stats.norm.pdf(z)  # noqa
        mass = np.where(a > mu, sf(za) - sf(zb), cdf(zb) - cdf(za))
        dens = (stats.norm.pdf(za) - stats.norm.pdf(zb)) / sd
    mass = np.maximum(mass, 0.0)
    keep = mass > 0
    total = mass.sum()
    x = mu + var * dens[keep] / mass[keep]
    return np.clip(x, a[keep], b[keep]), mass[keep] / total


def mixture_law(laws, weights, max_points: int = MAX_COUNT_POINTS, width: float = 0.0):
    """Mixture of discrete laws ``[(values, probs), ...]`` with ``weights``; merged, lumped."""
    v = np.concatenate([l[0] for l in laws])
    p = np.concatenate([w * l[1] for l, w in zip(laws, weights)])
    order = np.argsort(v, kind="stable")
    v, p = v[order], p[order]
    uniq, inv = np.unique(v, return_inverse=True)
    p = np.bincount(inv, weights=p)
    return lump(uniq, p / p.sum(), max_points, width)


def _grid(values, n, log=False):
    x = np.log(values) if log else values
    lo, hi = float(np.min(x)), float(np.max(x))
    pad = 1e-9 + 1e-6 * (abs(lo) + abs(hi)) + 1e-3 * (hi - lo)
    return np.linspace(lo - pad, hi + pad, n)


def _bilinear(table, gx, gy, x, y):
    """Bilinear interpolation of ``table`` (nx, ny) on uniform grids at points (x, y)."""
    fx = np.clip((x - gx[0]) / (gx[1] - gx[0]), 0, len(gx) - 1.000001)
    fy = np.clip((y - gy[0]) / (gy[1] - gy[0]), 0, len(gy) - 1.000001) if len(gy) > 1 else 0 * y
    i, j = fx.astype(int), np.asarray(fy).astype(int)
    tx, ty = fx - i, fy - j
    j1 = np.minimum(j + 1, len(gy) - 1)
    return ((1 - tx) * (1 - ty) * table[i, j] + tx * (1 - ty) * table[i + 1, j]
            + (1 - tx) * ty * table[i, j1] + tx * ty * table[i + 1, j1])


def all_below(F, S2, weights, groups, n_grid: int = N_GRID, n_scale: int = N_SCALE):
    r"""Eq. (3.24): :math:`\omega \prod_k (1 - T_k(F, S^2))^{n_k}` at every node.

    Parameters
    ----------
    F, S2, weights : arrays of one shape (nodes of the common quantities, any shape);
        the weights of one class of test tokens sum to 1.
    groups : list of ``(mu, v, probs, n)``
        Groups of wrong labels: n labels (scalar or per node; a non-integer n means
        floor(n) labels and one more with probability n - floor(n)) whose weight is a
        Gaussian mixture (weights
        ``probs`` (J,)) of means ``mu`` (J,) and own variances ``v`` (J,).

    Returns
    -------
    Array of the shape of ``F``; sum it over the node axes.  Each :math:`T_k` is tabulated
    on a grid of :math:`u = F/\sqrt{S^2 + \bar v}` and :math:`\log S^2` and interpolated
    in :math:`\log T`, so the cost is grid x mixture plus nodes, never their product.  u is
    clipped to [-12, 60]: beyond, T is within 1e-30 of 1 or below 1e-30 (times any V).

    Raises
    ------
    ValueError
        If ``S2`` or any wrong label's total variance :math:`v_j + S^2` is negative at a
        node (a silent clip would hide a caller's error).
    """
    S2 = np.asarray(S2, dtype=float)
    # a group's own variance may be negative (a caller may keep a common part in S2), but
    # each wrong label's total variance v_j + S2 is a variance at every node
    low = min(float(np.min(g[1])) for g in groups) if groups else 0.0
    if np.any(S2 < 0) or np.any(S2 + low < -1e-9 * np.maximum(S2, abs(low))):
        raise ValueError("all_below: negative total variance (a caller's term is not a variance)")
    S2 = np.maximum(S2, 1e-300)                        # S2 = 0 is a point mass: keep log finite
    gs = _grid(S2, n_scale if np.ptp(np.log(S2)) > 1e-9 else 1, log=True)
    s2g = np.exp(gs)
    log_below = np.zeros(np.shape(F))
    for mu, v, probs, n in groups:
        n = np.asarray(n, dtype=float)                 # scalar or one value per node
        if np.all(n <= 0):
            continue
        vbar = float(np.dot(probs, v))
        u = np.clip(F / np.sqrt(S2 + vbar), -12.0, 60.0)
        gu = _grid(u, n_grid)
        # table: F = u sqrt(S2 + vbar) on the (u, S2) grid
        z = (mu[None, None, :] - gu[:, None, None] * np.sqrt(s2g + vbar)[None, :, None]) / (
            np.sqrt(np.maximum(v[None, None, :] + s2g[None, :, None], 1e-300)))  # (nU, nS, J)
        lt = log_ndtr(z) + np.log(np.maximum(probs, 1e-300))
        m = lt.max(axis=2, keepdims=True)
        table = m[..., 0] + np.log(np.exp(lt - m).sum(axis=2))                # (nU, nS)
        lt = _bilinear(table, gu, gs, u, np.log(S2))
        t = np.minimum(np.exp(lt), 1.0)
        # floor(n) labels surely present, one more with probability frac(n): exact when the
        # group size is an integer, and right for rare groups whose T is near 1
        k = np.floor(n)
        log_below += k * np.log1p(-np.minimum(t, 1.0 - 1e-16)) + np.log1p(-(n - k) * t)
    return weights * np.exp(log_below)
