"""The fast path of the CSV reader: ``pandas.read_csv``, when pandas is installed.

It reads only files that both readers split alike, and only what both convert alike,
declining (None) anything else, so that the reference reader of
:mod:`linclf.datasets.csvfile` reads the file and words the error. A byte scan first
checks that the data lines hold no quote, NUL or lone carriage return, and that they hold
``width - 1`` separators each on average; pandas then reads with blank lines kept, and a
row with fewer fields (which an average hides behind a longer one) shows as an empty last
column, which declines. Within such files a field is the text between two separators for
pandas as for the csv module; a cell pandas cannot convert, a non-finite feature, an
empty label or an empty last field declines. pandas infers the type of each chunk of a
feature column (faster than stating float64): integers and floats are read, anything else
(text, or ``true`` / ``false``, which it reads as booleans) declines. An integer column's
``-0`` is 0.0, not -0.0 (the two compare equal).
"""

from __future__ import annotations

import csv
import os
import warnings
from typing import Any

import numpy as np

from .textfiles import (
    DataFileError,
    LabelCodes,
    open_data,
)

__all__ = ["CELLS_PER_CHUNK", "MIN_SIZE", "read_with_pandas"]

MIN_SIZE = 4 << 20  # bytes from which "auto" uses pandas: below, its import costs more
_SCAN = 1 << 22  # bytes counted at once
CELLS_PER_CHUNK = 1 << 23  # cells pandas converts at once (64 MB of float64; fewer: slower)
# The missing values pandas converts to NaN (keep_default_na=False: these only); all of
# them are csvfile.MISSING, and any other spelling of those declines, as pandas refuses it.
_NA = ["", "NA", "na", "N/A", "n/a", "nan", "NaN", "NAN", "null", "NULL", "None", "none", "?"]


def read_with_pandas(path: str | os.PathLike, plan: Any, *, always: bool = False) -> Any:
    """``(X, labels, ids)`` as the reference reader returns them for ``plan``, or None.

    Parameters
    ----------
    path : str or os.PathLike
        The file, whose header (one line) the caller has read into ``plan``.
    plan : object
        The reference reader's plan: ``sep``, ``width``, ``feature_at``, ``label_at``,
        ``id_at``, ``missing``, ``name``, ``target``, ``progress``.
    always : bool
        Read files smaller than :data:`MIN_SIZE` too.

    Returns
    -------
    tuple or None
        None when pandas is not installed, the file is small, or it declines.
    """
    if plan.width < 2 or len(plan.sep.encode("utf-8")) != 1:
        return None
    try:
        import pandas
    except ImportError:
        return None
    with open_data(path) as fh:
        if os.fstat(fh.fileno()).st_size < MIN_SIZE and not always:
            return None
        if not _simple(fh, plan.sep.encode("utf-8"), plan.width):
            return None
        fh.seek(0)
        refused = (ValueError, TypeError, OverflowError, DataFileError, Warning)
        try:
            with warnings.catch_warnings():
                # A ParserWarning: a row longer than the header (dropped fields); decline.
                warnings.simplefilter("error", pandas.errors.ParserWarning)
                return _read_frames(pandas, fh, plan)
        except refused:
            # pandas' ParserError and UnicodeDecodeError are ValueErrors; a DataFileError
            # (an empty label) is worded by the reference, which also finds earlier errors.
            return None


def _simple(fh: Any, sep: bytes, width: int) -> bool:
    """Whether the data lines hold no quote, NUL or lone carriage return, and on average
    ``width - 1`` separators a line (blank lines count as lines)."""
    header = fh.readline()
    if header.count(b"\r") > header.endswith(b"\r\n"):
        return False  # a carriage return ends lines for pandas, not for this count
    lines = separators = 0
    carry = tail = b""  # a carriage return at the end of a chunk; the last bytes so far
    while chunk := fh.read(_SCAN):
        text = carry + chunk
        carry = b"\r" if text.endswith(b"\r") else b""  # it may start the next \r\n
        body = text[: len(text) - len(carry)]
        if b'"' in body or b"\x00" in body:
            return False
        if b"\r" in body and body.count(b"\r") != body.count(b"\r\n"):
            return False
        codes = np.frombuffer(body, np.uint8)  # counting by NumPy: 9 times bytes.count's speed
        lines += int(np.count_nonzero(codes == ord("\n")))
        separators += int(np.count_nonzero(codes == sep[0]))
        tail = (tail + body)[-4:]
    if carry:
        return False
    lines += not tail.endswith(b"\n") and tail != b""  # the last line has no line break
    return lines > 0 and separators == (width - 1) * lines


def _read_frames(pandas: Any, fh: Any, plan: Any) -> tuple:
    """Read ``fh`` in chunks of rows; see the module docstring for what declines."""
    last = plan.width - 1
    columns = sorted({*plan.feature_at, last} | {plan.label_at, plan.id_at} - {None})
    features = set(plan.feature_at)
    reader = pandas.read_csv(
        fh,
        sep=plan.sep,
        header=None,
        skiprows=1,
        names=list(range(plan.width)),
        usecols=columns if len(columns) < plan.width else None,  # None: faster
        dtype={j: object for j in columns if j not in features},  # features: inferred
        na_filter=plan.missing,  # off: an empty or NA cell is no number, and declines
        keep_default_na=False,
        na_values={j: _NA for j in features} if plan.missing else None,
        skip_blank_lines=False,
        index_col=False,
        quoting=csv.QUOTE_NONE,
        encoding="utf-8",
        engine="c",
        chunksize=max(1, CELLS_PER_CHUNK // len(columns)),
    )
    blocks, labels, ids, line, done = [], None, [], 2, 0
    if plan.label_at is not None:
        labels = LabelCodes(plan.name, plan.target)
    with reader:
        for frame in reader:
            if not all(frame[j].dtype.kind in "iuf" for j in plan.feature_at):
                return None  # text, or true / false (which pandas reads as booleans)
            X = np.ascontiguousarray(frame[plan.feature_at].to_numpy(np.float64))
            if not _acceptable(X, frame, plan, last):
                return None
            rows = range(line, line + len(frame))
            if labels is not None:
                labels.add_all(frame[plan.label_at].tolist(), rows)
            if plan.id_at is not None:
                ids.extend(text.strip() for text in frame[plan.id_at].tolist())
            blocks.append(X)
            line += len(frame)
            if plan.progress is not None:
                position = fh.tell()
                plan.progress(position - done)
                done = position
    X = np.concatenate(blocks) if blocks else np.zeros((0, len(plan.feature_at)))
    return X, labels, ids


def _acceptable(X: np.ndarray, frame: Any, plan: Any, last: int) -> bool:
    """No infinite feature, no NaN unless missing values are allowed (and none in the last
    column, where a short row shows), no empty field in a last column of text."""
    bad = np.isinf(X) if plan.missing else ~np.isfinite(X)
    if bad.any():
        return False
    if last in plan.feature_at:
        return not (plan.missing and np.isnan(frame[last].to_numpy(np.float64)).any())
    return all(map(str.strip, frame[last].tolist()))
