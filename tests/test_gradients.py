"""Hand-written backward passes against centred finite differences (float64)."""
import numpy as np
import pytest

import simulate.model as model
from simulate import Task, loss_and_grads, sample


def _fd(f, W, h=1e-5):
    """Centred finite-difference gradient of scalar f at W (same shape as W)."""
    g = np.zeros_like(W)
    for idx in np.ndindex(W.shape):
        Wp, Wm = W.copy(), W.copy()
        Wp[idx] += h
        Wm[idx] -= h
        g[idx] = (f(Wp) - f(Wm)) / (2 * h)
    return g


def _rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


# (V, d, L, m, activation, N): several random shapes, both models, both activations
SHAPES = [
    (5, 4, 3, None, "relu", 7),
    (7, 6, 5, None, "relu", 13),
    (3, 3, 1, None, "relu", 4),
    (6, 5, 4, 7, "relu", 11),
    (4, 3, 6, 5, "he2", 9),
    (8, 4, 2, 3, "he2", 10),
]


@pytest.mark.parametrize("V,d,L,m,act,N", SHAPES)
def test_backward_matches_finite_differences(V, d, L, m, act, N):
    task = Task(V=V, d=d, L=L, m=m, activation=act, seed=V * 100 + d)
    rng = np.random.default_rng(d * 7 + L)
    data = sample(task, N=N, rng=rng)
    # O(1) weights so that both softmaxes are far from uniform and every term is exercised
    W_v = rng.standard_normal((d, task.width)) * 2.0
    W_kq = rng.standard_normal((d, d)) * 3.0
    _, g_v, g_kq = loss_and_grads(task, data, W_v, W_kq)
    fd_v = _fd(lambda W: loss_and_grads(task, data, W, W_kq)[0], W_v)
    fd_kq = _fd(lambda W: loss_and_grads(task, data, W_v, W)[0], W_kq)
    # h = 1e-5: truncation ~ h^2 * |f'''| ~ 1e-10, round-off ~ 1e-16 * |f| / h ~ 1e-11
    assert _rel(g_v, fd_v) < 1e-7
    if L == 1:    # one position: attention is constant, the W_KQ gradient vanishes identically
        assert np.all(g_kq == 0) and np.abs(fd_kq).max() < 1e-9
    else:
        assert _rel(g_kq, fd_kq) < 1e-7


@pytest.mark.parametrize("m", [None, 6])
def test_chunking_does_not_change_results(monkeypatch, m):
    task = Task(V=9, d=5, L=4, m=m, seed=3)
    rng = np.random.default_rng(4)
    data = sample(task, N=50, rng=rng)
    W_v = rng.standard_normal((5, task.width))
    W_kq = rng.standard_normal((5, 5))
    whole = loss_and_grads(task, data, W_v, W_kq)
    monkeypatch.setattr(model, "chunk_rows", lambda *a, **k: 7)   # 50 = 7 * 7 + 1
    parts = loss_and_grads(task, data, W_v, W_kq)
    assert abs(whole[0] - parts[0]) < 1e-12
    np.testing.assert_allclose(parts[1], whole[1], rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(parts[2], whole[2], rtol=1e-11, atol=1e-14)


def test_loss_at_zero_is_log_V():
    task = Task(V=11, d=4, L=3, seed=1)
    data = sample(task, N=20, rng=np.random.default_rng(0))
    loss, g_v, g_kq = loss_and_grads(task, data, np.zeros((4, 4)), np.zeros((4, 4)))
    assert loss == pytest.approx(np.log(11), rel=1e-14)
    assert np.all(g_kq == 0)          # the W_KQ gradient is linear in W_V
    assert np.linalg.norm(g_v) > 0
