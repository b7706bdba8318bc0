"""The per-chunk API, linclf.chunks: each function against an independent oracle, and a
plain Python loop over chunks against linclf.distributed.fit on a real Dask cluster.

The oracles: linclf's numerical gradient checker and the whole-data ``softmax_loss``
for the chunk gradients, a hand-written minibatch loop with ``svm_loss`` for a local
epoch, dyadic weights (exact in binary) for the merge.
"""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import linclf
from helpers import local_dask_client, make_problem
from linclf import check_gradient, chunks, softmax_loss, svm_loss

DOCS = Path(__file__).resolve().parent.parent / "docs"


def prepared(X, y, sample_weight=None, *, n_chunks=3, estimator=None, max_rounds=5):
    """``(estimator, plan, encoded chunks)`` of X split into ``n_chunks`` row chunks."""
    if estimator is None:
        estimator = linclf.SoftmaxClassifier(solver="sgd", reg=1e-2, random_state=0)
    plan = chunks.ChunkPlan.from_estimator(estimator, max_rounds=max_rounds).for_dtype(X.dtype)
    bounds = np.linspace(0, len(X), n_chunks + 1).astype(int)
    checked = [
        chunks.check_chunk(
            plan, X[a:b], y[a:b], None if sample_weight is None else sample_weight[a:b], start=a
        )
        for a, b in itertools.pairwise(bounds)
    ]
    plan = plan.with_summaries([chunks.summarize(chunk) for chunk in checked])
    return estimator, plan, [chunks.encode_chunk(plan, chunk) for chunk in checked]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_chunk_gradient_sums_give_the_whole_objective_and_its_gradient(weighted, fit_intercept):
    # The sums of three chunks, finished by loss_and_gradient, are the objective of all
    # the rows: its gradient passes the numerical check, and both equal softmax_loss's.
    W, b, X, y, sample_weight = make_problem(n_samples=40, n_features=4, n_classes=3, seed=1)
    sample_weight = sample_weight if weighted else None
    estimator = linclf.SoftmaxClassifier(solver="sgd", reg=1e-2, fit_intercept=fit_intercept)
    _, plan, parts = prepared(X, y, sample_weight, estimator=estimator)
    like = {"W": W, "b": b if fit_intercept else None}

    def objective(x):
        params = chunks.unflatten(x, like)
        sums = sum(chunks.gradient_sums(plan, params, chunk) for chunk in parts)
        return chunks.loss_and_gradient(plan, params, sums)

    x = np.concatenate([W.ravel(), b if fit_intercept else []])
    loss, gradient = objective(x)
    # float64 centered differences of a smooth objective: the checker's own tolerances.
    assert check_gradient(lambda v: objective(v)[0], x, gradient).passed
    expected, dW, db = softmax_loss(W, like["b"], X, y, plan.reg, sample_weight=sample_weight)
    # Only the order of the float64 sums differs (per chunk, then added): rtol 1e-12.
    assert_allclose(loss, expected, rtol=1e-12)
    assert_allclose(gradient, np.concatenate([dW.ravel(), [] if db is None else db]), rtol=1e-12)
    assert gradient.dtype == np.float64 and gradient.shape == x.shape


def test_merge_is_the_weighted_mean_of_models_and_losses():
    # Weights 1 and 3 of a total of 4: shares 1/4 and 3/4, exact in binary, so the mean is
    # exact; b=None stays None, and float32 parameters stay float32.
    zeros = chunks.ChunkModel({"W": np.zeros((2, 2), np.float32), "b": None}, 1.0, 2.0)
    fours = chunks.ChunkModel({"W": np.full((2, 2), 4.0, np.float32), "b": None}, 3.0, 6.0)
    params, loss = chunks.merge([zeros, fours])
    assert_array_equal(params["W"], np.full((2, 2), 3.0))
    assert params["W"].dtype == np.float32 and params["b"] is None
    assert loss == (1.0 * 2.0 + 3.0 * 6.0) / 4.0
    with pytest.raises(ValueError, match="models must hold at least one"):
        chunks.merge([])


def test_local_epoch_is_one_plain_minibatch_sgd_epoch():
    # No shuffling, no momentum, a constant rate: the epoch is, by hand, a step of
    # learning_rate · lr_scale on each minibatch of the chunk in data order (svm_loss).
    W0, b0, X, y, _ = make_problem(n_samples=60, n_features=5, n_classes=3, seed=2)
    estimator = linclf.LinearSVM(
        solver="sgd",
        dtype=np.float64,
        learning_rate=0.05,
        momentum=0.0,
        reg=1e-3,
        batch_size=16,
        shuffle=False,
        schedule="constant",
    )
    _, plan, parts = prepared(X, y, estimator=estimator, n_chunks=1)
    start = {"W": W0.copy(), "b": b0.copy()}
    model = chunks.local_epoch(plan, start, parts[0], round_index=3, chunk_index=0, lr_scale=0.5)
    W, b = W0.copy(), b0.copy()
    for lo in range(0, 60, 16):
        _, dW, db = svm_loss(W, b, X[lo : lo + 16], y[lo : lo + 16], 1e-3)
        W, b = W - 0.025 * dW, b - 0.025 * db
    # The core's fused step against the two-line update: a few float64 roundings per step.
    assert_allclose(model.params["W"], W, rtol=1e-12, atol=1e-14)
    assert_allclose(model.params["b"], b, rtol=1e-12, atol=1e-14)
    assert model.weight == 60.0
    assert_array_equal(start["W"], W0)  # the given parameters are not modified


def test_local_epoch_is_deterministic_given_the_seed():
    # The shuffling seed derives from (plan.seed, round, chunk): the same arguments repeat
    # the model bit for bit; another chunk index, round or random_state gives another one.
    _, _, X, y, w = make_problem(n_samples=90, n_features=4, n_classes=3, seed=3)
    _, plan, parts = prepared(X, y, w)
    params = plan.start_params(4)

    def run(plan, round_index=1, chunk_index=0):
        where = dict(round_index=round_index, chunk_index=chunk_index)
        return chunks.local_epoch(plan, params, parts[0], **where).params["W"]

    first = run(plan)
    assert_array_equal(run(plan), first)
    assert not np.array_equal(run(plan, chunk_index=1), first)
    assert not np.array_equal(run(plan, round_index=2), first)
    other_seed = linclf.SoftmaxClassifier(solver="sgd", reg=1e-2, random_state=1)
    assert not np.array_equal(run(prepared(X, y, w, estimator=other_seed)[1]), first)


def test_the_plan_takes_classes_and_balanced_weights_from_all_the_chunks():
    # Chunk 0 has no label 2 and chunk 1 no label 0: the classes and the "balanced" factors
    # N / (C n_c) come from the counts of all the chunks, and encode_chunk applies them.
    X = np.arange(12.0).reshape(6, 2)
    y = np.array([0, 1, 0, 1, 1, 2])
    estimator = linclf.LinearSVM(solver="sgd", class_weight="balanced")
    _, plan, parts = prepared(X, y, estimator=estimator, n_chunks=2)
    assert plan.classes.tolist() == [0, 1, 2] and plan.n_samples == 6
    counts = np.array([2, 3, 1])
    assert_allclose(plan.class_factors, 6 / (3 * counts))
    assert_array_equal(parts[1][1], [1, 1, 2])  # class indices
    assert_allclose(parts[1][2], 6 / (3 * counts[[1, 1, 2]]))
    assert chunks.chunk_weight(parts[1]) == pytest.approx(2 * 6 / 9 + 6 / 3)


def test_check_chunk_names_the_row_of_the_whole_data():
    # A chunk starting at row 100 reports its bad entry at the global row and its rows.
    plan = chunks.ChunkPlan.from_estimator(linclf.LinearSVM()).for_dtype(np.float64)
    X = np.ones((5, 2))
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"row 103, column 1.*chunk of rows 100 to 104"):
        chunks.check_chunk(plan, X, np.arange(5), start=100)
    with pytest.raises(ValueError, match=r"sample_weight.*index 100"):
        chunks.check_chunk(plan, np.ones((5, 2)), np.arange(5), -np.ones(5), start=100)


@pytest.mark.parametrize(
    ("estimator", "max_rounds", "error", "match"),
    [
        ("not an estimator", None, TypeError, "estimator must be a linclf classifier"),
        (linclf.LinearSVM(standardize=True), None, ValueError, "standardize=True"),
        (linclf.LinearSVM(early_stopping=True), None, ValueError, "early_stopping=True"),
        (linclf.LinearSVM(), 0, ValueError, "max_rounds"),
    ],
)
def test_a_plan_refuses_what_cannot_train_on_chunks(estimator, max_rounds, error, match):
    with pytest.raises(error, match=match):
        chunks.ChunkPlan.from_estimator(estimator, max_rounds=max_rounds)


def test_with_summaries_refuses_one_class_no_summaries_and_a_second_call():
    # A second call would draw another seed for a random_state=None plan: refused.
    plan = chunks.ChunkPlan.from_estimator(linclf.LinearSVM()).for_dtype(np.float64)
    chunk = chunks.check_chunk(plan, np.ones((3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="class"):
        plan.with_summaries([chunks.summarize(chunk)])
    with pytest.raises(ValueError, match="summaries must hold a ChunkSummary"):
        plan.with_summaries([])
    two = chunks.check_chunk(plan, np.ones((2, 2)), np.arange(2))
    ready = plan.with_summaries([chunks.summarize(two)])
    with pytest.raises(ValueError, match="call with_summaries once"):
        ready.with_summaries([chunks.summarize(two)])


def test_finish_fits_the_estimator_with_the_parameters_and_curve():
    # The trained rows become coef_ / intercept_ (three classes: as they are), the curve
    # loss_curve_, and the estimator predicts with them.
    _, _, X, y, _ = make_problem(n_samples=60, n_features=4, n_classes=3, seed=4)
    estimator, plan, parts = prepared(X, y)
    params, loss = chunks.merge(
        [
            chunks.local_epoch(plan, plan.start_params(4), chunk, round_index=0, chunk_index=k)
            for k, chunk in enumerate(parts)
        ]
    )
    clf = chunks.finish(estimator, plan, params, [loss])
    assert clf is estimator and clf.n_iter_ == 1 and clf.loss_curve_ == [loss]
    assert_array_equal(clf.coef_, params["W"])
    assert_array_equal(clf.intercept_, params["b"])
    assert_array_equal(clf.predict(X), np.argmax(X @ params["W"].T + params["b"], axis=1))


def average_by_hand(estimator, X, y, sample_weight, rows, max_rounds):
    """``"average"`` driven from a plain loop over NumPy chunks of ``rows`` rows each."""
    plan = chunks.ChunkPlan.from_estimator(estimator, max_rounds=max_rounds).for_dtype(X.dtype)
    starts = np.cumsum((0, *rows))
    checked = [
        chunks.check_chunk(plan, X[a:b], y[a:b], sample_weight[a:b], start=a)
        for a, b in itertools.pairwise(starts)
    ]
    plan = plan.with_summaries([chunks.summarize(chunk) for chunk in checked])
    encoded = [chunks.encode_chunk(plan, chunk) for chunk in checked]
    encoded = [chunk for chunk in encoded if chunks.chunk_weight(chunk) > 0]
    params, curve, lr_scale, rule = plan.start_params(X.shape[1]), [], 1.0, plan.stopping_rule()
    for r in range(plan.max_rounds):
        params, loss = chunks.merge(
            [
                chunks.local_epoch(plan, params, c, round_index=r, chunk_index=k, lr_scale=lr_scale)
                for k, c in enumerate(encoded)
            ]
        )
        curve.append(loss)
        step = rule.update(loss, lr_scale)
        lr_scale *= 1.0 if step.decay is None else step.decay
        if step.stop:
            break
    return chunks.finish(estimator, plan, params, curve)


@pytest.fixture(scope="module")
def client():
    yield from local_dask_client()


@pytest.mark.slow
def test_a_plain_loop_over_chunks_equals_the_dask_fit(client):
    # Uneven chunks, one of zero weight (dropped by both), sample and "balanced" class
    # weights, an "adaptive" rate that decays: the loop of the per-chunk API and the Dask
    # driver on a cluster of worker processes give the same model, bit for bit.
    import dask.array as da

    from linclf.distributed import fit

    _, _, X, y, sample_weight = make_problem(n_samples=900, n_features=5, n_classes=3, seed=5)
    rows = (300, 100, 200, 300)
    sample_weight[300:400] = 0.0

    def estimator():
        return linclf.LinearSVM(
            solver="sgd",
            learning_rate=0.05,
            class_weight="balanced",
            tol=1e-2,
            n_iter_no_change=2,
            random_state=0,
        )

    by_hand = average_by_hand(estimator(), X, y, sample_weight, rows, max_rounds=30)
    on_dask = fit(
        estimator(),
        da.from_array(X, chunks=(rows, 5)),
        da.from_array(y, chunks=(rows,)),
        sample_weight=da.from_array(sample_weight, chunks=(rows,)),
        client=client,
        strategy="average",
        max_rounds=30,
    )
    assert_array_equal(on_dask.coef_, by_hand.coef_)
    assert_array_equal(on_dask.intercept_, by_hand.intercept_)
    assert on_dask.loss_curve_ == by_hand.loss_curve_
    assert 3 <= by_hand.n_iter_ < 30  # the rule decayed the rate, then stopped the fit
    assert not np.allclose(by_hand.coef_, 0.0)


def load_check_snippets():
    spec = importlib.util.spec_from_file_location("check_snippets", DOCS / "check_snippets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_the_docs_example_runs_and_equals_the_dask_fit(tmp_path, monkeypatch):
    # docs/chunks.md trains from a plain loop and asserts the model equals the Dask fit's
    # bit for bit (and that its stopping rule stopped it): every block must run.
    monkeypatch.chdir(tmp_path)
    page = DOCS / "chunks.md"
    assert "chunks.local_epoch" in page.read_text("utf-8")
    assert load_check_snippets().check_page(page) == []
