"""Distributed training on a real Dask cluster: linclf.distributed.fit.

One LocalCluster of two worker processes (one thread each) serves the whole module. The
oracles are independent of the module under test: single-machine ``fit`` for accuracy,
full-batch gradient descent written here with ``svm_loss`` / ``softmax_loss`` and ``SGD``
for the "gradient" strategy, a hand-written minibatch loop for "average".
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import dask.array as da
import numpy as np
import pytest
from distributed.diagnostics.plugin import WorkerPlugin
from numpy.testing import assert_allclose, assert_array_equal

import linclf
from helpers import local_dask_client
from linclf import SGD, ConvergenceWarning, DivergenceError, softmax_loss, svm_loss
from linclf.distributed import fit, round_traffic

# Slow (Dask clusters or child processes): .ci/run runs it after the README's command.
pytestmark = pytest.mark.slow


def LinearSVM(**params):
    """LinearSVM trained as the distributed rounds train, by SGD, at the former reg=1e-3."""
    return linclf.LinearSVM(**{"reg": 1e-3, "solver": "sgd", **params})


def SoftmaxClassifier(**params):
    """SoftmaxClassifier by SGD, the distributed rounds' kind of training."""
    return linclf.SoftmaxClassifier(**{"solver": "sgd", **params})


N_TRAIN, N_TEST, D, C, CHUNK = 20_000, 5_000, 20, 4, 2_500  # 8 row chunks


@pytest.fixture(scope="module")
def client():
    # Not the default client: every test passes it explicitly, so that the "no client"
    # error can be tested, and as_current() shows how the default client is found.
    yield from local_dask_client()


@pytest.fixture(scope="module")
def data():
    """Four overlapping Gaussian classes (about 85% accuracy is reachable), in 8 chunks."""
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=0.5, size=(C, D))
    y = rng.integers(0, C, N_TRAIN + N_TEST)
    X = centers[y] + rng.normal(size=(N_TRAIN + N_TEST, D))
    X_train, y_train = X[:N_TRAIN], y[:N_TRAIN]
    return {
        "X": X_train,
        "y": y_train,
        "X_test": X[N_TRAIN:],
        "y_test": y[N_TRAIN:],
        "dX": da.from_array(X_train, chunks=(CHUNK, D)),
        "dy": da.from_array(y_train, chunks=CHUNK),
    }


@pytest.fixture(scope="module")
def single_machine_accuracy(data):
    clf = LinearSVM(random_state=0, max_epochs=10, tol=None).fit(data["X"], data["y"])
    return clf.score(data["X_test"], data["y_test"])


@pytest.mark.parametrize(
    ("strategy", "solver", "learning_rate", "rounds"),
    [("average", "sgd", 0.003, 5), ("gradient", "sgd", 0.2, 30), ("gradient", "lbfgs", 0.003, 20)],
)
def test_held_out_accuracy_is_within_one_point_of_single_machine_fit(
    client, data, single_machine_accuracy, strategy, solver, learning_rate, rounds
):
    # Either strategy trains the same model class as well as one machine does.
    clf = LinearSVM(random_state=0, learning_rate=learning_rate, tol=None)
    fit(
        clf,
        data["dX"],
        data["dy"],
        client=client,
        strategy=strategy,
        solver=solver,
        max_rounds=rounds,
    )
    accuracy = clf.score(data["X_test"], data["y_test"])
    assert abs(accuracy - single_machine_accuracy) <= 0.01
    assert single_machine_accuracy > 0.6  # a problem with something to learn (chance: 0.25)
    assert clf.coef_.shape == (C, D) and clf.n_iter_ == len(clf.loss_curve_)
    assert clf.n_features_in_ == D and clf.classes_.tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("Estimator", "loss_function", "weighted"),
    [(LinearSVM, svm_loss, False), (SoftmaxClassifier, softmax_loss, True)],
)
def test_gradient_strategy_is_full_batch_gradient_descent(
    client, data, Estimator, loss_function, weighted
):
    # The chunks' sums, tree-reduced, then penalized and stepped, are exactly full-batch
    # gradient descent on all the rows: same iterates up to the order of float64 sums.
    learning_rate, momentum, reg, steps = 0.05, 0.9, 1e-3, 12
    sample_weight = None
    if weighted:
        sample_weight = np.random.default_rng(1).uniform(0.1, 2.0, size=N_TRAIN)
    clf = Estimator(
        dtype=np.float64,
        learning_rate=learning_rate,
        momentum=momentum,
        reg=reg,
        schedule="constant",
        tol=None,
    )
    fit(
        clf,
        data["dX"],
        data["dy"],
        client=client,
        strategy="gradient",
        max_rounds=steps,
        sample_weight=None if sample_weight is None else da.from_array(sample_weight, CHUNK),
    )
    W, b = np.zeros((C, D)), np.zeros(C)
    optimizer = SGD(learning_rate, momentum=momentum)
    losses = []
    for _ in range(steps):
        loss, dW, db = loss_function(W, b, data["X"], data["y"], reg, sample_weight=sample_weight)
        losses.append(loss)
        optimizer.step({"W": W, "b": b}, {"W": dW, "b": db})
    # Only the summation order differs (chunk sums, then a tree): ~1e-16 per step, and
    # 12 steps of a contraction do not grow it past 1e-10.
    assert_allclose(clf.coef_, W, rtol=1e-10, atol=1e-13)
    assert_allclose(clf.intercept_, b, rtol=1e-10, atol=1e-13)
    assert_allclose(clf.loss_curve_, losses, rtol=1e-12)
    assert not np.allclose(W, 0.0)  # the steps did move the model


def test_average_mixes_local_epochs_weighted_by_chunk_size(client, data):
    # One round of "average" is, by hand: plain SGD over each chunk's minibatches in data
    # order (shuffle=False, no momentum), then the row-weighted mean of the chunk models.
    # Uneven chunks make the weighting matter.
    rows = (6_000, 2_000, 4_000, 8_000)
    X, y = data["X"], data["y"]
    dX, dy = da.from_array(X, chunks=(rows, D)), da.from_array(y, chunks=(rows,))
    learning_rate, reg, batch = 0.01, 1e-3, 500
    clf = LinearSVM(
        dtype=np.float64,
        learning_rate=learning_rate,
        momentum=0.0,
        reg=reg,
        batch_size=batch,
        shuffle=False,
        schedule="constant",
        tol=None,
    )
    fit(clf, dX, dy, client=client, strategy="average", max_rounds=1)
    mixed_W, mixed_b = np.zeros((C, D)), np.zeros(C)
    start = 0
    for n in rows:
        W, b = np.zeros((C, D)), np.zeros(C)
        for lo in range(start, start + n, batch):
            _, dW, db = svm_loss(W, b, X[lo : lo + batch], y[lo : lo + batch], reg)
            W, b = W - learning_rate * dW, b - learning_rate * db
        mixed_W += (n / N_TRAIN) * W
        mixed_b += (n / N_TRAIN) * b
        start += n
    assert_allclose(clf.coef_, mixed_W, rtol=1e-12, atol=1e-14)
    assert_allclose(clf.intercept_, mixed_b, rtol=1e-12, atol=1e-14)


def test_average_is_deterministic_given_the_seed(client, data):
    # Chunk seeds derive from random_state, round and chunk: a rerun repeats the model
    # bit for bit, wherever the scheduler places the tasks; another seed gives another one.
    def run(seed):
        clf = LinearSVM(random_state=seed, tol=None)
        return fit(clf, data["dX"], data["dy"], client=client, max_rounds=2).coef_

    first = run(7)
    assert_array_equal(run(7), first)
    assert not np.array_equal(run(8), first)


def test_class_weight_balanced_equals_its_sample_weights(client, data):
    # "balanced" is computed once from the class counts of all the chunks, not per chunk.
    counts = np.bincount(data["y"])
    weights = N_TRAIN / (C * counts[data["y"]])
    kwargs = dict(client=client, strategy="gradient", max_rounds=3)
    balanced = fit(LinearSVM(class_weight="balanced", tol=None), data["dX"], data["dy"], **kwargs)
    explicit = fit(LinearSVM(tol=None), data["dX"], data["dy"], sample_weight=weights, **kwargs)
    assert_array_equal(balanced.coef_, explicit.coef_)
    assert not np.allclose(counts, counts.mean(), rtol=0.01)  # the weights are not all 1


def test_chunk_layouts_and_numpy_labels_give_the_same_model(client, data):
    # X chunked across columns is rechunked to whole rows; numpy y is split on X's chunks;
    # y with other row chunks is realigned. All give the row-chunked, dask-y model.
    def run(X, y):
        clf = LinearSVM(random_state=0, tol=None)
        return fit(clf, X, y, client=client, max_rounds=1).coef_

    reference = run(data["dX"], data["dy"])
    assert_array_equal(run(da.from_array(data["X"], chunks=(CHUNK, 5)), data["dy"]), reference)
    assert_array_equal(run(data["dX"], data["y"]), reference)
    assert_array_equal(run(data["dX"], da.from_array(data["y"], chunks=3_000)), reference)


def test_the_fitted_estimator_predicts_and_continues_with_partial_fit(client, data):
    # Fitted through set_fitted_state like a local fit: string labels come back, and
    # partial_fit continues from the distributed model (its optimizer and generator).
    names = np.array(["ant", "bee", "cat", "dog"])
    labels = names[data["y"]]
    clf = fit(LinearSVM(random_state=0, tol=None), data["dX"], labels, client=client, max_rounds=2)
    assert clf.classes_.tolist() == names.tolist()
    assert clf.score(data["X_test"], names[data["y_test"]]) > 0.6
    before = clf.coef_.copy()
    clf.partial_fit(data["X"][:1000], labels[:1000])
    assert clf.n_iter_ == 3 and not np.array_equal(clf.coef_, before)
    assert clf.reg_ == 1e-3


def test_default_client_is_used_and_its_absence_is_an_error(client, data):
    # client=None means distributed.get_client(): the current client, or a clear error.
    with pytest.raises(ValueError, match="no Dask client"):
        fit(LinearSVM(), data["dX"], data["dy"], max_rounds=1)
    with client.as_current():
        clf = fit(LinearSVM(tol=None), data["dX"], data["dy"], max_rounds=1)
    assert clf.n_iter_ == 1


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(strategy="mixing"), ValueError, "strategy must be one of"),
        (dict(solver="lbfgs"), ValueError, "solver='lbfgs' needs strategy='gradient'"),
        (dict(max_rounds=0), ValueError, "max_rounds"),
        (dict(X="numpy"), TypeError, "dask.array.Array chunked by rows"),
        (dict(y="short"), ValueError, "inconsistent numbers of samples"),
        (dict(estimator=LinearSVM(standardize=True)), ValueError, "standardize"),
    ],
)
def test_bad_arguments_are_refused_with_a_message(client, data, kwargs, error, match):
    # Each misuse names the argument and what was expected.
    kwargs = dict(kwargs)
    estimator = kwargs.pop("estimator", LinearSVM())
    X = data["X"] if kwargs.pop("X", None) == "numpy" else data["dX"]
    y = data["dy"][:100] if kwargs.pop("y", None) == "short" else data["dy"]
    with pytest.raises(error, match=match):
        fit(estimator, X, y, client=client, **kwargs)


def test_invalid_data_is_reported_from_the_worker_that_found_it(client, data):
    # The chunks are validated where they lie, with linclf's own message.
    X = data["X"].copy()
    X[12_345, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fit(
            LinearSVM(),
            da.from_array(X, chunks=(CHUNK, D)),
            data["dy"],
            client=client,
            max_rounds=1,
        )


@pytest.mark.parametrize("strategy", ["gradient", "average"])
def test_divergence_raises_and_leaves_the_estimator_unfitted(client, data, strategy):
    # A learning rate of 1e300 overflows the scores after one step: DivergenceError (from
    # the driver, or re-raised from the worker's Trainer), and no half-fitted model.
    clf = LinearSVM(learning_rate=1e300, momentum=0.0, tol=None)
    with pytest.raises(DivergenceError, match="diverged"):
        fit(clf, data["dX"], data["dy"], client=client, strategy=strategy, max_rounds=3)
    assert not hasattr(clf, "coef_")


def test_warm_start_continues_from_the_previous_model(client, data):
    # Plain full-batch gradient descent (no momentum, constant rate): 3 rounds, then 2 more
    # from the fitted model, take the very steps of 5 rounds, so the models are equal.
    def estimator(**extra):
        return LinearSVM(dtype=np.float64, momentum=0.0, schedule="constant", tol=None, **extra)

    kwargs = dict(client=client, strategy="gradient")
    five = fit(estimator(), data["dX"], data["dy"], max_rounds=5, **kwargs)
    warm = fit(estimator(warm_start=True), data["dX"], data["dy"], max_rounds=3, **kwargs)
    fit(warm, data["dX"], data["dy"], max_rounds=2, **kwargs)
    assert_array_equal(warm.coef_, five.coef_)
    assert warm.loss_curve_ == five.loss_curve_[3:]
    cold = fit(estimator(), data["dX"], data["dy"], max_rounds=2, **kwargs)
    assert not np.array_equal(cold.coef_, five.coef_)  # without warm_start: from zeros


def test_adaptive_schedule_decays_the_rate_on_a_plateau_of_round_losses(client, data):
    # The Trainer's "adaptive" rule on the round losses, written out here: after
    # n_iter_no_change rounds not better than the best by tol, multiply the rate by 0.2
    # (and count afresh) while it stays at least 1e-3 of the start; otherwise stop.
    learning_rate, reg, tol, patience, rounds = 0.5, 1e-3, 1e-3, 2, 40
    clf = LinearSVM(
        dtype=np.float64,
        learning_rate=learning_rate,
        momentum=0.0,
        reg=reg,
        schedule="adaptive",
        tol=tol,
        n_iter_no_change=patience,
    )
    fit(clf, data["dX"], data["dy"], client=client, strategy="gradient", max_rounds=rounds)
    W, b = np.zeros((C, D)), np.zeros(C)
    scale, best, bad, losses = 1.0, np.inf, 0, []
    for _ in range(rounds):
        loss, dW, db = svm_loss(W, b, data["X"], data["y"], reg)
        losses.append(loss)
        W, b = W - learning_rate * scale * dW, b - learning_rate * scale * db
        bad = 0 if loss < best - tol else bad + 1
        best = min(best, loss)
        if bad >= patience:
            if scale * 0.2 < 1e-3:
                break
            scale, bad = scale * 0.2, 0
    # Summation order only (chunk sums, then a tree), as in the full-batch test above.
    assert_allclose(clf.loss_curve_, losses, rtol=1e-12)
    assert_allclose(clf.coef_, W, rtol=1e-10, atol=1e-13)
    assert scale < 1.0  # the rule did decay the rate on the way


def test_the_tol_rule_stops_early_and_warns_only_when_cut_short(client, data):
    # The Trainer's tol / n_iter_no_change rule runs on the round losses.
    stopped = LinearSVM(tol=0.5, n_iter_no_change=1, schedule="constant")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        fit(stopped, data["dX"], data["dy"], client=client, max_rounds=20)
    curve = stopped.loss_curve_
    assert 2 <= stopped.n_iter_ < 20
    assert curve[-1] > min(curve[:-1]) - 0.5  # the last round did not improve by tol
    with pytest.warns(ConvergenceWarning, match="max_rounds=1"):
        fit(LinearSVM(tol=1e-4), data["dX"], data["dy"], client=client, max_rounds=1)


ROUND_KINDS = [("average", "sgd"), ("gradient", "sgd"), ("gradient", "lbfgs")]


@pytest.mark.parametrize(("strategy", "solver"), ROUND_KINDS)
def test_verbose_prints_a_line_per_round_as_fit_prints_per_epoch(
    client, data, strategy, solver, monkeypatch, capsys
):
    # Without tqdm, verbose=1 prints the lines of the in-memory fit, "round" for "epoch":
    # 3 rounds are within its "about ten lines", so each has one, with loss_curve_'s loss.
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # importing it raises ImportError
    clf = LinearSVM(random_state=0, tol=None, verbose=1, learning_rate=0.003)
    kwargs = dict(client=client, strategy=strategy, solver=solver, max_rounds=3)
    fit(clf, data["dX"], data["dy"], **kwargs)
    lines = capsys.readouterr().out.splitlines()
    n = len(clf.loss_curve_)
    assert n >= 1 and len(lines) == n, lines
    for k, (line, loss) in enumerate(zip(lines, clf.loss_curve_, strict=True), start=1):
        assert line.startswith(f"round {k:>4}/3  loss {loss:.6f}  ("), line
    fit(LinearSVM(random_state=0, tol=None), data["dX"], data["dy"], **kwargs)
    assert capsys.readouterr().out == ""  # verbose=0: nothing


def test_verbose_shows_a_progress_bar_over_rounds_with_tqdm(client, data, capsys):
    # With tqdm installed, verbose=1 is its bar on stderr, as for the in-memory fit.
    pytest.importorskip("tqdm")
    clf = LinearSVM(random_state=0, tol=None, verbose=1)
    fit(clf, data["dX"], data["dy"], client=client, max_rounds=3)
    assert "3/3" in capsys.readouterr().err


def test_verbose_2_logs_each_round_to_the_linclf_logger(client, data, caplog):
    clf = LinearSVM(random_state=0, tol=None, verbose=2)
    with caplog.at_level("INFO", logger="linclf"):
        fit(clf, data["dX"], data["dy"], client=client, max_rounds=2)
    messages = [r.getMessage() for r in caplog.records if r.name == "linclf"]
    expected = [f"round {k:>4}/2  loss {loss:.6f}" for k, loss in enumerate(clf.loss_curve_, 1)]
    assert [m[: len(e)] for m, e in zip(messages, expected, strict=True)] == expected


def test_the_module_imports_without_dask_and_fit_says_what_to_install():
    # dask is an optional extra: importing linclf.distributed must not need it.
    code = (
        "import sys\n"
        "sys.modules['dask'] = sys.modules['distributed'] = None\n"
        "import numpy as np, linclf.distributed as d\n"
        "try:\n"
        "    d.fit(None, None, None)\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert 'pip install "linclf[dask]"' in result.stdout


def test_round_traffic_counts_the_broadcast_and_the_returns():
    # Hand count for C=3, D=4 with an intercept: M = 15 numbers; P=2 workers, K=5 chunks.
    average = round_traffic(3, 4, 2, 5, strategy="average", itemsize=8)
    assert average == {
        "to_workers": 2 * 15 * 8,
        "from_workers": 5 * 15 * 8,
        "total": 7 * 15 * 8,
        "tree_depth": 0,
    }
    gradient = round_traffic(3, 4, 2, 5, strategy="gradient", fit_intercept=False)
    assert gradient["to_workers"] == 2 * 12 * 4  # float32 model out
    assert gradient["from_workers"] == 5 * (12 + 2) * 8  # float64 sums back
    assert gradient["tree_depth"] == 3  # 5 → 3 → 2 → 1


@pytest.mark.parametrize("strategy", ["gradient", "average"])
def test_a_worker_killed_mid_round_is_replaced_and_the_fit_completes(
    client, data, tmp_path, strategy
):
    # What Dask guarantees: the nanny restarts the dead worker process, the scheduler
    # reruns the tasks it was running and recomputes the chunks it held from their lineage
    # (here da.from_array); the round's parameters are a task of their own key, fetched by
    # the replacement or recomputed from the spec the scheduler keeps (a scattered copy,
    # keyed by its content, was lost when its holders were). Every task is a pure
    # function of (parameters, chunk, seed), so "gradient" repeats the unfailed run
    # exactly, and "average" too (same seeds, same BLAS on this machine). Both runs
    # broadcast the same models round by round, which content keys made collide.
    # Not guaranteed: data with no lineage (scattered by the caller: LostDataError, in
    # test_distributed_edges.py), a task that kills three workers (KilledWorker), or the
    # loss of the scheduler or of this driver.
    def run():
        clf = LinearSVM(
            random_state=0, learning_rate=0.2 if strategy == "gradient" else 0.003, tol=None
        )
        return fit(clf, data["dX"], data["dy"], client=client, strategy=strategy, max_rounds=4)

    unfailed = run()
    marker = str(tmp_path / "killed")

    class KillOnce(WorkerPlugin):  # defined here, so that it is pickled by value
        name = "linclf-test-kill-once"

        def __init__(self, prefix, marker):
            self.prefix, self.marker = prefix, marker

        def transition(self, key, start, finish, **kwargs):
            # The first worker to start a task of round 3 creates the marker and dies at
            # once; O_EXCL makes sure exactly one worker does, and never its replacement.
            if finish == "executing" and str(key).startswith(self.prefix):
                try:
                    os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL))
                except FileExistsError:
                    return
                os._exit(1)

    before = set(client.scheduler_info()["workers"])
    client.register_plugin(KillOnce(f"linclf-{strategy}-r2-", marker))
    try:
        failed = run()
    finally:
        client.unregister_worker_plugin(KillOnce.name)
        client.wait_for_workers(2, timeout=60)
    assert os.path.exists(marker)  # a worker really died in round 3
    assert set(client.scheduler_info()["workers"]) != before  # and was replaced
    assert failed.n_iter_ == 4
    assert np.all(np.isfinite(failed.coef_)) and np.all(np.isfinite(failed.intercept_))
    accuracy = failed.score(data["X_test"], data["y_test"])
    assert abs(accuracy - unfailed.score(data["X_test"], data["y_test"])) <= 0.01
    assert_array_equal(failed.coef_, unfailed.coef_)
    assert_array_equal(failed.intercept_, unfailed.intercept_)


def test_dask_ml_incremental_trains_through_partial_fit(client, data):
    # dask-ml's Incremental calls partial_fit(block, classes=...) on each block in order:
    # the same model as doing so by hand on the NumPy blocks.
    wrappers = pytest.importorskip("dask_ml.wrappers")
    incremental = wrappers.Incremental(LinearSVM(random_state=0), shuffle_blocks=False)
    with client.as_current():
        incremental.fit(data["dX"], data["dy"], classes=list(range(C)))
        predicted = incremental.predict(da.from_array(data["X_test"], chunks=(CHUNK, D)))
        predicted = predicted.compute()
    by_hand = LinearSVM(random_state=0)
    for start in range(0, N_TRAIN, CHUNK):
        block = slice(start, start + CHUNK)
        by_hand.partial_fit(data["X"][block], data["y"][block], classes=list(range(C)))
    assert_array_equal(incremental.estimator_.coef_, by_hand.coef_)
    assert incremental.estimator_.n_iter_ == N_TRAIN // CHUNK
    assert_array_equal(predicted, by_hand.predict(data["X_test"]))
