r"""Occupancy law of the noise positions (eq. 2.35 of docs/localization.md), shared by the
gaussian and orthogonal localization models: how many distinct vocabulary tokens the
:math:`L - 1` uniform noise draws hit,

.. math::
    \varpi_D = \binom VD\sum_{i=0}^{D}(-1)^i\binom Di\frac{(D-i)^{L-1}}{V^{L-1}}.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=256)
def occupancy(V: int, L: int) -> np.ndarray:
    r"""Eq. 2.35 by recursion: ``pi[D]`` :math:`=\varpi_D` = P(D distinct tokens among
    :math:`L - 1` uniform draws from V).

    One more draw hits an already drawn token with probability :math:`D/V`, so
    :math:`\varpi'_D = \varpi_D D/V + \varpi_{D-1}(V - D + 1)/V`.

    Returns
    -------
    ndarray, shape (min(L - 1, V) + 1,)
        Probabilities of :math:`D = 0, 1, \dots`; sums to 1.
    """
    pi = np.zeros(min(L - 1, V) + 1)
    pi[0] = 1.0
    for _ in range(L - 1):                          # one more draw: old token w.p. D/V
        Dv = np.arange(pi.size)
        nxt = pi * Dv / V
        nxt[1:] += pi[:-1] * (V - Dv[:-1]) / V
        pi = nxt
    return pi
