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

import array
import os
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from .csvfile import read_csv, read_csv_header, read_csv_table
from .npzfile import read_npz
from .svmlight import read_svmlight
from .textfiles import (
    DataFileError,
    label_values,
    line_blocks,
    open_data,
)

__all__ = [
    "FORMATS",
    "DataFileError",
    "Dataset",
    "format_of",
    "read_csv",
    "read_csv_header",
    "read_csv_table",
    "read_data",
    "read_labels",
    "read_npz",
    "read_svmlight",
]

FORMATS = {".csv": "csv", ".npz": "npz"}  # file extension -> format name
FORMATS.update(dict.fromkeys([".svm", ".svmlight", ".libsvm"], "svmlight"))
# Where the formats without a target column keep their labels.
_OWN_LABELS = {"npz": "its array y", "svmlight": "the first field of each line"}


class Dataset(NamedTuple):
    """What :func:`read_data` read: ``X``, ``y`` (None without labels), ``feature_names`` and
    ``target`` (CSV only, else None), ``format``, and ``ids`` (CSV with an ID column only:
    its texts, dtype object)."""

    X: Any
    y: np.ndarray | None
    feature_names: list[str] | None
    target: str | None
    format: str
    ids: np.ndarray | None = None


def read_labels(path: str | os.PathLike) -> np.ndarray:
    """Read labels, one per line, into an int64, float64 or str ndarray of shape (n_samples,).

    Lines end with ``\\n``, ``\\r\\n`` or ``\\r``; each distinct line is decoded and
    stripped once, so the cost is a few bytes per line whatever the file holds.

    Raises
    ------
    DataFileError
        If the file holds no label, is not UTF-8, or has a blank line before its last label.
    """
    name, code = os.fspath(path), {}
    codes = array.array("q")
    with open_data(path) as fh:
        for block in line_blocks(fh):
            codes.extend(code.setdefault(line, len(code)) for line in block.splitlines())
    try:
        texts = [line.decode("utf-8").strip() for line in code]
    except UnicodeDecodeError:
        raise DataFileError(f"{name} is not UTF-8 text; is it a binary file?") from None
    by_line = np.frombuffer(codes, dtype=np.int64)
    blank = np.array([not t for t in texts], dtype=bool)[by_line]
    last = by_line.size - int(np.argmax(~blank[::-1])) if not blank.all() else 0
    if not last:
        raise DataFileError(f"{name} holds no label")
    if blank[:last].any():
        line = int(np.argmax(blank)) + 1
        raise DataFileError(f"{name}, line {line}: blank line; expected one label a line")
    distinct: dict[str, int] = {}
    label_of = np.array([distinct.setdefault(t, len(distinct)) if t else -1 for t in texts])
    rows = label_of[by_line[:last]]
    return label_values(list(distinct), rows, sum(len(t) for t in texts))


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
    max_bytes: int | None = None,
    csv_options: Mapping[str, Any] | None = None,
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
    max_bytes : int or None
        npz and svmlight: the read budget (see :func:`read_npz`, :func:`read_svmlight`);
        a CSV's cost is linear in its size by construction.
    csv_options : mapping or None
        CSV only: more keyword arguments of :func:`read_csv_table` (``sep``, ``drop``,
        ``id_column``, ``missing``, ``engine``, ``progress``).

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
        table = read_csv_table(path, target, features=features, **(csv_options or {}))
        return Dataset(table.X, table.y, table.feature_names, target, fmt, table.ids)
    if fmt == "npz":
        X, y = read_npz(path, max_bytes=max_bytes)
    else:
        X, y = read_svmlight(path, n_features=n_features, max_bytes=max_bytes)
    return Dataset(X, y, None, None, fmt)
