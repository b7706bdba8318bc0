"""Fixtures built from the named datasets in helpers.py. Each fixture builds fresh arrays."""

from __future__ import annotations

import pytest

from helpers import make_blobs, make_problem


@pytest.fixture
def problem():
    return make_problem()


@pytest.fixture
def blobs():
    return make_blobs()
