r"""Named terms of the attention-score margin after step 2 (docs/localization.md, eqs. 2.1-2.37).

After step 2 of the early-phase limit the query direction is
:math:`q = \alpha z_{\rm trig} + \sum_t w_t \tilde e_t` with :math:`\tilde e_t = e_t - \bar e`, and a
test position holding token :math:`t` scores :math:`s_t = q^\top\tilde e_t`, the informative position
:math:`A + s_x` with the trigger score :math:`A = q^\top z_{\rm trig}` (the common :math:`\bar e`
part cancels from every margin).  This module registers, as sympy expressions, the mean of
:math:`A` ("signal") and the variance of every named term, conditional on

* ``r``  :math:`= \|z_{\rm trig}\|^2` (law :math:`\chi^2_d/d`),
* ``g``  the label-frequency scale of the self-sample family (mean 1, variance eq. 2.31),
* ``h``  the same-label pair-count scale of the pair family (mean 1, variance eq. 2.32),
* ``X``  the spread of the mean-direction profile across tasks (mean 1, squared coefficient
  of variation eq. 2.33).

Token-level variances (``token.*``) are per-token score variances
:math:`\mathbb E\,\tfrac1V\sum_t s_t^2` (units of :math:`q`); common variances
(``common.*``) are variances of :math:`A` itself.  In the code ``a`` is :math:`1 - 1/V`, ``m``
is :math:`V_\perp = V - 1` (the rank of the centred token cloud, not the MLP width), ``nb``
and ``n1`` are :math:`\bar n = N/V` and :math:`\bar n_1 = (N-1)/V`, ``io`` is
:math:`\iota = 1 + V/d`, ``c1`` and ``u`` are :math:`c_1` and :math:`c_2` of the doc.  All symbols
are scalars or broadcasting arrays; nothing here is fitted to simulation output.
"""
from __future__ import annotations

import sympy as sp

from ..formula import formula
from ..symbols import L, N, V, d

r, g, h, X = sp.symbols("r g h X", positive=True)
D = sp.Symbol("D", integer=True, nonnegative=True)
_i = sp.Symbol("i", integer=True, nonnegative=True)

a = 1 - 1 / V                      # E||eta_t||^2 and E kappa_xx
m = V - 1                          # V_perp: rank of the centred token cloud (not the MLP width)
nb = N / V                         # expected informative count of a token
n1 = (N - 1) / V                   # expected count of the *other* samples of one label
io = 1 + V / d                     # interference factor: E[W^2] = (1 + V/d) Pi
S = N * L
c1 = (L - 1) / (L**2 * V)          # per-label weight of the population profile
u = (L - 1) / (L * S)              # c_2: per-sample weight of one informative position

# --- Gram moments of the centred token cloud (Wishart traces), eqs. 2.1-2.5 ---------------
W1 = formula("localization.tr_W1", "2.1", m, "E tr W, W = Etilde^T Etilde (V x V)")
W2 = formula("localization.tr_W2", "2.2", m * (d + m + 1) / d, "E tr W^2")
W3 = formula("localization.tr_W3", "2.3",
             m * (d**2 + m**2 + 3 * d * m + 3 * d + 3 * m + 4) / d**2, "E tr W^3")
W4 = formula("localization.tr_W4", "2.4",
             m * (d**3 + m**3 + 6 * d**2 * m + 6 * d * m**2 + 6 * d**2 + 6 * m**2
                  + 17 * d * m + 21 * d + 21 * m + 20) / d**3, "E tr W^4")
W21 = formula("localization.tr_W2W1", "2.5", m * (d + m + 1) * (d * m + 4) / d**2,
              "E tr W^2 tr W")
w1, w2, w3, w4, w21 = (f.expr for f in (W1, W2, W3, W4, W21))
tau1, tau2 = w1 / V, w2 / V**2     # M_k = E tr Sigma_e^k, Sigma_e = Etilde Etilde^T / V

# --- coefficients of the population profile, eqs. 2.6-2.10 -------------------------------
ALPHA_SELF = formula("localization.alpha_self", "2.6", (L - 1) / L**2 * a * r,
                     "trigger coefficient written by each sample on its own trigger")
ALPHA_PAIR = formula("localization.alpha_pair", "2.7", (L - 1) / L**2 * a * n1,
                     "trigger coefficient from same-label pairs of samples")
BETA_SELF = formula("localization.beta_self", "2.8", a * (L - 1) / (L * V),
                    "coefficient of V Sigma_e z_trig from the self family")
BETA_PAIR = formula("localization.beta_pair", "2.9", (L - 1) * n1 / (L**2 * V),
                    "coefficient of V Sigma_e z_trig from the pair family")
BETA_MEAN = formula("localization.beta_mean", "2.10", a * (L - 1) / V,
                    "coefficient of V Sigma_e ebar (label-mean bias along the mean token)")
al_s, al_p, b_s, b_p, b_e = (f.expr for f in (ALPHA_SELF, ALPHA_PAIR, BETA_SELF, BETA_PAIR,
                                              BETA_MEAN))
alpha = g * al_s + h * al_p
beta = g * b_s + h * b_p

SIGNAL = formula("localization.signal", "2.11", alpha * r + (r / d) * beta * w1,
                 "E[A | r, g, h]: mean trigger score = mean margin")
VAR_ALPHA = formula("localization.var_alpha_task", "2.12",
                    c1**2 * ((2 * m / d) * (r + n1)**2 + n1**2 * 2 * m * (d + m + 1) / d**2),
                    "task-level variance of alpha (trace of kappa and of W kappa)")
var_alpha = VAR_ALPHA.expr

# --- token-level terms: per-token score variances, eqs. 2.13-2.25 ------------------------
TOKEN = {
    "trigger_cross": formula(
        "localization.token.trigger_cross", "2.13",
        (r / (d * V)) * (alpha**2 + var_alpha) * w1,
        "alpha z^T etilde_t: trigger cross term"),
    "trigger_coherent": formula(
        "localization.token.trigger_coherent", "2.14",
        (r / (d * V)) * (2 * alpha * beta * w2 + beta**2 * w3),
        "tokens aligned with z_trig: V beta etilde_t^T Sigma_e z"),
    "label_crosstalk": formula(
        "localization.token.label_crosstalk", "2.15",
        (r / (d * V)) * (h**2 * (c1 * n1)**2 / d * (w3 + w21)
                         + g**2 * 8 * c1**2 / d * V * a**3 * io
                         + g * h * 8 * c1**2 * n1 / d * V * a**2 * io),
        "label cross-talk u_k^T u_k' in the trigger-aligned profile"),
    "mean_direction": formula(
        "localization.token.mean_direction", "2.16",
        g**2 * X / (V**2 * d) * (b_e**2 * w3 + c1**2 * L**2 * (2 / d) * V * a**3 * io),
        "label-mean bias along ebar: V beta_mean etilde_t^T Sigma_e ebar"),
    "token_norms": formula(
        "localization.token.token_norms", "2.17",
        g**2 * io * (c1**2 * (r**2 + L**2 * r / (V * d)) * (2 / d) * a * (1 - 2 / V)
                     + (c1 * a + a * (L - 1)**2 / (L**2 * V))**2 * (2 / d) * a * (1 - 2 / V)),
        "population token terms: kappa_tt and ||etilde_t||^2 fluctuations"),
    "token_interference": formula(
        "localization.token.token_interference", "2.18",
        h**2 * io * (c1 * n1)**2 * a**3 * (4 / d + (V + 2) / d**2),
        "population token interference: (W kappa)_tt"),
    "memory_informative": formula(
        "localization.token.memory_informative", "2.19",
        io * u**2 * (nb**2 + nb * a) * nb * io * a**2
        * (r**2 + L**2 * (r + a) / (V * d) + L * (r + a) / d),
        "step-1 memory fluctuation (label frequencies, noise tokens) read at P_x"),
    "memory_covariance": formula(
        "localization.token.memory_covariance", "2.20",
        (w4 / (m * V**3)) * V * nb**2 * io * a**2
        * ((L - 1)**2 / (L * S))**2 * (a * L + nb),
        "memory fluctuation read through the noise covariance Sigma_e"),
    "noise_tokens": formula(
        "localization.token.noise_tokens", "2.21",
        io * N * (L - 1) * nb * io * a / (V * S**2)
        * (io * nb / V + a * (r / d + L**2 / (V * d) + io * L / V)),
        "noise tokens under uniform attention at step 2 (sample covariance fluctuation)"),
    "counts": formula(
        "localization.token.counts", "2.22",
        io * u**2 * nb * a * ((nb * a + r)**2
                              + nb**2 * (a**2 * (4 / d + (V + 2) / d**2) + (r / d) * io * a)
                              + L**2 * (r + a) / (V * d)),
        "multinomial fluctuation of the informative counts n_x"),
    "within_sample": formula(
        "localization.token.within_sample", "2.23",
        N * (io / V) * a * (r**2 * (1 - 1 / L)
                            + ((r + L**2 / V) * (L - 1) * (d + 1) / d
                               + L * (L - 1) * (d + L) / d * sp.Symbol("rho", positive=True)) / d)
        / S**2,
        "within-sample Gram noise of each sample's own contribution (rho: repeats, eq. 2.24)"),
    "mirror": formula(
        "localization.token.mirror", "2.25",
        (L / (d * S))**2 * (nb**2 * io * a**2 * (L + nb) + (L - 1) * nb),
        "mirror bias (1/d) x co-occurrence counts weighted by label frequency"),
}
rho_sym = sp.Symbol("rho", positive=True)
_p2 = L + L * (L - 1) / V
_p4 = (L + 7 * L * (L - 1) / V + 6 * L * (L - 1) * (L - 2) / V**2
       + L * (L - 1) * (L - 2) * (L - 3) / V**3)
RHO = formula("localization.repeat_factor", "2.24", (_p4 + _p2**2 / d) / (L + L**2 / d),
              "E[p4 + p2^2/d] / (L + L^2/d): within-sample token repeats")

# --- common terms: variance of A, eqs. 2.26-2.30 -----------------------------------------
_Etr2 = (d * m) * (d * m + 2) / (V * d)**2
_T2 = (r**2 * (1 - 1 / L) + ((r + L**2 / V) * (L - 1) * (d + 1) / d
                             + L * (L - 1) * (d + L) / d * rho_sym) / d)
_gl = 1 - 1 / L
COMMON = {
    "alpha_task": formula("localization.common.alpha_task", "2.26", r**2 * var_alpha,
                          "task-level fluctuation of alpha times r"),
    "mean_direction": formula(
        "localization.common.mean_direction", "2.27",
        g**2 * (L - 1)**2 * a**2 * (r / (V * d)) * ((r / L)**2 + 2 * (r / L) * tau1 / d + tau2 / d),
        "label-mean bias: (L-1) a [(r/L) z^T ebar + z^T Sigma_e ebar]"),
    "trigger_alignment": formula(
        "localization.common.trigger_alignment", "2.28",
        (beta * V)**2 * r**2 * ((_Etr2 + 2 * tau2) / (d * (d + 2)) - (tau1 / d)**2)
        + h**2 * (c1 * n1 * m)**2 * 2 * r**2 / d**3,
        "alignment of z_trig with the token cloud: z^T Sigma_e z"),
    "memory": formula(
        "localization.common.memory", "2.29",
        r**2 * V * u**2 * (nb**2 + nb * a) * nb * io * a**2 * (r**2 + L * (r + a) / d + L**2 * a / (V * d))
        + r**2 * u**2 * V * nb * a * (nb**2 * (a**2 * (4 / d + (V + 2) / d**2) + (r / d) * io * a)
                                       + r**2 * (2 / d) * a**2),
        "memory and count fluctuations entering alpha"),
    "within_sample": formula(
        "localization.common.within_sample", "2.30",
        r**2 * N * (_gl**2 * r * L / d + r * _gl / d + _gl * (L**2 / (V * d) + (L - 1) * (1 + L / V) / d)
                    + (2 / d) * (_gl * r)**2) / S**2 + (r / d) * N * _T2 / S**2,
        "each sample's own fluctuation of alpha and of z^T eta w"),
}

# --- scale variables, eqs. 2.31-2.33 ------------------------------------------------------
VAR_G = formula("localization.var_g", "2.31", 2 * (1 - 1 / N) * w2 / (V**2 * a**2),
                "Var of the label-frequency scale nu^T kappa nu / (N a) - 1")
VAR_H = formula("localization.var_h", "2.32", 2 * a * V / (N * (N - 1)),
                "Var of sum_x n_x(n_x-1) / E - 1 (N >= 2)")
_t3 = d * m * (d**2 + m**2 + 3 * d * m + 3 * d + 3 * m + 4)
_t6 = sum(c * d**j * m**(7 - j) for j, c in zip(range(1, 7), (1, 15, 50, 50, 15, 1)))
CV2_X = formula("localization.cv2_mean_direction", "2.33", 2 * _t6 / _t3**2,
                "squared coefficient of variation of ebar^T Sigma_e^3 ebar across tasks")

# --- training samples, eqs. 2.34, 2.36-2.37 ----------------------------------------------------------
TRAIN_SHIFT = formula(
    "localization.train_shift", "2.34",
    (a / S) * (r * (1 + 1 / d) + 2 * n1 * _gl * (r + a) - 2 * n1 * _gl * (L - 1) / V),
    "extra margin of a training sample from its own contributions to q")

_vb = a * _gl * (r / d + L**2 / (V * d) + L / d) + (r / L)**2      # own-sample weight of a noise slot
_vphi = nb * io * a**2 * (r**2 + L**2 * (r + a) / (V * d) + L * (r + a) / d)
TRAIN_VAR_NOISE = formula(
    "localization.train_var_noise", "2.36",
    ((_vb + nb * io * a**2 * (r / d + L**2 / (V * d) + L / d)) * (1 + (L - 1) / d)
     + 2 * (L - 1) / d**2) / S**2,
    "extra score variance of a noise token of a training sample (its guaranteed occurrence)")
TRAIN_VAR_INFO = formula(
    "localization.train_var_informative", "2.37",
    ((_gl**2 * r * L / d + r * _gl / d + _gl * (L**2 / (V * d) + (L - 1) * (1 + L / V) / d)
      + (2 / d) * (_gl * r)**2 + _gl**2 * _vphi) * (1 + (L - 1) / d)
     + 4 * _gl**2 * (r + a)**2 * n1 * a) / S**2,
    "extra score variance of the informative token of a training sample (n_x >= 1)")

# --- occupancy of the L-1 noise draws, eq. 2.35 ------------------------------------------
OCCUPANCY = formula(
    "localization.occupancy", "2.35",
    sp.binomial(V, D) * sp.Sum((-1)**_i * sp.binomial(D, _i) * (D - _i)**(L - 1), (_i, 0, D))
    / V**(L - 1),
    "P(D distinct tokens among the L-1 noise draws)")


def terms(V, N, d, L, r=1.0, g=1.0, h=1.0, X=1.0):
    r"""Evaluate every named term at given scale variables.

    Parameters
    ----------
    V, N, d, L : int or float
        Vocabulary size, training samples, embedding dimension, sequence length.
    r, g, h, X : float or ndarray
        :math:`r = \|z_{\rm trig}\|^2` and the scale variables (eqs. 2.31-2.33); arrays of
        any mutually broadcastable shapes (the quadrature grid uses ``np.ix_`` shapes).

    Returns
    -------
    signal : ndarray
        :math:`\mathbb E[A\mid r,g,h]` (eq. 2.11), broadcast shape of the inputs.
    token : dict of str to ndarray
        Per-token score variances ``token.*`` (eqs. 2.13-2.25), same broadcasting.
    common : dict of str to ndarray
        Variances of :math:`A` ``common.*`` (eqs. 2.26-2.30), same broadcasting.
    """
    rho = RHO(V=V, d=d, L=L)
    vals = dict(V=V, N=N, d=d, L=L, r=r, g=g, h=h, X=X, rho=rho)
    return (SIGNAL.at(vals), {k: f.at(vals) for k, f in TOKEN.items()},
            {k: f.at(vals) for k, f in COMMON.items()})
