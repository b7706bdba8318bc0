"""The reliability cases as data: what goes wrong, where it enters, and what linclf does.

``SECTIONS`` maps a section of docs/reliability.md to its cases; a ``Case`` maps each entry
point to a call with the bad input. tests/test_reliability.py runs every call (raising
``error`` with a message matching ``match``, or, for ``error=None``, the call's own checks
passing), and tools/reliability_table.py writes the page's tables from these dicts, so the
page lists exactly what the suite runs. A new case is a new entry; a new section is a new
key here and a ``<!-- begin KEY -->`` / ``<!-- end KEY -->`` block in the page. ``GAPS``
holds bad inputs not yet handled: their checks run as strict xfails.

Entry points without a class name (``fit``, ``score``, ``predict``, ...) are ``LinearSVM``'s.
"""

from __future__ import annotations

import re
import tempfile
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse

from helpers import make_blobs
from linclf import (
    SGD,
    ConvergenceWarning,
    DataConversionWarning,
    DivergenceError,
    LinearObjective,
    LinearSVM,
    ModelFileError,
    NotFittedError,
    SoftmaxClassifier,
    Trainer,
    check_gradient,
    linear_backward,
    linear_forward,
    linear_objective,
    multiclass_hinge,
    softmax,
    softmax_cross_entropy,
    softmax_loss,
    softmax_loss_naive,
    svm_loss,
    svm_loss_naive,
)
from linclf.losses import MulticlassHinge, SoftmaxCrossEntropy


class Case(NamedTuple):
    """One case: the call per entry point, and what it raises (or warns)."""

    calls: dict[str, Callable[[], object]]
    error: type[BaseException] | None  # None: accepted, the call asserts the result itself
    match: str = ""  # regex for the message (re.search)
    outcome: str = ""  # the page's words for the outcome, when more than the error's name


class Gap(NamedTuple):
    """A bad input not yet handled: ``check`` asserts the behaviour it should have."""

    entries: str
    check: Callable[[], None]
    expected: str
    today: str


N, D, C = 12, 4, 3  # samples, features, classes
ONES_120 = np.ones((120, 1))  # a column of weights for make_blobs' 120 rows
BIG = np.finfo(np.float64).max  # finite, and its products with weights near 1 overflow
FAST = {"max_epochs": 2, "tol": None, "random_state": 0}  # exactly 2 epochs, no warning


def make_data(dtype=np.float64):
    """Fresh X (12, 4), y (3 classes, each present) and positive sample weights."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, D)).astype(dtype)
    return X, np.arange(N) % C, rng.uniform(0.5, 2.0, size=N)


def make_params(dtype=np.float64):
    """Fresh W (3, 4) and b (3,), away from zero so that the hinge is active."""
    rng = np.random.default_rng(1)
    return rng.normal(size=(C, D)).astype(dtype), rng.normal(size=C).astype(dtype)


def W_b_X_y():
    return (*make_params(), *make_data()[:2])


def fitted(Estimator=LinearSVM, dtype=np.float32):
    return Estimator(dtype=dtype, **FAST).fit(*make_data()[:2])


def loss_value(loss, X, y, w=None):
    return loss(*make_params(), X, y, reg=0.1, sample_weight=w)[0]


def trained_W(X, y, w=None, dtype=np.float64):
    params = {"W": np.zeros((C, D), dtype), "b": np.zeros(C, dtype)}
    trainer = Trainer(LinearObjective("hinge", reg=0.1), SGD(0.1), max_epochs=2, random_state=0)
    trainer.fit(params, X, y, w)
    return params["W"]


# Entry points taking (X, y, sample_weight), each returning something comparable.
SVM_XY = {
    "fit": lambda X, y, w=None: LinearSVM(**FAST).fit(X, y, w).coef_,
    "score": lambda X, y, w=None: fitted().score(X, y, w),
    "svm_loss": partial(loss_value, svm_loss),
    "svm_loss_naive": partial(loss_value, svm_loss_naive),
    "Trainer.fit": trained_W,
}
SOFTMAX_XY = {
    "SoftmaxClassifier.fit": lambda X, y, w=None: SoftmaxClassifier(**FAST).fit(X, y, w).coef_,
    "softmax_loss": partial(loss_value, softmax_loss),
    "softmax_loss_naive": partial(loss_value, softmax_loss_naive),
}
XY = SVM_XY | SOFTMAX_XY
LOSS_NODES = {
    "multiclass_hinge": multiclass_hinge,
    "softmax_cross_entropy": softmax_cross_entropy,
    "MulticlassHinge.loss_grad": MulticlassHinge().loss_grad,
    "SoftmaxCrossEntropy.loss_grad": SoftmaxCrossEntropy().loss_grad,
}
LOSSES = {
    "svm_loss": svm_loss,
    "svm_loss_naive": svm_loss_naive,
    "softmax_loss": softmax_loss,
    "softmax_loss_naive": softmax_loss_naive,
}
PREDICT = {
    "decision_function": lambda X, y=None, w=None: fitted().decision_function(X),
    "predict": lambda X, y=None, w=None: fitted().predict(X),
}
PROBA = {
    "SoftmaxClassifier.predict_proba": lambda X, y=None, w=None: fitted(
        SoftmaxClassifier
    ).predict_proba(X),
    "SoftmaxClassifier.predict_log_proba": lambda X, y=None, w=None: fitted(
        SoftmaxClassifier
    ).predict_log_proba(X),
}
X_ONLY = XY | PREDICT | PROBA


def subset(entries, *names):
    return {name: entries[name] for name in names}


def run_with(entry, bad):
    X, y, _ = make_data()
    inputs = {"X": X, "y": y, "w": None} | {name: make() for name, make in bad.items()}
    return entry(inputs["X"], inputs["y"], inputs["w"])


def through(entries, error, match, **bad):
    """Every entry called with make_data()'s X and y (no weights), the ``bad`` ones replaced
    by ``bad[name]()`` (names X, y, w)."""
    return Case(
        {name: partial(run_with, entry, bad) for name, entry in entries.items()}, error, match
    )


def one(entry, call, error, match):
    return Case({entry: call}, error, match)


def checked(entries, check, outcome, error=None, match=""):
    """Every entry passed to ``check``, which asserts what the outcome promises."""
    return Case(
        {name: partial(check, entry) for name, entry in entries.items()}, error, match, outcome
    )


def raising_then(call, after):
    """``call()``, then (whether it raised or not) ``after()``, which asserts the aftermath."""
    try:
        return call()
    finally:
        after()


def with_entry(a, index, value):
    a = a.copy()
    a[index] = value
    return a


def X_with(*entries):
    X = make_data()[0]
    for index, value in entries:
        X[index] = value
    return X


def y_with(value, index=4):
    y = make_data()[1].astype(np.float64)
    y[index] = value
    return y


def read_only(a):
    a = np.array(a, copy=True, order="K")
    a.flags.writeable = False
    return a


def same_result(entry, transform, data=make_data):
    X, y, w = data()
    np.testing.assert_array_equal(entry(*transform(X, y, w)), entry(X, y, w))


def same_raveled(entry):
    X, y, w = make_data()
    np.testing.assert_array_equal(entry(X, y.reshape(-1, 1), w), entry(X, y, w))


def layout_unchanged(layout, entry):
    # Read-only arrays raise on any write, so success proves none happened.
    X, y, w = make_data()
    inputs = (layout(X), read_only(y), read_only(w))
    saved = [a.copy() for a in inputs]
    expected = entry(np.array(inputs[0], order="C"), y.copy(), w.copy())
    np.testing.assert_array_equal(entry(*inputs), expected)
    for before, after in zip(saved, inputs, strict=True):
        np.testing.assert_array_equal(after, before)


def callers_arrays_unchanged(entry):
    # float32 C-contiguous X is used without a copy: an in-place write would show here.
    for dtype in (np.float32, np.float64):
        inputs = make_data(dtype)
        saved = [a.copy() for a in inputs]
        entry(*inputs)
        for before, after in zip(saved, inputs, strict=True):
            np.testing.assert_array_equal(after, before)


def loss_arrays_unchanged(loss):
    for dtype in (np.float32, np.float64):
        (W, b), (X, y, w) = make_params(dtype), make_data(dtype)
        saved = [a.copy() for a in (W, b, X, y, w)]
        _, dW, db = loss(W, b, X, y, reg=0.5, sample_weight=w)
        for before, after in zip(saved, (W, b, X, y, w), strict=True):
            np.testing.assert_array_equal(after, before)
        assert not np.shares_memory(dW, W) and not np.shares_memory(db, b)


def as_matrix(X, y, w):
    with warnings.catch_warnings():  # NumPy discourages np.matrix; users still pass one
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return np.asmatrix(X), y, w


def as_mixed_dtype_frame(X, y, w):
    # An integer column next to float ones: to_numpy() gives their common float64.
    frame = pd.DataFrame(X, columns=list("abcd"))
    frame["a"] = np.arange(N)
    return frame, pd.Series(y), pd.Series(w)


def data_with_integer_column():
    # Column 0 holds whole numbers, so the mixed-dtype frame has the same values as X.
    X, y, w = make_data()
    X[:, 0] = np.arange(N)
    return X, y, w


def predicted_from(transform):
    X, y, w = data_with_integer_column()
    clf = fitted()
    np.testing.assert_array_equal(clf.predict(transform(X, y, w)[0]), clf.predict(X))


def mismatched_trainer(change):
    X, y, _ = make_data()
    W = np.zeros((C, D))
    params = {"W": W.copy(), "b": np.zeros(C)}
    trainer = Trainer(LinearObjective("hinge", reg=0.1), SGD(0.1), max_epochs=2)

    def untouched():  # checked before any step: params as given, no step counted
        np.testing.assert_array_equal(params["W"], W)
        assert not hasattr(trainer, "n_steps_")

    return raising_then(lambda: trainer.fit(params, **change(X, y)), untouched)


def diverging_fit():
    # η = 1e6: the penalty step W ← (1 - 2λη) W grows 2000x per step until it overflows.
    params = {"W": np.zeros((3, 4)), "b": np.zeros(3)}
    objective, optimizer = LinearObjective("softmax", reg=1e-3), SGD(1e6, momentum=0.9)
    trainer = Trainer(objective, optimizer, batch_size=8, max_epochs=50, random_state=0)

    def rolled_back():  # to the last finite state
        assert all(np.isfinite(p).all() for p in params.values())

    raising_then(lambda: trainer.fit(params, *make_blobs()), rolled_back)


def non_finite_start():
    params = {"W": np.full((3, 4), 1e308), "b": np.zeros(3)}
    trainer = Trainer(LinearObjective("hinge"), SGD(0.1), on_divergence="halve", random_state=0)
    trainer.fit(params, *make_blobs())


def checkpointed(path, max_epochs):
    return Trainer(
        LinearObjective("hinge", reg=1e-3),
        SGD(0.05, momentum=0.9),
        batch_size=16,
        max_epochs=max_epochs,
        tol=None,
        random_state=3,
        checkpoint_path=path,
    )


def resume(*, rows=slice(None), corrupt=False, path=True):
    """Train 3 epochs with checkpoints (the latest and a .prev), resume to 4 on ``X[rows]``."""
    X, y = make_blobs()
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = Path(tmp) / "ckpt.linclf"
        checkpointed(checkpoint, 3).fit({"W": np.zeros((3, 4)), "b": np.zeros(3)}, X, y)
        for file in (checkpoint, Path(tmp) / "ckpt.linclf.prev") if corrupt else ():
            file.write_bytes(file.read_bytes()[:100])  # truncated: both unusable
        trainer = checkpointed(checkpoint if path else None, 4)
        trainer.fit({"W": np.zeros((3, 4)), "b": np.zeros(3)}, X[rows], y[rows], resume=True)


def partial_fitted(Estimator=LinearSVM):
    return Estimator(**FAST).partial_fit(*make_data()[:2], classes=[0, 1, 2])


def replace(index, change):
    """The arguments W, b, X, y of a loss, argument ``index`` changed by ``change``."""

    def make():
        args = list(W_b_X_y())
        args[index] = change(args[index])
        return args

    return make


def loss_case(make_args, error, match, losses=LOSSES, **kwargs):
    calls = {
        name: partial(lambda loss: loss(*make_args(), **kwargs), loss)
        for name, loss in losses.items()
    }
    return Case(calls, error, match)


def hyperparameter(params, error, match, Estimator=LinearSVM):
    fit = lambda: Estimator(**{**FAST, **params}).fit(*make_data()[:2])  # noqa: E731
    return one("fit" if Estimator is LinearSVM else f"{Estimator.__name__}.fit", fit, error, match)


def table(prefix, build, rows):
    """``{"prefix: key": build(*arguments)}`` for each row ``(key, *arguments)``."""
    return {f"{prefix}: {key}": build(*arguments) for key, *arguments in rows}


def bad_X(error, match, make):
    return through(X_ONLY, error, match, X=make)


def bad_y(match, make, entries=XY):
    return through(entries, ValueError, match, y=make)


def bad_weight(match, make):
    return through(XY, ValueError, match, w=make)


def named(params):
    return ", ".join(f"{k}={getattr(v, '__name__', repr(v))}" for k, v in params.items())


ESCAPED = re.escape
SPARSE_NAN = "Input X contains NaN in 2 entries of its stored values (first at row 2, column 1)."
BEYOND_FLOAT32 = (
    "Input X contains infinity or a value too large for dtype('float32') in 1 entry "
    "(first at row 1, column 1)."
)
INDICES = ESCAPED(f"y must hold class indices in [0, {C})")
INDEX_ENTRIES = subset(
    XY, "svm_loss", "svm_loss_naive", "Trainer.fit", "softmax_loss", "softmax_loss_naive"
)
LABEL_ENTRIES = subset(XY, "fit", "SoftmaxClassifier.fit")
LOSS_NAMES = r"^loss must be one of \['hinge', 'softmax'\], got 'squared'$"
NO_DELTA = r"^loss 'softmax' takes no parameter\(s\) \['delta'\]; it takes \[\]$"
NOT_FITTED = r"This (LinearSVM|SoftmaxClassifier) instance is not fitted yet"
PARTIAL_UNKNOWN = r"^y contains labels not in classes: \[7\] \(classes are \[0, 1, 2\]\)$"
PARTIAL_CHANGED = r"is not the same as on last call to partial_fit, was: \[0, 1, 2\]$"
INFINITY_AT_3_2 = r"Input X contains infinity .* in 1 entry \(first at row 3, column 2\)"
LAYOUTS = {
    "C float64": lambda X: read_only(np.ascontiguousarray(X)),
    "F float64": lambda X: read_only(np.asfortranarray(X)),
    "C float32": lambda X: read_only(np.ascontiguousarray(X, dtype=np.float32)),
    "F float32": lambda X: read_only(np.asfortranarray(X, dtype=np.float32)),
    "strided view": lambda X: read_only(np.repeat(X, 2, axis=1))[:, ::2],
    "int64": lambda X: read_only(np.round(3 * X).astype(np.int64)),
}
CONTAINERS = {
    "np.matrix": as_matrix,
    "lists": lambda X, y, w: (X.tolist(), y.tolist(), w.tolist()),
    "tuples": lambda X, y, w: (tuple(map(tuple, X.tolist())), tuple(y.tolist()), tuple(w)),
    "pandas": lambda X, y, w: (pd.DataFrame(X, columns=list("abcd")), pd.Series(y), pd.Series(w)),
    "pandas mixed dtypes": as_mixed_dtype_frame,
}


def with_features(k):
    return make_data()[0][:, :k]


BAD_INPUTS = {
    **table(
        "X",
        bad_X,
        [
            (
                "nan",
                ValueError,
                ESCAPED("Input X contains NaN in 2 entries (first at row 2, column 1)."),
                lambda: X_with(((2, 1), np.nan), ((5, 3), np.nan)),
            ),
            ("+inf", ValueError, INFINITY_AT_3_2, lambda: X_with(((3, 2), np.inf))),
            ("-inf", ValueError, INFINITY_AT_3_2, lambda: X_with(((3, 2), -np.inf))),
            (
                "complex",
                ValueError,
                ESCAPED("Complex data not supported; X has dtype complex128"),
                lambda: make_data()[0] + 1j,
            ),
            (
                "strings",
                ValueError,
                r"X must contain numbers, got an array of dtype <U\d+ \(strings or bytes",
                lambda: make_data()[0].astype(str),
            ),
            (
                "bytes",
                ValueError,
                r"X must contain numbers, got an array of dtype \|S\d+ \(strings or bytes",
                lambda: make_data()[0].astype(bytes),
            ),
            (
                "object with a string",
                ValueError,
                "X must contain numbers; an entry could not be converted to float",
                lambda: np.array([["a", 1.0, 2.0, 3.0]] * N, dtype=object),
            ),
            ("None", ValueError, "X is None", lambda: None),
            (
                "0 samples",
                ValueError,
                ESCAPED(f"Found array with 0 sample(s) (shape=(0, {D}))"),
                lambda: np.empty((0, D)),
            ),
            (
                "0 features",
                ValueError,
                ESCAPED(f"Found array with 0 feature(s) (shape=({N}, 0))"),
                lambda: np.empty((N, 0)),
            ),
            ("scalar", ValueError, "Expected 2D array, got scalar array", lambda: np.float64(1)),
            (
                "1-D",
                ValueError,
                r"(?s)Expected 2D array, got 1D array instead:.*Reshape your data",
                lambda: make_data()[0][:, 0],
            ),
            (
                "3-D",
                ValueError,
                ESCAPED("Found array with dim 3. ") + ".*" + ESCAPED(f"got ({N}, 2, 2)"),
                lambda: make_data()[0].reshape(N, 2, 2),
            ),
        ],
    ),
    "X: finite values whose float64 sum overflows": one(
        "LinearSVM(dtype=float32).fit",
        lambda: LinearSVM(dtype=np.float32, **FAST).fit(np.full((N, D), 1e308), make_data()[1]),
        ValueError,
        r"value too large for dtype\('float32'\)",
    ),
    "X: object array of numbers": checked(
        XY,
        partial(same_result, transform=lambda X, y, w: (X.astype(object), y, w)),
        "accepted: exactly the result of the float64 array",
    ),
    "X: sparse matrix given to a loss function": through(
        subset(XY, *LOSSES),
        TypeError,
        r"X is a scipy\.sparse matrix, which this function does not",
        X=lambda: scipy.sparse.csr_matrix(make_data()[0]),
    ),
    "X: sparse matrix with NaN": through(
        subset(X_ONLY, "fit", "score", "Trainer.fit", "SoftmaxClassifier.fit", *PREDICT, *PROBA),
        ValueError,
        ESCAPED(SPARSE_NAN),
        X=lambda: scipy.sparse.csr_matrix(X_with(((2, 1), np.nan), ((5, 3), np.nan))),
    ),
    "X: float64 value beyond the float32 range": Case(
        {
            "fit (float32)": lambda: LinearSVM(dtype=np.float32, **FAST).fit(
                X_with(((1, 1), 1e300)), make_data()[1]
            ),
            "Trainer.fit (float32 W)": lambda: trained_W(
                X_with(((1, 1), 1e300)), make_data()[1], dtype=np.float32
            ),
            "decision_function (float32 model)": lambda: fitted().decision_function(
                X_with(((1, 1), 1e300))
            ),
        },
        ValueError,
        ESCAPED(BEYOND_FLOAT32),
    ),
    "X: wrong number of features after fit": Case(
        {
            "predict": lambda: fitted().predict(with_features(3)),
            "decision_function": lambda: fitted().decision_function(with_features(3)),
            "score": lambda: fitted().score(with_features(3), make_data()[1]),
            "SoftmaxClassifier.predict_proba": lambda: fitted(SoftmaxClassifier).predict_proba(
                with_features(3)
            ),
        },
        ValueError,
        r"^X has 3 features, but (LinearSVM|SoftmaxClassifier) is expecting 4 features as "
        r"input\.$",
    ),
    **table(
        "y",
        bad_y,
        [
            ("None", "requires y to be passed, but the target y is None", lambda: None),
            (
                "nan",
                ESCAPED("Input y contains NaN in 1 entry (first at row 4)."),
                lambda: y_with(np.nan),
            ),
            ("inf", r"Input y contains infinity .* \(first at row 4\)", lambda: y_with(np.inf)),
            (
                "complex",
                ESCAPED("Complex data not supported; y has dtype complex128"),
                lambda: make_data()[1] + 0j,
            ),
            (
                "shape (n, 2)",
                ESCAPED(f"y should be a 1d array, got an array of shape ({N}, 2) instead."),
                lambda: np.column_stack([make_data()[1]] * 2),
            ),
            (
                "too short",
                ESCAPED(
                    f"Found input variables with inconsistent numbers of samples: [{N}, {N - 1}]"
                ),
                lambda: make_data()[1][:-1],
            ),
            ("too long", "inconsistent numbers of samples", lambda: np.append(make_data()[1], 0)),
        ],
    ),
    "y: float label beyond the integer range": one(
        "svm_loss",
        lambda: svm_loss(*W_b_X_y()[:3], np.where(np.arange(N) == 4, 1e20, 0.0)),
        ValueError,
        r"^y must hold class indices in \[0, 3\) \(W has 3 rows\); y\[4\] = ",
    ),
    "y: shape (n, 1)": checked(
        XY,
        same_raveled,
        "DataConversionWarning, then the result of the raveled y",
        DataConversionWarning,
        "A column-vector y was passed",
    ),
    **table(
        "labels",
        partial(bad_y, entries=LABEL_ENTRIES),
        [
            (
                "single class",
                "The number of classes has to be greater than one",
                lambda: np.zeros(N),
            ),
            ("single string class", "got 1 class", lambda: np.array(["a"] * N)),
            ("continuous", "Unknown label type: continuous", lambda: np.linspace(0.0, 1.0, N)),
            (
                "unsortable mix",
                "Unknown label type: y mixes labels of types that cannot be sorted",
                lambda: np.array([1, "a"] * (N // 2), dtype=object),
            ),
        ],
    ),
    **table(
        "class indices",
        partial(bad_y, entries=INDEX_ENTRIES),
        [
            ("too large", INDICES + r".*y\[4\] = .*3.* are outside", lambda: y_with(C).astype(int)),
            (
                "negative",
                INDICES + r".*y\[4\] = .*-1.* are outside",
                lambda: y_with(-1).astype(int),
            ),
            (
                "not integral",
                ESCAPED(f"y must hold integer class indices in [0, {C}), got dtype float64"),
                lambda: y_with(0.5),
            ),
        ],
    ),
    **table(
        "sample_weight",
        bad_weight,
        [
            (
                "all zero",
                "sample_weight is zero for every sample; at least one sample needs a positive "
                "weight",
                lambda: np.zeros(N),
            ),
            (
                "too short",
                ESCAPED(f"sample_weight.shape == ({N - 1},), expected ({N},)!"),
                lambda: np.ones(N - 1),
            ),
            (
                "column",
                ESCAPED(f"sample_weight.shape == ({N}, 1), expected ({N},)!"),
                lambda: np.ones((N, 1)),
            ),
            (
                "one negative",
                ESCAPED(
                    "Negative values in data passed to sample_weight: 1 entry "
                    "(first at index 3, value -0.5)"
                ),
                lambda: np.where(np.arange(N) == 3, -0.5, 1.0),
            ),
            (
                "nan",
                ESCAPED("Input sample_weight contains NaN in 1 entry (first at row 7)."),
                lambda: np.where(np.arange(N) == 7, np.nan, 1.0),
            ),
            ("strings", "sample_weight must contain numbers", lambda: np.array(["1"] * N)),
        ],
    ),
    **{
        f"hyperparameter: {named(params)}": hyperparameter(params, error, match)
        for params, error, match in [
            ({"learning_rate": 0.0}, ValueError, r"^learning_rate must be > 0, got 0\.0"),
            ({"learning_rate": -0.1}, ValueError, r"^learning_rate must be > 0, got -0\.1"),
            ({"learning_rate": float("nan")}, ValueError, r"^learning_rate must be finite"),
            ({"learning_rate": True}, TypeError, r"^learning_rate must be a real number, got True"),
            (
                {"learning_rate": "0.1"},
                TypeError,
                r"^learning_rate must be a real number, got '0\.1'",
            ),
            ({"momentum": 1.0}, ValueError, r"^momentum must be in \[0, 1\), got 1\.0"),
            ({"momentum": -0.1}, ValueError, r"^momentum must be in \[0, 1\), got -0\.1"),
            ({"batch_size": 0}, ValueError, r"^batch_size must be >= 1, got 0"),
            ({"batch_size": 2.5}, TypeError, r"^batch_size must be .*got 2\.5"),
            ({"max_epochs": 0}, ValueError, r"^max_epochs must be >= 1, got 0"),
            ({"reg": -1.0}, ValueError, r"^reg must be >= 0(\.0)?, got -1\.0"),
            ({"reg": float("inf")}, ValueError, r"^reg must be finite"),
            ({"delta": -1.0}, ValueError, r"^delta must be >= 0(\.0)?, got -1\.0"),
            ({"tol": -1.0}, ValueError, r"^tol must be >= 0(\.0)?, got -1\.0"),
            ({"n_iter_no_change": 0}, ValueError, r"^n_iter_no_change must be >= 1, got 0"),
            ({"fit_intercept": 1}, TypeError, r"^fit_intercept must be a bool, got 1"),
            ({"shuffle": "yes"}, ValueError, r"^shuffle must be True, False, 'batches' or 'full'"),
            ({"copy_X": 1}, TypeError, r"^copy_X must be a bool, got 1"),
            ({"verbose": -1}, ValueError, r"^verbose must be >= 0, got -1"),
            (
                {"dtype": "int32"},
                ValueError,
                r"^dtype must be 'auto', float32 or float64, got 'int32'",
            ),
            (
                {"dtype": np.float16},
                ValueError,
                r"^dtype must be 'auto', float32 or float64, got <class 'numpy.float16'>",
            ),
            (
                {"dtype": "not a dtype"},
                ValueError,
                r"^dtype must be 'auto', float32 or float64, got 'not a",
            ),
            (
                {"nesterov": True, "momentum": 0.0},
                ValueError,
                r"^Nesterov momentum \(nesterov=True\) requires momentum > 0, got momentum=0\.0",
            ),
            (
                {"random_state": "a"},
                TypeError,
                r"^random_state must be None, an int or a numpy\.random\.Generator, got 'a'",
            ),
        ]
    },
    **{
        f"hyperparameter: {named(params)} (SoftmaxClassifier)": hyperparameter(
            params, error, match, SoftmaxClassifier
        )
        for params, error, match in [
            ({"learning_rate": 0.0}, ValueError, r"^learning_rate must be > 0, got 0\.0"),
            ({"momentum": 1.0}, ValueError, r"^momentum must be in \[0, 1\), got 1\.0"),
            ({"batch_size": 0}, ValueError, r"^batch_size must be >= 1, got 0"),
            (
                {"nesterov": True, "momentum": 0.0},
                ValueError,
                r"^Nesterov momentum \(nesterov=True\) requires momentum > 0, got momentum=0\.0",
            ),
        ]
    },
    **{
        f"SGD: {named(params)}": one("SGD", partial(SGD, **params), error, match)
        for params, error, match in [
            ({"learning_rate": 0}, ValueError, r"^learning_rate must be > 0, got 0\.0"),
            ({"learning_rate": True}, TypeError, r"^learning_rate must be a real number, got True"),
            ({"learning_rate": 0.1, "nesterov": 1}, TypeError, r"^nesterov must be a bool, got 1"),
            (
                {"learning_rate": 0.1, "schedule": "warmup"},
                ValueError,
                "^unknown schedule 'warmup'",
            ),
        ]
    },
    "loss: unknown name": one(
        "LinearObjective", lambda: LinearObjective("squared"), ValueError, LOSS_NAMES
    ),
    "loss: unknown name (functional)": one(
        "linear_objective",
        lambda: linear_objective(*W_b_X_y(), loss="squared"),
        ValueError,
        LOSS_NAMES,
    ),
    "loss: a parameter the loss does not take": one(
        "linear_objective",
        lambda: linear_objective(*W_b_X_y(), loss="softmax", delta=1.0),
        TypeError,
        NO_DELTA,
    ),
    "LinearObjective: negative reg": one(
        "LinearObjective",
        lambda: LinearObjective("hinge", reg=-1.0),
        ValueError,
        r"^reg must be >= 0(\.0)?, got -1\.0$",
    ),
    "LinearObjective: a parameter the loss does not take": one(
        "LinearObjective", lambda: LinearObjective("softmax", delta=1.0), TypeError, NO_DELTA
    ),
    **table(
        "loss argument",
        loss_case,
        [
            (
                "W 1-D",
                replace(0, lambda W: W[0]),
                ValueError,
                ESCAPED(f"W must have shape (n_classes, n_features), got shape ({D},)"),
            ),
            (
                "W 3-D",
                replace(0, lambda W: W[None]),
                ValueError,
                ESCAPED("W must have shape (n_classes, n_features), got shape (1, 3, 4)"),
            ),
            (
                "W integer",
                replace(0, lambda W: np.ones(W.shape, dtype=np.int64)),
                TypeError,
                "W must be a floating array",
            ),
            (
                "W nan",
                replace(0, lambda W: with_entry(W, (1, 2), np.nan)),
                ValueError,
                ESCAPED("Input W contains NaN in 1 entry (first at row 1, column 2)."),
            ),
            ("W sparse", replace(0, scipy.sparse.csr_matrix), TypeError, "W must be a dense array"),
            (
                "b too long",
                replace(1, lambda b: np.zeros(C + 1)),
                ValueError,
                ESCAPED(f"b must have shape ({C},) to match W, got ({C + 1},)"),
            ),
            (
                "b column",
                replace(1, lambda b: b.reshape(-1, 1)),
                ValueError,
                ESCAPED(f"b must have shape ({C},) to match W, got ({C}, 1)"),
            ),
            (
                "b integer",
                replace(1, lambda b: np.zeros(C, dtype=np.int64)),
                TypeError,
                "b must be a floating array or None",
            ),
            (
                "b inf",
                replace(1, lambda b: np.array([0.0, np.inf, 0.0])),
                ValueError,
                r"Input b contains infinity .* \(first at row 1\)",
            ),
            (
                "X columns",
                replace(2, lambda X: X[:, :3]),
                ValueError,
                ESCAPED(f"X has 3 features but W has shape ({C}, {D})"),
            ),
            (
                "y outside",
                replace(3, lambda y: np.where(np.arange(N) == 5, 7, y)),
                ValueError,
                r"y\[5\] = .*7.* 1 entries in all are outside",
            ),
        ],
    ),
    **{
        f"loss argument: reg {name}": loss_case(W_b_X_y, error, match, reg=reg)
        for name, reg, error, match in [
            ("negative", -0.5, ValueError, r"^reg must be >= 0(\.0)?, got -0\.5"),
            ("bool", True, TypeError, r"^reg must be .*got True"),
            ("nan", float("nan"), ValueError, r"^reg must be finite"),
        ]
    },
    "loss argument: delta negative": loss_case(
        W_b_X_y,
        ValueError,
        r"^delta must be >= 0(\.0)?",
        losses=subset(LOSSES, "svm_loss", "svm_loss_naive"),
        delta=-1.0,
    ),
    **table(
        "Trainer data",
        lambda change, match: one(
            "Trainer.fit", partial(mismatched_trainer, change), ValueError, match
        ),
        [
            (
                "X wider than W",
                lambda X, y: {"X": np.column_stack([X, X[:, 0]]), "y": y},
                ESCAPED(f"X has {D + 1} features, but the parameters expect {D} ")
                + ESCAPED(f"(W has shape ({C}, {D}))"),
            ),
            (
                "X narrower than W",
                lambda X, y: {"X": X[:, :2], "y": y},
                ESCAPED(f"X has 2 features, but the parameters expect {D}"),
            ),
            (
                "X_val narrower than W",
                lambda X, y: {"X": X, "y": y, "validation_data": (X[:, :3], y)},
                ESCAPED(f"X_val has 3 features, but the parameters expect {D}"),
            ),
            (
                "y_val too short",
                lambda X, y: {"X": X, "y": y, "validation_data": (X, y[:-2])},
                "inconsistent numbers of samples",
            ),
        ],
    ),
    "Trainer.fit: integer parameters": one(
        "Trainer.fit",
        lambda: Trainer(LinearObjective(), SGD(0.1), max_epochs=1).fit(
            {"W": np.zeros((C, D), dtype=np.int64), "b": None}, *make_data()[:2]
        ),
        TypeError,
        r"^params\['W'\] must be a floating ndarray \(float32 or float64\), got int64$",
    ),
    "Trainer: early_stopping without validation data": one(
        "Trainer.fit",
        lambda: Trainer(LinearObjective(), SGD(0.1), early_stopping=True).fit(
            {"W": np.zeros((C, D)), "b": None}, *make_data()[:2]
        ),
        ValueError,
        r"^early_stopping=True needs validation_data=\(X_val, y_val\)$",
    ),
    **{
        f"Trainer: {named(settings)}": one(
            "Trainer", partial(Trainer, LinearObjective(), SGD(0.1), **settings), error, match
        )
        for settings, error, match in [
            ({"on_divergence": "ignore"}, ValueError, r"^on_divergence must be 'raise' or 'halve'"),
            ({"batch_size": 0}, ValueError, r"^batch_size must be >= 1, got 0"),
            ({"batch_size": 2.5}, TypeError, r"^batch_size must be .*got 2\.5"),
            ({"max_epochs": 0}, ValueError, r"^max_epochs must be >= 1, got 0"),
            ({"tol": -1.0}, ValueError, r"^tol must be >= 0(\.0)?, got -1\.0"),
            ({"n_iter_no_change": 0}, ValueError, r"^n_iter_no_change must be >= 1, got 0"),
        ]
    },
    "partial_fit: no classes on the first call": one(
        "partial_fit",
        lambda: LinearSVM(**FAST).partial_fit(*make_data()[:2]),
        ValueError,
        r"^classes must be passed on the first call to partial_fit",
    ),
    "partial_fit: labels not in classes": one(
        "partial_fit",
        lambda: partial_fitted().partial_fit(make_data()[0], np.full(N, 7)),
        ValueError,
        PARTIAL_UNKNOWN,
    ),
    "partial_fit: labels not in classes (SoftmaxClassifier)": one(
        "SoftmaxClassifier.partial_fit",
        lambda: partial_fitted(SoftmaxClassifier).partial_fit(make_data()[0], np.full(N, 7)),
        ValueError,
        PARTIAL_UNKNOWN,
    ),
    "partial_fit: classes changed between calls": one(
        "partial_fit",
        lambda: partial_fitted().partial_fit(*make_data()[:2], classes=[0, 1, 2, 3]),
        ValueError,
        PARTIAL_CHANGED,
    ),
    "partial_fit: classes changed (SoftmaxClassifier)": one(
        "SoftmaxClassifier.partial_fit",
        lambda: partial_fitted(SoftmaxClassifier).partial_fit(
            *make_data()[:2], classes=[0, 1, 2, 3]
        ),
        ValueError,
        PARTIAL_CHANGED,
    ),
    "partial_fit: class_weight='balanced'": one(
        "partial_fit",
        lambda: LinearSVM(class_weight="balanced", **FAST).partial_fit(
            *make_data()[:2], classes=[0, 1, 2]
        ),
        ValueError,
        r"^class_weight='balanced' is not supported by partial_fit",
    ),
    "model used before fit": Case(
        {
            "predict": lambda: LinearSVM().predict(make_data()[0]),
            "decision_function": lambda: LinearSVM().decision_function(make_data()[0]),
            "score": lambda: LinearSVM().score(*make_data()[:2]),
            "SoftmaxClassifier.predict_proba": lambda: SoftmaxClassifier().predict_proba(
                make_data()[0]
            ),
        },
        NotFittedError,
        NOT_FITTED,
    ),
    "scores: NaN in S (loss nodes)": Case(
        {
            "multiclass_hinge": lambda: multiclass_hinge(np.array([[np.nan, 0.0]]), np.array([0])),
            "softmax_cross_entropy": lambda: softmax_cross_entropy(
                np.array([[np.inf, 0.0]]), np.array([0])
            ),
        },
        ValueError,
        r"^S contains NaN or infinity in 1 entries \(first at index \(0, 0\)\); the loss",
    ),
    "y: class index -1 (loss nodes)": Case(
        {
            name: partial(node, np.zeros((3, 2)), np.array([0, 1, -1]))
            for name, node in LOSS_NODES.items()
        },
        ValueError,
        r"y must hold class indices in \[0, 2\) \(S has 2 columns\); y\[2\] = -1",
    ),
    "y: one label for every row (loss nodes)": Case(
        {name: partial(node, np.zeros((3, 2)), np.array([1])) for name, node in LOSS_NODES.items()},
        ValueError,
        r"y must be a 1-d integer array of 3 class indices \(one per row of S\), got dtype "
        r"int64 and shape \(1,\)",
    ),
    "b: one bias for every class (linear nodes)": Case(
        {
            "linear_forward": lambda: linear_forward(np.ones((4, 2)), np.ones((3, 2)), np.zeros(1)),
            "linear_backward": lambda: linear_backward(
                np.ones((4, 3)), np.ones((4, 2)), np.ones((3, 2)), np.zeros(1)
            ),
        },
        ValueError,
        r"b must have shape \(3,\), one bias per row of W, got \(1,\)",
    ),
    "dS: scores of one row for many (linear_backward)": one(
        "linear_backward",
        lambda: linear_backward(np.ones((1, 3)), np.ones((4, 2)), np.ones((3, 2))),
        ValueError,
        r"dS must have shape \(4, 3\) of the scores, got \(1, 3\)",
    ),
    "X: features that W does not have (linear_forward)": one(
        "linear_forward",
        lambda: linear_forward(np.ones((4, 5)), np.ones((3, 2))),
        ValueError,
        r"X has 5 features but W has shape \(3, 2\): expected W \(3, 5\)",
    ),
    "scores: NaN in S (softmax, log_softmax)": one(
        "softmax",
        lambda: softmax(np.array([[np.nan, 0.0]])),
        ValueError,
        r"^S contains NaN or infinity in 1 entries \(first at index \(0, 0\)\)",
    ),
    **{
        f"layout: {name}": checked(
            XY,
            partial(layout_unchanged, layout),
            "accepted read-only and never written to; the result of a C-contiguous copy",
        )
        for name, layout in LAYOUTS.items()
    },
    **{
        f"container: {name}": Case(
            {
                **{
                    entry: partial(same_result, call, transform, data_with_integer_column)
                    for entry, call in XY.items()
                },
                "predict": partial(predicted_from, transform),
            },
            None,
            outcome="accepted; the result of the ndarray",
        )
        for name, transform in CONTAINERS.items()
    },
    "caller's arrays": checked(
        XY, callers_arrays_unchanged, "never modified (float32 and float64)"
    ),
    "loss function's arrays": checked(
        LOSSES,
        loss_arrays_unchanged,
        "W, b, X, y, sample_weight never modified; gradients are new arrays",
    ),
    # Mistakes that raised from inside NumPy, or passed silently (issue 12, class 9).
    "X: ragged nested lists": one(
        "fit",
        lambda: LinearSVM().fit([[1.0, 2.0], [3.0]], [0, 1]),
        ValueError,
        r"X must be a rectangular array of numbers; its rows have different lengths",
    ),
    "y: a sparse matrix": one(
        "fit",
        lambda: LinearSVM().fit(make_blobs()[0], scipy.sparse.csr_matrix(np.ones((120, 1)))),
        TypeError,
        r"y must be a 1-d array-like, got a sparse csr_matrix of shape \(120, 1\)",
    ),
    "sample_weight: a sparse matrix": one(
        "fit",
        lambda: LinearSVM().fit(
            *make_blobs(), sample_weight=scipy.sparse.csr_matrix(np.ones((60, 1)))
        ),
        TypeError,
        r"sample_weight must be a 1-d array-like, got a sparse csr_matrix",
    ),
    "class_weight: a tuple key": one(
        "fit",
        lambda: LinearSVM(class_weight={(0,): 2.0}).fit(*make_blobs()),
        ValueError,
        ESCAPED("class_weight keys must be single labels, got (0,)"),
    ),
    "classes: a number": one(
        "partial_fit",
        lambda: LinearSVM().partial_fit(*make_blobs(), classes=3),
        ValueError,
        r"classes must be a 1-d array-like of every label, got 3",
    ),
    "seed: a string": one(
        "check_gradient",
        lambda: check_gradient(lambda v: float(v @ v), np.ones(3), 2 * np.ones(3), seed="abc"),
        TypeError,
        r"seed must be None, a non-negative int or a numpy.random.Generator, got 'abc'",
    ),
    "detect_kinks: a string": one(
        "check_gradient",
        lambda: check_gradient(
            lambda v: float(v @ v), np.ones(3), 2 * np.ones(3), detect_kinks="no"
        ),
        TypeError,
        r"detect_kinks must be a bool, got 'no' of type str",
    ),
    "y: NaN among object labels": one(
        "fit",
        lambda: LinearSVM().fit(
            make_blobs()[0],
            np.where(np.arange(120) == 3, np.nan, 1.0 * (np.arange(120) % 3)).astype(object),
        ),
        ValueError,
        ESCAPED("y contains missing labels (NaN or None) in 1 entries (first at index 3)"),
    ),
    "y: strings for a model of int labels": one(
        "score",
        lambda: fitted().score(make_data()[0], make_data()[1].astype(str)),
        ValueError,
        r"y holds labels of another type than the model's classes: y has dtype <U\d+",
    ),
    "X: finite rows whose scores overflow": one(
        "SoftmaxClassifier.predict_proba",
        lambda: fitted(SoftmaxClassifier, np.float64).predict_proba(
            np.full((2, D), BIG) * [-1, 1, 1, 1]
        ),
        ValueError,
        r"X is finite, but the scores X coef_.T \+ intercept_ of 2 rows overflow float64",
    ),
    "callbacks: a number among them": one(
        "Trainer",
        lambda: Trainer(linear_objective_node(), SGD(0.01), callbacks=[print, 1]),
        TypeError,
        r"callbacks\[1\] must be callable \(as callback\(trainer, logs\)\), got 1 of type int",
    ),
    "checkpoint_path: a number": one(
        "Trainer",
        lambda: Trainer(linear_objective_node(), SGD(0.01), checkpoint_path=123),
        TypeError,
        r"checkpoint_path must be None, a str or an os.PathLike, got int",
    ),
    "resume: a string": one(
        "Trainer.fit",
        lambda: Trainer(LinearObjective("hinge", reg=0.1), SGD(0.01)).fit(
            {"W": np.zeros((3, 4)), "b": np.zeros(3)}, *make_blobs()[:2], resume="no"
        ),
        TypeError,
        r"resume must be a bool, got 'no' of type str",
    ),
}


def badly_scaled():
    """make_data()'s X with column 0 times 1e6, and its labels."""
    X, y, _ = make_data()
    X[:, 0] *= 1e6
    return X, y


def linear_objective_node():
    return LinearObjective("hinge", reg=1e-3)


def raw_fit(Estimator, **params):
    X, y = badly_scaled()
    return Estimator(standardize=False, random_state=0, **params).fit(X, y)


def raw_memmap_fit():
    # Out-of-core X is not standardized ("auto"): the check's one read measures the scales.
    # solver="sgd": at "auto" a memmap this small (one engine block) is read whole.
    X, y = badly_scaled()
    with tempfile.TemporaryDirectory() as folder:
        mapped = np.lib.format.open_memmap(Path(folder) / "X.npy", "w+", X.dtype, X.shape)
        mapped[:] = X
        mapped.flush()
        clf = LinearSVM(random_state=0, max_epochs=2, tol=None, solver="sgd")
        try:
            clf.fit(np.load(Path(folder) / "X.npy", mmap_mode="r"), y)
        except DivergenceError:
            pass  # what raw training does next: the case "a finite loss that grows 1000 times"


DIVERGENCE = {
    "a finite loss that grows 1000 times: training diverges": Case(
        {
            f"{E.__name__}.fit (solver='sgd', standardize=False)": partial(
                raw_fit, E, solver="sgd", max_epochs=5
            )
            for E in (LinearSVM, SoftmaxClassifier)
        },
        DivergenceError,
        r"Training diverged at epoch \d+, batch \d+: the loss rose to [\d.e+]+, from [\d.]+ at "
        r"the start",
    ),
    "learning_rate too large: training diverges": one(
        "Trainer.fit",
        diverging_fit,
        DivergenceError,
        r"Training diverged at epoch \d+, batch \d+: .*rolled back to the last finite "
        r"state\. Try a lower learning_rate or standardize the features",
    ),
    "start with non-finite parameters": one(
        "Trainer.fit (on_divergence='halve')", non_finite_start, DivergenceError, "epoch 1, batch 1"
    ),
}

RESUME = {
    "resume: checkpoint of other data": one(
        "Trainer.fit(resume=True)",
        partial(resume, rows=slice(-1)),
        ValueError,
        "written for other data or settings",
    ),
    "resume: without checkpoint_path": one(
        "Trainer.fit(resume=True)",
        partial(resume, path=False),
        ValueError,
        "resume=True needs the Trainer's checkpoint_path",
    ),
    "resume: both checkpoints corrupt": one(
        "Trainer.fit(resume=True)",
        partial(resume, corrupt=True),
        ModelFileError,
        "no intact checkpoint",
    ),
}


def runtime_warnings_raise(call):
    # As in the suite's configuration, independently of how pytest is invoked.
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        return call()


def huge_weights_weigh_like_unit_weights(loss):
    # Only ratios of weights matter: 1e308 everywhere is unit weights, without a warning.
    W, b, X, y = W_b_X_y()
    huge = runtime_warnings_raise(lambda: loss(W, b, X, y, sample_weight=np.full(N, 1e308)))
    np.testing.assert_allclose(huge[0], loss(W, b, X, y)[0], rtol=1e-6)


def float32_penalty_is_accumulated_in_float64(loss):
    # Squares of float32 weights above ~1.8e19 overflow float32, not the float64 sum.
    W, X, y = np.full((C, D), 1e20, np.float32), make_data(np.float32)[0], make_data()[1]
    expected = LOSSES[f"{loss.__name__}_naive"](W, None, X, y, reg=1.0)[0]  # 1.2e41
    penalized = runtime_warnings_raise(lambda: loss(W, None, X, y, reg=1.0)[0])
    np.testing.assert_allclose(penalized, expected, rtol=1e-6)


NUMERICS = {
    "X: columns 1e6 apart in scale, used raw": Case(
        {
            **{
                f"{E.__name__}.fit (standardize=False)": partial(raw_fit, E)
                for E in (LinearSVM, SoftmaxClassifier)
            },
            "fit (a memmap)": raw_memmap_fit,
        },
        ConvergenceWarning,
        r"X's columns differ in scale by a factor of [\d.e+]+ \(root mean square [\d.e+]+ in "
        r"column 0, .*the solver may stop far from the optimum",
    ),
    "sample_weight: 1e308 for every sample": checked(
        subset(LOSSES, "svm_loss", "softmax_loss"),
        huge_weights_weigh_like_unit_weights,
        "the loss of unit weights, without a warning",
    ),
    "W: float32 weights whose squares overflow float32": checked(
        subset(LOSSES, "svm_loss", "softmax_loss"),
        float32_penalty_is_accumulated_in_float64,
        "the penalty of the float64 loop twin, without a warning",
    ),
}

SECTIONS = {
    "bad-inputs": BAD_INPUTS,
    "divergence": DIVERGENCE,
    "numerics": NUMERICS,
    "resume": RESUME,
}
CASES = {key: case for cases in SECTIONS.values() for key, case in cases.items()}


GAPS: dict[str, Gap] = {}
