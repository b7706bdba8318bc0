"""Fixtures built from the named datasets in helpers.py. Each fixture builds fresh arrays."""

from __future__ import annotations

import os
import random

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

# "quick" (the default, so that the README's `python -m pytest` stays fast): 25 examples
# per property; "ci" (what .ci/run runs after it, HYPOTHESIS_PROFILE=ci): 200. Both draw
# the same examples on every run, write no example database into the repository, and
# print a reproduction blob with any failure. "dev": a quick local run on fresh examples.
HYPOTHESIS_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "quick")
if settings is not None:
    for name, examples in (("quick", 25), ("ci", 200)):
        settings.register_profile(
            name,
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            print_blob=True,
        )
    settings.register_profile("dev", max_examples=20, deadline=None, database=None, print_blob=True)
    settings.load_profile(HYPOTHESIS_PROFILE)


def _empty_hypothesis_constant_pool():
    """Make the examples a function of each test's source and Hypothesis' version alone.

    Hypothesis draws about one value in 20 from a pool of constants it reads from the
    source of every loaded module outside the tests, site-packages and the standard
    library. Which modules a run has loaded (the files collected, their order, an editable
    install or a wheel) then changed the examples of the derandomized ci profile: a property
    failed in the full run and passed alone. Hypothesis has no setting for the pool, so the
    one function that builds it returns an empty pool; test_properties.py checks that it
    does (a Hypothesis that renamed it fails there, not silently).
    """
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants
    except ImportError:
        return
    if hasattr(providers, "_get_local_constants"):
        empty = Constants()
        providers._get_local_constants = lambda: empty


if settings is not None:
    _empty_hypothesis_constant_pool()


SHUFFLE_SEED_ENV = "LINCLF_TEST_SHUFFLE_SEED"


def pytest_addoption(parser):
    parser.addoption(
        "--shuffle-seed",
        type=int,
        default=None,
        help="run the test modules, and the tests within each, in an order shuffled with "
        f"random.Random(SEED), to find order dependencies (default: ${SHUFFLE_SEED_ENV}, "
        "else the collected order)",
    )


def _shuffle_seed(config):
    """The --shuffle-seed, else $LINCLF_TEST_SHUFFLE_SEED, else None (no shuffling)."""
    seed = config.getoption("shuffle_seed")
    if seed is not None:
        return seed
    value = os.environ.get(SHUFFLE_SEED_ENV, "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise pytest.UsageError(
            f"{SHUFFLE_SEED_ENV} must be an integer seed, got {value!r}"
        ) from None


def _shuffle_line(config):
    seed = _shuffle_seed(config)
    if seed is None:
        return "test order: as collected (shuffle with --shuffle-seed=N)"
    return f"test order: shuffled with --shuffle-seed={seed}"


def pytest_report_header(config):
    return _shuffle_line(config)


def pytest_collection_modifyitems(session, config, items):
    # Modules in a shuffled order, and the tests of each module in a shuffled order: every
    # module stays contiguous, so its module-scoped fixtures are set up once.
    seed = _shuffle_seed(config)
    if seed is None:
        return
    rng = random.Random(seed)
    modules = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::")[0], []).append(item)
    order = list(modules.values())
    rng.shuffle(order)
    for module_items in order:
        rng.shuffle(module_items)
    items[:] = [item for module_items in order for item in module_items]


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
    if _shuffle_seed(config) is not None:  # -q hides the header: repeat the seed here
        terminalreporter.write_line(_shuffle_line(config))
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
