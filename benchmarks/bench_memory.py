"""Peak memory of fitting and scoring, each measured in a fresh subprocess.

Fit: ``LinearSVM(max_epochs=1, tol=None, batch_size=256).fit(X, y)`` on a C-contiguous X
of 49,000 × 3072 (float32, 602 MB; and float64), with ``copy_X=True`` and ``False`` and
both shuffle modes (``True``: permute once into the training copy; ``"full"``: a new
permutation every epoch, batches gathered). Score: ``decision_function`` on 10⁶ rows of
784 float32 features (3.1 GB; and float64).

Each measurement runs in its own Python process: it creates X, resets the kernel's
resident-set high-water mark (``/proc/self/clear_refs``), reads
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (KiB on Linux), runs the call, reads it
again; the difference is the peak extra memory of the call. For scoring, a second process
measures the peak of NumPy allocations with ``tracemalloc`` as a cross-check. The fit times
of the shuffle modes are recorded too (one epoch including the one-time setup). Evaluates
targets 4 and 5.

Run: ``python benchmarks/bench_memory.py [--quick] [--write]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import common

common.reexec_without_openblas_vars()

MiB = 2**20
C = 10
FIT_BUDGET = 100 * MiB
PREDICT_BUDGET = 64 * MiB


def _reset_peak() -> bool:
    """Reset the RSS high-water mark (Linux ≥ 4.0); False when not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def _maxrss() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child(spec: dict) -> dict:
    """Runs in the subprocess: one measurement, returned as a dict (printed as JSON)."""
    import warnings

    import numpy as np

    from linclf import LinearSVM

    rng = np.random.default_rng(0)
    dtype = np.dtype(spec["dtype"])
    # standard_normal writes straight into an array of the requested dtype: no temporary.
    X = rng.standard_normal((spec["n"], spec["d"]), dtype=dtype)
    y = rng.integers(0, C, spec["n"])
    out = {"nbytes": X.nbytes, "nbytes_f32": X.size * 4}
    if spec["kind"] == "fit":
        clf = LinearSVM(
            max_epochs=1,
            tol=None,
            batch_size=256,
            copy_X=spec["copy_X"],
            shuffle=spec["shuffle"],
            random_state=0,
        )
        call = lambda: clf.fit(X, y)  # noqa: E731
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf = LinearSVM(max_epochs=1, tol=None, batch_size=256, random_state=0)
            clf.fit(X[:5000], y[:5000])
        call = lambda: clf.decision_function(X)  # noqa: E731
        out["output_nbytes"] = spec["n"] * C * 4
    if spec.get("tracemalloc"):
        import tracemalloc

        tracemalloc.start()
        start = time.perf_counter()
        result = call()
        out["seconds"] = time.perf_counter() - start
        out["traced_peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    else:
        out["reset"] = _reset_peak()
        before = _maxrss()
        start = time.perf_counter()
        result = call()
        out["seconds"] = time.perf_counter() - start
        out["extra"] = _maxrss() - before
    del result
    return out


def run_child(spec: dict) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child {spec} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def specs(quick: bool) -> tuple[list[dict], list[dict]]:
    n, d = (10_000, 3072) if quick else (49_000, 3072)
    fits = [
        {"kind": "fit", "dtype": dtype, "copy_X": copy_X, "shuffle": shuffle, "n": n, "d": d}
        for dtype in ("float32", "float64")
        for copy_X in (True, False)
        for shuffle in (True, "full")
    ]
    n_pred = 100_000 if quick else 1_000_000
    predicts = [
        {"kind": "predict", "dtype": dtype, "n": n_pred, "d": 784, "tracemalloc": traced}
        for dtype in ("float32", "float64")
        for traced in (False, True)
    ]
    return fits, predicts


def measure(quick: bool) -> dict:
    fits, predicts = specs(quick)
    rounds = 1 if quick else 2
    load = common.LoadLog(patient=not quick)
    results = {json.dumps(s): [] for s in fits + predicts}
    for r in range(rounds):
        todo = fits + predicts
        k = r % len(todo)
        for spec in todo[k:] + todo[:k]:
            results[json.dumps(spec)].append(load.run(lambda s=spec: run_child(s)))
            print(f"  round {r + 1}: {spec}: {results[json.dumps(spec)][-1]}", flush=True)
    return {"fits": fits, "predicts": predicts, "results": results, "load": load}


def mib(nbytes: float) -> str:
    return f"{nbytes / MiB:,.0f} MiB"


def render(result: dict, quick: bool) -> tuple[str, list[common.TargetResult]]:
    res = result["results"]
    fit_rows, fit_ok, worst = [], [], []
    for spec in result["fits"]:
        runs = res[json.dumps(spec)]
        extra = max(run["extra"] for run in runs)  # the worst round
        nbytes, nbytes_f32 = runs[0]["nbytes"], runs[0]["nbytes_f32"]
        budget = (nbytes_f32 if spec["copy_X"] else 0) + FIT_BUDGET
        ok = extra <= budget
        fit_ok.append(ok)
        over_copy = extra - (nbytes_f32 if spec["copy_X"] else 0)
        worst.append((over_copy, spec))
        seconds = common.Timing([run["seconds"] for run in runs])
        fit_rows.append(
            (
                spec["dtype"],
                mib(nbytes),
                str(spec["copy_X"]),
                repr(spec["shuffle"]),
                mib(extra),
                f"{over_copy / MiB:+,.0f} MiB",
                mib(budget),
                "yes" if ok else "**no**",
                seconds.fmt(1.0, "s"),
            )
        )
    n_fit, d_fit = result["fits"][0]["n"], result["fits"][0]["d"]
    lines = [
        f"Fit: `LinearSVM(max_epochs=1, tol=None, batch_size=256)` on X of {n_fit:,} × "
        f"{d_fit} (C-contiguous), {C} classes. 'extra' is the peak resident memory of the "
        "fit above the resident memory just before it (X included in neither); 'beyond "
        "the copy' subtracts one float32 copy of X where copy_X=True. Budget: one float32 "
        "copy (copy_X=True only) + 100 MiB. Fit time: one epoch including the one-time "
        f"setup, median of {len(res[json.dumps(result['fits'][0])])} runs; "
        f"{result['load'].summary()}.",
        "",
        common.md_table(
            (
                "X dtype",
                "bytes(X)",
                "copy_X",
                "shuffle",
                "extra (peak)",
                "beyond the float32 copy",
                "budget",
                "within",
                "fit time",
            ),
            fit_rows,
            align="lrllrrrlr",
        ),
        "",
    ]
    pred_rows = []
    pred_extra = {}
    for spec in result["predicts"]:
        runs = res[json.dumps(spec)]
        out_bytes = runs[0]["output_nbytes"]
        if spec["tracemalloc"]:
            extra = max(run["traced_peak"] for run in runs) - out_bytes
            how = "tracemalloc peak − output"
        else:
            extra = max(run["extra"] for run in runs) - out_bytes
            how = "ru_maxrss increase − output"
        pred_extra[spec["dtype"], spec["tracemalloc"]] = extra
        pred_rows.append(
            (
                spec["dtype"],
                f"{spec['n']:,} × {spec['d']}",
                mib(runs[0]["nbytes"]),
                mib(out_bytes),
                how,
                f"{extra / MiB:,.1f} MiB",
                "yes" if extra <= PREDICT_BUDGET else "**no**",
                common.Timing([run["seconds"] for run in runs]).fmt(1.0, "s"),
            )
        )
    lines += [
        "Scoring: `decision_function(X)` of a fitted model; extra memory beyond the "
        "(N, C) float32 output, budget 64 MiB:",
        "",
        common.md_table(
            ("X dtype", "X shape", "bytes(X)", "output", "measured by", "extra", "within", "time"),
            pred_rows,
            align="llrrlrlr",
        ),
        "",
    ]
    worst_fit = max(worst, key=lambda w: w[0])
    t4 = common.TargetResult(
        4,
        f"largest extra beyond the float32 copy: {worst_fit[0] / MiB:+,.0f} MiB "
        f"({worst_fit[1]['dtype']}, copy_X={worst_fit[1]['copy_X']}, "
        f"shuffle={worst_fit[1]['shuffle']!r}); all {len(fit_ok)} cases within budget: "
        f"{'yes' if all(fit_ok) else 'no'}",
        all(fit_ok),
    )
    worst_pred = max(pred_extra.values())
    n_pred = result["predicts"][0]["n"]
    t5 = common.TargetResult(
        5,
        f"{n_pred:,} rows: at most {worst_pred / MiB:,.1f} MiB beyond the output "
        f"(float32 X: {pred_extra['float32', False] / MiB:,.1f} MiB by ru_maxrss, "
        f"{pred_extra['float32', True] / MiB:,.1f} MiB by tracemalloc)",
        worst_pred <= PREDICT_BUDGET,
    )
    targets = [t4, t5]
    for t in targets:
        lines.append(f"- Target {t.number}: {t.measured}: {t.verdict}")
    if quick:
        lines.insert(0, "**Quick smoke run (`--quick`): small X, 1 round.**\n")
    return "\n".join(lines), targets


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small arrays, one round")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    header = common.machine_report("bench_memory.py", argv)
    print("\n".join(header), flush=True)
    body, targets = render(measure(args.quick), args.quick)
    common.publish("memory", header, body, targets, args.write)


if __name__ == "__main__":
    main()
