"""Command line: ``python -m linclf`` or the ``linclf`` console script."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from . import __version__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 on success)."""
    parser = argparse.ArgumentParser(
        prog="linclf",
        description="Linear classifiers for NumPy. Without a command, runs the demo.",
    )
    parser.add_argument("--version", action="version", version=f"linclf {__version__}")
    commands = parser.add_subparsers(dest="command")
    demo = commands.add_parser(
        "demo", help="gradient check, training and held-out accuracy on the bundled digits"
    )
    demo.add_argument("--seed", type=int, default=0, help="seed of the split and training")
    args = parser.parse_args(argv)

    from .demo import run_demo

    try:
        run_demo(seed=getattr(args, "seed", 0))
    except BrokenPipeError:
        # The reader went away (``linclf | head``): stop quietly, as shell tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
