r"""Numerical gradients by centered differences, and a gradient checker for tests.

NumPy only (guide: docs/gradient-checking.md). :math:`n_i = (f(x^+) - f(x^-)) / (x_i^+ -
x_i^-)`, :math:`x^\pm = x \pm h e_i` written into ``x`` (``f`` may close over it) and
restored even if ``f`` raises, over the step realized in ``x.dtype`` (``2h`` errs by
``eps · |x_i| / h``).

As in SciPy's ``_numdiff``, truncation ``h² |f'''| / 6`` plus rounding ``eps |f| / h`` is
smallest near ``h ≈ eps^(1/3)``. Defaults of ``h``, ``rtol``, ``atol / max(1, |f(x)|)``,
``kink_tol``: float64 (and wider) ``1e-5, 1e-6, 1e-8, 1e-4``; float32 ``1e-3, 1e-2, 1e-3,
1e-3``; float16 ``1e-1, 5e-2, 5e-2, 1e-1``. float64's two errors are ``~1e-10`` at
``h = 1e-5``: ``rtol = 1e-6`` leaves four orders of margin below a wrong gradient's
``1e-1``; float32 rounding, ``1.2e-7 · |f| / 1e-3``, calls for ``1e-2``. An entry passes
if :math:`r_i = |a_i - n_i| / \max(|a_i| + |n_i|, \text{tiny})` (never NaN; a non-finite
``a_i`` fails) is at most ``rtol``, or :math:`|a_i - n_i|` at most ``atol``, which scales
as the noise ``eps |f| / h`` estimating a zero derivative. Errors are computed in float64.
"""

import math
import numbers
from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "GradientCheckResult",
    "GradientEntry",
    "assert_gradient_close",
    "check_gradient",
    "numerical_gradient",
    "numerical_gradient_array",
]

Index = tuple[int, ...]


_Defaults = namedtuple("_Defaults", "h rtol atol_scale kink_tol")
# The module docstring's defaults: the first whose eps x.dtype's reaches (wider: float64's).
_DEFAULTS = (
    (float(np.finfo(np.float16).eps), _Defaults(1e-1, rtol=5e-2, atol_scale=5e-2, kink_tol=1e-1)),
    (float(np.finfo(np.float32).eps), _Defaults(1e-3, rtol=1e-2, atol_scale=1e-3, kink_tol=1e-3)),
    (0.0, _Defaults(1e-5, rtol=1e-6, atol_scale=1e-8, kink_tol=1e-4)),
)

# The kink statistics combine five values of f with coefficients whose absolute values
# sum to 16/h, so their rounding noise is at most 16·eps·|f|/h. Sums whose terms partly
# cancel round at the scale of the terms, not of |f|: the extra factor 8 keeps Σx³ over
# 200 float32 entries free of spurious kinks.
_KINK_NOISE_FACTOR = 128.0
_TINY = float(np.finfo(np.float64).tiny)


def _defaults_for(dtype: np.dtype) -> _Defaults:
    eps = float(np.finfo(dtype).eps)
    return next(defaults for limit, defaults in _DEFAULTS if eps >= limit)


def _validate_x(x: Any) -> None:
    if not isinstance(x, np.ndarray):
        why = "it is perturbed in place and passed to f"
        raise TypeError(f"x must be a NumPy ndarray ({why}), got {type(x).__name__}")
    if not np.issubdtype(x.dtype, np.floating):
        fix = "convert it first, e.g. x = x.astype(np.float64)"
        raise TypeError(f"x must have a real floating dtype, got {x.dtype}; {fix}")
    if not x.flags.writeable:
        why = "it must be writable because it is perturbed in place"
        raise ValueError(f"x is read-only, but {why}; pass a writable array, e.g. x.copy()")
    if not np.all(np.isfinite(x)):
        raise ValueError("x must contain only finite values, got NaN or inf")


def _validate_real(value: Any, name: str, *, positive: bool = False) -> float:
    """A finite real ``>= 0`` (``> 0`` when ``positive``) as a float, or raise naming it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not (math.isfinite(value) and (value > 0.0 if positive else value >= 0.0)):
        wanted = "positive number" if positive else "number >= 0"
        raise ValueError(f"{name} must be a finite {wanted}, got {value!r}")
    return value


def _validate_count(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _scalar_value(value: Any, where: str) -> float:
    """Convert what f returned to a finite Python float, or raise."""
    if isinstance(value, (tuple, list)):
        # The common slip: passing a CS231n-style loss that returns (loss, grad).
        raise TypeError(
            f"f must return a scalar, got a {type(value).__name__} of length {len(value)}; "
            "if f returns (loss, grad), check lambda w: f(w)[0] instead"
        )
    arr = np.asarray(value)
    if arr.ndim != 0:
        raise ValueError(f"f must return a scalar, got an array of shape {arr.shape}")
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"f must return a real number, got dtype {arr.dtype}")
    result = float(arr)
    if not math.isfinite(result):
        raise ValueError(f"f returned {result} {where}; its derivative cannot be estimated")
    return result


def _array_value(value: Any, where: str) -> np.ndarray:
    """Copy what an array-valued f returned into a fresh float64 array, or raise."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"f must return a real numeric array, got dtype {arr.dtype}")
    # A copy: f may return x or a view of it, which the next perturbation would change.
    out = np.array(arr, dtype=np.float64)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"f returned NaN or inf {where}; its derivative cannot be estimated")
    return out


def _real_array(value: Any, name: str, shape: Index, mismatch: str) -> np.ndarray:
    """``value`` as a float64 array of ``shape``, or TypeError/ValueError naming it."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    if arr.shape != shape:
        raise ValueError(f"{name} has shape {arr.shape} but {mismatch}")
    return arr.astype(np.float64, copy=False)


def _perturbed_values(
    f: Callable[[np.ndarray], Any],
    x: np.ndarray,
    index: Index,
    offsets: Sequence[float],
    convert: Callable[[Any, str], Any],
) -> list[tuple[float, Any]]:
    """(realized offset, f value) pairs for x[index] moved by each offset; always restored."""
    original = x[index].copy()
    # Offsets are added in >= float64, rounded once to x.dtype; there differences are exact.
    wide = np.promote_types(x.dtype, np.float64).type
    base = wide(original)
    out = []
    try:
        for offset in offsets:
            with np.errstate(over="ignore"):
                x[index] = base + offset
            realized = float(wide(x[index]) - base)
            if realized == 0.0 or not math.isfinite(realized):
                raise ValueError(
                    f"h={abs(offset):.3g} does not move x{list(index)}={float(original)!r} "
                    f"in {x.dtype} (realized step {realized!r}); use a larger h"
                )
            where = f"at x{list(index)} {'+' if offset > 0 else '-'} {abs(offset):.3g}"
            out.append((realized, convert(f(x), where)))
    finally:
        x[index] = original
    return out


def numerical_gradient(
    f: Callable[[np.ndarray], ArrayLike], x: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    r"""Centered-difference gradient of a scalar function, perturbing ``x`` in place.

    Parameters
    ----------
    f, x, h : callable; ndarray of any shape, floating dtype; float, default=1e-5
        ``f(x) -> scalar`` (real number or 0-d array) called with ``x`` perturbed in one
        entry (or closing over it), not modifying ``x``; ``x`` writable and finite, each
        entry restored exactly; the nominal step (about ``1e-3`` suits float32).

    Returns
    -------
    grad : ndarray of shape ``x.shape``, float64
        :math:`(f(x^+) - f(x^-)) / (x^+_i - x^-_i)` at each index ``i``: ``2 · x.size`` calls.

    Raises
    ------
    TypeError, ValueError
        For an ``x`` not floating, read-only or not finite, an ``h`` not positive or too
        small to move an entry, or an ``f`` not returning a finite real scalar.

    Examples
    --------
    >>> from linclf.gradcheck import numerical_gradient
    >>> x = np.array([1.0, -2.0, 0.5])
    >>> np.round(numerical_gradient(lambda v: np.sum(v**2), x), 6).tolist()
    [2.0, -4.0, 1.0]
    """
    _validate_x(x)
    h = _validate_real(h, "h", positive=True)
    grad = np.empty(x.shape, dtype=np.float64)
    for index in np.ndindex(x.shape):
        (step_p, f_p), (step_m, f_m) = _perturbed_values(f, x, index, (h, -h), _scalar_value)
        grad[index] = (f_p - f_m) / (step_p - step_m)
    return grad


def numerical_gradient_array(
    f: Callable[[np.ndarray], ArrayLike], x: np.ndarray, df: ArrayLike, h: float = 1e-5
) -> np.ndarray:
    r"""Centered-difference gradient of ``Σ df · f(x)`` for an array-valued ``f``.

    Parameters
    ----------
    f, x, h, df
        As in :func:`numerical_gradient`, but ``f(x)`` is an array (a view of ``x`` is
        fine); the upstream gradient, of ``f(x)``'s shape.

    Returns
    -------
    dx : ndarray of shape ``x.shape``, float64
        A backward pass's ``dx``, :math:`\sum_j df_j (f(x^+)_j - f(x^-)_j) / (x^+_i - x^-_i)`
        (``1 + 2 · x.size`` calls).

    Raises
    ------
    TypeError, ValueError
        As in :func:`numerical_gradient`, or for a ``df`` or ``f(x)`` of a bad dtype or shape.

    Examples
    --------
    >>> from linclf.gradcheck import numerical_gradient_array
    >>> x, df = np.array([1.0, -2.0, 3.0]), np.array([1.0, 0.5, -1.0])
    >>> bool(np.allclose(numerical_gradient_array(lambda v: v**2, x, df), df * 2 * x))
    True
    """
    _validate_x(x)
    h = _validate_real(h, "h", positive=True)
    out_shape = _array_value(f(x), "at x").shape
    mismatch = f"f(x) has shape {out_shape}; df must be the upstream gradient of f(x), of"
    df_arr = _real_array(df, "df", out_shape, mismatch + " the same shape")

    def convert(value: Any, where: str) -> np.ndarray:
        out = _array_value(value, where)
        if out.shape != out_shape:
            raise ValueError(f"f returned shape {out.shape} {where}, but shape {out_shape} at x")
        return out

    grad = np.empty(x.shape, dtype=np.float64)
    for index in np.ndindex(x.shape):
        (step_p, out_p), (step_m, out_m) = _perturbed_values(f, x, index, (h, -h), convert)
        grad[index] = float(np.sum(df_arr * (out_p - out_m))) / (step_p - step_m)
    return grad


@dataclass(frozen=True)
class GradientEntry:
    """One compared coordinate of a gradient check.

    Attributes
    ----------
    index, numeric, analytic, abs_error, rel_error, passed : tuple, float, ..., bool
        Index into ``x``; ``n``; ``a``; ``|a - n|``; the relative error (both ``inf`` for
        a non-finite ``a``); ``rel_error <= rtol or abs_error <= atol``.
    """

    index: Index
    numeric: float
    analytic: float
    abs_error: float
    rel_error: float
    passed: bool


@dataclass(frozen=True)
class GradientCheckResult:
    """Outcome of :func:`check_gradient`; ``str(result)`` is :meth:`report`; ``bool(result)``
    raises ``TypeError`` (``assert check_gradient(...)`` would always pass).

    Attributes
    ----------
    passed, max_rel_error : bool, float
        Every compared (non-kink) entry passed, and one at least if any was checked; the
        largest relative error of the compared entries (``0.0`` if none).
    worst_index, numeric, analytic, worst : tuple of int, float, float or None; tuple
        The entry furthest outside its tolerance (``min(rel_error / rtol, abs_error /
        atol)``) and its values (None if none); up to ``n_worst`` GradientEntry, worst first.
    n_checked, n_failed, kinks, n_kinks, checked : int, int, tuple, int, tuple
        Coordinates evaluated, compared entries failed, kink indices (excluded) and their
        number, evaluated indices (C order).
    shape, input_dtype, computed_in : tuple of int, numpy.dtype, str
        ``x.shape``, ``x.dtype``, and ``"float64"`` (of the quotients and errors).
    h, rtol, atol, kink_tol : float
        The thresholds used (``atol`` scaled; ``kink_tol`` NaN without kink detection).
    """

    passed: bool
    max_rel_error: float
    worst_index: Index | None
    numeric: float | None
    analytic: float | None
    worst: tuple[GradientEntry, ...]
    n_checked: int
    n_failed: int
    kinks: tuple[Index, ...]
    n_kinks: int
    checked: tuple[Index, ...] = field(repr=False)
    shape: Index
    input_dtype: np.dtype
    computed_in: str
    h: float
    rtol: float
    atol: float
    kink_tol: float

    def __bool__(self) -> bool:
        raise TypeError(
            "the truth value of a GradientCheckResult is ambiguous; "
            "use result.passed or assert_gradient_close(...)"
        )

    def __str__(self) -> str:
        return self.report()

    def report(self) -> str:
        """Readable summary: verdict, thresholds, worst entries, kinks (no final newline)."""
        n_compared = self.n_checked - self.n_kinks
        if self.n_checked and not n_compared:
            verdict = (
                f"Gradient check FAILED: all {self.n_checked} checked coordinates are kinks, "
                "nothing was compared; move x away from the kinks"
            )
        elif self.passed:
            verdict = f"Gradient check passed: {n_compared} compared entries within tolerance"
        else:
            verdict = (
                f"Gradient check FAILED: {self.n_failed} of {n_compared} compared entries "
                "outside tolerance"
            )
        wide = self.input_dtype == np.float64
        dtype_note = ("" if wide else f"x is {self.input_dtype}; ") + "f values, steps and errors "
        dtype_note += "in float64" if wide else "converted to float64"
        lines = [
            verdict,
            f"  x: shape {self.shape}, dtype {self.input_dtype}; "
            f"{self.n_checked} of {math.prod(self.shape)} coordinates checked, "
            f"{self.n_kinks} kink{'' if self.n_kinks == 1 else 's'} excluded",
            f"  computed in {self.computed_in} ({dtype_note})",
            f"  h = {self.h:.3g}; entry passes if rel_error <= rtol = {self.rtol:.3g} "
            f"or |a - n| <= atol = {self.atol:.3g}; kink_tol = {self.kink_tol:.3g}",
            f"  max rel_error = {self.max_rel_error:.3e}",
        ]
        if self.worst:
            width = max(12, *(len(str(e.index)) for e in self.worst))
            lines += [
                "  worst entries (n = numeric, a = analytic):",
                f"    {'index':<{width}}  {'numeric n':>14}  {'analytic a':>14}"
                f"  {'|a - n|':>10}  {'rel_error':>10}",
            ]
            for e in self.worst:
                lines.append(
                    f"    {e.index!s:<{width}}  {e.numeric:>14.7e}  {e.analytic:>14.7e}"
                    f"  {e.abs_error:>10.3e}  {e.rel_error:>10.3e}"
                    f"  {'ok' if e.passed else 'FAIL'}"
                )
        if self.kinks:
            shown = ", ".join(str(k) for k in self.kinks[:10])
            more = f", ... ({self.n_kinks - 10} more)" if self.n_kinks > 10 else ""
            lines.append(f"  kinks (excluded from pass/fail): {shown}{more}")
        return "\n".join(lines)


def _relative_error(a: float, n: float) -> float:
    if not (math.isfinite(a) and math.isfinite(n)):
        return math.inf
    m = max(abs(a), abs(n))
    if m == 0.0:
        return 0.0
    # Dividing by the larger magnitude first: no overflow when both are huge (tiny: subnormals).
    return abs(a / m - n / m) / max(abs(a) / m + abs(n) / m, _TINY)


def _tolerance_ratio(error: float, tol: float) -> float:
    return error / tol if tol > 0.0 else (0.0 if error == 0.0 else math.inf)


def _select_indices(shape: Index, num_checks: int | None, seed: Any) -> list[Index]:
    size = math.prod(shape)
    if num_checks is None or num_checks >= size:
        return list(np.ndindex(shape))
    flat = np.sort(np.random.default_rng(seed).choice(size, size=num_checks, replace=False))
    return [tuple(int(i) for i in np.unravel_index(k, shape)) for k in flat]


def _is_kink(f0: float, samples: list[tuple[float, float]], kink_tol: float, noise: float) -> bool:
    (dp, fp), (dm, fm), (dp2, fp2), (dm2, fm2) = samples
    fwd, bwd = (fp - f0) / dp, (f0 - fm) / -dm
    fwd2, bwd2 = (fp2 - f0) / dp2, (f0 - fm2) / -dm2
    width, width2 = dp - dm, dp2 - dm2
    # Smooth f: fwd - bwd ≈ f''·width/2, so the gap at the full step is width/width2 (= 2)
    # times the gap at the half step; a kink inside the stencil gives a gap that does not.
    asymmetry = abs((fwd - bwd) - (fwd2 - bwd2) * (width / width2))
    # Smooth f: centered differences at h and h/2 agree to O(h² f'''). This catches kinks
    # about h/3 from x, where the gap test is blind; the factor 2 makes a kink anywhere
    # within h/2 of x score at least a quarter of its jump.
    drift = 2.0 * abs((fp - fm) / width - (fp2 - fm2) / width2)
    slope = max(abs(fwd), abs(bwd), abs(fwd2), abs(bwd2))
    return max(asymmetry, drift) > kink_tol * slope + noise


def _validate_flags(seed: Any, detect_kinks: Any) -> None:
    """TypeError naming ``seed`` or ``detect_kinks`` when it is not what they take."""
    if not isinstance(detect_kinks, (bool, np.bool_)):
        raise TypeError(
            f"detect_kinks must be a bool, got {detect_kinks!r} of type "
            f"{type(detect_kinks).__name__}"
        )
    integer = isinstance(seed, numbers.Integral) and not isinstance(seed, (bool, np.bool_))
    if not (seed is None or isinstance(seed, np.random.Generator) or (integer and seed >= 0)):
        raise TypeError(
            f"seed must be None, a non-negative int or a numpy.random.Generator, got {seed!r}"
        )


def check_gradient(
    f: Callable[[np.ndarray], ArrayLike],
    x: np.ndarray,
    analytic: ArrayLike,
    *,
    h: float | None = None,
    num_checks: int | None = None,
    seed: int | np.random.Generator | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    kink_tol: float | None = None,
    detect_kinks: bool = True,
    n_worst: int = 5,
) -> GradientCheckResult:
    r"""Compare an analytic gradient with centered differences, coordinate by coordinate.

    Parameters
    ----------
    f, x, analytic : callable; ndarray; array_like of shape ``x.shape``
        As in :func:`numerical_gradient` (``x`` restored exactly); the claimed ``∇f(x)``.
    h, rtol, atol, kink_tol : float, optional
        Step and thresholds; by default those of the module docstring.
    num_checks, seed : int, optional; int, numpy.random.Generator or None
        Check only this many distinct coordinates (None: all), drawn by ``default_rng(seed)``.
    detect_kinks, n_worst : bool, default=True; int, default=5
        Evaluate ``f(x ± h/2 e_i)`` too and exclude kinks (False: 2 calls per coordinate);
        how many of the worst entries to keep in ``result.worst``.

    Returns
    -------
    result : GradientCheckResult
        Whether the check passed, the worst entries and the kinks found; its ``report()``
        explains a failure.

    Raises
    ------
    TypeError, ValueError
        As in :func:`numerical_gradient`, for an ``analytic`` not real or not of ``x``'s
        shape, a negative or ill-typed threshold, or ``num_checks < 1``.

    Notes
    -----
    ``1 + 4k`` calls of ``f`` for ``k`` coordinates. With ``f_0 = f(x)``, slopes ``s^±``
    over the realized offsets ``±h``, ``±h/2`` and centered differences ``n(h)``,
    ``n(h/2)``, a coordinate is a kink when

    .. math::

        \max\Big(\big|(s^+_h - s^-_h) - 2\,(s^+_{h/2} - s^-_{h/2})\big|,\
        2\,\big|n(h) - n(h/2)\big|\Big)
        > \text{kink\_tol} \cdot \max|s| + 128\,\frac{\text{eps} \max(1, |f_0|)}{h}.

    For smooth ``f`` curvature cancels: the left side is ``h²|f'''|/4``, below
    ``kink_tol · |f'|`` unless ``|f'''/f'| > 4e6`` (float64) or ``4e3`` (float32). A
    derivative jump ``J`` at ``t·h`` from ``x_i`` leaves at least ``J/4`` (``t ≤ 1/2``) or
    ``J(1 - t)`` (``t < 1``), at least two thirds of the error it causes in ``n(h)``.

    Examples
    --------
    >>> from linclf.gradcheck import check_gradient
    >>> x = np.array([1.0, 0.0, -2.0])  # Σ max(0, x) has a kink at x = 0: excluded
    >>> result = check_gradient(lambda v: np.sum(np.maximum(v, 0)), x, (x > 0) * 1.0)
    >>> result.passed, result.kinks
    (True, ((1,),))
    """
    _validate_x(x)
    _validate_flags(seed, detect_kinks)
    mismatch = f"x has shape {x.shape}; the gradient must have the shape of x"
    analytic_arr = _real_array(analytic, "analytic", x.shape, mismatch)
    defaults = _defaults_for(x.dtype)
    h = defaults.h if h is None else _validate_real(h, "h", positive=True)
    rtol = defaults.rtol if rtol is None else _validate_real(rtol, "rtol")
    kink_tol = defaults.kink_tol if kink_tol is None else _validate_real(kink_tol, "kink_tol")
    atol = None if atol is None else _validate_real(atol, "atol")
    num_checks = None if num_checks is None else _validate_count(num_checks, "num_checks", 1)
    n_worst = _validate_count(n_worst, "n_worst", 0)
    indices = _select_indices(x.shape, num_checks, seed)

    # f(x), for the kink test and the default atol, also validates f's return value early.
    f0 = _scalar_value(f(x), "at x")
    if atol is None:
        atol = defaults.atol_scale * max(1.0, abs(f0))
    noise = _KINK_NOISE_FACTOR * float(np.finfo(x.dtype).eps) * max(1.0, abs(f0)) / h
    offsets = (h, -h, h / 2, -h / 2) if detect_kinks else (h, -h)

    entries: list[GradientEntry] = []
    kinks: list[Index] = []
    for index in indices:
        samples = _perturbed_values(f, x, index, offsets, _scalar_value)
        if detect_kinks and _is_kink(f0, samples, kink_tol, noise):
            kinks.append(index)
            continue
        (step_p, f_p), (step_m, f_m) = samples[:2]
        numeric = (f_p - f_m) / (step_p - step_m)
        entries.append(_entry(index, numeric, float(analytic_arr[index]), rtol, atol))
    # kink_tol is reported as NaN when kink detection was off.
    thresholds = dict(h=h, rtol=rtol, atol=atol, kink_tol=kink_tol if detect_kinks else math.nan)
    return _result(entries, kinks, indices, x, n_worst, thresholds)


def _entry(index: Index, numeric: float, a: float, rtol: float, atol: float) -> GradientEntry:
    abs_error = abs(a - numeric) if math.isfinite(a) else math.inf
    rel_error = _relative_error(a, numeric)
    passed = rel_error <= rtol or abs_error <= atol
    return GradientEntry(index, numeric, a, abs_error, rel_error, passed)


def _result(
    entries: list[GradientEntry],
    kinks: list[Index],
    indices: list[Index],
    x: np.ndarray,
    n_worst: int,
    thresholds: dict[str, float],
) -> GradientCheckResult:
    """The verdict, with the entries ranked by how far outside their tolerance they are."""

    def badness(e: GradientEntry) -> tuple[float, float]:
        # It fails iff both ratios exceed 1: their minimum ranks it (ties: larger |a - n|).
        ratio = min(
            _tolerance_ratio(e.rel_error, thresholds["rtol"]),
            _tolerance_ratio(e.abs_error, thresholds["atol"]),
        )
        return ratio, e.abs_error

    ranked = sorted(entries, key=badness, reverse=True)
    worst = ranked[0] if ranked else None
    n_failed = sum(not e.passed for e in entries)
    return GradientCheckResult(
        passed=n_failed == 0 and (bool(entries) or not indices),
        max_rel_error=max((e.rel_error for e in entries), default=0.0),
        worst_index=worst.index if worst else None,
        numeric=worst.numeric if worst else None,
        analytic=worst.analytic if worst else None,
        worst=tuple(ranked[:n_worst]),
        n_checked=len(indices),
        n_failed=n_failed,
        kinks=tuple(kinks),
        n_kinks=len(kinks),
        checked=tuple(indices),
        shape=tuple(x.shape),
        input_dtype=x.dtype,
        computed_in="float64",
        **thresholds,
    )


def assert_gradient_close(
    f: Callable[[np.ndarray], ArrayLike], x: np.ndarray, analytic: ArrayLike, **kwargs: Any
) -> GradientCheckResult:
    """Run :func:`check_gradient` (same arguments) and return its passing result.

    Parameters
    ----------
    f, x, analytic : callable; ndarray; array_like of shape ``x.shape``
        The function, the point and the claimed gradient, as in :func:`check_gradient`.
    **kwargs
        The keyword arguments of :func:`check_gradient` (``h``, ``rtol``, ``num_checks``...).

    Returns
    -------
    GradientCheckResult
        The result of the check, which passed.

    Raises
    ------
    AssertionError
        If the check fails, with ``result.report()`` (the worst entries) as message.

    Examples
    --------
    >>> from linclf.gradcheck import assert_gradient_close
    >>> x = np.linspace(-1.0, 1.0, 5)
    >>> assert_gradient_close(lambda v: np.sum(np.sin(v)), x, np.sin(x))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    AssertionError: Gradient check FAILED: 5 of 5 compared entries outside tolerance...
    """
    result = check_gradient(f, x, analytic, **kwargs)
    if not result.passed:
        raise AssertionError(result.report())
    return result
