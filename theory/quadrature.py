r"""Quadrature rules shared by every model's accuracy integrals (docs/theory.md, section 5).

Each rule returns nodes and weights (both of shape (n,)) whose weights sum to 1, so an
expectation is ``weights @ f(nodes)``.  Nodes come from SciPy's orthogonal-polynomial
routines (:mod:`scipy.special`), cached because every prediction reuses the same few rules.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import special

#: Default number of Gauss-Hermite nodes.
N_GAUSS = 8
#: Default number of chi-square nodes.
N_CHI = 6


@lru_cache(maxsize=None)
def normal_nodes(n: int = N_GAUSS):
    r"""Gauss-Hermite rule for :math:`Z\sim\mathcal N(0,1)`, exact for polynomials of degree
    below :math:`2n`: nodes (n,), weights (n,)."""
    z, w = special.roots_hermitenorm(n)
    return z, w / w.sum()


@lru_cache(maxsize=None)
def legendre01_nodes(n: int):
    """Gauss-Legendre rule on [0, 1], exact for polynomials of degree below 2n: (n,), (n,)."""
    u, w = special.roots_legendre(n)
    return (u + 1) / 2, w / 2


@lru_cache(maxsize=None)
def gamma_nodes(cv2: float, n: int, normal_below: float = 0.02):
    r"""Rule for a gamma law of mean 1 and squared coefficient of variation ``cv2``.

    Generalised Gauss-Laguerre with shape :math:`k = 1/\mathrm{cv2}` (exact for polynomials
    of degree below 2n).  Below ``normal_below`` the law is within a skewness of
    :math:`2\sqrt{\mathrm{cv2}}` of :math:`\mathcal N(1, \mathrm{cv2})` and the Laguerre
    weights lose precision, so the Gaussian rule (nodes clipped at 1e-6 > 0) is used.
    ``cv2 <= 1e-8`` gives the point mass at 1.
    """
    if not cv2 > 1e-8:
        return np.ones(1), np.ones(1)
    if cv2 < normal_below:
        z, w = normal_nodes(n)
        return np.maximum(1.0 + np.sqrt(cv2) * z, 1e-6), w
    k = 1.0 / cv2
    x, w = special.roots_genlaguerre(n, k - 1.0)
    return x / k, w / w.sum()


@lru_cache(maxsize=None)
def chi2_nodes(d: int, n: int = N_CHI, rule: str = "wilson-hilferty"):
    r"""Rule for :math:`\chi^2_d/d` (mean 1, variance 2/d): nodes (n,), weights (n,).

    ``rule="wilson-hilferty"``: :math:`\chi^2_d/d \approx (1 - k + \sqrt k Z)^3`,
    :math:`k = 2/(9d)`, Z on a Gauss-Hermite rule, mean renormalised to exactly 1.  It keeps
    the skewness :math:`\sqrt{8/d}` and both tails for every d, and its nodes move smoothly
    with d, which the read-out integrals (gaussian model) need where they are tabulated.

    ``rule="laguerre"``: the exact gamma rule of :func:`gamma_nodes` (shape d/2), Gaussian
    above d = 400; the MLP kernel uses it, where polynomial exactness in the norm matters.
    """
    if rule == "laguerre":
        return gamma_nodes(2.0 / d, n, normal_below=2.0 / 400)
    if rule != "wilson-hilferty":
        raise ValueError(f"rule must be wilson-hilferty or laguerre; got {rule!r}")
    z, w = normal_nodes(n)
    k = 2.0 / (9.0 * d)
    x = np.maximum(1.0 - k + np.sqrt(k) * z, 1e-4) ** 3       # > 0: the law has no atom at 0
    return x / np.sum(w * x), w
