"""Fault injection: SIGKILL at chosen file operations inside checkpoint rotation.

A child process resumes a checkpointed fit with the rotation's file operations (opening,
writing, syncing, renaming, deleting) wrapped, and kills itself with SIGKILL just before
the k-th operation of the r-th rotation. Half of the runs start with a corrupt latest
checkpoint beside a good ``.prev`` (issue 12, class 2: the rotation used to move the
corrupt file over the good one). After every kill one of the two files must be intact,
and resuming from it must end bit-identical to a fit that was never interrupted (issue 12,
done-when item 3).

30 kills, at points drawn from a seeded generator over a traced run's operations: 15 over
the three rotations after an intact start, 15 in the rotation that meets the corrupt
latest; each kind of operation (e.g. the rename to ``.prev``, a write of the temporary
file, its fsync, the rename over the latest) at least once in each half.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from linclf import SGD, LinearObjective, ModelFileError, Trainer
from linclf._formats.modelfile import read_model

# Slow (Dask clusters or child processes): .ci/run runs it after the README's command.
pytestmark = pytest.mark.slow

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="SIGKILL and POSIX rename semantics"
)

N_EPOCHS = 6
START_EPOCH = 3  # the runs that get killed start from the checkpoints of epochs 3 and 2
KILLS_PER_STATE = 15
SETTINGS = {
    "objective": {"loss": "softmax", "reg": 1e-3},
    "optimizer": {"learning_rate": 0.1, "momentum": 0.9},
    "trainer": {"batch_size": 16, "tol": None, "random_state": 5, "checkpoint_every": 1},
}

# The child: resume the fit, counting the file operations of each rotation (each call of
# write_checkpoint); "trace" prints them as JSON, "kill" SIGKILLs itself before the k-th
# operation of rotation r. A write is killed with the bytes written before it on disk.
CHILD = textwrap.dedent(
    """
    import io, json, os, signal, sys
    import numpy as np
    from linclf import SGD, LinearObjective, Trainer
    from linclf._training import checkpoint

    folder, settings, mode, target = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], None
    if mode == "kill":
        target = (int(sys.argv[4]), int(sys.argv[5]))
    path = os.path.join(folder, "ckpt.linclf")
    rotations, roles = [], {}

    def operation(kind, writer=None):
        if not rotations:
            return
        ops = rotations[-1]
        if (len(rotations), len(ops)) == target:
            if writer is not None:
                writer.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        ops.append(kind)

    def role(name):
        name = os.fspath(name)
        if name == path:
            return "latest"
        if name == path + ".prev":
            return "prev"
        return "folder" if os.path.isdir(name) else "temp"

    real = {name: getattr(os, name) for name in ("open", "replace", "fsync", "chmod", "unlink")}

    def wrapped_open(name, flags, *args, **kwargs):
        what = role(name)
        operation(f"open {what}")
        fd = real["open"](name, flags, *args, **kwargs)
        roles[fd] = what
        return fd

    def wrapped_replace(src, dst):
        operation(f"replace {role(src)} -> {role(dst)}")
        return real["replace"](src, dst)

    def wrapped_fsync(fd):
        operation(f"fsync {roles.get(fd, '?')}")
        return real["fsync"](fd)

    def wrapped_chmod(name, mode):
        operation(f"chmod {role(name)}")
        return real["chmod"](name, mode)

    def wrapped_unlink(name):
        operation(f"unlink {role(name)}")
        return real["unlink"](name)

    class CountingWriter(io.BufferedWriter):
        def write(self, data):
            operation("write temp", self)
            return super().write(data)

    real_fdopen = os.fdopen

    def wrapped_fdopen(fd, mode="r", *args, **kwargs):
        if mode == "wb" and roles.get(fd) == "temp":
            return CountingWriter(io.FileIO(fd, "wb"))
        return real_fdopen(fd, mode, *args, **kwargs)

    real_write_checkpoint = checkpoint.write_checkpoint

    def rotation(*args, **kwargs):
        rotations.append([])
        try:
            return real_write_checkpoint(*args, **kwargs)
        finally:
            rotations[-1].append("done")

    os.open, os.replace, os.fsync, os.chmod, os.unlink = (
        wrapped_open, wrapped_replace, wrapped_fsync, wrapped_chmod, wrapped_unlink
    )
    os.fdopen = wrapped_fdopen
    checkpoint.write_checkpoint = rotation

    data = np.load(os.path.join(folder, "data.npz"))
    params = {"W": np.zeros((3, 5)), "b": np.zeros(3)}
    trainer = Trainer(
        LinearObjective(**settings["objective"]),
        SGD(**settings["optimizer"]),
        max_epochs=settings["max_epochs"],
        checkpoint_path=path,
        **settings["trainer"],
    )
    trainer.fit(params, data["X"], data["y"], resume=True)
    if mode == "trace":
        print(json.dumps([ops[:-1] for ops in rotations]))
    """
)


def _data():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(200, 5))
    y = (X @ rng.normal(size=(5, 3))).argmax(axis=1)
    return X, y


def _trainer(path, max_epochs):
    return Trainer(
        LinearObjective(**SETTINGS["objective"]),
        SGD(**SETTINGS["optimizer"]),
        max_epochs=max_epochs,
        checkpoint_path=path,
        **SETTINGS["trainer"],
    )


def _fit(path, max_epochs, X, y, *, resume=False):
    params = {"W": np.zeros((3, 5)), "b": np.zeros(3)}
    _trainer(path, max_epochs).fit(params, X, y, resume=resume)
    return params


def _epoch(path):
    """The epoch of the checkpoint at ``path`` if it reads back intact, else None."""
    try:
        meta, _ = read_model(path)
    except (OSError, ModelFileError):
        return None
    return meta["epoch"] if meta.get("kind") == "checkpoint" else None


def _damage(data, how):
    data = bytearray(data)
    if how == "truncate":
        return bytes(data[: len(data) // 2])
    data[len(data) // 3] ^= 0xFF
    return bytes(data)


def _child(folder, mode, *target):
    settings = json.dumps({**SETTINGS, "max_epochs": N_EPOCHS})
    command = [sys.executable, str(folder.parent / "child.py"), str(folder), settings, mode]
    command += [str(t) for t in target]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def _kill_points(rotations, rng, first_only):
    """``KILLS_PER_STATE`` distinct (rotation, operation) pairs, 1-based rotation: every kind
    of operation once (at a random occurrence in a random rotation), the rest at random."""
    candidates = range(1, 2) if first_only else range(1, len(rotations) + 1)
    points = [(r, k) for r in candidates for k in range(len(rotations[r - 1]))]
    kinds = sorted({rotations[r - 1][k] for r, k in points})
    chosen = []
    for kind in kinds:
        of_kind = [p for p in points if rotations[p[0] - 1][p[1]] == kind]
        chosen.append(of_kind[rng.integers(len(of_kind))])
    rest = [p for p in points if p not in chosen]
    extra = rng.choice(len(rest), size=KILLS_PER_STATE - len(chosen), replace=False)
    return chosen + [rest[i] for i in sorted(extra)], kinds


def _prepare(folder, start, corrupt):
    """``folder`` with the data and the start checkpoints (epochs 3 and 2), the latest
    damaged ``corrupt`` ("truncate", "flip a byte") unless None."""
    folder.mkdir()
    X, y = _data()
    np.savez(folder / "data.npz", X=X, y=y)
    latest = (start / "ckpt.linclf").read_bytes()
    (folder / "ckpt.linclf").write_bytes(_damage(latest, corrupt) if corrupt else latest)
    (folder / "ckpt.linclf.prev").write_bytes((start / "ckpt.linclf.prev").read_bytes())
    assert _epoch(folder / "ckpt.linclf") == (None if corrupt else START_EPOCH)
    assert _epoch(folder / "ckpt.linclf.prev") == START_EPOCH - 1
    return folder


def _kill_then_resume(folder, rotations, point, corrupt, reference):
    """Kill the child before operation ``point`` = (rotation, index), check what is left,
    resume in this process; return the state the kill left the latest checkpoint in."""
    r, k = point
    killed = _child(folder, "kill", r, k)
    where = f"rotation {r}, before {rotations[r - 1][k]!r} (#{k}), corrupt start: {corrupt}"
    assert killed.returncode == -signal.SIGKILL, (where, killed.stderr)
    # The rotation writing epoch e was killed: the checkpoint of e - 1 or e is intact.
    writing = (START_EPOCH if corrupt else START_EPOCH + 1) + r - 1
    epochs = _epoch(folder / "ckpt.linclf"), _epoch(folder / "ckpt.linclf.prev")
    assert {writing - 1, writing} & set(epochs), (where, epochs)
    if epochs[0] is not None:
        left = "latest intact"
    else:
        left = "latest damaged" if os.path.exists(folder / "ckpt.linclf") else "latest missing"

    X, y = _data()
    resumed = {"W": np.zeros((3, 5)), "b": np.zeros(3)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        trainer = _trainer(folder / "ckpt.linclf", N_EPOCHS).fit(resumed, X, y, resume=True)
    fell_back = any("resuming from the previous one" in str(w.message) for w in caught)
    assert fell_back == (epochs[0] is None), where
    np.testing.assert_array_equal(resumed["W"], reference["W"], err_msg=where)
    np.testing.assert_array_equal(resumed["b"], reference["b"], err_msg=where)
    assert trainer.n_epochs_ == N_EPOCHS
    # The files end as an uninterrupted fit leaves them; the killed writer's temporary
    # file is gone.
    assert (_epoch(folder / "ckpt.linclf"), _epoch(folder / "ckpt.linclf.prev")) == (
        N_EPOCHS,
        N_EPOCHS - 1,
    ), where
    assert sorted(os.listdir(folder)) == ["ckpt.linclf", "ckpt.linclf.prev", "data.npz"]
    return left


def test_sigkill_inside_rotation_always_leaves_a_checkpoint_that_resumes_bit_identically(
    tmp_path,
):
    X, y = _data()
    reference = _fit(None, N_EPOCHS, X, y)
    start = tmp_path / "start"
    start.mkdir()
    _fit(start / "ckpt.linclf", START_EPOCH, X, y)
    (tmp_path / "child.py").write_text(CHILD)

    traces = {}
    for state, corrupt in (("intact", None), ("corrupt", "truncate")):
        traced = _child(_prepare(tmp_path / f"trace-{state}", start, corrupt), "trace")
        assert traced.returncode == 0, traced.stderr
        traces[state] = json.loads(traced.stdout.splitlines()[-1])
    # Three rotations after the intact start (epochs 4-6); four after the corrupt one,
    # which resumes from .prev (epochs 3-6), the first with the corrupt file in place.
    assert [len(traces["intact"]), len(traces["corrupt"])] == [3, 4]
    assert "replace latest -> prev" in traces["intact"][0]
    assert "replace latest -> prev" not in traces["corrupt"][0]

    rng = np.random.default_rng(2026)
    outcomes = []
    for state in ("intact", "corrupt"):
        rotations = traces[state]
        points, kinds = _kill_points(rotations, rng, first_only=state == "corrupt")
        assert {"replace temp -> latest", "write temp", "fsync temp"} <= set(kinds)
        for i, point in enumerate(points):
            corrupt = None if state == "intact" else ("truncate", "flip a byte")[i % 2]
            folder = _prepare(tmp_path / f"{state}-{i}", start, corrupt)
            outcomes.append(_kill_then_resume(folder, rotations, point, corrupt, reference))

    # The kills hit every window: before the old latest moved to .prev (or after the new
    # one took its place), between the two renames, and while a corrupt latest was in place.
    assert len(outcomes) == 2 * KILLS_PER_STATE
    assert set(outcomes) == {"latest intact", "latest missing", "latest damaged"}
