"""Checks of T2 (docs/localization.md): moment identities, each named term against Monte Carlo
of that term alone, and predicted against simulated localization."""
import re
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from sympy.stats import E as Ex, Normal

import theory.gaussian.localization_terms as T
from theory.formula import REGISTRY
from theory.gaussian.localization import localization
from theory.occupancy import occupancy
from simulate import Task, evaluate, sample, three_step
from simulate.model import grads

DOCS = Path(__file__).resolve().parents[1] / "docs" / "localization.md"


# ---------------------------------------------------------------- helpers -------------
def task_parts(task):
    """eta (d,V), ebar, z, r, kappa (V,V) of a task; kappa_xy = (u_pi(x)-ubar).(u_pi(y)-ubar)."""
    eb = task.E.mean(1)
    Ut = task.U[:, task.perm] - task.U.mean(1, keepdims=True)
    return task.E - eb[:, None], eb, task.z_trig, task.z_trig @ task.z_trig, Ut.T @ Ut


def exact_q(task, data):
    """q of eq. 2.36 from the simulation's exact step-2 gradient.

    The simulation's W_V^(1)/eta carries 1/N and its attention gradient 1/(NL) per sample, so
    -grad_{W_KQ} = z_eos q^T / (N L) with q normalised as in eq. 2.36.
    """
    z0 = np.zeros((task.d, task.d))
    _, g1, _ = grads(task, data, z0, z0, uniform_probs=True, want_kq=False)
    _, _, g2 = grads(task, data, -g1, z0, uniform_probs=True)
    return data.N * task.L * (-g2.T @ task.z_eos) / (task.z_eos @ task.z_eos)


def ev(f, **kw):
    return float(f(**{s.name: kw[s.name] for s in f.args}))


# ---------------------------------------------------------------- moment identities ---
@pytest.mark.parametrize("dd", [1, 2])
def test_gaussian_moments_sympy(dd):
    """E[(e^T e')^2] = 1/d and E||e||^4 = 1 + 2/d for e, e' ~ N(0, I/d) (used in 2.13-2.25)."""
    e = [Normal(f"e{i}", 0, 1 / sp.sqrt(dd)) for i in range(dd)]
    f = [Normal(f"f{i}", 0, 1 / sp.sqrt(dd)) for i in range(dd)]
    dot = sum(x * y for x, y in zip(e, f))
    sq = sum(x**2 for x in e)
    assert sp.simplify(Ex(dot**2) - sp.Rational(1, dd)) == 0
    assert sp.simplify(Ex(sq**2) - (1 + sp.Rational(2, dd))) == 0


def test_wishart_traces_chi_square_sympy():
    """For d = 1, tr W^k = (chi^2_m)^k: eqs. 2.2-2.5 reduce to the chi-square moments."""
    mm = sp.Symbol("m", positive=True)
    chi = {k: sp.prod([mm + 2 * i for i in range(k)]) for k in (1, 2, 3, 4)}   # E (chi2_m)^k
    sub = {T.d: 1, T.V: mm + 1}
    for f, k in ((T.W2, 2), (T.W3, 3), (T.W4, 4)):
        assert sp.expand(f.expr.subs(sub) - chi[k]) == 0
    assert sp.expand(T.W21.expr.subs(sub) - chi[3]) == 0


def test_wishart_traces_monte_carlo():
    """Eqs. 2.2-2.5 at d = 6, V = 5 against 40 000 draws; 5-sigma bound from the MC error."""
    rng = np.random.default_rng(0)
    dd, V, n = 6, 5, 40_000
    G = rng.standard_normal((n, V - 1, dd)) / np.sqrt(dd)          # W = G G^T, (V-1)x(V-1)
    W = G @ G.transpose(0, 2, 1)
    W2 = W @ W
    draws = {"2": np.trace(W2, axis1=1, axis2=2), "3": np.einsum("nij,nji->n", W2, W),
             "4": np.einsum("nij,nji->n", W2, W2)}
    draws["21"] = draws["2"] * np.trace(W, axis1=1, axis2=2)
    for key, f in (("2", T.W2), ("3", T.W3), ("4", T.W4), ("21", T.W21)):
        x = draws[key]
        assert abs(x.mean() - ev(f, V=V, d=dd)) < 5 * x.std() / np.sqrt(n)


def test_interference_factor():
    """E[(W^2)_tt] = (1 - 1/V)(1 + V/d) for the centred cloud (the factor io of 2.17-2.23)."""
    rng = np.random.default_rng(1)
    V, dd, n = 12, 5, 20_000
    E = rng.standard_normal((n, dd, V)) / np.sqrt(dd)
    eta = E - E.mean(2, keepdims=True)
    W = eta.transpose(0, 2, 1) @ eta
    x = (W @ W)[:, 0, 0]
    assert abs(x.mean() - (1 - 1 / V) * (1 + V / dd)) < 5 * x.std() / np.sqrt(n)


def test_multinomial_identities_sympy():
    """Exact enumeration: Cov(n_x, n_y) = -N/V^2 and Var sum n_x(n_x-1) = 2N(N-1)(1-1/V)/V."""
    N, V = 5, 3
    comps = [(a, b, N - a - b) for a in range(N + 1) for b in range(N + 1 - a)]
    prob = lambda c: sp.factorial(N) / sp.prod([sp.factorial(k) for k in c]) / sp.Integer(V)**N  # noqa
    En = lambda f: sum(prob(c) * f(c) for c in comps)                                         # noqa
    cov = En(lambda c: c[0] * c[1]) - En(lambda c: c[0]) * En(lambda c: c[1])
    assert cov == sp.Rational(-N, V**2)
    s = lambda c: sum(k * (k - 1) for k in c)                                                 # noqa
    var = En(lambda c: s(c)**2) - En(s)**2
    assert var == 2 * N * (N - 1) * sp.Rational(1, V) * (1 - sp.Rational(1, V))
    assert sp.simplify(T.VAR_H.expr.subs({T.V: V, T.N: N}) - var / En(s)**2) == 0


@pytest.mark.parametrize("V,L", [(3, 5), (6, 4), (4, 9)])
def test_occupancy(V, L):
    """The recursion of localization.occupancy equals the closed form 2.35 (exact rationals)."""
    pi = occupancy(V, L)
    for D in range(pi.size):
        exact = T.OCCUPANCY.expr.subs({T.V: V, T.L: L, T.D: D}).doit()
        assert abs(pi[D] - float(exact)) < 1e-12
    assert abs(pi.sum() - 1) < 1e-12


# ---------------------------------------------------------------- terms vs Monte Carlo --
def test_signal_against_simulation():
    """Eq. 2.11 is the exact mean of A = q^T z_trig: 200 (task, data) draws, 5-sigma bound."""
    V, N, d, L = 16, 12, 8, 6
    A, pred = [], []
    for s in range(200):
        task = Task(V=V, d=d, L=L, seed=s)
        q = exact_q(task, sample(task, N, np.random.default_rng(10_000 + s)))
        A.append(q @ task.z_trig)
        pred.append(ev(T.SIGNAL, V=V, N=N, d=d, L=L, r=task.z_trig @ task.z_trig, g=1, h=1))
    A, pred = np.array(A), np.array(pred)
    assert abs(A.mean() - pred.mean()) < 5 * (A - pred).std() / np.sqrt(A.size)


def _task_draws(V, d, n, seed):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        E = rng.standard_normal((d, V)) / np.sqrt(d)
        U = rng.standard_normal((d, V)) / np.sqrt(d)
        z = rng.standard_normal(d) / np.sqrt(d)
        eb = E.mean(1)
        Ut = U - U.mean(1, keepdims=True)
        yield E - eb[:, None], eb, z, Ut.T @ Ut


def test_trigger_terms():
    """2.13 + 2.14 (with alpha, beta at their means) against 3000 tasks, 5-sigma bound."""
    V, N, d, L = 20, 100, 8, 6
    al = ev(T.ALPHA_SELF, V=V, L=L, r=1.0) + ev(T.ALPHA_PAIR, V=V, N=N, L=L)
    be = ev(T.BETA_SELF, V=V, L=L) + ev(T.BETA_PAIR, V=V, N=N, L=L)
    x, pred = [], []
    for eta, _, z, _ in _task_draws(V, d, 3000, 2):
        r = z @ z
        Sig = eta @ eta.T / V
        a_r = al - ev(T.ALPHA_SELF, V=V, L=L, r=1.0) + ev(T.ALPHA_SELF, V=V, L=L, r=r)
        s = eta.T @ (a_r * z + V * be * Sig @ z)
        x.append(np.mean(s**2))
        f = dict(V=V, N=N, d=d, L=L, r=r, g=1, h=1)
        pred.append(ev(T.TOKEN["trigger_coherent"], **f) + ev(T.TOKEN["trigger_cross"], **f)
                    - (r / (d * V)) * ev(T.VAR_ALPHA, **f) * (V - 1))
    x, pred = np.array(x), np.array(pred)
    assert abs(x.mean() - pred.mean()) < 5 * (x - pred).std() / np.sqrt(x.size)


def test_mean_direction_terms():
    """Main part of 2.16 (V beta_mean eta^T Sigma ebar) and 2.27 against 4000 tasks."""
    V, d, L = 24, 10, 9
    be = ev(T.BETA_MEAN, V=V, L=L)
    tok, com, rs = [], [], []
    for eta, eb, z, kap in _task_draws(V, d, 4000, 3):
        Sig = eta @ eta.T / V
        tok.append(np.mean((V * be * eta.T @ Sig @ eb) ** 2))
        r = z @ z
        c1L = (L - 1) / (L * V)                       # c1 * L
        com.append(c1L * r * np.trace(kap) * (z @ eb) + V * be * z @ Sig @ eb)
        rs.append(r)
    tok, com, rs = np.array(tok), np.array(com), np.array(rs)
    w3 = ev(T.W3, V=V, d=d)
    assert abs(tok.mean() - be**2 * w3 / (V**2 * d)) < 5 * tok.std() / np.sqrt(tok.size)
    pred = np.array([ev(T.COMMON["mean_direction"], V=V, d=d, L=L, r=r, g=1) for r in rs])
    y = com**2
    assert abs(y.mean() - pred.mean()) < 5 * (y - pred).std() / np.sqrt(y.size)


def test_trigger_alignment_variance():
    """2.28 (self/pair beta, no cross-talk) = (beta V)^2 Var(z^T Sigma_eta z | r), r fixed."""
    V, N, d, L, n = 16, 50, 6, 8, 20_000
    rng = np.random.default_rng(4)
    E = rng.standard_normal((n, d, V)) / np.sqrt(d)
    eta = E - E.mean(2, keepdims=True)
    z = rng.standard_normal((n, d))
    z /= np.linalg.norm(z, axis=1, keepdims=True)         # r = 1 exactly
    y = np.einsum("nd,nde,ne->n", z, eta @ eta.transpose(0, 2, 1) / V, z)
    be = ev(T.BETA_SELF, V=V, L=L) + ev(T.BETA_PAIR, V=V, N=N, L=L)
    full = ev(T.COMMON["trigger_alignment"], V=V, N=N, d=d, L=L, r=1.0, g=1, h=1)
    crosstalk = ((L - 1) / (L**2 * V) * (N - 1) / V * (V - 1))**2 * 2 / d**3
    dev2 = (y - y.mean()) ** 2
    # 5-sigma bound from the standard error of the sample variance, estimated from the draws
    assert abs((be * V)**2 * (dev2.mean() - (full - crosstalk) / (be * V)**2)) \
        < 5 * (be * V)**2 * dev2.std() / np.sqrt(n)


def test_token_interference_term():
    """2.18: c1 n' (W kappa)_tt, centred and mixed by W, against 3000 tasks."""
    V, N, d, L = 16, 200, 12, 5
    c1n = (L - 1) / (L**2 * V) * (N - 1) / V
    x = []
    for eta, _, _, kap in _task_draws(V, d, 3000, 5):
        W = eta.T @ eta
        w = c1n * np.diag(W @ kap)
        x.append(np.mean((W @ (w - w.mean())) ** 2))
    x = np.array(x)
    pred = ev(T.TOKEN["token_interference"], V=V, N=N, d=d, L=L, h=1)
    # leading order in 1/V: 5-sigma MC bound plus a 10% allowance for the O(1/V) terms dropped
    assert abs(x.mean() - pred) < 5 * x.std() / np.sqrt(x.size) + 0.1 * pred


def test_scale_variances():
    """2.31 (label-frequency scale) and 2.33 (spread of ebar^T Sigma^3 ebar) by Monte Carlo."""
    V, N, d = 32, 400, 8
    rng = np.random.default_rng(6)
    gs, e3 = [], []
    for eta, eb, _, kap in _task_draws(V, d, 4000, 7):
        n = rng.multinomial(N, np.full(V, 1 / V))
        gs.append((n @ kap @ n - n @ np.diag(kap)) / (N * (1 - 1 / V)))   # Q / (N a), exact
        Sig = eta @ eta.T / V
        e3.append(eb @ Sig @ Sig @ Sig @ eb)
    gs, e3 = np.array(gs), np.array(e3)
    dev2 = (gs - gs.mean()) ** 2           # 5 sigma of the sample variance, from the draws
    assert abs(dev2.mean() - ev(T.VAR_G, V=V, N=N, d=d)) < 5 * dev2.std() / np.sqrt(gs.size)
    cv2 = e3.var() / e3.mean() ** 2
    # 2.33 keeps the leading (Narayana) order of E tr Sigma^6 and drops Var tr Sigma^3:
    # allow 25% for that on top of a 5-sigma bound for the MC error (delta method)
    se = np.std((e3 - e3.mean()) ** 2 / e3.mean() ** 2 - 2 * cv2 * e3 / e3.mean()) / np.sqrt(e3.size)
    assert abs(cv2 - ev(T.CV2_X, V=V, d=d)) < 0.25 * cv2 + 5 * se


def test_fluctuation_total_leading_order():
    """Sum of the data-level token terms 2.19-2.25 against Var(s_t | task) over 40 datasets."""
    V, N, d, L = 32, 60, 16, 16
    fl, pred = [], []
    for s in range(6):
        task = Task(V=V, d=d, L=L, seed=s)
        eta, _, z, r, _ = task_parts(task)
        qs = np.array([exact_q(task, sample(task, N, np.random.default_rng(100 * s + k)))
                       for k in range(40)])
        dev = qs - qs.mean(0)
        fl.append(np.mean((dev @ eta) ** 2) * 40 / 39)
        _, tok, _ = T.terms(V, N, d, L, r=r)
        pred.append(sum(tok[k] for k in ("memory_informative", "memory_covariance",
                                         "noise_tokens", "counts", "within_sample", "mirror")))
    ratio = np.mean(fl) / np.mean(pred)
    # leading-order terms (docs 2.19-2.25 drop O(1/L, 1/V) corrections): a factor-2 check
    assert 0.5 < ratio < 2.0


# ---------------------------------------------------------------- API and simulation ----
def test_api_shapes_and_errors():
    out = localization(64, [10, 100], 32, 8)
    assert out["p_test"].shape == (2,) and out["p_train"].shape == (2,)
    assert set(out["terms"]) >= {"token.trigger_cross", "common.mean_direction"}
    assert np.all((out["p_test"] >= 0) & (out["p_test"] <= 1))
    one = localization(64, 100, 32, 1)
    assert one["p_test"] == 1.0 and one["p_train"] == 1.0
    for bad in ((1, 10, 8, 4), (16, 0, 8, 4), (16, 10, 0, 4), (16, 10, 8, 0), (16, 2.5, 8, 4)):
        with pytest.raises(ValueError):
            localization(*bad)


def test_registry_names_in_docs():
    text = DOCS.read_text()
    for name, f in REGISTRY.items():
        if name.startswith("localization."):
            assert re.search(rf"\({re.escape(f.eq)}\)", text), name
            assert name in text, name


@pytest.mark.parametrize("V,N,d,L", [(64, 300, 8, 8), (64, 100, 32, 64), (64, 30, 32, 8),
                                     (16, 100, 4, 16), (32, 50, 8, 8)])
def test_predicted_vs_simulated(V, N, d, L):
    """Localization of three_step(limit=True) models, 60 seeds (sim s.e. <= 0.035): |err| <= 0.1."""
    loc = []
    for s in range(60):
        task = Task(V=V, d=d, L=L, seed=s)
        params = three_step(task, sample(task, N, np.random.default_rng(500 + s)), limit=True)
        loc.append(evaluate(task, params, rng=np.random.default_rng(900 + s), reps=2)["localization"])
    assert abs(localization(V, N, d, L)["p_test"] - np.mean(loc)) <= 0.1
