"""Evaluation of SPEC section 5: accuracy, localization, recall given localization."""
from __future__ import annotations

import numpy as np

from .data import probe
from .model import _check_weights, forward_chunks


def evaluate(task, params, rng, reps=1):
    r"""Evaluate trained weights on fresh sequences.

    For every token :math:`x \in [V]`, ``reps`` fresh sequences carry x at a uniformly
    random position among fresh noise tokens.

    Returns
    -------
    dict
        ``accuracy``: fraction with :math:`\arg\max_k f_k = \pi^*(x)`;
        ``localization``: fraction whose score at the informative position is strictly the
        largest; ``attention_weight``: mean attention weight on that position;
        ``recall``: accuracy among localized sequences (NaN when ``n_localized`` is 0);
        ``n``, ``n_localized``: counts.
    """
    W_v = np.asarray(params.W_v, dtype=np.float64)
    W_kq = np.asarray(params.W_kq, dtype=np.float64)
    _check_weights(task, W_v, W_kq)
    data = probe(task, reps, rng)
    correct = np.empty(data.N, dtype=bool)
    local = np.empty(data.N, dtype=bool)
    weight = np.empty(data.N)
    for sl, s, alpha, _, _, _, _, F in forward_chunks(task, data, W_v, W_kq, params.hard):
        rows = np.arange(s.shape[0])
        pos = data.pos[sl]
        correct[sl] = F.argmax(axis=1) == data.labels[sl]
        s_ell = s[rows, pos].copy()
        s[rows, pos] = -np.inf
        local[sl] = s_ell > s.max(axis=1) if task.L > 1 else True
        weight[sl] = alpha[rows, pos]
    n_loc = int(local.sum())
    return {
        "accuracy": float(correct.mean()),
        "localization": float(local.mean()),
        "attention_weight": float(weight.mean()),
        "recall": float(correct[local].mean()) if n_loc else float("nan"),
        "n": int(data.N),
        "n_localized": n_loc,
    }
