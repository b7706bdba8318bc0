"""linclf's safe file container: NumPy arrays plus a JSON document, written atomically.

A model (or checkpoint) file is an ordinary ``.npz`` archive. Every array is stored under
its name; the JSON document (format version, package version, a SHA-256 checksum of every
array, and whatever metadata the caller passes) is stored as the UTF-8 bytes of a
``uint8`` array named ``__linclf__``. Reading uses ``np.load(..., allow_pickle=False)``,
so nothing in a file can execute code: an object array (the only way an ``.npz`` carries
a pickle) is refused, as is a file from a newer format version, a truncated or corrupted
file (zip CRC, checksum), or a file that is not a linclf file at all.

Writes go to a temporary file in the target's folder, are flushed to disk, then renamed
over the target (``os.replace``, atomic on POSIX and Windows): a crash leaves the old file
or no file, never half a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
import zipfile
from typing import Any

import numpy as np

from ._version import __version__
from .exceptions import ModelFileError

__all__ = ["FORMAT_VERSION", "read_model", "write_model"]

FORMAT_VERSION = 1
_META_KEY = "__linclf__"


def _digest(array: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(f"{array.dtype.str}{array.shape}".encode())
    h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()


def write_model(
    path: str | os.PathLike, meta: dict[str, Any], arrays: dict[str, np.ndarray]
) -> None:
    """Write ``arrays`` and the JSON-serializable ``meta`` to ``path``, atomically.

    Raises
    ------
    TypeError
        If an array has dtype object (it could only be stored as a pickle) or ``meta``
        is not JSON-serializable.
    """
    arrays = {name: np.asarray(value) for name, value in arrays.items()}
    for name, array in arrays.items():
        if array.dtype.hasobject:
            raise TypeError(f"array {name!r} has dtype object, which would need pickle")
    document = {
        "format": "linclf-model",
        "format_version": FORMAT_VERSION,
        "linclf_version": __version__,
        "checksums": {name: _digest(array) for name, array in arrays.items()},
        "meta": meta,
    }
    try:
        encoded = json.dumps(document, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise TypeError(f"model metadata is not JSON-serializable: {exc}") from exc
    payload = {**arrays, _META_KEY: np.frombuffer(encoded, dtype=np.uint8)}

    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".linclf-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_model(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read a file written by :func:`write_model`; return ``(meta, arrays)``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ModelFileError
        (a ``ValueError``) if the file is not a linclf file, is truncated or corrupted,
        holds an object array, or comes from a newer format version.
    """
    path = os.fspath(path)
    with open(path, "rb") as fh:
        raw = fh.read()
    try:
        archive = np.load(io.BytesIO(raw), allow_pickle=False)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ModelFileError(
            f"{path} is not a linclf model file (or it is truncated): {exc}"
        ) from exc
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ModelFileError(f"{path} is not a linclf model file: it holds a single array")
    with archive:
        if _META_KEY not in archive.files:
            raise ModelFileError(f"{path} is not a linclf model file: no {_META_KEY} record")
        arrays = {}
        try:
            for name in archive.files:
                arrays[name] = archive[name]
        except ValueError as exc:  # "Object arrays cannot be loaded when allow_pickle=False"
            raise ModelFileError(
                f"{path} holds an array that needs pickle to load ({name!r}); linclf model "
                "files never do, and pickles are not loaded because they can run code"
            ) from exc
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise ModelFileError(f"{path} is truncated or corrupted: {exc}") from exc
    try:
        document = json.loads(arrays.pop(_META_KEY).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path} has an unreadable {_META_KEY} record: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != "linclf-model":
        raise ModelFileError(f"{path} is not a linclf model file")
    version = document.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has format version {version!r}, newer than this linclf "
            f"({document.get('linclf_version')!r} wrote it; this reader knows up to "
            f"{FORMAT_VERSION}): upgrade linclf to read it"
        )
    checksums = document.get("checksums", {})
    if set(checksums) != set(arrays):
        raise ModelFileError(
            f"{path} is corrupted: its arrays {sorted(arrays)} do not match its record "
            f"{sorted(checksums)}"
        )
    for name, array in arrays.items():
        if _digest(array) != checksums[name]:
            raise ModelFileError(f"{path} is corrupted: array {name!r} fails its checksum")
    return document["meta"], arrays
