"""linclf's safe file container: NumPy arrays plus a JSON document, written atomically.

A model (or checkpoint) file is an ordinary ``.npz`` archive (``np.load`` opens it). Every
array is stored uncompressed under its name as a ``.npy`` member; the JSON document
(format name and version, package version, a SHA-256 checksum of every array, and
whatever metadata the caller passes) is stored as the UTF-8 bytes of a 1-D ``uint8`` array
named ``__linclf__``.

Reading never unpickles and never trusts a size it has not checked. The archive is read
member by member: each ``.npy`` header is parsed first (a literal, not code), and a member
holding an object array (the only way an ``.npz`` carries a pickle) is refused before any
of its data is read. A compressed or encrypted member, a duplicated name, or a header whose
shape does not account for exactly the member's bytes is refused too, so an array is never
allocated larger than the file itself (no zip bomb, no header claiming terabytes). A file
from a newer format version, a truncated or corrupted file (zip CRC, then the SHA-256 of
every array) and a file that is not a linclf file at all raise :class:`ModelFileError`;
a missing path raises ``FileNotFoundError`` and a folder ``IsADirectoryError``, naming it.

Writes go to a temporary file in the target's folder (created with the permissions an
ordinary new file gets), are flushed to disk, then renamed over the target
(``os.replace``, atomic on POSIX and Windows), and the folder is synced: a crash leaves
the old file or the new one, never half a file, and no temporary file on error.
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
import struct
import zipfile
from typing import IO, Any

import numpy as np

from .._version import __version__
from ..exceptions import ModelFileError

__all__ = ["FORMAT_VERSION", "ModelFile", "read_model", "read_model_file", "write_model"]

FORMAT_NAME = "linclf-model"
FORMAT_VERSION = 1
_META_KEY = "__linclf__"
_SUFFIX = ".npy"
_CHUNK = 1 << 20  # bytes read per call when filling an array: bounded extra memory
_ARRAY_KINDS = "biufcUSmM"  # plain numbers, strings and times; never objects or records

# What can go wrong while parsing a damaged or crafted archive. ModelFileError is itself
# a ValueError, so it is re-raised before this tuple is caught.
_DAMAGE = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    OSError,
    ValueError,
    OverflowError,
    struct.error,
    NotImplementedError,
    RuntimeError,
)


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


def _new_temp_file(folder: str) -> tuple[str, IO[bytes]]:
    """Create a fresh file in ``folder``; mode 0o666 lets the umask set its permissions."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(16):
        name = os.path.join(folder, f".linclf-{secrets.token_hex(8)}.tmp")
        try:
            fd = os.open(name, flags, 0o666)
        except FileExistsError:
            continue
        except FileNotFoundError:
            raise FileNotFoundError(errno.ENOENT, "No folder to save in", folder) from None
        return name, os.fdopen(fd, "wb")
    raise FileExistsError(errno.EEXIST, "could not create a temporary file", folder)


def _sync_folder(folder: str) -> None:
    """Make the rename durable (POSIX); folders cannot be opened for syncing on Windows."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_model(
    path: str | os.PathLike, meta: dict[str, Any], arrays: dict[str, np.ndarray]
) -> None:
    """Write ``arrays`` and the JSON-serializable ``meta`` to ``path``, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The file to create or replace.
    meta : dict
        JSON-serializable metadata (no NaN or infinity), returned as is by
        :func:`read_model`.
    arrays : dict of str to ndarray
        Arrays of numbers, strings or times, by name.

    Raises
    ------
    TypeError
        If an array has dtype object (it could only be stored as a pickle) or another
        unsupported dtype, or ``meta`` is not a JSON-serializable dict.
    ValueError
        If an array name is empty or ``"__linclf__"``.
    IsADirectoryError
        If ``path`` is a folder.
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

    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "Is a folder, cannot write a model over it", path)
    folder = os.path.dirname(os.path.abspath(path))
    tmp, fh = _new_temp_file(folder)
    try:
        with fh:
            # Written member by member (not np.savez, whose keyword arguments would swallow
            # arrays named "file" or "allow_pickle"), uncompressed, never pickled.
            with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED) as archive:
                for name, array in payload.items():
                    with archive.open(name + _SUFFIX, "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, array, allow_pickle=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _sync_folder(folder)


def _not_a_model_file(path: str, head: bytes, exc: Exception) -> ModelFileError:
    if head.startswith(b"PK"):
        return ModelFileError(f"{path} is truncated or corrupted (a damaged zip archive): {exc}")
    if head.startswith(b"\x93NUMPY"):
        reason = "it is a single .npy array"
    elif not head:
        reason = "it is empty"
    else:
        reason = "it is not an .npz archive"
    return ModelFileError(f"{path} is not a linclf model file: {reason}")


def _members(path: str, archive: zipfile.ZipFile, file_size: int) -> dict[str, zipfile.ZipInfo]:
    """Array name -> zip entry, after checking each entry can only be a plain stored array."""
    members: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        if not info.filename.endswith(_SUFFIX) or info.is_dir():
            raise ModelFileError(
                f"{path} is not a linclf model file: it holds {info.filename!r}, "
                "which is not a NumPy array"
            )
        name = info.filename[: -len(_SUFFIX)]
        if name in members:
            raise ModelFileError(f"{path} is corrupted: array {name!r} is stored twice")
        if info.flag_bits & 0x1:
            raise ModelFileError(f"{path} is not a linclf model file: {name!r} is encrypted")
        if info.compress_type != zipfile.ZIP_STORED:
            raise ModelFileError(
                f"{path} is not a linclf model file: array {name!r} is compressed, and linclf "
                "model files store their arrays uncompressed"
            )
        if info.file_size != info.compress_size or info.compress_size > file_size:
            raise ModelFileError(
                f"{path} is truncated or corrupted: array {name!r} claims "
                f"{info.file_size} bytes in a file of {file_size}"
            )
        members[name] = info
    return members


@dataclasses.dataclass(frozen=True)
class _Header:
    dtype: np.dtype
    shape: tuple[int, ...]
    fortran_order: bool
    data_offset: int


def _read_header(path: str, name: str, member: IO[bytes], size: int) -> _Header:
    """Parse a member's .npy header (a Python literal, never code) and check its size."""
    version = np.lib.format.read_magic(member)
    if version == (1, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(member)
    elif version == (2, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(member)
    else:
        raise ModelFileError(
            f"{path} is not a linclf model file: array {name!r} uses .npy format {version}"
        )
    if dtype.hasobject:
        raise ModelFileError(
            f"{path} holds an array that needs pickle to load ({name!r}); linclf model "
            "files never do, and pickles are not loaded because they can run code"
        )
    if dtype.kind not in _ARRAY_KINDS or dtype.fields is not None or dtype.itemsize == 0:
        raise ModelFileError(
            f"{path} is not a linclf model file: array {name!r} has dtype {dtype}, and "
            "linclf model files hold numbers, strings or times only"
        )
    data_offset = member.tell()
    if any(n < 0 for n in shape) or math.prod(shape) * dtype.itemsize != size - data_offset:
        raise ModelFileError(
            f"{path} is truncated or corrupted: array {name!r} of shape {shape} and dtype "
            f"{dtype} needs {math.prod(shape) * dtype.itemsize} bytes, the file stores "
            f"{size - data_offset}"
        )
    return _Header(dtype, tuple(shape), bool(fortran_order), data_offset)


def _read_data(path: str, name: str, member: IO[bytes], header: _Header) -> np.ndarray:
    """Read the array data into a fresh writable array; reaching the end checks the CRC."""
    flat = np.empty(math.prod(header.shape), dtype=header.dtype)
    view = memoryview(flat.view(np.uint8))
    filled = 0
    while filled < view.nbytes:
        count = member.readinto(view[filled : filled + _CHUNK])
        if not count:
            raise ModelFileError(f"{path} is truncated: array {name!r} ends early")
        filled += count
    if member.read(1):
        raise ModelFileError(f"{path} is corrupted: array {name!r} has trailing bytes")
    return flat.reshape(header.shape, order="F" if header.fortran_order else "C")


def _parse_document(path: str, record: np.ndarray) -> dict[str, Any]:
    if record.dtype != np.uint8 or record.ndim != 1:
        raise ModelFileError(
            f"{path} is not a linclf model file: its {_META_KEY} record is not a 1-D uint8 "
            f"array (dtype {record.dtype}, shape {record.shape})"
        )

    def refuse_constant(constant: str) -> None:
        raise ValueError(f"{constant} is not allowed")

    try:
        document = json.loads(record.tobytes().decode("utf-8"), parse_constant=refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelFileError(f"{path} has an unreadable {_META_KEY} record: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{path} is not a linclf model file: its record is not linclf's")
    version = document.get("format_version")
    writer = document.get("linclf_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"{path} is corrupted: format version {version!r} is not valid")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has format version {version}, newer than this linclf ({__version__}, "
            f"which reads versions up to {FORMAT_VERSION}); it was written by linclf "
            f"{writer}: upgrade linclf to read it"
        )
    checksums = document.get("checksums")
    if not isinstance(checksums, dict) or not all(isinstance(v, str) for v in checksums.values()):
        raise ModelFileError(f"{path} is corrupted: its record has no valid checksums")
    if not isinstance(document.get("meta"), dict):
        raise ModelFileError(f"{path} is corrupted: its record has no metadata")
    if writer is not None and not isinstance(writer, str):
        raise ModelFileError(f"{path} is corrupted: linclf version {writer!r} is not valid")
    return document


def read_model_file(path: str | os.PathLike) -> ModelFile:
    """Read a file written by :func:`write_model`, with its header.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    ModelFile
        ``meta`` (as passed to :func:`write_model`), ``arrays`` (fresh, writable),
        ``format_version`` and ``linclf_version`` (of the writer).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    IsADirectoryError
        If ``path`` is a folder.
    ModelFileError
        (a ``ValueError``) if the file is not a linclf file, is truncated or corrupted,
        holds an object array (a pickle), or comes from a newer format version.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "Is a folder, not a linclf model file", path)
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "No linclf model file at", path) from None
    with fh:
        file_size = os.fstat(fh.fileno()).st_size
        head = fh.read(8)
        fh.seek(0)
        try:
            archive = zipfile.ZipFile(fh)
        except _DAMAGE as exc:
            raise _not_a_model_file(path, head, exc) from exc
        with archive:
            try:
                return _read_archive(path, archive, file_size)
            except ModelFileError:
                raise
            except _DAMAGE as exc:
                raise ModelFileError(f"{path} is truncated or corrupted: {exc}") from exc


def _read_archive(path: str, archive: zipfile.ZipFile, file_size: int) -> ModelFile:
    members = _members(path, archive, file_size)
    headers = {}
    for name, info in members.items():  # every header first: a pickle is refused unread
        with archive.open(info) as member:
            headers[name] = _read_header(path, name, member, info.file_size)
    if _META_KEY not in members:
        raise ModelFileError(f"{path} is not a linclf model file: no {_META_KEY} record")

    def read(name: str) -> np.ndarray:
        with archive.open(members[name]) as member:
            member.read(headers[name].data_offset)
            return _read_data(path, name, member, headers[name])

    document = _parse_document(path, read(_META_KEY))
    checksums = document["checksums"]
    names = sorted(set(members) - {_META_KEY})
    if set(checksums) != set(names):
        raise ModelFileError(
            f"{path} is corrupted: its arrays {names} do not match its record {sorted(checksums)}"
        )
    arrays = {}
    for name in names:
        arrays[name] = read(name)
        if _digest(arrays[name]) != checksums[name]:
            raise ModelFileError(f"{path} is corrupted: array {name!r} fails its checksum")
    return ModelFile(
        meta=document["meta"],
        arrays=arrays,
        format_version=document["format_version"],
        linclf_version=document.get("linclf_version"),
    )


def read_model(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read a file written by :func:`write_model`; return ``(meta, arrays)``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    IsADirectoryError
        If ``path`` is a folder.
    ModelFileError
        (a ``ValueError``) if the file is not a linclf file, is truncated or corrupted,
        holds an object array, or comes from a newer format version.
    """
    model = read_model_file(path)
    return model.meta, model.arrays
