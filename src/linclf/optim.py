"""Stochastic gradient descent with momentum, and learning-rate schedules.

Update-rule protocol
--------------------
Parameters and gradients are mappings ``name -> ndarray`` with the same keys,
e.g. ``{"W": W, "b": b}`` and ``{"W": dW, "b": db}``. ``SGD.step(params, grads)``
updates every parameter array *in place* (callers may hold references to the
arrays and to views of them) and never modifies the gradients. A gradient that
is ``None`` means "this parameter is absent" (for example no intercept): the
parameter and its momentum buffer are left untouched.

Two counters drive the learning rate:

- ``t``, the number of steps taken so far (``t = 0`` during the first step),
  incremented by every ``step``;
- ``epoch``, the number of completed epochs, incremented by ``epoch_end()``,
  which the training loop calls once at the end of every epoch.

A *schedule* is a callable ``m(t, epoch) -> float`` returning a multiplier of
the base learning rate η₀, so the step taken at ``(t, epoch)`` uses
η = η₀ · m(t, epoch) (``SGD.current_learning_rate``). Per-step schedules read
``t``, per-epoch schedules read ``epoch``. Every schedule is a frozen
:class:`Schedule` dataclass whose fields are plain scalars: ``to_dict()`` gives
``{"name": ..., **fields}`` and :func:`schedule_from_dict` rebuilds it.

Momentum convention
-------------------
PyTorch's convention (``torch.optim.SGD``, dampening 0). With gradient g,
velocity v (initially 0), momentum μ and learning rate η:

- plain (μ = 0):  w ← w − η g  (no velocity is stored);
- heavy ball:     v ← μ v + g,  w ← w − η v;
- Nesterov:       v ← μ v + g,  w ← w − η (g + μ v).

The learning rate multiplies the velocity when it is applied, not when it is
accumulated (Sutskever et al., 2013 put η inside v); the two conventions differ
only when η changes between steps, i.e. under a schedule.

References
----------
Sutskever, Martens, Dahl and Hinton, "On the importance of initialization and
momentum in deep learning", ICML 2013.
"""

import dataclasses
import math
import numbers
from collections.abc import Mapping
from typing import ClassVar

import numpy as np

__all__ = [
    "SGD",
    "ConstantSchedule",
    "CosineSchedule",
    "InvScalingSchedule",
    "Schedule",
    "StepSchedule",
    "make_schedule",
    "schedule_from_dict",
]


def _check_real(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_closed: bool = True,
    high_closed: bool = True,
) -> float:
    """Return ``value`` as a finite float in the given interval, or raise naming ``name``."""
    # bool is a subclass of int, but learning_rate=True is a bug, not 1.0.
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a real number, got {value!r} of type {type(value).__name__}"
        )
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    below = low is not None and (value < low if low_closed else value <= low)
    above = high is not None and (value > high if high_closed else value >= high)
    if below or above:
        if low is not None and high is not None:
            interval = (
                f"in {'[' if low_closed else '('}{low:g}, {high:g}{']' if high_closed else ')'}"
            )
        elif low is not None:
            interval = f"{'>=' if low_closed else '>'} {low:g}"
        else:
            interval = f"{'<=' if high_closed else '<'} {high:g}"
        raise ValueError(f"{name} must be {interval}, got {value!r}")
    return value


def _check_int(name: str, value: object, *, low: int) -> int:
    """Return ``value`` as an int >= ``low``, or raise naming ``name``."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} of type {type(value).__name__}")
    value = int(value)
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value!r}")
    return value


class Schedule:
    """Base class of learning-rate schedules: a multiplier m(t, epoch) of η₀.

    Subclasses are frozen dataclasses with a class attribute ``name`` (the key
    used by :func:`make_schedule`) and plain-scalar fields validated in
    ``__post_init__``.
    """

    name: ClassVar[str]

    def __call__(self, t: int, epoch: int) -> float:
        """Return the multiplier m(t, epoch) of the base learning rate."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, str | int | float]:
        """Return ``{"name": name, **fields}``, plain scalars only; see `schedule_from_dict`."""
        # A subclass that is not a dataclass has no fields to save.
        names = [f.name for f in dataclasses.fields(self)] if dataclasses.is_dataclass(self) else []
        fields = {name: getattr(self, name) for name in names}
        return {"name": self.name, **fields}


@dataclasses.dataclass(frozen=True)
class ConstantSchedule(Schedule):
    """Constant learning rate.

    Notes
    -----
    η_t = η₀, i.e. m(t, e) = 1.

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
    """Per-epoch step decay: multiply the learning rate by γ every ``step_size`` epochs.

    Parameters
    ----------
    step_size : int, default=10
        Number of epochs between decays, >= 1.
    gamma : float, default=0.1
        Decay factor in (0, 1].

    Notes
    -----
    η_e = η₀ · γ^⌊e / step_size⌋, i.e. m(t, e) = γ^⌊e / step_size⌋.

    Examples
    --------
    >>> StepSchedule(step_size=2, gamma=0.5)(t=0, epoch=5)
    0.25
    """

    name: ClassVar[str] = "step"
    step_size: int = 10
    gamma: float = 0.1

    def __post_init__(self) -> None:
        object.__setattr__(self, "step_size", _check_int("step_size", self.step_size, low=1))
        object.__setattr__(
            self, "gamma", _check_real("gamma", self.gamma, low=0.0, high=1.0, low_closed=False)
        )

    def __call__(self, t: int, epoch: int) -> float:
        return self.gamma ** (epoch // self.step_size)


@dataclasses.dataclass(frozen=True)
class InvScalingSchedule(Schedule):
    """Per-step inverse-scaling decay, defined at t = 0.

    Parameters
    ----------
    t0 : float, default=1.0
        Time scale of the decay in steps, > 0.
    power : float, default=0.25
        Decay exponent, > 0.

    Notes
    -----
    η_t = η₀ / (1 + t / t0)^power, so η_0 = η₀. With ``t0 = 1`` this is
    scikit-learn's ``invscaling`` rule η₀ / t'^power written with the 1-based
    counter t' = t + 1 (its default exponent ``power_t`` is also 0.25).

    Examples
    --------
    >>> InvScalingSchedule(t0=1.0, power=0.5)(t=3, epoch=0)
    0.5
    """

    name: ClassVar[str] = "invscaling"
    t0: float = 1.0
    power: float = 0.25

    def __post_init__(self) -> None:
        object.__setattr__(self, "t0", _check_real("t0", self.t0, low=0.0, low_closed=False))
        object.__setattr__(
            self, "power", _check_real("power", self.power, low=0.0, low_closed=False)
        )

    def __call__(self, t: int, epoch: int) -> float:
        return (1.0 + t / self.t0) ** -self.power


@dataclasses.dataclass(frozen=True)
class CosineSchedule(Schedule):
    """Per-epoch cosine annealing from η₀ down to ``min_factor`` · η₀ over ``total_epochs``.

    Parameters
    ----------
    total_epochs : int
        Number of epochs E of the annealing, >= 1. From epoch E on the
        learning rate stays at its minimum.
    min_factor : float, default=0.0
        Final learning rate as a fraction of η₀, in [0, 1].

    Notes
    -----
    With η_min = min_factor · η₀ and e clipped to E,
    η_e = η_min + ½ (η₀ − η_min) (1 + cos(π e / E)), i.e.
    m(t, e) = min_factor + ½ (1 − min_factor) (1 + cos(π e / E)).

    Examples
    --------
    >>> s = CosineSchedule(total_epochs=4, min_factor=0.2)
    >>> s(t=0, epoch=0), s(t=0, epoch=4), s(t=0, epoch=9)
    (1.0, 0.2, 0.2)
    """

    name: ClassVar[str] = "cosine"
    total_epochs: int
    min_factor: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "total_epochs", _check_int("total_epochs", self.total_epochs, low=1)
        )
        object.__setattr__(
            self, "min_factor", _check_real("min_factor", self.min_factor, low=0.0, high=1.0)
        )

    def __call__(self, t: int, epoch: int) -> float:
        e = min(epoch, self.total_epochs)
        cosine = 1.0 + math.cos(math.pi * e / self.total_epochs)
        return self.min_factor + 0.5 * (1.0 - self.min_factor) * cosine


_SCHEDULES: dict[str, type[Schedule]] = {
    cls.name: cls for cls in (ConstantSchedule, StepSchedule, InvScalingSchedule, CosineSchedule)
}


def _unknown_schedule(name: str) -> ValueError:
    valid = ", ".join(repr(n) for n in sorted(_SCHEDULES))
    return ValueError(f"unknown schedule {name!r}; valid names are {valid}")


def make_schedule(schedule: str | Schedule | None = None, /, **kwargs: float) -> Schedule:
    """Build a learning-rate schedule from a name, or pass one through.

    Parameters
    ----------
    schedule : {"constant", "step", "invscaling", "cosine"}, Schedule or None
        A schedule name (then ``kwargs`` are its parameters), an already built
        :class:`Schedule` (returned unchanged), or None for ``"constant"``.
    **kwargs
        Parameters of the named schedule, e.g. ``step_size=5, gamma=0.5``.

    Returns
    -------
    Schedule

    Raises
    ------
    ValueError
        If the name is unknown (the message lists the valid names) or a
        parameter is out of range.
    TypeError
        If ``schedule`` has another type, if ``kwargs`` are given with a
        Schedule instance, or if a parameter is unknown, missing or mistyped.

    Examples
    --------
    >>> make_schedule("step", step_size=5, gamma=0.5)
    StepSchedule(step_size=5, gamma=0.5)
    >>> make_schedule(None)
    ConstantSchedule()
    """
    if schedule is None:
        schedule = "constant"
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
    if schedule not in _SCHEDULES:
        raise _unknown_schedule(schedule)
    return _SCHEDULES[schedule](**kwargs)


def schedule_from_dict(data: Mapping[str, object]) -> Schedule:
    """Rebuild a schedule from the output of :meth:`Schedule.to_dict`.

    Unlike :func:`make_schedule`, every field must be present, because the
    dictionary is a saved state rather than user input with defaults.

    Parameters
    ----------
    data : mapping
        ``{"name": name, **fields}`` with plain-scalar field values.

    Returns
    -------
    Schedule

    Raises
    ------
    ValueError
        If the name is unknown, a field is missing or unexpected, or a value is
        out of range.
    TypeError
        If a value has the wrong type.

    Examples
    --------
    >>> s = CosineSchedule(total_epochs=10, min_factor=0.1)
    >>> schedule_from_dict(s.to_dict()) == s
    True
    """
    if "name" not in data:
        raise ValueError(f"schedule dict needs a 'name' key, got keys {sorted(data)}")
    name = data["name"]
    if not isinstance(name, str) or name not in _SCHEDULES:
        raise _unknown_schedule(str(name))
    cls = _SCHEDULES[name]
    expected = {f.name for f in dataclasses.fields(cls)}
    given = set(data) - {"name"}
    if given != expected:
        raise ValueError(
            f"schedule {name!r} has fields {sorted(expected)}; "
            f"missing {sorted(expected - given)}, unexpected {sorted(given - expected)}"
        )
    return cls(**{key: data[key] for key in expected})


def _validate_hyperparameters(
    learning_rate: object, momentum: object, nesterov: object
) -> tuple[float, float, bool]:
    """Validate SGD's hyperparameters together; shared by the constructor and loading."""
    learning_rate = _check_real("learning_rate", learning_rate, low=0.0, low_closed=False)
    momentum = _check_real("momentum", momentum, low=0.0, high=1.0, high_closed=False)
    if not isinstance(nesterov, bool | np.bool_):
        raise TypeError(
            f"nesterov must be a bool, got {nesterov!r} of type {type(nesterov).__name__}"
        )
    if nesterov and momentum == 0.0:
        raise ValueError(
            f"Nesterov momentum (nesterov=True) requires momentum > 0, got momentum={momentum!r}"
        )
    return learning_rate, momentum, bool(nesterov)


def _sgd_update(
    param: np.ndarray,
    grad: np.ndarray,
    velocity: np.ndarray | None,
    workspace: np.ndarray,
    *,
    learning_rate: float,
    momentum: float,
    nesterov: bool,
) -> None:
    """Apply one SGD update to ``param`` in place; see the module docstring for the rule.

    Arguments are trusted (``SGD.step`` validated them): ``velocity`` is None
    exactly when ``momentum == 0``; ``workspace`` is scratch space of the
    parameter's shape and dtype, so no full-size temporary is allocated.
    """
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


class SGD:
    """Stochastic gradient descent with optional (Nesterov) momentum and a schedule.

    Parameters
    ----------
    learning_rate : float, default=0.01
        Base learning rate η₀, finite and > 0.
    momentum : float, default=0.0
        Momentum μ in [0, 1). With 0 no velocity is kept.
    nesterov : bool, default=False
        Use Nesterov momentum; requires ``momentum > 0``.
    schedule : str, Schedule or None, default=None
        Learning-rate schedule, anything :func:`make_schedule` accepts without
        parameters; None means constant.

    Attributes
    ----------
    learning_rate, momentum, nesterov, schedule
        The validated hyperparameters (read-only).
    t : int
        Number of steps taken.
    epoch : int
        Number of completed epochs (calls to :meth:`epoch_end`).
    current_learning_rate : float
        η₀ · schedule(t, epoch), the rate the next step will use.

    Raises
    ------
    ValueError
        If a hyperparameter is out of range, or ``nesterov=True`` with
        ``momentum=0``.
    TypeError
        If a hyperparameter has the wrong type (booleans are not numbers).

    Notes
    -----
    PyTorch's momentum convention (``torch.optim.SGD`` with dampening 0): with
    η = η₀ · m(t, epoch),

    - plain:      w ← w − η g;
    - momentum:   v ← μ v + g,  w ← w − η v;
    - Nesterov:   v ← μ v + g,  w ← w − η (g + μ v).

    Velocity buffers start at zero and are allocated lazily, once per parameter
    name, with the parameter's shape and dtype; so is one scratch buffer per
    parameter that holds the update term, which lets a step run without
    allocating temporaries.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([1.0, -2.0])
    >>> opt = SGD(0.5, momentum=0.5)
    >>> opt.step({"w": w}, {"w": np.array([2.0, 4.0])})
    >>> opt.step({"w": w}, {"w": np.array([-2.0, 0.0])})
    >>> w
    array([ 0.5, -5. ])
    """

    def __init__(
        self,
        learning_rate: float = 0.01,
        *,
        momentum: float = 0.0,
        nesterov: bool = False,
        schedule: str | Schedule | None = None,
    ) -> None:
        self._learning_rate, self._momentum, self._nesterov = _validate_hyperparameters(
            learning_rate, momentum, nesterov
        )
        self._schedule = make_schedule(schedule)
        self._velocity: dict[str, np.ndarray] = {}
        self._workspace: dict[str, np.ndarray] = {}
        self._t = 0
        self._epoch = 0
        self._lr_scale = 1.0

    @property
    def learning_rate(self) -> float:
        return self._learning_rate

    @property
    def momentum(self) -> float:
        return self._momentum

    @property
    def nesterov(self) -> bool:
        return self._nesterov

    @property
    def schedule(self) -> Schedule:
        return self._schedule

    @property
    def t(self) -> int:
        return self._t

    @property
    def epoch(self) -> int:
        return self._epoch

    @property
    def lr_scale(self) -> float:
        """Product of the factors given to :meth:`scale_learning_rate` (1.0 at first)."""
        return self._lr_scale

    @property
    def current_learning_rate(self) -> float:
        """η₀ · schedule(t, epoch) · lr_scale: the learning rate of the next step."""
        return self._learning_rate * self._schedule(self._t, self._epoch) * self._lr_scale

    def scale_learning_rate(self, factor: float) -> None:
        """Multiply every later learning rate by ``factor`` (> 0), on top of the schedule.

        The training loop uses it to decay the rate when the loss plateaus, or to halve
        it after a divergence; the product is kept in ``lr_scale`` and in the state.
        """
        factor = _check_real("factor", factor, low=0.0, low_closed=False)
        self._lr_scale *= factor

    def __repr__(self) -> str:
        return (
            f"SGD(learning_rate={self._learning_rate!r}, momentum={self._momentum!r}, "
            f"nesterov={self._nesterov!r}, schedule={self._schedule!r})"
        )

    def step(
        self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray | None]
    ) -> None:
        """Update every parameter in place with its gradient, then increment ``t``.

        Parameters
        ----------
        params : mapping of str to ndarray
            Writeable floating-point arrays, updated in place.
        grads : mapping of str to ndarray or None
            Same keys as ``params``; each gradient has its parameter's shape.
            None skips that parameter (its velocity is left unchanged). Not
            modified.

        Raises
        ------
        ValueError
            If the keys differ, a shape does not match, or a parameter is
            read-only. Nothing is updated in that case.
        TypeError
            If a parameter or gradient is not a floating-point ndarray.
        """
        if not isinstance(params, Mapping) or not isinstance(grads, Mapping):
            raise TypeError(
                "params and grads must be mappings of name to ndarray, got "
                f"{type(params).__name__} and {type(grads).__name__}"
            )
        if params.keys() != grads.keys():
            raise ValueError(
                "grads must have the same keys as params; missing "
                f"{sorted(params.keys() - grads.keys())}, "
                f"unexpected {sorted(grads.keys() - params.keys())}"
            )
        # Validate everything before touching anything, so a bad gradient for
        # one parameter cannot leave the others half updated.
        todo = []
        for name, param in params.items():
            grad = grads[name]
            if grad is None:
                continue
            for label, array in (("params", param), ("grads", grad)):
                if not isinstance(array, np.ndarray) or not np.issubdtype(array.dtype, np.floating):
                    raise TypeError(
                        f"{label}[{name!r}] must be a floating-point ndarray, got "
                        f"{getattr(array, 'dtype', type(array).__name__)}"
                    )
            if not param.flags.writeable:
                raise ValueError(f"params[{name!r}] is read-only; it is updated in place")
            if grad.shape != param.shape:
                raise ValueError(
                    f"grads[{name!r}] has shape {grad.shape}, "
                    f"but params[{name!r}] has shape {param.shape}"
                )
            velocity = self._velocity.get(name)
            if velocity is not None and (
                velocity.shape != param.shape or velocity.dtype != param.dtype
            ):
                raise ValueError(
                    f"velocity buffer for {name!r} has shape {velocity.shape} and dtype "
                    f"{velocity.dtype}, but params[{name!r}] has shape {param.shape} and "
                    f"dtype {param.dtype}; call reset() when the parameters change"
                )
            todo.append((name, param, grad))

        learning_rate = self.current_learning_rate
        for name, param, grad in todo:
            workspace = self._workspace.get(name)
            if (
                workspace is None
                or workspace.shape != param.shape
                or workspace.dtype != param.dtype
            ):
                workspace = self._workspace[name] = np.empty_like(param)
            velocity = None
            if self._momentum > 0.0:
                velocity = self._velocity.get(name)
                if velocity is None:
                    velocity = self._velocity[name] = np.zeros_like(param)
            _sgd_update(
                param,
                grad,
                velocity,
                workspace,
                learning_rate=learning_rate,
                momentum=self._momentum,
                nesterov=self._nesterov,
            )
        self._t += 1

    def epoch_end(self) -> None:
        """Mark the end of an epoch: increment ``epoch`` for per-epoch schedules."""
        self._epoch += 1

    def clear_velocity(self) -> None:
        """Set every velocity buffer to zero; keep ``t``, ``epoch``, ``lr_scale``.

        The training loop calls it after rolling parameters back from a divergent step,
        whose exploding velocity would otherwise be applied again.
        """
        for velocity in self._velocity.values():
            velocity.fill(0.0)

    def reset(self) -> None:
        """Forget the velocity and set ``t`` and ``epoch`` back to 0; keep the hyperparameters."""
        self._velocity.clear()
        self._workspace.clear()
        self._t = 0
        self._epoch = 0
        self._lr_scale = 1.0

    def state_dict(self) -> dict[str, str | int | float | bool | np.ndarray]:
        """Return the optimizer's full state as a flat dict of plain scalars and arrays.

        Returns
        -------
        dict
            Keys ``"learning_rate"``, ``"momentum"``, ``"nesterov"``, ``"t"``,
            ``"epoch"``, ``"lr_scale"``, ``"schedule.<field>"`` for every item of
            ``schedule.to_dict()`` (including ``"schedule.name"``), and
            ``"velocity.<param name>"`` for every velocity buffer. Values are
            Python str/int/float/bool or ndarray copies, so the arrays can go
            to ``.npz`` and the rest to JSON without pickle.
        """
        state: dict[str, str | int | float | bool | np.ndarray] = {
            "learning_rate": self._learning_rate,
            "momentum": self._momentum,
            "nesterov": self._nesterov,
            "t": self._t,
            "epoch": self._epoch,
            "lr_scale": self._lr_scale,
        }
        for key, value in self._schedule.to_dict().items():
            state[f"schedule.{key}"] = value
        for name, velocity in self._velocity.items():
            state[f"velocity.{name}"] = velocity.copy()
        return state

    def load_state_dict(self, state: Mapping[str, object]) -> None:
        """Restore a state produced by :meth:`state_dict`; the optimizer then
        continues exactly as the one that produced it.

        The state is validated completely before anything changes. Velocity
        arrays are copied into this optimizer's existing buffers when present
        (buffers absent from the state are dropped).

        Parameters
        ----------
        state : mapping
            Output of :meth:`state_dict`, possibly after a save/load round trip
            (NumPy scalars are accepted where Python scalars are expected).

        Raises
        ------
        ValueError
            If keys are missing or unknown, a value is out of range, velocity
            is given while ``momentum == 0``, or a velocity array does not match
            the shape and dtype of this optimizer's existing buffer.
        TypeError
            If a value has the wrong type.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"state must be a mapping, got {type(state).__name__}")
        required = {"learning_rate", "momentum", "nesterov", "t", "epoch", "schedule.name"}
        keys = {key for key in state if isinstance(key, str)}
        unknown = set(state) - keys
        unknown |= {
            key
            for key in keys - required - {"lr_scale"}  # optional: states saved before it
            if not key.startswith(("schedule.", "velocity.")) or key == "velocity."
        }
        if unknown:
            raise ValueError(f"state has unknown keys: {', '.join(sorted(map(repr, unknown)))}")
        if required - keys:
            raise ValueError(f"state is missing keys {sorted(required - keys)}")

        learning_rate, momentum, nesterov = _validate_hyperparameters(
            state["learning_rate"], state["momentum"], state["nesterov"]
        )
        schedule = schedule_from_dict(
            {key[len("schedule.") :]: state[key] for key in keys if key.startswith("schedule.")}
        )
        t = _check_int("t", state["t"], low=0)
        epoch = _check_int("epoch", state["epoch"], low=0)
        lr_scale = _check_real("lr_scale", state.get("lr_scale", 1.0), low=0.0, low_closed=False)
        velocities = {
            key[len("velocity.") :]: state[key] for key in keys if key.startswith("velocity.")
        }
        if velocities and momentum == 0.0:
            raise ValueError(f"state has velocity buffers {sorted(velocities)} but momentum is 0")
        for name, array in velocities.items():
            if not isinstance(array, np.ndarray) or not np.issubdtype(array.dtype, np.floating):
                raise TypeError(
                    f"state['velocity.{name}'] must be a floating-point ndarray, "
                    f"got {getattr(array, 'dtype', type(array).__name__)}"
                )
            current = self._velocity.get(name)
            if current is not None and (
                current.shape != array.shape or current.dtype != array.dtype
            ):
                raise ValueError(
                    f"state['velocity.{name}'] has shape {array.shape} and dtype "
                    f"{array.dtype}, but the velocity buffer has shape {current.shape} "
                    f"and dtype {current.dtype}"
                )

        self._learning_rate, self._momentum, self._nesterov = learning_rate, momentum, nesterov
        self._schedule = schedule
        self._t, self._epoch, self._lr_scale = t, epoch, lr_scale
        restored = {}
        for name, array in velocities.items():
            current = self._velocity.get(name)
            if current is None:
                restored[name] = np.array(array, copy=True)
            else:
                np.copyto(current, array)
                restored[name] = current
        self._velocity = restored
