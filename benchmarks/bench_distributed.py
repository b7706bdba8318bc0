"""Distributed training on Dask: 1 against 2 local worker processes, both strategies.

A synthetic problem (200,000 × 100 float32, 10 classes; ``--quick``: 20,000 × 50) is
generated *on the workers* (``dask.array.random``; labels are the argmax of noisy linear
scores), in 8 row chunks, so no row passes through the driver, as on a real cluster. For
P = 1 and P = 2 workers (``LocalCluster``, processes, 1 thread each) the script runs
``linclf.distributed.fit`` with

* ``"average"``: ``LinearSVM`` defaults (batch 64, learning rate 0.003), one local epoch
  per chunk per round;
* ``"gradient"``: full-batch gradient descent, learning rate 0.2, one step per round;

and reports the median seconds per round (the first round, which also builds and persists
the chunks, is left out), the bytes per round estimated from the array sizes
(:func:`linclf.distributed.round_traffic`), and the held-out accuracy (20,000 rows drawn
on the driver from the same distribution). Two references: the single-machine ``fit``
epoch (1 BLAS thread) and one full-batch ``loss_grad`` on the whole array, which bound
the per-round compute; and the round time on a tiny problem (8 chunks of 100 rows), the
fixed overhead of a round (scheduling, broadcast, gather).

From those numbers it extrapolates, with a stated cost model, to 8, 64 and 512 workers.
``--write`` rewrites the ``<!-- begin: local -->`` … ``<!-- end: local -->`` section of
``docs/scaling.md``.

Run: ``python benchmarks/bench_distributed.py [--quick] [--write]``.
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
import time
import warnings
from pathlib import Path

import common

common.reexec_without_openblas_vars()

import numpy as np  # noqa: E402

from linclf import LinearObjective, LinearSVM  # noqa: E402
from linclf.distributed import fit, round_traffic  # noqa: E402

DOC = common.ROOT / "docs" / "scaling.md"
SECTION = "local"
CHUNKS = 8
CLASSES = 10
SEED = 0

# Assumptions of the extrapolation (stated again in the written section).
BANDWIDTH = 10e9 / 8  # bytes/s through the driver's link: 10 Gbit/s
HOP_LATENCY = 1e-3  # seconds per level of the reduction tree (a task hop on the network)
TASK_COST = 1e-3  # scheduler seconds per task: Dask's documented order of magnitude
TARGET_ROWS = 10**8  # rows of the extrapolated problem
TARGET_WORKERS = (8, 64, 512)


class Problem:
    """The teacher (C, D) that labels rows; the same one on the workers and the driver."""

    def __init__(self, n_features: int) -> None:
        rng = np.random.default_rng(SEED)
        self.teacher = rng.normal(size=(CLASSES, n_features)) / math.sqrt(n_features)
        self.n_features = n_features

    def labels(self, X: np.ndarray, noise: np.ndarray) -> np.ndarray:
        return np.argmax(X @ self.teacher.T + noise, axis=1)

    def dask_data(self, n_rows: int):
        import dask.array as da

        rng = da.random.default_rng(SEED + 1)
        rows = -(-n_rows // CHUNKS)
        X = rng.standard_normal((n_rows, self.n_features), chunks=(rows, -1), dtype=np.float32)
        noise = rng.gumbel(scale=0.3, size=(n_rows, CLASSES), chunks=(rows, -1))
        y = da.map_blocks(lambda x, g: self.labels(x, g), X, noise, drop_axis=1, dtype=np.intp)
        return X, y

    def numpy_data(self, n_rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((n_rows, self.n_features), dtype=np.float32)
        return X, self.labels(X, rng.gumbel(scale=0.3, size=(n_rows, CLASSES)))


CONFIGS = {
    "average": dict(strategy="average", learning_rate=0.003),
    "gradient": dict(strategy="gradient", learning_rate=0.2),
}


def run_fit(client, X, y, strategy: str, rounds: int):
    """Fit; return (estimator, seconds of each round)."""
    config = CONFIGS[strategy]
    seconds: list[float] = []
    clf = LinearSVM(random_state=SEED, tol=None, learning_rate=config["learning_rate"])
    fit(
        clf,
        X,
        y,
        client=client,
        strategy=config["strategy"],
        max_rounds=rounds,
        callbacks=[lambda info: seconds.append(info["seconds"])],
    )
    return clf, seconds


def measure(n_workers: int, problem: Problem, n_rows: int, rounds: dict, test, wait: float) -> dict:
    from distributed import Client, LocalCluster

    results = {}
    with (
        LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        X, y = problem.dask_data(n_rows)
        tiny_X, tiny_y = problem.dask_data(CHUNKS * 100)
        for strategy in CONFIGS:
            # Cores other users of the machine keep busy (our workers idle meanwhile): wait
            # a while for a quiet machine, then record what is left.
            others = common.wait_for_quiet(max_wait=wait)
            clf, seconds = run_fit(client, X, y, strategy, rounds[strategy])
            _, tiny_seconds = run_fit(client, tiny_X, tiny_y, strategy, 6)
            results[strategy] = {
                "round": statistics.median(seconds[1:]),
                "overhead": statistics.median(tiny_seconds[1:]),
                "accuracy": clf.score(*test),
                "coef": clf.coef_,
                "others": others,
                "bytes": round_traffic(
                    CLASSES, problem.n_features, n_workers, CHUNKS, strategy=strategy
                )["total"],
            }
            print(
                f"P={n_workers} {strategy:>8}: {results[strategy]['round'] * 1e3:8.1f} ms/round, "
                f"overhead {results[strategy]['overhead'] * 1e3:6.1f} ms, "
                f"accuracy {results[strategy]['accuracy']:.4f}",
                flush=True,
            )
    return results


def single_machine(problem: Problem, n_rows: int, test) -> dict:
    """One-process references: SGD epoch time and accuracy, one full-batch gradient."""
    from threadpoolctl import threadpool_limits

    X, y = problem.numpy_data(n_rows, SEED + 2)
    with threadpool_limits(1, user_api="blas"):
        clf = LinearSVM(random_state=SEED, tol=None, max_epochs=1, warm_start=True)
        clf.fit(X, y)  # warm-up: allocations, BLAS start
        epochs = []
        for _ in range(3):
            started = time.perf_counter()
            clf.fit(X, y)
            epochs.append(time.perf_counter() - started)
        objective = LinearObjective("hinge", reg=0.0)
        params = {"W": clf._params["W"].copy(), "b": clf._params["b"].copy()}
        gradient = common.interleave({"g": lambda: objective.loss_grad(params, X, y)}, 3)["g"]
    reference = LinearSVM(random_state=SEED, tol=None, max_epochs=5).fit(X, y)
    n = 2048
    sgemm = common.sgemm_gflops(1, 3, n=n)
    return {
        "epoch": statistics.median(epochs),
        "gradient": gradient.median,
        "accuracy": reference.score(*test),
        "flops": 2 * n**3 / sgemm.median,
    }


def extrapolate(local: dict, overhead: float, n_rows: int, n_features: int) -> list[list[str]]:
    """Seconds per round at 8, 64 and 512 workers for 10⁸ rows, by the cost model.

    t(P) = N · c / P + ℓ + τ · tasks(P) + bytes(P) / BANDWIDTH + depth(P) · HOP_LATENCY,
    with c the seconds per row: for the measured model, the single-machine time per row
    (an SGD epoch for "average", one full-batch gradient for "gradient"); for the larger
    model, 4·C·D flops per row at the measured single-core SGEMM rate (its products are
    large enough to run near it). ℓ is the measured round time of the tiny problem at
    P = 1 (the fixed cost of a round), τ the scheduler's cost per task, tasks(P) = P
    ("average") or 2P - 1 (chunk gradients and tree sums), one chunk per worker, and every
    byte goes through the driver's link.
    """
    rows = []
    for C, D in ((CLASSES, n_features), (100, 10_000)):
        for strategy in CONFIGS:
            if D == n_features:
                work = local["epoch"] if strategy == "average" else local["gradient"]
                per_row = work / n_rows
            else:
                per_row = 4 * C * D / local["flops"]
            cells = []
            for P in TARGET_WORKERS:
                compute = TARGET_ROWS * per_row / P
                tasks = P if strategy == "average" else 2 * P - 1
                traffic = round_traffic(C, D, P, P, strategy=strategy)
                network = traffic["total"] / BANDWIDTH + traffic["tree_depth"] * HOP_LATENCY
                total = compute + overhead + TASK_COST * tasks + network
                cells.append(
                    f"{common.fmt_num(total)} s (compute {compute / total:.0%}, "
                    f"network {network / total:.0%})"
                )
            rows.append([f"C={C}, D={D:,}", strategy, *cells])
    return rows


def replace_section(body: str, path: Path = DOC) -> None:
    """Rewrite the text between this script's markers in docs/scaling.md (only there)."""
    begin, end = f"<!-- begin: {SECTION} -->", f"<!-- end: {SECTION} -->"
    text = path.read_text()
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"{path} has no {begin} … {end} section to rewrite")
    path.write_text(pattern.sub(lambda _: f"{begin}\n{body.strip()}\n{end}", text, count=1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--write", action="store_true", help="update docs/scaling.md")
    args = parser.parse_args(argv)
    n_rows, n_features = (20_000, 50) if args.quick else (200_000, 100)
    rounds = {"average": 3, "gradient": 5} if args.quick else {"average": 6, "gradient": 30}
    report = common.machine_report("bench_distributed.py", argv)
    print("\n".join(report), flush=True)

    problem = Problem(n_features)
    test = problem.numpy_data(20_000, SEED + 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tol=None: no ConvergenceWarning is due anyway
        local = single_machine(problem, n_rows, test)
        print(
            f"single machine: epoch {local['epoch'] * 1e3:.1f} ms, full gradient "
            f"{local['gradient'] * 1e3:.1f} ms, accuracy {local['accuracy']:.4f}",
            flush=True,
        )
        wait = 0.0 if args.quick else 60.0
        results = {P: measure(P, problem, n_rows, rounds, test, wait) for P in (1, 2)}

    headers = [
        "strategy",
        "P",
        "s / round",
        "vs P=1",
        "overhead s / round",
        "bytes / round",
        "accuracy",
        "others' load (cores)",
    ]
    rows = []
    for strategy in CONFIGS:
        for P in (1, 2):
            r = results[P][strategy]
            rows.append(
                [
                    strategy,
                    P,
                    common.fmt_num(r["round"]),
                    f"{r['round'] / results[1][strategy]['round']:.2f}×",
                    common.fmt_num(r["overhead"]),
                    f"{r['bytes']:,}",
                    f"{r['accuracy']:.4f}",
                    "?" if r["others"] is None else f"{r['others']:.1f}",
                ]
            )
    measured = common.md_table(headers, rows, align="lrrrrrrr")
    reference = common.md_table(
        ["single machine (1 thread)", "seconds", "accuracy"],
        [
            [
                "`LinearSVM.fit` epoch (batch 64)",
                common.fmt_num(local["epoch"]),
                f"{local['accuracy']:.4f} (5 epochs)",
            ],
            ["full-batch `loss_grad`", common.fmt_num(local["gradient"]), ""],
        ],
        align="lrr",
    )
    ratios = common.md_table(
        ["ratio", "average", "gradient"],
        [
            [
                "round at P=2 / round at P=1",
                *(f"{results[2][s]['round'] / results[1][s]['round']:.2f}" for s in CONFIGS),
            ],
            [
                "round at P=1 / single-machine work (epoch or gradient)",
                f"{results[1]['average']['round'] / local['epoch']:.2f}",
                f"{results[1]['gradient']['round'] / local['gradient']:.2f}",
            ],
            [
                "overhead / round at P=1",
                *(f"{results[1][s]['overhead'] / results[1][s]['round']:.2f}" for s in CONFIGS),
            ],
        ],
        align="lrr",
    )
    same = {s: np.array_equal(results[1][s]["coef"], results[2][s]["coef"]) for s in CONFIGS}
    overhead = statistics.mean(results[1][s]["overhead"] for s in CONFIGS)
    projected = common.md_table(
        ["model", "strategy", *(f"P = {P}" for P in TARGET_WORKERS)],
        extrapolate(local, overhead, n_rows, n_features),
        align="llrrr",
    )
    body = "\n".join(
        [
            *report,
            f"- Problem: {n_rows:,} × {n_features} float32, {CLASSES} classes, {CHUNKS} row "
            f"chunks generated on the workers; rounds timed: {rounds} (first left out); "
            "overhead = the round time on 8 chunks of 100 rows",
            "- Workers: `LocalCluster(n_workers=P, threads_per_worker=1, processes=True)`; Dask "
            "starts them with `OPENBLAS_NUM_THREADS=1`",
            "",
            measured,
            "",
            "Same chunks and seeds, so the model does not depend on P: bit-identical "
            "coefficients at P=1 and P=2 for "
            + ", ".join(f"{s} {'yes' if same[s] else '**no**'}" for s in CONFIGS)
            + ".",
            "",
            reference,
            "",
            ratios,
            "",
            f"Extrapolated seconds per round for N = {TARGET_ROWS:,} rows, one chunk per "
            f"worker: {BANDWIDTH * 8 / 1e9:g} Gbit/s through the driver, "
            f"{TASK_COST * 1e3:g} ms of scheduler time per task, {HOP_LATENCY * 1e3:g} ms "
            f"per tree level, a fixed {common.fmt_num(overhead * 1e3)} ms per round (the "
            "tiny problem at P=1); compute per row as measured here for the small model, "
            f"and 4·C·D flops at the single-core SGEMM rate ({local['flops'] / 1e9:.0f} "
            "GFLOP/s) for the large one:",
            "",
            projected,
        ]
    )
    print("\n" + body)
    if args.write:
        replace_section(body)
        print(f"\nsection {SECTION!r} written to {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
