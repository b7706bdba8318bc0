"""scikit-learn-style estimators on top of the Trainer and the batched core.

They follow scikit-learn's estimator contract without importing scikit-learn: keyword-only
hyperparameters that ``__init__`` only stores, validation in ``fit``, fitted attributes
ending in ``_``, ``fit`` returning ``self``, and ``get_params`` / ``set_params`` read from
the ``__init__`` signature, so that ``clone``, ``Pipeline`` and grid searches work.
"""

from __future__ import annotations

import inspect
import numbers
import warnings
from typing import Any

import numpy as np

from ._core import LinearObjective, batched_scores
from ._validation import (
    check_fits_dtype,
    check_sample_weight,
    check_scalar,
    check_X,
    check_y,
    encode_labels,
    resolve_dtype,
)
from .exceptions import ConvergenceWarning, not_fitted_error
from .optim import SGD
from .trainer import Trainer

__all__ = ["LinearSVM"]


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


class LinearSVM(_ParamsMixin):
    r"""Multiclass linear SVM (Weston–Watkins hinge), trained by minibatch SGD with momentum.

    Minimizes, over :math:`W \in \mathbb{R}^{C \times D}` and :math:`b \in \mathbb{R}^C`,

    .. math::

        \frac{1}{\sum_i w_i} \sum_i w_i \sum_{j \ne y_i} \max(0,\; s_{ij} - s_{iy_i} + \Delta)
        \;+\; \lambda \lVert W \rVert^2, \qquad s_i = W x_i + b,

    one true multiclass model (not one-vs-rest), with the batched CPU core.

    Parameters
    ----------
    reg : float, default 1e-3
        L2 strength :math:`\lambda` (the bias is not penalized).
    learning_rate : float, default 0.003
        SGD step size :math:`\eta`.
    momentum : float, default 0.9
        Momentum :math:`\mu` in ``[0, 1)``:
        :math:`v \leftarrow \mu v + g,\ w \leftarrow w - \eta v`.
    batch_size : int, default 64
        Rows per minibatch.
    max_epochs : int, default 300
        Passes over the data at most.
    tol : float or None, default 1e-4
        Stop when the epoch loss has not improved by ``tol`` for ``n_iter_no_change``
        epochs; ``None`` runs exactly ``max_epochs`` epochs.
    n_iter_no_change : int, default 5
    fit_intercept : bool, default True
    delta : float, default 1.0
        Margin :math:`\Delta`.
    shuffle : {True, "batches", "full", False}, default True
        ``True`` (= ``"batches"``): permute the rows once, then visit the contiguous
        minibatches in a new random order every epoch (fast: no row gathering).
        ``"full"``: a new permutation of all rows every epoch. ``False``: data order.
    copy_X : bool, default True
        Train from one permuted copy of X in the training dtype. ``False`` never copies
        X and gathers each batch from it instead: same model, less memory, slower.
    dtype : {np.float32, np.float64}, default np.float32
        Training dtype: float32 is faster, float64 more precise.
    random_state : int, np.random.Generator or None
        Seed of the shuffling: the same seed gives bit-identical ``coef_``.
    verbose : int, default 0
        ``1`` prints about ten progress lines per fit, ``2`` one line per epoch.

    Attributes
    ----------
    coef_ : ndarray of shape (n_classes, n_features)
        Class templates :math:`W`, one row per class of ``classes_``.
    intercept_ : ndarray of shape (n_classes,)
        Biases :math:`b` (zeros when ``fit_intercept=False``).
    classes_ : ndarray of shape (n_classes,)
        Sorted unique labels seen in ``fit``.
    n_features_in_ : int
    n_iter_ : int
        Epochs run.
    loss_curve_ : list of float
        Mean minibatch objective of each epoch.

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
    >>> clf.decision_function(X).shape
    (100, 2)
    """

    def __init__(
        self,
        *,
        reg: float = 1e-3,
        learning_rate: float = 0.003,
        momentum: float = 0.9,
        batch_size: int = 64,
        max_epochs: int = 300,
        tol: float | None = 1e-4,
        n_iter_no_change: int = 5,
        fit_intercept: bool = True,
        delta: float = 1.0,
        shuffle: bool | str = True,
        copy_X: bool = True,
        dtype: Any = np.float32,
        random_state: int | np.random.Generator | None = None,
        verbose: int = 0,
    ) -> None:
        self.reg = reg
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.fit_intercept = fit_intercept
        self.delta = delta
        self.shuffle = shuffle
        self.copy_X = copy_X
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LinearSVM:
        """Fit the model by minibatch SGD.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Labels of any sortable type (ints, strings); at least two distinct values.
        sample_weight : array-like of shape (n_samples,) or None
            Non-negative per-sample weights.

        Returns
        -------
        self : LinearSVM

        Raises
        ------
        ValueError, TypeError
            For invalid data or hyperparameters, naming them.
        DivergenceError
            When training produced a non-finite loss (learning rate too high, or features
            of very different scales).
        """
        name = type(self).__name__
        dtype = resolve_dtype(self.dtype)
        check_scalar(self.reg, "reg", numbers.Real, low=0.0)
        check_scalar(self.delta, "delta", numbers.Real, low=0.0)
        check_scalar(self.fit_intercept, "fit_intercept", bool)
        X = check_X(X, estimator_name=name)  # converted once, batch-ready, by the Trainer
        check_fits_dtype(X, dtype)
        classes, y_index = encode_labels(check_y(y, X.shape[0]))
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
        optimizer = SGD(self.learning_rate, momentum=self.momentum)
        trainer = Trainer(
            LinearObjective("hinge", reg=self.reg, delta=self.delta),
            optimizer,
            batch_size=self.batch_size,
            max_epochs=self.max_epochs,
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            shuffle=self.shuffle,
            copy_X=self.copy_X,
            random_state=self.random_state,
            verbose=self.verbose,
        )
        n_classes, n_features = classes.shape[0], X.shape[1]
        params = {
            "W": np.zeros((n_classes, n_features), dtype=dtype),
            "b": np.zeros(n_classes, dtype=dtype) if self.fit_intercept else None,
        }
        trainer.fit(params, X, y_index, sample_weight)
        if self.tol is not None and not trainer.converged_:
            warnings.warn(
                f"{name} stopped at max_epochs={self.max_epochs} while the loss was still "
                f"improving by more than tol={self.tol}; consider raising max_epochs.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.classes_ = classes
        self.coef_ = params["W"]
        self.intercept_ = params["b"] if self.fit_intercept else np.zeros(n_classes, dtype)
        self.n_features_in_ = n_features
        self.n_iter_ = trainer.n_epochs_
        self.loss_curve_ = list(trainer.history_["loss"])
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise not_fitted_error(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )

    def decision_function(self, X: Any) -> np.ndarray:
        """Class scores :math:`S = X W^\\top + b`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes), dtype of ``coef_``
            Column ``c`` scores class ``classes_[c]``. Computed in row chunks: memory
            beyond the output stays bounded for any number of rows.
        """
        self._check_fitted()
        name = type(self).__name__
        X = check_X(X, estimator_name=name)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {name} is expecting "
                f"{self.n_features_in_} features as input."
            )
        # Scored chunk by chunk in the model's dtype: check the narrowing cast up front.
        check_fits_dtype(X, self.coef_.dtype)
        return batched_scores(X, self.coef_, self.intercept_)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels: ``classes_[argmax_c S[:, c]]``, shape (n_samples,)."""
        scores = self.decision_function(X)  # first: it raises NotFittedError when unfitted
        return self.classes_[np.argmax(scores, axis=1)]

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Mean accuracy of ``predict(X)`` against ``y`` (weighted by ``sample_weight``)."""
        predicted = self.predict(X)
        y = check_y(y, predicted.shape[0])
        sample_weight = check_sample_weight(sample_weight, predicted.shape[0])
        return float(np.average(predicted == y, weights=sample_weight))
