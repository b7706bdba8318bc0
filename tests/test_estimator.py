"""LinearSVM: accuracy against scikit-learn, determinism, separable data, the estimator contract."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

from helpers import make_blobs
from linclf import LinearSVM, NotFittedError, SoftmaxClassifier
from linclf.estimator import fitted_state

# scikit-learn's data sets, split and scaling, and its models as references: the tests that
# use them skip in the CI step without scikit-learn (the rest of the file runs there too).
LOADERS = ["digits", "wine", "breast_cancer"]


def _load(name):
    datasets = pytest.importorskip("sklearn.datasets")
    return getattr(datasets, f"load_{name}")(return_X_y=True)


def _standardized_split(name, seed):
    X, y = _load(name)
    train_test_split = pytest.importorskip("sklearn.model_selection").train_test_split
    StandardScaler = pytest.importorskip("sklearn.preprocessing").StandardScaler
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, random_state=seed, stratify=y
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


@pytest.mark.parametrize("loader", LOADERS)
@pytest.mark.parametrize("split_seed", [0, 1])
def test_default_accuracy_within_one_point_of_linearsvc(loader, split_seed):
    # Acceptance item 4: defaults, no tuning, standardized features, 80/20 split.
    X_train, X_test, y_train, y_test = _standardized_split(loader, split_seed)
    LinearSVC = pytest.importorskip("sklearn.svm").LinearSVC
    reference = LinearSVC().fit(X_train, y_train).score(X_test, y_test)
    ours = LinearSVM(random_state=0).fit(X_train, y_train).score(X_test, y_test)
    assert ours >= reference - 0.01, f"LinearSVM {ours:.4f} vs LinearSVC {reference:.4f}"


def test_same_random_state_gives_bit_identical_coef():
    # Acceptance item 5: determinism down to the bit, float32 default.
    X_train, _, y_train, _ = _standardized_split("wine", 0)
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
    assert clf.coef_.shape == (3, 5) and clf.coef_.dtype == np.float64  # X's dtype
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
    copy = pytest.importorskip("sklearn.base").clone(clf)
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
    # scikit-learn's repr when it is installed, linclf's own otherwise (the exact text of
    # each: test_sklearn_native.py and test_without_sklearn.py).
    assert repr(LinearSVM()) == "LinearSVM()"
    shown = repr(LinearSVM(reg=0.5, dtype=np.float64))
    assert (shown.startswith("LinearSVM(dtype=") and shown.endswith("float64'>, reg=0.5)")) or (
        shown == "LinearSVM(dtype=float64, reg=0.5)"
    )
    assert shown.count("=") == 2


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


@pytest.mark.parametrize("Estimator", [LinearSVM, SoftmaxClassifier])
def test_binary_problems_have_scikit_learns_shapes(Estimator):
    # Two classes: coef_ (1, D) = w_1 - w_0, decision_function (N,), positive -> classes_[1].
    X, y = make_blobs(n_classes=2, seed=3)
    labels = np.array(["no", "yes"])[y]
    clf = Estimator(solver="sgd", standardize=False, random_state=0, dtype=np.float64)
    clf.fit(X, labels)
    W = fitted_state(clf).W
    assert clf.coef_.shape == (1, X.shape[1]) and clf.intercept_.shape == (1,)
    np.testing.assert_allclose(clf.coef_[0], W[1] - W[0], rtol=1e-12)
    d = clf.decision_function(X)
    assert d.shape == (X.shape[0],)
    np.testing.assert_allclose(d, X @ clf.coef_[0] + clf.intercept_[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), np.where(d > 0, "yes", "no"))
    assert clf.score(X, labels) == 1.0


def test_binary_model_difference_equals_the_two_row_scores():
    # The published row reproduces s_1 - s_0 of the trained two-row model exactly.
    X, y = make_blobs(n_classes=2, seed=4)
    clf = LinearSVM(solver="sgd", standardize=False, random_state=1, dtype=np.float64)
    clf.set_params(max_epochs=5, tol=None)
    clf.fit(X, y)
    W, b = fitted_state(clf).W, fitted_state(clf).b
    S = X @ W.T + b
    np.testing.assert_allclose(clf.decision_function(X), S[:, 1] - S[:, 0], rtol=1e-10)


def test_partial_fit_over_chunks_reaches_fit_accuracy():
    # Acceptance item 5: 10 chunks × 10 passes within 1 point of fit (digits, standardized).
    X_train, X_test, y_train, y_test = _standardized_split("digits", 0)
    full = LinearSVM(random_state=0).fit(X_train, y_train).score(X_test, y_test)
    clf = LinearSVM(random_state=0)
    chunks = np.array_split(np.arange(X_train.shape[0]), 10)
    for _ in range(10):
        for chunk in chunks:
            clf.partial_fit(X_train[chunk], y_train[chunk], classes=np.arange(10))
    assert clf.n_iter_ == 100
    assert clf.score(X_test, y_test) >= full - 0.01


def test_partial_fit_keeps_momentum_between_calls():
    # The optimizer object (and its velocity) survives from call to call.
    X, y = make_blobs()
    clf = LinearSVM(random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    velocity = fitted_state(clf).optimizer.state_dict()["velocity.W"].copy()
    clf.partial_fit(X, y)
    optimizer = fitted_state(clf).optimizer
    assert optimizer.t == 2 * -(-X.shape[0] // clf.batch_size)  # the steps of both calls
    assert not np.array_equal(optimizer.state_dict()["velocity.W"], velocity)


def test_partial_fit_argument_errors():
    X, y = make_blobs()
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        LinearSVM().partial_fit(X, y)
    clf = LinearSVM().partial_fit(X, y, classes=[0, 1, 2, 3])
    with pytest.raises(ValueError, match="is not the same as on last call to partial_fit"):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"y contains labels not in classes: \[7\]"):
        clf.partial_fit(X, np.full(X.shape[0], 7))
    with pytest.raises(ValueError, match="X has 2 features, but LinearSVM is expecting 4"):
        clf.partial_fit(X[:, :2], y)
    with pytest.raises(ValueError, match="class_weight='balanced' is not supported"):
        LinearSVM(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])


def test_class_weight_balanced_improves_minority_recall():
    # Acceptance item 6: on a 95/5 imbalanced, overlapping problem, "balanced" raises the
    # recall of the minority class.
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (950, 2)), rng.normal(1.5, 1, (50, 2))])
    y = np.r_[np.zeros(950, int), np.ones(50, int)]
    plain = LinearSVM(random_state=0).fit(X, y)
    balanced = LinearSVM(random_state=0, class_weight="balanced").fit(X, y)
    recall = [np.mean(model.predict(X[y == 1]) == 1) for model in (plain, balanced)]
    assert recall[1] > recall[0] + 0.2


def test_class_weight_dict_equals_sample_weight():
    # class_weight={c: w} is the same as sample_weight = w[y] (same batches, same numbers).
    X, y = make_blobs()
    a = LinearSVM(random_state=0, class_weight={1: 3.0}).fit(X, y)
    b = LinearSVM(random_state=0).fit(X, y, sample_weight=np.where(y == 1, 3.0, 1.0))
    np.testing.assert_array_equal(a.coef_, b.coef_)


def test_early_stopping_keeps_the_best_epoch():
    X_train, _, y_train, _ = _standardized_split("digits", 0)
    clf = LinearSVM(random_state=0, early_stopping=True, learning_rate=0.05).fit(X_train, y_train)
    scores = clf.validation_scores_
    assert clf.n_iter_ == len(scores) < 300
    assert scores[clf.best_epoch_ - 1] == max(scores)
    # The kept weights are the best epoch's: they reproduce its validation accuracy.
    assert clf.best_epoch_ <= clf.n_iter_


def test_warm_start_continues_from_previous_coef():
    X, y = make_blobs()
    sgd = dict(solver="sgd", max_epochs=3, tol=None)
    clf = LinearSVM(random_state=0, warm_start=True, **sgd).fit(X, y)
    first = clf.coef_.copy()
    clf.set_params(learning_rate=1e-12).fit(X, y)  # a negligible step: stays where it was
    np.testing.assert_allclose(clf.coef_, first, atol=1e-6)
    cold = LinearSVM(random_state=0, learning_rate=1e-12, **sgd).fit(X, y)
    assert np.abs(cold.coef_).max() < 1e-6  # from zeros, it would stay near zero


@pytest.mark.parametrize("schedule", ["constant", "step", "invscaling", "cosine"])
def test_schedules_train(schedule):
    X, y = make_blobs()
    clf = LinearSVM(random_state=0, schedule=schedule, learning_rate=0.05).fit(X, y)
    assert clf.score(X, y) == 1.0


def test_nesterov_requires_momentum_and_trains():
    X, y = make_blobs()
    assert LinearSVM(random_state=0, nesterov=True).fit(X, y).score(X, y) == 1.0
    with pytest.raises(
        ValueError, match=r"Nesterov momentum \(nesterov=True\) requires momentum > 0"
    ):
        LinearSVM(nesterov=True, momentum=0.0).fit(X, y)


@pytest.mark.parametrize("fmt", ["csr_matrix", "csc_matrix", "csr_array", "coo_matrix"])
@pytest.mark.parametrize("Estimator", [LinearSVM, SoftmaxClassifier])
def test_sparse_fit_equals_dense_fit(fmt, Estimator):
    # Acceptance item 3: the same batches and the same arithmetic up to float rounding.
    import scipy.sparse

    rng = np.random.default_rng(0)
    dense = rng.normal(size=(120, 30)) * (rng.random((120, 30)) < 0.2)
    y = rng.integers(0, 3, 120)
    sparse = getattr(scipy.sparse, fmt)(dense)
    kwargs = dict(random_state=0, dtype=np.float64, max_epochs=20, tol=None)
    kwargs |= dict(solver="sgd", standardize=False)  # the same minibatches, bit for bit
    a = Estimator(**kwargs).fit(dense, y)
    b = Estimator(**kwargs).fit(sparse, y)
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        b.decision_function(sparse), a.decision_function(dense), rtol=1e-9, atol=1e-12
    )


def test_sparse_input_is_never_densified():
    # A 500 × 1,000,000 CSR matrix would need 2 GB dense (4 GB in float64); fitting and
    # predicting it must not try (the peak-memory benchmark measures this at full scale).
    import scipy.sparse

    # A Generator, not a seed: the legacy RandomState draws its positions in 45 s here.
    X = scipy.sparse.random(
        500, 1_000_000, density=1e-5, format="csr", rng=np.random.default_rng(0)
    )
    y = np.arange(500) % 2
    clf = LinearSVM(random_state=0, max_epochs=2, tol=None).fit(X, y)
    assert clf.coef_.shape == (1, 1_000_000)
    assert clf.predict(X[:5]).shape == (5,)


def test_pandas_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = make_blobs()
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = LinearSVM(random_state=0).fit(frame, y)
    assert clf.feature_names_in_.tolist() == ["a", "b", "c", "d"]
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        clf.predict(X)
    with pytest.raises(ValueError, match="The feature names should match"):
        clf.predict(frame.rename(columns={"a": "z"}))
    plain = LinearSVM(random_state=0).fit(X, y)
    with pytest.warns(UserWarning, match="X has feature names, but LinearSVM was fitted without"):
        plain.predict(frame)


@pytest.mark.parametrize("loader", LOADERS)
@pytest.mark.parametrize("split_seed", [0, 1])
def test_softmax_defaults_match_logistic_regression(loader, split_seed):
    # Acceptance item 4: accuracy within 1 point of LogisticRegression(), and probabilities
    # calibrated as well, by held-out log-loss within 10%.
    LogisticRegression = pytest.importorskip("sklearn.linear_model").LogisticRegression
    log_loss = pytest.importorskip("sklearn.metrics").log_loss
    X_train, X_test, y_train, y_test = _standardized_split(loader, split_seed)
    reference = LogisticRegression().fit(X_train, y_train)
    ours = SoftmaxClassifier(random_state=0).fit(X_train, y_train)
    assert ours.score(X_test, y_test) >= reference.score(X_test, y_test) - 0.01
    ours_loss = log_loss(y_test, ours.predict_proba(X_test), labels=ours.classes_)
    reference_loss = log_loss(y_test, reference.predict_proba(X_test), labels=reference.classes_)
    assert ours_loss <= 1.10 * reference_loss, (ours_loss, reference_loss)


def test_predict_proba_is_stable_and_consistent():
    # Huge scores: rows still sum to 1, no NaN/inf; log-proba is the log of proba.
    X, y = make_blobs()
    clf = SoftmaxClassifier(random_state=0).fit(X, y)
    X_far = X * 1e6
    proba = clf.predict_proba(X_far)
    assert np.all(np.isfinite(proba)) and np.allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    log_proba = clf.predict_log_proba(X)
    np.testing.assert_allclose(np.exp(log_proba), clf.predict_proba(X), rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[np.argmax(clf.predict_proba(X), 1)])


@pytest.mark.parametrize("Estimator", [LinearSVM, SoftmaxClassifier])
def test_standardize_equals_training_on_standardized_features(Estimator):
    # standardize=True trains on z = (x - mean) / std and publishes the raw-feature model:
    # its scores on X equal those of a model trained on Z, scored on Z.
    X, y = _load("wine")
    mean, std = X.mean(axis=0), X.std(axis=0)
    Z = (X - mean) / std
    kwargs = dict(random_state=0, dtype=np.float64, max_epochs=30, tol=None)
    folded = Estimator(standardize=True, **kwargs).fit(X, y)
    plain = Estimator(**kwargs).fit(Z, y)
    np.testing.assert_allclose(
        folded.decision_function(X), plain.decision_function(Z), rtol=1e-8, atol=1e-9
    )
    np.testing.assert_allclose(folded.coef_ * std, plain.coef_, rtol=1e-8, atol=1e-12)


def test_standardize_sparse_scales_without_centering():
    import scipy.sparse

    X, y = _load("wine")
    std = np.sqrt(np.maximum((X**2).mean(0) - X.mean(0) ** 2, 0))
    kwargs = dict(random_state=0, dtype=np.float64, max_epochs=20, tol=None, solver="sgd")
    folded = LinearSVM(standardize=True, **kwargs).fit(scipy.sparse.csr_matrix(X), y)
    plain = LinearSVM(standardize=False, **kwargs).fit(X / std, y)
    np.testing.assert_allclose(
        folded.decision_function(X), plain.decision_function(X / std), rtol=1e-8, atol=1e-9
    )
    with pytest.raises(ValueError, match="standardize=True is not supported by partial_fit"):
        LinearSVM(standardize=True).partial_fit(X, y, classes=[0, 1, 2])


def test_math_in_docstrings_is_not_mangled_by_escapes():
    # decision_function's formula once rendered "X W^" + TAB + "op": its docstring is raw.
    for method in (LinearSVM.decision_function, SoftmaxClassifier.predict_proba):
        assert "\t" not in method.__doc__
    assert r"S = X W^\top + b" in LinearSVM.decision_function.__doc__


def test_set_params_between_partial_fit_calls_takes_effect_and_progress_carries_over():
    # It was silently ignored: the second call stepped with the first call's optimizer
    # (issue 12, class 4). Now the hyperparameters are the current ones, the velocity and
    # step count the previous call's.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    changed = LinearSVM(random_state=0).partial_fit(X, y, classes=[0, 1])
    steps = fitted_state(changed).optimizer.state_dict()["t"]
    changed.set_params(learning_rate=0.5).partial_fit(X, y)
    state = fitted_state(changed).optimizer.state_dict()
    assert state["learning_rate"] == 0.5 and state["t"] == 2 * steps
    same = LinearSVM(random_state=0).partial_fit(X, y, classes=[0, 1]).partial_fit(X, y)
    assert np.abs(changed.coef_ - same.coef_).max() > 0.1  # the larger step was taken
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        changed.set_params(learning_rate=-1.0).partial_fit(X, y)
    stopped = changed.set_params(learning_rate=0.5, momentum=0.0).partial_fit(X, y)
    assert fitted_state(stopped).optimizer.state_dict()["momentum"] == 0.0


# dtype="auto" (issue 13): float64 X trains and predicts in float64, float32 X in float32,
# as scikit-learn keeps them; other X in float64; a forced dtype is kept whatever X is.
@pytest.mark.parametrize("Estimator", [LinearSVM, SoftmaxClassifier])
@pytest.mark.parametrize("solver", ["auto", "sgd"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_the_outputs_keep_the_dtype_of_x(Estimator, solver, sparse):
    import scipy.sparse

    X, y = make_blobs(n_classes=3, n_features=5)
    for given, expected, params in [
        (np.float64, np.float64, {}),
        (np.float32, np.float32, {}),
        (np.int64, np.float64, {}),
        (np.float64, np.float32, {"dtype": np.float32}),
    ]:
        X_in = np.round(X * 10).astype(given) if given is np.int64 else X.astype(given)
        X_in = scipy.sparse.csr_matrix(X_in) if sparse else X_in
        clf = Estimator(random_state=0, solver=solver, **params).fit(X_in, y)
        outputs = [clf.coef_, clf.intercept_, clf.decision_function(X_in)]
        if Estimator is SoftmaxClassifier:
            outputs += [clf.predict_proba(X_in), clf.predict_log_proba(X_in)]
        assert {a.dtype for a in outputs} == {np.dtype(expected)}, (given, params)
