"""Out-of-core data (``numpy.memmap``, or any row-sliceable array-like) read in row blocks.

Streamed in ~32 MiB blocks, never loaded whole. A top-level C-contiguous ``np.memmap`` is
read with file reads into a reused buffer (through the mapping its pages would stay
resident); anything else (HDF5, Zarr, views) by slicing, ``X[start:stop]``.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["RowBlockReader", "block_rows_for", "is_out_of_core", "iter_row_blocks"]

BLOCK_BYTES = 32 * 2**20


def is_out_of_core(X: Any) -> bool:
    """True for data linclf must not load whole: memmaps and non-NumPy row-sliceable arrays."""
    if isinstance(X, np.memmap):
        return True
    if isinstance(X, np.ndarray) or type(X).__module__.startswith(("scipy.sparse", "pandas")):
        return False
    shape = getattr(X, "shape", None)
    rows = hasattr(X, "__getitem__") and hasattr(X, "dtype") and not hasattr(X, "to_numpy")
    # dask and other duck arrays (__array_function__) are not row-sliceable data; what
    # exports DLPack (torch tensors, array-API arrays) is memory, viewed as an ndarray.
    duck = hasattr(X, "__array_function__") or hasattr(X, "__dlpack__")
    return rows and isinstance(shape, tuple) and len(shape) == 2 and not duck


def block_rows_for(n_features: int, itemsize: int, at_least: int = 1) -> int:
    """Rows per block: about BLOCK_BYTES of data, and at least ``at_least`` rows."""
    return max(at_least, BLOCK_BYTES // max(1, n_features * itemsize))


class RowBlockReader:
    """Reads rows ``[start, stop)`` of X (memmap or row-sliceable, (N, D)) into a buffer."""

    def __init__(self, X: Any) -> None:
        self.X = X
        self.dtype = np.dtype(X.dtype)
        self.n_features = int(X.shape[1])
        self._row_bytes = self.n_features * self.dtype.itemsize
        self._file = None
        if (
            isinstance(X, np.memmap)
            and isinstance(X.base, mmap.mmap)  # the mapping itself, not a view of it
            and X.filename is not None
            and X.flags.c_contiguous
            # A copy-on-write mapping ("c") may hold changes its file does not: read those
            # through the mapping, as any row-sliceable array.
            and getattr(X, "mode", None) in ("r", "r+", "w+")
        ):
            try:
                self._file = open(X.filename, "rb")
            except OSError:  # the file was deleted or moved after mapping: read the mapping
                return
            self._offset = int(X.offset)
            self._raw = np.empty(0, dtype=self.dtype)

    def read(self, start: int, stop: int, out: np.ndarray) -> np.ndarray:
        """Rows ``[start, stop)`` as ``out[: stop - start]`` (in ``out``'s dtype)."""
        rows = out[: stop - start]
        if self._file is None:
            np.copyto(rows, np.asarray(self.X[start:stop]), casting="unsafe")
            return rows
        target = rows if rows.dtype == self.dtype else self._raw_buffer(stop - start)
        self._file.seek(self._offset + start * self._row_bytes)
        view = memoryview(target.reshape(-1).view(np.uint8))
        filled = 0
        while filled < len(view):
            n = self._file.readinto(view[filled:])
            if not n:
                raise OSError(f"{self.X.filename} ended early, at row {start} of a block")
            filled += n
        if target is not rows:
            np.copyto(rows, target, casting="unsafe")
        return rows

    def _raw_buffer(self, n_rows: int) -> np.ndarray:
        if self._raw.shape[0] < n_rows:
            self._raw = np.empty((n_rows, self.n_features), dtype=self.dtype)
        return self._raw[:n_rows]

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __del__(self) -> None:
        self.close()


def iter_row_blocks(X: Any, dtype: Any = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(start, block)`` over X's rows in X's dtype (or ``dtype``); a reused buffer."""
    dtype = np.dtype(X.dtype if dtype is None else dtype)
    n = int(X.shape[0])
    rows = block_rows_for(int(X.shape[1]), max(dtype.itemsize, np.dtype(X.dtype).itemsize))
    buffer = np.empty((min(rows, n), int(X.shape[1])), dtype=dtype)
    reader = RowBlockReader(X)
    try:
        for start in range(0, n, rows):
            stop = min(start + rows, n)
            yield start, reader.read(start, stop, buffer)
    finally:
        reader.close()
