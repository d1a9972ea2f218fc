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
#: Bytes per chunk of a dense block, 12 a pair (int32 code, float64 unit weight): the
#: chunk, its weights and window rows stay in cache.
DENSE_CHUNK_BYTES = 2 * 2**20
#: Pairs per sparse matrix of a run of sparse blocks in pass 1 (its ones: 8 bytes a pair).
PASS1_PAIRS = 2**23
#: Pairs per run in pass 2, whose (b, SLICE) products and label rows stay near cache.
PASS2_PAIRS = 2**19
#: Columns per sparse product, at most: a (V, SLICE) table stays in cache (at most
#: ``SLICE_BYTES``, at least 4 columns), where whole (V, d) rows would be fetched from
#: memory at random (measured 2-3x slower at V = 32768, d = 256).
SLICE = 16
SLICE_BYTES = 8 * 2**20


def spans(N, rows):
    """Consecutive slices of at most ``rows`` of ``range(N)``."""
    for start in range(0, N, rows):
        yield slice(start, min(N, start + rows))


@dataclass
class Sorted:
    r"""The samples sorted by label.

    ``tokens`` (N, L) int32, ``labels`` (N,) int32 and ``pos`` (N,) in sorted order; when
    a block is sparse, each sample's informative token is moved to column 0 (``pos`` is
    then 0; the order within a sample is immaterial to every sum); ``order`` (N,) the
    permutation; ``n`` (V,) label counts; ``inv`` (V,) the
    informative token of each label (:math:`\pi^{*-1}`); ``blocks`` a list of
    ``(slice, y0, w, dense)``: block labels lie in :math:`[y_0, y_0 + w)`.
    """

    tokens: np.ndarray
    labels: np.ndarray
    pos: np.ndarray
    order: np.ndarray
    n: np.ndarray
    inv: np.ndarray
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
    pos = data.pos.take(order)                                      # (N,)
    if not all(dense for *_, dense in blocks):
        rows_ = np.arange(N)
        x = toks[rows_, pos]                                        # (N,) informative tokens
        toks[rows_, pos] = toks[:, 0]                               # swap them to column 0
        toks[:, 0] = x
        pos = np.zeros(N, dtype=np.int32)
    return Sorted(toks, ys, pos, order, n, np.argsort(task.perm), blocks)


def _dense_chunks(srt, V):
    r"""Per cache-sized chunk of the dense blocks: ``(k, y0, w, P, PT)``, k the block,
    P the (b, wV) matrix with a unit entry at each code :math:`(y - y_0)V + t` of the
    chunk's pairs (int32: :math:`wV \le` ``DENSE_CELLS``), PT its transpose.  Products
    with P sum a (w, V) table over each sample's pairs, PT scatters per-sample values
    back, in one compiled loop each."""
    L = srt.tokens.shape[1]
    rows = max(1, DENSE_CHUNK_BYTES // (12 * L))
    ones, indptr = np.ones(rows * L), np.arange(0, rows * L + 1, L, dtype=np.int32)
    for k, (block, _, _, dense) in enumerate(srt.blocks):
        if not dense:
            continue
        for sub in spans(block.stop - block.start, rows):
            sl = slice(block.start + sub.start, block.start + sub.stop)
            b, y = sl.stop - sl.start, srt.labels[sl]                  # (b,) sorted labels
            y0, w = int(y[0]), int(y[-1] - y[0]) + 1
            codes = ((y - y0) * np.int32(V))[:, None] + srt.tokens[sl]   # (b, L) int32
            P = sp.csr_array((ones[:b * L], codes.reshape(-1), indptr[:b + 1]), shape=(b, w * V))
            yield k, y0, w, P, P.T


def _index_dtype(n):
    """int32 sparse indices when they fit: scipy would copy int32 tokens to int64 otherwise."""
    return np.int32 if n < 2**31 else np.int64


def _column_slices(d, V):
    """Column slices covering ``range(d)``, each (V, width) float64 table in cache."""
    fit = max(1, SLICE_BYTES // (8 * V))
    return list(spans(d, min(SLICE, max(4, 1 << (fit.bit_length() - 1)))))


def _sparse_runs(srt, pairs):
    """Maximal runs of consecutive sparse blocks, cut where they would exceed ``pairs``."""
    L = srt.tokens.shape[1]
    runs, cur = [], None
    for sl, _, _, dense in srt.blocks:
        if dense:
            cur = None
            continue
        if cur is None or (sl.stop - cur[0]) * L > pairs:
            cur = [sl.start, sl.stop]
            runs.append(cur)
        cur[1] = sl.stop
    return [slice(a, b) for a, b in runs]


def label_sums(srt, UtT):
    r"""Pass 1: :math:`X = C^\top \tilde U^\top`, shape (V, d); ``UtT`` (V, d) holds the
    centred label embeddings as rows.

    Sparse runs read the L - 1 noise tokens of each sample (its informative pair is known
    from the label and added from the label counts).  They are (V, V) matrices with label
    rows; each product reads ``SLICE`` columns at a time, so that the (V,
    SLICE) tables it scatters into stay in cache.
    """
    V, d = UtT.shape
    L = srt.tokens.shape[1]
    X = np.zeros((V, d))                                            # (V, d)
    cur, Ck = None, None                                             # block, its (w_k V,) counts

    def flush():
        if cur is not None:
            _, yk, wk, _ = srt.blocks[cur]
            X[:] += Ck.reshape(wk, V).T @ UtT[yk:yk + wk]            # (V, d) BLAS, per block

    for k, y0, w, P, PT in _dense_chunks(srt, V):
        if k != cur:
            flush()
            cur, Ck = k, np.zeros(srt.blocks[k][2] * V)
        yk = srt.blocks[k][1]
        Ck[(y0 - yk) * V:(y0 - yk + w) * V] += PT @ np.ones(P.shape[0])   # (w V,) pair counts
    flush()
    runs = _sparse_runs(srt, PASS1_PAIRS)
    if not runs:
        return X
    ones = np.ones(max(r.stop - r.start for r in runs) * (L - 1))
    mats, m = [], np.zeros(V)                                        # m: sparse samples per label
    for r in runs:
        per_label = np.bincount(srt.labels[r], minlength=V)          # (V,)
        m += per_label
        indptr = np.zeros(V + 1, dtype=_index_dtype((r.stop - r.start) * L))
        np.cumsum(per_label * (L - 1), out=indptr[1:])               # (V + 1,)
        noise = np.ascontiguousarray(srt.tokens[r, 1:]).reshape(-1)  # (b (L-1),) noise tokens
        C = sp.csr_array((ones[:len(noise)], noise, indptr), shape=(V, V))   # (V, V) label rows
        mats.append(C.T)                                             # (V, V) csc, token rows
    X[srt.inv] += m[:, None] * UtT                                   # informative pairs (x, pi x)
    for cols in _column_slices(d, V):
        U_k = np.ascontiguousarray(UtT[:, cols])                     # (V, k)
        for C_T in mats:
            X[:, cols] += C_T @ U_k                                  # (V, k)
    return X


def pair_sums(srt, P, Et):
    r"""Pass 2 for :math:`K = P E` with P (V, d) and ``Et`` :math:`= E^\top` (V, d).

    Returns ``(D, s_sum)``: :math:`D_t = \sum_n c_{n,t} s_n` (V,) and :math:`\sum_n s_n`.
    Sparse runs form :math:`s_n = p_{y_n}^\top a_n` from ``SLICE`` columns of
    :math:`a_n = \sum_i e_{t_{n,i}}` at a time (the (V, SLICE) table they gather from
    stays in cache), then scatter :math:`s_n` onto the tokens.  The informative pair
    :math:`(y, \pi^{*-1}(y))` of every sample is known from its label: only the L - 1 noise
    tokens are read.
    """
    V, d = Et.shape
    L = srt.tokens.shape[1]
    D, s_sum = np.zeros(V), 0.0
    for _, y0, w, Pc, PcT in _dense_chunks(srt, V):
        s = Pc @ (P[y0:y0 + w] @ Et.T).reshape(-1)                   # (b,) s_n from K's rows
        D += (PcT @ s).reshape(w, V).sum(axis=0)                     # (V,)
        s_sum += s.sum()
    runs = _sparse_runs(srt, PASS2_PAIRS)
    if not runs:
        return D, s_sum
    rows = max(r.stop - r.start for r in runs)
    ones = np.ones(rows * (L - 1))
    indptr = np.arange(0, rows * (L - 1) + 1, L - 1, dtype=_index_dtype(rows * L))  # (rows + 1,)
    mats = [sp.csr_array((ones[:(r.stop - r.start) * (L - 1)],
                          np.ascontiguousarray(srt.tokens[r, 1:]).reshape(-1),
                          indptr[:r.stop - r.start + 1]), shape=(r.stop - r.start, V))
            for r in runs]                                           # (b, V) noise-token counts
    K_inf = np.einsum("yd,yd->y", P, Et[srt.inv])                   # (V,) K[y, pi^-1 y]
    s = [K_inf.take(srt.labels[r]) for r in runs]                    # (b,) s_n, informative part
    seg = [(int(srt.labels[r.start]), np.bincount(srt.labels[r] - srt.labels[r.start]))
           for r in runs]                                            # first label, run lengths
    for cols in _column_slices(d, V):
        E_k, P_k = np.ascontiguousarray(Et[:, cols]), np.ascontiguousarray(P[:, cols])
        for (r, A, s_r), (y0, per) in zip(zip(runs, mats, s), seg):
            a = A @ E_k                                              # (b, k) columns of a_n
            P_y = np.repeat(P_k[y0:y0 + len(per)], per, axis=0)     # (b, k) rows p_{y_n}
            s_r += np.einsum("bk,bk->b", a, P_y)
    for r, A, s_r in zip(runs, mats, s):
        D += A.T @ s_r                                               # (V,) scatter s_n, noise
        D[srt.inv] += np.bincount(srt.labels[r], weights=s_r, minlength=V)   # informative
        s_sum += s_r.sum()
    return D, s_sum
