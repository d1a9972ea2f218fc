r"""Measurement functions beyond :func:`simulate.sweep.measure_point`, for :func:`run_sweep`.

Every function draws its task, training data and test data exactly as
:func:`~simulate.sweep.measure_point` does (children 0, 1, 2 of the point's seed
sequence), so a point measured here and by ``measure_point`` under the same configuration
sees the same task and the same samples: the decoder, the per-step models and the
finite step sizes are compared with the transformer on common random numbers.

All functions are module level (process pools pickle them) and return JSON-compatible dicts.
"""
from __future__ import annotations

import numpy as np

from simulate import Params, Task, evaluate, gradient_descent, sample, three_step
from simulate.decoder import decoder_accuracy
from simulate.sweep import _child  # the child derivation measure_point uses; shared on purpose

_TASK_KEYS = ("V", "d", "L", "m", "embeddings", "activation")


def _task_data(config, seed_seq):
    """Task, training set and test generator of a point, as ``measure_point`` draws them."""
    task_seed = int(_child(seed_seq, 0).generate_state(1, np.uint64)[0])
    task = Task(**{k: config[k] for k in _TASK_KEYS if config.get(k) is not None},
                seed=task_seed)
    data = sample(task, config["N"], np.random.default_rng(_child(seed_seq, 1)))
    return task, data, _child(seed_seq, 2)


def _cos(A, B) -> float:
    """Cosine between two matrices (Frobenius inner product); NaN if either is zero."""
    na, nb = np.linalg.norm(A), np.linalg.norm(B)
    return float(np.sum(A * B) / (na * nb)) if na > 0 and nb > 0 else float("nan")


def measure_decoder(config, seed_seq) -> dict:
    r"""Accuracy of the whitened and plain assignment decoders of the initial gradient.

    ``config``: ``V, d, L, N`` (and ``m``, ``embeddings``) as for ``measure_point``.  The
    gradient at initialization is minus :math:`W_V^{(1)}/\eta` of the limit's first step,
    which :func:`three_step` forms from sufficient statistics in O(NL) time.
    """
    task, data, test = _task_data(config, seed_seq)
    G = -three_step(task, data, limit=True).steps[0][0]                 # (d, width)
    rng = np.random.default_rng(test)                                   # MLP moments only
    return {m: decoder_accuracy(task, data, method=m, rng=rng, G=G) for m in ("whitened", "plain")}


def measure_steps(config, seed_seq) -> dict:
    """Accuracy, localization and attention weight of the limit model after each step.

    Step 1 reads out :math:`W_V^{(1)}` under uniform attention, step 2 the same read-out
    under the step-2 (hard) attention, step 3 the final model.  Every step is evaluated
    on the same test sequences.  Returns lists of length 3.
    """
    task, data, test = _task_data(config, seed_seq)
    params = three_step(task, data, limit=True)
    out = {"accuracy": [], "localization": [], "attention_weight": []}
    for W_v, W_kq, hard in params.steps:
        res = evaluate(task, Params(W_v=W_v, W_kq=W_kq, hard=hard),
                       np.random.default_rng(test), reps=config.get("reps", 1))
        for k in out:
            out[k].append(res[k])
    return out


def measure_finite(config, seed_seq) -> dict:
    """Finite step sizes ``eta`` and ``gamma = gamma_eta / eta`` against the limit.

    Both run on the same task and data (``gamma_v = gamma``).
    Returns the finite model's ``accuracy``, ``localization``, ``attention_weight``, the
    limit's ``accuracy_limit`` and the cosines ``cos_v``, ``cos_kq`` between the finite
    and the limit weights (the limit is defined up to a positive scale).
    """
    task, data, test = _task_data(config, seed_seq)
    finite = three_step(task, data, eta=config["eta"], gamma=config["gamma_eta"] / config["eta"])
    limit = three_step(task, data, limit=True)
    reps = config.get("reps", 1)
    res = evaluate(task, finite, np.random.default_rng(test), reps=reps)
    res_lim = evaluate(task, limit, np.random.default_rng(test), reps=reps)
    return {"accuracy": res["accuracy"], "localization": res["localization"],
            "attention_weight": res["attention_weight"], "accuracy_limit": res_lim["accuracy"],
            "cos_v": _cos(finite.W_v, limit.W_v), "cos_kq": _cos(finite.W_kq, limit.W_kq)}


def checkpoints(T: int, n: int = 14) -> np.ndarray:
    """Log-spaced GD steps 1..T at which :func:`measure_gd` evaluates."""
    return np.unique(np.geomspace(1, T, n).round().astype(int))


def measure_gd(config, seed_seq) -> dict:
    """Full-batch GD from zero for ``T`` steps of size ``lr`` (soft attention).

    Evaluates at :func:`checkpoints` (T) on the same test sequences; returns lists ``t``,
    ``accuracy``, ``localization``, ``attention_weight`` and ``loss`` (training loss before
    the step).
    """
    task, data, test = _task_data(config, seed_seq)
    marks = set(checkpoints(config["T"]).tolist())
    out = {"t": [], "accuracy": [], "localization": [], "attention_weight": [], "loss": []}

    def record(t, loss, params):
        if t + 1 in marks:                                # t counts from 0
            res = evaluate(task, params, np.random.default_rng(test), reps=config.get("reps", 1))
            out["t"].append(t + 1)
            out["loss"].append(float(loss))
            for k in ("accuracy", "localization", "attention_weight"):
                out[k].append(res[k])

    gradient_descent(task, data, config["T"], config["lr"], callback=record)
    return out
