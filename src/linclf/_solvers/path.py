r"""Choosing :math:`\lambda`: a warm-started regularization path scored on held-out rows.

As ``LogisticRegressionCV`` and glmnet do, the solver runs along a decreasing grid
:math:`\lambda_1 > \lambda_2 > \dots`, each solve starting from the previous solution
(the optimum moves little between neighbouring values, so each costs a few iterations),
and every solution is scored by its accuracy on rows held out of the training data. The
path stops early once ``patience`` values in a row have scored below the best (smaller
:math:`\lambda` are the expensive, ill-conditioned end, and rarely recover). The caller
then refits on all the training rows at the chosen :math:`\lambda`, from the path's
solution there.

:func:`reg_grid` gives the default grid; ``benchmarks/bench_solvers.py`` measures it.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import TrainingData
from .lbfgs import validation_accuracy

__all__ = ["PathResult", "fit_path", "reg_grid"]


def reg_grid(high: float = 1.0, low: float = 1e-5, per_decade: int = 2) -> np.ndarray:
    """Log-spaced :math:`\\lambda` from ``high`` down to ``low``, ``per_decade`` per decade.

    Examples
    --------
    >>> reg_grid(1.0, 1e-2).tolist()
    [1.0, 0.31622776601683794, 0.1, 0.03162277660168379, 0.01]
    """
    n = round(np.log10(high / low) * per_decade) + 1
    return np.logspace(np.log10(high), np.log10(low), n)


@dataclass(frozen=True)
class PathResult:
    """The regularization values tried, largest first, and what each gave.

    Attributes
    ----------
    regs : ndarray of shape (n,)
    scores : ndarray of shape (n,)
        Validation accuracy of each solution.
    n_iter : ndarray of shape (n,)
        Solver iterations each took.
    best_index : int
        The highest score; ties go to the larger :math:`\\lambda`.
    """

    regs: np.ndarray
    scores: np.ndarray
    n_iter: np.ndarray
    best_index: int

    @property
    def best_reg(self) -> float:
        """The chosen :math:`\\lambda`."""
        return float(self.regs[self.best_index])


def fit_path(
    solver: Any,
    objective_for: Callable[[float], Any],
    params: MutableMapping[str, np.ndarray | None],
    train: TrainingData,
    validation: TrainingData,
    regs: np.ndarray,
    *,
    patience: int = 2,
) -> PathResult:
    r"""Solve along ``regs`` (decreasing) with warm starts; leave the best solution in ``params``.

    Parameters
    ----------
    solver : Solver
        Reused for every value. Build it with ``n_threads=None`` and enter
        :func:`~linclf._engine.blas.blas_threads` once around the path and the refit:
        threadpoolctl costs about 2.4 ms per entry, a solve on small data less.
    objective_for : callable
        ``reg -> objective`` (e.g. ``lambda reg: LinearObjective("softmax", reg=reg)``).
    params : dict
        Starting point of the first solve; holds the best solution on return.
    train, validation : TrainingData
    regs : ndarray
        Decreasing :math:`\lambda` values (:func:`reg_grid`).
    patience : int
        Stop after this many values in a row below the best score; 0 runs them all.

    Returns
    -------
    PathResult
    """
    best_score, best_params = -np.inf, None
    scores, n_iter = [], []
    behind = 0
    for reg in regs:
        result = solver.solve(objective_for(float(reg)), params, train)
        score = validation_accuracy(params["W"], params.get("b"), validation)
        scores.append(score)
        n_iter.append(result.n_iter)
        if score > best_score:
            best_score, behind = score, 0
            best_params = {k: None if v is None else v.copy() for k, v in params.items()}
        else:
            behind += 1
            if patience and behind >= patience:
                break
    for key, value in best_params.items():
        if value is not None:
            params[key][...] = value
    tried = np.asarray(regs[: len(scores)], dtype=float)
    return PathResult(tried, np.array(scores), np.array(n_iter), int(np.argmax(scores)))
