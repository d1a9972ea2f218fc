"""``python -m theory``: predict / critical-n / capacity, and one-line errors with status 2."""
import json
import subprocess
import sys

import pytest

from theory.__main__ import main
from common.cli import run
from theory import predict


def call(argv, capsys):
    """Run the command line in-process: (exit status, stdout, stderr lines)."""
    try:
        code = run(main, argv)
    except SystemExit as exc:                       # argparse errors exit directly
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, [l for l in err.splitlines() if l.strip()]


def test_predict_json_matches_the_api(capsys):
    code, out, err = call(["predict", "--V", "64", "--N", "1000", "--d", "32", "--L", "8",
                           "--json"], capsys)
    assert code == 0 and not err
    res = json.loads(out)
    p = predict(64, 1000, 32, 8)
    for k in ("accuracy", "localization", "recall", "one_step_accuracy"):
        assert res[k] == pytest.approx(p[k], abs=1e-12)
    assert res["regime"] == p["regime"]
    assert {f"term_{k}" for k in p["terms"]} <= set(res)


def test_predict_text_output(capsys):
    code, out, err = call(["predict", "--V", "16", "--N", "200", "--d", "16", "--L", "1"],
                          capsys)
    assert code == 0 and not err
    assert out.splitlines()[0].split()[0] == "V" and "accuracy" in out


def test_critical_n_and_capacity(capsys):
    code, out, _ = call(["critical-n", "--V", "16", "--d", "64", "--L", "1", "--json"], capsys)
    assert code == 0 and json.loads(out)["critical_N"] > 16
    code, out, _ = call(["critical-n", "--V", "64", "--d", "16", "--L", "1", "--json"], capsys)
    assert code == 0 and json.loads(out)["critical_N"] == "inf"     # the token text prints
    code, text, _ = call(["critical-n", "--V", "64", "--d", "16", "--L", "1"], capsys)
    assert code == 0 and text.split()[-1] == "inf"
    code, out, _ = call(["max-v", "--N", "2000", "--d", "64", "--L", "1", "--json"], capsys)
    assert code == 0 and json.loads(out)["capacity"] >= 2


BAD = [
    ["predict", "--V", "1", "--N", "10", "--d", "4", "--L", "2"],            # V < 2
    ["predict", "--V", "8", "--N", "0", "--d", "4", "--L", "2"],             # N < 1
    ["predict", "--V", "8", "--N", "10", "--d", "0", "--L", "2"],            # d < 1
    ["predict", "--V", "8", "--N", "10", "--d", "4", "--L", "0"],            # L < 1
    ["predict", "--V", "8", "--N", "10", "--d", "4", "--L", "2", "--m", "0"],    # m < 1
    ["predict", "--V", "8", "--N", "10", "--d", "4", "--L", "2",
     "--embeddings", "orthogonal"],                                          # d < 2V + 2
    ["predict", "--V", "eight", "--N", "10", "--d", "4", "--L", "2"],        # unparseable
    ["predict", "--V", "8", "--N", "nan", "--d", "4", "--L", "2"],           # non-finite
    ["predict", "--V", "8", "--N", "inf", "--d", "4", "--L", "2"],
    ["predict", "--V", "8", "--N", "10", "--d", "4"],                        # missing --L
    ["predict", "--V", "8", "--N", "10", "--d", "40", "--L", "2", "--m", "16",
     "--embeddings", "orthogonal"],                                             # MLP+orth: n/a
    ["critical-n", "--V", "8", "--d", "4", "--L", "2", "--target", "1.5"],   # target > 1
    ["critical-n", "--V", "8", "--d", "4", "--L", "2", "--target", "nan"],
    ["max-v", "--N", "-3", "--d", "4", "--L", "2"],
    ["frobnicate"],
]


@pytest.mark.parametrize("argv", BAD, ids=[" ".join(a[:1] + a[-2:]) for a in BAD])
def test_bad_input_exits_2_with_one_stderr_line(argv, capsys):
    code, out, err = call(argv, capsys)
    assert code == 2 and out == "" and len(err) == 1, (code, out, err)
    assert "Traceback" not in err[0]


def test_real_entry_point_has_no_traceback():
    """The module entry point itself: bad input gives status 2 and exactly one line."""
    r = subprocess.run([sys.executable, "-m", "theory", "predict", "--V", "1", "--N", "5",
                        "--d", "3", "--L", "2"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and "V" in r.stderr


def test_searches_take_the_activation(capsys):
    """critical-n and capacity pass --activation to the MLP theory (he2 differs from relu)."""
    from theory import critical_N
    base = ["critical-n", "--V", "8", "--d", "16", "--L", "2", "--m", "64", "--target", "0.5",
            "--json"]
    code, out, _ = call(base + ["--activation", "he2"], capsys)
    assert code == 0
    got = json.loads(out)["critical_N"]
    want = critical_N(8, 16, 2, target=0.5, m=64, activation="he2")
    assert float(got) == want
    code, _, err = call(base + ["--activation", "tanh"], capsys)
    assert code == 2 and len(err) == 1


def test_formulas_lists_the_registry_with_doc_sections(capsys):
    from theory.formula import all_formulas
    code, out, err = call(["formulas", "--json"], capsys)
    assert code == 0 and not err
    rows = json.loads(out)
    assert [r["eq"] for r in rows] == [f.eq for f in all_formulas()]
    assert all(r["docs"].startswith("docs/") for r in rows), [r for r in rows
                                                              if not r["docs"].startswith("docs/")]


def test_formulas_prints_one_formula_in_latex_with_its_source(capsys):
    code, out, err = call(["formulas", "3.15", "--json"], capsys)
    assert code == 0 and not err
    f = json.loads(out)
    assert f["name"] == "recall.var_mean_bias" and "\\frac" in f["latex"]
    path, line = f["source"].rsplit(":", 1)
    from pathlib import Path
    src = (Path(__file__).resolve().parents[1] / path).read_text().splitlines()
    assert "formula(" in src[int(line) - 1] and "3.15" in "\n".join(src[int(line) - 1:int(line) + 2])
    code, out, err = call(["formulas", "99.1"], capsys)
    assert code == 2 and len(err) == 1 and "99.1" in err[0]


def test_capacity_prints_the_explicit_law_and_the_inverse_questions(capsys):
    from theory import capacity_laws
    code, out, err = call(["capacity", "--V", "32", "--d", "64", "--L", "64", "--N", "20000",
                           "--target", "0.9", "--json"], capsys)
    assert code == 0 and not err
    res = json.loads(out)
    want = capacity_laws(32, 64, 64, target=0.9, N=20000)
    assert res["N_star"] == pytest.approx(want["N_star"], rel=1e-12)
    assert res["regime"] == want["regime"] and isinstance(res["L_max"], int)
    assert {"N_recall", "N_localization", "N_count", "N_mean_bias", "d_crosstalk",
            "d_interference", "d_ceiling", "L_c", "d_min", "V_star"} <= set(res)
    code, text, _ = call(["capacity", "--V", "32", "--d", "64", "--L", "64"], capsys)
    assert code == 0 and "regime" in text and "L_max" not in text
    for bad in (["capacity", "--V", "1", "--d", "64", "--L", "4"],
                ["capacity", "--V", "8", "--d", "64", "--L", "4", "--target", "1.2"],
                ["capacity", "--V", "8", "--d", "64"]):
        code, _, err = call(bad, capsys)
        assert code == 2 and len(err) == 1, bad
