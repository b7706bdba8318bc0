"""Reading a large numeric CSV: linclf's reader against ``pandas.read_csv`` (issue 13, item 6).

The file: 200,000 rows × 100 float columns (``%.7f`` of standard normal draws) and an
integer label column, about 210 MB, written once to a temporary folder. Contenders:

* ``pandas.read_csv(path).to_numpy(np.float64)``, the baseline (all 101 columns);
* ``linclf.datasets.read_csv_table(path, "label")`` with ``engine="pandas"`` (what the
  command line does for a file this large when pandas is installed) and with
  ``engine="numpy"`` (the NumPy-only reader, the reference).

Each read runs in a fresh child process, which imports NumPy, pandas and linclf first and
then reads its resident memory (``VmRSS``); its peak extra memory is ``VmHWM`` after the
read minus that. Rounds rotate the order of the contenders; the table gives the median
wall time and peak of the rounds, and the ratios to pandas. The bar: at most 2× pandas'
time and 2× its peak memory.

Run: ``python benchmarks/bench_csv.py [--rounds N] [--rows N] [--write]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common

common.reexec_without_openblas_vars()

CONTENDERS = {
    "pandas": "`pandas.read_csv(path).to_numpy(np.float64)`",
    "linclf-pandas": "linclf `read_csv_table(path, 'label', engine='pandas')`",
    "linclf-numpy": "linclf `read_csv_table(path, 'label', engine='numpy')` (NumPy only)",
}
BAR = 2.0


def _status(field: str) -> int:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(field + ":"))
    return int(line.split()[1]) * 1024


def child(name: str, path: str) -> dict:
    """Runs in the subprocess: one read, its wall time and peak extra memory."""
    import numpy as np
    import pandas

    from linclf.datasets.files import read_csv_table

    baseline = _status("VmRSS")
    started = time.perf_counter()
    if name == "pandas":
        X = pandas.read_csv(path).to_numpy(np.float64)
        engine = "pandas"
    else:
        table = read_csv_table(path, "label", engine=name.split("-")[1])
        X, engine = table.X, table.engine
    seconds = time.perf_counter() - started
    peak = _status("VmHWM") - baseline
    return {"seconds": seconds, "peak": peak, "shape": list(X.shape), "engine": engine}


def write_file(path: Path, rows: int, columns: int = 100) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    header = ",".join([f"f{j}" for j in range(columns)] + ["label"])
    with open(path, "w") as fh:
        fh.write(header + "\n")
        for start in range(0, rows, 10_000):
            n = min(10_000, rows - start)
            block = np.column_stack([rng.standard_normal((n, columns)), rng.integers(0, 10, n)])
            np.savetxt(fh, block, fmt=["%.7f"] * columns + ["%d"], delimiter=",")


def measure(path: Path, rounds: int) -> dict[str, list[dict]]:
    results: dict[str, list[dict]] = {name: [] for name in CONTENDERS}
    names = list(CONTENDERS)
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            out = subprocess.run(
                [sys.executable, __file__, "--child", name, str(path)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            results[name].append(json.loads(out.splitlines()[-1]))
            print(f"  round {r + 1}: {name}: {results[name][-1]}", flush=True)
    return results


def render(results: dict[str, list[dict]], path: Path, rows: int, load: str) -> tuple[str, bool]:
    median = {
        name: (
            statistics.median(r["seconds"] for r in runs),
            statistics.median(r["peak"] for r in runs),
        )
        for name, runs in results.items()
    }
    base_time, base_peak = median["pandas"]
    table, met = [], True
    for name, (seconds, peak) in median.items():
        time_ratio, peak_ratio = seconds / base_time, peak / base_peak
        if name == "linclf-pandas":
            met = time_ratio <= BAR and peak_ratio <= BAR
        table.append(
            [
                CONTENDERS[name],
                f"{seconds:.2f} s",
                f"{time_ratio:.2f}×",
                f"{peak / 2**20:.0f} MiB",
                f"{peak_ratio:.2f}×",
                results[name][0]["engine"],
            ]
        )
    size = path.stat().st_size
    lines = [
        *common.machine_report("bench_csv.py", sys.argv[1:]),
        f"- pandas {common.package_version('pandas')}; the readers use no BLAS: pandas' C "
        "parser and NumPy's `loadtxt` parse on one thread",
        "",
        f"File: {rows:,} rows × 100 float columns (`%.7f`) + an integer label, "
        f"{size / 1e6:.0f} MB, in the page cache. Each read in a fresh process after its "
        "imports; peak extra = VmHWM after the read − VmRSS before it; median of "
        f"{len(next(iter(results.values())))} rounds (order rotated). Load average during "
        f"the run: {load}. The X of linclf is C-contiguous float64 (the 100 features); "
        "pandas' array holds all 101 columns.",
        "",
        common.md_table(
            ["reader", "time", "× pandas", "peak extra memory", "× pandas", "engine used"],
            table,
        ),
        "",
        f"Bar (issue 13): linclf's reader at most {BAR:g}× pandas' time and memory: "
        f"{'met' if met else 'not met'} with pandas installed (the default for files of "
        "4 MB and more). The NumPy-only reader is the fallback without pandas, and the "
        "reference the pandas path is tested against.",
    ]
    return "\n".join(lines), met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument("--child", nargs=2, metavar=("NAME", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "numbers.csv"
        write_file(path, args.rows)
        started = [f"{x:.2f}" for x in os.getloadavg()]
        results = measure(path, args.rounds)
        ended = [f"{x:.2f}" for x in os.getloadavg()]
        text, met = render(results, path, args.rows, f"{started[0]} → {ended[0]} (1 min)")
    print(text)
    print(f"bar: {'met' if met else 'NOT met'}")
    if args.write:
        common.write_section("csv", text)
        print(f"\nwritten to {common.DOC}")


if __name__ == "__main__":
    main()
