"""Bounded cost of the closed-form predictions in N and L: the fast paths agree with the
exact ones where they switch over, and huge N or L give finite values in [0, 1] without
large arrays (tracemalloc peaks, never timings)."""
import tracemalloc

import numpy as np
import pytest
from scipy.special import gammaln

import theory
from theory import accuracy as A
from theory import occupancy as O


def _peak(fn):
    tracemalloc.start()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _materialised(n, q, max_points, k):
    """The lumped binomial law from its whole support (the definition)."""
    mu, sd = n * q, np.sqrt(n * q * (1 - q))
    lo, hi = max(0, int(np.floor(mu - k * sd - 3))), min(n, int(np.ceil(mu + k * sd + 3)))
    x = np.arange(lo, hi + 1, dtype=float)
    logp = (gammaln(n + 1.0) - gammaln(x + 1.0) - gammaln(n - x + 1.0)
            + x * np.log(q) + (n - x) * np.log1p(-q))
    p = np.exp(logp - logp.max())
    return A.lump(x, p / p.sum(), max_points), (lo, hi)


@pytest.mark.parametrize("n, q, mp, k", [(10**7, 1 / 64, 160, 9.0), (3 * 10**6, 0.01, 16, 6.0),
                                         (10**8, 1 / 3, 64, 9.0)])
def test_binomial_bins_match_the_materialised_law(n, q, mp, k):
    (x0, p0), (lo, hi) = _materialised(n, q, mp, k)
    x1, p1 = A._binomial_bins(float(n), q, lo, hi, mp)
    sd = np.sqrt(n * q * (1 - q))
    assert x1.shape == x0.shape
    assert np.abs(p1 - p0).max() < 1e-8 and np.abs(x1 - x0).max() < 1e-8 * sd


def test_edgeworth_matches_scipy_at_the_switch_over():
    n, q = 64 * 10**12, 1 / 64                        # variance ~ EDGEWORTH_VAR
    mu, sd = n * q, np.sqrt(n * q * (1 - q))
    lo, hi = int(mu - 9 * sd - 3), int(mu + 9 * sd + 3)
    x1, p1 = A._binomial_bins(float(n), q, lo, hi, 160)
    old = A.EDGEWORTH_VAR
    try:
        A.EDGEWORTH_VAR = 0.0
        x2, p2 = A._binomial_bins(float(n), q, lo, hi, 160)
    finally:
        A.EDGEWORTH_VAR = old
    assert np.abs(p1 - p2).max() < 1e-9 and np.abs(x1 - x2).max() < 2e-3 * sd


@pytest.mark.parametrize("V, L", [(1000, 2000), (3000, 3000), (200000, 2001), (2000, 20000)])
def test_occupancy_limits_match_the_recursion(V, L):
    pi = O.occupancy(V, L)
    D = np.arange(pi.size)
    old = O.EXACT_COST
    try:
        O.EXACT_COST = 0
        O.occupancy_law.cache_clear()
        x, p = O.occupancy_law(V, L)
    finally:
        O.EXACT_COST = old
        O.occupancy_law.cache_clear()
    mean, var = O.occupancy_moments(V, L)
    assert mean == pytest.approx(pi @ D, rel=1e-12) and var == pytest.approx(
        pi @ (D - pi @ D) ** 2, rel=1e-6, abs=1e-12)
    for b in np.linspace(0.05, 1, 400) ** (1 / mean):     # b^D spans (0.05, 1)
        assert abs(pi @ b ** D - p @ b ** x) < 1e-8


def test_occupancy_classes_lumping_error_below_its_bound():
    V, L = 3000, 3000
    pi = O.occupancy(V, L)
    D = np.arange(pi.size)
    x, p = O.occupancy_classes(V, L, max_points=32)
    w = (x[-1] - x[0]) / 32 * 1.2
    bound = 0.034 * (w / x[0]) ** 2
    err = max(abs(pi @ b ** D - p @ b ** x) for b in np.linspace(0.01, 1, 300) ** (1 / 2000))
    assert err <= bound


@pytest.mark.parametrize("kw", [dict(V=64, N=10**30, d=32, L=8),
                                dict(V=64, N=10**18, d=16, L=3),
                                dict(V=10**5, N=10**6, d=32, L=10**4)])
def test_gaussian_huge_n_bounded(kw):
    r, peak = _peak(lambda: theory.predict(**kw))
    for key in ("accuracy", "localization", "one_step_accuracy"):
        assert 0.0 <= r[key] <= 1.0
    assert peak < 256 * 2**20


def test_gaussian_large_n_is_the_limit():
    a = theory.predict(64, 10**30, 32, 8)["accuracy"]
    b = theory.predict(64, 10**18, 32, 8)["accuracy"]
    assert abs(a - b) < 1e-6


def test_mlp_huge_n_bounded():
    r, peak = _peak(lambda: theory.predict(16, 10**30, 16, 4, m=64))
    assert 0.0 <= r["accuracy"] <= 1.0 and 0.0 <= r["localization"] <= 1.0
    assert peak < 256 * 2**20


# -- orthogonal embeddings: large counts and long sequences ----------------------------------

from theory.orthogonal import counts as OC, large_counts as OL, one_step as OS  # noqa: E402


def _summary(V, res):
    cs, pc, P, w, acc = res
    loc = w @ P @ pc
    return w @ acc @ pc + (1 - loc) / V, loc


@pytest.mark.parametrize("V, N, L", [(4, 600, 16), (2, 300, 64)])
def test_orthogonal_large_counts_match_the_exact_recall(V, N, L):
    old = OC.EXACT_RECALL
    try:
        OC.EXACT_RECALL = 10**9
        exact = _summary(V, OC.recall_by_count(V, N, L))
    finally:
        OC.EXACT_RECALL = old
    large = _summary(V, OL.recall_large(V, N, L))
    assert abs(large[0] - exact[0]) < 1e-3 and abs(large[1] - exact[1]) < 1e-3


@pytest.mark.parametrize("V, N, L", [(16, 1000, 8), (4, 1000, 4), (32, 3000, 8)])
def test_orthogonal_one_step_large_matches_the_exact_sums(V, N, L):
    assert OS._exact_cost(V, N, L) <= OS.EXACT_ONE_STEP          # the exact path runs
    exact = OS.orthogonal_one_step_accuracy(V, N, L)
    assert abs(OL.one_step_large(V, N, L) - exact) < 2e-4


@pytest.mark.parametrize("kw", [dict(V=16, N=10**6, L=8), dict(V=16, N=10**9, L=8),
                                dict(V=16, N=1000, L=2000), dict(V=2, N=1, L=2),
                                dict(V=16, N=10**30, L=10**7), dict(V=64, N=3, L=10**7)])
def test_orthogonal_bounded(kw):
    r, peak = _peak(lambda: theory.predict(kw["V"], kw["N"], 2 * kw["V"] + 2, kw["L"],
                                           embeddings="orthogonal"))
    for key in ("accuracy", "localization", "one_step_accuracy"):
        assert 0.0 <= r[key] <= 1.0
    assert peak < 256 * 2**20


def test_orthogonal_large_n_is_the_limit():
    # every sample localized and 2c beats every rival count: accuracy -> 1 (up to the
    # A nodes of weight < 1e-9 that are skipped)
    a = theory.predict(16, 10**30, 34, 8, embeddings="orthogonal")["accuracy"]
    assert a > 1 - 1e-8
