r"""Loss nodes: functions of the scores ``S`` (N, C) and labels ``y`` (N,).

Each node computes its forward value and its backward gradient in one fused pass,

.. math::

    (S, y) \;\mapsto\; \Bigl(L = \frac{\sum_i w_i L_i}{\sum_i w_i},\;
                             dS = \frac{\partial L}{\partial S}\Bigr),

with :math:`w_i = 1` when no sample weights are given (so :math:`L` is the mean), and is
registered in :data:`LOSSES` under a short name. Adding a loss to linclf means writing one
such function here and adding it to the registry; the objective, the batched core, the
trainer and the estimators find it there.

A node may write ``dS`` over ``S`` (``out=S``): the batched core does, so that a training
step allocates nothing. Sums that must be accurate (the loss) are accumulated in float64
whatever the dtype of ``S``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

__all__ = ["LOSSES", "LossNode", "get_loss", "multiclass_hinge"]


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
        Scores.
    y : ndarray of shape (N,), integer
        Class index of each row, in ``[0, C)``.
    delta : float
        The margin :math:`\Delta`.
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

    At the hinge point (:math:`m_{ij} = 0` exactly) the loss is not differentiable; this
    function uses the subgradient 0 there (the indicator is ``margin > 0``).

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


@dataclass(frozen=True)
class LossNode:
    """A registered loss: its name, its fused function and the names of its hyperparameters.

    Attributes
    ----------
    name : str
        Registry key (``"hinge"``).
    loss_grad : callable
        ``(S, y, *, sample_weight=None, out=None, **params) -> (loss, dS)``.
    params : tuple of str
        Keyword hyperparameters ``loss_grad`` accepts besides the common ones.
    """

    name: str
    loss_grad: Callable[..., tuple[float, np.ndarray]]
    params: tuple[str, ...] = ()


LOSSES: Mapping[str, LossNode] = MappingProxyType(
    {"hinge": LossNode("hinge", multiclass_hinge, ("delta",))}
)


def get_loss(name: str) -> LossNode:
    """Return the registered loss node ``name``; ``ValueError`` listing the names otherwise."""
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {name!r}") from None
