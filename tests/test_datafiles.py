"""The data-file readers of linclf.datasets.files, against pandas and scikit-learn.

pandas reads the CSV files and scikit-learn's ``load_svmlight_file`` the svmlight files
independently, so agreement with them checks the parsing itself; the error tests check
that each unusable input names the file and, where it has one, the line and the column.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
import scipy.sparse

from linclf.datasets import csvpandas
from linclf.datasets.csvfile import sniff_separator
from linclf.datasets.files import (
    DataFileError,
    Dataset,
    format_of,
    read_csv,
    read_csv_header,
    read_csv_table,
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


CSV_ERRORS = [
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
]


@pytest.mark.parametrize(("text", "kwargs", "fragments"), CSV_ERRORS)
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


# Files both CSV readers must read alike: (text, keyword arguments, pandas accepts it). The
# NumPy reader is the reference; pandas (engine="pandas") must give the same arrays, or
# decline so that the reference reads the file and raises its error.
ENGINE_CASES = [
    ("a,b,t\n1,2,x\n3,4.5,y\n", {"target": "t"}, True),
    ("a,b,t\r\n1,2,x\r\n3,4.5,y\r\n", {"target": "t"}, True),
    ("a,b,t\n1,2,x\n3,4.5,y", {"target": "t"}, True),  # no final line break
    ("\ufeffa,b,t\n1,2, x \n", {"target": "t"}, True),
    ("id;a;b;t\nr1;1;2;x\nr2;3;4;y\n", {"target": "t", "id_column": "id", "sep": ";"}, True),
    ("a\tb\tt\n1\t2\t1\n", {"target": "t", "sep": "auto"}, True),
    ("a|b|t\n1|2|1.5\n", {"target": "t", "sep": "|"}, True),
    ("t,a,id,b,c\nx,1,r1,2,3\ny,3,r2,4,5\n", {"target": "t", "id_column": "id"}, True),
    ("a,id,t,b\n1,r1,x,2\n3,r2,y,4\n", {"target": "t", "id_column": "id"}, True),
    ("a,b,c,t\n1,2,3,x\n4,5,6,y\n", {"target": "t", "drop": ["b"]}, True),
    ("a,b,t\n1,2,x\n", {"target": "t", "features": ["b", "a"]}, True),
    ("a,b,t\n1,,x\n3,NA,y\n", {"target": "t", "missing": True}, True),
    ("a,b,t\n1,2,x\n3,4,y\n", {}, True),  # no target: the text column is an error
    ("a,b,t\n 1 , 2.5 ,x\n1.,.5,y\n+3,1E+05,x\n-0,1e-320,y\n", {"target": "t"}, True),
    ("a,b,t\n1,  ,x\n", {"target": "t"}, False),
    ("a,b,t\n1,  ,x\n", {"target": "t", "missing": True}, False),
    ("a,b,t\n1,True,x\n", {"target": "t"}, False),
    ("a,b,t\n1,fALSE,x\n", {"target": "t"}, False),
    ("a,b,t\n1,2,true\n", {"target": "t"}, True),  # a label: text
    ("a,b,t\n1,Infinity,x\n", {"target": "t"}, False),
    ("a,b,t\n1,\u0661,x\n", {"target": "t"}, False),  # an Arabic-Indic 1: float() reads it
    ("a,b,t\n1,1e5 x,x\n", {"target": "t"}, False),
    ("a,b,t\n1,2,x\n\n3,4,y\n", {"target": "t"}, False),  # blank line
    ("a,b,t\n1,2,x\n   \n3,4,y\n", {"target": "t"}, False),  # whitespace-only line
    ('a,b,t\n1,"2",x\n', {"target": "t"}, False),  # quotes
    ('a,b,t\n1,2,"x,y"\n', {"target": "t"}, False),
    ("a,b,t\r1,2,x\r3,4,y\r", {"target": "t"}, False),  # carriage returns only
    ("a,b,t\n1,2,x,5\n3,4\n", {"target": "t"}, False),  # a long row, then a short one
    ("a,b,t\n1,2\n3,4,y,5\n", {"target": "t"}, False),
    ("a,b,c,t\n1,2,x\n3,4,5,y,6\n", {"target": "t", "features": ["a"]}, False),
    ("a,b,t\n1,2,x\n3,4,\n", {"target": "t"}, False),  # an empty label
    ("a,b,id\n1,2,r1\n3,4,\n", {"id_column": "id"}, False),  # an empty last field
    ("a,b,t\n1,inf,x\n", {"target": "t"}, False),
    ("a,b,t\n1,nan,x\n", {"target": "t"}, False),
    ("a,b,t\n1,1e400,x\n", {"target": "t"}, False),
    ("a,b,t\n1,1_0,x\n", {"target": "t"}, False),  # float() reads it, pandas does not
    ("a,b,t\n1,0x10,x\n", {"target": "t"}, False),
    ("a,b,t\n1,NA,x\n", {"target": "t"}, False),
    ("a,b,t\n1, Na ,x\n", {"target": "t", "missing": True}, False),
    ("a,b,t\n1,inf,x\n", {"target": "t", "missing": True}, False),
    ("a,b,t\n1,2,x\n3,oops,y\n", {"target": "t"}, False),
    ("a,b,t\n1,2,\xe9\n", {"target": "t"}, True),
    ("a,b,t\n1,2,x\x00\n", {"target": "t"}, False),
    ("a,b,t\n", {"target": "t"}, False),
    ("a,a,t\n1,2,x\n", {"target": "t"}, False),
    ("a,b,t\n1,2,x\n", {"target": "t", "drop": ["nope"]}, False),
]


@pytest.mark.parametrize(("text", "kwargs", "accepted"), ENGINE_CASES)
def test_the_pandas_reader_reads_as_the_numpy_reader_or_declines(tmp_path, text, kwargs, accepted):
    pytest.importorskip("pandas")
    path = tmp_path / "data.csv"
    path.write_bytes(text.encode("utf-8"))
    found = {}
    for engine in ("numpy", "pandas"):
        try:
            found[engine] = read_csv_table(path, engine=engine, **kwargs)
        except DataFileError as exc:
            found[engine] = str(exc)
    reference, fast = found["numpy"], found["pandas"]
    if isinstance(reference, str):
        assert fast == reference  # the same error, worded by the reference
        return
    assert reference.engine == "numpy" and fast.engine == ("pandas" if accepted else "numpy")
    np.testing.assert_array_equal(fast.X, reference.X)  # NaN compare equal here
    assert fast.X.dtype == np.float64 and fast.X.flags.c_contiguous
    for field in ("feature_names", "target", "sep"):
        assert getattr(fast, field) == getattr(reference, field)
    for field in ("y", "ids"):
        a, b = getattr(fast, field), getattr(reference, field)
        assert (a is None and b is None) or (a.dtype == b.dtype and a.tolist() == b.tolist())


def test_the_pandas_reader_reads_the_same_floats(tmp_path):
    # Shortest round-trip texts, 17-digit texts and long mantissas of random float64 values:
    # pandas must convert each as strtod does (correctly rounded), as NumPy does.
    pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    values = rng.standard_normal((300, 3)) * 10.0 ** rng.integers(-300, 300, (300, 3))
    cells = [[repr(float(v)) for v in row] for row in values[:100]]
    cells += [[f"{v:.17e}" for v in row] for row in values[100:200]]
    cells += [[f"{v:.25g}" for v in row] for row in values[200:]]
    text = "a,b,c\n" + "".join(",".join(row) + "\n" for row in cells)
    path = tmp_path / "floats.csv"
    path.write_text(text, encoding="utf-8")
    fast = read_csv_table(path, engine="pandas")
    assert fast.engine == "pandas"
    expected = np.array([[float(t) for t in row] for row in cells])
    np.testing.assert_array_equal(fast.X, expected)
    np.testing.assert_array_equal(read_csv_table(path, engine="numpy").X, expected)


def test_without_pandas_the_numpy_reader_reads(tmp_path, monkeypatch):
    path = write(tmp_path / "data.csv", "a;b;t\n1;2;x\n3;4;y\n")
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas raises ImportError
    table = read_csv_table(path, "t", sep="auto", engine="pandas")
    assert table.engine == "numpy" and table.X.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert table.y.tolist() == ["x", "y"] and table.sep == ";"


def test_auto_uses_pandas_for_large_files_only(tmp_path):
    pytest.importorskip("pandas")
    small = write(tmp_path / "small.csv", "a,b,t\n1,2,x\n")
    assert read_csv_table(small, "t").engine == "numpy"
    rows = 4 * 1024 * 1024 // len("1.25,2.5,x\n") + 1
    large = write(tmp_path / "large.csv", "a,b,t\n" + "1.25,2.5,x\n" * rows)
    table = read_csv_table(large, "t")
    assert table.engine == "pandas" and table.X.shape == (rows, 2)
    assert np.all(table.X == [1.25, 2.5]) and set(table.y.tolist()) == {"x"}


@pytest.mark.parametrize(
    ("text", "sep"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1,5;2,5;x\n", ";"),  # decimal commas: the header has no comma
        ("a\tb\n1\t2\n", "\t"),
        ("a|b|c|d\n1|2|3|4\n", "|"),
        ("a b\n1 2\n", " "),
        ('a;b;c\n"x;y";2;3\n', ";"),  # a quoted separator is no separator
        ("label\n1\n2\n", ","),  # one column
        ("a,b;c\n1,2;3\n4;5,6\n", ","),  # no separator is consistent: the default
    ],
)
def test_sniff_separator(tmp_path, text, sep):
    assert sniff_separator(write(tmp_path / "data.csv", text)) == sep


def test_read_csv_table_id_drop_and_missing(tmp_path):
    path = write(tmp_path / "data.csv", "id;a;leak;b;t\n7;1;0;NA;x\n8;?;1;2;y\n9;3;0;;x\n")
    table = read_csv_table(path, "t", sep=";", id_column="id", drop=["leak"], missing=True)
    assert table.feature_names == ["a", "b"] and table.ids.tolist() == ["7", "8", "9"]
    np.testing.assert_array_equal(table.X, [[1.0, np.nan], [np.nan, 2.0], [3.0, np.nan]])
    with pytest.raises(DataFileError) as info:
        read_csv_table(path, "t", sep=";", id_column="id", drop=["leak"])
    assert str(info.value).startswith(f"{path}, line 2, column 'b': missing value ('NA');")
    with pytest.raises(DataFileError, match="no ID column 'ID'; its columns are 'id', 'a'"):
        read_csv_table(path, "t", sep=";", id_column="ID")
    with pytest.raises(DataFileError, match=r"no column\(s\) 'lek' to drop"):
        read_csv_table(path, "t", sep=";", drop=["lek"])
    with pytest.raises(DataFileError, match=r"line 2, column 'b': missing value \('NA'\)"):
        read_csv_table(path, "t", sep=";")


def test_a_decimal_comma_gets_its_own_hint(tmp_path):
    path = write(tmp_path / "data.csv", "a;b;t\n1;2,5;x\n")
    with pytest.raises(DataFileError) as info:
        read_csv_table(path, "t", sep="auto")
    assert str(info.value) == (
        f"{path}, line 2, column 'b': '2,5' is not a number; decimal commas are not read: "
        "write decimal points"
    )


@pytest.mark.parametrize("sep", ["", ";;", '"', "\n"])
def test_read_csv_table_refuses_a_bad_separator(tmp_path, sep):
    path = write(tmp_path / "data.csv", "a,b\n1,2\n")
    with pytest.raises(ValueError, match="sep must be one character"):
        read_csv_table(path, sep=sep)


@pytest.mark.parametrize(("engine"), ["numpy", "pandas"])
def test_the_crafted_csv_files_get_the_same_error_from_both_readers(tmp_path, engine):
    from crafted_files import CRAFTED

    for name, writer in CRAFTED.items():
        if not name.startswith("CSV"):
            continue
        path, patterns = writer(tmp_path)
        with pytest.raises(DataFileError, match=patterns["data"]):
            read_csv_table(path, "label", engine=engine)


@pytest.mark.parametrize(("text", "kwargs", "fragments"), CSV_ERRORS)
def test_both_csv_readers_raise_the_same_errors(tmp_path, text, kwargs, fragments):
    pytest.importorskip("pandas")
    path = write(tmp_path / "bad.csv", text)
    messages = []
    for engine in ("numpy", "pandas"):
        with pytest.raises(DataFileError) as info:
            read_csv_table(path, engine=engine, **kwargs)
        messages.append(str(info.value))
    assert messages[0] == messages[1] and all(f in messages[0] for f in fragments)


def test_a_boolean_across_a_block_boundary_is_refused_by_both_readers(tmp_path, monkeypatch):
    # pandas reads a chunk of a column that is all "true" / "false" as booleans, which
    # to_numpy would make 1.0 / 0.0: its reader must decline them. Here the rows before
    # the last are 2**19, a whole chunk of 2**20 cells, so that "true" is a chunk alone;
    # they take 4 MiB - 4 bytes, so that "true" also straddles two blocks of 4 MiB.
    pytest.importorskip("pandas")
    monkeypatch.setattr(csvpandas, "CELLS_PER_CHUNK", 2**20)
    rows = ["1.5,1.5\n"] * (2**19 - 1) + ["1,1\n"]
    assert sum(map(len, rows)) == 4 * 2**20 - 4
    path = write(tmp_path / "data.csv", "a,b\n" + "".join(rows) + "1,true\n")
    expected = f"line {2**19 + 2}, column 'b': 'true' is not a number"
    for engine in ("numpy", "pandas"):
        with pytest.raises(DataFileError, match=expected):
            read_csv_table(path, engine=engine)
