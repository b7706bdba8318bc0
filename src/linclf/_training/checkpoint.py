"""Checkpoints of the Trainer: what a fit at an epoch boundary saves, and rotated files.

A checkpoint is a :class:`TrainingState` in the safe model container (no pickle). Its
arrays are ``param.<name>``, ``anchor.<name>``, ``best.<name>`` (with early stopping),
``perm`` (when the batches are permuted once) and ``optimizer.<key>`` (the arrays of the
optimizer's state); its JSON document holds the :func:`fingerprint` and the rest, with
non-finite floats spelled as strings. ``load_checkpoint`` refuses a checkpoint whose
fingerprint differs from the fit's.

``write_checkpoint(path, …)`` first moves an existing ``path`` to ``path + ".prev"``, then
writes the new checkpoint atomically (temporary file, fsync, rename). Whatever moment a
crash strikes, ``path`` or ``path.prev`` holds a complete checkpoint. ``read_checkpoint``
reads ``path``; when it is missing, truncated or fails its checksums, it warns and falls
back to ``path.prev``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._formats.modelfile import (
    join_arrays,
    json_float,
    json_safe,
    read_model,
    split_arrays,
    write_model,
)
from .._validation import TrainingData
from ..exceptions import ModelFileError

__all__ = [
    "TrainingState",
    "fingerprint",
    "load_checkpoint",
    "previous_path",
    "read_checkpoint",
    "save_checkpoint",
    "write_checkpoint",
]


@dataclass
class TrainingState:
    """A fit after ``epoch`` epochs: all a resumed fit needs to go on bit for bit.

    ``optimizer`` is ``Optimizer.state_dict()``, ``rng`` the generator's
    ``bit_generator.state``, ``plateau`` ``Plateau.state_dict()`` and ``rollback``
    ``Rollback.state_dict()``; the rest are the Trainer's attributes of the same names.
    """

    params: Mapping[str, np.ndarray]
    anchor: Mapping[str, np.ndarray]
    best: Mapping[str, np.ndarray] | None
    perm: np.ndarray | None
    optimizer: Mapping[str, Any]
    rng: dict[str, Any]
    epoch: int
    n_steps: int
    history: dict[str, list[float]]
    best_epoch: int | None
    converged: bool
    plateau: dict[str, Any]
    rollback: dict[str, Any]


def fingerprint(data: TrainingData, params: Mapping[str, np.ndarray], **settings: Any) -> dict:
    """What a checkpoint must match to be resumed: the data's, parameters' and loop's shapes."""
    shapes = {name: [list(p.shape), p.dtype.name] for name, p in params.items()}
    return {
        "n_samples": data.n_samples,
        "n_features": data.n_features,
        "params": shapes,
        **settings,
    }


def save_checkpoint(
    path: str | os.PathLike, fingerprint: dict[str, Any], state: TrainingState
) -> None:
    """Write ``state`` as the checkpoint at ``path`` (see :func:`write_checkpoint`)."""
    groups = {"param": state.params, "anchor": state.anchor, "best": state.best or {}}
    arrays = {f"{group}.{name}": a for group, items in groups.items() for name, a in items.items()}
    if state.perm is not None:
        arrays["perm"] = state.perm
    optimizer, optimizer_arrays = split_arrays(state.optimizer, "optimizer")
    meta = {
        "fingerprint": fingerprint,
        "epoch": state.epoch,
        "batch": 0,  # checkpoints are written at epoch boundaries
        "n_steps": state.n_steps,
        "history": state.history,
        "best_epoch": state.best_epoch,
        "converged": state.converged,
        "plateau": state.plateau,
        **state.rollback,  # anchor_loss, start_loss, n_halvings
        "optimizer": optimizer,
        "rng": state.rng,
    }
    write_checkpoint(path, json_safe(meta), {**arrays, **optimizer_arrays})


def load_checkpoint(path: str | os.PathLike, fingerprint: dict[str, Any]) -> TrainingState:
    """Read the newest intact checkpoint (see :func:`read_checkpoint`) of this fit.

    Raises
    ------
    ValueError
        If the checkpoint was written for another ``fingerprint``.
    """
    meta, arrays = read_checkpoint(path)
    if meta.get("fingerprint") != json_safe(fingerprint):
        raise ValueError(
            f"the checkpoint at {path} was written for other data or settings "
            f"({meta.get('fingerprint')}) than this fit ({fingerprint}); "
            "resume with the same data, parameters' shapes, batch_size and shuffle"
        )
    plateau = meta["plateau"]
    return TrainingState(
        params=join_arrays({}, arrays, "param"),
        anchor=join_arrays({}, arrays, "anchor"),
        best=join_arrays({}, arrays, "best") or None,
        perm=arrays.get("perm"),
        optimizer=join_arrays(meta["optimizer"], arrays, "optimizer"),
        rng=meta["rng"],
        epoch=meta["epoch"],
        n_steps=meta["n_steps"],
        history={key: list(values) for key, values in meta["history"].items()},
        best_epoch=meta["best_epoch"],
        converged=meta["converged"],
        plateau={"best": json_float(plateau["best"]), "bad_epochs": plateau["bad_epochs"]},
        rollback={
            "anchor_loss": json_float(meta["anchor_loss"]),
            "start_loss": json_float(meta["start_loss"]),
            "n_halvings": meta["n_halvings"],
        },
    )


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
