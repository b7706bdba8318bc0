"""Checkpoint and resume: bit-identical continuation, SIGKILL at a random batch, corruption."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from helpers import Bowl, make_blobs
from linclf import SGD, LinearObjective, ModelFileError, Trainer

SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    from linclf import SGD, LinearObjective, Trainer

    mode, checkpoint, out = sys.argv[1], sys.argv[2], sys.argv[3]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200_000, 100)).astype(np.float32)  # ~2 s of epochs: time to kill it
    y = (X[:, :5] @ rng.normal(size=(5, 4))).argmax(axis=1)
    params = {"W": np.zeros((4, 100), np.float32), "b": np.zeros(4, np.float32)}
    trainer = Trainer(
        LinearObjective("softmax", reg=1e-4),
        SGD(0.05, momentum=0.9, schedule="invscaling"),
        batch_size=64, max_epochs=25, tol=None, random_state=7,
        checkpoint_path=None if mode == "plain" else checkpoint,
    )
    trainer.fit(params, X, y, resume=(mode == "resume"))
    np.savez(out, W=params["W"], b=params["b"], epochs=trainer.n_epochs_)
    print("done", flush=True)
    """
)


def _run(tmp_path, mode, out, *, background=False):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    command = [sys.executable, str(script), mode, str(tmp_path / "ckpt.linclf"), str(out)]
    if background:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)


@pytest.mark.slow  # a child process killed and resumed
def test_sigkill_at_a_random_batch_then_resume_is_bit_identical(tmp_path):
    # Acceptance (issue 6, item 2): the process is killed at an unpredictable moment (some
    # epochs checkpointed, one in progress); resuming from the checkpoint ends with exactly
    # the parameters of a run that was never interrupted.
    _run(tmp_path, "plain", tmp_path / "reference.npz")
    victim = _run(tmp_path, "checkpoint", tmp_path / "unused.npz", background=True)
    checkpoint = tmp_path / "ckpt.linclf"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and time.monotonic() < deadline and victim.poll() is None:
        time.sleep(0.01)
    time.sleep(np.random.default_rng().uniform(0.05, 0.6))  # somewhere inside a later epoch
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=60)
    assert victim.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    _run(tmp_path, "resume", tmp_path / "resumed.npz")
    reference, resumed = np.load(tmp_path / "reference.npz"), np.load(tmp_path / "resumed.npz")
    assert resumed["W"].tobytes() == reference["W"].tobytes()
    assert resumed["b"].tobytes() == reference["b"].tobytes()
    assert int(resumed["epochs"]) == int(reference["epochs"]) == 25


def _trainer(path, max_epochs, **kwargs):
    return Trainer(
        LinearObjective("hinge", reg=1e-3),
        SGD(0.05, momentum=0.9),
        batch_size=16,
        max_epochs=max_epochs,
        tol=None,
        random_state=3,
        checkpoint_path=path,
        **kwargs,
    )


def _fresh():
    return {"W": np.zeros((3, 4)), "b": np.zeros(3)}


@pytest.mark.parametrize("shuffle", ["batches", "full", False])
def test_stopping_and_resuming_in_process_is_bit_identical(tmp_path, shuffle):
    # 4 epochs, then resume to 10, equals 10 epochs straight: every piece of loop state
    # (permutation, generator, velocity, history) made it through the checkpoint.
    X, y = make_blobs(seed=2, spread=3.0)
    straight = _fresh()
    _trainer(None, 10, shuffle=shuffle).fit(straight, X, y)
    path = tmp_path / "ckpt.linclf"
    first = _fresh()
    _trainer(path, 4, shuffle=shuffle).fit(first, X, y)
    resumed = _fresh()
    trainer = _trainer(path, 10, shuffle=shuffle).fit(resumed, X, y, resume=True)
    assert resumed["W"].tobytes() == straight["W"].tobytes()
    assert trainer.n_epochs_ == 10 and len(trainer.history_["loss"]) == 10


def test_resuming_a_halving_fit_at_any_epoch_is_bit_identical(tmp_path):
    # on_divergence="halve" keeps an anchor to roll back to, and an epoch's end waiting to
    # become it (after the next batch's loss): both go through the checkpoint. On this
    # bowl (curvature 30 in each epoch's first batch: 10 halvings from 1000), resuming
    # after epoch 2 without the waiting end gave other bits.
    X, y = np.array([[1.0, 30.0], [0.0, 1.0], [0.0, 1.0]]), np.zeros(3, dtype=int)

    def fit(max_epochs, path=None, resume=False):
        params = {"W": np.ones((1, 2)), "b": None}
        trainer = Trainer(
            Bowl(), SGD(1000.0), batch_size=1, max_epochs=max_epochs, tol=None,
            shuffle=False, on_divergence="halve", checkpoint_path=path,
        )  # fmt: skip
        trainer.fit(params, X, y, resume=resume)
        return trainer, params["W"]

    straight, W = fit(20)
    assert straight.n_halvings_ == 10
    for stop in range(1, 13):
        path = tmp_path / f"after{stop}.linclf"
        fit(stop, path)
        resumed, W_resumed = fit(20, path, resume=True)
        assert W_resumed.tobytes() == W.tobytes(), stop
        assert resumed.n_halvings_ == 10 and resumed.history_ == straight.history_


def test_resuming_early_stopping_keeps_the_best_epoch_bit_identical(tmp_path):
    # The stopping counters (best validation accuracy, in minimized form), the best epoch's
    # parameters and the validation history come back too: the restored best is returned.
    X, y = make_blobs(seed=5, spread=3.0)
    path = tmp_path / "ckpt.linclf"

    def fit(max_epochs, checkpoint_path=None, resume=False):
        params = _fresh()
        trainer = Trainer(
            LinearObjective("hinge", reg=1e-3),
            SGD(0.5, momentum=0.9),
            batch_size=8,
            max_epochs=max_epochs,
            tol=0.0,
            n_iter_no_change=4,
            early_stopping=True,
            random_state=0,
            checkpoint_path=checkpoint_path,
        )
        trainer.fit(params, X[::2], y[::2], validation_data=(X[1::2], y[1::2]), resume=resume)
        return trainer, params

    reference, straight = fit(40)  # best epoch 4, stopped after epoch 8
    fit(5, path)  # resumed after a non-improving epoch, so the counters matter
    trainer, resumed = fit(40, path, resume=True)
    assert resumed["W"].tobytes() == straight["W"].tobytes()
    assert trainer.history_ == reference.history_ and trainer.n_epochs_ == 8
    assert trainer.best_epoch_ == reference.best_epoch_ == 4


@pytest.mark.parametrize("damage", ["truncate", "flip a byte"])
def test_corrupt_latest_checkpoint_falls_back_to_the_previous_one(tmp_path, damage):
    # The newest file is damaged: resume warns, uses ckpt.prev (one epoch older), and
    # still ends bit-identical to the uninterrupted run.
    X, y = make_blobs(seed=2, spread=3.0)
    straight = _fresh()
    _trainer(None, 8, shuffle="batches").fit(straight, X, y)
    path = tmp_path / "ckpt.linclf"
    _trainer(path, 5).fit(_fresh(), X, y)
    assert (tmp_path / "ckpt.linclf.prev").exists()
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 3] ^= 0xFF
    path.write_bytes(bytes(data))
    resumed = _fresh()
    with pytest.warns(UserWarning, match="resuming from the previous one"):
        trainer = _trainer(path, 8).fit(resumed, X, y, resume=True)
    assert resumed["W"].tobytes() == straight["W"].tobytes()
    assert trainer.n_epochs_ == 8


def test_both_checkpoints_corrupt_is_an_error(tmp_path):
    X, y = make_blobs()
    path = tmp_path / "ckpt.linclf"
    _trainer(path, 3).fit(_fresh(), X, y)
    for p in (path, tmp_path / "ckpt.linclf.prev"):
        p.write_bytes(p.read_bytes()[:100])
    with pytest.raises(ModelFileError, match="no intact checkpoint"):
        _trainer(path, 5).fit(_fresh(), X, y, resume=True)


def test_resume_refuses_a_checkpoint_of_other_data(tmp_path):
    X, y = make_blobs()
    path = tmp_path / "ckpt.linclf"
    _trainer(path, 2).fit(_fresh(), X, y)
    with pytest.raises(ValueError, match="written for other data or settings"):
        _trainer(path, 4).fit(_fresh(), X[:-1], y[:-1], resume=True)
    with pytest.raises(ValueError, match="resume=True needs the Trainer's checkpoint_path"):
        _trainer(None, 4).fit(_fresh(), X, y, resume=True)


def test_checkpoints_hold_no_pickle_and_keep_one_previous(tmp_path):
    X, y = make_blobs()
    path = tmp_path / "ckpt.linclf"
    _trainer(path, 3).fit(_fresh(), X, y)
    with np.load(path, allow_pickle=False) as archive:  # would raise on any object array
        assert {"param.W", "param.b", "perm", "optimizer.velocity.W"} <= set(archive.files)
    assert sorted(os.listdir(tmp_path)) == ["ckpt.linclf", "ckpt.linclf.prev"]


def test_a_corrupt_latest_checkpoint_never_replaces_the_good_previous_one(tmp_path, monkeypatch):
    # Before, the next rotation moved the corrupt latest over the good .prev, and a crash
    # during the write that followed left no intact checkpoint (issue 12, class 2).
    from linclf._training import checkpoint

    X, y = make_blobs(seed=2, spread=3.0)
    path = tmp_path / "ckpt.linclf"
    _trainer(path, 5).fit(_fresh(), X, y)
    previous = tmp_path / "ckpt.linclf.prev"
    good = previous.read_bytes()
    path.write_bytes(path.read_bytes()[:100])  # the latest is corrupt

    def killed_mid_write(*args, **kwargs):
        raise KeyboardInterrupt  # stands for the process dying inside the write

    with monkeypatch.context() as patch:
        patch.setattr(checkpoint.modelfile, "write_model", killed_mid_write)
        with pytest.raises(KeyboardInterrupt):
            checkpoint.write_checkpoint(path, {}, {})
    assert previous.read_bytes() == good
    straight = _fresh()
    _trainer(None, 8, shuffle="batches").fit(straight, X, y)
    resumed = _fresh()
    with pytest.warns(UserWarning, match="resuming from the previous one"):
        _trainer(path, 8).fit(resumed, X, y, resume=True)
    assert resumed["W"].tobytes() == straight["W"].tobytes()


def test_rotation_tolerates_another_writer_moving_the_file_first(tmp_path, monkeypatch):
    from linclf._training import checkpoint

    X, y = make_blobs()
    path = tmp_path / "ckpt.linclf"
    _trainer(path, 2).fit(_fresh(), X, y)
    real_replace = os.replace

    def moved_by_another_trainer(src, dst):
        if os.fspath(dst).endswith(".prev"):
            real_replace(src, dst)  # the other trainer's rotation wins the race...
            raise FileNotFoundError(2, "No such file or directory", os.fspath(src))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", moved_by_another_trainer)
    _trainer(path, 4).fit(_fresh(), X, y)  # ...and this one carries on
    monkeypatch.undo()
    meta, _ = checkpoint.read_checkpoint(path)
    assert meta["kind"] == "checkpoint"


def _other_run(change):
    """A Trainer and fit arguments like _trainer's, with one thing ``change``d."""
    X, y = make_blobs()
    objective, optimizer, seed = LinearObjective("hinge", reg=1e-3), SGD(0.05, momentum=0.9), 3
    if change == "the data (same shape)":
        X = X[::-1].copy()
    elif change == "the weights":
        return _trainer, (X, y), {"sample_weight": np.linspace(0.5, 2.0, len(y))}
    elif change == "the loss":
        objective = LinearObjective("softmax", reg=1e-3)
    elif change == "reg":
        objective = LinearObjective("hinge", reg=1e-2)
    elif change == "the learning rate":
        optimizer = SGD(0.01, momentum=0.9)
    elif change == "the seed":
        seed = 4

    def make(path, max_epochs, **kwargs):
        settings = dict(batch_size=16, max_epochs=max_epochs, tol=None, random_state=seed)
        return Trainer(objective, optimizer, checkpoint_path=path, **settings, **kwargs)

    return make, (X, y), {}


@pytest.mark.parametrize(
    "change",
    ["the data (same shape)", "the weights", "the loss", "reg", "the learning rate", "the seed"],
)
def test_resume_refuses_a_checkpoint_of_another_fit(tmp_path, change):
    # The fingerprint held shapes only: all of these resumed silently (issue 12, class 3).
    X, y = make_blobs()
    path = tmp_path / "ckpt.linclf"
    _trainer(path, 2).fit(_fresh(), X, y)
    make, data, fit_kwargs = _other_run(change)
    with pytest.raises(ValueError, match="written for other data or settings"):
        make(path, 4).fit(_fresh(), *data, resume=True, **fit_kwargs)


@pytest.mark.parametrize("crafted", ["perm", "param.W"])
def test_a_checksum_valid_but_inconsistent_checkpoint_is_refused(tmp_path, crafted):
    from linclf._formats.modelfile import read_model, write_model

    X, y = make_blobs()
    path = tmp_path / "ckpt.linclf"
    _trainer(path, 2, shuffle="batches").fit(_fresh(), X, y)
    meta, arrays = read_model(path)
    if crafted == "perm":
        arrays["perm"] = np.arange(10)  # a permutation of 10 rows for 120
    else:
        arrays["param.W"] = np.zeros((3, 5))  # W of another shape
    write_model(path, meta, arrays)  # fresh checksums
    (tmp_path / "ckpt.linclf.prev").unlink()
    with pytest.raises(ModelFileError, match=f"inconsistent: .*{crafted.split('.')[-1]}"):
        _trainer(path, 4, shuffle="batches").fit(_fresh(), X, y, resume=True)
