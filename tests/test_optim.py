"""Tests of linclf.optim: update rules, in-place contract, validation, schedules and state."""

import io
import json
import math
import re
import tracemalloc

import numpy as np
import pytest

from linclf.optim import (
    SGD,
    ConstantSchedule,
    CosineSchedule,
    InvScalingSchedule,
    Schedule,
    StepSchedule,
    make_schedule,
    schedule_from_dict,
)

N_EPOCHS = 60
STEPS_PER_EPOCH = 10

OPTIMIZERS = {
    "plain": {},
    "momentum": {"momentum": 0.9},
    "nesterov": {"momentum": 0.9, "nesterov": True},
}

SCHEDULES = {
    "constant": ConstantSchedule(),
    "step": StepSchedule(step_size=10, gamma=0.5),
    "invscaling": InvScalingSchedule(t0=100.0, power=0.5),
    "cosine": CosineSchedule(total_epochs=N_EPOCHS, min_factor=0.0),
}

SHAPES = {"W": (3, 4), "b": (3,)}


def _parabola(seed=0):
    """Curvatures a in [1, 2] and minimum c in [-3, 3] of f(w) = ½ Σ a_i (w_i − c_i)²."""
    rng = np.random.default_rng(seed)
    a = {name: rng.uniform(1.0, 2.0, shape) for name, shape in SHAPES.items()}
    c = {name: rng.uniform(-3.0, 3.0, shape) for name, shape in SHAPES.items()}
    return a, c


def _parabola_grads(params, a, c):
    """∇f = a ⊙ (w − c), in each parameter's dtype."""
    return {name: (a[name] * (w - c[name])).astype(w.dtype) for name, w in params.items()}


def _train(opt, params, a, c, n_steps, steps_per_epoch=3):
    for i in range(n_steps):
        opt.step(params, _parabola_grads(params, a, c))
        if (i + 1) % steps_per_epoch == 0:
            opt.epoch_end()


def _assert_states_equal(s1, s2):
    assert s1.keys() == s2.keys()
    for key, value in s1.items():
        if isinstance(value, np.ndarray):
            assert value.dtype == s2[key].dtype
            np.testing.assert_array_equal(value, s2[key], strict=True)
        else:
            assert type(value) is type(s2[key])
            assert value == s2[key]


# Every optimizer × schedule reaches the known minimum of a parabola (optax-style table).
# float64 atol 1e-10: the slowest mode (heavy ball, μ = 0.9) contracts by √μ ≈ 0.95 per step,
# 0.95^600 · 3 ≈ 1e-13, and rounding noise is ~1e-15. float32 atol 2e-6: c itself rounds to
# float32 with error up to 3 · 2⁻²⁴ ≈ 1.8e-7, plus a few ulp of gradient noise; 10× margin.
@pytest.mark.parametrize("dtype, atol", [(np.float64, 1e-10), (np.float32, 2e-6)])
@pytest.mark.parametrize("schedule", SCHEDULES.values(), ids=SCHEDULES.keys())
@pytest.mark.parametrize("config", OPTIMIZERS.values(), ids=OPTIMIZERS.keys())
def test_converges_to_parabola_minimum(config, schedule, dtype, atol):
    a, c = _parabola()
    params = {name: np.zeros(shape, dtype=dtype) for name, shape in SHAPES.items()}
    opt = SGD(0.3, schedule=schedule, **config)
    _train(opt, params, a, c, N_EPOCHS * STEPS_PER_EPOCH, steps_per_epoch=STEPS_PER_EPOCH)
    for name, w in params.items():
        assert w.dtype == dtype
        np.testing.assert_allclose(w, c[name], rtol=0, atol=atol)
    assert (opt.t, opt.epoch) == (N_EPOCHS * STEPS_PER_EPOCH, N_EPOCHS)


W0 = [1.0, -2.0]
GRADS = [[2.0, 4.0], [-2.0, 0.0], [4.0, 8.0]]
# Worked by hand with η = 0.5, μ = 0.5 from W0 and GRADS (see the module's convention):
#   plain     w ← w − η g
#   momentum  v ← μ v + g = [2, 4], [-1, 2], [3.5, 9];  w ← w − η v
#   nesterov  same v;  w ← w − η (g + μ v), steps [3, 6], [-2.5, 1], [5.75, 12.5]
HAND_COMPUTED = [
    ("plain", {}, [[0.0, -4.0], [1.0, -4.0], [-1.0, -8.0]]),
    ("momentum", {"momentum": 0.5}, [[0.0, -4.0], [0.5, -5.0], [-1.25, -9.5]]),
    (
        "nesterov",
        {"momentum": 0.5, "nesterov": True},
        [[-0.5, -5.0], [0.75, -5.5], [-2.125, -11.75]],
    ),
]


# The three update rules match hand-computed steps exactly: every value is a short dyadic
# fraction, so each operation is exact in float32 and float64 and equality is the right test.
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "config, expected", [(k, e) for _, k, e in HAND_COMPUTED], ids=[n for n, _, _ in HAND_COMPUTED]
)
def test_update_matches_hand_computed_steps(config, expected, dtype):
    w = np.array(W0, dtype=dtype)
    opt = SGD(0.5, **config)
    for grad, want in zip(GRADS, expected, strict=True):
        opt.step({"w": w}, {"w": np.array(grad, dtype=dtype)})
        np.testing.assert_array_equal(w, np.array(want, dtype=dtype), strict=True)


# η multiplies the velocity when applied (PyTorch), not when accumulated (Sutskever), which
# shows once η changes: by hand, step 1 (η=0.5) v=[2,4], w=[0,-4]; step 2 (η=0.25)
# v=[-1,2], w=[0.25,-4.5] (Sutskever's rule would give [0,-5]). Exact dyadic arithmetic.
def test_scheduled_momentum_applies_learning_rate_to_velocity():
    w = np.array(W0)
    opt = SGD(0.5, momentum=0.5, schedule=StepSchedule(step_size=1, gamma=0.5))
    opt.step({"w": w}, {"w": np.array(GRADS[0])})
    opt.epoch_end()
    opt.step({"w": w}, {"w": np.array(GRADS[1])})
    np.testing.assert_array_equal(w, [0.25, -4.5])


# First step from W = 1, b = 0 with g_W = 2, g_b = ±1, η = 0.25, μ = 0.5, by hand: plain and
# heavy ball move by η g (v = g); Nesterov by η (g + μ v) = 1.5 η g. All values are exact.
FIRST_STEP = [
    ("plain", {}, 0.5, [-0.25, 0.25]),
    ("momentum", {"momentum": 0.5}, 0.5, [-0.25, 0.25]),
    ("nesterov", {"momentum": 0.5, "nesterov": True}, 0.25, [-0.375, 0.375]),
]


# Updates are in place: the same array objects (and views into them, even strided ones) see
# the update, the dtype is kept, gradients are untouched and velocity has the param's dtype.
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "config, w_after, b_after", [r[1:] for r in FIRST_STEP], ids=[r[0] for r in FIRST_STEP]
)
def test_step_updates_in_place(config, w_after, b_after, dtype):
    base = np.ones((2, 6), dtype=dtype)
    W = base[:, ::2]  # a non-contiguous parameter: updates must land in base
    b = np.zeros(2, dtype=dtype)
    column = W[:, 1]
    params = {"W": W, "b": b}
    grads = {"W": np.full((2, 3), 2.0, dtype=dtype), "b": np.array([1.0, -1.0])}
    grads_before = {name: g.copy() for name, g in grads.items()}
    opt = SGD(0.25, **config)
    opt.step(params, grads)
    assert params["W"] is W and params["b"] is b
    np.testing.assert_array_equal(column, [w_after, w_after])
    np.testing.assert_array_equal(base[:, ::2], np.full((2, 3), w_after))
    np.testing.assert_array_equal(base[:, 1::2], np.ones((2, 3)))
    np.testing.assert_array_equal(b, b_after)
    assert W.dtype == dtype and b.dtype == dtype  # a float64 grad did not upcast b
    for name, g in grads.items():
        np.testing.assert_array_equal(g, grads_before[name], strict=True)
    for key, value in opt.state_dict().items():
        if key.startswith("velocity."):
            assert value.dtype == dtype


# A None gradient skips its parameter: bit-for-bit unchanged and no velocity kept for it.
@pytest.mark.parametrize("config", OPTIMIZERS.values(), ids=OPTIMIZERS.keys())
def test_none_gradient_skips_parameter(config):
    W, b = np.ones((2, 3)), np.array([0.1, 0.2])
    opt = SGD(0.1, **config)
    for _ in range(3):
        opt.step({"W": W, "b": b}, {"W": np.ones((2, 3)), "b": None})
    np.testing.assert_array_equal(b, [0.1, 0.2])
    assert not np.array_equal(W, np.ones((2, 3)))
    state = opt.state_dict()
    assert "velocity.b" not in state
    assert ("velocity.W" in state) == (config.get("momentum", 0.0) > 0)
    assert opt.t == 3


# After warm-up a step allocates nothing of parameter size: tracemalloc (which sees NumPy's
# data buffers) must report a peak far below one 800 kB array; a `w -= lr * g` would fail.
@pytest.mark.parametrize("config", OPTIMIZERS.values(), ids=OPTIMIZERS.keys())
def test_step_allocates_no_full_size_temporaries(config):
    w, g = np.zeros(100_000), np.ones(100_000)
    opt = SGD(0.1, **config)
    opt.step({"w": w}, {"w": g})
    tracemalloc.start()
    try:
        opt.step({"w": w}, {"w": g})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < w.nbytes // 10


def _readonly(shape):
    array = np.zeros(shape)
    array.flags.writeable = False
    return array


BAD_STEPS = [
    ({"W": np.zeros((2, 3))}, {"W": np.zeros((2, 3)), "b": np.zeros(2)}, ValueError, "['b']"),
    ({"W": np.zeros((2, 3))}, {"V": np.zeros((2, 3))}, ValueError, "same keys as params"),
    ({"W": np.zeros((2, 3))}, {"W": np.zeros((3, 2))}, ValueError, "grads['W'] has shape (3, 2)"),
    ({"W": np.zeros((2, 3), dtype=int)}, {"W": np.zeros((2, 3))}, TypeError, "params['W']"),
    ({"W": [[0.0, 0.0]]}, {"W": np.zeros((1, 2))}, TypeError, "params['W']"),
    ({"W": np.zeros((1, 2))}, {"W": [[0.0, 0.0]]}, TypeError, "grads['W']"),
    ({"W": _readonly((1, 2))}, {"W": np.zeros((1, 2))}, ValueError, "params['W'] is read-only"),
    ([np.zeros(2)], [np.zeros(2)], TypeError, "mappings"),
]


# Bad params/grads raise a specific error naming the entry, before any parameter moves: the
# valid "a" listed first stays untouched and t does not advance.
@pytest.mark.parametrize("params, grads, error, match", BAD_STEPS)
def test_step_rejects_bad_inputs_without_updating(params, grads, error, match):
    a = np.ones(2)
    if isinstance(params, dict):
        params, grads = {"a": a, **params}, {"a": np.ones(2), **grads}
    opt = SGD(0.1, momentum=0.5)
    with pytest.raises(error, match=re.escape(match)):
        opt.step(params, grads)
    np.testing.assert_array_equal(a, np.ones(2))
    assert opt.t == 0
    assert not any(key.startswith("velocity.") for key in opt.state_dict())


# A parameter whose shape changes under the same name is refused rather than broadcast
# against the stale velocity; reset() clears it.
def test_step_rejects_parameter_that_changed_shape():
    opt = SGD(0.1, momentum=0.5)
    opt.step({"W": np.zeros((2, 3))}, {"W": np.ones((2, 3))})
    with pytest.raises(ValueError, match=r"velocity buffer for 'W' has shape \(2, 3\)"):
        opt.step({"W": np.zeros((3, 3))}, {"W": np.ones((3, 3))})
    opt.reset()
    opt.step({"W": np.zeros((3, 3))}, {"W": np.ones((3, 3))})


BAD_HYPERPARAMETERS = [
    ({"learning_rate": -1.0}, ValueError, "learning_rate must be > 0, got -1.0"),
    ({"learning_rate": 0}, ValueError, "learning_rate must be > 0, got 0.0"),
    ({"learning_rate": float("nan")}, ValueError, "learning_rate must be finite, got nan"),
    ({"learning_rate": float("inf")}, ValueError, "learning_rate must be finite, got inf"),
    ({"learning_rate": True}, TypeError, "learning_rate must be a real number, got True"),
    ({"learning_rate": np.True_}, TypeError, "learning_rate must be a real number"),
    ({"learning_rate": "0.1"}, TypeError, "learning_rate must be a real number, got '0.1'"),
    ({"learning_rate": None}, TypeError, "learning_rate must be a real number, got None"),
    ({"learning_rate": 1j}, TypeError, "learning_rate must be a real number"),
    ({"momentum": -0.1}, ValueError, "momentum must be in [0, 1), got -0.1"),
    ({"momentum": 1.0}, ValueError, "momentum must be in [0, 1), got 1.0"),
    ({"momentum": False}, TypeError, "momentum must be a real number, got False"),
    ({"momentum": float("nan")}, ValueError, "momentum must be finite"),
    ({"momentum": 0.5, "nesterov": 1}, TypeError, "nesterov must be a bool, got 1"),
    ({"momentum": 0.5, "nesterov": "yes"}, TypeError, "nesterov must be a bool"),
    ({"nesterov": True}, ValueError, "(nesterov=True) requires momentum > 0, got momentum=0.0"),
    ({"schedule": "warmup"}, ValueError, "unknown schedule 'warmup'"),
    ({"schedule": lambda t, epoch: 1.0}, TypeError, "schedule must be None, a schedule name"),
    ({"schedule": 0.5}, TypeError, "schedule must be None"),
    ({"schedule": "cosine"}, TypeError, "total_epochs"),
]


# Every bad hyperparameter is refused by the constructor with the right exception type and a
# message naming the parameter and the bad value.
@pytest.mark.parametrize("kwargs, error, match", BAD_HYPERPARAMETERS)
def test_constructor_rejects_bad_hyperparameters(kwargs, error, match):
    with pytest.raises(error, match=re.escape(match)):
        SGD(**kwargs)


# NumPy scalars are accepted and stored as Python scalars; the schedule name is resolved.
def test_constructor_accepts_numpy_scalars():
    opt = SGD(np.float32(0.5), momentum=np.float64(0.25), nesterov=np.True_, schedule="step")
    assert (opt.learning_rate, opt.momentum, opt.nesterov) == (0.5, 0.25, True)
    assert type(opt.learning_rate) is float and type(opt.nesterov) is bool
    assert opt.schedule == StepSchedule()


BAD_SCHEDULES = [
    (StepSchedule, {"step_size": 0}, ValueError, "step_size must be >= 1, got 0"),
    (StepSchedule, {"step_size": 2.0}, TypeError, "step_size must be an integer, got 2.0"),
    (StepSchedule, {"step_size": True}, TypeError, "step_size must be an integer, got True"),
    (StepSchedule, {"gamma": 0.0}, ValueError, "gamma must be in (0, 1], got 0.0"),
    (StepSchedule, {"gamma": 1.5}, ValueError, "gamma must be in (0, 1], got 1.5"),
    (StepSchedule, {"gamma": "0.1"}, TypeError, "gamma must be a real number"),
    (InvScalingSchedule, {"t0": 0.0}, ValueError, "t0 must be > 0, got 0.0"),
    (InvScalingSchedule, {"t0": float("inf")}, ValueError, "t0 must be finite"),
    (InvScalingSchedule, {"power": -0.5}, ValueError, "power must be > 0, got -0.5"),
    (InvScalingSchedule, {"power": None}, TypeError, "power must be a real number"),
    (CosineSchedule, {"total_epochs": 0}, ValueError, "total_epochs must be >= 1, got 0"),
    (CosineSchedule, {"total_epochs": 5.5}, TypeError, "total_epochs must be an integer"),
    (CosineSchedule, {}, TypeError, "total_epochs"),
    (
        CosineSchedule,
        {"total_epochs": 5, "min_factor": 1.5},
        ValueError,
        "min_factor must be in [0, 1], got 1.5",
    ),
    (CosineSchedule, {"total_epochs": 5, "min_factor": -0.1}, ValueError, "min_factor"),
]


# Schedules validate their own parameters, both when built directly and through
# make_schedule by name; messages name the parameter and the bad value.
@pytest.mark.parametrize("build", ["class", "make_schedule"])
@pytest.mark.parametrize("cls, kwargs, error, match", BAD_SCHEDULES)
def test_schedules_reject_bad_parameters(cls, kwargs, error, match, build):
    with pytest.raises(error, match=re.escape(match)):
        if build == "class":
            cls(**kwargs)
        else:
            make_schedule(cls.name, **kwargs)


SQRT2 = math.sqrt(2.0)
# Multipliers m(t, e) worked out by hand from each docstring formula.
SCHEDULE_VALUES = [
    (ConstantSchedule(), 0, 0, 1.0),
    (ConstantSchedule(), 50, 7, 1.0),
    (StepSchedule(step_size=3, gamma=0.5), 0, 2, 1.0),  # 0.5^⌊2/3⌋ = 0.5^0
    (StepSchedule(step_size=3, gamma=0.5), 0, 3, 0.5),
    (StepSchedule(step_size=3, gamma=0.5), 99, 7, 0.25),  # ⌊7/3⌋ = 2; t is ignored
    (InvScalingSchedule(t0=2.0, power=0.5), 0, 0, 1.0),  # defined at t = 0
    (InvScalingSchedule(t0=2.0, power=0.5), 6, 0, 0.5),  # 1/√(1 + 3)
    (InvScalingSchedule(t0=2.0, power=0.5), 16, 9, 1.0 / 3.0),  # 1/√9; epoch is ignored
    (InvScalingSchedule(t0=1.0, power=1.0), 4, 0, 0.2),  # 1/(1 + 4)
    (CosineSchedule(total_epochs=4, min_factor=0.2), 0, 0, 1.0),
    (CosineSchedule(total_epochs=4, min_factor=0.2), 0, 1, 0.6 + 0.2 * SQRT2),  # cos(π/4)=√2/2
    (CosineSchedule(total_epochs=4, min_factor=0.2), 0, 2, 0.6),  # cos(π/2) = 0
    (CosineSchedule(total_epochs=4, min_factor=0.2), 0, 4, 0.2),  # cos(π) = −1
    (CosineSchedule(total_epochs=4, min_factor=0.2), 0, 11, 0.2),  # held at the minimum
    (CosineSchedule(total_epochs=4), 9, 3, 0.5 - 0.25 * SQRT2),  # η_min = 0
]


# Each schedule equals its formula at a few points: directly, and as η₀·m through the
# optimizer's counters (t from steps, e from epoch_end). rel 1e-14: the code evaluates the
# same formula in another association order, a few ulp apart at most.
@pytest.mark.parametrize("schedule, t, epoch, multiplier", SCHEDULE_VALUES)
def test_schedule_values_match_formula(schedule, t, epoch, multiplier):
    assert schedule(t, epoch) == pytest.approx(multiplier, rel=1e-14, abs=0)
    opt = SGD(0.2, schedule=schedule)
    for _ in range(t):
        opt.step({"w": np.zeros(1)}, {"w": None})
    for _ in range(epoch):
        opt.epoch_end()
    assert (opt.t, opt.epoch) == (t, epoch)
    assert opt.current_learning_rate == pytest.approx(0.2 * multiplier, rel=1e-14, abs=0)


# The brief's absolute form of cosine annealing, η_min + ½(η₀ − η_min)(1 + cos(π e / E)), is
# what the min_factor form yields; rel 1e-14 for the rearranged rounding.
@pytest.mark.parametrize("epoch", [0, 1, 3, 5, 7, 10])
def test_cosine_matches_absolute_formula(epoch):
    eta0, eta_min, total = 0.3, 0.03, 10
    expected = eta_min + 0.5 * (eta0 - eta_min) * (1.0 + math.cos(math.pi * epoch / total))
    schedule = CosineSchedule(total_epochs=total, min_factor=eta_min / eta0)
    assert eta0 * schedule(0, epoch) == pytest.approx(expected, rel=1e-14, abs=0)


# A step uses exactly current_learning_rate: from w = 0 with g = 1 plain SGD lands on −η,
# exactly, and η follows the step and epoch counters.
def test_step_uses_current_learning_rate():
    opt = SGD(0.4, schedule=StepSchedule(step_size=1, gamma=0.5))
    for epoch in range(4):
        w = np.zeros(1)
        expected = opt.current_learning_rate
        assert expected == 0.4 * 0.5**epoch
        opt.step({"w": w}, {"w": np.ones(1)})
        assert w[0] == -expected
        opt.epoch_end()


# make_schedule builds by name with parameters, maps None to constant and passes instances
# through unchanged.
@pytest.mark.parametrize(
    "arg, kwargs, expected",
    [
        (None, {}, ConstantSchedule()),
        ("constant", {}, ConstantSchedule()),
        ("step", {"step_size": 4}, StepSchedule(step_size=4, gamma=0.1)),
        ("invscaling", {"power": 1.0}, InvScalingSchedule(t0=1.0, power=1.0)),
        ("cosine", {"total_epochs": 8}, CosineSchedule(total_epochs=8, min_factor=0.0)),
    ],
)
def test_make_schedule_builds_by_name(arg, kwargs, expected):
    schedule = make_schedule(arg, **kwargs)
    assert schedule == expected and type(schedule) is type(expected)


def test_make_schedule_passes_instances_through():
    schedule = CosineSchedule(total_epochs=3)
    assert make_schedule(schedule) is schedule
    with pytest.raises(TypeError, match="only be given with a schedule name"):
        make_schedule(schedule, total_epochs=4)


# An unknown name (including a wrong case) lists every valid name in the error.
@pytest.mark.parametrize("name", ["exponential", "Step", ""])
def test_make_schedule_unknown_name_lists_valid_names(name):
    with pytest.raises(ValueError, match=f"unknown schedule {name!r}") as info:
        make_schedule(name)
    for valid in ["constant", "step", "invscaling", "cosine"]:
        assert repr(valid) in str(info.value)


# to_dict gives plain scalars only (JSON-ready) and schedule_from_dict rebuilds an equal
# schedule, also after a JSON round trip.
@pytest.mark.parametrize("schedule", SCHEDULES.values(), ids=SCHEDULES.keys())
def test_schedule_dict_round_trip(schedule):
    data = schedule.to_dict()
    assert data["name"] == schedule.name
    assert all(type(value) in (str, int, float) for value in data.values())
    assert schedule_from_dict(data) == schedule
    assert schedule_from_dict(json.loads(json.dumps(data))) == schedule


@pytest.mark.parametrize(
    "data, match",
    [
        ({"step_size": 3, "gamma": 0.5}, "needs a 'name' key"),
        ({"name": "warmup"}, "unknown schedule 'warmup'"),
        ({"name": "step", "step_size": 3}, "missing ['gamma']"),
        ({"name": "constant", "gamma": 0.5}, "unexpected ['gamma']"),
    ],
)
def test_schedule_from_dict_rejects_bad_dicts(data, match):
    with pytest.raises(ValueError, match=re.escape(match)):
        schedule_from_dict(data)


# A user-defined subclass obeys the protocol: SGD uses its multiplier, and a subclass that
# is not a dataclass still serialises (as its name alone) instead of crashing state_dict.
def test_custom_schedule_subclass():
    class Halve(Schedule):
        name = "halve"

        def __call__(self, t, epoch):
            return 0.5

    opt = SGD(0.5, schedule=Halve())
    assert opt.current_learning_rate == 0.25
    assert opt.state_dict()["schedule.name"] == "halve"


def _mixed_params():
    a, c = _parabola(seed=1)
    params = {"W": np.zeros(SHAPES["W"], dtype=np.float32), "b": np.zeros(SHAPES["b"])}
    return params, a, c


# state_dict → load_state_dict into a differently configured optimizer (fresh, or one with
# existing buffers that must be overwritten) continues bit-identically: same params and
# same state after further steps and epoch boundaries, for float32 and float64 params.
@pytest.mark.parametrize("target", ["fresh", "used"])
@pytest.mark.parametrize("schedule", SCHEDULES.values(), ids=SCHEDULES.keys())
@pytest.mark.parametrize("config", OPTIMIZERS.values(), ids=OPTIMIZERS.keys())
def test_state_dict_round_trip_continues_bit_identically(config, schedule, target):
    params, a, c = _mixed_params()
    original = SGD(0.1, schedule=schedule, **config)
    _train(original, params, a, c, n_steps=7)
    restored = SGD(0.9, momentum=0.3)
    if target == "used":
        _train(restored, _mixed_params()[0], a, c, n_steps=2)
    restored.load_state_dict(original.state_dict())
    assert repr(restored) == repr(original)
    twin = {name: w.copy() for name, w in params.items()}
    _train(original, params, a, c, n_steps=8)
    _train(restored, twin, a, c, n_steps=8)
    for name, w in params.items():
        np.testing.assert_array_equal(twin[name], w, strict=True)
    _assert_states_equal(restored.state_dict(), original.state_dict())


# The state holds only str/int/float/bool and ndarrays, so it survives .npz (no pickle) +
# JSON and still continues bit-identically.
@pytest.mark.parametrize("config", OPTIMIZERS.values(), ids=OPTIMIZERS.keys())
def test_state_survives_npz_and_json(config):
    params, a, c = _mixed_params()
    original = SGD(0.1, schedule=StepSchedule(step_size=2, gamma=0.5), **config)
    _train(original, params, a, c, n_steps=5)
    state = original.state_dict()
    assert all(isinstance(key, str) for key in state)
    assert all(type(v) in (str, int, float, bool, np.ndarray) for v in state.values())
    arrays = {k: v for k, v in state.items() if isinstance(v, np.ndarray)}
    scalars = json.dumps({k: v for k, v in state.items() if k not in arrays})
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as npz:
        loaded = {**json.loads(scalars), **{k: npz[k] for k in npz.files}}
    restored = SGD()
    restored.load_state_dict(loaded)
    twin = {name: w.copy() for name, w in params.items()}
    _train(original, params, a, c, n_steps=4)
    _train(restored, twin, a, c, n_steps=4)
    for name, w in params.items():
        np.testing.assert_array_equal(twin[name], w, strict=True)


# Arrays in and out of the state are copies: scribbling on a returned state, or on a state
# after loading it, leaves the optimizer's velocity (hence its next step) unchanged.
@pytest.mark.parametrize("target", ["fresh", "used"])
def test_state_arrays_are_copies(target):
    params, a, c = _mixed_params()
    opt = SGD(0.1, momentum=0.9)
    _train(opt, params, a, c, n_steps=3)
    reference = opt.state_dict()
    for value in opt.state_dict().values():
        if isinstance(value, np.ndarray):
            value[...] = 1e6
    _assert_states_equal(opt.state_dict(), reference)

    other = SGD(0.1, momentum=0.9)
    if target == "used":
        _train(other, _mixed_params()[0], a, c, n_steps=1)
    state = opt.state_dict()
    other.load_state_dict(state)
    for value in state.values():
        if isinstance(value, np.ndarray):
            value[...] = -1e6
    _assert_states_equal(other.state_dict(), reference)


def _without(key):
    return lambda state: {k: v for k, v in state.items() if k != key}


def _with(key, value):
    return lambda state: {**state, key: value}


BAD_STATES = [
    (_without("t"), ValueError, "missing keys ['t']"),
    (_without("schedule.name"), ValueError, "missing keys ['schedule.name']"),
    (_without("schedule.gamma"), ValueError, "missing ['gamma']"),
    (_with("schedule.foo", 1.0), ValueError, "unexpected ['foo']"),
    (_with("lr", 0.1), ValueError, "unknown keys: 'lr'"),
    (_with("velocity.", np.zeros(2)), ValueError, "unknown keys"),
    (_with(3, 0.1), ValueError, "unknown keys: 3"),
    (_with("velocity.W", np.zeros((4, 3), dtype=np.float32)), ValueError, "has shape (4, 3)"),
    (_with("velocity.W", np.zeros((3, 4))), ValueError, "dtype float64"),
    (_with("velocity.W", [[0.0] * 4] * 3), TypeError, "state['velocity.W'] must be"),
    (_with("learning_rate", -1.0), ValueError, "learning_rate must be > 0, got -1.0"),
    (_with("momentum", 0.0), ValueError, "velocity buffers ['W', 'b'] but momentum is 0"),
    (_with("nesterov", "no"), TypeError, "nesterov must be a bool"),
    (_with("t", -1), ValueError, "t must be >= 0, got -1"),
    (_with("epoch", 1.5), TypeError, "epoch must be an integer, got 1.5"),
    (_with("schedule.name", "warmup"), ValueError, "unknown schedule 'warmup'"),
    (_with("schedule.gamma", 2.0), ValueError, "gamma must be in (0, 1], got 2.0"),
]


# load_state_dict refuses missing/unknown keys, bad values and velocity arrays that do not
# fit the existing buffers, with specific messages, and leaves the optimizer unchanged.
@pytest.mark.parametrize("corrupt, error, match", BAD_STATES)
def test_load_state_dict_rejects_bad_state(corrupt, error, match):
    params, a, c = _mixed_params()
    source = SGD(0.1, momentum=0.5, schedule=StepSchedule(step_size=2, gamma=0.5))
    _train(source, params, a, c, n_steps=3)
    target = SGD(0.2, momentum=0.5)
    _train(target, _mixed_params()[0], a, c, n_steps=2)
    before = target.state_dict()
    with pytest.raises(error, match=re.escape(match)):
        target.load_state_dict(corrupt(source.state_dict()))
    _assert_states_equal(target.state_dict(), before)


# A loaded velocity that fits no parameter is caught at the next step, not broadcast.
def test_loaded_velocity_of_wrong_shape_is_caught_by_step():
    opt = SGD(0.1, momentum=0.5)
    state = {**opt.state_dict(), "velocity.W": np.zeros((4, 3))}
    opt.load_state_dict(state)
    with pytest.raises(ValueError, match=r"velocity buffer for 'W' has shape \(4, 3\)"):
        opt.step({"W": np.zeros((3, 4))}, {"W": np.ones((3, 4))})


# reset() forgets velocity and counters but keeps hyperparameters: afterwards the optimizer
# behaves exactly like a freshly constructed one.
def test_reset_matches_fresh_optimizer():
    params, a, c = _mixed_params()
    opt = SGD(0.1, momentum=0.9, nesterov=True, schedule=StepSchedule(step_size=1, gamma=0.5))
    _train(opt, params, a, c, n_steps=5)
    opt.reset()
    fresh = SGD(0.1, momentum=0.9, nesterov=True, schedule=StepSchedule(step_size=1, gamma=0.5))
    _assert_states_equal(opt.state_dict(), fresh.state_dict())
    assert (opt.t, opt.epoch, opt.current_learning_rate) == (0, 0, 0.1)
    twin = {name: w.copy() for name, w in params.items()}
    _train(opt, params, a, c, n_steps=4)
    _train(fresh, twin, a, c, n_steps=4)
    for name, w in params.items():
        np.testing.assert_array_equal(twin[name], w, strict=True)


def test_scale_learning_rate_multiplies_later_steps_and_survives_state_round_trip():
    # One plain step at η, then scale by 0.25: the next step moves by 0.25·η·g exactly
    # (powers of two keep the float64 arithmetic exact).
    w = np.array([1.0, -1.0])
    opt = SGD(0.5)
    opt.step({"w": w}, {"w": np.array([1.0, 2.0])})
    opt.scale_learning_rate(0.25)
    assert opt.lr_scale == 0.25 and opt.current_learning_rate == 0.125
    opt.step({"w": w}, {"w": np.array([4.0, 8.0])})
    np.testing.assert_array_equal(w, [1.0 - 0.5 - 0.5, -1.0 - 1.0 - 1.0])
    restored = SGD(0.5)
    restored.load_state_dict(opt.state_dict())
    assert restored.lr_scale == 0.25
    with pytest.raises(ValueError, match="factor must be > 0"):
        opt.scale_learning_rate(0.0)


def test_invscaling_multiplier_matches_its_docstring_by_hand():
    # (1 + 3/1)^-0.5 = 1/2 exactly: the value the class docstring states.
    assert InvScalingSchedule(t0=1.0, power=0.5)(t=3, epoch=0) == 0.5


# The estimators' schedule names, written out here rather than read from the package: the
# optimizer's four plus the estimators' default "adaptive" (constant, decayed on plateaus).
ESTIMATOR_SCHEDULES = ["adaptive", "constant", "step", "invscaling", "cosine"]


def test_estimator_schedule_error_lists_every_accepted_name_the_default_included():
    from linclf import LinearSVM

    X, y = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, -1.0], [-1.0, 0.0]]), np.array([0, 0, 1, 1])
    with pytest.raises(ValueError, match="schedule") as info:
        LinearSVM(schedule="warmup").fit(X, y)
    message = str(info.value)
    assert "'warmup'" in message
    assert all(repr(name) in message for name in ESTIMATOR_SCHEDULES), message
    for name in ESTIMATOR_SCHEDULES:  # and the names it lists are indeed accepted
        LinearSVM(schedule=name, solver="sgd", max_epochs=2, tol=None).fit(X, y)
