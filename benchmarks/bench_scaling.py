"""Epoch time across data sizes, features and classes: linclf against the textbook loop.

Grid: N ∈ {10⁴, 5·10⁴, 2·10⁵} rows, D ∈ {784, 3072, 12288} features, C ∈ {2, 10, 100,
1000} classes, 1 and 2 BLAS threads, float32, batch 256. Contenders: linclf's ``Trainer``
with its default settings (``n_threads="auto"``, momentum SGD) and the textbook minibatch
loop (``X[idx]`` gathered per batch, textbook loss, momentum).

A full epoch at N = 2·10⁵, D = 12288 would need a 9.8 GB array, and C = 1000 is slow, so
the script times a fixed number of steps and extrapolates: the data buffer holds
min(N, rows fitting in 1 GiB) rows, and the epoch time is ceil(N / 256) × the median time
per step. linclf: ``Trainer.fit`` for 2 epochs on a contiguous run of ``STEPS`` batches at
a random place in the buffer (``shuffle=False, copy_X=False``, so no copy is made); the
first epoch warms up, the second is timed (``log["seconds"]``). The textbook loop: warm-up
steps, then ``STEPS`` timed steps on batches gathered at random from the whole buffer.
When the buffer is larger than the caches (over 64 MiB) the caches are flushed before the
timed steps, so the batches come from memory as in a real epoch; smaller buffers stay
cache-resident, as they would over a real epoch.

Writes a table and a plot of epoch time against N (``docs/benchmark_scaling.png``, when
matplotlib is installed).

Run: ``python benchmarks/bench_scaling.py [--quick] [--write]``.
"""

from __future__ import annotations

import argparse
import itertools
import math
import time

import common

common.reexec_without_openblas_vars()

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from linclf import SGD, LinearObjective, Trainer  # noqa: E402
from textbook import TextbookSGD  # noqa: E402

BATCH = 256
REG, LEARNING_RATE = 1e-4, 1e-3
CACHE_BYTES = 64 * 2**20
PLOT = common.ROOT / "docs" / "benchmark_scaling.png"


class Grid:
    def __init__(self, quick: bool) -> None:
        if quick:
            self.Ns, self.Ds, self.Cs = (10_000, 50_000), (784, 3072), (2, 10, 100)
            self.buffer_bytes, self.steps, self.warmup, self.repeats = 2**27, 5, 2, 1
        else:
            self.Ns, self.Ds = (10_000, 50_000, 200_000), (784, 3072, 12288)
            self.Cs = (2, 10, 100, 1000)
            self.buffer_bytes, self.steps, self.warmup, self.repeats = 2**30, 20, 3, 3
        self.threads = (1, 2)

    def rows(self, N: int, D: int) -> int:
        return min(N, self.buffer_bytes // (4 * D))


_flush_buffer = None


def flush_caches() -> None:
    """Read 256 MiB of other data, evicting the benchmark's data from the caches."""
    global _flush_buffer
    if _flush_buffer is None:
        _flush_buffer = np.ones(2**26, dtype=np.float32)
    np.add.reduce(_flush_buffer)


def linclf_step_time(X, y, C, grid, rng) -> float:
    """Seconds per step of linclf's Trainer (default settings) on one random region."""
    D = X.shape[1]
    cold = X.nbytes > CACHE_BYTES
    span = grid.steps * BATCH
    start = int(rng.integers(0, X.shape[0] - span + 1))
    params = {"W": np.zeros((C, D), np.float32), "b": np.zeros(C, np.float32)}
    seconds = []

    def callback(_, log):
        seconds.append(log["seconds"])
        if cold:
            flush_caches()

    Trainer(
        LinearObjective("hinge", reg=REG),
        SGD(LEARNING_RATE, momentum=0.9),
        batch_size=BATCH,
        max_epochs=2,
        tol=None,
        shuffle=False,
        copy_X=False,
        random_state=0,
        callbacks=[callback],
    ).fit(params, X[start : start + span], y[start : start + span])
    return seconds[1] / grid.steps


def textbook_step_time(model, X, y, grid, rng) -> float:
    """Seconds per step of the textbook loop, gathering random rows of the whole buffer."""
    batches = [rng.choice(X.shape[0], BATCH, replace=False) for _ in range(grid.steps)]
    for idx in batches[: grid.warmup]:
        model.step(X[idx], y[idx])
    if X.nbytes > CACHE_BYTES:
        flush_caches()
    start = time.perf_counter()
    for idx in batches:
        model.step(X[idx], y[idx])
    return (time.perf_counter() - start) / grid.steps


def measure_cell(X, y, C, threads, grid, rng) -> dict[str, common.Timing]:
    """Both contenders on one buffer, alternating which goes first in each repeat."""
    model = TextbookSGD(C, X.shape[1], learning_rate=LEARNING_RATE, reg=REG, batch_size=BATCH)
    runs = {
        "linclf": lambda: linclf_step_time(X, y, C, grid, rng),
        "textbook": lambda: textbook_step_time(model, X, y, grid, rng),
    }
    times = {name: common.Timing() for name in CONTENDERS}
    with threadpool_limits(threads, user_api="blas"):
        for r in range(grid.repeats):
            for name in CONTENDERS if r % 2 == 0 else CONTENDERS[::-1]:
                times[name].times.append(runs[name]())
    return times


CONTENDERS = ("linclf", "textbook")


def measure(quick: bool) -> dict:
    grid = Grid(quick)
    rng = np.random.default_rng(0)
    load = common.LoadLog(patient=not quick, max_wait=10.0)
    cells = {}
    started = time.perf_counter()
    for D in grid.Ds:
        n_buffer = grid.rows(max(grid.Ns), D)
        X = rng.standard_normal((n_buffer, D), dtype=np.float32)
        for C in grid.Cs:
            y = rng.integers(0, C, n_buffer)
            # N only matters through the buffer's size: measure each distinct buffer once.
            for rows in sorted({grid.rows(N, D) for N in grid.Ns}):
                for threads in grid.threads:
                    cells[D, C, rows, threads] = load.run(
                        lambda X=X, rows=rows, threads=threads, C=C, y=y: measure_cell(
                            X[:rows], y[:rows], C, threads, grid, rng
                        )
                    )
                    t = cells[D, C, rows, threads]
                    print(
                        f"  D={D} C={C} rows={rows} threads={threads}: "
                        + ", ".join(f"{k} {v.median * 1e3:.2f} ms/step" for k, v in t.items()),
                        flush=True,
                    )
        del X
    return {
        "grid": grid,
        "cells": cells,
        "load": load,
        "seconds": time.perf_counter() - started,
    }


def epoch_seconds(result: dict, D: int, C: int, N: int, threads: int, name: str) -> float:
    grid = result["grid"]
    step = result["cells"][D, C, grid.rows(N, D), threads][name].median
    return math.ceil(N / BATCH) * step


def plot(result: dict) -> bool:
    try:
        import matplotlib
        import matplotlib.ticker

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    grid = result["grid"]
    fig, axes = plt.subplots(
        len(grid.Ds),
        len(grid.Cs),
        figsize=(3.2 * len(grid.Cs), 2.8 * len(grid.Ds)),
        sharex=True,
        squeeze=False,
    )
    styles = {
        ("linclf", 1): ("tab:blue", "-"),
        ("linclf", 2): ("tab:blue", "--"),
        ("textbook", 1): ("tab:orange", "-"),
        ("textbook", 2): ("tab:orange", "--"),
    }
    for (i, D), (j, C) in itertools.product(enumerate(grid.Ds), enumerate(grid.Cs)):
        ax = axes[i][j]
        for (name, threads), (color, style) in styles.items():
            times = [epoch_seconds(result, D, C, N, threads, name) for N in grid.Ns]
            ax.plot(
                grid.Ns,
                times,
                style,
                color=color,
                marker="o",
                label=f"{name}, {threads} thread{'s' * (threads > 1)}",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(grid.Ns, [f"{N // 1000:,}k" for N in grid.Ns])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_title(f"D = {D}, C = {C}", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        if j == 0:
            ax.set_ylabel("epoch (s)")
        if i == len(grid.Ds) - 1:
            ax.set_xlabel("N (rows)")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Epoch time (batch 256, float32; extrapolated from timed steps)", fontsize=10)
    fig.tight_layout()
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(PLOT, dpi=90)
    plt.close(fig)
    return True


def render(result: dict, quick: bool, plotted: bool | None) -> str:
    grid = result["grid"]
    rows = []
    for D, C, N in itertools.product(grid.Ds, grid.Cs, grid.Ns):
        t = {
            (name, th): epoch_seconds(result, D, C, N, th, name)
            for name in CONTENDERS
            for th in grid.threads
        }
        rows.append(
            (
                D,
                C,
                f"{N:,}",
                f"{grid.rows(N, D):,}",
                *(common.fmt_num(t["linclf", th]) for th in grid.threads),
                *(common.fmt_num(t["textbook", th]) for th in grid.threads),
                *(f"{t['linclf', th] / t['textbook', th]:.2f}" for th in grid.threads),
                f"{t['linclf', 1] / t['linclf', 2]:.2f}",
            )
        )
    lines = [
        f"Epoch seconds, extrapolated: ceil(N / {BATCH}) × median seconds per step, the "
        f"steps timed on a buffer of min(N, rows in {grid.buffer_bytes // 2**20:,} MiB) "
        f"rows ({grid.steps} timed steps after warm-up, {grid.repeats} repeats; linclf "
        "and the textbook loop interleaved per cell). linclf runs with its defaults "
        '(`n_threads="auto"`: one BLAS thread where its products run in small blocks, '
        "all of them otherwise) inside the thread limit of the column. "
        f"Load: {result['load'].summary()}; the script took {result['seconds'] / 60:.1f} min.",
        "",
        common.md_table(
            (
                "D",
                "C",
                "N",
                "buffer rows",
                "linclf 1 thr (s)",
                "linclf 2 thr (s)",
                "textbook 1 thr (s)",
                "textbook 2 thr (s)",
                "linclf / textbook, 1 thr",
                "linclf / textbook, 2 thr",
                "linclf 1 thr / 2 thr",
            ),
            rows,
        ),
        "",
    ]
    if plotted:
        lines += [
            f"![epoch time against N]({PLOT.name})",
            "",
            "Solid: 1 BLAS thread, dashed: 2. Both axes logarithmic.",
        ]
    elif plotted is False:
        lines.append("(matplotlib is not installed: no plot.)")
    if quick:
        lines.insert(0, "**Quick smoke run (`--quick`): reduced grid, few steps.**\n")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced grid, few steps")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args(argv)
    header = common.machine_report("bench_scaling.py", argv)
    print("\n".join(header), flush=True)
    result = measure(args.quick)
    plotted = plot(result) if args.write else None
    body = render(result, args.quick, plotted)
    text = "\n".join(header) + "\n\n" + body
    print(body)
    if args.write:
        common.write_section("scaling", text)
        common.write_header_if_empty(header)
        print(f"\nwritten to {common.DOC}" + (f" and {PLOT}" if plotted else ""))


if __name__ == "__main__":
    main()
