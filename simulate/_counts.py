r"""Label-sorted pair codes: the per-token passes of the attention-only limit (:mod:`.fast`).

Both passes read every (sample, position) pair through its code :math:`yV + t` (label y of
the sample, token t): pass 1 counts the codes (C of F1); pass 2 sums a V x V table K over
each sample's codes, :math:`s_n = \sum_i K_{y_n t_{n,i}}`, and scatters :math:`s_n` back
onto them (F2).  Two things make them cheap:

* the samples are sorted by label (a radix sort on label buckets), so a chunk of them only
  touches the rows of a few labels: its codes are taken relative to a window
  :math:`[y_k, y_k + w)` of labels and every table access stays in a (w V,) slice, in cache;
* the sums are scipy's compiled sparse products: with P the (b, w V) matrix holding a unit
  entry per pair of a chunk, ``P @ k`` sums k over each sample's codes and ``P.T @ v``
  scatters v onto them, one fused loop each, with no per-token temporary.

Memory: the sorted codes, (N, L) int32 like the tokens, plus cache-sized chunks.  Codes stay
below :math:`wV \le V^2 < 2^{31}` for any V whose V x V float tables fit in memory.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .attention import chunk_rows

#: Bytes per chunk of the passes, 12 per pair (int32 code, float64 unit weight): about 1e4
#: samples at L = 16, so that a chunk, its weights and table slices stay in L2/L3 (1-2 MB
#: measured fastest; the per-chunk Python overhead grows below).
CHUNK_BYTES = 2 * 2**20


def spans(N, rows):
    """Consecutive slices of at most ``rows`` of ``range(N)``."""
    for start in range(0, N, rows):
        yield slice(start, min(N, start + rows))


def _sort_by_label(task, labels, rows):
    r"""Sample order by label bucket, and each chunk's label window.

    Buckets hold :math:`2^{shift}` consecutive labels so that the key fits one uint8 radix
    pass; any order within a bucket would do.  Above V = 4096 buckets would pass 16 labels
    and widen every window, so the exact labels are sorted instead.  Returns
    ``(order, off, windows, w)``: the order (N,); each sorted sample's code offset
    :math:`(y - y_k)V` (N,) int32; ``(slice, y_k)`` per chunk of ``rows``; and the common
    window width w, so that chunk k's labels lie in :math:`[y_k, y_k + w)`.
    """
    V, N = task.V, len(labels)
    lab = labels.astype(np.int32)                                   # (N,)
    shift = max(0, (V - 1).bit_length() - 8)
    if shift > 4:
        key, shift = (lab.astype(np.int16) if V <= 2**15 else lab), 0
    else:
        key = (lab >> shift).astype(np.uint8)                       # (N,)
    order = np.argsort(key, kind="stable")                          # (N,) a radix sort
    off = lab.take(order)                                           # (N,) sorted labels
    parts = list(spans(N, rows))
    first = (off[[p.start for p in parts]] >> shift) << shift       # (chunks,) bucket starts
    end = ((off[[p.stop - 1 for p in parts]] >> shift) + 1) << shift   # (chunks,) bucket ends
    w = int(min(V, (end - first).max()))
    first = np.minimum(first, V - w)                                # windows inside [0, V)
    off -= np.repeat(first, [p.stop - p.start for p in parts])      # (N,) y - y_k
    off *= V                                                        # (N,) code offsets
    return order, off, list(zip(parts, first.tolist())), w


def _pair_chunks(codes, windows, width):
    """Yield ``(sl, y_k, P, PT)`` per chunk: P the (b, width) matrix with a unit entry at
    each code of ``codes[sl]`` (b, L), PT its transpose.

    Full chunks share one matrix pair whose public ``indices`` is pointed at each chunk's
    codes in turn: scipy's per-matrix checks and index copies would cost more than the sums.
    The codes may be written after the yield and before P is used.
    """
    L = codes.shape[1]
    rows = windows[0][0].stop - windows[0][0].start
    ones, indptr = np.ones(rows * L), np.arange(0, rows * L + 1, L, dtype=np.int32)
    shared = None
    for sl, y0 in windows:
        b, idx = sl.stop - sl.start, codes[sl].reshape(-1)          # (b L,) int32 view
        if b == rows and shared is not None:
            P, PT = shared
        else:
            P = sp.csr_array((ones[:b * L], idx, indptr[:b + 1]), shape=(b, width), copy=False)
            PT = P.T
            shared = (P, PT) if b == rows else shared
        P.indices = PT.indices = idx
        if P.indices is not idx or PT.indices is not idx:          # a scipy that copies on
            P = sp.csr_array((ones[:b * L], idx, indptr[:b + 1]), shape=(b, width))  # assignment
            PT, shared = P.T, None                                   # would read stale codes
        yield sl, y0, P, PT


def pair_counts(task, data):
    r"""Pass 1: pair counts C (V, V), label counts n (V,) and the label-sorted codes.

    C[y, t] counts the (sample, position) pairs with label y and token t.  The codes
    (``(codes, windows, w)``, see :func:`_sort_by_label`) are what :func:`pair_sums` reads.
    """
    V, N, L = task.V, data.N, task.L
    order, off, windows, w = _sort_by_label(task, data.labels, chunk_rows(12 * L, CHUNK_BYTES))
    tok = np.ascontiguousarray(data.tokens, dtype=np.int32)         # (N, L)
    item = np.dtype((np.void, 4 * L))                               # a sample's row as one item
    codes = np.empty((N, L), dtype=np.int32)                        # (N, L) sorted pair codes
    C, ones = np.zeros(V * V), np.ones(windows[0][0].stop)          # (V^2,), (rows,)
    for sl, y0, P, PT in _pair_chunks(codes, windows, w * V):
        # (b, L) the chunk's token rows, one random 4L-byte read each, into the codes' place
        tok.view(item).reshape(N).take(order[sl], out=codes[sl].view(item).reshape(-1))
        codes[sl] += off[sl, None]                                  # (b, L) tokens -> codes
        C[y0 * V:(y0 + w) * V] += PT @ ones[:P.shape[0]]            # (w V,) counts
    C = C.reshape(V, V)
    return C, C.sum(axis=1) / L, (codes, windows, w)                # each sample adds L to its row


def pair_sums(sorted_codes, K):
    r"""Pass 2: with :math:`s_n = \sum_i K_{y_n t_{n,i}}` for a (V, V) table K, returns
    ``(D, s_sum)``: :math:`D_t = \sum_n c_{n,t} s_n` (V,) and :math:`\sum_n s_n`."""
    codes, windows, w = sorted_codes
    V = K.shape[0]
    Kf, D, s_sum = np.ascontiguousarray(K).reshape(-1), np.zeros(V), 0.0   # (V^2,), (V,)
    for _, y0, P, PT in _pair_chunks(codes, windows, w * V):
        s = P @ Kf[y0 * V:(y0 + w) * V]                             # (b,) s_n
        D += (PT @ s).reshape(w, V).sum(axis=0)                     # (V,) from (w, V)
        s_sum += s.sum()
    return D, s_sum
