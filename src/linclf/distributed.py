r"""Distributed training on a Dask cluster: parameter averaging or data-parallel gradients.

Install with ``pip install "linclf[dask]"``; this module imports without Dask, which is
loaded only when :func:`fit` runs.

The data stay where they are. ``X`` is a ``dask.array`` chunked by rows; its K row chunks,
with the matching chunks of ``y`` and of the sample weights, are validated, converted to
the training dtype and persisted on the P workers once (``client.persist``). Every
*round* the driver broadcasts the model ``{"W": (C, D), "b": (C,)}`` to every worker
(``client.scatter(..., broadcast=True)``), one task per chunk works on that chunk where it
lies, and only models or gradients come back: no row of X or y is gathered to the driver.

Strategies
----------
``"average"`` (parameter mixing). A round is one epoch. Chunk k, of weight total
:math:`m_k` (its number of rows without sample weights), runs linclf's own minibatch SGD
(a :class:`~linclf.Trainer` with the estimator's hyperparameters and ``max_epochs=1``)
over its rows from the broadcast :math:`(W, b)`; the driver mixes the results:
:math:`(W, b) \leftarrow \sum_k m_k (W_k, b_k) / \sum_k m_k`. To first order in the
learning rate :math:`\eta`, chunk k's :math:`n_k/B` minibatch steps (size B) move the model
by :math:`-\eta\,(n_k/B)\,\bar g_k` (:math:`\bar g_k` its mean gradient), so a round of K
equal chunks goes as far as :math:`n/(KB)` full-gradient steps, where one sequential epoch
takes :math:`n/B` minibatch steps: the statistical price of mixing, which grows with K
(Zinkevich, Weimer, Smola and Li, "Parallelized stochastic gradient descent", NeurIPS
2010). Each chunk's optimizer starts the round without momentum; the learning-rate
schedule counts rounds as epochs; the round's loss is the weighted mean of the chunks'.

``"gradient"`` (synchronous data parallelism, full batch). Chunk k returns, at the
broadcast :math:`(W, b)`, the sums of its data term :math:`(\sum_{i \in k} w_i L_i,
\sum_{i \in k} w_i \partial L_i / \partial W, \sum_{i \in k} w_i \partial L_i / \partial b,
m_k)`: :class:`~linclf.LinearObjective` with ``reg=0`` (the weighted *mean* over the
chunk) times :math:`m_k`. The K tuples are summed pairwise in a binary tree of tasks on
the workers (fixed pairing, so the floating-point order is the same every time) and the
driver adds the penalty:

.. math::

    \mathcal{L} = \frac{\sum_i w_i L_i}{\sum_i w_i} + \lambda \lVert W \rVert^2, \qquad
    \nabla_W \mathcal{L} = \frac{\sum_i w_i \partial L_i / \partial W}{\sum_i w_i}
    + 2 \lambda W, \qquad
    \nabla_b \mathcal{L} = \frac{\sum_i w_i \partial L_i / \partial b}{\sum_i w_i},

the estimator's exact objective and gradient on all the data. With ``solver="sgd"`` the
driver takes one :class:`~linclf.SGD` step per round (full-batch gradient descent with the
estimator's learning rate, momentum and schedule); with ``solver="lbfgs"`` it hands
:math:`(\mathcal{L}, \nabla \mathcal{L})` to ``scipy.optimize.minimize(method="L-BFGS-B",
jac=True)``, one round per function evaluation.

Communication per round
-----------------------
With P workers, K ≥ P chunks and a model of :math:`M = CD + C` numbers (``CD`` without an
intercept) in the training dtype, :func:`round_traffic` counts (pickling adds a few
hundred bytes per message):

* both strategies: the model broadcast to the P workers, :math:`P \cdot M` numbers;
* ``"average"``: K models back to the driver, :math:`K \cdot M` numbers;
* ``"gradient"``: K partial sums of :math:`M + 2` float64 numbers up a binary tree of
  depth :math:`\lceil \log_2 K \rceil`; at most K − 1 of them cross between workers
  (none when both operands sit on one worker) and one reaches the driver.

The compute per round is about :math:`4 N D C / P` floating-point operations (forward and
backward products, each :math:`2NDC`), so the network's share shrinks as N grows.

Worker failure
--------------
Dask recovers, not linclf: when a worker dies mid-round, the scheduler reruns its tasks
and recomputes the chunks it held from their lineage (the graph that built X, e.g.
``da.from_array`` or a file reader); the parameters survive in the other workers'
broadcast copies. Each task is a pure function of (parameters, chunk, seed), so both
strategies end with exactly the model of an unfailed run (the same sums in the same tree
order; each chunk's epoch from its seed, derived from ``random_state``, the round and the
chunk, with a base seed drawn once per fit for ``random_state=None``), provided the
replacement computes bit-identical products (same BLAS, CPU type and thread count: one
machine, or a homogeneous cluster). Not covered: data without lineage (X built on arrays
the caller scattered) is lost with its worker; a task that kills three workers (Dask's
``distributed.scheduler.allowed-failures``) fails the fit with ``KilledWorker``; a dead
scheduler or driver ends the fit.
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

from ._fitting.plan import FitPlan, make_plan
from ._fitting.state import FittedModel
from ._fitting.weights import class_weight_factors
from ._validation import (
    TrainingData,
    check_sample_weight,
    check_scalar,
    check_X,
    check_y,
    encode_labels,
    index_labels,
)
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
    """Bytes that cross the network in one round of :func:`fit`, from the array sizes.

    Parameters
    ----------
    n_classes, n_features, n_workers : int
        C and D of the model; P, the workers that receive the broadcast model.
    n_chunks : int or None
        K, the row chunks of X (one task each); ``None`` means one per worker.
    strategy : {"average", "gradient"}
    fit_intercept : bool, default True
        Whether the model has the bias b (C more numbers).
    itemsize : int, default 4
        Bytes per number of the training dtype; gradient partial sums are always float64.

    Returns
    -------
    dict
        The counts of the module docstring's *Communication per round*: ``"to_workers"``,
        ``"from_workers"`` (for ``"gradient"`` an upper bound), ``"total"``, and
        ``"tree_depth"``: ⌈log₂ K⌉ for ``"gradient"``, 0 for ``"average"``.

    Examples
    --------
    >>> t = round_traffic(10, 1000, n_workers=8, strategy="average")
    >>> t["to_workers"], t["from_workers"]  # 8 × (10·1000 + 10) float32 each way
    (320320, 320320)
    >>> round_traffic(10, 1000, 8, 64, strategy="gradient")["tree_depth"]
    6
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {list(STRATEGIES)}, got {strategy!r}")
    n_chunks = n_workers if n_chunks is None else n_chunks
    model = n_classes * n_features + (n_classes if fit_intercept else 0)
    to_workers = n_workers * model * itemsize
    if strategy == "average":
        from_workers, depth = n_chunks * model * itemsize, 0
    else:
        # loss sum, dW and db sums, weight total: float64 whatever the training dtype.
        from_workers = n_chunks * (model + 2) * 8
        depth = math.ceil(math.log2(n_chunks)) if n_chunks > 1 else 0
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

    The module docstring has the two strategies, their mathematics, their traffic per
    round and what a worker failure does.

    Parameters
    ----------
    estimator : LinearSVM or SoftmaxClassifier
        Fitted in place with its hyperparameters (``warm_start`` and ``class_weight``
        included); ``standardize`` and ``early_stopping`` are refused.
    X : dask.array.Array of shape (n_samples, n_features)
        Chunked by rows; column chunks are merged (each row chunk then holds all D
        columns, so mind the chunk size).
    y : dask.array.Array or ndarray of shape (n_samples,)
        Labels of any sortable type, at least two distinct values; rechunked to X's rows.
    client : distributed.Client or None
        The cluster; ``None`` is the default client (``distributed.get_client()``).
    strategy : {"average", "gradient"}, default "average"
        Per round, one local SGD epoch per chunk and the models averaged, or one exact
        full-batch gradient.
    solver : {"sgd", "lbfgs"}, default "sgd"
        For ``strategy="gradient"``: an SGD step per round, or L-BFGS-B (one round per
        function evaluation, ``max_rounds`` iterations at most), which suits the smooth
        softmax loss and float64 best (in float32 it stops once rounding dominates).
    max_rounds : int or None
        Rounds at most (epochs, steps, or L-BFGS-B iterations); ``None`` is the
        estimator's ``max_epochs``. The ``tol`` / ``n_iter_no_change`` rule on the round
        loss may stop earlier (with ``schedule="adaptive"``, after dividing the rate by 5).
    sample_weight : dask.array.Array, ndarray or None, shape (n_samples,)
        Non-negative weights, multiplied by ``class_weight``.
    callbacks : sequence of callables
        ``callback(info)`` after every round (L-BFGS-B: iteration), ``info`` holding
        ``round``, ``loss`` and ``seconds``; returning ``True`` stops the fit.

    Returns
    -------
    estimator
        With ``coef_``, ``intercept_``, ``classes_`` (``da.unique(y)``), ``n_features_in_``,
        ``n_iter_`` (rounds), ``reg_`` and ``loss_curve_``: per round, the objective at its
        starting model (``"gradient"``) or the mean local epoch loss (``"average"``).

    Raises
    ------
    ImportError
        Without dask or distributed.
    ValueError, TypeError
        No client, bad arguments or chunks, ``standardize`` or ``early_stopping`` set, or
        invalid data (raised from the worker that found it); the message names them.
    DivergenceError
        A loss or the parameters became non-finite.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> from distributed import Client, LocalCluster
    >>> from linclf import LinearSVM
    >>> from linclf.distributed import fit
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2000, 5)); y = (X[:, 0] + X[:, 1] > 0).astype(int)
    >>> with LocalCluster(n_workers=2, processes=False, dashboard_address=None) as cluster:
    ...     with Client(cluster) as client:
    ...         dX = da.from_array(X, chunks=(500, 5)); dy = da.from_array(y, chunks=500)
    ...         clf = fit(LinearSVM(random_state=0, tol=None), dX, dy, client=client, max_rounds=5)
    >>> clf.n_iter_, bool(clf.score(X, y) > 0.95)
    (5, True)
    """
    da, distributed = _import_dask()
    plan = _check_settings(estimator, strategy, solver)
    max_rounds = plan.max_epochs if max_rounds is None else max_rounds
    check_scalar(max_rounds, "max_rounds", numbers.Integral, low=1)
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
    gradient = {"sgd": _fit_gradient_sgd, "lbfgs": _fit_gradient_lbfgs}
    fit_rounds = _fit_average if strategy == "average" else gradient[solver]
    optimizer, curve, converged = fit_rounds(run, params, max_rounds)
    if not converged and plan.tol is not None:
        message = (
            f"linclf.distributed.fit stopped at max_rounds={max_rounds} while the loss was "
            f"still improving by more than tol={plan.tol}; consider raising max_rounds."
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
    if plan.standardize:
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
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})  # each task needs whole rows: X Wᵀ sums over all columns
    rows = X.chunks[0]

    def aligned(v: Any, name: str) -> Any:
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
        return v if v.chunks[0] == rows else v.rechunk((rows,))

    y = aligned(y, "y")
    return X, y, None if sample_weight is None else aligned(sample_weight, "sample_weight")


def _persist_chunks(
    client: Any, da: Any, distributed: Any, plan: FitPlan, X: Any, y: Any, sample_weight: Any
) -> tuple[list[tuple[Any, Any, Any]], np.ndarray]:
    """``([(X_k, y_k, w_k), ...], classes)``: futures of the validated, persisted chunks."""
    from dask.core import flatten

    # One persist for both, so that what X and y share (y computed from X, say) is
    # computed once; the labels are then read from the persisted y.
    X_train = X.map_blocks(_features_block, train_dtype=plan.dtype, dtype=plan.dtype)
    X_train, y = client.persist([X_train, y])
    labels, counts = client.compute(da.unique(y, return_counts=True), sync=True)
    labels = check_y(np.asarray(labels), len(labels))  # NaN labels are refused here
    classes, _ = encode_labels(labels)  # and continuous or single labels here
    # "balanced" from the class counts of all the chunks, not of each one.
    per_class = class_weight_factors(plan.class_weight, classes, np.asarray(counts))
    y_train = y.map_blocks(index_labels, classes=classes, dtype=np.intp)
    weights = None
    if sample_weight is not None or per_class is not None:
        args = [y_train] + ([] if sample_weight is None else [sample_weight])
        weights = da.map_blocks(_weights_block, *args, per_class=per_class, dtype=np.float64)
    persisted = client.persist([a for a in (y_train, weights) if a is not None])
    del y  # its chunks are freed once y_train holds the class indices
    blocks = []
    for array in (X_train, *persisted):  # each block's future, in row order
        by_key = {future.key: future for future in distributed.futures_of(array)}
        blocks.append([by_key[key] for key in flatten(array.__dask_keys__())])
    if weights is None:
        blocks.append([None] * len(blocks[0]))
    return list(zip(*blocks, strict=True)), classes


def _features_block(block: np.ndarray, train_dtype: np.dtype) -> np.ndarray:
    # Runs on a worker: the same checks as the estimators' (finite, numeric, fits dtype).
    return check_X(np.asarray(block), dtype=train_dtype, name="X", order="C")


def _weights_block(y: np.ndarray, weights: Any = None, *, per_class: Any = None) -> np.ndarray:
    weights = check_sample_weight(weights, y.shape[0])
    weights = np.ones(y.shape[0]) if weights is None else weights
    return weights if per_class is None else weights * per_class[y]


def _start_params(estimator: Any, plan: FitPlan, classes: np.ndarray, n_features: int) -> _Params:
    """The previous model's rows with ``warm_start`` (same classes, shape, dtype), else zeros."""
    shape = (classes.shape[0], n_features)
    if plan.warm_start and hasattr(estimator, "coef_"):
        old = fitted_state(estimator)
        same = np.array_equal(classes, old.classes) and old.W.shape == shape
        if same and old.W.dtype == plan.dtype:
            return {"W": old.W.copy(), "b": None if old.b is None else old.b.copy()}
    return plan.zero_params(*shape)


def _base_seed(random_state: Any) -> int:
    """The entropy every chunk seed derives from: fixed by an int, drawn once otherwise."""
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**63))
    if random_state is None:
        return int(np.random.SeedSequence().entropy)
    return int(random_state)


@dataclass
class _Run:
    """What every round needs; ``plan`` (λ resolved, a few hundred bytes) goes with every task."""

    client: Any
    chunks: list[tuple[Any, Any, Any]]
    plan: FitPlan
    callbacks: tuple[Callable[[Mapping[str, Any]], Any], ...]
    verbose: int
    seed: int
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    rounds: int = 0  # broadcasts so far (L-BFGS-B may take several per iteration)

    def broadcast(self, params: _Params) -> Any:
        """One copy of the parameters on every worker; a future naming them."""
        # A list of one dict: scatter would send each value of a bare dict under its own key.
        return self.client.scatter([dict(params)], broadcast=True)[0]

    def submit(self, what: str, index: int, function: Callable, *args: Any) -> Any:
        """``function(*args)`` as a task named by what it is, the round and ``index``."""
        key = f"linclf-{what}-r{self.rounds}-c{index}-{self.run_id}"
        return self.client.submit(function, *args, key=key)

    def report(self, round_index: int, loss: float, seconds: float) -> bool:
        """Log and run the callbacks; True when one asks to stop."""
        info = {"round": round_index, "loss": loss, "seconds": seconds}
        if self.verbose:
            logger.info("round %d  loss %.6f  (%.3f s)", round_index, loss, seconds)
        return any(callback(info) is True for callback in self.callbacks)

    def rounds_until_stop(
        self, max_rounds: int, one_round: Callable, scale: Callable = lambda factor: None
    ) -> tuple[list[float], bool]:
        """``(losses, converged)``; ``one_round(round_index, lr_scale) -> loss``. On a plateau
        with ``schedule="adaptive"`` the rate decays: ``scale(factor)``, and ``lr_scale``."""
        plateau, curve, lr_scale = self.plan.make_plateau(), [], 1.0
        for round_index in range(max_rounds):
            started = time.perf_counter()
            curve.append(one_round(round_index, lr_scale))
            step = plateau.update(curve[-1], lr_scale)
            if step.decay is not None:
                lr_scale *= step.decay
                scale(step.decay)
            stop = self.report(round_index + 1, curve[-1], time.perf_counter() - started)
            if stop or step.stop:
                return curve, True
        return curve, False


def _diverged(round_index: int, what: str) -> DivergenceError:
    return DivergenceError(
        f"Training diverged in round {round_index + 1}: {what}; the estimator was left "
        "unchanged. Try a lower learning_rate or standardize the features."
    )


def _fit_average(run: _Run, params: _Params, max_rounds: int) -> tuple[None, list[float], bool]:
    def one_round(round_index: int, lr_scale: float) -> float:
        shared, seed = run.broadcast(params), (run.seed, round_index)
        tasks = [
            run.submit("average", k, _local_epoch, run.plan, shared, *chunk, (*seed, k), lr_scale)
            for k, chunk in enumerate(run.chunks)
        ]
        results = [r for r in run.client.gather(tasks) if r is not None]  # in chunk order
        run.rounds += 1
        if not results:
            raise ValueError("every chunk has a total sample weight of 0")
        total = math.fsum(r["weight"] for r in results)
        with np.errstate(over="ignore", invalid="ignore"):  # judged just below
            for name in (name for name, p in params.items() if p is not None):
                mixed = np.zeros(params[name].shape, dtype=np.float64)
                for r in results:
                    mixed += (r["weight"] / total) * r[name]
                params[name][...] = mixed  # back to the training dtype
        loss = math.fsum(r["weight"] * r["loss"] for r in results) / total
        finite = (
            np.isfinite(np.sum(p, dtype=np.float64)) for p in params.values() if p is not None
        )
        if not (math.isfinite(loss) and all(finite)):
            raise _diverged(round_index, "the averaged model is not finite")
        return loss

    # No optimizer: set_fitted_state makes a fresh one, as every chunk's was at each round.
    return None, *run.rounds_until_stop(max_rounds, one_round)


def _local_epoch(
    plan: FitPlan, params: _Params, X: Any, y: Any, weights: Any, seed: tuple, lr_scale: float
) -> dict[str, Any] | None:
    """On a worker: one SGD epoch over one chunk from the broadcast parameters. Its
    generator derives from ``seed``, (base seed, round, chunk): a rerun repeats it."""
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
    trainer.fit_data(local, TrainingData(X, y, local["W"].shape[0], weights))
    return {**local, "weight": weight, "loss": trainer.history_["loss"][0]}


def _chunk_gradient(plan: FitPlan, params: _Params, X: Any, y: Any, weights: Any) -> tuple:
    """On a worker: the chunk's sums (Σ w L, Σ w ∂L/∂W, Σ w ∂L/∂b, Σ w), in float64."""
    weight = X.shape[0] if weights is None else float(np.sum(weights))
    if weight == 0.0:
        C, D = params["W"].shape
        return 0.0, np.zeros((C, D)), None if params["b"] is None else np.zeros(C), 0.0
    with np.errstate(over="ignore", invalid="ignore"):  # judged by the driver
        mean_loss, grads = plan.objective(0.0).loss_grad(params, X, y, weights)
        # The core returns weighted means: times the weight total, they become sums.
        dW = np.multiply(grads["W"], weight, dtype=np.float64)
        db = None if grads["b"] is None else np.multiply(grads["b"], weight, dtype=np.float64)
    return mean_loss * weight, dW, db, float(weight)


def _add_sums(left: tuple, right: tuple) -> tuple:
    """On a worker: one node of the reduction tree."""
    db = None if left[2] is None else left[2] + right[2]
    return left[0] + right[0], left[1] + right[1], db, left[3] + right[3]


def _full_gradient(run: _Run, params: _Params) -> tuple[float, np.ndarray, np.ndarray | None]:
    """One round: objective and gradient on all the data at ``params``, in float64. The
    chunks' sums add pairwise, (0+1)+(2+3)...: a fixed order, ⌈log₂K⌉ levels of tasks."""
    shared = run.broadcast(params)
    parts = [
        run.submit("gradient", k, _chunk_gradient, run.plan, shared, *chunk)
        for k, chunk in enumerate(run.chunks)
    ]
    level = 0
    while len(parts) > 1:
        paired = [
            run.submit(f"sum{level}", i // 2, _add_sums, parts[i], parts[i + 1])
            for i in range(0, len(parts) - 1, 2)
        ]
        parts, level = paired + parts[len(paired) * 2 :], level + 1  # an odd one out goes up as is
    loss_sum, dW_sum, db_sum, weight = parts[0].result()
    run.rounds += 1
    if weight == 0.0:
        raise ValueError("every chunk has a total sample weight of 0")
    with np.errstate(over="ignore", invalid="ignore"):  # the caller judges finiteness
        penalty, dW_penalty = l2_penalty(params["W"].astype(np.float64), run.plan.reg)
        dW = dW_sum / weight
        if dW_penalty is not None:
            dW += dW_penalty
        db = None if db_sum is None else db_sum / weight
        return loss_sum / weight + penalty, dW, db


def _fit_gradient_sgd(run: _Run, params: _Params, max_rounds: int) -> tuple[Any, list[float], bool]:
    optimizer = run.plan.make_optimizer()

    def one_round(round_index: int, lr_scale: float) -> float:
        loss, dW, db = _full_gradient(run, params)
        if not (math.isfinite(loss) and np.isfinite(np.sum(dW))):
            raise _diverged(round_index, f"the loss is {loss}")
        # A diverging step may overflow the training dtype: the next round's loss says so.
        with np.errstate(over="ignore", invalid="ignore"):
            W, b = params["W"], params["b"]
            grads = {"W": dW.astype(W.dtype), "b": None if db is None else db.astype(b.dtype)}
            optimizer.step(params, grads)
        optimizer.epoch_end()  # a round is an epoch for the schedule
        return loss

    # The optimizer's lr_scale follows the rule's, factor for factor.
    curve, converged = run.rounds_until_stop(max_rounds, one_round, optimizer.scale_learning_rate)
    return optimizer, curve, converged


class _Stop(Exception):
    """Raised inside SciPy's callback when a user callback asks to stop."""


def _fit_gradient_lbfgs(run: _Run, params: _Params, max_rounds: int) -> tuple[Any, list, bool]:
    from scipy.optimize import minimize

    W, b = params["W"], params["b"]
    curve: list[float] = []
    last = {"x": None, "loss": None, "time": time.perf_counter()}  # the latest evaluation

    def unpack(x: np.ndarray) -> _Params:
        b_x = None if b is None else x[W.size :].astype(b.dtype)
        return {"W": x[: W.size].reshape(W.shape).astype(W.dtype), "b": b_x}

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        loss, dW, db = _full_gradient(run, unpack(x))
        last.update(x=x.copy(), loss=loss)
        return loss, dW.ravel() if db is None else np.concatenate([dW.ravel(), db])

    def callback(xk: np.ndarray) -> None:
        # The loss at the accepted point: SciPy's latest evaluation (else one more round).
        curve.append(last["loss"] if np.array_equal(last["x"], xk) else objective(xk)[0])
        now, started = time.perf_counter(), last["time"]
        last["time"] = now
        if run.report(len(curve), curve[-1], now - started):
            raise _Stop

    x0 = np.concatenate([W.ravel(), [] if b is None else b]).astype(np.float64)
    try:
        options = {"maxiter": max_rounds}
        result = minimize(
            objective, x0, jac=True, method="L-BFGS-B", callback=callback, options=options
        )
        x, converged = result.x, result.status != 1  # 1: the iteration limit was reached
        if not result.success and converged:
            logger.info("L-BFGS-B stopped: %s", result.message)
    except _Stop:
        x, converged = last["x"], True
    if not np.all(np.isfinite(x)):
        raise DivergenceError("L-BFGS-B produced non-finite parameters")
    for name, value in unpack(x).items():
        if value is not None:
            params[name][...] = value
    return run.plan.make_optimizer(), curve, converged
