"""The compiled fused kernel against the NumPy path, the loop references and itself.

The NumPy path (``kernel="numpy"``), the naive loops of linclf.objective and the numerical
checker are the oracles. Every compiled-specific test skips when the kernel is not built
or ``LINCLF_KERNEL=numpy`` (the CI step that runs the suite on the NumPy path).
"""

from __future__ import annotations

import functools
import itertools
import multiprocessing
import os
import platform
import re
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from helpers import make_blobs, make_problem
from linclf import SGD, LinearObjective, Trainer, assert_gradient_close
from linclf._engine.compiled import FusedKernel, aligned_empty, kernel_info, load_kernel
from linclf._engine.core import batched_scores
from linclf.objective import softmax_loss_naive, svm_loss_naive

KERNEL = load_kernel()  # None when not built or LINCLF_KERNEL=numpy
compiled = pytest.mark.skipif(
    KERNEL is None, reason="compiled kernel not built or LINCLF_KERNEL=numpy"
)
ISAS = ("sse2", "avx2", "avx512")  # x86-64 builds, narrowest first
# (B, D, C): D not a multiple of 16, B of 4, C of the tiles 4/5/6; the last has C·D >= 65536
# (the reduction runs on several threads), the 3072 one several row blocks per thread.
SHAPES = [
    (1, 1, 1), (3, 5, 2), (7, 17, 3), (64, 3072, 10), (37, 101, 13), (256, 33, 2),
    (50, 40, 7), (9, 7000, 10),
]  # fmt: skip


def _cpu_isa() -> str | None:
    """The widest build this CPU runs, by /proc/cpuinfo's flags (Linux x86-64), else None."""
    info = Path("/proc/cpuinfo")
    if platform.machine().lower() not in ("x86_64", "amd64") or not info.is_file():
        return None
    lines = [line for line in info.read_text().splitlines() if line.startswith("flags")]
    flags = set(lines[0].split(":", 1)[1].split()) if lines else set()
    avx2 = {"avx2", "fma"} <= flags
    return "avx512" if avx2 and "avx512f" in flags else "avx2" if avx2 else "sse2"


@functools.cache
def _problem(B: int, D: int, C: int) -> tuple[np.ndarray, ...]:
    """float64 X, W (scores O(1)), b, y, w, reseeded until no hinge margin (Δ 1 or 0.5, b or
    not) is within 1e-3 of its kink: float32 rounding (<1e-5 here) never flips an indicator."""
    for seed in itertools.count():
        rng = np.random.default_rng([B, D, C, seed])
        X, W = rng.normal(size=(B, D)), rng.normal(size=(C, D)) / np.sqrt(D)
        b, y, w = rng.normal(size=C), rng.integers(0, C, size=B), rng.uniform(0.1, 2.0, size=B)
        off = np.arange(C) != y[:, None]
        for S, delta in itertools.product((X @ W.T, X @ W.T + b), (1.0, 0.5)):
            margins = (S - S[np.arange(B), y][:, None] + delta)[off]  # m_ij, j ≠ y_i
            if np.any(np.abs(margins) < 1e-3):
                break
        else:
            for a in (X, W, b, y, w):
                a.setflags(write=False)
            return X, W, b, y, w
    raise AssertionError("unreachable")


def _case(shape, dtype, bias=True, weights="random"):
    X, W, b, y, w = _problem(*shape)
    w = {"none": None, "random": w, "some zero": w * (np.arange(w.size) % 2), "all zero": 0 * w}
    return X.astype(dtype), W.astype(dtype), b.astype(dtype) if bias else None, y, w[weights]


def _run(objective, X, W, b, y, w):
    """(loss, dW, db) of a call, copied out of the buffers the next call overwrites."""
    loss, grads = objective.loss_grad({"W": W, "b": b}, X, y, w)
    return loss, grads["W"].copy(), None if grads["b"] is None else grads["b"].copy()


def _assert_same_bits(got, want):
    assert not isinstance(got[0], type), got  # an exception (of _outcome)
    for got_part, want_part in zip(got, want, strict=True):
        np.testing.assert_array_equal(got_part, want_part)  # NaN equals NaN


def test_the_compiled_kernel_is_built_where_ci_expects_it(monkeypatch):
    # With LINCLF_EXPECT_COMPILED=1 (CI after building) a missing or too narrow build fails
    # instead of every compiled test skipping; without it, kernel_info() tells the truth.
    cpu = _cpu_isa()
    if os.environ.get("LINCLF_EXPECT_COMPILED") == "1":
        monkeypatch.delenv("LINCLF_KERNEL", raising=False)  # the build, whatever path runs
        kernel = load_kernel()
        assert kernel is not None, "LINCLF_EXPECT_COMPILED=1, but no compiled kernel loads"
        assert cpu is None or kernel.isa == cpu
    elif KERNEL is None:
        assert kernel_info() == "NumPy (no compiled kernel)"
    else:
        assert kernel_info().startswith(f"compiled ({KERNEL.isa}, ")
        assert cpu is None or ISAS.index(KERNEL.isa) <= ISAS.index(cpu)  # never one it lacks


@compiled
@pytest.mark.parametrize("n_threads", [1, 2, 3])
@pytest.mark.parametrize("reg", [0.0, 0.1])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("weights", ["none", "random", "some zero", "all zero"])
@pytest.mark.parametrize(
    ("loss", "params"),
    [("hinge", {"delta": 1.0}), ("hinge", {"delta": 0.5}), ("softmax", {})],
    ids=["hinge1", "hinge0.5", "softmax"],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_compiled_equals_the_numpy_path(shape, dtype, loss, params, weights, bias, reg, n_threads):
    # The fused pass computes the NumPy path's loss, dW and db to rounding, for every shape,
    # loss, dtype, weighting, bias, penalty and thread count.
    X, W, b, y, w = _case(shape, dtype, bias, weights)
    objective = LinearObjective(loss, reg, n_threads=n_threads, **params)
    assert objective.compiled_kernel(X, W, b) is KERNEL  # this case does run compiled
    got = _run(objective, X, W, b, y, w)
    want = _run(LinearObjective(loss, reg, kernel="numpy", **params), X, W, b, y, w)
    # float64: the worst-case rounding D·eps is 1.6e-12 here (seen: 5e-15); 1e-10 is far above.
    # float32: D-term sums in two orders differ by ~eps·√D (random-walk rounding; seen: under
    # eps·√D / 20); 4x that covers both paths' errors and the sums over the rows.
    tol = 1e-10 if dtype == np.float64 else 4 * np.finfo(dtype).eps * np.sqrt(shape[1])
    assert abs(got[0] - want[0]) <= tol * max(1.0, abs(want[0]))  # losses are O(1)
    assert got[1].dtype == dtype and (got[2] is None) == (not bias)
    for got_grad, want_grad in zip(got[1:], want[1:], strict=True):  # dW, db: normwise
        if want_grad is not None:
            scale = np.abs(want_grad).max(initial=0.0)
            np.testing.assert_allclose(got_grad, want_grad, rtol=0, atol=tol * scale)


@compiled
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_strided_batches_run_compiled_and_column_strided_ones_fall_back(dtype):
    # X[::2] (C-ordered rows, stride 2·D) is read in place, never the NaN rows between;
    # X[:, ::2] has no contiguous rows: the NumPy path computes it (its bits exactly).
    X, *rest = _case((50, 40, 7), dtype)
    W, b, y, w = rest
    tall, wide = np.full((100, 40), np.nan, dtype), np.full((50, 80), np.nan, dtype)
    tall[::2] = wide[:, ::2] = X
    objective = LinearObjective("softmax", 0.1, n_threads=2)
    assert objective.compiled_kernel(tall[::2], W, b) is KERNEL
    # Same kernel, same threads: the bits of the contiguous copy.
    _assert_same_bits(_run(objective, tall[::2], W, b, y, w), _run(objective, X, W, b, y, w))
    assert objective.compiled_kernel(wide[:, ::2], W, b) is None
    numpy_path = LinearObjective("softmax", 0.1, kernel="numpy")
    _assert_same_bits(_run(objective, wide[:, ::2], *rest), _run(numpy_path, wide[:, ::2], *rest))


@compiled
@pytest.mark.parametrize(("loss", "params"), [("hinge", {"delta": 1.0}), ("softmax", {})])
def test_compiled_gradients_pass_the_numerical_checker(loss, params):
    # dW and db of the compiled path are the objective's gradients (float64, default
    # tolerances; the checker sets aside any coordinate within h of a hinge kink).
    W, b, X, y, w = make_problem(seed=4)
    objective = LinearObjective(loss, 0.1, n_threads=2, **params)
    assert objective.compiled_kernel(X, W, b) is KERNEL
    _, dW, db = _run(objective, X, W, b, y, w)  # copies: the next call overwrites the buffers

    def f(_):
        return objective.loss_grad({"W": W, "b": b}, X, y, w)[0]

    assert_gradient_close(f, W, dW)
    assert_gradient_close(f, b, db)


@compiled
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(
    ("loss", "naive", "params"),
    [("hinge", svm_loss_naive, {"delta": 0.5}), ("softmax", softmax_loss_naive, {})],
    ids=["hinge", "softmax"],
)
def test_compiled_equals_the_loop_reference(loss, naive, params, weighted, bias):
    # An implementation sharing no code with either path agrees to 1e-10 in float64 (as in
    # test_objective.py: O(1) values, errors ~1e-15).
    W, b, X, y, w = make_problem(seed=6)
    b, w = b if bias else None, w if weighted else None
    got = LinearObjective(loss, 0.3, n_threads=2, **params).loss_grad({"W": W, "b": b}, X, y, w)
    loss_ref, dW_ref, db_ref = naive(W, b, X, y, 0.3, sample_weight=w, **params)
    assert abs(got[0] - loss_ref) <= 1e-10
    np.testing.assert_allclose(got[1]["W"], dW_ref, rtol=0, atol=1e-10)
    if bias:
        np.testing.assert_allclose(got[1]["b"], db_ref, rtol=0, atol=1e-10)
    assert (got[1]["b"] is None) == (not bias)


@compiled
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("loss", ["hinge", "softmax"])
@pytest.mark.parametrize("shape", [(64, 3072, 10), (9, 7000, 10)], ids=str)
def test_the_same_call_twice_gives_the_same_bits(shape, loss, n_threads):
    # Threads sum their partials in thread order: one thread count, one result.
    case = _case(shape, np.float32)
    objective = LinearObjective(loss, 0.1, n_threads=n_threads)
    _assert_same_bits(_run(objective, *case), _run(objective, *case))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
@pytest.mark.parametrize("shape", [(0,), (1,), (3, 5), (10, 3072), (7, 1, 9)], ids=str)
def test_aligned_empty_starts_on_a_cache_line(shape, dtype):
    a = aligned_empty(shape, dtype)
    assert (a.shape, a.dtype, a.flags.c_contiguous, a.flags.writeable) == (shape, dtype, True, True)
    assert a.size == 0 or a.ctypes.data % 64 == 0
    a[...] = 1  # every entry is inside the buffer
    assert a.sum() == a.size


@compiled
@pytest.mark.parametrize("loss", ["hinge", "softmax"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "shape", [(64, 3072, 10), (37, 101, 13), (130, 3072, 10), (150, 40, 7)], ids=str
)
def test_weights_at_any_address_give_the_same_bits(shape, dtype, loss):
    # The kernel reads W in place when its rows start as X's do past a cache line (and
    # for batches under 128 rows) and a copy laid out so when not: the same numbers in
    # the same order, so the same bits.
    X, W, b, y, w = _case(shape, dtype)
    objective = LinearObjective(loss, 0.1, n_threads=2)
    aligned = aligned_empty(W.shape, dtype)
    aligned[...] = W
    want = _run(objective, X, aligned, b, y, w)
    for offset in (1, 3):  # elements past a cache line
        raw = aligned_empty((W.size + offset,), dtype)
        shifted = raw[offset:].reshape(W.shape)
        shifted[...] = W
        assert shifted.ctypes.data % 64 != 0
        _assert_same_bits(_run(objective, X, shifted, b, y, w), want)


def _placed(X, offset, pad=0):
    """X's values in rows `offset` elements past a cache line, `pad` elements apart."""
    raw = aligned_empty((X.shape[0] * (X.shape[1] + pad) + offset,), X.dtype)
    placed = raw[offset:].reshape(X.shape[0], X.shape[1] + pad)[:, : X.shape[1]]
    placed[...] = X
    return placed


@compiled
@pytest.mark.parametrize("loss", ["hinge", "softmax"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "shape", [(64, 3072, 10), (37, 101, 13), (9, 7000, 10), (3, 5, 2), (130, 3072, 10)], ids=str
)
def test_x_at_any_address_gives_the_same_bits(shape, dtype, loss):
    # The scores load X's vectors from the cache line its rows start in and rotate the
    # sums back (rows an equal offset past a line), or load them as they lie (rows at
    # other offsets): the same lanes, the same order, so the same bits, scores included.
    X, W, b, y, w = _case(shape, dtype)
    objective = LinearObjective(loss, 0.1, n_threads=2)
    kernel = objective.compiled_kernel(X, W, b)
    want = _run(objective, _placed(X, 0), W, b, y, w)
    want_scores = kernel.scores(_placed(X, 0), W, b, np.empty((shape[0], shape[2]), dtype), 2)
    for offset, pad in itertools.product((1, 3, 4, 7), (0, 16, 5)):
        placed = _placed(X, offset, pad)
        _assert_same_bits(_run(objective, placed, W, b, y, w), want)
        scores = kernel.scores(placed, W, b, np.empty_like(want_scores), 2)
        np.testing.assert_array_equal(scores, want_scores)


@compiled
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("loss", ["hinge", "softmax"])
def test_the_prefetch_hint_changes_no_bit(loss, n_threads):
    # `then` (the next batch, prefetched by each part's last block) is only a hint: any
    # value, usable or not (other dtype, width, column stride, sparse), gives the same step.
    X, W, b, y, w = _case((300, 101, 13), np.float32)
    usable = X[100:250]
    hints = [None, usable, X[:5], X.astype(np.float64), X[:, :50], X[:, ::2], X.T, "rows"]
    results = []
    for then in hints:
        params = {"W": W.copy(), "b": b.copy()}
        velocity = {"W": np.zeros_like(W), "b": np.zeros_like(b)}
        objective = LinearObjective(loss, 0.1, n_threads=n_threads)
        value = objective.loss_grad_step(params, X, y, w, (0.1, 0.9, False, velocity), then=then)
        results.append((value, params["W"], params["b"], velocity["W"], velocity["b"]))
    assert results[0][0] is not None  # it ran compiled
    for got in results[1:]:
        _assert_same_bits(got, results[0])


@compiled
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_fused_step_keeps_the_parameters_before_it(dtype, bias):
    # `keep` receives W and b as they were before the step (the Trainer's rollback copy,
    # made in the reduction); a keep that does not fit declines the fused call untouched.
    X, W, b, y, w = _case((70, 4100, 10), dtype, bias=bias)  # C·D > 32,768: threads slice it
    params = {"W": W.copy(), "b": None if b is None else b.copy()}
    velocity = {"W": np.ones_like(W), "b": None if b is None else np.ones_like(b)}
    keep = {"W": np.full_like(W, np.nan), "b": None if b is None else np.full_like(b, np.nan)}
    objective = LinearObjective("hinge", 0.1, n_threads=2)
    plan = (0.5, 0.9, False, velocity)
    assert objective.loss_grad_step(params, X, y, w, plan, keep=keep) is not None
    assert keep["W"].tobytes() == W.tobytes()
    assert (keep["b"] is None and b is None) or keep["b"].tobytes() == b.tobytes()
    assert not np.array_equal(params["W"], W)  # the step was taken
    before = {name: None if p is None else p.copy() for name, p in params.items()}
    for bad in (
        {"W": keep["W"][:, :-1], "b": keep["b"]},
        {"W": keep["W"].astype(np.float16), "b": keep["b"]},
    ):
        assert objective.loss_grad_step(params, X, y, w, plan, keep=bad) is None
        assert params["W"].tobytes() == before["W"].tobytes()


@compiled
@pytest.mark.parametrize("loss", ["hinge", "softmax"])
def test_concurrent_calls_give_the_bits_of_calls_made_alone(loss):
    # Four Python threads, each with its own objective and data, call at once: all but one
    # find the pool busy and run the same partition serially. Every call must return the
    # bits its data gives alone (another thread's loss or gradient would show).
    shapes = [(64, 3072, 10), (37, 101, 13), (256, 33, 2), (50, 40, 7)]
    cases = [_case(shape, np.float32) for shape in shapes]
    alone = [_run(LinearObjective(loss, 0.1, n_threads=2), *case) for case in cases]
    start = threading.Barrier(len(cases))

    def work(t):
        objective, wrong = LinearObjective(loss, 0.1, n_threads=2), []
        start.wait()
        for _ in range(100):
            got = _run(objective, *cases[t])
            try:
                _assert_same_bits(got, alone[t])
            except AssertionError:
                wrong.append(f"thread {t}: loss {got[0]!r}, alone {alone[t][0]!r}")
        return wrong

    with ThreadPoolExecutor(len(cases)) as pool:
        wrong = [line for lines in pool.map(work, range(len(cases))) for line in lines]
    assert not wrong, f"{len(wrong)} of {100 * len(cases)} calls differ; first: {wrong[0]}"


def _child_loss(conn, case):
    conn.send(_run(LinearObjective("softmax", 0.1, n_threads=2), *case)[0])
    conn.close()


@compiled
@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork")
def test_a_forked_child_runs_the_kernel_on_two_threads():
    # After the parent ran two threads, a fork()ed child has none of its workers: it must
    # start its own and answer (GNU OpenMP would hang here), with the parent's bits.
    case = _case((256, 33, 2), np.float64)
    loss = _run(LinearObjective("softmax", 0.1, n_threads=2), *case)[0]
    receive, send = multiprocessing.Pipe(duplex=False)
    child = multiprocessing.get_context("fork").Process(target=_child_loss, args=(send, case))
    child.start()
    send.close()
    answered = receive.poll(60)
    child.join(10 if answered else 0)
    if child.is_alive():
        child.kill()
        child.join()
    assert answered and child.exitcode == 0
    assert receive.recv() == loss


@compiled
@pytest.mark.parametrize("value", [np.nan, np.inf])
@pytest.mark.parametrize("where", ["W", "X"])
@pytest.mark.parametrize("loss", ["hinge", "softmax"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_non_finite_input_gives_a_non_finite_loss(dtype, loss, where, value):
    # The Trainer detects divergence by a non-finite loss: the kernel must not hide one
    # (reg 0, so the penalty cannot be what makes it non-finite).
    X, W, b, y, _ = _case((50, 40, 7), dtype)  # X, W: fresh copies (astype)
    (W if where == "W" else X)[3, 5] = value
    objective = LinearObjective(loss, 0.0, n_threads=2)
    assert objective.compiled_kernel(X, W, b) is KERNEL
    assert not np.isfinite(objective.loss_grad({"W": W, "b": b}, X, y)[0])


def _set(a, index, value):
    a = a.astype(np.result_type(a, type(value)))
    a[index] = value
    return a


BAD_INPUTS = {  # (X, W, b, y, w) -> the same with one mistake
    "label C": lambda X, W, b, y, w: (X, W, b, _set(y, 1, len(W)), w),
    "label -1": lambda X, W, b, y, w: (X, W, b, _set(y, 1, -1), w),
    "float labels": lambda X, W, b, y, w: (X, W, b, y.astype(np.float64), w),
    "bool labels": lambda X, W, b, y, w: (X, W, b, y == 1, w),
    "labels too short": lambda X, W, b, y, w: (X, W, b, y[:-1], w),
    "negative weight": lambda X, W, b, y, w: (X, W, b, y, _set(w, 2, -1.0)),
    "NaN weight": lambda X, W, b, y, w: (X, W, b, y, _set(w, 2, np.nan)),
    "weights too short": lambda X, W, b, y, w: (X, W, b, y, w[:-1]),
    "X narrower than W": lambda X, W, b, y, w: (np.ascontiguousarray(X[:, :-1]), W, b, y, w),
    "bias too long": lambda X, W, b, y, w: (X, W, np.append(b, 0.0), y, w),
}


def _outcome(objective, case):
    try:
        return _run(objective, *case)
    except Exception as error:  # the NumPy path's refusal, to compare
        return type(error), str(error)


@compiled
@pytest.mark.bad_input
@pytest.mark.parametrize("loss", ["hinge", "softmax"])
@pytest.mark.parametrize("bad", list(BAD_INPUTS))
def test_bad_input_gets_the_numpy_paths_answer(bad, loss):
    # Dense float input the compiled path must not take: the NumPy path's exception, same
    # type and message (or, where it computes, its very bits); never a crash or a guess.
    W, b, X, y, w = make_problem(seed=8)
    case = BAD_INPUTS[bad](X, W, b, y, w)
    want = _outcome(LinearObjective(loss, 0.1, kernel="numpy"), case)
    got = _outcome(LinearObjective(loss, 0.1, n_threads=2), case)
    if isinstance(want[0], type):
        assert got == want
    else:
        _assert_same_bits(got, want)


def test_linclf_kernel_numpy_turns_the_compiled_path_off(monkeypatch):
    # The variable is read at every call: set, the NumPy path runs (its exact bits).
    monkeypatch.setenv("LINCLF_KERNEL", "numpy")
    W, b, X, y, w = make_problem(seed=9)
    objective = LinearObjective("hinge", 0.1, n_threads=2)
    assert load_kernel() is None and objective.compiled_kernel(X, W, b) is None
    assert kernel_info() == "NumPy (no compiled kernel)"
    numpy_path = LinearObjective("hinge", 0.1, kernel="numpy")
    _assert_same_bits(_run(objective, X, W, b, y, w), _run(numpy_path, X, W, b, y, w))
    monkeypatch.undo()
    assert load_kernel() is KERNEL  # the environment as before: the build (if any) is back


@pytest.mark.bad_input
@pytest.mark.parametrize("kwargs", [{"kernel": "bogus"}, {"n_threads": 0}], ids=str)
def test_bad_kernel_settings_are_refused(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):  # naming the setting
        LinearObjective("hinge", **kwargs)


@compiled
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("layout", ["C", "F", "row-strided"])
@pytest.mark.parametrize("n_rows", [0, 1, 70])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batched_scores_on_the_compiled_path(monkeypatch, dtype, n_rows, layout, bias):
    # S = X Wᵀ + b against a float64 product, within the rounding bound of a dot product of
    # D terms plus the bias, γ_(D+1)·(|X||W|ᵀ + |b|), doubled for the oracle's own rounding.
    calls, original = [], FusedKernel.scores
    monkeypatch.setattr(FusedKernel, "scores", lambda *a: calls.append(1) or original(*a))
    rng = np.random.default_rng(n_rows)
    X = rng.normal(size=(n_rows, 37)).astype(dtype)
    W, b = rng.normal(size=(6, 37)).astype(dtype), rng.normal(size=6).astype(dtype)
    b = b if bias else np.zeros(6, dtype=dtype)
    X = {"C": X, "F": np.asfortranarray(X), "row-strided": np.repeat(X, 2, axis=0)[::2]}[layout]
    S = batched_scores(X, W, b if bias else None)
    X64, W64, b64 = (a.astype(np.float64) for a in (X, W, b))
    bound = 2 * 38 * np.finfo(dtype).eps * (np.abs(X64) @ np.abs(W64).T + np.abs(b64))
    assert S.dtype == dtype and S.shape == (n_rows, 6)
    assert np.all(np.abs(S - (X64 @ W64.T + b64)) <= bound)
    assert len(calls) == (n_rows > 0)  # the compiled kernel scored them


def _fit(k, own=None, kernel="auto", seen=None):
    X, y = make_blobs(seed=1)
    objective = LinearObjective("hinge", reg=1e-3, kernel=kernel, n_threads=own)
    params = {"W": np.zeros((3, X.shape[1])), "b": np.zeros(3)}

    def record(trainer, log):
        seen.append((trainer.objective.n_threads, trainer.optimizer.n_threads))

    settings = dict(batch_size=32, max_epochs=3, tol=None, random_state=0)
    settings["callbacks"] = [] if seen is None else [record]
    optimizer = SGD(0.05, momentum=0.9)
    Trainer(objective, optimizer, n_threads=k, **settings).fit(params, X, y)
    assert optimizer.n_threads is None  # the optimizer's setting is back too
    return objective, params


@pytest.mark.parametrize(("k", "own"), [(1, None), (2, 3)])
def test_trainer_fits_are_reproducible_and_restore_the_threads(k, own):
    # Same seed and threads: the same bits; during the fit the objective and the optimizer
    # run k threads, after it their own settings again.
    seen = []
    objective, first = _fit(k, own, seen=seen)
    _, second = _fit(k, own)
    assert first["W"].tobytes() == second["W"].tobytes()
    assert first["b"].tobytes() == second["b"].tobytes()
    assert seen == [(k, k)] * 3 and objective.n_threads == own


@compiled
@pytest.mark.parametrize("k", [1, 2])
def test_a_compiled_fit_matches_a_numpy_fit(monkeypatch, k):
    # Same batches, only the rounding differs: 12 float64 steps stay within 1e-8 of the largest
    # parameter (per-step rounding ~1e-16, a few times amplified; seen: 5e-16).
    calls, one, several = [], FusedKernel.loss_grad, FusedKernel.sgd_steps
    spy = lambda *a, **kw: calls.append(kw["workspace"].n_threads) or one(*a, **kw)  # noqa: E731
    monkeypatch.setattr(FusedKernel, "loss_grad", spy)
    spy_run = lambda *a, **kw: calls.extend(kw["rows"][2].tolist()) or several(*a, **kw)  # noqa: E731
    monkeypatch.setattr(FusedKernel, "sgd_steps", spy_run)
    _, fast = _fit(k)
    _, reference = _fit(k, kernel="numpy")
    assert calls == [k] * 12  # every step of the first fit ran compiled, on k threads
    for name in ("W", "b"):
        scale = np.abs(reference[name]).max()
        np.testing.assert_allclose(fast[name], reference[name], rtol=0, atol=1e-8 * scale)


@compiled
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("momentum", "nesterov"), [(0.0, False), (0.9, False), (0.9, True)])
def test_the_compiled_sgd_update_has_the_numpy_updates_bits(monkeypatch, dtype, momentum, nesterov):
    # SGD's step on the compiled kernel (one pass, no FMA) against the ufuncs it replaces,
    # over steps whose rate changes (as under a schedule): the same bits, not only close.
    from linclf import SGD

    rng = np.random.default_rng(11)
    start = {"W": rng.normal(size=(7, 33)).astype(dtype), "b": rng.normal(size=7).astype(dtype)}
    grads = [
        {k: rng.normal(size=v.shape).astype(dtype) for k, v in start.items()} for _ in range(5)
    ]
    results = []
    for kernel in ("auto", "numpy"):
        monkeypatch.setenv("LINCLF_KERNEL", kernel)
        params = {k: v.copy() for k, v in start.items()}
        opt = SGD(0.05, momentum=momentum, nesterov=nesterov, schedule="invscaling")
        for g in grads:
            opt.step(params, g)
        results.append(params)
    for name in start:
        np.testing.assert_array_equal(results[0][name], results[1][name])
    assert not np.array_equal(results[0]["W"], start["W"])  # the steps did move W


@compiled
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("momentum", "nesterov", "learning_rate", "divergence"),
    [(0.0, False, 0.05, "raise"), (0.9, False, 0.05, "raise"), (0.9, True, 0.05, "raise"),
     (0.9, False, 1e6, "halve")],
    ids=["plain", "heavy-ball", "nesterov", "halving after divergence"],
)  # fmt: skip
def test_the_fused_step_gives_the_bits_of_loss_grad_then_step(
    monkeypatch, dtype, momentum, nesterov, learning_rate, divergence
):
    # The Trainer's kernel steps must equal loss_grad followed by SGD.step bit for bit,
    # halving and rolling back included, both as runs of steps in one kernel call
    # (loss_grad_steps) and as one call per step (loss_grad_step, the reduction applying
    # SGD's update).
    from linclf import SGD, Trainer

    rng = np.random.default_rng(12)
    X = rng.normal(size=(300, 40)).astype(dtype)
    y, w = rng.integers(0, 4, 300), rng.random(300)
    calls = {"runs": [], "steps": []}
    run, step = LinearObjective.loss_grad_steps, LinearObjective.loss_grad_step

    def spy_run(self, *args, **kwargs):
        calls["runs"].append(run(self, *args, **kwargs))
        return calls["runs"][-1]

    def spy_step(self, *args, **kwargs):
        calls["steps"].append(step(self, *args, **kwargs))
        return calls["steps"][-1]

    def declined(*args, **kwargs):
        return None

    fits = []
    ways = [(spy_run, spy_step), (declined, spy_step), (declined, declined)]
    for several, one in ways:  # runs of steps; one call per step; loss_grad + step
        monkeypatch.setattr(LinearObjective, "loss_grad_steps", several)
        monkeypatch.setattr(LinearObjective, "loss_grad_step", one)
        params = {"W": np.zeros((4, 40), dtype), "b": np.zeros(4, dtype)}
        opt = SGD(learning_rate, momentum=momentum, nesterov=nesterov)
        trainer = Trainer(
            LinearObjective("hinge", reg=1e-3), opt, batch_size=32, max_epochs=3, tol=None,
            random_state=0, on_divergence=divergence, n_threads=2,
        )  # fmt: skip
        trainer.fit(params, X, y, w)
        fits.append((params, trainer.history_["loss"], trainer.n_halvings_, opt.t))
    assert calls["runs"] and all(result is not None for result in calls["runs"])
    assert calls["steps"] and all(loss is not None for loss in calls["steps"])
    for params, *rest in fits[1:]:
        assert tuple(rest) == fits[0][1:]
        assert params["W"].tobytes() == fits[0][0]["W"].tobytes()
        assert params["b"].tobytes() == fits[0][0]["b"].tobytes()
    if divergence == "halve":  # 1e6 diverged inside a run and was halved: its undo ran
        assert fits[0][2] > 0 and any(code == 3 for _, _, code in calls["runs"])


@compiled
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_divergence_inside_a_run_raises_with_the_last_finite_parameters(monkeypatch, dtype):
    # on_divergence="raise": the step that blows up inside a run of kernel steps leaves
    # the parameters of the last finite loss, as the step-by-step fit does.
    from linclf import SGD, DivergenceError, Trainer

    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(256, 30)).astype(dtype), rng.integers(0, 3, 256)
    results = []
    for take_runs in (True, False):
        if not take_runs:
            monkeypatch.setattr(LinearObjective, "loss_grad_steps", lambda *a, **k: None)
            monkeypatch.setattr(LinearObjective, "loss_grad_step", lambda *a, **k: None)
        params = {"W": np.zeros((3, 30), dtype), "b": np.zeros(3, dtype)}
        trainer = Trainer(
            LinearObjective("hinge", reg=1e-3), SGD(100.0, momentum=0.9), batch_size=16,
            max_epochs=2, tol=None, random_state=0, n_threads=2,
        )  # fmt: skip
        with pytest.raises(DivergenceError, match="diverged at epoch 1") as error:
            trainer.fit(params, X, y)
        results.append((str(error.value), trainer.n_steps_, params["W"].tobytes()))
    assert results[0] == results[1]
    assert int(re.search(r"batch (\d+)", results[0][0]).group(1)) > 2  # inside a run


def _builds() -> list[str]:
    """The builds of fused.c installed next to linclf._engine that this CPU runs."""
    from linclf._engine import compiled as loader

    runs = _cpu_isa()
    order = ISAS.index(runs) if runs in ISAS else 0
    names = [f"_fused_{isa}" for isa in ("base", "avx2", "avx512")[: order + 1]]
    return [name for name in names if loader._library(name) is not None]


@compiled
@pytest.mark.parametrize("build", _builds() or ["none"])
@pytest.mark.parametrize("loss", ["hinge", "softmax"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(37, 101, 13), (64, 3072, 10)], ids=str)
def test_every_build_computes_the_numpy_paths_step(monkeypatch, build, loss, dtype, shape):
    # The narrower builds (baseline, AVX2) are what other CPUs load: each one this CPU can
    # run must give the NumPy path's loss, gradients and SGD step (tolerance as above).
    from linclf._engine import compiled as loader
    from linclf.optim import _sgd_update  # the reference arithmetic

    assert build != "none", "the compiled kernel loaded, yet no build was found"
    kernel = loader.FusedKernel(loader._library(build))
    monkeypatch.setattr(LinearObjective, "compiled_kernel", lambda self, *a: kernel)
    X, W, b, y, w = _case(shape, dtype)
    got = _run(LinearObjective(loss, 0.1, n_threads=2), X, W, b, y, w)
    want = _run(LinearObjective(loss, 0.1, kernel="numpy"), X, W, b, y, w)
    tol = 1e-10 if dtype == np.float64 else 4 * np.finfo(dtype).eps * np.sqrt(shape[1])
    assert abs(got[0] - want[0]) <= tol * max(1.0, abs(want[0]))
    for got_grad, want_grad in zip(got[1:], want[1:], strict=True):
        np.testing.assert_allclose(got_grad, want_grad, rtol=0, atol=tol * np.abs(want_grad).max())
    # Its SGD step (Nesterov) has the bits of the ufuncs of optim._sgd_update.
    stepped = [W.copy(), np.ones_like(W)]
    assert kernel.sgd_update(stepped[0], got[1], stepped[1], 0.05, 0.9, True, 2)
    monkeypatch.setenv("LINCLF_KERNEL", "numpy")  # optim's update: the ufuncs
    reference = [W.copy(), np.ones_like(W)]
    _sgd_update(reference[0], got[1], reference[1], np.empty_like(W), 0.05, 0.9, True)
    for mine, theirs in zip(stepped, reference, strict=True):
        np.testing.assert_array_equal(mine, theirs)


_GUARD_CHILD = r"""
import ctypes, itertools, mmap, sys
import numpy as np
from linclf import LinearObjective

PAGE = mmap.PAGESIZE
libc = ctypes.CDLL(None, use_errno=True)
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
checked, starts = 0, set()
for dtype, d, n, pad, loss, n_threads in itertools.product(
    (np.float32, np.float64), (13, 101, 3071, 3072), (37, 38, 41), (0, 3),
    ("hinge", "softmax"), (1, 2),
):
    c, size = 10, np.dtype(dtype).itemsize
    rng = np.random.default_rng([d, n, pad])
    X0 = rng.normal(size=(n, d)).astype(dtype)
    W = (rng.normal(size=(c, d)) / np.sqrt(d)).astype(dtype)
    b, y = rng.normal(size=c).astype(dtype), rng.integers(0, c, size=n)
    ld = d + pad
    used = ((n - 1) * ld + d) * size  # the last row's last element ends the readable pages
    pages = -(-used // PAGE)
    area = mmap.mmap(-1, (pages + 1) * PAGE)
    start = ctypes.addressof(ctypes.c_char.from_buffer(area))
    if libc.mprotect(start + pages * PAGE, PAGE, 0) != 0:  # PROT_NONE: a read there faults
        sys.exit("mprotect failed")
    raw = np.frombuffer(area, dtype=np.uint8, count=pages * PAGE)[pages * PAGE - used :]
    X = np.lib.stride_tricks.as_strided(raw.view(dtype), (n, d), (ld * size, size))
    X[...] = X0
    assert X[-1, -1] == X0[-1, -1] and (X.ctypes.data + used) % PAGE == 0
    on_vectors = ld * size % 32 == 0  # every row the same offset past a vector boundary
    starts.add((on_vectors, X.ctypes.data % 32 != 0))
    objective = LinearObjective(loss, 0.1, n_threads=n_threads)
    kernel = objective.compiled_kernel(X, W, b)
    assert kernel is not None, "the compiled kernel declined the batch"
    got, grads = objective.loss_grad({"W": W, "b": b}, X, y, None)
    got_dW, got_db = grads["W"].copy(), grads["b"].copy()
    want, grads = objective.loss_grad({"W": W, "b": b}, X0, y, None)
    assert got == want, (got, want)
    np.testing.assert_array_equal(got_dW, grads["W"])
    np.testing.assert_array_equal(got_db, grads["b"])
    scores = kernel.scores(X, W, b, np.empty((n, c), dtype), n_threads)
    np.testing.assert_array_equal(scores, kernel.scores(X0, W, b, np.empty((n, c), dtype), 1))
    checked += 1
print("checked", checked)
print(sorted(starts))
"""


@compiled
@pytest.mark.skipif(platform.system() != "Linux", reason="mprotect through ctypes: Linux")
def test_no_load_reaches_past_the_last_row_of_x():
    # X's last element right before a page no read may touch (PROT_NONE): a vector load of
    # the scores or the gradient past the last row would kill the child with SIGSEGV. Rows
    # whose strides are a multiple of 32 bytes or not, starting on a vector boundary or past
    # one (X's start is set by its size, n and D, since its end is fixed), packed or strided:
    # the same bits as the same X elsewhere.
    done = subprocess.run(
        [sys.executable, "-c", _GUARD_CHILD], capture_output=True, text=True, timeout=300
    )
    died = f"killed by signal {-done.returncode}" if done.returncode < 0 else ""  # 11: SIGSEGV
    assert done.returncode == 0, (done.returncode, died, done.stderr[-2000:])
    checked, starts = done.stdout.splitlines()
    assert checked == f"checked {2 * 4 * 3 * 2 * 2 * 2}"
    # (stride a multiple of 32 bytes, start past a vector boundary): every kind ran, the
    # riskiest included (rows on vector strides starting past a boundary)
    assert starts == str([(False, False), (False, True), (True, False), (True, True)])
