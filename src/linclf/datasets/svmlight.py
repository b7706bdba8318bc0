"""The svmlight / libsvm reader: ``LABEL INDEX:VALUE ...`` lines into a CSR matrix.

Blocks of lines go to the vectorized parser of :mod:`linclf.datasets.svmlight_block`; a
block it declines, or whose numbers break a rule, goes to the line parser here, the
reference, which names the line and what is wrong. The largest index is bounded by the
read budget unless ``n_features`` states the width.
"""

from __future__ import annotations

import array
import io
import os
from typing import Any

import numpy as np

from .._formats.untrusted import (
    describe_bytes,
    read_budget,
)
from .svmlight_block import Block, parse_block
from .textfiles import (
    DataFileError,
    line_blocks,
    number,
    open_data,
)

__all__ = ["read_svmlight"]

# Bytes parsed at once: a block the vectorized parser declines is parsed again line by line,
# and small blocks keep that cheap.
_BLOCK_BYTES = 1 << 18


def read_svmlight(
    path: str | os.PathLike,
    n_features: int | None = None,
    *,
    zero_based: bool | str = "auto",
    max_bytes: int | None = None,
) -> tuple[Any, np.ndarray]:
    """Read an svmlight / libsvm text file into a CSR matrix and its labels.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    n_features : int or None
        Number of columns of ``X``; None: the largest index in the file, which must leave
        the smallest model trained on it (2 classes of float64 weights, 16 bytes a column)
        within the read budget.
    zero_based : bool or "auto", default "auto"
        Whether feature indices start at 0 (scikit-learn's ``dump_svmlight_file`` writes
        them so by default) or at 1 (libsvm's convention); ``"auto"``: 0-based when some
        index is 0, as scikit-learn's reader decides.
    max_bytes : int or None
        The read budget; None: ``max(64 MiB, 16 × the file's size)``.

    Returns
    -------
    X, y : float64 CSR matrix of shape (n_samples, n_features), ndarray of shape (n_samples,)
        Sorted indices, written zeros stored; ``y`` int64 if all whole numbers, else float64.

    Raises
    ------
    DataFileError
        If a label or value is not finite, a pair is not ``INDEX:VALUE``, an index is
        negative (or 0 with ``zero_based=False``), repeated, beyond ``n_features`` or the
        budget, or the file holds no sample.
    """
    if not (zero_based == "auto" or isinstance(zero_based, bool)):
        raise ValueError(f"zero_based must be True, False or 'auto', got {zero_based!r}")
    import scipy.sparse  # only for this format: `import linclf` stays free of it

    name, blocks, line_no = os.fspath(path), [], 0
    with open_data(path) as fh:
        limit = n_features
        if limit is None:
            limit = read_budget(os.fstat(fh.fileno()).st_size, max_bytes) // 16
        for text in line_blocks(fh, _BLOCK_BYTES):
            block, lines = _svmlight_block(name, text, line_no, (limit, n_features))
            blocks.append(block)
            line_no += lines
    labels = np.concatenate([b.labels for b in blocks])
    if not labels.size:
        raise DataFileError(f"{name} holds no sample (no line with a label)")
    columns = _columns(name, blocks, zero_based, n_features)
    width = n_features if n_features is not None else int(columns.max(initial=-1)) + 1
    rows = np.r_[0, np.cumsum(np.concatenate([b.counts for b in blocks]))].astype(np.int64)
    data = np.concatenate([b.values for b in blocks])
    X = scipy.sparse.csr_matrix((data, columns, rows), shape=(labels.size, width))
    X.sort_indices()
    if np.all(labels == np.round(labels)) and np.all(np.abs(labels) < 2.0**53):
        return X, labels.astype(np.int64)
    return X, labels


def _columns(name: str, blocks: list[Block], zero_based: Any, n_features: Any) -> np.ndarray:
    """The 0-based columns of the file's indices, 0- or 1-based as ``zero_based`` says."""
    indices = np.concatenate([b.indices for b in blocks])
    lowest = int(indices.min()) if indices.size else 1
    zero = lowest == 0 if zero_based == "auto" else zero_based
    if not zero and lowest == 0:
        ends = np.cumsum(np.concatenate([b.counts for b in blocks]))
        sample = int(np.searchsorted(ends, int(np.argmin(indices)), side="right")) + 1
        raise DataFileError(
            f"{name}, sample {sample}: feature index 0, and zero_based=False reads indices "
            "as 1-based (1, 2, ...)"
        )
    if zero and n_features is not None and indices.size and int(indices.max()) >= n_features:
        raise DataFileError(
            f"{name}: feature index {int(indices.max())} is beyond the {n_features} features "
            f"expected (the file's indices are 0-based: 0 to {n_features - 1})"
        )
    return indices if zero else indices - 1


def _svmlight_block(name: str, text: bytes, first: int, limits: tuple) -> tuple[Block, int]:
    """A block's samples and its number of lines: vectorized, or by the exact line parser
    when the vectorized one declines or finds a problem (which the line parser words)."""
    block = parse_block(text)
    if block is not None and _vouched(block, limits[0]):
        return block, text.count(b"\n") + (not text.endswith(b"\n"))
    return _svmlight_lines(name, text, first, limits)


def _vouched(block: Block, limit: int) -> bool:
    """Whether the vectorized parse is a valid one: finite numbers, indices in [0, limit]
    and none repeated in a line (which the line parser would have refused)."""
    if not (np.all(np.isfinite(block.labels)) and np.all(np.isfinite(block.values))):
        return False
    if block.indices.size and (block.indices.min() < 0 or block.indices.max() > limit):
        return False
    row = np.repeat(np.arange(block.counts.size), block.counts)
    order = np.lexsort((block.indices, row))
    same = (np.diff(row[order]) == 0) & (np.diff(block.indices[order]) == 0)
    return not np.any(same)


def _svmlight_lines(name: str, text: bytes, first: int, limits: tuple) -> tuple[Block, int]:
    """The exact line parser: the reference, and the one that says what is wrong where."""
    labels, counts = array.array("d"), array.array("q")
    indices, values = array.array("q"), array.array("d")
    try:
        lines = io.TextIOWrapper(io.BytesIO(text), encoding="utf-8", newline="").readlines()
    except UnicodeDecodeError as exc:
        raise DataFileError(
            f"{name} is not UTF-8 text (byte {exc.start} of a block of lines cannot be "
            "decoded); is it a binary file?"
        ) from None
    for line_no, line in enumerate(lines, start=first + 1):
        fields = line.split("#", 1)[0].split()
        if fields:
            where = f"{name}, line {line_no}"
            labels.append(number(fields[0], f"{where}: label"))
            before = len(indices)
            _svmlight_pairs(fields[1:], where, limits, indices, values)
            counts.append(len(indices) - before)
    ints = np.frombuffer(indices, dtype=np.int64)  # as written, as the fast parser's
    block = Block(
        np.frombuffer(labels), np.frombuffer(counts, np.int64), ints, np.frombuffer(values)
    )
    return block, len(lines)


def _svmlight_pairs(
    pairs: list[str], where: str, limits: tuple, indices: array.array, values: array.array
) -> None:
    """Append the indices (as written) and the values of one line's ``INDEX:VALUE`` pairs;
    ``limits``: the largest index allowed, and ``n_features`` (None: the budget set it)."""
    start = len(indices)
    limit, n_features = limits
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
        if index < 0:
            raise DataFileError(f"{where}: feature index {index} is negative")
        if index > limit:
            raise DataFileError(_beyond(where, index, limit, n_features))
        indices.append(index)
        values.append(number(text, f"{where}: value of feature {index}"))
    if len(set(indices[start:])) != len(indices) - start:
        raise DataFileError(f"{where}: a feature index is repeated")


def _beyond(where: str, index: int, limit: int, n_features: int | None) -> str:
    if n_features is not None:
        return f"{where}: feature index {index} is beyond the {n_features} features expected"
    return (
        f"{where}: feature index {index} implies a model of at least {index} columns "
        f"({describe_bytes(16 * index)} for 2 classes in float64), beyond the "
        f"{limit} columns this file's read budget allows; if the width is intended, give "
        "it (n_features=..., or --n-features on the command line)"
    )
