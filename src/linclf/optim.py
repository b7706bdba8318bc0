"""Optimizers: the protocol a training loop relies on, SGD with momentum, and schedules.

Optimizer protocol
------------------
Parameters and gradients are mappings ``name -> ndarray`` with the same keys, e.g.
``{"W": W, "b": b}`` and ``{"W": dW, "b": db}``. An :class:`Optimizer` (:class:`SGD` is
linclf's) has:

- ``step(params, grads)``: update every parameter *in place* (callers may hold views),
  never the gradients; a ``None`` gradient (no intercept) leaves its parameter untouched;
- ``epoch_end()``: called by the training loop at the end of every epoch;
- ``scale_learning_rate(factor)``: multiply every later learning rate by ``factor > 0`` on
  top of any schedule; ``lr_scale`` is the product of the factors so far (1.0 at first);
- ``current_learning_rate``: the rate the next step will use;
- ``clear_velocity()``: zero the momentum, keep the counters (a rolled-back divergent
  step's exploding velocity must not be applied again);
- ``state_dict()`` / ``load_state_dict(state)``: the whole state as a flat dict of plain
  scalars and ndarrays (JSON and ``.npz``, no pickle), restored exactly.

Optionally (:class:`SGD` has them), ``step_plan(params)`` and ``count_step()``: the
next step's rate, momentum and velocity buffers for a kernel that applies the update
itself, with the bits of ``step``, and the count of such a step; the Trainer uses them
when the objective has ``loss_grad_step``, and ``step`` otherwise.

A :class:`Schedule` ``m(t, epoch)`` multiplies the base rate η₀ (``t``: steps taken, 0 during
the first; ``epoch``: ``epoch_end()`` calls); docs/optimizers.md has them all.

Momentum convention
-------------------
PyTorch's (``torch.optim.SGD``, dampening 0). With gradient g, velocity v (initially 0),
momentum μ and learning rate η:

- plain (μ = 0):  w ← w − η g  (no velocity is stored);
- heavy ball:     v ← μ v + g,  w ← w − η v;
- Nesterov:       v ← μ v + g,  w ← w − η (g + μ v).

η multiplies the velocity when it is applied, not when it is accumulated (Sutskever et al.,
ICML 2013, put η inside v); the two differ only when η changes between steps (a schedule).
"""

import contextlib
import dataclasses
import math
import numbers
from collections.abc import Iterator, Mapping
from operator import attrgetter
from typing import Any, ClassVar, Protocol

import numpy as np

from ._engine.compiled import load_kernel
from ._validation import check_scalar

__all__ = [
    "SGD",
    "ConstantSchedule",
    "CosineSchedule",
    "InvScalingSchedule",
    "Optimizer",
    "Schedule",
    "StepSchedule",
    "make_schedule",
    "schedule_from_dict",
]


class Optimizer(Protocol):
    """An update rule as the training loop uses it; see the module docstring."""

    @property
    def lr_scale(self) -> float: ...
    @property
    def current_learning_rate(self) -> float: ...
    def step(
        self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray | None]
    ) -> None: ...
    def epoch_end(self) -> None: ...
    def scale_learning_rate(self, factor: float) -> None: ...
    def clear_velocity(self) -> None: ...
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...


def _real(value: object, name: str, **bounds: Any) -> float:
    """``check_scalar`` for a real hyperparameter, returned (and reported) as a Python float."""
    check_scalar(value, name, numbers.Real)
    return check_scalar(float(value), name, numbers.Real, **bounds)


def _int(value: object, name: str, **bounds: Any) -> int:
    return int(check_scalar(value, name, numbers.Integral, **bounds))


_POSITIVE = {"low": 0, "low_inclusive": False}
_UNIT, _UNIT_EXCEPT_0 = {"low": 0, "high": 1}, {"low": 0, "high": 1, "low_inclusive": False}


class Schedule:
    """Base of the schedules m(t, epoch): frozen dataclasses, their fields checked by ``checks``."""

    name: ClassVar[str]
    checks: ClassVar[dict[str, tuple[type, dict[str, Any]]]] = {}

    def __post_init__(self) -> None:
        for field, (kind, bounds) in self.checks.items():
            check = _int if kind is int else _real
            object.__setattr__(self, field, check(getattr(self, field), field, **bounds))

    def __call__(self, t: int, epoch: int) -> float:
        """Return the multiplier m(t, epoch) of the base learning rate."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, str | int | float]:
        """Return ``{"name": name, **fields}``, plain scalars only; see `schedule_from_dict`."""
        # A subclass that is not a dataclass has no fields to save.
        fields = dataclasses.fields(self) if dataclasses.is_dataclass(self) else ()
        return {"name": self.name, **{f.name: getattr(self, f.name) for f in fields}}


@dataclasses.dataclass(frozen=True)
class ConstantSchedule(Schedule):
    """Constant learning rate: m(t, e) = 1.

    Examples
    --------
    >>> ConstantSchedule()(t=7, epoch=3)
    1.0
    """

    name: ClassVar[str] = "constant"

    def __call__(self, t: int, epoch: int) -> float:
        return 1.0


@dataclasses.dataclass(frozen=True)
class StepSchedule(Schedule):
    """Per-epoch step decay m(t, e) = γ^⌊e / step_size⌋, ``step_size`` >= 1, ``gamma`` in (0, 1].

    Parameters
    ----------
    step_size : int, default 10
        Epochs between two decays, at least 1.
    gamma : float, default 0.1
        The factor γ in (0, 1] applied every ``step_size`` epochs.

    Examples
    --------
    >>> StepSchedule(step_size=2, gamma=0.5)(t=0, epoch=5)
    0.25
    """

    name: ClassVar[str] = "step"
    checks: ClassVar = {"step_size": (int, {"low": 1}), "gamma": (float, _UNIT_EXCEPT_0)}
    step_size: int = 10
    gamma: float = 0.1

    def __call__(self, t: int, epoch: int) -> float:
        return self.gamma ** (epoch // self.step_size)


@dataclasses.dataclass(frozen=True)
class InvScalingSchedule(Schedule):
    """Per-step inverse scaling m(t, e) = (1 + t / t0)^−power, ``t0`` > 0 steps, ``power`` > 0.

    At t = 3 with t0 = 1 and power = 0.5 the multiplier is (1 + 3)^−0.5 = 0.5 (tested).

    Parameters
    ----------
    t0 : float, default 1.0
        Steps over which the rate falls to 2^−power of its start, > 0.
    power : float, default 0.25
        The exponent, > 0: 1 gives η₀ / (1 + t / t0), 0.5 its square root.
    """

    name: ClassVar[str] = "invscaling"
    checks: ClassVar = {"t0": (float, _POSITIVE), "power": (float, _POSITIVE)}
    t0: float = 1.0
    power: float = 0.25

    def __call__(self, t: int, epoch: int) -> float:
        return (1.0 + t / self.t0) ** -self.power


@dataclasses.dataclass(frozen=True)
class CosineSchedule(Schedule):
    """Per-epoch cosine annealing m(t, e) = f + ½ (1 − f) (1 + cos(π min(e, E) / E)).

    E = ``total_epochs`` >= 1 (then the rate stays at its minimum), f = ``min_factor`` in [0, 1].

    Parameters
    ----------
    total_epochs : int
        E, the epochs over which the rate falls to its minimum, at least 1.
    min_factor : float, default 0.0
        f in [0, 1], the multiplier from epoch E on.

    Examples
    --------
    >>> [CosineSchedule(total_epochs=4, min_factor=0.2)(t=0, epoch=e) for e in (0, 4, 9)]
    [1.0, 0.2, 0.2]
    """

    name: ClassVar[str] = "cosine"
    checks: ClassVar = {"total_epochs": (int, {"low": 1}), "min_factor": (float, _UNIT)}
    total_epochs: int
    min_factor: float = 0.0

    def __call__(self, t: int, epoch: int) -> float:
        e = min(epoch, self.total_epochs)
        cosine = 1.0 + math.cos(math.pi * e / self.total_epochs)
        return self.min_factor + 0.5 * (1.0 - self.min_factor) * cosine


_SCHEDULES: dict[str, type[Schedule]] = {
    cls.name: cls for cls in (ConstantSchedule, StepSchedule, InvScalingSchedule, CosineSchedule)
}


def _schedule_class(name: object) -> type[Schedule]:
    if not isinstance(name, str) or name not in _SCHEDULES:
        valid = ", ".join(repr(n) for n in sorted(_SCHEDULES))
        raise ValueError(f"unknown schedule {str(name)!r}; valid names are {valid}")
    return _SCHEDULES[name]


def make_schedule(schedule: str | Schedule | None = None, /, **kwargs: float) -> Schedule:
    """Build a learning-rate schedule from a name, or pass one through.

    Parameters
    ----------
    schedule : {"constant", "step", "invscaling", "cosine"}, Schedule or None
        A name, a :class:`Schedule` (returned unchanged), or None for ``"constant"``.
    **kwargs
        Parameters of the named schedule, e.g. ``step_size=5, gamma=0.5``.

    Returns
    -------
    Schedule
        The schedule of that name with those parameters, or ``schedule`` itself.

    Raises
    ------
    ValueError
        If the name is unknown (the message lists the valid ones) or a parameter out of range.
    TypeError
        If ``schedule`` has another type, ``kwargs`` come with a Schedule, or a parameter is
        unknown, missing or mistyped.

    Examples
    --------
    >>> make_schedule("step", step_size=5, gamma=0.5)
    StepSchedule(step_size=5, gamma=0.5)
    """
    schedule = "constant" if schedule is None else schedule
    if isinstance(schedule, Schedule):
        if kwargs:
            raise TypeError(
                f"schedule parameters {sorted(kwargs)} can only be given with a schedule "
                f"name, not with the already built {schedule!r}"
            )
        return schedule
    if not isinstance(schedule, str):
        raise TypeError(
            "schedule must be None, a schedule name or a Schedule instance, "
            f"got {schedule!r} of type {type(schedule).__name__}"
        )
    return _schedule_class(schedule)(**kwargs)


def schedule_from_dict(data: Mapping[str, object]) -> Schedule:
    """Rebuild a schedule from ``data``, :meth:`Schedule.to_dict`'s output, every field given.

    Parameters
    ----------
    data : mapping
        ``{"name": name, **fields}``: a schedule name and the value of each of its fields.

    Returns
    -------
    Schedule
        A schedule equal to the one whose ``to_dict()`` gave ``data``.

    Raises
    ------
    ValueError
        If the name is unknown, a field is missing or unexpected, or a value is out of range
        (a ``TypeError`` if it has the wrong type).

    Examples
    --------
    >>> s = CosineSchedule(total_epochs=10, min_factor=0.1)
    >>> schedule_from_dict(s.to_dict()) == s
    True
    """
    if "name" not in data:
        raise ValueError(f"schedule dict needs a 'name' key, got keys {sorted(data)}")
    cls = _schedule_class(name := data["name"])
    expected = {f.name for f in dataclasses.fields(cls)}
    given = set(data) - {"name"}
    if given != expected:
        raise ValueError(
            f"schedule {name!r} has fields {sorted(expected)}; "
            f"missing {sorted(expected - given)}, unexpected {sorted(given - expected)}"
        )
    return cls(**{key: data[key] for key in expected})


def _check_hyper(learning_rate: Any, momentum: Any, nesterov: Any) -> tuple[float, float, bool]:
    """Validate SGD's hyperparameters together; shared by the constructor and loading."""
    learning_rate = _real(learning_rate, "learning_rate", **_POSITIVE)
    momentum = _real(momentum, "momentum", low=0, high=1, high_inclusive=False)
    nesterov = bool(nesterov) if isinstance(nesterov, np.bool_) else nesterov
    check_scalar(nesterov, "nesterov", bool)
    if nesterov and momentum == 0.0:
        raise ValueError(
            f"Nesterov momentum (nesterov=True) requires momentum > 0, got momentum={momentum!r}"
        )
    return learning_rate, momentum, nesterov


def _sgd_update(
    param: np.ndarray,
    grad: np.ndarray,
    velocity: np.ndarray | None,
    workspace: np.ndarray,
    learning_rate: float,
    momentum: float,
    nesterov: bool,
    n_threads: int | None = None,
) -> None:
    """One update of ``param`` in place, arguments trusted (``velocity`` None iff μ = 0).

    The compiled kernel, when built, does the same operations in one pass on ``n_threads``
    threads (the same bits); the ufuncs below are its reference and the path without it."""
    kernel = load_kernel()
    if kernel is not None and kernel.sgd_update(
        param, grad, velocity, learning_rate, momentum, nesterov, n_threads
    ):
        return
    if velocity is None:
        np.multiply(grad, learning_rate, out=workspace)  # η g
    else:
        np.multiply(velocity, momentum, out=velocity)
        np.add(velocity, grad, out=velocity)  # v ← μ v + g
        if nesterov:
            np.multiply(velocity, momentum, out=workspace)
            np.add(workspace, grad, out=workspace)  # g + μ v
            np.multiply(workspace, learning_rate, out=workspace)  # η (g + μ v)
        else:
            np.multiply(velocity, learning_rate, out=workspace)  # η v
    np.subtract(param, workspace, out=param)


def _check_float_array(label: str, array: object) -> None:
    if not isinstance(array, np.ndarray) or not np.issubdtype(array.dtype, np.floating):
        dtype = getattr(array, "dtype", type(array).__name__)
        raise TypeError(f"{label} must be a floating-point ndarray, got {dtype}")


def _check_like(what: str, array: np.ndarray, other: str, like: np.ndarray, hint: str = "") -> None:
    """Raise unless ``array`` (``what``) has the shape and dtype of ``like`` (``other``)."""
    if (array.shape, array.dtype) != (like.shape, like.dtype):
        raise ValueError(
            f"{what} has shape {array.shape} and dtype {array.dtype}, but {other} has "
            f"shape {like.shape} and dtype {like.dtype}{hint}"
        )


def _check_step(
    params: Mapping[str, np.ndarray],
    grads: Mapping[str, np.ndarray | None],
    velocities: Mapping[str, np.ndarray],
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The ``(name, param, grad)`` that ``SGD.step`` updates, all checked before any is."""
    if not isinstance(params, Mapping) or not isinstance(grads, Mapping):
        raise TypeError(
            "params and grads must be mappings of name to ndarray, got "
            f"{type(params).__name__} and {type(grads).__name__}"
        )
    missing, unexpected = sorted(params.keys() - grads.keys()), sorted(grads.keys() - params.keys())
    if missing or unexpected:
        raise ValueError(
            f"grads must have the same keys as params; missing {missing}, unexpected {unexpected}"
        )
    todo = [(name, param, grads[name]) for name, param in params.items() if grads[name] is not None]
    for name, param, grad in todo:
        _check_float_array(f"params[{name!r}]", param)
        _check_float_array(f"grads[{name!r}]", grad)
        if not param.flags.writeable:
            raise ValueError(f"params[{name!r}] is read-only; it is updated in place")
        if grad.shape != param.shape:
            raise ValueError(
                f"grads[{name!r}] has shape {grad.shape}, "
                f"but params[{name!r}] has shape {param.shape}"
            )
        if name in velocities:
            hint = "; call reset() when the parameters change"
            label = f"velocity buffer for {name!r}"
            _check_like(label, velocities[name], f"params[{name!r}]", param, hint)
    return todo


class SGD:
    """Stochastic gradient descent with optional (Nesterov) momentum and a schedule.

    An :class:`Optimizer` (momentum as in the module docstring); buffers are allocated lazily.

    Parameters
    ----------
    learning_rate : float, default=0.01
        Base learning rate η₀, finite and > 0.
    momentum : float, default=0.0
        Momentum μ in [0, 1). With 0 no velocity is kept.
    nesterov : bool, default=False
        Use Nesterov momentum; requires ``momentum > 0``.
    schedule : str, Schedule or None, default=None
        Anything :func:`make_schedule` accepts without parameters; None means constant.

    Attributes
    ----------
    t, epoch, lr_scale
        Steps, :meth:`epoch_end` calls, :meth:`scale_learning_rate` product (read-only).
    current_learning_rate : float
        η = η₀ · schedule(t, epoch) · lr_scale, the rate the next step will use.
    n_threads : int or None
        Threads of the step on the compiled kernel, when built (None: every usable core;
        the bits do not depend on it); ``Trainer(n_threads=k)`` sets it during a fit
        (:meth:`threads`).

    Raises
    ------
    ValueError
        If a hyperparameter is out of range, or ``nesterov=True`` with ``momentum=0``.
    TypeError
        If a hyperparameter has the wrong type (booleans are not numbers).

    Examples
    --------
    >>> import numpy as np
    >>> w, opt = np.array([1.0, -2.0]), SGD(0.5, momentum=0.5)
    >>> opt.step({"w": w}, {"w": np.array([2.0, 4.0])})
    >>> opt.step({"w": w}, {"w": np.array([-2.0, 0.0])})
    >>> w
    array([ 0.5, -5. ])
    """

    learning_rate = property(attrgetter("_learning_rate"), doc="Base learning rate η₀.")
    momentum = property(attrgetter("_momentum"), doc="Momentum μ.")
    nesterov = property(attrgetter("_nesterov"), doc="Whether the momentum is Nesterov's.")
    schedule = property(attrgetter("_schedule"), doc="The schedule m(t, epoch).")
    t = property(attrgetter("_t"), doc="Number of steps taken.")
    epoch = property(attrgetter("_epoch"), doc="Number of completed epochs.")
    lr_scale = property(attrgetter("_lr_scale"), doc="Product of scale_learning_rate factors.")

    def __init__(
        self,
        learning_rate: float = 0.01,
        *,
        momentum: float = 0.0,
        nesterov: bool = False,
        schedule: str | Schedule | None = None,
    ) -> None:
        hyper = _check_hyper(learning_rate, momentum, nesterov)
        self._learning_rate, self._momentum, self._nesterov = hyper
        self._schedule = make_schedule(schedule)
        self._velocity: dict[str, np.ndarray] = {}
        self._workspace: dict[str, np.ndarray] = {}
        self.n_threads: int | None = None
        self.reset()

    @contextlib.contextmanager
    def threads(self, n_threads: int | None) -> Iterator[None]:
        """Within the context, steps on the compiled kernel use ``n_threads`` threads.

        Parameters
        ----------
        n_threads : int or None
            As the attribute ``n_threads``; restored on leaving.
        """
        saved, self.n_threads = self.n_threads, n_threads
        try:
            yield
        finally:
            self.n_threads = saved

    @property
    def current_learning_rate(self) -> float:
        """η₀ · schedule(t, epoch) · lr_scale: the learning rate of the next step."""
        return self._learning_rate * self._schedule(self._t, self._epoch) * self._lr_scale

    def scale_learning_rate(self, factor: float) -> None:
        """Multiply every later learning rate by ``factor`` (> 0), on top of the schedule.

        Parameters
        ----------
        factor : float
            The multiplier, finite and > 0 (0.5 halves the rate); ``lr_scale`` is the
            product of every factor so far.
        """
        self._lr_scale *= _real(factor, "factor", **_POSITIVE)

    def __repr__(self) -> str:
        hyper = f"learning_rate={self._learning_rate!r}, momentum={self._momentum!r}"
        return f"SGD({hyper}, nesterov={self._nesterov!r}, schedule={self._schedule!r})"

    def step(
        self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray | None]
    ) -> None:
        """Update every parameter in place with its gradient (None: skip it), then ``t += 1``.

        Parameters
        ----------
        params : mapping of str to ndarray
            The parameters, floating-point and writeable, e.g. ``{"W": W, "b": b}``;
            updated in place.
        grads : mapping of str to ndarray or None
            The gradient of each parameter, with the same keys and shapes; never written to.

        Raises
        ------
        ValueError
            If the keys differ, a shape mismatches or a parameter is read-only (nothing updated).
        TypeError
            If a parameter or gradient is not a floating-point ndarray.
        """
        todo = _check_step(params, grads, self._velocity)
        lr = self.current_learning_rate
        for name, param, grad in todo:
            work = self._workspace.get(name)
            if work is None or (work.shape, work.dtype) != (param.shape, param.dtype):
                work = self._workspace[name] = np.empty_like(param)
            velocity = self._velocity.get(name) if self._momentum > 0.0 else None
            if velocity is None and self._momentum > 0.0:
                velocity = self._velocity[name] = np.zeros_like(param)
            hyper = (lr, self._momentum, self._nesterov, self.n_threads)
            _sgd_update(param, grad, velocity, work, *hyper)
        self._t += 1

    def step_plan(
        self, params: Mapping[str, np.ndarray | None]
    ) -> tuple[float, float, bool, dict[str, np.ndarray | None]] | None:
        """The next step for a kernel that applies it itself, or None (then call :meth:`step`).

        Parameters
        ----------
        params : mapping of str to ndarray or None
            The parameters the step will update (None entries are skipped).

        Returns
        -------
        tuple or None
            ``(learning_rate, momentum, nesterov, velocities)``: η of the step, μ, the
            Nesterov flag and each parameter's velocity buffer (None without momentum),
            for the update of :meth:`step`; the caller applies it and calls
            :meth:`count_step`. None when a velocity no longer fits its parameter
            (:meth:`step` then raises).
        """
        velocities = self._plan_velocities(params)
        if velocities is None:
            return None
        return self.current_learning_rate, self._momentum, self._nesterov, velocities

    def step_plans(
        self, params: Mapping[str, np.ndarray | None], n_steps: int
    ) -> tuple[list[float], float, bool, dict[str, np.ndarray | None]] | None:
        """:meth:`step_plan` for the next ``n_steps`` steps, for a kernel that takes several.

        Parameters
        ----------
        params : mapping of str to ndarray or None
            The parameters the steps will update (None entries are skipped).
        n_steps : int
            How many steps to plan.

        Returns
        -------
        tuple or None
            ``(learning_rates, momentum, nesterov, velocities)``: the list of the steps'
            η₀ · schedule(t + i, epoch) · lr_scale (the rates :meth:`step` would use),
            then as :meth:`step_plan`; the caller applies them and calls
            :meth:`count_step` with the number it took. None as for :meth:`step_plan`.
        """
        velocities = self._plan_velocities(params)
        if velocities is None:
            return None
        base, schedule, epoch, scale = (
            self._learning_rate,
            self._schedule,
            self._epoch,
            self._lr_scale,
        )
        rates = [base * schedule(self._t + i, epoch) * scale for i in range(n_steps)]
        return rates, self._momentum, self._nesterov, velocities

    def _plan_velocities(
        self, params: Mapping[str, np.ndarray | None]
    ) -> dict[str, np.ndarray | None] | None:
        velocities: dict[str, np.ndarray | None] = {}
        for name, param in params.items():
            if param is None:
                continue
            velocity = self._velocity.get(name) if self._momentum > 0.0 else None
            if velocity is None and self._momentum > 0.0:
                velocity = self._velocity[name] = np.zeros_like(param)
            if velocity is not None and (velocity.shape, velocity.dtype) != (
                param.shape,
                param.dtype,
            ):
                return None
            velocities[name] = velocity
        return velocities

    def count_step(self, n_steps: int = 1) -> None:
        """Count steps applied by a kernel from :meth:`step_plan` or :meth:`step_plans`.

        Parameters
        ----------
        n_steps : int, default 1
            The number of steps taken: ``t += n_steps``.
        """
        self._t += n_steps

    def epoch_end(self) -> None:
        """Mark the end of an epoch: increment ``epoch`` for per-epoch schedules."""
        self._epoch += 1

    def clear_velocity(self) -> None:
        """Set every velocity buffer to zero; keep ``t``, ``epoch``, ``lr_scale``."""
        for velocity in self._velocity.values():
            velocity.fill(0.0)

    def reset(self) -> None:
        """Forget the velocity, set ``t``, ``epoch`` and ``lr_scale`` back; keep the rest."""
        self._velocity.clear()
        self._workspace.clear()
        self._t, self._epoch, self._lr_scale = 0, 0, 1.0

    def state_dict(self) -> dict[str, str | int | float | bool | np.ndarray]:
        """The hyperparameters, ``t``, ``epoch``, ``lr_scale``, ``schedule.<field>`` for each
        item of ``schedule.to_dict()`` and ``velocity.<name>`` (copies) for each buffer."""
        names = ("learning_rate", "momentum", "nesterov", "t", "epoch", "lr_scale")
        state: dict[str, Any] = {name: getattr(self, f"_{name}") for name in names}
        state.update({f"schedule.{k}": v for k, v in self._schedule.to_dict().items()})
        state.update({f"velocity.{k}": v.copy() for k, v in self._velocity.items()})
        return state

    def load_state_dict(self, state: Mapping[str, object]) -> None:
        """Restore a :meth:`state_dict` (NumPy scalars accepted), validated before any change;
        velocity is copied into the existing buffers, absent buffers are dropped.

        Parameters
        ----------
        state : mapping
            A :meth:`state_dict` of an ``SGD``, e.g. read back from JSON or ``.npz``.

        Raises
        ------
        ValueError
            If keys are missing or unknown, a value is out of range, velocity is given while
            ``momentum == 0``, or a velocity array does not match its buffer's shape and dtype.
        TypeError
            If a value has the wrong type.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"state must be a mapping, got {type(state).__name__}")
        required = {"learning_rate", "momentum", "nesterov", "t", "epoch", "schedule.name"}
        keys = {key for key in state if isinstance(key, str)}
        grouped = {k for k in keys if k.startswith(("schedule.", "velocity.")) and k != "velocity."}
        # lr_scale is optional: states saved before it lack it.
        unknown = set(state) - required - {"lr_scale"} - grouped
        if unknown:
            raise ValueError(f"state has unknown keys: {', '.join(sorted(map(repr, unknown)))}")
        if required - keys:
            raise ValueError(f"state is missing keys {sorted(required - keys)}")

        def group(prefix: str) -> dict[str, Any]:
            return {k[len(prefix) :]: state[k] for k in keys if k.startswith(prefix)}

        hyper = _check_hyper(state["learning_rate"], state["momentum"], state["nesterov"])
        schedule = schedule_from_dict(group("schedule."))
        t, epoch = (_int(state[name], name, low=0) for name in ("t", "epoch"))
        lr_scale = _real(state.get("lr_scale", 1.0), "lr_scale", **_POSITIVE)
        velocities = group("velocity.")
        if velocities and hyper[1] == 0.0:
            raise ValueError(f"state has velocity buffers {sorted(velocities)} but momentum is 0")
        for name, array in velocities.items():
            label = f"state['velocity.{name}']"
            _check_float_array(label, array)
            if name in self._velocity:
                _check_like(label, array, "the velocity buffer", self._velocity[name])

        self._learning_rate, self._momentum, self._nesterov = hyper
        self._schedule = schedule
        self._t, self._epoch, self._lr_scale = t, epoch, lr_scale
        for name, array in velocities.items():
            if name in self._velocity:
                np.copyto(self._velocity[name], array)
                velocities[name] = self._velocity[name]
            else:
                velocities[name] = np.array(array, copy=True)
        self._velocity = velocities
