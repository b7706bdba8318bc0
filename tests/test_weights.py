"""Sample weights: an integer weight k is exactly k copies of the row, for the full-batch loss."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import make_problem
from linclf import softmax_loss, svm_loss


@pytest.mark.parametrize("loss", [svm_loss, softmax_loss], ids=["svm", "softmax"])
@pytest.mark.parametrize("reg", [0.0, 0.1])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_integer_weights_equal_repeated_rows(loss, reg, seed):
    # Acceptance item 6: Σ k_i L_i / Σ k_i over the rows equals the plain mean over the
    # rows repeated k_i times (k_i = 0 drops the row). Same math, different order of the
    # float64 sums: equal to 1e-12.
    W, b, X, y, _ = make_problem(seed=seed)
    k = np.random.default_rng(seed).integers(0, 4, size=X.shape[0])
    k[0] = max(k[0], 1)
    weighted = loss(W, b, X, y, reg, sample_weight=k)
    repeated = loss(W, b, np.repeat(X, k, axis=0), np.repeat(y, k), reg)
    assert weighted[0] == pytest.approx(repeated[0], rel=1e-12)
    np.testing.assert_allclose(weighted[1], repeated[1], rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(weighted[2], repeated[2], rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("loss", [svm_loss, softmax_loss], ids=["svm", "softmax"])
def test_scaling_all_weights_changes_nothing(loss):
    # The weights are normalized: w and 7w give the same objective and gradients.
    W, b, X, y, w = make_problem(seed=5)
    a = loss(W, b, X, y, 0.1, sample_weight=w)
    c = loss(W, b, X, y, 0.1, sample_weight=7 * w)
    assert a[0] == pytest.approx(c[0], rel=1e-13)
    np.testing.assert_allclose(a[1], c[1], rtol=1e-12)
