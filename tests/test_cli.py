"""The main job from the command line, as a user runs it."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest


def _run(*args):
    return subprocess.run(
        [sys.executable, "-m", "linclf", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("args", [(), ("demo",), ("demo", "--seed", "1")])
def test_demo_runs_gradient_check_training_and_reports_accuracy(args):
    result = _run(*args)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # The gradient check ran on both parameters and passed.
    assert re.search(r"d loss / d W: passed", out) and re.search(r"d loss / d b: passed", out)
    # Training printed a short progress display (first line, then about ten more at most).
    epoch_lines = re.findall(r"^epoch +\d+/\d+ +loss", out, flags=re.MULTILINE)
    assert 2 <= len(epoch_lines) <= 12
    accuracy = float(re.search(r"held-out accuracy: ([0-9.]+)", out).group(1))
    assert accuracy >= 0.93  # a linear SVM gets ~96% on standardized digits
    assert re.search(r"total time: [0-9.]+ s", out)


def test_version_and_usage_errors():
    from linclf import __version__

    assert _run("--version").stdout.strip() == f"linclf {__version__}"
    bad = _run("no-such-command")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
