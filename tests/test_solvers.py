"""Full-batch solvers: gradients, optima against SciPy, the duality gap, data kinds, weights.

The oracles are independent of the solvers' code: ``scipy.optimize.minimize`` (BFGS on the
smooth softmax objective; SLSQP on the hinge written as a quadratic program with slack
variables, which has no kink) and ``linclf.svm_loss`` / ``linclf.softmax_loss`` for the
objective values. The helpers above the tests (``make_data``, ``fresh``, ``objective_value``,
``hinge_qp``) are shared with ``benchmarks/solver_prototypes/test_prototypes.py``, which
imports them from here.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse

from linclf import LinearObjective, check_gradient, softmax_loss, svm_loss
from linclf._fitting.data import split_held_out
from linclf._solvers.full_batch import FullBatchObjective, write_params
from linclf._solvers.lbfgs import LBFGSSolver, minimize_lbfgs
from linclf._solvers.path import fit_path, reg_grid
from linclf._solvers.smoothed_hinge import (
    SmoothedHingeSolver,
    feasible_dual,
    hinge_gap,
    smoothed_multiclass_hinge,
)
from linclf._validation import TrainingData
from linclf.losses import softmax_cross_entropy


def make_data(n=24, d=4, c=3, seed=0, weights=False, dtype=np.float64):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=1.5, size=(c, d))
    y = np.arange(n) % c
    X = (centers[y] + rng.normal(size=(n, d))).astype(dtype)
    w = rng.integers(1, 4, size=n).astype(np.float64) if weights else None
    return TrainingData(X, y.astype(np.intp), c, sample_weight=w)


def fresh(data, fit_intercept, dtype=np.float64):
    c, d = data.n_classes, data.n_features
    return {"W": np.zeros((c, d), dtype), "b": np.zeros(c, dtype) if fit_intercept else None}


def objective_value(loss, params, data, reg):
    """The objective by linclf's public composition (independent of the solvers)."""
    b = params["b"] if params["b"] is not None else np.zeros(params["W"].shape[0])
    f = svm_loss if loss == "hinge" else softmax_loss
    value, _, _ = f(params["W"], b, data.X, data.y, reg, sample_weight=data.sample_weight)
    return value


def hinge_qp(data, reg, fit_intercept):
    """Minimize the hinge objective with SLSQP: min λ|W|² + Σ a_i ξ_ij, ξ ≥ m_ij, ξ ≥ 0."""
    X, y, (c, d), n = (
        data.X.astype(float),
        data.y,
        (data.n_classes, data.n_features),
        data.n_samples,
    )
    a = (
        np.full(n, 1.0 / n)
        if data.sample_weight is None
        else data.sample_weight / data.sample_weight.sum()
    )
    pairs = [(i, j) for i in range(n) for j in range(c) if j != y[i]]
    n_w, n_b = c * d, c if fit_intercept else 0
    A = np.zeros((len(pairs), n_w + n_b + len(pairs)))  # rows: ξ_ij - (s_ij - s_iy) >= Δ
    for k, (i, j) in enumerate(pairs):
        A[k, j * d : (j + 1) * d] -= X[i]
        A[k, y[i] * d : (y[i] + 1) * d] += X[i]
        if fit_intercept:
            A[k, n_w + j] -= 1.0
            A[k, n_w + y[i]] += 1.0
        A[k, n_w + n_b + k] = 1.0
    cost = np.array([a[i] for i, _ in pairs])

    def f(z):
        w, xi = z[:n_w], z[n_w + n_b :]
        grad = np.concatenate([2 * reg * w, np.zeros(n_b), cost])
        return reg * w @ w + cost @ xi, grad

    constraints = [
        {"type": "ineq", "fun": lambda z: A @ z - 1.0, "jac": lambda z: A},
        {
            "type": "ineq",
            "fun": lambda z: z[n_w + n_b :],
            "jac": lambda z: np.eye(len(z))[n_w + n_b :],
        },
    ]
    z0 = np.zeros(n_w + n_b + len(pairs))
    z0[n_w + n_b :] = 1.0
    res = scipy.optimize.minimize(
        f,
        z0,
        jac=True,
        method="SLSQP",
        constraints=constraints,
        options={"ftol": 1e-12, "maxiter": 500},
    )
    assert res.success, res.message
    return res.fun, res.x[:n_w].reshape(c, d), res.x[n_w : n_w + n_b]


# --- gradients -------------------------------------------------------------------------


@pytest.mark.parametrize("weights", [False, True])
@pytest.mark.parametrize("smoothing", [0.05, 0.5])
def test_smoothed_hinge_gradient(weights, smoothing):
    # Margins built away from both kinks of h_μ (0 and μ), in each of its three pieces, so
    # that centered differences see one quadratic piece and the float64 tolerance holds.
    rng = np.random.default_rng(1)
    pieces = np.array([-0.8, -0.3, 0.3 * smoothing, 0.7 * smoothing, smoothing + 0.3, 1.6])
    margins = rng.choice(pieces, size=(12, 4)) + rng.uniform(-0.01, 0.01, (12, 4)) * smoothing
    y = rng.integers(0, 4, 12)
    S = margins - 1.0  # m_ij = Δ + s_ij - s_iy with s_iy = 0 below
    S[np.arange(12), y] = 0.0
    w = rng.uniform(0.5, 2.0, 12) if weights else None
    _, dS = smoothed_multiclass_hinge(S, y, smoothing=smoothing, sample_weight=w)
    result = check_gradient(
        lambda s: smoothed_multiclass_hinge(s, y, smoothing=smoothing, sample_weight=w)[0], S, dS
    )
    assert result.passed, str(result)


def test_smoothed_hinge_tends_to_the_hinge():
    # h - μ/2 <= h_μ <= h for each term, so the losses differ by at most (C - 1) μ / 2.
    rng = np.random.default_rng(2)
    S, y = rng.normal(size=(50, 5)), rng.integers(0, 5, 50)
    hinge, _, _ = svm_loss(np.eye(5), np.zeros(5), S, y, 0.0)
    for mu in (1.0, 0.1, 1e-3):
        smooth, _ = smoothed_multiclass_hinge(S, y, smoothing=mu)
        assert hinge - 4 * mu / 2 <= smooth <= hinge


@pytest.mark.parametrize("loss", ["softmax", "hinge"])
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_full_batch_objective_gradient(loss, fit_intercept):
    data = make_data(weights=True)
    node, params = (
        (softmax_cross_entropy, {})
        if loss == "softmax"
        else (smoothed_multiclass_hinge, {"delta": 1.0, "smoothing": 0.3})
    )
    fun = FullBatchObjective(node, 0.05, data, 3, fit_intercept=fit_intercept, loss_params=params)
    theta = np.random.default_rng(3).normal(scale=0.3, size=fun.size)
    _, grad = fun(theta)
    result = check_gradient(lambda t: fun(t)[0], theta, grad)
    assert result.passed, str(result)


def _centered(data, weights=None):
    """``data`` as sparse X with its column means: what fit hands the full-batch solvers."""
    X = scipy.sparse.csr_matrix(data.X)
    w = np.ones(X.shape[0]) if weights is None else weights
    return TrainingData(X, data.y, 3, data.sample_weight, column_means=(w @ data.X) / w.sum())


@pytest.mark.parametrize("loss", ["softmax", "hinge"])
def test_centered_objective_gradient_and_its_model(loss):
    # The implicitly centered objective in the solver's coordinates (W, b' = b + W c): its
    # gradient passes the numerical checker, and params() maps a point to the model whose
    # uncentered objective has the same value.
    data = make_data(weights=True)
    node, params = (
        (softmax_cross_entropy, {})
        if loss == "softmax"
        else (smoothed_multiclass_hinge, {"delta": 1.0, "smoothing": 0.3})
    )
    centered = _centered(data, data.sample_weight)
    assert np.abs(centered.column_means).max() > 0.1  # a shift the test can see
    fun = FullBatchObjective(node, 0.05, centered, 3, fit_intercept=True, loss_params=params)
    plain = FullBatchObjective(node, 0.05, data, 3, fit_intercept=True, loss_params=params)
    theta = np.random.default_rng(3).normal(scale=0.3, size=fun.size)
    value, grad = fun(theta)
    result = check_gradient(lambda t: fun(t)[0], theta, grad)
    assert result.passed, str(result)
    W, b = fun.params(theta)
    assert plain(plain.pack(W, b))[0] == pytest.approx(value, rel=1e-12)
    np.testing.assert_allclose(fun.pack(W, b), theta, rtol=0, atol=1e-12)  # pack inverts it


@pytest.mark.parametrize(("loss", "tol"), [("softmax", 1e-15), ("hinge", 1e-6)])
def test_centering_sparse_x_changes_the_path_not_the_optimum(loss, tol):
    data = make_data(weights=True, seed=5)
    solver = LBFGSSolver(tol=tol) if loss == "softmax" else SmoothedHingeSolver(tol=tol)
    objective = LinearObjective(loss, reg=0.03)
    plain, centered = fresh(data, True), fresh(data, True)
    solver.solve(objective, plain, data)
    solver.solve(objective, centered, _centered(data, data.sample_weight))
    value = objective_value(loss, plain, data, 0.03)
    assert objective_value(loss, centered, data, 0.03) == pytest.approx(value, rel=2e-6)
    atol = 1e-6 if loss == "softmax" else 4e-3
    np.testing.assert_allclose(centered["W"], plain["W"], atol=atol)


# --- optima against scipy.optimize.minimize ----------------------------------------------


@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("weights", [False, True])
def test_lbfgs_matches_scipy_minimize(fit_intercept, weights):
    data, reg = make_data(weights=weights), 0.02
    params = fresh(data, fit_intercept)
    result = LBFGSSolver(tol=1e-12).solve(LinearObjective("softmax", reg=reg), params, data)
    fun = FullBatchObjective(softmax_cross_entropy, reg, data, 3, fit_intercept=fit_intercept)
    oracle = scipy.optimize.minimize(fun, np.zeros(fun.size), jac=True, options={"gtol": 1e-10})
    W, b = fun.unpack(oracle.x)
    assert result.converged
    # Strongly convex in W (2λ = 0.04): the optimum is unique and both solvers reach it to
    # ~1e-7; the softmax is invariant to a common shift of b, which neither solver takes.
    np.testing.assert_allclose(params["W"], W, atol=1e-5)
    assert objective_value("softmax", params, data, reg) == pytest.approx(oracle.fun, rel=1e-9)
    if fit_intercept:
        np.testing.assert_allclose(params["b"] - params["b"].mean(), b - b.mean(), atol=1e-5)


@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("weights", [False, True])
def test_smoothed_hinge_matches_qp(fit_intercept, weights):
    data, reg = make_data(weights=weights), 0.05
    params = fresh(data, fit_intercept)
    solver = SmoothedHingeSolver(tol=1e-6, max_iter=5000)
    result = solver.solve(LinearObjective("hinge", reg=reg), params, data)
    value, W, _ = hinge_qp(data, reg, fit_intercept)
    assert result.converged
    # The objective within the solver's tol of the QP's optimum (relative); W within √tol
    # scaled by |W| (P - P* >= λ|W - W*|² by strong convexity, so |W - W*| <= √(tol P / λ)).
    assert objective_value("hinge", params, data, reg) == pytest.approx(value, rel=2e-6)
    np.testing.assert_allclose(params["W"], W, atol=np.sqrt(2e-6 * value / reg))


def test_duality_gap_brackets_the_optimum():
    # Without intercept the dual point is always feasible: D <= P* <= P at every iterate.
    data, reg = make_data(seed=4), 0.05
    value, _, _ = hinge_qp(data, reg, False)
    fun = FullBatchObjective(
        smoothed_multiclass_hinge,
        reg,
        data,
        3,
        fit_intercept=False,
        loss_params={"delta": 1.0, "smoothing": 0.2},
    )
    rng = np.random.default_rng(5)
    for _ in range(5):
        fun(rng.normal(scale=0.5, size=fun.size))
        gap = hinge_gap(fun)
        assert gap.dual <= value + 1e-12 <= gap.primal + 2e-12
        assert gap.smoothing_part >= 0.0
    solver = SmoothedHingeSolver(tol=1e-4)
    solver.solve(LinearObjective("hinge", reg=reg), fresh(data, False), data)
    assert solver.gap_.gap <= 1e-4 * solver.gap_.primal or solver.gap_.smoothing_part <= 1e-4


def test_feasible_dual_with_intercept_is_a_lower_bound():
    data, reg = make_data(seed=6), 0.05
    value, _, _ = hinge_qp(data, reg, True)
    params, solver = fresh(data, True), SmoothedHingeSolver(tol=1e-5)
    solver.solve(LinearObjective("hinge", reg=reg), params, data)
    fun = FullBatchObjective(
        smoothed_multiclass_hinge,
        reg,
        data,
        3,
        fit_intercept=True,
        loss_params={"delta": 1.0, "smoothing": solver.smoothing_},
    )
    fun(fun.pack(params["W"], params["b"]))  # the dual point of the solver's last stage
    dual = feasible_dual(fun)
    assert dual <= value + 1e-12
    assert value - dual <= 0.05 * value  # and a useful one near the optimum


# --- data kinds, weights, dtypes ---------------------------------------------------------

# Tolerances: the softmax solves to ~1e-10 relative; the hinge to ~1e-6 (its stopping rule),
# which bounds |W - W*| by √(2 · 1e-6 · P / λ) ≈ 4e-3 here (P - P* >= λ|W - W*|²).
SOLVERS = [
    ("softmax", lambda: LBFGSSolver(tol=1e-10), 1e-6),
    ("hinge", lambda: SmoothedHingeSolver(tol=1e-6, max_iter=5000), 4e-3),
]


@pytest.mark.parametrize(("loss", "make_solver", "atol"), SOLVERS)
def test_sparse_equals_dense(loss, make_solver, atol):
    dense = make_data(n=30, d=6, seed=7)
    X = dense.X.copy()
    X[np.abs(X) < 0.8] = 0.0  # a third of the entries are zero
    dense = TrainingData(X, dense.y, 3)
    sparse = TrainingData(scipy.sparse.csr_matrix(X), dense.y, 3)
    # Same arithmetic up to the order of the sums in the two products: both reach the
    # optimum within the solver's accuracy.
    assert_same_optimum(loss, make_solver, atol, dense, sparse)


def assert_same_optimum(loss, make_solver, atol, data, twin):
    """Fits on ``data`` and on its ``twin`` (the same objective) agree in value and W."""
    objective = LinearObjective(loss, reg=0.03)
    params, twin_params = fresh(data, True), fresh(data, True)
    make_solver().solve(objective, params, data)
    make_solver().solve(objective, twin_params, twin)
    value = objective_value(loss, params, data, 0.03)
    assert objective_value(loss, twin_params, data, 0.03) == pytest.approx(value, rel=2e-6)
    np.testing.assert_allclose(twin_params["W"], params["W"], atol=atol)


@pytest.mark.parametrize(("loss", "make_solver", "atol"), SOLVERS)
def test_integer_weights_equal_repeated_rows(loss, make_solver, atol):
    weighted = make_data(weights=True, seed=8)
    repeat = weighted.sample_weight.astype(int)
    repeated = TrainingData(np.repeat(weighted.X, repeat, axis=0), np.repeat(weighted.y, repeat), 3)
    assert_same_optimum(loss, make_solver, atol, repeated, weighted)


@pytest.mark.parametrize(("loss", "make_solver", "atol"), SOLVERS)
def test_float32_data_trains_float32_params(loss, make_solver, atol):
    d64, d32 = make_data(seed=9), make_data(seed=9, dtype=np.float32)
    objective = LinearObjective(loss, reg=0.03)
    p64, p32 = fresh(d64, True), fresh(d32, True, np.float32)
    make_solver().solve(objective, p64, d64)
    result = make_solver().solve(objective, p32, d32)
    assert p32["W"].dtype == np.float32 and p32["b"].dtype == np.float32
    assert result.converged
    # float32 products round at ~1e-7 relative: the float32 solve ends on its precision
    # floor, within what the stopping rule allows in float64 (or 1e-3 for the softmax).
    np.testing.assert_allclose(p32["W"], p64["W"], atol=max(atol, 1e-3))


# --- protocol details --------------------------------------------------------------------


def test_warm_start_and_validation_scores():
    data, valid = make_data(seed=10), make_data(seed=11)
    params = fresh(data, True)
    objective = LinearObjective("softmax", reg=0.02)
    first = LBFGSSolver().solve(objective, params, data, validation=valid)
    assert len(first.validation_scores) == first.n_iter == len(first.loss_curve)
    assert all(0.0 <= s <= 1.0 for s in first.validation_scores)
    again = LBFGSSolver().solve(objective, params, data)  # from the optimum: done at once
    assert again.n_iter <= 3 and again.loss_curve[-1] <= first.loss_curve[-1] + 1e-12


def test_minimize_lbfgs_stops_on_relative_decrease():
    # f(x) = Σ k x_k² / 2 - Σ x_k has f* = -Σ 1/(2k); tol = 0 runs until no decrease remains.
    k = np.arange(1.0, 6.0)
    theta, curve, converged, interrupted = minimize_lbfgs(
        lambda x: (0.5 * x @ (k * x) - x.sum(), k * x - 1.0), np.zeros(5), tol=0.0, max_iter=200
    )
    assert converged and not interrupted
    np.testing.assert_allclose(theta, 1.0 / k, rtol=1e-6)
    assert all(a >= b for a, b in itertools.pairwise(curve))


def test_errors_name_the_combination():
    data = make_data()
    with pytest.raises(ValueError, match="smooth loss"):
        LBFGSSolver().solve(LinearObjective("hinge", reg=0.1), fresh(data, True), data)
    with pytest.raises(ValueError, match="reg > 0"):
        SmoothedHingeSolver().solve(LinearObjective("hinge", reg=0.0), fresh(data, True), data)
    with pytest.raises(ValueError, match="loss 'hinge'"):
        SmoothedHingeSolver().solve(LinearObjective("softmax", reg=0.1), fresh(data, True), data)
    with pytest.raises(ValueError, match="tol"):
        LBFGSSolver(tol=-1.0)


def test_write_params_copies_into_the_callers_arrays_in_their_dtype():
    W, b = np.arange(6.0).reshape(2, 3) / 3.0, np.array([0.5, -0.25])
    params = {"W": np.zeros((2, 3), np.float32), "b": np.zeros(2, np.float32)}
    arrays = dict(params)
    write_params(params, W, b)
    assert params["W"] is arrays["W"] and params["b"] is arrays["b"]  # in place
    np.testing.assert_array_equal(params["W"], W.astype(np.float32))
    np.testing.assert_array_equal(params["b"], b.astype(np.float32))
    no_intercept = {"W": np.zeros((2, 3)), "b": None}
    write_params(no_intercept, W, b)
    assert no_intercept["b"] is None
    np.testing.assert_array_equal(no_intercept["W"], W)


# --- strong regularization: accuracy relative to the distance from W = 0 ------------------


def standardized(data, column_scales=1.0):
    """``data`` with standardized columns, then multiplied by ``column_scales``."""
    X = (data.X - data.X.mean(axis=0)) / data.X.std(axis=0) * column_scales
    return TrainingData(X, data.y, data.n_classes, sample_weight=data.sample_weight)


def test_minimize_lbfgs_reference_stops_later_and_reaches_the_optimum():
    # λ = 10: f* is within 5 % of f0 = f(0) = log 3, so a decrease relative to |f| ~ 1.1
    # stops early; measured against the progress f0 - f it goes on to the optimum. Column
    # scales 0.1..10 make it need a few iterations.
    data = standardized(make_data(n=60, d=6, seed=3), np.logspace(-1, 1, 6))
    reg, tol, f0 = 10.0, 1e-4, float(np.log(3))
    fun = FullBatchObjective(softmax_cross_entropy, reg, data, 3, fit_intercept=False)
    oracle = scipy.optimize.minimize(
        fun, np.zeros(fun.size), jac=True, method="BFGS", options={"gtol": 1e-10}
    )
    assert np.abs(oracle.jac).max() <= 1e-7  # the oracle is at the optimum
    W_star, travel = fun.unpack(oracle.x)[0], f0 - oracle.fun
    assert 0.0 < travel < 0.05 * f0  # strongly regularized

    runs = {}
    for name, reference in (("without", np.inf), ("with", f0)):
        theta, curve, converged, interrupted = minimize_lbfgs(
            fun, np.zeros(fun.size), tol=tol, max_iter=1000, reference=reference
        )
        assert converged and not interrupted
        runs[name] = theta, curve
    assert len(runs["with"][1]) > len(runs["without"][1])
    # Without the reference, the stop leaves f - f* above tol · (f0 - f*); with it, f - f* is
    # within that, and so is W by strong convexity (f - f* >= λ |W - W*|²).
    assert runs["without"][1][-1] - oracle.fun > tol * travel
    assert runs["with"][1][-1] - oracle.fun <= tol * travel
    W = fun.unpack(runs["with"][0])[0]
    assert np.linalg.norm(W - W_star) <= np.sqrt(tol * travel / reg)


@pytest.mark.parametrize(("n_classes", "fit_intercept"), [(3, False), (4, False), (4, True)])
def test_smoothed_hinge_reaches_the_qp_optimum_at_a_large_reg(n_classes, fit_intercept):
    # λ = 10 on standardized data: P* is within 15 % of P0 = Δ(C - 1) (W = 0, b = 0), so a
    # tol relative to P allowed P - P* up to ~tol · P0, 7-8x tol · (P0 - P*). The
    # solver's tol is relative to min(P, P0 - D) (D <= P*): it stops with
    # P - P* <= tol · (P0 - D) <= tol · (P0 - P*) / (1 - tol), hence the bound on W by
    # strong convexity, λ |W - W*|² <= P - P*. (A tol relative to P ends the two
    # intercept-free cases 1.1-1.3x outside it.)
    data, reg, tol = standardized(make_data(n=30, d=6, c=n_classes, seed=4)), 10.0, 1e-3
    value, W, _ = hinge_qp(data, reg, fit_intercept)
    travel = (n_classes - 1.0) - value
    assert 0.0 < travel < 0.2 * (n_classes - 1.0)  # strongly regularized
    params = fresh(data, fit_intercept)
    solver = SmoothedHingeSolver(tol=tol, max_iter=5000)
    assert solver.solve(LinearObjective("hinge", reg=reg), params, data).converged
    bound = tol * travel / (1.0 - tol)
    assert objective_value("hinge", params, data, reg) - value <= bound + 1e-12
    assert np.linalg.norm(params["W"] - W) <= np.sqrt(bound / reg) + 1e-6


# --- the regularization path ---------------------------------------------------------------


def dense(X):
    return X.toarray() if scipy.sparse.issparse(X) else np.asarray(X)


def test_split_held_out_is_stratified_keeps_kinds_and_drops_held_out_weights():
    # split_held_out (linclf._fitting.data) replaced the prototypes' holdout_split; the
    # path's held-out rows are scored unweighted.
    data = make_data(n=40, weights=True)
    sparse = TrainingData(scipy.sparse.csr_matrix(data.X), data.y, 3, data.sample_weight)
    for source in (data, sparse):
        train, held_out = split_held_out(source, 0.25, np.random.default_rng(0))
        assert train.n_samples + held_out.n_samples == 40
        assert np.bincount(held_out.y, minlength=3).min() >= 3  # a quarter of each class
        assert train.kind == held_out.kind == source.kind
        assert held_out.sample_weight is None
        # Rows and weights stay together: every training row is one of the source's with
        # its weight, and the held-out rows are the others.
        rows = {
            tuple(x): (label, weight)
            for x, label, weight in zip(
                dense(source.X), source.y, source.sample_weight, strict=True
            )
        }
        for x, label, weight in zip(dense(train.X), train.y, train.sample_weight, strict=True):
            assert rows.pop(tuple(x)) == (label, weight)
        for x, label in zip(dense(held_out.X), held_out.y, strict=True):
            assert rows.pop(tuple(x))[0] == label
        assert not rows


def test_fit_path_keeps_the_best_and_stops_early():
    data = make_data(n=60, seed=12)
    train, valid = split_held_out(data, 0.3, np.random.default_rng(1))
    regs = reg_grid(10.0, 1e-4)
    params = fresh(data, True)
    path = fit_path(
        LBFGSSolver(tol=1e-8),
        lambda reg: LinearObjective("softmax", reg=reg),
        params,
        train,
        valid,
        regs,
        patience=2,
    )
    # The best score, ties to the larger λ (the first of the decreasing grid).
    assert path.best_index == np.flatnonzero(path.scores == path.scores.max())[0]
    assert path.best_reg == path.regs[path.best_index]
    assert len(path.regs) == len(path.scores) == len(path.n_iter) <= len(regs)
    np.testing.assert_array_equal(path.regs, regs[: len(path.regs)])
    if len(path.regs) < len(regs):  # stopped: the last two did not beat the best before them
        assert path.scores[-2:].max() <= path.scores[:-2].max()
    # params hold the solution at the best λ: solving again there changes nothing.
    check = {k: v.copy() for k, v in params.items()}
    again = LBFGSSolver(tol=1e-8).solve(LinearObjective("softmax", reg=path.best_reg), check, train)
    assert again.n_iter <= 3
    # Both stopped on a relative decrease of 1e-8: |W - W*| <= √(2 · 1e-8 · f / 2λ) ~ 1e-4.
    np.testing.assert_allclose(check["W"], params["W"], atol=1e-4)
