"""Monte Carlo test of the self-family scale through the MLP, eq. (5.36) (docs/mlp.md, section 5).

The step-2 gradient of sample n through the he2 MLP is, at infinite width,
sum_n' kappa_{x_n x_n'} [2 chi_{nn'} a_n' + (nu_n' - 1) a_n].  The norm part (nu_n' - 1) a_n of the
pairs n' != n multiplies the sample's own read-out a_n by the label-frequency sum of its label, so
the self family's scale fluctuates by lambda_O (g - 1), g - 1 = Q/(Na) of eq. (2.31): variance
lambda_O^2 Var g, not (kappa + lambda)_self^2 Var g as when the whole scale was omega_S g.
"""
import math

import numpy as np

from theory.gaussian import localization_terms as T
from theory.mlp.localization import SELF_SCALE, step2_coefficients


def _label_frequency_weight(V, N, d, L, rng):
    r""":math:`\frac1{Na}\sum_n\sum_{n'\ne n}\kappa_{x_nx_{n'}}(\nu_{n'} - 1)` for one random task and
    data set, with the actual attended vectors :math:`a_n` at uniform attention (no theory inside)."""
    E = rng.normal(0.0, 1.0 / math.sqrt(d), (d, V))                      # (d, V)
    U = rng.normal(0.0, 1.0 / math.sqrt(d), (d, V))                      # (d, V)
    z = rng.normal(0.0, 1.0 / math.sqrt(d), d)                           # (d,)
    Ut = U - U.mean(axis=1, keepdims=True)                               # (d, V) centred labels
    kap = Ut.T @ Ut                                                      # (V, V) label Gram
    tok = rng.integers(0, V, (N, L))                                     # (N, L)
    pos = rng.integers(0, L, N)                                          # (N,)
    a = (E.T[tok].sum(axis=1) + z) / L                                   # (N, d) attended vectors
    nu = np.einsum("nd,nd->n", a, a)                                     # (N,) squared norms
    x = tok[np.arange(N), pos]                                           # (N,) informative tokens
    Kn = kap[np.ix_(x, x)]                                               # (N, N)
    np.fill_diagonal(Kn, 0.0)                                            # pairs n' != n only
    return float((Kn @ (nu - 1.0)).sum()) / (N * (1.0 - 1.0 / V))


def test_label_frequency_part_of_the_self_scale_has_variance_lambda_squared_var_g():
    V, N, d, L, K = 16, 300, 16, 4, 400
    rng = np.random.default_rng(20260)
    vals = np.array([_label_frequency_weight(V, N, d, L, rng) for _ in range(K)])
    co = step2_coefficients("he2", V, L)
    var_g = float(T.VAR_G(V=V, N=N, d=d))
    pred = co["lam_O"] ** 2 * var_g
    # sample variance of K draws: relative standard error sqrt(2/(K-1)) (0.07); 4 of them, plus
    # 10 % for the neglected correlation of nu_n' with the label (O(1/d) relative)
    tol = 4 * math.sqrt(2.0 / (K - 1)) + 0.1
    assert abs(vals.var(ddof=1) / pred - 1.0) < tol
    # zero mean: the label-frequency pairs add no coherent self weight
    assert abs(vals.mean()) < 4 * vals.std(ddof=1) / math.sqrt(K)
    # the former scale omega_S g gave this part the variance (kappa + lambda)_self^2 Var g
    old = co["self"] ** 2 * var_g
    assert abs(vals.var(ddof=1) / old - 1.0) > 10 * tol


def test_self_scale_formula_mean_and_variance_over_g():
    co = step2_coefficients("he2", 64, 8)
    g = np.random.default_rng(3).gamma(25.0, 1.0 / 25.0, 200_000)        # mean 1, variance 1/25
    s = SELF_SCALE(omega_S=co["w_self"], omega_mean=co["w_mean"], g=g)
    assert abs(s.mean() - co["w_self"]) < 4 * abs(co["w_mean"]) * 0.2 / math.sqrt(g.size)
    assert abs(s.var() / (co["w_mean"] ** 2 / 25.0) - 1.0) < 4 * math.sqrt(2.0 / g.size) * 3
