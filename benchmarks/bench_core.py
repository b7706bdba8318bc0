"""Loss+gradient kernels and one training epoch, side by side in one run.

Compares, on CIFAR-shaped float32 data (D = 3072, C = 10):

* the machine's floor: time to read X once, and square-GEMM throughput;
* the textbook vectorized SVM loss+gradient (written here, CS231n style) as the baseline;
* ``linclf.svm_loss`` (public: validation + composition of the graph nodes);
* ``LinearObjective.loss_grad`` (the batched core's fused step with reused buffers);
* one ``LinearSVM`` epoch (batch 256) against the time to read X once, and
  scikit-learn's ``SGDClassifier(loss="hinge")`` epoch when it is installed.

Prints a table of ratios (this machine is shared and noisy: compare ratios, not seconds)
and, with ``--write``, records it in ``docs/benchmarks.md``.

Run: ``python benchmarks/bench_core.py [--quick] [--write]``.
"""

from __future__ import annotations

import os
import sys

# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE slow a current OpenBLAS on this machine; unset them
# for this process only (re-exec, since they are read when NumPy loads OpenBLAS).
if any(k in os.environ for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")) and not os.environ.get(
    "LINCLF_BENCH_CHILD"
):
    env = {
        k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    }
    env["LINCLF_BENCH_CHILD"] = "1"
    os.execve(sys.executable, [sys.executable, *sys.argv], env)

import argparse
import platform
import time
import warnings
from pathlib import Path

import numpy as np

import linclf
from linclf import LinearObjective, LinearSVM, svm_loss

D, C = 3072, 10
REG = 1e-4


def textbook_svm_loss(W, b, X, y, reg):
    """The classic vectorized loss+gradient (CS231n's ``svm_loss_vectorized``), as baseline."""
    n = X.shape[0]
    scores = X.dot(W.T) + b
    correct = scores[np.arange(n), y][:, None]
    margins = np.maximum(0, scores - correct + 1.0)
    margins[np.arange(n), y] = 0
    loss = margins.sum() / n + reg * np.sum(W * W)
    binary = (margins > 0).astype(X.dtype)
    binary[np.arange(n), y] = -binary.sum(axis=1)
    dW = binary.T.dot(X) / n + 2 * reg * W
    db = binary.sum(axis=0) / n
    return loss, dW, db


def best_time(fn, repeats):
    """Minimum wall time of ``repeats`` calls (the least disturbed by other load)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def blas_info():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed", None
    infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    if not infos:
        return "no BLAS found by threadpoolctl", None
    i = infos[0]
    return (
        f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}), "
        f"{i.get('num_threads')} threads",
        i.get("num_threads"),
    )


def run(quick):
    rng = np.random.default_rng(0)
    repeats = 5 if quick else 20
    n_epoch = 10_000 if quick else 49_000
    rows = []

    X_full = rng.standard_normal((n_epoch, D), dtype=np.float32)
    y_full = rng.integers(0, C, n_epoch)
    read_once = best_time(lambda: np.add.reduce(X_full, axis=None), repeats)
    A = rng.standard_normal((2048, 2048), dtype=np.float32)
    gemm = best_time(lambda: A @ A, repeats)
    gflops = 2 * 2048**3 / gemm / 1e9
    rows.append((f"read X once (N={n_epoch:,}, {X_full.nbytes / 1e6:.0f} MB)", read_once, "floor"))
    rows.append((f"square SGEMM 2048: {gflops:.0f} GFLOP/s", gemm, ""))

    W = 0.01 * rng.standard_normal((C, D), dtype=np.float32)
    b = np.zeros(C, dtype=np.float32)
    kernel_rows = []
    for B in (256, 1024):
        X = X_full[:B]
        y = y_full[:B]
        objective = LinearObjective("hinge", reg=REG)
        params = {"W": W, "b": b}
        t_text = best_time(lambda X=X, y=y: textbook_svm_loss(W, b, X, y, REG), repeats * 5)
        t_public = best_time(lambda X=X, y=y: svm_loss(W, b, X, y, REG), repeats * 5)
        t_core = best_time(
            lambda X=X, y=y, o=objective, p=params: o.loss_grad(p, X, y), repeats * 5
        )
        G = np.ones((B, C), dtype=np.float32)
        t_products = best_time(lambda X=X, G=G: (X @ W.T, G.T @ X), repeats * 5)
        floor = 2 * B * D * C * 2 / (gflops * 1e9) + read_once * B / n_epoch
        kernel_rows.append((B, t_text, t_public, t_core, t_products, floor))

    clf = LinearSVM(batch_size=256, max_epochs=3, tol=None, random_state=0)
    t0 = time.perf_counter()
    clf.fit(X_full, y_full)
    epoch = (time.perf_counter() - t0) / 3

    sk_epoch = None
    try:
        from sklearn.linear_model import SGDClassifier
    except ImportError:
        pass
    else:
        n_sk = min(n_epoch, 10_000)
        sk = SGDClassifier(loss="hinge", max_iter=1, tol=None, n_jobs=2, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            sk.fit(X_full[:n_sk], y_full[:n_sk])
            sk_epoch = (time.perf_counter() - t0) * n_epoch / n_sk
    return rows, kernel_rows, read_once, epoch, sk_epoch, n_epoch


def render(rows, kernel_rows, read_once, epoch, sk_epoch, n_epoch, blas):
    lines = [
        "## Loss+gradient kernels (float32, D = 3072, C = 10)",
        "",
        "Ratios are to the textbook vectorized kernel of the same run (lower is faster).",
        "",
        "| batch | textbook | `svm_loss` (public) | core fused step | two products only "
        "| one-pass floor |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for B, t_text, t_public, t_core, t_products, floor in kernel_rows:
        lines.append(
            f"| {B} | 1.00 ({t_text * 1e3:.2f} ms) | {t_public / t_text:.2f} "
            f"| {t_core / t_text:.2f} "
            f"| {t_products / t_text:.2f} | {floor / t_text:.2f} |"
        )
    lines += [
        "",
        f"## One training epoch (N = {n_epoch:,}, batch 256, float32)",
        "",
        "| what | time / read-X-once |",
        "|---|---:|",
        f"| read X once | 1.00 ({read_once * 1e3:.1f} ms) |",
        f"| `LinearSVM` epoch | {epoch / read_once:.1f} |",
    ]
    if sk_epoch is not None:
        lines.append(
            "| scikit-learn `SGDClassifier(loss='hinge', n_jobs=2)` epoch "
            f"(extrapolated from 10,000 rows) "
            f"| {sk_epoch / read_once:.1f} |"
        )
    lines += [
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"NumPy {np.__version__}; BLAS: {blas}; linclf {linclf.__version__}.",
    ]
    for label, seconds, _ in rows[1:]:
        lines.append(f"{label} ({seconds * 1e3:.1f} ms).")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller N and fewer repeats")
    parser.add_argument(
        "--write", action="store_true", help="record the table in docs/benchmarks.md"
    )
    args = parser.parse_args()
    blas, _ = blas_info()
    table = render(*run(args.quick), blas)
    print(table)
    if args.write:
        path = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
        header = (
            "# Benchmarks\n\nWritten by `python benchmarks/bench_core.py --write` "
            f"on {time.strftime('%Y-%m-%d')}; OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset "
            "for the run.\n\n"
        )
        path.write_text(header + table + "\n")
        print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
