r"""Hermite expansions of the MLP activations and their dual kernels (docs/mlp.md, 5.1-5.4).

With :math:`g \sim \mathcal N(0,1)` and the probabilists' Hermite polynomials
:math:`\mathrm{He}_i`, an activation :math:`\sigma` applied to a shifted, scaled Gaussian has

.. math::
    \sigma(\sqrt s\,(t+g)) = \sum_{i\ge0} c_i(t,s)\,\frac{\mathrm{He}_i(g)}{\sqrt{i!}},\qquad
    c_i(t,s) = \frac{\mathbb E[\sigma(\sqrt s(t+g))\mathrm{He}_i(g)]}{\sqrt{i!}}
             = \frac{\partial_t^i G_1(t,s)}{\sqrt{i!}},

where :math:`G_q(t,s) = \mathbb E_g[\sigma(\sqrt s(t+g))^q]`, :math:`q = 1,\dots,4` (eq. 5.1; the second form is
Stein's identity: :math:`\partial_g` and :math:`\partial_t` act alike on a function of
:math:`t+g`).  Plain coefficients at input variance :math:`v_{\rm in}` are :math:`c_i(0, v_{\rm in})` (5.2).
The activations are piecewise polynomials, so every :math:`G_q` is an exact sympy integral
against the Gaussian: each piece reduces to truncated moments
:math:`I_j(b) = \int_b^\infty g^j\Phi'(g)\,dg` (:math:`\Phi'` the standard normal density),
whose bases :math:`I_0, I_1` are sympy integrals and the rest follow by parts,
:math:`I_j = b^{j-1}\Phi'(b) + (j-1)I_{j-2}` (5.3).
:func:`hermite_coefficients_numeric` is the Gauss-Hermite fallback for any callable.

The dual kernel :math:`k(\nu_1,\nu_2,\chi) = \mathbb E_w[\sigma(w^\top a)\sigma(w^\top a')]`,
:math:`w\sim\mathcal N(0,I)`, :math:`\nu_1 = \|a\|^2, \nu_2=\|a'\|^2, \chi = a^\top a'` (code
``n1, n2, c``), is the series :math:`\sum_i c_i(0,\nu_1)c_i(0,\nu_2)\rho^i`,
:math:`\rho = \chi/\sqrt{\nu_1\nu_2}` (5.4), in closed form the arc-cosine kernel for ReLU
(5.4a) and a polynomial for he2 (5.4b), registered in :mod:`theory.mlp.localization`.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import sympy as sp
from scipy.special import roots_hermitenorm

from common.checks import check_choice, check_int

from ..formula import formula

x, g, t = sp.symbols("x g t", real=True)
s = sp.Symbol("s", positive=True)
n1, n2, c = sp.symbols("n_1 n_2 c", positive=True)
_rho = c / sp.sqrt(n1 * n2)
_theta = sp.acos(_rho)
#: Dual kernels :math:`k(n_1, n_2, c) = \mathbb E\,\sigma(w^\top a)\sigma(w^\top b)` for
#: :math:`\|a\|^2 = n_1, \|b\|^2 = n_2, a^\top b = c` (eq. 5.4): arc-cosine (ReLU), Isserlis (he2).
DUAL = {
    "relu": formula("mlp.dual_kernel_relu", "5.4a",
                    sp.sqrt(n1 * n2) / (2 * sp.pi) * (sp.sin(_theta) + (sp.pi - _theta) * _rho),
                    "E sigma(w^T a) sigma(w^T b), ReLU: arc-cosine kernel of degree 1"),
    "he2": formula("mlp.dual_kernel_he2", "5.4b", ((n1 - 1) * (n2 - 1) + 2 * c ** 2) / 2,
                   "E sigma(w^T a) sigma(w^T b), he2 = (x^2-1)/sqrt 2"),
}
_phi = sp.exp(-g ** 2 / 2) / sp.sqrt(2 * sp.pi)

#: Activations of the simulation as piecewise polynomials: (lower x, upper x, polynomial in x).
PIECES = {
    "relu": ((-sp.oo, sp.Integer(0), sp.Integer(0)), (sp.Integer(0), sp.oo, x)),
    "he2": ((-sp.oo, sp.oo, (x ** 2 - 1) / sp.sqrt(2)),),
}


def activation_expr(activation: str) -> sp.Expr:
    """The activation as one sympy expression in ``x`` (Piecewise for ReLU)."""
    pieces = PIECES[check_choice("activation", activation, tuple(PIECES))]
    return sp.Piecewise(*[(p, x < hi) for lo, hi, p in pieces[:-1]], (pieces[-1][2], True))


def activation_numpy(activation: str):
    """Vectorised NumPy callable of the activation (for the numeric fallback and tests)."""
    return sp.lambdify(x, activation_expr(activation), modules="numpy")


@lru_cache(maxsize=None)
def _tail_base(j: int) -> sp.Expr:
    r""":math:`I_j(b)` for j = 0, 1 as a sympy integral against the Gaussian (b is ``t``)."""
    return sp.simplify(sp.integrate(g ** j * _phi, (g, t, sp.oo)))


@lru_cache(maxsize=None)
def _tail(j: int) -> sp.Expr:
    r""":math:`I_j(t) = \int_t^\infty g^j\Phi'(g)dg`, by parts from the two bases (eq. 5.3)."""
    if j < 2:
        return _tail_base(j)
    return sp.expand(t ** (j - 1) * _phi.subs(g, t) + (j - 1) * _tail(j - 2))


def _moment(j: int, lo, hi) -> sp.Expr:
    r""":math:`\int_{lo}^{hi} g^j \Phi'(g)\,dg` for symbolic or infinite limits."""
    def upper(a):
        if a is sp.oo:
            return sp.Integer(0)
        if a is -sp.oo:   # full-line moment (j-1)!! for even j
            return sp.Integer(0) if j % 2 else sp.factorial2(j - 1) if j else sp.Integer(1)
        return _tail(j).subs(t, a)
    return upper(lo) - upper(hi)


def _piecewise_gauss(activation: str, power: int, arg, weight=sp.Integer(1)) -> sp.Expr:
    r""":math:`\mathbb E_g[\sigma(\mathrm{arg})^q\, \mathrm{weight}(g)]` (q = ``power``) for ``arg`` affine in g with
    positive slope and ``weight`` a polynomial in g, piece by piece through truncated moments."""
    pieces = PIECES[check_choice("activation", activation, tuple(PIECES))]
    a1 = sp.diff(arg, g)
    a0 = sp.expand(arg - a1 * g)
    total = sp.Integer(0)
    for lo, hi, poly in pieces:
        if poly == 0:
            continue
        glo = -sp.oo if lo is -sp.oo else (lo - a0) / a1      # piece x in (lo, hi) in terms of g
        ghi = sp.oo if hi is sp.oo else (hi - a0) / a1
        q = sp.Poly(sp.expand((poly ** power).subs(x, arg) * weight), g)
        for (j,), coef in q.terms():
            total += coef * _moment(j, glo, ghi)
    return total


@lru_cache(maxsize=None)
def smoothed(activation: str, power: int = 1) -> sp.Expr:
    r""":math:`G_q(t,s) = \mathbb E_g[\sigma(\sqrt s(t+g))^q]` (q = ``power``) as an exact sympy expression (5.1)."""
    power = check_int("power", power, 1)
    return _piecewise_gauss(activation, power, sp.sqrt(s) * (t + g))


@lru_cache(maxsize=None)
def shifted_coefficients(activation: str, order: int):
    r"""Sympy expressions :math:`c_0(t,s), \dots, c_{order}(t,s)` (eq. 5.1, Stein form)."""
    order = check_int("order", order, 0)
    G1 = smoothed(activation, 1)
    out, der = [], G1
    for i in range(order + 1):
        out.append(der / sp.sqrt(sp.factorial(i)))
        der = sp.diff(der, t)
    return tuple(out)


def hermite_coefficients(activation: str, order: int, variance=1) -> tuple:
    r"""Exact coefficients :math:`c_i = \mathbb E[\sigma(\sqrt{v_{\rm in}} g)\mathrm{He}_i(g)]/\sqrt{i!}`
    at input variance :math:`v_{\rm in}` = ``variance`` (eq. 5.2), as sympy numbers, ``order + 1`` of them.

    Each is the Gaussian integral of the definition, done piece by piece (eq. 5.3).
    """
    order = check_int("order", order, 0)
    v = sp.nsimplify(variance)
    return tuple(sp.nsimplify(sp.simplify(
        _piecewise_gauss(activation, 1, sp.sqrt(v) * g, sp.hermite_prob(i, g))
        / sp.sqrt(sp.factorial(i)))) for i in range(order + 1))


def hermite_coefficients_numeric(fn, order: int, variance: float = 1.0, shift: float = 0.0,
                                 nodes: int = 400) -> np.ndarray:
    r"""Gauss-Hermite fallback: :math:`c_i` of any vectorised callable ``fn`` (shape (order+1,)).

    Computes :math:`\mathbb E[\mathrm{fn}(\sqrt{v_{\rm in}}(\mathrm{shift}+g))\mathrm{He}_i(g)]/\sqrt{i!}`
    with ``nodes`` probabilists' Gauss-Hermite nodes; kinks converge like ``nodes**-1.5``.
    """
    order = check_int("order", order, 0)
    z, w = roots_hermitenorm(check_int("nodes", nodes, 2))
    w = w / w.sum()
    f = np.asarray(fn(np.sqrt(variance) * (shift + z)), dtype=float)      # (nodes,)
    he = np.polynomial.hermite_e.hermevander(z, order)                     # (nodes, order+1)
    fact = np.array([math.sqrt(math.factorial(i)) for i in range(order + 1)])
    return (w * f) @ he / fact


def dual_kernel(activation: str, n1, n2, c):
    r"""Closed-form dual kernel :math:`k(\nu_1,\nu_2,\chi)` (eqs. 5.4a, 5.4b), broadcasting
    over arrays ``n1`` :math:`=\nu_1`, ``n2`` :math:`=\nu_2`, ``c`` :math:`=\chi`.

    ReLU: :math:`\frac{\sqrt{\nu_1\nu_2}}{2\pi}(\sin\theta + (\pi-\theta)\cos\theta)`,
    :math:`\cos\theta = \chi/\sqrt{\nu_1\nu_2}` (arc-cosine kernel of degree 1).
    he2: :math:`\tfrac12[(\nu_1-1)(\nu_2-1) + 2\chi^2]` (Isserlis).  Returns an ndarray of
    the broadcast shape.
    """
    n1, n2, c = (np.asarray(a, dtype=float) for a in (n1, n2, c))
    if check_choice("activation", activation, tuple(PIECES)) == "relu":
        r = np.sqrt(n1 * n2)                 # |c| <= r (Cauchy-Schwarz); clip rounding only
        c = np.clip(c, -r, r)
    return DUAL[activation](n_1=n1, n_2=n2, c=c)


def dual_kernel_series(activation: str, n1: float, n2: float, c, order: int = 12):
    r"""Dual kernel as the truncated Hermite series :math:`\sum_{i\le order} c_i(0,\nu_1)c_i(0,\nu_2)\rho^i` (5.4), shape of ``c``."""
    c1 = np.array([float(v) for v in hermite_coefficients(activation, order, n1)])
    c2 = np.array([float(v) for v in hermite_coefficients(activation, order, n2)])
    rho = np.asarray(c, dtype=float) / math.sqrt(n1 * n2)
    return np.polynomial.polynomial.polyval(rho, c1 * c2)


@lru_cache(maxsize=None)
def smoothed_table(activation: str) -> dict:
    r"""Compiled NumPy functions ``D[(q, j)](t, s)`` of :math:`\partial_t^j G_q(t,s)` (eq. 5.1),
    broadcasting over ``t`` and ``s``.

    Keys: q = 1 with j <= 5 (so :math:`c_j = D[(1,j)]/\sqrt{j!}`), q = 2 with j <= 4, and
    q = 3 with j <= 1 and q = 4 with j = 0: the raw material of :mod:`theory.mlp.kernel`.
    """
    want = {1: 5, 2: 4, 3: 1, 4: 0}
    out = {}
    for k, top in want.items():
        e = smoothed(activation, k)
        for j in range(top + 1):
            f = sp.lambdify((t, s), e, modules=["scipy", "numpy"])
            out[(k, j)] = (lambda f: lambda tt, ss: np.asarray(f(tt, ss), dtype=float)
                           + np.zeros(np.broadcast(tt, ss).shape))(f)
            e = sp.diff(e, t)
    return out
