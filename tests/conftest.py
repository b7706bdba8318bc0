"""Fixtures built from the named datasets in helpers.py. Each fixture builds fresh arrays."""

from __future__ import annotations

import os

# scikit-learn's check_array_api_input (run by test_sklearn_compat) skips itself unless
# SciPy's array-API support is on, which SciPy reads once at import: set it before any
# test module imports SciPy, so that the check runs instead of skipping.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import pytest

from helpers import make_blobs, make_problem


@pytest.fixture
def problem():
    return make_problem()


@pytest.fixture
def blobs():
    return make_blobs()
