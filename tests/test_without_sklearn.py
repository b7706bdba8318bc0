"""Without scikit-learn, the estimators keep linclf's own bases and the same contract.

A fresh interpreter in which ``import sklearn`` fails (``sys.modules["sklearn"] = None``,
what Python does for a package that is not there) runs the script below; the CI step that
uninstalls scikit-learn runs the whole suite in that world too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import pickle, sys, warnings
sys.modules["sklearn"] = None  # as if scikit-learn were not installed
import numpy as np
import linclf
from linclf import LinearSVM, SoftmaxClassifier
from linclf._sklearn import ParamsMixin

rng = np.random.default_rng(0)
X = rng.standard_normal((80, 3))
y = np.argmax(X, axis=1)
for Estimator in (LinearSVM, SoftmaxClassifier):
    names = [c.__name__ for c in Estimator.__mro__]
    assert "BaseEstimator" not in names and issubclass(Estimator, ParamsMixin), names
    estimator = Estimator(reg=0.5, dtype=np.float64)
    assert repr(estimator) == f"{Estimator.__name__}(dtype=float64, reg=0.5)", repr(estimator)
    params = estimator.get_params()
    assert params["reg"] == 0.5 and "random_state" in params
    copy = Estimator(**params)  # what clone does
    assert copy.get_params() == params
    try:
        estimator.set_params(lr=0.1)
    except ValueError as error:
        assert "Invalid parameter 'lr'" in str(error)
    else:
        raise AssertionError("set_params(lr=...) was accepted")
    model = Estimator(random_state=0).fit(X, y)
    assert model.score(X, y) > 0.9
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.decision_function(X), model.decision_function(X))
    assert model.__getstate__()["_linclf_version"] == linclf.__version__
with warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter("always")
    LinearSVM(solver="sgd", max_epochs=1, tol=1e-12, random_state=0).fit(X, y)
kinds = [w.category for w in seen]
assert linclf.ConvergenceWarning in kinds, kinds  # linclf's own class, not a subclass
assert not any(name == "sklearn" or name.startswith("sklearn.") for name in sys.modules
               if sys.modules[name] is not None)
print("ok")
"""


def test_without_scikit_learn_the_estimators_keep_their_contract():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parent,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
