"""The CSV reader: a header row of column names, then one row per sample (docs/cli.md).

Blocks of simple lines (no quotes, no blank line, one field per column) are converted by
NumPy's ``loadtxt``; any other block by the csv module, the reference, which also names
the line and column of whatever is wrong. Memory: the float64 matrix twice, and a code
per label; never a Python string per cell.
"""

from __future__ import annotations

import collections
import csv
import operator
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from .textfiles import (
    DataFileError,
    LabelCodes,
    column_list,
    number,
    opened,
)

__all__ = ["read_csv", "read_csv_header"]


def read_csv_header(path: str | os.PathLike) -> list[str]:
    """The column names of a CSV file (its first row, stripped).

    Raises
    ------
    DataFileError
        If the file is empty or not UTF-8 text.
    """
    with opened(path, as_csv=True) as reader:
        return _header(os.fspath(path), reader)


def _header(name: str, reader: Any) -> list[str]:
    try:
        header = next(reader, None)
    except csv.Error as exc:  # the reader over the raw lines is not opened()'s own
        raise DataFileError(f"{name}, line {reader.line_num}: {exc}") from None
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
    with opened(path) as fh:
        reader = csv.reader(fh)
        header = _header(name, reader)
        features, feature_at, label_at = _columns(name, header, target, features)
        labels = None if target is None else LabelCodes(name, target)
        columns, width = (features, feature_at), len(header)
        rows = _csv_rows(name, (fh, reader.line_num), width, columns)
        X = _csv_blocks(name, rows, width, columns, (label_at, labels))
    if not X.shape[0]:
        raise DataFileError(f"{name} has a header but no data rows")
    return X, None if labels is None else labels.values(), features, target


def _columns(
    name: str, header: list[str], target: str | None, features: list[str] | None
) -> tuple[list[str], list[int], int | None]:
    """The feature columns, their positions and the target's; every column must be named once."""
    for position, column in enumerate(header, start=1):
        if not column:
            raise DataFileError(
                f"{name}, line 1: column {position} of the header has no name; every column "
                "needs one"
            )
    repeated = sorted(c for c, count in collections.Counter(header).items() if count > 1)
    if repeated:
        raise DataFileError(f"{name}, line 1: repeated column name(s) {repeated}")
    position = {column: j for j, column in enumerate(header)}
    if target is not None and target not in position:
        raise DataFileError(
            f"{name} has no column {target!r}; its columns are {column_list(header)}"
        )
    if features is None:
        features = [c for c in header if c != target]
    missing = [c for c in features if c not in position]
    if missing:
        raise DataFileError(
            f"{name} lacks the feature column(s) {column_list(missing)}; "
            f"its columns are {column_list(header)}"
        )
    label_at = None if target is None else position[target]
    return list(features), [position[c] for c in features], label_at


_BLOCK_CHARS = 1 << 18  # CSV text parsed at once: the text of a block is freed after it


def _csv_rows(name: str, source: tuple, width: int, features: tuple) -> Iterator[tuple]:
    """The data rows in blocks of whole records: ``(rows, lines, X)``, X their features
    as float64 when the fast parser vouches for the block (else None, and ``rows`` the
    fields of each non-blank row from the csv module); ``lines``: their line numbers.

    The fast parser takes a block without quotes or blank lines, with ``width - 1``
    commas a line, to NumPy's ``loadtxt``; anything else, or a cell it cannot convert,
    goes through the csv module, which is the reference and names what is wrong where.
    """
    (fh, line), (_, feature_at) = source, features
    while lines := fh.readlines(_BLOCK_CHARS):
        while "".join(lines).count('"') % 2 and (more := fh.readline()):
            lines.append(more)  # a quoted field goes on: read to the end of its record
        X = _fast_features(lines, width, feature_at)
        if X is not None:
            yield lines, range(line + 1, line + 1 + len(lines)), X
        else:
            yield _slow_rows(name, lines, line)
        line += len(lines)


def _fast_features(lines: list[str], width: int, feature_at: list[int]) -> np.ndarray | None:
    """The features of a block of simple lines by ``numpy.loadtxt``, or None to decline."""
    if '"' in "".join(lines) or not all(map(str.strip, lines)):
        return None
    if set(map(operator.methodcaller("count", ","), lines)) != {width - 1}:
        return None
    if not feature_at:
        return np.zeros((len(lines), 0))
    try:
        X = np.loadtxt(
            lines,
            delimiter=",",
            usecols=feature_at,
            dtype=np.float64,
            comments=None,
            quotechar=None,
            ndmin=2,
            encoding=None,
        )
    except ValueError:
        return None
    return X if np.all(np.isfinite(X)) else None


def _slow_rows(name: str, lines: list[str], line: int) -> tuple:
    """A block's non-blank rows by the csv module, and their line numbers."""
    reader, rows, numbers = csv.reader(lines), [], []
    try:
        for row in reader:
            if row:
                rows.append(row)
                numbers.append(line + reader.line_num)
    except csv.Error as exc:
        raise DataFileError(f"{name}, line {line + reader.line_num}: {exc}") from None
    return rows, numbers, None


def _csv_blocks(
    name: str, blocks: Iterator[tuple], width: int, features: tuple, label: tuple
) -> np.ndarray:
    """The features of all blocks of :func:`_csv_rows` as one matrix; their labels added."""
    label_at, labels = label
    found = []
    for rows, lines, X in blocks:
        if X is None:
            found.append(_csv_block(name, (rows, lines), width, features, label))
            continue
        if labels is not None:  # rows are simple lines: split at the commas
            fields = map(operator.methodcaller("split", ","), rows)
            labels.add_all(list(map(operator.itemgetter(label_at), fields)), lines)
        found.append(X)
    return np.concatenate(found) if found else np.zeros((0, len(features[1])))


def _csv_block(name: str, block: tuple, width: int, features: tuple, label: tuple) -> np.ndarray:
    """One block of :func:`_csv_rows`: field counts checked, labels added, features converted."""
    (rows, lines), (names, feature_at), (label_at, labels) = block, features, label
    if set(map(len, rows)) - {width}:
        i = next(i for i, row in enumerate(rows) if len(row) != width)
        raise DataFileError(
            f"{name}, line {lines[i]}: {len(rows[i])} fields, expected {width} "
            "(one per header column)"
        )
    if labels is not None:
        labels.add_all(list(map(operator.itemgetter(label_at), rows)), lines)
    if len(feature_at) == 1:  # itemgetter of one index returns the item, not a tuple
        cells = [[row[feature_at[0]]] for row in rows]
    elif feature_at:
        cells = list(map(operator.itemgetter(*feature_at), rows))
    else:
        cells = [()] * len(rows)
    return _csv_features(name, lines, cells, names)


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
            number(text, where)
    # Every cell is a finite number to float(), but NumPy refused one: convert as float() does.
    return np.array([[float(t) for t in row] for row in cells], dtype=np.float64)
