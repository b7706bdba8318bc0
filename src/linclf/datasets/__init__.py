"""Small real datasets that ship inside the package (no download needed).

``load_digits``: the UCI 8x8 optical handwritten digits (E. Alpaydin and C. Kaynak, 1998;
CC BY 4.0), 1,797 images of 10 classes; ``docs/datasets.md`` has the source and licence.
"""

from __future__ import annotations

from importlib import resources

import numpy as np

__all__ = ["load_digits"]


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """Load the 8x8 handwritten digits.

    Returns
    -------
    X : ndarray of shape (1797, 64), float64
        Pixel counts in 0..16, each row an 8x8 image flattened row by row.
    y : ndarray of shape (1797,), int64
        The digit 0..9 each image shows.

    Examples
    --------
    >>> X, y = load_digits()
    >>> X.shape, y.shape, int(X.max()), sorted(set(y.tolist())) == list(range(10))
    ((1797, 64), (1797,), 16, True)
    """
    path = resources.files(__package__).joinpath("data", "digits.npz")
    with path.open("rb") as fh, np.load(fh, allow_pickle=False) as data:
        return data["data"].astype(np.float64), data["target"].astype(np.int64)
