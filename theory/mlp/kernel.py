r"""The random-feature kernel after localization: neuron moments (docs/mlp.md, 5.5-5.12).

After localization a token x is read through :math:`\varphi_x = \sigma(W_1(e_x + z))/\sqrt m`.
A neuron :math:`w` (row of :math:`W_1`) enters only through :math:`s = \|w\|^2/d`
(:math:`\chi^2_d/d`), its trigger projection :math:`t = \sqrt d\,\hat w^\top z` (code ``T``)
(:math:`\approx\mathcal N(0,\zeta)`, :math:`\zeta = \|z\|^2`) and, for a fresh token,
:math:`w^\top e = \sqrt s\,g`, :math:`g\sim\mathcal N(0,1)` exactly.  So the pre-activation
is :math:`\sqrt s(t + g)` and every token average is a Hermite coefficient
:math:`c_i(t,s)` of :mod:`theory.mlp.hermite`.  Two neurons are coupled by
:math:`\tilde\rho = \hat w^\top\hat w'`, whose law given the projections :math:`\alpha,\alpha'`
of :math:`\hat w,\hat w'` on a fixed q-dimensional subspace is
:math:`\alpha\cdot\alpha' + \sqrt{(1-|\alpha|^2)(1-|\alpha'|^2)}\,\tilde\rho^\perp`, with
:math:`\tilde\rho^\perp` the cosine of the orthogonal parts, :math:`\mathbb E(\tilde\rho^\perp)^2 = 1/(d-q)`
(eq. 5.5, "pair moments").

The Hoeffding decomposition over tokens, given :math:`W_1, z`, is
:math:`K_{x'x} = \bar K + \beta_x + \beta_{x'} + P_{x'x}` with
:math:`\psi_x = \varphi_x - \mu`, :math:`\mu = \mathbb E_e\varphi`:
:math:`\bar K = \|\mu\|^2` (5.6, code ``kappa``), :math:`S_x = \|\psi_x\|^2` (5.7),
:math:`\beta_x = \mu^\top\psi_x` (5.8), :math:`P_{x'x} = \psi_{x'}^\top\psi_x` (5.9).  With
:math:`\Sigma_\varphi = \mathrm{Cov}_e(\varphi)`: :math:`\mathbb E P^2 = \|\Sigma_\varphi\|_F^2`,
:math:`\mathrm{Var}\,\beta = \mu^\top\Sigma_\varphi\mu`, each a diagonal (neuron j = l, the **MLP
noise**, :math:`O(1/m)`) plus a pair part (the **interference**, :math:`O(1/d)`).
:func:`conditional_moments` repeats this with the test token held fixed (5.10-5.12).
"""
from __future__ import annotations

import math

import numpy as np
import sympy as sp

from ..formula import formula
from ..quadrature import chi2_nodes, normal_nodes
from ..symbols import d, m
from .hermite import smoothed_table

v2, c0v, b1sq, onetoken = sp.symbols("v_2 c_0v b_1sq o_1", positive=True)
VAR_PAIR = formula("mlp.var_pair", "5.9", v2 / m + b1sq ** 2 / d,
                   "E P^2: MLP noise <v^2>/m plus interference <c_1^2>^2/d (leading orders)")
VAR_ONETOKEN = formula("mlp.var_onetoken", "5.8", c0v / m + onetoken / d,
                       "Var beta: MLP noise <c_0^2 v>/m plus interference o_1/d, "
                       "o_1 = <t c_0 c_1>^2/zeta + <c_0 c_2>^2 (leading orders)")

_FACT = [math.sqrt(math.factorial(i)) for i in range(6)]


def neuron_nodes(d: int, zeta: float, nt: int = 48, ns: int = 5):
    r"""Flattened nodes of one neuron's :math:`(t, s)`, :math:`t\sim\mathcal N(0,\zeta)`,
    :math:`s\sim\chi^2_d/d`, and their weights: three arrays of shape (nt*ns,)."""
    z, wz = normal_nodes(nt)
    sv, ws = chi2_nodes(d, ns, rule="laguerre")
    T = np.repeat(math.sqrt(zeta) * z, ns)
    S = np.tile(sv, nt)
    return T, S, np.outer(wz, ws).ravel()


def kernel_moments(activation: str, d: int, m: int, zeta: float = 1.0) -> dict:
    r"""Unconditional kernel moments (eqs. 5.6-5.9) for one task scale :math:`\zeta`.

    Returns
    -------
    dict of float
        ``kappa`` :math:`\mathbb E\bar K`; ``S`` :math:`\mathbb E S_x`; ``var_P``,
        ``var_beta``, ``var_S``, ``cov_S_beta``; their MLP-noise parts ``*_m`` (the
        :math:`1/m` diagonal) and interference parts ``*_inf``; and
        the constants of the leading-order formulas: ``b1sq`` :math:`\langle c_1^2\rangle`,
        ``v2`` :math:`\langle v^2\rangle`, ``c0v`` :math:`\langle c_0^2 v\rangle`, ``t4``
        (width-m variance of the test token's own signal, times m), ``pair``, ``onetoken``
        and ``testtok`` (the interference parts of :math:`\mathbb EP^2`,
        :math:`\mathrm{Var}\,\beta` and the test-token variance, times d).
    """
    D = smoothed_table(activation)
    T, S, W = neuron_nodes(d, zeta)
    E = lambda f: float(np.sum(W * f))
    c = [D[(1, i)](T, S) / _FACT[i] for i in range(5)]
    G2, G3, G4 = D[(2, 0)](T, S), D[(3, 0)](T, S), D[(4, 0)](T, S)
    c0 = c[0]
    v = G2 - c0 ** 2                                          # Var_g sigma, per neuron
    m3 = G3 - 3 * c0 * G2 + 2 * c0 ** 3
    m4 = G4 - 4 * c0 * G3 + 6 * c0 ** 2 * G2 - 3 * c0 ** 4
    h = [None] + [(D[(2, i)](T, S) - 2 * c0 * D[(1, i)](T, S)) / _FACT[i] for i in range(1, 5)]

    P_inf = sum(_cross(_mono(c[i] * c[j], T, W, zeta), _mono(c[i] * c[j], T, W, zeta), i + j, d)
                for i in range(1, 5) for j in range(1, 5) if i + j <= 4)
    B_inf = sum(_cross(_mono(c0 * c[i], T, W, zeta), _mono(c0 * c[i], T, W, zeta), i, d)
                for i in range(1, 5))
    S_inf = sum(_cross(_mono(h[i], T, W, zeta), _mono(h[i], T, W, zeta), i, d) for i in range(1, 5))
    C_inf = sum(_cross(_mono(h[i], T, W, zeta), _mono(c0 * c[i], T, W, zeta), i, d)
                for i in range(1, 5))
    # constants of the leading-order formulas (5.8, 5.9, 5.16, 5.17)
    out = {"kappa": E(c0 ** 2), "S": E(v), "b1sq": E(c[1] ** 2), "v2": E(v ** 2),
           "c0v": E(c0 ** 2 * v), "t4": E(m4 - v ** 2) + 2 * E(c0 * m3) + E(c0 ** 2 * v),
           "onetoken": B_inf * d, "pair": P_inf * d, "testtok": (S_inf + 2 * C_inf + B_inf) * d}
    diag = {"P": out["v2"], "beta": out["c0v"], "S": E(m4 - v ** 2), "cov": E(c0 * m3)}
    for name, inf, key in (("var_P", P_inf, "P"), ("var_beta", B_inf, "beta"),
                           ("var_S", S_inf, "S"), ("cov_S_beta", C_inf, "cov")):
        out[name + "_m"] = diag[key] / m
        out[name + "_inf"] = (1 - 1 / m) * inf
        out[name] = out[name + "_m"] + out[name + "_inf"]
    return out


def _mono(a, T, W, zeta):
    """Trigger-projection monomials of a neuron function: <a>, <a t>/sqrt(zeta), <a t^2>/zeta."""
    return (float(np.sum(W * a)), float(np.sum(W * a * T)) / math.sqrt(zeta),
            float(np.sum(W * a * T ** 2)) / zeta)


def _cross(ma, mb, i, d):
    r""":math:`\mathbb E[a(w)b(w')\tilde\rho^i]` to :math:`O(d^{-2})` from the monomials (eq. 5.5),
    projections on span(z): :math:`\mathbb E[\tilde\rho|\cdot] = tt'/(d\zeta)`,
    :math:`\mathbb E[\tilde\rho^2|\cdot] = (tt')^2/(d\zeta)^2 + (1 - t^2/d\zeta)(1-t'^2/d\zeta)/(d-1)`,
    :math:`\mathbb E\tilde\rho^3 \approx 3tt'/(d^2\zeta)`, :math:`\mathbb E\tilde\rho^4\approx 3/d^2`."""
    (a0, a1, a2), (b0, b1, b2) = ma, mb
    if i == 1:
        return a1 * b1 / d
    if i == 2:
        return a2 * b2 / d ** 2 + (a0 - a2 / d) * (b0 - b2 / d) / max(d - 1, 1)
    if i == 3:
        return 3 * a1 * b1 / d ** 2
    return 3 * a0 * b0 / d ** 2


def _cross2(ma, mb, i, d):
    r"""As :func:`_cross` for projections on the 2-plane span(z, e_x) (test token fixed):
    monomials ``(a0, at, ah, att, ath, ahh)`` of :math:`t/\sqrt\zeta` and :math:`h_\perp/\sqrt{\nu_\perp}`."""
    a0, at, ah, att, ath, ahh = ma
    b0, bt, bh, btt, bth, bhh = mb
    if i == 1:
        return (at * bt + ah * bh) / d
    if i == 2:
        return ((att * btt + 2 * ath * bth + ahh * bhh) / d ** 2
                + (a0 - (att + ahh) / d) * (b0 - (btt + bhh) / d) / max(d - 2, 1))
    if i == 3:
        return 3 * (at * bt + ah * bh) / d ** 2
    return 3 * a0 * b0 / d ** 2


def conditional_moments(activation: str, d: int, m: int, zeta: float, n_e, gamma) -> dict:
    r"""Kernel seen by one test token x, given :math:`\nu_e = \|e_x\|^2` (``n_e``),
    :math:`\epsilon = z^\top e_x` (``gamma``) (eqs. 5.10-5.12), averaged over :math:`W_1` and the other tokens.

    Per neuron the test pre-activation is :math:`\sqrt s(t(1+\epsilon/\zeta) + h_\perp)`,
    :math:`h_\perp\sim\mathcal N(0,\nu_\perp)`, :math:`\nu_\perp = \nu_e - \epsilon^2/\zeta` (code ``q``);
    :math:`h_\perp` is integrated in closed form through :math:`G_q` and Stein's identity.

    Parameters
    ----------
    activation : {"relu", "he2"}
    d, m : int
        Embedding dimension and MLP width.
    zeta : float
        :math:`\zeta = \|z\|^2`.
    n_e, gamma : array_like, shape (X,)
        Test-token nodes :math:`\nu_e` and :math:`\epsilon`.

    Returns
    -------
    dict of ndarray, shape (X,)
        ``signal`` :math:`\Delta_x = K_{xx} - \bar K_x` (5.10), ``kappa`` :math:`\bar K_x =
        \mathbb E_{x'}K_{x'x}` (5.11), ``Q`` :math:`\mathrm{Var}_{x'}K_{x'x}` (5.12) with its
        MLP-noise part ``Q_m`` and interference part ``Q_inf``; ``signal_var_m``
        (:math:`\mathrm{Var}\,\delta\Delta_x`, the :math:`1/m` variance of the signal); and
        ``cov_signal_Q`` and ``var_Q_m`` (:math:`\mathrm{Cov}(\delta\Delta_x,\delta Q_x)` and
        :math:`\mathrm{Var}\,\delta Q_x`, eq. 5.12b).
    """
    D = smoothed_table(activation)
    n_e = np.atleast_1d(np.asarray(n_e, dtype=float))[:, None]          # (X, 1)
    gamma = np.atleast_1d(np.asarray(gamma, dtype=float))[:, None]      # (X, 1)
    T, S, W = neuron_nodes(d, zeta)                                     # (Nn,)
    # |gamma| <= sqrt(n_e zeta) exactly; Gaussian gamma nodes may cross it at small d
    q = np.maximum(n_e - gamma ** 2 / zeta, 0.1 * n_e)                  # (X, 1)
    tt = T * (1 + gamma / zeta) / np.sqrt(q)                            # (X, Nn)
    ss = S * q
    EF, EF1, EF2d = D[(1, 0)](tt, ss), D[(1, 1)](tt, ss), D[(1, 2)](tt, ss)
    EFh, EFhh = np.sqrt(q) * EF1, q * (EF2d + EF)                       # E[F h], E[F h^2]
    F2, F3, F4 = D[(2, 0)](tt, ss), D[(3, 0)](tt, ss), D[(4, 0)](tt, ss)
    c = [D[(1, i)](T, S) / _FACT[i] for i in range(5)]                  # (Nn,)
    v = D[(2, 0)](T, S) - c[0] ** 2
    E = lambda f: np.sum(W * f, axis=-1)                                # (X,)
    kappa = E(c[0] * EF)
    signal = E(F2) - kappa
    tz, sq = T / np.sqrt(zeta), np.sqrt(q[:, 0])
    Q_inf = 0.0
    for i in range(1, 5):
        mono = (E(c[i] * EF), E(c[i] * EF * tz), E(c[i] * EFh) / sq, E(c[i] * EF * tz ** 2),
                E(c[i] * EFh * tz) / sq, E(c[i] * EFhh) / q[:, 0])
        Q_inf = Q_inf + _cross2(mono, mono, i, d)
    Q_m = E(F2 * v) / m
    sig_m = (E(F4 - 2 * c[0] * F3 + c[0] ** 2 * F2) - signal ** 2) / m
    # width-m co-fluctuation of the realised signal (psi = F^2 - F c0 averaged over the m
    # neurons) with Q (diagonal part and the leading pair sums A_t, A_h, A_0): eq. 5.12b
    psiF = F3 - c[0] * F2                                               # E_h[psi F]
    psiFh = np.sqrt(q) * (D[(3, 1)](tt, ss) - c[0] * D[(2, 1)](tt, ss))  # E_h[psi F h]
    A_t, A_h, A_0 = E(c[1] * EF * tz), E(c[1] * EFh) / sq, E(c[2] * EF)
    cov = (E((F4 - c[0] * F3) * v) - signal * E(F2 * v)) / m + (2 / d) * (
        A_t * (E(psiF * c[1] * tz) - signal * A_t) + A_h * (E(psiFh * c[1]) / sq - signal * A_h)
        + A_0 * (E(psiF * c[2]) - signal * A_0))
    # Var of the same linearisation of Q, phi_Q = F^2 v/m + (2/d) F (A_t c1 t + A_h c1 h + A_0 c2)
    qa = q[:, :1]
    lin = (A_t[:, None] * c[1] * tz + A_0[:, None] * c[2])             # coefficient of F
    linh = A_h[:, None] * c[1] / np.sqrt(qa)                             # coefficient of F h
    F2h, F2hh = np.sqrt(qa) * D[(2, 1)](tt, ss), qa * (D[(2, 2)](tt, ss) + F2)
    F3h = np.sqrt(qa) * D[(3, 1)](tt, ss)
    e2 = (E(F4 * v ** 2) / m ** 2 + (4 / d ** 2) * E(lin ** 2 * F2 + 2 * lin * linh * F2h
                                                    + linh ** 2 * F2hh)
          + (4 / (m * d)) * E(v * (lin * F3 + linh * F3h)))
    mean_q = E(F2 * v) / m + (2 / d) * (A_t ** 2 + A_h ** 2 + A_0 ** 2)
    return {"signal": signal, "kappa": kappa, "Q": Q_m + (1 - 1 / m) * Q_inf, "Q_m": Q_m,
            "Q_inf": (1 - 1 / m) * Q_inf, "signal_var_m": sig_m, "cov_signal_Q": cov / m,
            "var_Q_m": np.maximum(e2 - mean_q ** 2, 0.0) / m}
