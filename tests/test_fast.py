"""The sufficient-statistics limit (simulate.fast) and evaluation against per-sample maths."""
import numpy as np
import pytest

import simulate._counts as _counts
from simulate import Task, evaluate, sample, three_step
from simulate._counts import label_sums, pair_sums, sort_by_label
from simulate.attention import hard_rows, scores, softmax_rows, token_scores
from simulate.data import probe
from simulate.data import Dataset
from simulate.early_phase import Params, _limit_per_sample
from simulate.fast import _hard_sums, rank_tables, winners
from simulate.model import _features, grads


def _assert_close(fast, ref, tol=1e-10):
    """Relative Frobenius agreement; an exactly-zero reference must be matched exactly."""
    norm = np.linalg.norm(ref)
    if norm == 0:
        assert np.all(fast == 0)
    else:
        assert np.linalg.norm(fast - ref) / norm < tol


# (V, d, L, m, activation, embeddings, N): both models, both activations, L = 1, tiny V
SHAPES = [
    (2, 4, 1, None, "relu", "gaussian", 40),
    (2, 3, 5, None, "relu", "gaussian", 30),
    (3, 5, 2, None, "relu", "gaussian", 7),
    (17, 8, 6, None, "relu", "gaussian", 900),
    (50, 12, 9, None, "relu", "gaussian", 3000),
    (6, 20, 4, None, "relu", "orthogonal", 60),
    (2, 4, 1, 5, "he2", "gaussian", 40),
    (5, 4, 3, 7, "relu", "gaussian", 200),
    (13, 6, 5, 9, "he2", "gaussian", 700),
    (6, 20, 4, 8, "relu", "orthogonal", 60),
]


@pytest.mark.parametrize("V,d,L,m,act,emb,N", SHAPES)
def test_fast_limit_matches_per_sample_limit(V, d, L, m, act, emb, N):
    task = Task(V=V, d=d, L=L, m=m, activation=act, embeddings=emb, seed=V * 31 + L)
    data = sample(task, N, np.random.default_rng(N + d))
    fast = three_step(task, data, limit=True)
    ref = _limit_per_sample(task, data)
    assert fast.hard and len(fast.steps) == 3
    for (fv, fk, fh), (rv, rk, rh) in zip(fast.steps, ref.steps):
        assert fh == rh
        _assert_close(fv, rv)
        _assert_close(fk, rk)
    if L > 1:    # not vacuous: the attention step moved and step 3 differs from step 1
        assert np.linalg.norm(fast.W_kq) == pytest.approx(1.0)
        assert np.linalg.norm(fast.W_v - fast.steps[0][0]) > 1e-3 * np.linalg.norm(fast.W_v)


@pytest.mark.parametrize("mode", ["dense", "sparse", "mixed"])
def test_fast_limit_over_many_label_blocks(monkeypatch, mode):
    # 50-sample blocks with a short last one, forced dense, sparse, or mixed by the ratio
    monkeypatch.setattr(_counts, "BLOCK_ROWS", 50)
    monkeypatch.setattr(_counts, "SLICE", 3)             # d = 10: slices 3, 3, 3, 1
    monkeypatch.setattr(_counts, "PASS1_PAIRS", 6 * 120)
    monkeypatch.setattr(_counts, "PASS2_PAIRS", 6 * 70)
    monkeypatch.setattr(_counts, "DENSE_RATIO", {"dense": 10**9, "sparse": 0, "mixed": 8}[mode])
    task = Task(V=300, d=10, L=6, seed=4)
    data = sample(task, 2030, np.random.default_rng(8))
    srt = sort_by_label(task, data)
    kinds = {dense for *_, dense in srt.blocks}
    assert kinds == {"dense": {True}, "sparse": {False}, "mixed": {True, False}}[mode]
    fast, ref = three_step(task, data, limit=True), _limit_per_sample(task, data)
    for (fv, fk, _), (rv, rk, _) in zip(fast.steps, ref.steps):
        _assert_close(fv, rv)
        _assert_close(fk, rk)


# (V, N, L, m): V^2 >> N L (sparse blocks), V^2 << N L (dense blocks), both models; V > 46341
# (y V + t would overflow int32) and V > 2^16 (labels sorted in two radix passes)
REGIMES = [(3000, 400, 4, None), (40, 6000, 5, None), (3000, 400, 4, 6), (40, 6000, 5, 6),
           (70001, 300, 3, None), (70001, 300, 3, 4)]


@pytest.mark.parametrize("V,N,L,m", REGIMES)
def test_fast_limit_in_sparse_and_dense_regimes(V, N, L, m):
    task = Task(V=V, d=12, L=L, m=m, seed=V + L)
    data = sample(task, N, np.random.default_rng(N))
    if m is None:
        dense = {dense for *_, dense in sort_by_label(task, data).blocks}
        assert dense == ({False} if V * V > 100 * N * L else {True})
    fast, ref = three_step(task, data, limit=True), _limit_per_sample(task, data)
    for (fv, fk, _), (rv, rk, _) in zip(fast.steps, ref.steps):
        _assert_close(fv, rv)
        _assert_close(fk, rk)
    assert np.linalg.norm(fast.W_v - fast.steps[0][0]) > 1e-3 * np.linalg.norm(fast.W_v)


@pytest.mark.parametrize("V,L,N,rows,ratio", [(300, 5, 2000, 37, 8), (600, 3, 1500, 1500, 8),
                                               (1100, 4, 901, 64, 0), (5000, 2, 700, 90, 8),
                                               (70000, 2, 500, 64, 8)])
def test_label_sorted_passes_match_direct_sums(monkeypatch, V, L, N, rows, ratio):
    """Both passes against bincounts over all (sample, position) pairs."""
    monkeypatch.setattr(_counts, "BLOCK_ROWS", rows)
    monkeypatch.setattr(_counts, "DENSE_RATIO", ratio)
    monkeypatch.setattr(_counts, "SLICE", 2)
    rng = np.random.default_rng(V + N)
    task = Task(V=V, d=4, L=L, seed=V)
    data = sample(task, N, rng)
    y, t = np.repeat(data.labels, L), data.tokens.ravel()               # (N L,) each
    srt = sort_by_label(task, data)
    np.testing.assert_array_equal(srt.n, np.bincount(data.labels, minlength=V))
    UtT = rng.standard_normal((V, 3))
    X = np.zeros((V, 3))
    np.add.at(X, t, UtT[y])                                             # X[t] += u_y per pair
    np.testing.assert_allclose(label_sums(srt, UtT), X, rtol=1e-12, atol=1e-12 * N)
    P, Et = rng.standard_normal((V, 3)), rng.standard_normal((V, 3))
    s = np.einsum("nld,nd->n", Et[data.tokens], P[data.labels])         # (N,) s_n
    D, s_sum = pair_sums(srt, P, Et)
    np.testing.assert_allclose(D, np.bincount(t, weights=np.repeat(s, L), minlength=V),
                               rtol=1e-12, atol=1e-12 * np.abs(s).sum())
    assert s_sum == pytest.approx(s.sum(), rel=1e-12, abs=1e-12 * np.abs(s).sum())


@pytest.mark.parametrize("V", [2, 7, 256, 1000, 4096, 5000, 70000, 2**16 + 3])
def test_label_blocks_hold_their_samples(V):
    task = Task(V=V, d=4, L=2)
    data = sample(task, 3000, np.random.default_rng(V))
    srt = sort_by_label(task, data, rows=101)
    order = srt.order
    assert np.array_equal(np.sort(order), np.arange(3000))
    np.testing.assert_array_equal(srt.labels, data.labels[order])
    np.testing.assert_array_equal(np.sort(srt.tokens, axis=1), np.sort(data.tokens[order], axis=1))
    np.testing.assert_array_equal(srt.tokens[np.arange(3000), srt.pos], data.x[order])
    np.testing.assert_array_equal(task.perm[srt.inv], np.arange(V))
    assert np.all(np.diff(srt.labels) >= 0)
    for sl, y0, w, _ in srt.blocks:
        assert y0 == srt.labels[sl].min() and srt.labels[sl].max() == y0 + w - 1 < V


def _hard_reference(task, data, W_kq):
    """Minus the step-3 gradient by the per-sample path, at uniform probabilities."""
    W_v = np.zeros((task.d, task.width))
    W_v[0, 0] = 1.0                                       # unused at uniform probabilities
    return -grads(task, data, W_v, W_kq, hard=True, uniform_probs=True, want_kq=False)[1]


def _hard_fast(task, data, W_kq):
    Ut = task.U - task.U.mean(axis=1, keepdims=True)
    return Ut @ _hard_sums(task, (data.tokens, data.pos, data.labels), W_kq,
                           np.ascontiguousarray(task.E.T)) / data.N


@pytest.mark.parametrize("m", [None, 6])
def test_tied_attention_is_split_like_hard_rows(m):
    task = Task(V=7, d=5, L=4, m=m, seed=2)
    data = sample(task, 400, np.random.default_rng(3))
    # W_KQ = 0: every position ties in every sample
    zero = np.zeros((5, 5))
    _assert_close(_hard_fast(task, data, zero), _hard_reference(task, data, zero))
    # tokens 0 and 1 share an embedding: distinct tokens tie wherever they lead
    E = task.E.copy()
    E[:, 1] = E[:, 0]
    object.__setattr__(task, "E", E)
    W_kq = np.outer(task.z_eos, E[:, 0] - 0.3 * task.z_trig)   # noise can beat the trigger
    _assert_close(_hard_fast(task, data, W_kq), _hard_reference(task, data, W_kq))


@pytest.mark.parametrize("m", [None, 6])
@pytest.mark.parametrize("settle", ["none", "some", "all"])
def test_settled_labels_are_counted_without_their_tokens(m, settle):
    # orthogonal embeddings: the trigger weight moves s_trig alone, so it sets which labels'
    # informative scores beat every noise score
    task = Task(V=10, d=24, L=4, m=m, embeddings="orthogonal", seed=3)
    data = sample(task, 600, np.random.default_rng(4))
    g = np.random.default_rng(5).standard_normal(24)
    s = task.E.T @ g                                                      # (V,) noise scores
    gap = {"none": -0.1, "some": np.median(s.max() - s) + 1e-3, "all": 2 * np.ptp(s) + 1}[settle]
    q = g + (gap - task.z_trig @ g) * task.z_trig                         # s_trig = gap
    W_kq = np.outer(task.z_eos, q) / (task.z_eos @ task.z_eos)            # W_kq^T z_eos = q
    r_noise, r_inf, *_ = rank_tables(*token_scores(task, W_kq))
    settled = r_inf > r_noise.max()
    assert {"none": not settled.any(), "all": settled.all()}.get(settle, 0 < settled.mean() < 1)
    _assert_close(_hard_fast(task, data, W_kq), _hard_reference(task, data, W_kq))


def test_winners_agree_with_hard_rows_on_integer_scores():
    rng = np.random.default_rng(0)
    V, L, B = 9, 6, 3000
    for s_trig in (0.0, 1.0, 2.0, -1.0):
        s_tok = rng.integers(0, 12, V).astype(float)      # exact ties between tokens
        tok = rng.integers(0, V, (B, L))
        pos = rng.integers(0, L, B)
        win, inf, clean = winners(tok, pos, rank_tables(s_tok, s_trig))
        alpha = hard_rows(scores(tok, pos, s_tok, s_trig))
        rows = np.arange(B)
        at_inf = alpha[rows, pos]
        # clean rows: all weight on the winning token, on the informative position iff inf
        on_win = np.where(tok == win[:, None], alpha, 0.0).sum(axis=1)
        np.testing.assert_allclose(on_win[clean], 1.0)
        np.testing.assert_array_equal(at_inf[clean] == 1.0, inf[clean])
        # a row whose weight is split between distinct candidates is never called clean
        split = (np.where(tok == win[:, None], alpha, 0.0).sum(axis=1) < 1) | \
            ((at_inf > 0) & (at_inf < 1))
        assert not np.any(split & clean) and np.any(split)
        assert np.any(clean) and not np.all(clean)


def _direct_evaluate(task, params, rng, reps):
    """Every probe sequence through the dense per-sample forward pass."""
    data = probe(task, reps, rng)
    s_tok, s_trig = token_scores(task, params.W_kq)
    s = scores(data.tokens, data.pos, s_tok, s_trig)
    alpha = hard_rows(s) if params.hard else softmax_rows(s)
    n = np.arange(data.N)
    a = np.einsum("nl,nld->nd", alpha, task.E.T[data.tokens])
    a += alpha[n, data.pos][:, None] * task.z_trig
    correct = (_features(task, a)[0] @ (params.W_v.T @ task.U)).argmax(axis=1) == data.labels
    s_ell = s[n, data.pos].copy()
    s[n, data.pos] = -np.inf
    local = s_ell > s.max(axis=1) if task.L > 1 else np.ones(data.N, bool)
    return correct.mean(), local.mean(), alpha[n, data.pos].mean()


@pytest.mark.parametrize("m", [None, 5])
def test_evaluate_matches_direct_forward_pass(m):
    task = Task(V=24, d=10, L=5, m=m, seed=5)
    data = sample(task, 1500, np.random.default_rng(6))
    cases = [three_step(task, data, limit=True), three_step(task, data, eta=0.5, gamma=50.0),
             Params(W_v=three_step(task, data, limit=True).W_v, W_kq=np.zeros((10, 10)), hard=True)]
    for params in cases:
        res = evaluate(task, params, np.random.default_rng(9), reps=3)
        acc, loc, weight = _direct_evaluate(task, params, np.random.default_rng(9), 3)
        assert res["accuracy"] == pytest.approx(acc, abs=1e-12)
        assert res["localization"] == pytest.approx(loc, abs=1e-12)
        assert res["attention_weight"] == pytest.approx(weight, abs=1e-12)
    assert evaluate(task, cases[0], np.random.default_rng(9), reps=3)["accuracy"] > 1.5 / 24


def _with(data, **kw):
    return Dataset(**{"tokens": data.tokens, "pos": data.pos, "labels": data.labels, **kw})


def test_bad_data_is_refused_before_any_sparse_code():
    task = Task(V=50, d=6, L=4, seed=1)
    data = sample(task, 100, np.random.default_rng(0))
    big = data.tokens.copy()
    big[3, (data.pos[3] + 1) % 4] = 50                            # a noise token = V
    big[4, (data.pos[4] + 1) % 4] = 2**31 - 1                     # far beyond V, still int32
    bad = {"token": _with(data, tokens=big), "negative": _with(data, tokens=-data.tokens - 1),
           "position": _with(data, pos=data.pos + 4),
           "shape": _with(data, tokens=data.tokens[:, :3]),
           "label": _with(data, labels=(data.labels + 1) % 50),
           "float": _with(data, tokens=data.tokens.astype(float))}
    for name, d in bad.items():
        for kw in ({"limit": True}, {"eta": 1.0, "gamma": 1.0}):
            if name == "label" and "eta" in kw:
                continue                             # finite steps accept any labels in range
            with pytest.raises(ValueError) as err:
                three_step(task, d, **kw)
            assert "\n" not in str(err.value)


@pytest.mark.parametrize("m", [None, 5])
def test_evaluate_on_a_subset_of_facts(m):
    task = Task(V=60, d=12, L=4, m=m, seed=7)
    params = three_step(task, sample(task, 3000, np.random.default_rng(1)), limit=True)
    full = evaluate(task, params, np.random.default_rng(2), reps=2)
    assert full["facts"] == 60 and full["accuracy_se"] == 0.0 and full["n"] == 120
    every = evaluate(task, params, np.random.default_rng(2), reps=2, facts=60)
    assert every["accuracy_se"] == 0.0 and every["n"] == 120
    part = evaluate(task, params, np.random.default_rng(3), reps=3, facts=20)
    assert part["facts"] == 20 and part["n"] == 60 and 0 < part["accuracy_se"] < 0.2
    # the estimate's spread over draws matches its standard error (finite population)
    draws = [evaluate(task, params, np.random.default_rng(100 + i), facts=20) for i in range(60)]
    acc = np.array([r["accuracy"] for r in draws])
    se = np.array([r["accuracy_se"] for r in draws])
    assert abs(acc.mean() - full["accuracy"]) < 4 * se.mean() / np.sqrt(60) + 0.03
    assert 0.6 < acc.std() / np.sqrt(np.mean(se ** 2)) < 1.5
    for facts in (0, 61, 2.5, "3"):
        with pytest.raises(ValueError):
            evaluate(task, params, np.random.default_rng(0), facts=facts)


def test_measure_point_passes_facts_through_and_says_which_it_used():
    from simulate.sweep import LARGE_V, measure_point
    seq = np.random.SeedSequence(5)
    small = dict(V=40, d=8, L=3, N=500)
    assert set(measure_point(small, seq)) == {"accuracy", "localization", "recall",
                                              "attention_weight", "n", "n_localized"}
    part = measure_point({**small, "facts": 10, "reps": 2}, seq)
    assert part["facts"] == 10 and part["n"] == 20 and 0 <= part["accuracy_se"] < 1
    big = measure_point(dict(V=LARGE_V, d=8, L=2, N=2000, facts=64), seq)
    assert big["facts"] == 64 and big["n"] == 64
    with pytest.raises(ValueError):
        measure_point({**small, "facts": 41}, seq)
