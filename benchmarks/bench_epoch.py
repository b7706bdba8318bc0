"""Training epochs on CIFAR-shaped synthetic data: linclf against its peers, equal epochs.

Data: N = 49,000 training and 10,000 held-out rows, D = 3072 float32 features, C = 10
classes: class means drawn in a random 32-dimensional subspace plus isotropic Gaussian
noise, then per-feature offsets and scales, then standardized with the training means and
standard deviations (a linear model reaches about 85 % held-out accuracy). Every
contender trains for the same number of epochs (5) with batch 256:

* linclf ``Trainer`` (the engine under ``LinearSVM``) with ``shuffle=True`` (permute once,
  shuffle the batch order), ``shuffle="full"`` (new permutation and gathered batches every
  epoch) and ``copy_X=False``; each at 1 and 2 BLAS threads (``threadpool_limits`` around
  the fit and ``n_threads=None`` so linclf does not override it) and with the default
  ``n_threads="auto"``; plus ``LinearSVM.fit`` itself (default threads);
* the textbook minibatch loop (``X[idx]`` per batch, textbook loss, momentum) at 1 and 2
  threads;
* scikit-learn ``SGDClassifier(loss="hinge", n_jobs=2)``, one ``partial_fit`` per epoch;
* PyTorch (``nn.Linear`` + ``nn.MultiMarginLoss`` × C, autograd, ``optim.SGD`` with
  momentum, ``X[idx]`` per batch of 256) at 1 and 2 threads, when torch is installed.

Epoch times exclude one-time setup (reported separately) and are medians over all epochs of
all rounds; the rounds interleave the contenders. Also compares linclf's shuffle modes on
the same data sorted by class. Evaluates targets 2 and 3.

Run: ``python benchmarks/bench_epoch.py [--quick] [--write]``.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
import warnings

import common

common.reexec_without_openblas_vars()

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from linclf import SGD, LinearObjective, LinearSVM, Trainer  # noqa: E402
from textbook import TextbookSGD  # noqa: E402

D, C = 3072, 10
BATCH = 256
MOMENTUM = 0.9
SUBSPACE, SEPARATION = 32, 0.55
# Candidate hyperparameters, each contender's chosen on a validation split of the training
# rows (never on the held-out rows): linclf's (learning_rate, reg), also used by the textbook
# loop and PyTorch (same objective and update), and scikit-learn's alpha.
LINCLF_GRID = [
    (lr, reg) for lr in (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2) for reg in (1e-4, 1e-3, 1e-2)
]
ALPHA_GRID = (1e-5, 1e-4, 1e-3, 1e-2)
VALIDATION_ROWS = 9_000


def make_data(n_train: int, n_test: int, seed: int = 0):
    """Standardized float32 (X, y, X_test, y_test) with linearly learnable classes."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.standard_normal((D, SUBSPACE)))[0]
    means = (SEPARATION * rng.standard_normal((C, SUBSPACE)) @ basis.T).astype(np.float32)
    n = n_train + n_test
    y = rng.integers(0, C, n)
    X = rng.standard_normal((n, D), dtype=np.float32)
    X += means[y]
    # Raw features on different scales and offsets, as real data has them...
    X *= rng.lognormal(0.0, 1.0, D).astype(np.float32)
    X += rng.normal(0.0, 5.0, D).astype(np.float32)
    # ...standardized with the training rows' statistics.
    mean = X[:n_train].mean(axis=0, dtype=np.float64)
    std = X[:n_train].std(axis=0, dtype=np.float64)
    X -= mean.astype(np.float32)
    X /= std.astype(np.float32)
    return X[:n_train].copy(), y[:n_train], X[n_train:].copy(), y[n_train:]


def accuracy(S: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(S, axis=1) == y))


class Run:
    """One contender's fit: per-epoch seconds, setup seconds, held-out accuracy."""

    def __init__(self, epochs: list[float], setup: float | None, acc: float) -> None:
        self.epochs, self.setup, self.acc = epochs, setup, acc


def fit_trainer(data, epochs, hp, *, shuffle=True, copy_X=True, threads=None, n_threads=None):
    """linclf's Trainer; ``threads`` limits the BLAS around the fit (None: leave it)."""
    X, y, X_test, y_test = data
    learning_rate, reg = hp
    params = {"W": np.zeros((C, D), np.float32), "b": np.zeros(C, np.float32)}
    seconds = []
    trainer = Trainer(
        LinearObjective("hinge", reg=reg),
        SGD(learning_rate, momentum=MOMENTUM),
        batch_size=BATCH,
        max_epochs=epochs,
        tol=None,
        random_state=0,
        shuffle=shuffle,
        copy_X=copy_X,
        n_threads=n_threads,
        callbacks=[lambda _, log: seconds.append(log["seconds"])],
    )
    with threadpool_limits(threads, user_api="blas"):
        start = time.perf_counter()
        trainer.fit(params, X, y)
        total = time.perf_counter() - start
    acc = accuracy(X_test @ params["W"].T + params["b"], y_test)
    return Run(seconds, total - sum(seconds), acc)


def fit_linearsvm(data, epochs, hp):
    X, y, X_test, y_test = data
    clf = LinearSVM(
        learning_rate=hp[0],
        reg=hp[1],
        momentum=MOMENTUM,
        batch_size=BATCH,
        max_epochs=epochs,
        tol=None,
        random_state=0,
    )
    start = time.perf_counter()
    clf.fit(X, y)
    total = time.perf_counter() - start
    return Run([total / epochs], None, clf.score(X_test, y_test))


def fit_textbook(data, epochs, hp, threads):
    X, y, X_test, y_test = data
    model = TextbookSGD(C, D, learning_rate=hp[0], reg=hp[1], momentum=MOMENTUM)
    seconds = []
    with threadpool_limits(threads, user_api="blas"):
        for _ in range(epochs):
            start = time.perf_counter()
            model.epoch(X, y)
            seconds.append(time.perf_counter() - start)
    return Run(seconds, None, accuracy(model.scores(X_test), y_test))


def fit_sklearn(data, epochs, alpha):
    from sklearn.linear_model import SGDClassifier

    X, y, X_test, y_test = data
    clf = SGDClassifier(loss="hinge", alpha=alpha, n_jobs=2, random_state=0)
    classes = np.arange(C)
    seconds = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(epochs):
            start = time.perf_counter()
            clf.partial_fit(X, y, classes=classes)
            seconds.append(time.perf_counter() - start)
    return Run(seconds, None, clf.score(X_test, y_test))


def fit_torch(data, epochs, hp, threads):
    import torch

    X, y, X_test, y_test = data
    learning_rate, reg = hp
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    start = time.perf_counter()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    model = torch.nn.Linear(D, C)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)
    # MultiMarginLoss averages the Weston–Watkins sum over the C classes: × C restores it.
    criterion = torch.nn.MultiMarginLoss(margin=1.0)
    # reg·‖W‖² has gradient 2·reg·W: weight decay 2·reg on W only, as in linclf.
    optimizer = torch.optim.SGD(
        [
            {"params": [model.weight], "weight_decay": 2 * reg},
            {"params": [model.bias], "weight_decay": 0.0},
        ],
        lr=learning_rate,
        momentum=MOMENTUM,
    )
    generator = torch.Generator().manual_seed(0)
    setup = time.perf_counter() - start
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(Xt.shape[0], generator=generator)
        for first in range(0, Xt.shape[0], BATCH):
            idx = order[first : first + BATCH]
            optimizer.zero_grad(set_to_none=True)
            loss = C * criterion(model(Xt[idx]), yt[idx])
            loss.backward()
            optimizer.step()
        seconds.append(time.perf_counter() - start)
    with torch.no_grad():
        S = model(torch.from_numpy(X_test)).numpy()
    return Run(seconds, setup, accuracy(S, y_test))


def core_breakdown(data, hp, threads, repeats):
    """One epoch's worth of bare core steps (contiguous batches), to see where time goes."""
    X, y, _, _ = data
    n_batches = math.ceil(X.shape[0] / BATCH)
    objective = LinearObjective("hinge", reg=hp[1])
    optimizer = SGD(hp[0], momentum=MOMENTUM)
    params = {"W": np.zeros((C, D), np.float32), "b": np.zeros(C, np.float32)}
    order = np.random.default_rng(0).permutation(n_batches)

    def loss_grad_only():
        for k in order:
            objective.loss_grad(
                params, X[k * BATCH : (k + 1) * BATCH], y[k * BATCH : (k + 1) * BATCH]
            )

    def with_step():
        for k in order:
            _, grads = objective.loss_grad(
                params, X[k * BATCH : (k + 1) * BATCH], y[k * BATCH : (k + 1) * BATCH]
            )
            optimizer.step(params, grads)

    with threadpool_limits(threads, user_api="blas"):
        return common.interleave(
            {"loss_grad": loss_grad_only, "loss_grad + SGD step": with_step}, repeats
        )


def touch_fresh(X) -> None:
    """Write a fresh array of X's size: the first-touch page faults a training copy pays."""
    fresh = np.empty_like(X)
    fresh.fill(1.0)


def select(data, epochs, quick):
    """Each contender's hyperparameters, by accuracy on the last training rows after training
    the same epochs on the others (ties: the first in the grid)."""
    X, y = data[0], data[1]
    n_val = min(VALIDATION_ROWS, X.shape[0] // 5)
    split = (X[:-n_val], y[:-n_val], X[-n_val:], y[-n_val:])
    grid = [(1e-3, 1e-4), (1e-3, 1e-3)] if quick else LINCLF_GRID
    # copy_X=False gives the same model as the default without a training copy.
    scores = {hp: fit_trainer(split, epochs, hp, copy_X=False, n_threads="auto").acc for hp in grid}
    chosen = {
        "linclf": max(grid, key=lambda hp: scores[hp]),
        "linclf_scores": scores,
        "validation_rows": n_val,
    }
    if common.package_version("scikit-learn"):
        alphas = (1e-3,) if quick else ALPHA_GRID
        sk = {a: fit_sklearn(split, epochs, a).acc for a in alphas}
        chosen["alpha"] = max(alphas, key=lambda a: sk[a])
        chosen["alpha_scores"] = sk
    return chosen


def contenders(data, epochs, chosen):
    hp = chosen["linclf"]
    out = {}
    for label, kwargs in (
        ("shuffle=True", {}),
        ('shuffle="full"', {"shuffle": "full"}),
        ("shuffle=True, copy_X=False", {"copy_X": False}),
    ):
        for threads, n_threads, tag in ((1, None, "1 thread"), (2, None, "2 threads")):
            out[f"linclf {label}, {tag}"] = lambda kw=kwargs, t=threads, nt=n_threads: fit_trainer(
                data, epochs, hp, threads=t, n_threads=nt, **kw
            )
        out[f'linclf {label}, n_threads="auto"'] = lambda kw=kwargs: fit_trainer(
            data, epochs, hp, n_threads="auto", **kw
        )
    out["linclf LinearSVM.fit (total / epochs)"] = lambda: fit_linearsvm(data, epochs, hp)
    for threads in (1, 2):
        out[f"textbook loop, {threads} thread{'s' * (threads > 1)}"] = lambda t=threads: (
            fit_textbook(data, epochs, hp, t)
        )
    if common.package_version("scikit-learn"):
        out["scikit-learn SGDClassifier, n_jobs=2"] = lambda: fit_sklearn(
            data, epochs, chosen["alpha"]
        )
    if common.package_version("torch"):
        for threads in (1, 2):
            out[f"PyTorch, {threads} thread{'s' * (threads > 1)}"] = lambda t=threads: fit_torch(
                data, epochs, hp, t
            )
    return out


DEFAULT = 'linclf shuffle=True, n_threads="auto"'
ONE, TWO = "linclf shuffle=True, 1 thread", "linclf shuffle=True, 2 threads"
SKLEARN = "scikit-learn SGDClassifier, n_jobs=2"


def measure(quick: bool) -> dict:
    epochs = 2 if quick else 5
    rounds = 1 if quick else 3
    n_train, n_test = (8_000, 2_000) if quick else (49_000, 10_000)
    data = make_data(n_train, n_test)
    load = common.LoadLog(patient=not quick)
    reads = {
        t: load.run(lambda t=t: common.read_times(data[0], t, 5 if quick else 15)) for t in (1, 2)
    }
    chosen = select(data, epochs, quick)
    print(f"  chosen: {chosen}", flush=True)
    first_touch = load.run(lambda: common.interleave({"t": lambda: touch_fresh(data[0])}, 3)["t"])
    fits = contenders(data, epochs, chosen)
    runs = {name: [] for name in fits}
    names = list(fits)
    for r in range(rounds):
        k = (r * 5) % len(names)
        for name in names[k:] + names[:k]:
            runs[name].append(load.run(fits[name]))
            print(
                f"  round {r + 1}: {name}: {statistics.median(runs[name][-1].epochs):.3f} s/epoch",
                flush=True,
            )
    hp = chosen["linclf"]
    breakdown = {
        t: load.run(lambda t=t: core_breakdown(data, hp, t, 3 if quick else 7)) for t in (1, 2)
    }
    order = np.argsort(data[1], kind="stable")
    sorted_data = (data[0][order], data[1][order], data[2], data[3])
    sorted_runs = {
        mode: load.run(
            lambda m=mode: fit_trainer(sorted_data, epochs, hp, shuffle=m, n_threads="auto")
        )
        for mode in (True, "full", False)
    }
    return {
        "epochs": epochs,
        "rounds": rounds,
        "n_train": n_train,
        "n_test": n_test,
        "nbytes": data[0].nbytes,
        "reads": reads,
        "runs": runs,
        "breakdown": breakdown,
        "sorted": sorted_runs,
        "chosen": chosen,
        "first_touch": first_touch,
        "load": load,
    }


def summarize(runs: list[Run]) -> dict:
    epochs = [s for run in runs for s in run.epochs]
    setups = [run.setup for run in runs if run.setup is not None]
    return {
        "epoch": common.Timing(epochs),
        "setup": common.Timing(setups) if setups else None,
        "acc": runs[-1].acc,
    }


def edge_note(chosen: dict) -> str:
    """Say so when a chosen value lies on the edge of its grid (a better one may lie beyond)."""
    notes = []
    rates = sorted({lr for lr, _ in chosen["linclf_scores"]})
    if len(rates) > 1 and chosen["linclf"][0] in (rates[0], rates[-1]):
        notes.append(
            f"linclf's chosen learning_rate {chosen['linclf'][0]:g} is at the edge of the grid "
            "(a value beyond it may do better: this can only understate linclf's accuracy)"
        )
    alphas = sorted(chosen.get("alpha_scores", ()))
    if len(alphas) > 1 and chosen["alpha"] in (alphas[0], alphas[-1]):
        notes.append(
            f"scikit-learn's chosen alpha {chosen['alpha']:g} is at the edge of its grid "
            "(a value beyond it may do better)"
        )
    return "".join(f"Note: {n}. " for n in notes)


def render(result: dict, quick: bool) -> tuple[str, list[common.TargetResult]]:
    reads = {t: min(r.values(), key=lambda x: x.median) for t, r in result["reads"].items()}
    read_best = min(reads.values(), key=lambda x: x.median)
    read_1 = result["reads"][1]["reduce (1 thread)"]
    summary = {name: summarize(runs) for name, runs in result["runs"].items()}
    n_test = result["n_test"]
    chosen = result["chosen"]
    lr, reg = chosen["linclf"]
    grid = ", ".join(
        f"{a:g}/{b:g}: {100 * acc:.1f}" for (a, b), acc in chosen["linclf_scores"].items()
    )
    sk_text = (
        f"scikit-learn: alpha = {chosen['alpha']:g} (validation accuracy "
        + ", ".join(f"{a:g}: {100 * acc:.1f} %" for a, acc in chosen["alpha_scores"].items())
        + "), otherwise its defaults (learning_rate='optimal', one-vs-rest, shuffle)."
        if "alpha" in chosen
        else "scikit-learn is not installed."
    )
    lines = [
        f"Synthetic CIFAR-shaped data: N = {result['n_train']:,} training rows "
        f"({result['nbytes'] / 1e6:.0f} MB float32), {n_test:,} held-out rows, D = {D}, "
        f"C = {C}. Every contender: {result['epochs']} epochs, batch {BATCH} (scikit-learn: "
        "per-sample updates), zero initial weights. Hyperparameters were chosen per "
        f"contender by accuracy on the last {chosen['validation_rows']:,} training rows after "
        f"{result['epochs']} epochs on the others (never on the held-out rows): linclf, "
        f"the textbook loop and PyTorch (the same objective and update) use "
        f"learning_rate = {lr:g}, reg = {reg:g} (L2 on W only), momentum {MOMENTUM} "
        f"(validation accuracy % for learning_rate/reg: {grid}); {sk_text} "
        f"{edge_note(chosen)}"
        f"{result['rounds']} interleaved rounds; {result['load'].summary()}.",
        "",
        "Time to read X once (the floor of an epoch that touches every row once):",
        "",
        common.md_table(
            ("BLAS threads", "reader", "time", "bandwidth"),
            [
                (t, name, tm.fmt(), f"{result['nbytes'] / tm.median / 1e9:.1f} GB/s")
                for t, r in result["reads"].items()
                for name, tm in r.items()
            ],
        ),
        "",
        f"'read X once' below is the fastest of these: {read_best.fmt()}.",
        "",
    ]
    rows = []
    for name, s in summary.items():
        setup = "—" if s["setup"] is None else s["setup"].fmt(1.0, "s")
        rows.append(
            (
                name,
                s["epoch"].fmt(1.0, "s"),
                setup,
                f"{s['epoch'].median / read_best.median:.1f}",
                f"{s['epoch'].median / summary[DEFAULT]['epoch'].median:.2f}",
                f"{100 * s['acc']:.2f} %",
            )
        )
    lines += [
        common.md_table(
            (
                "contender",
                "epoch (median)",
                "one-time setup",
                "epoch / read X once",
                "epoch / linclf default",
                "held-out accuracy",
            ),
            rows,
        ),
        "",
        "Setup: linclf's validation and training copy (permuted once for shuffle=True; its "
        "time depends on whether the copy lands on fresh pages: writing a fresh X-sized "
        f"array here took {result['first_touch'].fmt(1.0, 's')}); "
        "PyTorch's tensor wrapping (no copy). `LinearSVM.fit` row: its total fit time "
        "(validation, label encoding, setup and all epochs) divided by the epochs. "
        "scikit-learn's per-epoch time includes `partial_fit`'s own validation of X.",
        "",
    ]
    bd = result["breakdown"]
    lines += [
        "Where a linclf epoch goes: one epoch of bare core steps over contiguous batches "
        "in random order (no Trainer), at 1 and 2 BLAS threads:",
        "",
        common.md_table(
            ("BLAS threads", "what", "time / epoch", "/ read X once"),
            [
                (t, name, tm.fmt(1.0, "s"), f"{tm.median / read_best.median:.1f}")
                for t, r in bd.items()
                for name, tm in r.items()
            ],
        ),
        "",
    ]
    srt = result["sorted"]
    lines += [
        "Training rows sorted by class (the worst order for a scheme that only shuffles "
        "batches within a fixed permutation), linclf with default threads:",
        "",
        common.md_table(
            ("shuffle", "epoch (median)", "held-out accuracy"),
            [
                (repr(mode), common.Timing(run.epochs).fmt(1.0, "s"), f"{100 * run.acc:.2f} %")
                for mode, run in srt.items()
            ],
        ),
        "",
    ]
    targets, notes = evaluate(summary, read_best, read_1, bd, n_test)
    lines += notes
    if quick:
        lines.insert(0, "**Quick smoke run (`--quick`): small N, 2 epochs, 1 round.**\n")
    return "\n".join(lines), targets


def evaluate(summary, read_best, read_1, bd, n_test):
    default = summary[DEFAULT]
    epoch = default["epoch"].median
    ratio_read = epoch / read_best.median
    notes = []
    # Equal accuracy: within two binomial standard errors of the held-out estimate.
    targets = []
    if SKLEARN in summary:
        sk = summary[SKLEARN]
        speedup = sk["epoch"].median / epoch
        p = sk["acc"]
        tolerance = 2 * math.sqrt(p * (1 - p) / n_test)
        acc_ok = default["acc"] >= p - tolerance
        met = ratio_read <= 4 and speedup >= 12 and acc_ok
        measured = (
            f"epoch = {ratio_read:.1f}× read X once (≤ 4: {'yes' if ratio_read <= 4 else 'no'}); "
            f"{speedup:.1f}× faster than SGDClassifier (≥ 12: {'yes' if speedup >= 12 else 'no'}); "
            f"accuracy {100 * default['acc']:.2f} % vs {100 * p:.2f} % (equal or better, "
            f"within 2 s.e. = {100 * tolerance:.2f}: {'yes' if acc_ok else 'no'})"
        )
        targets.append(common.TargetResult(2, measured, met))
    else:
        targets.append(
            common.TargetResult(2, f"epoch = {ratio_read:.1f}× read X once; no scikit-learn", None)
        )
    one, two = summary[ONE]["epoch"].median, summary[TWO]["epoch"].median
    auto_ratio = epoch / one
    thread_ratio = min(two, epoch) / one
    targets.append(
        common.TargetResult(
            3,
            f"2 threads / 1 thread = {two / one:.2f} (n_threads=None), "
            f'{auto_ratio:.2f} (n_threads="auto")',
            thread_ratio <= 0.75,
        )
    )
    for t in targets:
        notes.append(f"- Target {t.number}: {t.measured}: {t.verdict}")
    core = {t: bd[t]["loss_grad + SGD step"].median for t in bd}
    grad = {t: bd[t]["loss_grad"].median for t in bd}
    if targets[0].met is False:
        notes += [
            "",
            f"Why target 2 is not met: the default linclf epoch takes {epoch:.3f} s, "
            f"{ratio_read:.1f}× the fastest read of X ({read_best.median * 1e3:.1f} ms; the "
            f"one-thread `np.add.reduce` needs {read_1.median * 1e3:.1f} ms). The bare core "
            f"steps alone take {core[1]:.3f} s per epoch at 1 BLAS thread "
            f"({core[1] / read_best.median:.1f}× the read; `loss_grad` alone: {grad[1]:.3f} s, "
            "its two products taking most of that per the kernels section), "
            f"so the time is in the core step, not in the Trainer ({epoch - core[1]:+.3f} s) "
            "nor in gathering rows (shuffle=True gathers none). "
            + (
                f"scikit-learn's epoch is {summary[SKLEARN]['epoch'].median / epoch:.1f}× "
                "linclf's: a per-sample SGD in compiled code on 2 threads (one-vs-rest "
                "classes in parallel). "
                if SKLEARN in summary
                else ""
            )
            + "An epoch within 4× of one read would need the products of a batch at close "
            "to the read bandwidth of both cores, which the single-threaded small-matrix "
            "kernels cannot reach (see the kernels section).",
        ]
    if not targets[1].met:
        notes += [
            "",
            "Why target 3 is not met: with `n_threads=None` and 2 BLAS threads the epoch "
            f'takes {two:.3f} s against {one:.3f} s at 1 thread; `n_threads="auto"` '
            f"(which picks 1 BLAS thread on this blocked shape) takes {epoch:.3f} s. The "
            f"bare core steps take {core[2]:.3f} s at 2 BLAS threads and {core[1]:.3f} s at "
            "1: the small-matrix kernels of the blocked products run on one thread whatever "
            "the BLAS setting, so a second core only helps if the batch is split across "
            "cores below the BLAS, which linclf does not do.",
        ]
    return targets, notes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small N, 2 epochs, 1 round")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args(argv)
    header = common.machine_report("bench_epoch.py", argv)
    print("\n".join(header), flush=True)
    body, targets = render(measure(args.quick), args.quick)
    common.publish("epoch", header, body, targets, args.write)


if __name__ == "__main__":
    main()
