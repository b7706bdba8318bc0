"""Never destroy the user's data (issue 12, class 2): outputs never replace an input, every
write is atomic and keeps the replaced file's permissions, killed writers' temporaries are
removed by the next write."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import numpy as np
import pytest

from linclf import LinearSVM, load
from linclf._formats.modelfile import write_atomically
from linclf.cli import main


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    data = tmp_path / "d.csv"
    rows = ["a,b,c,label", *(f"{r[0]},{r[1]},{r[2]},{t}" for r, t in zip(X, y, strict=True))]
    data.write_text("\n".join(rows) + "\n")
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(map(str, y)) + "\n")
    features = tmp_path / "f.csv"
    features.write_text("\n".join(["a,b,c", *(",".join(map(str, r)) for r in X)]) + "\n")
    model = tmp_path / "m.linclf"
    assert main(["train", str(data), "--target", "label", "-o", str(model)]) == 0
    return {"data": data, "labels": labels, "features": features, "model": model}


def _snapshot(*paths):
    return {path: path.read_bytes() for path in paths}


@pytest.mark.parametrize(
    "command",
    [
        ["train", "{data}", "--target", "label", "-o", "{data}"],
        ["train", "{features}", "--labels", "{labels}", "-o", "{labels}"],
        ["train", "{features}", "--labels", "{labels}", "-o", "{features}"],
        ["predict", "{model}", "{features}", "-o", "{model}"],
        ["predict", "{model}", "{features}", "-o", "{features}"],
    ],
)
def test_an_output_onto_an_input_is_refused_and_the_input_kept(files, command, capsys):
    before = _snapshot(*files.values())
    argv = [part.format(**{k: str(v) for k, v in files.items()}) for part in command]
    assert main(argv) == 1
    error = capsys.readouterr().err
    assert "is the input" in error and "choose another output path" in error
    assert _snapshot(*files.values()) == before


def test_an_output_onto_an_input_through_another_name_is_refused(files, tmp_path):
    link = tmp_path / "same.csv"
    os.link(files["data"], link)  # one file, two names
    before = files["data"].read_bytes()
    assert main(["train", str(files["data"]), "--target", "label", "-o", str(link)]) == 1
    assert files["data"].read_bytes() == before


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    target.write_bytes(b"old contents")

    def half_then_fail(fh):
        fh.write(b"new")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_atomically(target, half_then_fail)
    assert target.read_bytes() == b"old contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_failed_predictions_leave_the_old_predictions(files, tmp_path, monkeypatch, capsys):
    out = tmp_path / "pred.csv"
    out.write_text("prediction\nold\n")

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    assert main(["predict", str(files["model"]), str(files["features"]), "-o", str(out)]) == 1
    assert "cannot write" in capsys.readouterr().err
    assert out.read_text() == "prediction\nold\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".linclf-")]


def test_resaving_keeps_the_files_permissions(files):
    model = files["model"]
    os.chmod(model, 0o600)
    clf = load(model)
    clf.save(model)
    assert stat.S_IMODE(os.stat(model).st_mode) == 0o600
    assert load(model).predict(np.zeros((1, 3))).shape == (1,)


def test_a_killed_writers_temporary_is_removed_by_the_next_write(tmp_path):
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = int(finished.stdout)  # that process has exited
    stale = tmp_path / f".linclf-{dead}-0123456789abcdef.tmp"
    alive = tmp_path / f".linclf-{os.getppid()}-fedcba9876543210.tmp"  # a running writer
    unrelated = tmp_path / ".linclf-notes.tmp"
    for path in (stale, alive, unrelated):
        path.write_bytes(b"x" * 1000)
    rng = np.random.default_rng(0)
    LinearSVM().fit(rng.normal(size=(20, 2)), np.arange(20) % 2).save(tmp_path / "m.linclf")
    assert not stale.exists()
    assert alive.exists() and unrelated.exists()


# A rotated checkpoint keeps the mode of the one it replaces (the latest moves to .prev
# before the new one is written, so its own path has no mode to copy then).
def test_checkpoint_rotation_keeps_the_checkpoints_mode(tmp_path):
    from linclf._training.checkpoint import previous_path, write_checkpoint

    path = tmp_path / "ck.npz"
    write_checkpoint(path, {"epoch": 1}, {"W": np.zeros(2)})
    os.chmod(path, 0o600)
    write_checkpoint(path, {"epoch": 2}, {"W": np.ones(2)})
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(previous_path(path)).st_mode) == 0o600
