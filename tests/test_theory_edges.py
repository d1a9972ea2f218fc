"""Edge cases of the theory API found while drawing the figures."""
import math

import numpy as np
import pytest

from theory import capacity, predict
from theory.accuracy import binomial_law


def test_binomial_law_survives_vanishing_probabilities():
    x, p = binomial_law(316, 1e-300)          # scipy's binom.pmf overflows here
    assert abs(p.sum() - 1) < 1e-12 and x[p.argmax()] == 0


def test_predict_is_finite_where_localization_is_almost_impossible():
    acc = predict(V=64, N=316, d=128, L=256)["accuracy"]
    assert math.isfinite(acc) and 0 <= acc < 0.2


def test_capacity_does_not_stop_at_a_failing_V_2():
    # V = 2 misses 0.9 at d = 32 while somewhat larger vocabularies pass
    assert capacity(1000, 32, 8) >= 4


def test_all_below_rejects_a_negative_total_variance():
    """A wrong label's own variance may be negative when S2 carries a common part, but the
    total v_j + S2 must be a variance: no silent clipping."""
    from theory.accuracy import all_below
    F, w = np.array([1.0, 2.0]), np.array([0.5, 0.5])
    ok = all_below(F, np.array([1.0, 1.0]), w, [(np.zeros(1), np.array([-0.5]), np.ones(1), 3)])
    assert np.all((ok >= 0) & (ok <= 0.5))
    with pytest.raises(ValueError, match="negative total variance"):
        all_below(F, np.array([1.0, 0.2]), w, [(np.zeros(1), np.array([-0.5]), np.ones(1), 3)])
    with pytest.raises(ValueError, match="negative total variance"):
        all_below(F, np.array([-1.0, 1.0]), w, [(np.zeros(1), np.zeros(1), np.ones(1), 3)])
