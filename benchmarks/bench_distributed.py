"""Distributed training on Dask: the cost model's inputs, its predictions, the measurements.

One run, on ``LocalCluster(host="127.0.0.1", processes=True, threads_per_worker=1)``
with P = 1, 2 and 4 workers (three clusters alive at once, measured in turn, the order
rotating from repeat to repeat so that load from other users hits all of them alike):

1. the model's inputs (:mod:`cost_model` has the model):

   * per-round overhead ``a + b·K``: median round times of a tiny problem (100 rows per
     chunk) at K = 2, 8, 32 chunks, per strategy, fitted by least squares through the
     medians at each P (for the local predictions) and over all P (the extrapolation);
   * compute ``c_P``: the CPU time per row of one chunk's SGD epoch and of one chunk's
     gradient sums (``linclf.chunks.local_epoch`` / ``gradient_sums``, what the workers
     run), measured in each of the P workers at once with one BLAS thread, and the
     coefficient of variation of a chunk's time (stragglers); the same for a chunk of
     the large model (C = 100, D = 10,000) in this process;
   * the cores other processes (L) and this process, driver and scheduler (S), used
     during each measured fit (psutil);
   * how Dask moves the model: the time for a model of 10⁶ float32 held by a task (as
     ``fit`` broadcasts it) to reach every worker, against a tiny one, and which worker
     each copy came from (the workers' transfer logs); the time to gather 8 such arrays
     through the scheduler; the driver's time to mix K models;

2. the median seconds per round of ``"average"`` (``LinearSVM`` defaults: batch 64,
   learning rate 0.003, one epoch per chunk per round) and ``"gradient"`` (full-batch
   gradient descent, learning rate 0.2) on 200,000 × 100 float32, 10 classes, 8 chunks
   generated on the workers (``--quick``: 20,000 × 50), first round left out; beside them
   the model's prediction from the inputs of 1 and their ratio;
3. the peak resident memory of the worker processes at P = 1, 2, 4;
4. rounds to accuracy: the held-out accuracy of ``"average"`` after 1, 2, 4, 8, 16 rounds
   with K = 2, 8, 32, 128 chunks of the same rows (P = 2), and of ``"gradient"``, against
   a single-machine ``LinearSVM`` fit on those rows.

From those it extrapolates to 64 and 512 workers, with the assumptions it prints.
``--write`` rewrites the ``<!-- begin: local -->`` and ``<!-- begin: extrapolation -->``
sections of ``docs/scaling.md``; ``tests/test_scaling_doc.py`` checks the written page.

Run: ``python benchmarks/bench_distributed.py [--quick] [--write]``.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import statistics
import time
import uuid
import warnings
from pathlib import Path

import common

common.reexec_without_openblas_vars()

import numpy as np  # noqa: E402

import cost_model  # noqa: E402
from linclf import LinearObjective, LinearSVM  # noqa: E402
from linclf.distributed import fit, round_traffic  # noqa: E402

DOC = common.ROOT / "docs" / "scaling.md"
WORKERS = (1, 2, 4)
CHUNKS = 8
CLASSES = 10
SEED = 0
ITEMSIZE = 4  # float32
CONFIGS = {"average": 0.003, "gradient": 0.2}  # strategy -> learning rate
ACCURACY_SLACK = 0.01  # "within 1 point of the single-machine accuracy"
MIN_CORES = 0.1  # floor of the cores left to the workers (others never take them all)

# The extrapolation's assumptions that are not measured here (printed with the table).
LINK = 10e9 / 8  # bytes/s of every link: 10 Gbit/s
TARGET_WORKERS = (64, 512)
TARGET_MODELS = ((CLASSES, 100, 10**8), (100, 10_000, 10**7))  # (C, D, N)


class Problem:
    """The teacher (C, D) that labels rows; the same one on the workers and the driver."""

    def __init__(self, n_features: int) -> None:
        rng = np.random.default_rng(SEED)
        self.teacher = rng.normal(size=(CLASSES, n_features)) / math.sqrt(n_features)
        self.n_features = n_features

    def labels(self, X: np.ndarray, noise: np.ndarray) -> np.ndarray:
        return np.argmax(X @ self.teacher.T + noise, axis=1)

    def dask_data(self, n_rows: int, n_chunks: int = CHUNKS):
        import dask.array as da

        rng = da.random.default_rng(SEED + 1)
        rows = -(-n_rows // n_chunks)
        X = rng.standard_normal((n_rows, self.n_features), chunks=(rows, -1), dtype=np.float32)
        noise = rng.gumbel(scale=0.3, size=(n_rows, CLASSES), chunks=(rows, -1))
        y = da.map_blocks(lambda x, g: self.labels(x, g), X, noise, drop_axis=1, dtype=np.intp)
        return X, y

    def numpy_data(self, n_rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((n_rows, self.n_features), dtype=np.float32)
        return X, self.labels(X, rng.gumbel(scale=0.3, size=(n_rows, CLASSES)))


def estimator(strategy: str, **params) -> LinearSVM:
    return LinearSVM(
        random_state=SEED, tol=None, learning_rate=CONFIGS[strategy], standardize=False, **params
    )


def run_fit(client, X, y, strategy: str, rounds: int):
    """Fit; return (estimator, seconds of each round)."""
    seconds: list[float] = []
    clf = estimator(strategy)
    fit(
        clf,
        X,
        y,
        client=client,
        strategy=strategy,
        max_rounds=rounds,
        callbacks=[lambda info: seconds.append(info["seconds"])],
    )
    return clf, seconds


class OthersLoad:
    """Cores that processes outside this one and its children kept busy during the block."""

    @staticmethod
    def _busy() -> tuple[float, float, float]:
        import psutil

        t = psutil.cpu_times()
        machine = sum(t) - t.idle - getattr(t, "iowait", 0.0)
        me = psutil.Process()
        mine = driver = sum(me.cpu_times()[:2])
        for p in me.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                mine += sum(p.cpu_times()[:2])
        return machine, mine, driver

    def __enter__(self) -> OthersLoad:
        self._start, self._t = self._busy(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        (machine, mine, driver), wall = self._busy(), time.perf_counter() - self._t
        self.others = max(0.0, (machine - self._start[0] - (mine - self._start[1])) / wall)
        # This process: the driver, and (LocalCluster) the scheduler and the nannies.
        self.driver = (driver - self._start[2]) / wall


def _hold(model: np.ndarray) -> np.ndarray:
    """On a worker: a task whose spec holds the model, as ``fit`` broadcasts one."""
    return model


def _size(model: np.ndarray) -> int:
    return model.nbytes


def _filled(n_numbers: int, value: float) -> np.ndarray:
    return np.full(n_numbers, value, dtype=np.float32)


def _transfer_sources(dask_worker, key: str) -> list[str]:
    """On a worker: the workers it fetched ``key`` from (its incoming transfer log)."""
    return [e["who"] for e in dask_worker.transfer_incoming_log if key in e["keys"]]


def _memory() -> tuple[float, float]:
    """On a worker: (current, peak) resident memory in MiB."""
    import resource

    import psutil

    current = psutil.Process().memory_info().rss / 2**20
    return current, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10


def broadcast(client, n_numbers: int, repeats: int) -> dict:
    """Seconds until every worker holds a model of ``n_numbers`` float32 held by a task."""
    workers = sorted(client.scheduler_info()["workers"])
    times, sources = [], {}
    for r in range(repeats + 1):  # the first is a warm-up
        token = uuid.uuid4().hex
        model = np.full(n_numbers, float(r), dtype=np.float32)
        started = time.perf_counter()
        held = client.submit(_hold, model, key=f"bench-model-{token}")
        probes = [
            client.submit(_size, held, key=f"bench-probe{i}-{token}", workers=[w])
            for i, w in enumerate(workers)
        ]
        client.gather(probes)
        if r:
            times.append(time.perf_counter() - started)
        found = client.run(_transfer_sources, key=held.key)
        sources = {w: s for w, s in found.items() if s}
        del held, probes
    return {"seconds": statistics.median(times), "sources": sources}


def gather(client, n_tasks: int, n_numbers: int, repeats: int) -> float:
    """Seconds for the driver to gather ``n_tasks`` arrays of ``n_numbers`` float32."""
    times = []
    for r in range(repeats + 1):
        tasks = [client.submit(_filled, n_numbers, r + k, pure=False) for k in range(n_tasks)]
        while any(t.status == "pending" for t in tasks):  # computed, not yet moved
            time.sleep(0.005)
        started = time.perf_counter()
        client.gather(tasks)
        if r:
            times.append(time.perf_counter() - started)
        del tasks
    return statistics.median(times)


def mixing(n_models: int, n_numbers: int, repeats: int) -> float:
    """Driver seconds per number to mix models as ``average`` does (weighted sum in float64)."""
    rng = np.random.default_rng(SEED)
    results = [rng.standard_normal(n_numbers, dtype=np.float32) for _ in range(n_models)]
    weights = [1.0 + k for k in range(n_models)]
    total = math.fsum(weights)

    def mix():
        return sum(
            ((w / total) * r for w, r in zip(weights, results, strict=True)), np.zeros(n_numbers)
        )

    return common.interleave({"mix": mix}, repeats)["mix"].median / (n_models * n_numbers)


def chunk_work(X: np.ndarray, y: np.ndarray, n_chunks: int, repeats: int) -> dict:
    """Each chunk's work in this process, 1 BLAS thread, per row: {(strategy, clock): [s]}.

    ``clock`` is ``"cpu"`` (this thread's CPU time: the work itself, whatever else runs
    on the machine) or ``"wall"``.
    """
    from threadpoolctl import threadpool_limits

    from linclf import chunks as per_chunk

    rows = -(-X.shape[0] // n_chunks)
    parts = [(X[i : i + rows], y[i : i + rows]) for i in range(0, X.shape[0], rows)]
    times = {(s, clock): [] for s in CONFIGS for clock in ("cpu", "wall")}

    def timed(call, *args, **kwargs) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.thread_time()
        call(*args, **kwargs)
        return time.thread_time() - cpu, time.perf_counter() - wall

    def record(strategy, n, cpu, wall):
        times[strategy, "cpu"].append(cpu / n)
        times[strategy, "wall"].append(wall / n)

    with threadpool_limits(1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for r in range(repeats + 1):
            if r == 1:  # the first pass warms up
                times = {key: [] for key in times}
            for Xk, yk in parts:
                # What a round's chunk task runs (linclf.chunks, the public per-chunk API),
                # from the model after one epoch.
                plan = per_chunk.ChunkPlan.from_estimator(estimator("average"), max_rounds=8)
                plan = plan.for_dtype(Xk.dtype)
                chunk = per_chunk.check_chunk(plan, Xk, yk)
                plan = plan.with_summaries([per_chunk.summarize(chunk)])
                chunk = per_chunk.encode_chunk(plan, chunk)
                C = len(plan.classes)
                zero = {"W": np.zeros((C, Xk.shape[1]), Xk.dtype), "b": np.zeros(C, Xk.dtype)}
                params = per_chunk.local_epoch(
                    plan, zero, chunk, round_index=0, chunk_index=0
                ).params
                epoch = timed(
                    per_chunk.local_epoch, plan, params, chunk, round_index=1, chunk_index=0
                )
                record("average", Xk.shape[0], *epoch)
                record(
                    "gradient", Xk.shape[0], *timed(per_chunk.gradient_sums, plan, params, chunk)
                )
    return times


def _worker_chunk_work(problem: Problem, n_rows: int, start_at: float, repeats: int) -> dict:
    """On a worker: :func:`chunk_work` on a chunk of its own, started with the others."""
    X, y = problem.numpy_data(n_rows, SEED + 4)
    time.sleep(max(0.0, start_at - time.time()))  # every worker computes at once
    return chunk_work(X, y, 1, repeats)


def large_model_rows(n_rows: int, repeats: int) -> dict:
    """Seconds per row of an epoch and of a gradient for C = 100, D = 10,000 (1 thread)."""
    C, D = TARGET_MODELS[1][:2]
    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((n_rows, D), dtype=np.float32)
    y = np.arange(n_rows) % C
    times = chunk_work(X, y, 1, repeats)
    return {s: statistics.median(times[s, "cpu"]) for s in CONFIGS}


def fit_line(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares (a, b) of y = a + b·x."""
    xs, ys = zip(*points, strict=True)
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    b = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x in xs)
    return my - b * mx, b


def rounds_to_accuracy(client, problem, n_rows, ks, grid, test, target) -> dict:
    """{(strategy, K): {"accuracy": {rounds: acc}, "rounds": first r within the slack}}."""
    out = {}
    for strategy, chunk_counts, rounds in (("average", ks, grid), ("gradient", (CHUNKS,), grid)):
        rounds = rounds if strategy == "average" else tuple(4 * r for r in grid)
        for K in chunk_counts:
            X, y = problem.dask_data(n_rows, K)
            accuracy, loss, seconds = {}, {}, []
            for r in rounds:
                clf, s = run_fit(client, X, y, strategy, r)
                accuracy[r], loss[r] = clf.score(*test), held_out_loss(clf, test)
                seconds += s[1:]
            reached = [r for r in rounds if accuracy[r] >= target - ACCURACY_SLACK]
            out[strategy, K] = {
                "accuracy": accuracy,
                "loss": loss,
                "rounds": reached[0] if reached else None,
                "round_seconds": statistics.median(seconds),
            }
            print(f"{strategy} K={K}: " + ", ".join(f"{r}: {a:.4f}" for r, a in accuracy.items()))
    return out


def held_out_loss(clf: LinearSVM, test: tuple[np.ndarray, np.ndarray]) -> float:
    """The mean multiclass hinge loss of ``clf`` on the test rows (no penalty)."""
    X, y = test
    params = {"W": clf.coef_.astype(X.dtype), "b": clf.intercept_.astype(X.dtype)}
    return float(LinearObjective("hinge", reg=0.0).loss_grad(params, X, y)[0])


def replace_section(name: str, body: str, path: Path = DOC) -> None:
    """Rewrite the text between ``<!-- begin: name -->`` and ``<!-- end: name -->`` only."""
    begin, end = f"<!-- begin: {name} -->", f"<!-- end: {name} -->"
    text = path.read_text()
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"{path} has no {begin} … {end} section to rewrite")
    path.write_text(pattern.sub(lambda _: f"{begin}\n{body.strip()}\n{end}", text, count=1))


def fmt_s(seconds: float) -> str:
    return f"{common.fmt_num(seconds * 1e3)} ms" if seconds < 1 else f"{common.fmt_num(seconds)} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--write", action="store_true", help="update docs/scaling.md")
    args = parser.parse_args(argv)
    quick = args.quick
    n_rows, n_features = (20_000, 50) if quick else (200_000, 100)
    rounds = {"average": 4, "gradient": 6} if quick else {"average": 6, "gradient": 16}
    repeats = 1 if quick else 3
    tiny_ks, tiny_rounds = (2, 8, 32), 4 if quick else 5
    sweep_ks = (2, 8, 32) if quick else (2, 8, 32, 128)
    grid = (1, 2, 4) if quick else (1, 2, 4, 8, 16)
    big_numbers = 250_000 if quick else 1_000_000
    report = common.machine_report("bench_distributed.py", argv)
    print("\n".join(report), flush=True)
    load_start = os.getloadavg()
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1

    from distributed import Client, LocalCluster

    problem = Problem(n_features)
    test = problem.numpy_data(100_000, SEED + 3)
    round_s = {(s, P): [] for s in CONFIGS for P in WORKERS}
    tiny = {(s, P, K): [] for s in CONFIGS for P in WORKERS for K in tiny_ks}
    others = {(s, P): [] for s in CONFIGS for P in WORKERS}
    driver = {(s, P): [] for s in CONFIGS for P in WORKERS}
    work = {(s, clock, P): [] for s in CONFIGS for clock in ("cpu", "wall") for P in WORKERS}
    coefs = {}
    with contextlib.ExitStack() as stack, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tol=None: no ConvergenceWarning is due anyway
        clients = {}
        for P in WORKERS:
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=P,
                    host="127.0.0.1",
                    processes=True,
                    threads_per_worker=1,
                    dashboard_address=None,
                )
            )
            clients[P] = stack.enter_context(Client(cluster, set_as_default=False))
        base = {P: max(m[1] for m in clients[P].run(_memory).values()) for P in WORKERS}
        X_big, y_big = problem.dask_data(n_rows)
        X_local, y_local = clients[1].compute([X_big, y_big], sync=True)
        tiny_data = {K: problem.dask_data(100 * K, K) for K in tiny_ks}

        for rep in range(repeats):
            order = WORKERS[rep % len(WORKERS) :] + WORKERS[: rep % len(WORKERS)]
            for P in order:
                common.wait_for_quiet(max_wait=0 if quick else 5)
                for strategy in CONFIGS:
                    with OthersLoad() as load:
                        clf, seconds = run_fit(clients[P], X_big, y_big, strategy, rounds[strategy])
                    round_s[strategy, P] += seconds[1:]
                    others[strategy, P].append(load.others)
                    driver[strategy, P].append(load.driver)
                    coefs[strategy, P] = clf.coef_
                    for K, (X, y) in tiny_data.items():
                        _, seconds = run_fit(clients[P], X, y, strategy, tiny_rounds)
                        tiny[strategy, P, K] += seconds[1:]
                # Every worker times a chunk's work at once, as the round's chunks run.
                start_at = time.time() + 0.5
                chunk_rows = -(-n_rows // CHUNKS)
                found = clients[P].run(_worker_chunk_work, problem, chunk_rows, start_at, 2)
                for times in found.values():
                    for (strategy, clock), t in times.items():
                        work[strategy, clock, P] += t
                print(
                    f"repeat {rep + 1} P={P}: "
                    + ", ".join(
                        f"{s} {statistics.median(round_s[s, P]) * 1e3:.1f} ms (others "
                        f"{others[s, P][-1]:.2f} cores)"
                        for s in CONFIGS
                    ),
                    flush=True,
                )

        peak = {P: max(m[1] for m in clients[P].run(_memory).values()) for P in WORKERS}
        moves = {
            P: {
                "tiny": broadcast(clients[P], cost_model.model_size(CLASSES, n_features), 3),
                "big": broadcast(clients[P], big_numbers, 3),
            }
            for P in WORKERS
        }
        gathered = {
            size: gather(clients[2], CHUNKS, size, 3)
            for size in (cost_model.model_size(CLASSES, n_features), big_numbers)
        }
        mix = mixing(CHUNKS, big_numbers, 3)
        large = large_model_rows(512 if quick else 2048, 1 if quick else 2)

        # The single-machine optimum of the same objective (solver="auto": L-BFGS-B).
        reference = LinearSVM(random_state=SEED, standardize=False).fit(X_local, y_local)
        target, target_loss = reference.score(*test), held_out_loss(reference, test)
        sweep = rounds_to_accuracy(clients[2], problem, n_rows, sweep_ks, grid, test, target)
    load_end = os.getloadavg()

    # The inputs of the model.
    # a + b·K through the median round time at each K: at each P, and over all P.
    overhead_by_p = {
        (s, P): fit_line([(K, statistics.median(tiny[s, P, K])) for K in tiny_ks])
        for s in CONFIGS
        for P in WORKERS
    }
    overhead = {
        s: fit_line(
            [(K, statistics.median(t for P in WORKERS for t in tiny[s, P, K])) for K in tiny_ks]
        )
        for s in CONFIGS
    }
    per_row = {P: {s: statistics.median(work[s, "cpu", P]) for s in CONFIGS} for P in WORKERS}
    per_row_wall = {P: {s: statistics.median(work[s, "wall", P]) for s in CONFIGS} for P in WORKERS}

    def cv(t):
        return statistics.stdev(t) / statistics.fmean(t)

    # Stragglers: the spread of one worker's chunk times, alone on the cluster (P = 1).
    variation = statistics.median(cv(work[s, "cpu", 1]) for s in CONFIGS)
    variation_wall = statistics.median(cv(work[s, "wall", 1]) for s in CONFIGS)
    delta1 = moves[1]["big"]["seconds"] - moves[1]["tiny"]["seconds"]
    loopback = 2 * big_numbers * ITEMSIZE / max(delta1, 1e-6)  # 2 copies: client→scheduler→worker
    small = cost_model.model_size(CLASSES, n_features)
    # K results: worker → scheduler → driver, 2·K copies.
    returned = 2 * CHUNKS * (big_numbers - small) * ITEMSIZE
    results_rate = returned / max(gathered[big_numbers] - gathered[small], 1e-6)
    import dask

    fan_out = int(dask.config.get("distributed.worker.connections.incoming"))

    def local_inputs(strategy: str, P: int) -> cost_model.Inputs:
        """The inputs for a round at P: that P's overhead, the cores others left us."""
        taken = statistics.median(others[strategy, P]) + statistics.median(driver[strategy, P])
        free = max(cores - taken, MIN_CORES)
        return cost_model.Inputs(
            cores=free,
            overhead={strategy: overhead_by_p[strategy, P]},
            per_row=per_row[P],
            variation=variation,
            bandwidth=loopback,
            gather_bandwidth=results_rate,
            fan_out=fan_out,
            mix=mix,
        )

    # Measured against predicted, P = 1, 2, 4.
    rows, ratios = [], {}
    for strategy in CONFIGS:
        for P in WORKERS:
            measured = statistics.median(round_s[strategy, P])
            inputs = local_inputs(strategy, P)
            terms = cost_model.round_time(
                inputs,
                strategy=strategy,
                n_workers=P,
                n_chunks=CHUNKS,
                n_rows=n_rows,
                n_classes=CLASSES,
                n_features=n_features,
            )
            ratios[strategy, P] = measured / terms["total"]
            rows.append(
                [
                    strategy,
                    P,
                    f"{measured * 1e3:.1f}",
                    f"{terms['total'] * 1e3:.1f}",
                    f"{ratios[strategy, P]:.2f}",
                    f"{terms['overhead'] * 1e3:.1f}",
                    f"{terms['compute'] * 1e3:.1f}",
                    f"{(terms['broadcast'] + terms['returns']) * 1e3:.2f}",
                    f"{statistics.median(others[strategy, P]):.2f}",
                    f"{statistics.median(driver[strategy, P]):.2f}",
                    f"{min(P, inputs.cores):.2f}",
                ]
            )
    measured_table = common.md_table(
        [
            "strategy",
            "P",
            "measured ms / round",
            "predicted ms / round",
            "measured / predicted",
            "predicted: overhead",
            "compute",
            "transfers",
            "others' load L (cores, median)",
            "driver and scheduler S (cores)",
            "min(P, cores − L − S)",
        ],
        rows,
        align="lrrrrrrrrrr",
    )
    inputs_table = common.md_table(
        ["input", "value", "how it was measured"],
        [
            *(
                [
                    f"overhead `{strategy}`, a + b·K",
                    "; ".join(
                        f"P = {P}: {overhead_by_p[strategy, P][0] * 1e3:.1f} + "
                        f"{overhead_by_p[strategy, P][1] * 1e3:.2f}·K ms"
                        for P in WORKERS
                    )
                    + f"; all P: {overhead[strategy][0] * 1e3:.1f} + "
                    f"{overhead[strategy][1] * 1e3:.2f}·K ms",
                    f"median round time of a tiny problem (100 rows per chunk) at K = "
                    f"{', '.join(map(str, tiny_ks))}, least squares through the medians; "
                    + (
                        "K + 1 tasks per round"
                        if strategy == "average"
                        else "2K tasks per round (chunk sums, tree sums, the model)"
                    ),
                ]
                for strategy in CONFIGS
            ),
            *(
                [
                    f"c_P, `{strategy}`",
                    "; ".join(f"P = {P}: {per_row[P][strategy] * 1e6:.3f}" for P in WORKERS)
                    + " µs / row (P = 1: "
                    + fmt_s(per_row[1][strategy] * n_rows / CHUNKS)
                    + " per chunk; wall clock "
                    + ", ".join(f"{per_row_wall[P][strategy] * 1e6:.3f}" for P in WORKERS)
                    + ")",
                    (
                        "`linclf.chunks.local_epoch`"
                        if strategy == "average"
                        else "`linclf.chunks.gradient_sums`"
                    )
                    + f" on a chunk of {-(-n_rows // CHUNKS):,} rows in each of the P workers "
                    "at once (`client.run`), 1 BLAS thread, thread CPU time, median of "
                    f"{len(work[strategy, 'cpu', 1])} at P = 1",
                ]
                for strategy in CONFIGS
            ),
            [
                "v, variation of a chunk's time",
                f"{variation:.3f} (wall clock {variation_wall:.3f})",
                "standard deviation / mean of those chunk CPU times at P = 1 (median of the "
                "two strategies)",
            ],
            [
                "cores",
                f"{cores}",
                "`os.sched_getaffinity`; the workers compute at min(P, cores − L − S) at once: "
                "L the cores other processes used during the measurement, S those of this "
                "process (driver, scheduler, nannies) (table below)",
            ],
            [
                "β, a copy of the model",
                f"{loopback / 2**20:,.0f} MiB/s",
                f"broadcast of {big_numbers:,} float32 against {small:,} at P = 1 (two "
                "copies: client → scheduler → worker), loopback",
            ],
            [
                "β_r, a result",
                f"{results_rate / 2**20:,.0f} MiB/s",
                f"gather of {CHUNKS} arrays of {big_numbers:,} float32 against {small:,} (2·K "
                "copies: workers → scheduler → driver), loopback",
            ],
            [
                "fan-out of a holder",
                f"{fan_out}",
                "Dask's `distributed.worker.connections.incoming` (configuration, not measured)",
            ],
            [
                "mixing on the driver",
                f"{mix * 1e9:.2f} ns per number",
                f"the weighted sum of {CHUNKS} models of {big_numbers:,} float32, as "
                "`average` does",
            ],
        ],
        align="lll",
    )
    pattern_rows = []
    for P in WORKERS:
        delta = moves[P]["big"]["seconds"] - moves[P]["tiny"]["seconds"]
        copy = big_numbers * ITEMSIZE / loopback
        star = (2 + sum(cost_model.broadcast_waves(P, fan_out))) * copy
        driver_copies = 2 * P * copy  # if the driver sent P copies through the scheduler
        sources = moves[P]["big"]["sources"]
        fetched = sum(len(s) for s in sources.values())
        origins = {w for s in sources.values() for w in s}
        pattern_rows.append(
            [
                P,
                fmt_s(moves[P]["tiny"]["seconds"]),
                fmt_s(moves[P]["big"]["seconds"]),
                fmt_s(delta),
                fmt_s(star),
                fmt_s(driver_copies),
                f"{fetched} from {len(origins)} worker{'s' if len(origins) != 1 else ''}",
            ]
        )
    pattern_table = common.md_table(
        [
            "P",
            f"model of {cost_model.model_size(CLASSES, n_features):,} float32 reaches all",
            f"model of {big_numbers:,}",
            "difference",
            "at β: 2 copies + waves w(P)",
            "if the driver sent P copies",
            "copies fetched between workers",
        ],
        pattern_rows,
        align="rrrrrrl",
    )
    gather_line = (
        f"Gathering {CHUNKS} arrays of {big_numbers:,} float32 into the driver (through the "
        f"scheduler) took {fmt_s(gathered[big_numbers])}, against {fmt_s(gathered[small])} "
        f"for arrays of {small:,} (β_r above)."
    )
    row_bytes = n_features * ITEMSIZE + 8  # a float32 row and its label
    share = {P: n_rows * row_bytes / P / 2**20 for P in WORKERS}
    base_mib, factor = fit_line([(share[P], peak[P]) for P in WORKERS])
    memory_table = common.md_table(
        [
            "P",
            "data per worker (MiB)",
            "peak RSS before any data (MiB)",
            "peak RSS after the fits (MiB)",
        ],
        [[P, f"{share[P]:.1f}", f"{base[P]:.0f}", f"{peak[P]:.0f}"] for P in WORKERS],
        align="rrrr",
    )

    def cell(r: dict, g: int) -> str:
        return f"{r['accuracy'][g]:.4f} / {r['loss'][g]:.3f}"

    def reached(r: dict) -> str:
        return f"{r['rounds']}" if r["rounds"] else f"> {max(r['accuracy'])}"

    sweep_table = common.md_table(
        [
            "K",
            "rows per chunk",
            *(f"after {g} round{'s' if g > 1 else ''}" for g in grid),
            "rounds to within 1 point",
            "s / round (P = 2)",
        ],
        [
            [
                K,
                f"{n_rows // K:,}",
                *(cell(sweep["average", K], g) for g in grid),
                reached(sweep["average", K]),
                fmt_s(sweep["average", K]["round_seconds"]),
            ]
            for K in sweep_ks
        ],
        align="rr" + "r" * len(grid) + "rr",
    )
    gradient_sweep = sweep["gradient", CHUNKS]
    gradient_line = (
        f"`gradient` (K = {CHUNKS}, full-batch steps: the same for any K) after "
        + ", ".join(f"{g} rounds: {cell(gradient_sweep, g)}" for g in gradient_sweep["accuracy"])
        + f"; within 1 point after {reached(gradient_sweep)} rounds, "
        f"{fmt_s(gradient_sweep['round_seconds'])} per round."
    )
    same = {s: all(np.array_equal(coefs[s, 1], coefs[s, P]) for P in WORKERS) for s in CONFIGS}

    local_body = "\n".join(
        [
            *report,
            "- Load average at the end (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in load_end),
            f"- Problem: {n_rows:,} × {n_features} float32, {CLASSES} classes, {CHUNKS} row "
            "chunks generated on the workers; `average`: `LinearSVM` defaults (batch 64, "
            "learning rate 0.003); `gradient`: learning rate 0.2; "
            f"{rounds} rounds per fit, the first left out, {repeats} fits per P and strategy",
            "- Workers: `LocalCluster(n_workers=P, host='127.0.0.1', processes=True, "
            "threads_per_worker=1)`, P = 1, 2, 4 alive at once and measured in turn (the "
            "order rotating); Dask starts the workers with `OPENBLAS_NUM_THREADS=1`",
            "",
            "Inputs of the model, measured in this run:",
            "",
            inputs_table,
            "",
            "Seconds per round, measured and predicted from those inputs (median of "
            f"{repeats * (rounds['average'] - 1)} rounds for `average`, "
            f"{repeats * (rounds['gradient'] - 1)} for `gradient`):",
            "",
            measured_table,
            "",
            "Same chunks and seeds, so the model does not depend on P: bit-identical "
            "coefficients at P = 1, 2, 4 for "
            + ", ".join(f"{s} {'yes' if same[s] else '**no**'}" for s in CONFIGS)
            + ".",
            "",
            "How the model reaches the workers (median of 3; the copies are counted from "
            "the workers' transfer logs):",
            "",
            pattern_table,
            "",
            gather_line,
            "",
            "Memory per worker (peak resident set, after all the fits above):",
            "",
            memory_table,
            "",
            f"Fitted: peak ≈ {base_mib:.0f} MiB + {factor:.2f} × the data per worker.",
            "",
            f"Rounds to accuracy (P = 2, the same {n_rows:,} rows cut into K chunks): "
            f"held-out accuracy / hinge loss after r rounds of `average` on {len(test[1]):,} "
            f"rows, against {target:.4f} / {target_loss:.3f} for a single-machine "
            "`LinearSVM(standardize=False)` fit to convergence (its default solver) on the "
            "same rows:",
            "",
            sweep_table,
            "",
            gradient_line,
        ]
    )

    # Extrapolation.
    node = max(P for P in WORKERS if P <= cores)
    assumption_lines = [
        f"every link carries {LINK * 8 / 1e9:g} Gbit/s, and a Dask process moves no faster "
        "than measured here on loopback: a copy of the model at β = "
        f"{min(LINK, loopback) / 2**20:,.0f} MiB/s, a result at β_r = "
        f"{min(LINK, results_rate) / 2**20:,.0f} MiB/s; copies on different links do not "
        "slow each other, and no other traffic shares the links",
        f"the scheduler's and driver's overhead stays a + b·K as measured here (a = "
        f"{overhead['average'][0] * 1e3:.1f} / {overhead['gradient'][0] * 1e3:.1f} ms, b = "
        f"{overhead['average'][1] * 1e3:.2f} / {overhead['gradient'][1] * 1e3:.2f} ms per "
        "chunk for average / gradient, fitted over P = 1, 2, 4): the per-task cost does not "
        "grow with P (measured here, b = "
        + "; ".join(
            f"{s} " + ", ".join(f"{overhead_by_p[s, P][1] * 1e3:.2f}" for P in WORKERS)
            for s in CONFIGS
        )
        + " ms at P = 1, 2, 4; a larger cluster's scheduler does more bookkeeping per task "
        "and per worker)",
        "one chunk per worker (K = P), one thread and one dedicated core per worker (L = S = "
        "0: the driver and the scheduler run on other machines, no other users), "
        f"each computing at the rate c_{node} measured here with {node} workers computing at "
        "once (every core of a node busy); the large model's rate measured in one process "
        f"on a {512 if quick else 2048:,}-row chunk of C = 100, D = 10,000",
        f"a chunk's time varies with coefficient of variation v = {variation:.3f}, "
        "independently across workers: the round waits for the slowest of P, "
        "v·E[max of P normals] above the mean (no worker systematically slower, no "
        "failures)",
        "the model spreads in waves, each holder serving at most "
        f"{fan_out} workers at once (Dask's incoming-connection limit); measured here only "
        "up to P = 4, where all copies came from one worker",
        "rounds to accuracy depend on the rows per chunk, not on K itself: `average` takes "
        "the rounds measured with the largest chunk here that is not larger than the "
        "extrapolated one (fewer rows per chunk need more rounds), `gradient` (exact "
        "full-batch steps, independent of K and P) the rounds measured at K = 8; the same "
        "rounds for the large model, whose accuracy was not measured, and the problem as "
        "hard as this synthetic one",
        f"memory per worker = {base_mib:.0f} MiB + {factor:.2f} × its share of X and y "
        "(fitted above); the driver holds K models for `average` (K·M·4 bytes)",
        "no recovery: a lost worker costs its chunks' recomputation and a rerun of the "
        "round, not counted",
    ]
    ext_rows = []
    rounds_grad = sweep["gradient", CHUNKS]["rounds"]

    def rounds_avg(chunk_rows: float) -> int | None:
        fits = [K for K in sweep_ks if n_rows // K <= chunk_rows] or [max(sweep_ks)]
        return sweep["average", min(fits)]["rounds"]

    for C, D, N in TARGET_MODELS:
        rate = per_row[node] if D == n_features else large
        big_inputs = cost_model.Inputs(
            cores=float("inf"),
            overhead=overhead,
            per_row=rate,
            variation=variation,
            bandwidth=min(LINK, loopback),
            gather_bandwidth=min(LINK, results_rate),
            fan_out=fan_out,
            mix=mix,
        )
        for strategy in CONFIGS:
            for P in TARGET_WORKERS:
                needed = rounds_avg(N / P) if strategy == "average" else rounds_grad
                t = cost_model.round_time(
                    big_inputs,
                    strategy=strategy,
                    n_workers=P,
                    n_chunks=P,
                    n_rows=N,
                    n_classes=C,
                    n_features=D,
                )
                network = t["broadcast"] + t["returns"]
                memory = base_mib + factor * N * (D * ITEMSIZE + 8) / P / 2**20
                ext_rows.append(
                    [
                        f"C={C}, D={D:,}, N={N:,}",
                        strategy,
                        P,
                        f"{memory / 1024:,.1f} GiB",
                        fmt_s(t["total"]),
                        f"{t['compute'] / t['total']:.0%} / {t['overhead'] / t['total']:.0%} / "
                        f"{network / t['total']:.0%}",
                        "?" if needed is None else f"{needed}",
                        "?" if needed is None else fmt_s(needed * t["total"]),
                    ]
                )
    ext_table = common.md_table(
        [
            "model (N rows)",
            "strategy",
            "P",
            "memory per worker",
            "s / round",
            "compute / overhead / transfers",
            "rounds to accuracy (assumed)",
            "time to accuracy",
        ],
        ext_rows,
        align="llrrrrrr",
    )
    traffic = round_traffic(TARGET_MODELS[1][0], TARGET_MODELS[1][1], 512, 512)
    paths = cost_model.message_bytes(
        TARGET_MODELS[1][0], TARGET_MODELS[1][1], 512, 512, strategy="average"
    )
    ext_body = "\n".join(
        [
            "**Extrapolated, not measured**: the model above with the inputs measured in "
            "this run, for 64 and 512 workers. Assumptions:",
            "",
            *(f"- {line}" for line in assumption_lines),
            "",
            ext_table,
            "",
            "For the large model at P = 512, `round_traffic` counts "
            f"{traffic['to_workers'] / 2**30:.2f} GiB sent to the workers as if the driver "
            f"sent P copies; Dask's driver sends {paths['driver_to_scheduler'] / 2**20:.1f} MiB "
            f"once, and {paths['between_workers'] / 2**30:.2f} GiB moves between workers; "
            f"the {paths['workers_to_scheduler'] / 2**30:.2f} GiB of `average`'s K models "
            "crosses the scheduler twice (in, then out to the driver).",
        ]
    )
    print("\n" + local_body + "\n\n" + ext_body)
    outside = {k: v for k, v in ratios.items() if not 1 / 1.3 <= v <= 1.3}
    print(
        f"\nload average at start {load_start}, at end {load_end}; ratios outside 30 %: "
        f"{outside or 'none'}"
    )
    if args.write:
        replace_section("local", local_body)
        replace_section("extrapolation", ext_body)
        print(f"\nsections 'local' and 'extrapolation' written to {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
