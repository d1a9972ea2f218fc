"""Every figure builds in quick mode into a temporary directory, from a temporary cache."""
import importlib
import json

import pytest

from figures.__main__ import FIGURES
from figures.common import CACHE_ENV


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One fresh sweep cache for the whole module (F9 reuses the points F1-F6 computed)."""
    mp = pytest.MonkeyPatch()
    path = tmp_path_factory.mktemp("sweeps")
    mp.setenv(CACHE_ENV, str(path))
    yield path
    mp.undo()


@pytest.mark.parametrize("name", FIGURES)
def test_quick_figure_writes_png_and_pdf(name, cache, tmp_path):
    paths = importlib.import_module(f"figures.{name}").main(quick=True, outdir=tmp_path)
    for ext in ("png", "pdf"):
        out = tmp_path / f"{name}.{ext}"
        assert str(out) in map(str, paths)
        assert out.is_file() and out.stat().st_size > 0
    assert any(cache.rglob("*.json"))                     # the points went to the test cache


def test_calibration_json_has_error_statistics(cache, tmp_path):
    importlib.import_module("figures.fig9_calibration").main(quick=True, outdir=tmp_path)
    report = json.loads((tmp_path / "calibration.json").read_text())
    total = report["all"]
    assert total["n"] + total["theory_failed"] == len(report["points"]) > 0
    assert total["n"] > 0 and {"mean_abs_error", "max_abs_error"} <= set(total)
    assert 0 <= total["mean_abs_error"] <= total["max_abs_error"] <= 1
