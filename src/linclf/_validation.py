"""Checks and conversions at the public boundary, and the error messages they produce.

Everything that enters linclf from a user passes through one of these functions once;
the math layer and the batched core below them trust their inputs. Messages follow
scikit-learn's wording where scikit-learn has one, so code written against its messages
keeps working, and add what scikit-learn leaves out (how many entries, and where).
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._engine.blocks import is_out_of_core, iter_row_blocks
from .exceptions import DataConversionWarning

_FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))

# Rows scanned at a time when locating non-finite entries: bounds the temporary mask.
_SCAN_ROWS = 8192


def is_sparse(X: Any) -> bool:
    """Whether ``X`` is a scipy.sparse matrix or array (by its type: SciPy is not imported)."""
    return type(X).__module__.startswith("scipy.sparse")


@dataclass(frozen=True)
class TrainingData:
    """Training data checked once at the public boundary; everything below trusts it.

    Attributes
    ----------
    X : ndarray, scipy.sparse CSR/CSC matrix, or out-of-core array of shape (N, D)
        Finite, and every value fits the training dtype. Dense X is a float32/float64
        ndarray; out-of-core X (``numpy.memmap`` or a row-sliceable array-like) is kept
        as it is, never loaded whole. Never written to.
    y : ndarray of shape (N,), intp
        Class indices in ``[0, n_classes)``.
    n_classes : int
    sample_weight : ndarray of shape (N,), float64, or None
        Non-negative per-sample weights (class weights already folded in); None for 1.
    classes : ndarray of shape (n_classes,) or None
        The labels the indices stand for, when an estimator encoded them.
    feature_names : ndarray of shape (D,), object, or None
        Column names of a DataFrame X.
    """

    X: Any
    y: np.ndarray
    n_classes: int
    sample_weight: np.ndarray | None = None
    classes: np.ndarray | None = None
    feature_names: np.ndarray | None = None

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


def assert_all_finite(X: Any, name: str = "X") -> None:
    """Raise ``ValueError`` if a floating ``X`` holds NaN or ±inf, saying how many and where.

    A float64 sum is finite exactly when no entry is NaN or inf (unless finite values
    overflow it, in which case the exact scan below runs and finds nothing), so the common
    clean case costs one pass and no temporary array. Out-of-core X (a memmap) is read
    block by block, once.
    """
    if np.dtype(X.dtype).kind not in "fc":
        return
    blocks = iter_row_blocks(X) if is_out_of_core(X) else [(0, X)]
    n_nan = n_inf = 0
    first_nan = first_inf = None
    for offset, data in blocks:
        with np.errstate(over="ignore", invalid="ignore"):  # an overflowing sum: scan below
            if np.isfinite(np.sum(data, dtype=np.float64)):
                continue
        flat = data.reshape(data.shape[0], -1) if data.ndim > 1 else data.reshape(-1, 1)
        for start in range(0, flat.shape[0], _SCAN_ROWS):
            block = flat[start : start + _SCAN_ROWS]
            nan_mask = np.isnan(block)
            inf_mask = np.isinf(block)
            n_nan += int(nan_mask.sum())
            n_inf += int(inf_mask.sum())
            if first_nan is None and nan_mask.any():
                r, c = np.argwhere(nan_mask)[0]
                first_nan = (offset + start + int(r), int(c))
            if first_inf is None and inf_mask.any():
                r, c = np.argwhere(inf_mask)[0]
                first_inf = (offset + start + int(r), int(c))

    def where(pos: tuple[int, int]) -> str:
        return f"row {pos[0]}" if len(X.shape) == 1 else f"row {pos[0]}, column {pos[1]}"

    if n_nan:
        raise ValueError(
            f"Input {name} contains NaN in {_entries(n_nan)} (first at {where(first_nan)})."
        )
    if n_inf:
        raise ValueError(
            f"Input {name} contains infinity or a value too large for {np.dtype(X.dtype)!r} "
            f"in {_entries(n_inf)} (first at {where(first_inf)})."
        )


def _to_ndarray(X: Any, name: str) -> np.ndarray:
    if X is None:
        raise ValueError(f"{name} is None; expected an array-like of numbers")
    if isinstance(X, np.ndarray):
        arr = X
    elif hasattr(X, "to_numpy"):  # pandas objects: keep their column dtypes' common type
        arr = X.to_numpy()
    else:
        arr = np.asarray(X)
    if isinstance(arr, np.matrix):
        arr = arr.view(np.ndarray)
    if arr.dtype.kind == "c":
        raise ValueError(f"Complex data not supported; {name} has dtype {arr.dtype}")
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
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must contain numbers, got dtype {arr.dtype}")
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
) -> Any:
    """Validate a feature matrix and convert it to a 2-D floating ndarray (or CSR/CSC matrix).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        NumPy arrays, ``np.matrix``, nested lists, pandas objects and object arrays of
        numbers are accepted.
    dtype : float32, float64 or None
        Target dtype; ``None`` keeps float32/float64 and converts anything else to float64.
    name : str
        The argument's name in error messages.
    estimator_name : str or None
        The estimator's class name in error messages.
    order : {"C", None}
        ``"C"`` returns a C-contiguous array (copying only when needed).
    check_finite : bool
        Scan for NaN/inf (one pass over X). A caller may skip it when it scans later,
        only if a result turns out non-finite (as the loss functions do).
    accept_sparse : bool
        Accept ``scipy.sparse`` matrices and arrays: CSR and CSC are kept, other formats
        are converted to CSR; only the stored values are converted and checked, so X is
        never densified.

    Returns
    -------
    ndarray or sparse matrix of shape (n_samples, n_features)
        ``X`` itself when it already has the dtype and layout asked for, else a converted
        copy. It is never written to by linclf.

    Raises
    ------
    ValueError
        For NaN/inf, complex, string or non-numeric entries, a wrong number of dimensions,
        zero samples or zero features.
    TypeError
        For sparse input when ``accept_sparse`` is False.
    """
    if is_out_of_core(X):
        return _check_out_of_core(
            X, name=name, estimator_name=estimator_name, check_finite=check_finite
        )
    if is_sparse(X):
        if not accept_sparse:
            raise TypeError(
                f"{name} is a scipy.sparse matrix, which this function does not accept; "
                f"pass a dense array ({name}.toarray())"
            )
        return _check_sparse(X, dtype=dtype, name=name, estimator_name=estimator_name)
    arr = _to_ndarray(X, name)
    if arr.ndim == 0:
        raise ValueError(
            f"Expected 2D array, got scalar array instead:\n{name}={arr!r}.\n"
            "Reshape your data either using array.reshape(-1, 1) if your data has a single "
            "feature or array.reshape(1, -1) if it contains a single sample."
        )
    if arr.ndim == 1:
        raise ValueError(
            "Expected 2D array, got 1D array instead:\n"
            f"{name}={np.array2string(arr, threshold=10)}.\n"
            "Reshape your data either using array.reshape(-1, 1) if your data has a single "
            "feature or array.reshape(1, -1) if it contains a single sample."
        )
    if arr.ndim > 2:
        raise ValueError(
            f"Found array with dim {arr.ndim}. {_owner(estimator_name)} expected <= 2 "
            f"({name} must have shape (n_samples, n_features), got {arr.shape})."
        )
    n_samples, n_features = arr.shape
    if n_samples < 1:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={arr.shape}) while a minimum of 1 is "
            f"required by {_owner(estimator_name)}."
        )
    if n_features < 1:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 is "
            f"required by {_owner(estimator_name)}."
        )
    target = resolve_dtype(dtype) if dtype is not None else None
    if target is None:
        target = arr.dtype if arr.dtype in _FLOAT_DTYPES else np.dtype(np.float64)
    if arr.dtype.kind == "f" and check_finite:
        assert_all_finite(arr, name)
    check_fits_dtype(arr, target, name)
    return np.asarray(arr, dtype=target, order=order)


def check_fits_dtype(X: np.ndarray, dtype: np.dtype, name: str = "X") -> None:
    """Raise ``ValueError`` if casting finite ``X`` to the floating ``dtype`` would overflow to inf.

    Only a narrowing cast (float64 → float32) can overflow; it costs a min and a max pass
    and no temporary array.
    """
    dtype = np.dtype(dtype)
    if X.dtype.kind != "f" or X.dtype.itemsize <= dtype.itemsize or 0 in X.shape:
        return
    if is_out_of_core(X):
        for start, block in iter_row_blocks(X):
            low, high = float(block.min()), float(block.max())
            if max(-low, high) > float(np.finfo(dtype).max):
                raise ValueError(
                    f"Input {name} contains infinity or a value too large for {dtype!r} "
                    f"in the rows from {start} on (|value| up to {max(-low, high):.3e})."
                )
        return
    limit = float(np.finfo(dtype).max)
    too_large = np.abs(X) > limit if max(-float(X.min()), float(X.max())) > limit else None
    if too_large is not None:
        r, c = np.argwhere(too_large.reshape(X.shape[0], -1))[0]
        raise ValueError(
            f"Input {name} contains infinity or a value too large for {dtype!r} in "
            f"{_entries(int(too_large.sum()))} (first at row {r}, column {c}). "
            f"The largest {dtype} is {limit:.3e}."
        )


def _check_out_of_core(X: Any, *, name: str, estimator_name: str | None, check_finite: bool) -> Any:
    """Check a memmap or row-sliceable array-like without loading it; return it as it is."""
    if len(X.shape) != 2:
        raise ValueError(
            f"Found array with dim {len(X.shape)}. {_owner(estimator_name)} expected 2 "
            f"({name} must have shape (n_samples, n_features), got {X.shape})."
        )
    kind = np.dtype(X.dtype).kind
    if kind == "c":
        raise ValueError(f"Complex data not supported; {name} has dtype {X.dtype}")
    if kind not in "biuf":
        raise ValueError(f"{name} must contain numbers, got dtype {X.dtype}")
    for count, what in ((X.shape[0], "sample"), (X.shape[1], "feature")):
        if count < 1:
            raise ValueError(
                f"Found array with 0 {what}(s) (shape={X.shape}) while a minimum of 1 is "
                f"required by {_owner(estimator_name)}."
            )
    if kind == "f" and check_finite:
        assert_all_finite(X, name)  # block by block: read once, never held whole
    return X


def _check_sparse(X: Any, *, dtype: Any, name: str, estimator_name: str | None) -> Any:
    if X.format not in ("csr", "csc"):
        X = X.tocsr()
    n_samples, n_features = X.shape
    for count, what in ((n_samples, "sample"), (n_features, "feature")):
        if count < 1:
            raise ValueError(
                f"Found array with 0 {what}(s) (shape={X.shape}) while a minimum of 1 is "
                f"required by {_owner(estimator_name)}."
            )
    kind = X.dtype.kind
    if kind == "c":
        raise ValueError(f"Complex data not supported; {name} has dtype {X.dtype}")
    if kind not in "biuf":
        raise ValueError(f"{name} must contain numbers, got a sparse matrix of dtype {X.dtype}")
    if kind == "f":
        _assert_sparse_finite(X, name)
    target = resolve_dtype(dtype) if dtype is not None else None
    if target is None:
        target = X.dtype if X.dtype in _FLOAT_DTYPES else np.dtype(np.float64)
    if X.dtype != target:
        check_fits_dtype(X.data.reshape(-1, 1), target, f"{name}.data")
        X = X.astype(target)
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
    """Validate a target vector: 1-D (a column is raveled with a warning), finite, n_samples long.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, 1)
    n_samples : int
        The number of rows of X.
    name : str
        The argument's name in error messages.

    Returns
    -------
    ndarray of shape (n_samples,)

    Raises
    ------
    ValueError
        For ``y=None``, NaN/inf labels, more than one column, or a length that differs from X's.
    """
    if y is None:
        raise ValueError(f"requires {name} to be passed, but the target {name} is None")
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
    return arr


def encode_labels(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(classes, y_index)``: sorted unique labels and each sample's class index.

    Raises
    ------
    ValueError
        For continuous targets ("Unknown label type: continuous") and for a single class.
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


def check_sample_weight(sample_weight: Any, n_samples: int) -> np.ndarray | None:
    """Validate per-sample weights: finite, non-negative, shape (n_samples,), not all zero.

    Returns
    -------
    ndarray of shape (n_samples,), float64, or None
        ``None`` when ``sample_weight`` is None (every sample weighs 1).
    """
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number) and not isinstance(sample_weight, bool):
        sample_weight = np.full(n_samples, float(sample_weight))
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
    """Check a hyperparameter's type and range, raising with its name and value.

    Booleans are not accepted as numbers. Returns ``value`` unchanged.
    """
    wants_bool = kind is bool or (isinstance(kind, tuple) and bool in kind)
    if (isinstance(value, bool) and not wants_bool) or not isinstance(value, kind):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        expected = " or ".join(k.__name__ for k in kinds)
        raise TypeError(f"{name} must be {expected}, got {value!r} of type {type(value).__name__}")
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if not np.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
        if low is not None and (value < low or (value == low and not low_inclusive)):
            raise ValueError(
                f"{name} must be {'>=' if low_inclusive else '>'} {low}, got {value!r}"
            )
        if high is not None and (value > high or (value == high and not high_inclusive)):
            raise ValueError(
                f"{name} must be {'<=' if high_inclusive else '<'} {high}, got {value!r}"
            )
    return value


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
    W: Any,
    b: Any,
    X: Any,
    y: Any,
    reg: Any,
    sample_weight: Any,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray, float, np.ndarray | None]:
    """Validate the arguments of the public loss functions (``svm_loss`` and its kin).

    Returns ``(W, b, X, y, reg, sample_weight)`` with W, b and X in one floating compute
    dtype (float32 only when W and X both are), y as intp class indices in [0, C).
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
    """Validate y as integer class indices in ``[0, n_classes)``; return it as intp.

    Raises
    ------
    ValueError
        For non-integer values or indices outside the range, naming the first offender.
    """
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
