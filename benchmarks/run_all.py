"""Run every benchmark script in turn, each in its own process, and record the suite.

Runs ``bench_kernels.py``, ``bench_epoch.py``, ``bench_memory.py`` and
``bench_scaling.py`` (in that order, one after the other so they never compete for the two
cores), passing ``--quick`` and ``--write`` through. With ``--write`` each script rewrites
its own section of ``docs/benchmarks.md`` and its rows of the targets table, and this
script rewrites the header: machine, BLAS, thread settings, date, the command and the
suite's total runtime.

Run: ``python benchmarks/run_all.py [--quick] [--write] [--only NAME ...]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import common

common.reexec_without_openblas_vars()

SCRIPTS = ("bench_kernels.py", "bench_epoch.py", "bench_memory.py", "bench_scaling.py")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fast smoke run of every script")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument(
        "--only", nargs="+", choices=SCRIPTS, default=SCRIPTS, help="run only these scripts"
    )
    args = parser.parse_args(argv)
    flags = [f for f, on in (("--quick", args.quick), ("--write", args.write)) if on]
    header = common.machine_report("run_all.py", sys.argv[1:] if argv is None else argv)
    print("\n".join(header), flush=True)
    here = Path(__file__).resolve().parent
    started = time.perf_counter()
    durations = {}
    failed = []
    for script in args.only:
        print(f"\n=== {script} {' '.join(flags)}", flush=True)
        t0 = time.perf_counter()
        code = subprocess.call([sys.executable, str(here / script), *flags])
        durations[script] = time.perf_counter() - t0
        if code != 0:
            failed.append(script)
            print(f"=== {script} failed with exit code {code}", flush=True)
    total = time.perf_counter() - started
    timing = ", ".join(f"{name} {seconds / 60:.1f} min" for name, seconds in durations.items())
    summary = f"- Suite runtime: {total / 60:.1f} min ({timing})"
    print(f"\n{summary}")
    if args.write and not failed:
        common.write_section("header", "\n".join([*header, summary]))
        print(f"\nheader written to {common.DOC}")
    print("\n" + common.read_section("targets").strip())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
