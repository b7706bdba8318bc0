r"""Distributed training on Dask (``pip install "linclf[dask]"``, imported when :func:`fit` runs).

``"average"`` mixes local SGD epochs, :math:`(W, b) \leftarrow \sum_k m_k (W_k, b_k) / \sum_k m_k`;
``"gradient"`` sums exact gradients up a tree of tasks. docs/scaling.md has the details.
"""

from __future__ import annotations

import logging
import math
import numbers
import time
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from . import _validation
from ._fitting.plan import FitPlan, make_plan
from ._fitting.state import FittedModel
from ._fitting.weights import class_weight_factors
from .estimator import LinearSVM, SoftmaxClassifier, fitted_state, set_fitted_state
from .exceptions import ConvergenceWarning, DivergenceError
from .losses import l2_penalty

__all__ = ["STRATEGIES", "fit", "round_traffic"]

STRATEGIES = ("average", "gradient")
SOLVERS = ("sgd", "lbfgs")

logger = logging.getLogger("linclf")

_Params = dict[str, np.ndarray | None]  # {"W": (C, D), "b": (C,) or None}


def _import_dask() -> tuple[Any, Any]:
    """``(dask.array, distributed)``, or ImportError with the install hint."""
    try:
        import dask.array as da
        import distributed
    except ImportError as exc:
        raise ImportError(
            'linclf.distributed needs dask[array] and distributed: pip install "linclf[dask]" '
            f'(or pip install "dask[array]" distributed) ({exc})'
        ) from exc
    return da, distributed


def round_traffic(
    n_classes: int,
    n_features: int,
    n_workers: int,
    n_chunks: int | None = None,
    *,
    strategy: str = "average",
    fit_intercept: bool = True,
    itemsize: int = 4,
) -> dict[str, int]:
    """Bytes that cross the network in one round of :func:`fit`; docs/scaling.md has the model.

    Parameters
    ----------
    n_classes, n_features, n_workers : int
        C and D of the model; P, the workers that receive the broadcast model.
    n_chunks : int or None
        K, the row chunks of X (one task each); ``None`` means one per worker.
    strategy : {"average", "gradient"}, default "average"
        The strategy of :func:`fit`.
    fit_intercept : bool, default True
        Whether the model has the bias b (C more numbers).
    itemsize : int, default 4
        Bytes per number of the training dtype; gradient partial sums are always float64.

    Returns
    -------
    dict
        Bytes ``to_workers``, ``from_workers`` (``"gradient"``: at most), ``total``; ``tree_depth``.

    Examples
    --------
    >>> round_traffic(10, 1000, n_workers=8, n_chunks=64, strategy="gradient")
    {'to_workers': 320320, 'from_workers': 5126144, 'total': 5446464, 'tree_depth': 6}
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {list(STRATEGIES)}, got {strategy!r}")
    n_chunks = n_workers if n_chunks is None else n_chunks
    model = n_classes * n_features + (n_classes if fit_intercept else 0)
    to_workers, average = n_workers * model * itemsize, strategy == "average"
    # "gradient": loss sum, dW and db sums, weight total, float64 whatever the training dtype.
    from_workers = n_chunks * (model * itemsize if average else (model + 2) * 8)
    depth = 0 if average else max(n_chunks - 1, 0).bit_length()  # ⌈log₂ K⌉ tree levels
    total = to_workers + from_workers
    return dict(to_workers=to_workers, from_workers=from_workers, total=total, tree_depth=depth)


def fit(
    estimator: Any,
    X: Any,
    y: Any,
    *,
    client: Any = None,
    strategy: str = "average",
    solver: str = "sgd",
    max_rounds: int | None = None,
    sample_weight: Any = None,
    callbacks: Sequence[Callable[[Mapping[str, Any]], Any]] = (),
) -> Any:
    """Fit a linclf estimator on a Dask cluster; the data never leave the workers.

    Parameters
    ----------
    estimator : LinearSVM or SoftmaxClassifier
        Fitted in place with its hyperparameters; ``standardize``, ``early_stopping`` refused.
    X : dask.array.Array of shape (n_samples, n_features)
        Chunked by rows; column chunks are merged, so each row chunk holds all D columns.
    y : dask.array.Array or ndarray of shape (n_samples,)
        Labels of any sortable type, at least two distinct values; rechunked to X's rows.
    client : distributed.Client or None
        The cluster; ``None`` is the default client (``distributed.get_client()``).
    strategy : {"average", "gradient"}, default "average"
        Per round, one local SGD epoch per chunk then the models mixed, or an exact gradient.
    solver : {"sgd", "lbfgs"}, default "sgd"
        For ``"gradient"``: an SGD step per round, or L-BFGS-B (a round per evaluation).
    max_rounds : int or None
        Rounds (epochs, steps or L-BFGS-B iterations) at most; ``None`` is ``max_epochs``.
    sample_weight : dask.array.Array, ndarray or None, shape (n_samples,)
        Non-negative weights, multiplied by ``class_weight``.
    callbacks : sequence of callables
        ``callback({"round", "loss", "seconds"})`` after each round; ``True`` stops the fit.

    Returns
    -------
    estimator
        Fitted; ``n_iter_`` counts rounds and ``loss_curve_`` has a loss per round.

    Raises
    ------
    ImportError
        Without dask or distributed.
    ValueError, TypeError
        No client, bad arguments, chunks or data (raised from the worker that found it).
    DivergenceError
        A loss or the parameters became non-finite.

    Examples
    --------
    >>> import numpy as np, dask.array as da; from distributed import Client, LocalCluster
    >>> from linclf import LinearSVM; from linclf.distributed import fit
    >>> X = np.random.default_rng(0).normal(size=(2000, 5)); y = (X[:, 0] + X[:, 1] > 0) * 1
    >>> with LocalCluster(n_workers=2, processes=False, dashboard_address=None) as cluster:
    ...     with Client(cluster) as client:
    ...         dX = da.from_array(X, chunks=(500, 5)); dy = da.from_array(y, chunks=500)
    ...         clf = fit(LinearSVM(random_state=0, tol=None), dX, dy, client=client, max_rounds=5)
    >>> clf.n_iter_, bool(clf.score(X, y) > 0.95)
    (5, True)
    """
    da, distributed = _import_dask()
    plan = _check_settings(estimator, strategy, solver)
    tol, epochs = plan.limits("sgd")  # the minibatch settings: rounds of local epochs
    max_rounds = epochs if max_rounds is None else max_rounds
    _validation.check_scalar(max_rounds, "max_rounds", numbers.Integral, low=1)
    if client is None:
        try:
            client = distributed.get_client()
        except ValueError:
            raise ValueError(
                "linclf.distributed.fit found no Dask client: pass client=, or create one "
                "first (distributed.Client(...) becomes the default client)"
            ) from None
    X, y, sample_weight = _check_collections(da, X, y, sample_weight)
    chunks, classes = _persist_chunks(client, da, distributed, plan, X, y, sample_weight)
    params = _start_params(estimator, plan, classes, X.shape[1])
    reg = plan.reg_for(X.shape[0], classes.shape[0])
    # Cosine annealing spans the rounds; the worker's Trainer runs one epoch regardless.
    per_round = replace(plan, reg=reg, max_epochs=max_rounds, verbose=0, random_state=None)
    seed = _base_seed(plan.random_state)
    run = _Run(client, chunks, per_round, tuple(callbacks), plan.verbose, seed)
    fit_rounds = run.average if strategy == "average" else getattr(run, solver)
    optimizer, curve, converged = fit_rounds(params, max_rounds)
    if not converged and tol is not None:
        message = (
            f"linclf.distributed.fit stopped at max_rounds={max_rounds} while the loss was "
            f"still improving by more than tol={tol}; consider raising max_rounds."
        )
        warnings.warn(message, ConvergenceWarning, stacklevel=2)
    # No generator: set_fitted_state seeds partial_fit's from random_state, as fit does.
    trained = dict(reg=reg, n_iter=len(curve), loss_curve=curve, optimizer=optimizer)
    model = FittedModel(params["W"], params["b"], classes, X.shape[1], **trained)
    set_fitted_state(estimator, model)
    return estimator


def _check_settings(estimator: Any, strategy: str, solver: str) -> FitPlan:
    """The estimator's fit plan, once the settings this module refuses are ruled out."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {list(STRATEGIES)}, got {strategy!r}")
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {list(SOLVERS)}, got {solver!r}")
    if solver == "lbfgs" and strategy != "gradient":
        raise ValueError("solver='lbfgs' needs strategy='gradient' (full-batch gradients)")
    if not isinstance(estimator, LinearSVM | SoftmaxClassifier):
        raise TypeError(
            "estimator must be a linclf classifier (LinearSVM or SoftmaxClassifier), got "
            f"{type(estimator).__name__}"
        )
    plan = make_plan(estimator)
    if plan.standardize is True:
        raise ValueError(
            "standardize=True is not supported by linclf.distributed: scale the features "
            "beforehand (e.g. with dask_ml.preprocessing.StandardScaler)"
        )
    if plan.early_stopping:
        raise ValueError("early_stopping=True is not supported by linclf.distributed")
    return plan


def _check_collections(da: Any, X: Any, y: Any, sample_weight: Any) -> tuple[Any, Any, Any]:
    """X as a dask array with one column chunk; y and the weights on X's row chunks."""
    if not isinstance(X, da.Array):
        raise TypeError(
            f"X must be a dask.array.Array chunked by rows, got {type(X).__name__}; "
            "e.g. dask.array.from_array(X, chunks=(rows_per_chunk, -1))"
        )
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
    if any(math.isnan(c) for c in X.chunks[0]) or math.isnan(X.shape[1]):
        raise ValueError(
            "X has unknown chunk sizes (as after a dataframe conversion or boolean "
            "indexing); call X.compute_chunk_sizes() first"
        )
    X = X.rechunk({1: -1}) if X.numblocks[1] > 1 else X  # X Wᵀ sums over whole rows

    def rows(v: Any, name: str) -> Any:
        v = v if isinstance(v, da.Array) else da.from_array(np.asarray(v), chunks=-1)
        if v.ndim != 1:
            raise ValueError(f"{name} must be 1-D (n_samples,), got shape {v.shape}")
        if any(math.isnan(c) for c in v.chunks[0]):
            raise ValueError(f"{name} has unknown chunk sizes; call compute_chunk_sizes() first")
        if v.shape[0] != X.shape[0]:
            raise ValueError(
                f"Found input variables with inconsistent numbers of samples: [{X.shape[0]}, "
                f"{v.shape[0]}] (X has {X.shape[0]} rows, {name} has {v.shape[0]})"
            )
        return v if v.chunks[0] == X.chunks[0] else v.rechunk((X.chunks[0],))

    return X, rows(y, "y"), None if sample_weight is None else rows(sample_weight, "sample_weight")


def _persist_chunks(
    client: Any, da: Any, distributed: Any, plan: FitPlan, X: Any, y: Any, sample_weight: Any
) -> tuple[list[tuple[Any, Any, Any]], np.ndarray]:
    """``([(X_k, y_k, w_k), ...], classes)``: futures of the validated, persisted chunks."""
    from dask.core import flatten

    # One persist for both computes what they share (y computed from X, say) once.
    X_train = X.map_blocks(_features, train_dtype=plan.dtype, dtype=plan.dtype)
    X_train, y = client.persist([X_train, y])
    labels, counts = client.compute(da.unique(y, return_counts=True), sync=True)
    labels = _validation.check_y(np.asarray(labels), len(labels))  # NaN labels are refused here
    classes, _ = _validation.encode_labels(labels)  # and continuous or single labels here
    # "balanced" from the class counts of all the chunks, not of each one.
    per_class = class_weight_factors(plan.class_weight, classes, np.asarray(counts))
    y_train = y.map_blocks(_validation.index_labels, classes=classes, dtype=np.intp)
    weights = None
    if sample_weight is not None or per_class is not None:
        weights = da.map_blocks(_weights, y_train, sample_weight, per_class=per_class, dtype=float)
    persisted = client.persist([a for a in (y_train, weights) if a is not None])
    blocks = []
    for array in (X_train, *persisted):  # each block's future, in row order
        by_key = {future.key: future for future in distributed.futures_of(array)}
        blocks.append([by_key[key] for key in flatten(array.__dask_keys__())])
    if weights is None:
        blocks.append([None] * len(blocks[0]))
    return list(zip(*blocks, strict=True)), classes


def _features(block: np.ndarray, train_dtype: np.dtype) -> np.ndarray:
    # Runs on a worker: the same checks as the estimators' (finite, numeric, fits dtype).
    return _validation.check_X(np.asarray(block), dtype=train_dtype, name="X", order="C")


def _weights(y: np.ndarray, weights: Any, *, per_class: Any) -> np.ndarray:
    weights = _validation.check_sample_weight(weights, len(y))
    weights = np.ones(len(y)) if weights is None else weights
    return weights if per_class is None else weights * per_class[y]


def _start_params(estimator: Any, plan: FitPlan, classes: np.ndarray, n_features: int) -> _Params:
    """The previous model's rows with ``warm_start`` (same classes, shape, dtype), else zeros."""
    shape = (classes.shape[0], n_features)
    if plan.warm_start and hasattr(estimator, "coef_"):
        old = fitted_state(estimator)
        if (old.W.shape, old.W.dtype) == (shape, plan.dtype) and np.array_equal(
            classes, old.classes
        ):
            return {"W": old.W.copy(), "b": None if old.b is None else old.b.copy()}
    return plan.zero_params(*shape)


def _base_seed(random_state: Any) -> int:
    """The entropy every chunk seed derives from: fixed by an int, drawn once otherwise."""
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**63))
    return int(np.random.SeedSequence(random_state).entropy)  # an int is its own entropy


@dataclass
class _Run:
    """A fit's rounds; ``average``, ``sgd``, ``lbfgs`` return ``(optimizer, losses, converged)``."""

    client: Any
    chunks: list[tuple[Any, Any, Any]]
    plan: FitPlan  # λ resolved, a few hundred bytes: it goes with every task
    callbacks: tuple[Callable[[Mapping[str, Any]], Any], ...]
    verbose: int
    seed: int
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    rounds: int = 0  # broadcasts so far (L-BFGS-B may take several per iteration)

    def broadcast(self, params: _Params) -> Any:
        # A list of one dict: scatter would send each value of a bare dict under its own key.
        return self.client.scatter([dict(params)], broadcast=True)[0]

    def submit(self, what: str, index: int, function: Callable, *args: Any) -> Any:
        key = f"linclf-{what}-r{self.rounds}-c{index}-{self.run_id}"
        return self.client.submit(function, *args, key=key)

    def report(self, round_index: int, loss: float, seconds: float) -> bool:
        info = {"round": round_index, "loss": loss, "seconds": seconds}
        if self.verbose:
            logger.info("round %d  loss %.6f  (%.3f s)", round_index, loss, seconds)
        return any(callback(info) is True for callback in self.callbacks)

    def rounds_until_stop(self, max_rounds: int, one_round: Callable, scale: Callable) -> tuple:
        """``(losses, converged)`` of ``one_round(round, lr_scale) -> loss``; decays call scale."""
        plateau, curve, lr_scale = self.plan.make_plateau(), [], 1.0
        for round_index in range(max_rounds):
            started = time.perf_counter()
            curve.append(one_round(round_index, lr_scale))
            step = plateau.update(curve[-1], lr_scale)
            if step.decay is not None:
                lr_scale *= step.decay
                scale(step.decay)
            if self.report(round_index + 1, curve[-1], time.perf_counter() - started) or step.stop:
                return curve, True
        return curve, False

    def average(self, params: _Params, max_rounds: int) -> tuple[None, list[float], bool]:
        def one_round(round_index: int, lr_scale: float) -> float:
            shared, seed = self.broadcast(params), (self.seed, round_index)
            tasks = [
                self.submit("average", k, _local_epoch, self.plan, shared, *c, (*seed, k), lr_scale)
                for k, c in enumerate(self.chunks)
            ]
            results = [r for r in self.client.gather(tasks) if r is not None]  # in chunk order
            self.rounds += 1
            if not results:
                raise ValueError("every chunk has a total sample weight of 0")
            total, finite = math.fsum(r["weight"] for r in results), True
            with np.errstate(over="ignore", invalid="ignore"):  # judged just below
                for name in (name for name, p in params.items() if p is not None):
                    terms = ((r["weight"] / total) * r[name] for r in results)
                    params[name][...] = sum(terms, np.zeros(params[name].shape))  # to its dtype
                    finite &= bool(np.isfinite(np.sum(params[name], dtype=np.float64)))
            loss = math.fsum(r["weight"] * r["loss"] for r in results) / total
            if not (math.isfinite(loss) and finite):
                raise _diverged(round_index, "the averaged model is not finite")
            return loss

        # No optimizer: set_fitted_state makes a fresh one, as every chunk's was at each round.
        return None, *self.rounds_until_stop(max_rounds, one_round, lambda factor: None)

    def full_gradient(self, params: _Params) -> tuple[float, np.ndarray]:
        """One round: the objective on all the data at ``params`` and its flat float64 gradient."""
        shared = self.broadcast(params)
        parts = [
            self.submit("gradient", k, _chunk_sums, self.plan, shared, *chunk)
            for k, chunk in enumerate(self.chunks)
        ]
        for level in range((len(parts) - 1).bit_length()):  # (0+1)+(2+3)...: ⌈log₂K⌉ levels
            paired = [
                self.submit(f"sum{level}", i // 2, np.add, parts[i], parts[i + 1])
                for i in range(0, len(parts) - 1, 2)
            ]
            parts = paired + parts[len(paired) * 2 :]  # an odd one out goes up as is
        sums = parts[0].result()  # [Σ w L, Σ w ∂L/∂W, Σ w ∂L/∂b, Σ w]
        self.rounds += 1
        if sums[-1] == 0.0:
            raise ValueError("every chunk has a total sample weight of 0")
        with np.errstate(over="ignore", invalid="ignore"):  # the caller judges finiteness
            penalty, dW_penalty = l2_penalty(params["W"].astype(np.float64), self.plan.reg)
            grad = sums[1:-1] / sums[-1]
            if dW_penalty is not None:
                grad[: params["W"].size] += dW_penalty.ravel()
            return float(sums[0] / sums[-1] + penalty), grad

    def sgd(self, params: _Params, max_rounds: int) -> tuple[Any, list[float], bool]:
        optimizer = self.plan.make_optimizer()

        def one_round(round_index: int, lr_scale: float) -> float:
            loss, grad = self.full_gradient(params)
            if not (math.isfinite(loss) and np.isfinite(np.sum(grad[: params["W"].size]))):
                raise _diverged(round_index, f"the loss is {loss}")
            # A diverging step may overflow the training dtype: the next round's loss says so.
            with np.errstate(over="ignore", invalid="ignore"):
                optimizer.step(params, _unflatten(grad, params))
            optimizer.epoch_end()  # a round is an epoch for the schedule
            return loss

        scale = optimizer.scale_learning_rate  # its lr_scale follows the rule's, factor for factor
        return optimizer, *self.rounds_until_stop(max_rounds, one_round, scale)

    def lbfgs(self, params: _Params, max_rounds: int) -> tuple[Any, list[float], bool]:
        from scipy.optimize import minimize

        curve, last = [], {"x": None, "loss": None, "time": time.perf_counter()}  # last evaluation

        def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
            loss, grad = self.full_gradient(_unflatten(x, params))
            last.update(x=x.copy(), loss=loss)
            return loss, grad

        def callback(xk: np.ndarray) -> None:
            # The loss at the accepted point: SciPy's latest evaluation (else one more round).
            curve.append(last["loss"] if np.array_equal(last["x"], xk) else objective(xk)[0])
            started, last["time"] = last["time"], time.perf_counter()
            if self.report(len(curve), curve[-1], last["time"] - started):
                raise _Stop

        x0 = np.concatenate([p.ravel() for p in params.values() if p is not None]).astype(float)
        try:
            settings = dict(method="L-BFGS-B", callback=callback, options={"maxiter": max_rounds})
            result = minimize(objective, x0, jac=True, **settings)
            x, converged = result.x, result.status != 1  # 1: the iteration limit was reached
            if not result.success and converged:
                logger.info("L-BFGS-B stopped: %s", result.message)
        except _Stop:
            x, converged = last["x"], True
        if not np.all(np.isfinite(x)):
            raise DivergenceError("L-BFGS-B produced non-finite parameters")
        params.update(_unflatten(x, params))
        return self.plan.make_optimizer(), curve, converged


class _Stop(Exception):
    """Raised inside SciPy's callback when a user callback asks to stop."""


def _unflatten(x: np.ndarray, like: _Params) -> _Params:
    """The flat float64 ``[W, b]`` as arrays of the shapes and dtypes of ``like``."""
    W, b = like["W"], like["b"]
    b_x = None if b is None else x[W.size :].astype(b.dtype)
    return {"W": x[: W.size].reshape(W.shape).astype(W.dtype), "b": b_x}


def _diverged(round_index: int, what: str) -> DivergenceError:
    return DivergenceError(
        f"Training diverged in round {round_index + 1}: {what}; the estimator was left "
        "unchanged. Try a lower learning_rate or standardize the features."
    )


def _local_epoch(
    plan: FitPlan, params: _Params, X: Any, y: Any, weights: Any, seed: tuple, lr_scale: float
) -> dict[str, Any] | None:
    """On a worker: one SGD epoch on one chunk, seeded by (base seed, round, chunk)."""
    weight = X.shape[0] if weights is None else float(np.sum(weights))
    if weight == 0.0:
        return None
    base, round_index, chunk = seed
    rng = np.random.default_rng(np.random.SeedSequence(base, spawn_key=(round_index, chunk)))
    optimizer = plan.make_optimizer()
    # Place the schedule where a sequential fit would be at this epoch.
    state = optimizer.state_dict()
    batches = -(-X.shape[0] // min(plan.batch_size, X.shape[0]))
    state.update(epoch=round_index, t=round_index * batches, lr_scale=lr_scale)
    optimizer.load_state_dict(state)
    trainer = plan.make_trainer(
        optimizer, rng, plan.reg, max_epochs=1, tol=None, early_stopping=False, lr_decay=None
    )
    local = {name: None if p is None else p.copy() for name, p in params.items()}
    # The chunk was validated once, by the tasks that persisted it.
    trainer.fit_data(local, _validation.TrainingData(X, y, local["W"].shape[0], weights))
    return {**local, "weight": weight, "loss": trainer.history_["loss"][0]}


def _chunk_sums(plan: FitPlan, params: _Params, X: Any, y: Any, weights: Any) -> np.ndarray:
    """On a worker: the chunk's [Σ w L, Σ w ∂L/∂W, Σ w ∂L/∂b, Σ w], M + 2 float64."""
    weight = X.shape[0] if weights is None else float(np.sum(weights))
    if weight == 0.0:
        return np.zeros(2 + sum(p.size for p in params.values() if p is not None))
    with np.errstate(over="ignore", invalid="ignore"):  # judged by the driver
        mean_loss, grads = plan.objective(0.0).loss_grad(params, X, y, weights)
        # The core returns weighted means: times the weight total, they become sums.
        means = [[mean_loss], grads["W"].ravel(), [] if grads["b"] is None else grads["b"]]
        return np.multiply(np.concatenate([*means, [1.0]]), weight, dtype=np.float64)
