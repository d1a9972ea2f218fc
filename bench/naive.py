r"""Naive reference: the finite-step three steps written per sample with einsum, unchunked.

The same maths as :mod:`simulate.model` (docs/model.md, section 3), in the most direct form: every
sample's hidden vectors (N, L, d), logits (N, V) and gradients as dense arrays.  Used only
by :mod:`bench.exact_speed` as the speed baseline and as an independent check.
"""
from __future__ import annotations

import numpy as np


def _softmax(s):
    z = np.exp(s - s.max(axis=-1, keepdims=True))                    # (..., K)
    return z / z.sum(axis=-1, keepdims=True)


def grads(task, data, W_v, W_kq):
    """Loss, W_V gradient and W_KQ gradient of the mean cross-entropy."""
    N, n = data.N, np.arange(data.N)
    H = task.E.T[data.tokens]                                        # (N, L, d)
    H[n, data.pos] += task.z_trig                                    # h_i = e_{t_i} + [i=ell] z
    s = np.einsum("e,ed,nld->nl", task.z_eos, W_kq, H, optimize=True)   # (N, L) scores
    alpha = _softmax(s)                                              # (N, L)
    a = np.einsum("nl,nld->nd", alpha, H)                            # (N, d)
    if task.mlp:
        sigma, dsigma = task.sigma()
        pre = np.einsum("md,nd->nm", task.W1, a)                     # (N, m)
        x = sigma(pre) / np.sqrt(task.m)                             # (N, m)
    else:
        x = a                                                        # (N, d)
    f = np.einsum("dv,dk,nk->nv", task.U, W_v, x, optimize=True)     # (N, V) logits
    p = _softmax(f)                                                  # (N, V)
    loss = float(np.mean(-np.log(p[n, data.labels])))
    g = p.copy()
    g[n, data.labels] -= 1.0
    g /= N                                                           # (N, V) dL/df
    g_v = np.einsum("dv,nv,nk->dk", task.U, g, x, optimize=True)     # (d, width)
    c = np.einsum("dv,dk,nv->nk", task.U, W_v, g, optimize=True)     # (N, width) dL/dx
    if task.mlp:
        c = np.einsum("nm,md->nd", dsigma(pre) * c / np.sqrt(task.m), task.W1)   # (N, d)
    b = np.einsum("nld,nd->nl", H, c)                                # (N, L) dL/da . h_i
    ds = alpha * (b - np.einsum("nl,nl->n", alpha, b)[:, None])      # (N, L) dL/ds
    g_kq = np.einsum("e,nl,nld->ed", task.z_eos, ds, H, optimize=True)  # (d, d)
    return loss, g_v, g_kq


def three_step(task, data, eta, gamma, gamma_v=None):
    """``(W_v, W_kq)`` after the three finite early-phase steps of docs/model.md, section 4."""
    gamma_v = gamma if gamma_v is None else gamma_v
    W_v = np.zeros((task.d, task.width))
    W_kq = np.zeros((task.d, task.d))
    W_v1 = W_v - eta * grads(task, data, W_v, W_kq)[1]
    W_kq1 = W_kq - gamma * grads(task, data, W_v1, W_kq)[2]
    W_v2 = W_v1 - gamma_v * grads(task, data, W_v1, W_kq1)[1]
    return W_v2, W_kq1
