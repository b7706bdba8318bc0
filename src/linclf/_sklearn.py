"""scikit-learn's estimator bases when scikit-learn is installed, linclf's own otherwise.

The one place that decides which world linclf's estimators live in. With scikit-learn
importable, :mod:`linclf.estimator` builds them on ``sklearn.base.ClassifierMixin`` and
``BaseEstimator``, so they get what those give: ``get_params`` / ``set_params`` and the
repr, the notebook HTML repr with its fitted badge, metadata routing
(``set_fit_request``, ``set_partial_fit_request``, ``set_score_request``), tags and the
version stamp in pickles. Without it they use :class:`ParamsMixin`, which implements the
parameter contract (``clone``-compatible ``get_params`` / ``set_params``, a repr of the
changed parameters) with no import of scikit-learn. The decision is taken once, when
:mod:`linclf.estimator` is first imported; ``import linclf`` alone does not take it.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

__all__ = ["ParamsMixin", "estimator_bases", "store_params"]


def estimator_bases() -> tuple[type, ...]:
    """The base classes of linclf's classifiers in this process.

    Returns
    -------
    tuple of type
        ``(sklearn.base.ClassifierMixin, sklearn.base.BaseEstimator)`` when
        ``sklearn.base`` imports, else ``(ParamsMixin,)``.
    """
    try:
        from sklearn.base import BaseEstimator, ClassifierMixin
    except ImportError:
        return (ParamsMixin,)
    return (ClassifierMixin, BaseEstimator)


def _param_names(cls: type) -> list[str]:
    signature = inspect.signature(cls.__init__)
    return sorted(
        name
        for name, p in signature.parameters.items()
        if name != "self" and p.kind is not p.VAR_KEYWORD
    )


def store_params(estimator: Any, values: dict[str, Any]) -> None:
    """The body of an estimator's ``__init__``: store each hyperparameter under its name.

    Parameters
    ----------
    estimator : object
        The estimator being initialized.
    values : dict
        ``locals()`` of its ``__init__``: every parameter of the signature by name.
    """
    for name in _param_names(type(estimator)):
        setattr(estimator, name, values[name])


class ParamsMixin:
    """``get_params`` / ``set_params`` / ``repr`` from the ``__init__`` signature.

    The estimator contract of scikit-learn without importing it, for processes where it is
    not installed (see :func:`estimator_bases`).
    """

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyperparameters as ``{name: value}``.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of nested estimators, as ``name__param``.

        Returns
        -------
        dict
            Each ``__init__`` parameter's current value, by name.
        """
        params = {}
        for name in _param_names(type(self)):
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                params.update((f"{name}__{k}", v) for k, v in value.get_params().items())
            params[name] = value
        return params

    def set_params(self, **params: Any) -> Any:
        """Set hyperparameters by name (``name__param`` for a nested one).

        Parameters
        ----------
        **params : dict
            New values by parameter name; an unknown name raises ``ValueError``.

        Returns
        -------
        self
            The estimator.
        """
        valid = _param_names(type(self))
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
        for name in _param_names(type(self)):
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
