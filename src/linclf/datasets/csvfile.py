"""The CSV reader: a header row of column names, then one row per sample (docs/cli.md).

Blocks of simple lines (no quotes, no blank line, one field per column) are converted by
NumPy's ``loadtxt``; any other block by the csv module, the reference, which also names
the line and column of whatever is wrong. Memory: the float64 matrix twice, and a code
per label; never a Python string per cell (but one per row of an ID column). When pandas
is installed, a large file is read by ``pandas.read_csv`` instead
(:mod:`linclf.datasets.csvpandas`), which declines whatever the reference would treat
otherwise; the reference then reads the file, and words the error.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import math
import operator
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np

from .csvpandas import read_with_pandas
from .textfiles import (
    DataFileError,
    LabelCodes,
    column_list,
    number,
    opened,
)

__all__ = ["MISSING", "CsvTable", "is_missing", "read_csv", "read_csv_header", "read_csv_table"]
__all__ += ["sniff_separator"]

SEPARATORS = (",", ";", "\t", "|", " ")  # what sniffing chooses from, preferred first
# Cells read as missing values (stripped, any case); "-nan" and "+nan" are NaN to float().
MISSING = frozenset({"", "na", "n/a", "nan", "-nan", "+nan", "null", "none", "?"})


_TEXT_HINT = "; a column of text is no feature (the command line: --drop COL, or --id COL)"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def is_missing(text: str) -> bool:
    """Whether a cell's text is a missing value (see :data:`MISSING`)."""
    return text.strip().lower() in MISSING


def read_csv_header(path: str | os.PathLike, sep: str = ",") -> list[str]:
    """The column names of a CSV file (its first row, stripped); ``sep`` as in
    :func:`read_csv_table`.

    Raises
    ------
    DataFileError
        If the file is empty or not UTF-8 text.
    """
    sep = sniff_separator(path) if sep == "auto" else _checked_separator(sep)
    with opened(path) as fh:
        return _header(os.fspath(path), csv.reader(fh, delimiter=sep))


def _header(name: str, reader: Any) -> list[str]:
    try:
        header = next(reader, None)
    except csv.Error as exc:  # the reader over the raw lines is not opened()'s own
        raise DataFileError(f"{name}, line {reader.line_num}: {exc}") from None
    if header is None:
        raise DataFileError(f"{name} is empty: expected a header row of column names")
    return [column.strip() for column in header]


class CsvTable(NamedTuple):
    """What :func:`read_csv_table` read: ``X``, ``y`` (None without a target),
    ``feature_names``, ``target``, ``ids`` (the ID column's texts, dtype object, or None)
    ``sep``, the separator used (sniffed when ``sep="auto"``), and ``engine``, the reader
    that read the file (``"numpy"`` or ``"pandas"``)."""

    X: np.ndarray
    y: np.ndarray | None
    feature_names: list[str]
    target: str | None
    ids: np.ndarray | None
    sep: str
    engine: str


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

    See Also
    --------
    read_csv_table : the same, with other separators, an ID column, dropped columns and
        missing values.
    """
    table = read_csv_table(path, target, features=features)
    return table.X, table.y, table.feature_names, table.target


def read_csv_table(
    path: str | os.PathLike,
    target: str | None = None,
    *,
    features: list[str] | None = None,
    drop: Sequence[str] = (),
    id_column: str | None = None,
    sep: str = ",",
    missing: bool = False,
    engine: str = "auto",
    progress: Callable[[int], None] | None = None,
) -> CsvTable:
    """Read a CSV file (a header row, then one row per sample), choosing its columns.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    target : str or None
        The label column; None: the file has no labels.
    features : list of str or None
        The feature columns, in this order (others ignored); None: all columns but the
        target, the ID column and ``drop``.
    drop : sequence of str
        Columns that are no features (with ``features=None``).
    id_column : str or None
        A column of row identifiers, returned as text in ``ids``; never a feature.
    sep : str
        The field separator, one character, or ``"auto"``: :func:`sniff_separator`.
    missing : bool
        False: a missing value (a cell of :data:`MISSING`, such as ``""``, ``NA``, ``?``)
        is an error naming its line and column; True: it is NaN in ``X``.
    engine : {"auto", "numpy", "pandas"}
        ``"numpy"``: the reference reader; ``"pandas"``: ``pandas.read_csv`` when it is
        installed; ``"auto"``: pandas for files of at least 4 MB. pandas declines whatever
        the reference reads otherwise, so both give the same arrays and the same errors.
    progress : callable or None
        Called with the number of characters read, after each block.

    Returns
    -------
    CsvTable

    Raises
    ------
    DataFileError
        What :func:`read_csv` raises; also if ``drop`` or ``id_column`` is no column, or a
        feature is a missing value and ``missing`` is False.
    ValueError
        If ``sep`` or ``engine`` is none of the above.
    """
    name = os.fspath(path)
    if engine not in ("auto", "numpy", "pandas"):
        raise ValueError(f"engine must be 'auto', 'numpy' or 'pandas', got {engine!r}")
    sep = sniff_separator(path) if sep == "auto" else _checked_separator(sep)
    with opened(path) as fh:
        reader = csv.reader(fh, delimiter=sep)
        header = _header(name, reader)
        plan = _plan(name, header, sep, (target, features, drop, id_column), missing)
        plan.progress = progress
        found, used = None, "pandas"
        if engine != "numpy" and reader.line_num == 1:
            found = read_with_pandas(path, plan, always=engine == "pandas")
        if found is None:
            rows = _csv_rows(plan, fh, reader.line_num)
            found, used = (_csv_blocks(plan, rows), plan.labels, plan.ids), "numpy"
    X, labels, ids = found
    if not X.shape[0]:
        raise DataFileError(f"{name} has a header but no data rows")
    y = None if labels is None else labels.values()
    ids = None if plan.id_at is None else np.array(ids, dtype=object)
    return CsvTable(X, y, plan.features, target, ids, sep, used)


def _checked_separator(sep: str) -> str:
    if not isinstance(sep, str) or len(sep) != 1 or sep in '"\r\n':
        raise ValueError(
            f"sep must be one character (no quote or line break) or 'auto', got {sep!r}"
        )
    return sep


def sniff_separator(path: str | os.PathLike, size: int = 1 << 16) -> str:
    """The field separator of a CSV file, guessed from its first ``size`` characters.

    Of :data:`SEPARATORS` (``,`` ``;`` tab ``|`` space), the one that splits every
    non-blank line of the sample into the same number of fields, at least two; the most
    fields win, then the order above. ``","`` if none does (a file of one column).

    Raises
    ------
    DataFileError
        If the file is not UTF-8 text.
    """
    with opened(path) as fh:
        sample = fh.read(size)
        lines = sample.splitlines(keepends=True)
        if len(lines) > 1 and fh.read(1):  # the last line may be cut short: leave it out
            lines.pop()
    best, fields = ",", 1
    for sep in SEPARATORS:
        try:
            widths = {len(row) for row in csv.reader(lines, delimiter=sep) if row}
        except csv.Error:
            continue
        if len(widths) == 1 and (width := widths.pop()) > fields:
            best, fields = sep, width
    return best


@dataclasses.dataclass
class _Plan:
    """The columns to read and where they are; what the blocks collect (labels, IDs)."""

    name: str
    width: int
    sep: str
    features: list[str]
    feature_at: list[int]
    label_at: int | None
    id_at: int | None
    missing: bool
    labels: LabelCodes | None
    target: str | None
    ids: list[str] = dataclasses.field(default_factory=list)
    progress: Callable[[int], None] | None = None


def _plan(name: str, header: list[str], sep: str, columns: tuple, missing: bool) -> _Plan:
    """The feature columns, their positions, the target's and the ID's; every column must
    be named once, and each column named by the caller must exist."""
    target, features, drop, id_column = columns
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
    for what, column in [("column", target), ("ID column", id_column)]:
        if column is not None and column not in position:
            raise DataFileError(
                f"{name} has no {what} {column!r}; its columns are {column_list(header)}"
            )
    unknown = [c for c in drop if c not in position]
    if unknown:
        raise DataFileError(
            f"{name} has no column(s) {column_list(unknown)} to drop; its columns are "
            f"{column_list(header)}"
        )
    if target is not None and (target == id_column or target in drop):
        role = "the ID column" if target == id_column else "dropped"
        raise DataFileError(f"{name}: the target column {target!r} cannot also be {role}")
    if features is None:
        features = [c for c in header if c not in {target, id_column, *drop}]
    absent = [c for c in features if c not in position]
    if absent:
        raise DataFileError(
            f"{name} lacks the feature column(s) {column_list(absent)}; "
            f"its columns are {column_list(header)}"
        )
    label_at = None if target is None else position[target]
    id_at = None if id_column is None else position[id_column]
    labels = None if target is None else LabelCodes(name, target)
    at = [position[c] for c in features]
    columns = list(features), at, label_at, id_at
    return _Plan(name, len(header), sep, *columns, missing, labels, target)


_BLOCK_CHARS = 1 << 18  # CSV text parsed at once: the text of a block is freed after it


def _csv_rows(plan: _Plan, fh: Any, line: int) -> Iterator[tuple]:
    """The data rows in blocks of whole records: ``(rows, lines, X)``, X their features
    as float64 when the fast parser vouches for the block (else None, and ``rows`` the
    fields of each non-blank row from the csv module); ``lines``: their line numbers.

    The fast parser takes a block without quotes or blank lines, with ``width - 1``
    separators a line, to NumPy's ``loadtxt``; anything else, or a cell it cannot convert,
    goes through the csv module, which is the reference and names what is wrong where.
    """
    while lines := fh.readlines(_BLOCK_CHARS):
        while "".join(lines).count('"') % 2 and (more := fh.readline()):
            lines.append(more)  # a quoted field goes on: read to the end of its record
        X = _fast_features(lines, plan)
        if X is not None:
            yield lines, range(line + 1, line + 1 + len(lines)), X
        else:
            yield _slow_rows(plan, lines, line)
        line += len(lines)
        if plan.progress is not None:
            plan.progress(sum(map(len, lines)))


def _fast_features(lines: list[str], plan: _Plan) -> np.ndarray | None:
    """The features of a block of simple lines by ``numpy.loadtxt``, or None to decline."""
    if '"' in "".join(lines) or not all(map(str.strip, lines)):
        return None
    if set(map(operator.methodcaller("count", plan.sep), lines)) != {plan.width - 1}:
        return None
    if not plan.feature_at:
        return np.zeros((len(lines), 0))
    try:
        X = np.loadtxt(
            lines,
            delimiter=plan.sep,
            usecols=plan.feature_at,
            dtype=np.float64,
            comments=None,
            quotechar=None,
            ndmin=2,
            encoding=None,
        )
    except ValueError:
        return None
    return X if np.all(np.isfinite(X)) else None


def _slow_rows(plan: _Plan, lines: list[str], line: int) -> tuple:
    """A block's non-blank rows by the csv module, and their line numbers."""
    reader, rows, numbers = csv.reader(lines, delimiter=plan.sep), [], []
    try:
        for row in reader:
            if row:
                rows.append(row)
                numbers.append(line + reader.line_num)
    except csv.Error as exc:
        raise DataFileError(f"{plan.name}, line {line + reader.line_num}: {exc}") from None
    return rows, numbers, None


def _csv_blocks(plan: _Plan, blocks: Iterator[tuple]) -> np.ndarray:
    """The features of all blocks of :func:`_csv_rows` as one matrix; labels, IDs added."""
    found = []
    for rows, lines, X in blocks:
        if X is None:
            found.append(_csv_block(plan, rows, lines))
            continue
        _add_labels_and_ids(plan, lambda at, rows=rows: _fields(rows, at, plan), lines)
        found.append(X)
    return np.concatenate(found) if found else np.zeros((0, len(plan.features)))


def _add_labels_and_ids(plan: _Plan, column: Callable[[int], list[str]], lines: Any) -> None:
    """Collect a block's labels and IDs; ``column(j)``: the texts of its column ``j``."""
    if plan.labels is not None:
        plan.labels.add_all(column(plan.label_at), lines)
    if plan.id_at is not None:
        plan.ids.extend(text.strip() for text in column(plan.id_at))


def _fields(lines: list[str], at: int, plan: _Plan) -> list[str]:
    """Field ``at`` of simple lines (``width - 1`` separators each), split from the nearer end
    and no further than that field."""
    if at <= (plan.width - 1) // 2:
        return [line.split(plan.sep, at + 1)[at] for line in lines]
    return [line.rsplit(plan.sep, plan.width - at)[1] for line in lines]


def _csv_block(plan: _Plan, rows: list[list[str]], lines: list[int]) -> np.ndarray:
    """One block of :func:`_csv_rows`: field counts checked, labels added, features converted."""
    if set(map(len, rows)) - {plan.width}:
        i = next(i for i, row in enumerate(rows) if len(row) != plan.width)
        raise DataFileError(
            f"{plan.name}, line {lines[i]}: {len(rows[i])} fields, expected {plan.width} "
            "(one per header column)"
        )
    _add_labels_and_ids(plan, lambda at: list(map(operator.itemgetter(at), rows)), lines)
    feature_at = plan.feature_at
    if len(feature_at) == 1:  # itemgetter of one index returns the item, not a tuple
        cells = [[row[feature_at[0]]] for row in rows]
    elif feature_at:
        cells = list(map(operator.itemgetter(*feature_at), rows))
    else:
        cells = [()] * len(rows)
    return _csv_features(plan, lines, cells)


def _csv_features(plan: _Plan, lines: list[int], cells: list) -> np.ndarray:
    """The cells as a float64 matrix (missing values NaN when ``plan.missing``); the first
    cell that is no finite number (nor an allowed missing value) is named."""
    if plan.missing:
        cells = [[math.nan if is_missing(text) else text for text in row] for row in cells]
    try:
        X = np.array(cells, dtype=np.float64).reshape(len(cells), len(plan.features))
        if not np.any(np.isinf(X) if plan.missing else ~np.isfinite(X)):
            return X
    except ValueError:
        pass  # find the first bad cell below, to name it
    for line, row in zip(lines, cells, strict=True):
        for column, text in zip(plan.features, row, strict=True):
            if not isinstance(text, str):
                continue  # a missing value, allowed
            where = f"{plan.name}, line {line}, column {column!r}:"
            if is_missing(text):
                shown = repr(text.strip()) if text.strip() else "empty value"
                raise DataFileError(
                    f"{where} missing value ({shown}); features must be numbers (the "
                    "command line imputes missing values with --missing)"
                )
            try:
                number(text, where)
            except DataFileError as exc:
                hint = "" if _is_number(text) else _TEXT_HINT
                if _is_number(text.replace(",", ".", 1)) and plan.sep != ",":
                    hint = "; decimal commas are not read: write decimal points"
                raise DataFileError(f"{exc}{hint}") from None
    # Every cell is a finite number to float(), but NumPy refused one: convert as float() does.
    return np.array([[float(t) for t in row] for row in cells], dtype=np.float64)
