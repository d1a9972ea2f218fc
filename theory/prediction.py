r"""The prediction dispatcher: one entry point for every model (docs/model.md, section 6).

Attention-only with gaussian embeddings: :mod:`theory.gaussian` (T1-T4); attention-MLP:
:mod:`theory.mlp` (T5); orthogonal embeddings: :mod:`theory.orthogonal` (T6).
"""
from __future__ import annotations

from common.checks import check_config, check_int

from .gaussian.predict import predict_gaussian
from .mlp.predict import predict_mlp
from .orthogonal.predict import predict_orthogonal

__all__ = ["predict"]


def predict(V, N, d, L, *, m=None, embeddings="gaussian", activation="relu"):
    r"""Predicted accuracy of the three-step model in the early-phase limit.

    Parameters
    ----------
    V, N, d, L : int
        Vocabulary size, training samples, embedding dimension, sequence length.
    m : int or None
        MLP width; given, the attention-MLP theory answers (:func:`theory.mlp.predict.predict_mlp`,
        T5, gaussian embeddings only).
    embeddings : {"gaussian", "orthogonal"}
        Embedding law; "orthogonal" is answered by
        :func:`theory.orthogonal.predict.predict_orthogonal` (T6).
    activation : {"relu", "he2"}
        MLP activation.

    Returns
    -------
    dict
        Every model: ``accuracy``, ``localization`` (test sequences), ``localization_train``
        (training samples), ``recall`` (accuracy among localized tests), ``terms`` (term
        name -> standard deviation in units of the mean margin) and ``regime`` (the dominant
        term).  Attention-only gaussian (docs/theory.md): ``accuracy`` is eq. 3.27, ``terms``
        eq. 4.9, ``regime`` eq. 4.10, plus ``one_step_accuracy`` (T1, eq. 1.12),
        ``one_step_ceiling`` (eq. 1.13) and ``loads`` (term -> how far it is from its
        capacity condition).  The other models add their own entries (docs/mlp.md,
        docs/orthogonal.md).

    Raises
    ------
    ValueError
        For an invalid configuration (one-line message).
    NotImplementedError
        For the attention-MLP model with orthogonal embeddings.
    """
    cfg = check_config(V, d, L, m, embeddings, activation, N=check_int("N", N, 1))
    V, N, d, L, m = cfg["V"], cfg["N"], cfg["d"], cfg["L"], cfg["m"]
    if m is not None:
        if cfg["embeddings"] != "gaussian":
            raise NotImplementedError("the attention-MLP theory (T5) covers gaussian "
                                      "embeddings only")
        return predict_mlp(V, N, d, L, m, cfg["activation"])
    if cfg["embeddings"] == "orthogonal":
        return predict_orthogonal(V, N, d, L)
    return predict_gaussian(V, N, d, L)
