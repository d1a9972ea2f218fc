r"""The named terms of the read-out margin: means and variances (docs/theory.md,
eqs. 1.4-1.13 and 3.4-3.23).

Attention-only model, gaussian embeddings, early-phase limit (docs/model.md, sections 1-4).
For a test token :math:`x` and a wrong label :math:`\pi^*(j)`, :math:`j \ne x`, the margin
:math:`w_x - w_j` of the read weights (logits times N, docs/theory.md eq. 1.3) is a sum of
the terms below.  Every term is a registered sympy formula (name, equation number) that the
docs and the numerical code share; nothing here is fitted to data.  All symbols are scalars
or broadcasting arrays.

Code symbols and their names in docs/theory.md: ``a`` = :math:`c_x` (localized training
samples of the test token), ``c`` = :math:`c_j` (those of the wrong label's token), ``lam``
= :math:`\lambda = Np/V` (mean count), ``vc`` = :math:`\overline{\Delta c^2} = \mathbb
E(c-\lambda)^2` and ``Ec2`` = :math:`\overline{c^2} = \mathbb E c^2` of a wrong label's
count, ``eps`` = :math:`\varepsilon = \|e_x\|^2`, ``t_z`` = 1 when the test read vector
carries the trigger, ``Q`` = :math:`\sum_{j\ne x} w_j^2` (3.14), ``n_nl`` = number of
training samples not localized, ``p`` = :math:`p_{\rm train}`, ``w_x``, ``chi_w`` =
:math:`\chi_w`, ``eta`` = :math:`\xi_x` (the correct label's Gram noise) and ``theta`` =
:math:`\theta` of (3.21)-(3.23).  One-step (1.x) adds ``mu_x``, ``mu_j`` (token
multiplicities :math:`\mu_t` in the test sequence), ``Lam`` = :math:`\Lambda = \sum_t
\mu_t^2` and ``kappa`` = :math:`\mathbb E\kappa`.
"""
from __future__ import annotations

import sympy as sp

from ..formula import formula
from ..symbols import L, N, V, d

a, c, lam, vc, Ec2, Q, n_nl, p = sp.symbols("a c lam vc Ec2 Q n_nl p", nonnegative=True)
t_z = sp.Symbol("t_z", nonnegative=True)   # 1 if the test read vector carries the trigger, else 0
eps, chi = sp.symbols("eps chi", positive=True)
mu_x, mu_j, Lam, kap = sp.symbols("mu_x mu_j Lam kappa", nonnegative=True)

# ----------------------------------------------------------------------------- step 3 (T3)
# Localized test token x: read vector g_x = e_x + z.  Training: c_{x'} localized samples of
# token x' read g_{x'}; g_{x'}^T g_x = zeta + beta_x + beta_{x'} + omega_{x'} (docs/theory.md 3.2).
# t_z = 0 gives the same terms for a test read vector e_t without the trigger.
count_mean = formula(
    "recall.count_mean", "3.4", N * p / V,
    "mean of a localized count c_x ~ Binomial(N, p/V) (p = training localization)")
count_var = formula(
    "recall.count_var", "3.5", N * p / V * (1 - p / V),
    "variance of a localized count")
signal_mean = formula(
    "recall.signal_mean", "3.6", a * eps,
    "signal: the fact's own count times ||e_x||^2 (mean a)")
margin_mean = formula(
    "recall.margin_mean", "3.7", a * eps + t_z * (a - c) - n_nl / V**2,
    "mean of w_x - w_j: signal, count difference (through the trigger), leakage")
leak_mean = formula(
    "recall.leak_mean", "3.8", n_nl / V**2,
    "mean fake count a wrong label receives from non-localized training samples")
var_trigger = formula(
    "recall.var_trigger", "3.9", t_z * c**2 / d,
    "trigger term c_j z^T e_j: the wrong token's samples read the test trigger")
var_token = formula(
    "recall.var_token", "3.10", c**2 * eps / d,
    "token interference c_j e_j^T e_x")
var_count_norm = formula(
    "recall.var_count_norm", "3.11", (2 * t_z + 1) * (c - lam) ** 2 / d,
    "count deviation times the trigger-norm fluctuation (zeta + alpha - 1)")
var_leak = formula(
    "recall.var_leak", "3.12", n_nl / V**2 + n_nl * (eps + t_z) / (V * d),
    "attention leakage: fake facts (x -> label of a non-localized sample) and their reads")
own_var = formula(
    "recall.own_var", "3.13",
    (c**2 - lam**2) * (1 + t_z) / d + (2 * t_z + 1) * (c - lam) ** 2 / d
    + n_nl / V**2 + n_nl * (1 + t_z) / (V * d),
    "variance of w_j beyond its common part lam^2 (eps + t_z)/d (3.9-3.12 at mean norms)")
weight_energy = formula(
    "recall.weight_energy", "3.14",
    (V - 1) * ((t_z + (2 * t_z + 1) / d) * vc * (1 - 1 / V)
               + (1 + t_z) * Ec2 / d * (1 - 1 / V - 1 / V**2)
               + n_nl / V**2 + 2 * n_nl / (V * d)
               + (lam**2 + vc) * (1 + 3 / d) / V**2),
    "Q = E sum_{j != x} w_j^2: energy of the wrong labels' read weights")
var_mean_bias = formula(
    "recall.var_mean_bias", "3.15", (V - 1) * (t_z + (2 * t_z + 1) / d) * vc / d,
    "mean bias: sum_a (c_a - C/V)(zeta + alpha) u_k^T u_a, label means vs. uniform mean")
var_trigger_mediated = formula(
    "recall.var_trigger_mediated", "3.16", t_z * (V - 1) * Ec2 / d**2,
    "trigger terms through the label Gram: sum_a c_a (z^T e_a) u_k^T u_a")
var_token_mediated = formula(
    "recall.var_token_mediated", "3.17", (V - 1) * Ec2 / d**2,
    "token interference through the label Gram: sum_a c_a (e_a^T e_x) u_k^T u_a")
var_crosstalk = formula(
    "recall.var_crosstalk", "3.18", a**2 / d,
    "label cross-talk w_x u_k^T u_pi(x) (at w_x = a)")
correct_mean = formula(
    "recall.correct_mean", "3.19", a * eps + t_z * (a - lam),
    "w_x relative to the wrong labels' common shift, given a and ||e_x||^2")
w_x, chi_w, eta, theta = sp.symbols("w_x chi_w eta theta", real=True)
gram_theta = formula(
    "recall.gram_theta", "3.21", 1 - w_x * eta / sp.sqrt(d * chi_w * Q),
    "factor on the wrong labels' weights once the correct label's Gram noise eta is fixed")
gram_correct = formula(
    "recall.gram_correct", "3.22", (w_x + sp.sqrt(Q / (d * chi_w)) * eta) / theta,
    "effective correct value F: w_x plus its own Gram noise, over theta")
gram_noise = formula(
    "recall.gram_noise", "3.23", (w_x**2 + Q) / (d * chi_w * theta**2),
    "variance S^2 of the Gram noise of every wrong label, over theta^2")
var_correct = formula(
    "recall.var_correct", "3.20",
    (((1 + t_z) * a - lam) ** 2 + 2 * t_z * (a - lam) ** 2) / d,
    "Gaussian part of w_x: trigger overlap z^T e_x, trigger norm ||z||^2")
# ----------------------------------------------------------------------------- step 1 (T1)
# Uniform attention: read vector A = sum_t mu_t e_t + z (mu = token multiplicities of the test
# sequence, mu_x >= 1, sum mu = L); training sample n reads A_n = e_{x_n} + z + L-1 noise.
# r_t = e_t^T A (mean mu_t), kappa = z^T A + (L-1) mean_t r_t (read by every sample;
# docs/theory.md, section 1).
kappa_mean = formula(
    "one_step.kappa_mean", "1.4", 1 + L * (L - 1) / V,
    "count baseline kappa: the trigger and the L-1 noise tokens every training sample reads")
kappa_var = formula(
    "one_step.kappa_var", "1.5",
    (2 + Lam) / d + (L - 1) ** 2 * (Lam + 1 + L**2 / V) / (V * d) + 2 * L * (L - 1) / (V * d),
    "variance of kappa")
lam_mean = formula(
    "one_step.Lam_mean", "1.6", mu_x**2 + (L - mu_x) * (1 + (L - mu_x - 1) / (V - 1)),
    "E[Lambda | mu_x], Lambda = sum_t mu_t^2 (squared multiplicities of the test sequence)")
margin_mean_1 = formula(
    "one_step.margin_mean", "1.7", a * mu_x * eps + (a - c) * kap - c * mu_j,
    "mean of w_x - w_j: own counts times multiplicities, count difference x baseline")
var_read_1 = formula(
    "one_step.var_read", "1.8", c**2 * (mu_j**2 + Lam + 1) / d,
    "read of the wrong token e_j^T A: token interference, trigger, noise tokens, own norm")
var_noise_tokens = formula(
    "one_step.var_noise_tokens", "1.9",
    c * (L - 1) * (Lam * (1 + 1 / d) / V + (Lam + 1) / d - L**2 / V**2),
    "noise tokens at uniform attention: which tokens filled the label's training samples")
weight_energy_1 = formula(
    "one_step.weight_energy", "1.10",
    lam**2 * (Lam - mu_x**2 - 2 * L * (L - mu_x) / V + (V - 1) * L**2 / V**2)
    + (V - 1) * (vc * (kap**2 + kappa_var.expr) + Ec2 * (Lam + 1) / d
                 + lam * (L - 1) * (Lam * (1 + 1 / d) / V + (Lam + 1) / d - L**2 / V**2)),
    "Q of the one-step model: energy of the wrong labels' weights (test noise tokens included)")
var_correct_1 = formula(
    "one_step.var_correct", "1.11",
    a**2 * (Lam + 1 - mu_x**2) / d + (a - lam) ** 2 * kappa_var.expr
    + a * (L - 1) * (Lam * (1 + 1 / d) / V + (Lam + 1) / d - L**2 / V**2),
    "Gaussian part of w_x at uniform attention")
ceiling_1 = formula(
    "one_step.ceiling", "1.13", 1 / L,
    "large-N, large-d, V >> L^2 limit of the one-step accuracy: L exchangeable candidates")
