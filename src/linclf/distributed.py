r"""Distributed training on Dask (``pip install "linclf[dask]"``, imported when :func:`fit` runs).

``"average"`` mixes local SGD epochs, :math:`(W, b) \leftarrow \sum_k m_k (W_k, b_k) / \sum_k m_k`;
``"gradient"`` sums exact gradients up a tree of tasks. docs/scaling.md has the details.
"""

from __future__ import annotations

import logging
import math
import numbers
import os
import time
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from . import _validation, chunks
from ._dask import as_dask_array, is_dask
from ._fitting.state import FittedModel
from ._training import checkpoint
from ._training.progress import Progress
from .chunks import ChunkPlan
from .exceptions import DivergenceError, LostDataError, convergence_warning

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
    checkpoint_path: str | os.PathLike | None = None,
    resume: bool = False,
    stream: bool = False,
) -> Any:
    """Fit a linclf estimator on a Dask cluster; the data never leave the workers.

    Parameters
    ----------
    estimator : LinearSVM or SoftmaxClassifier
        Fitted in place with its hyperparameters; ``standardize``, ``early_stopping`` refused.
    X : dask.array.Array or dask DataFrame of shape (n_samples, n_features)
        Chunked by rows, sizes known or not (as after boolean indexing); column chunks are
        merged, so each row chunk holds all D columns. Empty row chunks are skipped. A
        DataFrame's string column names become ``feature_names_in_``.
    y : dask.array.Array, dask Series or ndarray of shape (n_samples,)
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
        ``callback({"round", "loss", "seconds", "W", "b"})`` after each round, W and b
        copies of the model after it (b None without an intercept); ``True`` stops the fit.
    checkpoint_path : str, os.PathLike or None, default None
        Where the driver writes the state after each round (atomically, never pickled, the
        previous one kept at ``+ ".prev"``): parameters, optimizer, stopping rule, seed.
        Not with ``solver="lbfgs"``.
    resume : bool, default False
        Continue from the checkpoint at ``checkpoint_path`` (after the driver died, or a
        callback stopped the fit): the same data and settings end bit for bit as a fit
        that was never interrupted.
    stream : bool, default False
        Keep no chunk in the workers' memory: every round reads each chunk again from X's
        graph (its files, or whatever computes it), uses it and drops it, so data larger
        than the cluster's memory trains; a worker holds about one chunk per thread. A
        first pass checks the chunks and counts their labels. The same tasks as the
        persisted fit, so the same model, bit for bit; each round costs a read of X.

    Returns
    -------
    estimator
        Fitted; ``n_iter_`` counts rounds and ``loss_curve_`` has a loss per round.

    Raises
    ------
    ImportError
        Without dask or distributed.
    ValueError, TypeError
        No client, bad arguments (before any work is sent), bad data (from the worker
        that found it, at its row in the whole of X), or a checkpoint of another fit.
    FileNotFoundError
        ``resume=True`` and no checkpoint at ``checkpoint_path`` (nor ``.prev``).
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
    plan, callbacks = _check_settings(estimator, strategy, solver, max_rounds, callbacks)
    _check_checkpointing(solver, checkpoint_path, resume)
    if not isinstance(stream, bool | np.bool_):
        raise TypeError(f"stream must be a bool, got {stream!r} of type {type(stream).__name__}")
    client = _check_client(distributed, client)
    X, y, sample_weight, names = _check_collections(da, X, y, sample_weight)
    plan = plan.for_dtype(X.dtype)  # dtype="auto": the dtype of X, as a single machine's fit
    fit_id = uuid.uuid4().hex[:8]
    try:
        where = _Workers(client, bool(stream))
        data, plan = _persist_chunks(where, plan, fit_id, X, y, sample_weight)
        params = plan.start_params(data.n_features, estimator)  # warm_start's, or zeros
        kind = (strategy, solver)
        plan, saver = _checkpoints(where, plan, data, estimator, kind, checkpoint_path, resume)
        reg, max_rounds = plan.reg, plan.max_rounds
        progress = Progress(plan.verbose, max_rounds, data.n_samples, unit="round")
        run = _Run(where, data.chunks, plan, callbacks, progress, fit_id, saver)
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
    tol = plan.tol
    if not converged and tol is not None:
        message = (
            f"linclf.distributed.fit stopped at max_rounds={max_rounds} while the loss was "
            f"still improving by more than tol={tol}; consider raising max_rounds."
        )
        warnings.warn(message, convergence_warning(), stacklevel=2)
    # No generator: set_fitted_state seeds partial_fit's from random_state, as fit does.
    trained = dict(reg=reg, n_iter=len(curve), loss_curve=curve, optimizer=optimizer)
    trained["feature_names_in"] = names  # a dask DataFrame's string column names, or None
    model = FittedModel(params["W"], params["b"], data.classes, data.n_features, **trained)
    from .estimator import set_fitted_state  # driver only: see linclf.chunks

    set_fitted_state(estimator, model)
    return estimator


def _check_settings(
    estimator: Any, strategy: str, solver: str, max_rounds: Any, callbacks: Any
) -> tuple[ChunkPlan, tuple[Callable, ...]]:
    """``(plan, callbacks)``: every setting checked on the driver, before any work."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {list(STRATEGIES)}, got {strategy!r}")
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {list(SOLVERS)}, got {solver!r}")
    if solver == "lbfgs" and strategy != "gradient":
        raise ValueError("solver='lbfgs' needs strategy='gradient' (full-batch gradients)")
    plan = ChunkPlan.from_estimator(estimator, max_rounds=max_rounds)
    callbacks = _validation.check_callbacks(callbacks, "callback(info) with the round's info")
    return plan, callbacks


def _check_checkpointing(solver: str, path: Any, resume: Any) -> None:
    """TypeError or ValueError for checkpoint settings that cannot work; FileNotFoundError,
    before any work is sent, when ``resume`` finds no checkpoint."""
    if path is not None and not isinstance(path, str | os.PathLike):
        raise TypeError(
            f"checkpoint_path must be None, a str or an os.PathLike, got {type(path).__name__}"
        )
    if not isinstance(resume, bool | np.bool_):
        raise TypeError(f"resume must be a bool, got {resume!r} of type {type(resume).__name__}")
    if resume and path is None:
        raise ValueError("resume=True needs checkpoint_path, the checkpoint to continue from")
    if path is not None and solver == "lbfgs":
        raise ValueError(
            "checkpoint_path is not supported with solver='lbfgs' (SciPy's L-BFGS-B keeps its "
            "state to itself): use solver='sgd', or fit without checkpoint_path"
        )
    previous = checkpoint.previous_path(path) if resume else None
    if resume and not (os.path.exists(path) or os.path.exists(previous)):
        raise FileNotFoundError(
            f"resume=True found no checkpoint at {os.fspath(path)} (nor {previous}): fit "
            "with resume=False first, with checkpoint_path where it should be written"
        )


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


def _check_collections(da: Any, X: Any, y: Any, sample_weight: Any) -> tuple[Any, ...]:
    """``(X, y, w, names)``: X as a dask array with one column chunk, y and the weights as
    1-d dask arrays (a dask DataFrame or Series converted, never computed on the driver),
    and the feature names of a DataFrame X (None for an array).

    Lengths that are known are compared here, before anything is computed.
    """
    names = None
    if is_dask(X) and not isinstance(X, da.Array) and hasattr(X, "to_dask_array"):
        X, names = as_dask_array(X)  # row chunks of unknown size: counted when persisted
    if not isinstance(X, da.Array):
        raise TypeError(
            f"X must be a dask.array.Array chunked by rows or a dask DataFrame, got "
            f"{type(X).__name__}; e.g. dask.array.from_array(X, chunks=(rows_per_chunk, -1))"
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
        if is_dask(v):  # a Series too: converted where it lies, not pulled to the driver
            v = as_dask_array(v, name)[0]
        v = v if isinstance(v, da.Array) else da.from_array(np.asarray(v), chunks=-1)
        if v.ndim != 1:
            raise ValueError(f"{name} must be 1-D (n_samples,), got shape {v.shape}")
        _check_lengths(X.shape[0], v.shape[0], name)
        return v

    weights = None if sample_weight is None else rows(sample_weight, "sample_weight")
    return X, rows(y, "y"), weights, names


def _check_lengths(n_X: float, n_v: float, name: str) -> None:
    """ValueError naming X and ``name`` when their lengths are known and differ."""
    if not (math.isnan(n_X) or math.isnan(n_v)) and n_X != n_v:
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: [{n_X}, {n_v}] "
            f"(X has {n_X} rows, {name} has {n_v})"
        )


def _aligned_rows(workers: _Workers, X: Any, y: Any, sample_weight: Any) -> list[Any]:
    """``[X, y, sample_weight]`` with known row chunks, y's and the weights' on X's rows."""
    arrays = [X, y] + ([] if sample_weight is None else [sample_weight])
    client = workers.client
    if any(math.isnan(n) for array in arrays for n in array.chunks[0]):
        # Boolean indexing leaves the sizes unknown: count each block, after persisting
        # the arrays once unless the fit streams them (then each count reads them).
        arrays = arrays if workers.stream else client.persist(arrays)
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


@dataclass(frozen=True)
class _Workers:
    """Where a fit's work runs: ``client``'s cluster, on chunks held in the workers' memory
    (futures), or with ``stream`` on chunks that each task recomputes from X's graph (a
    ``dask.delayed`` per chunk, dropped once the task is done)."""

    client: Any
    stream: bool

    def submit(self, function: Callable, *args: Any, key: str | None = None, **kw: Any) -> Any:
        """A future of ``function(*args, **kw)`` on the cluster, under ``key``."""
        if not self.stream:
            return self.client.submit(function, *args, key=key, **kw)
        import dask

        task = dask.delayed(function, pure=False)(*args, dask_key_name=key, **kw)
        return self.client.compute(task)

    def gather(self, futures: list[Any]) -> list[Any]:
        return self.client.gather(futures)

    def map(self, task: Callable[[int], Any], n: int) -> list[Any]:
        """``[task(0), ..., task(n - 1)]``, the futures ``task(k)`` submits for chunk k.

        Streamed, at most one of them is unfinished per worker thread: the next is submitted
        when one is done. Each future is its own small graph, so the scheduler's queuing of
        root tasks does not apply, and a worker given every chunk's task at once reads
        chunks ahead of the one it works on until its memory limit restarts it. A task
        that failed raises here, before more are submitted.
        """
        if not self.stream:
            return [task(k) for k in range(n)]
        import distributed

        futures, pending = [], set()
        window = max(1, sum(self.client.nthreads().values()))
        for k in range(n):
            while len(pending) >= window:
                done, pending = distributed.wait(pending, return_when="FIRST_COMPLETED")
                for future in done:
                    if future.status == "error":
                        future.result()  # raises the task's exception
            futures.append(task(k))
            pending.add(futures[-1])
        return futures


def _persist_chunks(
    workers: _Workers, plan: ChunkPlan, fit_id: str, X: Any, y: Any, sample_weight: Any
) -> tuple[_Chunks, ChunkPlan]:
    """The chunks validated where they lie, once, labels encoded with the classes of all;
    the plan with what the chunks share (:meth:`ChunkPlan.with_summaries`). Streamed, the
    chunks are delayed objects that recompute (read, check, encode) for every task."""
    import dask

    X, y, sample_weight = _aligned_rows(workers, X, y, sample_weight)
    starts = np.cumsum((0, *X.chunks[0]))
    weight_blocks = [None] * X.numblocks[0] if sample_weight is None else sample_weight.to_delayed()
    blocks = zip(X.to_delayed()[:, 0], y.to_delayed(), weight_blocks, starts, strict=False)
    check = dask.delayed(chunks.check_chunk, pure=True)
    checked = [
        check(plan, X_k, y_k, w_k, start=int(start), dask_key_name=f"linclf-check-c{k}-{fit_id}")
        for k, (X_k, y_k, w_k, start) in enumerate(blocks)
        if X.chunks[0][k] > 0  # an empty chunk (boolean indexing leaves them) adds nothing
    ]
    if not checked:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is required"
        )
    if not workers.stream:
        checked = workers.client.compute(checked)  # held in the workers' memory
    summarize = workers.map(lambda k: workers.submit(chunks.summarize, checked[k]), len(checked))
    summaries = workers.gather(summarize)
    plan = plan.with_summaries(summaries)
    encode = dask.delayed(chunks.encode_chunk, pure=True) if workers.stream else None
    encoded = [
        encode(plan, chunk, dask_key_name=f"linclf-chunk-c{k}-{fit_id}")
        if workers.stream
        else workers.submit(chunks.encode_chunk, plan, chunk, key=f"linclf-chunk-c{k}-{fit_id}")
        for k, chunk in enumerate(checked)
    ]
    if sample_weight is not None or plan.class_factors is not None:
        weigh = workers.map(lambda k: workers.submit(chunks.chunk_weight, encoded[k]), len(encoded))
        weights = workers.gather(weigh)
        if not any(weights):
            raise ValueError(
                "sample_weight (times class_weight) is zero for every sample; at least one "
                "sample needs a positive weight"
            )
        encoded = [chunk for chunk, weight in zip(encoded, weights, strict=True) if weight > 0]
    return _Chunks(encoded, plan.classes, plan.n_samples, int(X.shape[1])), plan


@dataclass(frozen=True)
class _Checkpoints:
    """Where a fit checkpoints its rounds, what a resume must match, what it resumes."""

    path: str | os.PathLike
    fingerprint: dict[str, Any]
    resumed: checkpoint.RoundState | None


def _checkpoints(
    workers: _Workers,
    plan: ChunkPlan,
    data: _Chunks,
    estimator: Any,
    kind: tuple,
    path: Any,
    resume: bool,
) -> tuple[ChunkPlan, _Checkpoints | None]:
    """The plan (a resumed fit's seed is the checkpoint's) and the fit's checkpoints, if any.

    The fingerprint holds everything the rounds' numbers depend on: the chunks (a digest of
    each: its labels, weights and 64 of its rows), the settings, and the seed when
    ``random_state`` fixes it (a drawn one is taken from the checkpoint).
    """
    if path is None:
        return plan, None
    n_classes, settings = plan.classes.shape[0], plan.settings
    digest = workers.map(
        lambda k: workers.submit(_chunk_digest, data.chunks[k], n_classes), len(data.chunks)
    )
    digests = workers.gather(digest)
    hyper = plan.make_optimizer().state_dict()
    named = ("learning_rate", "momentum", "nesterov")
    params = plan.start_params(data.n_features)
    fingerprint = dict(
        fit="linclf.distributed",
        strategy=kind[0],
        solver=kind[1],
        loss=settings.loss,
        loss_params=dict(settings.loss_params),
        reg=plan.reg,
        tol=plan.tol,
        optimizer={k: v for k, v in hyper.items() if k in named or k.startswith("schedule.")},
        adaptive=settings.schedule == "adaptive",
        batch_size=settings.batch_size,
        shuffle=settings.shuffle,
        n_iter_no_change=settings.n_iter_no_change,
        classes=plan.classes.tolist(),
        n_samples=plan.n_samples,
        n_features=data.n_features,
        params={k: [list(p.shape), p.dtype.name] for k, p in params.items() if p is not None},
        chunks=digests,
        seed=plan.seed if isinstance(estimator.random_state, numbers.Integral) else "drawn",
    )
    resumed = checkpoint.load_round_state(path, fingerprint) if resume else None
    plan = plan if resumed is None else replace(plan, seed=resumed.seed)
    return plan, _Checkpoints(path, fingerprint, resumed)


def _chunk_digest(chunk: tuple, n_classes: int) -> str:
    """On a worker: the chunk's digest (labels, weights, 64 evenly spaced rows of X)."""
    X, y, weights = chunk
    return checkpoint.data_digest(_validation.TrainingData(X, y, n_classes, weights))


@dataclass
class _Run:
    """A fit's rounds; ``average``, ``sgd``, ``lbfgs`` return ``(optimizer, losses, converged)``.

    ``chunks`` are futures of ``(X_k, y_k, w_k)`` (streamed: delayed objects computing
    them), each with rows and a weight total > 0.
    """

    workers: _Workers
    chunks: list[Any]
    plan: ChunkPlan  # λ and the seed resolved, a few hundred bytes: it goes with every task
    callbacks: tuple[Callable[[Mapping[str, Any]], Any], ...]
    progress: Progress  # the estimator's verbose, a round for an epoch
    run_id: str
    saver: _Checkpoints | None = None
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
            return self.workers.client.submit(_copy_params, dict(params), key=key)

    def submit(self, what: str, index: int, function: Callable, *args: Any, **kwargs: Any) -> Any:
        key = f"linclf-{what}-r{self.rounds}-c{index}-{self.run_id}"
        return self.workers.submit(function, *args, key=key, **kwargs)

    def report(
        self, round_index: int, loss: float, seconds: float, params: _Params, last: bool = False
    ) -> bool:
        model = {name: None if p is None else p.copy() for name, p in params.items()}
        info = {"round": round_index, "loss": loss, "seconds": seconds, **model}
        log = {"epoch": round_index, "loss": loss, "val_accuracy": None, "seconds": seconds}
        self.progress.epoch(log, last=last)
        return any(callback(info) is True for callback in self.callbacks)

    def rounds_until_stop(
        self,
        max_rounds: int,
        one_round: Callable,
        scale: Callable,
        params: _Params,
        optimizer: Any = None,
    ) -> tuple:
        """``(losses, converged)`` of ``one_round(round, lr_scale) -> loss``; decays call scale.

        With checkpoints, the state after each round is written before the callbacks see it,
        and a resumed fit first takes the saved one into ``params``, ``optimizer`` and the rule.
        """
        plateau, curve, lr_scale, start = self.plan.stopping_rule(), [], 1.0, 0
        saved = None if self.saver is None else self.saver.resumed
        if saved is not None:
            curve, lr_scale, start = self.restore(saved, params, optimizer, plateau)
            if saved.stopped:
                return curve, True
        for round_index in range(start, max_rounds):
            started = time.perf_counter()
            curve.append(one_round(round_index, lr_scale))
            step = plateau.update(curve[-1], lr_scale)
            if step.decay is not None:
                lr_scale *= step.decay
                scale(step.decay)
            if self.saver is not None:
                state = dict(plateau=plateau.state_dict(), lr_scale=lr_scale, stopped=step.stop)
                self.save(params, optimizer, round_index + 1, curve, **state)
            seconds = time.perf_counter() - started
            if self.report(round_index + 1, curve[-1], seconds, params, step.stop) or step.stop:
                return curve, True
        return curve, False

    def restore(
        self, saved: checkpoint.RoundState, params: _Params, optimizer: Any, plateau: Any
    ) -> tuple[list[float], float, int]:
        """``(losses, lr_scale, rounds done)`` of the checkpoint, its state put in place."""
        for name, saved_param in saved.params.items():
            if saved_param is not None:
                params[name][...] = saved_param
        if optimizer is not None:
            optimizer.load_state_dict(saved.optimizer)
        plateau.load_state_dict(saved.plateau)
        self.rounds = saved.round  # the broadcasts' keys go on counting rounds
        return list(saved.loss_curve), saved.lr_scale, saved.round

    def save(
        self, params: _Params, optimizer: Any, rounds: int, curve: list[float], **state: Any
    ) -> None:
        """Checkpoint the fit after ``rounds`` rounds (the state: plateau, lr_scale, stopped)."""
        optimizer_state = None if optimizer is None else optimizer.state_dict()
        record = checkpoint.RoundState(
            params,
            optimizer_state,
            round=rounds,
            loss_curve=list(curve),
            seed=self.plan.seed,
            **state,
        )
        checkpoint.save_round_state(self.saver.path, self.saver.fingerprint, record)

    def average(self, params: _Params, max_rounds: int) -> tuple[None, list[float], bool]:
        def one_round(round_index: int, lr_scale: float) -> float:
            shared, epoch = self.broadcast(params), dict(round_index=round_index, lr_scale=lr_scale)

            def task(k: int) -> Any:
                chunk, what = self.chunks[k], chunks.local_epoch
                return self.submit(
                    "average", k, what, self.plan, shared, chunk, chunk_index=k, **epoch
                )

            tasks = self.workers.map(task, len(self.chunks))
            merged, loss = chunks.merge(self.workers.gather(tasks))  # in chunk order
            self.rounds += 1
            finite = True
            for name in (name for name, p in merged.items() if p is not None):
                params[name][...] = merged[name]
                finite &= bool(np.isfinite(np.sum(params[name], dtype=np.float64)))
            if not (math.isfinite(loss) and finite):
                raise _diverged(round_index, "the averaged model is not finite")
            return loss

        # No optimizer: set_fitted_state makes a fresh one, as every chunk's was at each round.
        return None, *self.rounds_until_stop(max_rounds, one_round, lambda factor: None, params)

    def full_gradient(self, params: _Params) -> tuple[float, np.ndarray]:
        """One round: the objective on all the data at ``params`` and its flat float64 gradient."""
        shared = self.broadcast(params)
        parts = self.workers.map(
            lambda k: self.submit(
                "gradient", k, chunks.gradient_sums, self.plan, shared, self.chunks[k]
            ),
            len(self.chunks),
        )
        for level in range((len(parts) - 1).bit_length()):  # (0+1)+(2+3)...: ⌈log₂K⌉ levels
            paired = [
                self.submit(f"sum{level}", i // 2, np.add, parts[i], parts[i + 1])
                for i in range(0, len(parts) - 1, 2)
            ]
            parts = paired + parts[len(paired) * 2 :]  # an odd one out goes up as is
        sums = parts[0].result()  # [Σ w L, Σ w ∂L/∂W, Σ w ∂L/∂b, Σ w], Σ w > 0
        self.rounds += 1
        return chunks.loss_and_gradient(self.plan, params, sums)

    def sgd(self, params: _Params, max_rounds: int) -> tuple[Any, list[float], bool]:
        optimizer = self.plan.make_optimizer()

        def one_round(round_index: int, lr_scale: float) -> float:
            loss, grad = self.full_gradient(params)
            if not (math.isfinite(loss) and np.isfinite(np.sum(grad[: params["W"].size]))):
                raise _diverged(round_index, f"the loss is {loss}")
            # A diverging step may overflow the training dtype: the next round's loss says so.
            with np.errstate(over="ignore", invalid="ignore"):
                optimizer.step(params, chunks.unflatten(grad, params))
            optimizer.epoch_end()  # a round is an epoch for the schedule
            return loss

        scale = optimizer.scale_learning_rate  # its lr_scale follows the rule's, factor for factor
        return optimizer, *self.rounds_until_stop(max_rounds, one_round, scale, params, optimizer)

    def lbfgs(self, params: _Params, max_rounds: int) -> tuple[Any, list[float], bool]:
        from scipy.optimize import minimize

        curve, last = [], {"x": None, "loss": None, "time": time.perf_counter()}  # last evaluation

        def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
            loss, grad = self.full_gradient(chunks.unflatten(x, params))
            last.update(x=x.copy(), loss=loss)
            return loss, grad

        def callback(xk: np.ndarray) -> None:
            # The loss at the accepted point: SciPy's latest evaluation (else one more round).
            curve.append(last["loss"] if np.array_equal(last["x"], xk) else objective(xk)[0])
            started, last["time"] = last["time"], time.perf_counter()
            if self.report(
                len(curve), curve[-1], last["time"] - started, chunks.unflatten(xk, params)
            ):
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
        params.update(chunks.unflatten(x, params))
        return self.plan.make_optimizer(), curve, converged


class _Stop(Exception):
    """Raised inside SciPy's callback when a user callback asks to stop."""


def _diverged(round_index: int, what: str) -> DivergenceError:
    return DivergenceError(
        f"Training diverged in round {round_index + 1}: {what}; the estimator was left "
        "unchanged. Try a lower learning_rate or standardize the features."
    )


def _copy_params(params: _Params) -> _Params:
    """On a worker: the broadcast parameters (the task's spec holds them: its lineage)."""
    return params
