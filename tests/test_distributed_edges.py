"""Edge cases of linclf.distributed.fit: empty and weightless chunks, global error positions,
mismatched lengths, settings refused on the driver, and input data lost with a worker.

The chunks are validated once, where they lie, with their global row offset; what has no
rows or no weight is dropped on the driver before the rounds. So a fit with such chunks
trains on the very chunk list (same contents, same order, same chunk seeds) of a fit
without them, and the models are compared bit for bit.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
from numpy.testing import assert_array_equal

import linclf
from helpers import local_dask_client
from linclf import LostDataError
from linclf.distributed import fit

# Slow (Dask clusters or child processes): .ci/run runs it after the README's command.
pytestmark = pytest.mark.slow

N, D, C = 2000, 5, 3


def LinearSVM(**params):
    """A fixed reg (reg="auto" would depend on N) and a seed, so fits are comparable."""
    return linclf.LinearSVM(
        **{"reg": 1e-3, "solver": "sgd", "tol": None, "random_state": 0, **params}
    )


@pytest.fixture(scope="module")
def client():
    # Its own cluster: the lost-data test restarts a worker, which no other module sees.
    yield from local_dask_client()


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(C, D))
    y = rng.integers(0, C, N)
    return {"X": centers[y] + rng.normal(size=(N, D)), "y": y}


def run(client, X, y, strategy, **kwargs):
    clf = fit(LinearSVM(), X, y, client=client, strategy=strategy, max_rounds=2, **kwargs)
    return clf.coef_, clf.intercept_, clf.loss_curve_


def assert_same_fit(first, second):
    for a, b in zip(first, second, strict=True):
        assert_array_equal(a, b)


STRATEGIES = ["average", "gradient"]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_an_empty_chunk_is_skipped(client, data, strategy):
    # (500, 0, 1500) trains on the chunks of (500, 1500): the empty one adds nothing.
    X, y = data["X"], data["y"]
    with_empty = run(
        client,
        da.from_array(X, chunks=((500, 0, 1500), D)),
        da.from_array(y, chunks=((500, 0, 1500),)),
        strategy,
    )
    without = run(
        client, da.from_array(X, chunks=((500, 1500), D)), da.from_array(y, chunks=(500,)), strategy
    )
    assert_same_fit(with_empty, without)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_boolean_filtering_that_empties_a_chunk_trains_on_the_rows_kept(client, data, strategy):
    # dX[mask] has unknown chunk sizes, and the block of rows 500-999 keeps none of them:
    # the same model as the kept rows chunked as the filter left them (known sizes).
    X, y = data["X"], data["y"]
    keep = (np.arange(N) % 3 != 0) & ((np.arange(N) < 500) | (np.arange(N) >= 1000))
    dX, dy, mask = (da.from_array(a, chunks=500) for a in (X, y, keep))
    filtered_X = dX[mask]
    assert np.isnan(filtered_X.chunks[0][0])  # the case of the issue: sizes unknown
    kept = tuple(int(keep[i : i + 500].sum()) for i in range(0, N, 500))
    assert kept[1] == 0
    rows = tuple(n for n in kept if n)
    expected = run(
        client,
        da.from_array(X[keep], chunks=(rows, D)),
        da.from_array(y[keep], chunks=(rows,)),
        strategy,
    )
    assert_same_fit(run(client, filtered_X, dy[mask], strategy), expected)
    # y as NumPy (one chunk) is split on the filtered X's rows once their sizes are known.
    assert_same_fit(run(client, filtered_X, y[keep], strategy), expected)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_chunk_of_zero_weights_is_skipped(client, data, strategy):
    # Chunk 1 weighs nothing: the model of the same data without its rows. ("average"
    # used to give such a chunk a weight of 0/0 or refuse it; "gradient" summed zeros.)
    X, y = data["X"], data["y"]
    weights = np.ones(N)
    weights[500:1000] = 0.0
    chunks = (500, 500, 1000)
    zero_chunk = run(
        client,
        da.from_array(X, chunks=(chunks, D)),
        da.from_array(y, chunks=(chunks,)),
        strategy,
        sample_weight=da.from_array(weights, chunks=(chunks,)),
    )
    rest = np.r_[0:500, 1000:N]
    without = run(
        client,
        da.from_array(X[rest], chunks=((500, 1000), D)),
        da.from_array(y[rest], chunks=((500, 1000),)),
        strategy,
        sample_weight=da.from_array(weights[rest], chunks=((500, 1000),)),
    )
    assert_same_fit(zero_chunk, without)


def test_weights_whose_sum_overflows_are_scaled_by_the_largest_of_all_chunks(client, data):
    # As check_sample_weight does for one array: the total of 500 x 2**1016 and 1500 x
    # 2**1015 overflows, so every weight is divided by the largest of all the chunks (not
    # of each chunk, which would make both 1): exactly 1 and 1/2, powers of two.
    dX, dy = da.from_array(data["X"], chunks=(500, D)), da.from_array(data["y"], chunks=500)
    first = np.arange(N) < 500
    huge = run(client, dX, dy, "gradient", sample_weight=np.where(first, 2.0**1016, 2.0**1015))
    halves = run(client, dX, dy, "gradient", sample_weight=np.where(first, 1.0, 0.5))
    assert_same_fit(huge, halves)


# Chunks of 500, 0, 700 and 800 rows: global row 1203 is row 3 of the last chunk.
CHUNKS = (500, 0, 700, 800)


def poison(data, what):
    X, y, weights = data["X"].copy(), data["y"].copy(), None
    if what == "X NaN":
        X[1203, 2] = np.nan
    elif what == "X too large for float32":
        X[1203, 2] = 1e300
    elif what == "y NaN":
        y = y.astype(float)
        y[1203] = np.nan
    elif what == "y None":
        y = y.astype(object)
        y[1203] = None
    else:
        weights = np.ones(N)
        weights[1203] = -1.0 if what == "weight negative" else np.nan
    return X, y, weights


@pytest.mark.bad_input
@pytest.mark.parametrize(
    ("what", "match"),
    [
        ("X NaN", r"Input X contains NaN in 1 entry \(first at row 1203, column 2\)"),
        ("X too large for float32", r"too large for dtype\('float32'\).*first at row 1203, "),
        ("y NaN", r"Input y contains NaN in 1 entry \(first at row 1203\)"),
        ("y None", r"y contains missing labels .*first at index 1203\)"),
        ("weight negative", r"Negative values .* \(first at index 1203, value -1.0\)"),
        ("weight NaN", r"Input sample_weight contains NaN .*\(first at row 1203\)"),
    ],
)
def test_error_positions_are_rows_of_the_whole_of_X(client, data, what, match):
    # Not row 3 of its chunk: the chunk's offset (the empty chunk counted) is added.
    X, y, weights = poison(data, what)
    dX = da.from_array(X, chunks=(CHUNKS, D))
    dy = da.from_array(y, chunks=(CHUNKS,))
    dw = None if weights is None else da.from_array(weights, chunks=(CHUNKS,))
    estimator = LinearSVM(dtype=np.float32)
    with pytest.raises(ValueError, match=match) as error:
        fit(estimator, dX, dy, sample_weight=dw, client=client, max_rounds=1)
    assert "chunk of rows 1200 to 1999" in str(error.value)  # the counts are the chunk's
    assert not hasattr(estimator, "coef_")


@pytest.mark.bad_input
@pytest.mark.parametrize("case", ["y short", "y short, sizes unknown", "weights short"])
def test_a_length_mismatch_is_one_error_naming_both_lengths(client, data, case):
    dX, dy = da.from_array(data["X"], chunks=(500, D)), da.from_array(data["y"], chunks=500)
    weights = None
    if case == "y short":
        dy, match = dy[:-1], r"X has 2000 rows, y has 1999"
    elif case == "y short, sizes unknown":
        # Boolean indexing hides both lengths until the chunks are counted.
        keep = da.from_array(np.arange(N) % 4 != 0, chunks=500)
        keep_y = da.from_array((np.arange(N) % 4 != 0) & (np.arange(N) != 1), chunks=500)
        dX, dy, match = dX[keep], dy[keep_y], r"X has 1500 rows, y has 1499"
    else:
        weights, match = np.ones(N - 1), r"X has 2000 rows, sample_weight has 1999"
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples.*" + match):
        fit(LinearSVM(), dX, dy, sample_weight=weights, client=client, max_rounds=1)


@pytest.mark.bad_input
@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("every chunk empty", r"Found array with 0 sample\(s\)"),
        ("every weight zero", r"zero for every sample"),
        ("class_weight zero for every class", r"zero for every sample"),
    ],
)
def test_data_with_nothing_to_train_on_is_refused(client, data, case, match):
    dX, dy = da.from_array(data["X"], chunks=(500, D)), da.from_array(data["y"], chunks=500)
    estimator, weights = LinearSVM(), None
    if case == "every chunk empty":
        mask = dX[:, 0] > 1e9
        dX, dy = dX[mask], dy[mask]
    elif case == "every weight zero":
        weights = np.zeros(N)
    else:
        estimator = LinearSVM(class_weight=dict.fromkeys(range(C), 0.0))
    with pytest.raises(ValueError, match=match):
        fit(estimator, dX, dy, sample_weight=weights, client=client, max_rounds=1)


def _never_computed(block):
    raise RuntimeError("the data were computed")


@pytest.mark.bad_input
@pytest.mark.parametrize(
    ("params", "kwargs", "error", "match"),
    [
        (dict(batch_size=0), {}, ValueError, r"batch_size must be >= 1, got 0"),
        (dict(learning_rate=0.0), {}, ValueError, r"learning_rate must be > 0"),
        (dict(momentum=-0.5), {}, ValueError, r"momentum"),
        ({}, dict(max_rounds=0), ValueError, r"max_rounds must be >= 1"),
        ({}, dict(max_rounds=2.5), TypeError, r"max_rounds must be an integer"),
        ({}, dict(callbacks=[print, 3]), TypeError, r"callbacks\[1\] must be callable"),
        ({}, dict(callbacks=print), TypeError, r"callbacks must be a sequence of callables"),
        ({}, dict(client="tcp://127.0.0.1:8786"), TypeError, r"client must be a distributed"),
        ({}, dict(strategy="mean"), ValueError, r"strategy must be one of"),
    ],
)
def test_bad_settings_are_refused_before_any_work_is_sent(
    client, data, params, kwargs, error, match
):
    # X raises when computed: the settings' error, not that one, proves nothing was sent.
    dX = da.from_array(data["X"], chunks=(500, D)).map_blocks(_never_computed, dtype=float)
    kwargs = {"client": client, "max_rounds": 1, **kwargs}
    with pytest.raises(error, match=match):
        fit(LinearSVM(**params), dX, data["y"], **kwargs)


def test_lost_scattered_data_is_one_clear_error_and_the_estimator_is_unchanged(client, data):
    # X on futures the caller scattered to one worker, which then restarts: the data have
    # no lineage, so no Dask can recompute them. The fitted model from before stays.
    X, dy = data["X"], da.from_array(data["y"], chunks=500)
    clf = fit(LinearSVM(), da.from_array(X, chunks=(500, D)), dy, client=client, max_rounds=2)
    before = {name: getattr(clf, name).copy() for name in ("coef_", "intercept_", "classes_")}
    holder = sorted(client.scheduler_info()["workers"])[0]
    blocks = client.scatter([X[i : i + 500] for i in range(0, N, 500)], workers=[holder])
    dX = da.concatenate([da.from_delayed(b, shape=(500, D), dtype=X.dtype) for b in blocks])
    client.restart_workers([holder])
    client.wait_for_workers(2, timeout=60)
    with pytest.raises(LostDataError, match=r"lost input chunks.*no lineage.*resubmit") as lost:
        fit(clf, dX, dy, client=client, max_rounds=3)
    assert isinstance(lost.value, RuntimeError)
    assert "estimator was left unchanged" in str(lost.value)
    for name, value in before.items():
        assert_array_equal(getattr(clf, name), value)
    assert clf.n_iter_ == 2
