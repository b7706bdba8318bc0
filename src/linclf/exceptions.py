"""Exceptions and warnings raised by linclf.

The ``NotFittedError`` raised is also scikit-learn's when ``sklearn`` is already imported.
"""

from __future__ import annotations

import functools
import sys

__all__ = [
    "ConvergenceWarning",
    "DataConversionWarning",
    "DivergenceError",
    "InconsistentVersionWarning",
    "LostDataError",
    "ModelFileError",
    "NotFittedError",
    "convergence_warning",
    "not_fitted_error",
]


class NotFittedError(ValueError, AttributeError):
    """Raised when a model is used before ``fit`` (or ``partial_fit``) was called."""


class DivergenceError(ValueError, FloatingPointError):
    """Training produced a non-finite loss or parameter (rolled back to the last finite one)."""


class LostDataError(RuntimeError):
    """Input chunks of :func:`linclf.distributed.fit` were lost with a worker, and Dask cannot
    recompute them (data the caller scattered has no lineage)."""


class ModelFileError(ValueError):
    """A model or checkpoint file is not a linclf file, is corrupted, or is too new."""


class ConvergenceWarning(UserWarning):
    """Training stopped at ``max_epochs`` while the loss still improved by more than ``tol``
    (or may stop far from the optimum). When scikit-learn is loaded, linclf warns with a
    subclass that is also scikit-learn's ``ConvergenceWarning`` (see
    :func:`convergence_warning`), so a filter on either class silences it."""


class InconsistentVersionWarning(UserWarning):
    """An estimator was unpickled in another linclf version than the one that pickled it.

    Pickles are for moving a model between processes of one installation; ``save`` /
    ``linclf.load`` files are the format that is kept readable across versions."""


class DataConversionWarning(UserWarning):
    """Input was accepted after a conversion the caller may not expect (e.g. y of shape (n, 1))."""


@functools.cache
def _with_sklearn_warning(sklearn_warning: type) -> type:
    # One class per process that both libraries' warning filters match.
    combined = type("ConvergenceWarning", (ConvergenceWarning, sklearn_warning), {})
    combined.__module__ = __name__
    return combined


def convergence_warning() -> type:
    """The ``ConvergenceWarning`` class to warn with: also a subclass of scikit-learn's
    ``ConvergenceWarning`` when ``sklearn.exceptions`` is loaded, so that a filter on either
    class (``warnings.filterwarnings("ignore", category=...)``) silences linclf's too.

    Returns
    -------
    type
        :class:`ConvergenceWarning`, or a subclass of it and of scikit-learn's.
    """
    sk_exceptions = sys.modules.get("sklearn.exceptions")
    if sk_exceptions is None:
        return ConvergenceWarning
    return _with_sklearn_warning(sk_exceptions.ConvergenceWarning)


@functools.cache
def _with_sklearn_base(sklearn_not_fitted: type) -> type:
    # One class per process that both libraries' ``except`` clauses catch.
    combined = type("NotFittedError", (NotFittedError, sklearn_not_fitted), {})
    combined.__module__ = __name__
    return combined


def not_fitted_error(message: str) -> NotFittedError:
    """Build the ``NotFittedError`` to raise, compatible with scikit-learn's when it is loaded.

    Parameters
    ----------
    message : str
        The error message.

    Returns
    -------
    NotFittedError
        Also a ``sklearn.exceptions.NotFittedError`` when that module is loaded.
    """
    sk_exceptions = sys.modules.get("sklearn.exceptions")
    if sk_exceptions is None:
        return NotFittedError(message)
    return _with_sklearn_base(sk_exceptions.NotFittedError)(message)
