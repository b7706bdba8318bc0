"""svm_loss against its loop reference and the numerical gradient, over a grid of settings."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import make_problem
from linclf import assert_gradient_close, l2_penalty, svm_loss, svm_loss_naive

GRID = pytest.mark.parametrize(
    ("with_bias", "weighted", "reg", "delta"),
    [
        (bias, weighted, reg, delta)
        for bias in (True, False)
        for weighted in (False, True)
        for reg in (0.0, 0.3)
        for delta in (1.0, 0.5)
    ],
)


@GRID
@pytest.mark.parametrize("seed", [0, 1])
def test_vectorized_equals_naive(with_bias, weighted, reg, delta, seed):
    # Two independent implementations agree to 1e-10 in float64 (acceptance item 2).
    W, b, X, y, w = make_problem(seed=seed)
    b = b if with_bias else None
    w = w if weighted else None
    loss, dW, db = svm_loss(W, b, X, y, reg, delta=delta, sample_weight=w)
    loss_ref, dW_ref, db_ref = svm_loss_naive(W, b, X, y, reg, delta=delta, sample_weight=w)
    assert abs(loss - loss_ref) <= 1e-10
    np.testing.assert_allclose(dW, dW_ref, rtol=0, atol=1e-10)
    if with_bias:
        np.testing.assert_allclose(db, db_ref, rtol=0, atol=1e-10)
    else:
        assert db is None and db_ref is None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_integer_data_with_exact_zero_margins(seed):
    # Integer X and W make many margins exactly 0: both versions must take subgradient 0.
    rng = np.random.default_rng(seed)
    X = rng.integers(-1, 2, size=(60, 6))
    W = rng.integers(-1, 2, size=(4, 6)).astype(np.float64)
    y = rng.integers(0, 4, size=60)
    S = X @ W.T
    margins = S - S[np.arange(60), y][:, None] + 1.0
    assert np.count_nonzero(margins == 0) >= 10  # the case under test really occurs
    for b in (None, np.zeros(4)):
        loss, dW, db = svm_loss(W, b, X, y, 0.1)
        loss_ref, dW_ref, db_ref = svm_loss_naive(W, b, X, y, 0.1)
        assert abs(loss - loss_ref) <= 1e-10
        np.testing.assert_allclose(dW, dW_ref, rtol=0, atol=1e-10)
        if b is not None:
            np.testing.assert_allclose(db, db_ref, rtol=0, atol=1e-10)


@GRID
def test_gradients_pass_the_numerical_checker(with_bias, weighted, reg, delta):
    # dW and db are the gradients of the objective (acceptance item 3); random float64 data
    # is away from the kinks, and the checker sets aside any coordinate within h of one.
    W, b, X, y, w = make_problem(seed=4)
    b = b if with_bias else None
    w = w if weighted else None
    _, dW, db = svm_loss(W, b, X, y, reg, delta=delta, sample_weight=w)

    def objective(_):
        return svm_loss(W, b, X, y, reg, delta=delta, sample_weight=w)[0]

    assert_gradient_close(objective, W, dW)
    if with_bias:
        assert_gradient_close(objective, b, db)


def test_gradient_subset_check_on_a_larger_problem():
    # num_checks samples coordinates: the CIFAR-style spot check used on big W.
    W, b, X, y, _ = make_problem(n_samples=200, n_features=300, n_classes=10, seed=7)
    _, dW, _ = svm_loss(W, b, X, y, 1e-2)
    result = assert_gradient_close(
        lambda _: svm_loss(W, b, X, y, 1e-2)[0], W, dW, num_checks=40, seed=0
    )
    assert result.n_checked == 40


@pytest.mark.parametrize("reg", [0.0, 0.25, 3.0])
def test_penalty_value_and_gradient(reg):
    # λΣW² by hand, and its gradient 2λW through the checker.
    W = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
    value, dW = l2_penalty(W, reg)
    assert value == pytest.approx(reg * (1 + 4 + 0.25 + 9 + 1), rel=1e-15)
    if reg == 0.0:
        assert dW is None
    else:
        assert_gradient_close(lambda w: l2_penalty(w, reg)[0], W, dW)


def test_bias_is_not_regularized():
    # Changing b never changes the penalty part: with reg > 0, db is the same as with reg 0.
    W, b, X, y, _ = make_problem(seed=2)
    _, _, db0 = svm_loss(W, b, X, y, 0.0)
    _, _, db1 = svm_loss(W, b, X, y, 5.0)
    np.testing.assert_array_equal(db0, db1)


@pytest.mark.parametrize("fn", [svm_loss, svm_loss_naive])
def test_inputs_are_not_modified(fn):
    W, b, X, y, w = make_problem(seed=3)
    saved = [a.copy() for a in (W, b, X, y, w)]
    fn(W, b, X, y, 0.1, sample_weight=w)
    for before, after in zip(saved, (W, b, X, y, w), strict=True):
        np.testing.assert_array_equal(before, after)


def test_float32_stays_float32_and_matches_float64():
    # Heavy arrays stay float32; the loss is a Python float within float32 rounding of float64.
    W, b, X, y, _ = make_problem(seed=5)
    loss32, dW32, db32 = svm_loss(
        W.astype(np.float32), b.astype(np.float32), X.astype(np.float32), y, 0.1
    )
    loss64, dW64, db64 = svm_loss(W, b, X, y, 0.1)
    np.testing.assert_allclose(db32, db64, rtol=1e-4, atol=1e-5)
    assert type(loss32) is float
    assert dW32.dtype == np.float32 and db32.dtype == np.float32
    # float32 carries ~7 digits; scores of order 10 leave ~1e-5 relative error.
    assert loss32 == pytest.approx(loss64, rel=1e-5)
    np.testing.assert_allclose(dW32, dW64, rtol=1e-4, atol=1e-5)


def test_float32_loss_is_accumulated_accurately():
    # 200,000 rows each with loss exactly 1 + 2⁻²⁰ (representable in float32): a float32
    # running sum of that many terms drifts by ~1e-3; the float64 accumulation is exact.
    n = 200_000
    X = np.zeros((n, 1), dtype=np.float32)
    W = np.zeros((2, 1), dtype=np.float32)
    eps = np.float32(2.0**-20)
    loss, _, _ = svm_loss(W, np.array([eps, 0.0], dtype=np.float32), X, np.ones(n, dtype=int), 0.0)
    assert loss == 1.0 + 2.0**-20


def test_docstring_example_formula():
    # The Notes formula on a 2×3 case by hand: W = 0 so every margin is Δ = 1.
    X = np.array([[1.0, 2.0], [0.0, 1.0]])
    y = np.array([0, 2])
    loss, dW, db = svm_loss(np.zeros((3, 2)), np.zeros(3), X, y, reg=0.1)
    assert loss == 2.0
    # G = [[-2, 1, 1], [1, 1, -2]] / 2; dW = Gᵀ X.
    G = np.array([[-2.0, 1.0, 1.0], [1.0, 1.0, -2.0]]) / 2
    np.testing.assert_array_equal(dW, G.T @ X)
    np.testing.assert_array_equal(db, G.sum(axis=0))
