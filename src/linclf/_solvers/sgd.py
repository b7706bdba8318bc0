"""Minibatch SGD as a :class:`~linclf._solvers.base.Solver`: the :class:`~linclf.Trainer`."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import numpy as np

from .._validation import TrainingData
from ..trainer import Trainer
from .base import SolveResult

__all__ = ["SGDSolver"]


class SGDSolver:
    """A :class:`~linclf.Trainer` of ``optimizer`` and the Trainer keywords ``settings``; the
    optimizer's state (and a Generator ``random_state``'s) carries over between solves."""

    def __init__(self, optimizer: Any, **settings: Any) -> None:
        self.optimizer = optimizer
        self.settings = settings

    def solve(
        self,
        objective: Any,
        params: MutableMapping[str, np.ndarray | None],
        data: TrainingData,
        *,
        validation: TrainingData | None = None,
    ) -> SolveResult:
        """Train ``params`` in place on the validated ``data`` (trusted: not checked again)."""
        trainer = Trainer(objective, self.optimizer, **self.settings)
        trainer.fit_data(params, data, validation=validation)
        history = trainer.history_
        return SolveResult(
            n_iter=trainer.n_epochs_,
            converged=trainer.converged_,
            loss_curve=list(history["loss"]),
            interrupted=trainer.interrupted_,
            validation_scores=None if validation is None else list(history["val_accuracy"]),
            best_epoch=trainer.best_epoch_,
        )
