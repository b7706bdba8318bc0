"""The public boundary: every bad input gets a clear error naming the argument.

Each case goes through a public entry point (``LinearSVM`` methods, ``svm_loss``,
``svm_loss_naive``, ``Trainer.fit``), never through ``linclf._validation`` directly, so the
tests prove what a user sees. Good inputs in unusual containers or layouts must be accepted,
give the same numbers as a plain C-contiguous ndarray, and never be written to.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse

import linclf
from linclf import (
    SGD,
    DataConversionWarning,
    LinearObjective,
    LinearSVM,
    NotFittedError,
    Trainer,
    svm_loss,
    svm_loss_naive,
)

N_SAMPLES, N_FEATURES, N_CLASSES = 12, 4, 3

# tol=None runs exactly max_epochs epochs, so no ConvergenceWarning muddies the checks.
FAST = {"max_epochs": 2, "tol": None, "random_state": 0}


def make_data(dtype=np.float64):
    """Fresh X (12, 4), y (3 classes, each present) and positive sample weights."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N_SAMPLES, N_FEATURES)).astype(dtype)
    y = np.arange(N_SAMPLES) % N_CLASSES
    sample_weight = rng.uniform(0.5, 2.0, size=N_SAMPLES)
    return X, y, sample_weight


def make_params(dtype=np.float64):
    """Fresh W (3, 4) and b (3,), away from zero so the hinge is active."""
    rng = np.random.default_rng(1)
    W = rng.normal(size=(N_CLASSES, N_FEATURES)).astype(dtype)
    b = rng.normal(size=N_CLASSES).astype(dtype)
    return W, b


def fitted(dtype=np.float32):
    X, y, _ = make_data()
    return LinearSVM(dtype=dtype, **FAST).fit(X, y)


# Entry points that take (X, y, sample_weight) and return something comparable.
def call_fit(X, y, sample_weight=None):
    return LinearSVM(**FAST).fit(X, y, sample_weight).coef_


def call_score(X, y, sample_weight=None):
    return fitted().score(X, y, sample_weight)


def call_svm_loss(X, y, sample_weight=None):
    W, b = make_params()
    return svm_loss(W, b, X, y, reg=0.1, sample_weight=sample_weight)[0]


def call_svm_loss_naive(X, y, sample_weight=None):
    W, b = make_params()
    return svm_loss_naive(W, b, X, y, reg=0.1, sample_weight=sample_weight)[0]


def call_trainer(X, y, sample_weight=None):
    params = {"W": np.zeros((N_CLASSES, N_FEATURES)), "b": np.zeros(N_CLASSES)}
    trainer = Trainer(LinearObjective("hinge", reg=0.1), SGD(0.1), max_epochs=2, random_state=0)
    trainer.fit(params, X, y, sample_weight)
    return params["W"]


# Entry points that only take X (the labels are the good ones of make_data).
def call_decision_function(X):
    return fitted().decision_function(X)


def call_predict(X):
    return fitted().predict(X)


XY_ENTRY_POINTS = {
    "fit": call_fit,
    "score": call_score,
    "svm_loss": call_svm_loss,
    "svm_loss_naive": call_svm_loss_naive,
    "Trainer.fit": call_trainer,
}


def with_good_y(call):
    return lambda X: call(X, make_data()[1])


X_ENTRY_POINTS = {
    **{name: with_good_y(call) for name, call in XY_ENTRY_POINTS.items()},
    "decision_function": call_decision_function,
    "predict": call_predict,
}


def with_entry(X, row, col, value):
    X = X.copy()
    X[row, col] = value
    return X


def nan_at_2_1_and_5_3():
    X = make_data()[0]
    return with_entry(with_entry(X, 2, 1, np.nan), 5, 3, np.nan)


BAD_X = {
    "nan": (
        nan_at_2_1_and_5_3,
        ValueError,
        re.escape("Input X contains NaN in 2 entries (first at row 2, column 1)."),
    ),
    "+inf": (
        lambda: with_entry(make_data()[0], 3, 2, np.inf),
        ValueError,
        r"Input X contains infinity .* in 1 entry \(first at row 3, column 2\)",
    ),
    "-inf": (
        lambda: with_entry(make_data()[0], 3, 2, -np.inf),
        ValueError,
        r"Input X contains infinity .* in 1 entry \(first at row 3, column 2\)",
    ),
    "complex": (
        lambda: make_data()[0] + 1j,
        ValueError,
        re.escape("Complex data not supported; X has dtype complex128"),
    ),
    "strings": (
        lambda: make_data()[0].astype(str),
        ValueError,
        r"X must contain numbers, got an array of dtype <U\d+ \(strings or bytes",
    ),
    "bytes": (
        lambda: make_data()[0].astype(bytes),
        ValueError,
        r"X must contain numbers, got an array of dtype \|S\d+ \(strings or bytes",
    ),
    "object with a string": (
        lambda: np.array([["a", 1.0, 2.0, 3.0]] * N_SAMPLES, dtype=object),
        ValueError,
        "X must contain numbers; an entry could not be converted to float",
    ),
    "None": (lambda: None, ValueError, "X is None"),
    "0 samples": (
        lambda: np.empty((0, N_FEATURES)),
        ValueError,
        re.escape(f"Found array with 0 sample(s) (shape=(0, {N_FEATURES}))"),
    ),
    "0 features": (
        lambda: np.empty((N_SAMPLES, 0)),
        ValueError,
        re.escape(f"Found array with 0 feature(s) (shape=({N_SAMPLES}, 0))"),
    ),
    "scalar": (lambda: np.float64(1.0), ValueError, "Expected 2D array, got scalar array"),
    "1-D": (
        lambda: make_data()[0][:, 0],
        ValueError,
        r"(?s)Expected 2D array, got 1D array instead:.*Reshape your data",
    ),
    "3-D": (
        lambda: make_data()[0].reshape(N_SAMPLES, 2, 2),
        ValueError,
        re.escape("Found array with dim 3. ") + r".*" + re.escape(f"got ({N_SAMPLES}, 2, 2)"),
    ),
}

# The loss functions take dense arrays only (the estimators and Trainer.fit take sparse).
DENSE_ONLY_ENTRY_POINTS = ["svm_loss", "svm_loss_naive"]


@pytest.mark.parametrize("entry", DENSE_ONLY_ENTRY_POINTS)
def test_sparse_X_is_refused_by_the_loss_functions(entry):
    with pytest.raises(
        TypeError, match=r"X is a scipy\.sparse matrix, which this function does not"
    ):
        X_ENTRY_POINTS[entry](scipy.sparse.csr_matrix(make_data()[0]))


@pytest.mark.parametrize("entry", [e for e in X_ENTRY_POINTS if e not in DENSE_ONLY_ENTRY_POINTS])
def test_sparse_X_with_nan_is_rejected_naming_the_entry(entry):
    # Sparse input is checked through its stored values, and the message still names the
    # row and column of the first bad one.
    X = scipy.sparse.csr_matrix(nan_at_2_1_and_5_3())
    with pytest.raises(
        ValueError,
        match=re.escape(
            "Input X contains NaN in 2 entries of its stored values (first at row 2, column 1)."
        ),
    ):
        X_ENTRY_POINTS[entry](X)


@pytest.mark.parametrize("entry", X_ENTRY_POINTS)
@pytest.mark.parametrize("case", BAD_X)
def test_bad_X_is_rejected_with_a_message_naming_it(entry, case):
    # Every public function that takes X reports the same problem in the same words.
    make_X, exc, match = BAD_X[case]
    X = make_X()
    with pytest.raises(exc, match=match):
        X_ENTRY_POINTS[entry](X)


@pytest.mark.parametrize("entry", XY_ENTRY_POINTS)
def test_object_array_of_numbers_is_accepted_and_converted_exactly(entry):
    # An object array holding floats gives exactly the result of the float64 array.
    X, y, sample_weight = make_data()
    expected = XY_ENTRY_POINTS[entry](X, y, sample_weight)
    result = XY_ENTRY_POINTS[entry](X.astype(object), y, sample_weight)
    np.testing.assert_array_equal(result, expected)


def y_with(value, index=4):
    y = make_data()[1].astype(np.float64)
    y[index] = value
    return y


BAD_Y_ANY_ENTRY = {
    "None": (lambda: None, "requires y to be passed, but the target y is None"),
    "nan": (lambda: y_with(np.nan), re.escape("Input y contains NaN in 1 entry (first at row 4).")),
    "inf": (lambda: y_with(np.inf), r"Input y contains infinity .* \(first at row 4\)"),
    "complex": (
        lambda: make_data()[1] + 0j,
        re.escape("Complex data not supported; y has dtype complex128"),
    ),
    "shape (n, 2)": (
        lambda: np.column_stack([make_data()[1]] * 2),
        re.escape(f"y should be a 1d array, got an array of shape ({N_SAMPLES}, 2) instead."),
    ),
    "too short": (
        lambda: make_data()[1][:-1],
        re.escape(
            f"Found input variables with inconsistent numbers of samples: "
            f"[{N_SAMPLES}, {N_SAMPLES - 1}]"
        ),
    ),
    "too long": (
        lambda: np.append(make_data()[1], 0),
        "inconsistent numbers of samples",
    ),
}


@pytest.mark.parametrize("entry", XY_ENTRY_POINTS)
@pytest.mark.parametrize("case", BAD_Y_ANY_ENTRY)
def test_bad_y_is_rejected_with_a_message_naming_it(entry, case):
    # Missing, non-finite, 2-column or wrong-length targets fail in every entry point.
    make_y, match = BAD_Y_ANY_ENTRY[case]
    X = make_data()[0]
    y = make_y()
    with pytest.raises(ValueError, match=match):
        XY_ENTRY_POINTS[entry](X, y)


BAD_LABELS = {
    "single class": (np.zeros(N_SAMPLES), "The number of classes has to be greater than one"),
    "single string class": (np.array(["a"] * N_SAMPLES), "got 1 class"),
    "continuous": (np.linspace(0.0, 1.0, N_SAMPLES), "Unknown label type: continuous"),
    "unsortable mix": (
        np.array([1, "a"] * (N_SAMPLES // 2), dtype=object),
        "Unknown label type: y mixes labels of types that cannot be sorted",
    ),
}


@pytest.mark.parametrize("case", BAD_LABELS)
def test_fit_rejects_targets_that_are_not_a_classification(case):
    # The estimator encodes labels itself: one class or real-valued targets cannot be fit.
    y, match = BAD_LABELS[case]
    with pytest.raises(ValueError, match=match):
        LinearSVM(**FAST).fit(make_data()[0], y)


BAD_CLASS_INDICES = {
    "too large": (
        lambda: y_with(N_CLASSES).astype(int),
        re.escape(f"y must hold class indices in [0, {N_CLASSES})")
        + r".*y\[4\] = .*3.* are outside",
    ),
    "negative": (
        lambda: y_with(-1).astype(int),
        re.escape(f"y must hold class indices in [0, {N_CLASSES})")
        + r".*y\[4\] = .*-1.* are outside",
    ),
    "not integral": (
        lambda: y_with(0.5),
        re.escape(f"y must hold integer class indices in [0, {N_CLASSES}), got dtype float64"),
    ),
}
INDEX_ENTRY_POINTS = ["svm_loss", "svm_loss_naive", "Trainer.fit"]


@pytest.mark.parametrize("entry", INDEX_ENTRY_POINTS)
@pytest.mark.parametrize("case", BAD_CLASS_INDICES)
def test_class_indices_outside_the_rows_of_W_are_rejected(entry, case):
    # Functions taking y as indices into W's rows name the first offender.
    make_y, match = BAD_CLASS_INDICES[case]
    with pytest.raises(ValueError, match=match):
        XY_ENTRY_POINTS[entry](make_data()[0], make_y())


@pytest.mark.parametrize("entry", XY_ENTRY_POINTS)
def test_column_vector_y_warns_and_gives_the_raveled_result(entry):
    # y of shape (n, 1) is accepted after a DataConversionWarning, as if it were raveled.
    X, y, sample_weight = make_data()
    expected = XY_ENTRY_POINTS[entry](X, y, sample_weight)
    with pytest.warns(DataConversionWarning, match="A column-vector y was passed"):
        result = XY_ENTRY_POINTS[entry](X, y.reshape(-1, 1), sample_weight)
    np.testing.assert_array_equal(result, expected)


def test_data_conversion_warning_is_the_one_from_linclf_exceptions():
    # The public name and the module's class are the same object, a UserWarning.
    assert linclf.DataConversionWarning is linclf.exceptions.DataConversionWarning
    assert issubclass(DataConversionWarning, UserWarning)


@pytest.mark.parametrize("method", ["predict", "decision_function", "score"])
def test_wrong_number_of_features_after_fit_has_the_exact_message(method):
    # scikit-learn's exact wording, so code matching its message keeps working.
    clf = fitted()
    X, y, _ = make_data()
    args = (X[:, :3], y) if method == "score" else (X[:, :3],)
    expected = "X has 3 features, but LinearSVM is expecting 4 features as input."
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        getattr(clf, method)(*args)


BAD_SAMPLE_WEIGHT = {
    "all zero": (
        lambda: np.zeros(N_SAMPLES),
        "sample_weight is zero for every sample; at least one sample needs a positive weight",
    ),
    "too short": (
        lambda: np.ones(N_SAMPLES - 1),
        re.escape(f"sample_weight.shape == ({N_SAMPLES - 1},), expected ({N_SAMPLES},)!"),
    ),
    "column": (
        lambda: np.ones((N_SAMPLES, 1)),
        re.escape(f"sample_weight.shape == ({N_SAMPLES}, 1), expected ({N_SAMPLES},)!"),
    ),
    "one negative": (
        lambda: np.where(np.arange(N_SAMPLES) == 3, -0.5, 1.0),
        re.escape("Negative values in data passed to sample_weight: 1 entry ")
        + re.escape("(first at index 3, value -0.5)"),
    ),
    "nan": (
        lambda: np.where(np.arange(N_SAMPLES) == 7, np.nan, 1.0),
        re.escape("Input sample_weight contains NaN in 1 entry (first at row 7)."),
    ),
    "strings": (lambda: np.array(["1"] * N_SAMPLES), "sample_weight must contain numbers"),
}


@pytest.mark.parametrize("entry", XY_ENTRY_POINTS)
@pytest.mark.parametrize("case", BAD_SAMPLE_WEIGHT)
def test_bad_sample_weight_is_rejected_with_a_message_naming_it(entry, case):
    # Weights that are all zero, negative, non-finite or of the wrong shape never reach the math.
    make_weight, match = BAD_SAMPLE_WEIGHT[case]
    X, y, _ = make_data()
    with pytest.raises(ValueError, match=match):
        XY_ENTRY_POINTS[entry](X, y, make_weight())


BAD_HYPERPARAMETERS = [
    ({"learning_rate": 0.0}, ValueError, r"^learning_rate must be > 0, got 0\.0"),
    ({"learning_rate": -0.1}, ValueError, r"^learning_rate must be > 0, got -0\.1"),
    ({"learning_rate": float("nan")}, ValueError, r"^learning_rate must be finite"),
    ({"learning_rate": True}, TypeError, r"^learning_rate must be a real number, got True"),
    ({"learning_rate": "0.1"}, TypeError, r"^learning_rate must be a real number, got '0\.1'"),
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
    (
        {"shuffle": "yes"},
        ValueError,
        r"^shuffle must be True, False, 'batches' or 'full', got 'yes'",
    ),
    ({"copy_X": 1}, TypeError, r"^copy_X must be a bool, got 1"),
    ({"verbose": -1}, ValueError, r"^verbose must be >= 0, got -1"),
    ({"dtype": "int32"}, ValueError, r"^dtype must be 'auto', float32 or float64, got 'int32'"),
    (
        {"dtype": np.float16},
        ValueError,
        r"^dtype must be 'auto', float32 or float64, got <class 'numpy.float16'>",
    ),
    (
        {"dtype": "not a dtype"},
        ValueError,
        r"^dtype must be 'auto', float32 or float64, got 'not a dtype'",
    ),
]


@pytest.mark.parametrize(
    ("params", "exc", "match"), BAD_HYPERPARAMETERS, ids=[repr(p[0]) for p in BAD_HYPERPARAMETERS]
)
def test_bad_hyperparameter_is_reported_at_fit_naming_it(params, exc, match):
    # __init__ only stores (scikit-learn's contract); fit names the parameter and its value.
    clf = LinearSVM(**{**FAST, **params})
    X, y, _ = make_data()
    with pytest.raises(exc, match=match):
        clf.fit(X, y)


UNFITTED_METHODS = ["predict", "decision_function", "score"]


def call_unfitted(method):
    X, y, _ = make_data()
    args = (X, y) if method == "score" else (X,)
    return getattr(LinearSVM(), method)(*args)


@pytest.mark.parametrize("caught", [NotFittedError, ValueError, AttributeError])
@pytest.mark.parametrize("method", UNFITTED_METHODS)
def test_unfitted_use_raises_not_fitted_error(method, caught):
    # Before fit, every method that needs coef_ raises linclf's NotFittedError, which the
    # except clauses of ValueError and AttributeError (scikit-learn's bases) also catch.
    with pytest.raises(caught, match="This LinearSVM instance is not fitted yet") as info:
        call_unfitted(method)
    assert type(info.value).__module__ == "linclf.exceptions"


@pytest.mark.parametrize("method", UNFITTED_METHODS)
def test_unfitted_error_is_sklearns_once_sklearn_is_imported(method):
    # With sklearn.exceptions loaded, the raised error is also scikit-learn's class.
    sklearn = pytest.importorskip("sklearn")
    pytest.importorskip("sklearn.exceptions")

    with pytest.raises(sklearn.exceptions.NotFittedError, match="not fitted yet") as info:
        call_unfitted(method)
    assert isinstance(info.value, NotFittedError)


def read_only(a):
    a = np.array(a, copy=True, order="K")
    a.flags.writeable = False
    return a


LAYOUTS = {
    "C float64": lambda X: read_only(np.ascontiguousarray(X)),
    "F float64": lambda X: read_only(np.asfortranarray(X)),
    "C float32": lambda X: read_only(np.ascontiguousarray(X, dtype=np.float32)),
    "F float32": lambda X: read_only(np.asfortranarray(X, dtype=np.float32)),
    "strided view": lambda X: read_only(np.repeat(X, 2, axis=1))[:, ::2],
    "int64": lambda X: read_only(np.round(3 * X).astype(np.int64)),
}


@pytest.mark.parametrize("entry", XY_ENTRY_POINTS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_read_only_and_non_contiguous_input_is_accepted_unchanged(entry, layout):
    # Read-only arrays would raise on any write, so success proves none happened; the
    # result equals that of a writeable C-contiguous copy with the same dtype and values.
    X, y, sample_weight = make_data()
    X_in = LAYOUTS[layout](X)
    y_in, w_in = read_only(y), read_only(sample_weight)
    saved = [a.copy() for a in (X_in, y_in, w_in)]
    expected = XY_ENTRY_POINTS[entry](np.array(X_in, order="C"), y.copy(), sample_weight.copy())
    result = XY_ENTRY_POINTS[entry](X_in, y_in, w_in)
    np.testing.assert_array_equal(result, expected)
    for before, after in zip(saved, (X_in, y_in, w_in), strict=True):
        np.testing.assert_array_equal(after, before)


@pytest.mark.parametrize("loss", [svm_loss, svm_loss_naive])
@pytest.mark.parametrize("layout", ["C", "F"])
def test_loss_accepts_read_only_parameters(loss, layout):
    # W and b are only read by the loss functions: read-only (and Fortran) W works.
    X, y, sample_weight = make_data()
    W, b = make_params()
    expected = loss(W, b, X, y, reg=0.1, sample_weight=sample_weight)
    W_in = read_only(np.asarray(W, order=layout))
    result = loss(W_in, read_only(b), read_only(X), read_only(y), 0.1, sample_weight=sample_weight)
    assert result[0] == expected[0]
    np.testing.assert_array_equal(result[1], expected[1])
    np.testing.assert_array_equal(result[2], expected[2])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("entry", XY_ENTRY_POINTS)
def test_callers_arrays_are_never_modified(entry, dtype):
    # Writeable inputs come back bit-identical: float32 C-contiguous X is used without a
    # copy, so this is where an in-place write would show.
    X, y, sample_weight = make_data(dtype)
    saved = (X.copy(), y.copy(), sample_weight.copy())
    XY_ENTRY_POINTS[entry](X, y, sample_weight)
    for before, after in zip(saved, (X, y, sample_weight), strict=True):
        np.testing.assert_array_equal(after, before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loss", [svm_loss, svm_loss_naive])
def test_loss_never_modifies_W_b_X_y_or_weights(loss, dtype):
    # The returned gradients are new arrays: the parameters and data are left as they were.
    X, y, sample_weight = make_data(dtype)
    W, b = make_params(dtype)
    saved = [a.copy() for a in (W, b, X, y, sample_weight)]
    _, dW, db = loss(W, b, X, y, reg=0.5, sample_weight=sample_weight)
    for before, after in zip(saved, (W, b, X, y, sample_weight), strict=True):
        np.testing.assert_array_equal(after, before)
    assert not np.shares_memory(dW, W)
    assert not np.shares_memory(db, b)


def as_matrix(X, y, w):
    # NumPy discourages np.matrix with a PendingDeprecationWarning; users still pass one.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return np.asmatrix(X), y, w


def as_lists(X, y, w):
    return X.tolist(), y.tolist(), w.tolist()


def as_tuples(X, y, w):
    return tuple(map(tuple, X.tolist())), tuple(y.tolist()), tuple(w.tolist())


def as_pandas(X, y, w):
    return pd.DataFrame(X, columns=list("abcd")), pd.Series(y), pd.Series(w)


def as_mixed_dtype_frame(X, y, w):
    # An integer column next to float ones: to_numpy() gives their common float64.
    frame = pd.DataFrame(X, columns=list("abcd"))
    frame["a"] = np.arange(N_SAMPLES)
    return frame, pd.Series(y), pd.Series(w)


def make_data_with_integer_column():
    # Column 0 holds whole numbers, so the mixed-dtype frame has the same values as X.
    X, y, sample_weight = make_data()
    X[:, 0] = np.arange(N_SAMPLES)
    return X, y, sample_weight


CONTAINERS = {
    "np.matrix": as_matrix,
    "lists": as_lists,
    "tuples": as_tuples,
    "pandas": as_pandas,
    "pandas mixed dtypes": as_mixed_dtype_frame,
}


@pytest.mark.parametrize("entry", XY_ENTRY_POINTS)
@pytest.mark.parametrize("container", CONTAINERS)
def test_array_likes_give_the_ndarray_result(entry, container):
    # Containers only change how the numbers arrive, never the result.
    X, y, sample_weight = make_data_with_integer_column()
    expected = XY_ENTRY_POINTS[entry](X, y, sample_weight)
    result = XY_ENTRY_POINTS[entry](*CONTAINERS[container](X, y, sample_weight))
    np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize("container", CONTAINERS)
def test_predict_accepts_array_likes(container):
    # Prediction converts the same containers: same labels as from the ndarray.
    X, y, sample_weight = make_data_with_integer_column()
    clf = fitted()
    X_in = CONTAINERS[container](X, y, sample_weight)[0]
    np.testing.assert_array_equal(clf.predict(X_in), clf.predict(X))


def W_b_X_y():
    X, y, _ = make_data()
    W, b = make_params()
    return W, b, X, y


def replace(index, value):
    def make():
        args = list(W_b_X_y())
        args[index] = value(args[index])
        return args

    return make


BAD_LOSS_ARGUMENTS = {
    "W 1-D": (
        replace(0, lambda W: W[0]),
        {},
        ValueError,
        re.escape(f"W must have shape (n_classes, n_features), got shape ({N_FEATURES},)"),
    ),
    "W 3-D": (
        replace(0, lambda W: W[None]),
        {},
        ValueError,
        re.escape("W must have shape (n_classes, n_features), got shape (1, 3, 4)"),
    ),
    "W integer": (
        replace(0, lambda W: np.ones(W.shape, dtype=np.int64)),
        {},
        TypeError,
        "W must be a floating array",
    ),
    "W nan": (
        replace(0, lambda W: with_entry(W, 1, 2, np.nan)),
        {},
        ValueError,
        re.escape("Input W contains NaN in 1 entry (first at row 1, column 2)."),
    ),
    "W sparse": (
        replace(0, scipy.sparse.csr_matrix),
        {},
        TypeError,
        "W must be a dense array",
    ),
    "b too long": (
        replace(1, lambda b: np.zeros(N_CLASSES + 1)),
        {},
        ValueError,
        re.escape(f"b must have shape ({N_CLASSES},) to match W, got ({N_CLASSES + 1},)"),
    ),
    "b column": (
        replace(1, lambda b: b.reshape(-1, 1)),
        {},
        ValueError,
        re.escape(f"b must have shape ({N_CLASSES},) to match W, got ({N_CLASSES}, 1)"),
    ),
    "b integer": (
        replace(1, lambda b: np.zeros(N_CLASSES, dtype=np.int64)),
        {},
        TypeError,
        "b must be a floating array or None",
    ),
    "b inf": (
        replace(1, lambda b: np.array([0.0, np.inf, 0.0])),
        {},
        ValueError,
        r"Input b contains infinity .* \(first at row 1\)",
    ),
    "X columns": (
        replace(2, lambda X: X[:, :3]),
        {},
        ValueError,
        re.escape(f"X has 3 features but W has shape ({N_CLASSES}, {N_FEATURES})"),
    ),
    "y outside": (
        replace(3, lambda y: np.where(np.arange(N_SAMPLES) == 5, 7, y)),
        {},
        ValueError,
        r"y\[5\] = .*7.* 1 entries in all are outside",
    ),
    "reg negative": (W_b_X_y, {"reg": -0.5}, ValueError, r"^reg must be >= 0(\.0)?, got -0\.5"),
    "reg bool": (W_b_X_y, {"reg": True}, TypeError, r"^reg must be .*got True"),
    "reg nan": (W_b_X_y, {"reg": float("nan")}, ValueError, r"^reg must be finite"),
    "delta negative": (W_b_X_y, {"delta": -1.0}, ValueError, r"^delta must be >= 0(\.0)?"),
}


@pytest.mark.parametrize("loss", [svm_loss, svm_loss_naive])
@pytest.mark.parametrize("case", BAD_LOSS_ARGUMENTS)
def test_loss_rejects_bad_arguments_naming_them(loss, case):
    # The vectorized loss and its loop twin validate identically.
    make_args, kwargs, exc, match = BAD_LOSS_ARGUMENTS[case]
    with pytest.raises(exc, match=match):
        loss(*make_args(), **kwargs)


TRAINER_MISMATCHES = {
    "X wider than W": (
        lambda X, y: {"X": np.column_stack([X, X[:, 0]]), "y": y},
        re.escape(
            f"X has {N_FEATURES + 1} features, but the parameters expect {N_FEATURES} "
            f"(W has shape ({N_CLASSES}, {N_FEATURES}))"
        ),
    ),
    "X narrower than W": (
        lambda X, y: {"X": X[:, :2], "y": y},
        re.escape(f"X has 2 features, but the parameters expect {N_FEATURES}"),
    ),
    "X_val narrower than W": (
        lambda X, y: {"X": X, "y": y, "validation_data": (X[:, :3], y)},
        re.escape(f"X_val has 3 features, but the parameters expect {N_FEATURES}"),
    ),
    "y_val too short": (
        lambda X, y: {"X": X, "y": y, "validation_data": (X, y[:-2])},
        "inconsistent numbers of samples",
    ),
}


@pytest.mark.parametrize("case", TRAINER_MISMATCHES)
def test_trainer_rejects_data_that_does_not_fit_the_parameters(case):
    # Trainer.fit checks X (and validation data) against params["W"], before any step.
    make_kwargs, match = TRAINER_MISMATCHES[case]
    X, y, _ = make_data()
    W = np.zeros((N_CLASSES, N_FEATURES))
    params = {"W": W, "b": np.zeros(N_CLASSES)}
    trainer = Trainer(LinearObjective("hinge", reg=0.1), SGD(0.1), max_epochs=2)
    with pytest.raises(ValueError, match=match):
        trainer.fit(params, **make_kwargs(X, y))
    np.testing.assert_array_equal(params["W"], W)
    assert not hasattr(trainer, "n_steps_")


def X_with_1e300():
    return with_entry(make_data()[0], 1, 1, 1e300)


def fit_float32(X):
    return LinearSVM(dtype=np.float32, **FAST).fit(X, make_data()[1])


def trainer_float32(X):
    params = {"W": np.zeros((N_CLASSES, N_FEATURES), np.float32), "b": None}
    Trainer(LinearObjective("hinge"), SGD(0.1), max_epochs=2).fit(params, X, make_data()[1])


def decision_function_float32(X):
    return fitted(np.float32).decision_function(X)


@pytest.mark.parametrize(
    "entry",
    [fit_float32, trainer_float32, decision_function_float32],
    ids=["fit", "Trainer.fit", "decision_function"],
)
def test_float64_value_beyond_float32_range_is_reported_as_infinity(entry):
    # 1e300 is finite in float64 but overflows float32: the user hears about it (as
    # infinity, with its position) instead of training or scoring on a silent inf.
    match = re.escape(
        "Input X contains infinity or a value too large for dtype('float32') in 1 entry "
        "(first at row 1, column 1)."
    )
    with pytest.raises(ValueError, match=match):
        entry(X_with_1e300())


def test_float64_value_beyond_float32_range_is_scored_by_a_float64_model():
    # A float64 model scores the same X to finite values: the error above is about float32.
    S = fitted(np.float64).decision_function(X_with_1e300())
    assert np.all(np.isfinite(S))
