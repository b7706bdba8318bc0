"""Prediction on Dask collections: lazy dask arrays computed chunk by chunk on the workers.

One LocalCluster of two worker processes (bound to 127.0.0.1, one thread each) serves the
module, so every graph is pickled to the workers as a real cluster's is. The oracle is the
NumPy path of the same fitted estimator: labels must be equal; scores and probabilities
equal up to the order of the GEMM's sums, which differs between one chunk and the whole X.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from linclf import LinearSVM, SoftmaxClassifier
from linclf.distributed import fit

# Slow (a Dask cluster, a child process with its own): .ci/run runs it after the README's command.
pytestmark = pytest.mark.slow

N, D, CHUNK = 1_200, 6, 250  # 5 row chunks, the last one short
# The float32 GEMM of one chunk and of the whole X sum in another order: a few ulps apart.
RTOL = {np.float32: 1e-5, np.float64: 1e-12}
METHODS = {
    LinearSVM: ["decision_function", "predict"],
    SoftmaxClassifier: ["decision_function", "predict", "predict_proba", "predict_log_proba"],
}


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        host="127.0.0.1",
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
    )
    client = Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def problem(n_classes, seed=0):
    """Overlapping Gaussian classes (no row sits on a tie of two scores)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, N)
    X = rng.normal(scale=0.7, size=(n_classes, D))[y] + rng.normal(size=(N, D))
    return X, y


def on(client, collection):
    """``collection`` computed on the cluster."""
    return client.compute(collection).result()


def unknown_rows(dX):
    """``dX`` with row chunks of unknown size (every row kept), as boolean indexing leaves."""
    return dX[dX[:, 0] > -np.inf]


@pytest.mark.parametrize("Estimator", [LinearSVM, SoftmaxClassifier])
@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sizes", ["known", "unknown"])
def test_prediction_methods_on_dask_equal_the_numpy_path(
    client, Estimator, n_classes, dtype, sizes
):
    # Each method returns a lazy dask array of the NumPy result's shape and dtype, whose
    # values are the NumPy path's: the binary model's one column and [0, f] pair included.
    X, y = problem(n_classes)
    clf = Estimator(random_state=0).fit(X.astype(dtype), y)
    dX = da.from_array(X, chunks=(CHUNK, 4))  # two column chunks: merged, X stays float64
    dX = unknown_rows(dX) if sizes == "unknown" else dX
    for method in METHODS[Estimator]:
        expected = getattr(clf, method)(X)
        lazy = getattr(clf, method)(dX)
        assert isinstance(lazy, da.Array), method
        assert lazy.dtype == expected.dtype and lazy.ndim == expected.ndim, method
        got = on(client, lazy)
        assert got.shape == expected.shape and got.dtype == expected.dtype, method
        if method == "predict":
            assert_array_equal(got, expected)
        else:
            assert_allclose(got, expected, rtol=RTOL[dtype], atol=RTOL[dtype], err_msg=method)
    if n_classes == 2:
        assert clf.decision_function(dX).ndim == 1


def test_the_graph_holds_the_model_once_whatever_the_number_of_chunks():
    # The parameters are one graph key that every chunk's task depends on: no task but
    # that one is as large as coef_, for 4 chunks as for 16, one task per chunk, and
    # Dask's optimization (what is sent to the scheduler) does not inline it into them.
    X, y = problem(4)
    X = np.hstack([X, np.random.default_rng(1).normal(size=(N, 194))])  # coef_: 4 x 200
    clf = SoftmaxClassifier(random_state=0, max_epochs=20, tol=None).fit(X, y)
    size = clf.coef_.nbytes
    for n_chunks in (4, 16):
        dX = da.zeros((N, 200), chunks=(N // n_chunks, 200))  # tasks that hold no data
        for lazy in (clf.predict_proba(dX), clf.predict(dX)):
            graph = dict(lazy.__dask_graph__())
            assert len(graph) == 2 * n_chunks + 1  # X's chunks, the outputs, the model
            for tasks in (graph, dict(dask.optimize(lazy)[0].__dask_graph__())):
                large = [key for key, task in tasks.items() if len(pickle.dumps(task)) > size]
                assert len(large) == 1 and str(large[0]).startswith("linclf-model-")


@pytest.mark.parametrize("y_kind", ["numpy", "dask array", "dask series"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("sizes", ["known", "unknown"])
def test_score_on_dask_equals_the_numpy_score(client, y_kind, weighted, sizes):
    # Reduced on the workers, the (weighted) accuracy is a float, the NumPy path's:
    # exactly without weights (integer counts), to rounding with them.
    X, y = problem(3)
    labels = np.array(["ant", "bee", "cat"])[y]  # string labels (a dask Series: objects)
    clf = LinearSVM(random_state=0).fit(X[:600], labels[:600])
    weights = np.random.default_rng(2).uniform(0.0, 3.0, N) if weighted else None
    dX = da.from_array(X, chunks=(CHUNK, D))
    dX = unknown_rows(dX) if sizes == "unknown" else dX

    def as_kind(v):
        if y_kind == "numpy" or v is None:
            return v
        return da.from_array(v, chunks=300) if y_kind == "dask array" else dd.from_array(v, 300)

    expected = clf.score(X, labels, sample_weight=weights)
    with client.as_current():
        got = clf.score(dX, as_kind(labels), sample_weight=as_kind(weights))
    assert isinstance(got, float)
    if weighted:  # sums of weights in another order: to rounding
        assert got == pytest.approx(expected, rel=1e-13, abs=0)
    else:  # counts of hits: exact
        assert got == expected
    assert 0.4 < expected < 1.0  # something learned, not everything


def test_wrong_feature_count_and_names_are_refused_at_the_call_as_for_numpy():
    # Checked from metadata, before anything is computed: the NumPy path's own words.
    X, y = problem(3)
    clf = LinearSVM(random_state=0).fit(pd.DataFrame(X, columns=list("abcdef")), y)
    with pytest.raises(ValueError, match="X has 5 features, but LinearSVM is expecting 6"):
        clf.predict(da.from_array(X[:, :5], chunks=(CHUNK, 5)))
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        clf.predict(da.from_array(X, chunks=(CHUNK, D)))
    with pytest.raises(ValueError, match="X must contain numbers"):
        clf.predict(da.from_array(X.astype(str), chunks=(CHUNK, D)))
    with pytest.raises(ValueError, match="Expected 2D array, got a 1D dask array"):
        clf.predict(da.from_array(X[:, 0], chunks=CHUNK))


def test_a_bad_entry_is_named_at_its_row_of_the_whole_x(client):
    # The NaN check runs in the chunk's task; its message counts rows of the whole X (known
    # chunk sizes) or names the chunk (unknown ones), as linclf.distributed's checks do.
    X, y = problem(3)
    clf = LinearSVM(random_state=0).fit(X, y)
    X[777, 2] = np.nan
    dX = da.from_array(X, chunks=(CHUNK, D))
    with pytest.raises(
        ValueError, match=r"contains NaN .*first at row 777, column 2.*rows 750 to 999"
    ):
        on(client, clf.predict(dX))
    with pytest.raises(ValueError, match=r"first at row 27, column 2.*row chunk 3 \(its position"):
        on(client, clf.predict(unknown_rows(dX)))
    labels = y.astype(float)
    labels[1001] = np.nan
    dy = da.from_array(labels, chunks=300)  # rechunked to X's rows: 1000 to 1199
    with pytest.raises(ValueError, match=r"y contains NaN .*first at row 1001.*rows 1000 to 1199"):
        with client.as_current():
            clf.score(da.from_array(np.nan_to_num(X), chunks=(CHUNK, D)), dy)


def _worker_only_labels(labels):
    """A partition of labels that exists only on a worker: computed on the driver, it raises."""
    from distributed import get_worker

    get_worker()  # ValueError("No worker found") outside a worker's task
    return pd.Series(labels, name="label")


@pytest.mark.parametrize("source", ["pandas", "parquet"])
def test_a_dask_dataframe_trains_predicts_and_keeps_its_feature_names(client, tmp_path, source):
    # dd.from_pandas, and a parquet directory (whose column selection makes Dask merge
    # partitions, where to_dask_array(lengths=True) fails), through linclf.distributed.fit:
    # the columns become feature_names_in_, prediction on the dask frame is a dask array
    # equal to prediction on the pandas frame, and renamed columns are refused as for pandas.
    X, y = problem(3)
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(D)]).assign(label=y)
    ddf = dd.from_pandas(frame, npartitions=4)
    if source == "parquet":
        ddf.to_parquet(tmp_path / "table")
        ddf = dd.read_parquet(tmp_path / "table")
    features = ddf[list(frame.columns[:D])]
    clf = LinearSVM(random_state=0, solver="sgd", reg=1e-3, tol=None)
    fit(clf, features, ddf["label"], client=client, max_rounds=5)
    assert clf.feature_names_in_.tolist() == list(frame.columns[:D])
    predicted = clf.predict(features)
    assert isinstance(predicted, da.Array)
    in_memory = frame[list(frame.columns[:D])]
    assert_array_equal(on(client, predicted), clf.predict(in_memory))
    assert clf.score(in_memory, y) > 0.6
    renamed = {"f0": "zero"}
    with pytest.raises(ValueError) as from_pandas:
        clf.predict(in_memory.rename(columns=renamed))
    with pytest.raises(ValueError) as from_dask:
        clf.predict(features.rename(columns=renamed))
    assert str(from_dask.value) == str(from_pandas.value)
    assert "Feature names unseen at fit time:\n- zero" in str(from_dask.value)


def test_a_dask_series_y_is_read_on_the_workers_not_pulled_to_the_driver(client):
    # Each partition of y can only be computed on a worker: pulling y to the driver (as
    # np.asarray(y) would) raises, so a fit that succeeds read y where it lies.
    X, y = problem(3)
    parts = [dask.delayed(_worker_only_labels)(y[i : i + 300]) for i in range(0, N, 300)]
    dy = dd.from_delayed(parts, meta=pd.Series(np.zeros(0, y.dtype), name="label"))
    dX = da.from_array(X, chunks=(300, D))
    clf = fit(
        LinearSVM(random_state=0, solver="sgd", tol=None), dX, dy, client=client, max_rounds=2
    )
    assert clf.n_iter_ == 2 and clf.classes_.tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="No worker found"):
        _worker_only_labels(y)  # the guard works: on the driver it refuses


def test_npy_shards_and_a_npy_stack_are_read_on_the_workers(client, tmp_path):
    # A directory of .npy shards, each opened with np.load(mmap_mode="r") in its own task
    # (the driver reads the headers only), and a da.to_npy_stack directory: both train and
    # predict as the arrays in memory do.
    X, y = problem(3)
    for k, start in enumerate(range(0, N, 400)):
        np.save(tmp_path / f"X-{k:03d}.npy", X[start : start + 400])
        np.save(tmp_path / f"y-{k:03d}.npy", y[start : start + 400])

    def read(pattern):
        paths = sorted(tmp_path.glob(pattern))
        shapes = [np.load(path, mmap_mode="r") for path in paths]  # headers: nothing read
        load = dask.delayed(np.load, pure=True)
        return da.concatenate(
            [
                da.from_delayed(load(str(path), mmap_mode="r"), shape=s.shape, dtype=s.dtype)
                for path, s in zip(paths, shapes, strict=True)
            ]
        )

    dX, dy = read("X-*.npy"), read("y-*.npy")
    clf = fit(
        LinearSVM(random_state=0, solver="sgd", tol=None), dX, dy, client=client, max_rounds=3
    )
    assert_array_equal(on(client, clf.predict(dX)), clf.predict(X))
    da.to_npy_stack(tmp_path / "stack", da.from_array(X, chunks=(500, D)))
    stacked = da.from_npy_stack(tmp_path / "stack")
    assert_array_equal(on(client, clf.predict(stacked)), clf.predict(X))


CHILD = textwrap.dedent(
    """
    import json, sys
    import numpy as np

    # dask.array imports pydata-sparse (and with it numba, 55 MiB here) when installed, only
    # to register its chunk type: not the driver's work this test bounds.
    sys.modules["sparse"] = None
    ROWS, D, K = 2**16, 256, 32  # 32 chunks of 64 MiB of float32: 2 GiB


    def block(k, rows=ROWS):
        X = np.random.default_rng(k).random((rows, D), dtype=np.float32)
        X -= 0.5
        return X


    def generated(block_info=None):  # runs on a worker: chunk k of X, from its own seed
        return block(block_info[None]["chunk-location"][0])


    def peak_mib():  # this process's own high-water mark (ru_maxrss inherits the parent's)
        with open("/proc/self/status") as fh:
            return int(next(line for line in fh if line.startswith("VmHWM:")).split()[1]) / 1024


    import dask.array as da
    from distributed import Client, LocalCluster
    from linclf import SoftmaxClassifier

    sample = block(10**6, rows=3000)
    truth = np.random.default_rng(1).normal(size=(D, 3)).astype(np.float32)
    clf = SoftmaxClassifier(solver="lbfgs", random_state=0)
    clf.fit(sample, (sample @ truth).argmax(axis=1))
    meta = np.empty((0, 0), np.float32)
    X = da.map_blocks(generated, chunks=((ROWS,) * K, (D,)), dtype=np.float32, meta=meta)
    with LocalCluster(
        host="127.0.0.1", n_workers=2, threads_per_worker=1, dashboard_address=None
    ) as cluster, Client(cluster) as client:
        before = peak_mib()
        lazy = clf.predict(X)
        labels = lazy.compute()
    peak = peak_mib()
    # After the peak is read: three chunks, rebuilt here, predicted by the NumPy path.
    equal = [
        bool(np.array_equal(labels[k * ROWS : (k + 1) * ROWS], clf.predict(block(k))))
        for k in (0, 13, K - 1)
    ]
    print(json.dumps(dict(
        peak=peak, before=before, lazy=isinstance(lazy, da.Array), nbytes=X.nbytes,
        n=int(labels.shape[0]), equal=equal, counts=np.bincount(labels).tolist(),
    )))
    """
)


def test_predict_on_a_2_gib_dask_array_never_materializes_x_on_the_driver():
    # Done-when 1 of issue 14: a lazily generated 2 GiB X, predicted on two worker
    # processes; the driver's peak resident memory stays under 300 MiB (imports included:
    # about 220 MiB) and grows by less than one 64 MiB chunk of X during the prediction;
    # the labels are a dask array's, equal to the NumPy path's on chunks rebuilt after.
    result = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["nbytes"] == 2**31 and report["n"] == 2**21 and report["lazy"]
    assert report["peak"] < 300, report
    assert report["peak"] - report["before"] < 64, report
    assert report["equal"] == [True, True, True]
    assert min(report["counts"]) > 2**21 // 6  # three classes, each predicted often
