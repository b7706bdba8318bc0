"""The estimators' "auto" defaults: which solver, standardization, λ (and its path), tol.

Each test fits small problems (well under a second each). The oracles are independent of
the estimators' code: a standardized twin fitted without standardization, repeated rows,
the objective written out here in float64 and minimized by ``scipy.optimize.minimize``,
and threadpoolctl's own report of the BLAS threads.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse
import scipy.special

import linclf
from linclf import LinearSVM, SoftmaxClassifier
from linclf._engine.blas import blas_threads
from linclf._fitting import plan as plan_module
from linclf._fitting.plan import AUTO_REG_FACTOR
from linclf._fitting.select import PATH_GRID, PATH_MIN_ROWS
from linclf._solvers.path import reg_grid
from linclf.exceptions import ConvergenceWarning

ESTIMATORS = [SoftmaxClassifier, LinearSVM]


def blobs(n=300, d=5, c=3, spread=1.0, seed=0):
    """Gaussian classes around centers drawn with scale ``spread``; labels 0..c-1 in turn."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=spread, size=(c, d))
    y = np.arange(n) % c
    return centers[y] + rng.normal(size=(n, d)), y


def standardized(X):
    """Columns centered and scaled to unit (population) variance, computed here."""
    return (X - X.mean(axis=0)) / X.std(axis=0)


def _load(name):
    """A scikit-learn data set (the tests using one skip in the CI step without it)."""
    datasets = pytest.importorskip("sklearn.datasets")
    return getattr(datasets, f"load_{name}")(return_X_y=True)


def quiet(estimator, **params):
    """An SGD-bound estimator with a short fixed budget (no plateau rule, no warning)."""
    return estimator(max_epochs=3, tol=None, random_state=0, **params)


# --- the auto table: which solver -----------------------------------------------------------


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("kind", ["dense", "csr"])
def test_in_memory_x_is_solved_by_lbfgs(estimator, kind):
    X, y = blobs(n=60)
    X = scipy.sparse.csr_matrix(X) if kind == "csr" else X
    clf = estimator(random_state=0).fit(X, y)
    assert clf.solver_ == "lbfgs"
    assert clf.score(X, y) > 0.8


def _memmaps(tmp_path, X):
    """The two ways out-of-core X arrives: a raw np.memmap and np.load(mmap_mode="r")."""
    raw = np.memmap(tmp_path / "X.dat", dtype=np.float32, mode="w+", shape=X.shape)
    raw[:] = X
    raw.flush()
    np.save(tmp_path / "X.npy", X.astype(np.float32))
    return {
        "memmap": np.memmap(tmp_path / "X.dat", dtype=np.float32, mode="r", shape=X.shape),
        "np.load": np.load(tmp_path / "X.npy", mmap_mode="r"),
    }


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("source", ["memmap", "np.load"])
def test_a_memmap_of_at_most_one_block_is_read_whole_and_solved_like_an_array(
    tmp_path, estimator, source
):
    # What the out-of-core path would read whole each epoch is read once, and the full-batch
    # solver fits it (300 SGD epochs left scikit-learn's read-only-memmap check unconverged).
    X, y = blobs(n=60)
    X_mapped = _memmaps(tmp_path, X)[source]
    assert X_mapped.nbytes <= plan_module.BLOCK_BYTES
    clf = estimator(random_state=0).fit(X_mapped, y)
    reference = estimator(random_state=0).fit(X.astype(np.float32), y)
    assert clf.solver_ == reference.solver_ == "lbfgs"
    np.testing.assert_array_equal(clf.coef_, reference.coef_)
    assert estimator(solver="sgd", random_state=0).fit(X_mapped, y).solver_ == "sgd"


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("source", ["memmap", "np.load"])
def test_out_of_core_x_is_solved_by_sgd_and_refused_by_lbfgs(
    tmp_path, monkeypatch, estimator, source
):
    X, y = blobs(n=60)
    X_mapped = _memmaps(tmp_path, X)[source]
    assert isinstance(X_mapped, np.memmap)
    monkeypatch.setattr(plan_module, "BLOCK_BYTES", X_mapped.nbytes - 1)  # over one block
    clf = quiet(estimator).fit(X_mapped, y)
    assert clf.solver_ == "sgd"
    assert not hasattr(clf, "reg_path_")
    with pytest.raises(ValueError, match="lbfgs") as error:
        quiet(estimator, solver="lbfgs").fit(X_mapped, y)
    assert "out-of-core" in str(error.value)  # names the solver and what it cannot take


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_early_stopping_is_solved_by_sgd_and_refused_by_lbfgs(estimator):
    X, y = blobs(n=60)
    clf = quiet(estimator, early_stopping=True).fit(X, y)
    assert clf.solver_ == "sgd"
    assert len(clf.validation_scores_) == clf.n_iter_
    with pytest.raises(ValueError, match="lbfgs") as error:
        quiet(estimator, solver="lbfgs", early_stopping=True).fit(X, y)
    assert "early_stopping" in str(error.value)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_partial_fit_refuses_lbfgs_and_trains_by_sgd_at_defaults(estimator):
    X, y = blobs(n=60)
    with pytest.raises(ValueError, match="partial_fit") as error:
        estimator(solver="lbfgs").partial_fit(X, y, classes=[0, 1, 2])
    assert "lbfgs" in str(error.value)
    clf = estimator(random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    assert clf.solver_ == "sgd" and clf.n_iter_ == 1
    assert clf.predict(X).shape == (60,)
    assert clf.score(X, y) > 0.5  # one epoch already separates the blobs


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_partial_fit_after_a_default_fit_continues_in_its_feature_space(estimator):
    # fit standardizes by default ("auto") and partial_fit continues from the rows it
    # trained, so it must train them on rows in the same standardized space: as a twin
    # fitted on standardized rows (standardize=False) continues on those rows.
    X, y = _load("wine")  # raw columns from ~0.1 to ~1000
    Z = standardized(X)
    clf = estimator(dtype=np.float64, random_state=0).fit(X, y)
    twin = estimator(dtype=np.float64, standardize=False, random_state=0).fit(Z, y)
    clf.partial_fit(X, y)
    twin.partial_fit(Z, y)
    S = twin.decision_function(Z)
    # The two fits are solves of one objective to the solver's tolerance (the hinge's is a
    # 1e-2 certified gap), from inputs equal up to rounding: they agree to that tolerance.
    # Raw rows stepped with standardized weights would not (wine: accuracy 1.0 -> 0.51).
    np.testing.assert_allclose(clf.decision_function(X), S, rtol=0, atol=2e-2 * abs(S).max())
    assert abs(clf.score(X, y) - twin.score(Z, y)) <= 0.01


# --- standardize="auto" -------------------------------------------------------------------

SCALES = np.logspace(-3, 3, 5)
OFFSETS = np.array([5.0, -3e3, 0.2, 40.0, -1e-2])


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_auto_standardization_publishes_the_raw_model_of_the_standardized_twin(estimator):
    X, y = blobs()
    Z = standardized(X)
    raw = Z * SCALES + OFFSETS  # columns from 1e-3 to 1e3 in scale, with offsets
    # float64: in float32 the column with offset -3e3 and scale 3e-2 would keep only ~4
    # digits of its spread before any standardization.
    clf = estimator(dtype=np.float64, random_state=0).fit(raw, y)
    twin = estimator(dtype=np.float64, standardize=False, random_state=0).fit(Z, y)
    np.testing.assert_array_equal(clf.predict(raw), twin.predict(Z))
    # The same standardized rows up to rounding, so the same solve: published for the raw
    # columns, coef_ and intercept_ score raw rows as the twin scores standardized ones.
    S = twin.decision_function(Z)
    np.testing.assert_allclose(clf.decision_function(raw), S, rtol=1e-6, atol=1e-6 * abs(S).max())


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_auto_standardization_without_intercept_keeps_the_intercept_zero(estimator):
    X, y = blobs()
    raw = standardized(X) * SCALES + OFFSETS
    clf = estimator(dtype=np.float64, fit_intercept=False, random_state=0).fit(raw, y)
    assert np.all(clf.intercept_ == 0.0)
    # Without an intercept the columns are only divided by their root mean square (a shift
    # could not be absorbed): the twin fitted on those columns is the same model.
    rms = np.sqrt((raw**2).mean(axis=0))
    twin = estimator(dtype=np.float64, fit_intercept=False, standardize=False).fit(raw / rms, y)
    S = twin.decision_function(raw / rms)
    np.testing.assert_allclose(clf.decision_function(raw), S, rtol=1e-6, atol=1e-6 * abs(S).max())


# --- both losses, solver="lbfgs" ------------------------------------------------------------


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_sparse_fit_equals_the_dense_fit(estimator):
    X, y = blobs()
    X[np.abs(X) < 0.7] = 0.0  # about half the entries
    # Dense X is centered and scaled, CSR only scaled: with an intercept both are the same
    # model with the same penalty, so coef_ agree to the solves' accuracy. At tol 1e-8,
    # √(tol · f / λ) ~ 2e-3 bounds |W - W*| for the hinge (λ |W - W*|² <= P - P*) and is
    # the softmax's order of magnitude (measured: 4e-5 softmax, 2e-8 hinge).
    kw = {"solver": "lbfgs", "dtype": np.float64, "tol": 1e-8, "random_state": 0}
    dense = estimator(**kw).fit(X, y)
    sparse = estimator(**kw).fit(scipy.sparse.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, atol=2e-3)
    np.testing.assert_allclose(sparse.intercept_, dense.intercept_, atol=2e-3)
    np.testing.assert_array_equal(sparse.predict(X), dense.predict(X))


def _weighted_and_repeated(seed=1):
    X, y = blobs(n=90)
    weight = np.random.default_rng(seed).integers(1, 4, size=90)
    return X, y, weight, np.repeat(X, weight, axis=0), np.repeat(y, weight)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_integer_sample_weights_equal_repeated_rows(estimator):
    # The weighted objective itself (fixed λ: reg="auto" is per row; raw features). The same
    # objective, so the same optimum: at tol 1e-8, |W - W*| <= √(tol · P / λ) ~ 7e-4 for
    # the hinge (measured: 1e-15 softmax, 9e-8 hinge).
    X, y, weight, X_rep, y_rep = _weighted_and_repeated()
    kw = {"solver": "lbfgs", "reg": 0.01, "standardize": False, "dtype": np.float64, "tol": 1e-8}
    weighted = estimator(**kw).fit(X, y, sample_weight=weight)
    repeated = estimator(**kw).fit(X_rep, y_rep)
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, atol=1e-3)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_integer_sample_weights_equal_repeated_rows_when_standardized(estimator):
    # The same with the default standardize="auto": the column statistics of repeated rows
    # are the weighted statistics, so a weight must count as that many rows there too.
    X, y, weight, X_rep, y_rep = _weighted_and_repeated()
    kw = {"solver": "lbfgs", "reg": 0.01, "dtype": np.float64, "tol": 1e-8}
    weighted = estimator(**kw).fit(X, y, sample_weight=weight)
    repeated = estimator(**kw).fit(X_rep, y_rep)
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, atol=1e-3)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_balanced_class_weight_raises_minority_recall(estimator):
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.05).astype(int)  # 18 of 400 in class 1
    X = rng.normal(size=(400, 3)) + 1.2 * y[:, None]

    def recall(clf):
        return float(np.mean(clf.predict(X[y == 1]) == 1))

    plain = estimator(solver="lbfgs", random_state=0).fit(X, y)
    balanced = estimator(solver="lbfgs", class_weight="balanced", random_state=0).fit(X, y)
    # Measured: 0.33 -> 0.89 (softmax), 0.0 -> 0.94 (hinge).
    assert recall(balanced) >= recall(plain) + 0.3


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_warm_start_from_an_lbfgs_fit_takes_fewer_iterations(estimator):
    X, y = _load("iris")
    cold = estimator(solver="lbfgs", random_state=0).fit(X, y)
    warm = estimator(solver="lbfgs", warm_start=True, random_state=0).fit(X, y)
    assert warm.n_iter_ == cold.n_iter_  # the first fit of a warm_start model is cold
    warm.fit(X, y)  # from its own solution
    assert warm.solver_ == "lbfgs"
    assert warm.n_iter_ < cold.n_iter_
    # Both end within the solver's tolerance of one optimum (tol="auto": 1e-4 relative for
    # the softmax, a 1e-2 certified gap for the hinge), so their objectives agree to it.
    tol = plan_limits(estimator)
    assert warm.loss_curve_[-1] == pytest.approx(cold.loss_curve_[-1], rel=2 * tol)
    assert np.mean(warm.predict(X) == cold.predict(X)) >= 0.97


def plan_limits(estimator):
    """The tolerance of the L-BFGS solve at tol="auto" for ``estimator``'s loss."""
    from linclf._fitting.plan import AUTO_LIMITS

    return AUTO_LIMITS["lbfgs", estimator.loss_name][0]


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_training_dtype_is_the_dtype_of_coef(estimator, dtype):
    X, y = blobs(n=60)
    clf = estimator(solver="lbfgs", dtype=dtype).fit(X, y)
    assert clf.coef_.dtype == dtype and clf.intercept_.dtype == dtype


# --- the softmax at its defaults against SciPy ----------------------------------------------


def softmax_objective(theta, Z, y, n_classes, reg):
    """Mean cross-entropy + reg |W|² of θ = [vec W, b] on rows Z, and its gradient."""
    n, d = Z.shape
    W, b = theta[: n_classes * d].reshape(n_classes, d), theta[n_classes * d :]
    S = Z @ W.T + b
    log_p = S - scipy.special.logsumexp(S, axis=1, keepdims=True)
    value = -log_p[np.arange(n), y].mean() + reg * np.sum(W * W)
    dS = np.exp(log_p)
    dS[np.arange(n), y] -= 1.0
    dS /= n
    return value, np.concatenate([(dS.T @ Z + 2 * reg * W).ravel(), dS.sum(axis=0)])


@pytest.mark.parametrize("name", ["wine", "breast_cancer"])
def test_softmax_defaults_reach_the_scipy_optimum(name):
    X, y = _load(name)
    n_classes = int(y.max()) + 1
    clf = SoftmaxClassifier(random_state=0).fit(X, y)
    assert clf.solver_ == "lbfgs" and not hasattr(clf, "reg_path_")  # < PATH_MIN_ROWS
    shift, scale = X.mean(axis=0), X.std(axis=0)
    Z = (X - shift) / scale
    # The trained rows on Z from the published raw model: W_z = coef · scale and
    # b_z = intercept + coef · shift; two classes publish w_1 - w_0, whose optimum split
    # is w_1 = -w_0 (the loss depends on the difference only, the penalty is smallest there).
    coef, intercept = clf.coef_.astype(np.float64), clf.intercept_.astype(np.float64)
    W, b = coef * scale, intercept + coef @ shift
    if n_classes == 2:
        W, b = np.vstack([-W / 2, W / 2]), np.concatenate([-b / 2, b / 2])
    value, _ = softmax_objective(np.concatenate([W.ravel(), b]), Z, y, n_classes, clf.reg_)
    oracle = scipy.optimize.minimize(
        softmax_objective,
        np.zeros(n_classes * (X.shape[1] + 1)),
        args=(Z, y, n_classes, clf.reg_),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 10_000, "ftol": 1e-15, "gtol": 1e-10},
    )
    assert oracle.success, oracle.message
    assert oracle.fun * (1 - 1e-9) <= value <= oracle.fun * (1 + 1e-3)
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0, rtol=1e-6)


DATASETS = ["iris", "wine", "breast_cancer", "digits"]


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("scaled", [False, True], ids=["raw", "standardized"])
def test_no_convergence_warning_at_defaults(estimator, name, scaled):
    X, y = _load(name)
    if scaled:
        X = (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = estimator(random_state=0).fit(X, y)
    assert clf.solver_ == "lbfgs"
    assert clf.score(X, y) > 0.9


# --- reg="auto": fixed below PATH_MIN_ROWS, a path from there -------------------------------


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_auto_reg_path_from_path_min_rows(estimator):
    X, y = blobs(n=3000, d=4, spread=0.7)
    assert X.shape[0] >= PATH_MIN_ROWS
    clf = estimator(random_state=0).fit(X, y)
    path, scores = clf.reg_path_, clf.reg_path_scores_
    assert len(path) == len(scores) >= 2
    assert np.all(np.diff(path) < 0)  # decreasing
    np.testing.assert_allclose(path, reg_grid(*PATH_GRID)[: len(path)])  # down the grid
    assert np.all((scores >= 0.0) & (scores <= 1.0))
    # The best held-out score; ties go to the larger λ, the first of them on the path.
    best = int(np.flatnonzero(scores == scores.max())[0])
    assert clf.reg_ == path[best]


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_auto_reg_below_path_min_rows_is_the_fixed_strength(estimator, n_classes):
    n = PATH_MIN_ROWS - 1
    X, y = blobs(n=n, d=3, c=n_classes)
    clf = estimator(random_state=0).fit(X, y)
    assert not hasattr(clf, "reg_path_") and not hasattr(clf, "reg_path_scores_")
    factor = AUTO_REG_FACTOR[estimator.loss_name]
    expected = factor / n if n_classes == 2 else factor / (2 * n)
    assert clf.reg_ == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_a_fixed_reg_is_used_as_given_without_a_path(estimator):
    X, y = blobs(n=3000, d=4, spread=0.7)
    clf = estimator(reg=0.01, random_state=0).fit(X, y)
    assert clf.reg_ == 0.01
    assert not hasattr(clf, "reg_path_") and not hasattr(clf, "reg_path_scores_")
    # A refit at a fixed reg after an auto one drops the path attributes.
    clf.set_params(reg="auto").fit(X, y)
    assert hasattr(clf, "reg_path_")
    clf.set_params(reg=0.01).fit(X, y)
    assert not hasattr(clf, "reg_path_") and clf.reg_ == 0.01


# --- persistence ------------------------------------------------------------------------------


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_save_load_keeps_the_solver_the_path_and_the_predictions(tmp_path, estimator):
    X, y = blobs(n=3000, d=4, spread=0.7)
    clf = estimator(random_state=0).fit(X, y)
    clf.save(tmp_path / "model.npz")
    loaded = linclf.load(tmp_path / "model.npz")
    assert type(loaded) is estimator
    assert loaded.solver_ == clf.solver_ == "lbfgs"
    assert loaded.reg_ == clf.reg_
    np.testing.assert_array_equal(loaded.reg_path_, clf.reg_path_)
    np.testing.assert_array_equal(loaded.reg_path_scores_, clf.reg_path_scores_)
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    np.testing.assert_array_equal(loaded.decision_function(X), clf.decision_function(X))
    # A model without a path (fewer rows) loads without one.
    small = estimator(random_state=0).fit(X[:300], y[:300])
    small.save(tmp_path / "small.npz")
    assert not hasattr(linclf.load(tmp_path / "small.npz"), "reg_path_")


# --- the BLAS limit -----------------------------------------------------------------------------


def _blas_threads(threadpoolctl):
    return sorted(
        (info["filepath"], info["num_threads"])
        for info in threadpoolctl.threadpool_info()
        if info["user_api"] == "blas"
    )


def test_blas_threads_limits_and_restores():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    # Start from 2 threads (whatever the environment set) so that the limit to 1 shows.
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads(threadpoolctl)
        assert before, "no BLAS found by threadpoolctl"
        with blas_threads(1):
            inside = _blas_threads(threadpoolctl)
        after = _blas_threads(threadpoolctl)
        with blas_threads(None):  # None leaves the setting alone
            untouched = _blas_threads(threadpoolctl)
    assert all(threads == 1 for _, threads in inside)
    assert [path for path, _ in inside] == [path for path, _ in before]
    assert after == before and untouched == before


def test_blas_threads_limits_other_blas_libraries_separately():
    # `others` limits every BLAS not loaded from NumPy's folder (SciPy's own OpenBLAS, which
    # runs L-BFGS-B's vector updates) and leaves NumPy's as it is when n_threads is None.
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import scipy.optimize  # noqa: F401 (loads SciPy's BLAS, when it has its own)

    numpy_folder = os.path.dirname(np.__file__)
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        with blas_threads(None, others=1):
            inside = _blas_threads(threadpoolctl)
        after = _blas_threads(threadpoolctl)
    mine = [threads for path, threads in inside if path.startswith(numpy_folder)]
    others = [threads for path, threads in inside if not path.startswith(numpy_folder)]
    assert mine and all(threads == 2 for threads in mine)
    assert all(threads == 1 for threads in others)
    assert all(threads == 2 for _, threads in after)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_features_near_1e160_standardize_without_overflow(estimator):
    # Their variance overflows float64 (issue 12, class 7: an all-zero model at chance).
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] + 0.3 * X[:, 1] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        huge = estimator(dtype=np.float64).fit(X * 1e160, y)
    plain = estimator(dtype=np.float64).fit(X, y)
    np.testing.assert_allclose(huge.coef_ * 1e160, plain.coef_, rtol=1e-6)
    assert huge.score(X * 1e160, y) == plain.score(X, y) >= 0.9


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_reg_auto_stays_finite_when_the_weights_sum_to_almost_nothing(estimator):
    # reg="auto" divides by the sum of the weights: 2 × 5e-324 made it inf, and fit then
    # refused its own λ ("reg must be finite, got inf"; found by the property suite).
    X, y = np.zeros((2, 1), dtype=np.float32), np.array([0, 1])
    model = estimator().fit(X, y, sample_weight=np.array([5e-324, 5e-324]))
    assert np.isfinite(model.reg_) and model.reg_ >= 1e9
    assert np.all(model.coef_ == 0) and np.all(np.isfinite(model.decision_function(X)))
