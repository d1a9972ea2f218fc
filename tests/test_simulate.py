"""Properties of the simulation core: data, attention, the three steps, evaluation."""
import numpy as np
import pytest

from simulate import Task, evaluate, loss_and_grads, sample, three_step
from simulate.attention import hard_rows, softmax_rows


def test_labels_are_the_fact_of_the_informative_token():
    task = Task(V=13, d=8, L=6, seed=2)
    data = sample(task, N=500, rng=np.random.default_rng(5))
    x = data.tokens[np.arange(500), data.pos]
    assert np.array_equal(data.labels, task.perm[x])
    assert data.tokens.shape == (500, 6) and data.pos.min() >= 0 and data.pos.max() < 6
    assert sorted(task.perm) == list(range(13))


def test_orthogonal_embeddings_are_orthonormal():
    task = Task(V=5, d=12, L=2, embeddings="orthogonal", seed=0)
    M = np.column_stack([task.E, task.U, task.z_trig, task.z_eos])   # (d, 2V+2)
    np.testing.assert_allclose(M.T @ M, np.eye(12), atol=1e-12)


def test_gaussian_embeddings_have_variance_one_over_d():
    task = Task(V=400, d=50, L=2, seed=0)
    entries = np.concatenate([task.E.ravel(), task.U.ravel()])      # 40000 iid N(0, 1/d)
    # the sample variance of n Gaussians has relative sd sqrt(2/n) = 0.007: allow 5 sd
    assert abs(entries.var() * 50 - 1) < 5 * np.sqrt(2 / entries.size)


def test_same_seed_is_bit_identical_and_other_seed_differs():
    def run(seed):
        task = Task(V=20, d=8, L=5, m=6, seed=seed)
        data = sample(task, N=300, rng=np.random.default_rng(seed + 1))
        p = three_step(task, data, eta=0.1, gamma=10.0)
        return task, data, p
    (t1, d1, p1), (t2, d2, p2), (t3, _, p3) = run(0), run(0), run(1)
    assert np.array_equal(t1.E, t2.E) and np.array_equal(t1.W1, t2.W1)
    assert np.array_equal(d1.tokens, d2.tokens)
    assert np.array_equal(p1.W_v, p2.W_v) and np.array_equal(p1.W_kq, p2.W_kq)
    assert not np.array_equal(p1.W_v, p3.W_v)


def test_softmax_is_stable_for_huge_scores():
    s = np.array([[1e15, -1e15, 0.0, 3.0], [1e15, 1e15, -1e15, 1.0], [-1e15] * 4])
    a = softmax_rows(s.copy())
    assert np.all(np.isfinite(a))
    np.testing.assert_allclose(a.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(a[1, :2], 0.5)


def test_model_is_finite_with_huge_attention_scores():
    task = Task(V=10, d=6, L=5, seed=1)
    rng = np.random.default_rng(0)
    data = sample(task, N=40, rng=rng)
    W_kq = rng.standard_normal((6, 6))
    W_kq *= 1e15 / np.abs(task.E.T @ (W_kq.T @ task.z_eos)).max()   # scores up to 1e15
    loss, g_v, g_kq = loss_and_grads(task, data, rng.standard_normal((6, 6)), W_kq)
    assert np.isfinite(loss) and np.all(np.isfinite(g_v)) and np.all(np.isfinite(g_kq))


def test_hard_attention_splits_ties_uniformly():
    a = hard_rows(np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 1.0, 1.0, 1.0]]))
    np.testing.assert_array_equal(a, [[0, 0.5, 0.5, 0], [1, 0, 0, 0]])


def _cos(a, b):
    return float(np.sum(a * b) / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.mark.parametrize("m", [None, 16])
def test_finite_steps_converge_to_the_limit(m):
    task = Task(V=24, d=16, L=6, m=m, seed=7)
    data = sample(task, N=3000, rng=np.random.default_rng(8))
    lim = three_step(task, data, limit=True)
    q_lim = lim.W_kq.T @ task.z_eos
    gaps_v, gaps_q = [], []
    # scores scale like gamma * eta * |grad_KQ / eta|, small here: hard attention needs
    # gamma * eta of order 1e7 before W_V^(2) settles on the limit
    for eta, gamma in [(1.0, 1e2), (1e-1, 1e4), (1e-2, 1e6), (1e-3, 1e8), (1e-5, 1e12)]:
        p = three_step(task, data, eta=eta, gamma=gamma)
        gaps_v.append(1 - _cos(p.W_v, lim.W_v))
        gaps_q.append(1 - _cos(p.W_kq.T @ task.z_eos, q_lim))
    assert gaps_v[-1] < 1e-8 and gaps_q[-1] < 1e-12
    assert gaps_v[0] > 1e4 * gaps_v[-1] and gaps_q[0] > 1e4 * gaps_q[-1]   # real convergence
    assert gaps_q == sorted(gaps_q, reverse=True)   # the direction error is O(eta)


def test_limit_params_shape_and_flags():
    task = Task(V=10, d=6, L=3, seed=0)
    data = sample(task, N=100, rng=np.random.default_rng(0))
    p = three_step(task, data, limit=True)
    assert p.hard and p.W_v.shape == (6, 6) and p.W_kq.shape == (6, 6)
    assert len(p.steps) == 3
    assert not three_step(task, data, eta=1e-3, gamma=1e9).hard


def test_orthogonal_embeddings_with_ample_data_recall_everything():
    task = Task(V=16, d=40, L=4, embeddings="orthogonal", seed=0)
    data = sample(task, N=20000, rng=np.random.default_rng(1))
    res = evaluate(task, three_step(task, data, limit=True), rng=np.random.default_rng(2), reps=4)
    assert res["accuracy"] == 1.0 and res["localization"] == 1.0 and res["recall"] == 1.0


def test_far_too_few_samples_stay_near_chance():
    task = Task(V=64, d=32, L=8, seed=0)
    data = sample(task, N=2, rng=np.random.default_rng(1))
    res = evaluate(task, three_step(task, data, limit=True), rng=np.random.default_rng(2), reps=4)
    # two samples carry at most two facts: at most 2/64 of tokens can be right, plus ties
    assert res["accuracy"] <= 3 / 64


def test_evaluate_reports_consistent_fields():
    task = Task(V=32, d=24, L=5, seed=4)
    data = sample(task, N=2000, rng=np.random.default_rng(0))
    res = evaluate(task, three_step(task, data, limit=True), rng=np.random.default_rng(1), reps=3)
    assert res["n"] == 96
    assert 0 <= res["localization"] <= 1 and 0 <= res["attention_weight"] <= 1
    # accuracy = P(loc) recall + P(not loc) P(correct | not loc)  >=  P(loc) recall
    assert res["accuracy"] >= res["localization"] * res["recall"] - 1e-12


@pytest.mark.parametrize("call, message", [
    (lambda: Task(V=1, d=4, L=2), "V must be"),
    (lambda: Task(V=4, d=0, L=2), "d must be"),
    (lambda: Task(V=4, d=4, L=0), "L must be"),
    (lambda: Task(V=4, d=4, L=2, m=0), "m must be"),
    (lambda: Task(V=4, d=9, L=2, embeddings="orthogonal"), "orthogonal embeddings need"),
    (lambda: Task(V=4, d=4, L=2, embeddings="sparse"), "embeddings must be"),
    (lambda: Task(V=4, d=4, L=2, m=3, activation="tanh"), "activation must be"),
    (lambda: sample(Task(V=4, d=4, L=2), N=0, rng=np.random.default_rng()), "N must be"),
    (lambda: sample(Task(V=4, d=4, L=2), N=5, rng=3), "rng must be"),
])
def test_bad_input_raises_one_line_value_error(call, message):
    with pytest.raises(ValueError, match=message) as exc:
        call()
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("kw", [dict(eta=float("nan"), gamma=1.0), dict(eta=1.0, gamma=float("inf")),
                                dict(eta=-1.0, gamma=1.0), dict(eta=1.0), dict(limit=True, eta=1.0)])
def test_three_step_rejects_bad_step_sizes(kw):
    task = Task(V=4, d=4, L=2)
    data = sample(task, N=5, rng=np.random.default_rng(0))
    with pytest.raises(ValueError):
        three_step(task, data, **kw)


def test_loss_and_grads_rejects_wrong_shapes_and_nan():
    task = Task(V=4, d=4, L=2, m=3)
    data = sample(task, N=5, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="W_v must have shape"):
        loss_and_grads(task, data, np.zeros((4, 4)), np.zeros((4, 4)))
    with pytest.raises(ValueError, match="finite"):
        loss_and_grads(task, data, np.full((4, 3), np.nan), np.zeros((4, 4)))


def test_exact_logit_ties_count_as_random_tie_breaks():
    # orthogonal embeddings: the limit's logits are integer counts (up to a shared shift and
    # scale), so ties are exact; float rounding must not settle them.  The expected accuracy
    # under random tie-breaking is computed here from the counts alone.
    V, N = 32, 200
    for seed in range(3):
        task = Task(V=V, d=2 * V + 2, L=4, embeddings="orthogonal", seed=seed)
        data = sample(task, N, np.random.default_rng(100 + seed))
        c = np.bincount(data.x, minlength=V)
        f = np.tile(c[task.perm.argsort()], (V, 1)).astype(float)   # f[x, k] = c_{pi^-1(k)}
        f[np.arange(V), task.perm] += c                            # correct label: 2 c_x
        tied = f >= f.max(axis=1, keepdims=True)
        expected = np.mean(tied[np.arange(V), task.perm] / tied.sum(axis=1))
        res = evaluate(task, three_step(task, data, limit=True), np.random.default_rng(0), reps=3)
        assert res["localization"] == 1.0
        assert res["accuracy"] == pytest.approx(expected, abs=1e-12)
