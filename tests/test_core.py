"""The batched engine: same numbers as the public functions, buffers reused, batches exact."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse

from helpers import make_problem
from linclf import LinearObjective, assert_gradient_close, svm_loss
from linclf._engine import blas
from linclf._engine.blas import block_rows, blocked_backward, blocked_forward
from linclf._engine.core import BatchSource, batched_scores
from linclf.linear import linear_backward


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


def _epochs(X, y, w, *, n_epochs=3, **kwargs):
    """Row ids (X's first column) of every batch of several epochs, copied out."""
    source = BatchSource(X, y, w, rng=np.random.default_rng(0), **kwargs)
    return [
        [
            (Xb[:, 0].astype(int).tolist(), yb.tolist(), None if wb is None else wb.tolist())
            for Xb, yb, wb in source.epoch()
        ]
        for _ in range(n_epochs)
    ]


MODES = pytest.mark.parametrize("shuffle", ["batches", "full", False])


@MODES
@pytest.mark.parametrize("copy", [True, False])
@pytest.mark.parametrize(("n", "batch_size"), [(10, 3), (10, 10), (10, 64), (1, 1)])
def test_every_epoch_visits_every_row_once_with_matching_labels(shuffle, copy, n, batch_size):
    # Column 0 holds the row id; y and w are functions of it, so misaligned batches show.
    X = np.column_stack([np.arange(n), np.ones(n)]).astype(np.float64)
    y, w = np.arange(n) % 3, np.arange(n) / 10
    for epoch in _epochs(
        X, y, w, dtype=np.float32, batch_size=batch_size, shuffle=shuffle, copy=copy
    ):
        rows = [r for ids, _, _ in epoch for r in ids]
        assert sorted(rows) == list(range(n))
        for ids, labels, weights in epoch:
            assert labels == [i % 3 for i in ids]
            assert weights == pytest.approx([i / 10 for i in ids])
        assert [len(ids) for ids, _, _ in epoch].count(min(batch_size, n)) >= len(epoch) - 1


@MODES
def test_copy_and_no_copy_serve_identical_batches(shuffle):
    # copy_X=False must train the very same model: same rows, same order, every epoch.
    X = np.column_stack([np.arange(50), np.zeros(50)])
    y = np.arange(50) % 4
    kwargs = dict(dtype=np.float32, batch_size=8, shuffle=shuffle)
    assert _epochs(X, y, None, copy=True, **kwargs) == _epochs(X, y, None, copy=False, **kwargs)


def test_batches_mode_keeps_batches_and_reorders_them():
    # "batches": one permutation, so the same 8 batches recur, in a new order each epoch.
    X = np.column_stack([np.arange(64), np.zeros(64)])
    epochs = _epochs(
        X,
        np.zeros(64, dtype=np.intp),
        None,
        n_epochs=4,
        dtype=np.float64,
        batch_size=8,
        shuffle="batches",
        copy=True,
    )
    as_sets = [sorted(tuple(ids) for ids, _, _ in epoch) for epoch in epochs]
    assert all(s == as_sets[0] for s in as_sets)
    orders = [[tuple(ids) for ids, _, _ in epoch] for epoch in epochs]
    assert len({tuple(o) for o in orders}) > 1
    assert orders[0][0] != list(range(8))  # the rows were permuted too


@MODES
@pytest.mark.parametrize("copy", [True, False])
@pytest.mark.parametrize(
    ("dtype", "sparse"), [(np.float64, False), (np.float32, False), (np.float64, True)]
)
def test_upcoming_is_the_next_batch_where_it_is_a_view(shuffle, copy, dtype, sparse):
    # The prefetch hint: while a batch is out, `upcoming` holds the next batch's X rows
    # where batches are views of the training copy (None elsewhere, and after the last).
    X = np.column_stack([np.arange(40), np.ones(40)]).astype(np.float64)
    X = scipy.sparse.csr_matrix(X) if sparse else X
    source = BatchSource(
        X, np.arange(40) % 3, None, rng=np.random.default_rng(0), dtype=dtype, batch_size=6,
        shuffle=shuffle, copy=copy,
    )  # fmt: skip
    # Views: a training copy (rows permuted once or not at all), or X itself if ready.
    views = shuffle != "full" and not sparse and (copy or (shuffle is False and dtype == X.dtype))
    for _ in range(2):
        batches = [(Xb.copy(), source.upcoming) for Xb, _, _ in source.epoch()]
        for (_, hint), (following, _) in zip(batches, [*batches[1:], (None, None)], strict=True):
            if views and following is not None:
                assert np.shares_memory(hint, source.X)
                np.testing.assert_array_equal(hint, following)
            else:
                assert hint is None
        assert source.upcoming is None


def test_full_mode_changes_batch_composition():
    X = np.column_stack([np.arange(64), np.zeros(64)])
    epochs = _epochs(
        X,
        np.zeros(64, dtype=np.intp),
        None,
        n_epochs=2,
        dtype=np.float64,
        batch_size=8,
        shuffle="full",
        copy=True,
    )
    assert {tuple(ids) for ids, _, _ in epochs[0]} != {tuple(ids) for ids, _, _ in epochs[1]}


@pytest.mark.parametrize("shuffle", ["full", False])
def test_ready_data_is_not_copied(shuffle):
    # A C-contiguous X already in the training dtype needs no copy without a permutation.
    X = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
    source = BatchSource(
        X,
        np.zeros(20, dtype=np.intp),
        None,
        dtype=np.float32,
        batch_size=4,
        shuffle=shuffle,
        copy=True,
        rng=np.random.default_rng(0),
    )
    assert source.X is X


def test_batches_come_in_the_training_dtype_and_x_is_untouched():
    X = np.random.default_rng(0).normal(size=(20, 3))
    saved = X.copy()
    for copy in (True, False):
        source = BatchSource(
            X,
            np.zeros(20, dtype=np.intp),
            None,
            dtype=np.float32,
            batch_size=6,
            shuffle="batches",
            copy=copy,
            rng=np.random.default_rng(1),
        )
        assert all(Xb.dtype == np.float32 for Xb, _, _ in source.epoch())
    np.testing.assert_array_equal(X, saved)


@pytest.mark.parametrize("rows", [0, 1, 4, 7, 30, 40])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("with_bias", [True, False])
def test_blocked_products_equal_one_product(rows, dtype, with_bias):
    # Blocking changes only the order of the sums: equal to the one-line products up to
    # rounding (n=30 is not a multiple of 4 or 7; 0, 30 and 40 take the one-product path).
    W, b, X, _, _ = make_problem(n_samples=30, dtype=dtype)
    b = b if with_bias else None
    dS = np.random.default_rng(2).normal(size=(30, W.shape[0])).astype(dtype)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    S = blocked_forward(X, W, b, rows=rows)
    np.testing.assert_allclose(S, X @ W.T + (0 if b is None else b), rtol=tol, atol=tol)
    dW, db = blocked_backward(dS, X, b, rows=rows, work=np.full_like(W, np.nan))
    np.testing.assert_allclose(dW, dS.T @ X, rtol=tol, atol=tol)
    assert S.dtype == dW.dtype == dtype
    if with_bias:
        # The same float64 accumulation as linear_backward: equal bit for bit.
        np.testing.assert_array_equal(db, linear_backward(dS, X, W, b)[1])
    else:
        assert db is None


def test_blocked_products_write_into_the_buffers():
    # The engine's workspace is filled in place: the results are the buffers themselves.
    W, b, X, _, _ = make_problem(n_samples=30)
    dS = np.random.default_rng(3).normal(size=(30, W.shape[0]))
    S_buffer, dW_buffer = np.empty((30, W.shape[0])), np.empty_like(W)
    assert blocked_forward(X, W, b, rows=4, out=S_buffer) is S_buffer
    assert blocked_backward(dS, X, b, rows=4, out=dW_buffer)[0] is dW_buffer


@pytest.mark.parametrize("openblas", [True, False])
def test_block_rows_rule(monkeypatch, openblas):
    # The documented rule: with OpenBLAS, 10⁶ // (C·D) rows when that is >= 16, else 0.
    monkeypatch.setattr(blas, "_BLOCKED_PRODUCTS", openblas)
    # C=10, D=3072: C·D = 30720 and 10⁶ // 30720 = 32 (32·30720 = 983040 <= 10⁶ <
    # 33·30720 = 1013760), and 32 >= 16.
    assert block_rows(10, 3072) == (32 if openblas else 0)
    # C=10, D=784: 10⁶ // 7840 = 127 (127·7840 = 995680 <= 10⁶ < 128·7840 = 1003520).
    assert block_rows(10, 784) == (127 if openblas else 0)
    # C=10, D=6500: 10⁶ // 65000 = 15 < 16, too few rows to pay for the accumulation.
    assert block_rows(10, 6500) == 0
    assert block_rows(1000, 12288) == 0  # C·D > 10⁶: not even one row fits


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
    # Float32 rounding of a sum of D terms in any order: each side within D ulps of the
    # terms' magnitude (the compiled kernel sums in another order than BLAS; an entry near
    # 0 is off by more than 1e-6 relative).
    magnitude = np.abs(X) @ np.abs(W).T + np.abs(b)
    bound = 2 * (X.shape[1] + 1) * np.finfo(np.float32).eps * magnitude
    assert np.all(np.abs(S.astype(np.float64) - expected) <= bound)
    assert np.abs(S.astype(np.float64) - X @ W.T - b).max() > 0  # float32, not float64


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
