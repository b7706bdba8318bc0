"""``python -m linclf`` and the ``linclf`` console script; the commands are in :mod:`linclf.cli`."""

from .cli import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
