"""T7: the initial-gradient lower bound (theory/lower_bound.py) and its decoders (simulate/decoder.py).

Docs: docs/lower_bound.md (equations 7.1-7.18).
"""
import ast
import itertools
import math
import re
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import theory.lower_bound as lb
from simulate import Task, sample, three_step, evaluate
from simulate.data import Dataset
from simulate.decoder import (decode, decoder_accuracy, feature_moments, init_gradient,
                              score_matrix)
from simulate.model import grads
from theory.formula import REGISTRY
from theory.symbols import L, N, V

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- the bound as a function
def test_bound_finite_positive_and_monotone():
    for (v, d, l) in [(16, 8, 2), (64, 32, 4), (256, 64, 8), (64, 128, 4), (1000, 40, 3)]:
        n = lb.lower_bound_N(v, d, l)
        assert math.isfinite(n) and n > 0
    Vs = [8, 16, 32, 64, 128, 256, 512]
    for d in (8, 32, 128):
        seq = [lb.lower_bound_N(v, d, 4) for v in Vs]
        assert all(b > a for a, b in zip(seq, seq[1:])), (d, seq)
    seq = [lb.lower_bound_N(128, 24, l) for l in (1, 2, 4, 8, 16)]
    assert all(b > a for a, b in zip(seq, seq[1:])), seq
    seq = [lb.lower_bound_N(128, d, 4) for d in (12, 16, 24, 32, 48, 64, 100, 200)]
    assert all(b <= a for a, b in zip(seq, seq[1:])), seq
    assert all(b < a for a, b in zip(seq[:5], seq[1:5])), seq  # strictly while 7.15 dominates
    assert lb.lower_bound_N(64, 63, 4) == lb.lower_bound_N(64, 500, 4)   # rank saturates
    seq = [lb.lower_bound_N(64, 24, 4, target=t) for t in (0.1, 0.3, 0.5, 0.7, 0.9, 0.99)]
    assert all(b > a for a, b in zip(seq, seq[1:])), seq
    # the MLP model observes d*m numbers: a wider m can only weaken the bound
    assert lb.lower_bound_N(128, 16, 4, m=256) < lb.lower_bound_N(128, 16, 4, m=16)
    assert lb.lower_bound_N(128, 16, 4, m=16) == lb.lower_bound_N(128, 16, 4)


def test_bound_inf_and_errors():
    assert lb.lower_bound_N(100_000, 4, 4) == math.inf           # exp overflow -> inf, not nan
    assert lb.information_bound(2, 3, 1, 10) == math.inf        # V=2, L=1: noiseless direction
    assert math.isfinite(lb.lower_bound_N(2, 3, 1))             # coupon part still holds
    for kw in [dict(V=1), dict(d=0), dict(L=0), dict(m=0), dict(target=0.0), dict(target=1.0),
               dict(target=float("nan")), dict(target="x"), dict(V=2.5), dict(embeddings="x")]:
        args = dict(V=16, d=8, L=2, m=None, target=0.9)
        args.update(kw)
        with pytest.raises(ValueError) as e:
            lb.lower_bound_N(**args)
        assert "\n" not in str(e.value)
    with pytest.raises(ValueError):
        lb.accuracy_upper_bound(16, 8, 2, 0)


def test_accuracy_bound_consistent_with_N_lb():
    for (v, d, l, tau) in [(64, 24, 4, 0.9), (128, 48, 8, 0.5), (32, 64, 2, 0.9)]:
        n = lb.lower_bound_N(v, d, l, target=tau)
        assert lb.accuracy_upper_bound(v, d, l, max(1, math.floor(n * 0.98))) < tau + 1e-9
        assert lb.accuracy_upper_bound(v, d, l, math.ceil(n * 1.02) + 1) >= tau
    assert lb.fano_accuracy(64, 0.0) < 5 / 64                 # no information: ~ guessing
    assert lb.fano_accuracy(64, 1e6) == 1.0
    assert lb.exact_recovery_bound(64, 8, 4, 10) < 0.05


# ---------------------------------------------------------------- symbolic identities
def test_count_moments_sympy():
    """7.2-7.5 against exact enumeration of one sample's [y=k] (1{true} + Binomial(L-1, 1/V))."""
    for l in range(1, 5):
        p = 1 / V
        pmf = [sp.binomial(l - 1, j) * p**j * (1 - p) ** (l - 1 - j) for j in range(l)]
        for true, mean_f, var_f in [(1, lb.count_mean_true, lb.count_var_true),
                                    (0, lb.count_mean_off, lb.count_var_off)]:
            m1 = sum(q * (true + j) for j, q in enumerate(pmf)) / V          # E[[y=k] c]
            m2 = sum(q * (true + j) ** 2 for j, q in enumerate(pmf)) / V
            assert sp.cancel(N * m1 - mean_f.expr.subs(L, l)) == 0
            assert sp.cancel(N * (m2 - m1**2) - var_f.expr.subs(L, l)) == 0


def test_snr_and_capacity_identities_sympy():
    lam, c, P, s2, n = sp.symbols("lambda c P sigma2 n", positive=True)
    # per-direction SNR (7.10): (N/(V-1)) lam/(1 + c lam), lam = 1/(L-1), c = 1 - 1/(V-1)
    expr = N / (V - 1) * lam / (1 + c * lam)
    expr = expr.subs({lam: lb.between_within.expr, c: 1 - 1 / (V - 1)})
    assert sp.simplify(expr - lb.snr_direction.expr) == 0
    # Gaussian channel: h(X+Z) - h(Z) for X ~ N(0, P), Z ~ N(0, s2)
    h = lambda var: sp.log(2 * sp.pi * sp.E * var) / 2
    assert sp.simplify(h(P + s2) - h(s2) - sp.log(1 + P / s2) / 2) == 0
    # maximal correlation 1/L (7.9): E[(mean of l iid zero-mean h)^2] = E[h^2]/l
    hs = sp.symbols("h0:3", real=True)                          # h on a vocabulary of 3
    hs0 = [x - sum(hs) / 3 for x in hs]
    for l in (1, 2, 3):
        tot = sum(sum(hs0[t] for t in tup) ** 2 for tup in itertools.product(range(3), repeat=l))
        lhs = tot / 3**l / l**2
        assert sp.expand(lhs - sum(x**2 for x in hs0) / 3 / l) == 0
    # energies 7.7-7.8 from the expected traces E tr Sigma_e = E tr Ut = (V-1)/V, E|w|^2 = 1+L^2/V
    tr = (V - 1) / V
    assert sp.simplify(lb.signal_energy.expr - (tr / L**2) * tr / (V - 1)) == 0
    noise = ((L - 1 / (V - 1)) * tr + 1 + L**2 / V) * tr / (N * L**2)
    assert sp.simplify(lb.noise_energy.expr - noise) == 0
    # 7.18 is the first-order expansion of 7.15 in 1/(r_u r_f)
    t = sp.Symbol("t", positive=True)
    ser = lb.N_gauss.expr.subs({lb.r_u: 1 / t, lb.r_f: 1}).series(t, 0, 2).removeO()
    assert sp.simplify(ser - lb.N_gauss_linear.expr.subs({lb.r_u: 1 / t, lb.r_f: 1})) == 0


# ---------------------------------------------------------------- the gradient at init
def _counts(task, data):
    C = np.zeros((task.V, task.V))
    np.add.at(C, (np.repeat(data.labels, task.L), data.tokens.ravel()), 1.0)
    return C, np.bincount(data.labels, minlength=task.V).astype(float)


def test_init_gradient_identity_and_zero_kq():
    task = Task(V=12, d=7, L=3, seed=3)
    data = sample(task, 300, np.random.default_rng(0))
    _, g_v, g_kq = grads(task, data, np.zeros((7, 7)), np.zeros((7, 7)), uniform_probs=True)
    assert np.all(g_kq == 0)                                  # proportional to W_V = 0
    C, n = _counts(task, data)
    Uc = task.U - task.U.mean(axis=1, keepdims=True)
    G = -Uc @ (C @ task.E.T + np.outer(n, task.z_trig)) / (300 * 3)     # (7.1)
    assert np.allclose(g_v, G, atol=1e-13)
    assert np.allclose(init_gradient(task, data), G, atol=1e-13)


def test_gradient_moments_monte_carlo():
    """Mean, signal and noise second moments of G (7.6) for fixed embeddings, random pi."""
    task = Task(V=16, d=8, L=4, seed=5)
    Nn, R = 500, 600
    rng = np.random.default_rng(11)
    mom = lb.attention_moments(task.E, task.U, task.z_trig, task.L)
    Fbar, K_R = feature_moments(task)
    assert np.allclose(K_R, mom["K_R"])
    Uc = task.U - task.U.mean(axis=1, keepdims=True)
    a, b = rng.standard_normal(8), rng.standard_normal(8)
    dev_mean = np.zeros((8, 8))
    noise2, total2, proj = np.empty(R), np.empty(R), np.empty(R)
    for r in range(R):
        data = sample(task, Nn, rng)
        sig = rng.permutation(16)                              # fact table sig o pi*
        data = Dataset(data.tokens, data.pos, sig[data.labels])
        G = init_gradient(task, data)
        mu = -Uc[:, sig[task.perm]] @ Fbar.T / 16                # E[G | pi]
        dev_mean += (G - mu) / R
        noise2[r] = np.sum((G - mu) ** 2)
        total2[r] = np.sum(G**2)
        proj[r] = a @ (G - mu) @ b
    noise_pred = mom["noise_N"] / Nn
    # E[G | pi] = mu: R * |mean deviation|^2 has expectation noise_pred
    assert R * np.sum(dev_mean**2) < 3 * noise_pred
    z = lambda x, pred: abs(x.mean() - pred) / (x.std(ddof=1) / math.sqrt(R))
    assert z(noise2, noise_pred) < 4.5
    assert z(total2, noise_pred + mom["signal"]) < 4.5
    assert mom["signal"] > 3 * noise_pred                      # the check separates the terms
    # Kronecker structure K_R (x) Ut along one direction pair
    assert z(proj**2, (a @ mom["Ut"] @ a) * (b @ K_R @ b) / Nn) < 4.5


def test_expected_energies_over_embeddings():
    """7.7-7.8 against the exact traces averaged over gaussian embeddings."""
    v, d, l, T = 12, 6, 3, 400
    sig, noi = np.empty(T), np.empty(T)
    for s in range(T):
        task = Task(V=v, d=d, L=l, seed=100 + s)
        mom = lb.attention_moments(task.E, task.U, task.z_trig, l)
        sig[s], noi[s] = mom["signal"], mom["noise_N"]
    for x, pred in [(sig, lb.signal_energy(V=v, L=l)), (noi, lb.noise_energy(V=v, L=l, N=1))]:
        assert abs(x.mean() - pred) < 4.5 * x.std(ddof=1) / math.sqrt(T)


def test_feature_ratio_bounded_by_max_correlation():
    """7.9 for ReLU features: between/within ratio <= 1/(L-1) up to Monte Carlo error."""
    task = Task(V=16, d=8, L=3, m=24, seed=2)
    rng = np.random.default_rng(4)
    reps = 4000
    Fbar, K_R = feature_moments(task, rng, reps=reps)
    Fc = Fbar - Fbar.mean(axis=1, keepdims=True)
    B = Fc @ Fc.T / 16
    c = 1 - 1 / 15
    W = K_R - c * B - np.outer(Fbar.mean(axis=1), Fbar.mean(axis=1))
    lam = np.max(np.real(np.linalg.eigvals(np.linalg.solve(W, B))))
    assert lam < 1 / (task.L - 1) * (1 + 0.1)
    assert lam > 0.5 / (task.L - 1)                          # the bound is nearly attained


# ---------------------------------------------------------------- decoders against the bound
def _acc(v, d, l, n, seeds, method="whitened"):
    out = []
    for s in seeds:
        task = Task(V=v, d=d, L=l, seed=s)
        out.append(decoder_accuracy(task, sample(task, n, np.random.default_rng(50 + s)), method))
    return float(np.mean(out))


def _nstar(f, tau=0.9, n0=8, cap=2**16):
    n = n0
    while n <= cap and f(n) < tau:
        n *= 2
    return n if n <= cap else math.inf


@pytest.mark.parametrize("v,d,l", [(32, 16, 4), (32, 48, 2), (16, 8, 3)])
def test_bound_below_decoder(v, d, l):
    seeds = (0, 1, 2)
    bound = lb.lower_bound_N(v, d, l)
    assert bound <= _nstar(lambda n: _acc(v, d, l, n, seeds))
    n = max(1, int(bound))                                     # at the bound: below target
    assert _acc(v, d, l, n, seeds) <= lb.accuracy_upper_bound(v, d, l, n) + 0.05


def test_bound_below_transformer():
    v, d, l, seeds = 16, 64, 4, (0, 1)

    def acc(n):
        out = []
        for s in seeds:
            task = Task(V=v, d=d, L=l, seed=s)
            p = three_step(task, sample(task, n, np.random.default_rng(70 + s)), limit=True)
            out.append(evaluate(task, p, np.random.default_rng(90 + s), reps=4)["accuracy"])
        return float(np.mean(out))
    nstar = _nstar(acc, n0=16)
    assert math.isfinite(nstar) and lb.lower_bound_N(v, d, l) <= nstar


def test_whitened_beats_plain_under_cross_talk():
    task = Task(V=48, d=50, L=2, seed=1)
    data = sample(task, 20000, np.random.default_rng(2))
    G = init_gradient(task, data)
    w = decoder_accuracy(task, data, "whitened", assignment=False, G=G)
    p = decoder_accuracy(task, data, "plain", assignment=False, G=G)
    assert w >= 0.97 and w > p + 0.1
    assert decode(task, data, G=G).shape == (48,)
    assert sorted(decode(task, data, "plain", G=G)) == list(range(48))   # a permutation
    S = score_matrix(task, G, "whitened")
    assert S.shape == (48, 48) and np.all(np.isfinite(S))


def test_whitened_reads_counts_when_d_exceeds_V():
    """d >= V+1: the whitened score is, after double centring, a positive multiple of P C P."""
    task = Task(V=12, d=20, L=3, seed=0)
    data = sample(task, 500, np.random.default_rng(0))
    S = score_matrix(task, init_gradient(task, data), "whitened")
    P = np.eye(12) - 1 / 12
    A, B = P @ S @ P, P @ _counts(task, data)[0] @ P
    coef = np.sum(A * B) / np.sum(B * B)
    assert coef > 0 and np.abs(A - coef * B).max() < 1e-9 * np.abs(A).max()


def test_mlp_decoder_runs_and_respects_bound():
    task = Task(V=16, d=8, L=2, m=32, seed=0)
    n = max(1, int(lb.lower_bound_N(16, 8, 2, m=32)))
    accs = [decoder_accuracy(task, sample(task, n, np.random.default_rng(s)),
                             rng=np.random.default_rng(9)) for s in range(3)]
    assert np.mean(accs) <= lb.accuracy_upper_bound(16, 8, 2, n, m=32) + 0.05
    big = sample(task, 4000, np.random.default_rng(5))
    assert decoder_accuracy(task, big, rng=np.random.default_rng(9)) >= 0.9
    with pytest.raises(ValueError):
        decode(task, big)                                     # MLP moments need an rng


# ---------------------------------------------------------------- hygiene
def test_docs_share_names_and_equations_and_no_simulate_import():
    doc = (ROOT / "docs" / "lower_bound.md").read_text()
    ours = [f for f in REGISTRY.values() if f.name.startswith("lower_bound.")]
    assert len(ours) >= 15
    for f in ours:
        assert re.search(rf"\({re.escape(f.eq)}\)[^\n]*`{re.escape(f.name)}`", doc), f.name
    src = (ROOT / "theory" / "lower_bound.py").read_text()
    mods = {n.module for n in ast.walk(ast.parse(src)) if isinstance(n, ast.ImportFrom)}
    mods |= {a.name for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Import) for a in n.names}
    assert not any(m and m.startswith("simulate") for m in mods)
