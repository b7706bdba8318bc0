"""Softmax cross-entropy: the node, the objective and its loop twin, the helpers, extremes."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest

from helpers import make_problem
from linclf import LOSSES, assert_gradient_close, linear_objective
from linclf._engine.core import LinearObjective
from linclf.losses import (
    SoftmaxCrossEntropy,
    get_loss,
    log_softmax,
    softmax,
    softmax_cross_entropy,
)
from linclf.objective import softmax_loss, softmax_loss_naive

GRID = pytest.mark.parametrize(
    ("with_bias", "weighted", "reg"),
    [
        (bias, weighted, reg)
        for bias in (True, False)
        for weighted in (False, True)
        for reg in (0.0, 0.3)
    ],
)

# Extreme scores: the largest round magnitude each dtype carries with room for s - m.
EXTREMES = pytest.mark.parametrize(
    ("dtype", "scale"), [(np.float32, 1e4), (np.float64, 1e300)], ids=["f32-1e4", "f64-1e300"]
)

# Rows of the extreme case (times scale): true class dominant, wrong class dominant, a
# tie of the two top classes, all equal. Their exact losses are 0, 2·scale, log 2, log 3.
EXTREME_ROWS = np.array([[1.0, -1.0, 0.5], [-1.0, 1.0, 0.0], [1.0, 1.0, -1.0], [0.0, 0.0, 0.0]])
EXTREME_Y = np.array([0, 0, 1, 2])


def extreme_losses(scale):
    return [0.0, 2.0 * scale, math.log(2.0), math.log(3.0)]


@pytest.fixture
def strict():
    # Any warning, and any overflow, invalid or divide flag NumPy raises, fails the test.
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        yield


@GRID
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vectorized_equals_naive(with_bias, weighted, reg, seed):
    # Two independent implementations (fused NumPy node vs math.exp/math.log loops) agree;
    # both are float64 with O(N·C) terms of size O(1), so 1e-10 leaves five orders of margin.
    W, b, X, y, w = make_problem(seed=seed)
    b = b if with_bias else None
    w = w if weighted else None
    loss, dW, db = softmax_loss(W, b, X, y, reg, sample_weight=w)
    loss_ref, dW_ref, db_ref = softmax_loss_naive(W, b, X, y, reg, sample_weight=w)
    assert abs(loss - loss_ref) <= 1e-10
    np.testing.assert_allclose(dW, dW_ref, rtol=0, atol=1e-10)
    if with_bias:
        np.testing.assert_allclose(db, db_ref, rtol=0, atol=1e-10)
    else:
        assert db is None and db_ref is None


def test_hand_computed_two_by_three():
    # L_i = log Σ_j e^{s_ij} - s_iy and dS = (p - onehot) / N, written out with math; the
    # node works in float64 on O(1) values, so 1e-15 relative is a few ulps.
    S = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]])
    y = np.array([1, 0])
    expected_rows = []
    expected_dS = []
    for i in range(2):
        total = sum(math.exp(v) for v in S[i])
        expected_rows.append(math.log(total) - S[i, y[i]])
        expected_dS.append([(math.exp(S[i, j]) / total - (j == y[i])) / 2 for j in range(3)])
    loss, dS = softmax_cross_entropy(S, y)
    assert loss == pytest.approx(sum(expected_rows) / 2, rel=1e-15)
    np.testing.assert_allclose(dS, expected_dS, rtol=1e-14, atol=1e-16)


def test_objective_docstring_example_by_hand():
    # The softmax_loss docstring case: W = 0 gives p = 1/3 everywhere, so L = log 3 and
    # G = (p - onehot) / 2; dW = Gᵀ X, db = Σ_i G_i. Exact fractions, so 1e-15.
    X = np.array([[1.0, 2.0], [0.0, 1.0]])
    y = np.array([0, 2])
    loss, dW, db = softmax_loss(np.zeros((3, 2)), np.zeros(3), X, y, reg=0.1)
    assert loss == pytest.approx(math.log(3.0), rel=1e-15)
    G = (np.full((2, 3), 1.0 / 3.0) - np.eye(3)[y]) / 2
    np.testing.assert_allclose(dW, G.T @ X, rtol=1e-15, atol=1e-16)
    np.testing.assert_allclose(db, G.sum(axis=0), rtol=1e-15, atol=1e-16)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_node_backward_passes_gradient_check(weighted, seed):
    # dS is the gradient of the node's loss; the loss is smooth, so every coordinate is
    # compared with the checker's float64 defaults (rtol 1e-6) and none may be a kink.
    rng = np.random.default_rng(seed)
    S = rng.normal(scale=2.0, size=(8, 4))
    y = rng.integers(0, 4, size=8)
    w = rng.uniform(0.1, 2, size=8) if weighted else None
    _, dS = softmax_cross_entropy(S, y, sample_weight=w)
    result = assert_gradient_close(lambda s: softmax_cross_entropy(s, y, sample_weight=w)[0], S, dS)
    assert result.n_checked == S.size and result.n_kinks == 0


@GRID
def test_objective_gradients_pass_the_checker(with_bias, weighted, reg):
    # dW and db of softmax_loss are the gradients of its value (float64 checker defaults).
    W, b, X, y, w = make_problem(seed=4)
    b = b if with_bias else None
    w = w if weighted else None
    _, dW, db = softmax_loss(W, b, X, y, reg, sample_weight=w)

    def objective(_):
        return softmax_loss(W, b, X, y, reg, sample_weight=w)[0]

    assert_gradient_close(objective, W, dW)
    if with_bias:
        assert_gradient_close(objective, b, db)


def test_float32_stays_float32_and_matches_float64():
    # Heavy arrays stay float32 and the loss is a Python float; float32 carries ~7 digits
    # and the scores are O(1-10), so 1e-5 relative on the loss and 1e-4 on gradients.
    W, b, X, y, _ = make_problem(seed=5)
    loss32, dW32, db32 = softmax_loss(
        W.astype(np.float32), b.astype(np.float32), X.astype(np.float32), y, 0.1
    )
    loss64, dW64, db64 = softmax_loss(W, b, X, y, 0.1)
    assert type(loss32) is float
    assert dW32.dtype == np.float32 and db32.dtype == np.float32
    assert loss32 == pytest.approx(loss64, rel=1e-5)
    np.testing.assert_allclose(dW32, dW64, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(db32, db64, rtol=1e-4, atol=1e-5)
    loss, dS = softmax_cross_entropy(np.zeros((3, 4), dtype=np.float32), np.array([0, 1, 2]))
    assert type(loss) is float and dS.dtype == np.float32


def test_float32_loss_is_accumulated_accurately():
    # 300,000 all-zero float32 score rows: each L_i is exactly log 2 (e = 1, 1), so the mean
    # is log 2 to float64 rounding (1e-12 is generous). A float32 running sum of these terms
    # drifts by far more than 1e-4 (checked here, so the case really is sensitive).
    n = 300_000
    X = np.zeros((n, 1), dtype=np.float32)
    W = np.zeros((2, 1), dtype=np.float32)
    b = np.zeros(2, dtype=np.float32)
    loss, _, _ = softmax_loss(W, b, X, np.zeros(n, dtype=int), 0.0)
    drifted = float(np.cumsum(np.full(n, math.log(2.0), dtype=np.float32))[-1]) / n
    assert abs(drifted - math.log(2.0)) > 1e-4
    assert loss == pytest.approx(math.log(2.0), rel=1e-12)


@EXTREMES
def test_extreme_scores_give_finite_exact_losses(dtype, scale, strict):
    # Scores ±1e4 in float32 and ±1e300 in float64 overflow any naive exp; each row's loss
    # is its exact value (0 when the true class dominates, the finite margin 2·scale when a
    # wrong class does, log 2 and log 3 for ties) to float64 rounding, never inf or NaN.
    S = (scale * EXTREME_ROWS).astype(dtype)
    per_row = [softmax_cross_entropy(S[i : i + 1], EXTREME_Y[i : i + 1])[0] for i in range(len(S))]
    assert per_row[0] == 0.0
    np.testing.assert_allclose(per_row, extreme_losses(scale), rtol=1e-12)
    loss, dS = softmax_cross_entropy(S, EXTREME_Y)
    assert loss == pytest.approx(np.mean(extreme_losses(scale)), rel=1e-12)
    assert dS.dtype == dtype and np.all(np.isfinite(dS))
    # Each row of dS sums to 0 (Σ_j p_ij = 1), and the dominant row has no gradient left.
    np.testing.assert_allclose(dS.sum(axis=1), 0.0, atol=1e-7)
    np.testing.assert_array_equal(dS[0], 0.0)


@EXTREMES
def test_extreme_scores_softmax_and_log_softmax(dtype, scale, strict):
    # Probabilities are finite, sum to 1 (to 1e-6 in float32: a few float32 ulps; 1e-12 in
    # float64) and log_softmax holds the exact finite log-probabilities, never -inf.
    S = (scale * EXTREME_ROWS).astype(dtype)
    P = softmax(S)
    logP = log_softmax(S)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    assert P.dtype == dtype and logP.dtype == dtype
    assert np.all(np.isfinite(P)) and np.all(np.isfinite(logP))
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=0, atol=tol)
    np.testing.assert_allclose(np.exp(logP.astype(np.float64)).sum(axis=1), 1.0, atol=tol)
    assert logP[0, 0] == 0.0 and logP[0, 1] == dtype(-2.0 * scale)
    np.testing.assert_allclose(logP[3], -math.log(3.0), rtol=tol)


def test_extreme_scores_through_the_objective(strict):
    # Through X Wᵀ + b in float32: scores of ±1e4 give a finite loss (the wrong-class rows'
    # margins) and finite gradients, with no overflow warning from linear_objective.
    X = np.array([[1.0], [-1.0]], dtype=np.float32)
    W = np.array([[1e4], [-1e4]], dtype=np.float32)
    loss, dW, db = softmax_loss(W, np.zeros(2, dtype=np.float32), X, np.array([0, 0]))
    assert loss == pytest.approx(2e4 / 2, rel=1e-7)  # row 0: 0, row 1: 2e4
    assert np.all(np.isfinite(dW)) and np.all(np.isfinite(db))


def test_tiny_loss_of_a_dominant_class_is_exact():
    # With s = (0, -40) the loss is log(1 + e^-40) ≈ 4.25e-18: log1p keeps it, and the
    # true-class gradient -a·e^-40/(1 + e^-40), to float64 rounding (rel 1e-14, no absolute
    # slack) where log(Σ e) and p - 1 would round both to exactly 0.
    tiny = math.log1p(math.exp(-40.0))
    loss, dS = softmax_cross_entropy(np.array([[0.0, -40.0]]), np.array([0]))
    assert loss == pytest.approx(tiny, rel=1e-14, abs=0)
    np.testing.assert_allclose(dS[0], [-math.exp(-40.0), math.exp(-40.0)], rtol=1e-14)
    assert log_softmax(np.array([[0.0, -40.0]]))[0, 0] == pytest.approx(-tiny, rel=1e-14, abs=0)


def test_float32_scores_near_the_float32_limit():
    # ±3e38: s - m overflows float32 to -inf, whose exponential 0 is the right probability;
    # the loss, accumulated in float64, is the finite margin 6e38 (float32 inputs, rel 1e-7).
    S = np.array([[3e38, -3e38]], dtype=np.float32)
    loss, dS = softmax_cross_entropy(S, np.array([1]))
    assert loss == pytest.approx(2 * float(S[0, 0]), rel=1e-7)
    np.testing.assert_array_equal(dS, [[1.0, -1.0]])
    assert softmax_cross_entropy(S, np.array([0]))[0] == 0.0
    np.testing.assert_array_equal(softmax(S), [[1.0, 0.0]])


@pytest.mark.parametrize("shift", [1.0, -37.5, 1e3, 1e6])
def test_loss_is_shift_invariant(shift):
    # Adding c to every score of a row leaves p and L unchanged mathematically; rounding
    # s + c costs at most eps·|c + s| per score and L is 2-Lipschitz in max|Δs|, hence
    # the tolerance 4·eps·(|c| + max|s|).
    rng = np.random.default_rng(3)
    S = rng.normal(scale=3.0, size=(10, 5))
    y = rng.integers(0, 5, size=10)
    offsets = shift * rng.uniform(0.5, 1.5, size=(10, 1))
    tol = 4 * np.finfo(np.float64).eps * (abs(offsets).max() + abs(S).max())
    loss, dS = softmax_cross_entropy(S, y)
    loss_shifted, dS_shifted = softmax_cross_entropy(S + offsets, y)
    assert abs(loss - loss_shifted) <= tol
    np.testing.assert_allclose(dS_shifted, dS, rtol=0, atol=tol)


@pytest.mark.parametrize("use_out", [False, True])
def test_all_zero_weights_give_zero_not_nan(use_out):
    # A batch that weighs nothing contributes nothing: loss 0 and dS 0, never 0/0.
    S = np.array([[1.0, 2.0, 0.0], [3.0, -1.0, 0.5]])
    out = S if use_out else None
    loss, dS = softmax_cross_entropy(S, np.array([0, 2]), sample_weight=np.zeros(2), out=out)
    assert loss == 0.0
    np.testing.assert_array_equal(dS, np.zeros((2, 3)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weighted", [False, True])
def test_out_may_alias_scores(dtype, weighted):
    # out=S overwrites S with dS and gives bit-identical numbers to a separate buffer.
    rng = np.random.default_rng(1)
    S = rng.normal(size=(6, 4)).astype(dtype)
    y = rng.integers(0, 4, size=6)
    w = rng.uniform(0.1, 2, size=6) if weighted else None
    loss_a, dS_a = softmax_cross_entropy(S.copy(), y, sample_weight=w)
    loss_b, dS_b = softmax_cross_entropy(S.copy(), y, sample_weight=w, out=np.empty_like(S))
    S_in_place = S.copy()
    loss_c, dS_c = softmax_cross_entropy(S_in_place, y, sample_weight=w, out=S_in_place)
    assert dS_c is S_in_place
    assert loss_a == loss_b == loss_c
    np.testing.assert_array_equal(dS_a, dS_b)
    np.testing.assert_array_equal(dS_a, dS_c)


def test_registry_has_softmax_and_stays_read_only():
    # The objective, core and estimators find the node by name; it takes no extra params,
    # and its loss_grad is softmax_cross_entropy's arithmetic, bit for bit.
    node = get_loss("softmax")
    assert isinstance(node, SoftmaxCrossEntropy) and LOSSES["softmax"] is SoftmaxCrossEntropy
    assert LOSSES["softmax"].params == () == tuple(f.name for f in dataclasses.fields(node))
    S, y = np.random.default_rng(0).normal(size=(4, 3)), np.array([0, 2, 1, 2])
    loss, dS = node.loss_grad(S, y, sample_weight=np.arange(4.0))
    loss_ref, dS_ref = softmax_cross_entropy(S, y, sample_weight=np.arange(4.0))
    assert loss == loss_ref
    np.testing.assert_array_equal(dS, dS_ref)
    assert {"hinge", "softmax"} <= set(LOSSES)
    with pytest.raises(TypeError):
        LOSSES["other"] = LOSSES["softmax"]  # type: ignore[index]
    with pytest.raises(TypeError, match="takes no parameter"):
        linear_objective(np.zeros((2, 1)), None, np.ones((1, 1)), [0], loss="softmax", delta=1)


def test_node_and_helpers_do_not_modify_scores():
    # Without out, S is only read by the node and by both helpers.
    rng = np.random.default_rng(2)
    S = rng.normal(size=(5, 3))
    saved = S.copy()
    softmax_cross_entropy(S, rng.integers(0, 3, size=5), sample_weight=np.ones(5))
    softmax(S)
    log_softmax(S)
    np.testing.assert_array_equal(S, saved)


@pytest.mark.parametrize("fn", [softmax_loss, softmax_loss_naive])
def test_objective_inputs_are_not_modified(fn):
    W, b, X, y, w = make_problem(seed=3)
    saved = [a.copy() for a in (W, b, X, y, w)]
    fn(W, b, X, y, 0.1, sample_weight=w)
    for before, after in zip(saved, (W, b, X, y, w), strict=True):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_helpers_by_hand(dtype):
    # exp(S) = (1, 3, 4) gives p = (1, 3, 4) / 8 and log p = log of that; a few ulps of the
    # dtype (rtol 1e-6 in float32, 1e-14 in float64). log_softmax = log(softmax) on
    # moderate scores, and both keep the dtype and the out buffer.
    S = np.log(np.array([[1.0, 3.0, 4.0], [2.0, 2.0, 2.0]])).astype(dtype)
    expected = np.array([[1, 3, 4], [1, 1, 1]]) / np.array([[8.0], [3.0]])
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    P = softmax(S)
    assert P.dtype == dtype
    np.testing.assert_allclose(P, expected, rtol=rtol)
    logP = log_softmax(S)
    assert logP.dtype == dtype
    np.testing.assert_allclose(logP, np.log(expected), rtol=rtol)
    buffer = S.copy()
    assert softmax(buffer, out=buffer) is buffer
    np.testing.assert_array_equal(buffer, P)
    buffer = S.copy()
    assert log_softmax(buffer, out=buffer) is buffer
    np.testing.assert_array_equal(buffer, logP)


@pytest.mark.parametrize("seed", [0, 1])
def test_softmax_helpers_match_a_loop_reference(seed):
    # Random rows against p_j = e^{s_j} / Σ e^{s_k} in math (scores O(3), no overflow), to
    # a few float64 ulps (rtol 1e-13 on p, atol 1e-13 on log p of order 1-10).
    S = np.random.default_rng(seed).normal(scale=3.0, size=(6, 5))
    expected = []
    for row in S:
        total = math.fsum(math.exp(v) for v in row)
        expected.append([math.exp(v) / total for v in row])
    np.testing.assert_allclose(softmax(S), expected, rtol=1e-13)
    np.testing.assert_allclose(log_softmax(S), np.log(expected), rtol=0, atol=1e-13)


def test_softmax_helpers_accept_integers_and_one_row():
    # Integer scores are computed in float64; a 1-D row is a single distribution.
    P = softmax(np.array([[0, 0]]))
    assert P.dtype == np.float64
    np.testing.assert_array_equal(P, [[0.5, 0.5]])
    np.testing.assert_allclose(log_softmax(np.array([0.0, 0.0])), [-math.log(2)] * 2, rtol=1e-15)
    with pytest.raises(ValueError, match="shape"):
        softmax(np.zeros((2, 0)))
    with pytest.raises(TypeError, match="real numbers"):
        log_softmax(np.array([["a"]]))


@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_core_objective_matches_softmax_loss(with_bias, weighted):
    # The batched core calls the same node with out=S: its loss and gradients agree with
    # softmax_loss to float64 rounding (the blocked products sum in another order, 1e-12),
    # and its own gradient passes the checker.
    W, b, X, y, w = make_problem(seed=6)
    b = b if with_bias else None
    w = w if weighted else None
    objective = LinearObjective("softmax", reg=0.2)
    params = {"W": W, "b": b}
    loss_core, grads = objective.loss_grad(params, X, y, w)
    dW_core = grads["W"].copy()  # the workspace is overwritten by the next call
    db_core = None if grads["b"] is None else grads["b"].copy()
    loss, dW, db = softmax_loss(W, b, X, y, 0.2, sample_weight=w)
    assert loss_core == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(dW_core, dW, rtol=1e-12, atol=1e-14)
    if with_bias:
        np.testing.assert_allclose(db_core, db, rtol=1e-12, atol=1e-14)
    else:
        assert db_core is None

    def value(_):
        return objective.loss_grad(params, X, y, w)[0]

    assert_gradient_close(value, W, dW_core)
    if with_bias:
        assert_gradient_close(value, b, db_core)


@pytest.mark.parametrize("weighted", [False, True])
def test_agrees_with_scikit_learn_logistic_regression(weighted):
    # An independent oracle: at scikit-learn's multinomial optimum of C·Σ w_i L_i + ½‖W‖²,
    # i.e. of our objective with reg = 1 / (2 Σ w), softmax_loss equals log_loss plus the
    # penalty (float64 rounding, rel 1e-12), softmax equals predict_proba (1e-12), and our
    # gradient vanishes to the solver's tolerance (lbfgs gradient 1e-10 per Σw, so 1e-6).
    sklearn_linear = pytest.importorskip("sklearn.linear_model")
    from sklearn.metrics import log_loss

    W0, b0, X, y, w = make_problem(n_samples=80, n_features=4, n_classes=3, seed=8)
    y = np.argmax(X @ W0.T + b0 + np.random.default_rng(8).normal(size=(80, 3)), axis=1)
    w = w if weighted else np.ones(80)
    model = sklearn_linear.LogisticRegression(tol=1e-12, max_iter=10_000)
    model.fit(X, y, sample_weight=w)
    W, b = model.coef_, model.intercept_
    reg = 1.0 / (2.0 * w.sum())
    loss, dW, db = softmax_loss(W, b, X, y, reg, sample_weight=w)
    expected = log_loss(y, model.predict_proba(X), sample_weight=w) + reg * np.sum(W**2)
    assert loss == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(softmax(X @ W.T + b), model.predict_proba(X), rtol=0, atol=1e-12)
    assert np.abs(dW).max() < 1e-6 and np.abs(db).max() < 1e-6
