"""With scikit-learn installed, the estimators are scikit-learn's by inheritance (issue 13).

What its bases give is checked through scikit-learn's own tools: the HTML repr and its
fitted badge, tags, and metadata routing (``sample_weight`` reaching ``fit`` through
Pipeline, GridSearchCV, cross_validate and CalibratedClassifierCV, seen by a spy). The
world without scikit-learn is tested by test_without_sklearn.py and by the CI step that runs
the suite with scikit-learn uninstalled.
"""

from __future__ import annotations

import pickle
import warnings
from typing import ClassVar

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.base import BaseEstimator, ClassifierMixin, clone  # noqa: E402
from sklearn.calibration import CalibratedClassifierCV  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils import get_tags  # noqa: E402

import linclf  # noqa: E402
from linclf import LinearSVM, SoftmaxClassifier  # noqa: E402
from linclf.exceptions import InconsistentVersionWarning  # noqa: E402

ESTIMATORS = [LinearSVM, SoftmaxClassifier]


def _data(n=90, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4))
    y = np.argmax(X[:, :3] + 0.3 * rng.standard_normal((n, 3)), axis=1)
    weights = rng.integers(1, 4, size=n).astype(np.float64)
    return X, y, weights


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_the_estimators_inherit_scikit_learns_bases(Estimator):
    assert issubclass(Estimator, BaseEstimator)
    assert issubclass(Estimator, ClassifierMixin)
    tags = get_tags(Estimator())
    assert tags.estimator_type == "classifier"
    assert tags.input_tags.sparse is True
    assert tags.target_tags.required is True


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_the_html_repr_shows_the_fitted_badge_only_after_fit(Estimator):
    X, y, _ = _data()
    estimator = Estimator(reg=0.1)
    unfitted = estimator._repr_html_()
    assert "sk-estimator fitted" not in unfitted
    assert "<span>Not fitted</span>" in unfitted
    fitted = estimator.fit(X, y)._repr_html_()
    assert "<span>Fitted</span>" in fitted
    assert Estimator.__name__ in fitted


def test_the_repr_is_scikit_learns_wrapped_one():
    long = LinearSVM(
        reg=0.5, learning_rate=0.1, momentum=0.5, nesterov=True, batch_size=128, tol=1e-3
    )
    lines = repr(long).splitlines()
    assert len(lines) == 2  # wrapped at scikit-learn's width, continued under the paren
    assert lines[1].startswith(" " * len("LinearSVM("))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_a_pickle_carries_the_linclf_version_and_warns_when_it_differs(Estimator):
    X, y, _ = _data()
    model = Estimator(random_state=0).fit(X, y)
    state = model.__getstate__()
    assert state["_linclf_version"] == linclf.__version__
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same version: no warning
        again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.decision_function(X), model.decision_function(X))
    older = Estimator.__new__(Estimator)
    with pytest.warns(InconsistentVersionWarning, match="written by linclf 0.0.1"):
        older.__setstate__(dict(state, _linclf_version="0.0.1"))
    np.testing.assert_array_equal(older.decision_function(X), model.decision_function(X))


# --- metadata routing: a spy on fit's sample_weight -------------------------------------


class _Spy(LinearSVM):
    """LinearSVM that records the ``sample_weight`` each ``fit`` received (class-level log,
    since clones are new instances)."""

    calls: ClassVar[list] = []

    def fit(self, X, y, sample_weight=None):
        type(self).calls.append(None if sample_weight is None else np.array(sample_weight))
        return super().fit(X, y, sample_weight=sample_weight)


@pytest.fixture
def spy():
    _Spy.calls = []
    with sklearn.config_context(enable_metadata_routing=True):
        spy = _Spy(random_state=0).set_fit_request(sample_weight=True)
        yield spy.set_score_request(sample_weight=True)  # score consumes them too


def test_set_fit_request_and_set_score_request_exist():
    for method in ("set_fit_request", "set_partial_fit_request", "set_score_request"):
        assert callable(getattr(LinearSVM(), method))
    with sklearn.config_context(enable_metadata_routing=True):
        requests = LinearSVM().set_fit_request(sample_weight=True).get_metadata_routing()
        assert requests.fit.requests == {"sample_weight": True}


def test_routing_passes_sample_weight_through_a_pipeline(spy):
    X, y, w = _data()
    scaler = StandardScaler().set_fit_request(sample_weight=False)
    make_pipeline(scaler, spy).fit(X, y, sample_weight=w)
    assert len(_Spy.calls) == 1
    np.testing.assert_array_equal(_Spy.calls[0], w)


def test_routing_passes_each_folds_weights_through_cross_validate(spy):
    X, y, w = _data()
    cv = StratifiedKFold(3)
    cross_validate(spy, X, y, cv=cv, params={"sample_weight": w})
    expected = [w[train] for train, _ in cv.split(X, y)]
    assert len(_Spy.calls) == 3
    for got, want in zip(_Spy.calls, expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_routing_passes_sample_weight_through_a_grid_search(spy):
    X, y, w = _data()
    search = GridSearchCV(spy, {"reg": [0.01, 0.1]}, cv=StratifiedKFold(3)).fit(
        X, y, sample_weight=w
    )
    assert len(_Spy.calls) == 2 * 3 + 1  # every fold of each value, then the refit
    assert all(call is not None for call in _Spy.calls)
    np.testing.assert_array_equal(_Spy.calls[-1], w)  # the refit on all rows
    assert search.best_estimator_.n_features_in_ == 4


def test_routing_passes_sample_weight_through_calibration(spy):
    X, y, w = _data()
    CalibratedClassifierCV(spy, cv=StratifiedKFold(3)).fit(X, y, sample_weight=w)
    assert len(_Spy.calls) == 3
    for got, (train, _) in zip(_Spy.calls, StratifiedKFold(3).split(X, y), strict=True):
        np.testing.assert_array_equal(got, w[train])


def test_an_unrequested_weight_is_refused_not_dropped():
    X, y, w = _data()
    with sklearn.config_context(enable_metadata_routing=True):
        with pytest.raises(ValueError, match="sample_weight"):
            make_pipeline(LinearSVM()).fit(X, y, sample_weight=w)


def test_a_clone_keeps_the_request():
    with sklearn.config_context(enable_metadata_routing=True):
        original = LinearSVM().set_fit_request(sample_weight=True)
        copy = clone(original)
        assert copy.get_metadata_routing().fit.requests == {"sample_weight": True}
