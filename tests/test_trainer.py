"""The Trainer: determinism, stopping rules, history, divergence, callbacks."""

from __future__ import annotations

import re

import numpy as np
import pytest

from helpers import Bowl, make_blobs
from linclf import SGD, DivergenceError, LinearObjective, Trainer
from linclf import trainer as trainer_module
from linclf._training import divergence
from linclf._training.stopping import ADAPTIVE_DECAY, MIN_LR_SCALE, Plateau, PlateauStep
from linclf._validation import TrainingData
from linclf.optim import Optimizer


def _fit(X, y, *, seed=0, lr=0.05, momentum=0.9, validation_data=None, **kwargs):
    params = {"W": np.zeros((3, X.shape[1])), "b": np.zeros(3)}
    trainer = Trainer(
        LinearObjective("hinge", reg=1e-3), SGD(lr, momentum=momentum), random_state=seed, **kwargs
    )
    trainer.fit(params, X, y, validation_data=validation_data)
    return trainer, params


def test_same_seed_is_bit_identical_and_other_seed_differs():
    X, y = make_blobs(seed=1)
    _, p1 = _fit(X, y, seed=3, batch_size=16, max_epochs=5, tol=None)
    _, p2 = _fit(X, y, seed=3, batch_size=16, max_epochs=5, tol=None)
    _, p3 = _fit(X, y, seed=4, batch_size=16, max_epochs=5, tol=None)
    assert p1["W"].tobytes() == p2["W"].tobytes() and p1["b"].tobytes() == p2["b"].tobytes()
    assert not np.array_equal(p1["W"], p3["W"])


def test_tol_none_runs_exactly_max_epochs():
    X, y = make_blobs()
    trainer, _ = _fit(X, y, max_epochs=7, tol=None)
    assert trainer.n_epochs_ == 7 and len(trainer.history_["loss"]) == 7
    assert trainer.n_steps_ == 7 * -(-X.shape[0] // 256)
    assert not trainer.converged_


def test_tol_stops_when_loss_stops_improving():
    # Separable blobs reach (near) zero loss quickly; with tol=1e-3 the rule must fire
    # well before 200 epochs, and the last n_iter_no_change epochs did not improve by tol.
    X, y = make_blobs()
    trainer, _ = _fit(X, y, batch_size=16, max_epochs=200, tol=1e-3, n_iter_no_change=3)
    loss = trainer.history_["loss"]
    assert trainer.converged_ and trainer.n_epochs_ < 200
    assert min(loss[-3:]) > min(loss[:-3]) - 1e-3


def test_loss_decreases_and_validation_accuracy_recorded():
    X, y = make_blobs(seed=2)
    trainer, _ = _fit(
        X[::2], y[::2], batch_size=8, max_epochs=10, tol=None, validation_data=(X[1::2], y[1::2])
    )
    loss = trainer.history_["loss"]
    assert loss[-1] < 0.5 * loss[0]
    assert len(trainer.history_["val_accuracy"]) == 10
    assert trainer.history_["val_accuracy"][-1] == 1.0  # blobs are separable


def test_no_shuffle_gives_the_data_order_independent_of_seed():
    X, y = make_blobs()
    _, p1 = _fit(X, y, seed=1, shuffle=False, batch_size=8, max_epochs=2, tol=None)
    _, p2 = _fit(X, y, seed=2, shuffle=False, batch_size=8, max_epochs=2, tol=None)
    np.testing.assert_array_equal(p1["W"], p2["W"])


def test_huge_learning_rate_raises_divergence_and_rolls_back():
    # A learning rate of 1e30 on unscaled data overflows float32 within a few steps.
    rng = np.random.default_rng(0)
    X = rng.normal(scale=1e6, size=(64, 5)).astype(np.float32)
    y = rng.integers(0, 3, size=64)
    params = {"W": np.zeros((3, 5), np.float32), "b": np.zeros(3, np.float32)}
    trainer = Trainer(LinearObjective("hinge", reg=1.0), SGD(1e30), batch_size=8, random_state=0)
    with pytest.raises(DivergenceError, match=r"epoch \d+, batch \d+.*lower learning_rate") as info:
        trainer.fit(params, X, y)
    assert isinstance(info.value, ValueError) and isinstance(info.value, FloatingPointError)
    assert np.all(np.isfinite(params["W"])) and np.all(np.isfinite(params["b"]))


def test_callback_receives_logs_and_can_stop():
    X, y = make_blobs()
    seen = []

    def callback(trainer, log):
        seen.append(dict(log))
        return log["epoch"] == 3

    trainer, _ = _fit(X, y, max_epochs=50, tol=None, callbacks=[callback])
    assert [log["epoch"] for log in seen] == [1, 2, 3]
    assert trainer.n_epochs_ == 3 and trainer.converged_
    assert seen[0]["loss"] == trainer.history_["loss"][0]


def test_sample_weight_zero_rows_do_not_matter():
    # Rows of weight 0 change nothing: training on all rows with the last class zeroed out
    # gives the same W as training on the rest alone, in full-batch mode (no shuffling effect).
    X, y = make_blobs()
    keep = y != 2
    w = keep.astype(float)
    params_w = {"W": np.zeros((3, 4)), "b": np.zeros(3)}
    params_k = {"W": np.zeros((3, 4)), "b": np.zeros(3)}
    for params, args in ((params_w, (X, y, w)), (params_k, (X[keep], y[keep]))):
        trainer = Trainer(
            LinearObjective("hinge"), SGD(0.1), batch_size=10_000, max_epochs=5, tol=None
        )
        trainer.fit(params, *args)
    np.testing.assert_allclose(params_w["W"], params_k["W"], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0}, "batch_size must be >= 1"),
        ({"max_epochs": 0}, "max_epochs must be >= 1"),
        ({"tol": -1.0}, "tol must be >= 0"),
        ({"n_iter_no_change": 0}, "n_iter_no_change must be >= 1"),
        ({"batch_size": 2.5}, "batch_size must be"),
    ],
)
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        Trainer(LinearObjective(), SGD(0.1), **kwargs)


def test_lr_decay_divides_the_rate_on_plateaus_before_stopping():
    # On separable blobs the loss plateaus quickly; with lr_decay the Trainer lowers the
    # rate (by 0.5 each time) until it is below 1/1000, then stops.
    X, y = make_blobs()
    optimizer = SGD(0.05, momentum=0.9)
    trainer = Trainer(
        LinearObjective("hinge", reg=1e-3),
        optimizer,
        batch_size=16,
        max_epochs=500,
        tol=1e-3,
        n_iter_no_change=3,
        lr_decay=0.5,
        random_state=0,
    )
    trainer.fit({"W": np.zeros((3, 4)), "b": np.zeros(3)}, X, y)
    assert trainer.converged_ and trainer.n_epochs_ < 500
    assert optimizer.lr_scale == 0.5**9  # 0.5**10 < 1e-3 <= 0.5**9


def test_early_stopping_restores_the_best_parameters():
    # With early stopping the kept parameters are those of the best validation epoch:
    # recomputing that epoch's accuracy from them gives the recorded best value.
    X, y = make_blobs(seed=5, spread=3.0)
    params = {"W": np.zeros((3, 4)), "b": np.zeros(3)}
    objective = LinearObjective("hinge", reg=1e-3)
    trainer = Trainer(
        objective,
        SGD(0.5, momentum=0.9),
        batch_size=8,
        max_epochs=40,
        tol=0.0,
        n_iter_no_change=40,
        early_stopping=True,
        random_state=0,
    )
    trainer.fit(params, X[::2], y[::2], validation_data=(X[1::2], y[1::2]))
    accuracy = np.mean(np.argmax(objective.scores(params, X[1::2]), axis=1) == y[1::2])
    assert accuracy == max(trainer.history_["val_accuracy"])
    assert trainer.history_["val_accuracy"][trainer.best_epoch_ - 1] == accuracy


def test_learning_rate_1e6_raises_divergence_naming_epoch_and_batch():
    # Acceptance (issue 6, item 3): with η = 1e6 the penalty step W ← (1 - 2λη) W grows
    # 2000x per step until it overflows; the error names where and what to do, and the
    # trainer is left holding finite parameters.
    X, y = make_blobs()
    params = {"W": np.zeros((3, 4)), "b": np.zeros(3)}
    trainer = Trainer(
        LinearObjective("softmax", reg=1e-3),
        SGD(1e6, momentum=0.9),
        batch_size=8,
        max_epochs=50,
        random_state=0,
    )
    message = (
        r"Training diverged at epoch \d+, batch \d+: .*rolled back to the last finite "
        r"state\. Try a lower learning_rate or standardize the features"
    )
    with pytest.raises(DivergenceError, match=message):
        trainer.fit(params, X, y)
    assert np.isfinite(params["W"]).all() and np.isfinite(params["b"]).all()


def test_halving_option_recovers_from_a_rate_far_too_large():
    # on_divergence="halve": roll back, halve, go on, about 15 halvings from 1e6, until no
    # batch loss blows up (over 1,000 times the first) and all 50 epochs are taken. That rate
    # need not converge (with momentum 0.9 it still bounces: accuracy 0.67-1.0 over seeds
    # and machines); test_halving_never_anchors_on_... shows the convergence on a bowl.
    X, y = make_blobs()
    params = {"W": np.zeros((3, 4)), "b": np.zeros(3)}
    optimizer = SGD(1e6, momentum=0.9)
    objective = LinearObjective("softmax", reg=1e-3)
    trainer = Trainer(
        objective,
        optimizer,
        batch_size=8,
        max_epochs=50,
        tol=None,
        random_state=0,
        on_divergence="halve",
    )
    trainer.fit(params, X, y)
    assert 10 <= trainer.n_halvings_ < divergence.MAX_HALVINGS
    assert optimizer.lr_scale == 0.5**trainer.n_halvings_
    losses = np.array(trainer.history_["loss"])
    assert losses.shape == (50,) and np.isfinite(losses).all()
    assert losses.max() < divergence.BLOWUP * np.log(3)  # the start's loss is ln 3 (W = 0)
    assert np.isfinite(params["W"]).all() and np.isfinite(params["b"]).all()


def test_halving_never_anchors_on_an_epoch_end_it_did_not_measure():
    # Three batches an epoch, in order; the first of each has loss 1 more than the others.
    # Epoch 1: batch 1 (loss 1.5) steps to W = 1 - 1000; batch 2 blows up: back to W = 1,
    # η halved; batch 3 (loss 0.5) steps to W = -499 and the epoch ends, its loss (1.0)
    # lower than the start's. An anchor set there had every later halving return to
    # W = -499 (loss 1.2e5, over the 1,500 limit at once) until DivergenceError; the end
    # must wait for the next batch's loss, and W = 1 stays the anchor.
    X, y = np.array([[1.0], [0.0], [0.0]]), np.zeros(3, dtype=int)
    params = {"W": np.ones((1, 1)), "b": None}
    optimizer = SGD(1000.0)
    trainer = Trainer(
        Bowl(), optimizer, batch_size=1, max_epochs=200, tol=None, shuffle=False,
        random_state=0, on_divergence="halve",
    )  # fmt: skip
    trainer.fit(params, X, y)
    # η = 1000 / 2⁹ < 2 is the first rate that contracts (W ← (1 - η) W): no more blow-ups.
    assert trainer.n_halvings_ == 9 and optimizer.lr_scale == 0.5**9
    assert abs(params["W"][0, 0]) < 1e-6  # then SGD converges to the minimum, W = 0
    assert trainer.history_["loss"][-1] == pytest.approx(1 / 3)  # mean(X[:, 0]) alone


def test_non_finite_start_cannot_be_halved_away():
    # A loss that is not finite at the starting parameters is not a learning-rate problem.
    X, y = make_blobs()
    params = {"W": np.full((3, 4), 1e308), "b": np.zeros(3)}
    trainer = Trainer(LinearObjective("hinge"), SGD(0.1), on_divergence="halve", random_state=0)
    with pytest.raises(DivergenceError, match="epoch 1, batch 1"):
        trainer.fit(params, X, y)


def test_fit_data_trusts_its_record_and_trains_exactly_as_fit(monkeypatch):
    # fit checks the raw input once and hands TrainingData records to fit_data, which runs
    # no check of its own (every checker fails the test here) and gives the same bits.
    X, y = make_blobs(seed=4)
    w = np.linspace(0.5, 1.5, X.shape[0])
    settings = {"max_epochs": 6, "tol": 0.0, "early_stopping": True, "random_state": 0}
    params = {"W": np.zeros((3, 4)), "b": np.zeros(3)}
    trainer = Trainer(LinearObjective("hinge", reg=1e-3), SGD(0.05, momentum=0.9), **settings)
    trainer.fit(params, X[::2], y[::2], w[::2], validation_data=(X[1::2], y[1::2]))
    for name in ("check_X", "check_fits_dtype", "check_class_indices", "check_sample_weight"):
        monkeypatch.setattr(trainer_module, name, lambda *args, **kwargs: pytest.fail("checked"))
    trusted = {"W": np.zeros((3, 4)), "b": np.zeros(3)}
    again = Trainer(LinearObjective("hinge", reg=1e-3), SGD(0.05, momentum=0.9), **settings)
    data = TrainingData(X[::2], y[::2], 3, sample_weight=w[::2])
    again.fit_data(trusted, data, validation=TrainingData(X[1::2], y[1::2], 3))
    assert trusted["W"].tobytes() == params["W"].tobytes()
    assert again.history_ == trainer.history_ and again.best_epoch_ == trainer.best_epoch_


class PlainGD:
    """An optimizer with exactly the members of the Optimizer protocol, and no more."""

    def __init__(self, learning_rate):
        self.learning_rate, self.lr_scale = learning_rate, 1.0

    @property
    def current_learning_rate(self):
        return self.learning_rate * self.lr_scale

    def step(self, params, grads):
        for name, grad in grads.items():
            if grad is not None:
                params[name] -= self.current_learning_rate * grad

    def epoch_end(self):
        pass

    def scale_learning_rate(self, factor):
        self.lr_scale *= factor

    def clear_velocity(self):
        pass

    def state_dict(self):
        return {"learning_rate": self.learning_rate, "lr_scale": self.lr_scale}

    def load_state_dict(self, state):
        self.learning_rate, self.lr_scale = state["learning_rate"], state["lr_scale"]


def test_the_trainer_needs_nothing_but_the_optimizer_protocol(tmp_path):
    # Every optimizer attribute the Trainer and its divergence helper touch is a member of
    # linclf.optim.Optimizer, and an optimizer with only those members runs every feature
    # that uses them: lr_decay, halving after a divergence, a checkpoint and its resume.
    sources = [trainer_module.__file__, divergence.__file__]
    used = {m for path in sources for m in re.findall(r"optimizer\.(\w+)", open(path).read())}
    members = {name for name in vars(Optimizer) if not name.startswith("_")}
    # Beyond the protocol, only the optional fused steps (SGD's step_plan, step_plans and
    # count_step), which the Trainer looks for with hasattr: PlainGD has none of them and
    # runs everything.
    optional = {"step_plan", "step_plans", "count_step"}
    assert used - optional == members and len(members) == 8
    assert not any(hasattr(PlainGD, name) for name in optional)
    X, y = make_blobs()
    kwargs = {"batch_size": 8, "tol": 1e-3, "n_iter_no_change": 2, "lr_decay": 0.5}
    kwargs.update(on_divergence="halve", random_state=0)

    def fit(max_epochs, resume=False, **more):
        # η₀ = 1024 diverges at first: 4 halvings, then decays on plateaus down to 1/512.
        params, optimizer = {"W": np.zeros((3, 4)), "b": np.zeros(3)}, PlainGD(1024.0)
        objective = LinearObjective("softmax", reg=1e-3)
        trainer = Trainer(objective, optimizer, max_epochs=max_epochs, **kwargs, **more)
        return trainer.fit(params, X, y, resume=resume), params, optimizer

    straight, params, optimizer = fit(60)
    assert straight.n_halvings_ >= 1 and optimizer.lr_scale < 0.5**straight.n_halvings_
    assert straight.converged_ and straight.n_epochs_ > 4
    fit(4, checkpoint_path=tmp_path / "ckpt.linclf")
    resumed, again, _ = fit(60, checkpoint_path=tmp_path / "ckpt.linclf", resume=True)
    assert again["W"].tobytes() == params["W"].tobytes()
    assert resumed.history_ == straight.history_


# Plateau, by hand with tol = 0.1 and patience 2: an epoch improves when it beats the best
# by more than 0.1; the second epoch in a row that does not is a plateau.
PLATEAU_CASES = {
    "minimize: stop on the second flat epoch": (
        {},
        [(1.0, 1.0), (0.95, 1.0), (0.92, 1.0)],
        [(True, None, False), (True, None, False), (True, None, True)],
    ),
    "maximize: accuracies that rise by less than tol": (
        {"higher_is_better": True},
        [(0.5, 1.0), (0.55, 1.0), (0.4, 1.0)],
        [(True, None, False), (True, None, False), (False, None, True)],
    ),
    "decay on the plateau while lr_scale * decay >= min_scale, then stop": (
        {"decay": 0.5, "min_scale": 0.3},
        [(1.0, 1.0), (1.0, 1.0), (1.0, 1.0), (1.0, 0.5), (1.0, 0.5)],
        [
            (True, None, False),
            (False, None, False),
            (False, 0.5, False),  # 1.0 * 0.5 >= 0.3: decay, patience starts again
            (False, None, False),
            (False, None, True),  # 0.5 * 0.5 < 0.3: stop
        ],
    ),
    "tol=None records the best but never stops": (
        {"tol": None},
        [(1.0, 1.0), (1.0, 1.0), (1.0, 1.0)],
        [(True, None, False), (False, None, False), (False, None, False)],
    ),
}


@pytest.mark.parametrize("case", PLATEAU_CASES)
def test_plateau_steps_match_hand_derived_ones(case):
    kwargs, updates, expected = PLATEAU_CASES[case]
    plateau = Plateau(kwargs.pop("tol", 0.1), 2, **kwargs)
    steps = [plateau.update(value, scale) for value, scale in updates]
    assert steps == [PlateauStep(*step) for step in expected]


def test_plateau_state_round_trip_and_the_adaptive_constants():
    plateau = Plateau(0.1, 3, higher_is_better=True)
    for value in (0.2, 0.9, 0.85):
        plateau.update(value)
    assert plateau.state_dict() == {"best": -0.9, "bad_epochs": 1}  # best in minimized form
    twin = Plateau(0.1, 3, higher_is_better=True)
    twin.load_state_dict({"best": "-0.9", "bad_epochs": 1})
    assert [twin.update(0.8), twin.update(0.8)] == [plateau.update(0.8), plateau.update(0.8)]
    assert (ADAPTIVE_DECAY, MIN_LR_SCALE) == (0.2, 1e-3)  # scikit-learn's "adaptive" rule
