r"""The explicit N-d-L capacity law: recall law, localization law, combined N* and the public
:func:`capacity_laws` (docs/explicit_law.md).

Equations (4.11)-(4.20).  The recall side (read-out after step 3, flat in L) combines the
per-label (4.12) and common (4.13) margin variances of docs/theory.md section 4 through the
*median and spread* of the maximum of the V - 1 wrong labels (4.11) instead of a sum of
quantiles; the label norm :math:`\|u_{\pi^*(x)}\|^2` enters as a common scale (4.14), and
(4.15) defines :math:`N_{\rm rec}`.  The localization side (attention after step 2) keeps the
two leading token terms of T2 at large L, the mean-direction score (2.16, growing like L)
and the trigger cross term (2.13), against the trigger score (4.16, from 2.11); localization
at the target needs the score ratio above a threshold (4.18) set by the maximum over the D
distinct noise tokens and the task-to-task spread of the noise scale (4.19); the condition is
a quadratic in N, solved in closed form (4.20).  Nothing is fitted to simulation output.
"""
from __future__ import annotations

import math

import sympy as sp
from scipy.optimize import brentq
from scipy.special import ndtri

from common.checks import check_config, check_fraction, check_int

from ..formula import formula
from ..search import largest_integer
from ..symbols import L, N, V, d, tau
from .localization_terms import CV2_X, VAR_G, W3

__all__ = ["capacity_laws", "recall_N", "localization_N", "crossover_L", "largest_L",
           "smallest_d"]

# ---------------------------------------------------------------- maximum of n normals (4.11)
n_, q_ = sp.symbols("n q", positive=True)
_qmax = sp.sqrt(2) * sp.erfinv(2 * q_ ** (1 / n_) - 1)
max_quantile = formula("law.max_quantile", "4.11", _qmax,
                       "q-quantile of the maximum of n iid standard normals: Phi^-1(q^(1/n))")
_Phi1 = (1 + sp.erf(1 / sp.sqrt(2))) / 2
_med = _qmax.subs(q_, sp.Rational(1, 2))
_spr = (_qmax.subs(q_, _Phi1) - _qmax.subs(q_, 1 - _Phi1)) / 2
zt = sp.sqrt(2) * sp.erfinv(2 * tau - 1)

# ---------------------------------------------------------------- recall side (4.12-4.14)
sl2, sc2 = sp.symbols("s_l2 s_c2", positive=True)      # per-label and common variances
mu_m, sd_m = sp.symbols("mu_M sd_M", positive=True)     # median and spread of the max
chi = sp.Symbol("chi", positive=True)                   # ||u_pi(x)||^2 ~ chi^2_d / d
per_label_var = formula(
    "law.per_label_var", "4.12",
    V / N + V**2 * (1 + 3 / d) / (N * d) + 3 / d + 2 * V / d**2,
    "per-label margin variance (units of lambda^2): count, mean bias, direct reads, mediated")
common_var = formula(
    "law.common_var", "4.13",
    4 * V / N + V**2 * (1 + 3 / d) / (N * d) + 3 / d + 2 * V / d**2,
    "common margin variance without the label norm: count, mean bias, ||e_x||^2, z.e_x, mediated")
scaled_label_var = formula(
    "law.scaled_label_var", "4.14", (1 / d) / chi + (sl2 - 1 / d) / chi**2,
    "per-label variance after dividing the margin by the label-norm scale chi = ||u_pi(x)||^2: "
    "cross-talk (1/d) scales as 1/chi, every other per-label term as 1/chi^2")
_kappa = 1 - (1 / d) / (2 * sl2)                      # -d log s_l / d chi at chi = 1
recall_residual = formula(
    "law.recall_residual", "4.15",
    mu_m * sp.sqrt(sl2) + zt * sp.sqrt(sd_m**2 * sl2 + sc2 + (2 / d) * _kappa**2 * mu_m**2 * sl2)
    - 1,
    "recall law: median of the max plus tau-quantile of (its spread, common terms, label-norm "
    "scale) = 1 defines N_rec")

# ---------------------------------------------------------------- localization side (4.16-4.18)
a = 1 - 1 / V
n_wrong = V - 1                                        # wrong labels (not the MLP width m)
nn, k = sp.symbols("n k", positive=True)               # n = (N - 1)/V, k = score threshold
_alpha = (L - 1) / L**2 * a                            # trigger coefficient per unit (1 + n)
signal = formula(
    "law.loc_signal", "4.16",
    _alpha * ((1 + a * L / d) + nn * (1 + 1 / d)),
    "trigger score A = (2.11) at r = g = h = 1: (L-1)a/L^2 [(1 + aL/d) + n(1 + 1/d)]")
noise_var = formula(
    "law.loc_noise_var", "4.17",
    (n_wrong / (d * V)) * _alpha**2 * (1 + nn) ** 2 + (a * (L - 1) / V) ** 2 * W3.expr / (V**2 * d),
    "token score variance: trigger cross term (2.13) plus mean-direction term (2.16)")
vpsi = sp.Symbol("v_psi", nonnegative=True)
Dd = sp.Symbol("D", positive=True)
_mD = _med.subs(n_, Dd)
_sD = _spr.subs(n_, Dd)
threshold = formula(
    "law.loc_threshold", "4.18",
    _mD + zt * sp.sqrt(_sD**2 + 1 + _mD**2 * vpsi),
    "score ratio A/sigma needed: median max of D noise scores, plus tau-quantile of its spread, "
    "the test token's own score and the task scale psi")
task_spread = formula(
    "law.task_spread", "4.19", VAR_G.expr.subs(N, sp.oo) + CV2_X.expr / 4,
    "relative variance of the task scale psi = (1 + g) sqrt(X) of the mean-direction scores")
# quadratic (A1^2 - c al^2) n^2 + 2 (A0 A1 - c al^2) n + (A0^2 - c al^2 - k^2 s_md^2) = 0
_A0 = _alpha * (1 + a * L / d)
_A1 = _alpha * (1 + 1 / d)
_c = k**2 * n_wrong / (d * V)
_smd2 = (a * (L - 1) / V) ** 2 * W3.expr / (V**2 * d)
_qa = _A1**2 - _c * _alpha**2
_qb = _A0 * _A1 - _c * _alpha**2
_qc = _A0**2 - _c * _alpha**2 - k**2 * _smd2
loc_n = formula(
    "law.loc_n", "4.20", (-_qb + sp.sqrt(_qb**2 - _qa * _qc)) / _qa,
    "n = (N-1)/V at which A^2 = k^2 sigma^2 (4.16-4.17): root of a quadratic in n")


def _d_distinct(V_, L_):
    """Expected number of distinct tokens among the L - 1 noise positions."""
    return V_ * (1.0 - (1.0 - 1.0 / V_) ** (L_ - 1))


def _max_stats(n):
    """Median and half inter-quantile (+-1 sd levels) spread of the max of n normals (4.11)."""
    q = lambda p: float(ndtri(p ** (1.0 / n)))                                  # noqa: E731
    p1 = 0.8413447460685429
    return q(0.5), (q(p1) - q(1 - p1)) / 2


def recall_N(V, d, target=0.9):
    """N_rec: root in N of the recall residual (4.15); inf below the d-ceiling."""
    mu, sd = _max_stats(V - 1)

    def res(n):
        s_l = float(per_label_var(V=V, N=n, d=d))
        s_c = float(common_var(V=V, N=n, d=d))
        return float(recall_residual(s_l2=s_l, s_c2=s_c, mu_M=mu, sd_M=sd, d=d, tau=target))
    if res(1e300) >= 0:
        return math.inf
    if res(1.0) <= 0:
        return 1.0
    return math.exp(brentq(lambda x: res(math.exp(x)), 0.0, 690.0, xtol=1e-6))


def _ceiling_factor(V, target):
    mu, sd = _max_stats(V - 1)
    return mu, sd, float(ndtri(target))


def loc_threshold(V, d, L, target=0.9):
    """Score-ratio threshold k (4.18) with D distinct noise tokens and task spread (4.19)."""
    D = max(_d_distinct(V, L), 1.0)
    v = float(task_spread(V=V, d=d))
    return float(threshold(D=D, v_psi=v, tau=target))


def localization_N(V, d, L, target=0.9):
    """N_loc (4.20): smallest N whose trigger score clears k sigma; inf at the d-floor."""
    if L <= 1:
        return 1.0
    kk = loc_threshold(V, d, L, target)
    vals = dict(V=V, d=d, L=L, k=kk)
    c = kk**2 * (V - 1) / (d * V)
    if (1 + 1 / d) ** 2 <= c:                                  # A/sigma_tc < k at any N
        return math.inf
    n = float(loc_n(**vals))
    return 1.0 + V * max(n, 0.0)


def capacity_laws(V, d, L, *, target=0.9, N=None):
    r"""The explicit capacity law :math:`N^*(V, d, L, \tau)` and every regime's bound.

    :math:`N^* = \max(N_{\rm rec}, N_{\rm loc})`: the recall law (4.15), flat in L, and
    the localization law (4.20), quadratic in L beyond the crossover length
    :math:`L_c`.  Closed forms and one-dimensional roots of closed forms only: no
    evaluation of the accuracy integral (:func:`theory.critical_N` inverts that).

    Parameters
    ----------
    V, d, L : int
        Vocabulary size (>= 2), embedding dimension, sequence length.
    target : float
        Target accuracy :math:`\tau \in (0, 1)`.
    N : int, optional
        Given, the inverse questions are answered too.

    Returns
    -------
    dict
        ``N_star``; ``N_recall`` (4.15), ``N_localization`` (4.20); the recall-side bounds of
        each term alone, ``N_count`` and ``N_mean_bias`` (the N they need with every other
        term absent), ``d_crosstalk`` (direct reads, 3/d), ``d_interference`` (mediated,
        2V/d^2) and ``d_ceiling`` (all d-terms together: below it ``N_star`` is inf);
        ``regime``, the dominating one; ``L_c``, the L at which ``N_localization``
        reaches ``N_recall``.  With N: ``L_max`` (largest L with ``N_star <= N``; 0 when
        the recall law alone needs more), ``d_min`` (smallest d with ``N_star <= N``) and
        ``V_star`` (largest V with ``N_star <= N``; 1 when V = 2 already needs more).
        Values that do not exist are ``math.inf``.

    Raises
    ------
    ValueError
        For V < 2, d < 1, L < 1, a target outside (0, 1) or N < 1 (one-line message).
    """
    cfg = check_config(V, d, L)
    tau_ = check_fraction("target", target)
    V, d, L = cfg["V"], cfg["d"], cfg["L"]
    N = None if N is None else check_int("N", N, 1)
    mu, sd, z = _ceiling_factor(V, tau_)
    g1 = (mu + z * math.sqrt(sd**2 + 1)) ** 2        # one term, per-label and common equal
    g4 = (mu + z * math.sqrt(sd**2 + 4)) ** 2        # counts: common part 4x the per-label
    out = {"N_count": V * g4,
           "N_mean_bias": V**2 * (1 + 3 / d) / d * g1,
           "d_crosstalk": 3 * g1,
           "d_interference": math.sqrt(2 * V * g1),
           "d_ceiling": _d_ceiling(V, tau_)}
    out["N_recall"] = recall_N(V, d, tau_)
    out["N_localization"] = localization_N(V, d, L, tau_)
    out["N_star"] = max(out["N_recall"], out["N_localization"])
    out["regime"] = _regime(V, d, out)
    out["L_c"] = crossover_L(V, d, tau_, out["N_recall"])
    if N is not None:
        out["L_max"] = largest_L(V, d, N, tau_)
        out["d_min"] = smallest_d(V, L, N, tau_)
        ok = lambda v: max(recall_N(v, d, tau_), localization_N(v, d, L, tau_)) <= N  # noqa
        out["V_star"] = largest_integer(ok, 2) if ok(2) else 1
    return out


def _d_ceiling(V, target):
    """d below which N_rec is infinite: root in d of (4.15) at N = inf."""
    f = lambda dd: recall_N(V, dd, target) < math.inf                          # noqa: E731
    lo, hi = 1.0, 2.0
    while not f(hi):
        lo, hi = hi, 2 * hi
    for _ in range(60):
        mid = math.sqrt(lo * hi)
        lo, hi = (lo, mid) if f(mid) else (mid, hi)
    return hi


def _regime(V, d, out):
    """Name of the largest contribution at N*: localization, or the largest recall variance."""
    if not math.isfinite(out["N_star"]):
        return "localization" if math.isfinite(out["N_recall"]) else "interference_ceiling"
    if out["N_localization"] >= out["N_recall"]:
        return "localization"
    n = out["N_star"]
    parts = {"count": (V / n) * (1 + 4), "mean_bias": 2 * V**2 * (1 + 3 / d) / (n * d),
             "label_crosstalk": 2 * 3 / d, "interference_ceiling": 2 * 2 * V / d**2}
    return max(parts, key=parts.get)


def crossover_L(V, d, target=0.9, N_rec=None):
    """L_c: the L at which the localization law reaches the recall law (inf if never)."""
    N_rec = recall_N(V, d, target) if N_rec is None else N_rec
    if not math.isfinite(N_rec):
        return math.inf
    f = lambda x: localization_N(V, d, math.exp(x), target) - N_rec              # noqa: E731
    if f(math.log(2.0)) >= 0:
        return 2.0
    hi = math.log(4.0)
    while f(hi) < 0:
        hi += math.log(2.0)
        if hi > 60:
            return math.inf
    return math.exp(brentq(f, hi - math.log(2.0), hi, xtol=1e-4))


def largest_L(V, d, N, target=0.9):
    """Largest L with N*(V, d, L) <= N (0 if the recall law alone needs more than N)."""
    if recall_N(V, d, target) > N:
        return 0
    f = lambda x: localization_N(V, d, math.exp(x), target) - N                   # noqa: E731
    if f(math.log(2.0)) > 0:
        return 1
    hi = math.log(4.0)
    while f(hi) <= 0:
        hi += math.log(2.0)
        if hi > 60:
            return math.inf
    return int(math.exp(brentq(f, hi - math.log(2.0), hi, xtol=1e-6)))


def smallest_d(V, L, N, target=0.9):
    """Smallest d with N*(V, d, L) <= N (inf when no d <= 2^40 suffices)."""
    ok = lambda dd: max(recall_N(V, dd, target), localization_N(V, dd, L, target)) <= N  # noqa
    hi = 2.0
    while not ok(hi):
        hi *= 2
        if hi > 2.0**40:
            return math.inf
    lo = hi / 2
    for _ in range(40):
        mid = math.sqrt(lo * hi)
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return math.ceil(hi)
