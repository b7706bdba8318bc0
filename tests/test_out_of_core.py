"""Out-of-core training: a 1 GiB float32 memmap trains in a small, bounded resident set."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from linclf import LinearSVM
from linclf._engine.blocks import RowBlockReader, iter_row_blocks

N_ROWS, N_FEATURES = 262_144, 1024  # 2**28 float32 values: exactly 1 GiB

CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    import numpy as np
    from linclf import LinearSVM

    path, labels, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    X = np.load(path, mmap_mode="r")
    if mode == "in-memory":
        X = np.array(X)
    y = np.load(labels)
    started = time.perf_counter()
    # The same minibatch SGD in both modes (in memory, "auto" would pick L-BFGS).
    clf = LinearSVM(solver="sgd", standardize=False, max_epochs=2, tol=None, batch_size=256)
    clf.set_params(random_state=0)
    clf.fit(X, y)
    def peak_rss_mib():
        # VmHWM: this process's own high-water mark. getrusage's ru_maxrss is reported too,
        # but Linux carries the parent's peak into it through fork+exec.
        with open("/proc/self/status") as fh:
            line = next(line for line in fh if line.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024

    print(json.dumps({
        "peak_rss_mib": peak_rss_mib(),
        "ru_maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "accuracy": float(np.mean(clf.predict(X) == y)),
        "seconds": time.perf_counter() - started,
    }))
    """
)


@pytest.fixture(scope="module")
def gib_file(tmp_path_factory):
    # Written in 64 MiB pieces with plain file writes, so this test process never holds
    # (or maps) the gigabyte either.
    folder = tmp_path_factory.mktemp("ooc")
    path, labels = folder / "X.npy", folder / "y.npy"
    rng = np.random.default_rng(0)
    direction = rng.normal(size=N_FEATURES).astype(np.float32)
    y = np.empty(N_ROWS, dtype=np.int64)
    step = 16_384
    with open(path, "wb") as fh:
        header = {"descr": "<f4", "fortran_order": False, "shape": (N_ROWS, N_FEATURES)}
        np.lib.format.write_array_header_1_0(fh, header)
        for start in range(0, N_ROWS, step):
            block = rng.standard_normal((step, N_FEATURES), dtype=np.float32)
            fh.write(block.tobytes())
            y[start : start + step] = block @ direction > 0
    np.save(labels, y)
    return path, labels


def _child(gib_file, mode):
    path, labels = gib_file
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(labels), mode],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow  # writes and trains on 1 GiB
def test_gib_memmap_trains_under_300_mib_and_matches_in_memory_accuracy(gib_file):
    # Acceptance (issue 7, item 3): the process's peak resident set stays under 300 MiB
    # while fitting on (and predicting) 1 GiB, and the model is as accurate as one fit in
    # memory. Peak RSS is the child's VmHWM (see CHILD for why not ru_maxrss alone).
    out_of_core = _child(gib_file, "memmap")
    in_memory = _child(gib_file, "in-memory")
    assert out_of_core["peak_rss_mib"] < 300, out_of_core
    assert in_memory["peak_rss_mib"] > 1024  # the comparison really held X in memory
    assert out_of_core["accuracy"] >= in_memory["accuracy"] - 0.01, (out_of_core, in_memory)
    assert out_of_core["accuracy"] > 0.9


def test_block_reader_matches_the_array(tmp_path):
    # Reading through the file (top-level memmap) and through slicing (a view) gives the
    # array's rows exactly, converted to the asked dtype.
    X = np.random.default_rng(1).normal(size=(1000, 7))
    np.save(tmp_path / "a.npy", X)
    mm = np.load(tmp_path / "a.npy", mmap_mode="r")
    for source in (mm, mm[100:]):
        reader = RowBlockReader(source)
        out = np.empty((50, 7), dtype=np.float32)
        rows = reader.read(10, 60, out)
        np.testing.assert_array_equal(rows, np.asarray(source[10:60], dtype=np.float32))
        reader.close()
    blocks = list((start, block.copy()) for start, block in iter_row_blocks(mm))
    np.testing.assert_array_equal(np.vstack([b for _, b in blocks]), X)


def test_memmap_with_nan_is_named_like_in_memory_data(tmp_path):
    X = np.ones((300, 4))
    X[211, 3] = np.nan
    np.save(tmp_path / "nan.npy", X)
    mm = np.load(tmp_path / "nan.npy", mmap_mode="r")
    with pytest.raises(
        ValueError, match=r"Input X contains NaN in 1 entry \(first at row 211, column 3\)"
    ):
        LinearSVM().fit(mm, np.arange(300) % 2)


def test_memmap_and_in_memory_fits_see_the_same_rows(tmp_path):
    # With shuffle=False both read the rows in file order: identical models.
    rng = np.random.default_rng(2)
    X = rng.normal(size=(2000, 6)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    np.save(tmp_path / "x.npy", X)
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    # solver="sgd": at "auto", a memmap this small would be read whole (one engine block).
    a = LinearSVM(shuffle=False, max_epochs=3, tol=None, solver="sgd").fit(mm, y)  # raw
    b = LinearSVM(shuffle=False, max_epochs=3, tol=None, solver="sgd", standardize=False)
    b.fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.decision_function(mm), b.decision_function(X))


class CountingRows:
    """A row-sliceable out-of-core array (no file, no mapping) that counts the rows read."""

    def __init__(self, X):
        self.X, self.shape, self.dtype, self.rows = X, X.shape, X.dtype, 0

    def __getitem__(self, key):
        block = self.X[key]
        self.rows += block.shape[0] if block.ndim == 2 else 1
        return block


@pytest.fixture
def rows_read(monkeypatch):
    """The rows read from any memmap file so far, counted at the one place files are read."""
    counted = [0]
    read = RowBlockReader.read

    def counting(self, start, stop, out):
        counted[0] += stop - start
        return read(self, start, stop, out)

    monkeypatch.setattr(RowBlockReader, "read", counting)
    return counted


def _float64_file(tmp_path, n=3000):
    # float64 on disk, float32 training: the range check (a narrowing cast) has to read it.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(n, 5))
    np.save(tmp_path / "x.npy", X)
    return np.load(tmp_path / "x.npy", mmap_mode="r"), (X[:, 0] > 0).astype(int)


@pytest.mark.parametrize("shuffle", [True, False])
def test_fit_reads_a_memmap_once_before_the_first_epoch_and_once_per_epoch(
    tmp_path, rows_read, shuffle
):
    # Issue 10, done-when 2: validation (finiteness and the float32 range) is one scan, and
    # the solver trusts it; then every epoch reads the file once. predict reads it once.
    mm, y = _float64_file(tmp_path)
    n = mm.shape[0]
    clf = LinearSVM(
        solver="sgd", max_epochs=2, tol=None, batch_size=64, shuffle=shuffle, random_state=0
    )
    clf.fit(mm, y)
    assert clf.n_iter_ == 2
    assert n * clf.n_iter_ <= rows_read[0] <= n * (clf.n_iter_ + 1)  # the epochs are counted
    rows_read[0] = 0
    clf.predict(mm)
    assert rows_read[0] == n


def test_any_out_of_core_array_is_read_once_per_pass(tmp_path):
    # The same count through __getitem__, which every access to such an array must use.
    mm, y = _float64_file(tmp_path)
    X = CountingRows(np.asarray(mm))
    clf = LinearSVM(max_epochs=3, tol=None, random_state=0).fit(X, y)
    assert X.rows <= X.shape[0] * (clf.n_iter_ + 1)
    X.rows = 0
    assert np.array_equal(clf.predict(X), clf.predict(np.asarray(mm)))
    assert X.rows == X.shape[0]


@pytest.mark.parametrize(
    "value, match",
    [
        (np.nan, r"Input X contains NaN in 1 entry \(first at row 2500, column 3\)"),
        (1e300, r"too large for dtype\('float32'\) in the rows from 0 on"),
    ],
    ids=["nan", "beyond_float32"],
)
def test_predict_on_a_bad_memmap_still_names_the_problem(tmp_path, value, match):
    # Prediction scans X only when a score is not finite; the message is validation's.
    mm, y = _float64_file(tmp_path)
    clf = LinearSVM(max_epochs=2, tol=None, random_state=0, dtype=np.float32).fit(mm, y)
    X = np.array(mm)
    X[2500, 3] = value
    np.save(tmp_path / "bad.npy", X)
    with pytest.raises(ValueError, match=match):
        clf.predict(np.load(tmp_path / "bad.npy", mmap_mode="r"))


def _mapped(tmp_path, n, d, mode, seed):
    """(path, a memmap of a fresh float32 (n, d) file opened with ``mode``, its labels)."""
    X = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    path = tmp_path / "X.npy"
    np.save(path, X)
    return path, np.load(path, mmap_mode=mode), (X[:, 0] > 0).astype(int)


def _same_fit_as_in_memory(mm, y, **params):
    """The memmap's out-of-core SGD fit equals the in-memory SGD fit of the same values."""
    a = LinearSVM(solver="sgd", shuffle=False, tol=None, **params).fit(mm, y)
    b = LinearSVM(solver="sgd", standardize=False, shuffle=False, tol=None, **params)
    np.testing.assert_array_equal(a.coef_, b.fit(np.array(mm), y).coef_)


def test_a_copy_on_write_memmap_is_read_with_its_changes_in_memory(tmp_path):
    # mmap_mode="c" keeps changes in memory only; reading the file by name missed them
    # (issue 12, class 6): a NaN written in memory went unnoticed, and training used the
    # file's values.
    _, mm, y = _mapped(tmp_path, 200, 5, "c", seed=0)
    mm[:, 1] *= 3.0  # changed in memory, not in the file
    _same_fit_as_in_memory(mm, y, max_epochs=3)
    params = dict(shuffle=False, max_epochs=3, tol=None, solver="sgd")
    mm[17, 4] = np.nan
    with pytest.raises(ValueError, match=r"NaN in 1 entry \(first at row 17, column 4\)"):
        LinearSVM(**params).fit(mm, y)


def test_a_memmap_whose_file_was_deleted_still_trains(tmp_path):
    path, mm, y = _mapped(tmp_path, 100, 4, "r", seed=1)
    path.unlink()  # the mapping stays valid; the file name does not
    _same_fit_as_in_memory(mm, y, max_epochs=2)
