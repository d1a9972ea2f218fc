r"""Evaluation of docs/model.md, section 5: accuracy, localization, recall given localization.

Cost: :math:`O(nL)` for attention over the n = V reps probe sequences, plus one logit row
(:math:`O(V\,\mathrm{width})`) per distinct attended vector.  Under hard attention a
sequence attends to :math:`e_w + [w \text{ informative}] z_{trig}` for its winning token w
(ties aside), so at most 2V distinct logit rows are formed whatever ``reps`` is; soft
attention needs one row per sequence.  Logit rows are formed in chunks of bounded memory,
but all V facts cost :math:`O(V^2\,\mathrm{width})`: ``facts=k`` evaluates a uniform
random subset of k facts instead, :math:`O(kV\,\mathrm{width})`, with a standard error.
"""
from __future__ import annotations

import numpy as np

from common.checks import check_int

from .attention import attended, chunk_rows, hard_rows, scores, softmax_rows, token_scores
from .data import Dataset, probe
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


def _probe_facts(task, k, reps, rng):
    """Probe sequences for k facts drawn uniformly without replacement, ``reps`` each
    (token-major order, as :func:`simulate.data.probe`)."""
    V, L = task.V, task.L
    x = np.repeat(rng.choice(V, size=k, replace=False), reps)              # (n,)
    pos = rng.integers(0, L, size=len(x)).astype(np.int32)                 # (n,)
    tokens = rng.integers(0, V, size=(len(x), L)).astype(np.int32)         # (n, L)
    tokens[np.arange(len(x)), pos] = x
    return Dataset(tokens=tokens, pos=pos, labels=task.perm[x])


def evaluate(task, params, rng, reps=1, facts=None):
    r"""Evaluate trained weights on fresh sequences.

    For every token :math:`x \in [V]` (or, with ``facts=k``, for k tokens drawn uniformly
    without replacement), ``reps`` fresh sequences carry x at a uniformly random position
    among fresh noise tokens.

    Parameters
    ----------
    task : Task
    params : Params
    rng : numpy.random.Generator
    reps : int
        Sequences per fact.
    facts : int, optional
        Evaluate a random subset of this many facts (:math:`1 \le k \le V`): cost
        :math:`O(kV\,\mathrm{width})` instead of :math:`O(V^2\,\mathrm{width})`.  Default:
        all V facts, exactly as without the option.

    Returns
    -------
    dict
        ``accuracy``: fraction with :math:`\arg\max_k f_k = \pi^*(x)`, ties broken
        uniformly at random in expectation (a tie among j labels including the correct one
        counts 1/j; see :data:`TIE_RTOL`);
        ``localization``: fraction whose score at the informative position is strictly the
        largest; ``attention_weight``: mean attention weight on that position;
        ``recall``: accuracy among localized sequences (NaN when ``n_localized`` is 0);
        ``n``, ``n_localized``: counts; ``facts``: the number k of facts evaluated (V
        by default); ``accuracy_se``: standard error of ``accuracy`` as an estimate of the
        accuracy over all V facts on such sequences,
        :math:`\hat\sigma_c \sqrt{(1 - k/V)/k}` with :math:`\hat\sigma_c` the standard
        deviation of the per-fact mean credit (finite-population corrected: 0 when k = V;
        NaN when k = 1 < V).
    """
    W_v = np.asarray(params.W_v, dtype=np.float64)
    W_kq = np.asarray(params.W_kq, dtype=np.float64)
    _check_weights(task, W_v, W_kq)
    top = float(np.abs(W_v).max())
    if top > 0:
        W_v = W_v / top                     # the argmax of the logits is scale-free; no overflow
    hard = bool(params.hard)
    reps = check_int("reps", reps, 1)
    if facts is None:
        data, k = probe(task, reps, rng), task.V
    else:
        k = check_int("facts", facts, 1)
        if k > task.V:
            raise ValueError(f"facts must be at most V = {task.V}, got {k}")
        data = _probe_facts(task, k, reps, rng)
    n, V = data.N, task.V
    with np.errstate(over="ignore", invalid="ignore"):             # checked on the next line
        s_tok, s_trig = token_scores(task, W_kq)                    # (V,), scalar
    if not (np.all(np.isfinite(s_tok)) and np.isfinite(s_trig)):
        raise ValueError("attention scores overflow float64: W_kq is too large to evaluate")
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
    per_fact = credit.reshape(k, reps).mean(axis=1)                  # (k,) token-major rows
    se = 0.0 if k == task.V else float("nan")
    if 1 < k < task.V:
        se = float(per_fact.std(ddof=1) * np.sqrt((1 - k / task.V) / k))
    return {
        "accuracy": float(credit.mean()),
        "localization": float(local.mean()),
        "attention_weight": float(weight.mean()),
        "recall": float(credit[local].mean()) if n_loc else float("nan"),
        "n": int(n),
        "n_localized": n_loc,
        "facts": int(k),
        "accuracy_se": se,
    }
