"""Checks and conversions at the public boundary, once; everything below trusts them.

Messages keep scikit-learn's wording where it has one and add how many entries, and where.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._engine.blocks import is_out_of_core, iter_row_blocks
from .exceptions import DataConversionWarning

_FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))
_SCAN_ROWS = 8192  # rows scanned at a time when locating non-finite entries: bounds the mask


def is_sparse(X: Any) -> bool:
    """Whether ``X`` is a scipy.sparse matrix or array (by its type: SciPy is not imported)."""
    return type(X).__module__.startswith("scipy.sparse")


@dataclass(frozen=True)
class TrainingData:
    r"""Training data checked once at the public boundary; everything below trusts it.

    Attributes
    ----------
    X : float32/float64 ndarray, CSR/CSC matrix, or out-of-core array of shape (N, D)
        Finite, fits the training dtype, never written to; out-of-core X is never loaded whole.
    y, n_classes : ndarray of shape (N,), intp, and int
        Class indices in ``[0, n_classes)``.
    sample_weight : ndarray of shape (N,), float64, or None
        Non-negative per-sample weights (class weights folded in); None for 1.
    classes, feature_names : ndarray of shape (n_classes,) and (D,), or None
        The labels the indices stand for; the column names of a DataFrame X.
    column_rms : ndarray of shape (D,), float64, or None
        Root mean square of each column of out-of-core X, from the check's one read.
    column_means : ndarray of shape (D,), float64, or None
        The (weighted) column means :math:`c` of sparse X, by which the full-batch solvers
        center it implicitly (:math:`(X - 1c^\top) W^\top + b'`, X stays sparse): the same
        models, better conditioned; None: not centered.
    """

    X: Any
    y: np.ndarray
    n_classes: int
    sample_weight: np.ndarray | None = None
    classes: np.ndarray | None = None
    feature_names: np.ndarray | None = None
    column_rms: np.ndarray | None = None
    column_means: np.ndarray | None = None

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def kind(self) -> str:
        """``"sparse"``, ``"out_of_core"`` or ``"dense"``: what the engine branches on."""
        if is_sparse(self.X):
            return "sparse"
        return "out_of_core" if is_out_of_core(self.X) else "dense"


def _entries(n: int) -> str:
    return f"{n} entry" if n == 1 else f"{n} entries"


def _owner(estimator_name: str | None) -> str:
    return estimator_name if estimator_name else "this function"


def resolve_dtype(dtype: Any, name: str = "dtype") -> np.dtype:
    """Return ``dtype`` as float32 or float64, or raise ``ValueError`` naming ``name``."""
    try:
        resolved = np.dtype(dtype)
    except TypeError as exc:
        raise ValueError(f"{name} must be float32 or float64, got {dtype!r}") from exc
    if resolved not in _FLOAT_DTYPES:
        raise ValueError(f"{name} must be float32 or float64, got {resolved}")
    return resolved


def _narrowing_limit(dtype: Any, target: Any) -> float | None:
    """The largest value of ``target`` when casting floating ``dtype`` to it narrows, else None."""
    if target is None or np.dtype(dtype).kind != "f":
        return None
    if np.dtype(dtype).itemsize <= np.dtype(target).itemsize:
        return None
    return float(np.finfo(target).max)


def assert_all_finite(
    X: Any, name: str = "X", *, fits_dtype: Any = None, squares: np.ndarray | None = None
) -> None:
    """Raise ``ValueError`` if a floating ``X`` holds NaN or ±inf, saying how many and where.

    A float64 sum is finite exactly when no entry is NaN or inf (an overflowing sum only
    triggers the exact scan, which finds nothing), so the clean case costs one pass and no
    temporary. Out-of-core X is read once, block by block; ``fits_dtype`` (narrower than
    X's) also refuses values beyond its range in that read, naming the first such block,
    and ``squares`` (float64, one per column of 2-D X) gets each column's sum of squares.
    """
    if np.dtype(X.dtype).kind not in "fc":
        return
    limit = _narrowing_limit(X.dtype, fits_dtype)
    blocks = iter_row_blocks(X) if is_out_of_core(X) else [(0, X)]
    count, first, beyond = {np.isnan: 0, np.isinf: 0}, {}, None
    for offset, data in blocks:
        if squares is not None:
            with np.errstate(over="ignore", invalid="ignore"):
                squares += np.einsum("ij,ij->j", data, data, dtype=np.float64)
        if limit is not None and beyond is None and data.size:
            top = max(-float(data.min()), float(data.max()))  # NaN compares False: skipped
            beyond = (offset, top) if top > limit else None
        with np.errstate(over="ignore", invalid="ignore"):  # an overflowing sum: scan below
            if np.isfinite(np.sum(data, dtype=np.float64)):
                continue
        flat = data.reshape(data.shape[0], -1) if data.ndim > 1 else data.reshape(-1, 1)
        for start in range(0, flat.shape[0], _SCAN_ROWS):
            block = flat[start : start + _SCAN_ROWS]
            for test in count:
                mask = test(block)
                count[test] += int(mask.sum())
                if test not in first and mask.any():
                    r, c = np.argwhere(mask)[0]
                    first[test] = f"row {offset + start + int(r)}" + (
                        "" if len(X.shape) == 1 else f", column {int(c)}"
                    )
    if count[np.isnan]:
        raise ValueError(
            f"Input {name} contains NaN in {_entries(count[np.isnan])} "
            f"(first at {first[np.isnan]})."
        )
    if count[np.isinf]:
        raise ValueError(
            f"Input {name} contains infinity or a value too large for {np.dtype(X.dtype)!r} "
            f"in {_entries(count[np.isinf])} (first at {first[np.isinf]})."
        )
    if beyond is not None:
        raise ValueError(
            f"Input {name} contains infinity or a value too large for {np.dtype(fits_dtype)!r} "
            f"in the rows from {beyond[0]} on (|value| up to {beyond[1]:.3e})."
        )


def from_dlpack(X: Any, name: str) -> np.ndarray:
    """A NumPy view of an array that exports DLPack (a CPU ``torch.Tensor``, an array-API
    array): zero-copy, so no slower than an ndarray. ``TypeError`` naming ``name`` for what
    NumPy cannot view (a GPU tensor, a tensor requiring grad, bfloat16)."""
    try:
        return np.from_dlpack(X)
    except (BufferError, RuntimeError, TypeError, ValueError) as exc:
        kind = f"{type(X).__module__}.{type(X).__qualname__}"
        about = ", ".join(
            f"{attr} {getattr(X, attr)}" for attr in ("dtype", "device") if hasattr(X, attr)
        )
        raise TypeError(
            f"{name} is a {kind} ({about}) that NumPy cannot view: {str(exc).rstrip('.')}. "
            f"linclf computes with NumPy on the CPU: pass an array of a NumPy dtype on the "
            f"CPU (for a torch.Tensor, {name}.detach().cpu())"
        ) from None


def _to_ndarray(X: Any, name: str) -> np.ndarray:
    if X is None:
        raise ValueError(f"{name} is None; expected an array-like of numbers")
    if isinstance(X, np.ndarray):
        arr = X
    elif hasattr(X, "to_numpy"):  # pandas objects: keep their column dtypes' common type
        arr = X.to_numpy()
    elif hasattr(X, "__dlpack__"):  # tensors and array-API arrays, read in place
        arr = from_dlpack(X, name)
    else:
        try:
            arr = np.asarray(X)
        except ValueError as exc:  # NumPy's words for ragged nested lists
            raise ValueError(
                f"{name} must be a rectangular array of numbers; its rows have different "
                f"lengths or shapes (ragged): {exc}"
            ) from None
    if isinstance(arr, np.matrix):
        arr = arr.view(np.ndarray)
    if arr.dtype.kind in "USV":
        raise ValueError(
            f"{name} must contain numbers, got an array of dtype {arr.dtype} "
            f"(strings or bytes cannot be used as features)"
        )
    if arr.dtype.kind == "O":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            # Same exception type as NumPy's (TypeError for a non-number object such as a
            # dict, ValueError for an unparsable string), with its words kept.
            raise type(exc)(
                f"{name} must contain numbers; an entry could not be converted to float: {exc}"
            ) from exc
    _check_kind(arr.dtype, name)
    return arr


def check_X(
    X: Any,
    *,
    dtype: Any = None,
    name: str = "X",
    estimator_name: str | None = None,
    order: str | None = None,
    check_finite: bool = True,
    accept_sparse: bool = False,
    fits_dtype: Any = None,
    column_squares: np.ndarray | None = None,
) -> Any:
    """Validate a feature matrix: ``X`` itself, or a converted 2-D float (or CSR/CSC) copy.

    Accepts arrays, lists, pandas objects, scipy.sparse with ``accept_sparse`` (CSR/CSC
    kept, never densified) and out-of-core X (checked in one read, returned as is).
    ``dtype`` is the target (None: float32/float64 kept, others to float64); ``name`` and
    ``estimator_name`` go into messages; ``order="C"`` makes it C-contiguous;
    ``check_finite=False`` skips the NaN/inf scan (for callers that scan only when a
    result is non-finite); ``fits_dtype`` refuses values beyond a later cast's range;
    ``column_squares`` gets the columns' sums of squares of out-of-core X in the same read.
    ``ValueError`` for non-finite, complex or non-numeric entries, or a shape other than
    (n_samples >= 1, n_features >= 1); ``TypeError`` for refused sparse input.
    """
    if is_out_of_core(X):
        _check_kind(X.dtype, name)
        _check_shape(X.shape, name, estimator_name, "2")
        if check_finite:  # one read, never held whole
            assert_all_finite(X, name, fits_dtype=fits_dtype, squares=column_squares)
        elif fits_dtype is not None:
            check_fits_dtype(X, fits_dtype, name)
        return X
    if is_sparse(X):
        if not accept_sparse:
            raise TypeError(
                f"{name} is a scipy.sparse matrix, which this function does not accept; "
                f"pass a dense array ({name}.toarray())"
            )
        return _check_sparse(X, dtype, name, estimator_name, fits_dtype)
    arr = _to_ndarray(X, name)
    if arr.ndim < 2:
        shown = (
            f"scalar array instead:\n{name}={arr!r}"
            if arr.ndim == 0
            else (f"1D array instead:\n{name}={np.array2string(arr, threshold=10)}")
        )
        raise ValueError(
            f"Expected 2D array, got {shown}.\n"
            "Reshape your data either using array.reshape(-1, 1) if your data has a single "
            "feature or array.reshape(1, -1) if it contains a single sample."
        )
    _check_shape(arr.shape, name, estimator_name)
    target = _target_dtype(dtype, arr.dtype)
    if arr.dtype.kind == "f" and check_finite:
        assert_all_finite(arr, name)
    check_fits_dtype(arr, target, name)
    if fits_dtype is not None:
        check_fits_dtype(arr, fits_dtype, name)
    return np.asarray(arr, dtype=target, order=order)


def check_fits_dtype(X: np.ndarray, dtype: np.dtype, name: str = "X") -> None:
    """Raise ``ValueError`` if casting finite ``X`` to the floating ``dtype`` would overflow to inf.

    Only a narrowing cast (float64 → float32) can: a min and a max pass, no temporary.
    """
    dtype = np.dtype(dtype)
    limit = _narrowing_limit(X.dtype, dtype)
    if limit is None or 0 in X.shape:
        return
    if is_out_of_core(X):
        assert_all_finite(X, name, fits_dtype=dtype)
        return
    if max(-float(X.min()), float(X.max())) > limit:
        too_large = np.abs(X) > limit
        r, c = np.argwhere(too_large.reshape(X.shape[0], -1))[0]
        raise ValueError(
            f"Input {name} contains infinity or a value too large for {dtype!r} in "
            f"{_entries(int(too_large.sum()))} (first at row {r}, column {c}). "
            f"The largest {dtype} is {limit:.3e}."
        )


def _target_dtype(dtype: Any, current: np.dtype) -> np.dtype:
    """``dtype`` resolved, or (for None) ``current`` if floating, else float64."""
    if dtype is not None:
        return resolve_dtype(dtype)
    return current if current in _FLOAT_DTYPES else np.dtype(np.float64)


def _check_kind(dtype: Any, name: str, what: str = "") -> None:
    kind = np.dtype(dtype).kind
    if kind == "c":
        raise ValueError(f"Complex data not supported; {name} has dtype {dtype}")
    if kind not in "biuf":
        raise ValueError(f"{name} must contain numbers, got {what}dtype {dtype}")


def _check_shape(
    shape: tuple[int, ...], name: str, estimator_name: str | None, expected: str = "<= 2"
) -> None:
    """Refuse anything but 2 dimensions with at least 1 sample and 1 feature."""
    if len(shape) != 2:
        raise ValueError(
            f"Found array with dim {len(shape)}. {_owner(estimator_name)} expected {expected} "
            f"({name} must have shape (n_samples, n_features), got {shape})."
        )
    for count, what in ((shape[0], "sample"), (shape[1], "feature")):
        if count < 1:
            raise ValueError(
                f"Found array with 0 {what}(s) (shape={shape}) while a minimum of 1 is "
                f"required by {_owner(estimator_name)}."
            )


def _check_sparse(X: Any, dtype: Any, name: str, estimator_name: str | None, fits: Any) -> Any:
    """``check_X`` for scipy.sparse X: only the stored values are converted and checked."""
    if X.format not in ("csr", "csc"):
        X = X.tocsr()
    _check_kind(X.dtype, name, "a sparse matrix of ")
    _check_shape(X.shape, name, estimator_name)
    if X.dtype.kind == "f":
        _assert_sparse_finite(X, name)
    target = _target_dtype(dtype, X.dtype)
    if X.dtype != target:
        check_fits_dtype(X.data.reshape(-1, 1), target, f"{name}.data")
        X = X.astype(target)
    if fits is not None:
        check_fits_dtype(X.data, fits, name)
    return X


def _assert_sparse_finite(X: Any, name: str) -> None:
    data = X.data
    if np.isfinite(np.sum(data, dtype=np.float64)):
        return
    bad = ~np.isfinite(data)
    first = int(np.argmax(bad))
    # Locate the first bad stored value: its row (CSR) or column (CSC) from indptr.
    outer = int(np.searchsorted(X.indptr, first, side="right")) - 1
    inner = int(X.indices[first])
    row, col = (outer, inner) if X.format == "csr" else (inner, outer)
    what = "NaN" if np.isnan(data[first]) else f"infinity or a value too large for {data.dtype!r}"
    raise ValueError(
        f"Input {name} contains {what} in {_entries(int(bad.sum()))} of its stored values "
        f"(first at row {row}, column {col})."
    )


def check_y(y: Any, n_samples: int, *, name: str = "y") -> np.ndarray:
    """Validate a target vector: 1-D, finite, ``n_samples`` (X's rows) long, as an ndarray.

    A column vector is raveled with a ``DataConversionWarning``; ``ValueError`` (naming
    ``name``) for None, NaN/inf, complex, more than one column or another length than X's.
    """
    if y is None:
        raise ValueError(f"requires {name} to be passed, but the target {name} is None")
    _refuse_sparse(y, name)
    if hasattr(y, "__dlpack__") and not isinstance(y, np.ndarray):
        arr = from_dlpack(y, name)
    else:
        arr = y.to_numpy() if hasattr(y, "to_numpy") else np.asarray(y)
    if isinstance(arr, np.matrix):
        arr = arr.view(np.ndarray)
    if arr.ndim == 2 and arr.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected. Please change the "
            "shape of y to (n_samples, ), for example using ravel().",
            DataConversionWarning,
            stacklevel=3,
        )
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(f"{name} should be a 1d array, got an array of shape {arr.shape} instead.")
    if arr.shape[0] != n_samples:
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: "
            f"[{n_samples}, {arr.shape[0]}] (X has {n_samples} rows, {name} has {arr.shape[0]})"
        )
    if arr.dtype.kind == "c":
        raise ValueError(f"Complex data not supported; {name} has dtype {arr.dtype}")
    if arr.dtype.kind == "f":
        assert_all_finite(arr, name)
    elif arr.dtype.kind == "O":
        _refuse_missing_labels(arr, name)
    return arr


def _refuse_missing_labels(arr: np.ndarray, name: str) -> None:
    """Object labels holding NaN or None (pandas' missing values) would become a class."""
    missing = [
        i for i, v in enumerate(arr) if v is None or (isinstance(v, float | np.floating) and v != v)
    ]
    if missing:
        raise ValueError(
            f"{name} contains missing labels (NaN or None) in {len(missing)} entries (first at "
            f"index {missing[0]}); drop those samples or give them a label"
        )


def same_label_kind(y: np.ndarray, classes: np.ndarray, name: str = "y") -> None:
    """``ValueError`` when ``y``'s labels are strings and ``classes`` numbers, or the reverse:
    comparing them would count every sample as wrong (scikit-learn refuses them too)."""
    kinds = (y.dtype.kind, classes.dtype.kind)  # object labels may be either: not judged
    if "O" not in kinds and (kinds[0] in "US") != (kinds[1] in "US"):
        raise ValueError(
            f"{name} holds labels of another type than the model's classes: {name} has dtype "
            f"{y.dtype}, classes_ {classes.dtype} ({classes[:5].tolist()}...)"
        )


def encode_labels(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, y_index)``: sorted unique labels and each sample's class index.

    ``ValueError`` for continuous or unsortable labels, and for a single class.
    """
    if y.dtype.kind == "f" and np.any(y != np.round(y)):
        raise ValueError(
            "Unknown label type: continuous. Maybe you are trying to fit a classifier, which "
            "expects discrete classes on a regression target with continuous values."
        )
    try:
        classes, y_index = np.unique(y, return_inverse=True)
    except TypeError as exc:
        raise ValueError(
            f"Unknown label type: y mixes labels of types that cannot be sorted ({exc})"
        ) from exc
    if classes.shape[0] < 2:
        raise ValueError(
            "The number of classes has to be greater than one; got 1 class "
            f"(every label is {classes[0]!r})"
        )
    return classes, y_index.reshape(-1).astype(np.intp, copy=False)


def index_labels(y: Any, classes: Any, *, name: str = "y") -> np.ndarray:
    """Each label's position in the sorted ``classes``, as intp; ``ValueError`` listing the
    labels of ``y`` that are not in ``classes``."""
    y, classes = np.asarray(y), np.asarray(classes)
    index = np.searchsorted(classes, y)
    last = classes.shape[0] - 1
    unknown = (index > last) | (classes[np.minimum(index, last)] != y)
    if unknown.any():
        raise ValueError(
            f"{name} contains labels not in classes: {np.unique(y[unknown]).tolist()!r} "
            f"(classes are {classes.tolist()!r})"
        )
    return index.astype(np.intp, copy=False)


def check_sample_weight(sample_weight: Any, n_samples: int) -> np.ndarray | None:
    """Validate per-sample weights: finite, non-negative, shape (n_samples,), not all zero.

    Returns float64 weights (a scalar is broadcast), or None when ``sample_weight`` is None.
    """
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number) and not isinstance(sample_weight, bool):
        sample_weight = np.full(n_samples, float(sample_weight))
    _refuse_sparse(sample_weight, "sample_weight")
    w = _to_ndarray(sample_weight, "sample_weight").astype(np.float64, copy=False)
    if w.shape != (n_samples,):
        raise ValueError(f"sample_weight.shape == {w.shape}, expected {(n_samples,)}!")
    assert_all_finite(w, "sample_weight")
    n_negative = int(np.count_nonzero(w < 0))
    if n_negative:
        first = int(np.argmax(w < 0))
        raise ValueError(
            f"Negative values in data passed to sample_weight: {_entries(n_negative)} "
            f"(first at index {first}, value {w[first]})"
        )
    if not np.any(w > 0):
        raise ValueError(
            "sample_weight is zero for every sample; at least one sample needs a positive weight"
        )
    with np.errstate(over="ignore"):
        total = np.sum(w)
    if not np.isfinite(total):
        # Only ratios of weights matter (they are normalized): divide by the largest.
        w = w / w.max()
    return w


_KIND_WORDS = {numbers.Real: "a real number", numbers.Integral: "an integer", bool: "a bool"}


def _range_words(low: Any, high: Any, low_inclusive: bool, high_inclusive: bool) -> str:
    """``>= 0``, ``< 1`` or ``in [0, 1)``: the allowed range as the error states it."""
    if low is None:
        return f"{'<=' if high_inclusive else '<'} {high}"
    if high is None:
        return f"{'>=' if low_inclusive else '>'} {low}"
    return f"in {'[' if low_inclusive else '('}{low}, {high}{']' if high_inclusive else ')'}"


def _refuse_sparse(value: Any, name: str) -> None:
    """A sparse matrix where a 1-d array is needed: one clear error, not NumPy's."""
    if is_sparse(value):
        raise TypeError(
            f"{name} must be a 1-d array-like, got a sparse {type(value).__name__} of shape "
            f"{value.shape}; pass a dense array (e.g. {name}.toarray().ravel())"
        )


def check_scalar(
    value: Any,
    name: str,
    kind: type | tuple[type, ...],
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> Any:
    """Check a hyperparameter's type (bools are not numbers) and range; return it unchanged."""
    wants_bool = kind is bool or (isinstance(kind, tuple) and bool in kind)
    if wants_bool and isinstance(value, np.bool_):  # NumPy's bools are bools, as for sklearn
        value = bool(value)
    if (isinstance(value, bool) and not wants_bool) or not isinstance(value, kind):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        expected = " or ".join(_KIND_WORDS.get(k, k.__name__) for k in kinds)
        raise TypeError(f"{name} must be {expected}, got {value!r} of type {type(value).__name__}")
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if not np.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
        below = low is not None and (value < low or (value == low and not low_inclusive))
        above = high is not None and (value > high or (value == high and not high_inclusive))
        if below or above:
            words = _range_words(low, high, low_inclusive, high_inclusive)
            raise ValueError(f"{name} must be {words}, got {value!r}")
    return value


def check_callbacks(callbacks: Any, signature: str) -> tuple:
    """``callbacks`` as a tuple of callables; ``TypeError`` naming the first that is not one
    (``signature``: how each is called, for the message) or a non-sequence."""
    if callable(callbacks) or isinstance(callbacks, str) or not isinstance(callbacks, Iterable):
        raise TypeError(
            f"callbacks must be a sequence of callables (e.g. [callback]), got {callbacks!r}"
        )
    callbacks = tuple(callbacks)
    for i, callback in enumerate(callbacks):
        if not callable(callback):
            raise TypeError(
                f"callbacks[{i}] must be callable (as {signature}), got {callback!r} of type "
                f"{type(callback).__name__}"
            )
    return callbacks


def check_random_state(random_state: Any) -> Any:
    """Accept None, a non-negative int or a ``np.random.Generator``; name anything else."""
    if random_state is None or isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be >= 0, got {random_state}")
        return random_state
    raise TypeError(
        "random_state must be None, an int or a numpy.random.Generator, got "
        f"{random_state!r} of type {type(random_state).__name__}"
    )


def check_loss_inputs(
    W: Any, b: Any, X: Any, y: Any, reg: Any, sample_weight: Any
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray, float, np.ndarray | None]:
    """Validate the arguments of the public loss functions: ``(W, b, X, y, reg, weights)``.

    W, b and X in one floating dtype (float32 only when W and X both are), y as intp in [0, C).
    """
    if is_sparse(W):
        raise TypeError(
            "W must be a dense array of shape (n_classes, n_features), got a sparse matrix"
        )
    W_arr = np.asarray(W)
    if W_arr.dtype.kind != "f":
        raise TypeError(f"W must be a floating array (float32 or float64), got dtype {W_arr.dtype}")
    if W_arr.ndim != 2:
        raise ValueError(f"W must have shape (n_classes, n_features), got shape {W_arr.shape}")
    n_classes, n_features = W_arr.shape
    # X is scanned for NaN/inf only if the loss or gradient comes out non-finite: a pass
    # over X would cost as much as the loss itself (see linear_objective).
    X_arr = check_X(X, dtype=None, check_finite=False)
    if X_arr.shape[1] != n_features:
        raise ValueError(
            f"X has {X_arr.shape[1]} features but W has shape {W_arr.shape}: "
            f"expected X of shape (n_samples, {n_features})"
        )
    dtype = np.result_type(W_arr.dtype, X_arr.dtype)
    b_arr = None
    if b is not None:
        b_arr = np.asarray(b)
        if b_arr.dtype.kind != "f":
            raise TypeError(f"b must be a floating array or None, got dtype {b_arr.dtype}")
        if b_arr.shape != (n_classes,):
            raise ValueError(f"b must have shape ({n_classes},) to match W, got {b_arr.shape}")
        dtype = np.result_type(dtype, b_arr.dtype)
        b_arr = b_arr.astype(dtype, copy=False)
        assert_all_finite(b_arr, "b")
    W_arr = W_arr.astype(dtype, copy=False)
    assert_all_finite(W_arr, "W")
    X_arr = X_arr.astype(dtype, copy=False)
    y_idx = check_class_indices(y, X_arr.shape[0], n_classes)
    reg = float(check_scalar(reg, "reg", numbers.Real, low=0.0))
    return W_arr, b_arr, X_arr, y_idx, reg, check_sample_weight(sample_weight, X_arr.shape[0])


def check_class_indices(y: Any, n_samples: int, n_classes: int) -> np.ndarray:
    """Validate y as integer class indices in ``[0, n_classes)`` (``ValueError`` naming the
    first offender); return it as intp."""
    y_arr = check_y(y, n_samples)
    integral = y_arr.dtype.kind in "iu" or (
        y_arr.dtype.kind == "f" and bool(np.all(y_arr == np.round(y_arr)))
    )
    if not integral:
        raise ValueError(
            f"y must hold integer class indices in [0, {n_classes}), got dtype {y_arr.dtype}"
        )
    bad = (y_arr < 0) | (y_arr >= n_classes)  # before the cast, which huge floats overflow
    if bad.any():
        first = int(np.argmax(bad))
        raise ValueError(
            f"y must hold class indices in [0, {n_classes}) (W has {n_classes} rows); "
            f"y[{first}] = {y_arr[first]!r} and {int(bad.sum())} entries in all are outside"
        )
    return y_arr.astype(np.intp)
