r"""Label-sorted pair statistics of the attention-only limit (:mod:`.fast`), no V x V array.

The data enter the attention-only limit through the (label, token) pairs of the N L
(sample, position) slots: their counts :math:`C` (V, V), with at most N L non-zeros, and
the per-sample sums :math:`s_n = \sum_i K_{y_n t_{n,i}}` of a rank-d table
:math:`K = P E` (P (V, d) known only after pass 1).  Two passes compute what is needed:

* pass 1, :math:`X = C^\top \tilde U^\top` (V, d), row t the sum of the centred label
  embeddings over the pairs holding token t (:func:`label_sums`);
* pass 2, :math:`\sum_n s_n`, and :math:`D = \sum_n s_n c_n` (V,) or its image
  :math:`E D = \sum_n s_n a_n` (d,) with :math:`a_n = \sum_i e_{t_{n,i}}` (:func:`pair_sums`).

The samples are first sorted by label, so a block of them covers a window of w consecutive
labels.  A block is *dense* when its window is small against its pairs,
:math:`wV \le` ``DENSE_RATIO`` :math:`\times bL`: its counts are a (w, V) slice and its
products are BLAS calls, :math:`O(wVd)`.  Otherwise it is *sparse*: its pairs are the
entries of a scipy sparse matrix (duplicates are summed by the product itself, so nothing
is sorted or deduplicated), :math:`O(bLd)`.  Time :math:`O(\min(NL, V^2)\,d)`, memory the
sorted tokens (N, L) int32 plus :math:`O(Vd)` and blocks of bounded size; no index is
ever formed as a product :math:`yV + t` beyond a dense window (:math:`wV < 2^{31}`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

#: Samples per block of the label-sorted data (the unit of the dense/sparse choice).
BLOCK_ROWS = 2**15
#: A block is dense when its (w, V) window has at most this many cells per pair: a BLAS
#: multiply-add costs about 1/20 of a gathered one from memory (measured, d = 256).
DENSE_RATIO = 8
#: Largest dense window, in cells (32 MiB of float64).
DENSE_CELLS = 2**22
#: Pairs per sparse product of pass 1 (its ones and index arrays: 12 bytes a pair).
PASS1_PAIRS = 2**23
#: Samples per sub-chunk of pass 2's sparse blocks: their (b, d) sums stay in cache.
PASS2_ROWS = 2048


def spans(N, rows):
    """Consecutive slices of at most ``rows`` of ``range(N)``."""
    for start in range(0, N, rows):
        yield slice(start, min(N, start + rows))


@dataclass
class Sorted:
    """The samples sorted by label.

    ``tokens`` (N, L) int32 and ``labels`` (N,) int32 in sorted order; ``order`` (N,) the
    permutation; ``n`` (V,) label counts; ``blocks`` a list of ``(slice, y0, w, dense)``:
    block labels lie in :math:`[y_0, y_0 + w)`.
    """

    tokens: np.ndarray
    labels: np.ndarray
    order: np.ndarray
    n: np.ndarray
    blocks: list


def _argsort_labels(labels, V):
    """A stable order of int labels in [0, V) by 16-bit radix passes (numpy sorts 16-bit
    keys by radix; wider keys would fall back to a comparison sort)."""
    if V <= 2**16:
        return np.argsort(labels.astype(np.uint16), kind="stable")  # (N,)
    order = np.argsort((labels & 0xFFFF).astype(np.uint16), kind="stable")   # low half
    high = (labels.take(order) >> 16).astype(np.uint16)             # (N,) high half
    return order.take(np.argsort(high, kind="stable"))              # (N,)


def sort_by_label(task, data, rows=None):
    """Sort the samples by label and cut them into blocks (see :class:`Sorted`)."""
    V, N, L = task.V, data.N, task.L
    rows = BLOCK_ROWS if rows is None else rows
    lab = data.labels.astype(np.int32)                              # (N,)
    order = _argsort_labels(lab, V)                                 # (N,)
    ys = lab.take(order)                                            # (N,) sorted labels
    tok = np.ascontiguousarray(data.tokens, dtype=np.int32)         # (N, L)
    item = np.dtype((np.void, 4 * L))                               # a sample's row as one item
    toks = np.empty((N, L), dtype=np.int32)                         # (N, L) sorted tokens
    tok.view(item).reshape(N).take(order, out=toks.view(item).reshape(N))   # one read a row
    blocks = []
    for sl in spans(N, rows):
        y0 = int(ys[sl.start])
        w = int(ys[sl.stop - 1]) - y0 + 1
        cells = w * V
        dense = cells <= min(DENSE_RATIO * (sl.stop - sl.start) * L, DENSE_CELLS)
        blocks.append((sl, y0, w, dense))
    n = np.bincount(ys, minlength=V).astype(np.float64)             # (V,)
    return Sorted(toks, ys, order, n, blocks)


def _window_codes(srt, sl, y0, V):
    """Codes :math:`(y - y_0)V + t` of a dense block, (b, L) int32 (< DENSE_CELLS)."""
    return (srt.labels[sl] - y0)[:, None] * np.int32(V) + srt.tokens[sl]   # (b, L)


def label_sums(srt, UtT):
    r"""Pass 1: :math:`X = C^\top \tilde U^\top`, shape (V, d); ``UtT`` (V, d) holds the
    centred label embeddings as rows."""
    V = UtT.shape[0]
    L = srt.tokens.shape[1]
    X = np.zeros(UtT.shape)                                         # (V, d)
    sparse = []                                                     # pending sparse blocks
    for sl, y0, w, dense in srt.blocks + [(None, 0, 0, True)]:
        pending = sum(s.stop - s.start for s in sparse) * L
        if sparse and (dense or pending + (sl.stop - sl.start) * L > PASS1_PAIRS):
            part = slice(sparse[0].start, sparse[-1].stop)          # contiguous sparse blocks
            t = srt.tokens[part].reshape(-1)                         # (p,) int32 view
            y = np.repeat(srt.labels[part], L)                       # (p,) labels of the pairs
            C_T = sp.coo_array((np.ones(len(t)), (t, y)), shape=(V, V))   # no sort, no dedup
            X += C_T @ UtT                                           # (V, d)
            sparse = []
        if sl is None:
            break
        if dense:
            Cw = np.bincount(_window_codes(srt, sl, y0, V).ravel(), minlength=w * V)
            X += Cw.reshape(w, V).T.astype(np.float64) @ UtT[y0:y0 + w]   # (V, d) BLAS
        else:
            sparse.append(sl)
    return X


def pair_sums(srt, P, Et):
    r"""Pass 2 for :math:`K = P E` with P (V, d) and ``Et`` :math:`= E^\top` (V, d).

    Returns ``(D, ED, s_sum)``: :math:`D_t = \sum_n c_{n,t} s_n` (V,) over the dense
    blocks, :math:`\sum_n s_n a_n` (d,) over the sparse ones (so that
    :math:`E D_{total} = E D + ED`), and :math:`\sum_n s_n` over all.
    """
    V, d = Et.shape
    L = srt.tokens.shape[1]
    D, ED, s_sum = np.zeros(V), np.zeros(d), 0.0
    ones = np.ones(PASS2_ROWS * L)
    indptr = np.arange(0, PASS2_ROWS * L + 1, L, dtype=np.int32)
    for sl, y0, w, dense in srt.blocks:
        if dense:
            Kw = P[y0:y0 + w] @ Et.T                                 # (w, V) slice of K
            codes = _window_codes(srt, sl, y0, V)                    # (b, L)
            s = Kw.reshape(-1).take(codes).sum(axis=1)               # (b,) s_n
            D += np.bincount(srt.tokens[sl].ravel(), weights=np.repeat(s, L), minlength=V)
            s_sum += s.sum()
            continue
        for sub in spans(sl.stop - sl.start, PASS2_ROWS):
            part = slice(sl.start + sub.start, sl.start + sub.stop)
            b = part.stop - part.start
            A = sp.csr_array((ones[:b * L], srt.tokens[part].reshape(-1), indptr[:b + 1]),
                             shape=(b, V))                           # (b, V) token counts
            a = A @ Et                                               # (b, d) a_n
            s = np.einsum("bd,bd->b", a, P.take(srt.labels[part], axis=0))   # (b,) s_n
            ED += s @ a                                              # (d,)
            s_sum += s.sum()
    return D, ED, s_sum
