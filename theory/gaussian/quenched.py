r"""Quenched localization classes: the noise scores are fixed by the trained model (docs/localization_gaps.md).

T2's classes (:func:`theory.gaussian.predict.localization_classes`, eq. 3.26) draw the
:math:`D` noise scores afresh for every sequence ("annealed"): a token of own score
:math:`g` is localized with probability :math:`\Phi(\kappa + rG + g)^D`.  In a trained model
the V token scores are fixed; what varies between sequences is only *which* tokens fill the
:math:`L-1` noise positions.  Token x is blocked by the :math:`m_x` other tokens whose fixed
score beats its informative score, and a sequence of x is localized iff none of its
:math:`L-1` uniform noise draws is a blocker (eqs. 8.1-8.2):

.. math::
    m_x \mid g \sim \mathrm{Binomial}\big(V-1,\ \bar\Phi(\kappa + rG + g)\big),\qquad
    P(\mathrm{loc}\mid m_x) = (1 - m_x/V)^{L-1}.

For :math:`L \ll V` both pictures agree to first order in :math:`L m/V`; for :math:`L \gg V`
the quenched probability is 0 or 1 per token (:math:`[m_x = 0]`): a token that localizes does
so in *every* sequence, test and training alike, so a localized test token carries its full
:math:`\mathrm{Binomial}(N, 1/V)` training count, where the annealed classes gave it
:math:`\mathrm{Binomial}(N, p/V)`.  Training samples have a higher own score (eq. 2.34): their
blockers are a binomial thinning of the test blockers (eq. 8.3).
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from scipy.optimize import brentq
from scipy.special import gammaln, ndtr, xlog1py, xlogy

from ..formula import formula
from ..quadrature import normal_nodes
from ..symbols import L, N, V

__all__ = ["quenched_classes", "coherent_nonlocal", "P_LOC_BLOCKED", "BLOCKER_PROB",
           "P_LOC_THINNED", "TOP_PRESENT", "INV_CANDIDATES"]

_m, _g, _kap = sp.symbols("m_b g kappa", real=True)
_rho = sp.Symbol("rho", nonnegative=True)
P_LOC_BLOCKED = formula(
    "quenched.quenched_given_blockers", "8.1", (1 - _m / V) ** (L - 1),
    "P(localized | m blockers): none of the L-1 uniform noise draws is one of the m blockers")
BLOCKER_PROB = formula(
    "quenched.blocker_probability", "8.2", (1 - sp.erf((_kap + _g) / sp.sqrt(2))) / 2,
    "probability that one other token's fixed score beats the informative score (m ~ Bin(V-1, .))")
P_LOC_THINNED = formula(
    "quenched.quenched_train_mean_blockers", "8.3", _rho * _m,
    "mean training blockers: Binomial(m, rho) thinning, rho = q_train / q_test")

_p = sp.Symbol("p", positive=True)
TOP_PRESENT = formula(
    "quenched.top_token_present", "8.4", 1 - (1 - 1 / V) ** (L - 1),
    "probability that the highest-scoring token t* is among the L-1 noise draws")
_s = 1 - (1 - 1 / V) ** N                      # a token has at least one training sample
_q = (1 - _p) * _s                              # another token is a competing candidate
_n = V - 1
_E1 = (1 - (1 - _q) ** (_n + 1)) / ((_n + 1) * _q)                                  # E 1/(1+K)
_E2 = ((1 - (1 - _q) ** (_n + 2)) / (_n + 2)                                        # E 1/(2+K)
       - (1 - _q) * (1 - (1 - _q) ** (_n + 1)) / (_n + 1)) / _q ** 2
INV_CANDIDATES = formula(
    "quenched.nonlocal_candidates", "8.5", _s * (_s * _E2 + (1 - _s) * _E1),
    "E [c_x > 0]/(1 + B + K): K ~ Bin(V-1, (1-p)s) non-localized labels with samples, "
    "B ~ Bern(s) the top token's own label; one of the tied candidates wins")

#: Largest number of classes handed to the read-out (adjacent blocker counts are merged).
MAX_CLASSES = 32
#: Above this many blocker counts, the training thinning uses its mean (eq. 8.3 plug-in).
_EXACT_THIN = 256


def _blocker_pmf(V, q):
    """Binomial(V-1, q) pmf on m = 0..V-1 for every q: shape (*q.shape, V)."""
    return _binom(np.arange(V), V - 1, np.asarray(q)[..., None])


def _binom(k, n, q):
    """Binomial pmf in logs (SciPy's overflows at q -> 0); broadcasts k, n, q."""
    k, n, q = np.broadcast_arrays(np.asarray(k, float), np.asarray(n, float), np.asarray(q, float))
    with np.errstate(divide="ignore", invalid="ignore"):
        lg = (gammaln(n + 1) - gammaln(k + 1) - gammaln(np.maximum(n - k, 0) + 1)
              + xlogy(k, q) + xlog1py(n - k, -q))
    return np.exp(np.where(k <= n, lg, -np.inf))


def _mean_loc(V, L, kappa, shift, wts):
    pm = _blocker_pmf(V, ndtr(-(kappa + shift)))                             # (..., V)
    return float(np.sum(wts * (pm @ (1.0 - np.arange(V) / V) ** (L - 1))))


def _solve(V, L, p, shift, wts):
    """kappa with mean quenched localization p (monotone increasing in kappa)."""
    f = lambda k: _mean_loc(V, L, k, shift, wts) - p                         # noqa: E731
    return brentq(f, -40.0, 40.0, xtol=1e-10)


def _thin(V, L, m, rho):
    """E (1 - m'/V)^{L-1}, m' ~ Binomial(m, rho); m (M,), rho (G,) -> (G, M)."""
    if m.max() <= _EXACT_THIN:
        mp = np.arange(int(m.max()) + 1)
        pl = (1.0 - mp / V) ** (L - 1)                                       # (M',)
        pmf = _binom(mp[None, None, :], m[None, :, None], rho[:, None, None])
        return pmf @ pl                                                      # (G, M)
    return (1.0 - rho[:, None] * m[None, :] / V) ** (L - 1)


def quenched_classes(loc, V, L, r=0.0, n_task=3, n_tok=10):
    r"""Localization classes with fixed (quenched) noise scores (eqs. 8.1-8.3).

    Same contract as :func:`theory.gaussian.predict.localization_classes`: given the mean
    test and training localization of T2 and the across-model spread ``r``, returns a list
    of ``(weight, p_test_k, p_train_k, w_k)`` per model node; the classes are blocker counts
    m (merged into at most :data:`MAX_CLASSES` adjacent groups), ``w_k`` sums to 1.
    """
    p_test, p_train = float(loc["p_test"]), float(loc["p_train"])
    if L == 1 or (p_test >= 1 - 1e-12 and p_train >= 1 - 1e-12):
        return [(1.0, np.ones(1), np.ones(1), np.ones(1))]
    G, wG = normal_nodes(n_task) if r > 0.05 else (np.zeros(1), np.ones(1))
    z, w = normal_nodes(n_tok)
    shift = (r * G)[:, None] + z[None, :]                                    # (task, token)
    wts = wG[:, None] * w[None, :]
    lo = (1.0 - (V - 1) / V) ** (L - 1)          # every other token a blocker
    k_te = _solve(V, L, min(max(p_test, lo + 1e-12), 1 - 1e-12), shift, wts)
    k_tr = _solve(V, L, min(max(p_train, lo + 1e-12), 1 - 1e-12), shift, wts)
    q_te, q_tr = ndtr(-(k_te + shift)), ndtr(-(k_tr + shift))                # (task, token)
    rho = np.clip(q_tr / np.maximum(q_te, 1e-300), 0.0, 1.0)
    out = []
    for i, wg in enumerate(wG):
        pm = _blocker_pmf(V, q_te[i])                                        # (token, V)
        W = w @ pm                                                           # (V,) class weights
        keep = np.flatnonzero(W > 1e-12 * W.max())
        m = np.arange(keep[0], keep[-1] + 1)
        Wm = W[m]
        pt = (1.0 - m / V) ** (L - 1)
        ptr = np.einsum("t,tm,tm->m", w, pm[:, m], _thin(V, L, m, rho[i])) / np.maximum(Wm, 1e-300)
        # merge adjacent counts into at most MAX_CLASSES groups of equal weight
        edges = np.searchsorted(np.cumsum(Wm) / Wm.sum(), np.linspace(0, 1, MAX_CLASSES + 1)[1:-1])
        grp = np.zeros(m.size, dtype=int)
        grp[np.unique(np.minimum(edges + 1, m.size - 1))] = 1
        grp = np.cumsum(grp)
        wk = np.bincount(grp, Wm)
        good = wk > 0
        pk = np.bincount(grp, Wm * pt)[good] / wk[good]
        pkt = np.bincount(grp, Wm * ptr)[good] / wk[good]
        wk = wk[good] / wk[good].sum()
        out.append((wg, pk, np.clip(pkt, 0.0, 1.0), wk))
    return out


def coherent_nonlocal(V, N, L, p_test, annealed):
    r"""Accuracy of a non-localized test sequence with quenched scores (eqs. 8.4-8.6).

    A non-localized sequence reads its highest-scoring noise token; when the top token
    :math:`t^*` is present (probability :math:`\pi_1`, eq. 8.4) every non-localized test
    and training sequence reads the same :math:`e_{t^*}`.  Its logits are then the label
    counts of the non-localized tokens and that of :math:`t^*` itself (localized):
    exchangeable labels, one of which wins for every non-localized test, so a non-localized test token is right with probability
    :math:`[c_x>0]/(1+B+K)`, :math:`K\\sim\\mathrm{Bin}(V-1, (1-p)s)` non-localized tokens
    with samples, :math:`B\\sim\\mathrm{Bern}(s)`, :math:`s = 1-(1-1/V)^N` (eq. 8.5).  Otherwise
    the read token varies and ``annealed`` (eq. 3.25) applies:

    .. math:: a_{nl} = \pi_1\,a_{8.5} + (1-\pi_1)\,a_{3.25}.  \tag{8.6}
    """
    if p_test >= 1 - 1e-12:
        return float(annealed)
    pi1 = float(TOP_PRESENT(V=V, L=L))
    return pi1 * float(INV_CANDIDATES(p=min(p_test, 1 - 1e-9), V=V, N=N)) + (1 - pi1) * float(annealed)
