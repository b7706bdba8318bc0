"""LinearSVM: accuracy against scikit-learn, determinism, separable data, the estimator contract."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from helpers import make_blobs
from linclf import LinearSVM, NotFittedError


def _standardized_split(loader, seed):
    X, y = loader(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, random_state=seed, stratify=y
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


@pytest.mark.parametrize(
    "loader", [load_digits, load_wine, load_breast_cancer], ids=["digits", "wine", "breast_cancer"]
)
@pytest.mark.parametrize("split_seed", [0, 1])
def test_default_accuracy_within_one_point_of_linearsvc(loader, split_seed):
    # Acceptance item 4: defaults, no tuning, standardized features, 80/20 split.
    X_train, X_test, y_train, y_test = _standardized_split(loader, split_seed)
    reference = LinearSVC().fit(X_train, y_train).score(X_test, y_test)
    ours = LinearSVM(random_state=0).fit(X_train, y_train).score(X_test, y_test)
    assert ours >= reference - 0.01, f"LinearSVM {ours:.4f} vs LinearSVC {reference:.4f}"


def test_same_random_state_gives_bit_identical_coef():
    # Acceptance item 5: determinism down to the bit, float32 default.
    X_train, _, y_train, _ = _standardized_split(load_wine, 0)
    a = LinearSVM(random_state=7, max_epochs=5, tol=None).fit(X_train, y_train)
    b = LinearSVM(random_state=7, max_epochs=5, tol=None).fit(X_train, y_train)
    assert a.coef_.tobytes() == b.coef_.tobytes()
    assert a.intercept_.tobytes() == b.intercept_.tobytes()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_separable_data_is_fit_perfectly(seed):
    # Acceptance item 5: well-separated blobs are linearly separable; the hinge reaches 100%.
    X, y = make_blobs(n_classes=4, seed=seed)
    assert LinearSVM(random_state=0).fit(X, y).score(X, y) == 1.0


def test_fitted_attributes_and_shapes():
    X, y = make_blobs(n_classes=3, n_features=5)
    labels = np.array(["cat", "dog", "frog"])[y]
    clf = LinearSVM(random_state=0, max_epochs=4, tol=None).fit(X, labels)
    assert clf.coef_.shape == (3, 5) and clf.coef_.dtype == np.float32
    assert clf.intercept_.shape == (3,)
    assert clf.classes_.tolist() == ["cat", "dog", "frog"]
    assert clf.n_features_in_ == 5
    assert clf.n_iter_ == 4 and len(clf.loss_curve_) == 4
    assert clf.decision_function(X).shape == (X.shape[0], 3)
    assert set(clf.predict(X)) <= {"cat", "dog", "frog"}


def test_decision_function_is_the_formula_and_predict_its_argmax():
    # S = X Wᵀ + b computed independently from the fitted attributes.
    X, y = make_blobs()
    clf = LinearSVM(random_state=0, dtype=np.float64).fit(X, y)
    S = clf.decision_function(X)
    np.testing.assert_allclose(S, X @ clf.coef_.T + clf.intercept_, rtol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[np.argmax(S, axis=1)])


def test_float64_training_keeps_float64():
    X, y = make_blobs()
    clf = LinearSVM(dtype=np.float64, random_state=0).fit(X, y)
    assert clf.coef_.dtype == np.float64 and clf.decision_function(X).dtype == np.float64


def test_fit_intercept_false_has_zero_intercept():
    X, y = make_blobs()
    clf = LinearSVM(fit_intercept=False, random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.intercept_, np.zeros(3, np.float32))


def test_score_weights():
    # Weighted accuracy: a sample weight of 0 removes a misclassified sample from the score.
    X, y = make_blobs()
    clf = LinearSVM(random_state=0).fit(X, y)
    y_wrong = y.copy()
    y_wrong[0] = (y[0] + 1) % 3
    w = np.ones_like(y, dtype=float)
    w[0] = 0.0
    assert clf.score(X, y_wrong) == pytest.approx(1 - 1 / len(y))
    assert clf.score(X, y_wrong, sample_weight=w) == 1.0


def test_get_set_params_and_clone_round_trip():
    clf = LinearSVM(reg=0.5, batch_size=32, dtype=np.float64)
    params = clf.get_params()
    assert params["reg"] == 0.5 and params["batch_size"] == 32 and params["dtype"] is np.float64
    assert clf.set_params(momentum=0.5) is clf and clf.momentum == 0.5
    copy = clone(clf)
    assert copy is not clf and copy.get_params() == clf.get_params()
    with pytest.raises(ValueError, match="Invalid parameter 'lr' for estimator LinearSVM"):
        clf.set_params(lr=0.1)


def test_hyperparameters_are_keyword_only_and_init_only_stores():
    # scikit-learn's contract: nothing is validated or derived in __init__.
    with pytest.raises(TypeError):
        LinearSVM(0.1)  # type: ignore[misc]
    clf = LinearSVM(learning_rate=-1.0)
    assert clf.learning_rate == -1.0
    with pytest.raises(ValueError, match="learning_rate"):
        clf.fit(*make_blobs())


def test_unfitted_use_raises_not_fitted_error():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        LinearSVM().predict(np.zeros((2, 3)))


def test_repr_shows_changed_parameters_only():
    assert repr(LinearSVM()) == "LinearSVM()"
    assert repr(LinearSVM(reg=0.5, dtype=np.float64)) == "LinearSVM(dtype=float64, reg=0.5)"


def test_pickle_round_trip_predicts_identically():
    X, y = make_blobs()
    clf = LinearSVM(random_state=0).fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.decision_function(X), clf.decision_function(X))


def test_convergence_warning_when_max_epochs_is_too_small():
    X, y = make_blobs()
    with pytest.warns(UserWarning, match="max_epochs=1"):
        LinearSVM(max_epochs=1, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LinearSVM(max_epochs=1, tol=None, random_state=0).fit(
            X, y
        )  # tol=None asks for exactly that
