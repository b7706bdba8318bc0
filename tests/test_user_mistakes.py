"""User mistakes that ended in a traceback (issue 12, class 9): each is one clear message."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from linclf import LinearSVM, ModelFileError, load
from linclf._formats.modelfile import read_model, write_model


def _fitted():
    rng = np.random.default_rng(0)
    return LinearSVM().fit(rng.normal(size=(30, 2)), np.arange(30) % 2)


@pytest.mark.parametrize("extra", [[1, 2], "text", 3])
def test_a_model_file_whose_extra_is_not_a_dict_is_refused_naming_it(tmp_path, extra):
    path = tmp_path / "m.linclf"
    _fitted().save(path)
    meta, arrays = read_model(path)
    meta["extra"] = extra  # crafted: checksums stay valid
    write_model(path, meta, arrays)
    with pytest.raises(ModelFileError, match=r"invalid metadata entry 'extra'.*None or a dict"):
        load(path)


def test_save_refuses_an_extra_that_is_not_a_dict(tmp_path):
    with pytest.raises(TypeError, match="extra must be None or a dict, got list"):
        _fitted().save(tmp_path / "m.linclf", extra=[1, 2])
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("command", [["demo"], ["train", "x.csv", "-o", "m"]])
def test_a_negative_seed_is_a_usage_error(command):
    result = subprocess.run(
        [sys.executable, "-m", "linclf", *command, "--seed", "-1"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert "argument --seed: must be at least 0, got -1" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_non_regular_file_is_refused_at_once_by_every_reader(tmp_path, kind):
    # linclf.load("/dev/zero") ate memory until killed; a FIFO blocked forever (issue 12,
    # class 1). Every reader opens without blocking and refuses what is not a regular file.
    from linclf.datasets.files import DataFileError, read_data

    if kind == "fifo":
        path = tmp_path / "pipe"
        os.mkfifo(path)  # no writer: a blocking open would never return
    else:
        path = "/dev/zero"
    with pytest.raises(ModelFileError, match="must be a regular file"):
        load(path)
    for fmt in ("csv", "npz", "svmlight"):
        with pytest.raises(DataFileError, match="must be a regular file"):
            read_data(path, "label" if fmt == "csv" else None, fmt)
