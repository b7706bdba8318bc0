"""The main job, end to end on the bundled 8x8 digits (``linclf demo``, ``python -m linclf``).

Split the digits 80/20 (seeded), standardize with the training split's statistics, check the
gradient of ``svm_loss`` numerically, train a :class:`~linclf.LinearSVM`, report the held-out
accuracy and the times, and, with matplotlib, save the loss curve and class templates as PNG.
"""

from __future__ import annotations

import os
import time
from typing import Any, TextIO

import numpy as np

from ._engine.compiled import kernel_info
from .datasets import load_digits
from .estimator import LinearSVM
from .gradcheck import check_gradient
from .objective import svm_loss

__all__ = ["run_demo", "split_and_standardize"]


def split_and_standardize(
    X: np.ndarray, y: np.ndarray, *, test_fraction: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Seeded random split, then z-scores with the training split's statistics.

    Constant training columns (std 0) are divided by 1, not 0.

    Returns
    -------
    X_train, X_test, y_train, y_test
    """
    order = np.random.default_rng(seed).permutation(X.shape[0])
    n_test = round(test_fraction * X.shape[0])
    test, train = order[:n_test], order[n_test:]
    mean, std = X[train].mean(axis=0), X[train].std(axis=0)
    std[std == 0] = 1.0
    return (X[train] - mean) / std, (X[test] - mean) / std, y[train], y[test]


def run_demo(
    *,
    seed: int = 0,
    out: TextIO | None = None,
    figures_dir: str | os.PathLike | None = "linclf-demo",
) -> float:
    """Run the demo, printing to ``out`` (stdout by default); returns held-out accuracy.

    With matplotlib installed, ``loss_curve.png`` and ``templates.png`` are written to
    ``figures_dir`` (created if needed; ``None`` skips them).
    """

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    started = time.perf_counter()
    X, y = load_digits()
    X_train, X_test, y_train, y_test = split_and_standardize(X, y, seed=seed)
    say(
        f"digits: {X.shape[0]} images of {X.shape[1]} pixels, {np.unique(y).size} classes; "
        f"{X_train.shape[0]} for training, {X_test.shape[0]} held out"
    )

    say("\n1. gradient check of svm_loss (float64, 200 training rows, reg=0.1)")
    W, b = 0.01 * np.random.default_rng(seed).standard_normal((10, X.shape[1])), np.zeros(10)
    reg, Xs, ys = 0.1, X_train[:200], y_train[:200]
    loss, dW, db = svm_loss(W, b, Xs, ys, reg)
    t0 = time.perf_counter()
    for name, param, grad in (("W", W, dW), ("b", b, db)):
        result = check_gradient(lambda _: svm_loss(W, b, Xs, ys, reg)[0], param, grad, seed=seed)
        worst = max(result.worst, key=lambda entry: entry.abs_error)
        say(
            f"   d loss / d {name}: {'passed' if result.passed else 'FAILED'} on "
            f"{result.n_checked} entries ({result.n_kinks} at hinge kinks set aside); largest "
            f"|numeric - analytic| {worst.abs_error:.1e} at {worst.index}"
        )
    say(f"   loss at the random start: {loss:.4f}  ({time.perf_counter() - t0:.2f} s)")

    say("\n2. training LinearSVM (float32, minibatch SGD with momentum)")
    t0 = time.perf_counter()
    clf = LinearSVM(solver="sgd", random_state=seed, verbose=1).fit(X_train, y_train)
    say(f"   {clf.n_iter_} epochs in {time.perf_counter() - t0:.2f} s; steps on {kernel_info()}")
    accuracy = clf.score(X_test, y_test)
    t0 = time.perf_counter()
    default = LinearSVM().fit(X_train, y_train)  # the defaults: docs/solvers.md
    say(
        f"   LinearSVM() at its defaults (solver={default.solver_!r}, reg={default.reg_:.2g}): "
        f"held-out accuracy {default.score(X_test, y_test):.4f} in "
        f"{time.perf_counter() - t0:.2f} s"
    )

    say("\n3. result")
    say(f"   training accuracy: {clf.score(X_train, y_train):.4f}")
    say(f"   held-out accuracy: {accuracy:.4f}  (chance: {1 / np.unique(y).size:.2f})")
    say(f"   total time: {time.perf_counter() - started:.2f} s")
    if figures_dir is not None:
        _save_figures(clf, X_train, figures_dir, say)
    return accuracy


def _save_figures(clf: LinearSVM, X_train: np.ndarray, folder: Any, say: Any) -> None:
    try:
        import matplotlib
    except ImportError:
        say("\n(install matplotlib, or linclf[plot], to also get the figures)")
        return
    matplotlib.use("Agg")  # files only: no window, no display needed
    import matplotlib.pyplot as plt

    from .plot import loss_curve, templates

    os.makedirs(folder, exist_ok=True)
    loss_curve(clf).figure.savefig(os.path.join(folder, "loss_curve.png"), dpi=100)
    templates(clf, (8, 8)).savefig(os.path.join(folder, "templates.png"), dpi=100)
    plt.close("all")
    say(f"\n4. figures: loss_curve.png and templates.png in {folder}")
