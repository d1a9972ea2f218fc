r"""Forward pass, mean cross-entropy and its exact gradients for both models (docs/model.md, section 3).

Attention-only: :math:`f = U^\top W_V a`.  Attention-MLP: :math:`f = U^\top W_V \varphi(a)`,
:math:`\varphi(a) = \sigma(W_1 a)/\sqrt m`.  The loss is
:math:`\hat L = \frac1N \sum_n -\log \mathrm{softmax}(f_n)_{y_n}`.

Backward (per sample, :math:`g = (p - e_y)/N`):

* :math:`\partial \hat L/\partial W_V = U g x^\top` with :math:`x = a` or :math:`\varphi(a)`;
* :math:`c_a = \partial/\partial a`: :math:`W_V^\top U g`, through
  :math:`W_1^\top(\sigma'(W_1 a)\odot W_V^\top U g)/\sqrt m` for the MLP;
* :math:`\partial/\partial s_i = \alpha_i (h_i^\top c_a - \sum_j \alpha_j h_j^\top c_a)`;
* :math:`\partial \hat L/\partial W_{KQ} = z_{eos} r^\top`, :math:`r = \sum_{n,i}
  \partial s_{n,i}\, h_{n,i} = E\,w + z_{trig}\, w_z` with per-token weights :math:`w`, so
  the gradient is accumulated with a bincount over tokens, never per-sample vectors.

Cost per sample: three (V x width) products at soft label probabilities (logits,
:math:`\sum g x^\top`, :math:`c`) and :math:`O(L d)` for attention.  At uniform probabilities
(``uniform_probs`` or :math:`W_V = 0`, where softmax(0) is exactly uniform) no V-vector is
formed: :math:`\sum_n g_n x_n^\top = \frac1V\mathbf 1\sum_n x_n^\top - S` with label-wise sums
S, and :math:`W_V^\top U g_n = \bar r - r_{y_n}` for the columns r of :math:`W_V^\top U`.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .attention import attended, chunk_rows, hard_rows, scores, softmax_rows, token_scores


def _features(task, a):
    """Read-out input x (B, width) and what the backward pass needs of the MLP."""
    if not task.mlp:
        return a, None
    sigma, dsigma = task.sigma()
    pre = a @ task.W1.T                                         # (B, m)
    return sigma(pre) / np.sqrt(task.m), dsigma(pre)            # (B, m), (B, m)


def _row_bytes(task) -> int:
    # gathered H, the (B, V) logits, probabilities and one temporary, MLP rows, float64
    return 8 * (task.L * (task.d + 6) + 3 * task.V + 4 * (task.m or 0) + 4 * task.d)


def _group_sum(y, X, V):
    """Label-wise sums :math:`\\sum_n e_{y_n} x_n^\\top` of the rows of X, shape (V, k)."""
    onehot = sp.csr_array((np.ones(len(y)), (y, np.arange(len(y)))), shape=(V, len(y)))
    return onehot @ X                                           # (V, k)


def forward_chunks(task, data, W_v, W_kq, hard=False, budget=None, logits=True):
    """Yield, per chunk: ``(sl, s, alpha, a, H, x, dsig, F)``; F the logits (B, V) or None."""
    s_tok, s_trig = token_scores(task, W_kq)                    # (V,), scalar
    Et = np.ascontiguousarray(task.E.T)                         # (V, d): rows gather fast
    R = W_v.T @ task.U if logits else None                      # (width, V)
    B = chunk_rows(_row_bytes(task), **({} if budget is None else {"budget": budget}))
    for start in range(0, data.N, B):
        sl = slice(start, min(data.N, start + B))
        tok, pos = data.tokens[sl], data.pos[sl]                # (B, L), (B,)
        s = scores(tok, pos, s_tok, s_trig)                     # (B, L)
        alpha = hard_rows(s) if hard else softmax_rows(s)       # (B, L)
        H = Et[tok]                                             # (B, L, d)
        a = attended(H, task.z_trig, pos, alpha)                # (B, d)
        x, dsig = _features(task, a)                            # (B, width)
        yield sl, s, alpha, a, H, x, dsig, (x @ R if logits else None)   # F: (B, V)


def _check_weights(task, W_v, W_kq):
    if W_v.shape != (task.d, task.width):
        raise ValueError(f"W_v must have shape {(task.d, task.width)}, got {W_v.shape}")
    if W_kq.shape != (task.d, task.d):
        raise ValueError(f"W_kq must have shape {(task.d, task.d)}, got {W_kq.shape}")
    if not (np.all(np.isfinite(W_v)) and np.all(np.isfinite(W_kq))):
        raise ValueError("W_v and W_kq must be finite")


def grads(task, data, W_v, W_kq, hard=False, uniform_probs=False, want_kq=True):
    r"""Loss and gradients, with the two switches the early-phase limit needs.

    Parameters
    ----------
    hard : bool
        Use hard attention (uniform over the argmax set); its W_KQ gradient is zero.
    uniform_probs : bool
        Replace softmax(f) by the uniform distribution in :math:`g = p - e_y` (the
        :math:`\eta \to 0` limit); the loss is then :math:`\log V`.
    want_kq : bool
        Skip the attention backward when only the W_V gradient is needed.

    Returns
    -------
    loss : float
    g_v : ndarray, shape (d, width)
    g_kq : ndarray, shape (d, d)
    """
    W_v = np.asarray(W_v, dtype=np.float64)
    W_kq = np.asarray(W_kq, dtype=np.float64)
    _check_weights(task, W_v, W_kq)
    V, N = task.V, data.N
    # softmax(0) is exactly uniform; the W_KQ gradient is linear in W_V and vanishes for
    # hard attention or a single position (b_i - sum_j alpha_j b_j = 0 exactly)
    uniform = uniform_probs or not W_v.any()
    want_kq = want_kq and not hard and task.L > 1 and W_v.any()
    R = W_v.T @ task.U                                          # (width, V)
    Rt = np.ascontiguousarray(R.T)                              # (V, width), rows r_k
    r_bar = Rt.mean(axis=0)                                     # (width,)
    GX = np.zeros((V, task.width))                              # sum_n g_n x_n^T, (V, width)
    x_sum = np.zeros(task.width)                                # sum_n x_n (uniform case)
    w_tok = np.zeros(V)                                         # per-token dL/ds weights
    w_trig = 0.0
    loss = 0.0
    chunks = forward_chunks(task, data, W_v, W_kq, hard, logits=not uniform)
    for sl, _, alpha, _, H, x, dsig, F in chunks:
        y = data.labels[sl]                                     # (B,)
        rows = np.arange(len(y))
        if uniform:
            loss += len(y) * np.log(V)
            x_sum += x.sum(axis=0)                              # (width,)
            GX -= _group_sum(y, x, V)                           # (V, width)
            c = (r_bar - Rt[y]) if want_kq else None            # (B, width) = dL/dx * N
        else:
            fmax = F.max(axis=1, keepdims=True)                 # (B, 1)
            G = np.exp(F - fmax)                                # (B, V)
            Z = G.sum(axis=1, keepdims=True)                    # (B, 1), >= 1
            loss += float(np.sum(np.log(Z[:, 0]) + fmax[:, 0] - F[rows, y]))
            G /= Z                                              # (B, V) = softmax(f)
            G[rows, y] -= 1.0                                   # (B, V) = p - e_y
            GX += G.T @ x                                       # (V, width)
            c = G @ R.T if want_kq else None                    # (B, width) = dL/dx * N
        if not want_kq:
            continue
        if task.mlp:
            c = (c * dsig / np.sqrt(task.m)) @ task.W1          # (B, d) = dL/da * N
        pos = data.pos[sl]
        b = np.einsum("bld,bd->bl", H, c)                       # (B, L) = e_{t_i}^T c
        b[rows, pos] += c @ task.z_trig                         # (B, L) = h_i^T c
        ds = alpha * (b - np.sum(alpha * b, axis=1, keepdims=True))   # (B, L)
        w_tok += np.bincount(data.tokens[sl].ravel(), weights=ds.ravel(), minlength=V)  # (V,)
        w_trig += float(ds[rows, pos].sum())
    if uniform:
        GX += x_sum / V                                         # (V, width), + (1/V) 1 x_sum^T
    g_v = task.U @ GX / N                                       # (d, width)
    r = (task.E @ w_tok + w_trig * task.z_trig) / N             # (d,)
    return loss / N, g_v, np.outer(task.z_eos, r)               # float, (d, width), (d, d)


def loss_and_grads(task, data, W_v, W_kq):
    r"""Exact mean cross-entropy :math:`\hat L(W_V, W_{KQ})` and its gradients, float64.

    Parameters
    ----------
    task : Task
    data : Dataset
    W_v : array, shape (d, d) attention-only or (d, m) attention-MLP
    W_kq : array, shape (d, d)

    Returns
    -------
    loss : float
    g_v : ndarray, same shape as ``W_v``
    g_kq : ndarray, shape (d, d)
    """
    return grads(task, data, W_v, W_kq)
