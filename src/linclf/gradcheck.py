r"""Numerical gradients by centered differences, and a gradient checker for tests.

The checker compares a claimed (analytic) gradient ``a = ∇f(x)`` of a scalar
function ``f`` with a numerical estimate ``n`` built from values of ``f`` alone.
It is meant to be called from pytest tests, and it depends on NumPy only.

Centered differences
--------------------
For each coordinate ``i`` of ``x`` (any shape, 0-d included) the estimate is

.. math::

    n_i = \frac{f(x + h e_i) - f(x - h e_i)}{2h},

where ``e_i`` is the unit vector of coordinate ``i``. The perturbation is
written *into the caller's array* ``x`` and undone afterwards, because ``f``
very often ignores its argument and closes over the array (CS231n style,
``f = lambda _: loss(W, X, y)`` with ``x = W``). Every entry is restored by
writing back its saved original value, never by computing ``x_i + h - h``,
which is not ``x_i`` in floating point; the restore also runs when ``f``
raises.

The step actually taken is the *realized* step ``x_i^+ - x_i^-`` read back from
the array after rounding to ``x.dtype``, not the nominal ``2h``. In float64 the
two differ in the last bits; in float32 (``x_i + h`` representable only to
about ``1e-7`` relative) they differ visibly, and dividing by the nominal step
would add a relative error of order ``eps(float32) · |x_i| / h`` (1 percent
for ``|x_i| ≈ 100`` and ``h = 1e-3``) to every estimate.

Step size and tolerances
------------------------
Following the analysis in SciPy's ``_numdiff``, the error of the centered
difference has two parts:

* truncation, from the Taylor expansion: ``h² |f'''| / 6``, i.e. O(h²);
* rounding, from the values of ``f`` carrying a relative error ``eps``:
  about ``eps |f| / h``, i.e. O(eps/h).

Their sum is smallest near ``h ≈ eps^(1/3)``: ``6e-6`` in float64, ``5e-3`` in
float32, ``1e-1`` in float16. The defaults, chosen by ``x.dtype`` (wider types
such as longdouble use the float64 row):

=========  ========  ========  =====================  ==========
dtype      h         rtol      atol                   kink_tol
=========  ========  ========  =====================  ==========
float64    1e-5      1e-6      1e-8 · max(1, |f(x)|)  1e-4
float32    1e-3      1e-2      1e-3 · max(1, |f(x)|)  1e-3
float16    1e-1      5e-2      5e-2 · max(1, |f(x)|)  1e-1
=========  ========  ========  =====================  ==========

With ``h = 1e-5`` in float64 both error terms are about ``1e-10`` for ``f``,
``f'''`` of order one, so ``rtol = 1e-6`` leaves four orders of magnitude of
margin, while a genuinely wrong gradient (missing term, wrong sign, factor of
2) gives relative errors of ``1e-1`` and more. The usual reading of the
relative error: below ``1e-7`` great, above ``1e-2`` wrong. In float32 the
rounding term is ``1.2e-7 · |f| / 1e-3 ≈ 1e-4 · |f|``, so ``rtol`` is relaxed
to ``1e-2``, which still flags O(1) mistakes. float16 checks are coarse: they
catch errors of more than about 10 percent.

An entry passes when its relative error

.. math::

    r_i = \frac{|a_i - n_i|}{\max(|a_i| + |n_i|,\ \text{tiny})}

(``0`` when both are ``0``, never NaN) is at most ``rtol``, or when its absolute
error ``|a_i - n_i|`` is at most ``atol``. The absolute floor matters where
the true derivative is zero or tiny: there the numerical estimate is pure
rounding noise (``~eps |f| / h``) while the analytic value may be exactly ``0``,
so the relative error is ``1`` although nothing is wrong. That noise is about
``2e-11 · |f|`` in float64 and ``1e-4 · |f|`` in float32, hence an ``atol``
proportional to ``max(1, |f(x)|)``. The flip side: gradients whose entries are
all smaller than ``atol`` are not really tested; pass ``atol`` explicitly for
such badly scaled problems.

All difference quotients, steps and errors are computed in float64 (Python
floats) whatever ``x.dtype`` is; the result records the input dtype and
``computed_in = "float64"``. The function ``f`` itself runs at whatever
precision it uses; the float32 defaults assume it computes in float32.

Kinks
-----
A piecewise-smooth ``f`` (hinge loss, ReLU, ``|x|``) has a kink where its
derivative jumps. If a kink lies within ``h`` of ``x_i`` the centered difference
averages the two one-sided slopes and disagrees with any analytic gradient,
which is a property of the finite difference, not a bug. :func:`check_gradient`
therefore also evaluates ``f(x)`` once and ``f(x ± h/2 e_i)`` at each checked
coordinate, and flags the coordinate as a kink when the finite differences are
not self-consistent: when the gap between the forward and backward slopes is
not the one smooth curvature explains (it halves with the step), or the
centered difference changes with the step. Curvature cancels from both tests,
so a smooth ``f`` with a large second derivative and a small gradient is not a
kink, and the analytic gradient is not used at all, so a wrong gradient of a
smooth ``f`` is never excused as a kink. Kinks are reported separately and left
out of pass/fail. See :func:`check_gradient` for the exact criterion.

Examples
--------
Check the gradient ``2x`` of ``f(x) = Σ x²``:

>>> import numpy as np
>>> from linclf.gradcheck import assert_gradient_close, check_gradient
>>> x = np.array([[1.0, -2.0], [0.5, 3.0]])
>>> result = check_gradient(lambda v: np.sum(v**2), x, 2 * x)
>>> result.passed, result.n_checked, result.n_kinks
(True, 4, 0)
>>> result.max_rel_error < 1e-9
True

A wrong gradient fails, and the report names the worst entry:

>>> wrong = 2 * x
>>> wrong[1, 0] = 0.0
>>> bad = check_gradient(lambda v: np.sum(v**2), x, wrong)
>>> bad.passed, bad.worst_index
(False, (1, 0))

In a test, :func:`assert_gradient_close` raises ``AssertionError`` with the
report as its message:

>>> _ = assert_gradient_close(lambda v: np.sum(v**2), x, 2 * x)
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


# Keyed by machine epsilon of x.dtype; see the module docstring for the
# derivation. Wider types (longdouble) use the float64 row because the
# comparison is done in float64 anyway.
_FLOAT64_DEFAULTS = _Defaults(h=1e-5, rtol=1e-6, atol_scale=1e-8, kink_tol=1e-4)
_FLOAT32_DEFAULTS = _Defaults(h=1e-3, rtol=1e-2, atol_scale=1e-3, kink_tol=1e-3)
_FLOAT16_DEFAULTS = _Defaults(h=1e-1, rtol=5e-2, atol_scale=5e-2, kink_tol=1e-1)

# The kink statistics combine five values of f with coefficients whose absolute
# values sum to 16 (in units of 1/h), so their rounding noise is at most
# 16·eps·|f|/h if each value of f is off by eps·|f|. Sums whose terms partly
# cancel round at the scale of the terms, not of |f|; the extra factor 8 was
# needed to keep Σx³ over 200 float32 entries free of spurious kinks.
_KINK_NOISE_FACTOR = 128.0

_TINY = float(np.finfo(np.float64).tiny)


def _defaults_for(dtype: np.dtype) -> _Defaults:
    eps = float(np.finfo(dtype).eps)
    if eps >= float(np.finfo(np.float16).eps):
        return _FLOAT16_DEFAULTS
    if eps >= float(np.finfo(np.float32).eps):
        return _FLOAT32_DEFAULTS
    return _FLOAT64_DEFAULTS


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


def _validate_step(h: Any) -> float:
    if isinstance(h, (bool, np.bool_)) or not isinstance(h, numbers.Real):
        raise TypeError(f"h must be a real number, got {type(h).__name__}")
    h = float(h)
    if not (math.isfinite(h) and h > 0.0):
        raise ValueError(f"h must be a finite positive number, got {h!r}")
    return h


def _validate_tol(value: Any, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not (math.isfinite(value) and value >= 0.0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
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
        ``f(x) -> scalar``. Called with the very array ``x`` (perturbed in one
        entry); it may also ignore its argument and close over ``x``. It must
        return a real scalar (Python or NumPy number, or 0-d array) and must not
        modify ``x``.
    x : ndarray of any shape, floating dtype
        Point at which to differentiate. Must be writable and finite. Each entry
        is perturbed in turn and restored exactly afterwards, also when ``f``
        raises.
    h : float, default=1e-5
        Nominal step. ``1e-5`` suits float64; for float32 ``x`` use about
        ``1e-3`` (see the module docstring).

    Returns
    -------
    grad : ndarray of shape ``x.shape``, float64
        ``grad[i]`` estimates ``∂f/∂x[i]``.

    Raises
    ------
    TypeError
        If ``x`` is not an ndarray of floating dtype, if ``h`` is not a real
        number, or if ``f`` returns something that is not a real scalar.
    ValueError
        If ``x`` is read-only or not finite, if ``h`` is not positive, if
        ``f`` returns an array or a non-finite value, or if ``h`` is too small
        to change an entry of ``x`` in its dtype.

    Notes
    -----
    For every index ``i`` (in C order; ``()`` for 0-d ``x``)

    .. math::

        \text{grad}_i = \frac{f(x^{+}) - f(x^{-})}{x^{+}_i - x^{-}_i},
        \qquad x^{\pm} = x \pm h e_i \text{ rounded to } x.\text{dtype},

    using the realized step ``x^+_i - x^-_i`` (≈ ``2h``). This costs
    ``2 · x.size`` calls of ``f``. The error is about ``h² |f'''| / 6 + eps |f| / h``.

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
    h = _validate_step(h)
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

    Use it to check a backward pass: if a node computes ``out = f(x)`` and its
    backward maps the upstream gradient ``dout`` to ``dx``, then
    ``numerical_gradient_array(f, x, dout)`` estimates that ``dx``.

    Parameters
    ----------
    f : callable
        ``f(x) -> array``. Called with the very array ``x`` (perturbed in one
        entry); it may also close over ``x``. Its output may be a view of ``x``
        (it is copied). It must not modify ``x``.
    x : ndarray of any shape, floating dtype
        Point at which to differentiate. Must be writable and finite; restored
        exactly afterwards, also when ``f`` raises.
    df : array_like of shape ``f(x).shape``
        Upstream gradient, the weights of the scalar ``Σ df · f(x)``.
    h : float, default=1e-5
        Nominal step; see :func:`numerical_gradient`.

    Returns
    -------
    dx : ndarray of shape ``x.shape``, float64
        ``dx[i]`` estimates ``Σ_j df[j] ∂f(x)[j]/∂x[i]``.

    Raises
    ------
    TypeError
        If ``x`` is not an ndarray of floating dtype, or ``f`` or ``df`` is not
        real numeric.
    ValueError
        If ``x`` is read-only or not finite, if ``h`` is not positive, if
        ``df.shape`` differs from ``f(x).shape``, if ``f`` changes its output
        shape or returns non-finite values, or if ``h`` is too small to change
        an entry of ``x``.

    Notes
    -----
    With ``x^{\pm}`` and the realized step as in :func:`numerical_gradient`,

    .. math::

        dx_i = \frac{\sum_j df_j \,(f(x^{+})_j - f(x^{-})_j)}{x^{+}_i - x^{-}_i}.

    The difference is taken before weighting by ``df`` so that cancellation
    happens between nearby values. Costs ``1 + 2 · x.size`` calls of ``f``
    (one to learn and validate the output shape).

    Examples
    --------
    Backward of an elementwise square, ``dx = df · 2x``:

    >>> import numpy as np
    >>> from linclf.gradcheck import numerical_gradient_array
    >>> x = np.array([1.0, -2.0, 3.0])
    >>> df = np.array([1.0, 0.5, -1.0])
    >>> dx = numerical_gradient_array(lambda v: v**2, x, df)
    >>> bool(np.allclose(dx, df * 2 * x))
    True
    """
    _validate_x(x)
    h = _validate_step(h)
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
    numeric : float
        Centered-difference estimate ``n``.
    analytic : float
        Claimed gradient ``a``.
    abs_error : float
        ``|a - n|`` (``inf`` if ``a`` is not finite).
    rel_error : float
        ``|a - n| / max(|a| + |n|, tiny)``, in ``[0, 1]``; ``0`` when both are
        ``0``, ``inf`` if ``a`` is not finite; never NaN.
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
    """Outcome of :func:`check_gradient`.

    ``str(result)`` is :meth:`report`. Truth-testing the result raises
    ``TypeError``: ``assert check_gradient(...)`` would otherwise always pass;
    use ``result.passed`` or :func:`assert_gradient_close`.

    Attributes
    ----------
    passed : bool
        True when every compared (non-kink) entry passed and, if any
        coordinate was checked, at least one was compared.
    max_rel_error : float
        Largest relative error over the compared entries; ``0.0`` if none.
    worst_index : tuple of int or None
        Index of the compared entry that is furthest outside its tolerance,
        i.e. with the largest ``min(rel_error / rtol, abs_error / atol)``
        (``()`` for 0-d ``x``); None if no entry was compared.
    numeric, analytic : float or None
        Numerical and analytic values at ``worst_index``.
    worst : tuple of GradientEntry
        Up to ``n_worst`` compared entries, worst first.
    n_checked : int
        Number of coordinates evaluated (kinks included).
    n_failed : int
        Number of compared entries outside tolerance.
    kinks : tuple of tuple of int
        Indices flagged as kinks, excluded from pass/fail.
    n_kinks : int
        ``len(kinks)``.
    checked : tuple of tuple of int
        Indices of the evaluated coordinates, in C order.
    shape : tuple of int
        ``x.shape``.
    input_dtype : numpy.dtype
        ``x.dtype``.
    computed_in : str
        ``"float64"``: the precision of the difference quotients and errors.
    h, rtol, atol, kink_tol : float
        The thresholds actually used (``atol`` after default scaling; ``kink_tol``
        is NaN when kink detection was off).
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
        """Readable multi-line summary: verdict, thresholds, worst entries, kinks.

        Returns
        -------
        text : str
            Several lines, without a trailing newline.
        """
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
    f : callable
        ``f(x) -> scalar``. Called with the very array ``x`` that is perturbed,
        so both ``lambda w: loss(w, X, y)`` and ``lambda _: loss(W, X, y)``
        (closing over ``x = W``) work. Must not modify ``x``.
    x : ndarray of any shape, floating dtype
        Point of the check. Must be writable and finite; every entry is
        restored exactly afterwards, also when ``f`` raises.
    analytic : array_like of shape ``x.shape``
        The claimed gradient ``∇f(x)``.
    h : float, optional
        Nominal step. Default by ``x.dtype``: ``1e-5`` (float64 and wider),
        ``1e-3`` (float32), ``1e-1`` (float16), each near ``eps^(1/3)``.
    num_checks : int, optional
        Check only this many distinct coordinates, drawn without replacement
        with ``np.random.default_rng(seed)``. None, or a value ``>= x.size``,
        checks all of them.
    seed : int, numpy.random.Generator or None, optional
        Seed of the coordinate sample; only used when ``num_checks < x.size``.
    rtol : float, optional
        Relative tolerance. Default ``1e-6`` (float64), ``1e-2`` (float32),
        ``5e-2`` (float16).
    atol : float, optional
        Absolute tolerance, for entries whose true derivative is (near) zero.
        Default ``c · max(1, |f(x)|)`` with ``c = 1e-8`` (float64), ``1e-3``
        (float32), ``5e-2`` (float16), because the rounding noise of the
        centered difference scales with ``|f|``.
    kink_tol : float, optional
        Relative threshold of the kink test (see Notes). Default ``1e-4``
        (float64), ``1e-3`` (float32), ``1e-1`` (float16).
    detect_kinks : bool, default=True
        Evaluate ``f(x ± h/2 e_i)`` too and exclude kinks. With False, kinks
        count as ordinary entries and each coordinate costs 2 calls, not 4.
    n_worst : int, default=5
        How many of the worst entries to keep in ``result.worst``.

    Returns
    -------
    result : GradientCheckResult
        Verdict, worst entries, kinks and the thresholds used; ``str(result)``
        is a readable report.

    Raises
    ------
    TypeError
        If ``x`` is not an ndarray of floating dtype, ``analytic`` is not real
        numeric, ``f`` does not return a real scalar, or a threshold has the
        wrong type.
    ValueError
        If ``analytic.shape != x.shape``, ``x`` is read-only or not finite,
        ``f`` returns an array or a non-finite value, a threshold is negative,
        ``num_checks < 1``, or ``h`` is too small to change an entry of ``x``.

    Notes
    -----
    For each checked index ``i`` the numerical derivative ``n_i`` is the
    centered difference of :func:`numerical_gradient` (same realized step, same
    value). With ``a_i`` the analytic value, the entry passes when

    .. math::

        r_i = \frac{|a_i - n_i|}{\max(|a_i| + |n_i|,\ \text{tiny})} \le
        \text{rtol} \quad\text{or}\quad |a_i - n_i| \le \text{atol}.

    ``r_i`` lies in ``[0, 1]``, is ``0`` when both values are ``0`` and is never
    NaN; non-finite analytic values fail. The defaults are justified in the
    module docstring: centered-difference error ``h²|f'''|/6 + eps|f|/h`` is
    about ``1e-10`` in float64 with ``h = 1e-5``, four orders below ``rtol``,
    and about ``1e-4 |f|`` in float32 with ``h = 1e-3``, two below ``rtol``.

    **Kink test.** With ``f_0 = f(x)``, the realized offsets ``δ`` of
    ``±h`` and ``±h/2``, forward/backward slopes ``s^±`` and centered differences
    ``n(h)``, ``n(h/2)``, a coordinate is a kink when

    .. math::

        \max\Big(\big|(s^+_h - s^-_h) - 2\,(s^+_{h/2} - s^-_{h/2})\big|,\
        2\,\big|n(h) - n(h/2)\big|\Big)
        > \text{kink\_tol} \cdot \max|s| + 128\,\frac{\text{eps} \max(1, |f_0|)}{h}.

    (The factor 2 of the first term is the ratio of the realized stencil
    widths.) For smooth ``f`` the slope gap ``s^+ - s^- ≈ f'' · step`` is linear
    in the step, so curvature cancels and the left side is only
    ``h²|f'''|/4``: a large second derivative next to a small gradient is not
    a kink. That stays below ``kink_tol · |f'|`` unless ``|f'''/f'|`` exceeds
    ``4e6`` (float64 defaults) or ``4e3`` (float32). A jump ``J`` of the
    derivative at distance ``t·h`` from ``x_i``, ``t < 1``, leaves at least
    ``J/4`` (``t ≤ 1/2``) or ``J(1 - t)`` (``t > 1/2``) on the left, never less
    than two thirds of the error ``J(1 - t)/2`` it causes in ``n(h)``. The last
    term bounds the rounding noise of the left side, ``eps`` being the machine
    epsilon of ``x.dtype``: its five values of ``f`` enter with coefficients
    summing to ``16/h``, and a further factor 8 covers sums whose terms partly
    cancel. The analytic gradient plays no part, so a wrong gradient of a
    smooth ``f`` is never excused as a kink. A kink whose jump is too small to
    be flagged simply fails the comparison, loudly.

    **Cost.** ``1 + 4k`` calls of ``f`` for ``k`` checked coordinates
    (``1 + 2k`` with ``detect_kinks=False``).

    Examples
    --------
    The gradient of ``log Σ exp(x)`` is the softmax:

    >>> import numpy as np
    >>> from linclf.gradcheck import check_gradient
    >>> x = np.array([0.5, -1.0, 2.0])
    >>> softmax = np.exp(x) / np.sum(np.exp(x))
    >>> result = check_gradient(lambda v: np.log(np.sum(np.exp(v))), x, softmax)
    >>> result.passed
    True

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
    h = defaults.h if h is None else _validate_step(h)
    rtol = defaults.rtol if rtol is None else _validate_tol(rtol, "rtol")
    kink_tol = defaults.kink_tol if kink_tol is None else _validate_tol(kink_tol, "kink_tol")
    if atol is not None:
        atol = _validate_tol(atol, "atol")
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
        (step_p, f_p), (step_m, f_m) = samples[:2]
        if detect_kinks and _is_kink(f0, samples, kink_tol, noise):
            kinks.append(index)
            continue
        numeric = (f_p - f_m) / (step_p - step_m)
        a = float(analytic_arr[index])
        abs_error = abs(a - numeric) if math.isfinite(a) else math.inf
        rel_error = _relative_error(a, numeric)
        passed = rel_error <= rtol or abs_error <= atol
        entries.append(GradientEntry(index, numeric, a, abs_error, rel_error, passed))

    def badness(e: GradientEntry) -> tuple[float, float]:
        # An entry fails iff both ratios exceed 1, so their minimum ranks how
        # far outside its tolerance it is; ties go to the larger absolute error.
        ratio = min(_tolerance_ratio(e.rel_error, rtol), _tolerance_ratio(e.abs_error, atol))
        return ratio, e.abs_error

    ranked = sorted(entries, key=badness, reverse=True)
    worst_entry = ranked[0] if ranked else None
    n_failed = sum(not e.passed for e in entries)
    return GradientCheckResult(
        passed=n_failed == 0 and (bool(entries) or not indices),
        max_rel_error=max((e.rel_error for e in entries), default=0.0),
        worst_index=worst_entry.index if worst_entry else None,
        numeric=worst_entry.numeric if worst_entry else None,
        analytic=worst_entry.analytic if worst_entry else None,
        worst=tuple(ranked[:n_worst]),
        n_checked=len(indices),
        n_failed=n_failed,
        kinks=tuple(kinks),
        n_kinks=len(kinks),
        checked=tuple(indices),
        shape=tuple(x.shape),
        input_dtype=x.dtype,
        computed_in="float64",
        h=h,
        rtol=rtol,
        atol=atol,
        kink_tol=kink_tol if detect_kinks else math.nan,
    )


def assert_gradient_close(
    f: Callable[[np.ndarray], ArrayLike],
    x: np.ndarray,
    analytic: ArrayLike,
    **kwargs: Any,
) -> GradientCheckResult:
    """Run :func:`check_gradient` and raise ``AssertionError`` with its report on failure.

    Parameters
    ----------
    f : callable
        ``f(x) -> scalar``, as in :func:`check_gradient`.
    x : ndarray of any shape, floating dtype
        Point of the check; restored exactly afterwards.
    analytic : array_like of shape ``x.shape``
        The claimed gradient.
    **kwargs
        Keyword arguments of :func:`check_gradient` (``h``, ``num_checks``,
        ``seed``, ``rtol``, ``atol``, ``kink_tol``, ``detect_kinks``,
        ``n_worst``).

    Returns
    -------
    result : GradientCheckResult
        The passing result, for further assertions.

    Raises
    ------
    AssertionError
        If the check fails; the message is ``result.report()``, naming the
        worst indices with numeric and analytic values.
    TypeError, ValueError
        For bad arguments, as in :func:`check_gradient`.

    Notes
    -----
    Passing means every compared entry satisfies
    ``|a - n| / max(|a| + |n|, tiny) <= rtol`` or ``|a - n| <= atol``.

    Examples
    --------
    >>> import numpy as np
    >>> from linclf.gradcheck import assert_gradient_close
    >>> x = np.linspace(-1.0, 1.0, 5)
    >>> result = assert_gradient_close(lambda v: np.sum(np.sin(v)), x, np.cos(x))
    >>> result.n_checked
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
