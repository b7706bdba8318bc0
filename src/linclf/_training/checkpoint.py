"""Checkpoint files: the safe model container, rotated so that one good copy always exists.

``write_checkpoint(path, …)`` first moves an existing ``path`` to ``path + ".prev"``, then
writes the new checkpoint atomically (temporary file, fsync, rename). Whatever moment a
crash strikes, ``path`` or ``path.prev`` holds a complete checkpoint. ``read_checkpoint``
reads ``path``; when it is missing, truncated or fails its checksums, it warns and falls
back to ``path.prev``.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from .._formats.modelfile import read_model, write_model
from ..exceptions import ModelFileError

__all__ = ["previous_path", "read_checkpoint", "write_checkpoint"]


def previous_path(path: str | os.PathLike) -> str:
    """Where the checkpoint before the latest one is kept."""
    return os.fspath(path) + ".prev"


def write_checkpoint(
    path: str | os.PathLike, meta: dict[str, Any], arrays: dict[str, np.ndarray]
) -> None:
    """Write a checkpoint at ``path``, keeping the previous one at ``path.prev``."""
    path = os.fspath(path)
    if os.path.exists(path):
        os.replace(path, previous_path(path))
    write_model(path, {"kind": "checkpoint", **meta}, arrays)


def read_checkpoint(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read the newest intact checkpoint: ``path``, else (with a warning) ``path.prev``.

    Raises
    ------
    FileNotFoundError
        If neither file exists.
    ModelFileError
        If no intact checkpoint exists (the errors of both files are in the message).
    """
    path = os.fspath(path)
    problems = []
    for candidate in (path, previous_path(path)):
        try:
            meta, arrays = read_model(candidate)
        except FileNotFoundError:
            problems.append(f"{candidate}: missing")
            continue
        except ModelFileError as exc:
            problems.append(str(exc))
            continue
        if meta.get("kind") != "checkpoint":
            problems.append(f"{candidate}: a linclf file, but not a training checkpoint")
            continue
        if candidate != path:
            warnings.warn(
                f"the latest checkpoint could not be used ({problems[-1]}); resuming from "
                f"the previous one, {candidate}",
                UserWarning,
                stacklevel=3,
            )
        return meta, arrays
    if all(problem.endswith(": missing") for problem in problems):
        raise FileNotFoundError(f"no checkpoint at {path} (nor {previous_path(path)})")
    raise ModelFileError("no intact checkpoint: " + "; ".join(problems))
