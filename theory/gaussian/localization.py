r"""T2: predicted localization after step 2 (gaussian embeddings, attention-only, early-phase limit).

In the limit the step-2 query direction :math:`q\propto W_{KQ}^{(2)\top} z_{\rm eos}` points along
:math:`q = \frac1{NL}\sum_n L\Gamma_n\,\tilde v_{x_n}` (eq. 2.A of docs/localization.md;
:math:`\Gamma_n` the within-sample covariance, :math:`\tilde v_x` the step-1 memory) and a
sequence is localized when its informative score :math:`A + s_x` strictly beats the
:math:`L-1` noise scores :math:`s_{t_j}`.  Given the trigger score :math:`A` and the spread
:math:`\sigma` of the token scores, the :math:`L-1` noise draws hit :math:`D` distinct
vocabulary tokens (occupancy law :math:`\varpi_D`, eq. 2.35, :mod:`theory.occupancy`) whose
scores are independent :math:`\mathcal N(0,\sigma^2)` around the centred profile, so

.. math::
    P(\text{loc}\mid A,\sigma) = \mathbb E_{\zeta}\sum_D \varpi_D\Big[\tfrac DV\,[A>0]\,b^{D-1}
        + \big(1-\tfrac DV\big)b^{D}\Big],\qquad b = \Phi(A/\sigma + \zeta),   \tag{2.38}

with :math:`\zeta\sim\mathcal N(0,1)` the test token's own standardised score, and
:math:`A = \mathbb E[A\mid r,g,h] + C` with the common term :math:`C` Gaussian.  The
localization probability integrates (2.38) over :math:`r=\|z_{\rm trig}\|^2\sim\chi^2_d/d`, the
scale variables :math:`g, h, X` (gamma laws with the variances of eqs. 2.31-2.33) and
:math:`C` (eq. 2.39), with the quadrature rules of :mod:`theory.quadrature`.  Training
samples use the same law shifted by eq. 2.34 and widened by eqs. 2.36-2.37.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import special, stats

from common.checks import check_config, check_int

from ..accuracy import count_value
from ..occupancy import occupancy_classes
from ..quadrature import gamma_nodes, normal_nodes
from . import localization_terms as T

__all__ = ["localization"]

_GX, _GW = normal_nodes(48)
_KAPPA = np.linspace(-12.0, 48.0, 2401)            # grid of A / sigma for eq. 2.38


@lru_cache(maxsize=256)
def _table(V: int, L: int):
    r"""Eq. 2.38 averaged over the test token's own score :math:`\zeta`, on the grid ``_KAPPA``
    of :math:`A/\sigma`.

    Returns two arrays of shape ``_KAPPA.shape``: the localization probability for
    :math:`A > 0` (the test token may also be among the noise draws) and for :math:`A \le 0`
    (only the draws without it count).
    """
    Dv, pi = occupancy_classes(V, L)
    pos, neg = np.empty(_KAPPA.size), np.empty(_KAPPA.size)
    for i in range(0, _KAPPA.size, 256):                  # row blocks: (256, G, D) at most
        p = stats.norm.cdf(_KAPPA[i:i + 256, None] + _GX[None, :])[..., None]   # (K, G, 1)
        pd = p ** Dv                                                       # (K, G, D)
        pdm1 = np.where(Dv > 0, p ** np.maximum(Dv - 1, 0), 0.0)
        notx = (pi * (1 - Dv / V) * pd).sum(-1)                            # x not drawn
        isx = (pi * (Dv / V) * pdm1).sum(-1)                               # x drawn
        pos[i:i + 256], neg[i:i + 256] = (_GW * (notx + isx)).sum(-1), (_GW * notx).sum(-1)
    return pos, neg


def _nodes(V, N, d, L):
    r"""Gamma-law quadrature of :math:`r, g, h, X` (eqs. 2.31-2.33): ``np.ix_`` grids of shapes
    (10,1,1,1), (1,6,1,1), (1,1,6,1) (or (1,1,1,1) for N = 1), (1,1,1,6) and the product weights."""
    r, wr = gamma_nodes(2.0 / d, 10)               # r = chi2_d / d
    g, wg = gamma_nodes(float(T.VAR_G(V=V, N=N, d=d)), 6)
    h, wh = (gamma_nodes(float(T.VAR_H(V=V, N=N)), 6) if N > 1 else (np.ones(1), np.ones(1)))
    x, wx = gamma_nodes(float(T.CV2_X(V=V, d=d)), 6)
    grid = np.ix_(r, g, h, x)
    w = wr[:, None, None, None] * wg[None, :, None, None] * wh[None, None, :, None] * wx
    return grid, w


def _probability(V, L, EA, s2, vA, w):
    r"""Integrate eq. 2.38 over the common term :math:`C` (eq. 2.39) and the weights ``w``.

    ``EA`` (mean trigger score), ``s2`` (sum of token variances), ``vA`` (variance of
    :math:`C`) and ``w`` share one shape; :math:`\sigma^2 = s_2/(1-1/V)`.  Returns a float.
    """
    sig = np.sqrt(s2 / (1.0 - 1.0 / V))
    tab_pos, tab_neg = _table(V, L)
    cx, cw = np.polynomial.hermite_e.hermegauss(24)
    c = EA[..., None] + np.sqrt(vA)[..., None] * cx                       # trigger score A
    k = np.clip(c / sig[..., None], _KAPPA[0], _KAPPA[-1])
    val = np.where(c > 0, np.interp(k, _KAPPA, tab_pos), np.interp(k, _KAPPA, tab_neg))
    return float((w * (val @ (cw / cw.sum()))).sum())


def _scalar(V, N, d, L):
    if L == 1:
        return 1.0, 1.0, 0.0, {}
    (r, g, h, X), w = _nodes(V, N, d, L)
    EA, tok, com = T.terms(V, N, d, L, r=r, g=g, h=h, X=X)
    s2 = sum(np.broadcast_to(v, w.shape) for v in tok.values())
    vA = sum(np.broadcast_to(v, w.shape) for v in com.values())
    EA = np.broadcast_to(EA, w.shape)
    p_test = _probability(V, L, EA, s2, vA, w)
    shift = np.broadcast_to(T.TRAIN_SHIFT(V=V, N=N, d=d, L=L, r=r), w.shape)
    # the informative token's extra spread is common to the L-1 comparisons of its sequence:
    # it joins C; the noise tokens' extra spread widens the token law (eqs. 2.36-2.37)
    ex_t = np.broadcast_to(T.TRAIN_VAR_NOISE(V=V, N=N, d=d, L=L, r=r), w.shape)
    ex_x = np.broadcast_to(T.TRAIN_VAR_INFO(V=V, N=N, d=d, L=L, r=r), w.shape)
    s2t = s2 + ex_t * (1.0 - 1.0 / V)
    p_train = _probability(V, L, EA + shift, s2t, vA + np.maximum(ex_x - ex_t, 0.0), w)
    # reporting: term standard deviations in margin units, averaged over r at g = h = X = 1
    r1 = r.reshape(-1)
    wr = w.sum(axis=(1, 2, 3))
    sig0, tok0, com0 = T.terms(V, N, d, L, r=r1)
    Er = lambda v: float(np.sum(wr * np.broadcast_to(v, r1.shape)))       # noqa: E731
    out = {f"token.{k}": np.sqrt(2.0 * Er(v) / (1.0 - 1.0 / V)) for k, v in tok0.items()}
    out.update({f"common.{k}": np.sqrt(Er(v)) for k, v in com0.items()})
    s_self = Er(T.ALPHA_SELF(V=V, L=L, r=r1) * r1 + (r1 / d) * T.BETA_SELF(V=V, L=L) * (V - 1))
    out["scale.label_frequency"] = np.sqrt(float(T.VAR_G(V=V, N=N, d=d))) * s_self
    out["scale.pair_count"] = (np.sqrt(float(T.VAR_H(V=V, N=N))) * (Er(sig0) - s_self)
                               if N > 1 else 0.0)
    return p_test, p_train, Er(sig0), out


def localization(V, N, d, L):
    r"""Predicted localization after step 2 in the early-phase limit (gaussian embeddings).

    Parameters
    ----------
    V, N, d, L : int or array_like of int
        Vocabulary size, training samples, embedding dimension, sequence length; arrays
        broadcast against each other.

    Returns
    -------
    dict
        ``p_test``: probability that a fresh test sequence is localized (the informative
        position has strictly the largest score); ``p_train``: the same for a training
        sample; ``signal``: mean margin :math:`\mathbb E A` (eq. 2.11); ``terms``: dict term
        name -> standard deviation of that term in the margin informative-minus-noise
        position (``token.*`` eqs. 2.13-2.25, ``common.*`` 2.26-2.30, ``scale.*`` 2.31-2.32),
        averaged over :math:`r` at :math:`g = h = X = 1`,
        in the units of ``signal``.  Scalars for scalar input, else arrays of the broadcast
        shape (``terms`` values likewise).

    Raises
    ------
    ValueError
        For V < 2, N < 1, d < 1, L < 1 or non-integers.
    """
    Vb, Nb, db, Lb = np.broadcast_arrays(*(np.asarray(v) for v in (V, N, d, L)))
    shape = Vb.shape
    res = []
    for v, n, dd, ll in zip(Vb.ravel(), Nb.ravel(), db.ravel(), Lb.ravel()):
        v, n, dd, ll = (getattr(x, "item", lambda x=x: x)() for x in (v, n, dd, ll))
        cfg = check_config(v, dd, ll, N=n)
        res.append(_scalar(cfg["V"], count_value(check_int("N", n, 1)), cfg["d"], cfg["L"]))
    keys = sorted({k for r_ in res for k in r_[3]})
    pack = lambda vals: (np.asarray(vals, dtype=float).reshape(shape)                # noqa: E731
                         if shape else float(vals[0]))
    return {
        "p_test": pack([r_[0] for r_ in res]),
        "p_train": pack([r_[1] for r_ in res]),
        "signal": pack([r_[2] for r_ in res]),
        "terms": {k: pack([r_[3].get(k, 0.0) for r_ in res]) for k in keys},
    }
