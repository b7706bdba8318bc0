"""What the data-file readers share: the error they raise, opening a file (a regular one,
see :func:`linclf._formats.untrusted.open_regular`), numbers and labels from text, and
labels kept compact (a code per row, each distinct text once).
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import itertools
import os
from collections.abc import Iterator
from typing import IO, Any

import numpy as np

from .._formats.untrusted import (
    open_regular,
    read_budget,
)

__all__ = [
    "DataFileError",
    "LabelCodes",
    "column_list",
    "label_values",
    "labels_from_text",
    "line_blocks",
    "number",
    "open_data",
    "opened",
]


class DataFileError(ValueError):
    """A data file cannot be read as the format it claims: the message says where and why."""


def open_data(path: str | os.PathLike) -> Any:
    """``path`` opened in binary mode if it is a regular file, else one DataFileError (a FIFO
    would block the reader forever, a device such as /dev/zero never end)."""
    try:
        return open_regular(path, "a data file")
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise
        raise DataFileError(f"{os.fspath(path)}: {exc.strerror}") from None


@contextlib.contextmanager
def opened(path: str | os.PathLike) -> Iterator[Any]:
    """The lines of a UTF-8 text file, its errors as DataFileError."""
    # utf-8-sig drops a spreadsheet's byte-order mark; csv needs newline="" for quoted breaks.
    raw = open_data(path)
    with io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as fh:
        try:
            yield fh
        except UnicodeDecodeError as exc:
            raise DataFileError(
                f"{os.fspath(path)} is not UTF-8 text (byte {exc.start} of a line cannot be "
                "decoded); is it a binary file?"
            ) from None
        except csv.Error as exc:
            raise DataFileError(f"{os.fspath(path)}: {exc}") from None


def labels_from_text(values: list[str]) -> np.ndarray:
    """int64, else finite float64, else the strings themselves (see the module docstring)."""
    with contextlib.suppress(ValueError, OverflowError):
        return np.array([int(v) for v in values], dtype=np.int64)
    with contextlib.suppress(ValueError):
        floats = np.array([float(v) for v in values], dtype=np.float64)
        if np.all(np.isfinite(floats)):  # "nan" or "inf" is no class to compute with: text
            return floats
    return np.array(values, dtype=str)


def number(text: str, where: str) -> float:
    """``float(text)`` if finite, else a DataFileError starting with ``where``."""
    try:
        value = float(text)
    except ValueError:
        raise DataFileError(f"{where} {text.strip()!r} is not a number") from None
    if not np.isfinite(value):
        raise DataFileError(f"{where} {text.strip()!r} is not a finite number")
    return value


def column_list(names: list[str], limit: int = 20) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


class LabelCodes:
    """The labels of a CSV, kept compact: each distinct text once, a code per row."""

    def __init__(self, name: str, target: str | None = None) -> None:
        column = "" if target is None else f", column {target!r}"
        self.where, self.code, self.codes = f"{name}, line {{}}{column}", {}, []
        self.text_size = 0  # characters of all labels: what one string array may cost

    def add_all(self, texts: list[str], lines: list[int]) -> None:
        """Add a block's labels (stripped here); ``lines``: their line numbers."""
        # Each row's code is the row of its text's first occurrence (dict.setdefault in C),
        # then numbered densely; each distinct text is stripped once.
        first: dict[str, int] = {}
        seen = map(first.setdefault, texts, itertools.count())
        firsts, codes = np.unique(np.fromiter(seen, np.int64, len(texts)), return_inverse=True)
        stripped = [texts[i].strip() for i in firsts]
        if not all(stripped):
            row = int(np.argmax(~np.array(list(map(bool, stripped)))[codes]))
            raise DataFileError(f"{self.where.format(lines[row])}: the label is empty")
        to_code = np.array([self.code.setdefault(t, len(self.code)) for t in stripped])
        self.codes.append(to_code[codes])
        self.text_size += sum(map(len, texts))

    def values(self) -> np.ndarray:
        """The labels, converted by :func:`label_values`."""
        codes = np.concatenate(self.codes) if self.codes else np.zeros(0, np.intp)
        return label_values(list(self.code), codes, self.text_size)


def label_values(distinct: list[str], codes: np.ndarray, text_size: int) -> np.ndarray:
    """``distinct[codes]`` as :func:`labels_from_text` converts them; strings that one
    string array of this many rows would hold past the read budget of their ``text_size``
    characters (a few long labels among many short ones) stay Python strings (dtype object)."""
    converted = labels_from_text(distinct)
    if converted.dtype.kind == "U" and converted.itemsize * codes.size > read_budget(4 * text_size):
        converted = np.array(distinct, dtype=object)
    return converted[codes]


def line_blocks(fh: IO[bytes], size: int = 1 << 18) -> Iterator[bytes]:
    """The file's bytes in blocks of about ``size`` bytes of whole lines (a byte-order
    mark dropped); a line longer than ``size`` is one block of its own."""
    rest = fh.read(3)
    if rest == b"\xef\xbb\xbf":
        rest = b""
    while True:
        chunk = fh.read(size)
        if not chunk:
            break
        text = rest + chunk
        end = text.rfind(b"\n") + 1
        if end:
            yield text[:end]
        rest = text[end:]
    if rest:
        yield rest
