"""Reading untrusted files at a cost bounded by their size (docs/reliability.md, class 1).

Every reader of a file a user hands to linclf (a model, a checkpoint, a data file) opens it
with :func:`open_regular` and may allocate at most :func:`read_budget` bytes for it:
``max(64 MiB, 16 × the file's size)``, or what the caller passes as ``max_bytes``. Whatever a
file *declares* (its zip directory, the sizes and shapes in its ``.npy`` headers) is checked
against the file's real size and the budget before anything is allocated, so a crafted file
is refused in time and memory proportional to its size, never to what it claims.

:func:`archive_members` does this for ``.npz`` archives: at most :data:`MAX_MEMBERS`
members, counted from the end-of-directory record before the directory is parsed; members
that do not overlap and together fit in the file; declared sizes that match their ``.npy``
headers; and (compressed members) a total declared size within the budget, which bounds
the compression ratio, since Python's zipfile never inflates a member past its declared
size. Problems raise :class:`ArchiveError`, which each format words in its own error.
"""

from __future__ import annotations

import dataclasses
import errno
import math
import os
import stat
import struct
import zipfile
from typing import IO

import numpy as np

__all__ = [
    "BUDGET_FLOOR",
    "BUDGET_RATIO",
    "MAX_MEMBERS",
    "ArchiveError",
    "Member",
    "archive_members",
    "describe_bytes",
    "open_regular",
    "read_budget",
    "read_member",
]

BUDGET_FLOOR = 64 << 20  # bytes any file may cost, however small
BUDGET_RATIO = 16  # bytes a file may cost per byte it holds
MAX_MEMBERS = 1024  # arrays in one archive (a model file holds fewer than 40)
_SUFFIX = ".npy"
_CHUNK = 1 << 20  # bytes read per call when filling an array: bounded extra memory
_ARRAY_KINDS = "biufcUSmM"  # plain numbers, strings and times; never objects or records
_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0}
_HEADER_READERS[2, 0] = np.lib.format.read_array_header_2_0
_COMPRESSIONS = (zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)
_END_RECORD = b"PK\x05\x06"  # end of central directory
_END_RECORD_64 = b"PK\x06\x06"
_LOCAL_HEADER = 30  # bytes of a zip local file header before its name


def read_budget(file_size: int, max_bytes: int | None = None) -> int:
    """The bytes a reader may allocate for a file of ``file_size`` bytes.

    ``max_bytes`` when given, else ``max(BUDGET_FLOOR, BUDGET_RATIO * file_size)``.
    """
    return max_bytes if max_bytes is not None else max(BUDGET_FLOOR, BUDGET_RATIO * file_size)


def describe_bytes(count: int) -> str:
    """``count`` bytes for a message: ``'512 bytes'``, ``'3.2 MB'``, ``'72 TB'``."""
    if count < 1000:
        return f"{count} bytes"
    exponent = min(int(math.log10(count) // 3), 6)
    return f"{count / 1000**exponent:.3g} {' KMGTPE'[exponent]}B"


class ArchiveError(ValueError):
    """An archive a reader refuses; ``kind`` is ``"foreign"`` (not the expected format),
    ``"damaged"`` (inconsistent or truncated) or ``"budget"`` (it would cost too much)."""

    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.reason, self.kind = reason, kind


def open_regular(path: str | os.PathLike, what: str) -> IO[bytes]:
    """Open ``path`` for reading in binary mode if it is a regular file; ``OSError`` naming
    ``what`` (errno ``EINVAL``) otherwise: a FIFO would block forever, ``/dev/zero`` never end.

    The file is opened without blocking (a FIFO with no writer does not hang the open),
    then checked with ``fstat``, then switched back to blocking reads.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise OSError(errno.EINVAL, f"{what} must be a regular file; it is {kind}", path)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


@dataclasses.dataclass(frozen=True)
class Member:
    """One checked ``.npy`` member: its zip entry and what its header declares."""

    name: str
    info: zipfile.ZipInfo
    dtype: np.dtype
    shape: tuple[int, ...]
    fortran_order: bool
    data_offset: int

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def _declared_entries(fh: IO[bytes], file_size: int) -> int | None:
    """The entry count the end-of-directory record declares (None if there is none)."""
    tail_size = min(file_size, 22 + 0xFFFF + 20)  # the record, its comment, a zip64 locator
    fh.seek(file_size - tail_size)
    tail = fh.read(tail_size)
    at = tail.rfind(_END_RECORD)
    if at < 0 or len(tail) < at + 22:
        return None
    (count,) = struct.unpack("<H", tail[at + 10 : at + 12])
    if count == 0xFFFF and at >= 20 and tail[at - 20 : at - 16] == b"PK\x06\x07":
        (offset,) = struct.unpack("<Q", tail[at - 12 : at - 4])
        if offset + 56 <= file_size:
            fh.seek(offset)
            record = fh.read(56)
            if record[:4] == _END_RECORD_64:
                (count,) = struct.unpack("<Q", record[32:40])
    return count


def _check_entry(info: zipfile.ZipInfo, names: set[str], compressed: bool, size: int) -> str:
    """The array name of a directory entry that can only be a plain ``.npy`` member."""
    if not info.filename.endswith(_SUFFIX) or info.is_dir():
        raise ArchiveError(f"it holds {info.filename!r}, which is not a NumPy array", "foreign")
    name = info.filename[: -len(_SUFFIX)]
    if name in names:
        raise ArchiveError(f"array {name!r} is stored twice", "damaged")
    if info.flag_bits & 0x1:
        raise ArchiveError(f"array {name!r} is encrypted", "foreign")
    if info.compress_type != zipfile.ZIP_STORED:
        if not compressed or info.compress_type not in _COMPRESSIONS:
            raise ArchiveError(f"array {name!r} is compressed ({info.compress_type})", "foreign")
    elif info.file_size != info.compress_size:
        raise ArchiveError(
            f"array {name!r} is stored uncompressed in {info.compress_size} bytes but "
            f"claims {info.file_size}",
            "damaged",
        )
    if info.compress_size > size:
        raise ArchiveError(
            f"array {name!r} claims {info.compress_size} bytes in a file of {size}", "damaged"
        )
    return name


def _check_layout(infos: list[zipfile.ZipInfo], start_dir: int) -> None:
    """Members that do not overlap: each starts after the previous one's data ends."""
    end = 0
    for info in sorted(infos, key=lambda i: i.header_offset):
        if info.header_offset < end:
            raise ArchiveError(
                f"its members overlap ({info.filename!r} starts at byte {info.header_offset}, "
                f"inside the member before it, which ends at byte {end})",
                "damaged",
            )
        end = info.header_offset + _LOCAL_HEADER + len(info.filename) + info.compress_size
    if end > start_dir:
        raise ArchiveError("its last member runs into the zip directory", "damaged")


def _read_header(archive: zipfile.ZipFile, name: str, info: zipfile.ZipInfo) -> Member:
    """Parse a member's ``.npy`` header (a Python literal, never code) and check its size."""
    try:
        with archive.open(info) as member:
            version = np.lib.format.read_magic(member)
            if version not in _HEADER_READERS:
                raise ArchiveError(f"array {name!r} uses .npy format {version}", "foreign")
            shape, fortran_order, dtype = _HEADER_READERS[version](member)
            data_offset = member.tell()
    except (zipfile.BadZipFile, EOFError, OSError, struct.error) as exc:
        raise ArchiveError(f"array {name!r}: {exc}", "damaged") from None
    except ValueError as exc:  # read_magic / the header parser: not an .npy header
        if isinstance(exc, ArchiveError):
            raise
        raise ArchiveError(f"array {name!r} has no valid .npy header ({exc})", "damaged") from None
    if dtype.hasobject:
        raise ArchiveError(
            f"array {name!r} needs pickle to load, and pickles are not loaded because they "
            "can run code",
            "pickle",
        )
    if dtype.kind not in _ARRAY_KINDS or dtype.fields is not None or dtype.itemsize == 0:
        reason = f"array {name!r} has dtype {dtype}, not numbers, strings or times"
        raise ArchiveError(reason, "foreign")
    found = Member(name, info, dtype, tuple(shape), bool(fortran_order), data_offset)
    if any(n < 0 for n in shape) or found.nbytes != info.file_size - data_offset:
        raise ArchiveError(
            f"array {name!r} of shape {tuple(shape)} and dtype {dtype} needs "
            f"{describe_bytes(found.nbytes)}, and its entry declares "
            f"{describe_bytes(info.file_size - data_offset)}",
            "damaged",
        )
    return found


def archive_members(
    fh: IO[bytes], file_size: int, *, budget: int, compressed: bool
) -> tuple[zipfile.ZipFile, dict[str, Member]]:
    """Open the ``.npz`` archive ``fh`` and check every member before any is read.

    Parameters
    ----------
    fh : binary file
        The archive, opened by :func:`open_regular`.
    file_size : int
        Its size in bytes.
    budget : int
        Bytes its arrays may declare in total (see :func:`read_budget`).
    compressed : bool
        Whether deflate, bzip2 and lzma members are allowed (else only stored ones).

    Returns
    -------
    archive, members : zipfile.ZipFile (the caller closes it), dict of name to :class:`Member`

    Raises
    ------
    ArchiveError
        For a member that is no plain ``.npy`` array, needs pickle, overlaps another,
        declares a size its header or the file contradicts, more than :data:`MAX_MEMBERS`
        members, or arrays declaring more than ``budget`` bytes in total.
    zipfile.BadZipFile, OSError, ValueError, EOFError
        For a file that is no zip archive or is damaged.
    """
    declared = _declared_entries(fh, file_size)
    if declared is not None and declared > MAX_MEMBERS:
        raise ArchiveError(f"it declares {declared} members, above {MAX_MEMBERS}", "budget")
    fh.seek(0)
    archive = zipfile.ZipFile(fh)
    try:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise ArchiveError(f"it holds {len(infos)} members, above {MAX_MEMBERS}", "budget")
        names: set[str] = set()
        for info in infos:
            names.add(_check_entry(info, names, compressed, file_size))
        _check_layout(infos, archive.start_dir)
        total = sum(info.file_size for info in infos)
        if total > budget:
            raise ArchiveError(
                f"its arrays declare {describe_bytes(total)}, more than the "
                f"{describe_bytes(budget)} a file of {describe_bytes(file_size)} may take",
                "budget",
            )
        members = {}
        for info in infos:  # every header first: a pickle is refused unread
            member = _read_header(archive, info.filename[: -len(_SUFFIX)], info)
            members[member.name] = member
        return archive, members
    except BaseException:
        archive.close()
        raise


def read_member(archive: zipfile.ZipFile, member: Member) -> np.ndarray:
    """The data of a checked member as a fresh writable array; reaching its end checks the CRC."""
    flat = np.empty(math.prod(member.shape), dtype=member.dtype)
    view = memoryview(flat.view(np.uint8))
    with archive.open(member.info) as stream:
        stream.read(member.data_offset)
        filled = 0
        while filled < view.nbytes:
            count = stream.readinto(view[filled : filled + _CHUNK])
            if not count:
                raise ArchiveError(f"array {member.name!r} ends early", "damaged")
            filled += count
        if stream.read(1):
            raise ArchiveError(f"array {member.name!r} has trailing bytes", "damaged")
    return flat.reshape(member.shape, order="F" if member.fortran_order else "C")
