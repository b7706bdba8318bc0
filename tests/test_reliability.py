"""The bad-input cases outside test_validation.py's tables, and docs/reliability.md kept current.

test_validation.py tests LinearSVM, svm_loss and Trainer.fit; here the same case tables
(imported from it) run through the softmax side (SoftmaxClassifier, softmax_loss and its
loop twin), ``CASES`` holds the cases no other test asserts, ``REFERENCED`` names the
tests elsewhere that assert a case without a table, and ``KNOWN_GAPS`` lists the bad
inputs linclf does not handle yet (strict xfails, so that a fix shows).
``tools/reliability_table.py`` reads all of them, with the node ids pytest collects, into
docs/reliability.md; the last tests here rebuild that page in memory and compare it with
the file, so a case added without regenerating the page fails."""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from linclf import (
    SGD,
    LinearObjective,
    LinearSVM,
    SoftmaxClassifier,
    Trainer,
    linear_objective,
    multiclass_hinge,
    softmax,
    softmax_loss,
    softmax_loss_naive,
    svm_loss,
    svm_loss_naive,
)
from test_validation import (
    BAD_LABELS,
    BAD_SAMPLE_WEIGHT,
    BAD_X,
    BAD_Y_ANY_ENTRY,
    FAST,
    LAYOUTS,
    make_data,
    make_params,
    read_only,
)

ROOT = Path(__file__).resolve().parents[1]


def softmax_fitted():
    X, y, _ = make_data()
    return SoftmaxClassifier(**FAST).fit(X, y)


def call_softmax_fit(X, y, sample_weight=None):
    return SoftmaxClassifier(**FAST).fit(X, y, sample_weight).coef_


def call_softmax_loss(X, y, sample_weight=None):
    W, b = make_params()
    return softmax_loss(W, b, X, y, reg=0.1, sample_weight=sample_weight)[0]


def call_softmax_loss_naive(X, y, sample_weight=None):
    W, b = make_params()
    return softmax_loss_naive(W, b, X, y, reg=0.1, sample_weight=sample_weight)[0]


SOFTMAX_XY_ENTRY_POINTS = {
    "SoftmaxClassifier.fit": call_softmax_fit,
    "softmax_loss": call_softmax_loss,
    "softmax_loss_naive": call_softmax_loss_naive,
}
SOFTMAX_X_ENTRY_POINTS = {
    **{
        name: lambda X, call=call: call(X, make_data()[1])
        for name, call in SOFTMAX_XY_ENTRY_POINTS.items()
    },
    "SoftmaxClassifier.predict_proba": lambda X: softmax_fitted().predict_proba(X),
    "SoftmaxClassifier.predict_log_proba": lambda X: softmax_fitted().predict_log_proba(X),
}


@pytest.mark.bad_input
@pytest.mark.parametrize("entry", SOFTMAX_X_ENTRY_POINTS)
@pytest.mark.parametrize("case", BAD_X)
def test_softmax_side_rejects_bad_X_in_the_same_words(entry, case):
    # The softmax estimator and losses report a bad X exactly as LinearSVM and svm_loss do.
    make_X, exc, match = BAD_X[case]
    with pytest.raises(exc, match=match):
        SOFTMAX_X_ENTRY_POINTS[entry](make_X())


@pytest.mark.bad_input
@pytest.mark.parametrize("entry", SOFTMAX_XY_ENTRY_POINTS)
@pytest.mark.parametrize("case", BAD_Y_ANY_ENTRY)
def test_softmax_side_rejects_bad_y_in_the_same_words(entry, case):
    # Missing, non-finite, 2-column or wrong-length targets, as on the SVM side.
    make_y, match = BAD_Y_ANY_ENTRY[case]
    with pytest.raises(ValueError, match=match):
        SOFTMAX_XY_ENTRY_POINTS[entry](make_data()[0], make_y())


@pytest.mark.bad_input
@pytest.mark.parametrize("entry", SOFTMAX_XY_ENTRY_POINTS)
@pytest.mark.parametrize("case", BAD_SAMPLE_WEIGHT)
def test_softmax_side_rejects_bad_sample_weight_in_the_same_words(entry, case):
    # All-zero, negative, non-finite or misshapen weights, as on the SVM side.
    make_weight, match = BAD_SAMPLE_WEIGHT[case]
    X, y, _ = make_data()
    with pytest.raises(ValueError, match=match):
        SOFTMAX_XY_ENTRY_POINTS[entry](X, y, make_weight())


@pytest.mark.bad_input
@pytest.mark.parametrize("case", BAD_LABELS)
def test_softmax_classifier_rejects_targets_that_are_not_a_classification(case):
    # One class, real-valued or unsortable labels cannot be fit by either estimator.
    y, match = BAD_LABELS[case]
    with pytest.raises(ValueError, match=match):
        SoftmaxClassifier(**FAST).fit(make_data()[0], y)


@pytest.mark.bad_input
@pytest.mark.parametrize("entry", SOFTMAX_XY_ENTRY_POINTS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_softmax_side_accepts_read_only_layouts_unchanged(entry, layout):
    # As for the SVM side: the same numbers as from a writeable C-contiguous copy, and the
    # read-only inputs (which would raise on a write) are left as they were.
    X, y, sample_weight = make_data()
    X_in, y_in, w_in = LAYOUTS[layout](X), read_only(y), read_only(sample_weight)
    saved = [a.copy() for a in (X_in, y_in, w_in)]
    expected = SOFTMAX_XY_ENTRY_POINTS[entry](np.array(X_in, order="C"), y.copy(), sample_weight)
    np.testing.assert_array_equal(SOFTMAX_XY_ENTRY_POINTS[entry](X_in, y_in, w_in), expected)
    for before, after in zip(saved, (X_in, y_in, w_in), strict=True):
        np.testing.assert_array_equal(after, before)


class Case(NamedTuple):
    """A bad-input case asserted here: where it enters, the call, and the expected error."""

    entries: str
    call: Callable[[], object]
    error: type[Exception]
    match: str


def W_b_X_y():
    X, y, _ = make_data()
    return (*make_params(), X, y)


def partial_fitted():
    X, y, _ = make_data()
    return SoftmaxClassifier(**FAST).partial_fit(X, y, classes=[0, 1, 2])


CASES = {
    "loss: unknown name": Case(
        "LinearObjective",
        lambda: LinearObjective("squared"),
        ValueError,
        r"^loss must be one of \['hinge', 'softmax'\], got 'squared'$",
    ),
    "loss: unknown name (functional)": Case(
        "linear_objective",
        lambda: linear_objective(*W_b_X_y(), loss="squared"),
        ValueError,
        r"^loss must be one of \['hinge', 'softmax'\], got 'squared'$",
    ),
    "loss: a parameter the loss does not take": Case(
        "linear_objective",
        lambda: linear_objective(*W_b_X_y(), loss="softmax", delta=1.0),
        TypeError,
        r"^loss 'softmax' takes no parameter\(s\) \['delta'\]; it takes \[\]$",
    ),
    "hyperparameter: learning_rate <= 0 (SoftmaxClassifier)": Case(
        "SoftmaxClassifier.fit",
        lambda: SoftmaxClassifier(learning_rate=0.0, **FAST).fit(*make_data()[:2]),
        ValueError,
        r"^learning_rate must be > 0, got 0\.0",
    ),
    "hyperparameter: momentum outside [0, 1) (SoftmaxClassifier)": Case(
        "SoftmaxClassifier.fit",
        lambda: SoftmaxClassifier(momentum=1.0, **FAST).fit(*make_data()[:2]),
        ValueError,
        r"^momentum must be in \[0, 1\), got 1\.0",
    ),
    "hyperparameter: batch_size < 1 (SoftmaxClassifier)": Case(
        "SoftmaxClassifier.fit",
        lambda: SoftmaxClassifier(batch_size=0, **FAST).fit(*make_data()[:2]),
        ValueError,
        r"^batch_size must be >= 1, got 0",
    ),
    "hyperparameter: nesterov without momentum (SoftmaxClassifier)": Case(
        "SoftmaxClassifier.fit",
        lambda: SoftmaxClassifier(nesterov=True, momentum=0.0, **FAST).fit(*make_data()[:2]),
        ValueError,
        r"^Nesterov momentum \(nesterov=True\) requires momentum > 0, got momentum=0\.0",
    ),
    "Trainer: unknown on_divergence": Case(
        "Trainer",
        lambda: Trainer(LinearObjective(), SGD(0.1), on_divergence="ignore"),
        ValueError,
        r"^on_divergence must be 'raise' or 'halve', got 'ignore'$",
    ),
    "Trainer: early_stopping without validation data": Case(
        "Trainer.fit",
        lambda: Trainer(LinearObjective(), SGD(0.1), early_stopping=True).fit(
            {"W": np.zeros((3, 4)), "b": None}, *make_data()[:2]
        ),
        ValueError,
        r"^early_stopping=True needs validation_data=\(X_val, y_val\)$",
    ),
    "partial_fit: labels not in classes (SoftmaxClassifier)": Case(
        "SoftmaxClassifier.partial_fit",
        lambda: partial_fitted().partial_fit(make_data()[0], np.full(12, 7)),
        ValueError,
        r"^y contains labels not in classes: \[7\] \(classes are \[0, 1, 2\]\)$",
    ),
    "X: finite values whose float64 sum overflows": Case(
        "LinearSVM(dtype=float32).fit",
        lambda: LinearSVM(dtype=np.float32, **FAST).fit(np.full((12, 4), 1e308), make_data()[1]),
        ValueError,
        r"value too large for dtype\('float32'\)",
    ),
    "y: float label beyond the integer range": Case(
        "svm_loss",
        lambda: svm_loss(*W_b_X_y()[:3], np.where(np.arange(12) == 4, 1e20, 0.0)),
        ValueError,
        r"^y must hold class indices in \[0, 3\) \(W has 3 rows\); y\[4\] = ",
    ),
    "LinearObjective: negative reg": Case(
        "LinearObjective",
        lambda: LinearObjective("hinge", reg=-1.0),
        ValueError,
        r"^reg must be >= 0(\.0)?, got -1\.0$",
    ),
    "LinearObjective: a parameter the loss does not take": Case(
        "LinearObjective",
        lambda: LinearObjective("softmax", delta=1.0),
        TypeError,
        r"^loss 'softmax' takes no parameter\(s\) \['delta'\]; it takes \[\]$",
    ),
    "Trainer.fit: integer parameters": Case(
        "Trainer.fit",
        lambda: Trainer(LinearObjective(), SGD(0.1), max_epochs=1).fit(
            {"W": np.zeros((3, 4), dtype=np.int64), "b": None}, *make_data()[:2]
        ),
        TypeError,
        r"^params\['W'\] must be a floating ndarray \(float32 or float64\), got int64$",
    ),
    "hyperparameter: random_state of the wrong type": Case(
        "fit",
        lambda: LinearSVM(max_epochs=2, tol=None, random_state="a").fit(*make_data()[:2]),
        TypeError,
        r"^random_state must be None, an int or a numpy\.random\.Generator, got 'a'",
    ),
    "scores: NaN in S (softmax, log_softmax)": Case(
        "softmax",
        lambda: softmax(np.array([[np.nan, 0.0]])),
        ValueError,
        r"^S contains NaN or infinity in 1 entries \(first at index \(0, 0\)\)",
    ),
    "partial_fit: classes changed (SoftmaxClassifier)": Case(
        "SoftmaxClassifier.partial_fit",
        lambda: partial_fitted().partial_fit(*make_data()[:2], classes=[0, 1, 2, 3]),
        ValueError,
        r"is not the same as on last call to partial_fit, was: \[0, 1, 2\]$",
    ),
}


@pytest.mark.bad_input
@pytest.mark.parametrize("case", CASES)
def test_bad_input_case_raises_naming_the_argument(case):
    # Cases no table of test_validation.py covers: each raises its error, naming the
    # argument or parameter at fault.
    _, call, error, match = CASES[case]
    with pytest.raises(error, match=match):
        call()


class Gap(NamedTuple):
    """A bad input linclf does not yet handle as it should: ``check`` asserts the expected
    behaviour, ``today`` says what happens instead."""

    entries: str
    check: Callable[[], None]
    expected: str
    today: str


def runtime_warnings_raise(call):
    # As in the suite's configuration, independently of how pytest is invoked.
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        return call()


def huge_weights_weigh_like_unit_weights():
    W, b, X, y = W_b_X_y()
    huge = runtime_warnings_raise(lambda: svm_loss(W, b, X, y, sample_weight=np.full(12, 1e308)))
    assert huge[0] == pytest.approx(svm_loss(W, b, X, y)[0])


def float32_penalty_is_accumulated_in_float64():
    W, X, y = np.full((3, 4), 1e20, np.float32), make_data(np.float32)[0], make_data()[1]
    expected = svm_loss_naive(W, None, X, y, reg=1.0)[0]  # 1.2e41, accumulated in float64
    assert runtime_warnings_raise(lambda: svm_loss(W, None, X, y, reg=1.0)[0]) == pytest.approx(
        expected, rel=1e-6
    )


def loss_nodes_name_nan_scores():
    with pytest.raises(ValueError, match=r"\bS\b"):
        runtime_warnings_raise(lambda: multiclass_hinge(np.array([[np.nan, 0.0]]), np.array([0])))


KNOWN_GAPS = {
    "scores: NaN in S (loss nodes)": Gap(
        "multiclass_hinge, softmax_cross_entropy",
        loss_nodes_name_nan_scores,
        "ValueError naming S, or documented as the caller's duty",
        "a NaN loss and dS without a warning (+inf in softmax_cross_entropy: "
        "RuntimeWarning); a label outside [0, C) raises IndexError",
    ),
}


def test_weights_whose_sum_overflows_weigh_like_unit_weights():
    # Only ratios of weights matter: 1e308 everywhere is unit weights, without a warning.
    huge_weights_weigh_like_unit_weights()


def test_float32_penalty_is_accumulated_in_float64():
    # Squares of float32 weights above ~1.8e19 overflow float32, not the float64 sum.
    float32_penalty_is_accumulated_in_float64()


@pytest.mark.xfail(
    strict=True,
    reason="a known gap (KNOWN_GAPS, docs/reliability.md): once fixed, delete its row and "
    "run tools/reliability_table.py",
)
@pytest.mark.parametrize("case", KNOWN_GAPS)
def test_known_gap_is_still_open(case):
    # Asserts the behaviour the case should have; it fails today. xfail(strict=True) turns
    # a fix into a failure here, so that the row (and the page) cannot outlive the gap.
    KNOWN_GAPS[case].check()


class Ref(NamedTuple):
    """A case asserted by a test elsewhere that is not table-driven: its node id, and the
    outcome and message pattern that test asserts (the pattern appears in its source)."""

    entries: str
    outcome: str
    match: str
    test: str


XY = "fit, score, svm_loss, svm_loss_naive, Trainer.fit"
VALIDATION = "tests/test_validation.py::"
REFERENCED = {
    "X: object array of numbers": Ref(
        XY,
        "accepted: exactly the result of the float64 array",
        "",
        VALIDATION + "test_object_array_of_numbers_is_accepted_and_converted_exactly",
    ),
    "X: sparse matrix given to a loss function": Ref(
        "svm_loss, svm_loss_naive",
        "TypeError",
        r"X is a scipy\.sparse matrix, which this function does not",
        VALIDATION + "test_sparse_X_is_refused_by_the_loss_functions",
    ),
    "X: sparse matrix with NaN": Ref(
        "fit, score, Trainer.fit, decision_function, predict",
        "ValueError",
        "Input X contains NaN in 2 entries of its stored values (first at row 2, column 1).",
        VALIDATION + "test_sparse_X_with_nan_is_rejected_naming_the_entry",
    ),
    "X: float64 value beyond the float32 range": Ref(
        "fit, Trainer.fit, decision_function (float32 models)",
        "ValueError",
        "Input X contains infinity or a value too large for dtype('float32') in 1 entry ",
        VALIDATION + "test_float64_value_beyond_float32_range_is_reported_as_infinity",
    ),
    "X: wrong number of features after fit": Ref(
        "predict, decision_function, score",
        "ValueError",
        "X has 3 features, but LinearSVM is expecting 4 features as input.",
        VALIDATION + "test_wrong_number_of_features_after_fit_has_the_exact_message",
    ),
    "y: shape (n, 1)": Ref(
        XY,
        "DataConversionWarning, then the result of the raveled y",
        "A column-vector y was passed",
        VALIDATION + "test_column_vector_y_warns_and_gives_the_raveled_result",
    ),
    "partial_fit: no classes on the first call": Ref(
        "partial_fit",
        "ValueError",
        "classes must be passed on the first call",
        "tests/test_estimator.py::test_partial_fit_argument_errors",
    ),
    "partial_fit: labels not in classes": Ref(
        "partial_fit",
        "ValueError",
        r"y contains labels not in classes: \[7\]",
        "tests/test_estimator.py::test_partial_fit_argument_errors",
    ),
    "partial_fit: classes changed between calls": Ref(
        "partial_fit",
        "ValueError",
        "is not the same as on last call to partial_fit",
        "tests/test_estimator.py::test_partial_fit_argument_errors",
    ),
    "partial_fit: class_weight='balanced'": Ref(
        "partial_fit",
        "ValueError",
        "class_weight='balanced' is not supported",
        "tests/test_estimator.py::test_partial_fit_argument_errors",
    ),
    "hyperparameter: nesterov without momentum": Ref(
        "fit",
        "ValueError",
        r"Nesterov momentum \(nesterov=True\) requires momentum > 0",
        "tests/test_estimator.py::test_nesterov_requires_momentum_and_trains",
    ),
    "hyperparameter: SGD's, at construction": Ref(
        "SGD",
        "ValueError, TypeError",
        "",
        "tests/test_optim.py::test_constructor_rejects_bad_hyperparameters",
    ),
    "Trainer: bad settings": Ref(
        "Trainer",
        "ValueError, TypeError",
        "batch_size must be >= 1",
        "tests/test_trainer.py::test_bad_settings_are_named",
    ),
    "learning_rate too large: training diverges": Ref(
        "Trainer.fit",
        "DivergenceError",
        r"Training diverged at epoch \d+, batch \d+: .*rolled back to the last finite ",
        "tests/test_trainer.py::test_learning_rate_1e6_raises_divergence_naming_epoch_and_batch",
    ),
    "start with non-finite parameters": Ref(
        "Trainer.fit (on_divergence='halve')",
        "DivergenceError",
        "epoch 1, batch 1",
        "tests/test_trainer.py::test_non_finite_start_cannot_be_halved_away",
    ),
    "resume: checkpoint of other data": Ref(
        "Trainer.fit(resume=True)",
        "ValueError",
        "written for other data or settings",
        "tests/test_checkpoint.py::test_resume_refuses_a_checkpoint_of_other_data",
    ),
    "resume: without checkpoint_path": Ref(
        "Trainer.fit(resume=True)",
        "ValueError",
        "resume=True needs the Trainer's checkpoint_path",
        "tests/test_checkpoint.py::test_resume_refuses_a_checkpoint_of_other_data",
    ),
    "resume: both checkpoints corrupt": Ref(
        "Trainer.fit(resume=True)",
        "ModelFileError",
        "no intact checkpoint",
        "tests/test_checkpoint.py::test_both_checkpoints_corrupt_is_an_error",
    ),
    "model used before fit": Ref(
        "predict, decision_function, score",
        "NotFittedError",
        "This LinearSVM instance is not fitted yet",
        VALIDATION + "test_unfitted_use_raises_not_fitted_error",
    ),
    "caller's arrays": Ref(
        XY,
        "never modified (float32 and float64)",
        "",
        VALIDATION + "test_callers_arrays_are_never_modified",
    ),
    "loss function's arrays": Ref(
        "svm_loss, svm_loss_naive",
        "W, b, X, y, sample_weight never modified; gradients are new arrays",
        "",
        VALIDATION + "test_loss_never_modifies_W_b_X_y_or_weights",
    ),
}


def source_of_test(node_id):
    """The source of the test function a node id names, with its decorators and the
    module-level tables they use (read with ast, not imported)."""
    path, name = node_id.split("::")
    source = (ROOT / path).read_text()
    tree = ast.parse(source)
    tables = {
        target.id: node
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            used = {
                n.id for d in node.decorator_list for n in ast.walk(d) if isinstance(n, ast.Name)
            }
            parts = [node, *node.decorator_list, *(tables[n] for n in sorted(used) if n in tables)]
            return "\n".join(ast.get_source_segment(source, part) for part in parts)
    raise AssertionError(f"{node_id}: no such test function")


@pytest.mark.parametrize("case", REFERENCED)
def test_referenced_test_asserts_the_case(case):
    # The row's pattern and outcome are those the named test asserts: its source (with its
    # parametrization) holds the pattern verbatim and names the exception or warning.
    ref = REFERENCED[case]
    source = source_of_test(ref.test)
    assert ref.match in source
    for name in re.findall(r"\b[A-Z]\w*(?:Error|Warning)\b", ref.outcome):
        assert name in source


# The issue's list of bad inputs, each with the table rows that cover it.
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
        "hyperparameter: {'learning_rate': 0.0}",
        "hyperparameter: {'learning_rate': -0.1}",
    ],
    "momentum outside [0, 1)": [
        "hyperparameter: {'momentum': 1.0}",
        "hyperparameter: {'momentum': -0.1}",
    ],
    "batch_size < 1": ["hyperparameter: {'batch_size': 0}"],
    "nesterov without momentum": ["hyperparameter: nesterov without momentum"],
    "unknown loss": ["loss: unknown name", "loss: unknown name (functional)"],
    "read-only input (never written to)": ["layout: C float64", "layout: C float32"],
    "Fortran-ordered input (never written to)": ["layout: F float64", "layout: F float32"],
    "np.matrix (accepted)": ["container: np.matrix"],
    "lists (accepted)": ["container: lists"],
    "pandas objects (accepted)": ["container: pandas", "container: pandas mixed dtypes"],
    "the caller's arrays never modified": ["caller's arrays", "loss function's arrays"],
}


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location(
        "reliability_table", ROOT / "tools" / "reliability_table.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def report(tool):
    # Collects the bad-input test modules in a subprocess: a few seconds, once.
    return tool.build()


@pytest.mark.parametrize("requirement", REQUIRED)
def test_every_case_of_the_issue_has_a_row_asserted_by_a_test(requirement, report):
    by_key = {row.key: row for row in report.rows}
    for key in REQUIRED[requirement]:
        assert key in by_key, f"{requirement!r}: no table row {key!r}"
        assert by_key[key].tests, f"{requirement!r}: row {key!r} names no test"


def test_docs_reliability_md_is_current(tool, report):
    # A case added to a table (or a property test added) without regenerating the page
    # fails here: run `python tools/reliability_table.py`.
    assert (ROOT / "docs" / "reliability.md").read_text() == tool.render(report), (
        "docs/reliability.md is stale: run `python tools/reliability_table.py`"
    )


def test_the_stated_count_is_the_number_of_rows(report):
    page = (ROOT / "docs" / "reliability.md").read_text()
    stated = re.findall(r"\*\*(\d+) bad-input cases\*\*", page)
    table_rows = re.findall(r"^\| \d+ \|", page, flags=re.MULTILINE)
    assert stated == [str(len(report.rows))]
    assert len(table_rows) == len(report.rows)
