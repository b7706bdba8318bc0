r"""The scores node of the computational graph: :math:`S = X W^\top + b`.

Notation, used by every math module of linclf:

==========  ===================  ==========================================
symbol      shape                meaning
==========  ===================  ==========================================
``X``       (N, D)               one row per sample, one column per feature
``y``       (N,)                 class index of each sample, in ``[0, C)``
``W``       (C, D)               row ``c`` is the template of class ``c``
``b``       (C,)                 per-class bias (optional)
``S``       (N, C)               scores, ``S[i, c] = W[c] · X[i] + b[c]``
``dS``      (N, C)               gradient of a scalar loss with respect to S
==========  ===================  ==========================================

Backward pass (chain rule through :math:`S = X W^\top + b`), for an upstream ``dS``:

.. math::

    dW = dS^\top X \quad (C, D), \qquad
    db = \sum_i dS_{i,:} \quad (C,), \qquad
    dX = dS\, W \quad (N, D).

Both functions are pure: they read their inputs and write only to the arrays they return
(or to the ``out`` buffers the caller passes), each product in one call; the engine's
row-blocked versions (``linclf._engine.blas``) are tested against these.
"""

from __future__ import annotations

import numpy as np

from ._validation import is_sparse

__all__ = ["linear_backward", "linear_forward"]


def linear_forward(
    X: np.ndarray, W: np.ndarray, b: np.ndarray | None = None, *, out: np.ndarray | None = None
) -> np.ndarray:
    r"""Scores of a batch: :math:`S = X W^\top + b`.

    Parameters
    ----------
    X : ndarray or scipy.sparse matrix of shape (N, D)
    W : ndarray of shape (C, D)
        Same floating dtype as X.
    b : ndarray of shape (C,) or None
        The bias; ``None`` means no bias term.
    out : ndarray of shape (N, C), optional
        Buffer to write S into (same dtype as X and W).

    Returns
    -------
    S : ndarray of shape (N, C), dtype of X and W

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 2.0]]); W = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> linear_forward(X, W, np.array([0.0, 0.5, -1.0]))
    array([[1. , 2.5, 2. ]])
    """
    if is_sparse(X):
        # scipy's sparse × dense kernel returns a new dense array; it never densifies X.
        S = X @ W.T if out is None else _copy_into(out, X @ W.T)  # X Wᵀ
    else:
        S = np.matmul(X, W.T, out=out)  # X Wᵀ
    if b is not None:
        S += b  # + b, broadcast over the rows
    return S


def linear_backward(
    dS: np.ndarray,
    X: np.ndarray,
    W: np.ndarray,
    b: np.ndarray | None = None,
    *,
    need_dX: bool = False,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    r"""Gradients of a scalar loss through :math:`S = X W^\top + b`, given :math:`dS`.

    Parameters
    ----------
    dS : ndarray of shape (N, C)
        Upstream gradient :math:`\partial L / \partial S`.
    X, W, b
        The forward inputs, as in :func:`linear_forward` (W only for ``dX``; ``db`` is
        ``None`` when ``b`` is).
    need_dX : bool
        Also return :math:`dX = dS\,W` (not needed to train, needed to chain further back).
    out : ndarray of shape (C, D), optional
        Buffer to write dW into.

    Returns
    -------
    dW : ndarray of shape (C, D)
        :math:`dS^\top X`, dtype of dS and X.
    db : ndarray of shape (C,) or None
        :math:`\sum_i dS_{i,:}`, summed in float64 and returned in dS's dtype.
    dX : ndarray of shape (N, D) or None
        :math:`dS\,W` when ``need_dX``.

    Examples
    --------
    >>> import numpy as np
    >>> dS = np.array([[1.0, -1.0, 0.0]]); X = np.array([[1.0, 2.0]]); W = np.eye(3, 2)
    >>> dW, db, dX = linear_backward(dS, X, W, np.zeros(3), need_dX=True)
    >>> dW
    array([[ 1.,  2.],
           [-1., -2.],
           [ 0.,  0.]])
    >>> db, dX
    (array([ 1., -1.,  0.]), array([[ 1., -1.]]))
    """
    if is_sparse(X):
        # (Xᵀ dS)ᵀ: the transposed sparse matrix times a dense (N, C) block, never densified.
        dW = np.ascontiguousarray((X.T @ dS).T) if out is None else _copy_into(out, (X.T @ dS).T)
    else:
        dW = np.matmul(dS.T, X, out=out)  # dSᵀ X
    db = None
    if b is not None:
        # Σ_i dS_i, accumulated in float64: a float32 column sum over many rows drifts.
        db = dS.sum(axis=0, dtype=np.float64).astype(dS.dtype, copy=False)
    dX = np.matmul(dS, W) if need_dX else None  # dS W
    return dW, db, dX


def _copy_into(out: np.ndarray, value: np.ndarray) -> np.ndarray:
    np.copyto(out, value, casting="same_kind")
    return out
