r"""``reg="auto"``: the L2 strength :math:`\lambda`, chosen for the data (docs/solvers.md).

Below :data:`PATH_MIN_ROWS` rows, or with the SGD solver, :math:`\lambda` is
scikit-learn's default strength (``C=1``: :math:`1/(2N)`, :math:`1/N` for two classes).
From :data:`PATH_MIN_ROWS` rows on, the full-batch solver runs a warm-started path down
the grid :func:`~linclf._solvers.path.reg_grid` on at most :data:`PATH_MAX_ROWS` rows
drawn at random, 20 % of them held out (stratified); the value with the best held-out
accuracy is refit on all rows, from the path's solution there.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import replace
from typing import Any

import numpy as np

from .._solvers.path import PathResult, fit_path, reg_grid
from .._validation import TrainingData
from .data import split_held_out

__all__ = ["PATH_MAX_ROWS", "PATH_MIN_ROWS", "select_reg", "weight_total"]

PATH_MIN_ROWS = 2_500  # below, a 20 % hold-out is too few rows to tell λ apart
PATH_MAX_ROWS = 10_000  # the path runs on a random subset of this many rows at most
PATH_FRACTION = 0.2
PATH_GRID = (10.0, 1e-5, 2)  # λ from 10 down to 1e-5, 2 per decade
# The path's solves stop at this multiple of the refit's tol: it only ranks λ. The hinge's
# solves are the expensive ones (MNIST-5k: 5.4-8.6 s -> 2.0-3.7 s at 5x, the same
# accuracy); the softmax's are cheap, and at 5x (CIFAR-shaped data, 2.5e-4) one stopped
# early at 69 % held-out accuracy between two at 79 %, which ended the path at λ = 10.
PATH_LOOSEN = {"hinge": 5.0, "softmax": 1.0}


def _subsample(data: TrainingData, n_rows: int, rng: np.random.Generator) -> TrainingData:
    """At most ``n_rows`` rows of ``data`` drawn without replacement, in their order."""
    if data.n_samples <= n_rows:
        return data
    rows = np.sort(rng.choice(data.n_samples, n_rows, replace=False))
    weight = None if data.sample_weight is None else data.sample_weight[rows]
    return replace(data, X=data.X[rows], y=data.y[rows], sample_weight=weight)


def weight_total(data: TrainingData) -> float:
    """N, or with sample weights their sum: scikit-learn's C=1 penalizes ½|W|² against
    Σ_i w_i ℓ_i, so integer weights give the strength of the repeated rows."""
    weights = data.sample_weight
    return float(data.n_samples if weights is None else np.sum(weights, dtype=np.float64))


def select_reg(
    plan: Any,
    solver: str,
    data: TrainingData,
    params: MutableMapping[str, np.ndarray | None],
    rng: np.random.Generator,
) -> tuple[float, PathResult | None]:
    """``(λ, path)`` for ``plan.reg`` on ``data``; a path leaves its best solution in ``params``.

    ``path`` is None when no path ran (a fixed ``reg``, the SGD solver, or few rows).
    """
    if plan.reg != "auto" or solver != "lbfgs" or data.n_samples < PATH_MIN_ROWS:
        return plan.reg_for(weight_total(data), data.n_classes), None
    train, held_out = split_held_out(_subsample(data, PATH_MAX_ROWS, rng), PATH_FRACTION, rng)
    path = fit_path(
        plan.full_batch_solver(n_threads=None, loosen=PATH_LOOSEN[plan.loss]),
        plan.objective,
        params,
        train,
        held_out,
        reg_grid(*PATH_GRID),
    )
    return path.best_reg, path
