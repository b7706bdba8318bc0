"""The BLAS under NumPy: block sizes, thread counts, the scores node's products in blocks.

OpenBLAS runs a GEMM with ``M · N · K <= 10⁶`` through single-threaded small-matrix
kernels, 1.3-5x faster per row than one large GEMM for a linear model's skinny products
(docs/benchmarks.md). So a batch is split into blocks of ``10⁶ // (C · D)`` rows when that
is at least 16 (below, accumulating the C×D gradient per block costs more than it saves),
run on one BLAS thread (idle ones would only take memory bandwidth). Both depend on the
shapes and the BLAS, never on a timing: a fit must be bit-identical for the same seed.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

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


# threadpoolctl's controller, built once per set of loaded modules: building one reads the
# process's memory map (2-10 ms, more than a whole fit on small data), while entering a
# limit with a built one costs about 15 µs. A new import may load another BLAS, so the
# cache is keyed on the number of imported modules.
_controller: list = [None, -1]


def _blas_controller() -> object | None:
    """The cached ``threadpoolctl.ThreadpoolController`` (None without threadpoolctl)."""
    if _controller[1] != len(sys.modules):
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            return None
        _controller[:] = [ThreadpoolController(), len(sys.modules)]
    return _controller[0]


_SAME = object()
# threadpoolctl's limits are process-wide: entered from several threads at once, each exit
# restores what its entry saw, so the last one out can restore another thread's limit (4
# threads predicting left the process at 1 BLAS thread in 4 of 5 runs). So the limit is
# entered by the outermost region only and restored when the last region leaves; regions
# that start while one is active run under the limit already in force.
_REGIONS = threading.Lock()
_active: list = [0, None]  # regions open, and the ExitStack holding the outermost limit


@contextlib.contextmanager
def blas_threads(n_threads: int | None, *, others: Any = _SAME) -> Iterator[None]:
    """Limit the BLAS to ``n_threads`` threads (``None``, or no threadpoolctl: do nothing).

    ``others``: a separate limit (``None``: none) for every BLAS not loaded from NumPy's own
    folder, such as SciPy's copy of OpenBLAS, which runs L-BFGS-B's vector updates: its
    idle threads spinning beside NumPy's made the full-batch products on CIFAR-shaped data
    1.7x slower and L-BFGS-B's own step 10x slower with 2 threads each (docs/solvers.md).
    Thread-safe: while one region is open, nested and concurrent ones keep its limit, and
    the process's settings come back when the last one closes.
    """
    if n_threads is None and others in (None, _SAME):
        yield
        return
    with _REGIONS:
        if _active[0] == 0:
            _active[1] = _enter_limits(n_threads, others)
        _active[0] += 1
    try:
        yield
    finally:
        with _REGIONS:
            _active[0] -= 1
            if _active[0] == 0:
                stack, _active[1] = _active[1], None
                stack.close()


def _enter_limits(n_threads: int | None, others: Any) -> contextlib.ExitStack:
    """The limits of :func:`blas_threads`, entered, in a stack whose ``close`` restores them."""
    stack = contextlib.ExitStack()
    controller = _blas_controller()
    if controller is None:
        return stack
    if others is _SAME:
        stack.enter_context(controller.limit(limits=n_threads, user_api="blas"))
        return stack
    folder = os.path.dirname(np.__file__)  # NumPy's wheels load their BLAS from numpy.libs
    paths = [lib.filepath for lib in controller.lib_controllers if lib.user_api == "blas"]
    mine = [path for path in paths if path.startswith(folder)]
    for selected, limit in ((mine, n_threads), (sorted(set(paths) - set(mine)), others)):
        if selected and limit is not None:
            stack.enter_context(controller.select(filepath=selected).limit(limits=limit))
    return stack


def blocked_forward(
    X: np.ndarray, W: np.ndarray, b: np.ndarray | None, *, rows: int, out: np.ndarray | None = None
) -> np.ndarray:
    r""":math:`S = X W^\top + b` of a dense X into ``out``, one product per ``rows`` rows."""
    n = X.shape[0]
    if not 0 < rows < n:
        S = np.matmul(X, W.T, out=out)
    else:
        S = np.empty((n, W.shape[0]), dtype=np.result_type(X, W)) if out is None else out
        for k in range(0, n, rows):
            np.matmul(X[k : k + rows], W.T, out=S[k : k + rows])  # S_k = X_k Wᵀ
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
    r"""``(dW, db)`` of a dense X: :math:`dW = \sum_k dS_k^\top X_k` over ``rows``-row blocks.

    ``rows`` 0 (or >= N): one product; dW into ``out``, each block's product into ``work``.
    """
    n = X.shape[0]
    if not 0 < rows < n:
        dW = np.matmul(dS.T, X, out=out)
    else:
        dW = np.matmul(dS[:rows].T, X[:rows], out=out)
        work = np.empty_like(dW) if work is None else work
        for k in range(rows, n, rows):
            dW += np.matmul(dS[k : k + rows].T, X[k : k + rows], out=work)  # + dS_kᵀ X_k
    # Accumulated in float64, as linear_backward does: a float32 column sum drifts.
    db = None if b is None else dS.sum(axis=0, dtype=np.float64).astype(dS.dtype, copy=False)
    return dW, db
