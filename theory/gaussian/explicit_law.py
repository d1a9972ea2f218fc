r"""The explicit N-d-L capacity law: recall law, localization law, combined N* and the public
:func:`capacity_laws` (docs/explicit_law.md).

Equations (4.11)-(4.26).  The recall side (read-out after step 3, flat in L) combines the
per-label (4.12) and common (4.13) margin variances of docs/theory.md section 4 through the
*median and spread* of the maximum of the V - 1 wrong labels (4.11) instead of a sum of
quantiles; the label norm :math:`\|u_{\pi^*(x)}\|^2` enters as a common scale (4.14), and
(4.15) defines :math:`N_{\rm rec}`.  The localization side (attention after step 2) keeps the
two leading token terms of T2 at large L, the mean-direction score (2.16, growing like L)
and the trigger cross term (2.13), against the trigger score (4.16, from 2.11); localization
at the target needs the score ratio above a threshold (4.18) set by the maximum over the D
distinct noise tokens and the task-to-task spread of the noise scale (4.19); the condition is
a quadratic in N, solved in closed form (4.20) (leading order).  The public N* couples the two
sides (4.21)-(4.26): localization score with T2's dominant token and common terms and the
spread of ||z||^2 (4.23), read-out at the quenched training localization p (4.24-4.25), and
N* the root of p Phi(z_rec) = tau (4.26).  Nothing is fitted to simulation output.
"""
from __future__ import annotations

import math

import sympy as sp
from scipy.optimize import brentq
from scipy.special import ndtr, ndtri

from common.checks import check_config, check_fraction, check_int

from ..formula import formula
from ..search import largest_integer
from ..symbols import L, N, V, d, tau
from . import localization_terms as T
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


# ---------------------------------------------------------------- coupled law (4.21-4.26)
# Units of T2 (docs/localization.md): every term at unit scales r = g = h = X = 1.
_unit = {T.r: 1, T.g: 1, T.h: 1, T.X: 1}
_A = T.SIGNAL.expr.subs(_unit)                                  # (2.11) = (4.16)
_s2r = sum(T.TOKEN[k].expr for k in ("trigger_cross", "trigger_coherent")).subs(_unit) / a
_s2 = _s2r + sum(T.TOKEN[k].expr for k in ("mean_direction", "memory_covariance")).subs(_unit) / a
token_var = formula(
    "law.loc_token_var", "4.21", _s2,
    "sigma^2: trigger cross (2.13), trigger-coherent (2.14), mean direction (2.16) and memory "
    "read through Sigma_e (2.20) at unit scales, over 1 - 1/V")
loc_common = formula(
    "law.loc_common_var", "4.22",
    sum(T.COMMON[k].expr for k in ("alpha_task", "mean_direction", "trigger_alignment",
                                   "memory")).subs(_unit),
    "Var C: common terms (2.26)-(2.29) of the trigger score at unit scales")
_ratio = _A / sp.sqrt(_s2)
_fr = _s2r / _s2                                                # r-proportional share of sigma^2
mD, sD = sp.symbols("mu_D varsigma_D", positive=True)     # (4.11) at n = D
zloc = formula(
    "law.loc_score", "4.23",
    (_ratio - mD) / sp.sqrt(sD**2 + 1 + mD**2 * vpsi + loc_common.expr / _s2
                             + _ratio**2 * (2 / d) * (1 - _fr / 2) ** 2),
    "standard score of the localization margin A/sigma - max of D noise scores; "
    "P(loc) = Phi(z_loc)")
pp = sp.Symbol("p", positive=True)
quenched_var = formula(
    "law.quenched_label_var", "4.24", (V / d) * (1 + 3 / d) * (1 - pp) / pp,
    "extra label-weight energy when a fraction 1 - p of tokens is never localized: the "
    "count variance gains lambda^2 (1 - p)/p, read through the label Gram (V/d)(1 + 3/d)")
_slp = per_label_var.expr.subs(N, N * pp) + quenched_var.expr
_scp = common_var.expr.subs(N, N * pp) + quenched_var.expr
_kp = 1 - (1 / d) / (2 * _slp)
zrec = formula(
    "law.recall_score", "4.25",
    (1 - mu_m * sp.sqrt(_slp))
    / sp.sqrt(sd_m**2 * _slp + _scp + (2 / d) * _kp**2 * mu_m**2 * _slp),
    "standard score of the read-out at training localization p (root of (4.15) at p = 1)")
Ploc, Prec = sp.symbols("P_loc P_rec", positive=True)
accuracy = formula("law.accuracy", "4.26", Ploc * Prec,
                   "accuracy = P(loc) Phi(z_rec(p = P(loc))): N* is its root at tau")


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


def localization_N_quadratic(V, d, L, target=0.9):
    """Leading-order N_loc (4.20): A = k sigma with the two leading token terms; inf at the
    d-floor."""
    if L <= 1:
        return 1.0
    kk = loc_threshold(V, d, L, target)
    c = kk**2 * (V - 1) / (d * V)
    if (1 + 1 / d) ** 2 <= c:                                  # A/sigma_tc < k at any N
        return math.inf
    n = float(loc_n(V=V, d=d, L=L, k=kk))
    return 1.0 + V * max(n, 0.0)


_NMAX = 1e15                                                   # "no N": beyond any sweep


class _Law:
    """The closed forms (4.23), (4.25), (4.26) at fixed (V, d), with the compiled functions
    called directly (one call of capacity_laws evaluates them a few hundred times)."""

    def __init__(self, V, d, target):
        self.V, self.d, self.tau = V, d, target
        self.mu, self.sd = _max_stats(V - 1)
        self.vpsi = float(task_spread(V=V, d=d))
        self._L = None

    def _at_L(self, L):
        if L != self._L:
            D = max(_d_distinct(self.V, L), 1.0)
            self._L, self._D = L, _max_stats(D)
        return self._D

    def p_loc(self, N, L):
        if L <= 1:
            return 1.0
        mD, sD = self._at_L(L)
        return float(ndtr(_zloc_fn(self.V, self.d, L, N, mD, sD, self.vpsi)))

    def p_rec(self, N, p):
        return float(ndtr(_zrec_fn(self.V, self.d, N, max(p, 1e-12), self.mu, self.sd)))

    def acc(self, N, L):
        p = self.p_loc(N, L)
        return p * self.p_rec(N, p)

    def root_N(self, f):
        """Smallest N (doubling, then a bracketed root in log N) with f(N) >= tau."""
        if f(1.0) >= self.tau:
            return 1.0
        lo = 1.0
        while f(2 * lo) < self.tau:
            lo *= 2
            if lo > _NMAX:
                return math.inf
        return math.exp(brentq(lambda x: f(math.exp(x)) - self.tau, math.log(lo),
                               math.log(2 * lo), xtol=1e-6))

    def root_L(self, f):
        """Largest L (doubling, then a bracketed root in log L) with f(L) >= tau (0 if none)."""
        if f(2.0) < self.tau:
            return 1 if f(1.0) >= self.tau else 0
        hi = 4.0
        while f(hi) >= self.tau:
            hi *= 2
            if hi > 2.0**60:
                return math.inf
        return int(math.exp(brentq(lambda x: f(math.exp(x)) - self.tau, math.log(hi / 2),
                                   math.log(hi), xtol=1e-7)))


_zloc_fn = sp.lambdify((V, d, L, N, mD, sD, vpsi), zloc.expr, modules=["math"])
_zrec_fn = sp.lambdify((V, d, N, pp, mu_m, sd_m), zrec.expr, modules=["math"])


def localization_N(V, d, L, target=0.9):
    """N_loc: smallest N with Phi(z_loc) >= tau (4.23); inf when localization never gets there."""
    law = _Law(V, d, target)
    return law.root_N(lambda n: law.p_loc(n, L))


def capacity_laws(V, d, L, *, target=0.9, N=None):
    r"""The explicit capacity law :math:`N^*(V, d, L, \tau)` and every regime's bound.

    :math:`N^*` is the root in N of the accuracy (4.26), the localization probability
    :math:`\Phi(z_{\rm loc})` (4.23) times the read-out's :math:`\Phi(z_{\rm rec})` at that
    training localization (4.24-4.25); it is flat in L below the crossover length
    :math:`L_c` and grows like :math:`L^2` beyond.  Closed forms and one-dimensional roots of
    closed forms only: no evaluation of the accuracy integral (:func:`theory.critical_N`
    inverts that).

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
        ``N_star`` (4.26); ``N_recall`` (4.15, localization perfect), ``N_localization``
        (localization alone at level tau, 4.23) and ``N_localization_quadratic`` (its leading
        order, 4.20); the recall-side bounds of
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
    law = _Law(V, d, tau_)
    out["N_recall"] = recall_N(V, d, tau_)
    out["N_localization"] = law.root_N(lambda n: law.p_loc(n, L))
    out["N_localization_quadratic"] = localization_N_quadratic(V, d, L, tau_)
    out["N_star"] = max(law.root_N(lambda n: law.acc(n, L)), out["N_recall"])
    out["regime"] = _regime(V, d, out)
    out["L_c"] = crossover_L(V, d, tau_, out["N_recall"], law)
    if N is not None:
        out["L_max"] = largest_L(V, d, N, tau_)
        out["d_min"] = smallest_d(V, L, N, tau_)
        ok = lambda v: _Law(v, d, tau_).acc(N, L) >= tau_                           # noqa
        out["V_star"] = largest_integer(ok, 2) if ok(2) else 1
    return out


def _d_ceiling(V, target):
    """d below which N_rec is infinite: root in d of (4.15) at N = inf."""
    mu, sd = _max_stats(V - 1)
    f = lambda dd: float(_zrec_fn(V, dd, 1e300, 1.0, mu, sd)) > ndtri(target)   # noqa: E731
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


def crossover_L(V, d, target=0.9, N_rec=None, law=None):
    """L_c: the L at which localization alone reaches tau at N = N_rec (4.23); inf if never."""
    N_rec = recall_N(V, d, target) if N_rec is None else N_rec
    if not math.isfinite(N_rec):
        return math.inf
    law = _Law(V, d, target) if law is None else law
    Lc = law.root_L(lambda ll: law.p_loc(N_rec, ll))
    return max(float(Lc), 2.0)


def largest_L(V, d, N, target=0.9):
    """Largest L with N*(V, d, L) <= N, i.e. accuracy (4.26) >= tau at N (0 if none)."""
    law = _Law(V, d, target)
    return law.root_L(lambda ll: law.acc(N, ll))


def smallest_d(V, L, N, target=0.9):
    """Smallest d with N*(V, d, L) <= N (inf when no d <= 2^40 suffices)."""
    ok = lambda dd: _Law(V, dd, target).acc(N, L) >= target                     # noqa: E731
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
