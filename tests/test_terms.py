"""The margin terms of T1/T3 (theory/gaussian/terms.py, docs/theory.md 1.x, 3.x): moment identities in
sympy, and every term's mean and variance against Monte Carlo of that term alone.

Monte Carlo tolerances: with n draws, a sample mean has standard error sd/sqrt(n) and a
sample variance (of a near-Gaussian quantity) relative standard error sqrt(2/n); checks use
5 standard errors, so a correct formula fails with probability < 1e-6 while a factor error
(a missing 2, a 1/d instead of 1/d^2) is many standard errors away.
"""
import numpy as np
import pytest
import sympy as sp
from scipy.special import ndtr

import theory.gaussian.terms as T
from theory.quadrature import normal_nodes, chi2_nodes
from theory.gaussian.laws import z_V2
from theory.formula import REGISTRY

d_ = sp.Symbol("d", positive=True)


S = sp.Symbol("s", positive=True)              # coordinate standard deviation, s^2 = 1/d


def normals(names):
    return sp.symbols(names, real=True)


def Ex(expr):
    """E of a polynomial in independent N(0, s^2) symbols (names starting with u, v, z, e,
    w excluded): monomial by monomial, E x^k = s^k (k-1)!! for even k, 0 for odd k."""
    expr = sp.expand(expr)
    gs = sorted((x for x in expr.free_symbols if x.name[0] in "uvze"), key=str)
    poly = sp.Poly(expr, *gs)
    out = 0
    for powers, coef in poly.terms():
        m = 1
        for k in powers:
            m *= 0 if k % 2 else S**k * sp.factorial2(k - 1)
        out += coef * m
    return sp.expand(out)


def coord_sum(same, diff):
    """Expectation of a double sum over d iid coordinates: d*same + d(d-1)*diff, s^2 = 1/d."""
    return sp.simplify((d_ * same + d_ * (d_ - 1) * diff).subs(S, 1 / sp.sqrt(d_)))


# ------------------------------------------------------------------ sympy moment identities
def test_inner_product_and_norm_moments():
    """E[(u.u')^2] = 1/d, E||u||^4 = 1 + 2/d, E[(u.v)^2 (e.e')^2] = 1/d^2 (symbolic d)."""
    u1, u2, v1, v2 = normals("u1 u2 v1 v2")
    # (u.v)^2 = sum_ij u_i v_i u_j v_j: same-coordinate and cross-coordinate expectations
    assert coord_sum(Ex(u1**2 * v1**2), Ex(u1 * v1 * u2 * v2)) == 1 / d_
    # ||u||^4 = sum_ij u_i^2 u_j^2
    assert sp.simplify(coord_sum(Ex(u1**4), Ex(u1**2 * u2**2)) - (1 + 2 / d_)) == 0
    # independent pairs: the fourth moment factorises
    assert sp.simplify(coord_sum(Ex(u1**2 * v1**2), 0) ** 2 - 1 / d_**2) == 0


def test_trigger_moments():
    """zeta = ||z||^2, alpha = z.e: Var(zeta + alpha) = 3/d, E||e + z||^2 = 2 (3.11, 3.20)."""
    z1, z2, e1, e2 = normals("z1 z2 e1 e2")
    second = coord_sum(Ex((z1**2 + z1 * e1) ** 2), Ex((z1**2 + z1 * e1) * (z2**2 + z2 * e2)))
    mean = coord_sum(Ex(z1**2 + z1 * e1), 0)                 # E(zeta + alpha) = 1
    assert sp.simplify(mean - 1) == 0
    assert sp.simplify(second - mean**2 - 3 / d_) == 0
    assert sp.simplify(coord_sum(Ex((e1 + z1) ** 2), 0) - 2) == 0
    # Var(zeta) = 2/d and Cov(zeta, alpha) = 0: the variance of w_x's gaussian part (3.20)
    a, lam = T.a, T.lam
    var_zeta = coord_sum(Ex(z1**4), Ex(z1**2 * z2**2)) - 1
    cov = coord_sum(Ex(z1**3 * e1), Ex(z1**2 * z2 * e2))
    var = (2 * a - lam) ** 2 / d_ + (a - lam) ** 2 * var_zeta + 2 * (2 * a - lam) * (a - lam) * cov
    assert sp.simplify(var - T.var_correct.expr.subs({T.t_z: 1, T.d: d_})) == 0


def test_gram_covariance_given_w():
    """Given w, f = U^T U w has mean w and covariance (||w||^2 I + w w^T)/d (eq. 3.3)."""
    w = sp.symbols("w0:3", real=True)
    u = normals("u0:3")                                    # one coordinate of u_0..u_2
    y = sum(wa * ua for wa, ua in zip(w, u))
    g = [uj * y for uj in u]                               # f_j = sum over coordinates of g_j
    n2 = sum(wa**2 for wa in w)
    for j in range(3):
        assert sp.simplify(d_ * Ex(g[j]).subs(S, 1 / sp.sqrt(d_)) - w[j]) == 0
        for k in range(3):
            cov = d_ * (Ex(g[j] * g[k]) - Ex(g[j]) * Ex(g[k])).subs(S, 1 / sp.sqrt(d_))
            want = (n2 * int(j == k) + w[j] * w[k]) / d_
            assert sp.simplify(cov - want) == 0


def test_multinomial_count_moments():
    """Localized counts (each sample localized w.p. p, token uniform): Var c = N p/V (1 - p/V)
    (3.5), Cov(c_a, c_b) = -N p^2/V^2, Var(c_a - C/V) = N p/V (1 - 1/V) (3.14)."""
    p, V, N = T.p, T.V, T.N
    Ia, Ib, J = sp.Symbol("Ia"), sp.Symbol("Ib"), sp.Symbol("J")
    # one sample: Ia = [localized, x = a], Ib likewise, J = [localized]; Ia Ib = 0, Ia J = Ia
    Eone = {Ia: p / V, Ib: p / V, J: p}
    ex = lambda poly: sp.expand(poly).subs({Ia * Ib: 0, Ia * J: Ia, Ib * J: Ib, Ia**2: Ia,
                                             Ib**2: Ib, J**2: J}).subs(Eone)   # noqa: E731
    assert sp.simplify(N * (ex(Ia**2) - ex(Ia) ** 2) - T.count_var.expr) == 0
    assert sp.simplify(N * (ex(Ia * Ib) - ex(Ia) * ex(Ib)) + N * p**2 / V**2) == 0
    dev = Ia - J / V
    assert sp.simplify(N * (ex(dev**2) - ex(dev) ** 2) - N * p / V * (1 - 1 / V)) == 0


def test_multiplicity_and_kappa_moments():
    """Test sequence of L-1 uniform noise draws: E sum_{t != x} m_t^2 (1.6) and E kappa (1.4)."""
    L, V, mx = T.L, T.V, T.mu_x
    # given mu_x, the other L - mu_x draws are uniform on the V - 1 other tokens:
    # m_t = sum_i [t_i = t], E m_t^2 = n/(V-1) + n(n-1)/(V-1)^2, n = L - mu_x
    n = L - mx
    Em2 = n / (V - 1) + n * (n - 1) / (V - 1) ** 2
    assert sp.simplify((V - 1) * Em2 + mx**2 - T.lam_mean.expr) == 0
    # kappa = z.A + (L-1)/V sum_t e_t.A with E z.A = 1, E e_t.A = mu_t, sum_t mu_t = L
    assert sp.simplify(1 + (L - 1) / V * L - T.kappa_mean.expr) == 0


def test_quantile_of_the_maximum():
    """(4.1): Phi(z_V)^(V-1) = tau."""
    for V, tau in [(2, 0.9), (64, 0.9), (1000, 0.5)]:
        z = np.sqrt(float(z_V2(V=V, tau=tau)))
        assert abs(ndtr(z) ** (V - 1) - tau) < 1e-9


def test_registry_names_and_numbers():
    ours = {f.name: f.eq for f in REGISTRY.values()
            if f.name.split(".")[0] in ("recall", "one_step", "capacity")}
    assert len(ours) >= 30 and len(set(ours.values())) == len(ours)
    for name, eq in ours.items():
        chapter = {"recall": "3", "one_step": "1", "capacity": "4"}[name.split(".")[0]]
        assert eq.split(".")[0] == chapter, (name, eq)


# ------------------------------------------------------------- Monte Carlo of each term
def close(sample, mean, var, n_sd=5.0):
    """Sample mean and variance within n_sd standard errors of the formulas."""
    n = sample.size
    m, v = sample.mean(), sample.var()
    assert abs(m - mean) <= n_sd * np.sqrt(max(var, v) / n) + 1e-12, (m, mean)
    # the variance's own standard error, with the sample's fourth moment
    se_v = np.sqrt(max(np.mean((sample - m) ** 4) - v**2, 0) / n)
    assert abs(v - var) <= n_sd * se_v + 1e-12, (v, var)


def gauss(rng, *shape, d):
    return rng.standard_normal(shape + (d,)) / np.sqrt(d)


@pytest.mark.parametrize("d", [4, 32])
def test_direct_terms_monte_carlo(d):
    """Signal a*eps (3.6), trigger c z.e_j (3.9), token c e_j.e_x (3.10), cross-talk (3.18)."""
    rng = np.random.default_rng(d)
    n, a, c = 200_000, 7.0, 5.0
    e_x, e_j, z, u_x, u_k = (gauss(rng, n, d=d) for _ in range(5))
    eps = np.sum(e_x**2, 1)
    close(a * eps, float(T.signal_mean(a=a, eps=1.0)), 2 * a**2 / d)
    close(c * np.sum(z * e_j, 1), 0.0, float(T.var_trigger(c=c, d=d, t_z=1)))
    # token interference given e_x (eps fixed by one draw of e_x)
    ex1 = e_x[0]
    close(c * e_j @ ex1, 0.0, float(T.var_token(c=c, eps=ex1 @ ex1, d=d)))
    # label cross-talk w_x u_k.u_x given u_x: variance w_x^2 chi / d = a^2/d at chi = 1
    ux1 = u_x[0] / np.linalg.norm(u_x[0])
    close(a * u_k @ ux1, 0.0, float(T.var_crosstalk(a=a, d=d)))


@pytest.mark.parametrize("d", [4, 32])
def test_correct_weight_gaussian_part(d):
    """(2a - lam) alpha + (a - lam)(zeta - 1): variance 3.20."""
    rng = np.random.default_rng(1)
    n, a, lam = 200_000, 9.0, 6.0
    z, e = gauss(rng, n, d=d), gauss(rng, n, d=d)
    x = (2 * a - lam) * np.sum(z * e, 1) + (a - lam) * (np.sum(z * z, 1) - 1)
    close(x, 0.0, float(T.var_correct(a=a, lam=lam, d=d, t_z=1)))


def _weights(rng, V, N, d, reps):
    """Read weights w (reps, V) of test token x = 0 from their definition (3.2), perfect
    localization: w_a = c_a g_a.g_x - (1/V) sum_b c_b g_b.g_x, g = e + z."""
    out = np.empty((reps, V))
    for r in range(reps):
        E, z = gauss(rng, V, d=d), gauss(rng, d=d)
        c = rng.multinomial(N, np.ones(V) / V)
        G = E + z
        b = c * (G @ G[0])
        out[r] = b - b.mean()
    return out


@pytest.mark.parametrize("V,N,d", [(16, 400, 8), (64, 3000, 32)])
def test_weight_energy_monte_carlo(V, N, d):
    """Q = E sum_{j != x} w_j^2 (3.14) against the definition of the weights."""
    rng = np.random.default_rng(V)
    w = _weights(rng, V, N, d, 3000)
    q = np.sum(w[:, 1:] ** 2, 1)
    lam, vc = N / V, N / V * (1 - 1 / V)
    Q = float(T.weight_energy(V=V, d=d, lam=lam, vc=vc, Ec2=lam**2 + vc, n_nl=0, t_z=1))
    assert abs(q.mean() - Q) <= 5 * q.std() / np.sqrt(q.size), (q.mean(), Q)
    # and the per-label mean: w_j - w_x has mean -(signal + count difference) (3.7)
    lhs = (w[:, 0] - w[:, 1:].mean(1))
    assert abs(lhs.mean() - lam) <= 5 * lhs.std() / np.sqrt(lhs.size) + 0.02 * lam


@pytest.mark.parametrize("V,N,d", [(16, 800, 8), (32, 3200, 16)])
def test_mediated_terms_monte_carlo(V, N, d):
    """Through the label Gram: mean bias (3.15), trigger (3.16), token (3.17), each alone."""
    rng = np.random.default_rng(7)
    n = 20_000
    lam, vc = N / V, N / V * (1 - 1 / V)
    Ec2 = lam**2 + N / V * (1 - 1 / V)
    c = rng.multinomial(N, np.ones(V) / V, size=n).astype(float)         # (n, V)
    dev = c - c.sum(1, keepdims=True) / V
    z, e_x = gauss(rng, n, d=d), gauss(rng, n, d=d)
    zeta_alpha = np.sum(z * z, 1) + np.sum(z * e_x, 1)
    # label k = label 0, the other V - 1 labels a = 1..V-1, all pairs u_0.u_a independent
    uu = rng.standard_normal((n, V - 1)) * np.sqrt(np.sum(gauss(rng, n, d=d) ** 2, 1))[:, None]
    uu /= np.sqrt(d)                                # u_0.u_a ~ N(0, ||u_0||^2/d)
    ctx = dict(V=V, d=d, t_z=1)
    mb = np.sum(dev[:, 1:] * uu, 1) * zeta_alpha
    close(mb, 0.0, float(T.var_mean_bias(vc=vc, **ctx)), n_sd=6)
    ea = gauss(rng, n, V - 1, d=d)                                          # e_a, a = 1..V-1
    trig = np.sum(c[:, 1:] * np.einsum("nad,nd->na", ea, z) * uu, 1)
    close(trig, 0.0, float(T.var_trigger_mediated(Ec2=Ec2, **ctx)), n_sd=6)
    tok = np.sum(c[:, 1:] * np.einsum("nad,nd->na", ea, e_x) * uu, 1)
    close(tok, 0.0, float(T.var_token_mediated(Ec2=Ec2, V=V, d=d)), n_sd=6)


def test_one_step_noise_tokens_and_kappa():
    """Uniform attention: kappa (1.4, 1.5) and the noise-token term (1.9) by Monte Carlo."""
    rng = np.random.default_rng(3)
    V, d, L, c, n = 32, 16, 6, 40, 20_000
    kap, xi, Lams = np.empty(n), np.empty(n), np.empty(n)
    for i in range(n):
        E, z = gauss(rng, V, d=d), gauss(rng, d=d)
        seq = np.concatenate([[0], rng.integers(1, V, L - 1)])          # x = 0, mu_x = 1
        mu = np.bincount(seq, minlength=V)
        A = mu @ E + z
        r = E @ A
        kap[i] = z @ A + (L - 1) * r.mean()
        cnt = rng.multinomial(c * (L - 1), np.ones(V) / V)             # noise tokens of c samples
        xi[i] = (cnt - c * (L - 1) / V) @ r
        Lams[i] = mu @ mu
    Lam = Lams.mean()
    close(kap, float(T.kappa_mean(L=L, V=V)), float(T.kappa_var(Lam=Lam, L=L, V=V, d=d)),
          n_sd=6)
    close(xi, 0.0, float(T.var_noise_tokens(c=c, L=L, V=V, Lam=Lam, d=d)), n_sd=6)
    assert abs(Lam - float(T.lam_mean(mu_x=1, L=L, V=V))) < 5 * Lams.std() / np.sqrt(n) + 0.05


@pytest.mark.parametrize("V,d", [(8, 6), (16, 24)])
def test_gram_representation_monte_carlo(V, d):
    """Given w, P(correct label wins) from eqs. 3.21-3.23 (Gram factor theta, effective
    correct value F, wrong-label variance S^2) against sampling U.  The representation is
    exact up to the small correlations of the wrong labels' residuals (O(w_j^2/||w||^2)),
    so the tolerance is 0.02 plus 5 Monte Carlo standard errors."""
    rng = np.random.default_rng(V)
    w = rng.standard_normal(V) * 0.4
    w[0] = 1.0
    n = 40_000
    U = rng.standard_normal((n, d, V)) / np.sqrt(d)
    f = np.einsum("ndv,nd->nv", U, U @ w)
    mc = np.mean(f.argmax(1) == 0)
    chi, wc = chi2_nodes(d, 24)
    eta, we = normal_nodes(48)
    C, H = np.meshgrid(chi, eta, indexing="ij")
    Q = np.sum(w[1:] ** 2)
    th = np.maximum(T.gram_theta(w_x=w[0], eta=H, d=d, chi_w=C, Q=Q), 1e-3)
    F = T.gram_correct(w_x=w[0], eta=H, d=d, chi_w=C, Q=Q, theta=th)
    S = np.sqrt(T.gram_noise(w_x=w[0], Q=Q, d=d, chi_w=C, theta=th))
    p = np.prod(ndtr((F[..., None] - w[1:]) / S[..., None]), -1)
    pred = float(np.sum(np.outer(wc, we) * p))
    assert abs(pred - mc) < 0.02 + 5 * np.sqrt(mc * (1 - mc) / n), (pred, mc)


@pytest.mark.parametrize("V, d", [(4, 16), (8, 8), (5, 6)])
def test_recall_small_V_against_the_exact_infinite_N_limit(V, d):
    """At N -> infinity with every sample localized, W_V reads (1/V) sum_x' ut_pi(x')
    e_x'^T (the trigger cancels), so the accuracy is a property of (E, U, z) alone: sample
    it exactly over 20 000 tasks.  At small V the centred shift of the Gram factors (3.22b)
    and the coupling of Q with the wrong weights' own spread (3.24) matter (without them
    the prediction is 0.04-0.06 low here).  Allowance: 0.02 for the remaining Gaussian
    approximations of (3.24) plus 4 Monte Carlo standard errors (se <= 0.0036)."""
    from theory.gaussian.recall import recall
    rng = np.random.default_rng(7)
    T_ = 20_000
    E = rng.standard_normal((T_, d, V)) / np.sqrt(d)
    U = rng.standard_normal((T_, d, V)) / np.sqrt(d)                  # pi = identity
    z = rng.standard_normal((T_, d)) / np.sqrt(d)
    M = np.einsum("tdi,tdj->tij", E, E + z[:, :, None])              # e_x' . (e_x + z)
    Ut = U - U.mean(axis=2, keepdims=True)
    f = np.einsum("tky,tyx->tkx", np.einsum("tdk,tdy->tky", U, Ut), M)   # logits (T, k, x)
    per_task = (f.argmax(axis=1) == np.arange(V)).mean(axis=1)
    se = per_task.std() / np.sqrt(T_)
    pred = recall(V, 10**9, d, p_test=[1.0])["accuracy"]
    assert abs(pred - per_task.mean()) < 0.02 + 4 * se, (pred, per_task.mean(), se)
