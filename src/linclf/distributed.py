r"""Distributed training on Dask (``pip install "linclf[dask]"``, imported when :func:`fit` runs).

``"average"`` mixes local SGD epochs, :math:`(W, b) \leftarrow \sum_k m_k (W_k, b_k) / \sum_k m_k`;
``"gradient"`` sums exact gradients up a tree of tasks. docs/scaling.md has the details.
"""

from __future__ import annotations

import logging
import math
import numbers
import re
import time
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from . import _validation
from ._fitting.plan import FitPlan, make_plan
from ._fitting.state import FittedModel
from ._fitting.weights import class_weight_factors
from ._training.progress import Progress
from .estimator import LinearSVM, SoftmaxClassifier, fitted_state, set_fitted_state
from .exceptions import DivergenceError, LostDataError, convergence_warning
from .losses import l2_penalty

__all__ = ["STRATEGIES", "LostDataError", "fit", "round_traffic"]

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
        Chunked by rows, sizes known or not (as after boolean indexing); column chunks are
        merged, so each row chunk holds all D columns. Empty row chunks are skipped.
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
        Non-negative weights, multiplied by ``class_weight``; a chunk of weight 0 is skipped.
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
        No client, bad arguments (before any work is sent), or bad data (from the worker
        that found it, at its row in the whole of X).
    DivergenceError
        A loss or the parameters became non-finite.
    LostDataError
        Input chunks were lost with a worker and have no lineage (data the caller scattered).

    Notes
    -----
    Every round's model goes out as a task holding the parameters, under a key of its own:
    a worker that needs it, a replacement too, fetches it or has the scheduler recompute it.
    A failed fit leaves the estimator as it was. The estimator's ``verbose`` shows each
    round as its own ``fit`` shows each epoch: a bar or lines (1), ``"linclf"`` records (2).

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
    plan, max_rounds, callbacks = _check_settings(
        estimator, strategy, solver, max_rounds, callbacks
    )
    client = _check_client(distributed, client)
    X, y, sample_weight = _check_collections(da, X, y, sample_weight)
    plan = plan.for_data(X.dtype)  # dtype="auto": the dtype of X, as a single machine's fit
    fit_id = uuid.uuid4().hex[:8]
    try:
        data = _persist_chunks(client, da, plan, fit_id, X, y, sample_weight)
        params = _start_params(estimator, plan, data.classes, data.n_features)
        reg = plan.reg_for(data.n_samples, data.classes.shape[0])
        # Cosine annealing spans the rounds; the worker's Trainer runs one epoch regardless.
        per_round = replace(plan, reg=reg, max_epochs=max_rounds, verbose=0, random_state=None)
        seed = _base_seed(plan.random_state)
        progress = Progress(plan.verbose, max_rounds, data.n_samples, unit="round")
        run = _Run(client, data.chunks, per_round, callbacks, progress, seed, fit_id)
        fit_rounds = run.average if strategy == "average" else getattr(run, solver)
        try:
            optimizer, curve, converged = fit_rounds(params, max_rounds)
        finally:
            progress.close()
    except distributed.CancelledError as exc:
        raise LostDataError(
            "linclf.distributed.fit lost input chunks with a dead worker and cannot recompute "
            "them: data the caller scattered (client.scatter) has no lineage. Build X, y and "
            "sample_weight with dask (da.from_array, a file reader) and persist them, so that "
            f"Dask recomputes what a worker loses, or resubmit the data and fit again ({exc}). "
            "The estimator was left unchanged."
        ) from exc
    tol = plan.limits("sgd")[0]
    if not converged and tol is not None:
        message = (
            f"linclf.distributed.fit stopped at max_rounds={max_rounds} while the loss was "
            f"still improving by more than tol={tol}; consider raising max_rounds."
        )
        warnings.warn(message, convergence_warning(), stacklevel=2)
    # No generator: set_fitted_state seeds partial_fit's from random_state, as fit does.
    trained = dict(reg=reg, n_iter=len(curve), loss_curve=curve, optimizer=optimizer)
    model = FittedModel(params["W"], params["b"], data.classes, data.n_features, **trained)
    set_fitted_state(estimator, model)
    return estimator


def _check_settings(
    estimator: Any, strategy: str, solver: str, max_rounds: Any, callbacks: Any
) -> tuple[FitPlan, int, tuple[Callable, ...]]:
    """``(plan, max_rounds, callbacks)``: every setting checked on the driver, before any work."""
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
    plan = make_plan(estimator)  # batch_size, learning_rate...: what the workers would run
    if plan.standardize is True:
        raise ValueError(
            "standardize=True is not supported by linclf.distributed: scale the features "
            "beforehand (e.g. with dask_ml.preprocessing.StandardScaler)"
        )
    if plan.early_stopping:
        raise ValueError("early_stopping=True is not supported by linclf.distributed")
    max_rounds = plan.limits("sgd")[1] if max_rounds is None else max_rounds
    _validation.check_scalar(max_rounds, "max_rounds", numbers.Integral, low=1)
    callbacks = _validation.check_callbacks(callbacks, "callback(info) with the round's info")
    return plan, int(max_rounds), callbacks


def _check_client(distributed: Any, client: Any) -> Any:
    """``client``, or the default client; ValueError without one, TypeError for another type."""
    if client is None:
        try:
            return distributed.get_client()
        except ValueError:
            raise ValueError(
                "linclf.distributed.fit found no Dask client: pass client=, or create one "
                "first (distributed.Client(...) becomes the default client)"
            ) from None
    if not isinstance(client, distributed.Client):
        raise TypeError(f"client must be a distributed.Client or None, got {type(client).__name__}")
    return client


def _check_collections(da: Any, X: Any, y: Any, sample_weight: Any) -> tuple[Any, Any, Any]:
    """X as a dask array with one column chunk, y and the weights as 1-d dask arrays.

    Lengths that are known are compared here, before anything is computed.
    """
    if not isinstance(X, da.Array):
        raise TypeError(
            f"X must be a dask.array.Array chunked by rows, got {type(X).__name__}; "
            "e.g. dask.array.from_array(X, chunks=(rows_per_chunk, -1))"
        )
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
    if math.isnan(X.shape[1]):
        raise ValueError(
            "X has an unknown number of columns (as after a dataframe conversion); "
            "call X.compute_chunk_sizes() first"
        )
    X = X.rechunk({1: -1}) if X.numblocks[1] > 1 else X  # X Wᵀ sums over whole rows

    def rows(v: Any, name: str) -> Any:
        v = v if isinstance(v, da.Array) else da.from_array(np.asarray(v), chunks=-1)
        if v.ndim != 1:
            raise ValueError(f"{name} must be 1-D (n_samples,), got shape {v.shape}")
        _check_lengths(X.shape[0], v.shape[0], name)
        return v

    return X, rows(y, "y"), None if sample_weight is None else rows(sample_weight, "sample_weight")


def _check_lengths(n_X: float, n_v: float, name: str) -> None:
    """ValueError naming X and ``name`` when their lengths are known and differ."""
    if not (math.isnan(n_X) or math.isnan(n_v)) and n_X != n_v:
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: [{n_X}, {n_v}] "
            f"(X has {n_X} rows, {name} has {n_v})"
        )


def _aligned_rows(client: Any, X: Any, y: Any, sample_weight: Any) -> list[Any]:
    """``[X, y, sample_weight]`` with known row chunks, y's and the weights' on X's rows."""
    arrays = [X, y] + ([] if sample_weight is None else [sample_weight])
    if any(math.isnan(n) for array in arrays for n in array.chunks[0]):
        # Boolean indexing leaves the sizes unknown: persist once, then count each block.
        arrays = client.persist(arrays)
        with client.as_current():
            for array in arrays:
                array.compute_chunk_sizes()
    X, *rest = arrays
    for array, name in zip(rest, ("y", "sample_weight"), strict=False):
        _check_lengths(X.shape[0], array.shape[0], name)
    aligned = [v if v.chunks[0] == X.chunks[0] else v.rechunk((X.chunks[0],)) for v in rest]
    return [X, *aligned] + ([] if sample_weight is not None else [None])


@dataclass(frozen=True)
class _Chunks:
    """The training chunks: futures of ``(X_k, y_k, w_k)``, each with rows and a weight > 0."""

    chunks: list[Any]
    classes: np.ndarray
    n_samples: int
    n_features: int


def _persist_chunks(
    client: Any, da: Any, plan: FitPlan, fit_id: str, X: Any, y: Any, sample_weight: Any
) -> _Chunks:
    """The chunks validated where they lie, once, labels encoded with the classes of all."""
    import dask

    X, y, sample_weight = _aligned_rows(client, X, y, sample_weight)
    starts = np.cumsum((0, *X.chunks[0]))
    weight_blocks = [None] * X.numblocks[0] if sample_weight is None else sample_weight.to_delayed()
    blocks = zip(X.to_delayed()[:, 0], y.to_delayed(), weight_blocks, starts, strict=False)
    check = dask.delayed(_check_chunk, pure=True)
    checked = client.compute(
        [
            check(
                X_k, y_k, w_k, int(start), plan.dtype, dask_key_name=f"linclf-check-c{k}-{fit_id}"
            )
            for k, (X_k, y_k, w_k, start) in enumerate(blocks)
            if X.chunks[0][k] > 0  # an empty chunk (boolean indexing leaves them) adds nothing
        ]
    )
    if not checked:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is required"
        )
    summaries = client.gather([client.submit(_chunk_labels, chunk) for chunk in checked])
    classes, per_class, divisor = _label_weights(plan, summaries)
    encoded = [
        client.submit(
            _encode_chunk, chunk, classes, per_class, divisor, key=f"linclf-chunk-c{k}-{fit_id}"
        )
        for k, chunk in enumerate(checked)
    ]
    if sample_weight is not None or per_class is not None:
        weights = client.gather([client.submit(_chunk_weight, chunk) for chunk in encoded])
        if not any(weights):
            raise ValueError(
                "sample_weight (times class_weight) is zero for every sample; at least one "
                "sample needs a positive weight"
            )
        encoded = [chunk for chunk, weight in zip(encoded, weights, strict=True) if weight > 0]
    return _Chunks(encoded, classes, int(X.shape[0]), int(X.shape[1]))


_POSITION = re.compile(r"\b(row|rows from|index) (\d+)")


def _check_chunk(X: Any, y: Any, weights: Any, start: int, dtype: np.dtype) -> tuple:
    """On a worker: ``(X, y, w)`` of rows ``[start, start + n)`` checked as ``fit`` checks them.

    The positions in the messages are rows of the whole X; a chunk of zero weights is valid
    (the total weight is judged over all the chunks), and weights are not rescaled here.
    """
    try:
        X = _validation.check_X(np.asarray(X), dtype=dtype, name="X", order="C")
        y = _validation.check_y(np.asarray(y), X.shape[0])
        if weights is not None:
            weights = np.asarray(weights)
            if not (weights.dtype.kind in "iuf" and not np.any(weights)):
                _validation.check_sample_weight(weights, X.shape[0])
            weights = weights.astype(np.float64)
    except ValueError as exc:
        where = (
            f"{str(exc).rstrip('.')}; counted in X's chunk of rows {start} to {start + len(X) - 1}"
        )
        raise ValueError(_POSITION.sub(lambda m: f"{m[1]} {start + int(m[2])}", where)) from None
    return X, y, weights


def _chunk_labels(chunk: tuple) -> tuple:
    """On a worker: the chunk's ``(labels, counts, weight sum, largest weight)``."""
    _, y, weights = chunk
    try:
        labels, index = np.unique(y, return_inverse=True)
    except TypeError:
        _validation.encode_labels(y)  # raises its ValueError for labels that cannot be sorted
        raise
    counts = np.bincount(index.reshape(-1), minlength=labels.shape[0])
    if weights is None:
        return labels, counts, None, None
    with np.errstate(over="ignore"):  # an overflowing total is judged on the driver
        return labels, counts, np.sum(weights), np.max(weights)


def _label_weights(plan: FitPlan, summaries: list[tuple]) -> tuple:
    """``(classes, per_class, divisor)`` from the chunks' label counts and weight totals.

    As ``check_sample_weight`` does for one array: when the weights' sum overflows, they
    are all divided by the largest, here the largest of all the chunks.
    """
    labels = np.concatenate([labels for labels, *_ in summaries])
    classes, index = _validation.encode_labels(labels)  # continuous or single labels refused
    counts = np.bincount(index, np.concatenate([counts for _, counts, *_ in summaries]))
    # "balanced" from the class counts of all the chunks, not of each one.
    per_class = class_weight_factors(plan.class_weight, classes, counts)
    divisor = None
    if summaries[0][2] is not None:
        with np.errstate(over="ignore"):
            total = np.sum([total for *_, total, _ in summaries])
        divisor = None if np.isfinite(total) else max(largest for *_, largest in summaries)
    return classes, per_class, divisor


def _encode_chunk(chunk: tuple, classes: np.ndarray, per_class: Any, divisor: Any) -> tuple:
    """On a worker: ``(X, class indices, weights)``, the weights times the class factors."""
    X, y, weights = chunk
    y = _validation.index_labels(y, classes)
    if weights is not None and divisor is not None:
        weights = weights / divisor
    if per_class is not None:
        weights = (np.ones(len(y)) if weights is None else weights) * per_class[y]
    return X, y, weights


def _chunk_weight(chunk: tuple) -> float:
    """On a worker: the chunk's weight total (its rows without weights)."""
    X, _, weights = chunk
    return float(X.shape[0]) if weights is None else float(np.sum(weights))


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
    """A fit's rounds; ``average``, ``sgd``, ``lbfgs`` return ``(optimizer, losses, converged)``.

    ``chunks`` are futures of ``(X_k, y_k, w_k)``, each with rows and a weight total > 0.
    """

    client: Any
    chunks: list[Any]
    plan: FitPlan  # λ resolved, a few hundred bytes: it goes with every task
    callbacks: tuple[Callable[[Mapping[str, Any]], Any], ...]
    progress: Progress  # the estimator's verbose, a round for an epoch
    seed: int
    run_id: str
    rounds: int = 0  # broadcasts so far (L-BFGS-B may take several per iteration)

    def broadcast(self, params: _Params) -> Any:
        """The round's parameters as a task that holds them, under this fit's and round's key.

        Not ``client.scatter``: scattered data has no lineage, so a copy held only by a
        worker that dies is lost for good (the replacement worker never gets it), and its
        content-derived key is shared by every fit that broadcasts the same model (round 0's
        zeros, or a rerun), so one fit's release can drop another's copy. The scheduler
        keeps a task's spec: any worker fetches the result, or has it recomputed.
        """
        import dask

        key = f"linclf-params-r{self.rounds}-{self.run_id}"
        size = sum(p.nbytes for p in params.values() if p is not None)
        # One model per round is the design, not the accidental repetition Dask warns of.
        threshold = {"distributed.admin.large-graph-warning-threshold": max(2 * size, 2**24)}
        with dask.config.set(threshold):
            return self.client.submit(_copy_params, dict(params), key=key)

    def submit(self, what: str, index: int, function: Callable, *args: Any) -> Any:
        key = f"linclf-{what}-r{self.rounds}-c{index}-{self.run_id}"
        return self.client.submit(function, *args, key=key)

    def report(self, round_index: int, loss: float, seconds: float, last: bool = False) -> bool:
        info = {"round": round_index, "loss": loss, "seconds": seconds}
        log = {"epoch": round_index, "loss": loss, "val_accuracy": None, "seconds": seconds}
        self.progress.epoch(log, last=last)
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
            seconds = time.perf_counter() - started
            if self.report(round_index + 1, curve[-1], seconds, last=step.stop) or step.stop:
                return curve, True
        return curve, False

    def average(self, params: _Params, max_rounds: int) -> tuple[None, list[float], bool]:
        def one_round(round_index: int, lr_scale: float) -> float:
            shared, seed = self.broadcast(params), (self.seed, round_index)
            tasks = [
                self.submit("average", k, _local_epoch, self.plan, shared, c, (*seed, k), lr_scale)
                for k, c in enumerate(self.chunks)
            ]
            results = self.client.gather(tasks)  # in chunk order
            self.rounds += 1
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
            self.submit("gradient", k, _chunk_sums, self.plan, shared, chunk)
            for k, chunk in enumerate(self.chunks)
        ]
        for level in range((len(parts) - 1).bit_length()):  # (0+1)+(2+3)...: ⌈log₂K⌉ levels
            paired = [
                self.submit(f"sum{level}", i // 2, np.add, parts[i], parts[i + 1])
                for i in range(0, len(parts) - 1, 2)
            ]
            parts = paired + parts[len(paired) * 2 :]  # an odd one out goes up as is
        sums = parts[0].result()  # [Σ w L, Σ w ∂L/∂W, Σ w ∂L/∂b, Σ w], Σ w > 0
        self.rounds += 1
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


def _copy_params(params: _Params) -> _Params:
    """On a worker: the broadcast parameters (the task's spec holds them: its lineage)."""
    return params


def _local_epoch(
    plan: FitPlan, params: _Params, chunk: tuple, seed: tuple, lr_scale: float
) -> dict[str, Any]:
    """On a worker: one SGD epoch on one chunk, seeded by (base seed, round, chunk)."""
    X, y, weights = chunk
    weight = X.shape[0] if weights is None else float(np.sum(weights))
    base, round_index, index = seed
    rng = np.random.default_rng(np.random.SeedSequence(base, spawn_key=(round_index, index)))
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


def _chunk_sums(plan: FitPlan, params: _Params, chunk: tuple) -> np.ndarray:
    """On a worker: the chunk's [Σ w L, Σ w ∂L/∂W, Σ w ∂L/∂b, Σ w], M + 2 float64."""
    X, y, weights = chunk
    weight = X.shape[0] if weights is None else float(np.sum(weights))
    with np.errstate(over="ignore", invalid="ignore"):  # judged by the driver
        mean_loss, grads = plan.objective(0.0).loss_grad(params, X, y, weights)
        # The core returns weighted means: times the weight total, they become sums.
        means = [[mean_loss], grads["W"].ravel(), [] if grads["b"] is None else grads["b"]]
        return np.multiply(np.concatenate([*means, [1.0]]), weight, dtype=np.float64)
