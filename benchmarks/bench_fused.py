"""The compiled fused kernel against the textbook kernel, the NumPy path and the floor.

Issue 15's three measurements, side by side in one run (float32, D = 3072, C = 10):

1. **Loss + gradient** of one batch of B ∈ {64, 256, 1024, 49,000} rows, hinge and
   softmax: the textbook two-GEMM kernel (:mod:`textbook`, 2 BLAS threads), linclf's NumPy
   path (``LinearObjective(kernel="numpy")``, its default BLAS threads), and the compiled
   kernel (``LinearObjective()``) on 1 and 2 threads. The *one-pass floor* of a batch is
   ``max(bytes / read bandwidth, 4·B·C·D flops / SGEMM peak)``, both measured in the run
   (the fastest of the repeats): the read bandwidth by two Python threads each reducing
   half of the 49,000 rows (NumPy releases the GIL), the peak by a 2048² SGEMM on 2 BLAS
   threads. Each call takes the
   next batch of a 49,000-row X (a cursor shared by the contenders), so batches come from
   memory, as in an epoch; contenders run round-robin, each run timed after WARM_SECONDS
   of untimed calls (``warm_interleave``), and the table gives medians.
2. **An SGD epoch**: ``LinearSVM(solver="sgd", batch_size=256, tol=None)`` on 49,000 ×
   3072 float32 (standardized already, so ``standardize=False``), steady state = (fit with
   6 epochs − fit with 2) / 4, against one read of X, and the epoch times the fit logs;
   the compiled kernel on 2 threads (the default) and 1 (``n_threads=1``), and the NumPy
   path (``LINCLF_KERNEL=numpy`` for the fit).
3. **Threads**: the 2-thread / 1-thread ratios of both.

Run: ``python benchmarks/bench_fused.py [--quick] [--write]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import statistics
import threading
import time
import warnings

import common

common.reexec_without_openblas_vars()

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from linclf import LinearObjective, LinearSVM  # noqa: E402
from linclf._engine.compiled import kernel_info, load_kernel  # noqa: E402
from textbook import textbook_softmax_loss, textbook_svm_loss  # noqa: E402

N, D, C = 49_000, 3072, 10
BATCHES = (64, 256, 1024, 49_000)
TEXTBOOK = {"hinge": textbook_svm_loss, "softmax": textbook_softmax_loss}
WARM_SECONDS = 0.1  # untimed calls before each contender's timed ones (warm_interleave)


def make_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, D), dtype=np.float32)
    y = rng.integers(0, C, N)
    W = (0.01 * rng.standard_normal((C, D))).astype(np.float32)
    return X, y, W, np.zeros(C, np.float32)


def read_once(X: np.ndarray) -> float:
    """Seconds to read X once with two threads (each ``np.add.reduce`` of half the rows)."""
    half = X.shape[0] // 2
    parts = (X[:half], X[half:])
    threads = [threading.Thread(target=np.add.reduce, args=(p,), kwargs={"axis": 0}) for p in parts]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


class Cursor:
    """The next batch of B rows of X, wrapping around: shared by the contenders of a B."""

    def __init__(self, X: np.ndarray, y: np.ndarray, B: int) -> None:
        self.X, self.y, self.B, self.at = X, y, B, 0

    def next(self) -> tuple[np.ndarray, np.ndarray]:
        if self.at + self.B > self.X.shape[0]:
            self.at = 0
        s = slice(self.at, self.at + self.B)
        self.at += self.B
        return self.X[s], self.y[s]


def warm_interleave(contenders: dict, repeats: int) -> dict[str, common.Timing]:
    """Round-robin as ``common.interleave``, each contender's run timed after its first call.

    A contender's run is ``contender(timed)``: untimed calls on the next batches for
    WARM_SECONDS (at least one), then the timed calls. Without them, the run after another
    contender pays for waking its threads (a compiled worker asleep, an OpenBLAS pool gone
    idle) and, after the pause below, for cores that idled: measured here, 2-thread calls
    at B = 1,024 after 0.25 s of idle took 1.2-1.5x their time even after 20 ms of calls,
    and their usual time after 100 ms (after 10 ms of idle, none of it), which an epoch's
    back-to-back steps do not pay. After a contender on several BLAS threads it waits
    0.25 s.
    """
    names = list(contenders)
    result = {name: common.Timing() for name in names}
    for r in range(repeats + 1):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            seconds = contenders[name]()
            if r:  # round 0 warms everything up
                result[name].times.append(seconds)
            if "BLAS threads" in name:
                # OpenBLAS's idle threads busy-wait after a threaded call (THREAD_TIMEOUT,
                # 2^28 cycles by default, about 0.1 s here) and would take a core from the
                # next contender; in a fit no threaded BLAS call precedes a step.
                time.sleep(0.25)
    return result


def kernel_contenders(loss: str, cursor: Cursor, W, b, number: int) -> dict:
    """Each contender makes untimed calls for WARM_SECONDS, then ``number`` timed ones, on
    the next batches, inside one BLAS limit (entering a threadpoolctl limit costs about 15 µs: not
    per call); it returns the seconds of the timed calls."""
    params = {"W": W, "b": b}
    numpy_path = LinearObjective(loss, reg=1e-3, kernel="numpy")
    one, two = (LinearObjective(loss, reg=1e-3, n_threads=k) for k in (1, 2))
    textbook = TEXTBOOK[loss]

    def run_textbook():
        with threadpool_limits(2, user_api="blas"):
            warm_until = time.perf_counter() + WARM_SECONDS
            while True:
                textbook(W, b, *cursor.next(), 1e-3)
                if time.perf_counter() >= warm_until:
                    break
            start = time.perf_counter()
            for _ in range(number):
                Xb, yb = cursor.next()
                textbook(W, b, Xb, yb, 1e-3)
            return time.perf_counter() - start

    def run(objective, blas):
        def calls():
            with threadpool_limits(blas, user_api="blas"):
                warm_until = time.perf_counter() + WARM_SECONDS
                while True:
                    objective.loss_grad(params, *cursor.next())
                    if time.perf_counter() >= warm_until:
                        break
                start = time.perf_counter()
                for _ in range(number):
                    Xb, yb = cursor.next()
                    objective.loss_grad(params, Xb, yb)
                return time.perf_counter() - start

        return calls

    return {
        "textbook (2 BLAS threads)": run_textbook,
        "linclf NumPy path": run(numpy_path, numpy_path.blas_threads(params)),
        "compiled, 1 thread": run(one, 1),
        "compiled, 2 threads": run(two, 1),
    }


def measure_kernels(X, y, W, b, repeats: int, losses) -> tuple[list[list[str]], dict]:
    rows, ratios = [], {}
    # The floor is the machine's best: the fastest SGEMM and the fastest read of the run.
    with threadpool_limits(2, user_api="blas"):
        peak = common.sgemm_gflops(2, max(5, repeats // 2)).min
    flops_per_s = 2 * 2048**3 / peak
    read = min(read_once(X) for _ in range(max(5, repeats // 2)))
    bandwidth = X.nbytes / read
    for loss in losses:
        for B in BATCHES:
            cursor = Cursor(X, y, B)
            reps = repeats if B < N else max(5, repeats // 8)
            number = max(1, 4096 // B) if B < N else 1
            times = warm_interleave(kernel_contenders(loss, cursor, W, b, number), reps)
            for timing in times.values():
                timing.times = [t / number for t in timing.times]
            floor = max(B * D * 4 / bandwidth, 4 * B * C * D / flops_per_s)
            base = times["textbook (2 BLAS threads)"].median
            row = [loss, f"{B:,}", f"{common.fmt_num(base * 1e3)} ms"]
            for name in ("linclf NumPy path", "compiled, 1 thread", "compiled, 2 threads"):
                row.append(f"{times[name].median / base:.2f}")
            two, one = times["compiled, 2 threads"].median, times["compiled, 1 thread"].median
            row += [f"{common.fmt_num(floor * 1e3)} ms", f"{two / floor:.2f}", f"{two / one:.2f}"]
            rows.append(row)
            ratios[(loss, B)] = {"textbook": two / base, "floor": two / floor, "threads": two / one}
    notes = {"read": read, "bandwidth": bandwidth, "gflops": flops_per_s / 1e9}
    return rows, {"ratios": ratios, **notes}


class EpochLog(logging.Handler):
    """Epoch seconds from the Trainer's ``verbose=2`` lines (``(N samples/s)``)."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        found = re.search(r"\(([0-9,]+) samples/s\)", record.getMessage())
        if found:
            self.seconds.append(N / float(found.group(1).replace(",", "")))


def fit_seconds(X, y, epochs: int, **options) -> tuple[float, list[float]]:
    """Wall seconds of a fit of ``epochs`` epochs, and the seconds of each epoch it logged.

    X is standardized already (``standardize=False``: the per-fit copy would only add
    noise to the difference of two fits)."""
    clf = LinearSVM(
        solver="sgd", batch_size=256, max_epochs=epochs, tol=None, random_state=0,
        standardize=False, verbose=2, **options,
    )  # fmt: skip
    log, logger = EpochLog(), logging.getLogger("linclf")
    logger.addHandler(log)
    level, logger.level = logger.level, logging.INFO
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a fixed number of epochs warns it did not converge
            clf.fit(X, y)
    finally:
        logger.removeHandler(log)
        logger.setLevel(level)
    return time.perf_counter() - start, log.seconds


def measure_epoch(X, y, rounds: int) -> tuple[list[list[str]], dict]:
    variants = {
        "compiled, 2 threads (default)": ({}, "auto"),
        "compiled, n_threads=1": ({"n_threads": 1}, "auto"),
        "NumPy path (LINCLF_KERNEL=numpy)": ({}, "numpy"),
    }
    steady = {name: [] for name in variants}
    logged = {name: [] for name in variants}
    reads = []
    saved = os.environ.get("LINCLF_KERNEL")
    try:
        for r in range(rounds):
            names = list(variants)
            for name in names[r % 3 :] + names[: r % 3]:
                options, kernel = variants[name]
                os.environ["LINCLF_KERNEL"] = kernel
                (long, epochs), (short, _) = (fit_seconds(X, y, k, **options) for k in (6, 2))
                steady[name].append((long - short) / 4)
                logged[name] += epochs[1:]  # the first epoch also warms the caches
                reads.append(read_once(X))
    finally:
        if saved is None:
            os.environ.pop("LINCLF_KERNEL", None)
        else:
            os.environ["LINCLF_KERNEL"] = saved
    read = statistics.median(reads)
    rows, ratios = [], {}
    for name in variants:
        epoch, per_epoch = statistics.median(steady[name]), statistics.median(logged[name])
        ratios[name] = per_epoch / read
        rows.append(
            [name, f"{epoch * 1e3:.0f} ms", f"{epoch / read:.2f}", f"{per_epoch * 1e3:.0f} ms",
             f"{per_epoch / read:.2f}"]
        )  # fmt: skip
    # The verdicts use the logged epochs: the difference of two fits carries each fit's
    # setup (a 602 MB permuted copy whose page faults vary by ±0.6 s here) twice.
    two = statistics.median(logged["compiled, 2 threads (default)"])
    one = statistics.median(logged["compiled, n_threads=1"])
    spread = [f"{min(v) * 1e3:.0f}–{max(v) * 1e3:.0f}" for v in steady.values()]
    return rows, {"read": read, "ratios": ratios, "threads": two / one, "spread": spread}


def targets(kernels: dict, epoch: dict) -> list[str]:
    r = kernels["ratios"]
    lines = []
    at = r[("hinge", 1024)]
    small = max(r[("hinge", B)]["textbook"] for B in (64, 256))
    ok = at["textbook"] <= 0.5 and at["floor"] <= 2.0 and small <= 0.6
    lines.append(
        f"1. B = 1,024: {at['textbook']:.2f}× textbook (≤ 0.5), {at['floor']:.2f}× floor "
        f"(≤ 2.0); B = 64: {r[('hinge', 64)]['textbook']:.2f}×, B = 256: "
        f"{r[('hinge', 256)]['textbook']:.2f}× (≤ 0.6): " + ("met" if ok else "NOT met")
    )
    e = epoch["ratios"]["compiled, 2 threads (default)"]
    lines.append(
        f"2. epoch (median logged): {e:.2f}× one read of X (≤ 3): "
        + ("met" if e <= 3 else "NOT met")
    )
    worst = max(r[("hinge", B)]["threads"] for B in BATCHES if B >= 256)
    ok = worst <= 0.65 and epoch["threads"] <= 0.65
    lines.append(
        f"3. 2 / 1 threads: kernel at B ≥ 256 at most {worst:.2f}, epoch {epoch['threads']:.2f} "
        "(≤ 0.65): " + ("met" if ok else "NOT met")
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--write", action="store_true", help="record in docs/benchmarks.md")
    args = parser.parse_args()
    if load_kernel() is None:
        raise SystemExit("the compiled kernel is not built: pip install . with a C compiler")
    header = common.machine_report("bench_fused.py", None)
    header.append(f"- Kernel: {kernel_info()}")
    X, y, W, b = make_data()
    losses = ("hinge",) if args.quick else ("hinge", "softmax")
    load = common.LoadLog(patient=not args.quick)
    repeats = 9 if args.quick else 25
    kernel_rows, kernels = load.run(lambda: measure_kernels(X, y, W, b, repeats, losses))
    epoch_rows, epoch = load.run(lambda: measure_epoch(X, y, 2 if args.quick else 7))
    head = ["loss", "B", "textbook", "NumPy path", "compiled 1 thr", "compiled 2 thr"]
    head += ["one-pass floor", "2 thr / floor", "2 thr / 1 thr"]
    body = [
        "Loss + gradient of one batch, medians; ratios to the textbook kernel in the same "
        f"run. Read bandwidth {kernels['bandwidth'] / 1e9:.1f} GB/s (X once: "
        f"{kernels['read'] * 1e3:.1f} ms), SGEMM peak {kernels['gflops']:.0f} GFLOP/s "
        "(2 threads), the fastest of their repeats.",
        "",
        common.md_table(head, kernel_rows, "ll" + "r" * 7),
        "",
        f"SGD epoch (batch 256, 49,000 × 3072 float32; one read of X: "
        f"{epoch['read'] * 1e3:.1f} ms in this part). The issue's steady state, (fit of 6 "
        "epochs − fit of 2) / 4, median over the rounds; beside it the median of the epoch "
        "times the fits log (``verbose=2``, epochs after the first):",
        "",
        common.md_table(
            ["fit", "(6 − 2 epochs) / 4", "× one read", "median logged epoch", "× one read"],
            epoch_rows,
            "lrrrr",
        ),
        "",
        f"Epoch 2 threads / 1 thread (median logged epochs): {epoch['threads']:.2f}. The "
        "(6 − 2) / 4 estimates ranged over the rounds: " + ", ".join(epoch["spread"]) + " ms.",
        "",
        *targets(kernels, epoch),
        "",
        f"- {load.summary()}",
    ]
    text = "\n".join(header) + "\n\n" + "\n".join(body)
    print(text)
    if args.write:
        common.write_section("fused", text)
        print(f"\nwritten to {common.DOC}")


if __name__ == "__main__":
    main()
