"""Exceptions and warnings raised by linclf.

``NotFittedError`` is a subclass of both :class:`ValueError` and :class:`AttributeError`,
as scikit-learn's is. When scikit-learn has been imported in the process, the error that
linclf actually raises is also an instance of ``sklearn.exceptions.NotFittedError``, so
code written against either class catches it. scikit-learn is never imported by linclf
just to raise an error: a caller who catches scikit-learn's class has imported it already.
"""

from __future__ import annotations

import functools
import sys

__all__ = [
    "ConvergenceWarning",
    "DataConversionWarning",
    "DivergenceError",
    "ModelFileError",
    "NotFittedError",
    "not_fitted_error",
]


class NotFittedError(ValueError, AttributeError):
    """Raised when a model is used before ``fit`` (or ``partial_fit``) was called."""


class DivergenceError(ValueError, FloatingPointError):
    """Raised when training produced a non-finite loss or parameter.

    The parameters are rolled back to the last finite state before it is raised.
    """


class ModelFileError(ValueError):
    """A model or checkpoint file is not a linclf file, is corrupted, or is too new."""


class ConvergenceWarning(UserWarning):
    """Training stopped at ``max_epochs`` while the loss still improved by more than ``tol``."""


class DataConversionWarning(UserWarning):
    """Input was accepted after a conversion the caller may not expect (e.g. y of shape (n, 1))."""


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
        An instance of :class:`NotFittedError`; also of
        ``sklearn.exceptions.NotFittedError`` when ``sklearn.exceptions`` is in ``sys.modules``.
    """
    sk_exceptions = sys.modules.get("sklearn.exceptions")
    if sk_exceptions is None:
        return NotFittedError(message)
    return _with_sklearn_base(sk_exceptions.NotFittedError)(message)
