"""What linclf needs to know about the BLAS under NumPy: block sizes and thread counts.

Two facts measured on this project's reference machine (2 cores, AVX-512, OpenBLAS 0.3.31;
see ``docs/benchmarks.md``) shape the batched core:

* OpenBLAS runs a GEMM with ``M · N · K <= 10⁶`` through unpacked small-matrix kernels.
  For the skinny products of a linear model (``N`` or ``M`` = C classes) these are
  1.3-5x faster per row than one large GEMM, so the core splits a batch into row blocks
  of ``10⁶ // (C · D)`` rows when that is at least 16 (below that, the per-block
  accumulation of the C×D gradient costs more than the kernel saves).
* Those small kernels are single-threaded, and idle BLAS threads spinning beside them only
  take memory bandwidth, so the Trainer runs the blocked path with one BLAS thread
  (through threadpoolctl, when it is installed) and the unblocked path with all of them.

Both choices are pure functions of the shapes and of the BLAS NumPy was built with, never
of a timing: the blocking fixes the order of floating-point sums, and a fit must give
bit-identical results for the same seed on the same machine.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

__all__ = ["blas_threads", "block_rows"]

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
    >>> rows = block_rows(10, 3072)
    >>> rows in (0, 32)  # 32 with OpenBLAS: 32 · 10 · 3072 <= 10⁶ < 33 · 10 · 3072
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
