"""scikit-learn-style estimators on top of the Trainer and the batched core.

They follow scikit-learn's estimator contract without importing scikit-learn: keyword-only
hyperparameters that ``__init__`` only stores, validation in ``fit``, fitted attributes
ending in ``_``, ``fit`` returning ``self``, and ``get_params`` / ``set_params`` read from
the ``__init__`` signature, so that ``clone``, ``Pipeline`` and grid searches work.
scikit-learn is imported only by the methods scikit-learn itself calls
(``__sklearn_tags__``).

Binary problems follow scikit-learn's shapes. The model is trained with two rows
``W = [w_0; w_1]`` like any other, and published as one: ``coef_ = w_1 - w_0`` of shape
(1, D), ``intercept_ = b_1 - b_0``, ``decision_function = s_1 - s_0`` of shape (N,),
positive for ``classes_[1]``. Both losses depend on the scores only through that
difference when C = 2 (the hinge becomes ``max(0, Δ - (2y-1) f)``, the softmax becomes the
logistic loss of ``f``), and the penalty ``λ(|w_0|² + |w_1|²)`` is smallest at
``w_0 = -w_1``, where it equals ``(λ/2)|w_1 - w_0|²``: the two-row model is the usual
binary model with half the regularization strength.
"""

from __future__ import annotations

import inspect
import numbers
import warnings
from typing import Any

import numpy as np

from ._engine.blocks import is_out_of_core
from ._engine.core import LinearObjective, batched_scores
from ._formats.modelfile import write_model
from ._validation import (
    check_fits_dtype,
    check_random_state,
    check_sample_weight,
    check_scalar,
    check_X,
    check_y,
    encode_labels,
    resolve_dtype,
)
from .exceptions import ConvergenceWarning, not_fitted_error
from .losses import log_softmax, softmax
from .optim import SGD, make_schedule
from .trainer import Trainer

__all__ = ["LinearSVM", "SoftmaxClassifier"]


class _ParamsMixin:
    """``get_params`` / ``set_params`` / ``repr`` from the ``__init__`` signature."""

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return sorted(
            name
            for name, p in signature.parameters.items()
            if name != "self" and p.kind is not p.VAR_KEYWORD
        )

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyperparameters as a dict ``name -> value`` (scikit-learn's convention).

        Parameters
        ----------
        deep : bool
            Also return the parameters of nested estimators (as ``name__param``).
        """
        params = {}
        for name in self._param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                params.update((f"{name}__{k}", v) for k, v in value.get_params().items())
            params[name] = value
        return params

    def set_params(self, **params: Any) -> Any:
        """Set hyperparameters by name; returns ``self``. Unknown names raise ``ValueError``."""
        valid = self._param_names()
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for estimator {type(self).__name__}. "
                    f"Valid parameters are: {valid!r}."
                )
            if sub:
                getattr(self, name).set_params(**{sub: value})
            else:
                setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {
            name: p.default for name, p in inspect.signature(type(self).__init__).parameters.items()
        }
        changed = []
        for name in self._param_names():
            value = getattr(self, name)
            default = defaults.get(name, inspect.Parameter.empty)
            same = value is default or (
                type(value) is type(default)
                and not isinstance(value, np.ndarray)
                and value == default
            )
            if not same:
                shown = value.__name__ if isinstance(value, type) else repr(value)
                changed.append(f"{name}={shown}")
        return f"{type(self).__name__}({', '.join(changed)})"


def _feature_names(X: Any) -> np.ndarray | None:
    """Column names of a DataFrame when they are all strings, as scikit-learn keeps them."""
    columns = getattr(X, "columns", None)
    if columns is None or _is_sparse(X):
        return None
    names = np.asarray(list(columns), dtype=object)
    kinds = {type(name).__name__ for name in names}
    if len(kinds) > 1 and "str" in kinds:
        raise TypeError(
            "Feature names are only supported if all input features have string names, "
            f"but your input has {sorted(kinds)} as feature name / column name types. "
            "Convert them all to strings (X.columns = X.columns.astype(str)) or to non-strings."
        )
    return names if kinds == {"str"} else None


def _is_sparse(X: Any) -> bool:
    return type(X).__module__.startswith("scipy.sparse")


def _warn_interrupted(estimator: Any, trainer: Trainer) -> None:
    kept = "of the best epoch" if trainer.best_epoch_ else "reached then"
    warnings.warn(
        f"{type(estimator).__name__} training was interrupted (Ctrl-C) in epoch "
        f"{trainer.n_epochs_}, after a complete step: the model keeps the weights {kept} and "
        "is fitted.",
        UserWarning,
        stacklevel=3,
    )


def _diag(values: np.ndarray) -> Any:
    import scipy.sparse  # only reached with sparse input, which has loaded it already

    return scipy.sparse.diags_array(values)


def _listed(names: list, limit: int = 5) -> str:
    shown = [f"- {name}" for name in names[:limit]] + (["- ..."] if len(names) > limit else [])
    return "\n".join(shown) + "\n"


def _plain(value: Any) -> Any:
    """``value`` as JSON can hold it: NumPy scalars and arrays become Python ones."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    return value


_BIT_GENERATORS = {
    cls.__name__: cls
    for cls in (
        np.random.PCG64,
        np.random.PCG64DXSM,
        np.random.Philox,
        np.random.SFC64,
        np.random.MT19937,
    )
}


def _generator_from_state(state: dict[str, Any]) -> np.random.Generator:
    """Rebuild a generator from ``bit_generator.state`` (as saved by ``_to_state``)."""
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in _BIT_GENERATORS:
        raise ValueError(f"unknown random bit generator {name!r}")
    bit_generator = _BIT_GENERATORS[name]()
    bit_generator.state = state
    return np.random.Generator(bit_generator)


class _LinearClassifier(_ParamsMixin):
    """Fit, partial_fit and prediction shared by the linear classifiers; see LinearSVM."""

    _estimator_type = "classifier"  # read by scikit-learn versions before 1.6
    _loss = ""  # a name in linclf.losses.LOSSES, set by each subclass

    def _loss_params(self) -> dict[str, Any]:
        return {}

    def __sklearn_tags__(self) -> Any:
        """Estimator tags for scikit-learn >= 1.6 (imports scikit-learn, which called it)."""
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(
            estimator_type="classifier",
            target_tags=TargetTags(required=True),
            classifier_tags=ClassifierTags(),
            input_tags=InputTags(sparse=True),
        )

    def _check_params(self) -> np.dtype:
        dtype = resolve_dtype(self.dtype)
        if self.reg != "auto":
            check_scalar(self.reg, "reg", numbers.Real, low=0.0)
        check_scalar(self.fit_intercept, "fit_intercept", bool)
        check_scalar(self.warm_start, "warm_start", bool)
        check_scalar(self.standardize, "standardize", bool)
        check_random_state(self.random_state)
        check_scalar(self.early_stopping, "early_stopping", bool)
        check_scalar(
            self.validation_fraction,
            "validation_fraction",
            numbers.Real,
            low=0.0,
            high=1.0,
            low_inclusive=False,
            high_inclusive=False,
        )
        cw = self.class_weight
        if not (cw is None or cw == "balanced" or isinstance(cw, dict)):
            raise ValueError(f"class_weight must be None, 'balanced' or a dict, got {cw!r}")
        for name, value in self._loss_params().items():
            check_scalar(value, name, numbers.Real, low=0.0)
        return dtype

    def _make_optimizer(self) -> SGD:
        kwargs = {"total_epochs": self.max_epochs} if self.schedule == "cosine" else {}
        # "adaptive" is not a function of (step, epoch): the Trainer decays on plateaus.
        schedule = "constant" if self.schedule == "adaptive" else self.schedule
        return SGD(
            self.learning_rate,
            momentum=self.momentum,
            nesterov=self.nesterov,
            schedule=make_schedule(schedule, **kwargs),
        )

    def _reg_value(self, n_samples: int, n_classes: int) -> float:
        """λ itself, or for ``reg="auto"`` the λ of scikit-learn's LogisticRegression(C=1).

        scikit-learn minimizes Σ_i ℓ_i + ½|W|², that is mean ℓ + |W|² / (2N); with two
        classes its one weight vector is w_1 - w_0, whose penalty here is (λ/2)|w_1 - w_0|²
        at the optimum, so λ = 1/N matches it.
        """
        if self.reg != "auto":
            return float(self.reg)
        return 1.0 / n_samples if n_classes == 2 else 1.0 / (2.0 * n_samples)

    def _make_trainer(
        self, optimizer: SGD, rng: np.random.Generator, reg: float, **overrides: Any
    ) -> Trainer:
        settings = dict(
            batch_size=self.batch_size,
            max_epochs=self.max_epochs,
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            shuffle=self.shuffle,
            copy_X=self.copy_X,
            early_stopping=self.early_stopping,
            lr_decay=0.2 if self.schedule == "adaptive" else None,
            n_threads=self.n_threads,
            random_state=rng,
            verbose=self.verbose,
        )
        settings.update(overrides)
        objective = LinearObjective(self._loss, reg=reg, **self._loss_params())
        return Trainer(objective, optimizer, **settings)

    def _check_X(self, X: Any, *, reset: bool) -> Any:
        name = type(self).__name__
        names = _feature_names(X)
        X = check_X(X, estimator_name=name, accept_sparse=True)
        if reset:
            self.n_features_in_ = X.shape[1]
            if names is not None:
                self.feature_names_in_ = names
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
            return X
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {name} is expecting "
                f"{self.n_features_in_} features as input."
            )
        self._check_feature_names(names)
        return X

    def _check_feature_names(self, names: np.ndarray | None) -> None:
        fitted = getattr(self, "feature_names_in_", None)
        name = type(self).__name__
        if fitted is None and names is not None:
            warnings.warn(
                f"X has feature names, but {name} was fitted without feature names",
                UserWarning,
                stacklevel=4,
            )
        elif fitted is not None and names is None:
            warnings.warn(
                f"X does not have valid feature names, but {name} was fitted with feature names",
                UserWarning,
                stacklevel=4,
            )
        elif fitted is not None and (len(fitted) != len(names) or np.any(fitted != names)):
            unseen = sorted(set(names) - set(fitted))
            missing = sorted(set(fitted) - set(names))
            message = "The feature names should match those that were passed during fit.\n"
            if unseen:
                message += "Feature names unseen at fit time:\n" + _listed(unseen)
            if missing:
                message += "Feature names seen at fit time, yet now missing:\n" + _listed(missing)
            if not unseen and not missing:
                message += "Feature names must be in the same order as they were in fit.\n"
            raise ValueError(message)

    def _weights(
        self, y_index: np.ndarray, sample_weight: Any, n_classes: int, *, partial: bool
    ) -> np.ndarray | None:
        """Per-sample weights: sample_weight × class_weight[y] (None when all are 1)."""
        weights = check_sample_weight(sample_weight, y_index.shape[0])
        cw = self.class_weight
        if cw is None:
            return weights
        if cw == "balanced":
            if partial:
                raise ValueError(
                    "class_weight='balanced' is not supported by partial_fit: one chunk's "
                    "class counts are not the data's. Compute the weights once from all "
                    "labels, n_samples / (n_classes * count(class)), and pass them as a dict."
                )
            counts = np.bincount(y_index, minlength=n_classes).astype(np.float64)
            per_class = y_index.shape[0] / (n_classes * np.maximum(counts, 1.0))
        else:
            per_class = np.ones(n_classes)
            for label, weight in cw.items():
                where = np.flatnonzero(self.classes_ == label)
                if where.size == 0:
                    raise ValueError(
                        f"class_weight has label {label!r}, which is not among the "
                        f"classes {self.classes_.tolist()}"
                    )
                per_class[where[0]] = check_scalar(
                    weight, f"class_weight[{label!r}]", numbers.Real, low=0.0
                )
        class_part = per_class[y_index]
        return class_part if weights is None else weights * class_part

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        """Fit the model by minibatch SGD; see the class docstring for the objective.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            NumPy arrays, pandas DataFrames (their column names become
            ``feature_names_in_``) and scipy.sparse matrices (never densified).
        y : array-like of shape (n_samples,)
            Labels of any sortable type (ints, strings); at least two distinct values.
        sample_weight : array-like of shape (n_samples,) or None
            Non-negative per-sample weights, multiplied by ``class_weight``.

        Returns
        -------
        self

        Raises
        ------
        ValueError, TypeError
            For invalid data or hyperparameters, naming them.
        DivergenceError
            When training produced a non-finite loss (learning rate too high, or features
            of very different scales); the parameters are rolled back first.
        """
        dtype = self._check_params()
        X = self._check_X(X, reset=True)
        check_fits_dtype(X.data if _is_sparse(X) else X, dtype)
        classes, y_index = encode_labels(check_y(y, X.shape[0]))
        warm = (
            self.warm_start
            and getattr(self, "_params", None) is not None
            and (
                np.array_equal(classes, self.classes_)
                and self._params["W"].shape == (classes.shape[0], X.shape[1])
            )
        )
        self.classes_ = classes
        n_classes = classes.shape[0]
        weights = self._weights(y_index, sample_weight, n_classes, partial=False)
        if weights is not None:
            weighted = np.bincount(y_index, weights=weights, minlength=n_classes) > 0
            if weighted.sum() < 2:
                raise ValueError(
                    "sample_weight leaves only 1 class with positive weight; a classifier "
                    "needs at least 2 classes"
                )
        if is_out_of_core(X) and (self.standardize or self.early_stopping):
            raise ValueError(
                "standardize and early_stopping need X in memory; with out-of-core X "
                f"({type(X).__name__}), scale the file's features beforehand and pass "
                "validation data to a Trainer yourself"
            )
        if self.standardize:
            X = self._standardize(X, dtype)
        else:
            self._shift, self._scale = None, None
        rng = np.random.default_rng(self.random_state)
        validation = None
        if self.early_stopping:
            train, held_out = self._validation_split(y_index, rng)
            validation = (X[held_out], y_index[held_out])
            X, y_index = X[train], y_index[train]
            weights = None if weights is None else weights[train]
        if not warm:
            self._params = self._zero_params(n_classes, X.shape[1], dtype)
        self._optimizer = self._make_optimizer()
        self._rng = rng
        self.reg_ = self._reg_value(X.shape[0], n_classes)
        trainer = self._make_trainer(self._optimizer, rng, self.reg_)
        trainer.fit(self._params, X, y_index, weights, validation_data=validation)
        if trainer.interrupted_:
            _warn_interrupted(self, trainer)
        elif self.tol is not None and not trainer.converged_:
            warnings.warn(
                f"{type(self).__name__} stopped at max_epochs={self.max_epochs} while the "
                f"loss was still improving by more than tol={self.tol}; consider raising "
                "max_epochs.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.n_iter_ = trainer.n_epochs_
        self.loss_curve_ = list(trainer.history_["loss"])
        if validation is not None:
            self.validation_scores_ = list(trainer.history_["val_accuracy"])
            self.best_epoch_ = trainer.best_epoch_
        self._publish()
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None) -> Any:
        """One epoch of minibatch SGD over ``(X, y)``, continuing from the current state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Labels, all of them in ``classes``.
        classes : array-like of shape (n_classes,) or None
            Every label the model will ever see. Required on the first call, optional
            later (then it must equal ``classes_``).
        sample_weight : array-like of shape (n_samples,) or None

        Returns
        -------
        self

        Notes
        -----
        The parameters, the optimizer's momentum and its schedule position, and the
        shuffling generator carry over from call to call (and from a previous ``fit``).
        ``class_weight="balanced"`` is refused: one chunk's class counts are not the data's.
        """
        first = getattr(self, "_params", None) is None
        dtype = self._check_params()
        if self.standardize:
            raise ValueError(
                "standardize=True is not supported by partial_fit: one chunk's column "
                "statistics are not the data's. Scale the features beforehand."
            )
        if first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            X = self._check_X(X, reset=True)
            self.classes_ = np.unique(check_y(classes, len(classes), name="classes"))
            if self.classes_.shape[0] < 2:
                raise ValueError(
                    "The number of classes has to be greater than one; got 1 class in `classes`"
                )
            self._params = self._zero_params(self.classes_.shape[0], X.shape[1], dtype)
            self._optimizer = self._make_optimizer()
            self._rng = np.random.default_rng(self.random_state)
            self.n_iter_ = 0
            self.loss_curve_ = []
        else:
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(
                    f"`classes={np.unique(classes).tolist()!r}` is not the same as on last call "
                    f"to partial_fit, was: {self.classes_.tolist()!r}"
                )
            X = self._check_X(X, reset=False)
        check_fits_dtype(X.data if _is_sparse(X) else X, self._params["W"].dtype)
        y = check_y(y, X.shape[0])
        y_index = np.searchsorted(self.classes_, y)
        unknown = (y_index >= self.classes_.shape[0]) | (
            self.classes_[np.minimum(y_index, self.classes_.shape[0] - 1)] != y
        )
        if unknown.any():
            raise ValueError(
                f"y contains labels not in classes: {np.unique(y[unknown]).tolist()!r} "
                f"(classes are {self.classes_.tolist()!r})"
            )
        weights = self._weights(y_index, sample_weight, self.classes_.shape[0], partial=True)
        if first:
            # The penalty of the first chunk's size: partial_fit never sees all of the data.
            self.reg_ = self._reg_value(X.shape[0], self.classes_.shape[0])
        trainer = self._make_trainer(
            self._optimizer, self._rng, self.reg_, max_epochs=1, tol=None, early_stopping=False
        )
        trainer.fit(self._params, X, y_index, weights)
        if trainer.interrupted_:
            _warn_interrupted(self, trainer)
        self.n_iter_ += 1
        self.loss_curve_.append(trainer.history_["loss"][0])
        self._publish()
        return self

    def _standardize(self, X: Any, dtype: np.dtype) -> Any:
        """Fit the column statistics and return X in standard units, in the training dtype.

        Dense X is centered and scaled, in 16 MiB chunks; sparse X is only scaled, so it
        stays sparse. The statistics are folded into ``coef_`` and ``intercept_`` by
        :meth:`_publish`, so prediction works on raw features with no extra step.
        """
        if _is_sparse(X):
            X = X.tocsr().astype(np.float64)
            mean = np.asarray(X.mean(axis=0)).ravel()
            var = np.asarray(X.multiply(X).mean(axis=0)).ravel() - mean**2
            shift = np.zeros_like(mean)
        else:
            mean = X.mean(axis=0, dtype=np.float64)
            var = X.var(axis=0, dtype=np.float64)
            shift = mean
        scale = np.sqrt(np.maximum(var, 0.0))
        scale[scale == 0.0] = 1.0  # a constant column: leave it as it is
        self._shift, self._scale = shift, scale
        if _is_sparse(X):
            return (X @ _diag(1.0 / scale)).astype(dtype)
        out = np.empty(X.shape, dtype=dtype)
        rows = max(1, 2**24 // (8 * X.shape[1]))
        for start in range(0, X.shape[0], rows):
            block = X[start : start + rows]
            out[start : start + rows] = (block - shift) / scale
        return out

    def _validation_split(
        self, y_index: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Stratified held-out rows for early stopping: a fraction of every class."""
        order = rng.permutation(y_index.shape[0])
        order = order[np.argsort(y_index[order], kind="stable")]  # grouped by class, shuffled
        counts = np.bincount(y_index)
        take = np.floor(counts * self.validation_fraction).astype(int)
        take[(take == 0) & (counts >= 2)] = 1
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        held = np.zeros(y_index.shape[0], dtype=bool)
        for start, k in zip(starts, take, strict=True):
            held[order[start : start + k]] = True
        if not held.any() or held.all():
            raise ValueError(
                f"validation_fraction={self.validation_fraction} leaves an empty training or "
                f"validation set for {y_index.shape[0]} samples"
            )
        return np.flatnonzero(~held), np.flatnonzero(held)

    def _zero_params(self, n_classes: int, n_features: int, dtype: np.dtype) -> dict:
        return {
            "W": np.zeros((n_classes, n_features), dtype=dtype),
            "b": np.zeros(n_classes, dtype=dtype) if self.fit_intercept else None,
        }

    def _publish(self) -> None:
        """Set ``coef_`` / ``intercept_`` from the trained rows (one row for two classes).

        With ``standardize``, the model was trained on z = (x - shift) / scale; its scores
        W z + b equal (W / scale) x + (b - (W / scale) · shift), which is what is published.
        """
        W, b = self._params["W"], self._params["b"]
        if b is None:
            b = np.zeros(W.shape[0], dtype=W.dtype)
        if W.shape[0] == 2:
            W, b = W[1:] - W[:1], b[1:] - b[:1]
        if getattr(self, "_scale", None) is not None:
            raw = W / self._scale  # float64 statistics: fold, then return to the dtype
            b = (b - raw @ self._shift).astype(W.dtype)
            W = raw.astype(W.dtype)
        self.coef_ = W
        self.intercept_ = b

    def save(self, path: Any, *, extra: dict[str, Any] | None = None) -> None:
        """Write the fitted model to ``path`` in linclf's safe format (no pickle).

        The file is a NumPy ``.npz`` archive holding the arrays and a JSON document of
        everything else (format and package versions, class, hyperparameters, classes,
        dtype, feature names, optimizer state). :func:`linclf.load` reads it back without
        executing any code from it. The write is atomic: a crash leaves the previous file
        or none, never half of one.

        Parameters
        ----------
        path : str or os.PathLike
        extra : dict, optional
            JSON-serializable data stored beside the model under ``meta["extra"]`` (the
            command line keeps its target column there); ``load`` ignores it.
        """
        self._check_fitted()
        meta, arrays = self._to_state()
        meta["extra"] = extra
        write_model(path, meta, arrays)

    def _to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        params = self.get_params(deep=False)
        params["dtype"] = np.dtype(params["dtype"]).name
        if isinstance(params["random_state"], np.random.Generator):
            params["random_state"] = None  # a live generator is not a hyperparameter value
        if isinstance(params["class_weight"], dict):
            # [label, weight] pairs: a JSON object would turn int labels into strings.
            params["class_weight"] = [
                [_plain(label), _plain(weight)] for label, weight in params["class_weight"].items()
            ]
        arrays = {
            "coef": self.coef_,
            "intercept": self.intercept_,
            "W": self._params["W"],
            "classes": self.classes_,
        }
        if self._params["b"] is not None:
            arrays["b"] = self._params["b"]
        if getattr(self, "_scale", None) is not None:
            arrays["standardize_shift"], arrays["standardize_scale"] = self._shift, self._scale
        optimizer = {}
        for key, value in self._optimizer.state_dict().items():
            if isinstance(value, np.ndarray):
                arrays[f"optimizer.{key}"] = value
            else:
                optimizer[key] = value
        if self.classes_.dtype.kind in "OUS":
            arrays["classes"] = self.classes_.astype(str)  # never an object array
        meta = {
            "estimator": type(self).__name__,
            "params": params,
            "n_features_in": int(self.n_features_in_),
            "feature_names_in": None
            if getattr(self, "feature_names_in_", None) is None
            else [str(n) for n in self.feature_names_in_],
            "classes_kind": self.classes_.dtype.kind,
            "n_iter": int(self.n_iter_),
            "loss_curve": [float(v) for v in self.loss_curve_],
            "reg": float(self.reg_),
            "optimizer": optimizer,
            # The shuffling generator, so that partial_fit after load draws what it would have.
            "rng": _plain(self._rng.bit_generator.state),
        }
        return meta, arrays

    @classmethod
    def _from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
        """Rebuild a fitted estimator from :meth:`_to_state`'s output, checking shapes."""
        params = dict(meta["params"])
        params["dtype"] = np.dtype(params["dtype"]).type  # stored by name
        if isinstance(params.get("class_weight"), list):
            params["class_weight"] = {label: weight for label, weight in params["class_weight"]}
        estimator = cls(**params)
        dtype = resolve_dtype(meta["params"]["dtype"])
        classes = arrays["classes"]
        if meta.get("classes_kind") == "O":
            classes = classes.astype(object)
        n_classes, n_features = classes.shape[0], int(meta["n_features_in"])
        expected = {
            "W": (n_classes, n_features),
            "b": (n_classes,),
            "coef": (1 if n_classes == 2 else n_classes, n_features),
            "intercept": (1 if n_classes == 2 else n_classes,),
            "standardize_shift": (n_features,),
            "standardize_scale": (n_features,),
        }
        for key, shape in expected.items():
            if key in arrays and arrays[key].shape != shape:
                raise ValueError(
                    f"model file is inconsistent: array {key!r} has shape "
                    f"{arrays[key].shape}, expected {shape} for {n_classes} classes and "
                    f"{n_features} features"
                )
        for key in ("W", "coef", "intercept"):
            if key not in arrays:
                raise ValueError(f"model file is incomplete: array {key!r} is missing")
            if arrays[key].dtype != dtype:
                raise ValueError(
                    f"model file is inconsistent: array {key!r} has dtype "
                    f"{arrays[key].dtype}, expected {dtype}"
                )
        estimator.classes_ = classes
        estimator.n_features_in_ = n_features
        if meta.get("feature_names_in") is not None:
            estimator.feature_names_in_ = np.asarray(meta["feature_names_in"], dtype=object)
        estimator._params = {"W": arrays["W"], "b": arrays.get("b")}
        estimator._shift = arrays.get("standardize_shift")
        estimator._scale = arrays.get("standardize_scale")
        estimator.coef_ = arrays["coef"]
        estimator.intercept_ = arrays["intercept"]
        estimator.n_iter_ = int(meta["n_iter"])
        estimator.loss_curve_ = list(meta["loss_curve"])
        estimator.reg_ = float(meta["reg"])
        optimizer = estimator._make_optimizer()
        state = dict(meta["optimizer"])
        state.update(
            {
                key[len("optimizer.") :]: v
                for key, v in arrays.items()
                if key.startswith("optimizer.")
            }
        )
        optimizer.load_state_dict(state)
        estimator._optimizer = optimizer
        rng_state = meta.get("rng")  # absent from files written before it was saved
        estimator._rng = (
            np.random.default_rng(estimator.random_state)
            if rng_state is None
            else _generator_from_state(rng_state)
        )
        return estimator

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise not_fitted_error(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )

    def decision_function(self, X: Any) -> np.ndarray:
        """Class scores :math:`S = X W^\top + b`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes), or (n_samples,) for two classes
            Column ``c`` scores class ``classes_[c]``; with two classes, the score of
            ``classes_[1]`` minus that of ``classes_[0]``. Computed in row chunks, so memory
            beyond the output stays bounded for any number of rows, in ``coef_``'s dtype.
        """
        self._check_fitted()
        X = self._check_X(X, reset=False)
        # Scored chunk by chunk in the model's dtype: check the narrowing cast up front.
        check_fits_dtype(X.data if _is_sparse(X) else X, self.coef_.dtype)
        S = batched_scores(X, self.coef_, self.intercept_)
        return S.ravel() if self.coef_.shape[0] == 1 else S

    def _all_scores(self, X: Any) -> np.ndarray:
        """Scores of every class, (n_samples, n_classes): [0, f] for the binary model."""
        S = self.decision_function(X)
        return np.column_stack([np.zeros_like(S), S]) if S.ndim == 1 else S

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels, shape (n_samples,): the class of the highest score."""
        S = self.decision_function(X)  # first: it raises NotFittedError when unfitted
        index = (S > 0).astype(np.intp) if S.ndim == 1 else np.argmax(S, axis=1)
        return self.classes_[index]

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Mean accuracy of ``predict(X)`` against ``y`` (weighted by ``sample_weight``)."""
        predicted = self.predict(X)
        y = check_y(y, predicted.shape[0])
        sample_weight = check_sample_weight(sample_weight, predicted.shape[0])
        return float(np.average(predicted == y, weights=sample_weight))


class LinearSVM(_LinearClassifier):
    r"""Multiclass linear SVM (Weston–Watkins hinge), trained by minibatch SGD.

    Minimizes, over :math:`W \in \mathbb{R}^{C \times D}` and :math:`b \in \mathbb{R}^C`,

    .. math::

        \frac{1}{\sum_i w_i} \sum_i w_i \sum_{j \ne y_i}
        \max(0,\; s_{ij} - s_{iy_i} + \Delta) \;+\; \lambda \lVert W \rVert^2,
        \qquad s_i = W x_i + b,

    one true multiclass model (not one-vs-rest), on the batched CPU core.

    Parameters
    ----------
    reg : float or "auto", default 1e-3
        L2 strength :math:`\lambda` (the bias is not penalized); ``"auto"`` is
        :math:`1/(2N)` (:math:`1/N` for two classes), as for :class:`SoftmaxClassifier`.
    learning_rate : float, default 0.003
        Base SGD step size :math:`\eta_0`.
    momentum : float, default 0.9
        Momentum :math:`\mu \in [0, 1)`: :math:`v \leftarrow \mu v + g`,
        :math:`w \leftarrow w - \eta v`.
    nesterov : bool, default False
        Nesterov momentum: :math:`w \leftarrow w - \eta (g + \mu v)`.
    schedule : {"adaptive", "constant", "step", "invscaling", "cosine"}, default "adaptive"
        Learning-rate schedule (formulas in :mod:`linclf.optim`). ``"adaptive"`` keeps
        the rate constant until the ``tol`` rule finds a plateau, then divides it by 5,
        up to 4 times, and stops at the next plateau; ``"cosine"`` anneals to 0 over
        ``max_epochs``.
    batch_size : int, default 64
        Rows per minibatch.
    max_epochs : int, default 300
        Passes over the data at most.
    tol : float or None, default 1e-4
        Stop when the epoch loss (or, with ``early_stopping``, the validation accuracy)
        has not improved by ``tol`` for ``n_iter_no_change`` epochs; ``None`` runs
        exactly ``max_epochs`` epochs.
    n_iter_no_change : int, default 5
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the training data (stratified), stop on its
        accuracy, and keep the weights of the best epoch.
    validation_fraction : float, default 0.1
    fit_intercept : bool, default True
    standardize : bool, default False
        Train on standardized features (column mean 0, standard deviation 1; sparse
        input is only scaled, to stay sparse) and publish ``coef_`` and ``intercept_``
        for the raw features, so prediction needs no extra step. Costs one more copy of
        X while fitting. Not available in ``partial_fit``.
    class_weight : None, "balanced" or dict, default None
        Multiplies each sample's weight by its class's: ``"balanced"`` uses
        ``n_samples / (n_classes * count(class))``.
    shuffle : {True, "batches", "full", False}, default True
        ``True`` (= ``"batches"``): permute the rows once, then visit the contiguous
        minibatches in a new random order every epoch (fast: no row gathering).
        ``"full"``: a new permutation of all rows every epoch. ``False``: data order.
    copy_X : bool, default True
        Train from one permuted copy of X in the training dtype. ``False`` never copies
        X and gathers each batch from it instead: same model, less memory, slower.
    warm_start : bool, default False
        ``fit`` starts from the previous solution (same classes and features).
    dtype : {np.float32, np.float64}, default np.float32
        Training dtype: float32 is faster, float64 more precise.
    n_threads : "auto", int or None, default "auto"
        BLAS threads during training (needs threadpoolctl); see :class:`linclf.Trainer`.
    random_state : int, np.random.Generator or None
        Seed of the shuffling and of the validation split: the same seed gives
        bit-identical ``coef_``.
    verbose : int, default 0
        ``1`` shows a progress bar over epochs (tqdm when installed, else about ten
        printed lines) with loss, validation accuracy and samples/s; ``2`` logs each
        epoch to the ``"linclf"`` logger. Ctrl-C during ``fit`` stops after the current
        step, keeps the weights (the best epoch's, with ``early_stopping``), leaves the
        model fitted and warns.
    delta : float, default 1.0
        Margin :math:`\Delta`.

    Attributes
    ----------
    coef_ : ndarray of shape (n_classes, n_features), or (1, n_features) for two classes
        Class templates :math:`W`; for two classes :math:`w_1 - w_0`.
    intercept_ : ndarray of shape (n_classes,), or (1,) for two classes
    classes_ : ndarray of shape (n_classes,)
        Sorted unique labels seen in ``fit`` (or given to ``partial_fit``).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Column names, when X was a DataFrame with string column names.
    n_iter_ : int
        Epochs run (``partial_fit`` counts one per call).
    loss_curve_ : list of float
        Mean minibatch objective of each epoch.
    reg_ : float
        The L2 strength used (``reg``, or its value for ``reg="auto"``).

    Examples
    --------
    >>> import numpy as np
    >>> from linclf import LinearSVM
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(-2, 1, (50, 2)), rng.normal(2, 1, (50, 2))])
    >>> y = np.array(["neg"] * 50 + ["pos"] * 50)
    >>> clf = LinearSVM(random_state=0).fit(X, y)
    >>> clf.predict([[-3.0, -2.0], [2.5, 3.0]]).tolist()
    ['neg', 'pos']
    >>> clf.coef_.shape, clf.decision_function(X).shape  # two classes: one row
    ((1, 2), (100,))
    """

    _loss = "hinge"

    def __init__(
        self,
        *,
        reg: float = 1e-3,
        learning_rate: float = 0.003,
        momentum: float = 0.9,
        nesterov: bool = False,
        schedule: str = "adaptive",
        batch_size: int = 64,
        max_epochs: int = 300,
        tol: float | None = 1e-4,
        n_iter_no_change: int = 5,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        fit_intercept: bool = True,
        standardize: bool = False,
        class_weight: Any = None,
        shuffle: bool | str = True,
        copy_X: bool = True,
        warm_start: bool = False,
        dtype: Any = np.float32,
        n_threads: int | str | None = "auto",
        random_state: int | np.random.Generator | None = None,
        verbose: int = 0,
        delta: float = 1.0,
    ) -> None:
        self.reg = reg
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterov = nesterov
        self.schedule = schedule
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.fit_intercept = fit_intercept
        self.standardize = standardize
        self.class_weight = class_weight
        self.shuffle = shuffle
        self.copy_X = copy_X
        self.warm_start = warm_start
        self.dtype = dtype
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        self.delta = delta

    def _loss_params(self) -> dict[str, Any]:
        return {"delta": self.delta}


class SoftmaxClassifier(_LinearClassifier):
    r"""Multinomial logistic regression (softmax cross-entropy) by minibatch SGD.

    Minimizes, over :math:`W \in \mathbb{R}^{C \times D}` and :math:`b \in \mathbb{R}^C`,

    .. math::

        \frac{1}{\sum_i w_i} \sum_i w_i \Bigl(\log \sum_j e^{s_{ij}} - s_{iy_i}\Bigr)
        \;+\; \lambda \lVert W \rVert^2, \qquad s_i = W x_i + b,

    and predicts probabilities :math:`p_{ij} = e^{s_{ij}} / \sum_k e^{s_{ik}}`.

    Parameters
    ----------
    reg : float or "auto", default "auto"
        L2 strength :math:`\lambda` (the bias is not penalized). ``"auto"`` is the
        strength of scikit-learn's ``LogisticRegression(C=1)``: :math:`1/(2N)`, or
        :math:`1/N` for two classes (see the module docstring); ``partial_fit`` takes
        N from its first chunk. The value used is ``reg_``.
    learning_rate : float, default 0.05
        Base SGD step size :math:`\eta_0`.
    momentum : float, default 0.9
        Momentum :math:`\mu \in [0, 1)`: :math:`v \leftarrow \mu v + g`,
        :math:`w \leftarrow w - \eta v`.
    nesterov : bool, default False
        Nesterov momentum: :math:`w \leftarrow w - \eta (g + \mu v)`.
    schedule : {"adaptive", "constant", "step", "invscaling", "cosine"}, default "adaptive"
        Learning-rate schedule (formulas in :mod:`linclf.optim`). ``"adaptive"`` keeps
        the rate constant until the ``tol`` rule finds a plateau, then divides it by 5,
        up to 4 times, and stops at the next plateau; ``"cosine"`` anneals to 0 over
        ``max_epochs``.
    batch_size : int, default 32
        Rows per minibatch.
    max_epochs : int, default 300
        Passes over the data at most.
    tol : float or None, default 1e-4
        Stop when the epoch loss (or, with ``early_stopping``, the validation accuracy)
        has not improved by ``tol`` for ``n_iter_no_change`` epochs; ``None`` runs
        exactly ``max_epochs`` epochs.
    n_iter_no_change : int, default 5
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the training data (stratified), stop on its
        accuracy, and keep the weights of the best epoch.
    validation_fraction : float, default 0.1
    fit_intercept : bool, default True
    standardize : bool, default False
        Train on standardized features (column mean 0, standard deviation 1; sparse
        input is only scaled, to stay sparse) and publish ``coef_`` and ``intercept_``
        for the raw features, so prediction needs no extra step. Costs one more copy of
        X while fitting. Not available in ``partial_fit``.
    class_weight : None, "balanced" or dict, default None
        Multiplies each sample's weight by its class's: ``"balanced"`` uses
        ``n_samples / (n_classes * count(class))``.
    shuffle : {True, "batches", "full", False}, default True
        ``True`` (= ``"batches"``): permute the rows once, then visit the contiguous
        minibatches in a new random order every epoch (fast: no row gathering).
        ``"full"``: a new permutation of all rows every epoch. ``False``: data order.
    copy_X : bool, default True
        Train from one permuted copy of X in the training dtype. ``False`` never copies
        X and gathers each batch from it instead: same model, less memory, slower.
    warm_start : bool, default False
        ``fit`` starts from the previous solution (same classes and features).
    dtype : {np.float32, np.float64}, default np.float32
        Training dtype: float32 is faster, float64 more precise.
    n_threads : "auto", int or None, default "auto"
        BLAS threads during training (needs threadpoolctl); see :class:`linclf.Trainer`.
    random_state : int, np.random.Generator or None
        Seed of the shuffling and of the validation split: the same seed gives
        bit-identical ``coef_``.
    verbose : int, default 0
        ``1`` shows a progress bar over epochs (tqdm when installed, else about ten
        printed lines) with loss, validation accuracy and samples/s; ``2`` logs each
        epoch to the ``"linclf"`` logger. Ctrl-C during ``fit`` stops after the current
        step, keeps the weights (the best epoch's, with ``early_stopping``), leaves the
        model fitted and warns.

    Attributes
    ----------
    coef_ : ndarray of shape (n_classes, n_features), or (1, n_features) for two classes
        Class templates :math:`W`; for two classes :math:`w_1 - w_0`.
    intercept_ : ndarray of shape (n_classes,), or (1,) for two classes
    classes_ : ndarray of shape (n_classes,)
        Sorted unique labels seen in ``fit`` (or given to ``partial_fit``).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Column names, when X was a DataFrame with string column names.
    n_iter_ : int
        Epochs run (``partial_fit`` counts one per call).
    loss_curve_ : list of float
        Mean minibatch objective of each epoch.
    reg_ : float
        The L2 strength used (``reg``, or its value for ``reg="auto"``).

    Examples
    --------
    >>> import numpy as np
    >>> from linclf import SoftmaxClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(-2, 1, (50, 2)), rng.normal(2, 1, (50, 2))])
    >>> clf = SoftmaxClassifier(random_state=0).fit(X, [0] * 50 + [1] * 50)
    >>> proba = clf.predict_proba([[-3.0, -2.0], [2.5, 3.0]])
    >>> proba.shape, bool(np.allclose(proba.sum(axis=1), 1.0)), proba.argmax(axis=1).tolist()
    ((2, 2), True, [0, 1])
    """

    _loss = "softmax"

    def __init__(
        self,
        *,
        reg: float | str = "auto",
        learning_rate: float = 0.05,
        momentum: float = 0.9,
        nesterov: bool = False,
        schedule: str = "adaptive",
        batch_size: int = 32,
        max_epochs: int = 300,
        tol: float | None = 1e-4,
        n_iter_no_change: int = 5,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        fit_intercept: bool = True,
        standardize: bool = False,
        class_weight: Any = None,
        shuffle: bool | str = True,
        copy_X: bool = True,
        warm_start: bool = False,
        dtype: Any = np.float32,
        n_threads: int | str | None = "auto",
        random_state: int | np.random.Generator | None = None,
        verbose: int = 0,
    ) -> None:
        self.reg = reg
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterov = nesterov
        self.schedule = schedule
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.fit_intercept = fit_intercept
        self.standardize = standardize
        self.class_weight = class_weight
        self.shuffle = shuffle
        self.copy_X = copy_X
        self.warm_start = warm_start
        self.dtype = dtype
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), rows summing to 1.

        :math:`p_{ij} = e^{s_{ij}} / \\sum_k e^{s_{ik}}`, computed stably (the row maximum
        is subtracted first), so scores of any size give no NaN or inf.
        """
        return softmax(self._all_scores(X))

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log class probabilities, shape (n_samples, n_classes), by a stable log-softmax."""
        return log_softmax(self._all_scores(X))
