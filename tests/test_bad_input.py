"""The bad-input and fault corpus: every input that once crashed, hung or returned nonsense,
and its neighbours, ends in a one-line error of the right kind or in a correct answer.

API cases assert the exception type (and that the message is one line); command-line cases
run the module as a subprocess and assert the exit status and a single stderr line.
"""
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from common.interrupt import descendants
from simulate import Params, Task, evaluate, sample, three_step
from theory import capacity, capacity_laws, critical_N, lower_bound_N, predict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def one_line(exc_info):
    msg = str(exc_info.value)
    assert msg and "\n" not in msg, msg
    return msg


def cli(module, *args, env=None, timeout=120):
    """Run ``python -m module args``: (exit status, stdout, non-empty stderr lines)."""
    r = subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=ROOT,
                       capture_output=True, text=True, timeout=timeout,
                       env=None if env is None else {**os.environ, **env})
    return r.returncode, r.stdout, [l for l in r.stderr.splitlines() if l.strip()]


@pytest.fixture(scope="module")
def small():
    task = Task(V=8, d=8, L=4, seed=0)
    data = sample(task, 200, np.random.default_rng(0))
    return task, data, three_step(task, data, limit=True)


# ------------------------------------------------------------- a task and a dataset
def test_data_from_a_larger_vocabulary_is_refused_before_any_compiled_code(small):
    task, _, _ = small
    big = sample(Task(V=64, d=8, L=4), 300, np.random.default_rng(1))
    for limit in (True, False):
        with pytest.raises(ValueError) as e:
            three_step(task, big, limit=limit, **({} if limit else {"eta": 1.0, "gamma": 1.0}))
        assert "token" in one_line(e)


def test_negative_ids_other_lengths_and_other_dtypes_are_refused(small):
    task, data, _ = small
    bad_tokens = data.tokens.copy()
    bad_tokens[0, 0] = -1
    cases = [
        type(data)(tokens=bad_tokens, pos=data.pos, labels=data.labels),
        sample(Task(V=8, d=8, L=6), 50, np.random.default_rng(2)),            # other L
        type(data)(tokens=data.tokens.astype(float), pos=data.pos, labels=data.labels),
        type(data)(tokens=data.tokens, pos=data.pos + 4, labels=data.labels),  # pos >= L
        type(data)(tokens=data.tokens, pos=data.pos, labels=data.labels[:-1]),
    ]
    for d in cases:
        with pytest.raises(ValueError) as e:
            three_step(task, d, limit=True)
        one_line(e)


def test_seeds_counts_and_booleans_are_checked_once_at_the_boundary():
    for kw in ({"seed": 1.5}, {"seed": -1}, {"seed": True}, {"V": True}, {"d": 8.5},
               {"L": 0}, {"m": 0}, {"embeddings": "sparse"}, {"activation": "tanh"}):
        with pytest.raises(ValueError) as e:
            Task(**{"V": 8, "d": 8, "L": 4, **kw})
        one_line(e)
    assert Task(V=8.0, d=8, L=4).V == 8                       # an integral float is a count
    task = Task(V=8, d=8, L=4)
    for N in (0, True, 2.5, None):
        with pytest.raises(ValueError):
            sample(task, N, np.random.default_rng(0))
    with pytest.raises(ValueError):
        sample(task, 10, rng=3)
    with pytest.raises(TypeError):
        sample("task", 10, np.random.default_rng(0))


def test_huge_sizes_are_refused_up_front_with_the_memory_estimate():
    for make in (lambda: Task(V=10**6, d=10**5, L=4), lambda: Task(V=8, d=8, L=4, m=10**10),
                 lambda: sample(Task(V=8, d=8, L=4), 10**13, np.random.default_rng(0))):
        with pytest.raises(ValueError) as e:
            make()
        assert "GiB" in one_line(e)


def test_evaluation_is_scale_free_and_never_nan(small):
    task, _, p = small
    ref = evaluate(task, p, rng=np.random.default_rng(3))
    big = Params(W_v=p.W_v / np.abs(p.W_v).max() * 1e308, W_kq=p.W_kq, hard=p.hard)
    got = evaluate(task, big, rng=np.random.default_rng(3))
    assert got["accuracy"] == ref["accuracy"] and math.isfinite(got["accuracy"])
    with pytest.raises(ValueError) as e:
        evaluate(task, Params(W_v=p.W_v, W_kq=np.full((8, 8), 1e308), hard=False),
                 rng=np.random.default_rng(3))
    one_line(e)
    for bad in ({"reps": 0}, {"reps": 10**13}, {"facts": 0}, {"facts": 9}):
        with pytest.raises(ValueError):
            evaluate(task, p, rng=np.random.default_rng(3), **bad)
    with pytest.raises(ValueError):                          # weights of another d
        evaluate(Task(V=8, d=16, L=4), p, rng=np.random.default_rng(3))
    with pytest.raises(ValueError):
        evaluate(task, Params(W_v=p.W_v * np.nan, W_kq=p.W_kq, hard=True),
                 rng=np.random.default_rng(3))


# ------------------------------------------------------------------------- theory
def test_predict_requires_every_count_and_rejects_booleans():
    for kw in ({"N": None}, {"N": True}, {"V": True}, {"d": 0}, {"L": 2.5}):
        with pytest.raises(ValueError) as e:
            predict(**{"V": 16, "N": 100, "d": 16, "L": 4, **kw})
        one_line(e)


def test_predict_costs_the_same_for_any_N():
    for N in (10**12, 10**18, 10**30):
        p = predict(V=64, N=N, d=32, L=8)
        assert 0 <= p["accuracy"] <= 1 and math.isfinite(p["localization"])


def test_searches_answer_low_targets_and_odd_n_max():
    low = critical_N(64, 32, 8, target=0.1)
    assert 1 <= low < critical_N(64, 32, 8, target=0.2) < math.inf
    assert math.isinf(critical_N(64, 32, 8, n_max=1))
    assert critical_N(16, 64, 4, n_max=10**30) == critical_N(16, 64, 4)
    for bad in (0, -5, 2.5, True):
        with pytest.raises(ValueError):
            critical_N(16, 64, 4, n_max=bad)


def test_public_functions_share_keyword_only_options():
    for call in (lambda: lower_bound_N(64, 32, 8, 0.9), lambda: critical_N(64, 32, 8, 0.9),
                 lambda: capacity(1000, 32, 8, 0.9), lambda: capacity_laws(64, 32, 8, 0.9),
                 lambda: predict(64, 100, 32, 8, 16)):
        with pytest.raises(TypeError):
            call()
    assert lower_bound_N(64, 32, 8, target=0.9) == lower_bound_N(64, 32, 8)
    for bad in ({"target": 1.0}, {"target": float("nan")}, {"N": 0}):
        with pytest.raises(ValueError):
            capacity_laws(32, 64, 8, **bad)


# ------------------------------------------------------------------- command lines
@pytest.mark.parametrize("module,args", [
    ("theory", ["predict", "--V", "1", "--N", "5", "--d", "4", "--L", "2"]),
    ("theory", ["predict", "--V", "8", "--N", "nan", "--d", "4", "--L", "2"]),
    ("theory", ["critical-n", "--V", "8", "--d", "4", "--L", "2", "--target", "1.5"]),
    ("theory", ["capacity", "--V", "8", "--d", "4"]),
    ("theory", ["formulas", "0.0"]),
    ("simulate", ["run", "--V", "64", "--N", "1000000000000", "--d", "32", "--L", "8"]),
    ("simulate", ["run", "--V", "8", "--N", "10", "--d", "8", "--L", "2", "--seed", "1.5"]),
    ("figures", ["--only", "nope"]),
    ("figures", ["--quick", "--outdir", "/proc/no/such/dir"]),
    ("bench", ["nope"]),
])
def test_bad_command_lines_exit_2_with_one_line(module, args):
    code, _, err = cli(module, *args)
    assert code == 2 and len(err) == 1, err


def test_bad_figure_cache_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    for module in ("figures", "figures.random_grid"):
        code, _, err = cli(module, "--quick" if module == "figures" else "--points=1",
                           env={"RECALL_FIGURES_CACHE": str(blocker)})
        assert code == 2 and len(err) == 1 and "RECALL_FIGURES_CACHE" in err[0], err


def test_low_targets_and_infinity_in_the_command_line():
    code, out, err = cli("theory", "critical-n", "--V", "64", "--d", "32", "--L", "8",
                         "--target", "0.1", "--json")
    assert code == 0 and not err and out.strip().startswith("{")
    code, out, _ = cli("theory", "critical-n", "--V", "64", "--d", "16", "--L", "1", "--json")
    assert code == 0 and '"critical_N": "inf"' in out


def test_help_shows_defaults_and_bench_has_help():
    code, out, _ = cli("theory", "predict", "--help")
    assert code == 0 and "default: gaussian" in out
    code, out, _ = cli("bench", "--help")
    assert code == 0 and "limit_speed" in out


def test_random_grid_writes_where_it_is_told(tmp_path):
    code, _, err = cli("figures.random_grid", "--points", "1", "--seeds", "2", "--outdir",
                       tmp_path / "out", env={"RECALL_FIGURES_CACHE": str(tmp_path / "c")})
    assert code == 0, err
    assert (tmp_path / "out" / "random_grid.json").is_file()


# ------------------------------------------------------------------------- Ctrl-C
def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc to list processes")
def test_ctrl_c_stops_a_figure_build_promptly_and_leaves_no_worker(tmp_path):
    env = {**os.environ, "RECALL_FIGURES_CACHE": str(tmp_path / "cache")}
    p = subprocess.Popen([sys.executable, "-m", "figures", "--outdir", str(tmp_path / "out")],
                         cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(descendants(p.pid)) < 3:   # pools are running
        time.sleep(0.2)
    kids = descendants(p.pid)
    assert kids, "the build started no worker"
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    assert time.monotonic() - t0 < 5.0
    assert p.returncode == 130
    assert len([l for l in err.splitlines() if l.strip()]) == 1, err
    time.sleep(0.5)
    assert not [k for k in kids if _alive(k)]
    # the cache is consistent: every record reads back (temporary files are never read)
    from simulate.cache import Cache
    for rec in (tmp_path / "cache").rglob("*.json"):
        if not rec.name.startswith("."):
            assert Cache(rec.parent).load(rec.stem) is not None, rec
