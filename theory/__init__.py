"""Closed-form early-phase theory of the one-layer recall transformer (SPEC section 6).

Public surface (resolved lazily so that importing a submodule stays light):
``predict``, ``critical_N``, ``capacity``, ``lower_bound_N``.
"""
import importlib

_API = {
    "predict": "theory.prediction",
    "critical_N": "theory.capacity_laws",
    "capacity": "theory.capacity_laws",
    "lower_bound_N": "theory.lower_bound",
}

__all__ = sorted(_API)


def __getattr__(name):
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'theory' has no attribute {name!r}")
