r"""T7: lower bounds for estimators of :math:`\pi^*` that see only the initial gradient.

At :math:`W_V = 0, W_{KQ} = 0` the :math:`W_{KQ}` gradient is zero and the :math:`W_V`
gradient is :math:`G = -\frac1N\sum_j \tilde u_{y_j} f_j^\top` (eq. 7.1), a mean of N iid
matrices.  In the Gaussian-equivalent model (an assumption on the estimator, stated in
docs/lower_bound.md section 3) :math:`\tilde G = \mu_\pi + \Xi`,
:math:`\Xi \sim \mathcal N(0, \bar K/N)` (exact mean and fact-table-averaged covariance of
eq. 7.6), every one of the at most :math:`r_u r_f` signal directions,
:math:`r_u = \min(d, V-1)`, :math:`r_f = \min(\mathrm{width}, V-1)`, has signal-to-noise
ratio at most :math:`N/((V-1)L-1)` (eqs. 7.9-7.10), so the information is at most
:math:`\frac{r_u r_f}{2}\log(1 + N/((V-1)L-1))` (7.11).  Fano's inequality over
permutations with Hamming distortion (7.13) turns this into a minimal N for accuracy
:math:`\tau` (7.15), combined with the unconditional coupon-collector bound (7.14, 7.16).
Derivations and notation: docs/lower_bound.md (:math:`\rho = (L-1)/V` is ``_mu`` below);
the decoders of the initial gradient are in simulate/decoder.py.  Nothing here is fitted
to data.
"""
from __future__ import annotations

import math

import numpy as np
import sympy as sp
from scipy.optimize import brentq
from scipy.special import gammaln

from common.checks import check_choice, check_config, check_fraction, check_int, EMBEDDINGS
from .formula import formula
from .symbols import L, N, V, tau

r_u, r_f = sp.symbols("r_u r_f", positive=True)      # ranks of the left / right signal factors
info = sp.Symbol("info", nonnegative=True)            # mutual information, nats
_mu = (L - 1) / V                                     # mean count of a token among L-1 noise tokens
_vb = (L - 1) * (1 / V) * (1 - 1 / V)                 # its (binomial) variance

# --- count statistics C[k, t] = sum_n [y_n = k] #{i : t_{n,i} = t} (7.2-7.5) ---------------
count_mean_true = formula(
    "lower_bound.count_mean_true", "7.2", N / V * (1 + _mu),
    "mean of C[pi(x), x]: the informative token plus noise copies")
count_mean_off = formula(
    "lower_bound.count_mean_off", "7.3", N / V * _mu,
    "mean of C[k, t] for t != pi^{-1}(k): noise copies only")
count_var_true = formula(
    "lower_bound.count_var_true", "7.4",
    N * (((1 + _mu) ** 2 + _vb) / V - (1 + _mu) ** 2 / V ** 2),
    "variance of C[pi(x), x] (N iid samples, each [y=k](1 + Binomial(L-1, 1/V)))")
count_var_off = formula(
    "lower_bound.count_var_off", "7.5", N * ((_mu ** 2 + _vb) / V - _mu ** 2 / V ** 2),
    "variance of C[k, t], t != pi^{-1}(k) (each sample [y=k] Binomial(L-1, 1/V))")

# --- second moments of G, expected over gaussian embeddings (attention-only; 7.7-7.8) ------
signal_energy = formula(
    "lower_bound.signal_energy", "7.7", (V - 1) / (L ** 2 * V ** 2),
    "E ||mu_pi||_F^2 = tr(B) tr(Ut)/(V-1) over the fact table and gaussian embeddings")
noise_energy = formula(
    "lower_bound.noise_energy", "7.8",
    ((L - 1 / (V - 1)) * (V - 1) / V + 1 + L ** 2 / V) * (V - 1) / (N * L ** 2 * V),
    "E ||G - mu_pi||_F^2 = tr(K_R) tr(Ut)/N averaged over the fact table and embeddings")

# --- per-direction SNR and the information bound (7.9-7.11) --------------------------------
between_within = formula(
    "lower_bound.between_within", "7.9", 1 / (L - 1),
    "max between/within variance ratio of any feature of the sequence (max. corr. 1/L)")
snr_direction = formula(
    "lower_bound.snr_direction", "7.10", N / ((V - 1) * L - 1),
    "largest signal-to-noise ratio of one whitened direction of G")
info_bound = formula(
    "lower_bound.info_bound", "7.11", r_u * r_f / 2 * sp.log(1 + snr_direction.expr),
    "Gaussian-channel bound on I(pi*; G | E, U, z), nats")

# --- Fano (exact recovery) and Fano for Hamming distortion (7.12-7.13) ---------------------
fano_exact = formula(
    "lower_bound.fano_exact", "7.12", (info + sp.log(2)) / sp.loggamma(V + 1),
    "upper bound on P(pi_hat = pi*)")
info_required = formula(
    "lower_bound.info_required", "7.13", sp.loggamma(tau * V + 1) - sp.log(V + 1),
    "information any estimator with expected accuracy tau needs (Fano-Hamming)")

# --- coupon collector: labels never seen (7.14, 7.16) ---------------------------------------
coupon_accuracy = formula(
    "lower_bound.coupon_accuracy", "7.14", 1 - (1 - 1 / V) ** N + 1 / V,
    "accuracy of any estimator, even one seeing all data: seen labels plus one")
N_gauss = formula(
    "lower_bound.N_gauss", "7.15",
    ((V - 1) * L - 1) * (sp.exp(2 * info_required.expr / (r_u * r_f)) - 1),
    "N below which the Gaussian-equivalent gradient cannot give accuracy tau")
N_coupon = formula(
    "lower_bound.N_coupon", "7.16", sp.log(1 - tau + 1 / V) / sp.log(1 - 1 / V),
    "N below which too few labels have been seen for accuracy tau")
N_lb = formula("lower_bound.N_lb", "7.17", sp.Max(N_gauss.expr, N_coupon.expr),
               "the lower bound: max of 7.15 and 7.16")
N_gauss_linear = formula(
    "lower_bound.N_gauss_linear", "7.18",
    2 * ((V - 1) * L - 1) * info_required.expr / (r_u * r_f),
    "7.15 to first order when 2 I_req << r_u r_f (d^2 >> V log V): N d^2 ~ 2 tau V^2 L log V")


def _config(V, d, L, m, embeddings):
    check_choice("embeddings", embeddings, EMBEDDINGS)
    cfg = check_config(V, d, L, m)
    width = cfg["d"] if cfg["m"] is None else cfg["m"]
    return cfg["V"], cfg["L"], min(cfg["d"], cfg["V"] - 1), min(width, cfg["V"] - 1)


def information_bound(V, d, L, N, m=None, embeddings="gaussian") -> float:
    r"""Upper bound (7.11) on :math:`I(\pi^*; \tilde G \mid E, U, z_{\rm trig})` in nats.

    :math:`\frac{r_u r_f}{2}\log\big(1 + \frac{N}{(V-1)L-1}\big)`, ``inf`` at V = 2, L = 1.
    ``m`` selects the attention-MLP model (G is d x m); ``embeddings`` is validated only:
    the bound holds for every embedding law.

    Returns
    -------
    float
    """
    V, L, ru, rf = _config(V, d, L, m, embeddings)
    N = check_int("N", N, 1)
    if (V - 1) * L - 1 == 0:                  # V = 2, L = 1: a noiseless direction
        return math.inf
    return float(ru * rf / 2 * math.log1p(N / ((V - 1) * L - 1)))


def exact_recovery_bound(V, d, L, N, m=None, embeddings="gaussian") -> float:
    r"""Fano (7.12): upper bound on :math:`P(\hat\pi = \pi^*)` for any estimator of :math:`\tilde G`,
    :math:`\min\big(1, (I + \log 2)/\log V!\big)` with I of (7.11); a float."""
    I = information_bound(V, d, L, N, m, embeddings)
    return min(1.0, (I + math.log(2)) / float(gammaln(V + 1)))


def fano_accuracy(V, info_nats) -> float:
    r"""Largest expected accuracy compatible with information ``info_nats`` (7.13).

    Solves :math:`\log\Gamma(V\alpha + 1) = I + \log(V+1)` for :math:`\alpha` (the largest
    root; :math:`\log\Gamma(k+1)` is convex, so Jensen applies; docs/lower_bound.md
    section 6), capped at 1.

    Parameters
    ----------
    V : int
        Vocabulary size (>= 2).
    info_nats : float
        Mutual information I >= 0 in nats.

    Returns
    -------
    float
        The accuracy bound in [0, 1].
    """
    V = check_int("V", V, 2)
    if not info_nats >= 0:
        raise ValueError(f"info_nats must be >= 0, got {info_nats}")
    target = info_nats + math.log(V + 1)
    if gammaln(V + 1) <= target:
        return 1.0
    return brentq(lambda k: gammaln(k + 1) - target, 1.0, float(V), xtol=1e-10) / V


def accuracy_upper_bound(V, d, L, N, m=None, embeddings="gaussian") -> float:
    r"""Largest expected accuracy of any initial-gradient estimator with N samples.

    The smaller of the Fano-Hamming bound (7.11 + 7.13, Gaussian-equivalent gradient) and
    the coupon-collector bound (7.14, exact for any estimator).  Arguments as in
    :func:`lower_bound_N`, plus the sample count N; returns a float in [0, 1].
    """
    I = information_bound(V, d, L, N, m, embeddings)
    fano = 1.0 if math.isinf(I) else fano_accuracy(V, I)
    return float(min(fano, 1.0, coupon_accuracy(V=V, N=N)))


def lower_bound_N(V, d, L, *, target=0.9, m=None, embeddings="gaussian") -> float:
    r"""N below which no estimator that sees only the initial gradient reaches ``target``.

    .. math::
        N_{lb} = \max\Big(((V-1)L-1)\big(e^{2 I_{req}/(r_u r_f)} - 1\big),\;
        \frac{\log(1-\tau+1/V)}{\log(1-1/V)}\Big),\quad
        I_{req} = \log\Gamma(\tau V+1) - \log(V+1)

    (eqs. 7.15-7.17), :math:`r_u = \min(d, V-1)`, :math:`r_f = \min(d \text{ or } m, V-1)`.
    The Gaussian term holds for estimators of the Gaussian-equivalent gradient, the coupon
    term for every estimator (docs/lower_bound.md sections 3 and 7).

    Parameters
    ----------
    V, d, L : int
        Vocabulary size (>= 2), embedding dimension, sequence length.
    m : int or None
        MLP width (attention-MLP model) or None.
    target : float
        Target expected accuracy :math:`\tau \in (0, 1)`.

    Returns
    -------
    float
        The bound (``math.inf`` when it overflows float64, e.g. :math:`d^2 \ll V\log V`);
        never NaN.
    """
    V, L, ru, rf = _config(V, d, L, m, embeddings)
    tau_ = check_fraction("target", target)
    n_cc = max(0.0, math.log(1 - tau_ + 1 / V) / math.log1p(-1 / V))
    i_req = float(gammaln(tau_ * V + 1) - math.log(V + 1))
    if i_req <= 0 or (V - 1) * L - 1 == 0:
        return n_cc
    expo = 2 * i_req / (ru * rf)
    if expo > 700:                           # exp overflows float64
        return math.inf
    return max(n_cc, ((V - 1) * L - 1) * math.expm1(expo))


def attention_moments(E, U, z_trig, L):
    r"""Exact factors of the gradient moments (7.6) for given embeddings, attention-only.

    Parameters
    ----------
    E, U : array_like, shape (d, V)
        Token and label embeddings.
    z_trig : array_like, shape (d,)
        Trigger vector.
    L : int
        Sequence length.

    Returns
    -------
    dict
        With ``B`` (d, d) :math:`= B_f = \Sigma_e/L^2`, ``K_R`` (d, d)
        :math:`= [(L - \frac1{V-1})\Sigma_e + w w^\top]/L^2`, ``Ut`` (d, d)
        :math:`= \tilde U = \frac1V U P U^\top`, and the energies ``signal``
        :math:`= \mathrm{tr}B_f\,\mathrm{tr}\tilde U/(V-1)` (7.7 before averaging over
        embeddings) and ``noise_N`` :math:`= \mathrm{tr}K_R\,\mathrm{tr}\tilde U` (noise
        energy times N, 7.8), so that :math:`\mathrm{Cov}(\mathrm{vec}\,\mu_\pi) =
        B_f/(V-1) \otimes \tilde U` and :math:`\bar K = K_R \otimes \tilde U`; here
        :math:`\Sigma_e = \frac1V E P E^\top`, :math:`w = z_{\rm trig} + L\bar e`.
    """
    E, U = np.asarray(E, float), np.asarray(U, float)            # (d, V), (d, V)
    z = np.asarray(z_trig, float)                                 # (d,)
    L = check_int("L", L, 1)
    V = E.shape[1]
    ebar = E.mean(axis=1)                                         # (d,)
    Ec = E - ebar[:, None]                                        # (d, V) = E P
    Uc = U - U.mean(axis=1, keepdims=True)                        # (d, V) = U P
    sigma_e = Ec @ Ec.T / V                                       # (d, d)
    w = z + L * ebar                                              # (d,)
    B = sigma_e / L**2                                            # (d, d)
    K_R = ((L - 1 / (V - 1)) * sigma_e + np.outer(w, w)) / L**2   # (d, d)
    Ut = Uc @ Uc.T / V                                            # (d, d)
    return {"B": B, "K_R": K_R, "Ut": Ut,
            "signal": float(np.trace(B) * np.trace(Ut) / (V - 1)),
            "noise_N": float(np.trace(K_R) * np.trace(Ut))}
