"""Project-wide rules for the theory: every formula is documented, and theory is independent."""
import ast
import importlib
import pkgutil
import re
from pathlib import Path

import numpy as np

import theory
from theory.formula import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
THEORY = ROOT / "theory"


def _all_theory_modules():
    for info in pkgutil.walk_packages(theory.__path__, prefix="theory."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)


def test_every_formula_has_a_unique_number_and_is_in_the_docs():
    _all_theory_modules()                    # registration raises on a duplicate name or number
    assert len(REGISTRY) > 50
    docs = "\n".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))
    eqs = [f.eq for f in REGISTRY.values()]
    assert len(eqs) == len(set(eqs))
    missing = [f"{f.name} ({f.eq})" for f in REGISTRY.values()
               if f.name.split(".", 1)[-1] not in docs
               or not re.search(r"\(" + re.escape(f.eq) + r"\)", docs)]
    assert not missing, "formulas missing from docs/: " + ", ".join(missing[:20])


def test_every_formula_evaluates_to_finite_numbers_at_a_typical_point():
    _all_theory_modules()
    point = {"V": 64.0, "N": 5000.0, "d": 32.0, "L": 8.0, "m": 256.0, "tau": 0.9}
    for f in REGISTRY.values():
        if all(s.name in point for s in f.args):
            out = f.at(point)
            assert np.all(np.isfinite(out)), f"{f.name} ({f.eq}) is not finite at {point}"


def test_theory_never_imports_simulate_nor_fits():
    for path in THEORY.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n == "simulate" or n.startswith("simulate.") for n in names), path.name
        text = path.read_text()
        for fit in ("curve_fit", "polyfit", "least_squares", "lstsq"):
            assert fit not in text, f"{path.name} calls {fit}"
