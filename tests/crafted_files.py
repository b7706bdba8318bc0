"""Crafted files, at most 10 MB each, that linclf must refuse at a cost bounded by their size.

``CRAFTED`` maps a name to a builder ``write(folder) -> (path, pattern)``: it writes the file
and returns the regex its refusal must match. ``ENTRY_POINTS`` says through which of
``linclf.load``, ``linclf train``, ``predict`` and ``evaluate`` each file is fed (model files
to load / predict / evaluate, data files to train / predict / evaluate). Used by
tests/test_untrusted_files.py, in process (the message) and in a child process (time and
memory); docs/reliability.md counts them.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

LIMIT = 10 * 1000 * 1000  # bytes: every crafted file is at most this large


def npy_bytes(array=None, *, header=None) -> bytes:
    """An ``.npy`` file: ``array``'s, or a bare header dict (``descr``, ``shape``...)."""
    out = io.BytesIO()
    if header is None:
        np.lib.format.write_array(out, np.asarray(array), allow_pickle=False)
    else:
        np.lib.format.write_array_header_1_0(out, {"fortran_order": False, **header})
    return out.getvalue()


def _local(name: bytes, data: bytes, stored: bytes, method: int, crc: int) -> bytes:
    fields = (b"PK\x03\x04", 20, 0, method, 0, 0, crc, len(stored), len(data), len(name), 0)
    return struct.pack("<4s5H3L2H", *fields) + name


def _central(name: bytes, size: int, stored: int, method: int, crc: int, offset: int) -> bytes:
    fields = (b"PK\x01\x02", 20, 20, 0, method, 0, 0, crc, stored, size, len(name), 0, 0, 0, 0)
    return struct.pack("<4s6H3L5H2L", *fields, 0, offset) + name


def _end(count: int, size: int, offset: int) -> bytes:
    return struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, size, offset, 0)


def nested_overlap(members: int = 300, base: int = 30_000) -> bytes:
    """A zip whose members nest: each member's data is the next member, header and all, so
    every CRC is valid and the members declare ``members`` times the file's size."""
    body = npy_bytes(np.zeros(base, np.uint8))
    name = f"m{members - 1}.npy".encode()
    blob = _local(name, body, body, 0, zlib.crc32(body)) + body
    entries = [(name, body, 0)]  # (name, data, offset in blob), outermost first
    for i in range(members - 2, -1, -1):
        payload = npy_bytes(header={"descr": "|u1", "shape": (len(blob),)}) + blob
        name = f"m{i}.npy".encode()
        local = _local(name, payload, payload, 0, zlib.crc32(payload))
        shift = len(local) + len(payload) - len(blob)
        entries = [(name, payload, 0)] + [(n, d, o + shift) for n, d, o in entries]
        blob = local + payload
    central = b"".join(_central(n, len(d), len(d), 0, zlib.crc32(d), o) for n, d, o in entries)
    return blob + central + _end(len(entries), len(central), len(blob))


def many_members(count: int = 120_000) -> bytes:
    """One member, and a directory of ``count`` entries (~7 MB) that all point at it."""
    body = npy_bytes(np.zeros(1, np.uint8))
    local = _local(b"a.npy", body, body, 0, zlib.crc32(body)) + body
    central = b"".join(
        _central(f"{i}.npy".encode(), len(body), len(body), 0, zlib.crc32(body), 0)
        for i in range(count)
    )
    return local + central + _end(0xFFFF, len(central), len(local))


def deflated(members: dict[str, bytes], *, declared: dict[str, int] | None = None) -> bytes:
    """A zip of deflated members; ``declared`` overrides a member's declared size (a lie)."""
    blob, central = b"", b""
    for name, data in members.items():
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        stored = b"".join(
            packer.compress(data[i : i + (1 << 22)]) for i in range(0, len(data), 1 << 22)
        )
        stored += packer.flush()
        size = (declared or {}).get(name, len(data))
        key, crc = name.encode(), zlib.crc32(data)
        local = _local(key, b"", stored, 8, crc)
        local = local[:22] + struct.pack("<L", size) + local[26:]
        central += _central(key, size, len(stored), 8, crc, len(blob))
        blob += local + stored
    return blob + central + _end(len(members), len(central), len(blob))


def stored_npz(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


HUGE = {"descr": "<f8", "shape": (9 * 10**12,)}  # 72 TB of float64


def _writer(name: str, content, **patterns: str):
    def write(folder: Path) -> tuple[Path, dict[str, str]]:
        path = Path(folder) / name
        data = content() if callable(content) else content
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        assert path.stat().st_size <= LIMIT
        return path, patterns

    return write


def _bomb_of(**declared: int):
    """A writer of the 300 MB bomb (built when called, not when this module is imported)."""
    return lambda: deflated(
        {"X.npy": npy_bytes(np.zeros((300_000, 1000), np.uint8))}, declared=declared
    )


# name -> write(folder) -> (path, {"model": regex, "data": regex}): the refusal's message
# when the file is read as a model (linclf.load, predict / evaluate's MODEL) or as data
# (train, predict / evaluate's DATA); a file without a "model" regex is data only, and
# "width" is the message when a model of 4 features reads it, if it differs.
CRAFTED = {
    "npz: members nested in each other": _writer(
        "nested.npz", nested_overlap, model="members overlap", data="members overlap"
    ),
    "npz: 120,000 directory entries": _writer(
        "many.npz", many_members, model="declares 65535 members", data="declares 65535 members"
    ),
    "npz: 300 MB of zeros deflated to 300 KB": _writer(
        "bomb.npz", _bomb_of(), model="compressed", data="its arrays declare 300 MB, more than"
    ),
    "npz: a member that declares 1 KB and inflates to 300 MB": _writer(
        "liar.npz", _bomb_of(**{"X.npy": 1000}), model="compressed", data="Bad CRC-32"
    ),
    "npz: a member that declares 4 GB": _writer(
        "declares.npz",
        lambda: deflated({"X.npy": npy_bytes(np.zeros((4, 4)))}, declared={"X.npy": 2**32 - 1}),
        model="compressed",
        data="its arrays declare 4.29 GB, more than",
    ),
    "npz: an .npy header claiming 72 TB": _writer(
        "header.npz",
        lambda: stored_npz({"X.npy": npy_bytes(header=HUGE) + bytes(64)}),
        model="needs 72 TB, and its entry declares",
        data="needs 72 TB, and its entry declares",
    ),
    "npy: a bare header claiming 72 TB": _writer(
        "bare.npz",
        lambda: npy_bytes(header=HUGE) + bytes(64),
        model="single .npy array",
        data="single array",
    ),
    "svmlight: feature index 2,000,000,000 in 20 bytes": _writer(
        "index.svm", "1 1:2 2000000000:3\n", data="feature index 2000000000"
    ),
    "CSV: 40,000 columns and a short row": _writer(
        "wide.csv",
        lambda: ",".join(f"c{j}" for j in range(40_000)) + ",label\n" + "1," * 40_000 + "0\n1,0\n",
        data="line 3: 2 fields, expected 40001",
    ),
    "svmlight: 10 MB of pairs, then a bad last line": _writer(
        "long.svm",
        lambda: ("1 " + " ".join(f"{j}:1" for j in range(1, 200)) + "\n") * 9_000 + "x 1:1\n",
        data=r"line 9001: label 'x' is not a number",
        width="line 1: feature index 5 is beyond the 4 features expected",
    ),
    "CSV: 10 MB of cells, then a short row": _writer(
        "long.csv",
        lambda: "a,b,c,d,label\n" + "0,0,0,0,1\n" * 900_000 + "0,1\n",
        data="line 900002: 2 fields, expected 5",
    ),
}
