r"""T3: accuracy of the model after step 3 (docs/theory.md, section 3).

In the early-phase limit (docs/model.md, section 4) :math:`W_V^{(2)} \propto \sum_n (u_{y_n}
- \bar u)\,a_n^\top` with hard attention, and the logits of a test sequence read by
:math:`a` are (eqs. 1.3, 3.2)

.. math::
    N f = G\,w,\qquad G_{jx'} = u_{\pi^*(j)}^\top u_{\pi^*(x')},\qquad
    w_{x'} = B_{x'} - \frac{1}{V}\sum_{x''} B_{x''},\qquad
    B_{x'} = \sum_{n:\,x_n = x'} a_n^\top a .

Rotating U (eq. 3.3) gives exactly, with :math:`\chi_w \sim \chi^2_d/d` and
:math:`\xi \sim \mathcal N(0, I_V)`,

.. math::
    \frac{N f}{\chi_w} = w + \sqrt{\frac{\|w\|^2}{d\chi_w}}\;P_\perp\xi,\qquad
    P_\perp = I - \hat w\hat w^\top,

and fixing the correct label's component :math:`\xi_x` leaves the wrong labels
independent: the correct label wins iff :math:`F > w_j + S\xi_j` for every :math:`j`, with
:math:`\theta, F, S^2` of eqs. 3.21-3.23.  The read weights :math:`w_j` of the wrong labels
are independent given the test token (eqs. 3.7-3.13); :class:`GaussianReadout` builds
their Gaussian mixture and the nodes of the common quantities, and :func:`recall`
evaluates the accuracy integral (eq. 3.24) with :mod:`theory.accuracy`.

Localization enters through classes of tokens (eq. 3.26): a token of class k is localized
with probability :math:`p^{\rm test}_k` and has :math:`\mathrm{Binomial}(N, p^{\rm
train}_k/V)` localized training samples; the wrong labels are a mixture over the classes.
"""
from __future__ import annotations

import numpy as np

from . import terms as T
from ..accuracy import all_below, binomial_law, mixture_law
from ..quadrature import chi2_nodes, normal_nodes

#: Smallest common factor theta kept (theta <= 0 happens with probability < 1e-3 for d >= 4
#: and turns the correct label into the last one; clipping there costs nothing measurable).
THETA_MIN = 0.05


class GaussianReadout:
    r"""Margin terms of the attention-only read-out with gaussian embeddings (eqs. 3.4-3.23).

    Parameters
    ----------
    V, N, d : int
    p_train : (K,) array
        Training localization probability of each token class.
    weights : (K,) array
        Class weights (sum 1).
    t_z : {1, 0}
        1 when the test read vector is :math:`g_x = e_x + z_{\rm trig}` (localized test), 0
        when it is a noise token's :math:`e_t` (non-localized test: the trigger is not read).
    leak : bool
        Include attention leakage from the non-localized training samples (eqs. 3.8, 3.12).

    Attributes
    ----------
    c, pc : ndarray, shape (J,)
        Lumped support and probabilities of a wrong label's count (mixture over classes).
    mu, v : ndarray, shape (J,)
        Mean :math:`M(c)` and own variance :math:`v(c)` (eq. 3.13) of a wrong label's weight.
    Q : float
        Energy of the wrong labels' weights (eq. 3.14).
    """

    def __init__(self, V, N, d, p_train, weights, t_z=1, leak=True):
        self.V, self.N, self.d, self.t_z = V, N, d, float(t_z)
        p_train = np.asarray(p_train, dtype=float)
        weights = np.asarray(weights, dtype=float)
        self.p_train = p_train
        p_bar = float(np.dot(weights, p_train))
        self.lam = N * p_bar / V
        self.n_nl = N * (1.0 - p_bar) if leak else 0.0
        laws = [binomial_law(N, pk / V) for pk in p_train]
        self.a_laws = [binomial_law(N, pk / V, max_points=16, k=6.0) for pk in p_train]
        c, pc = mixture_law(laws, weights, max_points=10**6)               # exact mixture
        self.vc = float(np.dot(pc, (c - self.lam) ** 2))
        self.Ec2 = float(np.dot(pc, c**2))
        ctx = dict(V=V, d=d, lam=self.lam, vc=self.vc, Ec2=self.Ec2, n_nl=self.n_nl,
                   t_z=self.t_z)
        self.Q = float(T.weight_energy(**ctx))
        self.Q_emb = float(T.weight_energy(**{**ctx, "vc": 0.0, "n_nl": 0.0, "lam": 0.0}))
        # lump the wrong-label counts on a scale well below the smallest per-label sd
        s_min = np.sqrt(self.Q / d + self.lam**2 / d)
        self.c, self.pc = mixture_law(laws, weights, width=s_min / 4)     # (J,), (J,)
        self.mu = self.t_z * (self.c - self.lam) + float(T.leak_mean(V=V, n_nl=self.n_nl))
        # with the trigger read, the count-norm term is the common factor 1 + delta (nodes)
        self.v = np.maximum(T.own_var(c=self.c, lam=self.lam, d=d, V=V, n_nl=self.n_nl,
                                      t_z=self.t_z)
                            - self.t_z * T.var_count_norm(c=self.c, lam=self.lam, d=d,
                                                          t_z=self.t_z), 0.0)

    def label_law(self):
        """Per-wrong-label means :math:`M(c)` (J,), own variances :math:`v(c)` (J,) and mixture
        weights (J,) (docs/theory.md, eq. 3.13)."""
        return self.mu, self.v, self.pc

    def nodes(self, a_law):
        r"""Nodes of the common quantities for a test token whose count has law ``a_law``.

        Common to all wrong labels of one test token (docs/theory.md, eq. 3.24): its count
        :math:`c_x`, :math:`\varepsilon = \|e_x\|^2`, the trigger overlap :math:`\beta_x =
        z^\top e_x` and norm :math:`\zeta = \|z\|^2` (through :math:`\delta = \zeta +
        \beta_x - 1`), and the Gram quantities of :func:`gram_nodes`.  With a trigger in the
        read vector every count deviation is multiplied by :math:`1 + \delta`; dividing the
        margin by it keeps the per-label law fixed.

        Parameters
        ----------
        a_law : tuple of ndarray, shapes (A,) and (A,)
            Support and probabilities of the test token's count :math:`c_x`.

        Returns
        -------
        F, S2, weight : ndarray, flat, of length A x 4 x 3 x 3 x 96
            The effective correct value :math:`F'`, the variance :math:`S'^2` common to every
            wrong label, and the quadrature weight.
        """
        d, lam, tz = self.d, self.lam, self.t_z
        a, pa = a_law
        eps, we = chi2_nodes(d, 4)
        z1, w1 = normal_nodes(3)
        z2, w2 = chi2_nodes(d, 3)
        A, E, Z1, Z2 = (x.ravel() for x in np.meshgrid(a, eps, z1, z2, indexing="ij"))
        w = np.einsum("a,b,c,d->abcd", pa, we, w1, w2).ravel()
        alpha = Z1 * np.sqrt(E * Z2 / d)                         # z^T e_x given the norms
        scale = np.maximum(1.0 + tz * (Z2 - 1.0 + alpha), THETA_MIN)   # 1 + delta
        wx = A * (E + alpha) + tz * (A - lam) * scale            # correct read weight (3.19)
        R = np.maximum(E + tz * (Z2 + 2 * alpha),                # ||read vector||^2 >= 0
                       tz * (np.sqrt(E) - np.sqrt(Z2)) ** 2)
        # the embedding part of the wrong labels' weight energy scales with R
        Q = self.Q + self.Q_emb * (R / (1.0 + tz) - 1.0)
        # the V - 1 other counts sum to C - a: given a, their mean is lower by
        # (a - lam)/(V - 1), a shift of every wrong label's mean (in units of 1 + delta)
        shift = tz * (A - lam) / (self.V - 1)
        # common shift D/V of (3.2): its mean given the nodes is the correct label's read
        center = A * (E + alpha) / self.V
        return gram_nodes(wx, Q, lam**2 * R / d, scale, w, d, self.V, shift=shift,
                          center=center)


def gram_nodes(wx, Q, s2_common, scale, weight, d, V, n_chi=4, n_eta=8, n_q=3, shift=0.0,
               center=0.0):
    r"""Expand common nodes over the label-Gram quantities (docs/theory.md, eqs. 3.3, 3.21-3.23).

    Exactly, :math:`N f/\chi_w = w + \sigma_G P_\perp \xi` with :math:`\chi_w \sim
    \chi^2_d/d`, :math:`\sigma_G^2 = \|w\|^2/(d\chi_w)`, :math:`\xi \sim \mathcal N(0,
    I_V)` and :math:`P_\perp` the projection orthogonal to w.  Fixing the correct label's
    noise :math:`\xi_x` (code ``eta``) leaves the wrong labels independent with weights
    scaled by :math:`\theta` (eq. 3.21).  :math:`Q = \sum_{j \ne x} w_j^2` is a sum of
    V - 1 squares: it gets the factor :math:`\chi_Q \sim \chi^2_{V-1}/(V-1)` (eq. 3.24).

    Parameters
    ----------
    wx, Q, s2_common, scale, weight : flat arrays of one length
        Correct read weight, expected wrong-label energy, variance common to the wrong
        labels' weights, common factor of the count terms, quadrature weight.
    shift : flat array or scalar
        Amount by which the wrong labels' means are lower than their law says (added to F).
    center : flat array or scalar
        Mean of the common shift :math:`\bar w = \frac1V\sum_{x'} w'_{x'}` that ``wx`` and
        the wrong labels' law leave out.  It cancels from every margin, but the Gram factors
        (eqs. 3.21-3.23) belong to the centred weights :math:`w' - \bar w\mathbf 1` (the
        vector G acts on), so they are evaluated at :math:`w'_x - \bar w` and F is moved
        back by :math:`\bar w` (eq. 3.22b).

    Returns
    -------
    F, S2, weight : ndarray, flat, ``n_chi * n_eta * n_q`` times longer than ``wx``.
    """
    chi, wc = chi2_nodes(d, n_chi)
    eta, wh = normal_nodes(n_eta)
    q, wq = chi2_nodes(V - 1, n_q)
    inner = np.einsum("a,b,c->abc", wc, wh, wq).ravel()
    C, H, Qf = (x.ravel()[None, :] for x in np.meshgrid(chi, eta, q, indexing="ij"))
    wx, Q, s2c, sc, sh, cen = (np.broadcast_to(np.asarray(x, dtype=float), np.shape(wx))[:, None]
                               for x in (wx, Q, s2_common, scale, shift, center))
    wx = wx - cen                          # the centred correct weight
    # q is the radius of the wrong labels' Gaussian reads (common variance s2c each): it
    # scales their part of Q *and* their own variance, so a small Q means small wrong
    # weights (at small V the two are strongly dependent; at large V q -> 1)
    Qe = np.minimum((V - 1) * s2c, Q)
    Q = np.maximum(Q + Qe * (Qf - 1.0), 1e-300)
    s2c = s2c * Qf
    with np.errstate(over="ignore"):       # theta -> inf only where Q -> 0: S2 -> 0, harmless
        theta = np.minimum(np.maximum(T.gram_theta(w_x=wx, eta=H, d=d, chi_w=C, Q=Q),
                                      THETA_MIN), 1e100)
        F = (T.gram_correct(w_x=wx, eta=H, d=d, chi_w=C, Q=Q, theta=theta) + cen) / sc + sh
        S2 = (T.gram_noise(w_x=wx, Q=Q, d=d, chi_w=C, theta=theta) + s2c) / sc**2
    return F.ravel(), S2.ravel(), (weight[:, None] * inner[None, :]).ravel()


def recall(V, N, d, p_test=(1.0,), p_train=None, weights=(1.0,), leak=True,
           nonlocal_acc=None):
    r"""Accuracy of the three-step model per class of test tokens (eqs. 3.24-3.25, 3.27).

    Parameters
    ----------
    V, N, d : int
    p_test, p_train : array_like, shape (K,)
        Test and training localization probability of each token class (``p_train``
        defaults to ``p_test``; docs/theory.md, eq. 3.26).
    weights : array_like, shape (K,)
        Class weights, summing to 1.
    nonlocal_acc : float, optional
        Accuracy of a non-localized test sequence, when already computed.

    Returns
    -------
    dict
        ``recall_k`` (K,): accuracy of a localized test token of class k (eq. 3.24);
        ``nonlocal``: accuracy of a non-localized one (eq. 3.25);
        ``recall``: accuracy among localized tests; ``accuracy``: eq. 3.27;
        ``readout``: the :class:`GaussianReadout` used.
    """
    p_test = np.asarray(p_test, dtype=float)
    p_train = p_test if p_train is None else np.asarray(p_train, dtype=float)
    weights = np.asarray(weights, dtype=float)
    loc = GaussianReadout(V, N, d, p_train, weights, t_z=1, leak=leak)
    if len(loc.a_laws) == 1:
        r_k = np.array([_all_below(loc, loc.a_laws[0], V)])
    else:
        r_k = _by_class(loc, V)
    p_loc = float(np.dot(weights, p_test))
    if nonlocal_acc is None:
        nonlocal_acc = (nonlocal_accuracy(V, N, d, p_train, weights, leak)
                        if p_loc < 1 - 1e-9 else 0.0)
    acc = float(np.dot(weights, p_test * r_k)) + (1.0 - p_loc) * nonlocal_acc
    rec = float(np.dot(weights, p_test * r_k) / p_loc) if p_loc > 0 else float("nan")
    return {"recall_k": np.clip(r_k, 0, 1), "nonlocal": nonlocal_acc,
            "recall": min(max(rec, 0.0), 1.0) if p_loc > 0 else rec,
            "accuracy": min(max(acc, 0.0), 1.0), "readout": loc}


def nonlocal_accuracy(V, N, d, p_train=(1.0,), weights=(1.0,), leak=True):
    r"""Accuracy of a non-localized test sequence (docs/theory.md, eq. 3.25), a float.

    The read vector is a noise token's :math:`e_t`; its own label :math:`\pi^*(t)` plays the
    correct one (the same terms with ``t_z = 0``), and :math:`\pi^*(x)` is one of the
    V - 1 exchangeable others: accuracy :math:`= (1 - P(\pi^*(t)\text{ wins}))/(V - 1)`.
    """
    p_train = np.asarray(p_train, dtype=float)
    weights = np.asarray(weights, dtype=float)
    nl = GaussianReadout(V, N, d, p_train, weights, t_z=0, leak=leak)
    top = binomial_law(N, float(np.dot(weights, p_train)) / V, max_points=16, k=6.0)
    return (1.0 - _all_below(nl, top, V)) / (V - 1)


def _by_class(model, V, n_a=16):
    """Recall per class: the probability is computed on one grid of the test token's count
    and integrated against each class's binomial law (it is smooth in the count)."""
    lo = min(v[0] for v, _ in model.a_laws)
    hi = max(v[-1] for v, _ in model.a_laws)
    grid = np.unique(np.round(np.linspace(lo, hi, n_a))) if hi - lo > n_a else np.arange(
        lo, hi + 1.0)
    F, S2, w = model.nodes((grid, np.ones_like(grid)))
    mu, v, pc = model.label_law()
    good = all_below(F, S2, w, [(mu, v, pc, V - 1)]).reshape(grid.size, -1).sum(axis=1)
    out = []
    for p_k in model.p_train:
        x, px = binomial_law(model.N, p_k / V, max_points=4 * n_a, k=6.0)
        out.append(float(np.dot(px, np.interp(x, grid, good))))
    return np.array(out)


def _all_below(model, a_law, V):
    F, S2, w = model.nodes(a_law)
    mu, v, pc = model.label_law()
    return float(all_below(F, S2, w, [(mu, v, pc, V - 1)]).sum())
