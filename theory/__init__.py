"""Closed-form early-phase theory of the one-layer recall transformer (docs/model.md).

Public surface: :func:`predict` (every model), :func:`critical_N` and :func:`capacity`
(searches on the prediction), :func:`capacity_laws` (explicit laws) and
:func:`lower_bound_N` (estimators that see only the initial gradient).  The models live in
:mod:`theory.gaussian` (attention-only, gaussian embeddings), :mod:`theory.mlp`
(attention-MLP) and :mod:`theory.orthogonal` (orthonormal embeddings).
"""
from .capacity import capacity, critical_N
from .gaussian.explicit_law import capacity_laws
from .lower_bound import lower_bound_N
from .prediction import predict

__all__ = ["predict", "critical_N", "capacity", "capacity_laws", "lower_bound_N"]
