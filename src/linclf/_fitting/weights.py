"""Class weights: per-class factors, and the per-sample weights they fold into."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .._validation import check_sample_weight, check_scalar

__all__ = ["class_weight_factors", "sample_weights"]


def class_weight_factors(class_weight: Any, classes: np.ndarray, counts: Any) -> np.ndarray | None:
    """Each class's weight factor, shape (n_classes,), float64; None for ``class_weight=None``.

    A dict maps labels of ``classes`` to weights >= 0 (1 for the others); ``"balanced"``
    gives class c ``n_samples / (n_classes * counts[c])`` (an empty class counts 1).
    ``ValueError`` for a label not among ``classes`` or a negative weight.
    """
    if class_weight is None:
        return None
    n_classes = classes.shape[0]
    if class_weight == "balanced":
        counts = np.asarray(counts, dtype=np.float64)
        return counts.sum() / (n_classes * np.maximum(counts, 1.0))
    factors = np.ones(n_classes)
    for label, weight in class_weight.items():
        if isinstance(label, (tuple, list, set, dict, np.ndarray)):
            # `classes == (0,)` would broadcast and match class 0: refuse the key instead.
            raise ValueError(f"class_weight keys must be single labels, got {label!r}")
        where = np.flatnonzero(classes == label)
        if where.size == 0:
            raise ValueError(
                f"class_weight has label {label!r}, which is not among the "
                f"classes {classes.tolist()}"
            )
        factors[where[0]] = check_scalar(weight, f"class_weight[{label!r}]", numbers.Real, low=0.0)
    return factors


def sample_weights(
    sample_weight: Any, y: np.ndarray, factors: np.ndarray | None
) -> np.ndarray | None:
    """Per-sample weights ``sample_weight × factors[y]`` (y: class indices), None when all
    are 1; checked like ``sample_weight`` itself, so the training record can trust it."""
    weights = check_sample_weight(sample_weight, y.shape[0])
    if factors is None:
        return weights
    class_part = factors[y]
    return check_sample_weight(class_part if weights is None else weights * class_part, y.shape[0])
