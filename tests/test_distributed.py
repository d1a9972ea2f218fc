"""Sweeps on a dask LocalCluster: bit-identical to a local run, robust to a dying worker,
one line and exit 2 for an unreachable scheduler."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")                 # a dependency of distributed

from simulate import cluster                           # noqa: E402
from simulate.sweep import measure_point, run_sweep   # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# attention-only and MLP, limit and finite steps: small enough for seconds on 2 cores
CONFIGS = [dict(V=12, d=6, L=3, N=n) for n in (60, 200)] + \
    [dict(V=12, d=6, L=3, N=200, m=4), dict(V=8, d=6, L=3, N=150, eta=0.2, gamma=20.0),
     dict(V=16, d=8, L=4, N=300, m=8, activation="he2")]
SEED_FROM = ("V", "d", "L", "N", "m", "activation", "eta", "gamma")


def _dies_once(config, seq):
    """``measure_point``, except that the first call for a ``die`` config kills its worker."""
    config = dict(config)
    marker = Path(config.pop("die", "")) if "die" in config else None
    if marker is not None and not marker.exists():
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return measure_point(config, seq)


@pytest.fixture(scope="module")
def local_cluster():
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with cluster.scheduler("local:2") as address:
        yield address
    time.sleep(0.5)
    # multiprocessing's resource tracker stays until this process exits, by design
    left = [p for p in psutil.Process().children(recursive=True) if p.pid not in before
            and "resource_tracker" not in " ".join(p.cmdline())]
    assert not left, f"dask processes left behind: {[p.cmdline() for p in left]}"


def test_two_worker_processes_give_bit_identical_results(local_cluster, tmp_path):
    local = run_sweep(measure_point, CONFIGS, seeds=2, cache_dir=None, progress=False)
    with cluster.executor(local_cluster) as ex:
        remote = run_sweep(measure_point, CONFIGS, seeds=2, executor=ex, cache_dir=tmp_path)
        info = ex._client.scheduler_info()
    assert len(info["workers"]) == 2
    assert remote == local                      # == on floats: bit for bit
    assert local[0][0] != local[0][1] and local[0] != local[2]      # the points differ
    assert len(list(tmp_path.glob("*.json"))) == len(CONFIGS) * 2   # the caller cached


def test_worker_killed_mid_sweep_is_retried_with_identical_results(local_cluster, tmp_path):
    marker = tmp_path / "died"
    plain = run_sweep(_dies_once, CONFIGS, seeds=2, cache_dir=None, progress=False,
                      seed_from=SEED_FROM)
    dying = [dict(c, die=str(marker)) if i == 2 else c for i, c in enumerate(CONFIGS)]
    with cluster.executor(local_cluster) as ex:
        got = run_sweep(_dies_once, dying, seeds=2, executor=ex, cache_dir=None,
                        seed_from=SEED_FROM)
    assert marker.exists()                      # a worker really died
    assert got == plain


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_scheduler_is_one_line_and_exit_2(tmp_path):
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "figures.random_grid", "--points", "2", "--seeds", "2",
         "--outdir", str(tmp_path), "--scheduler", f"tcp://127.0.0.1:{_free_port()}"],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "no dask scheduler" in proc.stderr
    assert time.monotonic() - t0 < 30
    assert not (tmp_path / "random_grid.json").exists()


@pytest.mark.parametrize("address", ["local:0", "local:x", "nonsense"])
def test_malformed_address_is_a_value_error(address):
    with pytest.raises(ValueError):
        with cluster.executor(address):
            pass
