r"""Loss nodes on the scores ``S`` (N, C) and labels ``y`` (N,), and the L2 penalty node.

A plain function maps ``(S, y)`` to the weighted mean loss (summed in float64) and
:math:`dS` in one fused pass, ``out=S`` writing dS over S (docs/math.md); a frozen
dataclass node owns and validates the hyperparameters and is registered in :data:`LOSSES`.
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
    """``(Σw, a)`` with a_i = w_i / Σw in float64; ``a`` None for unit weights, 0 if Σw = 0."""
    if sample_weight is None:
        return float(n_samples), None
    total = float(np.sum(sample_weight, dtype=np.float64))
    if total == 0.0:  # all-zero weights: loss and gradient 0, never 0/0
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
    S, y : ndarray of shape (N, C), float32 or float64; ndarray of shape (N,), integer
        The scores, and the class index of each row in ``[0, C)``.
    delta, sample_weight, out : float; ndarray (N,) or None; ndarray (N, C), optional
        The margin :math:`\Delta` (validated by :class:`MulticlassHinge`), non-negative
        weights :math:`w_i` (None: all 1), where to write dS (may be ``S``).

    Returns
    -------
    loss, dS : float, ndarray of shape (N, C) in S's dtype
        :math:`\sum_i w_i L_i / \sum_i w_i`, :math:`L_i = \sum_{j \ne y_i} \max(0, m_{ij})`
        with :math:`m_{ij} = s_{ij} - s_{i y_i} + \Delta`, and its gradient
        :math:`a_i \mathbb{1}_{ij}` (:math:`j \ne y_i`), :math:`-a_i \sum_{j \ne y_i}
        \mathbb{1}_{ij}` (:math:`j = y_i`), :math:`a_i = w_i / \sum_k w_k`,
        :math:`\mathbb{1}_{ij} = [m_{ij} > 0]` (the subgradient 0 at the hinge point).

    Examples
    --------
    >>> loss, dS = multiclass_hinge(np.array([[3.2, 5.1, -1.7]]), np.array([0]))  # CS231n
    >>> round(loss, 6), dS
    (2.9, array([[-1.,  1.,  0.]]))

    Raises
    ------
    TypeError, ValueError
        Naming the argument: S not a finite float (N, C) array, y not integer indices in
        ``[0, C)`` of length N, ``sample_weight`` or ``out`` of another shape, a negative
        ``delta``. (The node :meth:`LossNode.loss_grad` checks all but S's finiteness.)
    """
    check_scalar(delta, "delta", numbers.Real, low=0.0)
    y, sample_weight = _checked(S, y, sample_weight, out, finite=True)
    return _hinge(S, y, delta=delta, sample_weight=sample_weight, out=out)


def _hinge(
    S: np.ndarray, y: np.ndarray, *, delta: float, sample_weight: Any, out: Any
) -> tuple[float, np.ndarray]:
    """:func:`multiclass_hinge` on checked input."""
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
        As in :func:`multiclass_hinge`, with :math:`m_i = s_{i k_i}` the row maximum,
        :math:`r_i = \sum_{j \ne k_i} e^{s_{ij} - m_i}`, :math:`p_{ij} = e^{s_{ij} - m_i} /
        (1 + r_i)` (no overflow), :math:`L_i = \operatorname{log1p}(r_i) - (s_{i y_i} - m_i)`
        (exact when tiny), :math:`\partial L / \partial s_{ij} = a_i (p_{ij} - [j = y_i])`,
        the true-class entry as :math:`-a_i \sum_{j \ne y_i} p_{ij}` (no cancellation).

    Examples
    --------
    >>> loss, dS = softmax_cross_entropy(np.log(np.array([[1.0, 3.0, 4.0]])), np.array([2]))
    >>> round(loss, 6), dS.round(6)  # p = (1, 3, 4) / 8: -log(4/8) = log 2; p - (0, 0, 1)
    (0.693147, array([[ 0.125,  0.375, -0.5  ]]))

    Raises
    ------
    TypeError, ValueError
        As in :func:`multiclass_hinge`.
    """
    y, sample_weight = _checked(S, y, sample_weight, out, finite=True)
    return _cross_entropy(S, y, sample_weight=sample_weight, out=out)


def _cross_entropy(
    S: np.ndarray, y: np.ndarray, *, sample_weight: Any, out: Any
) -> tuple[float, np.ndarray]:
    """:func:`softmax_cross_entropy` on checked input."""
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


def _checked(
    S: Any, y: Any, sample_weight: Any, out: Any, *, finite: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """The checks of the loss nodes, with ``TypeError`` / ``ValueError`` naming the
    argument: O(N) for y and the weights, and (``finite``) one float64 sum over S."""
    if not isinstance(S, np.ndarray) or S.dtype.kind != "f":
        kind = f"dtype {S.dtype}" if isinstance(S, np.ndarray) else type(S).__name__
        raise TypeError(f"S must be a float32 or float64 ndarray, got {kind}")
    if S.ndim != 2 or S.shape[1] == 0:
        raise ValueError(f"S must have shape (N, C) with C >= 1, got shape {S.shape}")
    n_samples, n_classes = S.shape
    if out is not None and (getattr(out, "shape", None) != S.shape or out.dtype != S.dtype):
        found = f"shape {getattr(out, 'shape', None)}, dtype {getattr(out, 'dtype', None)}"
        raise ValueError(f"out must have S's shape {S.shape} and dtype {S.dtype}, got {found}")
    y = _class_indices(y, n_samples, n_classes)
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight)
        if sample_weight.shape != (n_samples,):
            raise ValueError(
                f"sample_weight must have shape ({n_samples},), one weight per row of S, "
                f"got {sample_weight.shape}"
            )
    if finite:
        _refuse_non_finite(S, "the loss needs finite scores")
    return y, sample_weight


def _class_indices(y: Any, n_samples: int, n_classes: int) -> np.ndarray:
    """y as integer class indices of length N in [0, C): O(N), no copy of an int array."""
    y = np.asarray(y)
    if y.dtype.kind not in "iu" or y.shape != (n_samples,):
        raise ValueError(
            f"y must be a 1-d integer array of {n_samples} class indices (one per row of S), "
            f"got dtype {y.dtype} and shape {y.shape}"
        )
    if n_samples and (y.min() < 0 or y.max() >= n_classes):
        first = int(np.argmax((y < 0) | (y >= n_classes)))
        raise ValueError(
            f"y must hold class indices in [0, {n_classes}) (S has {n_classes} columns); "
            f"y[{first}] = {int(y[first])}"
        )
    return y


def _refuse_non_finite(S: np.ndarray, why: str) -> None:
    """ValueError naming S's first NaN or ±inf; one float64 sum when all are finite."""
    with np.errstate(over="ignore", invalid="ignore"):
        bad = None if np.isfinite(np.sum(S, dtype=np.float64)) else ~np.isfinite(S)
    if bad is not None and bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"S contains NaN or infinity in {int(bad.sum())} entries (first at index {where}); "
            f"{why}"
        )


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
    _refuse_non_finite(S, "probabilities need finite scores")
    Z = out if out is not None else np.empty_like(S)
    top = S.argmax(axis=-1, keepdims=True)  # k_i
    with np.errstate(over="ignore", under="ignore"):  # as in softmax_cross_entropy
        np.subtract(S, np.take_along_axis(S, top, axis=-1), out=Z)  # s_ij - m_i <= 0
    return Z, top


def softmax(S: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
    r"""Row-wise softmax of scores, computed stably: the probabilities of each class.

    Parameters
    ----------
    S, out : array-like of shape (N, C) or (C,); ndarray of S's shape, optional
        Scores (integers computed in float64); where to write the result (may be ``S``).

    Returns
    -------
    P : ndarray of shape (N, C), dtype of S
        :math:`p_{ij} = e^{s_{ij} - m_i} / \sum_k e^{s_{ik} - m_i}`, :math:`m_i = \max_k s_{ik}`.

    Examples
    --------
    >>> softmax(np.log(np.array([[1.0, 3.0, 4.0]])))  # (1, 3, 4) / 8
    array([[0.125, 0.375, 0.5  ]])
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
        :math:`(s_{ij} - m_i) - \operatorname{log1p}(\sum_{k \ne k_i} e^{s_{ik} - m_i})`,
        :math:`m_i = s_{i k_i}` the row maximum: exact and finite.

    Examples
    --------
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
    W, reg, out : ndarray of shape (C, D); float; ndarray of shape (C, D), optional
        The weights, :math:`\lambda \ge 0`, a buffer for the gradient.

    Returns
    -------
    value, dW : float, ndarray of shape (C, D) or None
        The value (accumulated in float64) and ``2 * reg * W`` in W's dtype (None if 0).

    Examples
    --------
    >>> l2_penalty(np.array([[1.0, -2.0]]), 0.5)
    (2.5, array([[ 1., -2.]]))
    """
    if reg == 0.0:
        return 0.0, None
    # λ Σ W², squared in float64: float32 weights above ~1.8e19 would overflow in float32.
    value = reg * float(np.einsum("ij,ij->", W, W, dtype=np.float64))
    grad = np.multiply(W, W.dtype.type(2.0 * reg), out=out)  # 2λW
    return value, grad


@dataclass(frozen=True)
class LossNode:
    """Base of the loss nodes: hyperparameters as frozen fields, the fused pass as a method.

    Attributes
    ----------
    name, params : str, tuple of str
        The key in :data:`LOSSES`; the fields (a subclass also sets ``function``).
    """

    name: ClassVar[str] = ""
    params: ClassVar[tuple[str, ...]] = ()
    function: ClassVar[Callable[..., tuple[float, np.ndarray]]]
    kernel: ClassVar[Callable[..., tuple[float, np.ndarray]]]  # function, on checked input

    def loss_grad(
        self,
        S: np.ndarray,
        y: np.ndarray,
        *,
        sample_weight: np.ndarray | None = None,
        out: np.ndarray | None = None,
    ) -> tuple[float, np.ndarray]:
        """``(loss, dS)`` of scores S (N, C) and labels y (N,): ``function`` with the fields.

        The engine's seam: it checks what ``function`` checks (O(N)) except S's finiteness,
        so a non-finite score gives a non-finite loss, the Trainer's divergence signal.
        """
        params = {name: getattr(self, name) for name in self.params}
        y, sample_weight = _checked(S, y, sample_weight, out, finite=False)
        return self.kernel(S, y, sample_weight=sample_weight, out=out, **params)


@dataclass(frozen=True)
class MulticlassHinge(LossNode):
    r"""The hinge loss node: :func:`multiclass_hinge` with its margin :math:`\Delta`.

    Parameters
    ----------
    delta : float, default 1.0
        The margin :math:`\Delta \ge 0`; TypeError or ValueError naming it otherwise.

    Examples
    --------
    >>> round(MulticlassHinge(0.5).loss_grad(np.array([[3.2, 5.1, -1.7]]), np.array([0]))[0], 6)
    2.4
    """

    name: ClassVar[str] = "hinge"
    params: ClassVar[tuple[str, ...]] = ("delta",)
    function = staticmethod(multiclass_hinge)
    kernel = staticmethod(_hinge)
    delta: float = 1.0

    def __post_init__(self) -> None:
        check_scalar(self.delta, "delta", numbers.Real, low=0.0)


@dataclass(frozen=True)
class SoftmaxCrossEntropy(LossNode):
    """The softmax cross-entropy node: :func:`softmax_cross_entropy`, no hyperparameters.

    Examples
    --------
    >>> round(SoftmaxCrossEntropy().loss_grad(np.zeros((1, 2)), np.array([1]))[0], 6)
    0.693147
    """

    name: ClassVar[str] = "softmax"
    function = staticmethod(softmax_cross_entropy)
    kernel = staticmethod(_cross_entropy)


LOSSES: Mapping[str, type[LossNode]] = MappingProxyType(
    {node.name: node for node in (MulticlassHinge, SoftmaxCrossEntropy)}
)


def get_loss(name: str, **params: Any) -> LossNode:
    """The registered loss node ``name``, built with its hyperparameters ``params``.

    Raises
    ------
    ValueError, TypeError
        For a name not in :data:`LOSSES`, or a hyperparameter not taken or bad (named).

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
