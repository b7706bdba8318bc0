"""Ctrl-C during training: stop after the current step instead of in the middle of one."""

from __future__ import annotations

import signal
import threading
from typing import Any

__all__ = ["SigintGuard"]


class SigintGuard:
    """Turn the first Ctrl-C inside the ``with`` block into ``requested = True``.

    Installed only in the main thread and only over Python's default handler (a handler
    of the caller's own is left alone); a second Ctrl-C raises KeyboardInterrupt at once.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> SigintGuard:
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
