"""The stratified hold-out split of ``linclf train --test-size FRACTION``."""

from __future__ import annotations

import numpy as np

__all__ = ["stratified_split"]


def stratified_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices ``(train, test)``: ``round(fraction × n_c)`` random rows of each class
    ``c`` of ``n_c`` rows held out, but always at least one row of it left for training.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        The labels.
    fraction : float
        In (0, 1).
    seed : int
        Seed of the draw (``numpy.random.default_rng``).

    Returns
    -------
    train, test : ndarray of int
        Sorted, disjoint, together every row.

    Examples
    --------
    >>> y = np.array([0] * 4 + [1] * 6 + [2])
    >>> train, test = stratified_split(y, 0.5, seed=0)
    >>> len(train), len(test), y[test].tolist()
    (6, 5, [0, 0, 1, 1, 1])
    """
    rng = np.random.default_rng(seed)
    _, codes = np.unique(y, return_inverse=True)
    held = []
    for c in range(codes.max() + 1):
        rows = np.flatnonzero(codes == c)
        count = min(round(fraction * rows.size), rows.size - 1)
        held.append(rng.permutation(rows)[:count])
    test = np.sort(np.concatenate(held))
    return np.setdiff1d(np.arange(y.shape[0]), test), test
