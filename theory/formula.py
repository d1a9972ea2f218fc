r"""Registry of named closed-form formulas.

Every formula of the theory is a sympy expression registered here under a stable ``name``
and an equation number ``eq`` that its docstring and docs/theory.md share, e.g.
``formula("recall.signal_mean", "3.4", expr)``.  The expression is compiled once to a
NumPy function with :func:`sympy.lambdify`; calling the :class:`Formula` evaluates it with
keyword arguments named after its free symbols (broadcasting over arrays).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sympy as sp

REGISTRY: dict[str, "Formula"] = {}
_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Formula:
    """A named sympy expression with its equation number and compiled NumPy function."""

    name: str
    eq: str
    expr: sp.Expr
    doc: str = ""
    source: str = ""                     # "theory/<module>.py:<line>" of the registration
    args: tuple = field(init=False)
    _fn: object = field(init=False, repr=False)

    def __post_init__(self):
        args = tuple(sorted(self.expr.free_symbols, key=lambda s: s.name))
        object.__setattr__(self, "args", args)
        object.__setattr__(self, "_fn", sp.lambdify(args, self.expr, modules=["scipy", "numpy"]))

    def __call__(self, **values):
        missing = [s.name for s in self.args if s.name not in values]
        if missing:
            raise ValueError(f"formula {self.name} ({self.eq}) needs {', '.join(missing)}")
        out = self._fn(*(np.asarray(values[s.name], dtype=float) for s in self.args))
        return np.asarray(out, dtype=float) + np.zeros(np.broadcast(*(
            np.asarray(values[s.name]) for s in self.args)).shape if self.args else ())

    def at(self, values: dict):
        """Evaluate with the entries of ``values`` that name this formula's symbols (others,
        the context of a larger computation, are ignored); a missing one raises ValueError."""
        return self(**{s.name: values[s.name] for s in self.args if s.name in values})

    @property
    def latex(self) -> str:
        return sp.latex(self.expr)


def formula(name: str, eq: str, expr, doc: str = "") -> Formula:
    """Register and return a :class:`Formula`; names and equation numbers must be unique."""
    expr = sp.sympify(expr)
    old = REGISTRY.get(name)
    if old is not None:
        if old.eq == eq and sp.simplify(old.expr - expr) == 0:
            return old                       # module re-import
        raise ValueError(f"formula name {name!r} registered twice")
    for f in REGISTRY.values():
        if f.eq == eq:
            raise ValueError(f"equation ({eq}) used by both {f.name} and {name}")
    caller = sys._getframe(1)            # where the formula is written, for readers
    path = Path(caller.f_code.co_filename).resolve()
    try:
        path = path.relative_to(_ROOT)
    except ValueError:
        pass
    f = Formula(name, eq, expr, doc, f"{path.as_posix()}:{caller.f_lineno}")
    REGISTRY[name] = f
    return f


def all_formulas() -> list:
    """Every registered formula (all theory modules imported), in equation-number order."""
    import importlib
    import pkgutil
    package = sys.modules[__name__.rpartition(".")[0]]
    for info in pkgutil.walk_packages(package.__path__, prefix=package.__name__ + "."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    return sorted(REGISTRY.values(), key=lambda f: eq_key(f.eq))


def eq_key(eq: str) -> tuple:
    """Sort key of an equation number: ``"3.4b"`` -> (3, 4, "b")."""
    import re
    return tuple(int(t) if t.isdigit() else t for t in re.findall(r"\d+|[a-z]+", eq))
