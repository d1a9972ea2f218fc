r"""Attention of the one-layer model: scores, soft and hard weights, attended vectors.

Scores :math:`s_i = z_{eos}^\top W_{KQ} h_i = q^\top h_i` with :math:`q = W_{KQ}^\top z_{eos}`,
:math:`h_i = e_{t_i} + [i=\ell] z_{trig}`; so every score is a per-token number plus a
trigger term, and no per-sample d-vector is needed to form it.
"""
from __future__ import annotations

import numpy as np

#: Default working-set budget of one chunk of samples, in bytes.
CHUNK_BYTES = 96 * 2**20


def chunk_rows(bytes_per_row: int, budget: int = CHUNK_BYTES) -> int:
    """Number of samples per chunk so that a chunk's arrays stay within ``budget`` bytes."""
    return max(1, int(budget // max(1, bytes_per_row)))


def token_scores(task, W_kq):
    r"""Per-token scores :math:`E^\top q` (V,) and the trigger score :math:`z_{trig}^\top q`."""
    q = W_kq.T @ task.z_eos                                     # (d,)
    return task.E.T @ q, float(task.z_trig @ q)                 # (V,), scalar


def scores(tok, pos, s_tok, s_trig):
    """Scores of a chunk: ``s_tok[tok]`` plus ``s_trig`` at the informative position. (B, L)"""
    s = s_tok[tok]                                              # (B, L)
    s[np.arange(tok.shape[0]), pos] += s_trig                   # (B, L)
    return s


def softmax_rows(s):
    """Row softmax, stable for scores of any finite magnitude (tested up to 1e15). (B, K)"""
    z = s - s.max(axis=1, keepdims=True)                        # (B, K), max entry 0
    np.exp(z, out=z)                                            # (B, K), in (0, 1]
    z /= z.sum(axis=1, keepdims=True)                           # (B, K), sum >= 1 so no 0/0
    return z


def hard_rows(s):
    """Hard attention: uniform over the argmax set of each row (the infinite-scale softmax). (B, L)"""
    mask = s == s.max(axis=1, keepdims=True)                    # (B, L) bool
    return mask / mask.sum(axis=1, keepdims=True)               # (B, L)


def attended(H, z_trig, pos, alpha):
    r"""Attended vectors :math:`a = \sum_i \alpha_i h_i` of a chunk, (B, d).

    ``H`` holds the chunk's token embeddings :math:`e_{t_i}` (B, L, d), ``pos`` (B,),
    ``alpha`` (B, L); the trigger enters only through the weight of the informative position.
    """
    a = np.einsum("bl,bld->bd", alpha, H)                       # (B, d)
    a += alpha[np.arange(H.shape[0]), pos][:, None] * z_trig    # (B, d)
    return a
