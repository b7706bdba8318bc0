r"""The compiled fused kernel (``fused.c``), when it was built: found, checked and called.

``pip install .`` compiles ``fused.c`` three times when a C compiler is there (setup.py):
``_fused_avx512`` (AVX-512 F), ``_fused_avx2`` (AVX2 + FMA) and ``_fused_base`` (the
target's baseline). The widest the CPU runs is loaded with ctypes, which releases the GIL
during a call; without any of them, or with ``LINCLF_KERNEL=numpy`` in the environment,
:func:`load_kernel` returns None and the engine runs its NumPy path (the reference the
compiled one is tested against). Nothing here validates: the engine hands over arrays
it made or checked (C-ordered rows, W's dtype, ``int64`` labels, ``float64`` weights).

One call computes, for a batch of rows :math:`X` (B, D), labels :math:`y`, weights
:math:`w` (or none) and :math:`W` (C, D), :math:`b` (C,), with the NumPy path's formulas
(:mod:`linclf.losses`), :math:`\mathcal{L} = \sum_i a_i L_i(X_i W^\top + b, y_i) +
\lambda \lVert W \rVert^2` (:math:`a_i = w_i / \sum_k w_k`, or :math:`1/B`), its
gradients ``dW`` (C, D) and ``db`` (C,), in one pass over X per block of rows that stays in
cache, and (the fused step) SGD's update of W and b in its reduction. T threads sum the
partial ``dW`` of T parts of the rows in part order: the same bits for one thread count,
another order (float32 rounding apart) for another; SGD's update keeps NumPy's bits.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import os
from typing import Any

import numpy as np

__all__ = ["FusedKernel", "FusedWorkspace", "kernel_info", "load_kernel", "usable_cores"]

# By what linclf_cpu_level of the baseline build says the CPU runs: 2, 1, 0.
_BUILDS = ("_fused_base", "_fused_avx2", "_fused_avx512")
_ABI = 7
LOSS_KINDS = {"hinge": 0, "softmax": 1}

_p, _i64, _f64, _int = ctypes.c_void_p, ctypes.c_int64, ctypes.c_double, ctypes.c_int


class _SGDJob(ctypes.Structure):
    """fused.c's sgd_job_t: an SGD step's arrays and hyperparameters."""

    _fields_ = [
        ("p", _p), ("v", _p), ("g", _p), ("n", _i64),
        ("lr", _f64), ("mu", _f64), ("nesterov", _int), ("keep", _p), ("keep_b", _p),
    ]  # fmt: skip


_cores: list = [None, 1]  # [pid, count]: asked once per process (a fork asks again)


def usable_cores() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one), read once."""
    pid = os.getpid()
    if _cores[0] != pid:
        try:
            count = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            count = os.cpu_count() or 1
        _cores[:] = [pid, max(1, count)]
    return _cores[1]


def aligned_empty(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """``np.empty(shape, dtype)`` whose data starts on a 64-byte boundary (a cache line:
    the kernel's vector loads and stores then never straddle two)."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(nbytes + 64, dtype=np.uint8)
    start = -raw.ctypes.data % 64
    return raw[start : start + nbytes].view(dtype).reshape(shape)


class FusedWorkspace:
    """The buffers of :meth:`FusedKernel.loss_grad` for one (C, D), dtype and thread count:
    ``dW`` (C, D), ``db`` (C,) or None, the scratch, and their addresses (taken once)."""

    def __init__(self, kernel: FusedKernel, W: np.ndarray, bias: bool, n_threads: int) -> None:
        self.dW = aligned_empty(W.shape, W.dtype)  # part 0's partial sums: vector rows
        self.db = np.empty(W.shape[0], dtype=W.dtype) if bias else None
        size = kernel.scratch_bytes(W.shape[0], W.shape[1], W.dtype, n_threads)
        self.scratch = aligned_empty((size,), np.uint8)
        self.n_threads = n_threads
        self.addresses = (
            self.dW.ctypes.data,
            None if self.db is None else self.db.ctypes.data,
            self.scratch.ctypes.data,
        )
        self._known: dict[int, tuple[np.ndarray, int]] = {}

    def address(self, array: np.ndarray | None) -> int | None:
        """``array.ctypes.data`` (None for None), remembered for the arrays a fit passes at
        every step (parameters, velocities, kept copies): ``ctypes.data`` costs ~1 µs. The
        array is held while remembered, so its id cannot name another array."""
        if array is None:
            return None
        known = self._known.get(id(array))
        if known is not None and known[0] is array:
            return known[1]
        if len(self._known) >= 16:
            self._known.clear()
        address = array.ctypes.data
        self._known[id(array)] = (array, address)
        return address


def _library(name: str) -> ctypes.CDLL | None:
    spec = importlib.util.find_spec(f"{__package__}.{name}")
    if spec is None or not spec.origin or not spec.origin.endswith((".so", ".pyd", ".dylib")):
        return None
    try:
        lib = ctypes.CDLL(spec.origin)
        lib.linclf_abi.restype = _int
        if lib.linclf_abi() != _ABI:
            return None
    except (OSError, AttributeError):  # a stale or foreign build: the NumPy path
        return None
    return lib


class FusedKernel:
    """The loaded library's functions, for float32 and float64.

    Attributes
    ----------
    isa : str
        The instruction set it was built for: ``"avx512"``, ``"avx2"``, ``"sse2"`` or
        ``"baseline"``.
    """

    def __init__(self, lib: ctypes.CDLL) -> None:
        self._lib = lib
        lib.linclf_isa.restype = ctypes.c_char_p
        self.isa = lib.linclf_isa().decode()
        lib.linclf_scratch_bytes.restype = _i64
        lib.linclf_scratch_bytes.argtypes = [_i64, _i64, _i64, _int]
        self._loss_grad, self._scores, self._sgd, self._steps = {}, {}, {}, {}
        for dtype, suffix in ((np.float32, "f32"), (np.float64, "f64")):
            f = getattr(lib, f"linclf_loss_grad_{suffix}")
            f.restype = _int
            f.argtypes = [_p, _i64, _i64, _i64, _p, _p, _p, _p, _i64, _int, _f64, _f64]
            f.argtypes += [_p, _p, _p, _int, ctypes.POINTER(_f64), ctypes.POINTER(_SGDJob), _p]
            f.argtypes += [_p, _i64, _i64]
            self._loss_grad[np.dtype(dtype)] = f
            g = getattr(lib, f"linclf_scores_{suffix}")
            g.restype = _int
            g.argtypes = [_p, _i64, _i64, _i64, _p, _p, _i64, _p, _int]
            self._scores[np.dtype(dtype)] = g
            s = getattr(lib, f"linclf_sgd_steps_{suffix}")
            s.restype = _int
            s.argtypes = [_p, _i64, _i64, _p, _p, _p, _p, _i64, _int, _f64, _f64, _p, _p, _p]
            s.argtypes += [_p, _p, _f64, _int, _i64, _p, _p, _p, _p, _p, _p, _f64, _p]
            s.argtypes += [ctypes.POINTER(_i64)]
            self._steps[np.dtype(dtype)] = s
            u = getattr(lib, f"linclf_sgd_update_{suffix}")
            u.restype = None
            u.argtypes = [_p, _p, _p, _i64, _f64, _f64, _int, _int]
            self._sgd[np.dtype(dtype)] = u

    def scratch_bytes(self, n_classes: int, n_features: int, dtype: Any, n_threads: int) -> int:
        """Bytes of the ``scratch`` buffer :meth:`loss_grad` needs for these shapes."""
        itemsize = np.dtype(dtype).itemsize
        return int(self._lib.linclf_scratch_bytes(n_classes, n_features, itemsize, n_threads))

    def loss_grad(
        self,
        X: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None,
        W: np.ndarray,
        b: np.ndarray | None,
        *,
        loss: int,
        delta: float,
        reg: float,
        workspace: FusedWorkspace,
        step: tuple | None = None,
        then: np.ndarray | None = None,
    ) -> float | None:
        """The batch's objective, writing ``workspace.dW`` (and ``.db`` when ``b`` is given);
        None, with nothing written, for a label outside ``[0, C)`` or a weight not ``>= 0``.

        ``step``: ``(learning_rate, momentum, nesterov, v_W, v_b, keep_W, keep_b)``
        (velocities None without momentum, kept copies None if not wanted): then W and b
        also take SGD's step with these gradients, in the reduction (the bits of
        :func:`linclf.optim._sgd_update` applied to them), after their values are copied
        to ``keep_W`` and ``keep_b``.

        ``then``: the next call's batch (C-ordered rows of X's dtype and width), if known:
        each thread's last block prefetches its first rows. A hint: no result changes."""
        w = None if sample_weight is None else sample_weight.ctypes.data
        dW, db, scratch = workspace.addresses
        at = workspace.address
        value = _f64()  # one per call: Python threads may call at once
        job, vb = None, None
        if step is not None:
            lr, mu, nesterov, vW, vb_array, keep_W, keep_b = step
            job = _SGDJob(None, at(vW), None, W.size, lr, mu, int(nesterov), at(keep_W), at(keep_b))
            job, vb = ctypes.byref(job), at(vb_array)
        code = self._loss_grad[X.dtype](
            X.ctypes.data, X.strides[0] // X.dtype.itemsize, X.shape[0], X.shape[1],
            y.ctypes.data, w, at(W), at(b), W.shape[0],
            loss, delta, reg, dW, db, scratch, workspace.n_threads, ctypes.byref(value),
            job, vb, *self._then(then, X),
        )  # fmt: skip
        return value.value if code == 0 else None

    def sgd_steps(
        self,
        X: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None,
        W: np.ndarray,
        b: np.ndarray | None,
        *,
        loss: int,
        delta: float,
        reg: float,
        workspace: FusedWorkspace,
        rows: tuple[np.ndarray, np.ndarray, np.ndarray],
        lrs: np.ndarray,
        momentum: float,
        nesterov: bool,
        velocity: tuple[np.ndarray | None, np.ndarray | None],
        keep: tuple[tuple[np.ndarray, np.ndarray | None], ...],
        limit: float,
    ) -> tuple[int, int, np.ndarray]:
        """Steps of :meth:`loss_grad` with ``step``, one C call: ``(code, done, losses)``.

        ``rows``: int64 ``(starts, counts, threads)``, the batches as row ranges of X, y
        and the weights (``starts``, ``counts`` with one entry more: the batch after, to
        prefetch; count 0 for none) and each step's threads; ``lrs`` each step's rate;
        ``keep``: two ``(W, b)`` buffers, step i copying the parameters to ``keep[i % 2]``.
        A loss not finite or above ``limit`` is undone and ends the run (code 3); codes 1
        and 2: labels or weights refused; ``done``: the steps taken."""
        starts, counts, threads = rows
        n = lrs.shape[0]
        losses, done, at = np.empty(n), _i64(), workspace.address
        keep_W = (_p * 2)(*(at(pair[0]) for pair in keep))
        keep_b = (_p * 2)(*(at(pair[1]) for pair in keep))
        code = self._steps[X.dtype](
            X.ctypes.data, X.strides[0] // X.dtype.itemsize, X.shape[1], y.ctypes.data,
            None if sample_weight is None else sample_weight.ctypes.data, at(W), at(b),
            W.shape[0], loss, delta, reg, *workspace.addresses, at(velocity[0]),
            at(velocity[1]), momentum, int(nesterov), n, starts.ctypes.data,
            counts.ctypes.data, threads.ctypes.data, lrs.ctypes.data, keep_W, keep_b, limit,
            losses.ctypes.data, ctypes.byref(done),
        )  # fmt: skip
        return code, done.value, losses

    @staticmethod
    def _then(then: np.ndarray | None, X: np.ndarray) -> tuple[int | None, int, int]:
        """The C arguments of ``loss_grad``'s prefetch hint (none for an unusable one)."""
        if (
            type(then) is not np.ndarray
            or then.ndim != 2
            or then.dtype != X.dtype
            or then.shape[1] != X.shape[1]
            or then.strides[1] != X.itemsize
            or then.strides[0] < 0
            or then.strides[0] % X.itemsize
        ):
            return None, 0, 0
        return then.ctypes.data, then.strides[0] // X.itemsize, then.shape[0]

    def sgd_update(
        self,
        param: np.ndarray,
        grad: np.ndarray,
        velocity: np.ndarray | None,
        learning_rate: float,
        momentum: float,
        nesterov: bool,
        n_threads: int | None = None,
    ) -> bool:
        """:func:`linclf.optim._sgd_update`'s step in one pass, with its bits, in slices on
        ``n_threads`` threads (None: every usable core); False (and nothing done) unless
        all three arrays are C-contiguous, of one float dtype and shape."""
        arrays = (param, grad) if velocity is None else (param, grad, velocity)
        kind = param.dtype
        if kind not in self._sgd or any(
            a.dtype != kind or a.shape != param.shape or not a.flags.c_contiguous for a in arrays
        ):
            return False
        self._sgd[kind](
            param.ctypes.data, grad.ctypes.data, None if velocity is None else velocity.ctypes.data,
            param.size, learning_rate, momentum, int(nesterov),
            usable_cores() if n_threads is None else n_threads,
        )  # fmt: skip
        return True

    def scores(
        self, X: np.ndarray, W: np.ndarray, b: np.ndarray | None, out: np.ndarray, n_threads: int
    ) -> np.ndarray:
        """``out = X Wᵀ + b`` (X rows C-ordered, W's dtype; ``out`` (n, C) C-contiguous)."""
        self._scores[X.dtype](
            X.ctypes.data, X.strides[0] // X.dtype.itemsize, X.shape[0], X.shape[1],
            W.ctypes.data, None if b is None else b.ctypes.data, W.shape[0],
            out.ctypes.data, n_threads,
        )  # fmt: skip
        return out


@functools.lru_cache(maxsize=1)
def _load() -> FusedKernel | None:
    base = _library(_BUILDS[0])
    if base is None:
        return None
    base.linclf_cpu_level.restype = _int
    level = max(0, min(int(base.linclf_cpu_level()), len(_BUILDS) - 1))
    for name in reversed(_BUILDS[1 : level + 1]):
        lib = _library(name)
        if lib is not None:
            return FusedKernel(lib)
    return FusedKernel(base)


def load_kernel() -> FusedKernel | None:
    """The compiled kernel for this CPU, or None (not built, or ``LINCLF_KERNEL=numpy``).

    The environment variable is read at every call, so setting it turns the compiled
    path off for what runs next (the CI step that runs the suite on the NumPy path does).
    """
    if os.environ.get("LINCLF_KERNEL", "auto").strip().lower() == "numpy":
        return None
    return _load()


def kernel_info() -> str:
    """What the engine's training steps and scores run on in this process.

    Returns
    -------
    str
        ``"compiled (<isa>, <n> threads)"``, the instruction set of the build loaded
        (``avx512``, ``avx2``, ``sse2`` or ``baseline``) and the cores a step uses by
        default; or ``"NumPy (no compiled kernel)"`` when it was not built or
        ``LINCLF_KERNEL=numpy`` is set.

    Examples
    --------
    >>> kernel_info().startswith(("compiled (", "NumPy"))
    True
    """
    kernel = load_kernel()
    if kernel is None:
        return "NumPy (no compiled kernel)"
    cores = usable_cores()
    return f"compiled ({kernel.isa}, {cores} thread{'s' if cores != 1 else ''})"
