"""T6 (orthogonal embeddings): identities, count-model Monte Carlo, per-term moments, and
predicted against simulated accuracy / localization (docs/orthogonal.md)."""
import itertools

import numpy as np
import pytest
import sympy as sp

from simulate import Task, sample, three_step, evaluate
from simulate.attention import token_scores
from theory.orthogonal import counts as C
from theory.orthogonal import predict as O
from theory.orthogonal import terms as T
from theory.formula import REGISTRY


def _counts(V, tokens, x):
    """Exact step-2 scores of eq. 6.3 from counts: w (V,), A; the label of token t is t."""
    N, L = tokens.shape
    c = np.zeros((N, V))
    np.add.at(c, (np.repeat(np.arange(N), L), tokens.ravel()), 1)
    C = np.zeros((V, V))
    np.add.at(C, x, c)
    n = np.bincount(x, minlength=V).astype(float)
    nu = n - N / V
    K = C - C.sum(0) / V
    beta = np.einsum("nt,nt->n", c, K[x]) + nu[x]
    w = (K**2).sum(0) + n * nu - (c * beta[:, None]).sum(0) / L
    return w, (K[x, x] + nu[x]).sum() - beta.sum() / L, n


def test_tie_credit_identity_sympy():
    lt, eq = T.lt, T.eq
    for m in range(1, 7):
        lhs = sum(sp.binomial(m, j) * eq**j * lt ** (m - j) / (j + 1) for j in range(m + 1))
        rhs = T.TIE_CREDIT.expr.subs(T.V, m + 1)
        assert sp.simplify(lhs - rhs) == 0
    assert REGISTRY["orthogonal.tie_credit"].eq == "6.1"


def test_multinomial_moments_by_enumeration():
    """E sum n^2 and Var sum n(n-1) (used in eqs. 6.8, 6.14), exact for N = 4, V = 3."""
    N, V = 4, 3
    s1 = s2 = s3 = sp.Integer(0)
    for cell in itertools.product(range(V), repeat=N):
        n = np.bincount(cell, minlength=V)
        p = sp.Rational(1, V**N)
        q = int((n * (n - 1)).sum())
        s1 += p * int((n**2).sum())
        s2 += p * q
        s3 += p * q**2
    assert s1 == N + sp.Rational(N * (N - 1), V)
    assert s3 - s2**2 == sp.Rational(2 * N * (N - 1), V) * (1 - sp.Rational(1, V))


def test_count_scores_are_the_simulated_direction():
    """Eq. 6.3: the count formulas equal the simulated step-2 scores up to a positive factor."""
    for V, N, L in [(8, 30, 5), (16, 40, 24)]:
        t = Task(V=V, d=2 * V + 2, L=L, embeddings="orthogonal", seed=3)
        data = sample(t, N, np.random.default_rng(4))
        s_tok, s_trig = token_scores(t, three_step(t, data, limit=True).W_kq)
        inv = np.argsort(t.perm)                              # relabel so that label = token
        w, A, _ = _counts(V, data.tokens, inv[data.labels])
        ratio = s_tok / w
        assert np.std(ratio) < 1e-9 * abs(ratio.mean()) and ratio.mean() > 0
        assert s_trig / A == pytest.approx(ratio.mean(), rel=1e-9)


def test_exact_multinomial_recall_against_monte_carlo():
    """Eq. 6.20 against 20000 draws of the count model (se ~ 0.0035: tolerance 4 se)."""
    V, N = 16, 40
    cs = C.support(N, 1 / V)
    pc = np.array([float(sp.binomial(N, c)) for c in cs]) * (1 / V) ** cs * (1 - 1 / V) ** (N - cs)
    exact = pc @ C._perfect_recall(V, N, cs, pc, True)
    iid = pc @ C._perfect_recall(V, N, cs, pc, False)
    rng = np.random.default_rng(0)
    f = rng.multinomial(N, np.ones(V) / V, size=20000)
    f[:, 0] *= 2
    tied = f == f.max(1, keepdims=True)
    credit = tied[:, 0] / tied.sum(1)
    se = credit.std() / np.sqrt(len(credit))
    assert abs(exact - credit.mean()) < 4 * se
    assert abs(iid - credit.mean()) > abs(exact - credit.mean())     # dependence matters


@pytest.mark.parametrize("V,N,L", [(16, 40, 64), (64, 1000, 16), (32, 16, 16), (8, 20, 16)])
def test_step2_terms_against_count_monte_carlo(V, N, L):
    """E A (6.8), Var A (6.14), the profile a(n) (6.7) and the token-specific variance
    (6.9-6.13) against 200 datasets of the count model; leading-order allowances."""
    rng = np.random.default_rng(V + N + L)
    As, res, var, ns = [], [], [], []
    for _ in range(200):
        tok = rng.integers(0, V, (N, L))
        x = tok[np.arange(N), rng.integers(0, L, N)]
        w, A, n = _counts(V, tok, x)
        a, v = T.score_moments(V, N, L, n)
        r = w - a
        As.append(A), res.append(r - r.mean()), var.append(v), ns.append(n)
    As, res, var, ns = map(np.array, (As, res, var, ns))
    se = As.std() / np.sqrt(len(As))
    assert abs(As.mean() - T.A_MEAN(V=V, N=N, L=L)) < 4 * se + 0.03 * As.mean()
    assert 0.7 < np.sqrt(T.VAR_A(V=V, N=N, L=L)) / As.std() < 1.35
    ratio = res.var() / var.mean() / (1 - 1 / V)             # centring removes 1/V
    assert 0.6 < ratio < 1.6
    # no trend of the residual with the count: the profile a(n) is right (within 0.3 sd)
    lo, hi = ns <= np.quantile(ns, 0.25), ns >= np.quantile(ns, 0.75)
    assert abs(res[hi].mean() - res[lo].mean()) < 0.3 * np.sqrt(var.mean())


def test_input_validation_and_d_independence():
    with pytest.raises(ValueError, match="2V\\+2"):
        O.predict_orthogonal(16, 40, 20, 4)
    with pytest.raises(ValueError):
        O.predict_orthogonal(1, 40, 20, 4)
    with pytest.raises(ValueError):
        O.critical_N_orthogonal(16, 4, target=1.5)
    a = O.predict_orthogonal(16, 40, 34, 16)
    b = O.predict_orthogonal(16, 40, 500, 16)
    assert a["accuracy"] == b["accuracy"] and a["localization"] == b["localization"]
    assert set(a) >= {"accuracy", "localization", "recall", "one_step_accuracy", "terms", "regime"}
    assert a["regime"] in a["terms"]


def test_one_step_equals_three_step_at_L1_and_critical_N():
    p = O.predict_orthogonal(32, 100, 66, 1)
    assert p["one_step_accuracy"] == pytest.approx(p["accuracy"], abs=1e-12)
    n_star = O.critical_N_orthogonal(8, 1, 0.9)
    acc = lambda n: O.predict_orthogonal(8, int(n), 18, 1)["accuracy"]   # noqa: E731
    assert acc(n_star) >= 0.9 > acc(0.98 * n_star)
    law = float(T.CRITICAL_N(V=8, tau=0.9))                  # Gaussian scaling law (6.17)
    assert 0.5 < n_star / law < 2.0


@pytest.mark.parametrize("V,N,L,seeds", [(16, 40, 64, 30), (16, 8, 16, 30), (32, 200, 16, 20),
                                         (8, 16, 64, 30), (32, 16, 4, 20)])
def test_predicted_against_simulated(V, N, L, seeds):
    """All test tokens of one model share one count vector, so seeds vary a lot: the
    tolerance is 3 standard errors of the seed mean plus 0.03 of modelling allowance."""
    acc, loc, one = [], [], []
    for s in range(seeds):
        t = Task(V=V, d=2 * V + 2, L=L, embeddings="orthogonal", seed=s)
        data = sample(t, N, np.random.default_rng(100 + s))
        r = evaluate(t, three_step(t, data, limit=True), np.random.default_rng(200 + s), reps=2)
        acc.append(r["accuracy"]), loc.append(r["localization"])
    p = O.predict_orthogonal(V, N, 2 * V + 2, L)
    for sim, pred in ((acc, p["accuracy"]), (loc, p["localization"])):
        tol = 3 * np.std(sim) / np.sqrt(seeds) + 0.03
        assert abs(np.mean(sim) - pred) < tol, (np.mean(sim), pred, tol)
