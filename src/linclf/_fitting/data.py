"""The data around a fit: feature names and counts, standardization, the held-out split."""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any

import numpy as np

from .._validation import TrainingData, check_sample_weight, check_X, is_sparse
from ..exceptions import convergence_warning

__all__ = [
    "BADLY_SCALED",
    "check_features",
    "feature_names",
    "rescale",
    "split_held_out",
    "standardize",
    "warn_if_badly_scaled",
]


def feature_names(X: Any) -> np.ndarray | None:
    """Column names of a DataFrame when they are all strings, as scikit-learn keeps them."""
    columns = getattr(X, "columns", None)
    if columns is None or is_sparse(X):
        return None
    names = np.asarray(list(columns), dtype=object)
    kinds = {type(name).__name__ for name in names}
    if len(kinds) > 1 and "str" in kinds:
        raise TypeError(
            "Feature names are only supported if all input features have string names, "
            f"but your input has {sorted(kinds)} as feature name / column name types. "
            "Convert them all to strings (X.columns = X.columns.astype(str)) or to non-strings."
        )
    return names if kinds == {"str"} else None


def _listed(names: list, limit: int = 5) -> str:
    shown = [f"- {name}" for name in names[:limit]] + (["- ..."] if len(names) > limit else [])
    return "\n".join(shown) + "\n"


def check_features(X: Any, model: Any, estimator_name: str, **check: Any) -> Any:
    """``check_X(X, **check)`` against a fitted ``model``'s feature count and names:
    ``ValueError`` for others, a warning when only one side has names (scikit-learn's words)."""
    names = feature_names(X)
    X = check_X(X, estimator_name=estimator_name, accept_sparse=True, **check)
    if X.shape[1] != model.n_features_in:
        raise ValueError(
            f"X has {X.shape[1]} features, but {estimator_name} is expecting "
            f"{model.n_features_in} features as input."
        )
    fitted = model.feature_names_in
    if (fitted is None) != (names is None):
        has, fit = ("has", "without") if fitted is None else ("does not have valid", "with")
        warnings.warn(
            f"X {has} feature names, but {estimator_name} was fitted {fit} feature names",
            UserWarning,
            stacklevel=4,
        )
    elif fitted is not None and (len(fitted) != len(names) or np.any(fitted != names)):
        unseen = sorted(set(names) - set(fitted))
        missing = sorted(set(fitted) - set(names))
        message = "The feature names should match those that were passed during fit.\n"
        if unseen:
            message += "Feature names unseen at fit time:\n" + _listed(unseen)
        if missing:
            message += "Feature names seen at fit time, yet now missing:\n" + _listed(missing)
        if not unseen and not missing:
            message += "Feature names must be in the same order as they were in fit.\n"
        raise ValueError(message)
    return X


def standardize(
    X: Any, dtype: np.dtype, *, center: bool = True, weights: np.ndarray | None = None
) -> tuple[Any, np.ndarray, np.ndarray]:
    """``(Z, shift, scale)``: X in standard units, in ``dtype``, and its float64 statistics.

    Dense X is centered and scaled, in 16 MiB chunks; sparse X is only scaled (``shift``
    is 0), so it stays sparse. A (nearly) constant column keeps scale 1. ``center=False`` (a
    model without intercept, which could not absorb the shift) divides dense columns by
    their root mean square instead. With sample ``weights`` the statistics are weighted,
    so integer weights standardize as repeated rows do.
    """
    if is_sparse(X):
        X = X.tocsr().astype(np.float64)
        mean, square = _sparse_moments(X, weights)
        shift = np.zeros_like(mean)  # scaled, never centered
        scale = np.sqrt(np.maximum(square - mean**2, 0.0))
    else:
        shift, scale = _dense_moments(X, weights, center)
    # A constant column, or one whose spread is too small to divide by in ``dtype`` (the
    # published coef / scale would overflow): leave it as it is.
    scale[scale < np.sqrt(np.finfo(dtype).tiny)] = 1.0
    return rescale(X, shift, scale, dtype), shift, scale


# Raw columns whose root mean squares differ by more than this make the problem so badly
# conditioned that solvers stop far from the optimum (L-BFGS) or diverge (SGD): measured
# on wine with one column times 1e6, 0.40 training accuracy raw against 1.00 standardized.
BADLY_SCALED = 1e3


def warn_if_badly_scaled(X: Any, rms: np.ndarray | None = None) -> None:
    """Warn (``ConvergenceWarning``) when the columns of raw X differ in scale by more than
    :data:`BADLY_SCALED`, naming the two extremes. ``rms``: the columns' root mean squares
    if known (out-of-core X: from the check's read), else one pass over X in row chunks."""
    if rms is None and is_sparse(X):
        rms = np.sqrt(_sparse_moments(X.tocsr(), None)[1])
    elif rms is None:
        rms = _dense_moments(X, None, center=False)[1]
    used = np.flatnonzero(rms > 0)
    if used.size < 2:
        return
    top, bottom = used[np.argmax(rms[used])], used[np.argmin(rms[used])]
    ratio = rms[top] / rms[bottom]
    if ratio > BADLY_SCALED:
        warnings.warn(
            f"X's columns differ in scale by a factor of {ratio:.3g} (root mean square "
            f"{rms[top]:.3g} in column {top}, {rms[bottom]:.3g} in column {bottom}) and are "
            "used raw: the solver may stop far from the optimum. Standardize them "
            "(standardize='auto', the default for X in memory) or rescale the file's columns",
            convergence_warning(),
            stacklevel=4,  # the caller of fit
        )


def column_means(X: Any, weights: np.ndarray | None) -> np.ndarray:
    """Column means of sparse ``X``, weighted by ``weights``, in float64: shape (D,)."""
    return _sparse_moments(X, weights)[0]


def _sparse_moments(X: Any, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Column means of sparse X and of X², weighted by ``weights`` (float64)."""
    if weights is None:
        mean = np.asarray(X.mean(axis=0)).ravel()
        return mean, np.asarray(X.multiply(X).mean(axis=0)).ravel()
    w = np.asarray(weights, dtype=np.float64)
    total = max(float(w.sum()), np.finfo(np.float64).tiny)
    return (X.T @ w) / total, (X.multiply(X).T @ w) / total


def _row_chunks(X: Any) -> range:
    """Starts of the 16 MiB (in float64) row chunks of X."""
    return range(0, X.shape[0], max(1, 2**24 // (8 * X.shape[1])))


def _dense_moments(
    X: np.ndarray, weights: np.ndarray | None, center: bool
) -> tuple[np.ndarray, np.ndarray]:
    """``(shift, scale)`` of dense X's columns in float64: the (weighted) mean and standard
    deviation, or without ``center`` 0 and the root mean square. Two passes over 16 MiB
    row chunks, the second summing squared deviations from the mean (exact for large
    offsets); a full float64 copy of X is never made, and spreads whose squares overflow
    (features near 1e160) are measured on deviations divided by their largest one."""
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    total = X.shape[0] if w is None else max(float(w.sum()), np.finfo(np.float64).tiny)
    step = _row_chunks(X).step
    shift = np.zeros(X.shape[1])
    if center:
        for start in _row_chunks(X):
            block = np.asarray(X[start : start + step], dtype=np.float64)
            shift += block.sum(axis=0) if w is None else w[start : start + step] @ block
        shift /= total
    if not np.all(np.isfinite(shift)):
        raise ValueError(
            "X has features too large to standardize: their sum overflows float64 (values "
            f"up to {np.max(np.abs(X)):.3g}); rescale them, or pass standardize=False"
        )
    var = np.zeros(X.shape[1])
    with np.errstate(over="ignore"):  # squares beyond float64: handled below
        for start in _row_chunks(X):
            block = np.asarray(X[start : start + step], dtype=np.float64) - shift
            block *= block
            var += block.sum(axis=0) if w is None else w[start : start + step] @ block
    scale = np.sqrt(np.maximum(var / total, 0.0))
    huge = ~np.isfinite(scale)
    if huge.any():  # features around 1e160: their variance overflows, their spread does not
        scale[huge] = _scaled_spread(X[:, huge], shift[huge], w, total)
    return shift, scale


def _scaled_spread(
    X: np.ndarray, shift: np.ndarray, w: np.ndarray | None, total: float
) -> np.ndarray:
    """The (weighted) root mean square of ``X - shift`` per column, computed on deviations
    divided by their largest magnitude, so that no square overflows (two passes)."""
    step = _row_chunks(X).step
    largest = np.zeros(X.shape[1])
    for start in _row_chunks(X):
        block = np.abs(np.asarray(X[start : start + step], dtype=np.float64) - shift)
        np.maximum(largest, block.max(axis=0), out=largest)
    largest[largest == 0.0] = 1.0
    acc = np.zeros(X.shape[1])
    for start in _row_chunks(X):
        block = (np.asarray(X[start : start + step], dtype=np.float64) - shift) / largest
        block *= block
        acc += block.sum(axis=0) if w is None else w[start : start + step] @ block
    return largest * np.sqrt(acc / total)


def rescale(X: Any, shift: np.ndarray, scale: np.ndarray, dtype: np.dtype) -> Any:
    """``(X - shift) / scale`` in ``dtype`` (sparse X: ``X / scale``, still sparse)."""
    if is_sparse(X):
        import scipy.sparse  # loaded already: X is sparse

        return (X @ scipy.sparse.diags_array(1.0 / scale)).astype(dtype)
    out = np.empty(X.shape, dtype=dtype)
    inverse = 1.0 / scale
    step = _row_chunks(X).step
    for start in _row_chunks(X):
        block = np.asarray(X[start : start + step], dtype=np.float64) - shift  # a new array
        block *= inverse
        out[start : start + step] = block
    return out


def split_held_out(
    data: TrainingData, fraction: float, rng: np.random.Generator
) -> tuple[TrainingData, TrainingData]:
    """``(train, held_out)``: a stratified ``fraction`` of every class held out (unweighted).

    Every class with at least 2 samples keeps at least one of them out.
    """
    y = data.y
    order = rng.permutation(y.shape[0])
    order = order[np.argsort(y[order], kind="stable")]  # grouped by class, shuffled
    counts = np.bincount(y)
    take = np.floor(counts * fraction).astype(int)
    take[(take == 0) & (counts >= 2)] = 1
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    held = np.zeros(y.shape[0], dtype=bool)
    for start, k in zip(starts, take, strict=True):
        held[order[start : start + k]] = True
    if not held.any() or held.all():
        raise ValueError(
            f"validation_fraction={fraction} leaves an empty training or "
            f"validation set for {y.shape[0]} samples"
        )
    train, out = np.flatnonzero(~held), np.flatnonzero(held)
    w = data.sample_weight
    weights = None if w is None else check_sample_weight(w[train], train.shape[0])
    validation = replace(data, X=data.X[out], y=y[out], sample_weight=None)
    return replace(data, X=data.X[train], y=y[train], sample_weight=weights), validation
