r"""The early-phase limit from sufficient statistics, never a V x V array.

With uniform label probabilities, :math:`g_n = \mathbf 1/V - e_{y_n}`, every W_V gradient
of the limit (:mod:`simulate.early_phase`) is
:math:`-\frac1N \tilde U S`, with :math:`\tilde U = U - \bar u \mathbf 1^\top` the centred
label embeddings and :math:`S = \sum_n e_{y_n} x_n^\top` (V, width) the label-wise sums of
the read-out inputs.  For the attention-only model each :math:`x_n = a_n` is a sum of
token columns, so the three steps need only counts (eq. numbers are this module's):

(F1) uniform attention: with :math:`C_{yt}` the number of (sample, position) pairs with
label y and token t (at most N L non-zeros, kept sparse), :math:`n_y` the label counts and
:math:`X = C^\top \tilde U^\top` (V, d),
:math:`W_V^{(1)} = (X^\top E^\top + \tilde U n\, z_{trig}^\top)/(NL)`.

(F2) with :math:`P = \tilde U^\top W_V^{(1)}` (V, d), :math:`K = P E` (V, V, never formed)
and :math:`\kappa = P z_{trig}` (V,), the score gradient is
:math:`-(b_{n,i} - \bar b_n)/L` with :math:`b_{n,i} = K_{y_n t_{n,i}} + [i=\ell_n]\kappa_{y_n}`,
so the W_KQ step is a positive multiple of :math:`z_{eos} r^\top` with
:math:`r = (E w + w_z z_{trig})/N`,

.. math::
    w_t = \tfrac1L\Big[\sum_y C_{yt}K_{yt} + n_{\pi t}\kappa_{\pi t} - \sum_n c_{n,t}\bar b_n\Big],
    \quad w_z = \tfrac1L\Big[\sum_t n_{\pi t}(K_{\pi t, t} + \kappa_{\pi t}) - \sum_n \bar b_n\Big],

where :math:`\sum_y C_{yt}K_{yt} = e_t^\top (X W_V^{(1)})_t`, and :math:`c_{n,t}` counts
token t in sample n: :math:`\sum_n c_{n,t}\bar b_n` needs the per-sample sums
:math:`s_n = \sum_i K_{y_n t_{n,i}} = p_{y_n}^\top a_n` (:func:`simulate._counts.pair_sums`).
:math:`W_{KQ}` is the unit-norm :math:`z_{eos} r^\top` (zero when L = 1, where attention is
constant and the exact gradient vanishes identically).

(F3) hard attention: a sample's attended vector is :math:`e_w + [w \text{ is informative}]
z_{trig}` for its winning token w unless distinct candidates tie, so
:math:`S^{(3)} = C^{(3)} E^\top + n^{(3)} z_{trig}^\top` from the (sparse, at most N
non-zeros) counts of winners per label; tied samples (rare, found exactly by ranking the
2V possible score values) are handled per sample with :func:`simulate.attention.hard_rows`.
:math:`W_V = \tilde U S^{(3)}/N`.  Step 3 ranks scores with one int16 gather and a column
maximum per chunk, and reads no token of a label whose informative score beats every noise
score (its samples all win cleanly: counted from n).

Cost: :math:`O(\min(NL, V^2)\,d + Vd^2)` time and :math:`O(Vd + NL)` memory (the
label-sorted tokens): two passes over the pairs (:mod:`simulate._counts`) for (F1) and
(F2), one over the samples for (F3), and products of (V, d) matrices.

The attention-MLP model uses (F3) with :math:`\varphi(e_t)` and :math:`\varphi(e_t + z_{trig})`
(at most 2V distinct attended vectors) in place of the columns, and chunks steps 1-2, whose
:math:`\varphi` of per-sample averages has no count form: :math:`O(NL d + N m d)`.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._counts import label_sums, pair_sums, sort_by_label, spans
from .attention import attended, chunk_rows, hard_rows, scores, token_scores

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
    UtT = task.U.T - task.U.mean(axis=1)                             # (V, d) centred labels
    Ut = UtT.T                                                       # (d, V) view
    Et = np.ascontiguousarray(task.E.T)                              # (V, d) rows e_t
    if task.mlp:
        S1 = _mlp_sums(task, data, Et)                               # (V, m)
        W_v1 = Ut @ S1 / data.N                                      # (d, m)
        r = _mlp_direction(task, data, Ut.T @ W_v1, Et)              # (d,)
        samples, n = (data.tokens, data.pos, data.labels), None
    else:
        srt = sort_by_label(task, data)
        X = label_sums(srt, UtT)                                     # (V, d) C^T Ut^T
        W_v1 = (X.T @ Et + np.outer(Ut @ srt.n, task.z_trig)) / (task.L * data.N)  # (F1)
        r = _attn_direction(task, srt, X, W_v1, UtT, Et)             # (d,)     (F2)
        del X
        samples, n = (srt.tokens, srt.pos, srt.labels), srt.n
    W_kq = np.outer(task.z_eos, r)                                   # (d, d)
    norm = np.linalg.norm(W_kq)
    W_kq = W_kq / norm if norm > 0 else W_kq
    W_v = Ut @ _hard_sums(task, samples, W_kq, Et, n) / data.N       # (d, width)  (F3)
    return W_v1, W_kq, W_v


def _attn_direction(task, srt, X, W_v1, UtT, Et):
    r"""r of (F2) for the attention-only model, shape (d,).

    With :math:`P = \tilde U^\top W_V^{(1)}` (V, d), :math:`K = P E` is never formed:
    :math:`\sum_y C_{yt} K_{yt} = e_t^\top (X W_V^{(1)})_t` and
    :math:`\kappa^\top C = (X W_V^{(1)} z_{trig})^\top` from pass 1, and
    :math:`\bar b_n = (s_n + \kappa_{y_n})/L` with :math:`s_n = \sum_i K_{y_n t_{n,i}}`, so
    :math:`\sum_n c_{n,t}\bar b_n = (\sum_n c_{n,t}s_n + (\kappa^\top C)_t)/L`, whose image
    under E is all that r needs: pass 2 of :mod:`simulate._counts`.
    """
    L, N, perm = task.L, srt.n.sum(), task.perm
    if L == 1:
        return np.zeros(task.d)
    P = UtT @ W_v1                                                   # (V, d) rows p_y
    kap = P @ task.z_trig                                            # (V,)
    nx = srt.n[perm]                                                 # (V,) informative-token counts
    XW = X @ W_v1                                                    # (V, d) (C^T P)
    A = np.einsum("td,td->t", Et, XW) + nx * kap[perm]               # (V,) sum of b per token
    Dk = XW @ task.z_trig                                            # (V,) (kappa^T C)
    del XW
    D, s_sum = pair_sums(srt, P, Et)                                 # (V,), scalar
    ED = task.E @ (D + Dk) / L                                       # (d,) E sum_n c_n bbar_n
    Ew = (task.E @ A - ED) / L                                       # (d,) E w
    K_diag = np.einsum("td,td->t", P[perm], Et)                      # (V,) K[pi t, t]
    w_z = (nx @ (K_diag + kap[perm]) - (s_sum + srt.n @ kap) / L) / L
    return (Ew + w_z * task.z_trig) / N                              # (d,)


def _mlp_uniform_chunks(task, data, Et):
    r"""Per chunk at uniform attention: ``(sl, tok, pre)``, tokens (B, L) and W1 a (B, m);
    ``Et`` (V, d) is :math:`E^\top`, contiguous for row gathers."""
    rows = chunk_rows(8 * (4 * task.m + 3 * task.d + 2 * task.L), CACHE_BYTES)
    for sl in spans(data.N, rows):
        tok = data.tokens[sl]                                        # (B, L)
        a = Et[tok[:, 0]] + task.z_trig                              # (B, d)
        for i in range(1, task.L):
            a += Et[tok[:, i]]                                       # (B, d)
        yield sl, tok, (a / task.L) @ task.W1.T                      # (B, m)


def _group_add(S, y, X):
    """``S[y_j] += X_j`` for every row j, in O(len(y) k): the rows are sorted by label and
    summed per run, so no (V, k) temporary is formed (S (V, k), y (B,), X (B, k))."""
    if len(y) == 0:
        return
    order = np.argsort(y, kind="stable")                             # (B,)
    ys = y[order]
    starts = np.flatnonzero(np.concatenate([[True], ys[1:] != ys[:-1]]))   # (u,) run starts
    S[ys[starts]] += np.add.reduceat(X[order], starts, axis=0)       # (u, k), distinct labels


def _mlp_sums(task, data, Et):
    """Label-wise sums of phi(a_n) at uniform attention, shape (V, m)."""
    sigma, _ = task.sigma()
    S = np.zeros((task.V, task.m))
    for sl, _, pre in _mlp_uniform_chunks(task, data, Et):
        _group_add(S, data.labels[sl], sigma(pre))                   # (V, m)
    return S / np.sqrt(task.m)


def _mlp_direction(task, data, Rt, Et):
    r"""r of the attention-MLP W_KQ step, shape (d,).

    ``Rt`` is :math:`\tilde U^\top W_V^{(1)}` (V, m): the read-out gradient of label y is
    :math:`-W_V^{(1)\top}\tilde u_y`.
    """
    V, L, N = task.V, task.L, data.N
    if L == 1:
        return np.zeros(task.d)
    _, dsigma = task.sigma()
    w, w_z = np.zeros(V), 0.0
    for sl, tok, pre in _mlp_uniform_chunks(task, data, Et):
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
    r"""Dense ranks of the 2V possible scores (equal floats share a rank, as in ``hard_rows``).

    Returns ``(r_noise, r_inf, col_noise, col_inf, lifted)``: ranks of :math:`s_t` (V,) and
    of :math:`s_t + s_{trig}` (V,); per rank k, the token holding it as a noise score (V + 1
    unless exactly one token does) and V if no noise score holds it (else V + 1); and whether
    every token ranks at least as high informative as noise (true when :math:`s_{trig} \ge 0`).
    """
    V = len(s_tok)
    uniq, rank = np.unique(np.concatenate([s_tok, s_tok + s_trig]), return_inverse=True)
    dt = np.int16 if uniq.size < 2**15 else np.int32
    r_noise, r_inf = rank[:V].astype(dt), rank[V:].astype(dt)       # (V,), (V,)
    shared = np.bincount(r_noise, minlength=uniq.size)              # (K,) tokens per noise rank
    tok_of = np.zeros(uniq.size, dtype=np.int64)
    tok_of[r_noise] = np.arange(V)                                   # (K,)
    col_noise = np.where(shared == 1, tok_of, V + 1)                 # (K,)
    col_inf = np.where(shared == 0, V, V + 1)                        # (K,)
    return r_noise, r_inf, col_noise, col_inf, bool(np.all(r_inf >= r_noise))


def winner_columns(tok, pos, ri, tables, bufs=None):
    """Hard-attention winners of a chunk (B, L) as columns: the winning noise token, V for
    the informative position, V + 1 when distinct candidates tie (the sample then needs
    :func:`simulate.attention.hard_rows`).  ``ri`` (B,) ranks the informative scores;
    ``bufs`` are optional (B', L) and (L, B') buffers of the rank dtype, B' >= B.
    """
    r_noise, _, col_noise, col_inf, lifted = tables
    B, L = tok.shape
    rk, rkT = bufs if bufs is not None else (np.empty((B, L), r_noise.dtype),
                                             np.empty((L, B), r_noise.dtype))
    r_noise.take(tok, out=rk[:B])                                    # (B, L) noise ranks
    t = rkT[:, :B]                                                   # (L, B) view
    np.copyto(t, rk[:B].T)              # (L, B): a max over axis 0 is elementwise, vectorised
    # lifted: the informative position's own noise rank is at most ri, harmless in the max
    if not lifted:
        t[pos, np.arange(B)] = ri                                    # (L, B)
    top = np.maximum(t.max(axis=0), ri)                              # (B,) top rank
    return np.where(top == ri, col_inf.take(top), col_noise.take(top))   # (B,)


def winners(tok, pos, tables):
    """Hard-attention winners of a chunk from :func:`rank_tables`.

    Returns ``(win, inf, clean)``, each (B,): the winning token, whether it is the
    informative position, and whether the winner is unique (else distinct candidates tie
    and the sample needs :func:`simulate.attention.hard_rows`; win and inf are then moot).
    """
    V = len(tables[0])
    x = tok[np.arange(tok.shape[0]), pos]                            # (B,) informative tokens
    col = winner_columns(tok, pos, tables[1].take(x), tables)        # (B,)
    return np.where(col == V, x, col), col == V, col <= V


def _winners(task, samples, s_tok, s_trig, n=None):
    """Counts of clean noise winners by (label, token) as a sparse (V, V) matrix (None if no
    sample needed its tokens read), of clean informative winners (V,) by token, and the
    indices of tied samples.

    A label whose informative score beats every noise score wins cleanly in all its samples:
    they are counted without reading their tokens.  The others' samples go through
    :func:`winner_columns`.  Labels are the facts of the informative tokens, so the
    informative rank is looked up by label.
    """
    (tokens, pos, labels), V, L = samples, task.V, task.L
    tables = rank_tables(s_tok, s_trig)
    ri_of = np.empty(V, dtype=tables[1].dtype)
    ri_of[task.perm] = tables[1]                                     # (V,) by label
    settled = ri_of > tables[0].max()                                # (V,)
    n = np.bincount(labels, minlength=V) if n is None else n        # (V,) label counts
    ci = (n * settled)[task.perm]                                    # (V,) by token
    if settled.all():
        return None, ci, np.zeros(0, dtype=np.intp)
    idx = np.flatnonzero(~settled[labels]) if settled.any() else None   # (M,) samples to read
    M = len(labels) if idx is None else len(idx)
    rows = chunk_rows(8 * L + 48, 2**20)            # the gather's intp index copy fits L2
    bufs = np.empty((rows, L), ri_of.dtype), np.empty((L, rows), ri_of.dtype)
    col = np.empty(M, dtype=np.int32 if V + 2 < 2**31 else np.int64)   # (M,) winner columns
    for sl in spans(M, rows):
        part = sl if idx is None else idx[sl]
        tok = tokens[part] if idx is None else tokens.take(part, axis=0)   # (B, L)
        col[sl] = winner_columns(tok, pos[part], ri_of.take(labels[part]), tables, bufs)
    y = labels if idx is None else labels.take(idx)                  # (M,)
    noise = col < V                                                  # (M,) clean noise winners
    Cn = sp.coo_array((np.ones(int(noise.sum())), (y[noise], col[noise])), shape=(V, V))
    ci = ci + np.bincount(y[col == V], minlength=V)[task.perm]       # (V,) by token
    tied = np.flatnonzero(col == V + 1)                              # (T,)
    return Cn, ci, tied if idx is None else idx[tied]


def _hard_sums(task, samples, W_kq, Et, n=None):
    r"""Label-wise sums of the read-out inputs under hard attention, shape (V, width);
    ``Et`` (V, d) is :math:`E^\top`, ``n`` (V,) the label counts if known.  Winner counts
    stay sparse: a product with them costs O(nnz width), nnz at most N."""
    V, perm = task.V, task.perm
    tokens, positions, labels = samples
    s_tok, s_trig = token_scores(task, W_kq)                         # (V,), scalar
    Cn, ci, tied = _winners(task, samples, s_tok, s_trig, n)
    if task.mlp:
        sigma, _ = task.sigma()
        Phi_e = sigma(Et @ task.W1.T) / np.sqrt(task.m)              # (V, m) phi(e_t)
        Phi_z = sigma((Et + task.z_trig) @ task.W1.T) / np.sqrt(task.m)   # (V, m)
        S = Cn @ Phi_e if Cn is not None else np.zeros((V, task.m))   # (V, m)
        S[perm] += ci[:, None] * Phi_z                               # label pi(x) gets phi(e_x + z)
        rows = chunk_rows(8 * task.L * (task.d + 2))
        for start in range(0, len(tied), rows):
            part = tied[start:start + rows]
            tok, pos = tokens[part], positions[part]                 # (B, L), (B,)
            alpha = hard_rows(scores(tok, pos, s_tok, s_trig))       # (B, L)
            a = attended(Et[tok], task.z_trig, pos, alpha)           # (B, d)
            _group_add(S, labels[part], sigma(a @ task.W1.T) / np.sqrt(task.m))   # (V, m)
        return S
    S = Cn @ Et if Cn is not None else np.zeros((V, task.d))        # (V, d)
    S[perm] += ci[:, None] * (Et + task.z_trig)                      # label pi(x) gets e_x + z
    rows = chunk_rows(8 * task.L * 4)
    for start in range(0, len(tied), rows):
        part = tied[start:start + rows]
        tok, pos, y = tokens[part], positions[part], labels[part]    # (B, L), (B,), (B,)
        alpha = hard_rows(scores(tok, pos, s_tok, s_trig))           # (B, L), ties split
        Ct = sp.coo_array((alpha.ravel(), (np.repeat(y, task.L), tok.ravel())), shape=(V, V))
        nz = np.bincount(y, weights=alpha[np.arange(len(part)), pos], minlength=V)   # (V,)
        S += Ct @ Et + np.outer(nz, task.z_trig)                     # (V, d)
    return S
