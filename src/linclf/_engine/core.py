r"""The batched CPU engine: preallocated workspaces, the fused step, and batch iteration.

Nothing here validates its inputs, and no step allocates memory that grows with the batch.
The Trainer's objective protocol: ``loss_grad(params, X, y, sample_weight) -> (loss,
grads)`` (name → ndarray, or None), optionally ``scores(params, X) -> S``,
``blas_threads(params)`` and ``threads(n_threads)`` (a context: compute with that many).

Dense batches go to the compiled fused kernel when it was built (``compiled.py``); sparse
ones, other losses, and everything when it was not, to the NumPy path: the scores node in
the row blocks of ``blas.py``, the loss node, the backward product.
"""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from .._validation import check_scalar, is_sparse
from ..linear import linear_backward, linear_forward
from ..losses import get_loss, l2_penalty
from .blas import blas_threads, block_rows, blocked_backward, blocked_forward
from .blocks import RowBlockReader, block_rows_for, is_out_of_core, iter_row_blocks
from .compiled import (
    LOSS_KINDS,
    FusedKernel,
    FusedWorkspace,
    aligned_empty,
    load_kernel,
    usable_cores,
)

__all__ = ["BatchSource", "LinearObjective", "batched_scores"]

# Bytes of X per chunk in batched_scores and when copying X: bounds the temporaries.
_CHUNK_BYTES = 16 * 2**20
# Rows per thread below which the compiled kernel uses fewer threads (waking one costs more).
_ROWS_PER_THREAD = 16
_KERNELS = ("auto", "numpy")


def _chunk_rows(n_features: int, itemsize: int) -> int:
    return max(1, _CHUNK_BYTES // max(1, n_features * itemsize))


class LinearObjective:
    r"""Loss on linear scores plus L2 penalty, evaluated on minibatches with reused buffers.

    :math:`\mathcal{L}_B(W, b) = \sum_{i \in B} w_i L_i(X_i W^\top + b, y_i) / \sum_{i \in B}
    w_i + \lambda \lVert W \rVert^2`, dense batches in the row blocks of ``_engine.blas``. The
    gradients returned live in the workspace until the next call.

    Parameters
    ----------
    loss, reg, **loss_params : str; float; keyword arguments
        Name of a loss node in :data:`linclf.losses.LOSSES`, L2 strength
        :math:`\lambda \ge 0`, the node's hyperparameters (``delta``).
    kernel : {"auto", "numpy"}, default "auto"
        ``"auto"``: the compiled fused kernel for dense batches of a hinge or softmax loss
        when it was built (and ``LINCLF_KERNEL=numpy`` is not set), else the NumPy path;
        ``"numpy"``: always the NumPy path. The two agree to rounding (docs/benchmarks.md).
    n_threads : int or None, default None
        Threads of the compiled kernel; None: every core this process may use (fewer for
        batches under 16 rows a thread). The result depends on it only through rounding,
        and is the same bits for the same count; ``Trainer(n_threads=k)`` sets it during a
        fit (:meth:`threads`).
    """

    def __init__(
        self,
        loss: str = "hinge",
        reg: float = 0.0,
        *,
        kernel: str = "auto",
        n_threads: int | None = None,
        **loss_params: Any,
    ) -> None:
        self.node = get_loss(loss, **loss_params)  # validates the loss's hyperparameters
        check_scalar(reg, "reg", numbers.Real, low=0.0)
        if kernel not in _KERNELS:
            raise ValueError(f"kernel must be one of {list(_KERNELS)}, got {kernel!r}")
        if n_threads is not None:
            check_scalar(n_threads, "n_threads", numbers.Integral, low=1)
        self.loss, self.reg, self.loss_params = loss, float(reg), loss_params
        self.kernel, self.n_threads = kernel, None if n_threads is None else int(n_threads)
        self._key: tuple | None = None
        self._S = self._dW = self._work = np.empty((0, 0))
        self._block_rows = 0
        self._fused_key: tuple | None = None
        self._fused_work: FusedWorkspace | None = None

    def _workspace(self, n_rows: int, W: np.ndarray) -> None:
        # (Re)allocate only when the shapes or dtype change or a larger batch arrives.
        key = (W.shape, W.dtype)
        if key != self._key or self._S.shape[0] < n_rows:
            self._S = np.empty((n_rows, W.shape[0]), dtype=W.dtype)
            self._dW = np.empty_like(W, order="C")
            self._work = np.empty_like(W, order="C")  # block partials, then the penalty
            self._block_rows = block_rows(*W.shape)
            self._key = key

    @contextlib.contextmanager
    def threads(self, n_threads: int | None) -> Iterator[None]:
        """Within the context, the compiled kernel runs ``n_threads`` threads (None: all).

        Parameters
        ----------
        n_threads : int or None
            As the constructor's ``n_threads``; restored on leaving.
        """
        saved, self.n_threads = self.n_threads, n_threads
        try:
            yield
        finally:
            self.n_threads = saved

    def compiled_kernel(self, X: Any, W: np.ndarray, b: np.ndarray | None) -> FusedKernel | None:
        """The compiled kernel if it computes this step, else None (the NumPy path does).

        Parameters
        ----------
        X, W, b : ndarray (B, D); ndarray (C, D); ndarray (C,) or None
            The batch and the parameters of a :meth:`loss_grad` call.

        Returns
        -------
        FusedKernel or None
            The kernel for a dense batch in W's dtype (float32 or float64) whose rows are
            contiguous, C-ordered W and b, and a hinge or softmax loss; else None.
        """
        if self.kernel == "numpy" or self.loss not in LOSS_KINDS:
            return None
        if type(X) not in (np.ndarray, np.memmap) or X.ndim != 2 or X.dtype != W.dtype:
            return None
        if not isinstance(W, np.ndarray) or W.ndim != 2:
            return None  # the NumPy path says what is wrong
        item, (C, D) = X.dtype.itemsize, W.shape
        rows_ok = X.strides[1] == item and X.strides[0] >= 0 and X.strides[0] % item == 0
        bias_ok = b is None or (
            isinstance(b, np.ndarray) and b.dtype == W.dtype and b.shape == (C,)
        )
        params_ok = W.flags.c_contiguous and X.shape[1] == D and bias_ok
        if X.dtype.kind != "f" or item not in (4, 8) or not (rows_ok and params_ok):
            return None
        return load_kernel()

    def _fused_threads(self, n_rows: int) -> int:
        if self.n_threads is not None:
            return self.n_threads
        return max(1, min(usable_cores(), n_rows // _ROWS_PER_THREAD))

    def loss_grad_step(
        self,
        params: Mapping[str, np.ndarray],
        X: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None,
        step: tuple[float, float, bool, Mapping[str, np.ndarray | None]],
        *,
        then: np.ndarray | None = None,
        keep: Mapping[str, np.ndarray | None] | None = None,
    ) -> float | None:
        """:meth:`loss_grad`, then SGD's step on ``params``, in one call of the compiled kernel.

        Parameters
        ----------
        params, X, y, sample_weight
            As in :meth:`loss_grad`; ``params`` are updated in place.
        step : tuple
            ``(learning_rate, momentum, nesterov, velocities)`` of :meth:`linclf.SGD.step_plan`.
        then : ndarray of shape (B', D) or None, default None
            The next step's batch, if known: the kernel prefetches its first rows while it
            finishes this one (a hint; nothing computed depends on it).
        keep : mapping of str to ndarray, or None, default None
            ``{"W": (C, D), "b": (C,) or None}`` buffers in the parameters' dtype that
            receive the parameters before the step (a rollback's copy, made in the pass).

        Returns
        -------
        float or None
            The batch's objective at ``params`` before the step (the step taken); None, and
            nothing done, where the compiled kernel does not take the batch: then call
            :meth:`loss_grad` and the optimizer's ``step``.
        """
        W, b = params["W"], params.get("b")
        kernel = self.compiled_kernel(X, W, b)
        lr, mu, nesterov, velocity = step
        vW, vb = velocity.get("W"), velocity.get("b")
        kW, kb = (None, None) if keep is None else (keep.get("W"), keep.get("b"))
        if kernel is None or (keep is not None and (kW is None or (kb is None) != (b is None))):
            return None  # (a kept copy for every parameter there is, or none)
        if not _buffers_fit(W, b, (vW, vb), (kW, kb)):
            return None
        step_args = (lr, mu, nesterov, vW, vb, kW, kb)
        fused = self._fused(kernel, X, y, sample_weight, W, b, step=step_args, then=then)
        return None if fused is None else fused[0]

    def loss_grad_steps(
        self,
        params: Mapping[str, np.ndarray],
        X: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None,
        rows: tuple[np.ndarray, np.ndarray],
        plan: tuple[Sequence[float], float, bool, Mapping[str, np.ndarray | None]],
        *,
        keep: tuple[Mapping[str, np.ndarray | None], Mapping[str, np.ndarray | None]],
        limit: float,
    ) -> tuple[np.ndarray, int, int] | None:
        """Several :meth:`loss_grad_step` calls in one call of the compiled kernel.

        Parameters
        ----------
        params : mapping of str to ndarray
            As in :meth:`loss_grad_step`; updated in place.
        X : ndarray of shape (N, D)
            Every batch's rows (the training copy), in W's dtype.
        y : ndarray of shape (N,), int64
            Their class indices.
        sample_weight : ndarray of shape (N,), float64, or None
            Their weights, normalized over each batch; None weighs rows equally.
        rows : tuple of two int64 ndarrays of shape (n + 1,)
            ``(starts, counts)``: step i's batch is rows ``starts[i]:starts[i] + counts[i]``;
            entry n is the batch after the last (prefetched; count 0 for none).
        plan : tuple
            ``(learning_rates, momentum, nesterov, velocities)`` of :meth:`linclf.SGD.step_plans`.
        keep : two mappings like ``params``
            Step i first copies the parameters to ``keep[i % 2]`` (a rollback's copies).
        limit : float
            A step whose loss is not finite or is above ``limit`` is undone, and ends the run.

        Returns
        -------
        tuple or None
            ``(losses, done, code)``: the losses of steps ``0..done - 1`` (taken), and
            ``code`` 0 (all n taken), 3 (step ``done`` diverged: its loss is
            ``losses[done]``, the parameters are as before it) or 1 and 2 (the kernel
            refused step ``done``'s labels or weights: take it with :meth:`loss_grad_step`
            or :meth:`loss_grad`). None, and nothing done, where the kernel takes none.
        """
        W, b = params["W"], params.get("b")
        kernel = self.compiled_kernel(X, W, b)
        lrs, mu, nesterov, velocity = plan
        vW, vb = velocity.get("W"), velocity.get("b")
        kept = tuple((k.get("W"), k.get("b")) for k in keep)
        int64 = np.dtype(np.int64)
        if kernel is None or not _buffers_fit(W, b, (vW, vb), *kept) or kept[0][0] is None:
            return None
        if any(k[0] is None or (k[1] is None) != (b is None) for k in kept):
            return None
        if not (type(y) is np.ndarray and y.dtype == int64 and y.flags.c_contiguous):
            return None
        w = sample_weight
        if w is not None and not (type(w) is np.ndarray and w.dtype == np.float64):
            return None
        starts, counts = (np.ascontiguousarray(r, dtype=np.int64) for r in rows)
        n = starts.shape[0] - 1
        threads = np.array([self._fused_threads(int(c)) for c in counts[:n]], dtype=np.int64)
        code, done, losses = kernel.sgd_steps(
            X, y, w, W, b, loss=LOSS_KINDS[self.loss], reg=self.reg,
            workspace=self._kernel_workspace(kernel, W, b, int(threads.max(initial=1))),
            delta=float(self.loss_params.get("delta", 1.0)), rows=(starts, counts, threads),
            lrs=np.asarray(lrs, dtype=np.float64), momentum=mu, nesterov=nesterov,
            velocity=(vW, vb), keep=kept, limit=limit,
        )  # fmt: skip
        return losses, done, code

    def _kernel_workspace(
        self, kernel: FusedKernel, W: np.ndarray, b: Any, threads: int
    ) -> FusedWorkspace:
        """The kernel's buffers for W's shape and dtype, b or not and ``threads``: reused."""
        key = (W.shape, W.dtype, threads, b is None)
        if key != self._fused_key:
            self._fused_work = FusedWorkspace(kernel, W, b is not None, threads)
            self._fused_key = key
        return self._fused_work

    def _fused(
        self,
        kernel: FusedKernel,
        X: np.ndarray,
        y: Any,
        w: Any,
        W: np.ndarray,
        b: Any,
        step: tuple | None = None,
        then: np.ndarray | None = None,
    ) -> tuple[float, dict[str, np.ndarray | None]] | None:
        """The step on the compiled kernel, or None for input the NumPy path must refuse."""
        n, threads = X.shape[0], self._fused_threads(X.shape[0])
        labels_ok = isinstance(y, np.ndarray) and y.dtype.kind in "iu"
        weights_ok = w is None or (isinstance(w, np.ndarray) and w.dtype.kind in "fiu")
        if not (labels_ok and weights_ok):
            return None  # the loss node says what is wrong
        y = np.ascontiguousarray(y, dtype=np.int64)
        w = None if w is None else np.ascontiguousarray(w, dtype=np.float64)
        if y.shape != (n,) or (w is not None and w.shape != (n,)):
            return None  # the loss node says what is wrong
        work = self._kernel_workspace(kernel, W, b, threads)
        b = None if b is None else np.ascontiguousarray(b)
        delta = float(self.loss_params.get("delta", 1.0))
        loss = kernel.loss_grad(
            X, y, w, W, b, loss=LOSS_KINDS[self.loss], delta=delta, reg=self.reg,
            workspace=work, step=step, then=then,
        )  # fmt: skip
        # None: a label or a weight the kernel refused (before reading X); NumPy says which.
        return None if loss is None else (loss, {"W": work.dW, "b": work.db})

    def loss_grad(
        self,
        params: Mapping[str, np.ndarray],
        X: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None = None,
    ) -> tuple[float, dict[str, np.ndarray | None]]:
        r"""Value and ``{"W": dW, "b": db}`` on a batch (X in W's dtype, y intp indices).

        Parameters
        ----------
        params : mapping of str to ndarray
            ``"W"`` of shape (C, D) and ``"b"`` of shape (C,) or None (no bias); not written.
        X : ndarray or scipy.sparse matrix of shape (B, D)
            The batch's rows, in W's dtype.
        y : ndarray of shape (B,), intp
            Their class indices in ``[0, C)``.
        sample_weight : ndarray of shape (B,) or None, default None
            Non-negative row weights, normalized over the batch; None weighs rows equally.

        Returns
        -------
        loss, grads : float; dict of str to ndarray or None
            :math:`\mathcal{L}_B`, and its gradients ``{"W": dW, "b": db}`` (``db`` None
            without a bias), buffers of this objective that the next call overwrites.
        """
        W, b, n = params["W"], params.get("b"), X.shape[0]
        kernel = self.compiled_kernel(X, W, b)
        if kernel is not None:
            fused = self._fused(kernel, X, y, sample_weight, W, b)
            if fused is not None:
                return fused
        self._workspace(n, W)
        S = self._forward(X, W, b, out=self._S[:n])  # S = X Wᵀ + b
        loss, dS = self.node.loss_grad(S, y, sample_weight=sample_weight, out=S)  # dS over S
        dW, db = self._backward(dS, X, W, b)  # dW = dSᵀ X, db = Σ_i dS_i
        penalty, dW_penalty = l2_penalty(W, self.reg, out=self._work)  # λ Σ W², 2λW
        if dW_penalty is not None:
            dW += dW_penalty
        return loss + penalty, {"W": dW, "b": db}

    def _forward(self, X: Any, W: np.ndarray, b: np.ndarray | None, out: np.ndarray) -> Any:
        if is_sparse(X):  # scipy's sparse × dense product: no blocks, never densified
            return linear_forward(X, W, b, out=out)
        return blocked_forward(X, W, b, rows=self._block_rows, out=out)

    def _backward(
        self, dS: np.ndarray, X: Any, W: np.ndarray, b: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        if is_sparse(X):
            dW, db, _ = linear_backward(dS, X, W, b, out=self._dW)
            return dW, db
        return blocked_backward(dS, X, b, rows=self._block_rows, out=self._dW, work=self._work)

    def blas_threads(self, params: Mapping[str, np.ndarray]) -> int | None:
        """BLAS threads for training: 1 on the blocked small-kernel path, else ``None`` (all).

        Parameters
        ----------
        params : mapping of str to ndarray
            The parameters to train; only the shape of ``"W"``, (C, D), matters.

        Returns
        -------
        int or None
            1 when the batches run through the row-blocked kernels, else None (every thread).
        """
        return 1 if block_rows(*params["W"].shape) else None

    def scores(self, params: Mapping[str, np.ndarray], X: np.ndarray) -> np.ndarray:
        """Scores ``X Wᵀ + b`` of any number of rows, computed in bounded memory.

        Parameters
        ----------
        params : mapping of str to ndarray
            ``"W"`` of shape (C, D) and ``"b"`` of shape (C,) or None.
        X : ndarray, scipy.sparse matrix or out-of-core array of shape (N, D)
            The rows to score, converted to W's dtype a chunk at a time.

        Returns
        -------
        ndarray of shape (N, C)
            The scores, in W's dtype.
        """
        return batched_scores(X, params["W"], params.get("b"))


def batched_scores(
    X: np.ndarray, W: np.ndarray, b: np.ndarray | None = None, *, chunk_rows: int | None = None
) -> np.ndarray:
    """``S = X Wᵀ + b`` in row chunks (16 MiB of X), converted to W's dtype chunk by chunk.

    Dense chunks go to the compiled kernel when it was built (every usable core), else to
    the row-blocked NumPy products.
    """
    n = X.shape[0]
    S = np.empty((n, W.shape[0]), dtype=W.dtype)
    kernel = _scores_kernel(W, b)
    if is_out_of_core(X):
        rows = block_rows(*W.shape)
        for start, block in iter_row_blocks(X, dtype=W.dtype):
            _block_scores(kernel, block, W, b, rows, S[start : start + block.shape[0]])
        return S
    if is_sparse(X):  # sparse × dense needs no chunking: nothing is densified
        Xs = X if X.dtype == W.dtype else X.astype(W.dtype)
        return linear_forward(Xs, W, b, out=S)
    if chunk_rows is None:
        chunk_rows = _chunk_rows(X.shape[1], max(X.dtype.itemsize, W.dtype.itemsize))
    rows = block_rows(*W.shape)
    # As in training: the small-matrix blocks run on one thread (idle ones only slow them).
    with blas_threads(1 if rows and kernel is None else None):
        for start in range(0, n, chunk_rows):
            block = np.asarray(X[start : start + chunk_rows], dtype=W.dtype)
            _block_scores(kernel, block, W, b, rows, S[start : start + chunk_rows])
    return S


def _scores_kernel(W: np.ndarray, b: np.ndarray | None) -> FusedKernel | None:
    """The compiled kernel if it can score with these parameters (any dense rows), else None."""
    if W.dtype not in (np.float32, np.float64) or not W.flags.c_contiguous or W.ndim != 2:
        return None
    if b is not None and (b.dtype != W.dtype or b.shape != (W.shape[0],)):
        return None
    return load_kernel()


def _buffers_fit(W: np.ndarray, b: Any, *pairs: tuple[Any, Any]) -> bool:
    """Whether W, b and each ``(for_W, for_b)`` pair's arrays (None: absent) are C-ordered,
    writeable ndarrays of their parameter's shape and dtype (what a fused step writes)."""
    for a, p in (
        (W, W),
        (b, b),
        *((x, q) for pair in pairs for x, q in zip(pair, (W, b), strict=True)),
    ):
        if a is not None and not (
            type(a) is np.ndarray and a.flags.c_contiguous and a.flags.writeable
            and a.shape == p.shape and a.dtype == p.dtype
        ):  # fmt: skip
            return False
    return True


def _block_scores(
    kernel: FusedKernel | None, block: np.ndarray, W: np.ndarray, b: Any, rows: int, out: Any
) -> None:
    if kernel is None or block.ndim != 2 or block.shape[1] != W.shape[1]:
        blocked_forward(block, W, b, rows=rows, out=out)  # (NumPy's error for a bad shape)
        return
    block = np.ascontiguousarray(block)  # a view when the rows are C-ordered already
    b = None if b is None else np.ascontiguousarray(b)
    threads = max(1, min(usable_cores(), block.shape[0] // _ROWS_PER_THREAD))
    kernel.scores(block, W, b, out, threads)


def _take_rows(X: Any, index: np.ndarray, dtype: np.dtype) -> Any:
    """``X[index]`` converted to ``dtype``, built in chunks so the only full array is the result
    (on a cache line: the compiled kernel's vector loads of its rows then never split)."""
    if is_sparse(X):
        taken = X[index]  # CSR row gather: one copy of the stored values
        return taken if taken.dtype == dtype else taken.astype(dtype, copy=False)
    out = aligned_empty((index.shape[0], X.shape[1]), dtype)
    step = _chunk_rows(X.shape[1], X.dtype.itemsize)
    for start in range(0, index.shape[0], step):
        part = index[start : start + step]
        if X.dtype == dtype:
            np.take(X, part, axis=0, out=out[start : start + part.shape[0]], mode="clip")
        else:
            out[start : start + part.shape[0]] = X[part]
    return out


class BatchSource:
    """The minibatches of every epoch, from one training buffer and few copies.

    Parameters
    ----------
    X, y, sample_weight, dtype, batch_size : ndarray (N, D), (N,) intp, (N,) or None; dtype; int
        Validated data, never written to (X dense, sparse or out of core: then read in
        ~32 MiB blocks in a random order, rows shuffled within a block); the training
        dtype and rows of the batches.
    shuffle, copy : {"batches", "full", False}; bool
        Rows permuted once, then the batches reordered each epoch; all rows permuted each
        epoch; the data order. ``copy``: keep one training copy of X (if not ready as is),
        else gather each batch from X (the same batches, in less memory).
    rng, perm : np.random.Generator; ndarray of shape (N,), optional
        Source of the permutations; for ``"batches"``, the permutation to use (a resumed
        checkpoint's), kept as ``self.perm``. Yielded batches are valid until the next.

    Attributes
    ----------
    upcoming : ndarray or None
        While an epoch runs, the X rows of the batch after the one last yielded when they
        are a view of the training copy (a prefetch hint for the compiled kernel), else None.
    """

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None,
        *,
        dtype: np.dtype,
        batch_size: int,
        shuffle: str | bool,
        copy: bool,
        rng: np.random.Generator,
        perm: np.ndarray | None = None,
    ) -> None:
        self.n_samples = n = X.shape[0]
        self.upcoming: np.ndarray | None = None
        self.batch_size = min(batch_size, n)
        self.n_batches = -(-n // self.batch_size)
        self.shuffle = shuffle
        self._dtype = np.dtype(dtype)
        self._rng = rng
        self._sparse = is_sparse(X)
        self._reader = None
        if is_out_of_core(X):
            self._init_out_of_core(X, y, sample_weight)
            return
        if self._sparse and X.format != "csr":
            X = X.tocsr()  # row slices and row gathers need CSR
        if shuffle == "batches" and perm is None:
            perm = rng.permutation(n)
        self.perm = perm
        ready = X.dtype == self._dtype and (self._sparse or X.flags.c_contiguous)
        self._index = None  # rows of the base arrays that batches gather, if not slices
        if copy and perm is not None:
            self.X = _take_rows(X, perm, self._dtype)
            self.y, self.w = y[perm], None if sample_weight is None else sample_weight[perm]
        else:
            self.X = X if ready or not copy else _take_rows(X, np.arange(n), self._dtype)
            self.y, self.w = y, sample_weight
            self._index = perm
        gathers = shuffle == "full" or self._index is not None or self.X.dtype != self._dtype
        rows, dense_buffer = self.batch_size, not self._sparse and gathers
        self._Xbuf = aligned_empty((rows, X.shape[1]), self._dtype) if dense_buffer else None
        self._ybuf = np.empty(rows, dtype=np.intp)
        self._wbuf = None if sample_weight is None else np.empty(rows, dtype=np.float64)

    def _init_out_of_core(self, X: Any, y: np.ndarray, sample_weight: np.ndarray | None) -> None:
        # Blocks of ~32 MiB, a whole number of batches; two buffers (read, shuffled).
        rows = block_rows_for(X.shape[1], self._dtype.itemsize, at_least=self.batch_size)
        rows = min(self.n_samples, rows - rows % self.batch_size)
        self.block_rows = rows
        self.X, self.y, self.w, self.perm = X, y, sample_weight, None
        self._reader = RowBlockReader(X)
        self._read = aligned_empty((rows, X.shape[1]), self._dtype)
        self._shuffled = aligned_empty(self._read.shape, self._dtype) if self.shuffle else None

    def _out_of_core_epoch(self) -> Iterator[tuple[Any, np.ndarray, np.ndarray | None]]:
        """Contiguous blocks in a random order, rows shuffled within each block."""
        R, B, n = self.block_rows, self.batch_size, self.n_samples
        n_blocks = -(-n // R)
        order = self._rng.permutation(n_blocks) if self.shuffle else range(n_blocks)
        for k in order:
            start, stop = k * R, min((k + 1) * R, n)
            Xk = self._reader.read(start, stop, self._read)
            yk, wk = self.y[start:stop], None if self.w is None else self.w[start:stop]
            if self.shuffle:
                p = self._rng.permutation(stop - start)
                Xk = np.take(Xk, p, axis=0, out=self._shuffled[: stop - start], mode="clip")
                yk, wk = yk[p], None if wk is None else wk[p]
            for b in range(0, stop - start, B):
                yield Xk[b : b + B], yk[b : b + B], None if wk is None else wk[b : b + B]

    def epoch_rows(self) -> tuple[np.ndarray, np.ndarray] | None:
        """One pass over the data as row ranges of ``self.X``, ``self.y``, ``self.w``:
        int64 ``(starts, counts)``, the batches :meth:`epoch` would yield (the same random
        draws), plus an entry (0, 0) after the last; None, drawing nothing, unless every
        batch is a view of the training copy (then :meth:`epoch` serves this pass)."""
        if self._reader is not None or self.shuffle == "full":
            return None
        if self._index is not None or self._sparse or self.X.dtype != self._dtype:
            return None  # batches are gathered or converted
        B, n, n_batches = self.batch_size, self.n_samples, self.n_batches
        order = (
            self._rng.permutation(n_batches) if self.shuffle == "batches" else np.arange(n_batches)
        )
        starts = np.zeros(n_batches + 1, dtype=np.int64)
        starts[:n_batches] = order * B
        counts = np.zeros(n_batches + 1, dtype=np.int64)
        counts[:n_batches] = np.minimum(starts[:n_batches] + B, n) - starts[:n_batches]
        return starts, counts

    def rows(self, start: int, count: int) -> tuple[Any, np.ndarray, np.ndarray | None]:
        """The batch of ``count`` rows from ``start`` of a pass of :meth:`epoch_rows`."""
        return self._batch(slice(start, start + count))

    def epoch(self) -> Iterator[tuple[Any, np.ndarray, np.ndarray | None]]:
        """Yield ``(X_batch, y_batch, w_batch)`` for one pass over the data."""
        if self._reader is not None:
            yield from self._out_of_core_epoch()
            return
        B, n = self.batch_size, self.n_samples
        if self.shuffle == "full":
            order = self._rng.permutation(n)
            for start in range(0, n, B):
                yield self._batch(order[start : start + B])
            return
        n_batches = self.n_batches
        order = self._rng.permutation(n_batches) if self.shuffle == "batches" else range(n_batches)
        views = self._index is None and not self._sparse and self.X.dtype == self._dtype
        for at, k in enumerate(order):
            rows = slice(k * B, min((k + 1) * B, n))
            if views:
                following = order[at + 1] if at + 1 < n_batches else None
                self.upcoming = (
                    None if following is None else self.X[following * B : (following + 1) * B]
                )
            yield self._batch(rows if self._index is None else self._index[rows])
        self.upcoming = None

    def _batch(self, rows: slice | np.ndarray) -> tuple[Any, np.ndarray, np.ndarray | None]:
        """X, y, w of ``rows`` (a slice, or indices to gather) in the training dtype."""
        X, sliced = self.X, isinstance(rows, slice)
        if self._sparse:
            Xb = X[rows]  # a small CSR of the batch's rows, in either case
            Xb = Xb if Xb.dtype == self._dtype else Xb.astype(self._dtype)
        elif sliced and X.dtype == self._dtype:
            Xb = X[rows]  # a view: no copy at all
        else:
            count = rows.stop - rows.start if sliced else rows.shape[0]
            Xb = self._Xbuf[:count]
            if sliced or X.dtype != self._dtype:
                Xb[...] = X[rows]  # converts; a gather makes a batch-sized temporary
            else:
                # mode="clip" skips the bounds-check buffering of mode="raise".
                np.take(X, rows, axis=0, out=Xb, mode="clip")
        if sliced:
            return Xb, self.y[rows], None if self.w is None else self.w[rows]
        count = rows.shape[0]
        yb = np.take(self.y, rows, out=self._ybuf[:count], mode="clip")
        wb = None if self.w is None else np.take(self.w, rows, out=self._wbuf[:count], mode="clip")
        return Xb, yb, wb
