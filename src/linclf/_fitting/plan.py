"""The fit plan: an estimator's hyperparameters, checked once, and the objects they build
(objective, optimizer, stopping rule, solver), so each is interpreted in one place."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._engine.core import LinearObjective
from .._solvers.sgd import SGDSolver
from .._training.stopping import ADAPTIVE_DECAY, Plateau
from .._validation import check_random_state, check_scalar, resolve_dtype
from ..losses import LOSSES, get_loss
from ..optim import SGD, make_schedule
from ..trainer import Trainer

__all__ = ["FitPlan", "make_plan"]


@dataclass(frozen=True)
class FitPlan:
    """An estimator's validated hyperparameters; ``loss`` names a node of
    :data:`linclf.losses.LOSSES` and ``loss_params`` holds its own (``{"delta": 1.0}``)."""

    loss: str
    dtype: np.dtype
    reg: float | str
    learning_rate: float
    momentum: float
    nesterov: bool
    schedule: str
    batch_size: int
    max_epochs: int
    tol: float | None
    n_iter_no_change: int
    early_stopping: bool
    validation_fraction: float
    fit_intercept: bool
    standardize: bool
    class_weight: Any
    shuffle: bool | str
    copy_X: bool
    warm_start: bool
    n_threads: int | str | None
    random_state: Any
    verbose: int
    loss_params: dict[str, Any] = field(default_factory=dict)

    def reg_for(self, n_samples: int, n_classes: int) -> float:
        """λ itself, or for ``reg="auto"`` the λ of scikit-learn's LogisticRegression(C=1).

        scikit-learn minimizes Σ_i ℓ_i + ½|W|², that is mean ℓ + |W|² / (2N); with two
        classes its one weight vector is w_1 - w_0, whose penalty here is (λ/2)|w_1 - w_0|²
        at the optimum, so λ = 1/N matches it.
        """
        if self.reg != "auto":
            return float(self.reg)
        return 1.0 / n_samples if n_classes == 2 else 1.0 / (2.0 * n_samples)

    def objective(self, reg: float) -> LinearObjective:
        """The loss node with its hyperparameters, plus the penalty ``reg |W|²``."""
        return LinearObjective(self.loss, reg=reg, **self.loss_params)

    def make_optimizer(self) -> SGD:
        """A fresh optimizer (``"adaptive"``: a constant rate, decayed on plateaus)."""
        kwargs = {"total_epochs": self.max_epochs} if self.schedule == "cosine" else {}
        schedule = "constant" if self.schedule == "adaptive" else self.schedule
        return SGD(
            self.learning_rate,
            momentum=self.momentum,
            nesterov=self.nesterov,
            schedule=make_schedule(schedule, **kwargs),
        )

    def make_plateau(self) -> Plateau:
        """The ``tol`` / ``n_iter_no_change`` rule, decaying the rate for ``"adaptive"``."""
        decay = self.trainer_settings(None)["lr_decay"]
        return Plateau(
            self.tol, self.n_iter_no_change, higher_is_better=self.early_stopping, decay=decay
        )

    def trainer_settings(self, rng: Any, **overrides: Any) -> dict[str, Any]:
        """The :class:`~linclf.Trainer` keyword arguments, ``overrides`` applied last."""
        settings = dict(
            batch_size=self.batch_size,
            max_epochs=self.max_epochs,
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            shuffle=self.shuffle,
            copy_X=self.copy_X,
            early_stopping=self.early_stopping,
            lr_decay=ADAPTIVE_DECAY if self.schedule == "adaptive" else None,
            n_threads=self.n_threads,
            random_state=rng,
            verbose=self.verbose,
        )
        settings.update(overrides)
        return settings

    def make_trainer(self, optimizer: SGD, rng: Any, reg: float, **overrides: Any) -> Trainer:
        """A Trainer of ``objective(reg)`` with ``optimizer``, shuffling with ``rng``."""
        return Trainer(self.objective(reg), optimizer, **self.trainer_settings(rng, **overrides))

    def make_solver(self, optimizer: SGD, rng: Any, **overrides: Any) -> SGDSolver:
        """The solver ``fit`` and ``partial_fit`` hand the validated data to."""
        return SGDSolver(optimizer, **self.trainer_settings(rng, **overrides))

    def zero_params(self, n_classes: int, n_features: int) -> dict[str, np.ndarray | None]:
        """``{"W": 0 (C, D), "b": 0 (C,) or None}`` in the training dtype."""
        return {
            "W": np.zeros((n_classes, n_features), dtype=self.dtype),
            "b": np.zeros(n_classes, dtype=self.dtype) if self.fit_intercept else None,
        }


def make_plan(estimator: Any) -> FitPlan:
    """``estimator``'s :class:`FitPlan`; TypeError/ValueError naming a bad hyperparameter."""
    params = estimator.get_params(deep=False)
    loss = type(estimator).loss_name
    loss_params = {name: params.pop(name) for name in LOSSES[loss].params}
    plan = FitPlan(
        loss=loss, loss_params=loss_params, dtype=resolve_dtype(params.pop("dtype")), **params
    )
    if plan.reg != "auto":
        check_scalar(plan.reg, "reg", numbers.Real, low=0.0)
    for name in ("fit_intercept", "warm_start", "standardize"):
        check_scalar(getattr(plan, name), name, bool)
    check_random_state(plan.random_state)
    check_scalar(plan.early_stopping, "early_stopping", bool)
    open_unit = {"low": 0.0, "high": 1.0, "low_inclusive": False, "high_inclusive": False}
    check_scalar(plan.validation_fraction, "validation_fraction", numbers.Real, **open_unit)
    cw = plan.class_weight
    if not (cw is None or cw == "balanced" or isinstance(cw, dict)):
        raise ValueError(f"class_weight must be None, 'balanced' or a dict, got {cw!r}")
    get_loss(loss, **loss_params)  # the loss node checks its own hyperparameters
    plan.make_trainer(plan.make_optimizer(), None, 0.0)  # checks the optimizer's and loop's
    return plan
