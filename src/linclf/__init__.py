"""linclf: linear classifiers for NumPy, with analytic gradients checked numerically.

Scores ``S = X Wᵀ + b`` with ``W`` of shape (C, D); the multiclass SVM (Weston–Watkins)
loss with its vectorized gradient and a loop reference; a numerical gradient checker;
SGD with momentum; a Trainer on a batched CPU core; and scikit-learn-style estimators.
"""

from __future__ import annotations

from ._engine.core import LinearObjective
from ._version import __version__
from .estimator import LinearSVM, SoftmaxClassifier
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
from .persistence import load
from .trainer import Trainer

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
