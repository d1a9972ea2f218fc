r"""Critical N and capacity V: the smallest N, or the largest V, whose predicted accuracy
reaches a target (docs/model.md, section 5), for every model.

Both invert the full prediction (:func:`theory.prediction.predict`) by bisection; the
explicit laws of :mod:`theory.gaussian.laws` only start the search.
"""
from __future__ import annotations

import math
from functools import lru_cache

from common.checks import check_config, check_fraction, check_int

from .gaussian.explicit_law import capacity_laws
from .gaussian.predict import gaussian_accuracy
from .orthogonal.predict import critical_N_orthogonal
from .prediction import predict
from .search import geometric_bisect, largest_integer

__all__ = ["critical_N", "capacity"]


@lru_cache(maxsize=4096)
def _accuracy(V, N, d, L, m=None, embeddings="gaussian", activation="relu"):
    """Predicted accuracy (cached: the searches revisit points)."""
    if m is None and embeddings == "gaussian":       # skip the one-step model and the terms
        return gaussian_accuracy(V, N, d, L)
    return predict(V, N, d, L, m=m, embeddings=embeddings, activation=activation)["accuracy"]


def critical_N(V, d, L, *, target=0.9, m=None, embeddings="gaussian", activation="relu",
               n_max=10**10):
    r"""Smallest N whose predicted accuracy reaches ``target`` (docs/model.md, section 5).

    Bisection in log N on the prediction (:func:`theory.prediction.predict`, any model),
    started from the explicit law (docs/explicit_law.md, eqs. 4.15 and 4.20); ``math.inf``
    when the prediction stays below the target up to ``n_max`` (a d-limited ceiling, or
    localization that never reaches the target).  Orthogonal embeddings use
    :func:`theory.orthogonal.predict.critical_N_orthogonal` (d-free).
    """
    cfg = check_config(V, d, L, m, embeddings, activation)
    tau_ = check_fraction("target", target)
    n_max = check_int("n_max", n_max, 1)
    V, d, L, m = cfg["V"], cfg["d"], cfg["L"], cfg["m"]
    if m is None and cfg["embeddings"] == "orthogonal":
        return critical_N_orthogonal(V, L, tau_, N_max=int(n_max))
    ok = lambda n: _accuracy(V, n, d, L, m, cfg["embeddings"], cfg["activation"]) >= tau_  # noqa
    law = capacity_laws(V, d, L, target=tau_)["N_star"]
    hi = int(min(max(law, V), n_max)) if math.isfinite(law) else max(V, 1)
    lo = 0
    while not ok(hi):
        lo, hi = hi, hi * 4
        if hi > n_max:
            return math.inf if not ok(n_max) else geometric_bisect(ok, lo, n_max)
    while lo == 0 and hi > 1 and ok(max(1, hi // 4)):
        hi = max(1, hi // 4)
    return geometric_bisect(ok, max(1, hi // 4) if lo == 0 else lo, hi)


def capacity(N, d, L, *, target=0.9, m=None, embeddings="gaussian", activation="relu"):
    r"""Largest V whose predicted accuracy reaches ``target`` (docs/model.md, section 5).

    Returns 1 when no V in 2..16 reaches the target.  Bisection on V, started by doubling
    from the smallest passing V.  With
    orthogonal embeddings V is also bounded by the frame, :math:`2V + 2 \le d`.
    """
    cfg = check_config(2, d, L, m, embeddings, activation, N=N)
    tau_ = check_fraction("target", target)
    N, d, L, m, emb = cfg["N"], cfg["d"], cfg["L"], cfg["m"], cfg["embeddings"]
    v_max = (d - 2) // 2 if emb == "orthogonal" else math.inf
    ok = lambda v: v <= v_max and _accuracy(v, N, d, L, m, emb, cfg["activation"]) >= tau_  # noqa
    # the prediction is not monotone at the very smallest V (V = 2 has a single wrong label
    # but the largest relative count noise), so start from the smallest passing V <= 16
    start = next((v for v in range(2, 17) if ok(v)), None)
    return 1 if start is None else largest_integer(ok, start)
