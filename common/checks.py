"""Input validation shared by the theory and simulation APIs and command lines.

Every check raises ``ValueError`` with a one-line message; the command lines print that
line on stderr and exit with status 2.
"""
from __future__ import annotations

import math
import os
import numbers

import numpy as np

EMBEDDINGS = ("gaussian", "orthogonal")
ACTIVATIONS = ("relu", "he2")


def check_int(name: str, value, minimum: int = 1) -> int:
    """Return ``value`` as ``int`` if it is an integer ``>= minimum``, else raise ValueError.

    An integral float (``32.0``) counts as an integer; a bool (``True``), a non-integral or
    non-finite float and anything that is not a number do not.
    """
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be an integer >= {minimum}, got the boolean {value!r}")
    if not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def check_positive(name: str, value, allow_zero: bool = False) -> float:
    """Return ``value`` as a finite float ``> 0`` (or ``>= 0``), else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {value}")
    return value


def check_fraction(name: str, value) -> float:
    """Return ``value`` as a float in the open interval (0, 1), else raise ValueError."""
    value = check_positive(name, value)
    if not value < 1:
        raise ValueError(f"{name} must lie in (0, 1), got {value}")
    return value


def check_choice(name: str, value, choices) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def check_config(V, d, L, m=None, embeddings="gaussian", activation="relu", N=None):
    """Validate a model configuration; return it normalised as a dict.

    Raises ValueError for V < 2, d < 1, L < 1, m < 1, N < 1, unknown embeddings or
    activation, and orthogonal embeddings with d < 2V + 2 (the 2V + 2 vectors E, U,
    z_trig, z_eos cannot be orthonormal in fewer dimensions).
    """
    out = {
        "V": check_int("V", V, 2),
        "d": check_int("d", d, 1),
        "L": check_int("L", L, 1),
        "m": None if m is None else check_int("m", m, 1),
        "embeddings": check_choice("embeddings", embeddings, EMBEDDINGS),
        "activation": check_choice("activation", activation, ACTIVATIONS),
    }
    if N is not None:
        out["N"] = check_int("N", N, 1)
    if out["embeddings"] == "orthogonal" and out["d"] < 2 * out["V"] + 2:
        raise ValueError(
            f"orthogonal embeddings need d >= 2V+2 = {2 * out['V'] + 2}, got d={out['d']}")
    return out


def memory_limit() -> int:
    """Bytes one allocation may take: 80% of the machine's physical memory (the
    environment variable ``RECALL_MEMORY_LIMIT_GIB`` lowers or raises it)."""
    env = os.environ.get("RECALL_MEMORY_LIMIT_GIB")
    if env:
        try:
            return int(float(env) * 2**30)
        except ValueError:
            raise ValueError(f"RECALL_MEMORY_LIMIT_GIB must be a number, got {env!r}") from None
    try:
        return int(0.8 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):          # not a POSIX system: no limit
        return 2**62


def check_memory(what: str, nbytes: float) -> None:
    """Refuse up front, with a one-line ValueError, work whose arrays would take more than
    :func:`memory_limit` bytes (``nbytes`` is the caller's estimate)."""
    limit = memory_limit()
    if nbytes > limit:
        raise ValueError(f"{what} needs about {nbytes / 2**30:.3g} GiB of memory, more than "
                         f"the limit of {limit / 2**30:.3g} GiB (RECALL_MEMORY_LIMIT_GIB)")


def check_seed(value) -> int:
    """A seed: an integer >= 0 (one-line ValueError otherwise, e.g. for 1.5 or True)."""
    return check_int("seed", value, 0)
