"""The fitted-model record (written by ``linclf.estimator.set_fitted_state``) and its
entries in a model file (format: :mod:`linclf._formats.modelfile`)."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .._formats.modelfile import join_arrays, json_safe, split_arrays

__all__ = ["FittedModel"]

_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937")  # in numpy.random


@dataclass(frozen=True)
class FittedModel:
    """A trained model; the estimator's fitted attributes are those without the ``_``.

    ``W``, ``b``: the trained rows (two for two classes; b None without an intercept), in the
    training dtype; ``shift``, ``scale``: the standardization ``z = (x - shift) / scale``
    or None; ``optimizer``, ``rng``: the state ``partial_fit`` continues from (None: fresh
    ones); ``coef``, ``intercept``: the published rows as read from a file, so a loaded
    model predicts bit for bit as saved (None: computed by :meth:`coef_intercept`).
    """

    W: np.ndarray
    b: np.ndarray | None
    classes: np.ndarray
    n_features_in: int
    feature_names_in: np.ndarray | None = None
    shift: np.ndarray | None = None
    scale: np.ndarray | None = None
    reg: float = 0.0
    n_iter: int = 0
    loss_curve: list[float] = field(default_factory=list)
    optimizer: Any = None
    rng: np.random.Generator | None = None
    validation_scores: list[float] | None = None
    best_epoch: int | None = None
    coef: np.ndarray | None = None
    intercept: np.ndarray | None = None
    solver: str = "sgd"
    reg_path: np.ndarray | None = None
    reg_path_scores: np.ndarray | None = None

    def trained(self, params: dict[str, Any], **changes: Any) -> FittedModel:
        """This model with the rows ``params`` and ``changes`` (published ones recomputed)."""
        return replace(self, W=params["W"], b=params["b"], coef=None, intercept=None, **changes)

    def coef_intercept(self) -> tuple[np.ndarray, np.ndarray]:
        """``(coef_, intercept_)``: ``w_1 - w_0``, ``b_1 - b_0`` for two classes; trained on
        z = (x - shift) / scale, W z + b = (W / scale) x + (b - (W / scale) · shift) is published.
        """
        if self.coef is not None:
            return self.coef, self.intercept
        W, b = self.W, self.b
        if b is None:
            b = np.zeros(W.shape[0], dtype=W.dtype)
        if W.shape[0] == 2:
            W, b = W[1:] - W[:1], b[1:] - b[:1]
        if self.scale is not None:
            raw = W / self.scale  # float64 statistics: fold, then return to the dtype
            b = (b - raw @ self.shift).astype(W.dtype)
            W = raw.astype(W.dtype)
        return W, b

    def to_record(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The model's entries of a model file: ``(metadata, arrays)``."""
        coef, intercept = self.coef_intercept()
        arrays = {"coef": coef, "intercept": intercept, "W": self.W}
        arrays["classes"] = _storable_labels(self.classes)  # never an object array
        if self.b is not None:
            arrays["b"] = self.b
        if self.scale is not None:
            arrays["standardize_shift"], arrays["standardize_scale"] = self.shift, self.scale
        if self.reg_path is not None:
            arrays["reg_path"] = np.asarray(self.reg_path, dtype=np.float64)
            arrays["reg_path_scores"] = np.asarray(self.reg_path_scores, dtype=np.float64)
        optimizer, optimizer_arrays = split_arrays(self.optimizer.state_dict(), "optimizer")
        names = self.feature_names_in
        meta = {
            "n_features_in": int(self.n_features_in),
            "feature_names_in": None if names is None else [str(n) for n in names],
            "classes_kind": self.classes.dtype.kind,
            "n_iter": int(self.n_iter),
            "loss_curve": [float(v) for v in self.loss_curve],
            "reg": float(self.reg),
            "solver": self.solver,
            "optimizer": json_safe(optimizer),
            # The shuffling generator, so that partial_fit after load draws what it would have.
            "rng": json_safe(self.rng.bit_generator.state),
        }
        return meta, {**arrays, **optimizer_arrays}

    @classmethod
    def from_record(
        cls,
        meta: dict[str, Any],
        arrays: dict[str, np.ndarray],
        *,
        optimizer: Any,
        random_state: Any = None,
    ) -> FittedModel:
        """The model :meth:`to_record` wrote (entries checked by the caller), into the fresh
        ``optimizer``; a file without generator state gets one seeded by ``random_state``."""
        classes = _loaded_labels(arrays["classes"], meta.get("classes_kind"))
        names = meta.get("feature_names_in")
        optimizer.load_state_dict(join_arrays(meta["optimizer"], arrays, "optimizer"))
        rng_state = meta.get("rng")
        return cls(
            W=arrays["W"],
            b=arrays.get("b"),
            classes=classes,
            n_features_in=int(meta["n_features_in"]),
            feature_names_in=None if names is None else np.asarray(names, dtype=object),
            shift=arrays.get("standardize_shift"),
            scale=arrays.get("standardize_scale"),
            reg=float(meta["reg"]),
            n_iter=int(meta["n_iter"]),
            loss_curve=list(meta["loss_curve"]),
            optimizer=optimizer,
            rng=np.random.default_rng(random_state)
            if rng_state is None
            else _generator_from_state(rng_state),
            coef=arrays["coef"],
            intercept=arrays["intercept"],
            solver=meta.get("solver", "sgd"),
            reg_path=arrays.get("reg_path"),
            reg_path_scores=arrays.get("reg_path_scores"),
        )


def _storable_labels(classes: np.ndarray) -> np.ndarray:
    """``classes`` as an array a model file holds, from which :func:`_loaded_labels` rebuilds
    them with their types: bytes as latin-1 text (every byte one character), object labels
    as int64 when all are ints, else as text."""
    kind = classes.dtype.kind
    if kind == "S":
        return np.char.decode(classes, "latin-1")
    if kind != "O":
        return classes
    values = classes.tolist()
    if all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=np.int64)
    return classes.astype(str)


def _loaded_labels(stored: np.ndarray, kind: str | None) -> np.ndarray:
    """The labels :func:`_storable_labels` stored for an array of dtype kind ``kind``."""
    if kind == "S":
        return np.char.encode(stored, "latin-1")
    if kind == "O":
        return np.array(stored.tolist(), dtype=object)  # Python ints or str, as fitted
    return stored


def _generator_from_state(state: dict[str, Any]) -> np.random.Generator:
    """Rebuild a generator from its ``bit_generator.state``."""
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in _BIT_GENERATORS:
        raise ValueError(f"unknown random bit generator {name!r}")
    bit_generator = getattr(np.random, name)()
    bit_generator.state = state
    return np.random.Generator(bit_generator)
