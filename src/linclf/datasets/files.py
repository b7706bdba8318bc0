"""Readers for the data files of the command line: CSV, NumPy ``.npz`` and svmlight.

Each reader returns the features as float64 (svmlight: a float64 CSR sparse matrix) and
the labels as a 1-d array, and raises :class:`DataFileError` (a ``ValueError``) naming the
file, and where it helps the line and column, when the content cannot be used: a
non-numeric or non-finite feature, a ragged row, a missing column, a malformed pair. A
missing file raises the usual ``FileNotFoundError``.

Labels read from text (a CSV column, a labels file) keep their type when every one of them
is a number: all integers give int64, else all floats give float64, else they stay
strings. So ``0, 1, 2`` are the classes 0, 1, 2 and ``setosa, virginica`` stay names.

Formats
-------
CSV
    A header row naming the columns, then one sample per row, comma-separated (quotes as
    the ``csv`` module reads them, UTF-8 with or without a byte-order mark). The target
    column is picked by name; every other column (or every listed one) must be numeric.
npz
    A NumPy archive with a 2-d numeric array ``X`` and, optionally, a 1-d array ``y`` of
    as many labels; read without pickle.
svmlight / libsvm
    One sample per line: ``LABEL [qid:Q] INDEX:VALUE INDEX:VALUE ...`` with 1-based,
    distinct feature indices; absent indices are zeros; ``qid`` is ignored and ``#``
    starts a comment.
"""

from __future__ import annotations

import csv
import os
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "FORMATS",
    "DataFileError",
    "Dataset",
    "format_of",
    "read_csv",
    "read_csv_header",
    "read_data",
    "read_labels",
    "read_npz",
    "read_svmlight",
]

FORMATS = {
    ".csv": "csv",
    ".npz": "npz",
    ".svm": "svmlight",
    ".svmlight": "svmlight",
    ".libsvm": "svmlight",
}


class DataFileError(ValueError):
    """A data file cannot be read as the format it claims: the message says where and why."""


class Dataset(NamedTuple):
    """What :func:`read_data` read: features, labels and what is known of the columns.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features), or CSR matrix for svmlight
    y : ndarray of shape (n_samples,) or None
        None when the file holds no labels (a CSV without target, an npz without ``y``).
    feature_names : list of str or None
        The CSV columns used as features, in the order of ``X``'s columns.
    target : str or None
        The CSV column the labels came from.
    format : str
        ``"csv"``, ``"npz"`` or ``"svmlight"``.
    """

    X: Any
    y: np.ndarray | None
    feature_names: list[str] | None
    target: str | None
    format: str


def _labels_from_text(values: list[str]) -> np.ndarray:
    """int64 if every label is an integer, else float64 if every one is a finite float,
    else the strings themselves."""
    try:
        return np.array([int(v) for v in values], dtype=np.int64)
    except (ValueError, OverflowError):
        pass
    try:
        floats = np.array([float(v) for v in values], dtype=np.float64)
    except ValueError:
        return np.array(values, dtype=str)
    # "nan" or "inf" is no class value to compute with; keep such labels as text.
    return floats if np.all(np.isfinite(floats)) else np.array(values, dtype=str)


def _open_text(path: str | os.PathLike) -> Any:
    # utf-8-sig drops the byte-order mark some spreadsheets write; newline="" is what the
    # csv module needs to read quoted line breaks.
    return open(path, encoding="utf-8-sig", newline="")


def _not_text(path: str | os.PathLike, exc: UnicodeDecodeError) -> DataFileError:
    return DataFileError(
        f"{os.fspath(path)} is not UTF-8 text (byte {exc.start} of a line cannot be decoded); "
        "is it a binary file?"
    )


def _first_non_finite(path: str | os.PathLike, X: np.ndarray, where: str) -> None:
    bad = np.argwhere(~np.isfinite(X))
    if bad.size:
        i, j = (int(k) for k in bad[0])
        raise DataFileError(
            f"{os.fspath(path)}: {where}[{i}, {j}] is {X[i, j]}, and features must be finite "
            f"numbers ({bad.shape[0]} such value{'s' if bad.shape[0] > 1 else ''})"
        )


def _column_list(names: list[str], limit: int = 20) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def read_csv_header(path: str | os.PathLike) -> list[str]:
    """The column names of a CSV file (its first row, each name stripped of spaces).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    list of str

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    DataFileError
        If the file is empty or not UTF-8 text.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "points.csv")
    >>> with open(path, "w") as fh:
    ...     _ = fh.write("x, y ,label\\n0,1,a\\n")
    >>> read_csv_header(path)
    ['x', 'y', 'label']
    >>> folder.cleanup()
    """
    with _open_text(path) as fh:
        try:
            header = next(csv.reader(fh), None)
        except UnicodeDecodeError as exc:
            raise _not_text(path, exc) from None
        except csv.Error as exc:
            raise DataFileError(f"{os.fspath(path)}, line 1: {exc}") from None
    if header is None:
        raise DataFileError(f"{os.fspath(path)} is empty: expected a header row of column names")
    return [column.strip() for column in header]


def read_csv(
    path: str | os.PathLike, target: str | None = None, *, features: list[str] | None = None
) -> tuple[np.ndarray, np.ndarray | None, list[str], str | None]:
    """Read a CSV file with a header row into a float64 feature matrix and labels.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file: a header row of column names, then one row per sample.
    target : str or None
        Name of the label column. None: the file has no labels.
    features : list of str or None
        The feature columns to read, in this order; the other columns (the target
        included) are ignored. None: every column but the target.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64
    y : ndarray of shape (n_samples,) or None
        int64 if every label is an integer, float64 if every one is a number, else str.
    feature_names : list of str
        The columns of ``X``.
    target_name : str or None
        ``target``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    DataFileError
        If the file is empty or not UTF-8 text, the header has an empty or repeated
        name, ``target`` or a listed feature is not a column (the message lists the
        columns), a row has the wrong number of fields, or a feature value is not a finite
        number (the message names the line and the column).

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "flowers.csv")
    >>> with open(path, "w") as fh:
    ...     _ = fh.write("length,width,kind\\n1.4,0.2,setosa\\n4.7,1.4,versicolor\\n")
    >>> X, y, names, target = read_csv(path, target="kind")
    >>> X.tolist(), y.tolist(), names, target
    ([[1.4, 0.2], [4.7, 1.4]], ['setosa', 'versicolor'], ['length', 'width'], 'kind')
    >>> read_csv(path, features=["width"])[0].ravel().tolist()
    [0.2, 1.4]
    >>> folder.cleanup()
    """
    name = os.fspath(path)
    with _open_text(path) as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader, None)
            if header is None:
                raise DataFileError(f"{name} is empty: expected a header row of column names")
            header = [column.strip() for column in header]
            for position, column in enumerate(header, start=1):
                if not column:
                    raise DataFileError(
                        f"{name}, line 1: column {position} of the header has no name; "
                        "every column needs one"
                    )
            repeated = sorted({c for c in header if header.count(c) > 1})
            if repeated:
                raise DataFileError(f"{name}, line 1: repeated column name(s) {repeated}")
            if target is not None and target not in header:
                raise DataFileError(
                    f"{name} has no column {target!r}; its columns are {_column_list(header)}"
                )
            if features is None:
                features = [c for c in header if c != target]
            else:
                missing = [c for c in features if c not in header]
                if missing:
                    raise DataFileError(
                        f"{name} lacks the feature column(s) {_column_list(missing)}; "
                        f"its columns are {_column_list(header)}"
                    )
            feature_at = [header.index(c) for c in features]
            target_at = None if target is None else header.index(target)
            cells, labels, lines = [], [], []
            for row in reader:
                if not row:
                    continue  # a blank line
                if len(row) != len(header):
                    raise DataFileError(
                        f"{name}, line {reader.line_num}: {len(row)} fields, expected "
                        f"{len(header)} (one per header column)"
                    )
                cells.append([row[j] for j in feature_at])
                if target_at is not None:
                    labels.append(row[target_at].strip())
                lines.append(reader.line_num)
        except UnicodeDecodeError as exc:
            raise _not_text(path, exc) from None
        except csv.Error as exc:
            raise DataFileError(f"{name}, line {reader.line_num}: {exc}") from None
    if not lines:
        raise DataFileError(f"{name} has a header but no data rows")
    try:
        X = np.array(cells, dtype=np.float64).reshape(len(cells), len(features))
    except ValueError:
        X = None  # find the first bad cell below, to name it
    if X is None or not np.all(np.isfinite(X)):
        for line, row in zip(lines, cells, strict=True):
            for column, text in zip(features, row, strict=True):
                _check_number(name, line, column, text)
        if X is None:  # NumPy refused a value that float() takes: convert as float() does
            X = np.array([[float(t) for t in row] for row in cells], dtype=np.float64)
    for line, label in zip(lines, labels, strict=False):
        if not label:
            raise DataFileError(f"{name}, line {line}, column {target!r}: the label is empty")
    y = _labels_from_text(labels) if target is not None else None
    return X, y, list(features), target


def _check_number(name: str, line: int, column: str, text: str) -> None:
    where = f"{name}, line {line}, column {column!r}"
    if not text.strip():
        raise DataFileError(f"{where}: empty value; features must be numbers")
    try:
        value = float(text)
    except ValueError:
        raise DataFileError(f"{where}: {text.strip()!r} is not a number") from None
    if not np.isfinite(value):
        raise DataFileError(f"{where}: {text.strip()!r} is not a finite number")


def read_npz(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray | None]:
    """Read the arrays ``X`` and (optionally) ``y`` of a NumPy ``.npz`` archive, without pickle.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        float64, or float32 when stored as float32 (no copy made to widen it).
    y : ndarray of shape (n_samples,) or None
        As stored; None when the archive has no ``y``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    DataFileError
        If the file is not an ``.npz`` archive (a linclf model file is named as such),
        has no ``X``, holds an array that would need pickle, ``X`` is not a 2-d array of
        finite numbers, or ``y`` is not 1-d with one label per row of ``X``.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "data.npz")
    >>> np.savez(path, X=np.eye(3), y=np.array([0, 1, 1]))
    >>> X, y = read_npz(path)
    >>> X.shape, X.dtype.name, y.tolist()
    ((3, 3), 'float64', [0, 1, 1])
    >>> folder.cleanup()
    """
    name = os.fspath(path)
    with open(path, "rb") as fh:
        try:
            archive = np.load(fh, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise DataFileError(f"{name} is not a NumPy .npz archive ({exc})") from None
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise DataFileError(f"{name} holds a single array (.npy); expected an .npz with X")
        with archive:
            if "__linclf__" in archive.files:
                raise DataFileError(f"{name} is a linclf model file, not a data file")
            if "X" not in archive.files:
                raise DataFileError(
                    f"{name} has no array 'X'; it holds {_column_list(sorted(archive.files))}"
                )
            try:
                X = archive["X"]
                y = archive["y"] if "y" in archive.files else None
            except ValueError as exc:
                raise DataFileError(f"{name}: {exc}") from None
    if X.ndim != 2 or X.dtype.kind not in "biuf":
        raise DataFileError(
            f"{name}: X must be a 2-d numeric array, got shape {X.shape} of dtype {X.dtype}"
        )
    if X.dtype != np.float32:
        X = X.astype(np.float64, copy=False)
    _first_non_finite(path, X, "X")
    if y is not None and (y.ndim != 1 or y.shape[0] != X.shape[0]):
        raise DataFileError(
            f"{name}: y must be 1-d with one label per row of X ({X.shape[0]}), got shape {y.shape}"
        )
    return X, y


def read_svmlight(path: str | os.PathLike, n_features: int | None = None) -> tuple[Any, np.ndarray]:
    """Read an svmlight / libsvm text file into a CSR matrix and its labels.

    Parameters
    ----------
    path : str or os.PathLike
        One sample per line, ``LABEL [qid:Q] INDEX:VALUE ...``: 1-based, distinct feature
        indices (any order); ``qid`` is ignored; ``#`` starts a comment; blank lines are
        skipped.
    n_features : int or None
        Number of columns of the result. None: the largest index in the file.

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (n_samples, n_features), float64
        Sorted indices; the zeros written in the file are kept as stored entries.
    y : ndarray of shape (n_samples,)
        int64 when every label is a whole number, else float64.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    DataFileError
        If a label or value is not a finite number, a pair is not ``INDEX:VALUE``, an
        index is below 1, repeated within a line, or above ``n_features``, or the file
        holds no sample; the message names the line.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "data.svm")
    >>> with open(path, "w") as fh:
    ...     _ = fh.write("1 1:0.5 3:2  # first\\n-1 qid:7 2:1.5\\n")
    >>> X, y = read_svmlight(path)
    >>> X.toarray().tolist(), y.tolist()
    ([[0.5, 0.0, 2.0], [0.0, 1.5, 0.0]], [1, -1])
    >>> read_svmlight(path, n_features=5)[0].shape
    (2, 5)
    >>> folder.cleanup()
    """
    import scipy.sparse  # only for this format: `import linclf` stays free of it

    name = os.fspath(path)
    labels: list[float] = []
    indptr, indices, values = [0], [], []
    with _open_text(path) as fh:
        try:
            for line_no, line in enumerate(fh, start=1):
                fields = line.split("#", 1)[0].split()
                if not fields:
                    continue
                where = f"{name}, line {line_no}"
                labels.append(_finite(fields[0], f"{where}: label"))
                start = len(indices)
                for pair in fields[1:]:
                    key, sep, text = pair.partition(":")
                    if not sep:
                        raise DataFileError(f"{where}: {pair!r} is not INDEX:VALUE")
                    if key == "qid":
                        continue
                    try:
                        index = int(key)
                    except ValueError:
                        raise DataFileError(
                            f"{where}: feature index {key!r} is not an integer"
                        ) from None
                    if index < 1:
                        raise DataFileError(
                            f"{where}: feature index {index}; indices are 1-based (1, 2, ...)"
                        )
                    if n_features is not None and index > n_features:
                        raise DataFileError(
                            f"{where}: feature index {index} is beyond the {n_features} "
                            "features expected"
                        )
                    indices.append(index - 1)
                    values.append(_finite(text, f"{where}: value of feature {index}"))
                if len(set(indices[start:])) != len(indices) - start:
                    raise DataFileError(f"{where}: a feature index is repeated")
                indptr.append(len(indices))
        except UnicodeDecodeError as exc:
            raise _not_text(path, exc) from None
    if not labels:
        raise DataFileError(f"{name} holds no sample (no line with a label)")
    width = n_features if n_features is not None else max(indices, default=-1) + 1
    X = scipy.sparse.csr_matrix(
        (
            np.array(values, dtype=np.float64),
            np.array(indices, dtype=np.int64),
            np.array(indptr, dtype=np.int64),
        ),
        shape=(len(labels), width),
    )
    X.sort_indices()
    y = np.array(labels, dtype=np.float64)
    if np.all(y == np.round(y)) and np.all(np.abs(y) < 2.0**53):
        y = y.astype(np.int64)
    return X, y


def _finite(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise DataFileError(f"{what} {text!r} is not a number") from None
    if not np.isfinite(value):
        raise DataFileError(f"{what} {text!r} is not a finite number")
    return value


def read_labels(path: str | os.PathLike) -> np.ndarray:
    """Read labels written one per line (surrounding spaces stripped).

    Parameters
    ----------
    path : str or os.PathLike
        Text with one label per line; blank lines at the end are ignored.

    Returns
    -------
    y : ndarray of shape (n_samples,)
        int64 if every label is an integer, float64 if every one is a number, else str.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    DataFileError
        If the file holds no label, has a blank line between labels, or is not UTF-8.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "labels.txt")
    >>> with open(path, "w") as fh:
    ...     _ = fh.write("3\\n1\\n3\\n")
    >>> read_labels(path).tolist()
    [3, 1, 3]
    >>> folder.cleanup()
    """
    name = os.fspath(path)
    with _open_text(path) as fh:
        try:
            text = fh.read()
        except UnicodeDecodeError as exc:
            raise _not_text(path, exc) from None
    lines = [line.strip() for line in text.rstrip().splitlines()]
    if not lines or lines == [""]:
        raise DataFileError(f"{name} holds no label")
    for line_no, line in enumerate(lines, start=1):
        if not line:
            raise DataFileError(f"{name}, line {line_no}: blank line; expected one label a line")
    return _labels_from_text(lines)


def format_of(path: str | os.PathLike) -> str:
    """The format a file's extension names: ``"csv"``, ``"npz"`` or ``"svmlight"``.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    str

    Raises
    ------
    DataFileError
        If the extension is none of ``.csv``, ``.npz``, ``.svm``, ``.svmlight``, ``.libsvm``.

    Examples
    --------
    >>> format_of("train.libsvm"), format_of("iris.CSV")
    ('svmlight', 'csv')
    """
    extension = os.path.splitext(os.fspath(path))[1].lower()
    if extension not in FORMATS:
        raise DataFileError(
            f"cannot tell the format of {os.fspath(path)} from its extension "
            f"{extension or '(none)'!r}: expected one of {', '.join(FORMATS)}, or name the "
            "format (csv, npz, svmlight)"
        )
    return FORMATS[extension]


def read_data(
    path: str | os.PathLike,
    target: str | None = None,
    fmt: str | None = None,
    *,
    features: list[str] | None = None,
    n_features: int | None = None,
) -> Dataset:
    """Read a data file of any supported format, chosen by ``fmt`` or by the extension.

    Parameters
    ----------
    path : str or os.PathLike
    target : str or None
        CSV only: the label column (see :func:`read_csv`). npz and svmlight files carry
        their labels themselves (array ``y``, first field).
    fmt : {"csv", "npz", "svmlight"} or None
        None: from the extension (see :func:`format_of`).
    features : list of str or None
        CSV only: the feature columns to read, in this order.
    n_features : int or None
        svmlight only: the number of columns of X.

    Returns
    -------
    Dataset
        ``(X, y, feature_names, target, format)``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    DataFileError
        If the format is unknown, ``target`` is given for a format other than CSV, or the
        reader of the format raises it.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "points.csv")
    >>> with open(path, "w") as fh:
    ...     _ = fh.write("x,y,label\\n0,1,a\\n2,3,b\\n")
    >>> data = read_data(path, target="label")
    >>> data.format, data.X.shape, data.y.tolist(), data.feature_names
    ('csv', (2, 2), ['a', 'b'], ['x', 'y'])
    >>> folder.cleanup()
    """
    if fmt is None:
        fmt = format_of(path)
    elif fmt not in set(FORMATS.values()):
        raise DataFileError(f"unknown data format {fmt!r}: expected csv, npz or svmlight")
    if target is not None and fmt != "csv":
        where = "its array y" if fmt == "npz" else "the first field of each line"
        raise DataFileError(
            f"a target column ({target!r}) applies to CSV files only; {os.fspath(path)} is "
            f"{fmt}, whose labels are {where}"
        )
    if fmt == "csv":
        X, y, names, target = read_csv(path, target, features=features)
        return Dataset(X, y, names, target, fmt)
    if fmt == "npz":
        X, y = read_npz(path)
    else:
        X, y = read_svmlight(path, n_features=n_features)
    return Dataset(X, y, None, None, fmt)
