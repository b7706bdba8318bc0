"""Every reliability case of tests/reliability_cases.py, run, and docs/reliability.md current.

``test_case`` runs each case through each of its entry points: the call raises (or warns)
the case's error with a message matching its pattern, or, for an accepted input, the call's
own assertions pass. The page is written from the same dicts by tools/reliability_table.py,
so it lists exactly what runs here; the last tests fail while it is stale.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from reliability_cases import CASES, GAPS, SECTIONS

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "reliability.md"


@pytest.mark.bad_input
@pytest.mark.parametrize(
    ("key", "entry"), [(key, e) for key, case in CASES.items() for e in case.calls]
)
def test_case(key, entry):
    # One case through one entry point; its key and entry are the test id.
    case = CASES[key]
    call = case.calls[entry]
    if case.error is None:
        call()
    elif issubclass(case.error, Warning):
        with pytest.warns(case.error, match=case.match):
            call()
    else:
        with pytest.raises(case.error, match=case.match):
            call()


def test_every_case_says_what_it_asserts():
    # A case without an error states its outcome in words (the page's Outcome column), and
    # no key is in two sections (the test ids would collide).
    assert all(case.error or case.outcome for case in CASES.values())
    assert len(CASES) == sum(len(cases) for cases in SECTIONS.values())


def test_known_gaps_are_still_open():
    # Each gap's check asserts the behaviour the gap should have and must fail today: a fix
    # fails here, so that the row (and the page) cannot outlive the gap. None are open now.
    for key, gap in GAPS.items():
        with pytest.raises(Exception):  # noqa: B017 (any failure of the check)
            gap.check()
        assert key in reliability_page_text(), key


def reliability_page_text() -> str:
    return PAGE.read_text(encoding="utf-8")


# The bad inputs the issue that introduced the page asked for, each with the cases that
# cover it: deleting or renaming one of them fails here.
REQUIRED = {
    "NaN in X": ["X: nan"],
    "±inf in X": ["X: +inf", "X: -inf"],
    "NaN in y": ["y: nan"],
    "complex X": ["X: complex"],
    "object arrays of numbers (accepted)": ["X: object array of numbers"],
    "strings/bytes as features": ["X: strings", "X: bytes"],
    "0 samples": ["X: 0 samples"],
    "0 features": ["X: 0 features"],
    "1-D X": ["X: 1-D"],
    "3-D X": ["X: 3-D"],
    "a single class": ["labels: single class"],
    "continuous y": ["labels: continuous"],
    "y of shape (n, 1)": ["y: shape (n, 1)"],
    "y of shape (n, 2)": ["y: shape (n, 2)"],
    "len(X) ≠ len(y)": ["y: too short", "y: too long"],
    "y=None": ["y: None"],
    "wrong number of features after fit": ["X: wrong number of features after fit"],
    "labels at partial_fit not in classes": ["partial_fit: labels not in classes"],
    "classes changed between partial_fit calls": ["partial_fit: classes changed between calls"],
    "all-zero sample weights": ["sample_weight: all zero"],
    "sample weights of wrong shape": ["sample_weight: too short", "sample_weight: column"],
    "negative sample weights": ["sample_weight: one negative"],
    "learning_rate ≤ 0": [
        "hyperparameter: learning_rate=0.0",
        "hyperparameter: learning_rate=-0.1",
    ],
    "momentum outside [0, 1)": ["hyperparameter: momentum=1.0", "hyperparameter: momentum=-0.1"],
    "batch_size < 1": ["hyperparameter: batch_size=0"],
    "nesterov without momentum": ["hyperparameter: nesterov=True, momentum=0.0"],
    "unknown loss": ["loss: unknown name", "loss: unknown name (functional)"],
    "read-only input (never written to)": ["layout: C float64", "layout: C float32"],
    "Fortran-ordered input (never written to)": ["layout: F float64", "layout: F float32"],
    "np.matrix (accepted)": ["container: np.matrix"],
    "lists (accepted)": ["container: lists"],
    "pandas objects (accepted)": ["container: pandas", "container: pandas mixed dtypes"],
    "the caller's arrays never modified": ["caller's arrays", "loss function's arrays"],
}


@pytest.mark.parametrize("requirement", REQUIRED)
def test_every_required_bad_input_is_a_case(requirement):
    missing = [key for key in REQUIRED[requirement] if key not in CASES]
    assert missing == [], f"{requirement!r}: no case {missing}"


@pytest.mark.slow  # collects the whole suite in a child process
def test_docs_reliability_md_is_current():
    # In a subprocess, as a maintainer runs it: a case added, changed or removed without
    # regenerating the page fails here. (In-process, the tool's module would also join the
    # constants Hypothesis draws examples from, and only in the runs that collect this file.)
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "reliability_table.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_tests_the_page_names_exist():
    # The prose names tests of other files: each must still be defined there.
    named = set(re.findall(r"`(tests/\w+\.py)::(\w+)`", PAGE.read_text()))
    assert named, "the page names no test: the pattern above is out of date"
    missing = [
        f"{path}::{name}"
        for path, name in sorted(named)
        if not re.search(rf"^def {name}\(", (ROOT / path).read_text(), flags=re.MULTILINE)
    ]
    assert missing == []
