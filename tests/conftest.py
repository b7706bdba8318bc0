"""Fixtures built from the named datasets in helpers.py. Each fixture builds fresh arrays."""

from __future__ import annotations

import os

# scikit-learn's check_array_api_input (run by test_sklearn_compat) skips itself unless
# SciPy's array-API support is on, which SciPy reads once at import: set it before any
# test module imports SciPy, so that the check runs instead of skipping.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import pytest

from helpers import make_blobs, make_problem

try:
    from hypothesis import settings
except ImportError:  # tests/test_properties.py skips itself without Hypothesis
    settings = None

# "ci" (the default, so that a plain `python -m pytest` runs it): 200 examples per property,
# the same examples on every run, no example database written into the repository, and a
# reproduction blob printed with any failure. "dev": a quick local run on fresh examples.
HYPOTHESIS_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
if settings is not None:
    settings.register_profile(
        "ci", max_examples=200, deadline=None, derandomize=True, database=None, print_blob=True
    )
    settings.register_profile("dev", max_examples=20, deadline=None, database=None, print_blob=True)
    settings.load_profile(HYPOTHESIS_PROFILE)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "property: a Hypothesis property test (counted in the reliability summary)"
    )
    config.addinivalue_line(
        "markers", "bad_input: a bad-input case (counted in the reliability summary)"
    )


def _is_bad_input(report):
    # Every test of test_validation.py is a bad input at the public boundary; elsewhere
    # the cases carry the bad_input marker.
    return report.nodeid.split("::")[0].endswith("test_validation.py") or (
        "bad_input" in report.keywords
    )


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    ran = [
        report
        for outcome in ("passed", "failed")
        for report in terminalreporter.stats.get(outcome, [])
        if getattr(report, "when", None) == "call"
    ]
    n_bad_input = sum(_is_bad_input(report) for report in ran)
    n_properties = sum("property" in report.keywords for report in ran)
    profile = config.getoption("hypothesis_profile", None) or HYPOTHESIS_PROFILE
    terminalreporter.write_line(
        f"linclf reliability: {n_bad_input} bad-input cases tested, "
        f"{n_properties} property tests (hypothesis profile {profile})"
    )


@pytest.fixture
def problem():
    return make_problem()


@pytest.fixture
def blobs():
    return make_blobs()
