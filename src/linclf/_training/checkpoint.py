"""Checkpoints of the Trainer: a :class:`TrainingState` in the safe model container.

Arrays ``param.``, ``anchor.``, ``best.``, ``optimizer.`` and ``perm``; the rest, with the
:func:`fingerprint` a resumed fit must match, as JSON. The old file moves to ``.prev``
before the new one is written atomically, if it is intact: after a crash one of the two is
complete. A :class:`RoundState` (a distributed fit after a round) is kept the same way.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._formats import modelfile
from .._formats.modelfile import join_arrays, json_float, json_safe, split_arrays
from .._validation import TrainingData
from ..exceptions import ModelFileError

__all__ = [
    "RoundState",
    "TrainingState",
    "fingerprint",
    "load_checkpoint",
    "load_round_state",
    "previous_path",
    "read_checkpoint",
    "save_checkpoint",
    "save_round_state",
    "write_checkpoint",
]

_PathLike = str | os.PathLike
# The JSON entries of a TrainingState (its arrays and rollback are stored apart).
_SCALARS = ("epoch", "n_steps", "history", "best_epoch", "converged", "plateau", "rng")


@dataclass
class TrainingState:
    """A fit after ``epoch`` epochs, all a resumed fit needs to go on bit for bit: the
    state dicts of the optimizer, Plateau, Rollback and bit generator, and the Trainer's."""

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


def fingerprint(
    data: TrainingData, params: Mapping[str, np.ndarray], *, digest: bool = True, **settings: Any
) -> dict:
    """What a checkpoint must match to be resumed: the data's, parameters' and loop's shapes,
    the ``settings`` (objective, optimizer, seed, loop) and, with ``digest`` (a fit that
    checkpoints), :func:`data_digest`."""
    shapes = {name: [list(p.shape), p.dtype.name] for name, p in params.items()}
    return dict(
        n_samples=data.n_samples,
        n_features=data.n_features,
        params=shapes,
        data=data_digest(data) if digest else None,
        **settings,
    )


def data_digest(data: TrainingData, n_rows: int = 64) -> str:
    """A BLAKE2 digest of ``y``, the sample weights and ``n_rows`` evenly spaced rows of X:
    other data of the same shape is told apart without another pass over X."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(np.ascontiguousarray(data.y).tobytes())
    if data.sample_weight is not None:
        digest.update(np.ascontiguousarray(data.sample_weight, dtype=np.float64).tobytes())
    rows = np.unique(np.linspace(0, data.n_samples - 1, n_rows).astype(np.intp))
    sample = data.X[rows]
    sample = sample.toarray() if hasattr(sample, "toarray") else np.asarray(sample)
    digest.update(np.ascontiguousarray(sample, dtype=np.float64).tobytes())
    return digest.hexdigest()


def save_checkpoint(path: _PathLike, fingerprint: dict[str, Any], state: TrainingState) -> None:
    """Write ``state`` as the checkpoint at ``path`` (see :func:`write_checkpoint`)."""
    groups = {"param": state.params, "anchor": state.anchor, "best": state.best or {}}
    arrays = {f"{group}.{name}": a for group, items in groups.items() for name, a in items.items()}
    if state.perm is not None:
        arrays["perm"] = state.perm
    optimizer, optimizer_arrays = split_arrays(state.optimizer, "optimizer")
    meta = {name: getattr(state, name) for name in _SCALARS}
    # batch 0: written at epoch boundaries; rollback: the losses, n_halvings.
    meta.update(fingerprint=fingerprint, batch=0, **state.rollback, optimizer=optimizer)
    write_checkpoint(path, json_safe(meta), {**arrays, **optimizer_arrays})


def load_checkpoint(path: _PathLike, fingerprint: dict[str, Any]) -> TrainingState:
    """Read the newest intact checkpoint (:func:`read_checkpoint`); ValueError if it was
    written for another ``fingerprint``."""
    meta, arrays = read_checkpoint(path)
    if meta.get("fingerprint") != json_safe(fingerprint):
        raise ValueError(
            f"the checkpoint at {path} was written for other data or settings "
            f"({meta.get('fingerprint')}) than this fit ({fingerprint}); "
            "resume with the same data (rows, labels, weights), objective, optimizer "
            "hyperparameters, random_state, parameters' shapes, batch_size and shuffle"
        )
    _check_consistent(path, fingerprint, arrays)
    scalars = {name: meta[name] for name in _SCALARS}
    scalars["plateau"] = {**meta["plateau"], "best": json_float(meta["plateau"]["best"])}
    losses = {name: json_float(meta[name]) for name in ("anchor_loss", "start_loss")}
    # A halving epoch's end, waiting to become the anchor (none in checkpoints before it).
    losses["candidate_loss"] = json_float(meta.get("candidate_loss", "inf"))
    return TrainingState(
        params=join_arrays({}, arrays, "param"),
        anchor=join_arrays({}, arrays, "anchor"),
        best=join_arrays({}, arrays, "best") or None,
        perm=arrays.get("perm"),
        optimizer=join_arrays(meta["optimizer"], arrays, "optimizer"),
        rollback={**losses, "n_halvings": meta["n_halvings"]},
        **scalars,
    )


def _check_consistent(path: _PathLike, fingerprint: dict, arrays: dict[str, np.ndarray]) -> None:
    """ModelFileError for checksum-valid arrays that contradict the fit: parameters, best
    parameters or velocity of other shapes than the fit's, a permutation of other rows."""
    for name, (shape, _) in fingerprint["params"].items():
        for group in ("param", "anchor", "best", "optimizer.velocity"):
            array = arrays.get(f"{group}.{name}")
            if array is not None and list(array.shape) != list(shape):
                raise ModelFileError(
                    f"the checkpoint at {path} is inconsistent: {group}.{name} has shape "
                    f"{array.shape}, the fit's {name} {tuple(shape)}"
                )
    perm = arrays.get("perm")
    n = fingerprint["n_samples"]
    if perm is not None and not (
        perm.shape == (n,) and np.array_equal(np.sort(perm), np.arange(n))
    ):
        raise ModelFileError(
            f"the checkpoint at {path} is inconsistent: its row order 'perm' (shape "
            f"{perm.shape}) is not a permutation of the fit's {n} rows"
        )


def previous_path(path: _PathLike) -> str:
    """Where the checkpoint before the latest one is kept."""
    return os.fspath(path) + ".prev"


def write_checkpoint(path: _PathLike, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Write a checkpoint at ``path``, keeping the previous one at ``path.prev``.

    Only an intact latest checkpoint moves to ``.prev``: a corrupt one is overwritten, so
    it never replaces the good previous one (a crash during the write then still leaves
    that one). Another writer moving the file first is not an error.
    """
    path, mode_from = os.fspath(path), None
    if _is_intact_checkpoint(path):
        with contextlib.suppress(FileNotFoundError):  # another trainer rotated it first
            os.replace(path, previous_path(path))
            mode_from = previous_path(path)  # the new latest keeps the old one's mode
    modelfile.write_model(path, {"kind": "checkpoint", **meta}, arrays, mode_from=mode_from)


def _is_intact_checkpoint(path: str) -> bool:
    """Whether ``path`` holds a checkpoint that reads back with valid checksums."""
    try:
        meta, _ = modelfile.read_model(path)
    except (OSError, ModelFileError):
        return False
    return meta.get("kind") == "checkpoint"


def read_checkpoint(path: _PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read the newest intact checkpoint: ``path``, else (with a warning) ``path.prev``.

    Raises ``FileNotFoundError`` if neither exists, else ``ModelFileError`` (naming both).
    """
    path = os.fspath(path)
    problems = []
    for candidate in (path, previous_path(path)):
        try:
            meta, arrays = modelfile.read_model(candidate)
        except (FileNotFoundError, ModelFileError) as exc:
            missing = isinstance(exc, FileNotFoundError)
            problems.append(f"{candidate}: missing" if missing else str(exc))
            continue
        if meta.get("kind") != "checkpoint":
            problems.append(f"{candidate}: a linclf file, but not a training checkpoint")
            continue
        if candidate != path:
            why = f"the latest checkpoint could not be used ({problems[-1]})"
            message = f"{why}; resuming from the previous one, {candidate}"
            warnings.warn(message, UserWarning, stacklevel=3)
        return meta, arrays
    if all(problem.endswith(": missing") for problem in problems):
        raise FileNotFoundError(f"no checkpoint at {path} (nor {previous_path(path)})")
    raise ModelFileError("no intact checkpoint: " + "; ".join(problems))


@dataclass
class RoundState:
    """A round-based fit (``linclf.distributed.fit``) after ``round`` rounds: all its resume
    needs to go on bit for bit. ``optimizer``: the SGD's state dict, or None when each
    round starts fresh ones; ``plateau``: the stopping rule's counters; ``seed``: the
    entropy of the chunks' seeds; ``stopped``: the stopping rule ended the fit."""

    params: Mapping[str, np.ndarray | None]
    optimizer: Mapping[str, Any] | None
    plateau: dict[str, Any]
    lr_scale: float
    round: int
    loss_curve: list[float]
    stopped: bool
    seed: int


def save_round_state(path: _PathLike, fingerprint: dict[str, Any], state: RoundState) -> None:
    """Write ``state`` as the checkpoint at ``path`` (:func:`write_checkpoint`: the previous
    one kept at ``path.prev``, atomically, no pickle)."""
    arrays = {f"param.{name}": p for name, p in state.params.items() if p is not None}
    optimizer, optimizer_arrays = split_arrays(state.optimizer or {}, "optimizer")
    meta = dict(
        fingerprint=fingerprint,
        optimizer=None if state.optimizer is None else optimizer,
        plateau=state.plateau,
        lr_scale=state.lr_scale,
        round=state.round,
        loss_curve=state.loss_curve,
        stopped=state.stopped,
        seed=str(state.seed),  # up to 2**128: a string, whatever reads the JSON
    )
    write_checkpoint(path, json_safe(meta), {**arrays, **optimizer_arrays})


def load_round_state(path: _PathLike, fingerprint: dict[str, Any]) -> RoundState:
    """Read the newest intact checkpoint (:func:`read_checkpoint`) of a round-based fit;
    ValueError if it was written for another ``fingerprint`` (another fit's checkpoint
    included), ModelFileError if its parameters contradict it."""
    meta, arrays = read_checkpoint(path)
    theirs, ours = meta.get("fingerprint"), json_safe(fingerprint)
    if theirs != ours:
        theirs = theirs if isinstance(theirs, dict) else {}
        differ = [_difference(key, theirs, ours) for key in {**theirs, **ours}]
        raise ValueError(
            f"the checkpoint at {path} was written for another fit: "
            f"{'; '.join(d for d in differ if d)}. Resume with the same chunks (rows, labels, "
            "weights), strategy, solver, objective, optimizer hyperparameters and "
            "random_state, or start afresh with resume=False"
        )
    _check_consistent(path, fingerprint, arrays)
    optimizer = meta["optimizer"]
    params = join_arrays({}, arrays, "param")
    return RoundState(
        params={name: params.get(name) for name in fingerprint["params"]},
        optimizer=None if optimizer is None else join_arrays(optimizer, arrays, "optimizer"),
        plateau={**meta["plateau"], "best": json_float(meta["plateau"]["best"])},
        lr_scale=json_float(meta["lr_scale"]),
        round=int(meta["round"]),
        loss_curve=[json_float(loss) for loss in meta["loss_curve"]],
        stopped=bool(meta["stopped"]),
        seed=int(meta["seed"]),
    )


def _difference(key: str, theirs: dict, ours: dict) -> str:
    """``"key: a (checkpoint) != b (this fit)"`` (values longer than 40 characters left out),
    or "" when they agree."""
    if theirs.get(key) == ours.get(key):
        return ""
    values = [repr(side.get(key, "missing")) for side in (theirs, ours)]
    shown = all(len(value) <= 40 for value in values)
    return (
        f"{key}: {values[0]} (checkpoint) != {values[1]} (this fit)" if shown else f"{key} differs"
    )
