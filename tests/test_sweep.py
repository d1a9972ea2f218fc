"""Sweep runner: reproducible across workers and order, resumable, robust to damaged records."""
import concurrent.futures as cf
import json
import threading

import numpy as np
import pytest

from simulate.sweep import measure_point, point_seed, run_sweep

CALLS = []
_LOCK = threading.Lock()


def _draw(config, seq):
    """A cheap point: two uniforms from the point's seed, and the config echoed."""
    with _LOCK:
        CALLS.append(config["x"])
    if config.get("fail"):
        raise RuntimeError("interrupted")
    u = np.random.default_rng(seq).random(2)
    return {"u": u, "x": config["x"]}


CONFIGS = [dict(V=12, d=6, L=3, N=n) for n in (60, 200)] + \
    [dict(V=12, d=6, L=3, N=200, m=4), dict(V=8, d=6, L=3, N=150, eta=0.2, gamma=20.0)]


def test_same_results_with_one_or_two_workers_in_any_order(tmp_path):
    with cf.ProcessPoolExecutor(max_workers=1) as one:
        a = run_sweep(measure_point, CONFIGS, seeds=2, executor=one, cache_dir=None)
    shuffled = [CONFIGS[i] for i in (2, 0, 3, 1)]
    with cf.ProcessPoolExecutor(max_workers=2) as two:
        b = run_sweep(measure_point, shuffled, seeds=2, executor=two, cache_dir=tmp_path)
    assert b == [a[i] for i in (2, 0, 3, 1)]
    assert a[0][0] != a[0][1]                              # seeds differ between seed indices
    assert set(a[0][0]) >= {"accuracy", "localization", "recall", "attention_weight"}
    # cached read-back is identical to the computed values, types included
    c = run_sweep(measure_point, CONFIGS, seeds=2, executor=None, cache_dir=tmp_path)
    assert c == a


def test_interrupted_sweep_resumes_from_the_cache(tmp_path):
    configs = [{"x": i} for i in range(5)]
    CALLS.clear()
    with cf.ThreadPoolExecutor(max_workers=1) as ex:
        with pytest.raises(RuntimeError):
            run_sweep(_draw, configs[:3] + [{"x": 3, "fail": True}] + configs[4:], seeds=1,
                      executor=ex, cache_dir=tmp_path)
    kept = len(list(tmp_path.glob("*.json")))
    assert kept >= 3                                      # finished points were kept
    CALLS.clear()
    with cf.ThreadPoolExecutor(max_workers=1) as ex:
        full = run_sweep(_draw, configs, seeds=1, executor=ex, cache_dir=tmp_path)
    assert 3 in CALLS and len(CALLS) == 5 - kept          # only the missing points ran
    CALLS.clear()
    again = run_sweep(_draw, configs, seeds=1, executor=None, cache_dir=tmp_path)
    assert CALLS == [] and again == full
    assert [r[0]["x"] for r in full] == list(range(5))


@pytest.mark.parametrize("damage", ["truncate", "garbage", "edit"])
def test_damaged_record_is_recomputed_not_read(tmp_path, damage):
    configs = [{"x": 0}, {"x": 1}]
    first = run_sweep(_draw, configs, seeds=1, executor=None, cache_dir=tmp_path)
    path = sorted(tmp_path.glob("*.json"))[0]
    text = path.read_text()
    if damage == "truncate":
        path.write_text(text[: len(text) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00\xff not json")
    else:                                                 # valid JSON, wrong content
        rec = json.loads(text)
        rec["result"]["u"][0] = 0.5
        path.write_text(json.dumps(rec))
    CALLS.clear()
    with pytest.warns(UserWarning, match="damaged cache record"):
        again = run_sweep(_draw, configs, seeds=1, executor=None, cache_dir=tmp_path)
    assert len(CALLS) == 1 and again == first
    CALLS.clear()
    assert run_sweep(_draw, configs, seeds=1, executor=None, cache_dir=tmp_path) == first
    assert CALLS == []                                    # the repaired record is read again


def test_key_changes_with_config_and_code_version(tmp_path):
    run_sweep(_draw, [{"x": 0}], seeds=1, cache_dir=tmp_path, code_version="a")
    CALLS.clear()
    run_sweep(_draw, [{"x": 0}], seeds=1, cache_dir=tmp_path, code_version="a")
    assert CALLS == []
    run_sweep(_draw, [{"x": 0}], seeds=1, cache_dir=tmp_path, code_version="b")
    run_sweep(_draw, [{"x": 0, "y": 1}], seeds=1, cache_dir=tmp_path, code_version="a")
    run_sweep(_draw, [{"x": 0}], seeds=[1], cache_dir=tmp_path, code_version="a")
    assert len(CALLS) == 3 and len(list(tmp_path.glob("*.json"))) == 4


def test_point_seed_is_a_pure_function_of_its_inputs():
    s = point_seed(7, {"a": 1, "b": 2}, 3)
    same = point_seed(7, {"b": 2, "a": 1}, 3)             # key order is irrelevant
    assert s.generate_state(4).tolist() == same.generate_state(4).tolist()
    for other in (point_seed(8, {"a": 1, "b": 2}, 3), point_seed(7, {"a": 1, "b": 3}, 3),
                  point_seed(7, {"a": 1, "b": 2}, 4)):
        assert s.generate_state(4).tolist() != other.generate_state(4).tolist()
    # seed_from: configs that differ only in other keys share their randomness
    a = point_seed(0, {"V": 8, "N": 10}, 0, seed_from=("V",))
    b = point_seed(0, {"V": 8, "N": 99}, 0, seed_from=("V",))
    assert a.generate_state(2).tolist() == b.generate_state(2).tolist()


def test_progress_is_quiet_off_a_terminal_and_bad_input_is_rejected(tmp_path, capsys):
    run_sweep(_draw, [{"x": 0}], seeds=1, cache_dir=None, progress=True)
    assert capsys.readouterr().err == ""
    with pytest.raises(ValueError, match="seeds"):
        run_sweep(_draw, [{"x": 0}], seeds=0, cache_dir=None)
    with pytest.raises(ValueError, match="unknown configuration keys: Nn"):
        measure_point({"V": 4, "d": 3, "L": 2, "N": 10, "Nn": 5}, np.random.SeedSequence(0))


def test_key_changes_with_seed_from(tmp_path):
    # seed_from changes the point's randomness, so a cached point must not be reused
    first = run_sweep(_draw, [{"x": 0, "y": 1}], seeds=1, cache_dir=tmp_path, code_version="a")
    CALLS.clear()
    other = run_sweep(_draw, [{"x": 0, "y": 1}], seeds=1, cache_dir=tmp_path,
                      code_version="a", seed_from=("x",))
    assert len(CALLS) == 1 and other != first
    CALLS.clear()
    run_sweep(_draw, [{"x": 0, "y": 1}], seeds=1, cache_dir=tmp_path, code_version="a",
              seed_from=("x",))
    assert CALLS == []
