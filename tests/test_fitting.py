"""The seams around a fit: the plan, class-weight factors, the fitted-model record and its
one writer, label indices, the SGD solver, and reading a model file once."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from helpers import make_blobs
from linclf import DivergenceError, LinearSVM, NotFittedError, SoftmaxClassifier
from linclf._fitting.plan import make_plan
from linclf._fitting.state import FittedModel
from linclf._fitting.weights import class_weight_factors
from linclf._solvers.base import SolveResult
from linclf._validation import TrainingData, index_labels
from linclf.estimator import fitted_state, set_fitted_state
from linclf.persistence import read_saved


def test_the_plan_holds_the_hyperparameters_with_the_loss_split_off():
    plan = make_plan(LinearSVM(delta=0.5, dtype=np.float64, reg="auto"))
    assert (plan.loss, plan.loss_params, plan.dtype) == ("hinge", {"delta": 0.5}, np.float64)
    assert make_plan(SoftmaxClassifier()).loss_params == {}
    # reg="auto" without a path is a factor times scikit-learn's C=1: 1/N for two classes,
    # 1/(2N) for more; 10 for the hinge, 1 for the softmax (docs/solvers.md).
    assert (plan.reg_for(50, 2), plan.reg_for(50, 3)) == (10 / 50, 10 / 100)
    soft = make_plan(SoftmaxClassifier())
    assert (soft.reg_for(50, 2), soft.reg_for(50, 3)) == (1 / 50, 1 / 100)
    assert plan.objective(0.25).reg == 0.25
    assert plan.make_plateau().decay == 0.2  # "adaptive" decays on plateaus
    # dtype="auto" is the data's float dtype, float64 for any other; a forced one stays.
    auto = make_plan(LinearSVM(fit_intercept=False))
    assert auto.dtype is None
    assert [auto.for_data(t).dtype for t in (np.float32, np.float64, np.int64, np.float16)] == [
        np.float32,
        np.float64,
        np.float64,
        np.float64,
    ]
    assert make_plan(LinearSVM(dtype=np.float32)).for_data(np.float64).dtype == np.float32
    zeros = auto.for_data(np.float32).zero_params(3, 4)
    assert zeros["W"].shape == (3, 4) and zeros["W"].dtype == np.float32 and zeros["b"] is None


@pytest.mark.parametrize(
    "params, match",
    [
        ({"reg": -1.0}, "reg must be >= 0"),
        ({"delta": -1.0}, "delta must be >= 0"),
        ({"batch_size": 0}, "batch_size must be >= 1"),
        ({"class_weight": "even"}, "class_weight must be None, 'balanced' or a dict"),
        ({"dtype": np.int8}, "dtype must be 'auto', float32 or float64"),
        ({"schedule": "sometimes"}, "sometimes"),
    ],
)
def test_make_plan_refuses_bad_hyperparameters_before_any_data_is_seen(params, match):
    # Every hyperparameter is checked by make_plan, the optimizer's and the loop's too.
    with pytest.raises(ValueError, match=match):
        make_plan(LinearSVM(**params))


def test_class_weight_factors_by_hand():
    classes = np.array(["a", "b", "c"])
    assert class_weight_factors(None, classes, [1, 2, 3]) is None
    # "balanced": n / (C * count) = 8 / (3 * [2, 6, 0 -> 1]), a class without samples counts 1.
    np.testing.assert_array_equal(
        class_weight_factors("balanced", classes, [2, 6, 0]), [8 / 6, 8 / 18, 8 / 3]
    )
    np.testing.assert_array_equal(class_weight_factors({"b": 2.5}, classes, None), [1, 2.5, 1])
    with pytest.raises(ValueError, match="label 'z', which is not among the classes"):
        class_weight_factors({"z": 1.0}, classes, None)
    with pytest.raises(ValueError, match=r"class_weight\['a'\] must be >= 0"):
        class_weight_factors({"a": -1.0}, classes, None)


def test_index_labels_maps_labels_to_positions_and_names_unknown_ones():
    classes = np.array([3, 7, 11])
    np.testing.assert_array_equal(index_labels([11, 3, 3, 7], classes), [2, 0, 0, 1])
    assert index_labels([7], classes).dtype == np.intp
    with pytest.raises(ValueError, match=r"^y_val contains labels not in classes: \[5, 12\]"):
        index_labels([5, 3, 12], classes, name="y_val")


def _model(n_classes, standardized, **extra):
    rng = np.random.default_rng(n_classes)
    W = rng.normal(size=(n_classes, 4)).astype(np.float32)
    b = rng.normal(size=n_classes).astype(np.float32)
    scaling = dict(shift=rng.normal(size=4), scale=rng.uniform(0.5, 2, 4)) if standardized else {}
    return FittedModel(W, b, np.arange(n_classes), 4, **scaling, **extra)


@pytest.mark.parametrize("standardized", [False, True], ids=["raw", "standardized"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_published_coefficients_score_raw_rows_as_the_trained_rows_score_scaled_ones(
    n_classes, standardized
):
    # coef_ x + intercept_ equals W z + b with z = (x - shift) / scale; for two classes,
    # the difference of the two rows' scores.
    model = _model(n_classes, standardized)
    coef, intercept = model.coef_intercept()
    assert coef.dtype == intercept.dtype == np.float32
    x = np.random.default_rng(9).normal(size=(5, 4))
    z = (x - model.shift) / model.scale if standardized else x
    S = z @ model.W.T.astype(np.float64) + model.b
    expected = S[:, 1:] - S[:, :1] if n_classes == 2 else S
    np.testing.assert_allclose(x @ coef.T + intercept, expected, rtol=1e-5, atol=1e-5)


def test_set_fitted_state_writes_every_fitted_attribute_and_fitted_state_reads_it_back():
    clf = LinearSVM(random_state=3)
    with pytest.raises(NotFittedError):
        fitted_state(clf)
    model = _model(3, False, n_iter=4, loss_curve=[3.0, 2.0], reg=0.5, validation_scores=[0.9])
    set_fitted_state(clf, model)
    assert fitted_state(clf).W is model.W
    assert (clf.n_iter_, clf.loss_curve_, clf.reg_, clf.n_features_in_) == (4, [3.0, 2.0], 0.5, 4)
    assert clf.validation_scores_ == [0.9] and clf.classes_.tolist() == [0, 1, 2]
    assert np.array_equal(clf.coef_, model.W) and not hasattr(clf, "feature_names_in_")
    # A record without an optimizer or generator gets fresh ones from the hyperparameters.
    assert fitted_state(clf).optimizer.t == 0 and fitted_state(clf).rng is not None
    clf.partial_fit(np.ones((2, 4)), [0, 2])  # and training continues from it
    assert clf.n_iter_ == 5 and not hasattr(clf, "best_epoch_")


def test_a_failed_fit_leaves_the_fitted_model_as_it_was():
    X, y = make_blobs()
    clf = LinearSVM(random_state=0, max_epochs=3, tol=None).fit(X, y)
    before = fitted_state(clf)
    coef = clf.coef_.copy()
    with pytest.raises(ValueError, match="sample_weight"):
        clf.fit(X[:60, :2], y[:60], sample_weight=-np.ones(60))
    with pytest.raises(DivergenceError):
        clf.set_params(learning_rate=1e30, warm_start=True).partial_fit(X * 1e30, y)
    assert fitted_state(clf) is before and clf.n_features_in_ == 4
    np.testing.assert_array_equal(clf.coef_, coef)
    np.testing.assert_array_equal(before.coef_intercept()[0], coef)  # rows never touched


def test_the_sgd_solver_trains_validated_data_and_reports_what_it_did():
    X, y = make_blobs(n_classes=2)
    plan = make_plan(LinearSVM(max_epochs=4, tol=None, early_stopping=True))
    data = TrainingData(X, y, 2)
    params = plan.zero_params(2, X.shape[1])
    solver = plan.make_solver(plan.make_optimizer(), np.random.default_rng(0))
    result = solver.solve(plan.objective(1e-3), params, data, validation=data)
    assert isinstance(result, SolveResult)
    assert result.n_iter == len(result.loss_curve) == len(result.validation_scores) == 4
    assert 1 <= result.best_epoch <= 4 and not result.interrupted
    assert np.abs(params["W"]).max() > 0  # trained in place
    assert solver.optimizer.t > 0  # the optimizer's state is the solver's, kept after


def test_read_saved_returns_the_estimator_and_the_extra_data_from_one_read(tmp_path, monkeypatch):
    X, y = make_blobs()
    clf = SoftmaxClassifier(random_state=0, max_epochs=2, tol=None).fit(X, y)
    clf.save(tmp_path / "m.npz", extra={"target": "species"})
    clf.save(tmp_path / "plain.npz")
    from linclf._formats import modelfile

    reads = []
    read = modelfile.read_model_file
    monkeypatch.setattr(
        "linclf.persistence.read_model_file", lambda path: reads.append(path) or read(path)
    )
    loaded, extra = read_saved(tmp_path / "m.npz")
    assert extra == {"target": "species"} and len(reads) == 1
    assert np.array_equal(loaded.predict(X), clf.predict(X))
    assert read_saved(tmp_path / "plain.npz")[1] is None


def test_loaded_model_keeps_the_saved_coefficients_and_continues_from_the_rows(tmp_path):
    # The published coefficients come from the file (bit for bit as saved); the next
    # partial_fit publishes coefficients recomputed from the trained rows.
    X, y = make_blobs()
    clf = LinearSVM(random_state=0, max_epochs=2, tol=None, standardize=True).fit(X, y)
    clf.save(tmp_path / "m.npz")
    loaded, _ = read_saved(tmp_path / "m.npz")
    assert fitted_state(loaded).coef is not None
    assert loaded.coef_.tobytes() == clf.coef_.tobytes()
    twin = copy.deepcopy(clf)
    loaded.set_params(standardize=False).partial_fit(X, y)
    twin.set_params(standardize=False).partial_fit(X, y)
    assert loaded.coef_.tobytes() == twin.coef_.tobytes()
