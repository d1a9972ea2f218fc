r"""T6: predicted early-phase accuracy with orthonormal embeddings (docs/orthogonal.md).

With the 2V+2 vectors orthonormal, the step-3 logits are integer counts (eq. 6.2): a test
sequence attending :math:`e_x + z_{trig}` scores the correct label :math:`2c'_x` and a
wrong label :math:`k = \pi^*(x'')` scores :math:`c'_{x''}`, with :math:`c'` the number of
*localized* training samples of a token.  Step 2 (eqs. 6.3-6.14) decides localization
through a token-score profile :math:`a(n)` of the label count n, a token-specific Gaussian
spread :math:`\sigma(n)` and a common trigger score :math:`A`.  Nothing depends on d.
The per-count pieces live in :mod:`theory.orthogonal.counts` and
:mod:`theory.orthogonal.one_step`.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from common.checks import check_config, check_fraction, check_int
from . import terms as T
from ..accuracy import count_value
from .count_laws import count_law
from .counts import recall_by_count
from .one_step import orthogonal_one_step_accuracy

__all__ = ["predict_orthogonal", "critical_N_orthogonal"]


def _terms(V, N, L):
    """Term sizes (standard deviations in margin units) as a dict name -> float, and the
    name of the largest; read-out terms relative to the mean margin N/V, step-2 terms
    relative to E A (eq. 6.8)."""
    N = count_value(N)
    nb = N / V
    out = {"readout.count_fluctuation": float(np.sqrt(5 * nb * (1 - 1 / V))) / nb,
           "readout.max_of_counts": float(np.sqrt(2 * np.log(V - 1) * nb)) / nb}
    if L > 1:
        EA = float(T.A_MEAN(V=V, N=N, L=L))
        EA = EA if EA != 0 else 1e-300                # E A = 0 (V = 2, N = 1): terms infinite
        kw = dict(V=V, N=N, L=L, n=nb)
        for k, f in T.VAR_TERMS.items():
            out[f"step2.{k}"] = float(np.sqrt(2 * f(**kw))) / EA
        out["step2.trigger"] = float(np.sqrt(T.VAR_A(V=V, N=N, L=L))) / EA
        ns, pn, _ = count_law(N, 1.0 / V)
        a = T.PROFILE(V=V, N=N, L=L, n=ns)
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
        ``accuracy`` (eq. 6.22), ``localization`` (test sequences, eq. 6.18 averaged over
        A, R and c: :math:`\bar p`),
        ``recall`` (accuracy among localized test sequences), ``one_step_accuracy``
        (eq. 6.21), ``terms`` (name -> standard deviation in margin units; read-out terms
        relative to the mean margin N/V, step-2 terms relative to E A), ``regime`` (largest
        term).  d does not enter.

    Raises
    ------
    ValueError
        For bad input, including d < 2V+2.
    """
    cfg = check_config(V, d, L, embeddings="orthogonal", N=N)
    V, N, L = cfg["V"], cfg["N"], cfg["L"]
    cs, pc, P, w, rec = recall_by_count(V, N, L)
    # an unlocalized test sequence reads a noise token: its logits carry no information on
    # x (the label of the winner itself is excluded), credit 1/V on average (eq. 6.22)
    loc = float(min(max(w @ P @ pc, 0.0), 1.0))
    acc_loc = float(w @ rec @ pc)
    acc = acc_loc + (1.0 - loc) / V
    terms, regime = _terms(V, N, L)
    return {"accuracy": acc, "localization": loc,
            "recall": acc_loc / loc if loc > 0 else float("nan"),
            "one_step_accuracy": orthogonal_one_step_accuracy(V, N, L), "terms": terms, "regime": regime}


def critical_N_orthogonal(V, L, target: float = 0.9, N_max: int = 10**7) -> float:
    r"""Smallest N with predicted accuracy (eq. 6.22) >= target, orthonormal embeddings.

    Starts from the Gaussian law (6.17), :math:`V(\sqrt{2\ln V} + 2\zeta_\tau)^2`, doubles
    until the target is met and bisects to 0.5 % in N.  d does not enter (evaluated at
    d = 2V+2).

    Parameters
    ----------
    V, L : int
        Vocabulary and sequence length.
    target : float
        Target accuracy :math:`\tau \in (0, 1)`.
    N_max : int
        Largest N tried.

    Returns
    -------
    float
        The critical N, or ``inf`` if none <= N_max reaches the target.
    """
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
