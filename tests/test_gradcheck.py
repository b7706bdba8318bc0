"""Tests of linclf.gradcheck: numerical gradients, the checker, kinks, exact restoration."""

import ast
import dataclasses
import doctest
import math
import re
from pathlib import Path

import numpy as np
import pytest

import linclf.gradcheck as gradcheck
from linclf.gradcheck import (
    GradientCheckResult,
    assert_gradient_close,
    check_gradient,
    numerical_gradient,
    numerical_gradient_array,
)

SHAPES = [(), (5,), (3, 4), (2, 3, 4)]


def _point(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _form_matrix(n):
    # Non-symmetric on purpose, so that ½(A + Aᵀ) differs from A.
    return np.random.default_rng(123).standard_normal((n, n))


def _quadratic_form(x):
    v = x.ravel()
    return 0.5 * v @ _form_matrix(v.size) @ v


def _quadratic_form_grad(x):
    a = _form_matrix(x.size)
    return (0.5 * (a + a.T) @ x.ravel()).reshape(x.shape)


def _logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def _softmax(x):
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


# Functions with hand-derived gradients, the independent oracles of these tests.
KNOWN = {
    "sum_of_squares": (lambda x: np.sum(x**2), lambda x: 2 * x),
    "sum_of_sines": (lambda x: np.sum(np.sin(x)), np.cos),
    "quadratic_form": (_quadratic_form, _quadratic_form_grad),
    "logsumexp": (_logsumexp, _softmax),
}


class CountingF:
    """Wrap a scalar function, count calls, optionally raise on call number `raise_on`."""

    def __init__(self, f, raise_on=None, watch=None):
        self.f = f
        self.calls = 0
        self.args = []
        self.raise_on = raise_on
        self.watch = watch
        self.perturbed_when_raised = None

    def __call__(self, x):
        self.calls += 1
        self.args.append(x)
        if self.calls == self.raise_on:
            self.perturbed_when_raised = not np.array_equal(x, self.watch)
            raise RuntimeError("boom on call 3")
        return self.f(x)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", list(KNOWN))
def test_numerical_gradient_matches_known_gradient(name, shape):
    # Proves the centered difference estimates the true gradient on every shape, 0-d included.
    f, grad = KNOWN[name]
    x = _point(shape)
    g = numerical_gradient(f, x)
    assert g.shape == x.shape and g.dtype == np.float64
    # Error ≈ h²|f'''|/6 + eps|f|/h ≈ 2e-11·(|f'''| + |f|) ≲ 1e-9 for |f| ≲ 50: 1e-8 leaves 10x.
    np.testing.assert_allclose(g, grad(x), rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", list(KNOWN))
def test_check_gradient_passes_known_gradient(name, shape):
    # Proves correct gradients pass with the float64 defaults, with no spurious kinks.
    f, grad = KNOWN[name]
    x = _point(shape)
    result = assert_gradient_close(f, x, grad(x))
    assert result.passed is True
    assert result.n_checked == x.size and result.n_kinks == 0 and result.kinks == ()
    assert result.max_rel_error < result.rtol == 1e-6


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_check_gradient_uses_the_numerical_gradient_values(shape):
    # Proves check_gradient's numeric values are bit-identical to numerical_gradient's.
    f, grad = KNOWN["sum_of_sines"]
    x = _point(shape)
    expected = numerical_gradient(f, x)
    result = check_gradient(f, x, grad(x), n_worst=x.size)
    assert len(result.worst) == x.size
    for entry in result.worst:
        assert entry.numeric == expected[entry.index]


def test_realized_step_is_used_not_nominal():
    # Proves the divisor is the step realized in float32, not the nominal 2h.
    x = np.array([4000.3], dtype=np.float32)
    h = 1e-3
    realized = float(np.float32(4000.3 + h)) - float(np.float32(4000.3 - h))
    assert abs(realized - 2 * h) > 1e-2 * 2 * h  # the nominal step would be off by >1 %
    g = numerical_gradient(lambda v: 3.0 * float(v[0]), x, h=h)
    # f is exactly linear in the float32 values, so only float64 rounding remains.
    assert g[0] == pytest.approx(3.0, rel=1e-12)


def _cube(x):
    return x**3


X_FIXED = np.random.default_rng(7).standard_normal((4, 3))
W_FIXED = np.random.default_rng(8).standard_normal((2, 3))

# (f, point, upstream gradient, hand-derived backward); the scores node S = X Wᵀ.
ARRAY_CASES = {
    "elementwise_cube": (
        _cube,
        _point((3, 4), seed=1),
        _point((3, 4), seed=2),
        lambda x, df: df * 3 * x**2,
    ),
    "scores_wrt_W": (
        lambda w: X_FIXED @ w.T,
        W_FIXED.copy(),
        _point((4, 2), seed=3),
        lambda w, ds: ds.T @ X_FIXED,
    ),
    "scores_wrt_X": (
        lambda x: x @ W_FIXED.T,
        X_FIXED.copy(),
        _point((4, 2), seed=4),
        lambda x, ds: ds @ W_FIXED,
    ),
    "row_sums": (
        lambda x: x.sum(axis=1),
        _point((3, 4), seed=5),
        _point((3,), seed=6),
        lambda x, df: np.broadcast_to(df[:, None], x.shape),
    ),
    "transposed_view_of_x": (
        lambda x: x.T,
        _point((3, 4), seed=9),
        _point((4, 3), seed=10),
        lambda x, df: df.T,
    ),
}


@pytest.mark.parametrize("name", list(ARRAY_CASES))
def test_numerical_gradient_array_matches_backward(name):
    # Proves Σ df·f(x) is differentiated correctly, also when f returns a view of x.
    f, x, df, backward = ARRAY_CASES[name]
    x = x.copy()
    dx = numerical_gradient_array(f, x, df)
    assert dx.shape == x.shape and dx.dtype == np.float64
    # Linear cases have no truncation error and the cube's is h²·|df|; rounding ~1e-10.
    np.testing.assert_allclose(dx, backward(x, df), rtol=1e-7, atol=1e-8)


def test_numerical_gradient_array_rejects_mismatched_df():
    # Proves df must have f(x)'s shape and the message names both shapes.
    x = _point((4, 3))
    with pytest.raises(ValueError, match=r"df has shape \(3, 4\) but f\(x\) has shape \(4, 2\)"):
        numerical_gradient_array(lambda w: w @ W_FIXED.T, x, np.ones((3, 4)))


WRONG_CASES = [((), ()), ((5,), (3,)), ((3, 4), (1, 2)), ((2, 3, 4), (1, 0, 3))]


@pytest.mark.parametrize(("shape", "index"), WRONG_CASES, ids=str)
def test_wrong_entry_is_located(shape, index):
    # Proves one wrong entry fails the check, is the worst entry and is not excused as a kink.
    x = _point(shape)
    analytic = np.array(np.cos(x))  # np.array: np.cos of a 0-d array is a scalar
    analytic[index] += 0.5
    f = KNOWN["sum_of_sines"][0]
    result = check_gradient(f, x, analytic)
    assert result.passed is False
    assert result.worst_index == index
    assert result.n_failed == 1 and result.n_kinks == 0
    assert result.analytic == analytic[index]
    # The numeric value is the true derivative, to the float64 error bound ~1e-10.
    assert result.numeric == pytest.approx(math.cos(x[index]), abs=1e-8)
    assert str(index) in result.report()
    with pytest.raises(AssertionError, match=re.escape(str(index))):
        assert_gradient_close(f, x, analytic)


def _relu_sum(x):
    return np.sum(np.maximum(x, 0.0))


def _relu_grad(x):
    return (x > 0).astype(np.float64)


def _abs_sum(x):
    return np.sum(np.abs(x))


KINKED = {"relu": (_relu_sum, _relu_grad), "abs": (_abs_sum, np.sign)}


@pytest.mark.parametrize(
    ("name", "fraction"),
    [
        ("relu", 0.0),
        ("relu", 0.25),
        ("relu", 1 / 3),
        ("relu", 0.75),
        ("relu", -0.5),
        ("abs", 0.0),
        ("abs", -1 / 3),
        ("abs", 0.6),
    ],
)
def test_kink_within_h_is_flagged_and_excluded(name, fraction):
    # Proves a kink at x or within h of it (fraction·h away) is flagged and left out of pass/fail.
    f, grad = KINKED[name]
    x = np.array([0.7, -1.3, fraction * 1e-5, 2.0, -0.4])
    result = check_gradient(f, x, grad(x))
    assert result.kinks == ((2,),) and result.n_kinks == 1
    assert result.passed is True and result.n_checked == 5
    assert all(entry.index != (2,) for entry in result.worst)
    assert "kinks (excluded from pass/fail): (2,)" in result.report()


def test_kink_exclusion_is_what_makes_relu_pass():
    # Proves the kink really breaks the centered difference: without detection, relu at 0 fails.
    x = np.array([0.7, -1.3, 0.0, 2.0])
    result = check_gradient(_relu_sum, x, _relu_grad(x), detect_kinks=False)
    assert result.passed is False and result.worst_index == (2,)
    assert result.numeric == pytest.approx(0.5)  # the average of the one-sided slopes 0 and 1
    assert math.isnan(result.kink_tol)


def test_several_kinks_in_a_matrix():
    # Proves every kink of a 2-d x is reported by its index tuple, in C order.
    x = _point((3, 4), seed=11)
    x[0, 3] = 0.0
    x[2, 1] = 0.0
    result = check_gradient(_relu_sum, x, _relu_grad(x))
    assert result.kinks == ((0, 3), (2, 1)) and result.n_kinks == 2
    assert result.passed is True


def test_all_kinks_does_not_pass_vacuously():
    # Proves a check that compared nothing (every coordinate a kink) is not a pass.
    x = np.zeros(3)
    result = check_gradient(_relu_sum, x, np.zeros(3))
    assert result.n_kinks == 3 and result.worst_index is None
    assert result.passed is False
    assert "nothing was compared" in result.report()


# Smooth points where the forward and backward slopes differ by far more than the
# gradient (curvature·h ≫ |f'|), which a test comparing one-sided slopes alone
# would call a kink.
SMOOTH_CURVED = {
    "square_near_minimum": (lambda x: np.sum(x**2), lambda x: 2 * x, 1e-7),
    "cos_at_maximum": (lambda x: np.sum(np.cos(x)), lambda x: -np.sin(x), 0.0),
    "steep_exponential": (lambda x: np.sum(np.exp(5 * x)), lambda x: 5 * np.exp(5 * x), 1.5),
}


@pytest.mark.parametrize("wrong", [False, True], ids=["correct", "wrong"])
@pytest.mark.parametrize("name", list(SMOOTH_CURVED))
def test_smooth_curvature_is_not_a_kink(name, wrong):
    # Proves curvature cancels from the kink test: no kink, and a wrong entry there fails.
    f, grad, value = SMOOTH_CURVED[name]
    x = np.array([0.3, value, -0.8])
    analytic = grad(x)
    if wrong:
        analytic[1] += 1.0
    result = check_gradient(f, x, analytic)
    assert result.n_kinks == 0
    assert result.passed is (not wrong)
    if wrong:
        assert result.worst_index == (1,)


LOW_PRECISION = {
    np.float32: {"h": 1e-3, "rtol": 1e-2, "atol_scale": 1e-3},
    np.float16: {"h": 1e-1, "rtol": 5e-2, "atol_scale": 5e-2},
}


@pytest.mark.parametrize("dtype", list(LOW_PRECISION), ids=lambda d: np.dtype(d).name)
def test_low_precision_defaults_pass_correct_gradient(dtype):
    # Proves float32/float16 x get relaxed defaults, a float64 comparison and a correct pass.
    x = _point((3, 4), dtype=dtype)
    f0 = float(np.sum(np.sin(x)))
    result = check_gradient(lambda v: np.sum(np.sin(v)), x, np.cos(x))
    expected = LOW_PRECISION[dtype]
    assert result.passed is True and result.n_kinks == 0
    assert result.computed_in == "float64"
    assert result.input_dtype == np.dtype(dtype)
    assert result.h == expected["h"] and result.rtol == expected["rtol"]
    assert result.atol == pytest.approx(expected["atol_scale"] * max(1.0, abs(f0)))
    assert np.dtype(dtype).name in result.report()


@pytest.mark.parametrize("dtype", list(LOW_PRECISION), ids=lambda d: np.dtype(d).name)
def test_low_precision_defaults_fail_wrong_gradient(dtype):
    # Proves the relaxed thresholds still catch an O(1) mistake (+0.5 on a cosine).
    x = _point((3, 4), dtype=dtype)
    analytic = np.cos(x).astype(np.float64)
    analytic[1, 2] += 0.5
    result = check_gradient(lambda v: np.sum(np.sin(v)), x, analytic)
    assert result.passed is False and result.worst_index == (1, 2)


def _saved_point(dtype):
    x = _point((3, 4), dtype=dtype, seed=12)
    x[0, 0] = -0.0  # a sign bit that only a bitwise restore keeps
    x[0, 1] = 3e-7  # below h: rounding x + h drops its low bits
    return x


H_BY_DTYPE = {np.float32: 1e-3, np.float64: 1e-5}

OPERATIONS = {
    "numerical_gradient": lambda f, x: numerical_gradient(f, x, h=H_BY_DTYPE[x.dtype.type]),
    "numerical_gradient_array": lambda f, x: numerical_gradient_array(
        lambda v: np.array([f(v)]), x, np.ones(1), h=H_BY_DTYPE[x.dtype.type]
    ),
    "check_gradient_all": lambda f, x: check_gradient(f, x, np.cos(x)),
    "check_gradient_subset": lambda f, x: check_gradient(f, x, np.cos(x), num_checks=5, seed=0),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_x_restored_bit_for_bit(operation, dtype):
    # Proves every entry is written back exactly, where x + h - h would not be.
    x = _saved_point(dtype)
    saved = x.copy()
    h = dtype(H_BY_DTYPE[dtype])
    naive = (x + h) - h
    assert naive.tobytes() != x.tobytes()  # a naive restore would change x: the test can fail
    OPERATIONS[operation](lambda v: np.sum(np.sin(v)), x)
    assert np.array_equal(x, saved) and x.tobytes() == saved.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_x_restored_when_f_raises(operation, dtype):
    # Proves the exception propagates and the entry perturbed at that moment is restored.
    x = _saved_point(dtype)
    saved = x.copy()
    f = CountingF(lambda v: np.sum(np.sin(v)), raise_on=3, watch=saved)
    with pytest.raises(RuntimeError, match="boom on call 3"):
        OPERATIONS[operation](f, x)
    assert f.perturbed_when_raised is True  # the raise happened mid-perturbation
    assert x.tobytes() == saved.tobytes()


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_f_receives_the_callers_array(operation):
    # Proves f is called with the very object x, so closures over x see the perturbation.
    x = _saved_point(np.float64)
    f = CountingF(lambda v: np.sum(np.sin(v)))
    OPERATIONS[operation](f, x)
    assert f.calls > 0 and all(arg is x for arg in f.args)


def test_closure_ignoring_its_argument():
    # Proves the CS231n style f = lambda _: loss(W) works because W itself is perturbed.
    w = _point((3, 4), seed=13)
    result = check_gradient(lambda _: np.sum(np.tanh(w)), w, 1 - np.tanh(w) ** 2)
    assert result.passed is True and result.n_checked == 12


@pytest.mark.parametrize("detect_kinks", [True, False], ids=["kinks", "no_kinks"])
@pytest.mark.parametrize("k", [1, 3, 7])
def test_num_checks_bounds_calls(k, detect_kinks):
    # Proves the cost is exactly 1 + 4k calls (1 + 2k without kink detection) on k coordinates.
    x = _point((2, 3, 4))
    f = CountingF(lambda v: np.sum(np.sin(v)))
    result = check_gradient(f, x, np.cos(x), num_checks=k, seed=0, detect_kinks=detect_kinks)
    assert f.calls == 1 + (4 if detect_kinks else 2) * k
    assert result.n_checked == k and len(set(result.checked)) == k
    flat = [np.ravel_multi_index(i, x.shape) for i in result.checked]  # raises if out of range
    assert len(flat) == k
    assert result.passed is True


def test_num_checks_same_seed_same_coordinates():
    # Proves the sample is reproducible from the seed (int or Generator) and depends on it.
    x = _point((6, 7))
    f = KNOWN["sum_of_sines"][0]
    first = check_gradient(f, x, np.cos(x), num_checks=4, seed=5).checked
    again = check_gradient(f, x, np.cos(x), num_checks=4, seed=5).checked
    from_rng = check_gradient(f, x, np.cos(x), num_checks=4, seed=np.random.default_rng(5)).checked
    other = check_gradient(f, x, np.cos(x), num_checks=4, seed=6).checked
    assert first == again == from_rng
    assert first != other


@pytest.mark.parametrize("k", [24, 25, 1000])
def test_num_checks_at_least_size_checks_all(k):
    # Proves num_checks >= x.size means every coordinate, in C order.
    x = _point((2, 3, 4))
    result = check_gradient(lambda v: np.sum(np.sin(v)), x, np.cos(x), num_checks=k)
    assert result.n_checked == 24
    assert result.checked == tuple(np.ndindex(x.shape))


@pytest.mark.parametrize(
    ("f", "x"),
    [
        (lambda v: 0.0, np.array([1.0, -2.0])),
        (lambda v: np.sum(v**2), np.zeros(3)),
        (lambda v: np.sum(v**2), np.zeros(())),
    ],
    ids=["constant_f", "square_at_zero", "square_at_zero_0d"],
)
def test_zero_gradient_has_zero_relative_error(f, x):
    # Proves 0 vs 0 gives relative error 0 (not NaN, which would raise here as a RuntimeWarning).
    result = check_gradient(f, x, np.zeros(x.shape))
    assert result.passed is True
    assert result.max_rel_error == 0.0
    assert all(entry.rel_error == 0.0 for entry in result.worst)


@pytest.mark.parametrize(
    ("analytic", "rel_error"),
    [(0.0, 1.0), (-3.0, 1.0), (6.0, 1 / 3), (np.nan, math.inf), (np.inf, math.inf)],
)
def test_relative_error_values(analytic, rel_error):
    # Proves |a - n| / (|a| + |n|) on f(x) = 3x (n = 3): bounded by 1, inf for non-finite a.
    x = np.array(0.5)
    result = check_gradient(lambda v: 3.0 * v, x, np.array(analytic))
    assert result.numeric == pytest.approx(3.0, rel=1e-9)
    # Tolerance: n carries the ~1e-11 rounding error of the difference quotient.
    assert result.max_rel_error == pytest.approx(rel_error, rel=1e-9)
    assert result.passed is False


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e4])
def test_default_atol_scales_with_f(scale):
    # Proves the default absolute floor is 1e-8·max(1, |f(x)|) in float64.
    x = _point((4,))
    result = check_gradient(lambda v: scale * np.sum(v**2), x, scale * 2 * x)
    assert result.atol == pytest.approx(1e-8 * max(1.0, scale * float(np.sum(x**2))))
    assert result.passed is True


def test_report_and_result_protocol():
    # Proves the report's content, str() == report(), and that truth-testing is refused.
    x = _point((3,))
    result = check_gradient(lambda v: np.sum(v**2), x, 2 * x)
    text = result.report()
    assert text.startswith("Gradient check passed")
    assert "rtol = 1e-06" in text and "atol = " in text and "float64" in text
    assert str(result) == text
    with pytest.raises(TypeError, match=re.escape("use result.passed")):
        bool(result)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.passed = False  # type: ignore[misc]
    assert isinstance(result, GradientCheckResult)


@pytest.mark.parametrize("n_worst", [0, 1, 5])
def test_worst_entries_ranked_and_limited(n_worst):
    # Proves result.worst holds at most n_worst entries, the larger error first.
    x = _point((6,))
    analytic = 2 * x
    analytic[1] += 3.0
    analytic[4] += 1.0
    result = check_gradient(lambda v: np.sum(v**2), x, analytic, n_worst=n_worst)
    assert len(result.worst) == n_worst
    assert [e.index for e in result.worst[:2]] == [(1,), (4,)][:n_worst]
    assert result.n_failed == 2 and result.worst_index == (1,)


def test_worst_is_ranked_against_tolerance_not_raw_relative_error():
    # Proves a noise-level entry (rel error ~1, passing by atol) does not mask a real failure.
    x = np.array([np.pi / 2, 0.3, -0.8, 1.1])
    analytic = np.cos(x)  # cos(π/2) ≈ 6e-17 while the numeric value is pure noise
    analytic[3] *= 1.2
    result = check_gradient(lambda v: np.sum(np.sin(v)), x, analytic)
    noise_entry = next(e for e in result.worst if e.index == (0,))
    assert noise_entry.passed and noise_entry.rel_error > 0.5
    assert result.worst_index == (3,) and result.n_failed == 1
    assert result.max_rel_error == noise_entry.rel_error


def test_empty_x():
    # Proves a size-0 x is checked vacuously: nothing compared, nothing failed.
    x = np.zeros((0, 3))
    result = check_gradient(lambda v: np.sum(v**2), x, np.zeros((0, 3)))
    assert result.passed is True and result.n_checked == 0 and result.worst_index is None
    assert numerical_gradient(lambda v: np.sum(v**2), x).shape == (0, 3)


def _read_only(x):
    x.flags.writeable = False
    return x


BAD_CALLS = {
    "integer_x": (
        lambda: numerical_gradient(np.sum, np.arange(3)),
        TypeError,
        r"x must have a real floating dtype, got int64",
    ),
    "complex_x": (
        lambda: check_gradient(np.sum, np.ones(2, dtype=complex), np.ones(2)),
        TypeError,
        r"x must have a real floating dtype, got complex128",
    ),
    "list_x": (
        lambda: check_gradient(np.sum, [1.0, 2.0], [1.0, 1.0]),
        TypeError,
        r"x must be a NumPy ndarray",
    ),
    "read_only_x": (
        lambda: numerical_gradient(np.sum, _read_only(np.ones(3))),
        ValueError,
        r"x is read-only",
    ),
    "nan_in_x": (
        lambda: numerical_gradient(np.sum, np.array([1.0, np.nan])),
        ValueError,
        r"x must contain only finite values",
    ),
    "array_valued_f": (
        lambda: numerical_gradient(lambda v: v, np.ones(3)),
        ValueError,
        r"f must return a scalar, got an array of shape \(3,\)",
    ),
    "loss_and_grad_tuple": (
        lambda: check_gradient(lambda v: (np.sum(v), v), np.ones(2), np.ones(2)),
        TypeError,
        r"f must return a scalar, got a tuple of length 2",
    ),
    "nan_valued_f": (
        lambda: numerical_gradient(
            lambda v: math.sqrt(v[0] - 1.0) if v[0] >= 1.0 else math.nan, np.array([1.0])
        ),
        ValueError,
        r"f returned nan at x\[0\] - 1e-05",
    ),
    "analytic_shape": (
        lambda: check_gradient(np.sum, np.ones(3), np.ones(4)),
        ValueError,
        r"analytic has shape \(4,\) but x has shape \(3,\)",
    ),
    "zero_h": (
        lambda: numerical_gradient(np.sum, np.ones(3), h=0.0),
        ValueError,
        r"h must be a finite positive number, got 0\.0",
    ),
    "string_h": (
        lambda: check_gradient(np.sum, np.ones(3), np.ones(3), h="1e-5"),
        TypeError,
        r"h must be a real number, got str",
    ),
    "h_too_small_for_float32": (
        lambda: numerical_gradient(np.sum, np.array([1e8], dtype=np.float32), h=1e-3),
        ValueError,
        r"h=0\.001 does not move x\[0\]=100000000\.0 in float32",
    ),
    "zero_num_checks": (
        lambda: check_gradient(np.sum, np.ones(3), np.ones(3), num_checks=0),
        ValueError,
        r"num_checks must be >= 1, got 0",
    ),
    "float_num_checks": (
        lambda: check_gradient(np.sum, np.ones(3), np.ones(3), num_checks=2.0),
        TypeError,
        r"num_checks must be an integer, got float",
    ),
    "negative_rtol": (
        lambda: check_gradient(np.sum, np.ones(3), np.ones(3), rtol=-1e-6),
        ValueError,
        r"rtol must be a finite number >= 0, got -1e-06",
    ),
}


@pytest.mark.parametrize("name", list(BAD_CALLS))
def test_bad_arguments_have_clear_errors(name):
    # Proves each misuse raises the documented exception type with a message naming the argument.
    call, error, message = BAD_CALLS[name]
    with pytest.raises(error, match=message):
        call()


def test_bad_f_value_leaves_x_restored():
    # Proves a NaN from f at a perturbed point raises and still leaves x exactly as it was.
    x = np.array([2.0, 1.0])
    saved = x.copy()
    with pytest.raises(ValueError, match=r"f returned nan at x\[1\] - 1e-05"):
        check_gradient(lambda v: np.sqrt(v[1] - 1.0) if v[1] >= 1.0 else np.nan, x, np.ones(2))
    assert x.tobytes() == saved.tobytes()


def test_module_imports_numpy_only():
    # Proves gradcheck stays a leaf: standard library and NumPy, nothing from linclf.
    tree = ast.parse(Path(gradcheck.__file__).read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0  # no relative imports
            roots.add(node.module.split(".")[0])
    assert roots <= {"math", "numbers", "collections", "dataclasses", "typing", "numpy"}


def test_docstring_examples_run():
    # Proves every Examples section in the module runs and prints what it shows.
    outcome = doctest.testmod(gradcheck, optionflags=doctest.ELLIPSIS)
    assert outcome.attempted > 10
    assert outcome.failed == 0
