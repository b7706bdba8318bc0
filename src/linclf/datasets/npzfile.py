"""The ``.npz`` data-file reader: arrays ``X`` and ``y``, never unpickled, at a cost bounded by
the file's size (:mod:`linclf._formats.untrusted`).
"""

from __future__ import annotations

import math
import os
import struct
import zipfile
from typing import Any

import numpy as np

from .._formats.untrusted import (
    ArchiveError,
    archive_members,
    describe_bytes,
    read_budget,
    read_member,
)
from .textfiles import (
    DataFileError,
    column_list,
    open_data,
)

__all__ = ["read_npz"]


def read_npz(
    path: str | os.PathLike, *, max_bytes: int | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Read the arrays ``X`` and (if present) ``y`` of a NumPy ``.npz`` archive, without pickle.

    The archive's directory and ``.npy`` headers are checked before anything is read, and
    what it declares, plus the float64 copy of an ``X`` stored in another dtype, must fit
    the read budget: ``max_bytes``, by default ``max(64 MiB, 16 × the file's size)``.

    Returns
    -------
    X, y : ndarray of shape (n_samples, n_features), ndarray of shape (n_samples,) or None
        ``X`` as float64, or float32 when stored so (not widened); ``y`` as stored.

    Raises
    ------
    DataFileError
        If the file is no ``.npz`` (or a model file), has no ``X``, holds an array that
        needs pickle, overlapping members or more than the budget allows, ``X`` is not 2-d
        and finite, or ``y`` is not 1-d with one finite number or string per row.
    """
    name = os.fspath(path)
    with open_data(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        budget = read_budget(size, max_bytes)
        try:
            archive, members = archive_members(fh, size, budget=budget, compressed=True)
        except ArchiveError as exc:
            raise _npz_error(name, exc, max_bytes) from None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, struct.error) as exc:
            fh.seek(0)
            single = fh.read(6) == b"\x93NUMPY"
            what = (
                "holds a single array (.npy); expected an .npz with X"
                if single
                else (f"is not a NumPy .npz archive ({exc})")
            )
            raise DataFileError(f"{name} {what}") from None
        with archive:
            X, y = _npz_arrays(name, archive, members, budget, max_bytes)
    return _checked_npz(name, X, y)


def _npz_error(name: str, exc: ArchiveError, max_bytes: int | None) -> DataFileError:
    if exc.kind == "budget" and max_bytes is None:
        return DataFileError(
            f"{name} is refused: {exc.reason}; if you trust the file, raise the budget "
            "(max_bytes=..., or --max-bytes on the command line)"
        )
    return DataFileError(f"{name}: {exc.reason}")


def _npz_arrays(
    name: str, archive: Any, members: dict, budget: int, max_bytes: int | None
) -> tuple[np.ndarray, np.ndarray | None]:
    if "__linclf__" in members:
        raise DataFileError(f"{name} is a linclf model file, not a data file")
    if "X" not in members:
        raise DataFileError(f"{name} has no array 'X'; it holds {column_list(sorted(members))}")
    X_info = members["X"]
    widened = 0 if X_info.dtype == np.float32 else 8 * math.prod(X_info.shape)
    declared = sum(member.info.file_size for member in members.values())
    if declared + widened > budget:
        reason = (
            f"X of shape {X_info.shape} and dtype {X_info.dtype} takes "
            f"{describe_bytes(widened)} as float64, beyond the {describe_bytes(budget)} "
            "the file may take"
        )
        raise _npz_error(name, ArchiveError(reason, "budget"), max_bytes)
    try:
        X = read_member(archive, X_info)
        y = read_member(archive, members["y"]) if "y" in members else None
    except ArchiveError as exc:
        raise DataFileError(f"{name}: {exc.reason}") from None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DataFileError(f"{name} is truncated or corrupted: {exc}") from None
    return X, y


def _checked_npz(name: str, X: np.ndarray, y: np.ndarray | None) -> tuple[np.ndarray, Any]:
    if X.ndim != 2 or X.dtype.kind not in "biuf":
        raise DataFileError(
            f"{name}: X must be a 2-d numeric array, got shape {X.shape} of dtype {X.dtype}"
        )
    if X.dtype != np.float32:
        X = X.astype(np.float64, copy=False)
    bad = ~np.isfinite(X)
    count = int(np.count_nonzero(bad))
    if count:
        i, j = np.unravel_index(int(np.argmax(bad)), X.shape)  # the first, without a copy
        raise DataFileError(
            f"{name}: X[{i}, {j}] is {X[i, j]}, and features must be finite numbers "
            f"({count} such value{'s' if count > 1 else ''})"
        )
    if y is not None and (y.ndim != 1 or y.shape[0] != X.shape[0]):
        raise DataFileError(
            f"{name}: y must be 1-d with one label per row of X ({X.shape[0]}), got shape {y.shape}"
        )
    if y is not None and y.dtype.kind not in "biufUS":
        raise DataFileError(f"{name}: y must hold numbers or strings, got dtype {y.dtype}")
    if y is not None and y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        i = int(np.argmax(~np.isfinite(y)))
        raise DataFileError(f"{name}: y[{i}] is {y[i]}, and labels must be finite numbers")
    return X, y
