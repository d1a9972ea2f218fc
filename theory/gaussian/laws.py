r"""T4: explicit capacity laws and the regime (docs/theory.md, section 4, eqs. 4.1-4.10).

Each margin term of :mod:`theory.gaussian.terms` stops mattering when, alone, it keeps the
accuracy above the target :math:`\tau`.  A term drawn independently for each of the V - 1
wrong labels of one test token acts through the maximum of V - 1 independent Gaussians, so
with variance :math:`s^2` (in units of the mean margin :math:`\lambda`) it stops mattering
when :math:`q_V^2 s^2 \le 1`, :math:`q_V = \Phi^{-1}(\tau^{1/(V-1)}) \approx
\sqrt{2\ln(V/\ln(1/\tau))}` (eq. 4.1); a term common to all labels needs :math:`q_\tau^2
s^2 \le 1`, :math:`q_\tau = \Phi^{-1}(\tau)` (eq. 4.2).  (The registered formulas
``capacity.z_V2`` and ``capacity.z_tau2`` are :math:`q_V^2` and :math:`q_\tau^2`.)  Solving
each condition gives the explicit thresholds (eqs. 4.3-4.7); adding the variances, the
combined law (eq. 4.8) gives N* and V*.  :func:`theory.capacity.critical_N` and
:func:`theory.capacity.capacity` instead invert the full prediction by bisection (the laws
are its asymptotics, not its replacement).
"""
from __future__ import annotations

import math

import sympy as sp



from ..formula import formula
from ..symbols import N, V, d, tau
from . import terms as T

p = sp.Symbol("p", positive=True)                      # training localization
_zV = sp.sqrt(2) * sp.erfinv(2 * tau ** (1 / (V - 1)) - 1)
_zt = sp.sqrt(2) * sp.erfinv(2 * tau - 1)
_zs = (_zV + _zt) ** 2
z_V2 = formula("capacity.z_V2", "4.1", _zV**2,
               "squared quantile of the max of V-1 standard normals at level tau")
z_tau2 = formula("capacity.z_tau2", "4.2", _zt**2,
                 "squared tau-quantile of one standard normal (terms common to all labels)")
N_count = formula("capacity.N_count", "4.3", (_zV + 2 * _zt) ** 2 * V / p,
                  "sample counts: sd sqrt(V/(Np)) per label, 2 sqrt(V/(Np)) common")
N_mean_bias = formula("capacity.N_mean_bias", "4.4", _zs * V**2 * (1 + 3 / d) / (p * d),
                      "mean bias: N d >= (z_V + z_tau)^2 V^2 (1 + 3/d) / p")
d_direct = formula("capacity.d_direct", "4.5", 3 * _zs,
                   "cross-talk, token, trigger read (1/d each) and ||e_x||^2, z^T e_x: "
                   "d >= 3 (z_V + z_tau)^2")
d_mediated = formula("capacity.d_mediated", "4.6", sp.sqrt(2 * V * _zs),
                     "token and trigger terms through the label Gram: d^2 >= 2V(z_V+z_tau)^2")
d_ceiling = formula("capacity.d_ceiling", "4.7", (3 * _zs + sp.sqrt(9 * _zs**2 + 8 * V * _zs)) / 2,
                    "d below which no N reaches tau: (z_V + z_tau)^2 (3/d + 2V/d^2) = 1")
_B = 3 / d + 2 * V / d**2
_sl2 = V * (1 + V * (1 + 3 / d) / d) / (N * p) + _B
# ||u_pi(x)||^2 = 1 + delta (Var 2/d) scales the margin: the per-label quantile shrinks by
# kappa delta, kappa = 1 - (1/d)/(2 s_l^2) (cross-talk ~ chi^-1/2, the rest ~ chi^-1), (4.14)
_scale = (2 / d) * (1 - 1 / (2 * d * _sl2)) ** 2 * _zV**2 * _sl2
law_residual = formula(
    "capacity.law_residual", "4.8",
    _zV * sp.sqrt(_sl2)
    + _zt * sp.sqrt(V * (4 + V * (1 + 3 / d) / d) / (N * p) + _B + _scale) - 1,
    "combined law: z_V s_label + z_tau s_common = 1 defines N* (and V*)")

_PER_LABEL = ("count", "mean_bias", "label_crosstalk", "token_interference", "leakage")


def margin_terms(V, N, d, L, p_train=1.0):
    r"""Standard deviation of each margin term in units of the mean margin :math:`\lambda`.

    Evaluated at typical counts :math:`c_x = c_j = \lambda = Np/V` and unit norms
    (docs/theory.md, eq. 4.9); returns a dict term name -> float:
    ``count`` (two binomial counts), ``mean_bias`` (eq. 3.15), ``label_crosstalk``
    (eq. 3.18), ``token_interference`` (eqs. 3.10 + 3.17), ``trigger`` (eqs. 3.9 + 3.16 +
    3.20), ``correct_norm`` (:math:`\|e_x\|^2`, eq. 3.6), ``leakage`` (eq. 3.12).  L enters
    only through ``p_train``.
    """
    p_ = max(float(p_train), 1e-12)
    lam = N * p_ / V
    cv = float(T.count_var(N=N, p=p_, V=V))
    Ec2 = lam**2 + cv
    n_nl = N * (1 - p_)
    ctx = dict(V=V, d=d, t_z=1.0)
    var = {
        "count": 2 * cv,
        "mean_bias": float(T.var_mean_bias(vc=cv * (1 - 1 / V), **ctx)),
        "label_crosstalk": float(T.var_crosstalk(a=lam, d=d)),
        "token_interference": float(T.var_token(c=lam, eps=1.0, d=d)
                                    + T.var_token_mediated(Ec2=Ec2, V=V, d=d)),
        "trigger": float(T.var_trigger(c=lam, **ctx) + T.var_trigger_mediated(Ec2=Ec2, **ctx)
                         + T.var_correct(a=lam, lam=lam, d=d, t_z=1.0)),
        "correct_norm": 2 * lam**2 / d,
        "leakage": float(T.var_leak(n_nl=n_nl, V=V, eps=1.0, d=d, t_z=1.0)),
    }
    return {k: math.sqrt(max(v, 0.0)) / lam for k, v in var.items()}


def regime(V, N, d, L, p_test=1.0, p_train=1.0, target=0.9, full=False):
    r"""Name of the dominant term at (V, N, d, L): the largest load (docs/theory.md, eq. 4.10).

    The load of a term is how far it is from its condition: :math:`q_V^2 s^2` for a term
    drawn independently per wrong label, :math:`q_\tau^2 s^2` for one common to all labels
    (``correct_norm``; ``count`` and ``trigger`` have both parts), and
    :math:`(1 - p_{test})/(1 - \tau)` for ``localization``.  A load above 1 means the
    term alone pulls the accuracy below the target.  With ``full`` the dict of loads.
    """
    s = margin_terms(V, N, d, L, p_train)
    zv = float(z_V2(V=V, tau=target))
    zt = float(z_tau2(tau=target))
    loads = {k: zv * s[k] ** 2 for k in _PER_LABEL}
    lam = N * max(p_train, 1e-12) / V
    common_trig = float(T.var_correct(a=lam, lam=lam, d=d, t_z=1.0)) / lam**2
    loads["trigger"] = zv * (s["trigger"] ** 2 - common_trig) + zt * common_trig
    loads["count"] = (zv + 4 * zt) * s["count"] ** 2 / 2
    loads["correct_norm"] = zt * s["correct_norm"] ** 2
    loads["localization"] = (1.0 - p_test) / (1.0 - target)
    return loads if full else max(loads, key=loads.get)
