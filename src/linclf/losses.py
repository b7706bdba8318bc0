r"""Loss nodes on the scores ``S`` (N, C) and labels ``y`` (N,), and the L2 penalty node.

Each loss node computes its forward value and its backward gradient in one fused pass,

.. math::

    (S, y) \;\mapsto\; \Bigl(L = \frac{\sum_i w_i L_i}{\sum_i w_i},\;
                             dS = \frac{\partial L}{\partial S}\Bigr),

with :math:`w_i = 1` when no sample weights are given (so :math:`L` is the mean). A plain
function does the arithmetic, ``f(S, y, *, <hyperparameters>, sample_weight=None,
out=None) -> (loss, dS)``; the node, a frozen dataclass like the learning-rate schedules,
owns the hyperparameters, validates them once, and is registered in :data:`LOSSES`. To
add a loss, write both here and register the node: the objective, the engine, the trainer
and the estimators find it there.

A node may write ``dS`` over ``S`` (``out=S``), as the engine does so that a training step
allocates nothing. Sums that must be accurate (the loss) are accumulated in float64
whatever the dtype of ``S``. :func:`softmax` and :func:`log_softmax` turn scores into
(log-)probabilities, for ``predict_proba`` and ``predict_log_proba``.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np

from ._validation import check_scalar

__all__ = [
    "LOSSES",
    "LossNode",
    "MulticlassHinge",
    "SoftmaxCrossEntropy",
    "get_loss",
    "l2_penalty",
    "log_softmax",
    "multiclass_hinge",
    "softmax",
    "softmax_cross_entropy",
]


def _normalized_weights(
    sample_weight: np.ndarray | None, n_samples: int
) -> tuple[float, np.ndarray | None]:
    """Return ``(total, a)``: the weight total and per-sample factors a_i = w_i / Σw (float64).

    ``a`` is None for unit weights (then a_i = 1/N). With an all-zero weight vector the
    total is 0 and ``a`` is all zeros, so the loss and gradient are 0, never 0/0.
    """
    if sample_weight is None:
        return float(n_samples), None
    total = float(np.sum(sample_weight, dtype=np.float64))
    if total == 0.0:
        return 0.0, np.zeros(n_samples)
    return total, np.asarray(sample_weight, dtype=np.float64) / total


def multiclass_hinge(
    S: np.ndarray,
    y: np.ndarray,
    *,
    delta: float = 1.0,
    sample_weight: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    r"""Weston–Watkins multiclass hinge loss and its gradient with respect to the scores.

    Parameters
    ----------
    S : ndarray of shape (N, C), float32 or float64
    y : ndarray of shape (N,), integer
        Class index of each row, in ``[0, C)``.
    delta : float
        The margin :math:`\Delta` (not validated here: :class:`MulticlassHinge` does).
    sample_weight : ndarray of shape (N,) or None
        Non-negative weights :math:`w_i`; ``None`` weighs every row 1.
    out : ndarray of shape (N, C), optional
        Where to write dS; may be ``S`` itself (then S is overwritten).

    Returns
    -------
    loss : float
        :math:`\sum_i w_i L_i / \sum_i w_i`, accumulated in float64.
    dS : ndarray of shape (N, C), dtype of S

    Notes
    -----
    Forward, with margins :math:`m_{ij} = s_{ij} - s_{i y_i} + \Delta`:

    .. math::  L_i = \sum_{j \ne y_i} \max(0,\, m_{ij}).

    Backward, with :math:`a_i = w_i / \sum_k w_k` and the indicator
    :math:`\mathbb{1}_{ij} = [m_{ij} > 0]` for :math:`j \ne y_i`:

    .. math::

        \frac{\partial L}{\partial s_{ij}} = a_i\,\mathbb{1}_{ij} \;(j \ne y_i), \qquad
        \frac{\partial L}{\partial s_{i y_i}} = -a_i \sum_{j \ne y_i} \mathbb{1}_{ij}.

    At the hinge point (:math:`m_{ij} = 0` exactly) the loss is not differentiable: the
    subgradient 0 is used there (the indicator is ``margin > 0``).

    Examples
    --------
    The 3-class case from the CS231n notes: scores (3.2, 5.1, -1.7), true class 0.

    >>> import numpy as np
    >>> loss, dS = multiclass_hinge(np.array([[3.2, 5.1, -1.7]]), np.array([0]))
    >>> round(loss, 6)
    2.9
    >>> dS
    array([[-1.,  1.,  0.]])
    """
    n_samples = S.shape[0]
    rows = np.arange(n_samples)
    total, a = _normalized_weights(sample_weight, n_samples)
    M = out if out is not None else np.empty_like(S)
    correct = S[rows, y]  # s_{i y_i}, copied before M may overwrite S
    np.subtract(S, (correct - delta)[:, None], out=M)  # m_ij = s_ij - s_iy + Δ
    M[rows, y] = 0.0  # the j = y_i term is not part of the sum
    np.maximum(M, 0.0, out=M)  # max(0, m_ij)
    if total == 0.0:
        M.fill(0.0)
        return 0.0, M
    per_row = M.sum(axis=1, dtype=np.float64)  # L_i
    loss = float(per_row.sum() / n_samples) if a is None else float(per_row @ a)
    np.sign(M, out=M)  # 1[m_ij > 0]; exactly 0 at the hinge point (subgradient 0)
    M[rows, y] = -M.sum(axis=1)  # -Σ_{j≠y_i} 1[m_ij > 0]
    if a is None:
        M *= M.dtype.type(1.0 / n_samples)
    else:
        M *= a.astype(M.dtype, copy=False)[:, None]
    return loss, M


def softmax_cross_entropy(
    S: np.ndarray,
    y: np.ndarray,
    *,
    sample_weight: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    r"""Softmax cross-entropy loss and its gradient with respect to the scores.

    Parameters
    ----------
    S, y, sample_weight, out
        As in :func:`multiclass_hinge`.

    Returns
    -------
    loss, dS : float, ndarray of shape (N, C)
        As in :func:`multiclass_hinge`.

    Notes
    -----
    Forward, with the row maximum :math:`m_i = \max_j s_{ij}` subtracted so that no
    exponential overflows:

    .. math::

        L_i = -\log p_{i y_i}
            = \log \sum_j e^{s_{ij} - m_i} \;-\; (s_{i y_i} - m_i), \qquad
        p_{ij} = \frac{e^{s_{ij} - m_i}}{\sum_k e^{s_{ik} - m_i}}.

    Backward, with :math:`a_i = w_i / \sum_k w_k`:

    .. math::

        \frac{\partial L}{\partial s_{ij}} = a_i \bigl(p_{ij} - [j = y_i]\bigr).

    The maximal term :math:`e^0 = 1` is kept out of the sum,
    :math:`r_i = \sum_{j \ne k_i} e^{s_{ij} - m_i}` with :math:`k_i = \arg\max_j s_{ij}`,
    and the log-sum-exp is taken as :math:`\log(1 + r_i)` with ``log1p``. A row whose true
    class dominates therefore has its exact tiny loss (0 when every other term underflows),
    one whose wrong class dominates has the finite loss :math:`m_i - s_{iy_i}`, and the
    true-class entry of dS is formed as :math:`-a_i \sum_{j \ne y_i} p_{ij}` without the
    cancellation of :math:`p_{iy_i} - 1`. Five passes run over the (N, C) buffer: argmax,
    subtract, exp, row sum, scale.

    Examples
    --------
    Scores whose exponentials are (1, 3, 4): the probabilities are (1, 3, 4) / 8.

    >>> import numpy as np
    >>> S = np.log(np.array([[1.0, 3.0, 4.0]]))
    >>> loss, dS = softmax_cross_entropy(S, np.array([2]))
    >>> round(loss, 6)  # -log(4/8) = log 2
    0.693147
    >>> dS.round(6)  # p - (0, 0, 1)
    array([[ 0.125,  0.375, -0.5  ]])
    """
    n_samples = S.shape[0]
    rows = np.arange(n_samples)
    total, a = _normalized_weights(sample_weight, n_samples)
    M = out if out is not None else np.empty_like(S)
    if total == 0.0:
        M.fill(0.0)
        return 0.0, M
    share = 1.0 / n_samples if a is None else a  # a_i, a scalar for unit weights
    top = S.argmax(axis=1)  # k_i; argmax is faster than max in NumPy and gives the place
    peak = S[rows, top]  # m_i
    # s_iy - m_i, in float64 and copied before M may overwrite S.
    correct = S[rows, y].astype(np.float64) - peak
    with np.errstate(over="ignore", under="ignore"):
        # Both are exact enough: a difference beyond the float range becomes -inf and its
        # exponential 0, the probability it stands for; tiny exponentials flush to 0.
        np.subtract(S, peak[:, None], out=M)  # s_ij - m_i <= 0
        np.exp(M, out=M)  # e_ij = exp(s_ij - m_i) in [0, 1], e_ik = 1
        e_correct = M[rows, y].astype(np.float64)
        M[rows, top] = 0.0
        rest = M.sum(axis=1, dtype=np.float64)  # r_i = Σ_{j≠k_i} e_ij; Σ_j e_ij = 1 + r_i
        per_row = np.log1p(rest) - correct  # L_i
        scale = share / (1.0 + rest)  # a_i / Σ_j e_ij
        M *= scale.astype(M.dtype, copy=False)[:, None]  # a_i p_ij for j ≠ k_i
        M[rows, top] = scale  # a_i p_ik = a_i / (1 + r_i)
        # a_i (p_iy - 1) = -a_i Σ_{j≠y_i} e_ij / Σ_j e_ij; 1 - e_iy is 0 when y_i = k_i.
        M[rows, y] = -scale * (rest + (1.0 - e_correct))
    loss = float(per_row.sum() / n_samples) if a is None else float(per_row @ a)
    return loss, M


def _shifted(S: Any, out: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """``(s_ij - m_i, k_i)`` of float scores (integers become float64), written to ``out``."""
    S = np.asarray(S)
    if S.dtype.kind in "biu":
        S = S.astype(np.float64)
    elif S.dtype.kind != "f":
        raise TypeError(f"S must be an array of real numbers, got dtype {S.dtype}")
    if S.ndim == 0 or S.shape[-1] == 0:
        raise ValueError(f"S must have shape (N, C) with C >= 1, got shape {S.shape}")
    if out is not None and out.shape != S.shape:
        raise ValueError(f"out must have the shape of S {S.shape}, got {out.shape}")
    # One sum: finite unless some score is NaN or ±inf (or finite scores overflow it).
    with np.errstate(over="ignore", invalid="ignore"):
        bad = None if np.isfinite(np.sum(S, dtype=np.float64)) else ~np.isfinite(S)
    if bad is not None and bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"S contains NaN or infinity in {int(bad.sum())} entries (first at index {where}); "
            "probabilities need finite scores"
        )
    Z = out if out is not None else np.empty_like(S)
    top = S.argmax(axis=-1, keepdims=True)  # k_i
    with np.errstate(over="ignore", under="ignore"):  # as in softmax_cross_entropy
        np.subtract(S, np.take_along_axis(S, top, axis=-1), out=Z)  # s_ij - m_i <= 0
    return Z, top


def softmax(S: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
    r"""Row-wise softmax of scores, computed stably: the probabilities of each class.

    Parameters
    ----------
    S : array-like of shape (N, C)
        Scores. float32 and float64 are kept; integers are computed in float64. Taken
        over the last axis, so a single row of shape (C,) works too.
    out : ndarray of shape (N, C), optional
        Where to write the result; may be ``S`` itself.

    Returns
    -------
    P : ndarray of shape (N, C), dtype of S
        :math:`p_{ij} \in [0, 1]`, each row summing to 1 up to rounding.

    Notes
    -----
    .. math::  p_{ij} = \frac{e^{s_{ij} - m_i}}{\sum_k e^{s_{ik} - m_i}},
               \qquad m_i = \max_k s_{ik}.

    Subtracting :math:`m_i` changes nothing mathematically and keeps every exponential in
    :math:`[0, 1]`, so scores of any finite size give finite probabilities.

    Examples
    --------
    >>> import numpy as np
    >>> softmax(np.log(np.array([[1.0, 3.0, 4.0]])))  # (1, 3, 4) / 8
    array([[0.125, 0.375, 0.5  ]])
    >>> softmax(np.array([[1e4, -1e4]], dtype=np.float32))
    array([[1., 0.]], dtype=float32)
    """
    P, _ = _shifted(S, out)
    with np.errstate(under="ignore"):
        np.exp(P, out=P)  # e^{s_ij - m_i}
    P /= P.sum(axis=-1, keepdims=True)  # the sum is at least 1
    return P


def log_softmax(S: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
    r"""Row-wise log-softmax of scores, computed stably: the log-probabilities of each class.

    Parameters
    ----------
    S, out
        As in :func:`softmax`.

    Returns
    -------
    logP : ndarray of shape (N, C), dtype of S
        :math:`\log p_{ij} \le 0`, finite for finite scores.

    Notes
    -----
    .. math::  \log p_{ij} = (s_{ij} - m_i) - \log\Bigl(1 + \sum_{k \ne k_i} e^{s_{ik} - m_i}\Bigr),

    with :math:`m_i = s_{i k_i}` the row maximum. Computing the last term with ``log1p``
    keeps the tiny log-probability of a dominant class exact instead of rounding it to 0,
    and a class far below the maximum gets its large finite value, never ``-inf``.

    Examples
    --------
    >>> import numpy as np
    >>> log_softmax(np.array([[0.0, 0.0]]))  # log(1/2)
    array([[-0.69314718, -0.69314718]])
    >>> log_softmax(np.array([[1e4, -1e4]], dtype=np.float32))
    array([[     0., -20000.]], dtype=float32)
    """
    logP, top = _shifted(S, out)  # s_ij - m_i
    with np.errstate(under="ignore"):
        E = np.exp(logP)
    np.put_along_axis(E, top, 0.0, axis=-1)  # keep e^0 = 1 out of the sum: r_i
    logP -= np.log1p(E.sum(axis=-1, keepdims=True))
    return logP


def l2_penalty(
    W: np.ndarray, reg: float, *, out: np.ndarray | None = None
) -> tuple[float, np.ndarray | None]:
    r"""The L2 penalty node: value :math:`\lambda \sum W^2` and gradient :math:`2\lambda W`.

    Parameters
    ----------
    W : ndarray of shape (C, D)
    reg : float
        :math:`\lambda \ge 0`.
    out : ndarray of shape (C, D), optional
        Buffer for the gradient (the batched core passes one, so a step allocates nothing).

    Returns
    -------
    value : float
        Accumulated in float64.
    dW : ndarray of shape (C, D) or None
        ``2 * reg * W`` in W's dtype; ``None`` when ``reg == 0`` (nothing to add).

    Examples
    --------
    >>> import numpy as np
    >>> l2_penalty(np.array([[1.0, -2.0]]), 0.5)
    (2.5, array([[ 1., -2.]]))
    """
    if reg == 0.0:
        return 0.0, None
    # λ Σ W², each square formed in float64: float32 weights above ~1.8e19 would
    # overflow when squared in their own dtype.
    value = reg * float(np.einsum("ij,ij->", W, W, dtype=np.float64))
    grad = np.multiply(W, W.dtype.type(2.0 * reg), out=out)  # 2λW
    return value, grad


@dataclass(frozen=True)
class LossNode:
    """Base of the loss nodes: hyperparameters as frozen fields, the fused pass as a method.

    A node class sets ``name`` (its key in :data:`LOSSES`), ``params`` (its fields, the
    hyperparameters: ``("delta",)``) and ``function`` (its plain function, as a
    ``staticmethod``), and validates its fields once in ``__post_init__``.

    Attributes
    ----------
    name : str
    params : tuple of str
    """

    name: ClassVar[str] = ""
    params: ClassVar[tuple[str, ...]] = ()
    function: ClassVar[Callable[..., tuple[float, np.ndarray]]]

    def loss_grad(
        self,
        S: np.ndarray,
        y: np.ndarray,
        *,
        sample_weight: np.ndarray | None = None,
        out: np.ndarray | None = None,
    ) -> tuple[float, np.ndarray]:
        """``(loss, dS)`` of scores S (N, C) and labels y (N,): ``function`` with the fields."""
        params = {name: getattr(self, name) for name in self.params}
        return self.function(S, y, sample_weight=sample_weight, out=out, **params)


@dataclass(frozen=True)
class MulticlassHinge(LossNode):
    r"""The hinge loss node: :func:`multiclass_hinge` with its margin :math:`\Delta`.

    Parameters
    ----------
    delta : float, default 1.0
        The margin :math:`\Delta \ge 0`; TypeError or ValueError naming it otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> loss, dS = MulticlassHinge(0.5).loss_grad(np.array([[3.2, 5.1, -1.7]]), np.array([0]))
    >>> round(loss, 6)  # 5.1 - 3.2 + 0.5
    2.4
    """

    name: ClassVar[str] = "hinge"
    params: ClassVar[tuple[str, ...]] = ("delta",)
    function = staticmethod(multiclass_hinge)
    delta: float = 1.0

    def __post_init__(self) -> None:
        check_scalar(self.delta, "delta", numbers.Real, low=0.0)


@dataclass(frozen=True)
class SoftmaxCrossEntropy(LossNode):
    """The softmax cross-entropy node: :func:`softmax_cross_entropy`, no hyperparameters.

    Examples
    --------
    >>> import numpy as np
    >>> loss, dS = SoftmaxCrossEntropy().loss_grad(np.zeros((1, 2)), np.array([1]))
    >>> round(loss, 6)  # log 2
    0.693147
    """

    name: ClassVar[str] = "softmax"
    function = staticmethod(softmax_cross_entropy)


LOSSES: Mapping[str, type[LossNode]] = MappingProxyType(
    {node.name: node for node in (MulticlassHinge, SoftmaxCrossEntropy)}
)


def get_loss(name: str, **params: Any) -> LossNode:
    """The registered loss node ``name``, built with its hyperparameters ``params``.

    Raises
    ------
    ValueError, TypeError
        For a name not in :data:`LOSSES` (listing them), a hyperparameter the loss does not
        take, or a bad value of one (naming it).

    Examples
    --------
    >>> get_loss("hinge", delta=0.5)
    MulticlassHinge(delta=0.5)
    """
    try:
        node = LOSSES[name]
    except (KeyError, TypeError):
        raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {name!r}") from None
    unknown = set(params) - set(node.params)
    if unknown:
        raise TypeError(
            f"loss {name!r} takes no parameter(s) {sorted(unknown)}; it takes {list(node.params)}"
        )
    return node(**params)
