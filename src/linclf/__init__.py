"""linclf: linear classifiers for NumPy, with analytic gradients checked numerically.

Scores ``S = X Wᵀ + b`` with ``W`` of shape (C, D); the multiclass SVM (Weston–Watkins)
loss with its vectorized gradient and a loop reference; a numerical gradient checker;
SGD with momentum; a Trainer on a batched CPU core; and scikit-learn-style estimators.

The estimators (and :func:`load`, which makes them) are imported on first use: with
scikit-learn installed they are built on its bases, and importing it takes seconds, which
``import linclf`` for the losses and the gradient checker should not pay.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._engine.compiled import kernel_info
from ._engine.core import LinearObjective
from ._version import __version__
from .exceptions import (
    ConvergenceWarning,
    DataConversionWarning,
    DivergenceError,
    LostDataError,
    ModelFileError,
    NotFittedError,
)
from .gradcheck import (
    GradientCheckResult,
    assert_gradient_close,
    check_gradient,
    numerical_gradient,
    numerical_gradient_array,
)
from .linear import linear_backward, linear_forward
from .losses import LOSSES, log_softmax, multiclass_hinge, softmax, softmax_cross_entropy
from .objective import (
    l2_penalty,
    linear_objective,
    softmax_loss,
    softmax_loss_naive,
    svm_loss,
    svm_loss_naive,
)
from .optim import SGD
from .trainer import Trainer

if TYPE_CHECKING:
    from .estimator import LinearSVM, SoftmaxClassifier
    from .persistence import load

# Public names imported on first access (PEP 562), by the module that defines them.
_LAZY = {"LinearSVM": "estimator", "SoftmaxClassifier": "estimator", "load": "persistence"}

__all__ = [
    "LOSSES",
    "SGD",
    "ConvergenceWarning",
    "DataConversionWarning",
    "DivergenceError",
    "GradientCheckResult",
    "LinearObjective",
    "LinearSVM",
    "LostDataError",
    "ModelFileError",
    "NotFittedError",
    "SoftmaxClassifier",
    "Trainer",
    "__version__",
    "assert_gradient_close",
    "check_gradient",
    "kernel_info",
    "l2_penalty",
    "linear_backward",
    "linear_forward",
    "linear_objective",
    "load",
    "log_softmax",
    "multiclass_hinge",
    "numerical_gradient",
    "numerical_gradient_array",
    "softmax",
    "softmax_cross_entropy",
    "softmax_loss",
    "softmax_loss_naive",
    "svm_loss",
    "svm_loss_naive",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups find it without this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
