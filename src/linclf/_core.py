r"""The batched CPU engine: preallocated workspaces, the fused step, and batch iteration.

Nothing here validates its inputs: the public functions above it (``Trainer.fit``, the
estimators) do that once, and the engine trusts it. In return the engine allocates
nothing per step that grows with the batch:

* :class:`LinearObjective` keeps one workspace per fit (scores, dW, penalty buffer) and
  computes loss and gradient in one fused pass: ``S = X Wᵀ + b`` into the score buffer,
  the loss node writes ``dS`` over ``S`` in place, then ``dW = dSᵀ X`` into the dW buffer.
* :func:`iter_batches` gathers each minibatch's rows into preallocated buffers
  (``np.take(..., out=)``) instead of fancy-indexing a fresh copy.
* :func:`batched_scores` computes ``X Wᵀ + b`` in row chunks so that prediction memory is
  bounded for any N.

The objective protocol the :class:`~linclf.trainer.Trainer` relies on is small:
``loss_grad(params, X, y, sample_weight) -> (loss, grads)`` with ``params`` and ``grads``
mappings name → ndarray of equal shapes (a grad may be ``None`` for an absent parameter),
and optionally ``scores(params, X) -> S`` for validation accuracy.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from .linear import linear_backward, linear_forward
from .losses import get_loss
from .objective import l2_penalty

__all__ = ["LinearObjective", "batched_scores", "iter_batches"]

# Rows per chunk in batched_scores: 4096 rows × C columns keeps the temporary small.
_SCORE_CHUNK_ROWS = 4096


class LinearObjective:
    r"""Loss on linear scores plus L2 penalty, evaluated on minibatches with reused buffers.

    .. math::

        \mathcal{L}_B(W, b) = \frac{\sum_{i \in B} w_i L_i(X_i W^\top + b, y_i)}{\sum_{i \in B} w_i}
                              + \lambda \lVert W \rVert^2

    Parameters
    ----------
    loss : str
        Name of a loss node in :data:`linclf.losses.LOSSES`.
    reg : float
        L2 strength :math:`\lambda`.
    **loss_params
        The loss node's hyperparameters (``delta`` for the hinge).

    Notes
    -----
    The gradients returned by :meth:`loss_grad` live in the workspace and are overwritten
    by the next call: use (or copy) them before calling again. The optimizer consumes them
    at once, which is what makes the step allocation-free.
    """

    def __init__(self, loss: str = "hinge", reg: float = 0.0, **loss_params: Any) -> None:
        self.loss = loss
        self.reg = float(reg)
        self.loss_params = loss_params
        self._node = get_loss(loss)
        self._key: tuple | None = None
        self._S = self._dW = self._penalty = np.empty((0, 0))

    def _workspace(self, n_rows: int, W: np.ndarray) -> None:
        # (Re)allocate only when the shapes or dtype change or a larger batch arrives.
        key = (W.shape, W.dtype)
        if key != self._key or self._S.shape[0] < n_rows:
            n_classes = W.shape[0]
            self._S = np.empty((n_rows, n_classes), dtype=W.dtype)
            self._dW = np.empty_like(W, order="C")
            self._penalty = np.empty_like(W, order="C")
            self._key = key

    def loss_grad(
        self,
        params: Mapping[str, np.ndarray],
        X: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None = None,
    ) -> tuple[float, dict[str, np.ndarray | None]]:
        """Objective value and gradients on one batch.

        Parameters
        ----------
        params : mapping with ``"W"`` (C, D) and optionally ``"b"`` (C,) or None
        X : ndarray of shape (n, D), dtype of W
        y : ndarray of shape (n,), intp class indices
        sample_weight : ndarray of shape (n,) or None

        Returns
        -------
        loss : float
        grads : dict with ``"W"`` (C, D) and ``"b"`` (C,) or None
        """
        W = params["W"]
        b = params.get("b")
        n = X.shape[0]
        self._workspace(n, W)
        S = linear_forward(X, W, b, out=self._S[:n])
        loss, dS = self._node.loss_grad(
            S, y, sample_weight=sample_weight, out=S, **self.loss_params
        )
        dW, db, _ = linear_backward(dS, X, W, b, out=self._dW)
        penalty, dW_penalty = l2_penalty(W, self.reg, out=self._penalty)
        if dW_penalty is not None:
            dW += dW_penalty
        return loss + penalty, {"W": dW, "b": db}

    def scores(self, params: Mapping[str, np.ndarray], X: np.ndarray) -> np.ndarray:
        """Scores ``X Wᵀ + b`` of any number of rows, computed in bounded memory."""
        return batched_scores(X, params["W"], params.get("b"))


def batched_scores(
    X: np.ndarray,
    W: np.ndarray,
    b: np.ndarray | None = None,
    *,
    chunk_rows: int = _SCORE_CHUNK_ROWS,
) -> np.ndarray:
    """``S = X Wᵀ + b`` in row chunks: extra memory beyond the (N, C) output is O(chunk × C).

    X is converted to W's dtype chunk by chunk, so a float64 X scored by a float32 model
    never makes a full float32 copy.
    """
    n = X.shape[0]
    S = np.empty((n, W.shape[0]), dtype=W.dtype)
    for start in range(0, n, chunk_rows):
        block = np.asarray(X[start : start + chunk_rows], dtype=W.dtype)
        linear_forward(block, W, b, out=S[start : start + chunk_rows])
    return S


def iter_batches(
    X: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray | None,
    order: np.ndarray,
    batch_size: int,
    buffers: tuple[np.ndarray, np.ndarray, np.ndarray | None],
) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray | None]]:
    """Yield ``(start, X_batch, y_batch, w_batch)`` for consecutive slices of ``order``.

    Each batch is gathered into the preallocated ``buffers`` ``(Xbuf, ybuf, wbuf)`` and the
    yielded arrays are views of them, valid until the next batch is produced.
    """
    Xbuf, ybuf, wbuf = buffers
    for start in range(0, order.shape[0], batch_size):
        idx = order[start : start + batch_size]
        n = idx.shape[0]
        # mode="clip" skips the bounds-check buffering of mode="raise"; idx is a permutation.
        Xb = np.take(X, idx, axis=0, out=Xbuf[:n], mode="clip")
        yb = np.take(y, idx, out=ybuf[:n], mode="clip")
        wb = None
        if sample_weight is not None:
            wb = np.take(sample_weight, idx, out=wbuf[:n], mode="clip")
        yield start, Xb, yb, wb
