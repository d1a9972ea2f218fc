r"""Evaluation of docs/model.md, section 5: accuracy, localization, recall given localization.

Cost: :math:`O(nL)` for attention over the n = V reps probe sequences, plus one logit row
(:math:`O(V\,\mathrm{width})`) per distinct attended vector.  Under hard attention a
sequence attends to :math:`e_w + [w \text{ informative}] z_{trig}` for its winning token w
(ties aside), so at most 2V distinct logit rows are formed whatever ``reps`` is; soft
attention needs one row per sequence, in chunks.
"""
from __future__ import annotations

import numpy as np

from .attention import attended, chunk_rows, hard_rows, scores, softmax_rows, token_scores
from .data import probe
from .fast import rank_tables, winners
from .model import _check_weights, _features


#: Logits within this relative distance of the row maximum count as tied.  Rounding error
#: is ~1e-16 relative; with orthogonal embeddings the margins are differences of integer
#: counts, so exact mathematical ties are common and must not be settled by rounding.
TIE_RTOL = 1e-9


def _credit(task, A, R, y, rows=None):
    r"""Expected correctness of :math:`\arg\max_k f_k` under uniformly random tie-breaking.

    Parameters
    ----------
    A : ndarray, shape (K, d)
        Attended vectors; the logits of row j are :math:`R^\top x(A_j)`.
    R : ndarray, shape (width, V)
    y : ndarray of int, shape (n,)
        Correct labels of the n sequences.
    rows : ndarray of int, shape (n,), optional
        Row of A read by each sequence (default: sequence i reads row i, K = n).

    Returns
    -------
    ndarray, shape (n,)
        1 when the correct logit is the strict maximum, 1/j when it ties with j - 1 others
        (within ``TIE_RTOL`` of the row's scale), else 0.
    """
    rows = np.arange(A.shape[0]) if rows is None else rows
    order = np.argsort(rows, kind="stable")                        # sequences grouped by row
    bounds = np.searchsorted(rows[order], np.arange(A.shape[0] + 1))
    out = np.empty(len(rows))
    B = chunk_rows(8 * (3 * task.V + 3 * (task.m or 0) + task.d))
    for start in range(0, A.shape[0], B):
        stop = min(A.shape[0], start + B)
        x, _ = _features(task, A[start:stop])                      # (B, width)
        F = x @ R                                                  # (B, V)
        top = F.max(axis=1)                                        # (B,)
        tied = F >= (top - TIE_RTOL * np.abs(F).max(axis=1))[:, None]   # (B, V)
        seq = order[bounds[start]:bounds[stop]]                    # sequences reading rows
        r = rows[seq] - start
        out[seq] = tied[r, y[seq]] / tied[r].sum(axis=1)
    return out


def evaluate(task, params, rng, reps=1):
    r"""Evaluate trained weights on fresh sequences.

    For every token :math:`x \in [V]`, ``reps`` fresh sequences carry x at a uniformly
    random position among fresh noise tokens.

    Returns
    -------
    dict
        ``accuracy``: fraction with :math:`\arg\max_k f_k = \pi^*(x)`, ties broken
        uniformly at random in expectation (a tie among j labels including the correct one
        counts 1/j; see :data:`TIE_RTOL`);
        ``localization``: fraction whose score at the informative position is strictly the
        largest; ``attention_weight``: mean attention weight on that position;
        ``recall``: accuracy among localized sequences (NaN when ``n_localized`` is 0);
        ``n``, ``n_localized``: counts.
    """
    W_v = np.asarray(params.W_v, dtype=np.float64)
    W_kq = np.asarray(params.W_kq, dtype=np.float64)
    _check_weights(task, W_v, W_kq)
    hard = bool(params.hard)
    data = probe(task, reps, rng)
    n, V = data.N, task.V
    s_tok, s_trig = token_scores(task, W_kq)                        # (V,), scalar
    R = W_v.T @ task.U                                              # (width, V)
    Et = np.ascontiguousarray(task.E.T)                             # (V, d)
    credit = np.empty(n)
    local = np.empty(n, dtype=bool)
    weight = np.empty(n)
    todo = np.zeros(n, dtype=bool)                                  # rows needing their own a
    tables = rank_tables(s_tok, s_trig) if hard else None
    key = np.full(n, -1, dtype=np.int64)                            # w + V [informative wins]
    B = chunk_rows(8 * task.L * (task.d + 8))
    for start in range(0, n, B):
        sl = slice(start, min(n, start + B))
        tok, pos = data.tokens[sl], data.pos[sl]                    # (B, L), (B,)
        rows = np.arange(tok.shape[0])
        s = scores(tok, pos, s_tok, s_trig)                         # (B, L)
        alpha = hard_rows(s) if hard else softmax_rows(s)           # (B, L)
        weight[sl] = alpha[rows, pos]
        s_ell = s[rows, pos].copy()                                 # (B,)
        s[rows, pos] = -np.inf
        local[sl] = s_ell > s.max(axis=1) if task.L > 1 else True
        if hard:
            win, inf, clean = winners(tok, pos, tables)             # (B,) each
            key[sl] = np.where(clean, win + V * inf, -1)
            todo[sl] = ~clean
        else:
            credit[sl] = _credit(task, attended(Et[tok], task.z_trig, pos, alpha), R, data.labels[sl])
    if hard:
        done = ~todo
        uniq, inv = np.unique(key[done], return_inverse=True)        # distinct attended vectors
        A = Et[uniq % V] + (uniq >= V)[:, None] * task.z_trig       # (K, d)
        credit[done] = _credit(task, A, R, data.labels[done], inv.ravel())
        idx = np.flatnonzero(todo)                                  # ties: per sequence
        for start in range(0, len(idx), B):
            part = idx[start:start + B]
            tok, pos = data.tokens[part], data.pos[part]            # (b, L), (b,)
            alpha = hard_rows(scores(tok, pos, s_tok, s_trig))      # (b, L)
            credit[part] = _credit(task, attended(Et[tok], task.z_trig, pos, alpha), R,
                                   data.labels[part])
    n_loc = int(local.sum())
    return {
        "accuracy": float(credit.mean()),
        "localization": float(local.mean()),
        "attention_weight": float(weight.mean()),
        "recall": float(credit[local].mean()) if n_loc else float("nan"),
        "n": int(n),
        "n_localized": n_loc,
    }
