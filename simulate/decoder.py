r"""Decoders of the fact table :math:`\pi^*` from the gradient at initialization alone.

At :math:`W_V = 0, W_{KQ} = 0` attention and label probabilities are uniform, the
:math:`W_{KQ}` gradient vanishes (it is linear in :math:`W_V`) and the :math:`W_V` gradient is
(docs/lower_bound.md, eq. 7.1)

.. math::
    G = -\frac1N \sum_n \tilde u_{y_n} f_n^\top, \qquad \tilde u_k = u_k - \bar u,

with :math:`f_n = a_n = \frac1L(\sum_i e_{t_{n,i}} + z_{trig})` (attention-only) or
:math:`f_n = \varphi(a_n)` (attention-MLP).  Its mean given :math:`\pi^*` is
:math:`\mu = -\frac1V \sum_x \tilde u_{\pi^*(x)} \bar f_x^\top` with
:math:`\bar f_x = \mathbb E[f \mid x]`, and its noise covariance, averaged over the fact
table, is the Kronecker product :math:`K_R \otimes \tilde U / N` (eq. 7.6) with
:math:`\tilde U = \frac1V \sum_k \tilde u_k \tilde u_k^\top` and :math:`K_R` below.  Two
read-outs score label k against token x:

* ``"plain"``: :math:`S_{kx} = u_k^\top(-G)\,r_x`, :math:`r_x = e_x + z_{trig}` (or
  :math:`\varphi(e_x + z_{trig})`): what the read-out of :math:`W_V^{(1)} \propto -G` does on
  a perfectly localized sequence, cross-talk included;
* ``"whitened"``: :math:`S_{kx} = \tilde u_k^\top \tilde U^{+}(-G) K_R^{+} \bar f_x`, the
  linear term of the Gaussian log-likelihood.  When :math:`d \ge V + 1` the pseudo-inverses
  undo the embeddings exactly: up to a positive factor and row/column constants the score is
  the co-occurrence count matrix C, whose assignment is maximum likelihood for Poisson counts.

Both are decoded by per-token argmax or, since :math:`\pi^*` is a permutation, by a
linear assignment (:func:`scipy.optimize.linear_sum_assignment`).  No parameter is fitted:
:math:`\bar f_x` and :math:`K_R` are exact for the attention-only model and Monte Carlo
moments of the known data model (never of the training data) for the MLP.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from common.checks import check_choice, check_int

from .attention import chunk_rows
from .data import probe
from .model import grads

METHODS = ("whitened", "plain")


def init_gradient(task, data) -> np.ndarray:
    r"""The :math:`W_V` gradient at initialization, shape (d, width) (computed chunked)."""
    zero_v = np.zeros((task.d, task.width))
    zero_kq = np.zeros((task.d, task.d))
    _, g_v, _ = grads(task, data, zero_v, zero_kq, uniform_probs=True, want_kq=False)
    return g_v


def feature_moments(task, rng=None, reps=256):
    r"""Class means :math:`\bar f_x` and the right noise factor :math:`K_R` of the features.

    .. math::
        K_R = \frac1V\sum_x \mathbb E[f f^\top \mid x] - \frac{1}{V-1} B_f, \qquad
        B_f = \frac1V \sum_x (\bar f_x - \bar f)(\bar f_x - \bar f)^\top,

    the fact-table average of the per-sample covariance of :math:`\mathrm{vec}(\tilde u_y
    f^\top)` divided by :math:`\tilde U` (eq. 7.6).  Attention-only (exact):
    :math:`\bar f_x = (e_x + z_{trig} + (L-1)\bar e)/L` and
    :math:`K_R = [(L - \frac1{V-1})\Sigma_e + w w^\top]/L^2`, :math:`\Sigma_e = \frac1V E P E^\top`,
    :math:`w = z_{trig} + L\bar e`.  Attention-MLP: Monte Carlo over ``reps`` fresh sequences
    per token drawn from the data model with ``rng``.

    Returns
    -------
    Fbar : ndarray, shape (width, V)
    K_R : ndarray, shape (width, width)
    """
    V, L = task.V, task.L
    if not task.mlp:
        ebar = task.E.mean(axis=1)                                      # (d,)
        Ec = task.E - ebar[:, None]                                     # (d, V) = E P
        w = task.z_trig + L * ebar                                      # (d,)
        Fbar = (task.E + (task.z_trig + (L - 1) * ebar)[:, None]) / L   # (d, V)
        sigma_e = Ec @ Ec.T / V                                         # (d, d)
        K_R = ((L - 1.0 / (V - 1)) * sigma_e + np.outer(w, w)) / L**2   # (d, d)
        return Fbar, K_R
    if not isinstance(rng, np.random.Generator):
        raise ValueError("the attention-MLP decoder needs rng=np.random.Generator for its moments")
    reps = check_int("reps", reps, 1)
    sigma, _ = task.sigma()
    m = task.m
    S1 = np.zeros((m, V))                                               # sum of f per token
    S2 = np.zeros((m, m))                                               # sum of f f^T
    per = max(1, chunk_rows(8 * (L * task.d + 3 * m)) // V)            # reps per chunk
    done = 0
    while done < reps:
        r = min(per, reps - done)
        pb = probe(task, r, rng)                                        # V*r sequences
        a = task.E.T[pb.tokens].sum(axis=1) + task.z_trig               # (V*r, d), never (n, L, d) kept
        f = sigma((a / L) @ task.W1.T) / np.sqrt(m)                     # (V*r, m)
        S1 += f.reshape(V, r, m).sum(axis=1).T                          # (m, V), token-major rows
        S2 += f.T @ f                                                   # (m, m)
        done += r
    Fbar = S1 / reps                                                    # (m, V)
    Fc = Fbar - Fbar.mean(axis=1, keepdims=True)                        # (m, V)
    K_R = S2 / (V * reps) - (Fc @ Fc.T) / (V * (V - 1))                 # (m, m)
    return Fbar, K_R


def _pinv_psd(K, rcond=1e-10):
    """Pseudo-inverse of a symmetric PSD matrix (eigenvalues below rcond * max dropped)."""
    lam, Q = np.linalg.eigh((K + K.T) / 2)                              # (k,), (k, k)
    keep = lam > rcond * max(lam.max(), 0.0)
    return (Q[:, keep] / lam[keep]) @ Q[:, keep].T                      # (k, k)


def score_matrix(task, G, method="whitened", moments=None, rng=None):
    r"""Scores :math:`S_{kx}` of label k for token x, shape (V, V).

    Parameters
    ----------
    G : ndarray, shape (d, width)
        Gradient at initialization.
    method : {"whitened", "plain"}
    moments : tuple, optional
        ``(Fbar, K_R)`` from :func:`feature_moments` (computed when omitted).
    """
    method = check_choice("method", method, METHODS)
    if method == "plain":
        R = task.E + task.z_trig[:, None]                               # (d, V) localized inputs
        if task.mlp:
            sigma, _ = task.sigma()
            R = sigma(task.W1 @ R) / np.sqrt(task.m)                    # (m, V)
        return task.U.T @ (-G) @ R                                      # (V, V)
    Fbar, K_R = feature_moments(task, rng) if moments is None else moments
    V = task.V
    Ut = task.U - task.U.mean(axis=1, keepdims=True)                   # (d, V) columns u~_k
    left = Ut.T @ _pinv_psd(Ut @ Ut.T / V)                              # (V, d)
    right = _pinv_psd(K_R) @ Fbar                                       # (width, V)
    return left @ (-G) @ right                                          # (V, V)


def decode(task, data, method="whitened", assignment=True, rng=None, G=None):
    r"""Estimate :math:`\pi^*` from the gradient at initialization.

    Parameters
    ----------
    task, data : Task, Dataset
    method : {"whitened", "plain"}
    assignment : bool
        Decode by maximum-weight perfect matching (a permutation) instead of per-token argmax.
    rng : numpy.random.Generator, optional
        Needed for the attention-MLP whitened decoder only (Monte Carlo feature moments).
    G : ndarray, shape (d, width), optional
        Precomputed gradient (else computed from ``data``).

    Returns
    -------
    ndarray of int, shape (V,)
        Estimated label of every token.
    """
    G = init_gradient(task, data) if G is None else G
    S = score_matrix(task, G, method, rng=rng)                          # (V, V)
    if not assignment:
        return S.argmax(axis=0)                                         # (V,)
    rows, cols = linear_sum_assignment(S, maximize=True)                # label rows -> token cols
    out = np.empty(task.V, dtype=np.int64)
    out[cols] = rows
    return out


def decoder_accuracy(task, data, method="whitened", assignment=True, rng=None, G=None) -> float:
    """Fraction of tokens whose decoded label is :math:`\\pi^*(x)`."""
    return float(np.mean(decode(task, data, method, assignment, rng, G) == task.perm))
