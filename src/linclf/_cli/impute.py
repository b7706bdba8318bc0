"""Missing values of a CSV's features, filled in by ``linclf train --missing STRATEGY``.

The statistics come from the training rows only and are stored in the model file, so that
``predict`` and ``evaluate`` fill in the values of the training data, never their own.
"""

from __future__ import annotations

import numpy as np

__all__ = ["STRATEGIES", "ImputeError", "fill", "fill_values"]

STRATEGIES = ("error", "mean", "median", "zero")  # "error": refuse missing values


class ImputeError(ValueError):
    """A column whose statistic cannot be computed: every training value is missing."""


def fill_values(X: np.ndarray, strategy: str, names: list[str]) -> list[float]:
    """One value per column of ``X`` (NaN: missing) to fill its missing values with.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The training features, NaN where a value is missing.
    strategy : {"mean", "median", "zero"}
        The column's mean or median over its present values, or 0.
    names : list of str
        The column names, for the error.

    Returns
    -------
    list of float

    Raises
    ------
    ImputeError
        If a column has no present value (mean and median).

    Examples
    --------
    >>> X = np.array([[1.0, np.nan], [3.0, 4.0], [np.nan, 8.0]])
    >>> fill_values(X, "mean", ["a", "b"]), fill_values(X, "zero", ["a", "b"])
    ([2.0, 6.0], [0.0, 0.0])
    """
    if strategy == "zero":
        return [0.0] * X.shape[1]
    present = ~np.isnan(X)
    empty = np.flatnonzero(~present.any(axis=0))
    if empty.size:
        raise ImputeError(
            f"column {names[empty[0]]!r} has no value in the training rows: no {strategy} "
            "to fill its missing values with; drop it (--drop)"
        )
    statistic = np.nanmean if strategy == "mean" else np.nanmedian
    return [float(v) for v in statistic(X, axis=0)]


def fill(X: np.ndarray, values: list[float]) -> int:
    """Replace the NaN of each column of ``X`` in place by its value; return how many."""
    missing = np.isnan(X)
    count = int(np.count_nonzero(missing))
    if count:
        rows, columns = np.nonzero(missing)
        X[rows, columns] = np.asarray(values, dtype=X.dtype)[columns]
    return count
