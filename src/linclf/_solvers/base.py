"""The solver protocol: the one seam between the estimators and the ways of fitting.

A solver is handed an objective (:class:`~linclf._engine.core.LinearObjective`: a loss
node, its hyperparameters and the L2 strength), the parameters ``{"W": (C, D), "b": (C,)
or None}`` to train in place, and a validated :class:`~linclf._validation.TrainingData`
record (optionally a second one to monitor). It returns a :class:`SolveResult`. Solvers
own their state (an optimizer's momentum, a generator) between calls, so ``partial_fit``
and ``warm_start`` continue where the last call stopped.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from .._validation import TrainingData

__all__ = ["SolveResult", "Solver"]


@dataclass
class SolveResult:
    """What a solve did.

    Attributes
    ----------
    n_iter : int
        Passes over the data (epochs for SGD, iterations for full-batch solvers).
    converged : bool
        Whether the solver's stopping rule ended it before its iteration budget.
    loss_curve : list of float
        The objective after each pass.
    interrupted : bool
        Whether Ctrl-C (SIGINT) ended it after a complete step.
    validation_scores : list of float or None
        Accuracy on the monitored data after each pass, when there was such data.
    best_epoch : int or None
        The pass whose parameters were kept, when the solver keeps the best one.
    """

    n_iter: int
    converged: bool
    loss_curve: list[float] = field(default_factory=list)
    interrupted: bool = False
    validation_scores: list[float] | None = None
    best_epoch: int | None = None


class Solver(Protocol):
    """Fits ``params`` in place to minimize ``objective`` on ``data``."""

    def solve(
        self,
        objective: Any,
        params: MutableMapping[str, np.ndarray | None],
        data: TrainingData,
        *,
        validation: TrainingData | None = None,
    ) -> SolveResult: ...
