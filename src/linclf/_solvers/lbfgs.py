r"""Full-batch L-BFGS on the exact smooth objective (softmax cross-entropy + L2).

SciPy's L-BFGS-B (no bounds, ``jac=True``) minimizes the objective of
:mod:`linclf._solvers.full_batch`, one pass over X per evaluation: the two-loop direction
from the last ``memory`` pairs (Nocedal & Wright, *Numerical Optimization*, 2006,
Algorithm 7.4) and a Wolfe line search, :math:`\theta_{k+1} = \theta_k - t_k H_k g_k`
(docs/solvers.md).

Stopping rule (:func:`minimize_lbfgs`): stop after iteration :math:`k` when

.. math::  f_{k-1} - f_k \le \mathrm{tol}\cdot \min(|f_k|,\ f_0 - f_k),

the decrease relative to the objective itself, or, under strong regularization where
:math:`f^\star` is close to :math:`f_0 = \log C` (the value at :math:`\theta = 0`), to the
progress made from there. It is invariant to the scale of the features, unlike SciPy's
``gtol`` (an absolute bound on :math:`\lVert g\rVert_\infty`), and does not turn absolute
for the small training losses of separable data, unlike SciPy's ``ftol`` (relative to
:math:`\max(|f|, 1)`). Measured against ``LogisticRegression()``: docs/solvers.md and
docs/benchmarks.md ("Solvers"). SciPy's own tests are switched off (``ftol = gtol = 0``);
a line search that can no longer decrease :math:`f` (float32 products round at ~1e-7
relative) also ends the solve, as converged.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, MutableMapping
from typing import Any

import numpy as np

from .._engine.blas import blas_threads
from .._validation import TrainingData, check_scalar
from ..linear import linear_forward
from ..losses import softmax_cross_entropy
from .base import SolveResult
from .full_batch import FullBatchObjective, solver_threads, write_params

__all__ = ["LBFGSSolver", "minimize_lbfgs", "scipy_optimize", "validation_accuracy"]

# Losses smooth enough for L-BFGS on the exact objective, by name (the hinge has kinks: see
# linclf._solvers.smoothed_hinge).
SMOOTH_LOSSES = {"softmax": softmax_cross_entropy}


class _Stop(Exception):
    """Raised by a monitor to end the solve at the current iterate."""


def scipy_optimize() -> Any:
    """``scipy.optimize``, imported on first use (``import linclf`` does not load SciPy).

    A caller entering a BLAS thread limit around a solve loads it first, so that the limit
    also reaches SciPy's own BLAS (threadpoolctl limits the libraries loaded when entered).
    """
    import scipy.optimize

    return scipy.optimize


def minimize_lbfgs(
    fun: Callable[[np.ndarray], tuple[float, np.ndarray]],
    theta: np.ndarray,
    *,
    tol: float,
    max_iter: int,
    memory: int = 10,
    monitor: Callable[[np.ndarray, float], bool] | None = None,
    reference: float = np.inf,
) -> tuple[np.ndarray, list[float], bool, bool]:
    r"""L-BFGS from ``theta`` until :math:`f_{k-1} - f_k \le \mathrm{tol}\,\min(|f_k|, f_0 - f_k)`.

    Parameters
    ----------
    fun : callable
        ``theta -> (f, g)``, float64.
    theta : ndarray of shape (n,), float64
        Starting point (a warm start is just a good one).
    tol : float
        Relative decrease that ends the solve; 0 runs ``max_iter`` iterations.
    max_iter : int
    memory : int
        Correction pairs kept (SciPy's ``maxcor``).
    monitor : callable, optional
        ``monitor(theta, f) -> bool`` after every iteration; True ends the solve there,
        as converged (solvers with their own certificate use it, such as a duality gap).
    reference : float, optional
        :math:`f_0`, the objective at :math:`\theta = 0` (:math:`\log C` for the softmax):
        under strong regularization :math:`f^\star` is close to it, and the decrease
        still to come is measured against the progress :math:`f_0 - f_k`, not :math:`|f_k|`.

    Returns
    -------
    theta : ndarray of shape (n,)
        The last accepted iterate.
    curve : list of float
        :math:`f_k` after each iteration.
    converged : bool
        The stopping rule, the monitor or an exhausted line search ended it, not
        ``max_iter``.
    interrupted : bool
        Ctrl-C ended it (``theta`` is the last accepted iterate).
    """
    optimize = scipy_optimize()

    curve: list[float] = []
    state = {"theta": theta, "stop": False}

    def callback(intermediate_result: Any) -> None:
        f = float(intermediate_result.fun)
        state["theta"] = intermediate_result.x.copy()
        previous = curve[-1] if curve else np.inf
        curve.append(f)
        done = previous - f <= tol * min(abs(f), max(reference - f, 0.0))
        if monitor is not None and monitor(state["theta"], f):
            done = True
        if done:
            state["stop"] = True
            raise StopIteration

    options = {"maxiter": max_iter, "maxcor": memory, "ftol": 0.0, "gtol": 0.0, "maxls": 40}
    try:
        result = optimize.minimize(
            fun, theta, jac=True, method="L-BFGS-B", callback=callback, options=options
        )
    except KeyboardInterrupt:
        return state["theta"], curve, False, True
    # status 1 is the iteration limit; any other status (2: the line search found no
    # decrease) means f cannot be lowered at the precision it is computed in.
    converged = state["stop"] or result.status != 1
    return result.x if curve else theta, curve, converged, False


def validation_accuracy(W: np.ndarray, b: np.ndarray | None, validation: TrainingData) -> float:
    """Accuracy of ``argmax_c S_ic`` on the monitored data (weighted when it has weights)."""
    X = validation.X
    W = W.astype(X.dtype, copy=False)
    S = linear_forward(X, W, None if b is None else b.astype(X.dtype, copy=False))
    hit = (np.argmax(S, axis=1) == validation.y).astype(np.float64)
    weight = validation.sample_weight
    return float(hit.mean() if weight is None else hit @ weight / max(weight.sum(), 1e-300))


class LBFGSSolver:
    r"""Deterministic full-batch L-BFGS for the smooth softmax objective.

    Parameters
    ----------
    tol : float, default 1e-5
        Relative decrease of the objective per iteration below which the solve stops
        (module docstring).
    max_iter : int, default 1000
        Iteration budget; reaching it leaves ``converged=False``.
    memory : int, default 10
        L-BFGS correction pairs.
    n_threads : int, None or "auto", default "auto"
        BLAS threads for the whole solve, entered once: ``"auto"`` is
        :func:`~linclf._solvers.full_batch.solver_threads` (1 on small X, the BLAS's default
        on large X: measured at its definition), SciPy's BLAS at 1; ``None`` leaves the
        caller's setting alone (for a caller that entered one limit around many solves,
        such as a regularization path).

    Notes
    -----
    Implements :class:`~linclf._solvers.base.Solver`. ``params`` are the starting point
    (zeros for a fresh fit, the last solution for ``warm_start`` or along a
    regularization path) and receive the solution in their own dtype. One iteration is
    about 1.05 passes over X. With ``validation`` data, the accuracy on it is recorded after
    every iteration (one extra scores product on the validation rows).

    Examples
    --------
    >>> import numpy as np
    >>> from linclf import LinearObjective
    >>> from linclf._validation import TrainingData
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    >>> data = TrainingData(X, np.array([0, 1, 1, 0]), 2)
    >>> params = {"W": np.zeros((2, 2)), "b": np.zeros(2)}
    >>> result = LBFGSSolver().solve(LinearObjective("softmax", reg=0.01), params, data)
    >>> result.converged, bool(params["W"][1, 0] > params["W"][0, 0])
    (True, True)
    """

    def __init__(
        self,
        *,
        tol: float = 1e-5,
        max_iter: int = 1000,
        memory: int = 10,
        n_threads: int | str | None = "auto",
    ) -> None:
        check_scalar(tol, "tol", numbers.Real, low=0.0)
        check_scalar(max_iter, "max_iter", numbers.Integral, low=1)
        check_scalar(memory, "memory", numbers.Integral, low=1)
        self.tol, self.max_iter, self.memory, self.n_threads = tol, max_iter, memory, n_threads

    def solve(
        self,
        objective: Any,
        params: MutableMapping[str, np.ndarray | None],
        data: TrainingData,
        *,
        validation: TrainingData | None = None,
    ) -> SolveResult:
        """Minimize ``objective`` on ``data`` from ``params``, writing the solution into them."""
        if objective.loss not in SMOOTH_LOSSES:
            raise ValueError(
                f"LBFGSSolver needs a smooth loss {sorted(SMOOTH_LOSSES)}, got loss "
                f"{objective.loss!r}; the hinge's solver is SmoothedHingeSolver"
            )
        n_classes = params["W"].shape[0]
        fun = FullBatchObjective(
            SMOOTH_LOSSES[objective.loss],
            objective.reg,
            data,
            n_classes,
            fit_intercept=params.get("b") is not None,
            loss_params=objective.loss_params,
        )
        scores: list[float] | None = [] if validation is not None else None

        def monitor(theta: np.ndarray, f: float) -> bool:
            if scores is not None:
                scores.append(validation_accuracy(*fun.params(theta), validation))
            return False

        threads = solver_threads(data) if self.n_threads == "auto" else self.n_threads
        scipy_optimize()  # loaded before the limit, which then reaches SciPy's BLAS too
        with blas_threads(threads, others=None if self.n_threads is None else 1):
            theta, curve, converged, interrupted = minimize_lbfgs(
                fun,
                fun.pack(params["W"], params.get("b")),
                tol=self.tol,
                max_iter=self.max_iter,
                memory=self.memory,
                monitor=monitor,
                reference=float(np.log(n_classes)),  # W = 0, b = 0: every class 1/C
            )
        write_params(params, *fun.params(theta))
        return SolveResult(len(curve), converged, curve, interrupted, scores)
