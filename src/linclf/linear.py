r"""The scores node of the computational graph: :math:`S = X W^\top + b`.

Notation (docs/math.md): samples ``X`` (N, D), class indices ``y`` (N,) in ``[0, C)``,
templates ``W`` (C, D), biases ``b`` (C,), scores ``S`` (N, C), gradients ``dS``, ``dW``.
Both functions are pure; the engine's row-blocked versions are tested against them.
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
    X, W : ndarray or scipy.sparse (N, D); ndarray (C, D)
        Samples and weights in one floating dtype.
    b, out : ndarray (C,) or None; ndarray (N, C) or None
        The bias (None: none), and optionally a buffer to write S into.

    Returns
    -------
    S : ndarray of shape (N, C), dtype of X and W
        The scores :math:`s_{ic} = w_c \cdot x_i + b_c`: ``out`` itself when given.

    Examples
    --------
    >>> X = np.array([[1.0, 2.0]]); W = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> linear_forward(X, W, np.array([0.0, 0.5, -1.0]))
    array([[1. , 2.5, 2. ]])
    """
    _check_shapes(X, W, b, out, "S")
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
    dS : ndarray (N, C)
        The upstream gradient.
    X, W, b
        The forward inputs, as in :func:`linear_forward` (W only for ``dX``).
    need_dX, out : bool; ndarray (C, D) or None
        Whether to return ``dX`` (to chain further back), and optionally a buffer for dW.

    Returns
    -------
    dW, db, dX : ndarray (C, D); ndarray (C,) or None; ndarray (N, D) or None
        :math:`dS^\top X`; :math:`\sum_i dS_{i,:}` summed in float64, in dS's dtype (None
        when ``b`` is); :math:`dS\,W` when ``need_dX``.

    Examples
    --------
    >>> dS = np.array([[1.0, -1.0, 0.0]]); X = np.array([[1.0, 2.0]]); W = np.eye(3, 2)
    >>> linear_backward(dS, X, W, np.zeros(3), need_dX=True)[1:]
    (array([ 1., -1.,  0.]), array([[ 1., -1.]]))
    """
    _check_shapes(X, W, b, out, "W", dS=dS)
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


def _is_2d(a: object) -> bool:
    return getattr(a, "ndim", None) == 2


def _check_shapes(
    X: object, W: object, b: object, out: object, result: str, dS: object = None
) -> None:
    """O(1) checks that the shapes fit, ``ValueError`` naming the argument: numpy would
    otherwise raise from inside matmul, or broadcast a b or dS of the wrong length;
    ``result``: what ``out`` holds, ``"S"`` (N, C) or ``"W"`` (C, D)."""
    if not _is_2d(X) or not _is_2d(W):
        found = f"X {getattr(X, 'shape', type(X).__name__)}, W {getattr(W, 'shape', None)}"
        raise ValueError(f"X must have shape (N, D) and W (C, D), got {found}")
    (n, d), (c, d_w) = X.shape, W.shape
    if d != d_w:
        raise ValueError(f"X has {d} features but W has shape {W.shape}: expected W ({c}, {d})")
    if b is not None and getattr(b, "shape", None) != (c,):
        raise ValueError(f"b must have shape ({c},), one bias per row of W, got {np.shape(b)}")
    if dS is not None and getattr(dS, "shape", None) != (n, c):
        raise ValueError(f"dS must have shape ({n}, {c}) of the scores, got {np.shape(dS)}")
    out_shape = (n, c) if result == "S" else (c, d)
    if out is not None and getattr(out, "shape", None) != out_shape:
        raise ValueError(f"out must have shape {out_shape}, got {np.shape(out)}")


def _copy_into(out: np.ndarray, value: np.ndarray) -> np.ndarray:
    np.copyto(out, value, casting="same_kind")
    return out
