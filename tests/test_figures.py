"""Every figure builds in quick mode into a temporary directory, from a temporary cache;
``python -m figures`` rejects bad input with one stderr line and exit status 2."""
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from figures import style
from figures.__main__ import FIGURES, QUICK_OUT, main, output_dir
from figures.grids import CACHE_ENV


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


def test_quick_builds_do_not_overwrite_the_committed_figures():
    assert output_dir(quick=True) == QUICK_OUT == os.path.join(style.OUT, "quick")
    assert output_dir(quick=False) == style.OUT
    assert output_dir(quick=True, outdir="elsewhere") == "elsewhere"     # explicit wins


@pytest.mark.parametrize("argv", [["--only", "nope"], ["--only"], ["--bogus"],
                                  ["--quick", "fig1"], ["--outdir", "FILE", "--only", "fig1"]])
def test_bad_input_exits_2_with_one_stderr_line(argv, tmp_path, capsys):
    file = tmp_path / "not_a_dir"
    file.write_text("")
    with pytest.raises(SystemExit) as exc:
        main([str(file) if a == "FILE" else a for a in argv])
    out, err = capsys.readouterr()
    assert exc.value.code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "error" in err, err


def test_module_entry_point_bad_input_has_no_traceback():
    root = Path(__file__).resolve().parents[1]                  # figures/ is not installed
    r = subprocess.run([sys.executable, "-m", "figures", "--only", "nope"], capture_output=True,
                       text=True, cwd=root)
    assert r.returncode == 2 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_random_grid_is_reproducible_and_theory_free():
    """The calibration grid depends on its seed only, respects its size limits, and its
    summary's excess-over-noise statistic subtracts twice the standard error."""
    import numpy as np
    from figures import random_grid as rg
    a, b = rg.draw_configs(50), rg.draw_configs(50)
    assert a == b and a != rg.draw_configs(50, seed=rg.BASE_SEED + 1)
    for c in a:
        assert 4 <= c["V"] <= 2048 and 2 <= c["d"] <= 1024 and 2 <= c["L"] <= 256
        assert c["N"] * c["L"] <= 2e7 and c["V"] * c["d"] <= 2**19
    s = rg.summary(np.array([0.1, -0.3]), np.array([0.01, 0.1]))
    assert s["max_abs_error"] == 0.3 and abs(s["max_excess_over_2se"] - 0.1) < 1e-12


@pytest.mark.parametrize("argv", [["--points", "0"], ["--seeds", "1"], ["--points", "x"]])
def test_random_grid_bad_input_exits_2(argv, capsys):
    from figures import random_grid as rg
    with pytest.raises(SystemExit) as exc:
        rg.main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1


def test_a_missing_theory_function_is_an_error_not_a_placeholder(cache):
    from figures import theory_eval
    with pytest.raises(theory_eval.TheoryMissing, match="no_such_function"):
        theory_eval.theory_rows("no_such_function", [{"V": 4}])
    with pytest.raises(theory_eval.TheoryMissing, match="gaussian.nowhere"):
        theory_eval.theory_rows("gaussian.nowhere.fn", [{"V": 4}])
    with pytest.raises(theory_eval.TheoryMissing, match="no.such.formula"):
        theory_eval.eq("no.such.formula", "gaussian.laws")
