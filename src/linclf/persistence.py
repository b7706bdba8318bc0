"""Load models written by ``save`` (format: :mod:`linclf._formats.modelfile`), executing nothing.

The class is looked up in :data:`ESTIMATORS`, its hyperparameters checked by ``make_plan``,
its fitted state written by :func:`~linclf.estimator.set_fitted_state`.
"""

from __future__ import annotations

import numbers
import os
import reprlib
from typing import Any

import numpy as np

from ._fitting.plan import make_plan
from ._fitting.state import FittedModel
from ._formats.modelfile import FORMAT_VERSION, read_model_file
from .estimator import LinearSVM, SoftmaxClassifier, set_fitted_state
from .exceptions import ModelFileError

__all__ = ["ESTIMATORS", "FORMAT_VERSION", "load", "read_saved"]

# The only classes a file can name: looked up here, never imported from the file's text.
ESTIMATORS = {cls.__name__: cls for cls in (LinearSVM, SoftmaxClassifier)}


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_meta(where: str, meta: dict[str, Any]) -> None:
    """Refuse metadata entries of the wrong type, naming the bad entry."""

    def bad(entry: str, expected: str) -> ModelFileError:
        return ModelFileError(
            f"{where} has an invalid metadata entry {entry!r}: "
            f"{reprlib.repr(meta.get(entry))}, expected {expected}"
        )

    if not isinstance(meta.get("params"), dict):
        raise bad("params", "a dict of hyperparameters")
    n_features = meta.get("n_features_in")
    if not _is_int(n_features) or n_features < 1:
        raise bad("n_features_in", "a positive integer")
    names = meta.get("feature_names_in")
    if names is not None and (
        not isinstance(names, list)
        or len(names) != n_features
        or not all(isinstance(name, str) for name in names)
    ):
        raise bad("feature_names_in", f"None or a list of {n_features} strings")
    if meta.get("classes_kind") is not None and not isinstance(meta["classes_kind"], str):
        raise bad("classes_kind", "a NumPy dtype kind such as 'i' or 'U'")
    if not _is_int(meta.get("n_iter")) or meta["n_iter"] < 0:
        raise bad("n_iter", "a non-negative integer")
    curve = meta.get("loss_curve")
    if not isinstance(curve, list) or not all(_is_real(v) for v in curve):
        raise bad("loss_curve", "a list of numbers")
    if not _is_real(meta.get("reg")) or not meta["reg"] >= 0:
        raise bad("reg", "a non-negative number")
    if not isinstance(meta.get("optimizer"), dict):
        raise bad("optimizer", "a dict of optimizer state")
    if meta.get("solver", "sgd") not in ("sgd", "lbfgs"):
        raise bad("solver", "'sgd' or 'lbfgs'")
    if meta.get("extra") is not None and not isinstance(meta["extra"], dict):
        raise bad("extra", "None or a dict")


def _check_arrays(where: str, arrays: dict[str, np.ndarray], n_features: int, dtype: Any) -> None:
    """Refuse missing arrays, and arrays whose shape or dtype the metadata contradicts."""
    for name in ("classes", "W", "coef", "intercept"):
        if name not in arrays:
            raise ModelFileError(f"{where} is incomplete: array {name!r} is missing")
    classes = arrays["classes"]
    if classes.ndim != 1 or classes.shape[0] < 2:
        raise ModelFileError(
            f"{where} is inconsistent: array 'classes' has shape {classes.shape}, expected "
            "(n_classes,) with at least 2 classes"
        )
    C = classes.shape[0]
    rows = 1 if C == 2 else C  # the published binary model is one row
    if dtype is None:  # dtype="auto": the weights' own, float32 or float64
        dtype = arrays["W"].dtype
        if dtype not in (np.float32, np.float64):
            raise ModelFileError(f"{where} is inconsistent: array 'W' has dtype {dtype}")
    expected = {
        "W": ((C, n_features), dtype),
        "b": ((C,), dtype),
        "coef": ((rows, n_features), dtype),
        "intercept": ((rows,), dtype),
        "optimizer.velocity.W": ((C, n_features), dtype),
        "optimizer.velocity.b": ((C,), dtype),
        "standardize_shift": ((n_features,), np.float64),
        "standardize_scale": ((n_features,), np.float64),
    }
    path = arrays.get("reg_path")
    if path is not None:
        expected["reg_path"] = expected["reg_path_scores"] = ((path.shape[0],), np.float64)
    elif "reg_path_scores" in arrays:
        raise ModelFileError(f"{where} is incomplete: array 'reg_path' is missing")
    for name, (shape, kind) in expected.items():
        array = arrays.get(name)
        if array is not None and (array.shape, array.dtype) != (shape, kind):
            raise ModelFileError(
                f"{where} is inconsistent: array {name!r} has shape {array.shape} and dtype "
                f"{array.dtype}, expected {shape} and {kind} for {C} classes and "
                f"{n_features} features"
            )


def _decoded_params(where: str, cls: type, params: dict[str, Any]) -> dict[str, Any]:
    """The hyperparameters as ``cls(**params)`` takes them, from their JSON form."""
    unknown = sorted(set(params) - set(cls().get_params(deep=False)))
    if unknown:
        raise ModelFileError(
            f"{where} has hyperparameters {unknown} that {cls.__name__} does not take "
            "in this linclf"
        )
    params = dict(params)
    if "dtype" in params and params["dtype"] != "auto":
        # Stored by name; a forced dtype is given back as the scalar type, as it is passed.
        try:
            params["dtype"] = np.dtype(params["dtype"]).type
        except TypeError as exc:
            raise ModelFileError(f"{where} has an invalid dtype {params['dtype']!r}") from exc
    if isinstance(params.get("class_weight"), list):
        params["class_weight"] = {label: weight for label, weight in params["class_weight"]}
    return params


def read_saved(path: str | os.PathLike) -> tuple[Any, dict[str, Any] | None]:
    """Read a file written by ``save`` once: ``(estimator, extra)``; raises what ``load`` does.

    ``extra`` is what was passed to ``save(path, extra=...)``, or None.
    """
    file = read_model_file(path)
    where = os.fspath(path)
    meta, arrays = file.meta, file.arrays
    writer = f"linclf {file.linclf_version}" if file.linclf_version else "an unknown linclf"
    name = meta.get("estimator")
    if not isinstance(name, str):
        raise ModelFileError(
            f"{where} is a linclf file but not a saved estimator: it names no estimator "
            f"class (written by {writer})"
        )
    cls = ESTIMATORS.get(name)
    if cls is None:
        raise ModelFileError(
            f"{where} was written by {writer} for estimator {reprlib.repr(name)}, which "
            f"this linclf does not know (it knows {sorted(ESTIMATORS)})"
        )
    _check_meta(where, meta)
    try:
        estimator = cls(**_decoded_params(where, cls, meta["params"]))
        plan = make_plan(estimator)  # checked as fit would: a bad value is reported now
        _check_arrays(where, arrays, meta["n_features_in"], plan.dtype)
        model = FittedModel.from_record(
            meta, arrays, optimizer=plan.make_optimizer(), random_state=plan.random_state
        )
        set_fitted_state(estimator, model)
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        what = f"entry {exc.args[0]!r} is missing" if isinstance(exc, KeyError) else str(exc)
        raise ModelFileError(
            f"{where} holds an invalid {name} model (written by {writer}): {what}"
        ) from exc
    return estimator, meta.get("extra")


def load(path: str | os.PathLike) -> Any:
    """Load an estimator saved with ``save``, without executing anything from the file.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by the ``save`` method of :class:`~linclf.LinearSVM` or its kin.

    Returns
    -------
    LinearSVM or SoftmaxClassifier
        The fitted estimator as saved: hyperparameters, fitted attributes (the same
        predictions, bit for bit), optimizer and generator state (for ``partial_fit``).

    Raises
    ------
    FileNotFoundError, IsADirectoryError
        If ``path`` does not exist, or is a folder.
    ModelFileError
        (a ``ValueError``) naming the file and what is wrong: not a linclf model file,
        truncated, corrupted, a pickle, a newer format, an unknown estimator, or
        inconsistent metadata or arrays.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from linclf import LinearSVM, load
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(-2, 1, (50, 2)), rng.normal(2, 1, (50, 2))])
    >>> clf = LinearSVM(random_state=0).fit(X, ["neg"] * 50 + ["pos"] * 50)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     clf.save(os.path.join(folder, "model.npz"))
    ...     loaded = load(os.path.join(folder, "model.npz"))
    >>> loaded, bool(np.array_equal(loaded.decision_function(X), clf.decision_function(X)))
    (LinearSVM(random_state=0), True)
    """
    return read_saved(path)[0]
