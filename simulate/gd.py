r"""Plain full-batch gradient descent on both matrices, beyond the early phase (docs/model.md, section 4)."""
from __future__ import annotations

import numpy as np

from common.checks import check_int, check_positive

from .early_phase import Params
from .model import grads


def gradient_descent(task, data, T, lr, lr_kq=None, init=None, callback=None):
    r"""Run T steps of :math:`W \leftarrow W - \mathrm{lr}\,\nabla \hat L` on (W_V, W_KQ).

    Parameters
    ----------
    T : int
        Number of steps (>= 0).
    lr, lr_kq : float
        Step sizes of W_V and W_KQ (``lr_kq`` defaults to ``lr``).
    init : Params, optional
        Starting point (soft attention is used whatever ``init.hard`` says); zeros by default.
    callback : callable, optional
        Called as ``callback(t, loss, params)`` after every step.

    Returns
    -------
    params : Params
        Final weights (soft attention).
    losses : ndarray, shape (T,)
        Training loss before each step.
    """
    T = check_int("T", T, 0)
    lr = check_positive("lr", lr)
    lr_kq = lr if lr_kq is None else check_positive("lr_kq", lr_kq)
    if init is None:
        W_v, W_kq = np.zeros((task.d, task.width)), np.zeros((task.d, task.d))
    else:
        W_v, W_kq = np.array(init.W_v, dtype=float), np.array(init.W_kq, dtype=float)
    losses = np.empty(T)
    for t in range(T):
        losses[t], g_v, g_kq = grads(task, data, W_v, W_kq)
        W_v = W_v - lr * g_v
        W_kq = W_kq - lr_kq * g_kq
        if callback is not None:
            callback(t, losses[t], Params(W_v=W_v, W_kq=W_kq))
    return Params(W_v=W_v, W_kq=W_kq), losses
