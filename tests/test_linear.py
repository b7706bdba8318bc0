"""The scores node: forward against hand-computed values, backward against the checker."""

from __future__ import annotations

import numpy as np
import pytest

from linclf import assert_gradient_close, linear_backward, linear_forward, numerical_gradient_array


def test_forward_hand_computed_2x3():
    # S[i, c] = W[c]·X[i] + b[c], written out by hand for 2 samples × 3 classes.
    X = np.array([[1.0, 2.0], [3.0, -1.0]])
    W = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0]])
    b = np.array([0.5, 0.0, -1.0])
    expected = np.array([[1.5, 2.0, 3.0], [3.5, -1.0, 4.0]])
    np.testing.assert_array_equal(linear_forward(X, W, b), expected)
    np.testing.assert_array_equal(linear_forward(X, W), expected - b)


def test_forward_writes_into_out_buffer():
    # The batched core relies on out=: the result must be the buffer itself.
    rng = np.random.default_rng(0)
    X, W, b = rng.normal(size=(4, 3)), rng.normal(size=(2, 3)), rng.normal(size=2)
    out = np.empty((4, 2))
    S = linear_forward(X, W, b, out=out)
    assert S is out
    np.testing.assert_allclose(out, X @ W.T + b, rtol=1e-14)


@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("seed", [0, 1])
def test_backward_matches_numerical_gradients(with_bias, seed):
    # dW, db, dX are the gradients of Σ dS·S with respect to W, b, X (checked numerically).
    rng = np.random.default_rng(seed)
    X, W = rng.normal(size=(5, 4)), rng.normal(size=(3, 4))
    b = rng.normal(size=3) if with_bias else None
    dS = rng.normal(size=(5, 3))
    dW, db, dX = linear_backward(dS, X, W, b, need_dX=True)
    # The node is linear in each argument: centered differences are exact up to rounding,
    # so a 1e-8 relative tolerance is generous.
    for param, analytic in [(W, dW), (X, dX)] + ([(b, db)] if with_bias else []):
        numeric = numerical_gradient_array(lambda _: linear_forward(X, W, b), param, dS)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-8, atol=1e-10)
    assert (db is None) == (not with_bias)


def test_backward_through_the_package_checker():
    # The same gradients pass assert_gradient_close on the scalar Σ dS·S.
    rng = np.random.default_rng(3)
    X, W, b, dS = (rng.normal(size=s) for s in [(6, 5), (4, 5), (4,), (6, 4)])
    dW, db, dX = linear_backward(dS, X, W, b, need_dX=True)

    def f(_):
        return float(np.sum(dS * linear_forward(X, W, b)))

    assert_gradient_close(f, W, dW)
    assert_gradient_close(f, b, db)
    assert_gradient_close(f, X, dX)


@pytest.mark.parametrize("n_columns", [1, 3])
def test_backward_float32_db_accumulates_in_float64(n_columns):
    # Each column of dS is 1, 2²⁴, 1, -2²⁴ repeated 2¹⁸ times, so it sums to 2¹⁹ = 524288
    # exactly. In float32, 2²⁴ + 1 rounds back to 2²⁴: a float32 running sum ends at 0, and
    # NumPy's pairwise float32 sum (what a single column gets) loses every other 1 and ends
    # at 262144. In float64 every partial sum is an exact integer, so db is exactly 524288.
    pattern = np.array([1.0, 2.0**24, 1.0, -(2.0**24)], dtype=np.float32)
    dS = np.repeat(np.tile(pattern, 2**18)[:, None], n_columns, axis=1)
    expected = np.full(n_columns, 524288.0, dtype=np.float32)
    # The data really defeats float32 accumulation, so the assertion below can fail.
    assert not np.array_equal(dS.sum(axis=0), expected)
    X = np.ones((dS.shape[0], 1), dtype=np.float32)
    W, b = np.zeros((n_columns, 1), np.float32), np.zeros(n_columns, np.float32)
    _, db, _ = linear_backward(dS, X, W, b)
    assert db.dtype == np.float32
    np.testing.assert_array_equal(db, expected)
