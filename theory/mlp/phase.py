r"""Phase diagram of the attention-MLP model in the (N, m d) plane (docs/mlp.md, 5.24-5.29).

Every margin term of :mod:`theory.mlp.predict` scales as one power law at fixed (V, L, d)
(eqs. 5.17-5.21): the **mean bias** :math:`\propto 1/N`, the **sample count**
:math:`\propto 1/N`, the **MLP noise** :math:`C_m/m = d\,C_m/(md)`, the **interference**
:math:`C_\infty/d` and the label cross-talk :math:`3S^2/d` (both independent of N and m),

.. math::
    C_m = \Big(1 + \tfrac{2V-3}{d}\Big)(v_2 + c_{0v}),\qquad
    C_\infty = \Big(1 + \tfrac{2V-3}{d}\Big)(\varpi_1 + o_1),

with :math:`v_2 = \langle v^2\rangle`, :math:`c_{0v} = \langle c_0^2v\rangle` and the pair and
one-token interference constants :math:`\varpi_1` (code ``pi_1``), :math:`o_1`.

Equating two of them gives the boundaries as explicit curves :math:`(md)(N)`: lines through
the origin against the N-terms (5.24, 5.25), a horizontal line against the interference
(5.26) and a vertical line :math:`N_\times` where the mean bias meets the interference
(5.27).  The required width for a target accuracy :math:`\tau` follows from asking the mean
margin to beat the median maximum of the V-1 per-label noises, :math:`\Lambda_V\sqrt{D_k}`
(5.28; code ``z_V``), by :math:`\Lambda_\tau = \Phi^{-1}(\tau)` (code ``z_tau``) common noise
:math:`\sqrt{D_y}`: :math:`p_{train}S = \Lambda_V\sqrt{D_k} + \Lambda_\tau\sqrt{D_y}` (5.29), whose root in m is :math:`(md)^*/d`;
:func:`required_md` solves the full accuracy integral instead.
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from scipy.optimize import brentq
from scipy.special import erfinv

from common.checks import check_choice, check_config, check_fraction
from ..formula import formula
from ..symbols import N, V, d, m
from .hermite import PIECES
from .localization import mlp_localization
from .predict import SHARED_FACTOR, TERMS, S, c0v, constants, kap, o1, p, pi1, predict_mlp, v2

C_M = p ** 2 * SHARED_FACTOR * (v2 + c0v)                   # m x MLP-noise variance (5.19)
C_INF = p ** 2 * SHARED_FACTOR * (pi1 + o1)                 # d x interference variance (5.20)
_bias = N * TERMS["mean_bias"].expr                         # N x mean-bias variance (5.17)

BOUNDARY = {
    "mlp_noise|mean_bias": formula("mlp.boundary.mlp_vs_mean_bias", "5.24",
                                   N * d * C_M / _bias, "md where MLP noise = mean bias"),
    "mlp_noise|sample_count": formula("mlp.boundary.mlp_vs_sample_count", "5.25",
                                      N * d * C_M / (V * p * S ** 2),
                                      "md where MLP noise = sample count"),
    "mlp_noise|interference": formula("mlp.boundary.mlp_vs_interference", "5.26",
                                      d ** 2 * C_M / C_INF, "md where MLP noise = interference"),
}
N_CROSS = formula("mlp.boundary.mean_bias_vs_interference", "5.27", d * _bias / C_INF,
                  "N where the mean bias meets the interference (a vertical line)")
Z_V = formula("mlp.z_max", "5.28",
              sp.sqrt(2) * sp.erfinv(2 * sp.Rational(1, 2) ** (1 / (V - 1)) - 1),
              "median of the largest of V-1 standard normals")
# shared (correct-label) and per-wrong-label halves of the terms 5.17-5.21 (eq. 5.29)
_x = TERMS["mean_bias"].expr / 2                            # each label's half of (5.17)
SHARED = _x + S ** 2 * V * p / N + p ** 2 * ((V - 1) / d * (v2 + c0v) / m
                                           + (V - 1) / d * (pi1 + o1) / d + 2 * S ** 2 / d)
PER_LABEL = _x + p ** 2 * ((1 + (V - 2) / d) * (v2 + c0v) / m
                           + (1 + (V - 2) / d) * (pi1 + o1) / d + S ** 2 / d)
zt, zv = sp.symbols("z_tau z_V", real=True)
CRITERION = formula("mlp.required_md", "5.29",
                    p * S - zv * sp.sqrt(PER_LABEL) - zt * sp.sqrt(SHARED),
                    "accuracy tau is reached where p S = z_V sigma_k + z_tau sigma_y; "
                    "(md)* = d m at its root in m")


def _values(V, d, activation, p_train):
    return dict(constants(activation, d, 10 ** 9), V=V, d=d, p=p_train)


def mlp_phase_boundaries(V, L, activation: str = "relu", d: int = 32, N=None, tau=0.9) -> dict:
    r"""Boundaries of the dominant-term regions in the (N, m d) plane at fixed d (5.24-5.29).

    Parameters
    ----------
    V, L : int
    activation : {"relu", "he2"}
    d : int
        Embedding dimension held fixed along the plane (m = (m d)/d varies).
    N : array_like, optional
        Sample sizes (default 20 points, log-spaced from V to 1000 V).
    tau : float
        Target accuracy of the required-width curve.

    Returns
    -------
    dict
        ``N`` (K,) floats; ``md`` dict boundary name -> (K,) curves (5.24-5.26); ``N_cross`` the
        mean-bias/interference line (5.27); ``required_md`` (K,) (md)* from the criterion
        (5.29, ``inf`` where no width reaches tau); ``p_train`` (K,) the training
        localization used.
    """
    cfg = check_config(V, d, L, None, "gaussian", activation)
    V, L, d = cfg["V"], cfg["L"], cfg["d"]
    tau = check_fraction("tau", tau)
    N = np.unique(np.round(np.geomspace(V, 1000 * V, 20) if N is None else np.asarray(N)))
    if N.size == 0 or np.any(N < 1):
        raise ValueError("N must be a non-empty array of integers >= 1")
    p_tr = np.array([mlp_localization(V, int(n), d, L, 10 ** 9, activation)["p_train"] for n in N])
    out = {"N": N.astype(float), "p_train": p_tr, "md": {}}
    for name, f in BOUNDARY.items():
        out["md"][name] = np.array([float(f.at(dict(_values(V, d, activation, pt), N=n)))
                                    for n, pt in zip(N, p_tr)])
    out["N_cross"] = float(N_CROSS.at(_values(V, d, activation, float(p_tr[-1]))))
    out["required_md"] = np.array([_required_closed(V, int(n), d, activation, pt, tau)
                                   for n, pt in zip(N, p_tr)])
    return out


def _required_closed(V, N, d, activation, p_train, tau, m_max=2.0 ** 30):
    """Root in m of the criterion (5.29), times d (float); ``inf`` when no width reaches tau."""
    vals = dict(_values(V, d, activation, p_train), N=N, z_V=float(Z_V(V=V)),
                z_tau=float(np.sqrt(2) * erfinv(2 * tau - 1)))
    g = lambda lm: float(CRITERION.at(dict(vals, m=np.exp(lm))))            # noqa: E731
    if g(np.log(m_max)) <= 0:
        return float("inf")
    if g(0.0) >= 0:
        return float(d)
    return float(np.exp(brentq(g, 0.0, np.log(m_max), xtol=1e-6)) * d)


def mlp_regime(V, N, d, L, m, activation: str = "relu") -> str:
    """Name of the largest margin term (5.17-5.21) at one point, by the closed forms only."""
    cfg = check_config(V, d, L, m, "gaussian", activation, N)
    p_tr = mlp_localization(cfg["V"], N, cfg["d"], cfg["L"], cfg["m"], activation)["p_train"]
    vals = dict(_values(cfg["V"], cfg["d"], activation, p_tr), N=N, m=cfg["m"])
    var = {k: float(f.at(vals)) for k, f in TERMS.items()}
    return max(var, key=var.get)


def required_md(V, N, d, L, tau=0.9, activation: str = "relu", m_max: int = 2 ** 16) -> float:
    r"""(m d)* from the full prediction: the smallest m with ``predict_mlp`` accuracy >= tau,
    times d (bisection in log m); ``inf`` when even ``m_max`` falls short."""
    check_choice("activation", activation, tuple(PIECES))
    tau = check_fraction("tau", tau)
    acc = lambda mm: predict_mlp(V, N, d, L, int(round(mm)), activation)["accuracy"] - tau  # noqa
    if acc(m_max) < 0:
        return float("inf")
    if acc(1) >= 0:
        return float(d)
    lm = brentq(lambda u: acc(np.exp(u)), 0.0, np.log(m_max), xtol=0.05)
    return float(np.ceil(np.exp(lm)) * d)
