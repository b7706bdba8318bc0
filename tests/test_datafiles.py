"""The data-file readers of linclf.datasets.files, against pandas and scikit-learn.

pandas reads the CSV files and scikit-learn's ``load_svmlight_file`` the svmlight files
independently, so agreement with them checks the parsing itself; the error tests check
that each unusable input names the file and, where it has one, the line and the column.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse

from linclf.datasets.files import (
    DataFileError,
    Dataset,
    format_of,
    read_csv,
    read_csv_header,
    read_data,
    read_labels,
    read_npz,
    read_svmlight,
)


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def iris_csv(tmp_path):
    datasets = pytest.importorskip("sklearn.datasets")
    iris = datasets.load_iris(as_frame=True)
    frame = iris.frame
    frame["species"] = iris.target_names[frame.pop("target")]
    path = tmp_path / "iris.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_read_csv_matches_pandas(iris_csv):
    # pandas parses the same file on its own: same numbers, same labels, same columns.
    path, frame = iris_csv
    X, y, names, target = read_csv(path, target="species")
    assert X.dtype == np.float64 and X.shape == (150, 4)
    np.testing.assert_array_equal(X, frame.drop(columns="species").to_numpy())
    assert y.tolist() == frame["species"].tolist()
    assert names == [c for c in frame.columns if c != "species"] and target == "species"


def test_read_csv_selects_feature_columns_by_name_and_order(iris_csv):
    # The columns come in the order asked for; the target column is simply skipped.
    path, frame = iris_csv
    wanted = ["petal width (cm)", "sepal length (cm)"]
    X, y, names, target = read_csv(path, features=wanted)
    np.testing.assert_array_equal(X, frame[wanted].to_numpy())
    assert y is None and target is None and names == wanted


@pytest.mark.parametrize(
    ("labels", "dtype", "values"),
    [
        (["2", "0", "2"], np.int64, [2, 0, 2]),
        (["1.5", "2", "-3e1"], np.float64, [1.5, 2.0, -30.0]),
        (["a", "1", "b"], np.str_, ["a", "1", "b"]),
        (["nan", "1", "2"], np.str_, ["nan", "1", "2"]),  # NaN is no class: kept as text
    ],
)
def test_csv_labels_stay_numbers_only_when_all_are_numbers(tmp_path, labels, dtype, values):
    rows = "".join(f"{i},{label}\n" for i, label in enumerate(labels))
    _, y, _, _ = read_csv(write(tmp_path / "d.csv", "x,label\n" + rows), target="label")
    assert y.dtype.type is dtype and y.tolist() == values


def test_read_csv_handles_quotes_bom_spaces_and_blank_lines(tmp_path):
    # A quoted label with a comma, a byte-order mark, spaces around values and names, and
    # blank lines (a trailing one included) are all ordinary CSV.
    text = '\ufeff a , b ,kind\n 1.5 ,2,"x, y"\n\n-3,4e-1,z\n\n'
    X, y, names, target = read_csv(write(tmp_path / "d.csv", text), target="kind")
    assert X.tolist() == [[1.5, 2.0], [-3.0, 0.4]]
    assert y.tolist() == ["x, y", "z"] and names == ["a", "b"] and target == "kind"
    assert read_csv_header(tmp_path / "d.csv") == ["a", "b", "kind"]


@pytest.mark.parametrize(
    ("text", "kwargs", "fragments"),
    [
        ("a,b,t\n1,2,x\n3,oops,y\n", {"target": "t"}, ["line 3", "column 'b'", "'oops'"]),
        ("a,b,t\n1,,x\n", {"target": "t"}, ["line 2", "column 'b'", "empty value"]),
        ("a,b,t\n1,2,x\n\n1,inf,y\n", {"target": "t"}, ["line 4", "column 'b'", "finite"]),
        ("a,b,t\n1,2,x\n1,2\n", {"target": "t"}, ["line 3", "2 fields, expected 3"]),
        ("a,b,t\n1,2,x\n", {"target": "T"}, ["no column 'T'", "'a', 'b', 't'"]),
        ("a,b,t\n1,2,x\n", {"features": ["a", "c", "d"]}, ["'c', 'd'", "'a', 'b', 't'"]),
        ("a,b,t\n1,2,\n", {"target": "t"}, ["line 2", "column 't'", "label is empty"]),
        ("a,a,t\n1,2,x\n", {"target": "t"}, ["repeated column", "'a'"]),
        ("a,,t\n1,2,x\n", {"target": "t"}, ["column 2 of the header has no name"]),
        ("a,b,t\n", {"target": "t"}, ["no data rows"]),
        ("", {}, ["is empty"]),
    ],
)
def test_read_csv_errors_name_file_line_and_column(tmp_path, text, kwargs, fragments):
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(DataFileError) as info:
        read_csv(path, **kwargs)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_read_csv_refuses_binary_files(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"a,b\n\xff\xfe\x00\x01,2\n")
    with pytest.raises(DataFileError, match="not UTF-8 text"):
        read_csv(path)


def test_read_npz_roundtrip_and_dtypes(tmp_path):
    # Integer features become float64; float32 stays float32 (no widening copy); y as stored.
    X = np.arange(12).reshape(4, 3)
    np.savez(tmp_path / "int.npz", X=X, y=np.array(["a", "b", "a", "b"]))
    got_X, got_y = read_npz(tmp_path / "int.npz")
    assert got_X.dtype == np.float64 and got_X.tolist() == X.tolist()
    assert got_y.tolist() == ["a", "b", "a", "b"]
    np.savez(tmp_path / "f32.npz", X=X.astype(np.float32))
    got_X, got_y = read_npz(tmp_path / "f32.npz")
    assert got_X.dtype == np.float32 and got_y is None


def test_read_npz_errors(tmp_path):
    np.savez(tmp_path / "noX.npz", data=np.eye(2), target=np.arange(2))
    with pytest.raises(DataFileError, match=r"no array 'X'.*'data', 'target'"):
        read_npz(tmp_path / "noX.npz")
    np.savez(tmp_path / "obj.npz", X=np.array([[1, "a"]], dtype=object))
    with pytest.raises(DataFileError, match=r"obj\.npz"):  # would need pickle: refused
        read_npz(tmp_path / "obj.npz")
    np.savez(tmp_path / "ragged.npz", X=np.eye(3), y=np.arange(2))
    with pytest.raises(DataFileError, match=r"one label per row of X \(3\)"):
        read_npz(tmp_path / "ragged.npz")
    np.savez(tmp_path / "nan.npz", X=np.array([[0.0, 1.0], [2.0, np.nan]]))
    with pytest.raises(DataFileError, match=r"X\[1, 1\] is nan"):
        read_npz(tmp_path / "nan.npz")
    np.savez(tmp_path / "flat.npz", X=np.arange(3.0))
    with pytest.raises(DataFileError, match="2-d numeric"):
        read_npz(tmp_path / "flat.npz")
    with pytest.raises(DataFileError, match=r"not a NumPy \.npz archive"):
        read_npz(write(tmp_path / "text.npz", "1,2,3\n"))


def test_read_npz_recognizes_a_model_file(tmp_path):
    # The common slip of swapping MODEL and DATA gets a message that says so.
    from linclf import LinearSVM

    model = LinearSVM(max_epochs=2, tol=None).fit([[0.0], [1.0]], [0, 1])
    model.save(tmp_path / "model.npz")
    with pytest.raises(DataFileError, match="is a linclf model file, not a data file"):
        read_npz(tmp_path / "model.npz")


@pytest.mark.parametrize("labels", ["integers", "floats"])
@pytest.mark.parametrize("with_qid", [False, True])
def test_read_svmlight_matches_scikit_learn(tmp_path, labels, with_qid):
    # A file written by scikit-learn (with its comment header, and qid fields when asked)
    # is read as scikit-learn's own reader reads it: same matrix, same labels.
    datasets = pytest.importorskip("sklearn.datasets")
    rng = np.random.default_rng(0)
    dense = rng.normal(size=(30, 9)) * (rng.random((30, 9)) < 0.4)
    dense[:, -1] = 0.0  # an all-zero last column: only n_features can bring it back
    y = rng.integers(0, 4, 30) if labels == "integers" else rng.normal(size=30).round(3)
    path = tmp_path / "data.svmlight"
    qid = rng.integers(1, 5, 30) if with_qid else None
    datasets.dump_svmlight_file(
        dense, y, str(path), zero_based=False, query_id=qid, comment="written for a test"
    )

    X, got_y = read_svmlight(path)
    expected_X, expected_y = datasets.load_svmlight_file(str(path), zero_based=False)
    assert scipy.sparse.issparse(X) and X.format == "csr" and X.dtype == np.float64
    assert X.shape == expected_X.shape == (30, 8)
    np.testing.assert_array_equal(X.toarray(), expected_X.toarray())
    np.testing.assert_array_equal(got_y, expected_y)
    # And the data written: dump_svmlight_file prints 16 significant digits, one short of
    # a float64 round trip, so the values come back to within an ulp or two.
    np.testing.assert_allclose(X.toarray(), dense[:, :8], rtol=1e-15, atol=0)
    assert got_y.dtype == (np.int64 if labels == "integers" else np.float64)

    X9, _ = read_svmlight(path, n_features=9)
    expected_X9, _ = datasets.load_svmlight_file(str(path), zero_based=False, n_features=9)
    np.testing.assert_array_equal(X9.toarray(), expected_X9.toarray())


def test_read_svmlight_accepts_unsorted_indices_and_comments(tmp_path):
    text = "# header\n2 3:1.5 1:-2 # a comment\n\n-1 qid:3 2:4e-1\n"
    X, y = read_svmlight(write(tmp_path / "d.svm", text))
    assert X.has_sorted_indices
    assert X.toarray().tolist() == [[-2.0, 0.0, 1.5], [0.0, 0.4, 0.0]]
    assert y.tolist() == [2, -1]


@pytest.mark.parametrize(
    ("text", "kwargs", "fragments"),
    [
        ("1 1:2\nspam 1:2\n", {}, ["line 2", "label 'spam' is not a number"]),
        ("1 1:2\n1 -1:2\n", {}, ["line 2", "feature index -1 is negative"]),
        ("1 1:2\n1 0:2\n", {"zero_based": False}, ["sample 2", "feature index 0", "1-based"]),
        ("1 0:1\n0 5:1\n", {"n_features": 5}, ["index 5 is beyond the 5 features", "0-based"]),
        ("1 1:2 3\n", {}, ["line 1", "'3' is not INDEX:VALUE"]),
        ("1 a:2\n", {}, ["line 1", "'a' is not an integer"]),
        ("1 1:x\n", {}, ["line 1", "value of feature 1 'x' is not a number"]),
        ("1 1:nan\n", {}, ["line 1", "not a finite number"]),
        ("1 2:1 2:3\n", {}, ["line 1", "repeated"]),
        ("1 1:1\n0 7:1\n", {"n_features": 5}, ["line 2", "index 7 is beyond the 5 features"]),
        ("# only a comment\n\n", {}, ["holds no sample"]),
    ],
)
def test_read_svmlight_errors_name_file_and_line(tmp_path, text, kwargs, fragments):
    path = write(tmp_path / "bad.svm", text)
    with pytest.raises(DataFileError) as info:
        read_svmlight(path, **kwargs)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message


@pytest.mark.parametrize(
    ("text", "values"),
    [("3\n1\n3\n", [3, 1, 3]), (" cat\ndog \n\n\n", ["cat", "dog"]), ("0.5\n1\n", [0.5, 1.0])],
)
def test_read_labels(tmp_path, text, values):
    assert read_labels(write(tmp_path / "labels.txt", text)).tolist() == values


@pytest.mark.parametrize(("text", "match"), [("", "holds no label"), ("a\n\nb\n", "line 2")])
def test_read_labels_errors(tmp_path, text, match):
    with pytest.raises(DataFileError, match=match):
        read_labels(write(tmp_path / "labels.txt", text))


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.csv", "csv"),
        ("A.CSV", "csv"),
        ("a.npz", "npz"),
        ("a.svm", "svmlight"),
        ("a.svmlight", "svmlight"),
        ("a.libsvm", "svmlight"),
    ],
)
def test_format_of_extension(name, fmt):
    assert format_of(name) == fmt


@pytest.mark.parametrize("name", ["data.txt", "data", "data.csv.gz"])
def test_format_of_unknown_extension(name):
    with pytest.raises(DataFileError, match=f"cannot tell the format of {name}"):
        format_of(name)


def test_read_data_dispatches_on_extension_or_format(tmp_path):
    write(tmp_path / "d.csv", "a,b,t\n1,2,x\n3,4,y\n")
    data = read_data(tmp_path / "d.csv", target="t")
    assert isinstance(data, Dataset) and data.format == "csv" and data.target == "t"
    assert data.X.tolist() == [[1.0, 2.0], [3.0, 4.0]] and data.feature_names == ["a", "b"]

    write(tmp_path / "d.txt", "1 2:5\n0 1:1\n")
    data = read_data(tmp_path / "d.txt", fmt="svmlight", n_features=3)
    assert data.format == "svmlight" and data.X.shape == (2, 3) and data.y.tolist() == [1, 0]
    assert data.feature_names is None and data.target is None

    np.savez(tmp_path / "d.npz", X=np.eye(2), y=np.array([0, 1]))
    data = read_data(tmp_path / "d.npz")
    assert data.format == "npz" and data.y.tolist() == [0, 1]


def test_read_data_refuses_a_target_for_files_that_carry_labels(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.eye(2), y=np.array([0, 1]))
    with pytest.raises(DataFileError, match=r"applies to CSV files only.*array y"):
        read_data(tmp_path / "d.npz", target="label")
    with pytest.raises(DataFileError, match="unknown data format 'parquet'"):
        read_data(tmp_path / "d.npz", fmt="parquet")


@pytest.mark.parametrize(
    "reader", [read_csv, read_csv_header, read_npz, read_svmlight, read_labels, read_data]
)
def test_missing_files_raise_file_not_found(tmp_path, reader):
    with pytest.raises(FileNotFoundError):
        reader(tmp_path / "missing.csv")


# Labels an .npz cannot mean: NaN (it would become a class), complex numbers, times.
@pytest.mark.parametrize(
    ("y", "match"),
    [
        (np.r_[np.nan, np.arange(3.0)], r"y\[0\] is nan, and labels must be finite numbers"),
        (np.arange(4) + 1j, r"y must hold numbers or strings, got dtype complex128"),
    ],
)
def test_npz_labels_must_be_finite_numbers_or_strings(tmp_path, y, match):
    np.savez(tmp_path / "d.npz", X=np.zeros((4, 2)), y=y)
    with pytest.raises(DataFileError, match=match):
        read_npz(tmp_path / "d.npz")


# scikit-learn's dump_svmlight_file writes 0-based indices by default: found by the 0
# ("auto", as its reader decides), or stated; a 1-based file without a 0 reads as before.
@pytest.mark.parametrize("zero_based", ["auto", True])
def test_read_svmlight_reads_zero_based_files_of_scikit_learn(tmp_path, zero_based):
    datasets = pytest.importorskip("sklearn.datasets")
    rng = np.random.default_rng(1)
    dense = rng.normal(size=(20, 6)) * (rng.random((20, 6)) < 0.5)
    dense[0, 0] = 1.5  # feature 0 is used: index 0 is written
    y = rng.integers(0, 3, 20)
    path = tmp_path / "zero.svmlight"
    datasets.dump_svmlight_file(dense, y, str(path))  # zero_based=True, its default
    X, got_y = read_svmlight(path, zero_based=zero_based)
    expected, _ = datasets.load_svmlight_file(str(path), zero_based=True, n_features=6)
    assert X.shape == (20, 6)
    np.testing.assert_array_equal(X.toarray(), expected.toarray())
    np.testing.assert_array_equal(got_y, y)


# A csv error in the header (a field over the csv module's limit) is one DataFileError
# naming the file and line, as in the rows (it was an AttributeError).
def test_a_csv_error_in_the_header_names_the_file_and_line(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text('"' + "a" * 200_000 + '",label\n1,2\n')
    with pytest.raises(DataFileError, match=r"h\.csv, line 1: field larger than field limit"):
        read_csv(path, "label")
