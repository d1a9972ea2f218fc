r"""The three-step early-phase algorithm of docs/model.md, section 4, at finite step sizes and in the limit.

Finite steps, all on the same N samples, from :math:`W_V^{(0)} = 0, W_{KQ}^{(0)} = 0`:

.. math::
    W_V^{(1)} = -\eta \nabla_{W_V}\hat L(0, 0),\quad
    W_{KQ}^{(1)} = -\gamma \nabla_{W_{KQ}}\hat L(W_V^{(1)}, 0),\quad
    W_V^{(2)} = W_V^{(1)} - \gamma_v \nabla_{W_V}\hat L(W_V^{(1)}, W_{KQ}^{(1)}).

Limit :math:`\eta\to0,\ \gamma\to\infty,\ \gamma\eta\to\infty`: the logits are
:math:`O(\eta)`, so every gradient is taken at uniform label probabilities; the W_KQ
gradient is linear in :math:`W_V^{(1)}`, so its direction is that of
:math:`\nabla_{W_{KQ}}\hat L(W_V^{(1)}/\eta, 0)`; the scores grow like :math:`\gamma\eta`, so
attention is the argmax (uniform over ties); :math:`W_V^{(2)}` is dominated by the step-3
gradient because :math:`\|W_V^{(1)}\| / \gamma_v = O(\eta/\gamma) \to 0`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from common.checks import check_positive

from .fast import limit_three_step
from .model import grads


@dataclass(frozen=True)
class Params:
    """Trained weights. ``hard`` selects hard (argmax) attention at evaluation.

    ``steps`` holds the intermediate models ``(W_v, W_kq, hard)`` after steps 1, 2 and 3.
    """

    W_v: np.ndarray
    W_kq: np.ndarray
    hard: bool = False
    steps: tuple = field(default=(), repr=False)


def _unit(M):
    n = np.linalg.norm(M)
    return M / n if n > 0 else M


def three_step(task, data, eta=None, gamma=None, gamma_v=None, limit=False):
    r"""Run the three early-phase steps.

    Parameters
    ----------
    task, data : Task, Dataset
    eta, gamma : float
        Step sizes of steps 1 and 2 (required unless ``limit``).
    gamma_v : float, optional
        Step size of step 3; defaults to ``gamma``.
    limit : bool
        Return the early-phase limit instead: ``W_v`` is
        :math:`-\nabla_{W_V}\hat L` of step 3 at uniform label probabilities and hard
        attention; ``W_kq`` is the unit-norm step-2 direction; ``hard`` is True.

    Returns
    -------
    Params
        ``W_v`` (d, width), ``W_kq`` (d, d), ``hard`` and the per-step models.
    """
    _check_data(task, data, limit)
    zero_v = np.zeros((task.d, task.width))
    zero_kq = np.zeros((task.d, task.d))
    if limit:
        if eta is not None or gamma is not None or gamma_v is not None:
            raise ValueError("limit=True takes no step sizes (eta, gamma, gamma_v)")
        # sufficient statistics (simulate.fast); _limit_per_sample is the reference
        W_v1, W_kq, W_v = limit_three_step(task, data)
        steps = ((W_v1, zero_kq, False), (W_v1, W_kq, True), (W_v, W_kq, True))
        return Params(W_v=W_v, W_kq=W_kq, hard=True, steps=steps)
    if eta is None or gamma is None:
        raise ValueError("three_step needs eta and gamma, or limit=True")
    eta = check_positive("eta", eta)
    gamma = check_positive("gamma", gamma)
    gamma_v = gamma if gamma_v is None else check_positive("gamma_v", gamma_v)
    _, g1, _ = grads(task, data, zero_v, zero_kq, want_kq=False)
    W_v1 = -eta * g1
    _, _, g2 = grads(task, data, W_v1, zero_kq)
    with np.errstate(over="ignore"):                            # reported below as ValueError
        W_kq1 = -gamma * g2
    _check_finite(W_kq1)
    _, g3, _ = grads(task, data, W_v1, W_kq1, want_kq=False)
    with np.errstate(over="ignore", invalid="ignore"):
        W_v2 = W_v1 - gamma_v * g3
    _check_finite(W_v2)
    steps = ((W_v1, zero_kq, False), (W_v1, W_kq1, False), (W_v2, W_kq1, False))
    return Params(W_v=W_v2, W_kq=W_kq1, hard=False, steps=steps)


def _check_data(task, data, limit):
    """One-line ValueError for data that do not fit the task, before any index is used."""
    tok, pos, lab = (np.asarray(a) for a in (data.tokens, data.pos, data.labels))
    N = tok.shape[0] if tok.ndim else -1
    if tok.ndim != 2 or tok.shape[1] != task.L or pos.shape != (N,) or lab.shape != (N,):
        raise ValueError(f"data must hold tokens (N, {task.L}), pos (N,) and labels (N,)")
    if not all(np.issubdtype(a.dtype, np.integer) for a in (tok, pos, lab)):
        raise ValueError("data tokens, pos and labels must be integer arrays")
    for name, a, hi in (("token", tok, task.V), ("position", pos, task.L), ("label", lab, task.V)):
        # one pass: negative ids are huge as unsigned integers of the same width
        if a.size and a.view(a.dtype.str.replace("i", "u")).max() >= hi:
            raise ValueError(f"data {name} ids must lie in [0, {hi}), got [{a.min()}, {a.max()}]")
    if limit and not np.array_equal(lab, task.perm[tok[np.arange(len(pos)), pos]]):
        raise ValueError("limit=True needs labels equal to the facts of the informative tokens")


def _check_finite(W):
    if not np.all(np.isfinite(W)):
        raise ValueError("step sizes overflow float64; use smaller eta/gamma or limit=True")


def _limit_per_sample(task, data):
    """The limit through the per-sample gradients of :func:`simulate.model.grads` (tests' reference)."""
    zero_v = np.zeros((task.d, task.width))
    zero_kq = np.zeros((task.d, task.d))
    _, g1, _ = grads(task, data, zero_v, zero_kq, uniform_probs=True, want_kq=False)
    W_v1 = -g1                                                  # W_V^(1) / eta
    _, _, g2 = grads(task, data, W_v1, zero_kq, uniform_probs=True)
    W_kq = _unit(-g2)                                           # direction of W_KQ^(1)
    _, g3, _ = grads(task, data, W_v1, W_kq, hard=True, uniform_probs=True, want_kq=False)
    W_v = -g3
    steps = ((W_v1, zero_kq, False), (W_v1, W_kq, True), (W_v, W_kq, True))
    return Params(W_v=W_v, W_kq=W_kq, hard=True, steps=steps)
