r"""The full-batch objective on a flat parameter vector: what SciPy's optimizers see.

.. math::

    f(\theta) = \frac{\sum_i w_i L_i(S_i, y_i)}{\sum_i w_i} + \lambda \lVert W \rVert^2,
    \qquad S = X W^\top + b, \qquad \theta = [\operatorname{vec} W,\ b] \in \mathbb{R}^{CD + C},

with :math:`w_i = 1` without sample weights and ``b`` left out of :math:`\theta` (and
fixed at 0) without an intercept. The bias is not penalized. One evaluation is one pass
over X with two matrix products, :math:`S = X W^\top` and :math:`dW = dS^\top X`, computed
in the dtype of X (float32 data stays float32: no copy of X is made); the loss is
accumulated in float64 by the loss node and the penalty is formed in float64 from
:math:`\theta`, so SciPy always sees float64. Sparse X is never densified. A solve runs on
:func:`solver_threads` BLAS threads unless told otherwise, entered once per solve.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping

import numpy as np

from .._validation import TrainingData
from ..linear import linear_backward, linear_forward

__all__ = ["SMALL_X", "SOLVER_THREADS", "FullBatchObjective", "solver_threads", "write_params"]

# BLAS threads of a full-batch solve by default (solver_threads). Measured on the 2-core
# reference machine: on small X two threads lose, badly under load (L-BFGS on digits,
# 1437 × 64 × 10: 17x slower per iteration with the other core busy; 54 against 70 µs per
# pair of products when quiet, less than the L-BFGS-B bookkeeping around them); on
# CIFAR-shaped X (49,000 × 3072 × 10, float32) the two products take 131 ms on two
# threads, 214 ms on one when the machine is quiet (0.42 s against 0.25 s per iteration
# while it was shared). So one thread up to SMALL_X elements, the BLAS's own count above.
SOLVER_THREADS = 1
SMALL_X = 2**20


def solver_threads(data: TrainingData) -> int | None:
    """The BLAS threads of a full-batch solve on ``data`` at ``n_threads="auto"``: 1 for X
    of at most :data:`SMALL_X` stored values, else None (the BLAS's default)."""
    X = data.X
    size = X.nnz if hasattr(X, "nnz") else X.shape[0] * X.shape[1]
    return SOLVER_THREADS if size <= SMALL_X else None


def write_params(
    params: MutableMapping[str, np.ndarray | None], W: np.ndarray, b: np.ndarray | None
) -> None:
    """Copy ``W`` (and ``b``) into the caller's arrays, in their dtype (training in place)."""
    np.copyto(params["W"], W, casting="unsafe")
    if params.get("b") is not None and b is not None:
        np.copyto(params["b"], b, casting="unsafe")


class FullBatchObjective:
    r"""Value and gradient of a loss node on all rows plus :math:`\lambda\lVert W\rVert^2`.

    Parameters
    ----------
    loss_grad : callable
        A loss node ``(S, y, *, sample_weight=None, out=None, **loss_params) -> (loss, dS)``
        (:data:`linclf.LOSSES` holds the registered ones).
    reg : float
        :math:`\lambda \ge 0`.
    data : TrainingData
        Dense or sparse X; out-of-core X is not supported here.
    n_classes : int
    fit_intercept : bool
    loss_params : dict, optional
        Keyword hyperparameters of the node (``delta`` for the hinge).

    Notes
    -----
    Calling the object with :math:`\theta` returns ``(f, g)``, float and float64 ndarray of
    the shape of :math:`\theta`:

    .. math::

        g = \bigl[\operatorname{vec}(dS^\top X) + 2\lambda \operatorname{vec} W,\;
                  \textstyle\sum_i dS_i\bigr].

    After a call, :attr:`theta` and :attr:`value` are its point and value, :attr:`dS` and
    :attr:`dW_loss` the loss node's gradient and :math:`dS^\top X` (workspace views,
    overwritten by the next call), for solvers that derive a dual point from them.
    """

    def __init__(
        self,
        loss_grad: Callable[..., tuple[float, np.ndarray]],
        reg: float,
        data: TrainingData,
        n_classes: int,
        *,
        fit_intercept: bool,
        loss_params: dict | None = None,
    ) -> None:
        if data.kind == "out_of_core":
            raise TypeError(
                "full-batch solvers need X in memory (dense or sparse); got out-of-core X: "
                "use the 'sgd' solver, which reads it block by block"
            )
        self.loss_grad = loss_grad
        self.reg = float(reg)
        self.data = data
        self.loss_params = dict(loss_params or {})
        self.fit_intercept = fit_intercept
        # c of data.column_means: theta holds b' = b + W c, the intercept of centered X.
        self.center = data.column_means if fit_intercept else None
        self.shape = (n_classes, data.n_features)
        self.size = n_classes * data.n_features + (n_classes if fit_intercept else 0)
        dtype = data.X.dtype
        self._W = np.zeros(self.shape, dtype=dtype)
        self._b = np.zeros(n_classes, dtype=dtype) if fit_intercept else None
        self._S = np.empty((data.n_samples, n_classes), dtype=dtype)
        self._dW = np.empty(self.shape, dtype=dtype)
        self.dS = self._S
        self.dW_loss = self._dW
        self.theta: np.ndarray | None = None
        self.value = np.nan
        self.n_evals = 0

    def pack(self, W: np.ndarray, b: np.ndarray | None) -> np.ndarray:
        """:math:`\\theta = [\\operatorname{vec} W, b]` in float64 (b dropped without intercept)."""
        theta = np.empty(self.size)
        n_w = W.size
        theta[:n_w] = W.ravel()
        if self.fit_intercept:
            theta[n_w:] = 0.0 if b is None else b
            if self.center is not None:
                theta[n_w:] += np.asarray(W, dtype=np.float64) @ self.center
        return theta

    def unpack(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Views ``(W, b')`` of a flat vector (``b'`` is None without intercept): the
        solver's coordinates, ``b' = b + W c`` when X is centered implicitly."""
        n_w = self.shape[0] * self.shape[1]
        return theta[:n_w].reshape(self.shape), theta[n_w:] if self.fit_intercept else None

    def params(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The model ``(W, b)`` of a flat vector, scores ``X W^T + b`` on X itself: the
        inverse of :meth:`pack`."""
        W, b = self.unpack(theta)
        if b is not None and self.center is not None:
            b = b - W @ self.center
        return W, b

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        self.n_evals += 1
        W64, b64 = self.unpack(theta)
        np.copyto(self._W, W64, casting="unsafe")  # the products run in the data dtype
        if b64 is not None:  # centered: (X - 1cᵀ) Wᵀ + b' = X Wᵀ + (b' - W c)
            bias = b64 if self.center is None else b64 - W64 @ self.center
            np.copyto(self._b, bias, casting="unsafe")
        data = self.data
        S = linear_forward(data.X, self._W, self._b, out=self._S)  # S = X Wᵀ + b
        loss, dS = self.loss_grad(
            S, data.y, sample_weight=data.sample_weight, out=S, **self.loss_params
        )
        dW = self.backward(dS)  # dSᵀ X (centered: dSᵀ (X - 1cᵀ))
        grad = np.empty_like(theta)
        gW, gb = self.unpack(grad)
        np.multiply(W64, 2.0 * self.reg, out=gW)  # 2λW
        gW += dW  # + dSᵀX
        if gb is not None:
            gb[:] = dS.sum(axis=0, dtype=np.float64)  # Σ_i dS_i, summed in float64
        n_w = W64.size
        penalty = self.reg * float(np.dot(theta[:n_w], theta[:n_w]))  # λ‖W‖² in float64
        self.theta, self.value = theta.copy(), float(loss) + penalty
        self.dS, self.dW_loss = dS, dW
        return self.value, grad

    def backward(self, dS: np.ndarray) -> np.ndarray:
        r""":math:`dS^\top X` for another ``dS`` (into the :attr:`dW_loss` workspace); with
        X centered implicitly, :math:`dS^\top X - (dS^\top 1) c^\top`."""
        dW, _, _ = linear_backward(dS, self.data.X, self._W, None, out=self._dW)
        if self.center is not None:
            sums = dS.sum(axis=0, dtype=np.float64)
            dW -= np.outer(sums, self.center).astype(dW.dtype, copy=False)
        self.dW_loss = dW
        return dW
