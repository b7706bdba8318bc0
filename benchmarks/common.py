"""Shared helpers of the benchmark scripts: clean BLAS environment, machine report, timing,
and the marked sections of ``docs/benchmarks.md``.

Not a benchmark itself. Every script calls :func:`reexec_without_openblas_vars` before it
imports NumPy, which is why this module imports NumPy only inside the functions that need
it.

* :func:`reexec_without_openblas_vars`: ``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE`` (which
  may be set on this machine and slow a current OpenBLAS) are read when NumPy loads
  OpenBLAS, so a script restarts itself once without them.
* :func:`machine_report`: CPU, caches, cores, package versions, the BLAS libraries loaded
  (from threadpoolctl) and their threads, the OpenBLAS variables removed, the load.
* :func:`interleave`: times several contenders round-robin (rotating who goes first), so
  that a burst of load from other users of the machine hits all of them alike;
  :class:`Timing` keeps every repeat and reports the median with the minimum.
* :func:`read_times` and :func:`sgemm_gflops`: the machine's limits (time to read an array
  once; square SGEMM throughput).
* :func:`write_section` and :func:`update_targets`: each script rewrites only its own
  ``<!-- begin: NAME -->`` … ``<!-- end: NAME -->`` section, and its rows of the table of
  targets.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"

OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
# Set in the restarted process: what was removed, for the report.
_UNSET_MARK = "LINCLF_BENCH_UNSET"


def reexec_without_openblas_vars() -> None:
    """Restart this script without ``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE``.

    Must run before NumPy is imported: OpenBLAS reads them when it is loaded. The new
    process has neither variable, so it never restarts again; subprocesses it starts
    inherit the clean environment.
    """
    found = {k: os.environ[k] for k in OPENBLAS_VARS if k in os.environ}
    if not found:
        return
    if "numpy" in sys.modules:
        raise RuntimeError("reexec_without_openblas_vars() must run before NumPy is imported")
    env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_VARS}
    env[_UNSET_MARK] = ", ".join(f"{k}={v}" for k, v in found.items())
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, *sys.argv], env)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def _cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _caches() -> str:
    parts = []
    base = Path("/sys/devices/system/cpu/cpu0/cache")
    for index in sorted(base.glob("index*")):
        try:
            level = (index / "level").read_text().strip()
            kind = (index / "type").read_text().strip()
            size = (index / "size").read_text().strip()
        except OSError:
            continue
        if kind != "Instruction":
            parts.append(f"L{level} {size}")
    return ", ".join(parts) or "unknown"


def _mem_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def package_version(name: str) -> str | None:
    """Installed version of a distribution, without importing it (None when absent)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def blas_report() -> str:
    """The BLAS libraries loaded in this process, as threadpoolctl sees them."""
    import numpy  # noqa: F401  (threadpoolctl only sees the libraries already loaded)

    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    if not infos:
        return "none found by threadpoolctl"
    return "; ".join(
        f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}, "
        f"{i.get('threading_layer')}, {i.get('num_threads')} threads, "
        f"{Path(i.get('filepath', '?')).name})"
        for i in infos
    )


def machine_report(script: str, argv: Sequence[str] | None = None) -> list[str]:
    """Markdown lines describing the machine, the software and how to reproduce the run."""
    argv = sys.argv[1:] if argv is None else argv
    flags = _cpu_flags()
    versions = ", ".join(
        f"{name} {v}"
        for name in ("numpy", "scipy", "linclf", "threadpoolctl", "scikit-learn", "torch")
        if (v := package_version(name))
    )
    removed = os.environ.get(_UNSET_MARK)
    env_note = (
        f"removed for the run by re-exec (were {removed})"
        if removed
        else "not set (the scripts re-exec without them when they are)"
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    try:
        n_affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        n_affinity = os.cpu_count()
    command = " ".join(["python", f"benchmarks/{script}", *argv])
    return [
        f"- Run: `{command}` on {time.strftime('%Y-%m-%d %H:%M %Z')}",
        f"- CPU: {_cpu_model()}, {os.cpu_count()} logical cores ({n_affinity} usable), "
        f"AVX-512 {'yes' if 'avx512f' in flags else 'no'}; caches {_caches()}; "
        f"RAM {_mem_total()}",
        f"- Python {sys.version.split()[0]}; {versions}",
        f"- BLAS: {blas_report()}",
        f"- `OPENBLAS_CORETYPE` / `OPENBLAS_L2_SIZE`: {env_note}",
        "- Threads: each measurement sets the BLAS threads with "
        "`threadpoolctl.threadpool_limits(n, user_api='blas')`, as its table says",
        f"- Load average at start (1, 5, 15 min): {load} (the machine is shared)",
    ]


@dataclass
class Timing:
    """Wall times (seconds) of the repeats of one measurement: median first, then min."""

    times: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def min(self) -> float:
        return min(self.times)

    def fmt(self, scale: float = 1e3, unit: str = "ms") -> str:
        return f"{fmt_num(self.median * scale)} {unit} (min {fmt_num(self.min * scale)})"


def fmt_num(x: float) -> str:
    """Three significant digits, no exponent for the usual ranges."""
    if x == 0 or not (x == x):
        return str(x)
    magnitude = abs(x)
    if magnitude >= 100:
        return f"{x:,.0f}"
    if magnitude >= 10:
        return f"{x:.1f}"
    if magnitude >= 1:
        return f"{x:.2f}"
    if magnitude >= 0.01:
        return f"{x:.3f}"
    return f"{x:.2e}"


def time_call(fn: Callable[[], object], number: int = 1) -> float:
    """Seconds per call of ``fn``, averaged over ``number`` consecutive calls."""
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def interleave(
    contenders: Mapping[str, Callable[[], object]],
    repeats: int,
    *,
    number: int = 1,
    warmup: int = 1,
) -> dict[str, Timing]:
    """Time each contender ``repeats`` times, round-robin.

    Each round calls every contender once (``number`` calls, averaged); the order rotates
    from round to round so that none always runs first or right after a given other one.
    """
    names = list(contenders)
    for _ in range(warmup):
        for name in names:
            contenders[name]()
    result = {name: Timing() for name in names}
    for r in range(repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            result[name].times.append(time_call(contenders[name], number))
    return result


def _cpu_seconds_all() -> float | None:
    """Busy CPU seconds of the whole machine since boot (all cores), from /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    ticks = [int(x) for x in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _cpu_seconds_mine() -> float:
    import resource

    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def other_load(interval: float = 0.5) -> float | None:
    """Cores kept busy by other processes over the next ``interval`` seconds (we sleep)."""
    start = _cpu_seconds_all()
    if start is None:
        return None
    time.sleep(interval)
    return max(0.0, (_cpu_seconds_all() - start) / interval)


class LoadMonitor:
    """Measures how many cores *other* processes used while the block ran.

    ``with LoadMonitor() as m: ...`` then ``m.others``: (machine busy CPU seconds − this
    process's and its waited children's CPU seconds) / wall seconds. ``None`` without
    /proc/stat.
    """

    def __enter__(self) -> LoadMonitor:
        self._all, self._mine, self._t = _cpu_seconds_all(), _cpu_seconds_mine(), time.time()
        self.others: float | None = None
        return self

    def __exit__(self, *exc: object) -> None:
        end_all = _cpu_seconds_all()
        if self._all is None or end_all is None:
            return
        wall = max(time.time() - self._t, 1e-9)
        spent = (end_all - self._all) - (_cpu_seconds_mine() - self._mine)
        self.others = max(0.0, spent / wall)


def wait_for_quiet(threshold: float = 0.3, max_wait: float = 30.0) -> float | None:
    """Wait (up to ``max_wait`` s) until other processes use under ``threshold`` cores.

    Returns the last load seen. The machine is shared: a test suite running beside a
    2-thread measurement leaves it one core, which makes 2-thread timings meaningless.
    """
    deadline = time.time() + max_wait
    load = other_load()
    while load is not None and load > threshold and time.time() < deadline:
        time.sleep(2.0)
        load = other_load()
    return load


@dataclass
class LoadLog:
    """Other processes' CPU use over the measured blocks of a script (in cores).

    ``patient=False`` (the ``--quick`` runs) only records the load: no waiting, no redo.
    """

    patient: bool = True
    max_wait: float = 30.0
    values: list[float] = field(default_factory=list)

    def run(self, fn: Callable[[], object], *, retries: int = 1, threshold: float = 0.35):
        """Run ``fn`` after waiting for quiet; redo it (up to ``retries``) if others were busy.

        Keeps the result of the attempt with the least load from other processes.
        """
        best = None
        for _ in range(retries + 1 if self.patient else 1):
            if self.patient:
                wait_for_quiet(max_wait=self.max_wait)
            with LoadMonitor() as monitor:
                result = fn()
            load = monitor.others if monitor.others is not None else 0.0
            if best is None or load < best[0]:
                best = (load, result)
            if load <= threshold:
                break
        self.values.append(best[0])
        return best[1]

    def summary(self) -> str:
        if not self.values:
            return "not measured"
        mean = sum(self.values) / len(self.values)
        how = (
            f"each started once the machine was quiet (or after {self.max_wait:.0f} s) and "
            "redone once when others were busy"
            if self.patient
            else "measured without waiting for a quiet machine"
        )
        return (
            f"other processes used {mean:.2f} cores on average (at most {max(self.values):.2f}) "
            f"during the {len(self.values)} measured blocks, {how}"
        )


def read_times(X, threads: int, repeats: int) -> dict[str, Timing]:
    """Time to read ``X`` once: ``np.add.reduce`` (always one thread) and a BLAS gemv.

    The gemv ``X @ v`` runs with ``threads`` BLAS threads; both stream every byte of X
    once, so ``X.nbytes / time`` is a read bandwidth.
    """
    import numpy as np
    from threadpoolctl import threadpool_limits

    v = np.ones(X.shape[1], dtype=X.dtype)
    with threadpool_limits(threads, user_api="blas"):
        return interleave(
            {
                "reduce (1 thread)": lambda: np.add.reduce(X, axis=None),
                f"gemv X @ v ({threads} thread{'s' if threads > 1 else ''})": lambda: X @ v,
            },
            repeats,
        )


def sgemm_gflops(threads: int, repeats: int, n: int = 2048) -> Timing:
    """Square float32 GEMM ``A @ A`` (n × n) with ``threads`` BLAS threads: seconds."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    A = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    with threadpool_limits(threads, user_api="blas"):
        return interleave({"sgemm": lambda: A @ A}, repeats)["sgemm"]


def md_table(headers: Sequence[str], rows: Sequence[Sequence[object]], align: str = "") -> str:
    """A Markdown table; ``align`` has one letter per column, ``l`` or ``r`` (default r)."""
    align = align or "l" + "r" * (len(headers) - 1)
    rule = ["---" if a == "l" else "---:" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(rule) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


TARGETS = {
    1: "kernel: `svm_loss` at B=1024 ≤ 0.8× textbook and ≤ 2.5× the one-pass floor; "
    "at B=256 ≤ 0.75× textbook (2 threads)",
    2: "epoch: one `LinearSVM` epoch (batch 256, N=49,000) ≤ 4× the time to read X once, "
    "≥ 12× faster than `SGDClassifier` per epoch, at equal or better held-out accuracy",
    3: "threads: 2-thread epoch ≤ 0.75× the 1-thread epoch",
    4: "fit memory: copy_X=True ≤ bytes(float32 copy of X) + 100 MiB extra; "
    "copy_X=False ≤ 100 MiB extra",
    5: "predict memory: `decision_function` on 10⁶ rows ≤ 64 MiB beyond the (N, C) output",
}

_TARGET_WHERE = {1: "kernels", 2: "epoch", 3: "epoch", 4: "memory", 5: "memory"}

_SKELETON = """# Benchmarks

Measurements of linclf's batched CPU core side by side with textbook NumPy code,
scikit-learn and PyTorch, and against the machine's limits (memory read bandwidth, SGEMM
peak). The machine is shared and noisy: compare the ratios measured within one run, not
seconds across runs. Each section below is rewritten by the script named in it;
`python benchmarks/run_all.py --write` rewrites them all (`--quick` for a smoke run).

<!-- begin: header -->
<!-- end: header -->

## Targets

<!-- begin: targets -->
{targets}
<!-- end: targets -->

## Kernels

<!-- begin: kernels -->
Not measured yet: `python benchmarks/bench_kernels.py --write`.
<!-- end: kernels -->

## Epoch

<!-- begin: epoch -->
Not measured yet: `python benchmarks/bench_epoch.py --write`.
<!-- end: epoch -->

## Memory

<!-- begin: memory -->
Not measured yet: `python benchmarks/bench_memory.py --write`.
<!-- end: memory -->

## Scaling

<!-- begin: scaling -->
Not measured yet: `python benchmarks/bench_scaling.py --write`.
<!-- end: scaling -->
"""

_TARGET_HEADERS = ("#", "target (from the issue)", "measured", "verdict", "details")


def _targets_table(rows: Mapping[int, Sequence[str]]) -> str:
    return md_table(_TARGET_HEADERS, [rows[k] for k in sorted(rows)], align="rllll")


def _default_target_rows() -> dict[int, list[str]]:
    return {
        k: [str(k), text, "not measured yet", "—", f"[{_TARGET_WHERE[k]}](#{_TARGET_WHERE[k]})"]
        for k, text in TARGETS.items()
    }


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- begin: {name} -->", f"<!-- end: {name} -->"


def _read_doc(path: Path) -> str:
    """The text of ``path``; for docs/benchmarks.md without sections, the skeleton (other
    pages, such as docs/solvers.md, only have their sections replaced)."""
    text = path.read_text() if path.exists() else ""
    if path == DOC and _markers("header")[0] not in text:
        # An older, unsectioned file: start from the skeleton.
        text = _SKELETON.format(targets=_targets_table(_default_target_rows()))
    return text


def write_section(name: str, body: str, path: Path = DOC) -> None:
    """Replace the body of section ``name`` of ``path`` (appended if it has none)."""
    text = _read_doc(path)
    begin, end = _markers(name)
    block = f"{begin}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip() + f"\n\n## {name.capitalize()}\n\n{block}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def write_header_if_empty(lines: Sequence[str], path: Path = DOC) -> None:
    """Fill the header section when no run of ``run_all.py`` has written one."""
    if not read_section("header", path).strip():
        write_section("header", "\n".join(lines), path)


def read_section(name: str, path: Path = DOC) -> str:
    begin, end = _markers(name)
    match = re.search(re.escape(begin) + r"\n?(.*?)" + re.escape(end), _read_doc(path), re.DOTALL)
    return match.group(1) if match else ""


@dataclass
class TargetResult:
    """One target's verdict: the measured value (text) and whether it is met."""

    number: int
    measured: str
    met: bool | None  # None: not evaluated (e.g. a contender is not installed)

    @property
    def verdict(self) -> str:
        return {True: "met", False: "**not met**", None: "not evaluated"}[self.met]


def update_targets(results: Sequence[TargetResult], path: Path = DOC) -> None:
    """Rewrite the rows of these targets in the targets table, keeping the other rows."""
    rows = _default_target_rows()
    for line in read_section("targets", path).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == len(_TARGET_HEADERS) and cells[0].isdigit() and int(cells[0]) in rows:
            rows[int(cells[0])] = cells
    for r in results:
        where = _TARGET_WHERE[r.number]
        rows[r.number] = [
            str(r.number),
            TARGETS[r.number],
            r.measured.replace("|", "/"),
            r.verdict,
            f"[{where}](#{where})",
        ]
    write_section("targets", _targets_table(rows), path)


def print_targets(results: Sequence[TargetResult]) -> None:
    for r in results:
        print(f"target {r.number}: {r.verdict.strip('*')}: {r.measured}")


def publish(
    section: str, header: Sequence[str], body: str, targets: Sequence[TargetResult], write: bool
) -> None:
    """Print a script's results and targets; with ``write``, record them in the doc."""
    text = "\n".join(header) + "\n\n" + body
    print(body)
    print_targets(targets)
    if write:
        write_section(section, text)
        write_header_if_empty(header)
        update_targets(targets)
        print(f"\nwritten to {DOC}")
