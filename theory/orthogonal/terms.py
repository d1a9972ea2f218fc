r"""T6 formulas: the early-phase theory when the 2V+2 vectors are orthonormal.

Every cross inner product vanishes, so after step 1 every quantity of the model is a
polynomial in sample counts (docs/orthogonal.md, whose notation table this module follows).
Notation: :math:`\bar n = N/V` (code ``nb``), :math:`1 - 1/V` (``a1``),
:math:`\rho = (L-1)/V` (``rho``), :math:`\lambda = N\rho` (``lam``, mean noise occurrences
of one token), :math:`n\rho` (``mu(n)``, noise occurrences of token t inside the n samples
of its own label); ``n`` is the count of the label of a token (binomial :math:`(N, 1/V)`),
``c`` that of the test token; ``lt``, ``eq`` are the probabilities :math:`P_<`, :math:`P_=`
that one rival is below / tied with the correct label.

Step-2 scores (docs/orthogonal.md eq. 6.3, exact): token t scores
:math:`w_t = Q_t + n_{y_t}\nu_{y_t} - \frac1L\sum_j o_{j,t}\beta_j` and the trigger
:math:`A = \sum_y n_y(C_{y x_y} - T_{x_y}/V + \nu_y) - \frac1L\sum_j\beta_j` with
:math:`Q_t = \sum_y (C_{yt} - T_t/V)^2`, :math:`\beta_j = \sum_s o_{j,s}(C_{y_j s} - T_s/V)
+ \nu_{y_j}`, where j indexes training samples, :math:`o_{j,t}` is the multiplicity of
token t in sample j, C the label-token co-occurrence counts, T the token totals and
:math:`\nu_y = n_y - \bar n`.  Equations (6.4)-(6.14) are moments of these scores under
Poisson cells (docs/orthogonal.md section 2); (6.15)-(6.16) the one-step logits (section 1);
(6.17) the Gaussian law for the maximum of the counts (section 4).
"""
from __future__ import annotations

import sympy as sp

from ..formula import formula
from ..symbols import N, V, L

n, c, lt, eq = sp.symbols("n c lt eq", nonnegative=True)
nb = N / V
a1 = 1 - 1 / V
var_n = nb * a1
lam = N * (L - 1) / V
mu = lambda k: k * (L - 1) / V                              # noqa: E731


def _expect(poly_in_n):
    r"""Expectation over :math:`n \sim \mathrm{Bin}(N, 1/V)` of a polynomial of degree <= 2
    in n, using :math:`\mathbb E n = \bar n` and :math:`\mathbb E n^2 = \bar n^2 + \mathrm{Var}\,n`."""
    p = sp.Poly(sp.expand(poly_in_n), n)
    coeffs = {k[0]: v for k, v in p.terms()}
    return coeffs.get(0, 0) + coeffs.get(1, 0) * nb + coeffs.get(2, 0) * (nb**2 + var_n)


# -- read-out after step 3 (exact given localization) --------------------------------------
TIE_CREDIT = formula(
    "orthogonal.tie_credit", "6.1", ((lt + eq) ** V - lt**V) / (V * eq),
    "sum_j C(V-1,j) eq^j lt^(V-1-j)/(j+1): win probability with ties split, V-1 iid rivals")
LOGIT_CORRECT = formula(
    "orthogonal.logit_correct", "6.2", 2 * c - (N + c) / V,
    "step-3 logit of the correct label (perfect localization), positive scale dropped; "
    "a wrong label k reads c_{pi^-1 k} - (N + c)/V")

# -- step 2: trigger score and token-score profile -------------------------------------------
rho = (L - 1) / V
# E[Q_t | n]: own cell n + Poisson(n rho), the other V-1 cells Poisson(n_y rho) with
# n_y ~ Bin(N - n, 1/(V-1)), minus T_t^2 / V with T_t = n + Bin(N(L-1), 1/V)
EQ = ((n * (1 + rho)) ** 2 + n * rho
      + rho**2 * ((N - n) + (N - n) * (N - n - 1) / (V - 1)) + rho * (N - n)
      - ((n + lam) ** 2 + lam * a1) / V)
Q_MEAN = formula("orthogonal.Q_mean", "6.4", EQ,
                 "E[Q_t | n], Q_t = sum_y (C_yt - T_t/V)^2 (column variance of the co-occurrences)")
BETA_BAR_EXPR = V * (_expect(EQ) + var_n) / N          # sum_m beta_m = sum_t Q_t + sum_y n_y nu_y
BETA_BAR = formula("orthogonal.beta_mean", "6.5", BETA_BAR_EXPR,
                   "mean over samples of beta_m = sum_i b_{m,i}, exact from sum_t Q_t")
B1_EXPR = (1 + rho) ** 2 - (1 + rho) / V + (V - 1) * rho**2 + 1
BETA_SLOPE = formula("orthogonal.beta_slope", "6.6", B1_EXPR,
                     "d E[beta_m | n_y] / d n_y: own cell (1+rho)^2, V-1 noise cells rho^2, nu_y")
# token-specific parts (a dataset-wide constant dropped) of Q_t, n nu and S_t = sum_m c_mt beta_m
A_Q = n**2 * (1 + 2 * rho - 1 / V) - 2 * n * N * rho / V
S_SPECTRAL = (n**2 * (V * rho**2 + 3 * rho + 2 + rho**2 / V - rho / V - 1 / V)
          - n * (N * rho**2 + N * rho**2 / V + 3 * N * rho / V + N / V + N * rho**2 / V**2
                 - N * rho / V**2 - V * rho + rho / V))
PROFILE_EXPR = A_Q + n * (n - nb) - S_SPECTRAL / L
PROFILE = formula("orthogonal.score_profile", "6.7", PROFILE_EXPR,
                  "a(n) = E[w_t | n_{y_t} = n] up to a constant common to all tokens")
A_MEAN_EXPR = (V * (_expect(n**2) * (1 + rho - 1 / V) - nb * lam / V + var_n)
               - V / L * (_expect(EQ) + var_n))
A_MEAN = formula("orthogonal.trigger_mean", "6.8", A_MEAN_EXPR,
                 "E A, the trigger score after step 2, exact up to O(1) Poisson corrections")

# -- step 2: token-specific variances of w_t given n (name -> expression) --------------------
VAR_TERMS = {
    "own_cooccurrence": formula(
        "orthogonal.var.own_cooccurrence", "6.9", (2 * n * (1 - 1 / L)) ** 2 * mu(n),
        "2n (1 - 1/L) times the Poisson noise co-occurrence of t with its own label"),
    "occurrences": formula(
        "orthogonal.var.occurrences", "6.10", (a1 - BETA_BAR_EXPR / L) ** 2 * lam,
        "number of noise occurrences of t: +1 each in Q_t, -beta_bar/L in the third term"),
    "chi_square": formula(
        "orthogonal.var.chi_square", "6.11", 2 * (V - 1) * rho**2 * (nb**2 + var_n),
        "spread of sum_y eps_yt^2 over the V-1 cells of Poisson means n_y rho (chi-square)"),
    "label_frequency": formula(
        "orthogonal.var.label_frequency", "6.12",
        (2 * (L - 1) / V - B1_EXPR / L) ** 2 * N * a1 * lam / V,
        "label-count fluctuations nu_y times the cells eps_yt, in Q_t and through beta_m"),
    "within_sample": formula(
        "orthogonal.var.within_sample", "6.13",
        (lam + n) * (2 * L * (L - 1) / V + L * nb * (L - 1) / V) / L**2,
        "each occurrence of t brings beta_m of its sample: own repeats ||c_m||^2, own cells"),
}
VAR_A = formula(
    "orthogonal.trigger_var", "6.14",
    ((2 - 1 / V) * (1 - 1 / L)) ** 2 * 2 * N * (N - 1) * a1 / V
    + (1 - 2 / L) ** 2 * (L - 1) * (nb**3 + 3 * nb**2 + nb)
    + V * (2 * (V - 1) * (lam / V) ** 2 + lam * (2 * L * (L - 1) / V + L * nb * (L - 1) / V) / L**2
           / V) / L**2,
    "Var A: sum_y n_y^2 (multinomial), own co-occurrences, chi-square and self parts")

# -- one-step model (uniform attention) ------------------------------------------------------
ONE_STEP_MEAN = formula(
    "orthogonal.one_step_mean", "6.15", n * (1 + L * (L - 1) / V),
    "E[n_k + sum_i C_{k t_i} | n_k = n] for a label absent from the test sequence")
ONE_STEP_VAR = formula(
    "orthogonal.one_step_var", "6.16", n * (L - 1) / V * (L + L * (L - 1) / V),
    "Var[sum_i M_{k t_i} | n_k = n]: noise co-occurrences of label k with the L test tokens")
CRITICAL_N = formula(
    "orthogonal.critical_N", "6.17",
    V * (sp.sqrt(2 * sp.log(V)) + 2 * sp.sqrt(2) * sp.erfinv(2 * sp.Symbol("tau") - 1)) ** 2,
    "Gaussian scaling law: nbar >= sqrt(nbar) (sqrt(2 log V) + 2 z_tau), z_tau = Phi^-1(tau)")


def score_moments(V_, N_, L_, counts):
    r"""Score profile :math:`a(n)` (eq. 6.7) and token-specific variance :math:`\sigma^2(n)`.

    Parameters
    ----------
    V_, N_, L_ : int
        Vocabulary, training samples, sequence length.
    counts : float or ndarray, shape (K,)
        Label counts n at which to evaluate.

    Returns
    -------
    a, var : ndarray, shape (K,) (or scalars)
        :math:`a(n)` and :math:`\sigma^2(n)`, the sum of eqs. 6.9-6.13.
    """
    kw = dict(V=V_, N=N_, L=L_, n=counts)
    var = sum(f.at(kw) for f in VAR_TERMS.values())
    return PROFILE(**kw), var
