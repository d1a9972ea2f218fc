r"""T6: predicted early-phase accuracy with orthonormal embeddings (docs/orthogonal.md).

With the 2V+2 vectors orthonormal, the step-3 logits are integer counts (eq. 6.2): a test
sequence attending :math:`e_x + z_{trig}` scores the correct label :math:`2c'_x` and a
wrong label :math:`k = \pi(x'')` scores :math:`c'_{x''}`, with :math:`c'` the number of
*localized* training samples of a token.  Step 2 (eqs. 6.3-6.14) decides localization
through a token-score profile :math:`a(n)` of the label count n, a token-specific Gaussian
spread :math:`\sigma(n)` and a common trigger score :math:`A`.  Nothing depends on d.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import stats

from common.checks import check_config, check_fraction, check_int
from .localization import occupancy
from . import orthogonal_terms as T

__all__ = ["localization_by_count", "recall_by_count", "predict_orthogonal",
           "critical_N_orthogonal"]

_GX, _GW = np.polynomial.hermite_e.hermegauss(24)
_GW = _GW / _GW.sum()
_EXACT_COST = 1e7          # largest (counts x nodes x FFT length) for the exact multinomial


def _support(N: int, p: float, k: float = 12.0) -> np.ndarray:
    """Integers carrying all but ~1e-30 of Bin(N, p): 0 .. mean + k sd + 8."""
    return np.arange(0, int(min(N, N * p + k * np.sqrt(N * p + 1.0) + 8)) + 1)


@lru_cache(maxsize=None)
def _legendre01(k: int):
    """Gauss-Legendre rule on [0, 1]: exact for polynomials of degree < 2k."""
    u, w = np.polynomial.legendre.leggauss(k)
    return (u + 1) / 2, w / 2


def _credit(lt, eq, m):
    r"""Eq. 6.1 for m iid rivals: :math:`((lt+eq)^{m+1} - lt^{m+1})/((m+1)\,eq)`, stable."""
    lt, eq = np.broadcast_arrays(np.asarray(lt, float), np.asarray(eq, float))
    out = lt ** m                                                  # eq -> 0 limit
    big = eq > 1e-12
    out = np.where(big, ((lt + eq) ** (m + 1) - lt ** (m + 1)) / ((m + 1) * np.where(big, eq, 1)),
                   out)
    return out


def _localization_table(V: int, N: int, L: int, counts) -> np.ndarray:
    r"""Eq. 6.18 per node: P(localized | c, A node, R node), shape (g, g) + counts.shape.

    Margins :math:`A + a(c) + \sigma(c)R - a(n_t) - \sigma(n_t)R_t` against the D distinct
    noise tokens (occupancy law of :func:`theory.localization.occupancy`), :math:`n_t`
    binomial, :math:`R_t` standard normal; nodes of :math:`A\sim\mathcal N(\mathbb E A,
    \mathrm{Var} A)` (eqs. 6.8, 6.14) and of the test token's own :math:`R`.  A noise
    token equal to x needs A > 0.
    """
    counts = np.asarray(counts, dtype=float)
    ns = _support(N, 1.0 / V)
    pn = stats.binom.pmf(ns, N, 1.0 / V)                                   # (K,)
    a_n, v_n = T.score_moments(V, N, L, ns.astype(float))                  # (K,), (K,)
    a_c, v_c = T.score_moments(V, N, L, counts)
    EA, sA = float(T.A_MEAN(V=V, N=N, L=L)), float(np.sqrt(T.VAR_A(V=V, N=N, L=L)))
    s_n = np.sqrt(np.maximum(v_n, 1e-12))
    # margin grid -> F(m) = P(one noise token scores below m), then the occupancy polynomial
    lo, hi = (a_n - 9 * s_n).min(), (a_n + 9 * s_n).max()
    grid = np.linspace(lo, hi, 2001)
    F = (pn * stats.norm.cdf((grid[:, None] - a_n) / s_n)).sum(-1)        # (G,)
    pi = occupancy(V, L)
    D = np.arange(pi.size)
    notx = (pi * (1 - D / V) * F[:, None] ** D).sum(-1)                    # x not among noise
    isx = (pi * (D / V) * np.where(D > 0, F[:, None] ** np.maximum(D - 1, 0), 0)).sum(-1)
    one = [1] * counts.ndim
    A = (EA + sA * _GX).reshape(-1, 1, *one)                               # (g, 1, ...)
    m = A + a_c + np.sqrt(v_c) * _GX.reshape(1, -1, *one)                  # (g, g, ...)
    return np.interp(m, grid, notx) + (A > 0) * np.interp(m, grid, isx)


def localization_by_count(V: int, N: int, L: int, counts) -> np.ndarray:
    """P(a test sequence of a token with ``counts`` training samples is localized) (eq. 6.18)."""
    counts = np.asarray(counts, dtype=float)
    if L == 1:
        return np.ones_like(counts)
    return np.tensordot(_GW, np.tensordot(_GW, _localization_table(V, N, L, counts), (0, 1)), 1)


def _thinning(ploc):
    """Matrix (K, K): P(c' = j | label count k) = Bin(j; k, p(k)) (eq. 6.19)."""
    ks = np.arange(ploc.size)
    return stats.binom.pmf(ks[None, :], ks[:, None], ploc[:, None])


def _rival_law(V, N, c, thin):
    """Law of a wrong label's localized count c'_k given c_x = c (eq. 6.19), shape (K,)."""
    return stats.binom.pmf(np.arange(thin.shape[0]), N - c, 1.0 / (V - 1)) @ thin


def _exact_credit(V, N, c, j, ploc):
    r"""Eq. 6.20: E[1/(1+J); all rivals <= j] for the exact multinomial of the V-1 rivals.

    Poissonise the rivals' label counts (iid Poisson(n/m)), thin each by ploc, and condition
    on their sum n = N - c by extracting the coefficient of :math:`s^n` from the m-th power
    of the generating function (FFT, no aliasing), one Gauss-Legendre node per tie weight u.
    """
    mm, n = V - 1, N - c
    lam = n / mm
    ks = np.arange(ploc.size)
    pk = stats.poisson.pmf(ks, lam)
    thin = stats.binom.pmf(j, ks, ploc)                                    # P(c'_k = j | k)
    below = stats.binom.cdf(j - 1, ks, ploc) if j > 0 else np.zeros_like(pk)
    size = 1 << int(np.ceil(np.log2(mm * ks[-1] + 2)))
    G_lt, G_eq = np.fft.rfft(pk * below, size), np.fft.rfft(pk * thin, size)
    u, wu = _legendre01(mm // 2 + 1)
    phase = np.exp(2j * np.pi * np.arange(G_lt.size) * n / size)          # inverse-DFT row n
    herm = np.full(G_lt.size, 2.0)
    herm[0] = 1.0
    if size % 2 == 0:
        herm[-1] = 1.0
    z = G_lt[None] + u[:, None] * G_eq[None]                               # (U, F)
    zm = np.abs(z) ** mm * np.exp(1j * mm * np.angle(z))                   # polar: fast power
    coef = (zm * phase * herm).real.sum(-1) / size
    return float(wu @ coef) / stats.poisson.pmf(n, mm * lam)


def _perfect_recall(V, N, cs, pc, exact):
    """E[credit | c] with every sample localized (eq. 6.1 or the exact eq. 6.20)."""
    if exact:
        return np.array([_exact_credit(V, N, c, 2 * c, np.ones(len(cs))) if w > 1e-14 else 0.0
                         for c, w in zip(cs, pc)])
    q = stats.binom.pmf(cs[None, :], N - cs[:, None], 1.0 / (V - 1))     # (C, K) rivals
    cdf = np.concatenate([np.zeros((len(cs), 1)), np.cumsum(q, 1)], 1)
    j = np.minimum(2 * cs, len(cs))
    eqj = np.where(2 * cs < len(cs), q[np.arange(len(cs)), np.minimum(j, len(cs) - 1)], 0.0)
    return _credit(cdf[np.arange(len(cs)), j], eqj, V - 1)


def recall_by_count(V: int, N: int, L: int, exact: bool | None = None):
    r"""Test-token counts and the localized accuracy per trigger node (eqs. 6.19-6.20).

    Returns ``cs`` (C,), ``pc`` (C,) its binomial law, ``p`` (g, C) = P(localized | c, A),
    ``w`` (g,) weights of the nodes of the common trigger score A and ``acc`` (g, C) =
    E[localized x credit | c, A].  Given A and the test token's own score fluctuation R,
    its training samples localize with the same probability p(c | A, R) as its test
    sequence (they face the same scores), so :math:`c' \sim \mathrm{Bin}(c, p(c|A,R))`;
    each rival's count is thinned with its own p(n | A) averaged over its R.  Rivals are
    iid thinned binomials, or the exact multinomial (eq. 6.20) where all is localized.
    """
    cs = _support(N, 1.0 / V)
    pc = stats.binom.pmf(cs, N, 1.0 / V)
    if exact is None:
        exact = len(cs) * (V // 2 + 1) * 2 ** np.ceil(np.log2((V - 1) * cs[-1] + 2)) < _EXACT_COST
    if L == 1:
        return cs, pc, np.ones((1, len(cs))), np.ones(1), _perfect_recall(V, N, cs, pc, exact)[None]
    tab = _localization_table(V, N, L, cs.astype(float))                   # (g, r, C)
    P = np.tensordot(tab, _GW, (1, 0))                                     # (g, C)
    acc = np.zeros(P.shape)
    perfect = None
    for g in range(P.shape[0]):
        if _GW[g] < 1e-9:
            continue
        if pc @ P[g] > 1 - 1e-4:                                           # all localized
            perfect = _perfect_recall(V, N, cs, pc, exact) if perfect is None else perfect
            acc[g] = P[g] * perfect
            continue
        thin = _thinning(np.clip(P[g], 0.0, 1.0 - 1e-12))   # scipy's binomial is nan at p = 1
        for i, c in enumerate(cs):
            if pc[i] < 1e-14:
                continue
            q = _rival_law(V, N, c, thin)
            cdf = np.concatenate([[0.0], np.cumsum(q)])
            cp = np.arange(c + 1)
            j = np.minimum(2 * cp, len(q))
            eqj = np.where(2 * cp < len(q), q[np.minimum(j, len(q) - 1)], 0.0)
            cr = _credit(cdf[j], eqj, V - 1)                               # (c+1,)
            p_r = np.clip(tab[g, :, i], 0.0, 1.0)                          # (r,)
            pcp = stats.binom.pmf(cp[None, :], c, np.minimum(p_r, 1 - 1e-12)[:, None])
            acc[g, i] = _GW @ (p_r * (pcp @ cr))
    return cs, pc, P, _GW, acc


def _terms(V, N, L):
    """Term sizes (standard deviations in margin units) and the dominant one."""
    nb = N / V
    out = {"readout.count_fluctuation": float(np.sqrt(5 * nb * (1 - 1 / V))) / nb,
           "readout.max_of_counts": float(np.sqrt(2 * np.log(V - 1) * nb)) / nb}
    if L > 1:
        EA = float(T.A_MEAN(V=V, N=N, L=L))
        kw = dict(V=V, N=N, L=L, n=nb)
        for k, f in T.VAR_TERMS.items():
            out[f"step2.{k}"] = float(np.sqrt(2 * f(**kw))) / EA
        out["step2.trigger"] = float(np.sqrt(T.VAR_A(V=V, N=N, L=L))) / EA
        ns = _support(N, 1.0 / V)
        pn = stats.binom.pmf(ns, N, 1.0 / V)
        a = T.PROFILE(V=V, N=N, L=L, n=ns.astype(float))
        out["step2.score_profile"] = float(np.sqrt(pn @ (a - pn @ a) ** 2)) / EA
    return out, max(out, key=out.get)


def predict_orthogonal(V, N, d, L) -> dict:
    r"""Predicted early-phase accuracy with orthonormal embeddings (attention-only model).

    Parameters
    ----------
    V, N, d, L : int
        Vocabulary, training samples, dimension (only checked: d >= 2V+2), sequence length.

    Returns
    -------
    dict
        ``accuracy`` (eq. 6.22), ``localization`` (test, eq. 6.18 averaged over c),
        ``recall`` (accuracy among localized test sequences), ``one_step_accuracy``
        (eq. 6.21), ``terms`` (name -> standard deviation in margin units; read-out terms
        relative to the mean margin N/V, step-2 terms relative to E A), ``regime`` (largest
        term).  d does not enter.

    Raises
    ------
    ValueError
        For bad input, including d < 2V+2.
    """
    from .orthogonal_onestep import one_step_accuracy       # imports this module
    cfg = check_config(V, d, L, embeddings="orthogonal", N=N)
    V, N, L = cfg["V"], cfg["N"], cfg["L"]
    cs, pc, P, w, rec = recall_by_count(V, N, L)
    # an unlocalized test sequence reads a noise token: its logits carry no information on
    # x (the label of the winner itself is excluded), credit 1/V on average (eq. 6.22)
    loc = float(w @ P @ pc)
    acc_loc = float(w @ rec @ pc)
    acc = acc_loc + (1.0 - loc) / V
    terms, regime = _terms(V, N, L)
    return {"accuracy": acc, "localization": loc,
            "recall": acc_loc / loc if loc > 0 else float("nan"),
            "one_step_accuracy": one_step_accuracy(V, N, L), "terms": terms, "regime": regime}


def critical_N_orthogonal(V, L, target: float = 0.9, N_max: int = 10**7) -> float:
    """Smallest N with predicted accuracy >= target (bisection in N; inf if none <= N_max)."""
    cfg = check_config(V, 2 * V + 2, L, embeddings="orthogonal")
    V, L = cfg["V"], cfg["L"]
    target = check_fraction("target", target)
    N_max = check_int("N_max", N_max, 1)
    acc = lambda N: predict_orthogonal(V, N, 2 * V + 2, L)["accuracy"]     # noqa: E731
    hi = max(1, int(float(T.CRITICAL_N(V=V, tau=target))))
    while acc(hi) < target:
        if hi >= N_max:
            return float("inf")
        hi = min(N_max, 2 * hi)
    lo = hi // 2
    while lo >= 1 and acc(lo) >= target:
        hi, lo = lo, lo // 2
    while hi - lo > max(1, hi // 200):                            # 0.5 % resolution
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if acc(mid) < target else (lo, mid)
    return float(hi)
