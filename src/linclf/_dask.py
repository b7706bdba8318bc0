"""Prediction on Dask collections: lazy, one task per row chunk, the model shipped once.

The estimators call :func:`is_dask` on every X (it reads X's type and imports nothing), and
only for a Dask collection the functions here, which import dask. Prediction needs only
the published model (``coef_``, ``intercept_``, ``classes_``: standardization is folded
into them), held by one task of the graph that every chunk's task depends on, so it
crosses the network once per worker, not once per chunk. X is checked as the NumPy path
checks it: the feature count and names from metadata, at the call; the values in each
chunk's task, with the row positions of the whole X.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from ._engine.core import batched_scores
from ._fitting.data import check_features, feature_names
from ._validation import check_sample_weight, check_X, check_y, same_label_kind
from .losses import log_softmax, softmax

__all__ = ["HOWS", "as_dask_array", "dask_predict", "dask_score", "is_dask"]

# What one chunk's task returns: the scores, the labels, the (log) probabilities.
HOWS = ("decision", "labels", "proba", "log_proba")


def is_dask(X: Any) -> bool:
    """Whether ``X`` is a Dask collection (array, DataFrame, Series...), from its type alone."""
    return type(X).__module__.split(".", 1)[0] in ("dask", "dask_expr")


def as_dask_array(X: Any, name: str = "X") -> tuple[Any, np.ndarray | None]:
    """``(array, feature names)`` of a Dask collection: an Array as it is (no names), a
    DataFrame or Series by ``to_dask_array()``, the DataFrame's string column names kept.

    The row chunks of a converted frame have unknown sizes: counting them reads the data,
    and ``to_dask_array(lengths=True)`` fails on a parquet frame whose column selection
    makes Dask merge partitions ("The number of items in 'lengths' does not match the
    number of partitions"), so whoever needs the sizes counts them on the array.
    """
    import dask.array as da

    if isinstance(X, da.Array):
        return X, None
    if not hasattr(X, "to_dask_array"):
        raise TypeError(
            f"{name} is a {type(X).__module__}.{type(X).__qualname__}; expected a dask "
            "Array, DataFrame or Series (or an in-memory array)"
        )
    return X.to_dask_array(), feature_names(X)


def _checked_X(X: Any, model: Any, estimator_name: str) -> Any:
    """X as a 2-D dask array of one column chunk, its dtype, feature count and names
    checked from metadata with ``check_features``' errors and warnings (on a one-row
    stand-in of X's dtype and columns: nothing is computed)."""
    array, names = as_dask_array(X)
    if array.ndim != 2:
        raise ValueError(
            f"Expected 2D array, got a {array.ndim}D dask array instead (X must have shape "
            f"(n_samples, n_features), got {array.shape})."
        )
    if array.shape[0] == 0:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={array.shape}) while a minimum of 1 is "
            f"required by {estimator_name}."
        )
    known = not math.isnan(array.shape[1])
    stand_in = np.zeros((1, array.shape[1] if known else model.n_features_in), array.dtype)
    if names is not None:
        import pandas as pd  # dask.dataframe's dependency: loaded already

        stand_in = pd.DataFrame(stand_in, columns=X.columns)
    check_features(stand_in, model, estimator_name, check_finite=False)
    if array.numblocks[1] > 1:
        if not known:
            raise ValueError(
                "X has an unknown number of columns in several chunks; call "
                "X.compute_chunk_sizes() first"
            )
        array = array.rechunk({1: -1})  # X Wᵀ sums over whole rows
    return array


def _shipped(estimator: Any) -> Any:
    """The published model as one graph key, named by its content."""
    import dask
    from dask.base import tokenize

    model = (estimator.coef_, estimator.intercept_, estimator.classes_)
    return dask.delayed(model, name=f"linclf-model-{tokenize(*model)}")


def dask_predict(estimator: Any, model: Any, X: Any, how: str) -> Any:
    """``how`` (one of :data:`HOWS`) of a fitted estimator on a Dask X, as a lazy dask array.

    Parameters
    ----------
    estimator : LinearSVM or SoftmaxClassifier
        Fitted: its ``coef_`` (C, D), ``intercept_`` (C,) and ``classes_`` are used.
    model : FittedModel
        Its fitted state, for ``n_features_in`` and ``feature_names_in``.
    X : dask Array of shape (n_samples, n_features), DataFrame or their kin
        Chunked by rows, sizes known or not; column chunks are merged.
    how : {"decision", "labels", "proba", "log_proba"}
        What each row chunk's task returns.

    Returns
    -------
    dask.array.Array of shape (n_samples,) or (n_samples, k)
        Row chunks as X's; the dtype of ``coef_`` (``classes_``'s for labels).
    """
    X = _checked_X(X, model, type(estimator).__name__)
    coef, classes = estimator.coef_, estimator.classes_
    dtype = classes.dtype if how == "labels" else coef.dtype
    width = {"labels": None, "decision": coef.shape[0] if coef.shape[0] > 1 else None}
    width = width.get(how, classes.shape[0])
    if width is None:
        shape = dict(drop_axis=1, chunks=(X.chunks[0],), meta=np.empty((0,), dtype))
    else:
        shape = dict(chunks=(X.chunks[0], (width,)), meta=np.empty((0, width), dtype))
    expected = (model.n_features_in, type(estimator).__name__)
    return X.map_blocks(_chunk_output, _shipped(estimator), how, expected, **shape)


_POSITION = re.compile(r"\b(row|rows from|index) (\d+)")


def _located(exc: ValueError, name: str, block_info: dict | None) -> ValueError:
    """``exc`` with the row positions of its chunk moved to those of the whole ``name``."""
    info = (block_info or {}).get(0, {})
    start, stop = info.get("array-location", [(0, math.nan)])[0]
    message = str(exc).rstrip(".")
    if math.isnan(start) or math.isnan(stop):
        index = info.get("chunk-location", ("?",))[0]
        return ValueError(
            f"{message}; counted from the start of {name}'s row chunk {index} (its position "
            "in the whole is unknown: its chunk sizes are not known)"
        )
    where = f"{message}; counted in {name}'s chunk of rows {start} to {stop - 1}"
    return ValueError(_POSITION.sub(lambda m: f"{m[1]} {start + int(m[2])}", where))


def _chunk_output(
    X: Any, shipped: tuple, how: str, expected: tuple, block_info: dict | None = None
) -> np.ndarray:
    """On a worker: one row chunk's ``how``, after the checks of the NumPy path;
    ``expected``: the model's ``(n_features_in, estimator name)``."""
    coef, intercept, classes = shipped
    try:
        S = _chunk_scores(X, coef, intercept, expected)
    except ValueError as exc:
        raise _located(exc, "X", block_info) from None
    if how == "decision":
        return S.ravel() if coef.shape[0] == 1 else S
    if how == "labels":
        return classes[(S[:, 0] > 0).astype(np.intp) if coef.shape[0] == 1 else S.argmax(axis=1)]
    if coef.shape[0] == 1:  # the binary model's scores of both classes: [0, f]
        S = np.column_stack([np.zeros_like(S), S])
    return softmax(S) if how == "proba" else log_softmax(S)


def _chunk_scores(X: Any, coef: np.ndarray, intercept: np.ndarray, expected: tuple) -> Any:
    """``X coef_ᵀ + intercept_`` of one chunk, (n, C) in coef's dtype; the NumPy path's errors."""
    X = np.asarray(X)
    if X.shape[0] == 0:  # boolean indexing leaves empty chunks
        return np.empty((0, coef.shape[0]), coef.dtype)
    X = check_X(X, check_finite=False)
    if X.shape[1] != expected[0]:  # only for X of unknown columns: else checked at the call
        raise ValueError(
            f"X has {X.shape[1]} features, but {expected[1]} is expecting {expected[0]} "
            "features as input."
        )
    with np.errstate(all="ignore"):  # a non-finite score is explained below
        S = batched_scores(X, coef, intercept)
        finite = np.isfinite(np.sum(S, dtype=np.float64))
    if not finite:
        check_X(X, fits_dtype=coef.dtype)  # names a bad entry
        rows = ~np.isfinite(S).all(axis=1)
        raise ValueError(
            f"X is finite, but the scores X coef_.T + intercept_ of {int(rows.sum())} rows "
            f"overflow {coef.dtype} (first at row {int(np.argmax(rows))}): those features are "
            "far outside the range the model was trained on"
        )
    return S


def dask_score(estimator: Any, model: Any, X: Any, y: Any, sample_weight: Any) -> float:
    """Mean accuracy on a Dask X, reduced on the workers: three numbers per chunk come back.

    Parameters
    ----------
    estimator, model, X
        As for :func:`dask_predict`.
    y : dask Array or Series, or array-like, of shape (n_samples,)
        True labels; an in-memory y is checked here, a Dask y in each chunk's task.
    sample_weight : dask Array or Series, array-like or None, of shape (n_samples,)
        Non-negative weights of the mean, or None.

    Returns
    -------
    float
        The (weighted) fraction of rows whose predicted label is ``y``'s.
    """
    import dask.array as da

    labels = _known_rows(dask_predict(estimator, model, X, "labels"))
    y = _rows_like(labels, y, "y")
    same_label_kind(np.empty(0, y.dtype), estimator.classes_)
    w = None if sample_weight is None else _rows_like(labels, sample_weight, "sample_weight")
    chunks = ((1,) * labels.numblocks[0], (3,))
    parts = da.map_blocks(
        _chunk_hits, labels, y, w, new_axis=1, chunks=chunks, meta=np.empty((0, 3))
    ).compute()
    largest = parts[:, 0].max()
    if largest == 0:
        raise ValueError(
            "sample_weight is zero for every sample; at least one sample needs a positive weight"
        )
    factors = parts[:, 0] / largest  # each chunk's sums were of its weights / its largest
    return float((factors @ parts[:, 1]) / (factors @ parts[:, 2]))


def _known_rows(array: Any) -> Any:
    """``array`` with known row chunks: persisted (where the scheduler keeps results) and
    counted when they are unknown, as after a DataFrame conversion."""
    if any(math.isnan(n) for n in array.chunks[0]):
        array = array.persist()
        array.compute_chunk_sizes()
    return array


def _rows_like(labels: Any, v: Any, name: str) -> Any:
    """``v`` (labels or weights) as a 1-D dask array on the row chunks of ``labels``."""
    import dask.array as da

    n = int(labels.shape[0])
    if not is_dask(v):  # in memory already: checked here, as the NumPy path checks it
        v = check_y(v, n) if name == "y" else check_sample_weight(v, n)
        return da.from_array(v, chunks=(labels.chunks[0],))
    array = _known_rows(as_dask_array(v, name)[0])
    if array.ndim != 1:
        raise ValueError(
            f"{name} should be a 1d array, got an array of shape {array.shape} instead."
        )
    if array.shape[0] != n:
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: "
            f"[{n}, {array.shape[0]}] (X has {n} rows, {name} has {array.shape[0]})"
        )
    return array if array.chunks[0] == labels.chunks[0] else array.rechunk((labels.chunks[0],))


def _chunk_hits(
    labels: np.ndarray, y: Any, weights: Any, block_info: dict | None = None
) -> np.ndarray:
    """On a worker: ``[[m, Σ hit·w / m, Σ w / m]]`` of one chunk, m its largest weight (1
    without weights): no sum overflows, and unweighted counts stay exact integers."""
    n = labels.shape[0]
    try:
        y = check_y(np.asarray(y), n)
    except ValueError as exc:
        raise _located(exc, "y", block_info) from None
    w = np.ones(n) if weights is None else np.asarray(weights)
    try:
        if not (w.dtype.kind in "iuf" and not np.any(w)):  # a chunk may weigh 0
            check_sample_weight(w, n)  # finite, non-negative: its errors
    except ValueError as exc:
        raise _located(exc, "sample_weight", block_info) from None
    w = w.astype(np.float64)
    largest = float(np.max(w)) if n else 0.0
    if largest == 0.0:
        return np.zeros((1, 3))
    w /= largest
    return np.array([[largest, np.dot(labels == y, w), np.sum(w)]])
