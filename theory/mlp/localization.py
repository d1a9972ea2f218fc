r"""Step 2 through the MLP: localization of the attention-MLP model (docs/mlp.md, 5.4a-5.4b, 5.30-5.36).

At uniform attention the step-2 query direction is
:math:`q \propto \frac1N\sum_n \Gamma_n J_n^\top c_{y_n}` with
:math:`\Gamma_n v = \frac1L\sum_i (\xi_{n,i} - a_n)\,\xi_{n,i}^\top v` (within-sample covariance),
the step-1 read-out
:math:`c_y = W_V^{(1)\top}\tilde u_y \propto \frac1N\sum_{n'}\tilde u_{y_{n'}}^\top\tilde u_y\,
\varphi(a_{n'})` and :math:`J_n^\top c = W_1^\top(\sigma'(W_1a_n)\odot c)/\sqrt m`, so
:math:`J_n^\top c_{y} = \frac1N\sum_{n'}\tilde u_{y_{n'}}^\top\tilde u_y\,\nabla_a K(a_{n'}, a_n)`.
(infinite width).  For the dual kernel :math:`k(\nu', \nu, \chi)` (eq. 5.4; squared norms
:math:`\nu = \|a\|^2`, overlap :math:`\chi = a'^\top a`) the gradient is exactly
:math:`\nabla_aK(a',a) = \kappa\,a' + \lambda\,a` with :math:`\kappa = \partial_\chi k`,
:math:`\lambda = 2\partial_\nu k` (5.30).  The attention-only model has :math:`\kappa = 1,
\lambda = 0`; the MLP replaces the single weight by one per family of pairs (5.31):

* self (:math:`n'=n`, :math:`\chi = \nu`): :math:`\omega_S = (\kappa+\lambda)|_{self}/\kappa_O`;
* same label (:math:`n'\ne n`, shared informative token): :math:`\omega_P = \kappa_P/\kappa_O`;
* label mean (the :math:`\bar u`-centred rest, the "mean direction" of the attention
  theory) gains the :math:`\lambda a_n` part: :math:`\omega_{mean} = (\kappa_O+\lambda_O)/\kappa_O`,

with :math:`\nu_0 = \mathbb E\|a\|^2 = (1 + L + L(L-1)/V)/L^2` (5.33),
:math:`\chi_O = (1 + L^2/V)/L^2` (5.34; trigger plus token repeats) and :math:`\chi_P = \chi_O + 1/L^2`.
The finite width adds to the label-mean part, whose read-out is coherent over all samples
of a label, an isotropic sketch noise of relative variance :math:`\vartheta d/m` with
:math:`\vartheta = \mathbb E[\bar\sigma^2\sigma'^2]/\|\kappa_O\bar a + \lambda_O a\|^2`,
:math:`\bar\sigma(w) = \mathbb E_{a'}\sigma(w^\top a')` (5.32).  Everything else is the attention-only
localization of :mod:`theory.gaussian.localization` (eqs. 2.11-2.39), whose self- and
pair-family scale variables carry :math:`\omega_S + \omega_{mean}(g-1)` (5.36) and
:math:`\omega_P h`: the combined law is eq. 5.35.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import sympy as sp

from ..gaussian import localization as LOC
from ..gaussian import localization_terms as T
from common.checks import check_choice, check_config, check_int
from ..formula import formula
from .hermite import DUAL, PIECES, activation_expr, c, n1, n2, x
from ..symbols import L, V, d, m

N0 = formula("mlp.uniform_norm", "5.33", (1 + L + L * (L - 1) / V) / L ** 2,
             "E||a||^2 at uniform attention: trigger, L tokens, repeated pairs")
C_OTHER = formula("mlp.uniform_overlap", "5.34", (1 + L ** 2 / V) / L ** 2,
                  "E a'^T a for two samples: shared trigger and coincident tokens")


@lru_cache(maxsize=None)
def _grad_fns(activation: str):
    k = DUAL[check_choice("activation", activation, tuple(PIECES))].expr
    kc, kn = sp.diff(k, c), 2 * sp.diff(k, n2)
    return (sp.lambdify((n1, n2, c), kc, "numpy"), sp.lambdify((n1, n2, c), kn, "numpy"),
            sp.lambdify((n1, n2, c), k, "numpy"))


def _self_coefficient(activation: str, n: float) -> float:
    r""":math:`(\kappa+\lambda)|_{self} = \mathbb E[\sigma'(u)^2 + \sigma(u)\sigma''(u)]`,
    :math:`u\sim\mathcal N(0,n)` (Stein on :math:`\mathbb E[w\,\sigma\sigma'(w^\top a)]`), (5.31); u has variance :math:`\nu_0` = ``n``."""
    e = activation_expr(activation)
    if activation == "relu":            # sigma sigma'' = 0 and sigma'^2 = [u > 0]
        return 0.5
    f = sp.diff(e, x) ** 2 + e * sp.diff(e, x, 2)
    g = sp.Symbol("g", real=True)
    val = sp.integrate(f.subs(x, sp.sqrt(n) * g) * sp.exp(-g ** 2 / 2) / sp.sqrt(2 * sp.pi),
                       (g, -sp.oo, sp.oo))
    return float(val)


@lru_cache(maxsize=None)
def step2_coefficients(activation: str, V: int, L: int) -> dict:
    r"""Family weights of the step-2 gradient (eqs. 5.30-5.32) for one (V, L).

    Returns
    -------
    dict of float
        ``kappa_O, kappa_P, lam_O`` (5.30 at :math:`\chi_O, \chi_P`), ``self`` (5.31),
        ``w_self, w_pair, w_mean`` (:math:`\omega_S, \omega_P, \omega_{mean}`, relative to
        :math:`\kappa_O`), ``theta`` (:math:`\vartheta`, 5.32), ``n0`` (5.33) and ``cO`` (5.34).
    """
    n0 = float(N0(V=V, L=L))
    cO = float(C_OTHER(V=V, L=L))
    cP = cO + 1.0 / L ** 2
    kc, kn, k = _grad_fns(activation)
    kO, kP, lO = float(kc(n0, n0, cO)), float(kc(n0, n0, cP)), float(kn(n0, n0, cO))
    s = _self_coefficient(activation, n0)
    # theta: E[f^2 sigma'^2] by a 3-d Gauss-Hermite rule, (u0, u1, u2) equicorrelated
    cov = np.full((3, 3), cO) + np.eye(3) * (n0 - cO)
    Lc = np.linalg.cholesky(cov)
    z, w = np.polynomial.hermite_e.hermegauss(24)
    w = w / w.sum()
    Z = np.stack(np.meshgrid(z, z, z, indexing="ij"), -1).reshape(-1, 3)       # (24^3, 3)
    W = np.einsum("i,j,k->ijk", w, w, w).ravel()
    U = Z @ Lc.T
    sig = sp.lambdify(x, activation_expr(activation), "numpy")
    dsig = sp.lambdify(x, sp.diff(activation_expr(activation), x), "numpy")
    num = float(np.sum(W * sig(U[:, 1]) * sig(U[:, 2]) * np.asarray(dsig(U[:, 0])) ** 2))
    den = kO ** 2 * cO + lO ** 2 * n0 + 2 * kO * lO * cO
    return {"kappa_O": kO, "kappa_P": kP, "lam_O": lO, "self": s, "w_self": s / kO,
            "w_pair": kP / kO, "w_mean": (kO + lO) / kO, "theta": num / den, "n0": n0, "cO": cO}


SKETCH = formula("mlp.sketch_inflation", "5.32", 1 + sp.Symbol("vartheta", positive=True) * d / m,
                 "variance inflation of the label-mean read-out by a width-m gradient sketch")
_wS, _wM, _g = sp.symbols("omega_S omega_mean g", real=True)
#: Scale of the self family through the MLP (5.36): the self pair keeps omega_S, the label-frequency
#: part g - 1 = Q/(Na) of the attention-only scale is read by kappa_O abar + lambda_O a_n.
SELF_SCALE = formula("mlp.self_scale", "5.36", _wS + _wM * (_g - 1),
                     "self-family scale: own pair omega_S plus label-frequency pairs omega_mean (g - 1)")


def mlp_localization(V, N, d, L, m, activation: str = "relu") -> dict:
    r"""Predicted localization after step 2 for the attention-MLP model (eq. 5.35).

    The attention-only theory (eqs. 2.11-2.39) evaluated with the family weights of
    :func:`step2_coefficients`: self-family scale
    :math:`g \to \omega_S + \omega_{mean}(g - 1)` (5.36; the own pair and the label-frequency
    pairs :math:`g - 1 = Q/(Na)` of eq. 2.31 carry different weights), pair family
    :math:`h\to \omega_P h`, the label-mean (``mean_direction``) variances times the sketch
    :math:`1 + \vartheta d/m` (5.32), the training sample's own shift and
    variances (eqs. 2.34, 2.36-2.37) times :math:`\omega_S` and :math:`\omega_S^2`.

    Parameters
    ----------
    V, N, d, L, m : int
        Vocabulary, training samples, embedding dimension, sequence length, MLP width.
    activation : {"relu", "he2"}

    Returns
    -------
    dict
        ``p_test``, ``p_train`` (floats), ``signal`` (mean trigger score, attention units
        times 1), ``terms`` (name -> standard deviation in units of ``signal``) and the
        ``coefficients`` of :func:`step2_coefficients`.
    """
    cfg = check_config(V, d, L, m, "gaussian", activation, N)
    V, d, L, m, N = cfg["V"], cfg["d"], cfg["L"], cfg["m"], check_int("N", N, 1)
    if L == 1:                          # attention is constant: every read-out is localized
        return {"p_test": 1.0, "p_train": 1.0, "signal": 0.0, "terms": {}, "coefficients": {}}
    co = step2_coefficients(activation, V, L)
    (r, g, h, X), w = LOC._nodes(V, N, d, L)
    # the self family's own pair and its label-frequency part carry different weights (5.36);
    # the mean-direction terms are g^2-scaled, so omega_mean reaches them through gs already
    gs = SELF_SCALE(omega_S=co["w_self"], omega_mean=co["w_mean"], g=g)
    hs = h * co["w_pair"]
    EA, tok, com = T.terms(V, N, d, L, r=r, g=gs, h=hs, X=X)
    infl = float(SKETCH(vartheta=co["theta"], d=d, m=m))
    tok["mean_direction"] = tok["mean_direction"] * infl
    com["mean_direction"] = com["mean_direction"] * infl
    s2 = np.maximum(sum(np.broadcast_to(v, w.shape) for v in tok.values()), 1e-300)
    vA = np.maximum(sum(np.broadcast_to(v, w.shape) for v in com.values()), 0.0)
    EA = np.broadcast_to(EA, w.shape)
    p_test = LOC._probability(V, L, EA, s2, vA, w)
    # the training sample's own contributions to q belong to the self family (eqs. 2.34, 2.36-2.37)
    ws = co["w_self"]
    shift = np.broadcast_to(T.TRAIN_SHIFT(V=V, N=N, d=d, L=L, r=r), w.shape) * ws
    ex_t = np.broadcast_to(T.TRAIN_VAR_NOISE(V=V, N=N, d=d, L=L, r=r), w.shape) * ws ** 2
    ex_x = np.broadcast_to(T.TRAIN_VAR_INFO(V=V, N=N, d=d, L=L, r=r), w.shape) * ws ** 2
    p_train = LOC._probability(V, L, EA + shift, s2 + ex_t * (1.0 - 1.0 / V),
                               vA + np.maximum(ex_x - ex_t, 0.0), w)
    Ew = lambda a: float(np.sum(w * np.broadcast_to(a, w.shape)))               # noqa: E731
    sig = Ew(EA)
    # a negative self weight (he2) turns self x pair covariances negative: report |.|
    terms = {f"token.{k}": math.sqrt(abs(2.0 * Ew(v) / (1.0 - 1.0 / V))) / abs(sig)
             for k, v in tok.items()}
    terms.update({f"common.{k}": math.sqrt(abs(Ew(v))) / abs(sig) for k, v in com.items()})
    return {"p_test": p_test, "p_train": p_train, "signal": sig, "terms": terms,
            "coefficients": co}
