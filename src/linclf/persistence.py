"""Load models written by ``save``: linclf's model file format, and why loading is safe.

``est.save(path)`` writes one ``.npz`` archive (see :mod:`linclf._formats.modelfile`) holding

- the arrays, uncompressed: ``coef`` and ``intercept`` (as published), ``W`` and ``b``
  (the trained rows; ``b`` only with an intercept), ``classes`` (strings as a unicode
  array, never objects), ``standardize_shift`` and ``standardize_scale`` (with
  ``standardize``), and ``optimizer.velocity.W`` / ``optimizer.velocity.b`` (the SGD
  momentum buffers, so that ``partial_fit`` continues where it stopped);
- a JSON record: the format name and version, the linclf version that wrote the file,
  a SHA-256 checksum of every array, and the metadata: the estimator's class name, its
  hyperparameters (``get_params()``, with ``dtype`` as a name), ``n_features_in``,
  ``feature_names_in``, the dtype kind of ``classes_``, ``n_iter``, ``loss_curve``,
  ``reg`` (the strength used), the optimizer's scalar state (step count, epoch,
  learning-rate scale, schedule), the shuffling generator's state (``rng``, so that
  ``partial_fit`` after loading draws what it would have drawn) and the caller's
  ``extra`` data, which :func:`load` ignores.

Loading never executes code from the file. Nothing is unpickled: an archive member
holding an object array (the only way an ``.npz`` carries a pickle) is refused from its
header, before its data is read. The record is JSON, decoded into plain numbers, strings,
lists and dicts; the estimator class is looked up by name in a fixed table of linclf's own
estimators, never imported from a name in the file; every array's shape, dtype and
checksum is checked before it is used.

Version policy: every file carries ``format_version``. A file from a newer format version
than this linclf knows is refused with a message saying to upgrade linclf; files from the
same or older format versions are read (hyperparameters missing from an older file take
their defaults).
"""

from __future__ import annotations

import numbers
import os
import reprlib
from typing import Any

import numpy as np

from ._formats.modelfile import FORMAT_VERSION, read_model_file
from .estimator import LinearSVM, SoftmaxClassifier
from .exceptions import ModelFileError

__all__ = ["ESTIMATORS", "FORMAT_VERSION", "load"]

# The only classes a file can name: looked up here, never imported from the file's text.
ESTIMATORS = {cls.__name__: cls for cls in (LinearSVM, SoftmaxClassifier)}


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_meta(where: str, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Refuse metadata that ``_from_state`` would stumble on, naming the bad entry."""

    def bad(entry: str, value: Any, expected: str) -> ModelFileError:
        return ModelFileError(
            f"{where} has an invalid metadata entry {entry!r}: {reprlib.repr(value)}, "
            f"expected {expected}"
        )

    params = meta.get("params")
    if not isinstance(params, dict):
        raise bad("params", params, "a dict of hyperparameters")
    n_features = meta.get("n_features_in")
    if not _is_int(n_features) or n_features < 1:
        raise bad("n_features_in", n_features, "a positive integer")
    names = meta.get("feature_names_in")
    if names is not None and (
        not isinstance(names, list)
        or len(names) != n_features
        or not all(isinstance(name, str) for name in names)
    ):
        raise bad("feature_names_in", names, f"None or a list of {n_features} strings")
    kind = meta.get("classes_kind")
    if kind is not None and not isinstance(kind, str):
        raise bad("classes_kind", kind, "a NumPy dtype kind such as 'i' or 'U'")
    n_iter = meta.get("n_iter")
    if not _is_int(n_iter) or n_iter < 0:
        raise bad("n_iter", n_iter, "a non-negative integer")
    curve = meta.get("loss_curve")
    if not isinstance(curve, list) or not all(_is_real(v) for v in curve):
        raise bad("loss_curve", curve, "a list of numbers")
    reg = meta.get("reg")
    if not _is_real(reg) or not reg >= 0:
        raise bad("reg", reg, "a non-negative number")
    if not isinstance(meta.get("optimizer"), dict):
        raise bad("optimizer", meta.get("optimizer"), "a dict of optimizer state")

    for name in ("classes", "W", "coef", "intercept"):
        if name not in arrays:
            raise ModelFileError(f"{where} is incomplete: array {name!r} is missing")
    classes = arrays["classes"]
    if classes.ndim != 1 or classes.shape[0] < 2:
        raise ModelFileError(
            f"{where} is inconsistent: array 'classes' has shape {classes.shape}, expected "
            "(n_classes,) with at least 2 classes"
        )
    W = arrays["W"]
    for name in ("b", "optimizer.velocity.W", "optimizer.velocity.b"):
        expected = (W.shape[:1] if name.endswith("b") else W.shape), W.dtype
        if name in arrays and (arrays[name].shape, arrays[name].dtype) != expected:
            raise ModelFileError(
                f"{where} is inconsistent: array {name!r} has shape {arrays[name].shape} and "
                f"dtype {arrays[name].dtype}, expected {expected[0]} and {expected[1]} (from 'W')"
            )


def _decoded_params(where: str, cls: type, params: dict[str, Any]) -> dict[str, Any]:
    """The hyperparameters as ``cls(**params)`` takes them, from their JSON form."""
    unknown = sorted(set(params) - set(cls._param_names()))
    if unknown:
        raise ModelFileError(
            f"{where} has hyperparameters {unknown} that {cls.__name__} does not take "
            "in this linclf"
        )
    params = dict(params)
    if "dtype" in params:
        # Stored by name; the estimators' default (and the usual value) is the scalar type.
        try:
            params["dtype"] = np.dtype(params["dtype"]).type
        except TypeError as exc:
            raise ModelFileError(f"{where} has an invalid dtype {params['dtype']!r}") from exc
    return params


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"entry {exc.args[0]!r} is missing"
    return str(exc)


def load(path: str | os.PathLike) -> Any:
    """Load an estimator saved with ``save``, without executing anything from the file.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :meth:`LinearSVM.save <linclf.LinearSVM.save>` or
        :meth:`SoftmaxClassifier.save <linclf.SoftmaxClassifier.save>`.

    Returns
    -------
    LinearSVM or SoftmaxClassifier
        The fitted estimator, as it was saved: the same hyperparameters, ``classes_``,
        ``coef_``, ``intercept_`` and feature names (so the same predictions, bit for
        bit), and the same optimizer and generator state, so that ``partial_fit``
        continues exactly as the saved model would have.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    IsADirectoryError
        If ``path`` is a folder.
    ModelFileError
        (a ``ValueError``) if the file is not a linclf model file, is truncated or
        corrupted, holds a pickle, comes from a newer format version, names an estimator
        this linclf does not know, or holds inconsistent metadata or arrays; the message
        names the file and what is wrong.

    Notes
    -----
    The format and the version policy are described in :mod:`linclf.persistence`.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from linclf import LinearSVM
    >>> from linclf.persistence import load
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(-2, 1, (50, 2)), rng.normal(2, 1, (50, 2))])
    >>> clf = LinearSVM(random_state=0).fit(X, ["neg"] * 50 + ["pos"] * 50)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "model.npz")
    ...     clf.save(path)
    ...     loaded = load(path)
    >>> loaded
    LinearSVM(random_state=0)
    >>> bool(np.array_equal(loaded.decision_function(X), clf.decision_function(X)))
    True
    >>> loaded.predict([[-3.0, -2.0], [2.5, 3.0]]).tolist()
    ['neg', 'pos']
    """
    model = read_model_file(path)
    where = os.fspath(path)
    meta, arrays = model.meta, model.arrays
    writer = f"linclf {model.linclf_version}" if model.linclf_version else "an unknown linclf"
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
    _check_meta(where, meta, arrays)
    meta = {**meta, "params": _decoded_params(where, cls, meta["params"])}
    try:
        estimator = cls._from_state(meta, arrays)
        # The hyperparameters are checked as fit would check them, so a bad value is
        # reported now, naming the file, rather than at the next partial_fit.
        estimator._check_params()
        estimator._make_trainer(estimator._optimizer, None, estimator.reg_)
        np.random.default_rng(estimator.random_state)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(
            f"{where} holds an invalid {name} model (written by {writer}): {_describe(exc)}"
        ) from exc
    return estimator
