"""scikit-learn estimators: built on scikit-learn's bases when it is installed, else on ours.

``linclf._sklearn`` picks the bases once, at this module's import: scikit-learn's
``ClassifierMixin`` and ``BaseEstimator`` (HTML repr, metadata routing, tags, the pickle
version stamp) or linclf's ``ParamsMixin`` (``get_params`` / ``set_params`` from the
``__init__`` signature, so ``clone``-style tools still work). Two classes are trained as
two rows and published as one, ``coef_ = w_1 - w_0`` (docs/math.md: the usual binary
model, half the regularization).
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from ._dask import dask_predict, dask_score, is_dask
from ._engine.blas import blas_threads
from ._engine.blocks import is_out_of_core
from ._engine.core import batched_scores
from ._fitting.data import (
    check_features,
    column_means,
    feature_names,
    rescale,
    split_held_out,
    standardize,
    warn_if_badly_scaled,
)
from ._fitting.plan import FitPlan, make_plan
from ._fitting.select import select_reg, weight_total
from ._fitting.state import FittedModel
from ._fitting.weights import class_weight_factors, sample_weights
from ._formats.modelfile import json_safe, write_model
from ._sklearn import estimator_bases, store_params
from ._solvers.base import SolveResult
from ._solvers.full_batch import solver_threads
from ._solvers.lbfgs import scipy_optimize
from ._validation import (
    TrainingData,
    check_sample_weight,
    check_X,
    check_y,
    encode_labels,
    index_labels,
    same_label_kind,
)
from ._version import __version__
from .exceptions import InconsistentVersionWarning, convergence_warning, not_fitted_error
from .losses import log_softmax, softmax

__all__ = ["LinearSVM", "SoftmaxClassifier", "fitted_state", "set_fitted_state"]


def _feature_space(plan: FitPlan, data: TrainingData, solver: str) -> tuple[TrainingData, Any, Any]:
    """``(data, shift, scale)`` in the space ``fit`` trains in: standardized (the statistics
    returned) or raw, with a warning when raw columns differ too much in scale."""
    if data.kind == "out_of_core" and (plan.standardize is True or plan.early_stopping):
        raise ValueError(
            "standardize and early_stopping need X in memory; with out-of-core X "
            f"({type(data.X).__name__}), scale the file's features beforehand and pass "
            "validation data to a Trainer yourself"
        )
    if not plan.standardizes(data):
        warn_if_badly_scaled(data.X, data.column_rms)
        return data, None, None
    center, weights = plan.fit_intercept, data.sample_weight
    Z, shift, scale = standardize(data.X, plan.dtype, center=center, weights=weights)
    means = None
    if center and solver != "sgd" and data.kind == "sparse":
        # Sparse Z is only scaled; the full-batch solvers center it implicitly. Measured on
        # scikit-learn's sample-weight check (15 x 30): 119 L-BFGS iterations, not 167,
        # and weighted and repeated rows then give one model to 2e-10, not 2e-5.
        means = column_means(Z, weights)
    return replace(data, X=Z, column_means=means), shift, scale


def set_fitted_state(estimator: Any, model: FittedModel) -> None:
    """Make ``estimator`` fitted with ``model``: the one writer of every fitted attribute.

    Used by fit, partial_fit, load, distributed and the CLI; a model without an optimizer
    or generator gets fresh ones from the hyperparameters.
    """
    if model.optimizer is None or model.rng is None:
        plan = make_plan(estimator)
        model = replace(
            model,
            optimizer=plan.make_optimizer() if model.optimizer is None else model.optimizer,
            rng=np.random.default_rng(plan.random_state) if model.rng is None else model.rng,
        )
    estimator.coef_, estimator.intercept_ = model.coef_intercept()
    estimator.classes_ = model.classes
    estimator.n_features_in_ = int(model.n_features_in)
    estimator.n_iter_ = int(model.n_iter)
    estimator.loss_curve_ = list(model.loss_curve)
    estimator.reg_ = float(model.reg)
    estimator.solver_ = model.solver
    scores = None if model.validation_scores is None else list(model.validation_scores)
    for name, value in (
        ("feature_names_in_", model.feature_names_in),
        ("validation_scores_", scores),
        ("best_epoch_", None if scores is None else model.best_epoch),
        ("reg_path_", model.reg_path),
        ("reg_path_scores_", model.reg_path_scores),
    ):
        if value is not None:
            setattr(estimator, name, value)
        elif name in vars(estimator):
            delattr(estimator, name)
    estimator._fitted = model


def fitted_state(estimator: Any) -> FittedModel:
    """The ``FittedModel`` last written by :func:`set_fitted_state`; ``NotFittedError`` if none."""
    model = getattr(estimator, "_fitted", None)
    if model is None:
        raise not_fitted_error(
            f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' with "
            "appropriate arguments before using this estimator."
        )
    return model


class _LinearClassifier(*estimator_bases()):
    """Fit, partial_fit and prediction shared by the linear classifiers; see LinearSVM."""

    _estimator_type = "classifier"  # read by scikit-learn versions before 1.6
    loss_name: ClassVar[str] = ""  # the loss node's name in linclf.losses.LOSSES

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's classifier tags (only scikit-learn calls this), with sparse input."""
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def __getstate__(self) -> dict[str, Any]:
        """The pickled state: the attributes and the linclf version that wrote them."""
        return dict(super().__getstate__(), _linclf_version=__version__)

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore a pickle; ``InconsistentVersionWarning`` if another version wrote it."""
        state = dict(state)
        written_by = state.pop("_linclf_version", "before 0.2")
        if written_by != __version__:
            warnings.warn(
                f"Unpickling a {type(self).__name__} written by linclf {written_by} with "
                f"linclf {__version__}: it may not work as it did. Pickles are for one "
                "installation; save() / linclf.load() files are read across versions.",
                InconsistentVersionWarning,
                stacklevel=2,
            )
        parent = getattr(super(), "__setstate__", None)
        if parent is None:
            self.__dict__.update(state)
        else:
            parent(state)

    def __sklearn_is_fitted__(self) -> bool:
        """Whether ``fit`` or ``partial_fit`` has run (scikit-learn's ``check_is_fitted``)."""
        return getattr(self, "_fitted", None) is not None

    def _training_data(self, plan: FitPlan, X: Any, y: Any, sample_weight: Any) -> TrainingData:
        """X, y and the weights of ``fit``, checked once into the record the solver trusts."""
        names = feature_names(X)
        if plan.reads_whole(X):
            X = np.array(X)  # one read, as one epoch would make
        shape = getattr(X, "shape", ())
        squares = np.zeros(shape[1]) if is_out_of_core(X) and len(shape) == 2 else None
        X = check_X(
            X,
            estimator_name=type(self).__name__,
            accept_sparse=True,
            fits_dtype=plan.dtype,
            order="C",  # every layout trains as its C-contiguous copy does, to the bit
            column_squares=squares,  # for the scale check of raw X, in the check's read
        )
        classes, y_index = encode_labels(check_y(y, X.shape[0]))
        n_classes = classes.shape[0]
        counts = np.bincount(y_index, minlength=n_classes)
        factors = class_weight_factors(plan.class_weight, classes, counts)
        weights = sample_weights(sample_weight, y_index, factors)
        if weights is not None:
            weighted = np.bincount(y_index, weights=weights, minlength=n_classes) > 0
            if weighted.sum() < 2:
                raise ValueError(
                    "sample_weight leaves only 1 class with positive weight; a classifier "
                    "needs at least 2 classes"
                )
        rms = None if squares is None else np.sqrt(squares / X.shape[0])
        return TrainingData(X, y_index, n_classes, weights, classes, names, rms)

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        """Fit the model with ``solver`` (objective: class docstring); returns ``self``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Arrays, DataFrames (column names become ``feature_names_in_``), scipy.sparse
            (never densified), ``numpy.memmap`` (read once to check, then once per epoch).
        y : array-like of shape (n_samples,)
            Labels of any sortable type (ints, strings); at least two distinct values.
        sample_weight : array-like of shape (n_samples,) or None
            Non-negative per-sample weights, multiplied by ``class_weight``.

        Raises
        ------
        ValueError, TypeError, DivergenceError
            Invalid data or hyperparameters (named), or a non-finite loss (learning rate too
            high, badly scaled features); the estimator is then unchanged.
        """
        plan = make_plan(self)
        data = self._training_data(plan, X, y, sample_weight)
        plan = plan.for_data(data.X.dtype)
        solver = plan.solver_for(data)
        data, shift, scale = _feature_space(plan, data, solver)
        rng = np.random.default_rng(plan.random_state)
        validation = None
        if plan.early_stopping:
            data, validation = split_held_out(data, plan.validation_fraction, rng)
        old, shape = getattr(self, "_fitted", None), (data.n_classes, data.n_features)
        warm = plan.warm_start and old is not None and old.W.shape == shape
        warm = warm and np.array_equal(old.classes, data.classes)
        warm = warm and (old.scale is None) == (scale is None)  # the same feature space
        params = _copied_params(old) if warm else plan.zero_params(*shape)
        optimizer = plan.make_optimizer()
        if solver == "sgd":
            reg, path = select_reg(plan, solver, data, params, rng)
            result = plan.make_solver(optimizer, rng).solve(
                plan.objective(reg), params, data, validation=validation
            )
        else:  # one BLAS limit around the path and the refit (threadpoolctl: docs/solvers.md)
            threads = solver_threads(data) if plan.n_threads == "auto" else plan.n_threads
            others = None if plan.n_threads is None else 1  # SciPy's BLAS: L-BFGS-B's vectors
            scipy_optimize()  # loaded first, so that the limit reaches SciPy's BLAS too
            with blas_threads(threads, others=others):
                reg, path = select_reg(plan, solver, data, params, rng)
                full_batch = plan.full_batch_solver(n_threads=None, warm=warm or path is not None)
                result = full_batch.solve(plan.objective(reg), params, data)
        self._warn(result, plan, solver)
        model = FittedModel(
            **params,
            classes=data.classes,
            n_features_in=data.n_features,
            feature_names_in=data.feature_names,
            shift=shift,
            scale=scale,
            reg=reg,
            n_iter=result.n_iter,
            loss_curve=result.loss_curve,
            optimizer=optimizer,
            rng=rng,
            validation_scores=result.validation_scores,
            best_epoch=result.best_epoch,
            solver=solver,
            reg_path=None if path is None else path.regs,
            reg_path_scores=None if path is None else path.scores,
        )
        set_fitted_state(self, model)
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None) -> Any:
        """One epoch of minibatch SGD over ``(X, y)``, continuing; returns ``self``.

        Weights, momentum, schedule position and shuffling generator carry over between
        calls (and from ``fit`` or a loaded file); a call that raises leaves them unchanged.
        ``class_weight="balanced"`` and ``standardize`` are refused (one chunk is not the data).

        Parameters
        ----------
        X, y, sample_weight : {array-like, sparse matrix}; array-like; array-like or None
            As for ``fit``; every label of ``y`` in ``classes``.
        classes : array-like of shape (n_classes,) or None
            Every label the model will see: required on the first call, later ``classes_``.
        """
        plan = make_plan(self)
        if plan.solver == "lbfgs":
            raise ValueError(
                "partial_fit trains by minibatch SGD: solver='lbfgs' solves on all the data "
                "at once; set solver='sgd' or 'auto'"
            )
        if plan.standardize is True:
            raise ValueError(
                "standardize=True is not supported by partial_fit: one chunk's column "
                "statistics are not the data's. Scale the features beforehand."
            )
        name = type(self).__name__
        model = getattr(self, "_fitted", None)
        first = model is None
        if first:
            X, model = self._first_chunk(plan, X, classes)
        else:
            if classes is not None and not np.array_equal(np.unique(classes), model.classes):
                raise ValueError(
                    f"`classes={np.unique(classes).tolist()!r}` is not the same as on last call "
                    f"to partial_fit, was: {model.classes.tolist()!r}"
                )
            X = check_features(X, model, name, fits_dtype=model.W.dtype)
            if model.scale is not None:  # continue in the fit's standardized space
                X = rescale(X, model.shift, model.scale, model.W.dtype)
        y_index = index_labels(check_y(y, X.shape[0]), model.classes)
        if plan.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: one chunk's "
                "class counts are not the data's. Compute the weights once from all "
                "labels, n_samples / (n_classes * count(class)), and pass them as a dict."
            )
        factors = class_weight_factors(plan.class_weight, model.classes, None)
        n_classes = model.classes.shape[0]
        data = TrainingData(X, y_index, n_classes, sample_weights(sample_weight, y_index, factors))
        # The penalty of the first chunk's size: partial_fit never sees all of the data.
        reg = plan.reg_for(weight_total(data), n_classes) if first else model.reg
        params = _copied_params(model)
        optimizer, rng = _continued(plan, model.optimizer), copy.deepcopy(model.rng)
        solver = plan.make_solver(optimizer, rng, max_epochs=1, tol=None, early_stopping=False)
        result = solver.solve(plan.objective(reg), params, data)
        self._warn(result)
        curve = [*model.loss_curve, result.loss_curve[0]]
        trained = model.trained(
            params, optimizer=optimizer, rng=rng, reg=reg, loss_curve=curve, solver="sgd"
        )
        set_fitted_state(self, replace(trained, n_iter=model.n_iter + 1))
        return self

    def _first_chunk(self, plan: FitPlan, X: Any, classes: Any) -> tuple[Any, FittedModel]:
        """The first ``partial_fit`` call's checked X and its untrained model of ``classes``."""
        if classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if np.ndim(classes) != 1:
            raise ValueError(
                f"classes must be a 1-d array-like of every label, got {classes!r} "
                f"(e.g. classes=np.unique(y_all))"
            )
        names = feature_names(X)
        X = check_X(
            X, estimator_name=type(self).__name__, accept_sparse=True, fits_dtype=plan.dtype
        )
        plan = plan.for_data(X.dtype)  # the model's dtype: later chunks are cast to it
        known = np.unique(check_y(classes, len(classes), name="classes"))
        if known.shape[0] < 2:
            raise ValueError(
                "The number of classes has to be greater than one; got 1 class in `classes`"
            )
        model = FittedModel(
            **plan.zero_params(known.shape[0], X.shape[1]),
            classes=known,
            n_features_in=X.shape[1],
            feature_names_in=names,
            optimizer=plan.make_optimizer(),
            rng=np.random.default_rng(plan.random_state),
        )
        return X, model

    def _warn(self, result: SolveResult, plan: FitPlan | None = None, solver: str = "sgd") -> None:
        """Warn about an interrupted fit, or (with a plan) one that ran out of its budget."""
        if result.interrupted:
            kept = "of the best epoch" if result.best_epoch else "reached then"
            warnings.warn(
                f"{type(self).__name__} training was interrupted (Ctrl-C) in "
                f"{'epoch' if solver == 'sgd' else 'iteration'} {result.n_iter}, after a "
                f"complete step: the model keeps the weights {kept} and is fitted.",
                UserWarning,
                stacklevel=3,
            )
            return
        tol, budget = (None, 0) if plan is None else plan.limits(solver)
        if tol is not None and not result.converged:
            unit = "epochs" if solver == "sgd" else "iterations"
            warnings.warn(
                f"{type(self).__name__} stopped at max_epochs={budget} ({unit} of "
                f"solver={solver!r}) before meeting tol={tol}; consider raising max_epochs.",
                convergence_warning(),
                stacklevel=3,
            )

    def save(self, path: Any, *, extra: dict[str, Any] | None = None) -> None:
        """Write the fitted model to ``path`` (str or os.PathLike) atomically, without pickle.

        :func:`linclf.load` reads it back (format: :mod:`linclf._formats.modelfile`); ``extra``
        is JSON-serializable data stored under ``meta["extra"]``, which ``load`` ignores.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write; an existing file is replaced only once the new one is whole.
        extra : dict or None, default None
            JSON-serializable data of your own (a dataset name, a date) saved with the model.
        """
        model = fitted_state(self)
        if extra is not None and not isinstance(extra, dict):
            raise TypeError(f"extra must be None or a dict, got {type(extra).__name__}")
        params = self.get_params(deep=False)
        if not (isinstance(params["dtype"], str) and params["dtype"] == "auto"):
            params["dtype"] = np.dtype(params["dtype"]).name
        if isinstance(params["random_state"], np.random.Generator):
            params["random_state"] = None  # a live generator is not a hyperparameter value
        if isinstance(params["class_weight"], dict):
            # [label, weight] pairs: a JSON object would turn int labels into strings.
            params["class_weight"] = list(params["class_weight"].items())
        meta, arrays = model.to_record()
        meta = {"estimator": type(self).__name__, "params": json_safe(params), **meta}
        write_model(path, {**meta, "extra": extra}, arrays)

    def decision_function(self, X: Any) -> np.ndarray:
        r"""Class scores :math:`S = X W^\top + b`, in bounded-memory row chunks.

        X is scanned for NaN/inf only when a score is non-finite: out-of-core X is read once.
        A Dask X (array or DataFrame) gives a lazy dask array, one task per row chunk, the
        model held once in the graph (docs/scaling.md); so do the other prediction methods.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array or DataFrame} of shape (n_samples, n_features)
            Samples with the features the model was fitted on, in any form ``fit`` takes.

        Returns
        -------
        ndarray of shape (n_samples, n_classes), or (n_samples,) for two classes
            Column ``c`` scores ``classes_[c]``; two classes: ``classes_[1]`` minus ``classes_[0]``.
        """
        model = fitted_state(self)
        if is_dask(X):
            return dask_predict(self, model, X, "decision")
        X = check_features(X, model, type(self).__name__, check_finite=False)
        with np.errstate(all="ignore"):  # a non-finite score is explained below
            S = batched_scores(X, self.coef_, self.intercept_)
            finite = np.isfinite(np.sum(S, dtype=np.float64))
        if not finite:
            check_X(X, accept_sparse=True, fits_dtype=self.coef_.dtype)  # names a bad entry
            rows = int(np.count_nonzero(~np.isfinite(S).all(axis=1)))
            raise ValueError(
                f"X is finite, but the scores X coef_.T + intercept_ of {rows} rows overflow "
                f"{self.coef_.dtype} (first at row {int(np.argmin(np.isfinite(S).all(axis=1)))}"
                "): those features are far outside the range the model was trained on"
            )
        return S.ravel() if self.coef_.shape[0] == 1 else S

    def _all_scores(self, X: Any) -> np.ndarray:
        """Scores of every class, (n_samples, n_classes): [0, f] for the binary model."""
        S = self.decision_function(X)
        return np.column_stack([np.zeros_like(S), S]) if S.ndim == 1 else S

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels, shape (n_samples,): the class of the highest score.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples, as for :meth:`decision_function`.

        Returns
        -------
        ndarray of shape (n_samples,)
            The label of ``classes_`` with the highest score, for each sample.
        """
        if is_dask(X):
            return dask_predict(self, fitted_state(self), X, "labels")
        S = self.decision_function(X)  # first: it raises NotFittedError when unfitted
        index = (S > 0).astype(np.intp) if S.ndim == 1 else np.argmax(S, axis=1)
        return self.classes_[index]

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Mean accuracy of ``predict(X)`` against ``y`` (weighted by ``sample_weight``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples, as for :meth:`decision_function`.
        y : array-like of shape (n_samples,)
            Their true labels, of the kind of ``classes_``.
        sample_weight : array-like of shape (n_samples,) or None, default None
            Non-negative weight of each sample in the mean; None weighs them equally.

        Returns
        -------
        float
            The (weighted) fraction of samples whose predicted label is ``y``'s; for a Dask
            X, reduced on the workers (y and the weights in memory or Dask collections).
        """
        if is_dask(X):
            return dask_score(self, fitted_state(self), X, y, sample_weight)
        predicted = self.predict(X)
        y = check_y(y, predicted.shape[0])
        same_label_kind(y, self.classes_)
        sample_weight = check_sample_weight(sample_weight, predicted.shape[0])
        return float(np.average(predicted == y, weights=sample_weight))


def _continued(plan: FitPlan, previous: Any) -> Any:
    """A fresh optimizer of the current hyperparameters (``set_params`` between
    ``partial_fit`` calls takes effect) carrying ``previous``'s progress: velocity, step and
    epoch counts, rate scale."""
    optimizer = plan.make_optimizer()
    fresh, state = optimizer.state_dict(), previous.state_dict()
    hyper = {k: v for k, v in fresh.items() if k in _HYPER or k.startswith("schedule.")}
    kept = {k: v for k, v in state.items() if not (k in _HYPER or k.startswith("schedule."))}
    if fresh["momentum"] == 0.0:  # no momentum: no velocity to carry
        kept = {k: v for k, v in kept.items() if not k.startswith("velocity.")}
    optimizer.load_state_dict({**kept, **hyper})
    return optimizer


_HYPER = ("learning_rate", "momentum", "nesterov")


def _copied_params(model: FittedModel) -> dict[str, np.ndarray | None]:
    """Copies of the trained rows to continue from: a failed call leaves ``model`` intact."""
    return {"W": model.W.copy(), "b": None if model.b is None else model.b.copy()}


class LinearSVM(_LinearClassifier):
    r"""Multiclass linear SVM (Weston–Watkins hinge), trained to its optimum or by minibatch SGD.

    Minimizes, over :math:`W \in \mathbb{R}^{C \times D}` and :math:`b \in \mathbb{R}^C`,

    .. math::

        \frac{1}{\sum_i w_i} \sum_i w_i \sum_{j \ne y_i}
        \max(0,\; s_{ij} - s_{iy_i} + \Delta) \;+\; \lambda \lVert W \rVert^2,
        \qquad s_i = W x_i + b,

    one true multiclass model (not one-vs-rest), on the batched CPU core. The defaults
    (docs/solvers.md) standardize in-memory X, choose :math:`\lambda`, and solve to the
    optimum: L-BFGS on a smoothed hinge driven to the hinge, certified by a duality gap.

    Parameters
    ----------
    reg : float or "auto", default "auto"
        L2 strength :math:`\lambda` (bias not penalized). ``"auto"``: chosen on a held-out
        20 % along a warm-started path from 2,500 rows on (with ``solver="lbfgs"``), else
        :math:`10/(2N)` (:math:`10/N` for two classes).
    solver : {"auto", "lbfgs", "sgd"}, default "auto"
        ``"lbfgs"``: deterministic full-batch solve (X in memory); ``"sgd"``: minibatch
        SGD (any X; the parameters ``learning_rate`` to ``shuffle`` apply to it only).
        ``"auto"``: ``"sgd"`` for out-of-core X or ``early_stopping``, else ``"lbfgs"``.
    learning_rate : float, default 0.003
        Base SGD step size :math:`\eta_0`.
    momentum : float, default 0.9
        :math:`\mu \in [0, 1)`: :math:`v \leftarrow \mu v + g`, :math:`w \leftarrow w - \eta v`.
    nesterov : bool, default False
        Nesterov momentum: :math:`w \leftarrow w - \eta (g + \mu v)`.
    schedule : str or Schedule, default "adaptive"
        ``"adaptive"``, ``"constant"``, ``"step"``, ``"invscaling"`` or ``"cosine"``
        (formulas in :mod:`linclf.optim`), or a schedule of that module, used as it is
        (``InvScalingSchedule(t0=100, power=1.0)``). ``"adaptive"`` divides the rate by 5
        at each ``tol`` plateau, up to 4 times, then stops; ``"cosine"`` anneals over
        ``max_epochs``.
    batch_size : int, default 64
        Rows per minibatch.
    max_epochs : int or "auto", default "auto"
        SGD epochs, or L-BFGS iterations, at most; ``"auto"``: 300 epochs, 3,000 iterations.
    tol : float, None or "auto", default "auto"
        SGD: stop when the epoch loss (validation accuracy with ``early_stopping``) has not
        improved by ``tol`` for ``n_iter_no_change`` epochs (``"auto"``: 1e-4). L-BFGS:
        the relative accuracy certified by the duality gap (``"auto"``: 1e-2). None: run
        ``max_epochs``.
    n_iter_no_change : int, default 5
        The patience of ``tol``, in epochs.
    early_stopping : bool, default False
        Hold out a stratified ``validation_fraction``, stop on its accuracy, keep the best epoch.
    validation_fraction : float, default 0.1
        Fraction held out with ``early_stopping``, in (0, 1).
    fit_intercept : bool, default True
        Learn the bias :math:`b` (else it is 0).
    standardize : bool or "auto", default "auto"
        Train on standardized features (sparse, or no intercept: scaled only) and publish
        coefficients for the raw ones; one more copy of X while fitting. ``"auto"``: when X
        is in memory (not in ``partial_fit``).
    class_weight : None, "balanced" or dict, default None
        Per-class sample-weight factors; ``"balanced"``: ``n_samples / (n_classes * count)``.
    shuffle : {True, "batches", "full", False}, default True
        ``True``/``"batches"``: permute once, then visit the minibatches in a new random
        order each epoch; ``"full"``: a new permutation each epoch; ``False``: data order.
    copy_X : bool, default True
        Train from one permuted copy of X; ``False`` gathers batches from X: less memory, slower.
    warm_start : bool, default False
        ``fit`` starts from the previous solution (same classes and features).
    dtype : {"auto", np.float32, np.float64}, default "auto"
        Training dtype, and so the dtype of ``coef_`` and of every prediction: ``"auto"``
        keeps float32 and float64 X as they are (as scikit-learn does) and trains other X
        in float64; np.float32 forces float32, faster for large float64 X.
    n_threads : "auto", int or None, default "auto"
        Threads during training: the BLAS's (needs threadpoolctl) and, for an int, the
        compiled kernel's (:func:`linclf.kernel_info`; ``"auto"``: every usable core); see
        :class:`linclf.Trainer`. A seed gives the same ``coef_`` for the same count.
    random_state : int, np.random.Generator or None
        Seed of shuffling and validation split: the same seed gives bit-identical ``coef_``.
    verbose : int or bool, default 0
        ``1`` (or True): a progress bar over epochs, ``2``: each epoch logged to
        ``"linclf"``. Ctrl-C stops after the current step, keeps the (best) weights fitted,
        and warns.
    delta : float, default 1.0
        Margin :math:`\Delta`.

    Attributes
    ----------
    coef_, intercept_ : ndarray of shape (n_classes, n_features) and (n_classes,)
        :math:`W` and :math:`b`; one row for two classes, :math:`w_1 - w_0`, :math:`b_1 - b_0`.
    classes_, n_features_in_, feature_names_in_ : ndarray, int, ndarray of str
        Sorted labels; feature count; column names of a DataFrame X with string names.
    n_iter_, loss_curve_, reg_, solver_ : int, list of float, float, str
        Epochs or iterations run (one epoch per ``partial_fit``), the objective after each,
        the L2 strength used, the solver used.
    reg_path_, reg_path_scores_ : ndarray
        When ``reg="auto"`` ran a path: the :math:`\lambda` tried and their held-out accuracy.
    validation_scores_, best_epoch_ : list of float, int
        With ``early_stopping``: held-out accuracy per epoch, and the epoch kept.

    Examples
    --------
    >>> import numpy as np
    >>> from linclf import LinearSVM
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(-2, 1, (50, 2)), rng.normal(2, 1, (50, 2))])
    >>> clf = LinearSVM(random_state=0).fit(X, ["neg"] * 50 + ["pos"] * 50)
    >>> clf.predict([[-3.0, -2.0], [2.5, 3.0]]).tolist(), clf.coef_.shape  # two classes: one row
    (['neg', 'pos'], (1, 2))
    """

    loss_name = "hinge"

    def __init__(
        self,
        *,
        reg: float | str = "auto",
        solver: str = "auto",
        learning_rate: float = 0.003,
        momentum: float = 0.9,
        nesterov: bool = False,
        schedule: str = "adaptive",
        batch_size: int = 64,
        max_epochs: int | str = "auto",
        tol: float | str | None = "auto",
        n_iter_no_change: int = 5,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        fit_intercept: bool = True,
        standardize: bool | str = "auto",
        class_weight: Any = None,
        shuffle: bool | str = True,
        copy_X: bool = True,
        warm_start: bool = False,
        dtype: Any = "auto",
        n_threads: int | str | None = "auto",
        random_state: int | np.random.Generator | None = None,
        verbose: int = 0,
        delta: float = 1.0,
    ) -> None:
        store_params(self, locals())


class SoftmaxClassifier(_LinearClassifier):
    r"""Multinomial logistic regression (softmax cross-entropy), by L-BFGS or minibatch SGD.

    Minimizes, over :math:`W \in \mathbb{R}^{C \times D}` and :math:`b \in \mathbb{R}^C`,

    .. math::

        \frac{1}{\sum_i w_i} \sum_i w_i \Bigl(\log \sum_j e^{s_{ij}} - s_{iy_i}\Bigr)
        \;+\; \lambda \lVert W \rVert^2, \qquad s_i = W x_i + b,

    and predicts probabilities :math:`p_{ij} = e^{s_{ij}} / \sum_k e^{s_{ik}}`. The
    defaults standardize in-memory X, choose :math:`\lambda` and run L-BFGS to the optimum.

    Parameters
    ----------
    reg : float or "auto", default "auto"
        L2 strength :math:`\lambda`; ``"auto"``: chosen on a held-out path from 2,500 rows
        on (``solver="lbfgs"``), else that of ``LogisticRegression(C=1)``: :math:`1/(2N)`,
        :math:`1/N` for two classes (``partial_fit``: its first chunk's N).
    solver, tol, max_epochs
        As for :class:`LinearSVM`; L-BFGS stops when an iteration lowers the objective
        :math:`f` by at most ``tol`` times :math:`\min(f, \log C - f)` (``"auto"``:
        2e-5, 1,000 iterations).
    learning_rate, batch_size : float, default 0.05; int, default 32
        Base SGD step size :math:`\eta_0`; rows per minibatch.
    momentum, nesterov, schedule, n_iter_no_change
        As for :class:`LinearSVM`, with the same defaults.
    early_stopping, validation_fraction, fit_intercept, standardize, class_weight
        As for :class:`LinearSVM`, with the same defaults.
    shuffle, copy_X, warm_start, dtype, n_threads, random_state, verbose
        As for :class:`LinearSVM`, with the same defaults.

    Attributes
    ----------
    coef_, intercept_, classes_, n_features_in_, feature_names_in_, n_iter_, loss_curve_
        As for :class:`LinearSVM`; so are ``reg_``, ``solver_``, ``reg_path_``,
        ``reg_path_scores_``, ``validation_scores_`` and ``best_epoch_``.

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

    loss_name = "softmax"

    def __init__(
        self,
        *,
        reg: float | str = "auto",
        solver: str = "auto",
        learning_rate: float = 0.05,
        momentum: float = 0.9,
        nesterov: bool = False,
        schedule: str = "adaptive",
        batch_size: int = 32,
        max_epochs: int | str = "auto",
        tol: float | str | None = "auto",
        n_iter_no_change: int = 5,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        fit_intercept: bool = True,
        standardize: bool | str = "auto",
        class_weight: Any = None,
        shuffle: bool | str = True,
        copy_X: bool = True,
        warm_start: bool = False,
        dtype: Any = "auto",
        n_threads: int | str | None = "auto",
        random_state: int | np.random.Generator | None = None,
        verbose: int = 0,
    ) -> None:
        store_params(self, locals())

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), by a stable softmax (no NaN/inf).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples, as for :meth:`decision_function`.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Column ``c`` is the probability of ``classes_[c]``; each row sums to 1.
        """
        if is_dask(X):
            return dask_predict(self, fitted_state(self), X, "proba")
        return softmax(self._all_scores(X))

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log class probabilities, shape (n_samples, n_classes), by a stable log-softmax.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples, as for :meth:`decision_function`.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            The log of :meth:`predict_proba`, computed without taking the log of 0.
        """
        if is_dask(X):
            return dask_predict(self, fitted_state(self), X, "log_proba")
        return log_softmax(self._all_scores(X))
