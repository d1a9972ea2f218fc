r"""T3 combined: predicted accuracy of the attention-only model with gaussian embeddings
(docs/theory.md, sections 2-4; eqs. 3.26-3.27).

:func:`predict_gaussian` chains the localization of step 2 (T2,
:mod:`theory.gaussian.localization`) with the read-out of step 3 (T3,
:mod:`theory.gaussian.recall`) and reports the one-step model (T1,
:mod:`theory.gaussian.one_step`), the margin terms in margin units and the regime (the
dominant term, :mod:`theory.gaussian.laws`).
"""
from __future__ import annotations

import copy
import math
from functools import lru_cache

import numpy as np
from scipy.optimize import brentq
from scipy.special import ndtr

from ..accuracy import count_value
from ..quadrature import normal_nodes
from .laws import margin_terms, regime
from .localization import localization
from .one_step import one_step_accuracy
from .quenched import coherent_nonlocal, quenched_classes
from .recall import nonlocal_accuracy, recall

__all__ = ["predict_gaussian", "gaussian_accuracy", "combined_recall", "localization_classes"]

#: Gauss-Hermite nodes of the token-score variable of the localization classes.
N_CLASSES = 10


def _draws(V, L):
    """Expected number of distinct tokens among the L - 1 noise positions."""
    return V * (1.0 - (1.0 - 1.0 / V) ** (L - 1))


def _score_ratio(loc):
    """Across-task over within-task spread of the scores, from the T2 terms (0 if absent).

    ``common.*`` and ``scale.*`` terms are shared by every sequence of a trained model;
    ``token.*`` terms are the spread of one token's score (reported for the difference of
    two tokens, hence the factor 1/2 on their variance).
    """
    terms = loc.get("terms", {}) or {}
    tok = sum(float(v) ** 2 for k, v in terms.items() if k.startswith("token.")) / 2.0
    com = sum(float(v) ** 2 for k, v in terms.items() if k.startswith(("common.", "scale.")))
    return math.sqrt(com / tok) if tok > 0 and math.isfinite(com / tok) else 0.0


def localization_classes(loc, V, L, n_task=3, n_tok=N_CLASSES):
    r"""Localization probability per class of tokens, per class of trained models (3.26).

    T2 (docs/localization.md) models the token scores of one trained model as independent
    Gaussians around a trigger score that varies from model to model: a token whose
    standardised own score is :math:`Z_{\rm tok}` is localized with probability
    :math:`\Phi(\nu + s_{\rm task}Z_{\rm task} + Z_{\rm tok})^{D}`, :math:`D` the expected
    number of distinct noise tokens, :math:`Z_{\rm task}, Z_{\rm tok}` standard normal
    (model, token) and :math:`s_{\rm task}` the across-model over within-model spread of
    T2's terms (docs/theory.md, section 2).  Given the mean localization p, :math:`\nu`
    solves :math:`\mathbb E\,\Phi(\nu + s_{\rm task}Z_{\rm task} + Z_{\rm tok})^D = p`
    (monotone), separately for test and training sequences.

    Parameters
    ----------
    loc : dict
        T2's output: ``p_test``, ``p_train`` (floats) and ``terms``.
    V, L : int
    n_task, n_tok : int
        Gauss-Hermite nodes of :math:`Z_{\rm task}` and :math:`Z_{\rm tok}`.

    Returns
    -------
    list of ``(weight, p_test_k, p_train_k, w_k)``
        Per node of :math:`Z_{\rm task}` (``n_task`` of them, or 1): its weight (float), the
        token classes' test and training localization and their weights (arrays of shape
        ``(n_tok,)``, or ``(1,)`` when localization is perfect).
    """
    p_test, p_train = float(loc["p_test"]), float(loc["p_train"])
    if L == 1 or (p_test >= 1 - 1e-12 and p_train >= 1 - 1e-12):
        return [(1.0, np.ones(1), np.ones(1), np.ones(1))]
    r = _score_ratio(loc)
    G, wG = normal_nodes(n_task) if r > 0.05 else (np.zeros(1), np.ones(1))
    z, w = normal_nodes(n_tok)
    D = _draws(V, L)
    shift = (r * G)[:, None] + z[None, :]                                  # (task, token)

    def classes(p):
        if p >= 1 - 1e-12:
            return np.ones(shift.shape)
        if p <= 1e-12:
            return np.zeros(shift.shape)
        f = lambda k: float(wG @ (ndtr(k + shift) ** D) @ w) - p            # noqa: E731
        return ndtr(brentq(f, -80.0, 80.0, xtol=1e-10) + shift) ** D

    pt, ptr = classes(p_test), classes(p_train)
    return [(wg, pt[i], ptr[i], w) for i, wg in enumerate(wG)]


def _localization(V, N, d, L):
    """T2 (a single position is always localized)."""
    return {"p_test": 1.0, "p_train": 1.0} if L == 1 else localization(V, N, d, L)


def gaussian_accuracy(V, N, d, L, quenched=True) -> float:
    """Predicted accuracy alone (eq. 3.27), without the one-step model and the terms.

    ``quenched=False`` uses the per-sequence localization classes (3.26) instead of the
    quenched ones (8.1-8.6): the prediction before docs/localization_gaps.md, which the
    calibration figure draws beside the current one.
    """
    N = count_value(N)
    return combined_recall(V, N, d, L, _localization(V, N, d, L), quenched=quenched)["accuracy"]


def predict_gaussian(V, N, d, L) -> dict:
    """The prediction of :func:`theory.predict` for this model (checked integers in).

    Returns a fresh copy of the cached result (callers may modify it).
    """
    return copy.deepcopy(_predict(V, count_value(N), d, L))


@lru_cache(maxsize=1024)
def _predict(V, N, d, L):
    loc = _localization(V, N, d, L)
    p_test, p_train = float(loc["p_test"]), float(loc["p_train"])
    rec = combined_recall(V, N, d, L, loc)
    one = (one_step_accuracy(V, N, d, L) if L > 1
           else {"accuracy": rec["accuracy"], "ceiling": 1.0})
    terms = margin_terms(V, N, d, L, p_train=p_train)
    loads = regime(V, N, d, L, p_test=p_test, p_train=p_train, full=True)
    out = {
        "accuracy": _finite(rec["accuracy"]),
        "localization": p_test,
        "localization_train": p_train,
        "recall": _finite(rec["recall"], p_test > 0),
        "one_step_accuracy": _finite(one["accuracy"]),
        "one_step_ceiling": float(one["ceiling"]),
        "terms": terms,
        "loads": loads,
        "regime": max(loads, key=loads.get),
    }
    return out


def combined_recall(V, N, d, L, loc, quenched=True):
    """Eq. 3.27 (docs/theory.md): eqs. 3.24-3.25 averaged over localization classes.

    ``quenched`` (default) uses the fixed-noise-score classes of eqs. 8.1-8.3 and the
    coherent non-localized read-out 8.4-8.6 (:mod:`theory.gaussian.quenched`,
    docs/localization_gaps.md); ``quenched=False`` the per-sequence classes of
    :func:`localization_classes` (eq. 3.26).

    Returns a dict with ``accuracy`` and ``recall`` (accuracy among localized test
    sequences), floats.
    """
    acc = hit = p_loc = 0.0
    classes = (quenched_classes(loc, V, L, _score_ratio(loc)) if quenched
               else localization_classes(loc, V, L))
    nl = (nonlocal_accuracy(V, N, d, [float(loc["p_train"])], [1.0])
          if float(loc["p_test"]) < 1 - 1e-9 else 0.0)
    if quenched:
        nl = coherent_nonlocal(V, N, L, float(loc["p_test"]), nl)
    for wg, pk_test, pk_train, wk in classes:
        r = recall(V, N, d, pk_test, pk_train, wk, nonlocal_acc=nl)
        pl = float(np.dot(wk, pk_test))
        acc += wg * r["accuracy"]
        hit += wg * pl * (r["recall"] if pl > 0 else 0.0)
        p_loc += wg * pl
    return {"accuracy": acc, "recall": hit / p_loc if p_loc > 0 else float("nan")}


def _finite(x, defined=True):
    x = float(x)
    if not defined:
        return float("nan")            # recall given localization is undefined when p_test = 0
    if not math.isfinite(x):
        raise ValueError("prediction is not finite (numerical failure)")
    return min(max(x, 0.0), 1.0)
