r"""Training objectives: the scores node, a loss node and the L2 penalty, composed.

:math:`\mathcal{L}(W, b) = \sum_i w_i L_i(S_i, y_i) / \sum_i w_i + \lambda \sum W^2` with
:math:`S = X W^\top + b` (the bias is not penalized; docs/math.md). Each vectorized
objective has a ``_naive`` twin with explicit loops: the tests' oracle.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from ._engine.blas import block_rows, blocked_backward, blocked_forward
from ._validation import assert_all_finite, check_loss_inputs
from .losses import MulticlassHinge, get_loss, l2_penalty

__all__ = [
    "l2_penalty",  # defined beside the loss nodes, in linclf.losses
    "linear_objective",
    "softmax_loss",
    "softmax_loss_naive",
    "svm_loss",
    "svm_loss_naive",
]


def linear_objective(
    W: np.ndarray,
    b: np.ndarray | None,
    X: np.ndarray,
    y: np.ndarray,
    reg: float = 0.0,
    *,
    loss: str = "hinge",
    sample_weight: np.ndarray | None = None,
    **loss_params: Any,
) -> tuple[float, np.ndarray, np.ndarray | None]:
    r"""Any registered loss on linear scores, plus the L2 penalty: value and gradients.

    Parameters
    ----------
    W, b, X, y, reg, sample_weight, loss, **loss_params
        As in :func:`svm_loss`; a name in :data:`linclf.losses.LOSSES` and its node's
        hyperparameters (``delta``).

    Returns
    -------
    loss, dW, db
        As in :func:`svm_loss`.
    """
    node = get_loss(loss, **loss_params)
    W_in_dtype, b_in_dtype = np.asarray(W).dtype, None if b is None else np.asarray(b).dtype
    W, b, X, y, reg, sample_weight = check_loss_inputs(W, b, X, y, reg, sample_weight)
    # The scores node in the engine's row blocks, sized for the BLAS's small-matrix kernels.
    rows = block_rows(*W.shape)
    with np.errstate(over="ignore", invalid="ignore"):  # judged below, once
        S = blocked_forward(X, W, b, rows=rows)  # S = X Wᵀ + b
        data_loss, dS = node.loss_grad(S, y, sample_weight=sample_weight, out=S)  # L, dS
        dW, db = blocked_backward(dS, X, b, rows=rows)  # dW = dSᵀ X, db = Σ_i dS_i
        penalty, dW_penalty = l2_penalty(W, reg)  # λ Σ W², 2λW
        if dW_penalty is not None:
            dW += dW_penalty
    if not (np.isfinite(data_loss + penalty) and np.isfinite(np.sum(dW, dtype=np.float64))):
        # W and b were checked; a NaN or inf in X always reaches the loss or dW (0·inf is
        # NaN), so X is scanned only now, to name the bad entry.
        assert_all_finite(X, "X")
        warnings.warn(
            "the objective overflowed to a non-finite value on finite inputs; "
            "scale the features or the weights down",
            RuntimeWarning,
            stacklevel=3,
        )
    # Gradients come back in the parameters' own dtypes, as an optimizer expects.
    db = None if db is None else db.astype(b_in_dtype, copy=False)
    return data_loss + penalty, dW.astype(W_in_dtype, copy=False), db


def svm_loss(
    W: np.ndarray,
    b: np.ndarray | None,
    X: np.ndarray,
    y: np.ndarray,
    reg: float = 0.0,
    *,
    delta: float = 1.0,
    sample_weight: np.ndarray | None = None,
) -> tuple[float, np.ndarray, np.ndarray | None]:
    r"""Multiclass SVM (Weston–Watkins) objective and its analytic gradient, vectorized.

    Parameters
    ----------
    W, b : ndarray of shape (C, D), float32 or float64; ndarray of shape (C,) or None
        Class templates (one per row) and biases (None: no bias, and ``db`` is None).
    X, y : array-like of shape (N, D); array-like of shape (N,), integer
        Samples (integers computed in W's dtype), class indices in ``[0, C)``.
    reg, delta, sample_weight : float, default 0.0; float, default 1.0; array-like or None
        L2 strength :math:`\lambda \ge 0`, margin :math:`\Delta \ge 0`, non-negative
        weights (N,), not all zero.

    Returns
    -------
    loss, dW, db : float, ndarray of shape (C, D), ndarray of shape (C,) or None
        :math:`\mathcal{L}` (summed in float64; float32 when W, b and X all are) with
        :math:`L_i = \sum_{j \ne y_i} \max(0, m_{ij})`, :math:`m_{ij} = s_{ij} - s_{iy_i} +
        \Delta`, and its gradients :math:`G^\top X + 2\lambda W` and :math:`\sum_i G_i`, with
        :math:`G_{ij} = a_i [m_{ij} > 0]` (:math:`j \ne y_i`), :math:`G_{iy_i} = -\sum_{j \ne
        y_i} G_{ij}`, :math:`a_i = w_i / \sum_k w_k`.

    Raises
    ------
    ValueError, TypeError
        For inputs of the wrong shape, dtype or range, naming the argument.

    Examples
    --------
    >>> W = np.zeros((3, 2)); X = np.array([[1.0, 2.0], [0.0, 1.0]]); y = np.array([0, 2])
    >>> svm_loss(W, np.zeros(3), X, y, reg=0.1)[::2]  # all scores 0: two margins Δ = 1 each
    (2.0, array([-0.5,  1. , -0.5]))
    """
    return linear_objective(W, b, X, y, reg, loss="hinge", delta=delta, sample_weight=sample_weight)


def softmax_loss(
    W: np.ndarray,
    b: np.ndarray | None,
    X: np.ndarray,
    y: np.ndarray,
    reg: float = 0.0,
    *,
    sample_weight: np.ndarray | None = None,
) -> tuple[float, np.ndarray, np.ndarray | None]:
    r"""Softmax cross-entropy objective and its analytic gradient, vectorized.

    Parameters
    ----------
    W, b, X, y, reg, sample_weight
        As in :func:`svm_loss`, which also lists the errors raised.

    Returns
    -------
    loss, dW, db : float, ndarray of shape (C, D), ndarray of shape (C,) or None
        As in :func:`svm_loss`, with :math:`L_i = -\log p_{iy_i}`,
        :math:`p_{ij} = e^{s_{ij}} / \sum_k e^{s_{ik}}` (computed stably) and
        :math:`G_{ij} = a_i (p_{ij} - [j = y_i])`.

    Examples
    --------
    >>> W = np.zeros((3, 2)); X = np.array([[1.0, 2.0], [0.0, 1.0]]); y = np.array([0, 2])
    >>> loss, dW, db = softmax_loss(W, np.zeros(3), X, y, reg=0.1)
    >>> round(loss, 6), db.round(4)  # all scores 0: p = 1/3, L_i = log 3; db = mean(p - onehot)
    (1.098612, array([-0.1667,  0.3333, -0.1667]))
    """
    return linear_objective(W, b, X, y, reg, loss="softmax", sample_weight=sample_weight)


def _hinge_row(scores: list[float], label: int, delta: float) -> tuple[float, list[float]]:
    """L_i and ∂L_i/∂s_ij of one sample, a loop over its classes j."""
    loss, grad = 0.0, [0.0] * len(scores)
    for j in range(len(scores)):
        if j == label:
            continue
        margin = scores[j] - scores[label] + delta  # m_ij
        if margin > 0:  # at margin == 0 the subgradient 0 is used
            loss += margin
            grad[j] += 1.0
            grad[label] -= 1.0
    return loss, grad


def _softmax_row(scores: list[float], label: int) -> tuple[float, list[float]]:
    """L_i and ∂L_i/∂s_ij of one sample, with math.exp and math.log."""
    peak = max(scores)  # m_i: every exponential below is in [0, 1]
    exps = [math.exp(s - peak) for s in scores]
    total = 0.0
    for e in exps:
        total += e  # Σ_j exp(s_ij - m_i) >= 1
    loss = math.log(total) - (scores[label] - peak)
    grad = [exps[j] / total - (1.0 if j == label else 0.0) for j in range(len(scores))]
    return loss, grad  # grad_j = p_ij - [j = y_i]


_RowLoss = Callable[[list[float], int], tuple[float, list[float]]]  # (s_i, y_i) -> L_i, dL_i/ds_i


def _naive_objective(
    row: _RowLoss, W: Any, b: Any, X: Any, y: Any, reg: Any, sample_weight: Any
) -> tuple[float, np.ndarray, np.ndarray | None]:
    """The graph with loops: scores, ``row``'s loss node, chain rule, penalty, in float64."""
    W_in_dtype, b_in_dtype = np.asarray(W).dtype, None if b is None else np.asarray(b).dtype
    W, b, X, y, reg, sample_weight = check_loss_inputs(W, b, X, y, reg, sample_weight)
    assert_all_finite(X, "X")  # the reference checks eagerly; svm_loss checks on failure
    (n_samples, n_features), n_classes = X.shape, W.shape[0]
    weights = np.ones(n_samples) if sample_weight is None else sample_weight
    total_weight = float(np.sum(weights))
    loss, dW, db = 0.0, np.zeros((n_classes, n_features)), np.zeros(n_classes)
    for i in range(n_samples):
        a_i = float(weights[i]) / total_weight  # this sample's share of the mean
        x_i = X[i].astype(np.float64)
        scores = [float(np.dot(W[j].astype(np.float64), x_i)) for j in range(n_classes)]
        if b is not None:
            scores = [scores[j] + float(b[j]) for j in range(n_classes)]
        L_i, grad = row(scores, int(y[i]))
        loss += a_i * L_i
        for j in range(n_classes):
            g = a_i * grad[j]  # G_ij
            dW[j] += g * x_i  # G_ij x_i
            db[j] += g
    for j in range(n_classes):
        for d in range(n_features):
            w = float(W[j, d])
            loss += reg * w * w  # λ W_jd²
            dW[j, d] += 2.0 * reg * w  # 2λ W_jd
    return loss, dW.astype(W_in_dtype), None if b is None else db.astype(b_in_dtype)


def svm_loss_naive(
    W: np.ndarray,
    b: np.ndarray | None,
    X: np.ndarray,
    y: np.ndarray,
    reg: float = 0.0,
    *,
    delta: float = 1.0,
    sample_weight: np.ndarray | None = None,
) -> tuple[float, np.ndarray, np.ndarray | None]:
    r"""The multiclass SVM objective with explicit loops in float64: the readable reference.

    Same parameters, returns and formula as :func:`svm_loss`.

    Parameters
    ----------
    W, b : ndarray of shape (C, D); ndarray of shape (C,) or None
        Class templates and biases (None: no bias), as in :func:`svm_loss`.
    X, y : ndarray of shape (N, D); ndarray of shape (N,), integer
        Samples and their class indices in ``[0, C)``.
    reg : float, default 0.0
        L2 strength :math:`\lambda \ge 0`.
    delta : float, default 1.0
        Margin :math:`\Delta \ge 0`.
    sample_weight : ndarray of shape (N,) or None, default None
        Non-negative weights, not all zero; None weighs every sample equally.

    Examples
    --------
    >>> W = np.array([[0.5, 0.0], [0.0, 1.0]]); X = np.array([[2.0, 1.0]]); y = np.array([1])
    >>> svm_loss_naive(W, None, X, y)[::2]  # s = (1, 1): margin s_0 - s_1 + 1 = 1
    (1.0, None)
    """
    delta = float(MulticlassHinge(delta).delta)  # the node checks the margin
    return _naive_objective(partial(_hinge_row, delta=delta), W, b, X, y, reg, sample_weight)


def softmax_loss_naive(
    W: np.ndarray,
    b: np.ndarray | None,
    X: np.ndarray,
    y: np.ndarray,
    reg: float = 0.0,
    *,
    sample_weight: np.ndarray | None = None,
) -> tuple[float, np.ndarray, np.ndarray | None]:
    r"""The softmax cross-entropy objective with explicit loops in float64 (:func:`math.exp`).

    Same parameters, returns and formula as :func:`softmax_loss`.

    Parameters
    ----------
    W, b : ndarray of shape (C, D); ndarray of shape (C,) or None
        Class templates and biases (None: no bias), as in :func:`softmax_loss`.
    X, y : ndarray of shape (N, D); ndarray of shape (N,), integer
        Samples and their class indices in ``[0, C)``.
    reg : float, default 0.0
        L2 strength :math:`\lambda \ge 0`.
    sample_weight : ndarray of shape (N,) or None, default None
        Non-negative weights, not all zero; None weighs every sample equally.

    Examples
    --------
    >>> W = np.array([[0.5, 0.0], [0.0, 1.0]]); X = np.array([[2.0, 1.0]]); y = np.array([1])
    >>> loss, dW, db = softmax_loss_naive(W, None, X, y)
    >>> round(loss, 6), dW[0]  # s = (1, 1): p = (1/2, 1/2), L = log 2; dW_0 = x / 2
    (0.693147, array([1. , 0.5]))
    """
    return _naive_objective(_softmax_row, W, b, X, y, reg, sample_weight)
