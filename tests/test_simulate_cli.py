"""``python -m simulate run``: output on good input; one stderr line and exit 2 on bad input."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(*args):
    return subprocess.run([sys.executable, "-m", "simulate", "run", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_json_output_reports_measurements_over_seeds():
    r = _run("--V", "16", "--N", "400", "--d", "16", "--L", "4", "--seeds", "3", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["seeds"] == 3 and out["mode"] == "limit"
    for k in ("accuracy", "localization", "recall"):
        assert 0 <= out[k] <= 1 and out[k + "_sd"] >= 0


def test_finite_steps_and_text_output():
    r = _run("--V", "8", "--N", "200", "--d", "8", "--L", "3", "--m", "16", "--seeds", "2",
             "--eta", "0.1", "--gamma", "100")
    assert r.returncode == 0, r.stderr
    assert "mode" in r.stdout and "finite" in r.stdout and "accuracy" in r.stdout


BAD = [
    ["--V", "1", "--N", "10", "--d", "4", "--L", "2"],
    ["--V", "4", "--N", "0", "--d", "4", "--L", "2"],
    ["--V", "4", "--N", "10", "--d", "0", "--L", "2"],
    ["--V", "4", "--N", "10", "--d", "4", "--L", "0"],
    ["--V", "4", "--N", "10", "--d", "4", "--L", "2", "--m", "0"],
    ["--V", "4", "--N", "10", "--d", "9", "--L", "2", "--embeddings", "orthogonal"],
    ["--V", "4", "--N", "10", "--d", "4", "--L", "2", "--embeddings", "sparse"],
    ["--V", "x", "--N", "10", "--d", "4", "--L", "2"],
    ["--V", "4", "--N", "1e3", "--d", "4", "--L", "2"],
    ["--V", "4", "--N", "10", "--d", "4", "--L", "2", "--eta", "nan", "--gamma", "1"],
    ["--V", "4", "--N", "10", "--d", "4", "--L", "2", "--eta", "1", "--gamma", "inf"],
    ["--V", "4", "--N", "10", "--d", "4", "--L", "2", "--eta", "-1", "--gamma", "1"],
    ["--V", "4", "--N", "10", "--d", "4", "--L", "2", "--eta", "1"],
    ["--V", "4", "--N", "10", "--d", "4", "--L", "2", "--limit", "--eta", "1", "--gamma", "1"],
    ["--V", "4", "--N", "10", "--d", "4", "--L", "2", "--eta", "1e300", "--gamma", "1e300"],
    ["--V", "4", "--N", "10", "--d", "4", "--L", "2", "--seeds", "0"],
    ["--V", "4", "--N", "10", "--d", "4"],
]


@pytest.mark.parametrize("args", BAD, ids=[" ".join(a[-4:]) for a in BAD])
def test_bad_input_exits_2_with_one_line(args):
    r = _run(*args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "error" in lines[0] and "Traceback" not in r.stderr
    assert r.stdout == ""
