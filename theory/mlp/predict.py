r"""T5: the attention-MLP model in the early-phase limit, gaussian embeddings (docs/mlp.md).

After localization a training sample of token x is read through
:math:`\varphi_x = \sigma(W_1(e_x+z))/\sqrt m`, so :math:`W_V^{(2)}\propto
\sum_x c_x\tilde u_{\pi(x)}\varphi_x^\top` and a test token x gets the logits
:math:`V f_k = \sum_{x'} r_{x'}\,u_k^\top\tilde u_{\pi(x')}\,K_{x'x}`, :math:`r = Vc/N`,
:math:`K = \varphi^\top\varphi`; the mean margin is :math:`p_{train}S` (eq. 5.13).  With the
test token held fixed, :math:`K_{x'x} = \bar K_x + \delta_{x'}` for :math:`x'\ne x` and
:math:`K_{xx} = \bar K_x + \Delta_x` (:mod:`theory.mlp.kernel`, 5.10-5.12), and the margin of
the correct label over a wrong label k is (5.14)

.. math::
    M_k = r_x(\Delta_x + \bar K_x) - r_k\bar K_x + Z_y - Z_k,

a **signal** :math:`r_x \Delta_x`, a **mean bias** :math:`\bar K_x(r_x - r_k)` plus its label
cross-talk, a common term :math:`Z_y` and a per-label term :math:`Z_k` whose variances
(5.15-5.16) hold the **interference** (:math:`O(1/d)`) and **MLP noise**
(:math:`O(1/m)`, :math:`O(V/(md))`).  The accuracy integral (5.22) conditions on the counts,
:math:`\zeta = \|z\|^2` and the test token, and takes the maximum over the V-1 wrong labels
with :func:`theory.accuracy.all_below`.  Localization comes from
:mod:`theory.mlp.localization` (eq. 5.35); the phase diagram from :mod:`theory.mlp.phase`.
"""
from __future__ import annotations

import math

import numpy as np
import sympy as sp

from common.checks import check_config, check_int
from ..accuracy import all_below, binomial_law, lump
from ..quadrature import chi2_nodes, normal_nodes
from ..formula import formula
from .kernel import conditional_moments, kernel_moments
from .localization import DUAL, mlp_localization
from ..symbols import N, V, d, m

p, kap, S, pi1, v2, c0v, o1 = sp.symbols("p kappa_bar S_sig pi_1 v_2 c_0v o_1", positive=True)
#: own wrong token + V-2 others + V-1 into the correct label (5.19, 5.20)
SHARED_FACTOR = 1 + (2 * V - 3) / d

SIGNAL = formula("mlp.signal", "5.13", p * S, "mean margin p S (margin units V (f_y - f_k))")
TERMS = {
    "mean_bias": formula(
        "mlp.term.mean_bias", "5.17",
        kap ** 2 * 2 * V * p / N * (1 + (V - 1) / d),
        "kappa_bar (r_x - r_k) + kappa_bar (X_y - X_k): label counts and their cross-talk"),
    "sample_count": formula("mlp.term.sample_count", "5.18", S ** 2 * V * p / N,
                            "S (r_x - p): count of the test token's own samples"),
    "mlp_noise": formula(
        "mlp.term.mlp_noise", "5.19", p ** 2 * SHARED_FACTOR * (v2 + c0v) / m,
        "width-m parts of Var_x' K_x'x: own wrong token, V-2 others, V-1 into the correct label"),
    "interference": formula(
        "mlp.term.interference", "5.20", p ** 2 * SHARED_FACTOR * (pi1 + o1) / d,
        "embedding parts of the same terms: pair pi_1 = <c_1^2>^2 + O(1/d), one-token o_1"),
    "label_crosstalk": formula("mlp.term.label_crosstalk", "5.21", 3 * p ** 2 * S ** 2 / d,
                               "u_k^T u_y S_x and ||u_y||^2 fluctuations"),
}


def constants(activation: str, d: int, m: int, zeta: float = 1.0) -> dict:
    r"""Values of the activation constants of eqs. 5.17-5.21 (from :func:`kernel_moments`):
    ``kappa_bar`` :math:`\bar K`, ``S_sig`` :math:`S`, ``pi_1`` :math:`\varpi_1`, ``v_2``
    :math:`\langle v^2\rangle`, ``c_0v`` :math:`\langle c_0^2v\rangle`, ``o_1`` :math:`o_1` (floats).

    The test token's own fluctuations (``t4``, ``testtok`` of :func:`kernel_moments`) are not a
    term: the accuracy integral conditions on the test token, whose signal and noise co-vary.
    """
    k = kernel_moments(activation, d, m, zeta)
    return {"kappa_bar": k["kappa"], "S_sig": k["S"], "pi_1": k["pair"], "v_2": k["v2"],
            "c_0v": k["c0v"], "o_1": k["onetoken"]}


def mlp_margin_terms(V, N, d, m, activation="relu", p_train=1.0) -> dict:
    r"""Variances of the named margin terms (eqs. 5.17-5.21), margin units, at :math:`\zeta=1`.

    Returns ``(variances, signal)``: dict name -> variance (float) and the mean margin
    :math:`p_{train}S` (eq. 5.13).  The registered terms 5.19-5.21 carry no factor
    :math:`p_{train}^2` (docs/mlp.md, section 3).
    """
    vals = dict(constants(activation, d, m), V=V, N=N, d=d, m=m, p=p_train)
    return {k: float(f.at(vals)) for k, f in TERMS.items()}, float(SIGNAL.at(vals))


def _recall(V, N, d, m, activation, p_tr, n_zeta=5, n_tok=4, n_gauss=6):
    """Recall of localized test sequences, eq. 5.22, with the conditional variances 5.15-5.16
    and the width-m regression 5.12b (see module docstring); returns a float."""
    rv, rw = binomial_law(N, p_tr / V)
    r = V * rv / N                                                      # (J,) wrong-label law
    rx, wx = lump(rv, rw, 40)
    rx = V * rx / N                                                     # (A,) test-token law
    G, wg = normal_nodes(n_gauss)
    zs, wz = chi2_nodes(d, n_zeta)
    ne, wne = chi2_nodes(d, n_tok)
    gn, wgn = normal_nodes(n_tok)
    kdual = DUAL[activation]
    acc = 0.0
    for zeta, wze in zip(zs, wz):
        NE = np.repeat(ne, n_tok)
        GA = (np.sqrt(np.outer(ne, np.ones(n_tok)) * zeta / d) * gn).ravel()
        GA = np.clip(GA, -0.95 * np.sqrt(NE * zeta), 0.95 * np.sqrt(NE * zeta))  # |z^T e| bound
        WX = np.outer(wne, wgn).ravel() * wze
        C = conditional_moments(activation, d, m, zeta, NE, GA)
        # a mislocalized training sample reads phi(e_w): common kernel with x is k(1, n_x, 0)
        kl = kdual(n_1=1.0, n_2=NE + 2 * GA + zeta, c=0.0)
        for j in range(NE.size):
            sig, kb, Q, sm, cq, vq = (C[k][j] for k in (
                "signal", "kappa", "Q", "signal_var_m", "cov_signal_Q", "var_Q_m"))
            leak = kl[j] ** 2 * V * (1 - p_tr) / N * (1 + (V - 1) / d)
            X = kb ** 2 * V * (V - 1) * p_tr / (N * d) + leak
            R = rx[:, None, None, None]                                 # (A, 1, 1, 1)
            sy2 = ((2 / d) * (R * sig + kb * (R - p_tr)) ** 2 + X
                   + (V - 1) / d * p_tr ** 2 * Q)
            # width-m noise: the token's realised signal xi (G1) and, along its regression and
            # independently of it (G3), the realised Q of its wrong labels (eq. 5.12b)
            beta = cq / sm if sm > 0 else 0.0
            xi = np.sqrt(sm) * G[None, :, None, None]                   # (1, G, 1, 1)
            dQ = beta * xi + np.sqrt(max(vq - beta * cq, 0.0)) * G[None, None, None, :]
            F = R * (sig + kb + xi) + np.sqrt(sy2) * G[None, None, :, None] + 0 * dQ  # (A,G,G,G)
            # common to all wrong labels at a node: p^2 (1 + (V-2)/d)(Q + dQ) and the label
            # cross-talk; the mixture keeps the count-dependent rest (may be < 0 for r < p)
            mu = r * kb
            var = (r ** 2 - p_tr ** 2) * Q + (2 / d) * kb ** 2 * (r - p_tr) ** 2 + X
            cQ = p_tr ** 2 * (1 + (V - 2) / d)
            # the Gaussian dQ cannot push a wrong label's total variance var_j + S2 below 0:
            # its tail is cut where the decomposition stops being valid
            floor = np.maximum(-0.9 * Q, -(var.min() + R ** 2 * sig ** 2 / d) / cQ - Q)
            dQ = np.maximum(dQ, floor)
            S2 = R ** 2 * sig ** 2 / d + cQ * (Q + dQ) + 0 * F
            w = (WX[j] * wx[:, None, None, None] * wg[None, :, None, None]
                 * wg[None, None, :, None] * wg[None, None, None, :])
            acc += float(all_below(F, S2, w, [(mu, var, rw, V - 1)], n_grid=96, n_scale=12).sum())
    return acc


def predict_mlp(V, N, d, L, m, activation: str = "relu") -> dict:
    r"""Predicted accuracy of the attention-MLP model after the three early-phase steps.

    Parameters
    ----------
    V, N, d, L, m : int
        Vocabulary, training samples, embedding dimension, sequence length, MLP width.
    activation : {"relu", "he2"}

    Returns
    -------
    dict
        ``accuracy`` (5.23), ``localization`` (test, 5.35), ``localization_train`` (5.35),
        ``recall`` (5.22), ``terms`` (name -> standard deviation in units of the mean
        signal :math:`p_{train}S`, eqs. 5.17-5.21), ``regime`` (the largest term, or
        ``"localization"`` when missed localization costs more than recall),
        ``localization_terms`` and the kernel constants ``signal`` :math:`S`, ``kappa``
        :math:`\bar K`.  All values are floats (``terms`` a dict of floats).
    """
    cfg = check_config(V, d, L, m, "gaussian", activation, N)
    if cfg["m"] is None:
        raise ValueError("predict_mlp needs the MLP width m")
    V, d, L, m, act = cfg["V"], cfg["d"], cfg["L"], cfg["m"], cfg["activation"]
    N = check_int("N", N, 1)
    loc = mlp_localization(V, N, d, L, m, act)
    p_te, p_tr = float(loc["p_test"]), float(loc["p_train"])
    recall = _recall(V, N, d, m, act, max(p_tr, 1e-6))
    # a mislocalized test reads a noise token w != x and mostly predicts pi(w)
    acc = p_te * recall + (1 - p_te) * (1 - recall) / (V - 1)
    var, sig = mlp_margin_terms(V, N, d, m, act, p_tr)
    terms = {k: math.sqrt(v) / sig for k, v in var.items()}
    regime = max(terms, key=terms.get)
    if 1 - p_te > 1 - recall:
        regime = "localization"
    k = kernel_moments(act, d, m)
    return {"accuracy": acc, "localization": p_te, "localization_train": p_tr,
            "recall": recall, "terms": terms, "regime": regime,
            "localization_terms": loc["terms"], "signal": k["S"], "kappa": k["kappa"]}
