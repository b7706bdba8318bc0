"""save → load: bit-identical models, continued training, and refusal of bad or hostile files.

The hostile files are built by hand (raw zip members, raw .npy headers, a real pickle
payload) so that each test would fail if the reader trusted the part it attacks.
"""

from __future__ import annotations

import io
import json
import os
import pathlib
import re
import sys
import warnings
import zipfile

import numpy as np
import pytest
import scipy.sparse

from linclf import LinearSVM, ModelFileError, NotFittedError, SoftmaxClassifier
from linclf._formats import modelfile as _modelfile
from linclf._formats.modelfile import FORMAT_VERSION, read_model, write_model
from linclf.estimator import fitted_state
from linclf.persistence import load

ESTIMATORS = [LinearSVM, SoftmaxClassifier]
LABELS = {
    "int": np.array([3, 7, 11, 20]),
    "str": np.array(["cat", "dog", "eel", "fox"]),
    "object": np.array(["cat", "dog", "eel", "fox"], dtype=object),
}
PREDICTIONS = {
    LinearSVM: ["decision_function", "predict"],
    SoftmaxClassifier: ["decision_function", "predict", "predict_proba", "predict_log_proba"],
}


def make_data(n_classes=3, labels="int", n_samples=60, n_features=5, seed=0):
    """Overlapping Gaussian blobs (training never separates them exactly) with labels."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=1.5, size=(n_classes, n_features))
    index = np.arange(n_samples) % n_classes
    X = centers[index] + rng.normal(scale=1.0, size=(n_samples, n_features)) + 3.0
    return X, LABELS[labels][index]


def fitted(Estimator=SoftmaxClassifier, n_classes=3, **params):
    X, y = make_data(n_classes)
    settings = dict(max_epochs=3, tol=None, random_state=0, batch_size=16)
    return Estimator(**{**settings, **params}).fit(X, y), X


def saved(tmp_path, Estimator=SoftmaxClassifier, n_classes=3, **params):
    """A small fitted model, saved; returns (path, estimator, X)."""
    clf, X = fitted(Estimator, n_classes, **params)
    path = tmp_path / "model.npz"
    clf.save(path)
    return path, clf, X


def npy_bytes(array, allow_pickle=False):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def rewrite_members(path, replace=(), compression=zipfile.ZIP_STORED):
    """Copy the zip at ``path`` onto itself with members replaced (None deletes one)."""
    replace = dict(replace)
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    for name, data in replace.items():
        if data is None:
            members.pop(name)
        else:
            members[name] = data
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def edit_record(path, edit):
    """Rewrite the JSON record of ``path`` after ``edit(document)``; the arrays stay as they are."""
    with np.load(path, allow_pickle=False) as archive:
        document = json.loads(archive["__linclf__"].tobytes().decode())
    edit(document)
    record = np.frombuffer(json.dumps(document).encode(), dtype=np.uint8)
    rewrite_members(path, {"__linclf__.npy": npy_bytes(record)})


def resave(path, edit):
    """Write ``path`` again through write_model (fresh checksums) after ``edit(meta, arrays)``."""
    meta, arrays = read_model(path)
    edit(meta, arrays)
    write_model(path, meta, arrays)


# save → load over every estimator, label type, dtype and preprocessing option gives the
# same model bit for bit: predictions, parameters, hyperparameters and fitted attributes.
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("standardize", [False, True], ids=["raw", "standardized"])
@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no_intercept"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("labels", sorted(LABELS))
@pytest.mark.parametrize("n_classes", [2, 4], ids=["binary", "multiclass"])
@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_round_trip_is_bit_identical(
    tmp_path, Estimator, n_classes, labels, dtype, fit_intercept, standardize, sparse
):
    X, y = make_data(n_classes, labels)
    X_fit = scipy.sparse.csr_matrix(X) if sparse else X
    clf = Estimator(
        dtype=dtype,
        fit_intercept=fit_intercept,
        standardize=standardize,
        max_epochs=3,
        tol=None,
        random_state=0,
        batch_size=16,
    ).fit(X_fit, y)
    path = tmp_path / "model.npz"
    clf.save(path)
    loaded = load(path)

    assert type(loaded) is Estimator
    assert loaded.get_params() == clf.get_params()
    assert np.array_equal(loaded.classes_, clf.classes_)
    assert loaded.classes_.dtype.kind == clf.classes_.dtype.kind
    for name in ("coef_", "intercept_"):
        ours, theirs = getattr(loaded, name), getattr(clf, name)
        assert (ours.dtype, ours.shape) == (theirs.dtype, theirs.shape)
        assert ours.tobytes() == theirs.tobytes()
    assert loaded.n_features_in_ == clf.n_features_in_
    assert loaded.n_iter_ == clf.n_iter_
    assert loaded.loss_curve_ == clf.loss_curve_
    assert loaded.reg_ == clf.reg_
    for method in PREDICTIONS[Estimator]:
        for X_new in (X, scipy.sparse.csr_matrix(X)):
            expected = getattr(clf, method)(X_new)
            got = getattr(loaded, method)(X_new)
            assert got.dtype == expected.dtype
            assert np.array_equal(got, expected), method


def _train_in_chunks(Estimator, n_classes, fit_intercept, shuffle, start):
    X, y = make_data(n_classes, n_samples=90)
    settings = dict(
        fit_intercept=fit_intercept,
        shuffle=shuffle,
        random_state=0,
        batch_size=8,
        max_epochs=2,
        tol=None,
        dtype=np.float64,
    )
    clf = Estimator(**settings)
    if start == "fit":
        clf.fit(X[:60], y[:60])
    else:
        clf.partial_fit(X[:30], y[:30], classes=np.unique(y))
        clf.partial_fit(X[30:60], y[30:60])
    return clf, X[60:], y[60:]


# A loaded model carries the optimizer state (momentum buffers, step count, schedule
# position) and the shuffling generator: one more partial_fit on the original and on the
# loaded copy gives identical parameters, and that step did change them (so the
# comparison is not between two untouched models).
@pytest.mark.parametrize("shuffle", [False, True], ids=["no_shuffle", "shuffle"])
@pytest.mark.parametrize("start", ["partial_fit", "fit"])
@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no_intercept"])
@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "multiclass"])
@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_loaded_model_continues_partial_fit_like_the_original(
    tmp_path, Estimator, n_classes, fit_intercept, start, shuffle
):
    clf, X_more, y_more = _train_in_chunks(Estimator, n_classes, fit_intercept, shuffle, start)
    path = tmp_path / "model.npz"
    clf.save(path)
    loaded = load(path)
    before = clf.coef_.copy()

    clf.partial_fit(X_more, y_more)
    loaded.partial_fit(X_more, y_more)

    assert not np.array_equal(clf.coef_, before)
    assert loaded.coef_.tobytes() == clf.coef_.tobytes()
    assert loaded.intercept_.tobytes() == clf.intercept_.tobytes()
    assert loaded.n_iter_ == clf.n_iter_
    assert loaded.loss_curve_ == clf.loss_curve_


# The momentum buffers are what makes the continuation exact: a model rebuilt from the
# same weights but a fresh optimizer takes a different step (guards the test above).
def test_continuation_depends_on_the_saved_optimizer_state(tmp_path):
    clf, X_more, y_more = _train_in_chunks(SoftmaxClassifier, 3, True, False, "partial_fit")
    path = tmp_path / "model.npz"
    clf.save(path)
    resave(path, lambda meta, arrays: [arrays.pop(k) for k in list(arrays) if "velocity" in k])
    forgetful = load(path)
    clf.partial_fit(X_more, y_more)
    forgetful.partial_fit(X_more, y_more)
    assert not np.array_equal(forgetful.coef_, clf.coef_)


# class_weight survives with labels of any type (JSON would turn int keys into strings).
@pytest.mark.parametrize("labels", ["str", "int"])
def test_class_weight_round_trips(tmp_path, labels):
    X, y = make_data(3, labels)
    weights = {LABELS[labels][1].item(): 3.0}
    clf = SoftmaxClassifier(class_weight=weights, max_epochs=2, tol=None, random_state=0)
    clf.fit(X, y)
    clf.save(tmp_path / "model.npz")
    loaded = load(tmp_path / "model.npz")
    assert loaded.class_weight == weights
    loaded.partial_fit(X, y)  # the weights still name known classes


# A DataFrame's column names survive, and the loaded model still checks them.
def test_pandas_feature_names_survive(tmp_path):
    pd = pytest.importorskip("pandas")
    X, y = make_data(3, "object")
    frame = pd.DataFrame(X, columns=[f"feature {i}" for i in range(X.shape[1])])
    clf = LinearSVM(max_epochs=3, tol=None, random_state=0).fit(frame, pd.Series(y))
    clf.save(tmp_path / "model.npz")
    loaded = load(tmp_path / "model.npz")

    assert loaded.feature_names_in_.dtype == object
    assert loaded.feature_names_in_.tolist() == frame.columns.tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "fitted without feature names" warning
        assert np.array_equal(loaded.predict(frame), clf.predict(frame))
    with pytest.raises(ValueError, match="same order"):
        loaded.predict(frame[frame.columns[::-1]])


# The caller's extra data is stored beside the model and does not disturb loading.
def test_extra_data_is_stored_and_ignored_by_load(tmp_path):
    clf, X = fitted()
    clf.save(tmp_path / "model.npz", extra={"target": "species", "rows": [1, 2]})
    meta, _ = read_model(tmp_path / "model.npz")
    assert meta["extra"] == {"target": "species", "rows": [1, 2]}
    assert np.array_equal(load(tmp_path / "model.npz").predict(X), clf.predict(X))


# An unfitted estimator has nothing to save: NotFittedError, and no file appears.
@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_save_unfitted_raises_not_fitted(tmp_path, Estimator):
    with pytest.raises(NotFittedError):
        Estimator().save(tmp_path / "model.npz")
    assert os.listdir(tmp_path) == []


class TouchOnUnpickle:
    """Pickles to a call of ``Path.touch(marker)``: unpickling it creates the marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def pickle_bomb(marker):
    payload = np.empty(1, dtype=object)
    payload[0] = TouchOnUnpickle(marker)
    return npy_bytes(payload, allow_pickle=True)


MALICIOUS_MEMBERS = ["W.npy", "coef.npy", "__linclf__.npy", "payload.npy"]


# The payload is live: NumPy with allow_pickle=True does run it (so the refusal below is
# what keeps the marker from appearing, not a payload that never worked).
def test_the_pickle_payload_runs_when_unpickled(tmp_path):
    path, _, _ = saved(tmp_path)
    marker = tmp_path / "pwned"
    rewrite_members(path, {"W.npy": pickle_bomb(marker)})
    with np.load(path, allow_pickle=True) as archive:
        archive["W"]
    assert marker.exists()


# A model file carrying a pickled object array is refused, naming pickle, and the pickle
# is never run, wherever it sits: in place of an array, of the record, or beside them.
@pytest.mark.parametrize("member", MALICIOUS_MEMBERS)
def test_malicious_pickle_is_refused_and_never_run(tmp_path, member):
    path, _, _ = saved(tmp_path)
    marker = tmp_path / "pwned"
    rewrite_members(path, {member: pickle_bomb(marker)})
    with pytest.raises(ModelFileError, match="pickle"):
        load(path)
    assert not marker.exists()


# The same holds for a bare .npz of pickles with no linclf record at all.
def test_bare_pickle_npz_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("payload.npy", pickle_bomb(marker))
    with pytest.raises(ModelFileError, match="pickle"):
        load(path)
    assert not marker.exists()


# A file cut short anywhere (inside the arrays, the record or the zip directory) is refused.
@pytest.mark.parametrize("keep", [0, 1, 30, 64, 500, 1000, -1000, -200, -100, -22, -1])
def test_truncated_file_is_refused(tmp_path, keep):
    path, _, _ = saved(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:keep] if keep >= 0 else data[: len(data) + keep])
    with pytest.raises(ModelFileError):
        load(path)


# Every prefix of a model file is refused (a sweep in steps of 7 bytes, the last one too).
def test_every_prefix_is_refused(tmp_path):
    path, _, _ = saved(tmp_path, n_classes=2)
    data = path.read_bytes()
    for keep in [*range(0, len(data), 7), len(data) - 1]:
        path.write_bytes(data[:keep])
        with pytest.raises(ModelFileError):
            load(path)


# A byte flipped anywhere either makes load refuse the file or leaves the model exactly
# as it was (a byte of zip bookkeeping nobody reads): never a different model, never
# another exception.
def test_a_flipped_byte_never_gives_a_different_model(tmp_path):
    path, clf, X = saved(tmp_path, n_classes=2)
    data = path.read_bytes()
    expected = clf.decision_function(X)
    refused = 0
    for offset in range(0, len(data), 7):
        corrupted = bytearray(data)
        corrupted[offset] ^= 0xFF
        path.write_bytes(bytes(corrupted))
        try:
            loaded = load(path)
        except ModelFileError:
            refused += 1
            continue
        assert np.array_equal(loaded.decision_function(X), expected), offset
        assert loaded.get_params() == clf.get_params(), offset
    assert refused > len(data) // 10  # the sweep did hit checked bytes


# A flipped byte inside an array's data is caught by the zip CRC.
def test_flipped_byte_in_array_data_is_refused(tmp_path):
    path, clf, _ = saved(tmp_path)
    data = bytearray(path.read_bytes())
    where = bytes(data).find(fitted_state(clf).W.tobytes())
    assert where > 0
    data[where + 5] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="corrupted"):
        load(path)


# An array changed with a valid zip CRC (rewritten, not bit-rotted) fails its SHA-256.
def test_changed_array_fails_its_checksum(tmp_path):
    path, clf, _ = saved(tmp_path)
    W = fitted_state(clf).W.copy()
    W[0, 0] += 1
    rewrite_members(path, {"W.npy": npy_bytes(W)})
    with pytest.raises(ModelFileError, match="'W' fails its checksum"):
        load(path)


# A file from a newer format version is refused with a message saying to upgrade;
# a version number that is not a positive integer is refused as corrupted.
def test_newer_format_version_is_refused(tmp_path):
    path, _, _ = saved(tmp_path)
    edit_record(path, lambda document: document.update(format_version=FORMAT_VERSION + 1))
    with pytest.raises(ModelFileError, match="upgrade linclf"):
        load(path)


@pytest.mark.parametrize("version", [0, -1, "1", True, None, 1.0])
def test_invalid_format_version_is_refused(tmp_path, version):
    path, _, _ = saved(tmp_path)
    edit_record(path, lambda document: document.update(format_version=version))
    with pytest.raises(ModelFileError, match="format version"):
        load(path)


# Older files lack entries added since (a hyperparameter, the optimizer's learning-rate
# scale): they load, with the defaults, as the version policy promises.
def test_entries_missing_from_older_files_take_their_defaults(tmp_path):
    path, clf, X = saved(tmp_path, Estimator=LinearSVM, delta=2.0)
    resave(
        path, lambda meta, arrays: (meta["params"].pop("delta"), meta["optimizer"].pop("lr_scale"))
    )
    loaded = load(path)
    assert (clf.delta, loaded.delta) == (2.0, LinearSVM().delta)
    assert np.array_equal(loaded.decision_function(X), clf.decision_function(X))


# The current version reads back after the record is rewritten unchanged (so the edits
# above fail for what they change, not for the rewriting).
def test_rewritten_record_still_loads(tmp_path):
    path, clf, X = saved(tmp_path)
    edit_record(path, lambda document: None)
    assert np.array_equal(load(path).decision_function(X), clf.decision_function(X))


WRONG_SHAPES = {
    "W": lambda a: np.zeros((a.shape[0], a.shape[1] + 1), a.dtype),
    "b": lambda a: np.zeros(a.shape[0] + 1, a.dtype),
    "coef": lambda a: a[:, :-1].copy(),
    "intercept": lambda a: np.zeros(a.shape[0] + 2, a.dtype),
    "optimizer.velocity.W": lambda a: a.T.copy(),
    "optimizer.velocity.b": lambda a: a[:1].copy(),
    "classes": lambda a: a[:1].copy(),
}


# An array of the wrong shape (with correct checksums) is refused, naming that array.
@pytest.mark.parametrize("name", sorted(WRONG_SHAPES))
def test_wrong_array_shape_is_refused_naming_the_array(tmp_path, name):
    path, _, _ = saved(tmp_path, solver="sgd")  # SGD: the file holds momentum buffers
    resave(path, lambda meta, arrays: arrays.update({name: WRONG_SHAPES[name](arrays[name])}))
    with pytest.raises(ModelFileError, match=f"'{name}'"):
        load(path)


# The standardization statistics are checked too (they exist only with standardize).
@pytest.mark.parametrize("name", ["standardize_shift", "standardize_scale"])
def test_wrong_standardization_shape_is_refused(tmp_path, name):
    path, _, _ = saved(tmp_path, standardize=True)
    resave(path, lambda meta, arrays: arrays.update({name: arrays[name][:-1].copy()}))
    with pytest.raises(ModelFileError, match=f"'{name}'"):
        load(path)


# An array of the wrong dtype, or a missing one, is refused naming it.
@pytest.mark.parametrize("name", ["W", "coef", "intercept", "b"])
def test_wrong_array_dtype_is_refused(tmp_path, name):
    path, _, _ = saved(tmp_path, dtype=np.float32)
    resave(path, lambda meta, arrays: arrays.update({name: arrays[name].astype(np.float64)}))
    with pytest.raises(ModelFileError, match=f"'{name}'"):
        load(path)


@pytest.mark.parametrize("name", ["W", "coef", "intercept", "classes"])
def test_missing_array_is_refused(tmp_path, name):
    path, _, _ = saved(tmp_path)
    resave(path, lambda meta, arrays: arrays.pop(name))
    with pytest.raises(ModelFileError, match=f"'{name}' is missing"):
        load(path)


def _set(key, value):
    return lambda meta: meta.__setitem__(key, value)


def _set_param(key, value):
    return lambda meta: meta["params"].__setitem__(key, value)


BAD_METADATA = {
    "no estimator": (lambda meta: meta.pop("estimator"), "names no estimator"),
    "unknown estimator": (
        _set("estimator", "RandomForest"),
        r"written by linclf .* for estimator 'RandomForest', which this linclf does not know",
    ),
    "params not a dict": (_set("params", [1, 2]), "'params'"),
    "unknown hyperparameter": (_set_param("lr", 0.1), r"\['lr'\]"),
    "bad learning_rate": (_set_param("learning_rate", -1.0), "learning_rate"),
    "bad reg": (_set_param("reg", "lots"), "reg"),
    "bad dtype": (_set_param("dtype", "int8"), "dtype"),
    "unknown dtype": (_set_param("dtype", "quaternion"), "dtype"),
    "bad batch_size": (_set_param("batch_size", 0), "batch_size"),
    "bad schedule": (_set_param("schedule", "sometimes"), "sometimes"),
    "bad random_state": (_set_param("random_state", "seed"), "invalid SoftmaxClassifier"),
    "n_features_in a string": (_set("n_features_in", "5"), "'n_features_in'"),
    "n_features_in disagrees": (_set("n_features_in", 6), "'W'"),
    "feature names too few": (_set("feature_names_in", ["a"]), "'feature_names_in'"),
    "classes_kind a number": (_set("classes_kind", 3), "'classes_kind'"),
    "n_iter missing": (lambda meta: meta.pop("n_iter"), "'n_iter'"),
    "n_iter negative": (_set("n_iter", -1), "'n_iter'"),
    "loss_curve not a list": (_set("loss_curve", "low"), "'loss_curve'"),
    "reg missing": (_set("reg", None), "'reg'"),
    "optimizer not a dict": (_set("optimizer", None), "'optimizer'"),
    "optimizer state empty": (_set("optimizer", {}), "missing keys"),
    "optimizer step negative": (
        lambda meta: meta["optimizer"].__setitem__("t", -1),
        "invalid SoftmaxClassifier",
    ),
}


# Malformed metadata is refused with a ModelFileError naming the file and the bad entry,
# never a KeyError or TypeError from deep inside.
@pytest.mark.parametrize("case", sorted(BAD_METADATA))
def test_malformed_metadata_is_refused_naming_it(tmp_path, case):
    edit, message = BAD_METADATA[case]
    path, _, _ = saved(tmp_path)
    resave(path, lambda meta, arrays: edit(meta))
    with pytest.raises(ModelFileError, match=message) as info:
        load(path)
    assert str(path) in str(info.value)


# A record that is not a dict of metadata, or not linclf's, is refused.
@pytest.mark.parametrize(
    "edit",
    [
        lambda document: document.update(meta=[1, 2]),
        lambda document: document.update(checksums=None),
        lambda document: document.update(format="something-else"),
        lambda document: document.pop("meta"),
    ],
    ids=["meta_list", "no_checksums", "other_format", "no_meta"],
)
def test_malformed_record_is_refused(tmp_path, edit):
    path, _, _ = saved(tmp_path)
    edit_record(path, edit)
    with pytest.raises(ModelFileError):
        load(path)


def _write_npz(path):
    np.savez(path, W=np.zeros((3, 4)))


def _write_text(path):
    path.write_text("W = [[0, 0], [0, 0]]\n")


def _write_npy(path):
    path.write_bytes(npy_bytes(np.zeros((3, 4))))


def _write_empty(path):
    path.write_bytes(b"")


def _write_zip_of_text(path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")


NOT_MODEL_FILES = [_write_npz, _write_text, _write_npy, _write_empty, _write_zip_of_text]


# Files that are not linclf model files are refused as such, whatever they hold.
@pytest.mark.parametrize("write", NOT_MODEL_FILES, ids=lambda f: f.__name__[len("_write_") :])
def test_other_files_are_not_linclf_model_files(tmp_path, write):
    path = tmp_path / "file.npz"
    write(path)
    with pytest.raises(ModelFileError, match="not a linclf model file"):
        load(path)


# A record stored with another dtype than uint8 is refused, not reinterpreted.
@pytest.mark.parametrize("dtype", [np.int64, np.float64, "U1"])
def test_record_of_another_dtype_is_refused(tmp_path, dtype):
    path, _, _ = saved(tmp_path)
    with np.load(path, allow_pickle=False) as archive:
        record = archive["__linclf__"]
    as_other = record.astype(dtype) if dtype != "U1" else np.array(list(record.tobytes().decode()))
    rewrite_members(path, {"__linclf__.npy": npy_bytes(as_other)})
    with pytest.raises(ModelFileError, match="uint8"):
        load(path)


# A header that claims far more data than the member holds is refused before anything
# that size is allocated (no MemoryError, no zip bomb).
def test_header_claiming_huge_array_is_refused(tmp_path):
    path, _, _ = saved(tmp_path)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**15,)}
    )
    rewrite_members(path, {"W.npy": header.getvalue() + bytes(8)})
    with pytest.raises(ModelFileError, match="'W'"):
        load(path)


# Compressed members are refused: a tiny deflated member could expand to gigabytes.
def test_compressed_members_are_refused(tmp_path):
    path, _, _ = saved(tmp_path)
    rewrite_members(path, compression=zipfile.ZIP_DEFLATED)
    with pytest.raises(ModelFileError, match="compressed"):
        load(path)


# A name stored twice would let one copy pass the checks and the other be used.
def test_duplicated_member_is_refused(tmp_path):
    path, _, _ = saved(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate it writes
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr("W.npy", npy_bytes(np.zeros((3, 5), np.float32)))
    with pytest.raises(ModelFileError, match="twice"):
        load(path)


# A missing file and a folder raise the usual OSErrors, naming the path.
def test_missing_file_raises_file_not_found_naming_it(tmp_path):
    path = tmp_path / "nowhere.npz"
    with pytest.raises(FileNotFoundError, match=r"nowhere\.npz"):
        load(path)


def test_folder_raises_is_a_directory_naming_it(tmp_path):
    with pytest.raises(IsADirectoryError, match=re.escape(tmp_path.name)):
        load(tmp_path)
    clf, _ = fitted()
    with pytest.raises(IsADirectoryError, match=re.escape(tmp_path.name)):
        clf.save(tmp_path)


def _fail_while_writing(monkeypatch, where, error):
    """Make write_model fail at ``where``: after part of the archive, at fsync, at rename."""
    if where == "array":

        def partial_write(fp, array, *args, **kwargs):
            fp.write(b"\x00" * 100)  # some bytes reach the temporary file first
            raise error

        monkeypatch.setattr(np.lib.format, "write_array", partial_write)
    else:
        target = {"fsync": (os, "fsync"), "replace": (os, "replace")}[where]

        def broken(*args, **kwargs):
            raise error

        monkeypatch.setattr(*target, broken)


# A write that fails midway (an error or Ctrl-C while writing an array, at fsync, or at the
# rename) leaves the previous file intact and no temporary file behind.
@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()], ids=repr)
@pytest.mark.parametrize("where", ["array", "fsync", "replace"])
def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch, where, error):
    path, old, X = saved(tmp_path)
    before = path.read_bytes()
    new, _ = fitted(max_epochs=5)
    _fail_while_writing(monkeypatch, where, error)
    with pytest.raises(type(error)):
        new.save(path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["model.npz"]
    assert path.read_bytes() == before
    assert np.array_equal(load(path).decision_function(X), old.decision_function(X))


# Without a previous file, a failed write leaves nothing at all.
def test_failed_first_write_leaves_nothing(tmp_path, monkeypatch):
    clf, _ = fitted()
    _fail_while_writing(monkeypatch, "array", OSError("disk full"))
    with pytest.raises(OSError, match="disk full"):
        clf.save(tmp_path / "model.npz")
    assert os.listdir(tmp_path) == []


# A saved file gets the permissions of any new file (the umask's), not a temporary file's
# private 0o600, so that a model saved for others can be read by them.
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_saved_file_has_ordinary_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        path, _, _ = saved(tmp_path)
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644


# write_model refuses what it could only store unsafely or not at all, and stores arrays
# whose names would collide with np.savez's own arguments.
@pytest.mark.parametrize(
    "meta, arrays, error",
    [
        ({}, {"x": np.array([object()])}, TypeError),
        ({}, {"__linclf__": np.zeros(2)}, ValueError),
        ({}, {"": np.zeros(2)}, ValueError),
        ({"when": object()}, {}, TypeError),
        ({"loss": float("nan")}, {}, TypeError),
        ([1], {}, TypeError),
    ],
    ids=["object_array", "reserved_name", "empty_name", "object_meta", "nan_meta", "meta_list"],
)
def test_write_model_refuses_unstorable_input(tmp_path, meta, arrays, error):
    with pytest.raises(error):
        write_model(tmp_path / "x.npz", meta, arrays)
    assert os.listdir(tmp_path) == []


def test_write_model_round_trips_any_array_name(tmp_path):
    arrays = {"file": np.arange(3), "allow_pickle": np.ones((2, 2), np.float32), "a.b/c": np.eye(2)}
    arrays["fortran"] = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    write_model(tmp_path / "x.npz", {"k": [1, "two"]}, arrays)
    meta, loaded = read_model(tmp_path / "x.npz")
    assert meta == {"k": [1, "two"]}
    assert sorted(loaded) == sorted(arrays)
    for name, array in arrays.items():
        assert loaded[name].dtype == array.dtype and np.array_equal(loaded[name], array)
        assert loaded[name].flags.writeable


# The writer's package version is kept in the header, for error messages and debugging.
def test_read_model_file_reports_the_header(tmp_path):
    path, _, _ = saved(tmp_path)
    model = _modelfile.read_model_file(path)
    assert model.format_version == FORMAT_VERSION
    assert model.linclf_version == _modelfile.__version__
    assert model.meta["estimator"] == "SoftmaxClassifier"


# Labels come back with their types (issue 12, class 5): object ints were read back as
# strings, bytes as str, and non-ASCII bytes made save crash.
@pytest.mark.parametrize(
    "labels, element_type",
    [
        (np.array([1, 22] * 15, dtype=object), int),
        (np.array(["x", "y"] * 15, dtype=object), str),
        (np.array([b"a\xff", b"b"] * 15), np.bytes_),
        (np.array([b"no", b"yes"] * 15), np.bytes_),
    ],
    ids=["object ints", "object str", "non-ASCII bytes", "bytes"],
)
def test_labels_keep_their_type_through_save_and_load(tmp_path, labels, element_type):
    X = np.random.default_rng(0).normal(size=(30, 2))
    clf = LinearSVM().fit(X, labels)
    clf.save(tmp_path / "m.npz")
    back = load(tmp_path / "m.npz")
    assert back.classes_.dtype == clf.classes_.dtype
    assert all(type(v) is element_type for v in back.classes_)
    assert back.classes_.tolist() == clf.classes_.tolist()
    assert back.predict(X).tolist() == clf.predict(X).tolist()
