"""The bundled digits are the real data set: same numbers as scikit-learn's copy."""

from __future__ import annotations

import numpy as np
import pytest

from linclf.datasets import load_digits


def test_digits_equal_scikit_learns_copy():
    X, y = load_digits()
    sklearn_datasets = pytest.importorskip("sklearn.datasets")  # the reference copy
    X_ref, y_ref = sklearn_datasets.load_digits(return_X_y=True)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)
    assert X.dtype == np.float64 and y.dtype == np.int64


def test_digits_returns_fresh_arrays():
    # Callers may modify what they get without affecting the next load.
    X, _ = load_digits()
    X[:] = -1
    assert load_digits()[0].min() == 0
