"""Untrusted files have bounded cost (issue 12, class 1; docs/reliability.md).

Every crafted file of tests/crafted_files.py (at most 10 MB) is refused with its message
through each entry point that reads it, in process; then all of them again in one child
process, which measures what the refusals cost: at most 256 MB above the memory the
child had after a first good run of every command, and at most 2 s of CPU time each.
CPU time, not wall time: the bound is on the work a file causes, which a loaded machine
does not change (the suite also runs with both cores busy).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import linclf
from crafted_files import CRAFTED, LIMIT
from linclf import ModelFileError
from linclf.cli import main
from linclf.datasets.files import DataFileError, read_data, read_labels

MEMORY_LIMIT = 256 << 20  # bytes above the child's baseline
TIME_LIMIT = 2.0  # CPU seconds per refusal


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """The crafted files, a good model (4 features) and good data for it."""
    path = tmp_path_factory.mktemp("crafted")
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 4)), np.arange(60) % 3
    np.savez(path / "good.npz", X=X, y=y)
    # The same data as svmlight and CSV: warm-ups of those readers' lazy imports.
    lines = (
        f"{c} " + " ".join(f"{j + 1}:{v!r}" for j, v in enumerate(x.tolist()))
        for x, c in zip(X, y, strict=True)
    )
    (path / "good.svm").write_text("\n".join(lines) + "\n")
    rows = (",".join(map(repr, [*x, c])) for x, c in zip(X.tolist(), y.tolist(), strict=True))
    (path / "good.csv").write_text("a,b,c,d,label\n" + "\n".join(rows) + "\n")
    model = linclf.LinearSVM(random_state=0).fit(X, y)
    model.save(path / "good.model")
    written = {name: write(path) for name, write in CRAFTED.items()}
    return path, {name: (str(p), patterns) for name, (p, patterns) in written.items()}


def calls(folder) -> list[tuple[str, str, list[str], str]]:
    """(case, entry point, argv or path, regex) for every crafted file and entry point."""
    path, crafted = folder
    model, data, out = str(path / "good.model"), str(path / "good.npz"), str(path / "out")
    found = []
    for name, (file, patterns) in crafted.items():
        if "model" in patterns:
            found.append((name, "linclf.load", [file], patterns["model"]))
            found.append((name, "predict MODEL", ["predict", file, data], patterns["model"]))
            found.append((name, "evaluate MODEL", ["evaluate", file, data], patterns["model"]))
        target = ["--target", "label"] if file.endswith(".csv") else []
        found.append((name, "train", ["train", file, "-o", out, *target], patterns["data"]))
        width = patterns.get("width", patterns["data"])
        found.append((name, "predict DATA", ["predict", model, file], width))
        found.append((name, "evaluate DATA", ["evaluate", model, file, *target], width))
    return found


def test_every_crafted_file_is_small():
    assert LIMIT == 10 * 1000 * 1000 and len(CRAFTED) >= 9


def test_each_crafted_file_is_refused_with_its_reason(folder, capsys):
    for name, entry, argv, pattern in calls(folder):
        if entry == "linclf.load":
            with pytest.raises(ModelFileError, match=pattern):
                linclf.load(argv[0])
            continue
        assert main(argv) == 1, (name, entry)
        error = " ".join(capsys.readouterr().err.split())
        assert error.startswith("linclf: error:") and re.search(pattern, error), (name, entry)


def test_the_budget_refuses_what_it_must_and_a_stated_one_reads_it(folder, tmp_path):
    _, crafted = folder
    bomb, _ = crafted["npz: 300 MB of zeros deflated to 300 KB"]
    with pytest.raises(DataFileError, match="raise the budget"):
        read_data(bomb)
    # 8 MB of float64 from a few KB: within the default budget, beyond a stated 2 MB.
    np.savez_compressed(tmp_path / "zeros.npz", X=np.zeros((2000, 500), np.uint8))
    with pytest.raises(DataFileError, match=r"takes 8 MB as float64, beyond the 2 MB"):
        read_data(tmp_path / "zeros.npz", max_bytes=2 * 10**6)
    X = read_data(tmp_path / "zeros.npz").X
    assert X.dtype == np.float64 and X.shape == (2000, 500) and not X.any()
    index, _ = crafted["svmlight: feature index 2,000,000,000 in 20 bytes"]
    X = read_data(index, n_features=2_000_000_000).X  # the width, stated, is accepted
    assert X.shape == (1, 2_000_000_000) and X.nnz == 2


def test_a_labels_file_costs_a_few_bytes_per_line(tmp_path):
    # 5 million labels: one int64 each, and the distinct lines once.
    path = tmp_path / "labels.txt"
    path.write_bytes(b"1\n2\n" * 2_500_000)
    y = read_labels(path)
    assert y.dtype == np.int64 and y.shape == (5_000_000,) and y[:4].tolist() == [1, 2, 1, 2]


CHILD = textwrap.dedent(
    """
    import contextlib, io, json, resource, sys, time
    import linclf
    from linclf.cli import main

    def high_water():
        # This process image's peak resident memory. Not ru_maxrss: Linux carries that
        # over exec from the forked parent (pytest, which may be far larger).
        with open("/proc/self/status") as status:
            line = next(line for line in status if line.startswith("VmHWM:"))
        return int(line.split()[1]) * 1024

    def run(entry, argv):
        out, err = io.StringIO(), io.StringIO()
        if entry == "read":  # the reference reader on a valid file
            from linclf.datasets.csvfile import read_csv_table
            from linclf.datasets.svmlight import read_svmlight

            svm = argv[0].endswith(".svm")
            read_svmlight(argv[0]) if svm else read_csv_table(argv[0], "label", engine="numpy")
            return "accepted"
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            if entry == "linclf.load":
                try:
                    linclf.load(argv[0])
                except linclf.ModelFileError as exc:
                    return str(exc)
                return "accepted"
            return err.getvalue() if main(argv) == 1 else "accepted"

    good, cases, twins = json.loads(sys.argv[1])
    for entry, argv in good:  # every code path and lazy import, before the baseline
        assert run(entry, argv) == "accepted" or entry == "linclf.load", (entry, run(entry, argv))
    # The resident memory now (not the peak so far): growth counts what the warm-up
    # freed again too, so it can only overstate what a refusal allocated.
    with open("/proc/self/statm") as statm:
        baseline = int(statm.read().split()[1]) * resource.getpagesize()
    results = []
    for entry, argv in cases:
        start = time.process_time()
        message = run(entry, argv)
        peak = high_water()
        results.append([time.process_time() - start, peak - baseline, " ".join(message.split())])
    for result, twin in zip(results, twins):  # after: their memory is not the refusals'
        start = time.process_time()
        if twin is not None:
            assert run(*twin) == "accepted", twin
        result.append(time.process_time() - start if twin is not None else None)
    print(json.dumps(results))
    """
)


@pytest.mark.slow  # 57 calls in a child process, measured
@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux's /proc")
def test_refusing_a_crafted_file_costs_at_most_256_mb_and_2_cpu_seconds(folder):
    path, _ = folder
    model, data = str(path / "good.model"), str(path / "good.npz")
    good = [
        ("linclf.load", [model]),
        ("train", ["train", data, "-o", str(path / "warm.model")]),
        ("train", ["train", str(path / "good.svm"), "-o", str(path / "warm.model")]),
        (
            "train",
            ["train", str(path / "good.csv"), "--target", "label", "-o", str(path / "warm.model")],
        ),
        ("predict", ["predict", model, data, "-o", str(path / "warm.txt")]),
        ("evaluate", ["evaluate", model, data]),
    ]
    found = calls(folder)
    cases = [(entry, argv) for _, entry, argv, _ in found]
    twins = [_twin(entry, argv) for entry, argv in cases]
    assert sum(twin is not None for twin in twins) == 4  # svmlight: train; CSV: all 3
    child = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps([good, cases, twins])],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
    )
    assert child.returncode == 0, child.stderr[-3000:]
    results = json.loads(child.stdout.strip().splitlines()[-1])
    # The peak so far after each call: the first call that breaks the limit is named.
    # CPU seconds vary with what shares the machine's cores (measured 1.3 s alone, 2.5 s
    # in a CI run, for the same svmlight refusal): a refusal of a 10 MB text file with a
    # bad last line may also take up to 1.5 times a read of the file without it by the
    # reference reader (which words errors: no pandas), measured in the same child, so a
    # pathological refusal fails and a busy host does not. (The CSV refusals took 1.2-2.0
    # s here, 4 times pandas' read of the valid file, which a bad row declines.)
    for (name, entry, _, pattern), result in zip(found, results, strict=True):
        seconds, growth, message, twin_seconds = result
        assert re.search(pattern, message), (name, entry, message)
        limit = TIME_LIMIT if twin_seconds is None else max(TIME_LIMIT, 1.5 * twin_seconds)
        assert seconds <= limit, (name, entry, seconds, twin_seconds)
        assert growth <= MEMORY_LIMIT, (name, entry, growth)


def _twin(entry, argv):
    """``("read", [path])``: the reference reader on the crafted text file's valid twin
    (its bad last line cut), for the 10 MB text files whose call reads them whole and then
    refuses; else None."""
    files = [a for a in argv if a.endswith(("long.svm", "long.csv")) and Path(a).exists()]
    if not files or (entry != "train" and files[0].endswith(".svm")):
        return None  # predict and evaluate refuse the svmlight file at its first line
    twin = files[0] + ".twin" + Path(files[0]).suffix
    if not Path(twin).exists():
        text = Path(files[0]).read_bytes()
        Path(twin).write_bytes(text[: text.rstrip(b"\n").rfind(b"\n") + 1])
    return "read", [twin]
