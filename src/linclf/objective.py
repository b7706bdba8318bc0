r"""Training objectives: the scores node, a loss node and the L2 penalty, composed.

.. math::

    \mathcal{L}(W, b) \;=\;
    \underbrace{\frac{\sum_i w_i L_i(S_i, y_i)}{\sum_i w_i}}_{\text{loss node}}
    \;+\; \underbrace{\lambda \sum_{c,d} W_{cd}^2}_{\text{L2 penalty}},
    \qquad S = X W^\top + b,

with :math:`w_i = 1` without sample weights; the bias is not penalized. The backward pass
is the chain rule through the graph: the loss node gives :math:`dS`, the scores node maps
it to :math:`dW = dS^\top X` and :math:`db = \sum_i dS_i`, the penalty adds
:math:`2\lambda W` to :math:`dW`. Each vectorized objective (``svm_loss``,
``softmax_loss``) has a ``_naive`` twin computing the same numbers with explicit loops
over samples and classes: the readable reference and the tests' oracle.
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
    W, b, X, y, reg, sample_weight
        As in :func:`svm_loss`.
    loss : str
        A name in :data:`linclf.losses.LOSSES`.
    **loss_params
        The loss node's own hyperparameters (``delta`` for ``"hinge"``).

    Returns
    -------
    loss, dW, db
        As in :func:`svm_loss`.
    """
    node = get_loss(loss, **loss_params)
    W_in_dtype, b_in_dtype = np.asarray(W).dtype, None if b is None else np.asarray(b).dtype
    W, b, X, y, reg, sample_weight = check_loss_inputs(W, b, X, y, reg, sample_weight)
    # The scores node (linear_forward's and linear_backward's formulas) in the engine's
    # row blocks, sized for the BLAS's small-matrix kernels.
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
    dW = dW.astype(W_in_dtype, copy=False)
    if db is not None:
        db = db.astype(b_in_dtype, copy=False)
    return data_loss + penalty, dW, db


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
    W : ndarray of shape (C, D), float32 or float64
        Class templates, one per row.
    b : ndarray of shape (C,) or None
        Biases; ``None`` means no bias, and ``db`` is returned as ``None``.
    X : array-like of shape (N, D)
        Samples; integer data is computed in W's dtype (float64 for int).
    y : array-like of shape (N,), integer
        Class index of each sample, in ``[0, C)``.
    reg : float, default 0.0
        L2 strength :math:`\lambda \ge 0`.
    delta : float, default 1.0
        Margin :math:`\Delta \ge 0`.
    sample_weight : array-like of shape (N,) or None
        Non-negative weights, not all zero.

    Returns
    -------
    loss : float
        :math:`\mathcal{L}`, accumulated in float64.
    dW : ndarray of shape (C, D), dtype of W
    db : ndarray of shape (C,), dtype of b, or None

    Raises
    ------
    ValueError, TypeError
        For inputs of the wrong shape, dtype or range, naming the argument.

    Notes
    -----
    With :math:`S = X W^\top + b` and :math:`m_{ij} = s_{ij} - s_{iy_i} + \Delta`,

    .. math::

        L_i = \sum_{j \ne y_i} \max(0, m_{ij}), \quad
        \mathcal{L} = \frac{\sum_i w_i L_i}{\sum_i w_i} + \lambda \sum W^2, \quad
        \nabla_W \mathcal{L} = G^\top X + 2\lambda W, \quad \nabla_b \mathcal{L} = \sum_i G_i,

    where :math:`G_{ij} = a_i [m_{ij} > 0]` for :math:`j \ne y_i`,
    :math:`G_{iy_i} = -\sum_{j \ne y_i} G_{ij}`, and :math:`a_i = w_i / \sum_k w_k`
    (subgradient 0 at :math:`m_{ij} = 0`). No Python loop runs over samples or classes;
    the arithmetic runs in float32 when W, b and X are all float32.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.zeros((3, 2)); X = np.array([[1.0, 2.0], [0.0, 1.0]]); y = np.array([0, 2])
    >>> loss, dW, db = svm_loss(W, np.zeros(3), X, y, reg=0.1)
    >>> loss  # all scores 0: each sample has two margins of exactly Δ = 1
    2.0
    >>> db
    array([-0.5,  1. , -0.5])
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
        As in :func:`svm_loss`.

    Returns
    -------
    loss, dW, db : float, ndarray of shape (C, D), ndarray of shape (C,) or None
        As in :func:`svm_loss`, which also lists the errors raised.

    Notes
    -----
    With :math:`S = X W^\top + b`, the row maximum :math:`m_i = \max_j s_{ij}` and the
    class probabilities :math:`p_{ij} = e^{s_{ij} - m_i} / \sum_k e^{s_{ik} - m_i}`,

    .. math::

        L_i = -\log p_{iy_i} = \log \sum_j e^{s_{ij} - m_i} - (s_{iy_i} - m_i), \qquad
        \mathcal{L} = \frac{\sum_i w_i L_i}{\sum_i w_i} + \lambda \sum W^2,

    and :math:`\nabla_W \mathcal{L}`, :math:`\nabla_b \mathcal{L}` as in :func:`svm_loss`
    with :math:`G_{ij} = a_i (p_{ij} - [j = y_i])`. Subtracting :math:`m_i` keeps every
    exponential in :math:`[0, 1]`, so the loss and the gradient are finite for any finite
    scores (see :func:`~linclf.losses.softmax_cross_entropy`). No Python loop runs over
    samples or classes; float32 throughout when W, b and X are all float32.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.zeros((3, 2)); X = np.array([[1.0, 2.0], [0.0, 1.0]]); y = np.array([0, 2])
    >>> loss, dW, db = softmax_loss(W, np.zeros(3), X, y, reg=0.1)
    >>> round(loss, 6)  # all scores 0: p = 1/3 for every class, L_i = log 3
    1.098612
    >>> db.round(4)  # mean over the rows of p - onehot(y)
    array([-0.1667,  0.3333, -0.1667])
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
    n_samples, n_features = X.shape
    n_classes = W.shape[0]
    weights = np.ones(n_samples) if sample_weight is None else sample_weight
    total_weight = float(np.sum(weights))

    loss = 0.0
    dW = np.zeros((n_classes, n_features))
    db = np.zeros(n_classes)
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
    r"""The multiclass SVM objective with explicit loops: the readable reference.

    Same parameters, returns and formula as :func:`svm_loss`; every sum is a Python
    loop over samples ``i`` and classes ``j`` accumulated in float64, so it is slow and
    meant for teaching and for testing the vectorized version.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.array([[0.5, 0.0], [0.0, 1.0]]); X = np.array([[2.0, 1.0]]); y = np.array([1])
    >>> loss, dW, db = svm_loss_naive(W, None, X, y)
    >>> loss, db  # s = (1, 1): margin s_0 - s_1 + 1 = 1
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
    r"""The softmax cross-entropy objective with explicit loops: the readable reference.

    Same parameters, returns and formula as :func:`softmax_loss`; every sum is a Python
    loop over samples ``i`` and classes ``j`` accumulated in float64, and the log-sum-exp
    is computed with :func:`math.exp` and :func:`math.log` after subtracting the row
    maximum, so it is slow and meant for teaching and for testing the vectorized version.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.array([[0.5, 0.0], [0.0, 1.0]]); X = np.array([[2.0, 1.0]]); y = np.array([1])
    >>> loss, dW, db = softmax_loss_naive(W, None, X, y)
    >>> round(loss, 6), db  # s = (1, 1): p = (1/2, 1/2), L = log 2
    (0.693147, None)
    >>> dW  # (p - onehot(y)) x = (1/2, -1/2) (2, 1)
    array([[ 1. ,  0.5],
           [-1. , -0.5]])
    """
    return _naive_objective(_softmax_row, W, b, X, y, reg, sample_weight)
