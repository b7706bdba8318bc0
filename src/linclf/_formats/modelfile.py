"""The linclf model file (see docs/reliability.md): NumPy arrays plus a JSON document.

One format for ``save`` / :func:`linclf.persistence.load` and the Trainer's checkpoints. An
uncompressed ``.npz`` with one ``.npy`` member per array and a UTF-8 JSON record
``__linclf__`` (format name and version, writer's version, SHA-256 of every array, ``meta``).
What a saved estimator stores (arrays, ``meta`` keys) is checked in :mod:`linclf.persistence`.

Reading unpickles nothing and checks every ``.npy`` header and size first (no zip bomb);
damage (CRC, SHA-256), a foreign file or a newer version raises :class:`ModelFileError`.
Writes are atomic: temporary file, fsync, ``os.replace``, folder sync.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import json
import math
import os
import secrets
import stat
import struct
import zipfile
from collections.abc import Callable, Mapping
from typing import IO, Any

import numpy as np

from .._version import __version__
from ..exceptions import ModelFileError
from .untrusted import (
    ArchiveError,
    Member,
    archive_members,
    open_regular,
    read_budget,
    read_member,
)

__all__ = [
    "FORMAT_VERSION",
    "ModelFile",
    "join_arrays",
    "json_float",
    "json_safe",
    "read_model",
    "read_model_file",
    "split_arrays",
    "write_atomically",
    "write_model",
]

FORMAT_NAME = "linclf-model"
FORMAT_VERSION = 1
_META_KEY = "__linclf__"
_SUFFIX = ".npy"
_ARRAY_KINDS = "biufcUSmM"  # what write_model stores: numbers, strings, times

# Errors of a damaged or crafted archive (NotImplementedError is a RuntimeError).
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, struct.error)
_DAMAGE = (*_ZIP_ERRORS, EOFError, OSError, ValueError, OverflowError, RuntimeError)
_NON_FINITE = ("inf", "-inf", "nan")  # how json_safe spells the floats JSON cannot hold


def json_safe(value: Any) -> Any:
    """A JSON-ready copy of ``value``: tuples as lists, NumPy values as Python ones,
    non-finite floats as ``'inf'``, ``'-inf'``, ``'nan'``.

    Examples
    --------
    >>> json_safe({"best": float("inf"), "steps": (np.int64(3), np.float32(0.5))})
    {'best': 'inf', 'steps': [3, 0.5]}
    """
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, np.ndarray | np.generic):
        return json_safe(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # 'inf', '-inf', 'nan'
    return value


def json_float(value: Any) -> float:
    """A float :func:`json_safe` wrote; a string other than ``'inf'``, ``'-inf'``, ``'nan'``
    raises ``ValueError``.

    Examples
    --------
    >>> json_float("inf"), json_float(2)
    (inf, 2.0)
    """
    if isinstance(value, str) and value not in _NON_FINITE:
        raise ValueError(f"value must be a number or one of {_NON_FINITE}, got {value!r}")
    return float(value)


def split_arrays(state: Mapping[str, Any], prefix: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(scalars, arrays)``, the arrays of ``state`` keyed ``prefix.key``; see :func:`join_arrays`.

    Examples
    --------
    >>> split_arrays({"t": 3, "velocity.W": np.zeros(2)}, "optimizer")
    ({'t': 3}, {'optimizer.velocity.W': array([0., 0.])})
    """
    arrays = {f"{prefix}.{key}": v for key, v in state.items() if isinstance(v, np.ndarray)}
    return {key: v for key, v in state.items() if not isinstance(v, np.ndarray)}, arrays


def join_arrays(
    scalars: Mapping[str, Any], arrays: Mapping[str, Any], prefix: str
) -> dict[str, Any]:
    """The state :func:`split_arrays` split: ``scalars`` plus every ``prefix.`` array.

    Examples
    --------
    >>> join_arrays({"t": 3}, {"optimizer.v": np.ones(1), "W": np.zeros(1)}, "optimizer")
    {'t': 3, 'v': array([1.])}
    """
    start = f"{prefix}."
    return {**scalars, **{k[len(start) :]: v for k, v in arrays.items() if k.startswith(start)}}


def _not_ours(path: str, reason: str) -> ModelFileError:
    return ModelFileError(f"{path} is not a linclf model file: {reason}")


def _damaged(path: str, reason: str, how: str = "truncated or corrupted") -> ModelFileError:
    return ModelFileError(f"{path} is {how}: {reason}")


@dataclasses.dataclass(frozen=True)
class ModelFile:
    """The content of a model file: the caller's metadata, the arrays and the header."""

    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]
    format_version: int
    linclf_version: str | None


def _digest(array: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(f"{array.dtype.str}{array.shape}".encode())
    h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()


def _checked_arrays(arrays: dict[str, Any]) -> dict[str, np.ndarray]:
    checked = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not name or name == _META_KEY:
            raise ValueError(
                f"array names must be non-empty strings other than {_META_KEY!r}, got {name!r}"
            )
        array = np.asarray(value)
        if array.dtype.hasobject:
            raise TypeError(f"array {name!r} has dtype object, which would need pickle")
        if array.dtype.kind not in _ARRAY_KINDS or array.dtype.itemsize == 0:
            raise TypeError(
                f"array {name!r} has dtype {array.dtype}; a model file holds numbers, "
                "strings or times only"
            )
        checked[name] = array
    return checked


_TEMP_PREFIX = ".linclf-"  # temporaries are .linclf-<pid>-<random>.tmp


def _new_temp_file(folder: str) -> tuple[str, IO[bytes]]:
    """Create a fresh file in ``folder``; mode 0o666 lets the umask set its permissions."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(16):
        name = os.path.join(folder, f"{_TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(8)}.tmp")
        try:
            fd = os.open(name, flags, 0o666)
        except FileExistsError:
            continue
        except FileNotFoundError:
            raise FileNotFoundError(errno.ENOENT, "No folder to save in", folder) from None
        return name, os.fdopen(fd, "wb")
    raise FileExistsError(errno.EEXIST, "could not create a temporary file", folder)


def _remove_stale_temp_files(folder: str) -> None:
    """Delete the temporaries of writers that were killed: their process no longer runs."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            name = entry.name
            if not (name.startswith(_TEMP_PREFIX) and name.endswith(".tmp")):
                continue
            pid = name[len(_TEMP_PREFIX) :].split("-", 1)[0]
            if pid.isdigit() and int(pid) != os.getpid() and not _running(int(pid)):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists (one we may not signal exists too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, ValueError):
        return True
    return True


def write_atomically(
    path: str | os.PathLike,
    content: bytes | Callable[[IO[bytes]], None],
    *,
    mode_from: str | os.PathLike | None = None,
) -> None:
    """Write ``content`` (bytes, or a function writing to a binary file) to ``path`` atomically.

    A temporary file beside ``path`` is written, synced and renamed over ``path``, with the
    permission bits of the file it replaces (or of ``mode_from``, when that file was moved
    away first, as a rotation does); on any failure (a full disk, Ctrl-C) it is removed and
    ``path`` is as it was. Temporaries left by killed writers are removed first.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "Is a folder, cannot write a file over it", path)
    folder = os.path.dirname(os.path.abspath(path))
    _remove_stale_temp_files(folder)
    tmp, fh = _new_temp_file(folder)
    try:
        with fh:
            if callable(content):
                content(fh)
            else:
                fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileNotFoundError):
            old = path if mode_from is None else mode_from
            os.chmod(tmp, stat.S_IMODE(os.stat(old).st_mode))  # keep the old file's mode
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _sync_folder(folder)


def _sync_folder(folder: str) -> None:
    """Make the rename durable (POSIX); folders cannot be opened for syncing on Windows."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_model(
    path: str | os.PathLike,
    meta: dict[str, Any],
    arrays: dict[str, np.ndarray],
    *,
    mode_from: str | os.PathLike | None = None,
) -> None:
    """Write ``arrays`` (by name: numbers, strings or times) and ``meta`` to ``path``, atomically
    (:func:`write_atomically`, which ``mode_from`` is passed to).

    ``meta``: a JSON-ready dict (see :func:`json_safe`). Raises ``TypeError`` for an
    unsupported dtype or ``meta``, ``ValueError`` for an array name empty or ``"__linclf__"``,
    ``IsADirectoryError`` when ``path`` is a folder.
    """
    if not isinstance(meta, dict):
        raise TypeError(f"model metadata must be a dict, got {type(meta).__name__}")
    arrays = _checked_arrays(arrays)
    document = {
        "format": FORMAT_NAME,
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

    if os.path.isdir(os.fspath(path)):
        raise IsADirectoryError(errno.EISDIR, "Is a folder, cannot write a model over it", path)

    def write(fh: IO[bytes]) -> None:
        # Written member by member (not np.savez, whose keyword arguments would swallow
        # arrays named "file" or "allow_pickle"), uncompressed, never pickled.
        with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED) as archive:
            for name, array in payload.items():
                with archive.open(name + _SUFFIX, "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, array, allow_pickle=False)

    write_atomically(path, write, mode_from=mode_from)


def _not_a_model_file(path: str, head: bytes, exc: Exception) -> ModelFileError:
    if head.startswith(b"PK"):
        return ModelFileError(f"{path} is truncated or corrupted (a damaged zip archive): {exc}")
    if head.startswith(b"\x93NUMPY"):
        return _not_ours(path, "it is a single .npy array")
    return _not_ours(path, "it is empty" if not head else "it is not an .npz archive")


def _parse_document(path: str, record: np.ndarray) -> dict[str, Any]:
    if record.dtype != np.uint8 or record.ndim != 1:
        found = f"(dtype {record.dtype}, shape {record.shape})"
        raise _not_ours(path, f"its {_META_KEY} record is not a 1-D uint8 array {found}")

    def refuse_constant(constant: str) -> None:
        raise ValueError(f"{constant} is not allowed")

    try:
        document = json.loads(record.tobytes().decode("utf-8"), parse_constant=refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelFileError(f"{path} has an unreadable {_META_KEY} record: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise _not_ours(path, "its record is not linclf's")
    version, writer = document.get("format_version"), document.get("linclf_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _damaged(path, f"format version {version!r} is not valid", "corrupted")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has format version {version}, newer than this linclf ({__version__}, "
            f"which reads versions up to {FORMAT_VERSION}); it was written by linclf "
            f"{writer}: upgrade linclf to read it"
        )
    checksums = document.get("checksums")
    if not isinstance(checksums, dict) or not all(isinstance(v, str) for v in checksums.values()):
        raise _damaged(path, "its record has no valid checksums", "corrupted")
    if not isinstance(document.get("meta"), dict):
        raise _damaged(path, "its record has no metadata", "corrupted")
    if writer is not None and not isinstance(writer, str):
        raise _damaged(path, f"linclf version {writer!r} is not valid", "corrupted")
    return document


def read_model_file(path: str | os.PathLike) -> ModelFile:
    """Read a :func:`write_model` file: ``meta``, fresh ``arrays``, the writer's versions.

    The cost is bounded by the file's size (:mod:`linclf._formats.untrusted`). Raises
    ``FileNotFoundError`` / ``IsADirectoryError`` for a missing path or a folder, and
    :class:`ModelFileError` for a foreign, damaged, pickled, oversized or newer-version file.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "Is a folder, not a linclf model file", path)
    try:
        fh = open_regular(path, "a linclf model file")
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "No linclf model file at", path) from None
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise
        raise ModelFileError(f"{path}: {exc.strerror}") from None
    with fh:
        file_size = os.fstat(fh.fileno()).st_size
        head = fh.read(8)
        try:
            archive, members = archive_members(
                fh, file_size, budget=read_budget(file_size), compressed=False
            )
        except ArchiveError as exc:
            raise _archive_error(path, exc) from None
        except _DAMAGE as exc:
            raise _not_a_model_file(path, head, exc) from exc
        with archive:
            try:
                return _read_archive(path, archive, members)
            except ModelFileError:
                raise
            except ArchiveError as exc:
                raise _archive_error(path, exc) from None
            except _DAMAGE as exc:
                raise _damaged(path, str(exc)) from exc


def _archive_error(path: str, exc: ArchiveError) -> ModelFileError:
    if exc.kind == "foreign":
        return _not_ours(path, exc.reason)
    if exc.kind == "pickle":
        return ModelFileError(
            f"{path} holds an array that needs pickle to load ({exc.reason}); linclf model "
            "files never do"
        )
    if exc.kind == "budget":
        return ModelFileError(f"{path} is refused: {exc.reason}")
    return _damaged(path, exc.reason)


def _read_archive(path: str, archive: zipfile.ZipFile, members: dict[str, Member]) -> ModelFile:
    if _META_KEY not in members:
        raise _not_ours(path, f"no {_META_KEY} record")
    document = _parse_document(path, read_member(archive, members[_META_KEY]))
    checksums = document["checksums"]
    names = sorted(set(members) - {_META_KEY})
    if set(checksums) != set(names):
        raise _damaged(
            path, f"its arrays {names} do not match its record {sorted(checksums)}", "corrupted"
        )
    arrays = {}
    for name in names:
        arrays[name] = read_member(archive, members[name])
        if _digest(arrays[name]) != checksums[name]:
            raise _damaged(path, f"array {name!r} fails its checksum", "corrupted")
    version = document.get("linclf_version")
    return ModelFile(document["meta"], arrays, document["format_version"], version)


def read_model(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(meta, arrays)`` of :func:`read_model_file`, which documents what it raises."""
    return (model := read_model_file(path)).meta, model.arrays
