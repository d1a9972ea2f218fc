"""Checks of the quenched localization classes (docs/localization_gaps.md, eqs. 8.1-8.3):
each new term against a Monte Carlo of that term alone, the class law's contract, and the
quenched property itself on the simulation."""
import numpy as np
import pytest
from scipy.special import ndtr

from simulate import Task, evaluate, sample, three_step
from simulate.attention import token_scores
from theory.gaussian.quenched import (BLOCKER_PROB, P_LOC_BLOCKED, P_LOC_THINNED,
                                      quenched_classes)


def binomial_tol(p, n):
    """Five standard errors of a fraction over n independent trials (false alarm < 1e-6)."""
    return 5.0 * np.sqrt(max(p * (1 - p), 1.0 / n) / n)


@pytest.mark.parametrize("V,L,m", [(8, 2, 3), (16, 30, 1), (32, 64, 2), (5, 6, 4)])
def test_blocked_probability_monte_carlo(V, L, m):
    """(8.1): with m fixed blockers among V tokens, L-1 uniform draws avoid them all."""
    rng = np.random.default_rng(V * 1000 + L * 10 + m)
    n = 40_000
    draws = rng.integers(0, V, size=(n, L - 1))                  # tokens 0..m-1 block
    hit = float(np.mean(~np.any(draws < m, axis=1)))
    p = float(P_LOC_BLOCKED(m_b=m, V=V, L=L))
    assert abs(hit - p) < binomial_tol(p, n)


@pytest.mark.parametrize("kappa,g", [(0.0, 0.0), (1.5, -0.5), (2.0, 0.7)])
def test_blocker_probability_monte_carlo(kappa, g):
    """(8.2): one other token's standardised score beats the informative score kappa + g."""
    rng = np.random.default_rng(7)
    n = 200_000
    frac = float(np.mean(rng.standard_normal(n) > kappa + g))
    q = float(BLOCKER_PROB(kappa=kappa, g=g))
    assert abs(frac - q) < binomial_tol(q, n)


def test_training_blockers_are_a_thinning():
    """(8.3): blockers of a training sample (higher threshold) are a Binomial(m, rho)
    thinning of the test blockers: E[m' | m] = rho m with rho = q_train / q_test."""
    rng = np.random.default_rng(11)
    V, k_te, k_tr, n = 64, 1.0, 1.6, 20_000
    s = rng.standard_normal((n, V - 1))
    m = (s > k_te).sum(1)
    mp = (s > k_tr).sum(1)
    rho = ndtr(-k_tr) / ndtr(-k_te)
    for mm in (5, 10, 15):
        sel = m == mm
        mean = float(P_LOC_THINNED(rho=rho, m_b=mm))
        se = np.sqrt(mm * rho * (1 - rho) / sel.sum())
        assert abs(mp[sel].mean() - mean) < 5 * se


@pytest.mark.parametrize("V,L,p", [(16, 64, 0.6), (64, 256, 0.4), (200, 10, 0.8), (8, 3, 0.95)])
def test_classes_reproduce_the_mean(V, L, p):
    """The classes' weighted test and training localization equal T2's means."""
    loc = {"p_test": p, "p_train": min(p + 0.03, 1.0)}
    for r in (0.0, 0.7):
        cls = quenched_classes(loc, V, L, r)
        assert abs(sum(w for w, *_ in cls) - 1) < 1e-9
        mean_te = sum(w * np.dot(wk, pk) for w, pk, _, wk in cls)
        mean_tr = sum(w * np.dot(wk, pt) for w, _, pt, wk in cls)
        assert abs(mean_te - p) < 1e-6
        assert abs(mean_tr - loc["p_train"]) < 1e-6


def test_long_sequences_localize_all_or_nothing():
    """For L >> V the classes are 0 or 1 (the V log V draws see every token), while the
    annealed law would give every class a fraction."""
    cls = quenched_classes({"p_test": 0.5, "p_train": 0.5}, 8, 200, 0.0)
    for _, pk, _, wk in cls:
        assert np.all((pk < 1e-6) | (pk > 1 - 1e-6))


def test_simulated_localization_is_quenched_for_long_sequences():
    """The mechanism itself, on the simulation: at L >> V every test sequence of a token is
    localized or none is, and the localized set is the tokens without a blocker (8.1)."""
    V, d, L, N, reps = 8, 16, 96, 400, 6
    for seed in range(3):
        task = Task(V=V, d=d, L=L, seed=seed)
        par = three_step(task, sample(task, N, np.random.default_rng(100 + seed)), limit=True)
        s, a = token_scores(task, np.asarray(par.W_kq))
        blockers = np.array([np.sum(np.delete(s, x) >= a + s[x]) for x in range(V)])
        # P(a blocker is missed by all L-1 draws) <= (1 - 1/V)^(L-1) ~ 3e-6 per sequence
        res = evaluate(task, par, np.random.default_rng(200 + seed), reps=reps)
        expect = np.mean((blockers == 0) & (a > 0))
        assert res["localization"] == pytest.approx(expect, abs=1e-12)


@pytest.mark.parametrize("V,N,p", [(5, 4000, 0.4), (16, 2000, 0.7), (64, 3000, 0.6), (48, 26, 0.5)])
def test_inverse_candidates_monte_carlo(V, N, p):
    """(8.5): a non-localized token x is read right iff it has a training sample and wins a
    uniform tie among itself, the other non-localized tokens with samples and t*'s label."""
    from theory.gaussian.quenched import INV_CANDIDATES
    rng = np.random.default_rng(V + N)
    n = 100_000
    s = 1 - (1 - 1 / V) ** N
    has = rng.random(n) < s                                       # c_x > 0
    K = rng.binomial(V - 1, (1 - p) * s, size=n)                  # competing non-localized
    B = rng.random(n) < s                                         # t*'s label has samples
    x = has / (1.0 + B + K)
    assert abs(x.mean() - float(INV_CANDIDATES(p=p, V=V, N=N))) < 5 * x.std() / np.sqrt(n)


@pytest.mark.parametrize("V,L", [(8, 2), (16, 20), (32, 200)])
def test_top_token_present_monte_carlo(V, L):
    """(8.4): the top-scoring token is among L-1 uniform draws."""
    from theory.gaussian.quenched import TOP_PRESENT
    rng = np.random.default_rng(L)
    n = 40_000
    hit = float(np.mean(np.any(rng.integers(0, V, size=(n, L - 1)) == 0, axis=1)))
    p = float(TOP_PRESENT(V=V, L=L))
    assert abs(hit - p) < binomial_tol(p, n)
