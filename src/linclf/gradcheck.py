r"""Numerical gradients by centered differences, and a gradient checker for tests.

The checker compares a claimed (analytic) gradient ``a = ∇f(x)`` of a scalar function
``f`` with a numerical estimate ``n`` built from values of ``f`` alone. It is meant for
pytest tests, and it depends on NumPy only.

Centered differences
--------------------
For each coordinate ``i`` of ``x`` (any shape, 0-d included),
:math:`n_i = (f(x + h e_i) - f(x - h e_i)) / 2h`. The perturbation is written into the
caller's array ``x``, because ``f`` often ignores its argument and closes over the array
(CS231n style, ``f = lambda _: loss(W, X, y)`` with ``x = W``), and undone by writing back
the saved original value (``x_i + h - h`` is not ``x_i`` in floating point), also when
``f`` raises. The step divided by is the *realized* step ``x_i^+ - x_i^-`` read back after
rounding to ``x.dtype``, not the nominal ``2h``: in float32 the nominal step would add a
relative error of order ``eps · |x_i| / h`` (1 percent for ``|x_i| ≈ 100``, ``h = 1e-3``).

Step size and tolerances
------------------------
Following SciPy's ``_numdiff``, the error has two parts: truncation, ``h² |f'''| / 6``,
and rounding, about ``eps |f| / h`` when the values of ``f`` carry a relative error
``eps``. Their sum is smallest near ``h ≈ eps^(1/3)``: ``6e-6`` in float64, ``5e-3`` in
float32, ``1e-1`` in float16. The defaults, by ``x.dtype`` (wider types use float64's):

=========  ========  ========  =====================  ==========
dtype      h         rtol      atol                   kink_tol
=========  ========  ========  =====================  ==========
float64    1e-5      1e-6      1e-8 · max(1, |f(x)|)  1e-4
float32    1e-3      1e-2      1e-3 · max(1, |f(x)|)  1e-3
float16    1e-1      5e-2      5e-2 · max(1, |f(x)|)  1e-1
=========  ========  ========  =====================  ==========

With ``h = 1e-5`` in float64 both error terms are about ``1e-10`` for ``f``, ``f'''`` of
order one, so ``rtol = 1e-6`` leaves four orders of magnitude of margin, while a wrong
gradient (missing term, wrong sign, factor of 2) gives relative errors of ``1e-1`` and
more. In float32 the rounding term is ``1.2e-7 · |f| / 1e-3 ≈ 1e-4 · |f|``, so ``rtol``
is relaxed to ``1e-2``, which still flags O(1) mistakes; float16 checks catch errors of
more than about 10 percent.

An entry passes when its relative error
:math:`r_i = |a_i - n_i| / \max(|a_i| + |n_i|,\ \text{tiny})` (in ``[0, 1]``, ``0`` when
both are ``0``, never NaN; non-finite analytic values fail) is at most ``rtol``, or its
absolute error at most ``atol``. That floor matters where the true derivative is (near)
zero: the estimate is rounding noise, ``~eps |f| / h`` (``2e-11 · |f|`` in float64,
``1e-4 · |f|`` in float32), against an analytic value that may be exactly ``0``, a
relative error of 1 although nothing is wrong; hence ``atol`` proportional to
``max(1, |f(x)|)``. The flip side: gradients whose entries are all below ``atol`` are not
really tested; pass ``atol`` for such badly scaled problems. Quotients, steps and errors
are computed in float64 whatever ``x.dtype`` is; ``f`` runs at its own precision (the
float32 defaults assume float32).

Kinks
-----
Within ``h`` of a kink of a piecewise-smooth ``f`` (hinge loss, ReLU, ``|x|``) the
centered difference averages two one-sided slopes and disagrees with any analytic
gradient: a property of the finite difference, not a bug. :func:`check_gradient` flags
such coordinates from values of ``f`` alone (so a wrong gradient of a smooth ``f`` is
never excused as a kink) and leaves them out of pass/fail; its Notes give the criterion.
"""

import math
import numbers
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


@dataclass(frozen=True)
class _Defaults:
    h: float
    rtol: float
    atol_scale: float
    kink_tol: float


# The module docstring's table, by machine epsilon: the first row whose epsilon that of
# x.dtype reaches. Types wider than float64 take its row: the comparison runs in float64.
_DEFAULTS = (
    (float(np.finfo(np.float16).eps), _Defaults(1e-1, rtol=5e-2, atol_scale=5e-2, kink_tol=1e-1)),
    (float(np.finfo(np.float32).eps), _Defaults(1e-3, rtol=1e-2, atol_scale=1e-3, kink_tol=1e-3)),
    (0.0, _Defaults(1e-5, rtol=1e-6, atol_scale=1e-8, kink_tol=1e-4)),
)

# The kink statistics combine five values of f with coefficients whose absolute
# values sum to 16 (in units of 1/h), so their rounding noise is at most
# 16·eps·|f|/h if each value of f is off by eps·|f|. Sums whose terms partly
# cancel round at the scale of the terms, not of |f|; the extra factor 8 was
# needed to keep Σx³ over 200 float32 entries free of spurious kinks.
_KINK_NOISE_FACTOR = 128.0

_TINY = float(np.finfo(np.float64).tiny)


def _defaults_for(dtype: np.dtype) -> _Defaults:
    eps = float(np.finfo(dtype).eps)
    return next(defaults for limit, defaults in _DEFAULTS if eps >= limit)


def _validate_x(x: Any) -> None:
    if not isinstance(x, np.ndarray):
        raise TypeError(
            "x must be a NumPy ndarray (it is perturbed in place and passed to f), "
            f"got {type(x).__name__}"
        )
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(
            f"x must have a real floating dtype, got {x.dtype}; "
            "convert it first, e.g. x = x.astype(np.float64)"
        )
    if not x.flags.writeable:
        raise ValueError(
            "x is read-only, but it must be writable because it is perturbed in place; "
            "pass a writable array, e.g. x.copy()"
        )
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
    # A copy, because f may return x itself or a view of it, which the next
    # perturbation would change under our feet.
    out = np.array(arr, dtype=np.float64)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"f returned NaN or inf {where}; its derivative cannot be estimated")
    return out


def _perturbed_values(
    f: Callable[[np.ndarray], Any],
    x: np.ndarray,
    index: Index,
    offsets: Sequence[float],
    convert: Callable[[Any, str], Any],
) -> list[tuple[float, Any]]:
    """Evaluate f with x[index] moved by each offset; return (realized offset, value) pairs.

    x[index] is restored to its saved original value on every exit path.
    """
    original = x[index].copy()
    # Offsets are added in at least float64 and rounded once to x.dtype on
    # assignment; differences are taken in the same wide type, where the
    # difference of two values of x.dtype is exact.
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
    f : callable
        ``f(x) -> scalar`` (a real number or 0-d array), called with the very array
        ``x`` perturbed in one entry (or closing over it). It must not modify ``x``.
    x : ndarray of any shape, floating dtype
        Writable and finite; each entry is restored exactly, also when ``f`` raises.
    h : float, default=1e-5
        Nominal step; about ``1e-3`` suits float32 ``x`` (see the module docstring).

    Returns
    -------
    grad : ndarray of shape ``x.shape``, float64
        :math:`(f(x^+) - f(x^-)) / (x^+_i - x^-_i)` at each index ``i`` (C order), with
        :math:`x^{\pm} = x \pm h e_i` rounded to ``x.dtype``: ``2 · x.size`` calls of ``f``.

    Raises
    ------
    TypeError
        If ``x`` is not a floating ndarray, ``h`` not a real number, or ``f`` does not
        return a real scalar.
    ValueError
        If ``x`` is read-only or not finite, ``h`` not positive, ``f`` returns an array
        or a non-finite value, or ``h`` is too small to change an entry of ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> from linclf.gradcheck import numerical_gradient
    >>> x = np.array([1.0, -2.0, 0.5])
    >>> g = numerical_gradient(lambda v: np.sum(v**2), x)
    >>> np.round(g, 6).tolist()
    [2.0, -4.0, 1.0]
    >>> x.tolist()  # restored exactly
    [1.0, -2.0, 0.5]
    """
    _validate_x(x)
    h = _validate_real(h, "h", positive=True)
    grad = np.empty(x.shape, dtype=np.float64)
    for index in np.ndindex(x.shape):
        (step_p, f_p), (step_m, f_m) = _perturbed_values(f, x, index, (h, -h), _scalar_value)
        grad[index] = (f_p - f_m) / (step_p - step_m)
    return grad


def numerical_gradient_array(
    f: Callable[[np.ndarray], ArrayLike],
    x: np.ndarray,
    df: ArrayLike,
    h: float = 1e-5,
) -> np.ndarray:
    r"""Centered-difference gradient of ``Σ df · f(x)`` for an array-valued ``f``.

    It checks a backward pass: if a node computes ``out = f(x)`` and maps the upstream
    gradient ``dout`` to ``dx``, then ``numerical_gradient_array(f, x, dout)`` estimates
    that ``dx``.

    Parameters
    ----------
    f, x, h
        As in :func:`numerical_gradient`, but ``f(x)`` returns an array (a view of ``x``
        is fine: it is copied).
    df : array_like of shape ``f(x).shape``
        Upstream gradient, the weights of the scalar ``Σ df · f(x)``.

    Returns
    -------
    dx : ndarray of shape ``x.shape``, float64
        :math:`\sum_j df_j (f(x^+)_j - f(x^-)_j) / (x^+_i - x^-_i)`, with :math:`x^{\pm}`
        as in :func:`numerical_gradient`; the difference is taken before weighting by
        ``df``, so that cancellation happens between nearby values. ``1 + 2 · x.size``
        calls of ``f`` (one to learn the shape).

    Raises
    ------
    TypeError, ValueError
        As in :func:`numerical_gradient`, and when ``df`` is not real numeric or not of
        ``f(x)``'s shape, or ``f`` changes its output shape.

    Examples
    --------
    >>> import numpy as np
    >>> from linclf.gradcheck import numerical_gradient_array
    >>> x, df = np.array([1.0, -2.0, 3.0]), np.array([1.0, 0.5, -1.0])
    >>> dx = numerical_gradient_array(lambda v: v**2, x, df)
    >>> bool(np.allclose(dx, df * 2 * x))  # the backward of v**2
    True
    """
    _validate_x(x)
    h = _validate_real(h, "h", positive=True)
    out_shape = _array_value(f(x), "at x").shape
    df_arr = np.asarray(df)
    if df_arr.dtype.kind not in "iuf":
        raise TypeError(f"df must be a real numeric array, got dtype {df_arr.dtype}")
    if df_arr.shape != out_shape:
        raise ValueError(
            f"df has shape {df_arr.shape} but f(x) has shape {out_shape}; "
            "df must be the upstream gradient of f(x), of the same shape"
        )
    df_arr = df_arr.astype(np.float64, copy=False)

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
    index : tuple of int
        Index into ``x`` (``()`` for 0-d ``x``).
    numeric, analytic : float
        The centered-difference estimate ``n`` and the claimed gradient ``a``.
    abs_error, rel_error : float
        ``|a - n|`` and the relative error of the module docstring (both ``inf`` if ``a``
        is not finite).
    passed : bool
        ``rel_error <= rtol or abs_error <= atol``.
    """

    index: Index
    numeric: float
    analytic: float
    abs_error: float
    rel_error: float
    passed: bool


@dataclass(frozen=True)
class GradientCheckResult:
    """Outcome of :func:`check_gradient`; ``str(result)`` is :meth:`report`.

    Truth-testing the result raises ``TypeError``: ``assert check_gradient(...)`` would
    otherwise always pass; use ``result.passed`` or :func:`assert_gradient_close`.

    Attributes
    ----------
    passed : bool
        Every compared (non-kink) entry passed and, if any coordinate was checked, at
        least one was compared.
    max_rel_error : float
        Largest relative error over the compared entries; ``0.0`` if none.
    worst_index, numeric, analytic : tuple of int, float, float, or None
        The compared entry furthest outside its tolerance (largest
        ``min(rel_error / rtol, abs_error / atol)``) and its two values; None if none.
    worst : tuple of GradientEntry
        Up to ``n_worst`` compared entries, worst first.
    n_checked, n_failed : int
        Coordinates evaluated (kinks included); compared entries outside tolerance.
    kinks, n_kinks : tuple of tuple of int, int
        Indices flagged as kinks, excluded from pass/fail, and their number.
    checked : tuple of tuple of int
        Indices of the evaluated coordinates, in C order.
    shape, input_dtype : tuple of int, numpy.dtype
        ``x.shape`` and ``x.dtype``.
    computed_in : str
        ``"float64"``: the precision of the difference quotients and errors.
    h, rtol, atol, kink_tol : float
        The thresholds used (``atol`` after default scaling; ``kink_tol`` NaN when kink
        detection was off).
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
        size = math.prod(self.shape)
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
        dtype_note = (
            "f values, steps and errors in float64"
            if self.input_dtype == np.float64
            else f"x is {self.input_dtype}; f values, steps and errors converted to float64"
        )
        lines = [
            verdict,
            f"  x: shape {self.shape}, dtype {self.input_dtype}; "
            f"{self.n_checked} of {size} coordinates checked, "
            f"{self.n_kinks} kink{'' if self.n_kinks == 1 else 's'} excluded",
            f"  computed in {self.computed_in} ({dtype_note})",
            f"  h = {self.h:.3g}; entry passes if rel_error <= rtol = {self.rtol:.3g} "
            f"or |a - n| <= atol = {self.atol:.3g}; kink_tol = {self.kink_tol:.3g}",
            f"  max rel_error = {self.max_rel_error:.3e}",
        ]
        if self.worst:
            width = max(12, *(len(str(e.index)) for e in self.worst))
            lines.append("  worst entries (n = numeric, a = analytic):")
            lines.append(
                f"    {'index':<{width}}  {'numeric n':>14}  {'analytic a':>14}"
                f"  {'|a - n|':>10}  {'rel_error':>10}"
            )
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
    # Dividing by the larger magnitude first computes |a - n| / (|a| + |n|)
    # without overflow when both are huge; tiny only matters for subnormals.
    return abs(a / m - n / m) / max(abs(a) / m + abs(n) / m, _TINY)


def _tolerance_ratio(error: float, tol: float) -> float:
    if tol > 0.0:
        return error / tol
    return 0.0 if error == 0.0 else math.inf


def _select_indices(shape: Index, num_checks: int | None, seed: Any) -> list[Index]:
    size = math.prod(shape)
    if num_checks is None or num_checks >= size:
        return list(np.ndindex(shape))
    rng = np.random.default_rng(seed)
    flat = np.sort(rng.choice(size, size=num_checks, replace=False))
    return [tuple(int(i) for i in np.unravel_index(k, shape)) for k in flat]


def _is_kink(
    f0: float,
    samples: list[tuple[float, float]],
    kink_tol: float,
    noise: float,
) -> bool:
    (dp, fp), (dm, fm), (dp2, fp2), (dm2, fm2) = samples
    fwd, bwd = (fp - f0) / dp, (f0 - fm) / -dm
    fwd2, bwd2 = (fp2 - f0) / dp2, (f0 - fm2) / -dm2
    width, width2 = dp - dm, dp2 - dm2
    # Smooth f: fwd - bwd ≈ f''·width/2, so the gap at the full step is
    # width/width2 (= 2) times the gap at the half step; a kink inside the
    # stencil gives a gap that does not shrink with the step.
    asymmetry = abs((fwd - bwd) - (fwd2 - bwd2) * (width / width2))
    # Smooth f: centered differences at h and h/2 agree to O(h² f'''). This
    # catches the kink positions (about h/3 from x) where the gap test is
    # blind; the factor 2 balances the two tests so that a kink anywhere
    # within h/2 of x scores at least a quarter of its jump.
    drift = 2.0 * abs((fp - fm) / width - (fp2 - fm2) / width2)
    slope = max(abs(fwd), abs(bwd), abs(fwd2), abs(bwd2))
    return max(asymmetry, drift) > kink_tol * slope + noise


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
    f, x
        As in :func:`numerical_gradient` (so ``lambda _: loss(W, X, y)`` with ``x = W``
        works); ``x`` is restored exactly.
    analytic : array_like of shape ``x.shape``
        The claimed gradient ``∇f(x)``.
    h, rtol, kink_tol : float, optional
        Nominal step, relative tolerance and kink threshold (see Notes); default by
        ``x.dtype``, from the module docstring's table.
    atol : float, optional
        Absolute tolerance; default ``c · max(1, |f(x)|)`` with ``c`` from the table.
    num_checks : int, optional
        Check only this many distinct coordinates, drawn without replacement with
        ``np.random.default_rng(seed)``; None, or ``>= x.size``, checks them all.
    seed : int, numpy.random.Generator or None, optional
    detect_kinks : bool, default=True
        Evaluate ``f(x ± h/2 e_i)`` too and exclude kinks (False: kinks count as ordinary
        entries, 2 calls per coordinate instead of 4).
    n_worst : int, default=5
        How many of the worst entries to keep in ``result.worst``.

    Returns
    -------
    result : GradientCheckResult

    Raises
    ------
    TypeError, ValueError
        As in :func:`numerical_gradient`, and for an ``analytic`` that is not real numeric
        or not of ``x``'s shape, a negative or ill-typed threshold, or ``num_checks < 1``.

    Notes
    -----
    Each entry's ``n_i`` is that of :func:`numerical_gradient` (same realized step, same
    value), judged by the relative error and tolerances of the module docstring. Cost:
    ``1 + 4k`` calls of ``f`` for ``k`` checked coordinates (``1 + 2k`` without kinks).

    **Kink test.** With ``f_0 = f(x)``, forward/backward slopes ``s^±`` over the realized
    offsets of ``±h`` and ``±h/2``, and centered differences ``n(h)``, ``n(h/2)``, a
    coordinate is a kink when

    .. math::

        \max\Big(\big|(s^+_h - s^-_h) - 2\,(s^+_{h/2} - s^-_{h/2})\big|,\
        2\,\big|n(h) - n(h/2)\big|\Big)
        > \text{kink\_tol} \cdot \max|s| + 128\,\frac{\text{eps} \max(1, |f_0|)}{h}.

    (The factor 2 of the first term is the ratio of the realized stencil widths.) For
    smooth ``f`` the slope gap ``s^+ - s^- ≈ f'' · step`` is linear in the step, so
    curvature cancels and the left side is only ``h²|f'''|/4``: a large second
    derivative next to a small gradient is not a kink. That stays below
    ``kink_tol · |f'|`` unless ``|f'''/f'|`` exceeds ``4e6`` (float64 defaults) or
    ``4e3`` (float32). A jump ``J`` of the derivative at distance ``t·h`` from ``x_i``,
    ``t < 1``, leaves at least ``J/4`` (``t ≤ 1/2``) or ``J(1 - t)`` (``t > 1/2``) on the
    left, never less than two thirds of the error ``J(1 - t)/2`` it causes in ``n(h)``.
    The last term bounds the rounding noise of the left side (``eps`` of ``x.dtype``): its
    five values of ``f`` enter with coefficients summing to ``16/h``, and a further factor
    8 covers sums whose terms partly cancel. A kink whose jump is too small to be flagged
    simply fails the comparison, loudly.

    Examples
    --------
    >>> import numpy as np
    >>> from linclf.gradcheck import check_gradient
    >>> x = np.array([[1.0, -2.0], [0.5, 3.0]])
    >>> result = check_gradient(lambda v: np.sum(v**2), x, 2 * x)
    >>> result.passed, result.n_checked, result.n_kinks
    (True, 4, 0)
    >>> wrong = 2 * x
    >>> wrong[1, 0] = 0.0
    >>> check_gradient(lambda v: np.sum(v**2), x, wrong).worst_index
    (1, 0)

    ``Σ max(0, x)`` has a kink at ``x = 0``; that coordinate is excluded:

    >>> x = np.array([1.0, 0.0, -2.0])
    >>> result = check_gradient(lambda v: np.sum(np.maximum(v, 0)), x, (x > 0) * 1.0)
    >>> result.passed, result.kinks
    (True, ((1,),))
    """
    _validate_x(x)
    analytic_arr = np.asarray(analytic)
    if analytic_arr.dtype.kind not in "iuf":
        raise TypeError(f"analytic must be a real numeric array, got dtype {analytic_arr.dtype}")
    if analytic_arr.shape != x.shape:
        raise ValueError(
            f"analytic has shape {analytic_arr.shape} but x has shape {x.shape}; "
            "the gradient must have the shape of x"
        )
    analytic_arr = analytic_arr.astype(np.float64, copy=False)
    defaults = _defaults_for(x.dtype)
    h = defaults.h if h is None else _validate_real(h, "h", positive=True)
    rtol = defaults.rtol if rtol is None else _validate_real(rtol, "rtol")
    kink_tol = defaults.kink_tol if kink_tol is None else _validate_real(kink_tol, "kink_tol")
    if atol is not None:
        atol = _validate_real(atol, "atol")
    if num_checks is not None:
        num_checks = _validate_count(num_checks, "num_checks", 1)
    n_worst = _validate_count(n_worst, "n_worst", 0)
    indices = _select_indices(x.shape, num_checks, seed)

    # f(x) is needed for the kink test and the default atol; evaluating it
    # before any perturbation also validates f's return value early.
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
    thresholds = {
        "h": h,
        "rtol": rtol,
        "atol": atol,
        "kink_tol": kink_tol if detect_kinks else math.nan,
    }
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
        # An entry fails iff both ratios exceed 1, so their minimum ranks how
        # far outside its tolerance it is; ties go to the larger absolute error.
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
    f: Callable[[np.ndarray], ArrayLike],
    x: np.ndarray,
    analytic: ArrayLike,
    **kwargs: Any,
) -> GradientCheckResult:
    """Run :func:`check_gradient` (same arguments) and return its passing result.

    Raises
    ------
    AssertionError
        If the check fails; the message is ``result.report()``, naming the worst indices
        with numeric and analytic values.

    Examples
    --------
    >>> import numpy as np
    >>> from linclf.gradcheck import assert_gradient_close
    >>> x = np.linspace(-1.0, 1.0, 5)
    >>> assert_gradient_close(lambda v: np.sum(np.sin(v)), x, np.cos(x)).n_checked
    5
    >>> try:
    ...     assert_gradient_close(lambda v: np.sum(np.sin(v)), x, np.sin(x))
    ... except AssertionError as err:
    ...     print(str(err).splitlines()[0])
    Gradient check FAILED: 5 of 5 compared entries outside tolerance
    """
    result = check_gradient(f, x, analytic, **kwargs)
    if not result.passed:
        raise AssertionError(result.report())
    return result
