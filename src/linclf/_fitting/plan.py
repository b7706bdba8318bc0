"""The fit plan: an estimator's hyperparameters, checked once, and the objects they build
(objective, optimizer, stopping rule, solver), so each is interpreted in one place.

What ``"auto"`` picks (docs/solvers.md has the table and the measurements behind it):
``solver``: ``"sgd"`` for out-of-core X and ``early_stopping``, else ``"lbfgs"``;
``standardize``: in-memory X is standardized (sparse: scaled), out-of-core X is not;
``tol`` / ``max_epochs``: the solver's own values in :data:`AUTO_LIMITS`.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .._engine.blocks import BLOCK_BYTES
from .._engine.compiled import aligned_empty
from .._engine.core import LinearObjective
from .._solvers.lbfgs import LBFGSSolver
from .._solvers.sgd import SGDSolver
from .._solvers.smoothed_hinge import SmoothedHingeSolver
from .._training.stopping import ADAPTIVE_DECAY, Plateau
from .._validation import check_random_state, check_scalar, resolve_dtype
from ..losses import LOSSES, get_loss
from ..optim import SGD, make_schedule
from ..trainer import Trainer

__all__ = ["AUTO_LIMITS", "SOLVERS", "FitPlan", "make_plan"]

SOLVERS = ("auto", "lbfgs", "sgd")
# The default "adaptive" is the estimators' own (a constant rate decayed on plateaus);
# the others are linclf.optim's schedules.
SCHEDULES = ("adaptive", "constant", "step", "invscaling", "cosine")
# reg="auto" without a path, in units of LogisticRegression(C=1)'s strength. The softmax
# is that model; the hinge's optimum at 1x overfits the bundled datasets (digits, wine,
# breast_cancer, iris: mean test accuracy 95.4-98.1 %, 10x: 95.8-98.3 %, docs/solvers.md)
# and takes 3x the iterations.
AUTO_REG_FACTOR = {"hinge": 10.0, "softmax": 1.0}
# With sample weights n_samples is their sum, which can be tiny (5e-324 each): λ would
# overflow to inf. Any λ this large already leaves W = 0 to float32 precision.
MAX_AUTO_REG = 1e10
WARM_SMOOTHING = 1e-2  # the hinge's first μ / Δ when starting near the optimum
# (tol, iteration budget) under tol="auto" / max_epochs="auto", by solver and loss. SGD:
# the plateau rule on the epoch loss, over epochs. L-BFGS: the relative decrease of the
# objective per iteration (softmax), or the relative accuracy certified by the duality
# gap (hinge), over iterations of about one pass over X each.
AUTO_LIMITS = {
    ("sgd", "hinge"): (1e-4, 300),
    ("sgd", "softmax"): (1e-4, 300),
    ("lbfgs", "softmax"): (2e-5, 1000),
    ("lbfgs", "hinge"): (1e-2, 3000),
}


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


@dataclass(frozen=True)
class FitPlan:
    """An estimator's validated hyperparameters; ``loss`` names a node of
    :data:`linclf.losses.LOSSES` and ``loss_params`` holds its own (``{"delta": 1.0}``)."""

    loss: str
    dtype: np.dtype | None  # None: "auto", the dtype of the data (see for_data)
    reg: float | str
    solver: str
    learning_rate: float
    momentum: float
    nesterov: bool
    schedule: str
    batch_size: int
    max_epochs: int | str
    tol: float | str | None
    n_iter_no_change: int
    early_stopping: bool
    validation_fraction: float
    fit_intercept: bool
    standardize: bool | str
    class_weight: Any
    shuffle: bool | str
    copy_X: bool
    warm_start: bool
    n_threads: int | str | None
    random_state: Any
    verbose: int
    loss_params: dict[str, Any] = field(default_factory=dict)

    def reg_for(self, n_samples: int, n_classes: int) -> float:
        """λ itself, or the fixed ``reg="auto"`` strength: ``AUTO_REG_FACTOR[loss]`` times
        that of scikit-learn's LogisticRegression(C=1).

        scikit-learn minimizes Σ_i ℓ_i + ½|W|², that is mean ℓ + |W|² / (2N); with two
        classes its one weight vector is w_1 - w_0, whose penalty here is (λ/2)|w_1 - w_0|²
        at the optimum, so λ = 1/N matches it.
        """
        if self.reg != "auto":
            return float(self.reg)
        factor = AUTO_REG_FACTOR[self.loss]
        reg = factor / n_samples if n_classes == 2 else factor / (2.0 * n_samples)
        return min(reg, MAX_AUTO_REG)

    def reads_whole(self, X: Any) -> bool:
        """Whether ``fit`` reads a ``numpy.memmap`` X into memory first: under ``solver="auto"``
        (without early stopping), when it fits in one of the engine's blocks (BLOCK_BYTES),
        which the out-of-core path would read whole every epoch anyway. Then the full-batch
        solver fits it: 300 epochs of minibatch SGD do not converge on a few dozen rows."""
        if self.solver != "auto" or self.early_stopping or not isinstance(X, np.memmap):
            return False
        return X.ndim == 2 and float(X.size) * X.itemsize <= BLOCK_BYTES

    def solver_for(self, data: Any) -> str:
        """``"sgd"`` or ``"lbfgs"``: ``solver``, or the ``"auto"`` choice for ``data``."""
        out_of_core = data.kind == "out_of_core"
        if self.solver == "auto":
            return "sgd" if out_of_core or self.early_stopping else "lbfgs"
        if self.solver == "lbfgs" and (out_of_core or self.early_stopping):
            what = "out-of-core X" if out_of_core else "early_stopping=True"
            raise ValueError(
                f"solver='lbfgs' does not support {what}: it needs X in memory and runs to "
                "the optimum; use solver='sgd' (or 'auto', which picks it)"
            )
        return self.solver

    def standardizes(self, data: Any) -> bool:
        """Whether ``fit`` standardizes ``data``: ``"auto"`` does when X is in memory."""
        if self.standardize == "auto":
            return data.kind != "out_of_core"
        return bool(self.standardize)

    def limits(self, solver: str) -> tuple[float | None, int]:
        """``(tol, iteration budget)`` of ``solver``, ``"auto"`` resolved by AUTO_LIMITS."""
        tol, budget = AUTO_LIMITS[solver, self.loss]
        return (
            tol if self.tol == "auto" else self.tol,
            budget if self.max_epochs == "auto" else self.max_epochs,
        )

    def full_batch_solver(
        self, n_threads: Any = "auto", *, loosen: float = 1.0, warm: bool = False
    ) -> LBFGSSolver | SmoothedHingeSolver:
        """The deterministic full-batch solver of the loss (docs/solvers.md).

        ``loosen`` multiplies its ``tol`` (a path only ranks λ values); ``warm``: the
        parameters start near this objective's optimum (warm_start, or the refit after a
        path), so the hinge's smoothing starts at WARM_SMOOTHING · Δ, not at Δ: starting
        smooth would first move away from the optimum (iris, wine: 40 and 110 iterations
        from the last optimum at μ = Δ, 10 and 21 at μ = Δ/1000; the refit after the path
        on MNIST-5k: 2.0-3.7 s at Δ/100, 3.6-4.3 s at Δ/1000).
        """
        tol, budget = self.limits("lbfgs")
        tol = 0.0 if tol is None else tol * loosen
        if self.loss == "hinge":
            return SmoothedHingeSolver(
                tol=min(tol, 0.5),
                max_iter=budget,
                smoothing=WARM_SMOOTHING if warm else 1.0,
                n_threads=n_threads,
            )
        return LBFGSSolver(tol=tol, max_iter=budget, n_threads=n_threads)

    def objective(self, reg: float) -> LinearObjective:
        """The loss node with its hyperparameters, plus the penalty ``reg |W|²``."""
        return LinearObjective(self.loss, reg=reg, **self.loss_params)

    def make_optimizer(self) -> SGD:
        """A fresh optimizer (``"adaptive"``: a constant rate, decayed on plateaus)."""
        kwargs = {"total_epochs": self.limits("sgd")[1]} if self.schedule == "cosine" else {}
        schedule = "constant" if self.schedule == "adaptive" else self.schedule
        return SGD(
            self.learning_rate,
            momentum=self.momentum,
            nesterov=self.nesterov,
            schedule=make_schedule(schedule, **kwargs),
        )

    def make_plateau(self) -> Plateau:
        """The ``tol`` / ``n_iter_no_change`` rule, decaying the rate for ``"adaptive"``."""
        settings = self.trainer_settings(None)
        return Plateau(
            settings["tol"],
            self.n_iter_no_change,
            higher_is_better=self.early_stopping,
            decay=settings["lr_decay"],
        )

    def trainer_settings(self, rng: Any, **overrides: Any) -> dict[str, Any]:
        """The :class:`~linclf.Trainer` keyword arguments, ``overrides`` applied last."""
        tol, max_epochs = self.limits("sgd")
        settings = dict(
            batch_size=self.batch_size,
            max_epochs=max_epochs,
            tol=tol,
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

    def for_data(self, data_dtype: Any) -> FitPlan:
        """The plan with ``dtype="auto"`` resolved for checked X of ``data_dtype``: float32
        and float64 train in their own dtype (as scikit-learn keeps them), others in float64."""
        if self.dtype is not None:
            return self
        kind = np.dtype(data_dtype)
        return replace(self, dtype=kind if kind in _FLOATS else np.dtype(np.float64))

    def zero_params(self, n_classes: int, n_features: int) -> dict[str, np.ndarray | None]:
        """``{"W": 0 (C, D), "b": 0 (C,) or None}`` in the training dtype; W starts on a
        cache line (the compiled kernel then reads it in place, without an aligned copy)."""
        W = aligned_empty((n_classes, n_features), self.dtype)
        W[...] = 0
        return {
            "W": W,
            "b": np.zeros(n_classes, dtype=self.dtype) if self.fit_intercept else None,
        }


def make_plan(estimator: Any) -> FitPlan:
    """``estimator``'s :class:`FitPlan`; TypeError/ValueError naming a bad hyperparameter."""
    params = estimator.get_params(deep=False)
    loss = type(estimator).loss_name
    loss_params = {name: params.pop(name) for name in LOSSES[loss].params}
    dtype = params.pop("dtype")
    if isinstance(dtype, str) and dtype == "auto":
        dtype = None
    else:
        try:
            dtype = resolve_dtype(dtype)
        except ValueError:
            raise ValueError(f"dtype must be 'auto', float32 or float64, got {dtype!r}") from None
    plan = FitPlan(loss=loss, loss_params=loss_params, dtype=dtype, **params)
    if plan.reg != "auto":
        check_scalar(plan.reg, "reg", numbers.Real, low=0.0)
    if not isinstance(plan.solver, str) or plan.solver not in SOLVERS:
        raise ValueError(f"solver must be one of {list(SOLVERS)}, got {plan.solver!r}")
    if isinstance(plan.schedule, str) and plan.schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {list(SCHEDULES)}, got {plan.schedule!r}")
    for name in ("fit_intercept", "warm_start", "standardize"):
        if not (name == "standardize" and plan.standardize == "auto"):
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
    plan.full_batch_solver()  # and the full-batch solver's
    return plan
