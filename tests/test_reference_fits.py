"""Restructuring must not move a single bit of a trained model.

``tests/data/reference_fits.npz`` holds ``coef_`` and ``intercept_`` of every case of
``reference_grid.CASES``, recorded by the code of commit 6b21edc, before issue 10's
restructure; the code of today must reproduce them exactly. Exact equality is the right
assertion: same data, same seed, same operations in the same order on one machine give
the same floating-point results, and any reordering of a sum shows up here.

The reference is the NumPy path's, so the cases run on it (``LINCLF_KERNEL=numpy``); the
compiled kernel sums in another order, and tests/test_compiled.py holds it to the NumPy
path within rounding and to itself bit for bit.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from reference_grid import CASES

REFERENCE = np.load(Path(__file__).parent / "data" / "reference_fits.npz")


@pytest.fixture(autouse=True)
def numpy_path(monkeypatch):
    monkeypatch.setenv("LINCLF_KERNEL", "numpy")


@pytest.mark.parametrize("name", sorted(CASES))
def test_coefficients_are_bit_identical_to_the_reference(name, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short runs warn that they did not converge
        est = CASES[name](tmp_path)
    np.testing.assert_array_equal(est.coef_, REFERENCE[f"{name}.coef"])
    np.testing.assert_array_equal(est.intercept_, REFERENCE[f"{name}.intercept"])
    assert est.coef_.dtype == REFERENCE[f"{name}.coef"].dtype


def test_the_reference_is_not_trivial():
    # A reference of zeros (an untrained model) would make the test above vacuous.
    for name in CASES:
        assert np.abs(REFERENCE[f"{name}.coef"]).max() > 1e-3, name
