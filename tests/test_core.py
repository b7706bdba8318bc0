"""The batched engine: same numbers as the public functions, buffers reused, batches exact."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import make_problem
from linclf import LinearObjective, assert_gradient_close, svm_loss
from linclf._core import batched_scores, iter_batches


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("with_bias", [True, False])
def test_fused_step_equals_svm_loss(dtype, weighted, with_bias):
    # The in-place fused pass computes what the public composition computes.
    W, b, X, y, w = make_problem(dtype=dtype, seed=1)
    b = b if with_bias else None
    w = w if weighted else None
    objective = LinearObjective("hinge", reg=0.2, delta=0.7)
    loss, grads = objective.loss_grad({"W": W, "b": b}, X, y, w)
    loss_ref, dW_ref, db_ref = svm_loss(W, b, X, y, 0.2, delta=0.7, sample_weight=w)
    tol = 1e-12 if dtype == np.float64 else 1e-5  # float32: same ops, maybe other BLAS order
    assert loss == pytest.approx(loss_ref, rel=tol)
    np.testing.assert_allclose(grads["W"], dW_ref, rtol=tol, atol=tol)
    assert grads["W"].dtype == dtype
    if with_bias:
        np.testing.assert_allclose(grads["b"], db_ref, rtol=tol, atol=tol)
    else:
        assert grads["b"] is None


def test_workspace_is_reused_across_steps():
    # No per-step allocation of the big arrays: the gradient buffer is the same object
    # on every call of the same shape, and a smaller last batch reuses it too.
    W, b, X, y, _ = make_problem(n_samples=20, dtype=np.float32)
    objective = LinearObjective("hinge", reg=0.1)
    _, g1 = objective.loss_grad({"W": W, "b": b}, X[:16], y[:16])
    first = g1["W"]
    _, g2 = objective.loss_grad({"W": W, "b": b}, X[16:], y[16:])
    assert g2["W"] is first


def test_fused_step_does_not_modify_inputs():
    W, b, X, y, w = make_problem(seed=2)
    saved = [a.copy() for a in (W, b, X, y, w)]
    LinearObjective("hinge", reg=0.1).loss_grad({"W": W, "b": b}, X, y, w)
    for before, after in zip(saved, (W, b, X, y, w), strict=True):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize("n, batch_size", [(10, 3), (10, 10), (10, 64), (1, 1)])
def test_iter_batches_visits_every_row_once_in_order(n, batch_size):
    # Concatenating the batches reproduces X[order], y[order], w[order] exactly.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    y = rng.integers(0, 4, size=n)
    w = rng.uniform(size=n)
    order = rng.permutation(n)
    rows = min(batch_size, n)
    buffers = (np.empty((rows, 3)), np.empty(rows, dtype=np.intp), np.empty(rows))
    got = [
        (Xb.copy(), yb.copy(), wb.copy())
        for _, Xb, yb, wb in iter_batches(X, y, w, order, batch_size, buffers)
    ]
    np.testing.assert_array_equal(np.vstack([g[0] for g in got]), X[order])
    np.testing.assert_array_equal(np.concatenate([g[1] for g in got]), y[order])
    np.testing.assert_array_equal(np.concatenate([g[2] for g in got]), w[order])
    assert len(got) == -(-n // batch_size)


@pytest.mark.parametrize("chunk_rows", [1, 7, 4096])
def test_batched_scores_equal_one_product(chunk_rows):
    # Chunking changes memory, not the result (float64, same BLAS kernel per row block).
    W, b, X, _, _ = make_problem(n_samples=50)
    np.testing.assert_allclose(
        batched_scores(X, W, b, chunk_rows=chunk_rows), X @ W.T + b, rtol=1e-12
    )


def test_batched_scores_converts_chunks_to_model_dtype():
    # A float64 X scored by a float32 model gives float32 scores equal to the cast product.
    W, b, X, _, _ = make_problem(n_samples=20)
    S = batched_scores(X, W.astype(np.float32), b.astype(np.float32), chunk_rows=8)
    assert S.dtype == np.float32
    expected = X.astype(np.float32) @ W.astype(np.float32).T + b.astype(np.float32)
    np.testing.assert_allclose(S, expected, rtol=1e-6)


@pytest.mark.parametrize("with_bias", [True, False])
def test_fused_step_gradients_pass_the_numerical_checker(with_bias):
    # The core's own dW and db (not only svm_loss's) are gradients of its loss.
    W, b, X, y, w = make_problem(seed=6)
    params = {"W": W, "b": b if with_bias else None}
    objective = LinearObjective("hinge", reg=0.3, delta=0.8)
    _, grads = objective.loss_grad(params, X, y, w)
    dW, db = grads["W"].copy(), None if grads["b"] is None else grads["b"].copy()

    def f(_):
        return objective.loss_grad(params, X, y, w)[0]

    assert_gradient_close(f, W, dW)
    if with_bias:
        assert_gradient_close(f, b, db)
