"""Readers for the command line's data files: CSV, ``.npz``, svmlight (formats: docs/cli.md).

Features come back as float64 (svmlight: CSR), labels 1-d; unusable content raises
:class:`DataFileError` (a ``ValueError``) naming the file, line and column. Labels from text
are int64 if all are integers, else float64 if all finite, else strings.

Examples
--------
>>> import os, tempfile
>>> folder = tempfile.TemporaryDirectory()
>>> def write(name, text):
...     with open(os.path.join(folder.name, name), "w") as fh:
...         _ = fh.write(text)
...     return fh.name
>>> X, y, names, target = read_csv(write("f", "length, width ,kind\\n1.4,0.2,setosa\\n"), "kind")
>>> X.tolist(), y.tolist(), names, target
([[1.4, 0.2]], ['setosa'], ['length', 'width'], 'kind')
>>> X, y = read_svmlight(write("data.svm", "1 1:0.5 3:2  # first\\n-1 qid:7 2:1.5\\n"))
>>> X.toarray().tolist(), y.tolist(), format_of("train.libsvm")
([[0.5, 0.0, 2.0], [0.0, 1.5, 0.0]], [1, -1], 'svmlight')
>>> folder.cleanup()
"""

from __future__ import annotations

import collections
import contextlib
import csv
import errno
import io
import os
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from .._formats.modelfile import open_regular

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

FORMATS = {".csv": "csv", ".npz": "npz"}  # file extension -> format name
FORMATS.update(dict.fromkeys([".svm", ".svmlight", ".libsvm"], "svmlight"))
# Where the formats without a target column keep their labels.
_OWN_LABELS = {"npz": "its array y", "svmlight": "the first field of each line"}


class DataFileError(ValueError):
    """A data file cannot be read as the format it claims: the message says where and why."""


class Dataset(NamedTuple):
    """What :func:`read_data` read: ``X``, ``y`` (None without labels), ``feature_names`` and
    ``target`` (CSV only, else None) and ``format``."""

    X: Any
    y: np.ndarray | None
    feature_names: list[str] | None
    target: str | None
    format: str


def _open_data(path: str | os.PathLike) -> Any:
    """``path`` opened in binary mode if it is a regular file, else one DataFileError (a FIFO
    would block the reader forever, a device such as /dev/zero never end)."""
    try:
        return open_regular(path, "a data file")
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise
        raise DataFileError(f"{os.fspath(path)}: {exc.strerror}") from None


@contextlib.contextmanager
def _opened(path: str | os.PathLike, *, as_csv: bool = False) -> Iterator[Any]:
    """The lines of a UTF-8 text file (or a csv reader of them), its errors as DataFileError."""
    # utf-8-sig drops a spreadsheet's byte-order mark; csv needs newline="" for quoted breaks.
    raw = _open_data(path)
    with io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as fh:
        lines = csv.reader(fh) if as_csv else fh
        try:
            yield lines
        except UnicodeDecodeError as exc:
            raise DataFileError(
                f"{os.fspath(path)} is not UTF-8 text (byte {exc.start} of a line cannot be "
                "decoded); is it a binary file?"
            ) from None
        except csv.Error as exc:
            raise DataFileError(f"{os.fspath(path)}, line {lines.line_num}: {exc}") from None


def _labels_from_text(values: list[str]) -> np.ndarray:
    """int64, else finite float64, else the strings themselves (see the module docstring)."""
    with contextlib.suppress(ValueError, OverflowError):
        return np.array([int(v) for v in values], dtype=np.int64)
    with contextlib.suppress(ValueError):
        floats = np.array([float(v) for v in values], dtype=np.float64)
        if np.all(np.isfinite(floats)):  # "nan" or "inf" is no class to compute with: text
            return floats
    return np.array(values, dtype=str)


def _number(text: str, where: str) -> float:
    """``float(text)`` if finite, else a DataFileError starting with ``where``."""
    try:
        value = float(text)
    except ValueError:
        raise DataFileError(f"{where} {text.strip()!r} is not a number") from None
    if not np.isfinite(value):
        raise DataFileError(f"{where} {text.strip()!r} is not a finite number")
    return value


def _column_list(names: list[str], limit: int = 20) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def read_csv_header(path: str | os.PathLike) -> list[str]:
    """The column names of a CSV file (its first row, stripped).

    Raises
    ------
    DataFileError
        If the file is empty or not UTF-8 text.
    """
    with _opened(path, as_csv=True) as reader:
        return _header(os.fspath(path), reader)


def _header(name: str, reader: Any) -> list[str]:
    header = next(reader, None)
    if header is None:
        raise DataFileError(f"{name} is empty: expected a header row of column names")
    return [column.strip() for column in header]


def read_csv(
    path: str | os.PathLike, target: str | None = None, *, features: list[str] | None = None
) -> tuple[np.ndarray, np.ndarray | None, list[str], str | None]:
    """Read a CSV file (a header row, then one row per sample) into features and labels.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    target : str or None
        The label column; None: the file has no labels.
    features : list of str or None
        The feature columns to read, in this order (others ignored); None: all but the target.

    Returns
    -------
    X, y, feature_names, target : ndarray (n_samples, n_features), ndarray or None, list, str
        float64 features, labels (int64, float64 or str) or None, the columns of ``X``, target.

    Raises
    ------
    DataFileError
        If the file is empty or not UTF-8, a column name is empty, repeated or missing, a row
        has a wrong field count, a label is empty, or a feature is not finite.
    """
    name = os.fspath(path)
    with _opened(path, as_csv=True) as reader:
        header = _header(name, reader)
        features, feature_at, label_at = _columns(name, header, target, features)
        lines, cells, labels = _csv_rows(name, reader, len(header), feature_at, label_at)
    if not lines:
        raise DataFileError(f"{name} has a header but no data rows")
    X = _csv_features(name, lines, cells, features)
    if target is None:
        return X, None, features, None
    for line, label in zip(lines, labels, strict=True):
        if not label:
            raise DataFileError(f"{name}, line {line}, column {target!r}: the label is empty")
    return X, _labels_from_text(labels), features, target


def _columns(
    name: str, header: list[str], target: str | None, features: list[str] | None
) -> tuple[list[str], list[int], int | None]:
    """The feature columns, their positions and the target's; every column must be named once."""
    for number, column in enumerate(header, start=1):
        if not column:
            raise DataFileError(
                f"{name}, line 1: column {number} of the header has no name; every column needs one"
            )
    repeated = sorted(c for c, count in collections.Counter(header).items() if count > 1)
    if repeated:
        raise DataFileError(f"{name}, line 1: repeated column name(s) {repeated}")
    position = {column: j for j, column in enumerate(header)}
    if target is not None and target not in position:
        raise DataFileError(
            f"{name} has no column {target!r}; its columns are {_column_list(header)}"
        )
    if features is None:
        features = [c for c in header if c != target]
    missing = [c for c in features if c not in position]
    if missing:
        raise DataFileError(
            f"{name} lacks the feature column(s) {_column_list(missing)}; "
            f"its columns are {_column_list(header)}"
        )
    label_at = None if target is None else position[target]
    return list(features), [position[c] for c in features], label_at


def _csv_rows(
    name: str, reader: Any, width: int, feature_at: list[int], label_at: int | None
) -> tuple[list[int], list[list[str]], list[str]]:
    """The line number, feature fields and stripped label of every non-blank row."""
    lines, cells, labels = [], [], []
    for row in reader:
        if not row:
            continue  # a blank line
        if len(row) != width:
            raise DataFileError(
                f"{name}, line {reader.line_num}: {len(row)} fields, expected {width} "
                "(one per header column)"
            )
        cells.append([row[j] for j in feature_at])
        if label_at is not None:
            labels.append(row[label_at].strip())
        lines.append(reader.line_num)
    return lines, cells, labels


def _csv_features(
    name: str, lines: list[int], cells: list[list[str]], features: list[str]
) -> np.ndarray:
    """The cells as a float64 matrix; the first one that is no finite number is named."""
    try:
        X = np.array(cells, dtype=np.float64).reshape(len(cells), len(features))
        if np.all(np.isfinite(X)):
            return X
    except ValueError:
        pass  # find the first bad cell below, to name it
    for line, row in zip(lines, cells, strict=True):
        for column, text in zip(features, row, strict=True):
            where = f"{name}, line {line}, column {column!r}:"
            if not text.strip():
                raise DataFileError(f"{where} empty value; features must be numbers")
            _number(text, where)
    # Every cell is a finite number to float(), but NumPy refused one: convert as float() does.
    return np.array([[float(t) for t in row] for row in cells], dtype=np.float64)


def read_npz(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray | None]:
    """Read the arrays ``X`` and (if present) ``y`` of a NumPy ``.npz`` archive, without pickle.

    Returns
    -------
    X, y : ndarray of shape (n_samples, n_features), ndarray of shape (n_samples,) or None
        ``X`` as float64, or float32 when stored so (not widened); ``y`` as stored.

    Raises
    ------
    DataFileError
        If the file is no ``.npz`` (or a model file), has no ``X``, needs pickle, ``X`` is not
        2-d and finite, or ``y`` is not 1-d with one label per row.
    """
    name = os.fspath(path)
    with _open_data(path) as fh:
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
    bad = np.argwhere(~np.isfinite(X))
    if bad.size:
        i, j = (int(k) for k in bad[0])
        raise DataFileError(
            f"{name}: X[{i}, {j}] is {X[i, j]}, and features must be finite numbers "
            f"({bad.shape[0]} such value{'s' if bad.shape[0] > 1 else ''})"
        )
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
        The file.
    n_features : int or None
        Number of columns of ``X``; None: the largest index in the file.

    Returns
    -------
    X, y : float64 CSR matrix of shape (n_samples, n_features), ndarray of shape (n_samples,)
        Sorted indices, written zeros stored; ``y`` int64 if all whole numbers, else float64.

    Raises
    ------
    DataFileError
        If a label or value is not finite, a pair is not ``INDEX:VALUE``, an index is below 1,
        repeated or above ``n_features``, or the file holds no sample.
    """
    import scipy.sparse  # only for this format: `import linclf` stays free of it

    name = os.fspath(path)
    labels: list[float] = []
    indptr, indices, values = [0], [], []
    with _opened(path) as lines:
        for line_no, line in enumerate(lines, start=1):
            fields = line.split("#", 1)[0].split()
            if fields:
                where = f"{name}, line {line_no}"
                labels.append(_number(fields[0], f"{where}: label"))
                _svmlight_pairs(fields[1:], where, n_features, indices, values)
                indptr.append(len(indices))
    if not labels:
        raise DataFileError(f"{name} holds no sample (no line with a label)")
    width = n_features if n_features is not None else max(indices, default=-1) + 1
    data, columns = np.array(values, dtype=np.float64), np.array(indices, dtype=np.int64)
    rows = np.array(indptr, dtype=np.int64)
    X = scipy.sparse.csr_matrix((data, columns, rows), shape=(len(labels), width))
    X.sort_indices()
    y = np.array(labels, dtype=np.float64)
    if np.all(y == np.round(y)) and np.all(np.abs(y) < 2.0**53):
        y = y.astype(np.int64)
    return X, y


def _svmlight_pairs(
    pairs: list[str], where: str, n_features: int | None, indices: list, values: list
) -> None:
    """Append the 0-based indices and the values of one line's ``INDEX:VALUE`` pairs."""
    start = len(indices)
    for pair in pairs:
        key, sep, text = pair.partition(":")
        if not sep:
            raise DataFileError(f"{where}: {pair!r} is not INDEX:VALUE")
        if key == "qid":
            continue
        try:
            index = int(key)
        except ValueError:
            raise DataFileError(f"{where}: feature index {key!r} is not an integer") from None
        if index < 1:
            raise DataFileError(f"{where}: feature index {index}; indices are 1-based (1, 2, ...)")
        if n_features is not None and index > n_features:
            raise DataFileError(
                f"{where}: feature index {index} is beyond the {n_features} features expected"
            )
        indices.append(index - 1)
        values.append(_number(text, f"{where}: value of feature {index}"))
    if len(set(indices[start:])) != len(indices) - start:
        raise DataFileError(f"{where}: a feature index is repeated")


def read_labels(path: str | os.PathLike) -> np.ndarray:
    """Read labels, one per line, into an int64, float64 or str ndarray of shape (n_samples,).

    Raises
    ------
    DataFileError
        If the file holds no label, is not UTF-8, or has a blank line before its last label.
    """
    name = os.fspath(path)
    with _opened(path) as fh:
        lines = [line.strip() for line in fh.read().rstrip().splitlines()]
    if not lines:
        raise DataFileError(f"{name} holds no label")
    for line_no, line in enumerate(lines, start=1):
        if not line:
            raise DataFileError(f"{name}, line {line_no}: blank line; expected one label a line")
    return _labels_from_text(lines)


def format_of(path: str | os.PathLike) -> str:
    """The format a file's extension names: ``"csv"``, ``"npz"`` or ``"svmlight"``.

    Raises
    ------
    DataFileError
        If the extension is none of ``.csv``, ``.npz``, ``.svm``, ``.svmlight``, ``.libsvm``.
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
        The file.
    target : str or None
        CSV only: the label column; npz and svmlight files carry their own (``y``, first field).
    fmt : {"csv", "npz", "svmlight"} or None
        None: from the extension (see :func:`format_of`).
    features : list of str or None
        CSV only: the feature columns to read, in this order.
    n_features : int or None
        svmlight only: the number of columns of X.

    Returns
    -------
    Dataset

    Raises
    ------
    DataFileError
        If the format is unknown, ``target`` is given for a format but CSV, or the reader raises.
    """
    if fmt is None:
        fmt = format_of(path)
    elif fmt not in set(FORMATS.values()):
        raise DataFileError(f"unknown data format {fmt!r}: expected csv, npz or svmlight")
    if target is not None and fmt != "csv":
        raise DataFileError(
            f"a target column ({target!r}) applies to CSV files only; {os.fspath(path)} is "
            f"{fmt}, whose labels are {_OWN_LABELS[fmt]}"
        )
    if fmt == "csv":
        return Dataset(*read_csv(path, target, features=features), fmt)
    X, y = read_npz(path) if fmt == "npz" else read_svmlight(path, n_features=n_features)
    return Dataset(X, y, None, None, fmt)
