r"""T1: accuracy of the one-step model :math:`W_V^{(1)}` with uniform attention
(docs/theory.md, section 1).

At :math:`W_{KQ} = 0` attention is uniform, so by eq. 1.1, up to a positive scale,

.. math::
    W_V^{(1)} \propto \sum_n (u_{y_n} - \bar u)\,A_n^\top,\qquad
    A_n = e_{x_n} + z_{\rm trig} + \sum_{i \ne \ell_n} e_{t_{n,i}},

and a test sequence with token multiplicities :math:`\mu_t` (:math:`\mu_x \ge 1`,
:math:`\sum_t \mu_t = L`) is read by :math:`A = \sum_t \mu_t e_t + z_{\rm trig}`.  Label
:math:`\pi^*(t)` gets the read weight :math:`c_t\mu_t + \kappa(c_t - \lambda)` on average
(eq. 1.7): every token of the test sequence is a candidate with the same signal as the
informative one, which the trigger cannot single out (training samples carry the trigger on
their own informative token, so :math:`z^\top A` adds the same :math:`\kappa` to every
label).  Hence the ceiling :math:`1/L` (eq. 1.13) for :math:`V \gg L^2`.  The accuracy
(eq. 1.12) is the integral of eq. 3.24 with the terms of eqs. 1.4-1.11, with the test
token's multiplicity as the outer class and the wrong labels a mixture over their
multiplicity and count.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import binom

from . import terms as T
from ..accuracy import all_below, binomial_law, mixture_law
from ..quadrature import chi2_nodes, normal_nodes
from .recall import gram_nodes


#: Above LUMP_ABOVE classes of the test token's multiplicity (its sd above ~6.5), classes
#: and groups of wrong labels are lumped to MAX_CLASSES and MAX_GROUPS (:func:`_lumped`):
#: cost bounded for any L; measured error at the switch-over up to 2e-3 in the one-step
#: accuracy (tests/test_theory_cost.py), exact below.
LUMP_ABOVE, MAX_CLASSES, MAX_GROUPS = 64, 24, 64


def _window(L, V):
    """Integers that can carry pmf > 1e-12 of Bin(L - 1, 1/V) (all of them for small L)."""
    mean, sd = (L - 1) / V, np.sqrt((L - 1) / V)
    return np.arange(max(0, int(mean - 15 * sd - 30)), min(L, int(mean + 15 * sd + 30)))


def _multiplicity_law(L, V, extra=0, tol=1e-7):
    """Law of ``extra + Binomial(L - 1, 1/V)`` truncated to mass > tol: values (K,), probs (K,)."""
    k = _window(L, V)
    p = binom.pmf(k, L - 1, 1.0 / V)
    keep = p > tol
    return (k[keep] + extra).astype(float), p[keep] / p[keep].sum()


def _groups(L, V, mx):
    r"""Multiplicities :math:`\mu_j` of the wrong labels with an expected number
    :math:`(V-1)\,\mathrm{Bin}(\mu_j; L - \mu_x, 1/(V-1)) \ge 10^{-6}` for some class, and
    those numbers: (M,), (M, X)."""
    k = _window(L - int(mx.min()) + 1, V - 1)
    n_j = (V - 1) * binom.pmf(k[:, None], L - mx[None, :], 1.0 / (V - 1))   # (M, X)
    keep = n_j.max(axis=1) >= 1e-6
    return k[keep].astype(float), n_j[keep]


def _lumped(values, weights, max_points):
    """Equal-width classes of a multiplicity law (weights (n,) or (n, X), summed per class)
    at their weighted mean multiplicity: values (B,), weights (B,) or (B, X), and the class
    of each value (n,)."""
    if values.size <= max_points:
        return values, weights, np.arange(values.size)
    h = (values[-1] - values[0]) / max_points
    idx = np.minimum(((values - values[0]) / h).astype(int), max_points - 1)
    w2 = weights.reshape(values.size, -1)
    tot = np.stack([np.bincount(idx, weights=w, minlength=max_points) for w in w2.T], 1)
    mean = np.bincount(idx, weights=w2.sum(1) * values, minlength=max_points)
    keep = tot.sum(1) > 0
    out = mean[keep] / tot.sum(1)[keep]
    return out, tot[keep].reshape((-1,) + weights.shape[1:]), (np.cumsum(keep) - 1)[idx]


def one_step_accuracy(V, N, d, L):
    r"""Predicted accuracy of :math:`W_V^{(1)}` with uniform attention (docs/theory.md, eq. 1.12).

    Parameters
    ----------
    V, N, d, L : int
        Vocabulary size, training samples, embedding dimension, sequence length
        (docs/model.md, section 1); checked by the caller.

    Returns
    -------
    dict
        ``accuracy`` (float); ``ceiling``: the large-N, large-d limit :math:`1/L` (eq. 1.13,
        for :math:`V \gg L^2`); ``by_multiplicity``: dict int -> float, the accuracy given
        the test token's multiplicity :math:`\mu_x`.
    """
    lam = N / V
    kap = float(T.kappa_mean(L=L, V=V))
    c_law = binomial_law(N, 1.0 / V)
    vc = float(np.dot(c_law[1], (c_law[0] - lam) ** 2))
    Ec2 = float(np.dot(c_law[1], c_law[0] ** 2))
    a_law = binomial_law(N, 1.0 / V, max_points=16, k=6.0)
    eps, we = chi2_nodes(d, 4)
    g, wg = normal_nodes(3)
    # classes of the test token's multiplicity mu_x; the wrong labels' law uses the mean
    # Lambda (it enters their variances only), the common nodes use each class's own
    mx, px = _multiplicity_law(L, V, extra=1, tol=1e-6)
    mus, n_mus = _groups(L, V, mx)                                        # (M,), (M, X)
    # beyond MAX_CLASSES classes / MAX_GROUPS groups, lump them (smooth in mu on the
    # scale sqrt(L/V) >> 1 where there are so many; accuracy stated in the docstring)
    lumping = mx.size > LUMP_ABOVE
    mx_l, px_l, idx = _lumped(mx, px, MAX_CLASSES if lumping else mx.size)
    if lumping:
        # the groups' numbers given the lumped class: the class-weighted average
        w = np.zeros((mx.size, mx_l.size))
        w[np.arange(mx.size), idx] = px
        n_mus = (n_mus @ w) / w.sum(0)
        mx, px = mx_l, px_l
    if lumping:
        mus, n_mus, _ = _lumped(mus, n_mus, MAX_GROUPS)
    Lams = np.array([float(T.lam_mean(mu_x=m, L=L, V=V)) for m in mx])
    Lbar = float(np.dot(px, Lams))
    kv = float(T.kappa_var(Lam=Lbar, L=L, V=V, d=d))
    Qs = np.array([float(T.weight_energy_1(lam=lam, Lam=Lm, mu_x=m, L=L, V=V, vc=vc, Ec2=Ec2,
                                           kappa=kap, d=d)) for m, Lm in zip(mx, Lams)])
    s_min = np.sqrt(Qs.min() / d + lam**2 * (Lbar + 1) / d)
    # lump counts finely enough for the steepest mean c (mu_j + kappa)
    c, pc = mixture_law([c_law], [1.0], width=s_min / (4 * (max(mus) + kap)))
    # common nodes per class: the test token's count, ||e_x||^2, the Gaussian part of w_x
    F, S2, W, cls = [], [], [], []
    for i, (mu_x, p_x, Lam, Q) in enumerate(zip(mx, px, Lams, Qs)):
        A, E, G = (x.ravel() for x in np.meshgrid(a_law[0], eps, g, indexing="ij"))
        w = p_x * np.einsum("a,b,c->abc", a_law[1], we, wg).ravel()
        sd = np.sqrt(np.maximum(T.var_correct_1(a=A, Lam=Lam, mu_x=mu_x, lam=lam, L=L, V=V,
                                                d=d), 0.0))
        wx = A * mu_x * E + kap * (A - lam) + sd * G
        R = Lam - mu_x**2 + mu_x**2 * E + 1.0                      # ||A||^2
        # mean common shift (w_x + sum_j w_j)/V: the wrong weights' means sum to
        # lam (L - mu_x) + kappa (lam - a) given the test token's count a
        center = (wx + lam * (L - mu_x) - kap * (A - lam)) / V
        f, s2, ww = gram_nodes(wx, np.full_like(wx, Q), lam**2 * R / d, np.ones_like(wx), w,
                               d, V, n_chi=4, n_eta=8, n_q=3, center=center)
        F.append(f), S2.append(s2), W.append(ww), cls.append(np.full(f.size, i))
    F, S2, W, cls = (np.concatenate(x) for x in (F, S2, W, cls))
    # the wrong labels in groups of equal multiplicity mu_j in the test sequence, with their
    # expected numbers given mu_x (the L - mu_x other positions are fixed, so the
    # composition is not iid across labels); each label's weight is a mixture over its
    # count (1.7-1.9)
    groups = []
    for mu_j, n_j in zip(mus, n_mus):
        mean = c * mu_j + kap * (c - lam)
        var = ((c**2 - lam**2) * (Lbar + 1) / d + c**2 * mu_j**2 / d + (c - lam) ** 2 * kv
               + T.var_noise_tokens(c=c, L=L, V=V, Lam=Lbar, d=d))
        groups.append((mean, np.maximum(var, 0.0), pc, n_j[cls]))
    good = all_below(F, S2, W, groups, n_grid=96, n_scale=12)
    by = {int(m): float(good[cls == i].sum() / p) for i, (m, p) in enumerate(zip(mx, px))}
    acc = float(good.sum())
    return {"accuracy": float(min(max(acc, 0.0), 1.0)), "ceiling": float(T.ceiling_1(L=L)),
            "by_multiplicity": by}
