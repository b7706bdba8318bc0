"""Ctrl-C during training: stop after the current step instead of in the middle of one."""

from __future__ import annotations

import signal
import threading
from typing import Any

__all__ = ["SigintGuard"]


class SigintGuard:
    """The first Ctrl-C in the ``with`` block sets ``requested``, a second one raises; only
    in the main thread and over Python's default handler (not over the caller's own)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> SigintGuard:
        in_main = threading.current_thread() is threading.main_thread()
        if in_main and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
