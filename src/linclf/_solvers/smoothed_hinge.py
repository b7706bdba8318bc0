r"""The Weston–Watkins hinge optimum by L-BFGS on a smoothed hinge, certified by a duality gap.

The objective :math:`P`, the Huber-smoothed hinge :math:`h_\mu` minimized in stages with
:math:`\mu` driven towards 0, the dual point read from each gradient
(:math:`\alpha_{ij} = dS_{ij}`, :math:`V = -dS^\top X`, so :math:`P \ge P^\star \ge
D(t\alpha)` at every iterate; with an intercept, the class-to-class flows balanced by a
small linear program) and the stopping rules are written out once, as math, in
docs/solvers.md ("Full-batch L-BFGS"). In short: with :math:`s = \min(P, P_0 - D)` and
:math:`P_0 = \Delta (C - 1)`, a stage ends when :math:`F_\mu` stops falling by
:math:`10^{-3}\varepsilon s` over 5 iterations (or, without intercept, when its own gap
:math:`G_\mu \le \sigma_\mu / 2`); the solve ends when :math:`P - D \le \varepsilon s`
with a feasible dual point, or after a stage when :math:`P - F_\mu \le \varepsilon s / 2`;
else :math:`\mu \leftarrow \mu\,\operatorname{clip}(\varepsilon s / (4 (P - F_\mu)), 0.1,
0.5)`. The dual point lags the primal one, so the certificate alone would stop late
(measured: 4x the iterations on digits); ``tests/test_solvers.py`` checks the result
against the QP optimum.
"""

from __future__ import annotations

import numbers
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._engine.blas import blas_threads
from .._validation import TrainingData, check_scalar
from .base import SolveResult
from .full_batch import FullBatchObjective, solver_threads, write_params
from .lbfgs import minimize_lbfgs, scipy_optimize, validation_accuracy

__all__ = [
    "HingeGap",
    "SmoothedHingeSolver",
    "feasible_dual",
    "hinge_gap",
    "smoothed_multiclass_hinge",
]

# A stage ends when its last _WINDOW iterations together decreased F_μ by less than
# _STAGE_TOL · tol · |F_μ|: tight, and over several iterations (one L-BFGS step can be
# short by chance), because the test after the stage trusts F_μ to be nearly minimal (a
# looser rule for the stages before the last, 1 % of P - F_μ, measured: 2.3x fewer
# iterations on breast_cancer, but 5e-3 from the optimum on digits at tol 1e-3).
_STAGE_TOL = 1e-3
_WINDOW = 5


def _weights(sample_weight: np.ndarray | None, n: int) -> np.ndarray:
    """:math:`a_i = w_i / \\sum_k w_k` in float64 (zeros when every weight is 0)."""
    if sample_weight is None:
        return np.full(n, 1.0 / n)
    total = float(np.sum(sample_weight, dtype=np.float64))
    return np.zeros(n) if total == 0.0 else np.asarray(sample_weight, np.float64) / total


def smoothed_multiclass_hinge(
    S: np.ndarray,
    y: np.ndarray,
    *,
    delta: float = 1.0,
    smoothing: float = 0.1,
    sample_weight: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    r"""Huber-smoothed Weston–Watkins hinge and its gradient with respect to the scores.

    Parameters
    ----------
    S : ndarray of shape (N, C), float32 or float64
    y : ndarray of shape (N,), integer
    delta : float
        The margin :math:`\Delta`.
    smoothing : float
        :math:`\mu > 0`; the hinge is recovered as :math:`\mu \to 0`.
    sample_weight : ndarray of shape (N,) or None
    out : ndarray of shape (N, C), optional
        Where to write dS; may be ``S``.

    Returns
    -------
    loss : float
        :math:`\sum_i a_i \sum_{j \ne y_i} h_\mu(m_{ij})`, accumulated in float64.
    dS : ndarray of shape (N, C), dtype of S

    Notes
    -----
    With :math:`r_{ij} = \operatorname{clip}(m_{ij}/\mu, 0, 1)`, the loss of a row is
    :math:`\sum_{j \ne y_i} [\max(0, m_{ij}) - \mu r_{ij} + \mu r_{ij}^2 / 2]` (the three
    cases of :math:`h_\mu` in one formula) and

    .. math::

        \frac{\partial L}{\partial s_{ij}} = a_i r_{ij}\;(j \ne y_i), \qquad
        \frac{\partial L}{\partial s_{iy_i}} = -a_i \sum_{j \ne y_i} r_{ij}.

    Examples
    --------
    Margins (2, 0.05, -1) at :math:`\mu = 0.1`: :math:`h = 2 - 0.05` and
    :math:`0.05^2 / 0.2 = 0.0125`.

    >>> import numpy as np
    >>> S = np.array([[1.0, 2.0, 0.05, -1.0]])
    >>> loss, dS = smoothed_multiclass_hinge(S, np.array([0]))
    >>> round(loss, 6), dS.tolist()
    (1.9625, [[-1.5, 1.0, 0.5, 0.0]])
    """
    n = S.shape[0]
    rows = np.arange(n)
    a = _weights(sample_weight, n)
    mu = float(smoothing)
    M = out if out is not None else np.empty_like(S)
    correct = S[rows, y]  # s_{iy_i}, copied before M may overwrite S
    np.subtract(S, (correct - delta)[:, None], out=M)  # m_ij = Δ + s_ij - s_iy
    M[rows, y] = 0.0  # the j = y_i term is not part of the sum
    np.maximum(M, 0.0, out=M)  # max(0, m_ij)
    hinge = M.sum(axis=1, dtype=np.float64)
    np.minimum(M, M.dtype.type(mu), out=M)
    M *= M.dtype.type(1.0 / mu)  # r_ij = clip(m_ij / μ, 0, 1)
    r_sum = M.sum(axis=1, dtype=np.float64)
    r_sq = np.einsum("ij,ij->i", M, M, dtype=np.float64)
    loss = float((hinge - mu * r_sum + 0.5 * mu * r_sq) @ a)  # Σ a_i Σ_j h_μ(m_ij)
    M[rows, y] = -r_sum.astype(M.dtype)  # -Σ_j r_ij
    M *= a.astype(M.dtype)[:, None]  # a_i
    return loss, M


@dataclass(frozen=True)
class HingeGap:
    """Primal and dual values at one iterate (module docstring).

    Attributes
    ----------
    primal : float
        :math:`P(W, b)`, the exact Weston–Watkins objective.
    dual : float
        :math:`D(t\\alpha)`, a lower bound on :math:`P^\\star` when ``feasible``; with an
        intercept, that value less the estimated cost of balancing the flows.
    smoothed_gap : float
        :math:`G_\\mu = F_\\mu - D_\\mu`, how far the smoothed problem is from its optimum.
    smoothing_part : float
        :math:`\\sigma_\\mu = \\mu \\sum_{ij} a_i (r_{ij} - r_{ij}^2) \\ge 0`, the part of
        the gap due to the smoothing: :math:`P - D(\\alpha) = G_\\mu + \\sigma_\\mu`.
    feasible : bool
        Whether :math:`\\alpha` satisfies the intercept's constraint (always without one).
    """

    primal: float
    dual: float
    smoothed_gap: float
    smoothing_part: float
    feasible: bool

    @property
    def gap(self) -> float:
        """:math:`P - D`."""
        return self.primal - self.dual


def _best_dual(delta: float, alpha_sum: float, v_sq: float, reg: float) -> float:
    r"""The best dual value on the segment: :math:`\max_{t \in [0, 1]} D(t\alpha)`.

    :math:`D(t\alpha) = t\Delta\sum\alpha - t^2\lVert V\rVert^2 / (4\lambda)`, largest at
    :math:`t = \min(1, 2\lambda\Delta\sum\alpha / \lVert V\rVert^2)`.
    """
    if v_sq == 0.0:
        return delta * alpha_sum
    t = min(1.0, 2.0 * reg * delta * alpha_sum / v_sq)
    return t * delta * alpha_sum - t * t * v_sq / (4.0 * reg)


def hinge_gap(fun: FullBatchObjective) -> HingeGap:
    r"""Primal, dual and smoothed gap at the last evaluation of ``fun``, from its ``dS``.

    ``fun`` evaluates :func:`smoothed_multiclass_hinge` with ``reg > 0``; the gap is that of
    its last point ``fun.theta``.
    """
    data, dS, reg, f_smoothed = fun.data, fun.dS, fun.reg, fun.value
    delta, mu = fun.loss_params.get("delta", 1.0), fun.loss_params["smoothing"]
    rows = np.arange(data.n_samples)
    a = _weights(data.sample_weight, data.n_samples)
    alpha_sum = -float(dS[rows, data.y].sum(dtype=np.float64))  # Σ α_ij = -Σ_i dS_iy
    # α_ij ≤ a_i, so a term α² / a of a subnormal a_i is below it: 0, not an overflow.
    inv_a = np.divide(1.0, a, out=np.zeros_like(a), where=a > np.finfo(a.dtype).tiny)
    sq = np.einsum("ij,ij->i", dS, dS, dtype=np.float64) - dS[rows, data.y].astype(float) ** 2
    alpha_sq = float(sq @ inv_a)  # Σ α_ij² / a_i
    primal = f_smoothed + mu * (alpha_sum - 0.5 * alpha_sq)  # h - h_μ = μ(r - r²/2)
    v_sq = float(np.einsum("ij,ij->", fun.dW_loss, fun.dW_loss, dtype=np.float64))
    dual_mu = delta * alpha_sum - v_sq / (4.0 * reg) - 0.5 * mu * alpha_sq
    dual = _best_dual(delta, alpha_sum, v_sq, reg)
    sigma = mu * (alpha_sum - alpha_sq)  # μ Σ a_i (r - r²)
    if not fun.fit_intercept:
        return HingeGap(primal, dual, f_smoothed - dual_mu, sigma, True)
    # With an intercept, α misses the balance Σ_i dS_i = 0 by the bias gradient; making it
    # balance removes about half the imbalance from the flows, each unit worth at most Δ:
    # an estimate, the bound itself is feasible_dual's.
    imbalance = 0.5 * delta * float(np.abs(dS.sum(axis=0, dtype=np.float64)).sum())
    return HingeGap(primal, dual - imbalance, f_smoothed - dual_mu + imbalance, sigma, False)


def _circulation(flow: np.ndarray) -> np.ndarray:
    r"""The largest circulation under capacities ``flow``: :math:`\max \sum F'` over
    :math:`0 \le F' \le F` with :math:`\sum_d F'_{cd} = \sum_d F'_{dc}` for every class c.

    A linear program in :math:`C(C-1)` variables (SciPy's HiGHS; C is small).
    """
    optimize = scipy_optimize()

    n_classes = flow.shape[0]
    off = ~np.eye(n_classes, dtype=bool)
    src, dst = np.nonzero(off)
    balance = np.zeros((n_classes, src.size))
    balance[src, np.arange(src.size)] += 1.0  # out of class c
    balance[dst, np.arange(src.size)] -= 1.0  # into class c
    result = optimize.linprog(
        -np.ones(src.size),
        A_eq=balance,
        b_eq=np.zeros(n_classes),
        bounds=np.column_stack([np.zeros(src.size), flow[off]]),
        method="highs",
    )
    kept = np.zeros_like(flow)
    if result.status == 0:
        kept[off] = np.minimum(result.x, flow[off])
    return kept


def feasible_dual(fun: FullBatchObjective) -> float:
    r"""A dual value that is a true lower bound with an intercept: flows made to balance.

    With an intercept the dual needs :math:`\sum_i dS_i = 0`: with
    :math:`F_{cd} = \sum_{y_i = c} \alpha_{id}` (what class c sends to class d), every class
    must send what it receives. Each :math:`\alpha_{id}` is scaled by
    :math:`F'_{cd} / F_{cd}` (:math:`y_i = c`, scaling down keeps the box), with
    :math:`F'` the largest balanced flow below :math:`F` (:func:`_circulation`); then one
    product :math:`V = -dS^\top X` with the new :math:`\alpha`. Overwrites ``fun.dS``.
    """
    data, dS = fun.data, fun.dS
    n_classes = fun.shape[0]
    rows = np.arange(data.n_samples)
    dS[rows, data.y] = 0.0  # α_ij for j ≠ y_i, 0 in the true class's column
    flow = np.zeros((n_classes, n_classes))
    np.add.at(flow, data.y, dS.astype(np.float64))  # F_cd = Σ_{y_i = c} α_id
    kept = _circulation(flow)
    ratio = np.divide(kept, flow, out=np.zeros_like(flow), where=flow > 0)
    dS *= ratio[data.y].astype(dS.dtype)
    alpha_sum = float(dS.sum(dtype=np.float64))
    dS[rows, data.y] = -dS.sum(axis=1)
    V = fun.backward(dS)
    v_sq = float(np.einsum("ij,ij->", V, V, dtype=np.float64))
    return _best_dual(fun.loss_params.get("delta", 1.0), alpha_sum, v_sq, fun.reg)


class SmoothedHingeSolver:
    r"""Full-batch solver of the Weston–Watkins hinge: L-BFGS with smoothing continuation.

    Parameters
    ----------
    tol : float, default 1e-3
        :math:`\varepsilon`: the relative accuracy of :math:`P` aimed at (module docstring:
        certified when the duality gap :math:`P - D \le \varepsilon P` ends the solve).
    max_iter : int, default 2000
        L-BFGS iterations over all stages.
    memory : int, default 10
        L-BFGS correction pairs.
    smoothing : float, default 1.0
        First :math:`\mu / \Delta`.
    n_threads : int, None or "auto", default "auto"
        BLAS threads for the solve, as in :class:`~linclf._solvers.lbfgs.LBFGSSolver`.

    Attributes
    ----------
    gap_ : HingeGap or None
        The certificate at the returned parameters, after :meth:`solve`.
    smoothing_ : float or None
        The last :math:`\\mu`, after :meth:`solve`.

    Notes
    -----
    Implements :class:`~linclf._solvers.base.Solver` for ``objective.loss == "hinge"``
    with ``objective.reg > 0`` (the dual divides by :math:`\lambda`). Each stage minimizes
    :math:`F_\mu = \sum_i a_i \sum_{j \ne y_i} h_\mu(m_{ij}) + \lambda\lVert W\rVert^2` with
    :func:`~linclf._solvers.lbfgs.minimize_lbfgs`; ``loss_curve`` holds the exact
    :math:`P` after every iteration. Why this method rather than dual coordinate ascent or
    L-BFGS-B on the dual: ``benchmarks/bench_solvers.py``.
    """

    def __init__(
        self,
        *,
        tol: float = 1e-3,
        max_iter: int = 2000,
        memory: int = 10,
        smoothing: float = 1.0,
        n_threads: int | str | None = "auto",
    ) -> None:
        check_scalar(tol, "tol", numbers.Real, low=0.0, high=1.0, high_inclusive=False)
        check_scalar(max_iter, "max_iter", numbers.Integral, low=1)
        check_scalar(memory, "memory", numbers.Integral, low=1)
        check_scalar(smoothing, "smoothing", numbers.Real, low=0.0, low_inclusive=False)
        self.tol, self.max_iter, self.memory = tol, max_iter, memory
        self.smoothing, self.n_threads = smoothing, n_threads
        self.gap_: HingeGap | None = None
        self.smoothing_: float | None = None

    def solve(
        self,
        objective: Any,
        params: MutableMapping[str, np.ndarray | None],
        data: TrainingData,
        *,
        validation: TrainingData | None = None,
    ) -> SolveResult:
        """Minimize the hinge ``objective`` on ``data`` from ``params``, in place."""
        if objective.loss != "hinge":
            raise ValueError(f"SmoothedHingeSolver needs loss 'hinge', got {objective.loss!r}")
        if objective.reg <= 0.0:
            raise ValueError(
                f"SmoothedHingeSolver needs reg > 0 (its duality gap divides by it), got "
                f"reg={objective.reg!r}; use the 'sgd' solver for an unregularized hinge"
            )
        delta = float(objective.loss_params.get("delta", 1.0))
        n_classes = params["W"].shape[0]
        fun = FullBatchObjective(
            smoothed_multiclass_hinge,
            objective.reg,
            data,
            n_classes,
            fit_intercept=params.get("b") is not None,
            loss_params={
                "delta": delta,
                "smoothing": self.smoothing * delta,
            },
        )
        threads = solver_threads(data) if self.n_threads == "auto" else self.n_threads
        scipy_optimize()  # loaded before the limit, which then reaches SciPy's BLAS too
        with blas_threads(threads, others=None if self.n_threads is None else 1):
            theta, result = self._continuation(
                fun, fun.pack(params["W"], params.get("b")), validation
            )
        write_params(params, *fun.params(theta))
        return result

    def _continuation(
        self, fun: FullBatchObjective, theta: np.ndarray, validation: TrainingData | None
    ) -> tuple[np.ndarray, SolveResult]:
        """Stages of L-BFGS on :math:`F_\\mu`, :math:`\\mu` cut as the module docstring says."""
        stage = _Stage(self.tol, fun, validation)
        interrupted = False
        while len(stage.curve) < self.max_iter and fun.loss_params["smoothing"] > 1e-12:
            stage.start()
            theta, _, ended, interrupted = minimize_lbfgs(
                fun,
                theta,
                tol=0.0,
                max_iter=self.max_iter - len(stage.curve),
                memory=self.memory,
                monitor=stage,
            )
            if stage.done or interrupted or not ended or stage.gap is None:
                break
            # P - P* <= (P - F_μ) + (F_μ - F_μ*): the smoothing's share, plus the stage's
            # remaining error, at most G_μ <= σ_μ / 2 <= (P - F_μ) / 2 when the stage ended on
            # its gap, else small by the tight stage tol. Done when the first is within tol/2.
            gap = stage.gap
            smoothing = gap.primal - fun.value
            if smoothing <= 0.5 * self.tol * stage.scale(gap):
                stage.done = True
                break
            fun.loss_params["smoothing"] *= float(
                np.clip(0.25 * self.tol * stage.scale(gap) / max(smoothing, 1e-300), 0.1, 0.5)
            )
        self.gap_, self.smoothing_ = stage.gap, fun.loss_params["smoothing"]
        result = SolveResult(
            len(stage.curve), stage.done, stage.curve, interrupted and not stage.done, stage.scores
        )
        return theta, result


class _Stage:
    """The monitor of every stage: records P (and accuracy), ends the solve on the certificate.

    It ends a stage when :math:`F_\\mu` stops decreasing, and, without an intercept, once
    the smoothed problem's own gap is below half the smoothing's share of the gap (more
    iterations at this μ cannot help).
    """

    def __init__(
        self, tol: float, fun: FullBatchObjective, validation: TrainingData | None
    ) -> None:
        self.tol, self.fun, self.validation = tol, fun, validation
        self.curve: list[float] = []
        self.scores: list[float] | None = [] if validation is not None else None
        self.gap: HingeGap | None = None
        self.done = False
        self.values: list[float] = []

    def scale(self, gap: HingeGap) -> float:
        r"""What ``tol`` is relative to: :math:`\min(P, P_0 - D)`, with :math:`P_0 = \Delta(C-1)`
        the objective at W = 0, b = 0 (under strong regularization :math:`P^\star` is close
        to :math:`P_0`, and only the distance travelled from it measures accuracy)."""
        reference = self.fun.loss_params.get("delta", 1.0) * (self.fun.shape[0] - 1)
        return min(gap.primal, max(reference - gap.dual, 0.0))

    def start(self) -> None:
        """A new stage: its own record of :math:`F_\\mu`."""
        self.values = []

    def __call__(self, point: np.ndarray, value: float) -> bool:
        fun = self.fun
        if fun.theta is None or not np.array_equal(point, fun.theta):
            fun(point)  # the gap needs dS at the accepted point itself
        gap = self.gap = hinge_gap(fun)
        self.curve.append(gap.primal)
        if self.scores is not None:
            self.scores.append(validation_accuracy(*fun.params(point), self.validation))
        scale = self.scale(gap)
        if gap.gap <= self.tol * scale and _certified(fun, gap, len(self.curve), self.tol * scale):
            self.done = True
            return True
        self.values.append(value)
        old = self.values[-_WINDOW - 1] if len(self.values) > _WINDOW else np.inf
        if old - value <= _STAGE_TOL * self.tol * scale:
            return True
        return gap.feasible and gap.smoothed_gap <= 0.5 * gap.smoothing_part


def _certified(fun: FullBatchObjective, gap: HingeGap, n_iter: int, bound: float) -> bool:
    """Whether ``P - D <= bound`` with a feasible dual point (checked every 10th iteration)."""
    if gap.feasible:
        return True
    if n_iter % 10 and n_iter > 1:
        return False
    return gap.primal - feasible_dual(fun) <= bound
