r"""T6, one-step model: accuracy of :math:`W_V^{(1)}` under uniform attention, orthogonal case.

With orthonormal vectors the one-step logits are co-occurrence counts (eq. 6.15):
:math:`F_k = n_k + \sum_{i<L} C_{k t_i}` for a test sequence :math:`t_0, \dots, t_{L-1}`, C
the label-token co-occurrence counts over all L positions of the training samples
(docs/orthogonal.md section 1, "One-step logits").
"""
from __future__ import annotations

import numpy as np
from scipy import signal, stats

from ..occupancy import occupancy_classes
from ..quadrature import legendre01_nodes
from .counts import recall_by_count, support, support_size

#: Largest estimated cost (array entries) of the exact one-step sums; beyond, and whenever a
#: test token's multiplicity can exceed the 40 tabulated here, the bounded
#: :func:`theory.orthogonal.large_counts.one_step_large`.
EXACT_ONE_STEP = 2e7


def _exact_cost(V, N, L):
    """Entries of the exact sums: the credit table (D x scores x tie nodes) and the
    per-count windows of the noise co-occurrences."""
    K = support_size(N, 1.0 / V)
    mu = (L - 1) / V
    J = min(40, mu + 7 * np.sqrt(mu) + 2)
    top = K * (J + 1 + mu * L)
    window = 28 * np.sqrt(K * mu * (L + L * mu)) + 11
    return (min(L - 1, V) + 1) * top * (V // 2 + 2) + K * J * window

__all__ = ["orthogonal_one_step_accuracy"]


def _compound_law(mean_per_slot, mult):
    r"""Window ``(lo, pmf)`` of :math:`G_k = \sum_r r\,\mathrm{Poisson}(n_k\rho\,\bar o_r)`.

    Noise co-occurrences of a label with a test sequence holding :math:`\bar o_r`
    (``mult[r]``, shape (R,)) distinct tokens of multiplicity r (eq. 6.16);
    ``mean_per_slot`` is :math:`n_k\rho`.  ``pmf`` has shape (W,) and starts at ``lo``.
    """
    mean = mean_per_slot * np.arange(len(mult)) @ mult
    sd = np.sqrt(mean_per_slot * np.arange(len(mult)) ** 2 @ mult)
    lo, hi = int(max(0, mean - 14 * sd - 5)), int(mean + 14 * sd + 6)
    if mean > 200:                      # CLT regime: discretised normal, same two moments
        k = np.arange(lo, hi + 1)
        g = stats.norm.pdf((k - mean) / sd)
        return lo, g / g.sum()
    out = np.ones(1)
    for j, dj in enumerate(mult):
        mu = mean_per_slot * dj
        if j == 0 or mu <= 1e-12:
            continue
        k = np.arange(int(mu + 14 * np.sqrt(mu) + 6))
        g = np.zeros(j * k[-1] + 1)
        g[j * k] = stats.poisson.pmf(k, mu)
        out = signal.fftconvolve(out, g)[:hi + 1].clip(0)
    return lo, out[lo:hi + 1]


def orthogonal_one_step_accuracy(V: int, N: int, L: int) -> float:
    r"""Eq. 6.21: accuracy of :math:`W_V^{(1)}` under uniform attention (orthogonal case).

    Label k scores :math:`F_k = n_k(1 + o_{x_k}) + G_k` (eq. 6.15): :math:`o_{x_k}`
    occurrences of its token in the test sequence and :math:`G_k = \sum_t o_t M_{kt}` its
    noise co-occurrences with the test tokens (:math:`o_t`: multiplicities), compound
    Poisson with mean :math:`n_k\rho L` and variance :math:`n_k\rho\,\mathbb E\sum_t o_t^2`
    (eq. 6.16), :math:`\rho=(L-1)/V`.  The correct label has
    :math:`o_x = 1 + o^*`, :math:`o^* \sim \mathrm{Bin}(L-1, 1/V)`; the D distinct noise
    tokens (:func:`theory.occupancy.occupancy`, eq. 2.35) make D iid rivals with
    :math:`o_{x_k}\ge1`, each a mixture over its multiplicity r (zero-truncated
    Bin(L-1, 1/V) weights); the other V-1-D have :math:`o_{x_k} = 0`; ties split (eq. 6.1
    per class).  Counts binomial (N, 1/V).

    Parameters
    ----------
    V, N, L : int
        Vocabulary, training samples, sequence length.

    Returns
    -------
    float
        Expected accuracy of the step-1 weights under uniform attention.
    """
    if L == 1:                                                   # uniform = hard attention
        cs, pc, _, _, acc = recall_by_count(V, N, 1)
        return float(pc @ acc[0])
    mu = (L - 1) / V
    if mu + 7 * np.sqrt(mu) > 40 or _exact_cost(V, N, L) > EXACT_ONE_STEP:
        from .large_counts import one_step_large                 # it imports counts
        return one_step_large(V, N, L)
    ns = support(N, 1.0 / V)
    pn = stats.binom.pmf(ns, N, 1.0 / V)
    jm = np.arange(min(L, 40) + 1)
    mult = V * stats.binom.pmf(jm, L, 1.0 / V)                   # test tokens of multiplicity j
    fj = stats.binom.pmf(jm, L - 1, 1.0 / V)
    J = max(2, int(np.flatnonzero(fj > 1e-9)[-1]) + 1)
    fj = fj[1:J] / fj[1:J].sum()                                 # multiplicity of a drawn rival
    G = {int(k): _compound_law(k * (L - 1) / V, mult) for k in ns}
    top = int(ns[-1] * J) + max(lo + len(g) for lo, g in G.values()) + 2
    pmf = np.zeros((2, top + 1))                    # rivals not drawn / drawn (mixture over j)
    for k, w in zip(ns, pn):
        lo, g = G[int(k)]
        pmf[0, k + lo:k + lo + len(g)] += w * g
        for j in range(1, J):
            pmf[1, k * (1 + j) + lo:k * (1 + j) + lo + len(g)] += w * fj[j - 1] * g
    lt = np.concatenate([np.zeros((2, 1)), np.cumsum(pmf, 1)[:, :-1]], 1)
    s, ws = legendre01_nodes(V // 2 + 2)
    logs = np.log(np.maximum(lt[:, :, None] + s * pmf[:, :, None], 1e-300))  # (2, F, S)
    D, pi = occupancy_classes(V, L)
    cr = np.exp(logs[0][None] * (V - 1 - D)[:, None, None] + logs[1][None] * D[:, None, None])
    cr = np.concatenate([pi @ (cr @ ws), np.ones(top + 2)])     # beyond every rival: win
    acc = 0.0
    for c, w in zip(ns, pn):
        lo, g = G[int(c)]
        for m_, wm in zip(jm, stats.binom.pmf(jm, L - 1, 1.0 / V)):
            if w * wm > 1e-13:
                st = min(c * (2 + m_) + lo, top + 1)
                acc += w * wm * (g @ cr[st:st + len(g)])
    return float(acc)
