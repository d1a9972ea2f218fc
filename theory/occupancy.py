r"""Occupancy law of the noise positions (eq. 2.35), shared by the gaussian and orthogonal
localization models: how many distinct vocabulary tokens the L - 1 noise draws hit.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=256)
def occupancy(V: int, L: int) -> np.ndarray:
    r"""Eq. 2.35 by recursion: ``pi[D]`` = P(D distinct tokens among L - 1 uniform draws
    from V), shape (min(L - 1, V) + 1,).

    One more draw hits an already drawn token with probability D/V, so
    :math:`\pi'_D = \pi_D D/V + \pi_{D-1}(V - D + 1)/V`.
    """
    pi = np.zeros(min(L - 1, V) + 1)
    pi[0] = 1.0
    for _ in range(L - 1):                          # one more draw: old token w.p. D/V
        Dv = np.arange(pi.size)
        nxt = pi * Dv / V
        nxt[1:] += pi[:-1] * (V - Dv[:-1]) / V
        pi = nxt
    return pi
