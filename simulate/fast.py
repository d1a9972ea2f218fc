r"""The early-phase limit from sufficient statistics, in :math:`O(NL + V^2 d)` time.

With uniform label probabilities, :math:`g_n = \mathbf 1/V - e_{y_n}`, every W_V gradient
of the limit (:mod:`simulate.early_phase`) is
:math:`-\frac1N \tilde U S`, with :math:`\tilde U = U - \bar u \mathbf 1^\top` the centred
label embeddings and :math:`S = \sum_n e_{y_n} x_n^\top` (V, width) the label-wise sums of
the read-out inputs.  For the attention-only model each :math:`x_n = a_n` is a sum of
token columns, so the three steps need only counts (eq. numbers are this module's):

(F1) uniform attention, :math:`S^{(1)} = (C E^\top + n z_{trig}^\top)/L`, with
:math:`C_{yt}` the number of (sample, position) pairs with label y and token t and
:math:`n_y` the label counts; :math:`W_V^{(1)} = \tilde U S^{(1)}/N`.

(F2) with :math:`K = \tilde U^\top W_V^{(1)} E` (V, V) and
:math:`\kappa = \tilde U^\top W_V^{(1)} z_{trig}` (V,), the score gradient is
:math:`-(b_{n,i} - \bar b_n)/L` with :math:`b_{n,i} = K_{y_n t_{n,i}} + [i=\ell_n]\kappa_{y_n}`,
so the W_KQ step is a positive multiple of :math:`z_{eos} r^\top` with
:math:`r = (E w + w_z z_{trig})/N`,

.. math::
    w_t = \tfrac1L\Big[\sum_y C_{yt}K_{yt} + n_{\pi t}\kappa_{\pi t} - \sum_n c_{n,t}\bar b_n\Big],
    \quad w_z = \tfrac1L\Big[\sum_t n_{\pi t}(K_{\pi t, t} + \kappa_{\pi t}) - \sum_n \bar b_n\Big],

where :math:`c_{n,t}` counts token t in sample n: one gather and one bincount over the N L
tokens.  :math:`W_{KQ}` is the unit-norm :math:`z_{eos} r^\top` (zero when L = 1, where
attention is constant and the exact gradient vanishes identically).

(F3) hard attention: a sample's attended vector is :math:`e_w + [w \text{ is informative}]
z_{trig}` for its winning token w unless distinct candidates tie, so
:math:`S^{(3)} = C^{(3)} E^\top + n^{(3)} z_{trig}^\top` from the counts of winners per
label; tied samples (rare, found exactly by ranking the 2V possible score values) are
handled per sample with :func:`simulate.attention.hard_rows`.  :math:`W_V = \tilde U S^{(3)}/N`.

Cost: the samples are first sorted by label (radix sort, one permuted copy of the N x L
tokens), so (F1) is a bincount per label and the gather of (F2) reads
one row of K per label; (F3) ranks scores with one small-integer gather.  Beyond the data and that copy,
memory is :math:`O(V^2 + Vd)` plus cache-sized chunks.

The attention-MLP model uses (F3) with :math:`\varphi(e_t)` and :math:`\varphi(e_t + z_{trig})`
in place of the columns, and chunks steps 1-2, whose :math:`\varphi` of per-sample averages
has no count form.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .attention import chunk_rows, hard_rows, scores, token_scores
from .model import _group_sum

#: Working set of one chunk of the per-token passes: small enough to stay in cache.
CACHE_BYTES = 8 * 2**20


def limit_three_step(task, data):
    r"""The three early-phase limit steps from sufficient statistics.

    Returns
    -------
    W_v1 : ndarray, shape (d, width)
        :math:`W_V^{(1)}/\eta`.
    W_kq : ndarray, shape (d, d)
        Unit-norm direction of :math:`W_{KQ}^{(1)}` (zero when L = 1).
    W_v : ndarray, shape (d, width)
        Minus the step-3 gradient at uniform probabilities and hard attention.
    """
    Ut = task.U - task.U.mean(axis=1, keepdims=True)                # (d, V), centred labels
    if task.mlp:
        S1 = _mlp_sums(task, data)                                   # (V, m)
        W_v1 = Ut @ S1 / data.N                                      # (d, m)
        r = _mlp_direction(task, data, Ut.T @ W_v1)                  # (d,)
    else:
        tok, starts = _by_label(task, data)                          # (N, L), (V + 1,)
        C, n = _cooccurrence(task, tok, starts)                      # (V, V), (V,)
        S1 = (_times(C, task.E.T) + np.outer(n, task.z_trig)) / task.L   # (V, d)  (F1)
        W_v1 = Ut @ S1 / data.N                                      # (d, d)
        r = _attn_direction(task, tok, starts, C, n, W_v1, Ut)       # (d,)     (F2)
        del tok
    W_kq = np.outer(task.z_eos, r)                                   # (d, d)
    norm = np.linalg.norm(W_kq)
    W_kq = W_kq / norm if norm > 0 else W_kq
    samples = (data.tokens, data.pos, data.labels)
    W_v = Ut @ _hard_sums(task, samples, W_kq) / data.N              # (d, width)  (F3)
    return W_v1, W_kq, W_v


def _spans(N, rows):
    for start in range(0, N, rows):
        yield slice(start, min(N, start + rows))


def _by_label(task, data):
    """The tokens sorted by label (a radix sort), so that the passes below read one row of
    a V x V table per label instead of jumping across it.

    Returns ``(tokens, starts)``: the sorted copy (N, L) and the (V + 1,) offsets of each
    label's rows.
    """
    V, N, L = task.V, data.N, task.L
    key = data.labels.astype(np.int16 if V < 2**15 else np.int32)
    order = np.argsort(key, kind="stable")                          # (N,)
    tok = np.ascontiguousarray(data.tokens)                         # (N, L)
    row = np.dtype((np.void, tok.dtype.itemsize * L))               # one sample as one item
    tok = tok.view(row).ravel().take(order).view(tok.dtype).reshape(N, L)   # (N, L)
    starts = np.zeros(V + 1, dtype=np.int64)
    np.cumsum(np.bincount(data.labels, minlength=V), out=starts[1:])
    return tok, starts


def _label_blocks(starts, rows):
    """``(y, slice)`` over each label's rows, in blocks of at most ``rows``."""
    for y in np.flatnonzero(np.diff(starts)):
        for lo in range(starts[y], starts[y + 1], rows):
            yield y, slice(lo, min(starts[y + 1], lo + rows))


def _cooccurrence(task, tok, starts):
    """Label-token pair counts C (V, V) over all positions and label counts n (V,)."""
    V = task.V
    C = np.zeros((V, V))
    for y, sl in _label_blocks(starts, chunk_rows(16 * task.L, CACHE_BYTES)):
        C[y] += np.bincount(tok[sl].ravel(), minlength=V)            # (V,)
    return C, np.diff(starts).astype(np.float64)


def _attn_direction(task, tok, starts, C, n, W_v1, Ut):
    r"""r of (F2) for the attention-only model, shape (d,); ``tok`` sorted by label."""
    V, L, N = task.V, task.L, len(tok)
    if L == 1:
        return np.zeros(task.d)
    K = Ut.T @ (W_v1 @ task.E)                                       # (V, V) K[y, t]
    kap = Ut.T @ (W_v1 @ task.z_trig)                                # (V,)
    perm = task.perm
    nx = n[perm]                                                     # (V,) informative-token counts
    A = np.einsum("yt,yt->t", C, K) + nx * kap[perm]                 # (V,) sum of b per token
    ones = np.ones(L)
    D = np.zeros(V)                                                  # sum_n c_{n,t} bbar_n
    bsum = 0.0
    for y, sl in _label_blocks(starts, chunk_rows(40 * L, CACHE_BYTES)):
        bbar = (K[y].take(tok[sl]) @ ones + kap[y]) / L              # (B,) from (B, L)
        D += np.bincount(tok[sl].ravel(), weights=np.repeat(bbar, L), minlength=V)  # (V,)
        bsum += bbar.sum()
    w = (A - D) / L                                                  # (V,)
    w_z = (nx @ (K[perm, np.arange(V)] + kap[perm]) - bsum) / L
    return (task.E @ w + w_z * task.z_trig) / N                      # (d,)


def _times(C, X):
    """``C @ X`` for a count matrix C (V, V): sparse when few counts are nonzero."""
    if 8 * np.count_nonzero(C) < C.size:
        return np.asarray(sp.csr_array(C) @ X)                       # (V, k)
    return C @ X                                                     # (V, k)


def _mlp_uniform_chunks(task, data):
    """Per chunk at uniform attention: ``(sl, tok, pre)``, tokens (B, L) and W1 a (B, m)."""
    Et = np.ascontiguousarray(task.E.T)                              # (V, d) row gathers
    rows = chunk_rows(8 * (4 * task.m + 3 * task.d + 2 * task.L), CACHE_BYTES)
    for sl in _spans(data.N, rows):
        tok = data.tokens[sl]                                        # (B, L)
        a = Et[tok[:, 0]] + task.z_trig                              # (B, d)
        for i in range(1, task.L):
            a += Et[tok[:, i]]                                       # (B, d)
        yield sl, tok, (a / task.L) @ task.W1.T                      # (B, m)


def _mlp_sums(task, data):
    """Label-wise sums of phi(a_n) at uniform attention, shape (V, m)."""
    sigma, _ = task.sigma()
    S = np.zeros((task.V, task.m))
    for sl, _, pre in _mlp_uniform_chunks(task, data):
        S += _group_sum(data.labels[sl], sigma(pre), task.V)         # (V, m)
    return S / np.sqrt(task.m)


def _mlp_direction(task, data, Rt):
    r"""r of the attention-MLP W_KQ step, shape (d,).

    ``Rt`` is :math:`\tilde U^\top W_V^{(1)}` (V, m): the read-out gradient of label y is
    :math:`-W_V^{(1)\top}\tilde u_y`.
    """
    V, L, N = task.V, task.L, data.N
    if L == 1:
        return np.zeros(task.d)
    _, dsigma = task.sigma()
    Et = np.ascontiguousarray(task.E.T)                              # (V, d)
    w, w_z = np.zeros(V), 0.0
    for sl, tok, pre in _mlp_uniform_chunks(task, data):
        rows = np.arange(tok.shape[0])
        pos = data.pos[sl]
        c = (dsigma(pre) * Rt[data.labels[sl]]) @ task.W1            # (B, d) = -dL/da * N sqrt(m)
        b = np.empty(tok.shape)                                      # (B, L) = h_i^T c
        for i in range(L):
            b[:, i] = np.einsum("bd,bd->b", Et[tok[:, i]], c)        # (B,)
        b[rows, pos] += c @ task.z_trig                              # (B, L)
        ds = (b - b.mean(axis=1, keepdims=True)) / L                 # (B, L)
        w += np.bincount(tok.ravel(), weights=ds.ravel(), minlength=V)  # (V,)
        w_z += float(ds[rows, pos].sum())
    return (task.E @ w + w_z * task.z_trig) / (N * np.sqrt(task.m))  # (d,)


def rank_tables(s_tok, s_trig):
    """Dense ranks of the 2V possible scores (equal floats share a rank, as in ``hard_rows``).

    Returns ``(r_noise, r_inf, shared, tok_of)``: ranks of :math:`s_t` (V,) and of
    :math:`s_t + s_{trig}` (V,), the number of tokens holding each noise rank, and the token
    holding it (meaningful where ``shared == 1``).
    """
    V = len(s_tok)
    uniq, rank = np.unique(np.concatenate([s_tok, s_tok + s_trig]), return_inverse=True)
    dt = np.int16 if uniq.size < 2**15 else np.int32
    r_noise, r_inf = rank[:V].astype(dt), rank[V:].astype(dt)       # (V,), (V,)
    shared = np.bincount(r_noise, minlength=uniq.size)              # (K,)
    tok_of = np.zeros(uniq.size, dtype=np.int64)
    tok_of[r_noise] = np.arange(V)                                   # (K,)
    return r_noise, r_inf, shared, tok_of


def winners(tok, pos, tables):
    """Hard-attention winners of a chunk from :func:`rank_tables`.

    Returns ``(win, inf, clean)``, each (B,): the winning token, whether it is the
    informative position, and whether the winner is unique (else distinct candidates tie
    and the sample needs :func:`simulate.attention.hard_rows`).
    """
    r_noise, r_inf, shared, tok_of = tables
    rows = np.arange(tok.shape[0])
    x = tok[rows, pos]                                               # (B,) informative tokens
    rk = r_noise.take(tok)                                           # (B, L) score ranks
    ri = r_inf[x]                                                    # (B,)
    rk[rows, pos] = ri
    top = rk.max(axis=1)                                             # (B,)
    inf = top == ri
    # clean: a lone informative maximum, or one token owning the maximum noise score
    clean = np.where(inf, shared[top] == 0, shared[top] == 1)        # (B,)
    return np.where(inf, x, tok_of[top]), inf, clean


def _winners(task, samples, s_tok, s_trig):
    """Counts of clean noise winners (V, V) by (label, token), of clean informative winners
    (V,) by token, and the indices of tied samples."""
    (tokens, pos, labels), V = samples, task.V
    tables = rank_tables(s_tok, s_trig)
    code = np.empty(len(labels), dtype=np.int64)                     # V*y + w | V^2 + x | tie
    for sl in _spans(len(labels), chunk_rows(14 * task.L + 64, CACHE_BYTES)):
        win, inf, clean = winners(tokens[sl], pos[sl], tables)
        c = np.where(inf, V * V + win, labels[sl] * V + win)         # (B,)
        code[sl] = np.where(clean, c, V * V + V)
    counts = np.bincount(code, minlength=V * V + V + 1)
    return counts[:V * V].reshape(V, V), counts[V * V:V * V + V], np.flatnonzero(code == V * V + V)


def _hard_sums(task, samples, W_kq):
    """Label-wise sums of the read-out inputs under hard attention, shape (V, width)."""
    V, perm = task.V, task.perm
    tokens, positions, labels = samples
    s_tok, s_trig = token_scores(task, W_kq)                         # (V,), scalar
    Cn, ci, tied = _winners(task, samples, s_tok, s_trig)
    if task.mlp:
        sigma, _ = task.sigma()
        Phi_e = sigma(task.E.T @ task.W1.T) / np.sqrt(task.m)       # (V, m) phi(e_t)
        Phi_z = sigma((task.E.T + task.z_trig) @ task.W1.T) / np.sqrt(task.m)  # (V, m)
        S = _times(Cn, Phi_e)                                        # (V, m)
        S[perm] += ci[:, None] * Phi_z                               # label pi(x) gets phi(e_x + z)
        Et = np.ascontiguousarray(task.E.T)                          # (V, d)
        rows = chunk_rows(8 * task.L * (task.d + 2))
        for start in range(0, len(tied), rows):
            part = tied[start:start + rows]
            tok, pos = tokens[part], positions[part]                 # (B, L), (B,)
            alpha = hard_rows(scores(tok, pos, s_tok, s_trig))       # (B, L)
            a = np.einsum("bl,bld->bd", alpha, Et[tok])              # (B, d)
            a += alpha[np.arange(len(part)), pos][:, None] * task.z_trig   # (B, d)
            S += _group_sum(labels[part], sigma(a @ task.W1.T), V) / np.sqrt(task.m)   # (V, m)
        return S
    C3, nz = Cn.astype(np.float64), np.zeros(V)                      # (V, V), (V,)
    C3[perm, np.arange(V)] += ci                                     # informative winners
    nz[perm] += ci
    if len(tied):
        tok, pos, y = tokens[tied], positions[tied], labels[tied]
        alpha = hard_rows(scores(tok, pos, s_tok, s_trig))           # (T, L), ties split
        pair = y[:, None] * V + tok                                  # (T, L)
        C3 += np.bincount(pair.ravel(), weights=alpha.ravel(), minlength=V * V).reshape(V, V)
        nz += np.bincount(y, weights=alpha[np.arange(len(tied)), pos], minlength=V)
    return _times(C3, task.E.T) + np.outer(nz, task.z_trig)          # (V, d)
