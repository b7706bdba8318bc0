"""A progress line on stderr while a large data file is read: a tqdm bar when tqdm is
installed, else a plain line rewritten in place at most every half second."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator

__all__ = ["LARGE", "reading_progress"]

LARGE = 50 * 10**6  # bytes from which a file read with stderr on a terminal shows progress


@contextlib.contextmanager
def reading_progress(path: str, *, forced: bool) -> Iterator[Callable[[int], None] | None]:
    """A callback taking the characters read since its last call, or None (no display).

    Parameters
    ----------
    path : str
        The file; its size is the total.
    forced : bool
        Show the progress whatever the size and stderr (``--progress``); otherwise only
        for a file over :data:`LARGE` bytes while stderr is a terminal.
    """
    try:
        size = os.stat(path).st_size
    except OSError:
        size = 0  # the reader reports the problem
    if not (forced or (size > LARGE and sys.stderr.isatty())):
        yield None
        return
    try:
        from tqdm import tqdm
    except ImportError:
        tqdm = None
    if tqdm is not None:
        label = f"reading {os.path.basename(path)}"
        with tqdm(total=size, unit="B", unit_scale=True, desc=label, file=sys.stderr) as bar:
            yield bar.update
            bar.update(max(0, bar.total - bar.n))  # characters read: fewer than the bytes
        return
    line = _PlainLine(os.path.basename(path), size)
    try:
        yield line.update
        line.done = line.size  # read to the end (characters counted: fewer than the bytes)
    finally:
        line.close()


class _PlainLine:
    """``reading NAME: 42% of 230 MB`` rewritten in place (``\\r``), then ended by a newline."""

    def __init__(self, name: str, size: int) -> None:
        self.name, self.size, self.done, self.shown = name, max(size, 1), 0, 0.0

    def update(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if now - self.shown >= 0.5:
            self.shown = now
            self._write()

    def _write(self) -> None:
        percent = min(100, 100 * self.done // self.size)
        megabytes = self.size / 1e6
        print(f"\rreading {self.name}: {percent}% of {megabytes:.0f} MB", end="", file=sys.stderr)

    def close(self) -> None:
        self._write()
        print(file=sys.stderr, flush=True)
