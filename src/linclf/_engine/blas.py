"""What linclf needs to know about the BLAS under NumPy: block sizes, thread counts, and
the scores node's two products computed in those blocks.

Measured on this project's reference machine (2 cores, AVX-512, OpenBLAS 0.3.31; see
``docs/benchmarks.md``): OpenBLAS runs a GEMM with ``M · N · K <= 10⁶`` through unpacked
small-matrix kernels, 1.3-5x faster per row than one large GEMM for the skinny products of
a linear model (``N`` or ``M`` = C classes). So the engine splits a batch into row blocks
of ``10⁶ // (C · D)`` rows when that is at least 16 (below, the per-block accumulation of
the C×D gradient costs more than the kernel saves). Those kernels are single-threaded and
idle BLAS threads spinning beside them only take memory bandwidth, so the Trainer runs the
blocked path with one BLAS thread (through threadpoolctl, when installed).

Both choices are pure functions of the shapes and of the BLAS NumPy was built with, never
of a timing: the blocking fixes the order of floating-point sums, and a fit must give
bit-identical results for the same seed on the same machine.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

__all__ = ["blas_threads", "block_rows", "blocked_backward", "blocked_forward"]

_SMALL_GEMM_LIMIT = 1_000_000
_MIN_BLOCK_ROWS = 16


def _numpy_uses_openblas() -> bool:
    try:
        name = np.__config__.CONFIG["Build Dependencies"]["blas"]["name"]
    except (AttributeError, KeyError, TypeError):
        return False
    return "openblas" in str(name).lower()


_BLOCKED_PRODUCTS = _numpy_uses_openblas()


def block_rows(n_classes: int, n_features: int) -> int:
    """Rows per block of the fused products, or 0 for one unblocked product per batch.

    Examples
    --------
    >>> block_rows(10, 3072) == (32 if _BLOCKED_PRODUCTS else 0)  # OpenBLAS: 10⁶ // 30720
    True
    """
    if not _BLOCKED_PRODUCTS:
        return 0
    rows = _SMALL_GEMM_LIMIT // max(1, n_classes * n_features)
    return rows if rows >= _MIN_BLOCK_ROWS else 0


@contextlib.contextmanager
def blas_threads(n_threads: int | None) -> Iterator[None]:
    """Limit the BLAS to ``n_threads`` threads inside the block (``None``: leave it alone).

    Without threadpoolctl installed this does nothing: linclf never changes global state
    it cannot restore.
    """
    if n_threads is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=n_threads, user_api="blas"):
        yield


def blocked_forward(
    X: np.ndarray, W: np.ndarray, b: np.ndarray | None, *, rows: int, out: np.ndarray | None = None
) -> np.ndarray:
    r""":math:`S = X W^\top + b` for a dense X, one product per block of ``rows`` rows.

    The formula of :func:`linclf.linear_forward` (equal to its one product up to rounding);
    ``rows`` 0, or at least N, computes that one product. ``out`` receives S.
    """
    n = X.shape[0]
    if not 0 < rows < n:
        S = np.matmul(X, W.T, out=out)
    else:
        S = np.empty((n, W.shape[0]), dtype=np.result_type(X, W)) if out is None else out
        for start in range(0, n, rows):
            stop = start + rows
            np.matmul(X[start:stop], W.T, out=S[start:stop])  # S_k = X_k Wᵀ
    if b is not None:
        S += b
    return S


def blocked_backward(
    dS: np.ndarray,
    X: np.ndarray,
    b: np.ndarray | None,
    *,
    rows: int,
    out: np.ndarray | None = None,
    work: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    r"""``(dW, db)`` of :func:`linclf.linear_backward` for a dense X, dW summed over row blocks.

    :math:`dW = dS^\top X = \sum_k dS_k^\top X_k` over blocks of ``rows`` rows (``rows`` 0,
    or at least N: one product), written to ``out``; ``work`` (C, D) holds each block's
    product (allocated when needed and absent). :math:`db = \sum_i dS_{i,:}` as there.
    """
    n = X.shape[0]
    if not 0 < rows < n:
        dW = np.matmul(dS.T, X, out=out)
    else:
        dW = np.matmul(dS[:rows].T, X[:rows], out=out)
        work = np.empty_like(dW) if work is None else work
        for start in range(rows, n, rows):
            stop = start + rows
            dW += np.matmul(dS[start:stop].T, X[start:stop], out=work)  # + dS_kᵀ X_k
    # Accumulated in float64, as linear_backward does: a float32 column sum drifts.
    db = None if b is None else dS.sum(axis=0, dtype=np.float64).astype(dS.dtype, copy=False)
    return dW, db
