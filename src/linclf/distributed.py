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
``"average"`` (parameter mixing). A round is one epoch. Chunk k, with weight total
:math:`m_k` (its number of rows when there are no sample weights), runs linclf's own
minibatch SGD (a :class:`~linclf.Trainer` with the estimator's hyperparameters and
``max_epochs=1``) over its rows, starting from the broadcast :math:`(W, b)`, and returns
its :math:`(W_k, b_k, m_k)`. The driver mixes them:

.. math::

    W \leftarrow \frac{\sum_k m_k W_k}{\sum_k m_k}, \qquad
    b \leftarrow \frac{\sum_k m_k b_k}{\sum_k m_k}.

To first order in the learning rate :math:`\eta`, chunk k moves the model by
:math:`-\eta\,(n_k/B)\,\bar g_k` (its :math:`n_k/B` minibatch steps of size B, at gradients
close to its mean gradient :math:`\bar g_k`), so one round of K equal chunks moves it by
:math:`-\eta\,(n/(KB))\,\bar g`: as far as :math:`n/(KB)` full-gradient steps, where one
sequential epoch takes :math:`n/B` minibatch steps. That is the statistical price of
mixing, and it grows with K (Zinkevich, Weimer, Smola and Li, 2010). Every chunk's
optimizer starts the round with zero momentum; the learning-rate schedule counts rounds as
epochs. The round's loss is the weighted mean of the chunks' epoch losses.

``"gradient"`` (synchronous data parallelism, full batch). Chunk k returns, at the
broadcast :math:`(W, b)`, the sums of its data term, computed by
:class:`~linclf.LinearObjective` with ``reg=0`` (which returns the weighted *mean* over
the chunk) times the chunk's weight total :math:`m_k`:

.. math::

    \Bigl(\sum_{i \in k} w_i L_i,\; \sum_{i \in k} w_i \frac{\partial L_i}{\partial W},\;
    \sum_{i \in k} w_i \frac{\partial L_i}{\partial b},\; m_k\Bigr).

The K tuples are summed pairwise in a binary tree of tasks on the workers (fixed pairing,
so the floating-point order is the same every time) and the driver adds the penalty:

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
intercept) in the training dtype:

* both strategies: the model is broadcast to the P workers, :math:`P \cdot M` numbers
  sent from the driver;
* ``"average"``: K models return to the driver, :math:`K \cdot M` numbers (P when each
  worker holds one chunk);
* ``"gradient"``: K partial sums of :math:`M + 2` float64 numbers travel up a binary tree
  of depth :math:`\lceil \log_2 K \rceil`; at most K − 1 of them cross between workers
  (none when both operands sit on one worker) and one reaches the driver.

:func:`round_traffic` computes these byte counts. The compute per round is about
:math:`4 N D C / P` floating-point operations (forward and backward products, each
:math:`2NDC`), so the network's share shrinks as N grows for a fixed model.

Worker failure
--------------
Dask recovers, not linclf. When a worker dies mid-round, the scheduler reruns the tasks it
was running, and recomputes the persisted chunks it held from their lineage (the graph
that built X, e.g. ``da.from_array`` or a file reader); the parameters survive because
every worker holds a broadcast copy. Each task is a pure function of (parameters, chunk,
seed), so:

* ``"gradient"`` gives exactly the result of a run without the failure: the same numbers
  are summed in the same tree order.
* ``"average"`` gives a valid model, and the same model as without the failure: each
  chunk's epoch is deterministic given its seed, derived from the estimator's
  ``random_state``, the round and the chunk index (with ``random_state=None`` a base seed
  is drawn once per fit, so a rerun task still repeats its first run exactly).

Both "exactly" claims assume the replacement worker computes bit-identical products
(same BLAS, CPU type and thread count: true on one machine and on a homogeneous cluster).
Not guaranteed: data without lineage (an X built on arrays the caller scattered to the
workers, which exist only as those copies) is lost with its worker; a task that kills three
(Dask's ``distributed.scheduler.allowed-failures``) fails the fit with ``KilledWorker``; a
dead scheduler or driver ends the fit.

References
----------
Zinkevich, Weimer, Smola and Li, "Parallelized stochastic gradient descent", NeurIPS 2010.
"""

from __future__ import annotations

import logging
import math
import numbers
import time
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ._engine.core import LinearObjective
from ._validation import check_sample_weight, check_scalar, check_X, check_y, encode_labels
from .exceptions import ConvergenceWarning, DivergenceError
from .objective import l2_penalty
from .trainer import _MIN_LR_SCALE, _Plateau

__all__ = ["STRATEGIES", "fit", "round_traffic"]

STRATEGIES = ("average", "gradient")
SOLVERS = ("sgd", "lbfgs")

logger = logging.getLogger("linclf")

_INSTALL_HINT = (
    'linclf.distributed needs dask[array] and distributed: pip install "linclf[dask]" '
    '(or pip install "dask[array]" distributed)'
)
# "adaptive" divides the learning rate by 5 on a plateau, as the Trainer's lr_decay does.
_ADAPTIVE_DECAY = 0.2


def _import_dask() -> tuple[Any, Any]:
    """``(dask.array, distributed)``, or ImportError with the install hint."""
    try:
        import dask.array as da
        import distributed
    except ImportError as exc:
        raise ImportError(f"{_INSTALL_HINT} ({exc})") from exc
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
    n_classes, n_features : int
        C and D of the model.
    n_workers : int
        P, the workers that receive the broadcast model.
    n_chunks : int or None
        K, the row chunks of X (one task each); ``None`` means one per worker.
    strategy : {"average", "gradient"}
    fit_intercept : bool, default True
        Whether the model has the bias b (C more numbers).
    itemsize : int, default 4
        Bytes per number of the training dtype (4 for float32, 8 for float64). Gradient
        partial sums are always float64.

    Returns
    -------
    dict
        ``"to_workers"``: the broadcast, P models; ``"from_workers"``: K models to the
        driver (``"average"``) or K partial sums of M + 2 float64 up the reduction tree,
        an upper bound (``"gradient"``); ``"total"``; ``"tree_depth"``: ⌈log₂ K⌉ for
        ``"gradient"``, 0 for ``"average"``. Pickling adds about a hundred bytes per
        message, left out.

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
    return {
        "to_workers": to_workers,
        "from_workers": from_workers,
        "total": to_workers + from_workers,
        "tree_depth": depth,
    }


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

    See the module docstring for the two strategies, their mathematics, their traffic
    per round and what happens when a worker dies.

    Parameters
    ----------
    estimator : LinearSVM or SoftmaxClassifier
        Its hyperparameters are used (loss, ``reg``, ``learning_rate``, ``momentum``,
        ``nesterov``, ``schedule``, ``batch_size``, ``shuffle``, ``tol``,
        ``n_iter_no_change``, ``class_weight``, ``dtype``, ``fit_intercept``,
        ``warm_start``, ``random_state``); ``standardize`` and ``early_stopping`` are
        refused. Fitted in place and returned.
    X : dask.array.Array of shape (n_samples, n_features)
        Chunked by rows. An X chunked across columns too is rechunked to one column
        chunk (each row chunk then holds all D columns, so mind the chunk size).
    y : dask.array.Array or ndarray of shape (n_samples,)
        Labels of any sortable type, at least two distinct values; rechunked to X's row
        chunks when they differ.
    client : distributed.Client or None
        The cluster to run on; ``None`` uses the current default client
        (``distributed.get_client()``).
    strategy : {"average", "gradient"}, default "average"
        ``"average"``: one local SGD epoch per chunk per round, models averaged.
        ``"gradient"``: one exact full-batch gradient per round.
    solver : {"sgd", "lbfgs"}, default "sgd"
        For ``strategy="gradient"``: an SGD step per round, or L-BFGS-B (one round per
        function evaluation, ``max_rounds`` iterations at most). The hinge is not smooth,
        so L-BFGS-B suits the softmax loss best; in float32 it stops once the rounding of
        the gradient dominates, so prefer ``dtype=np.float64`` with it.
    max_rounds : int or None
        Rounds at most (epochs for ``"average"``, steps for ``"gradient"``, iterations
        for L-BFGS-B); ``None`` is the estimator's ``max_epochs``. The ``tol`` /
        ``n_iter_no_change`` rule may stop earlier, on the round loss.
    sample_weight : dask.array.Array, ndarray or None, shape (n_samples,)
        Non-negative weights, multiplied by ``class_weight``.
    callbacks : sequence of callables
        ``callback(info)`` after every round (every iteration for L-BFGS-B), ``info``
        holding ``round``, ``loss`` and ``seconds``; returning ``True`` stops the fit.

    Returns
    -------
    estimator
        Fitted: ``coef_``, ``intercept_``, ``classes_`` (from ``da.unique(y)``, computed
        once), ``n_features_in_``, ``n_iter_`` (rounds), ``loss_curve_`` (one loss per
        round: the objective at the round's starting model for ``"gradient"``, the mean
        local epoch loss for ``"average"``), ``reg_``.

    Raises
    ------
    ImportError
        When dask or distributed is not installed.
    ValueError
        No client; unknown ``strategy`` or ``solver``; unknown chunk sizes; lengths that
        differ; ``standardize`` or ``early_stopping`` set; invalid data (raised from the
        worker that found it).
    TypeError
        When X is not a dask array, or the estimator is not a linclf classifier.
    DivergenceError
        When a loss or the parameters became non-finite.

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
    ...         clf = LinearSVM(random_state=0, tol=None)
    ...         clf = fit(clf, dX, dy, client=client, max_rounds=5)
    >>> clf.n_iter_, bool(clf.score(X, y) > 0.95)
    (5, True)
    """
    da, distributed = _import_dask()
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {list(STRATEGIES)}, got {strategy!r}")
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {list(SOLVERS)}, got {solver!r}")
    if solver == "lbfgs" and strategy != "gradient":
        raise ValueError("solver='lbfgs' needs strategy='gradient' (full-batch gradients)")
    if not (hasattr(estimator, "_make_trainer") and hasattr(estimator, "_publish")):
        raise TypeError(
            "estimator must be a linclf classifier (LinearSVM or SoftmaxClassifier), got "
            f"{type(estimator).__name__}"
        )
    dtype = estimator._check_params()
    if estimator.standardize:
        raise ValueError(
            "standardize=True is not supported by linclf.distributed: scale the features "
            "beforehand (e.g. with dask_ml.preprocessing.StandardScaler)"
        )
    if estimator.early_stopping:
        raise ValueError("early_stopping=True is not supported by linclf.distributed")
    if max_rounds is None:
        max_rounds = estimator.max_epochs
    check_scalar(max_rounds, "max_rounds", numbers.Integral, low=1)
    client = _resolve_client(client, distributed)

    X, y, sample_weight = _check_collections(da, X, y, sample_weight)
    n_samples, n_features = X.shape
    # One persist for both, so that what X and y share (y computed from X, say) is
    # computed once; the labels are then read from the persisted y.
    X_train = X.map_blocks(_features_block, train_dtype=dtype, dtype=dtype)
    X_train, y = client.persist([X_train, y])
    labels, counts = client.compute(da.unique(y, return_counts=True), sync=True)
    labels = check_y(np.asarray(labels), len(labels))  # NaN labels are refused here
    classes, _ = encode_labels(labels)  # and continuous or single labels here
    n_classes = classes.shape[0]
    per_class = _class_weights(estimator, classes, np.asarray(counts), n_samples)

    y_train = y.map_blocks(_labels_block, classes=classes, dtype=np.intp)
    weights = None
    if sample_weight is not None or per_class is not None:
        args = [y_train] + ([] if sample_weight is None else [sample_weight])
        weights = da.map_blocks(_weights_block, *args, per_class=per_class, dtype=np.float64)
    persisted = client.persist([a for a in (y_train, weights) if a is not None])
    del y  # its chunks are freed once y_train holds the class indices
    chunks = list(
        zip(*(_block_futures(a, distributed) for a in (X_train, *persisted)), strict=True)
    )
    if weights is None:
        chunks = [(x, y_k, None) for x, y_k in chunks]

    template = type(estimator)(**estimator.get_params(deep=False))
    # Cosine annealing spans the rounds; the worker's Trainer runs one epoch regardless.
    template.set_params(max_epochs=max_rounds, verbose=0, random_state=None)
    params = _start_params(estimator, n_classes, n_features, dtype, classes)
    reg = estimator._reg_value(n_samples, n_classes)
    run = _Run(client, chunks, template, reg, uuid.uuid4().hex[:8], callbacks, estimator)

    if strategy == "average":
        optimizer, curve, converged = _fit_average(run, params, max_rounds, estimator)
    elif solver == "sgd":
        optimizer, curve, converged = _fit_gradient_sgd(run, params, max_rounds, estimator)
    else:
        optimizer, curve, converged = _fit_gradient_lbfgs(run, params, max_rounds)
    if not converged and estimator.tol is not None:
        warnings.warn(
            f"linclf.distributed.fit stopped at max_rounds={max_rounds} while the loss was "
            f"still improving by more than tol={estimator.tol}; consider raising max_rounds.",
            ConvergenceWarning,
            stacklevel=2,
        )

    estimator.classes_ = classes
    estimator.n_features_in_ = n_features
    if hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_
    estimator._shift, estimator._scale = None, None
    estimator._params = params
    estimator._optimizer = optimizer
    estimator._rng = np.random.default_rng(estimator.random_state)
    estimator.reg_ = reg
    estimator.n_iter_ = len(curve)
    estimator.loss_curve_ = curve
    estimator._publish()
    return estimator


def _resolve_client(client: Any, distributed: Any) -> Any:
    if client is not None:
        return client
    try:
        return distributed.get_client()
    except ValueError:
        raise ValueError(
            "linclf.distributed.fit found no Dask client: pass client=, or create one first "
            "(distributed.Client(...) becomes the default client)"
        ) from None


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
        if not isinstance(v, da.Array):
            v = np.asarray(v)
            if v.ndim != 1:
                raise ValueError(f"{name} must be 1-D (n_samples,), got shape {v.shape}")
            v = da.from_array(v, chunks=(rows,))
        if v.ndim != 1:
            raise ValueError(f"{name} must be 1-D (n_samples,), got shape {v.shape}")
        if any(math.isnan(c) for c in v.chunks[0]):
            raise ValueError(f"{name} has unknown chunk sizes; call compute_chunk_sizes() first")
        if v.shape[0] != X.shape[0]:
            raise ValueError(
                "Found input variables with inconsistent numbers of samples: "
                f"[{X.shape[0]}, {v.shape[0]}] (X has {X.shape[0]} rows, {name} has "
                f"{v.shape[0]})"
            )
        return v if v.chunks[0] == rows else v.rechunk((rows,))

    y = aligned(y, "y")
    if sample_weight is not None:
        sample_weight = aligned(sample_weight, "sample_weight")
    return X, y, sample_weight


def _class_weights(
    estimator: Any, classes: np.ndarray, counts: np.ndarray, n_samples: int
) -> np.ndarray | None:
    """The per-class factor of the sample weights (None for no class_weight)."""
    cw = estimator.class_weight
    if cw is None:
        return None
    if cw == "balanced":
        return n_samples / (classes.shape[0] * np.maximum(counts.astype(np.float64), 1.0))
    # One row per class through the estimator's own dict validation (names the bad label).
    previous = getattr(estimator, "classes_", None)
    estimator.classes_ = classes
    try:
        index = np.arange(classes.shape[0])
        return estimator._weights(index, None, classes.shape[0], partial=True)
    finally:
        if previous is None:
            del estimator.classes_
        else:
            estimator.classes_ = previous


def _block_futures(array: Any, distributed: Any) -> list[Any]:
    """The futures of a persisted array's blocks, in row order."""
    from dask.core import flatten

    by_key = {future.key: future for future in distributed.futures_of(array)}
    return [by_key[key] for key in flatten(array.__dask_keys__())]


def _features_block(block: np.ndarray, train_dtype: np.dtype) -> np.ndarray:
    # Runs on a worker: the same checks as the estimators' (finite, numeric, fits dtype).
    return check_X(np.asarray(block), dtype=train_dtype, name="X", order="C")


def _labels_block(block: np.ndarray, classes: np.ndarray) -> np.ndarray:
    return np.searchsorted(classes, np.asarray(block)).astype(np.intp)


def _weights_block(
    y_index: np.ndarray, sample_weight: np.ndarray | None = None, *, per_class: Any = None
) -> np.ndarray:
    weights = check_sample_weight(sample_weight, y_index.shape[0])
    if weights is None:
        weights = np.ones(y_index.shape[0])
    return weights if per_class is None else weights * per_class[y_index]


def _start_params(
    estimator: Any, n_classes: int, n_features: int, dtype: np.dtype, classes: np.ndarray
) -> dict[str, np.ndarray | None]:
    old = getattr(estimator, "_params", None)
    warm = (
        estimator.warm_start
        and old is not None
        and np.array_equal(classes, estimator.classes_)
        and old["W"].shape == (n_classes, n_features)
        and old["W"].dtype == dtype
    )
    if warm:
        return {"W": old["W"].copy(), "b": None if old["b"] is None else old["b"].copy()}
    return estimator._zero_params(n_classes, n_features, dtype)


class _Run:
    """What every round needs: the cluster, the persisted chunks, the settings, the seeds."""

    def __init__(
        self,
        client: Any,
        chunks: list[tuple[Any, Any, Any]],
        template: Any,
        reg: float,
        run_id: str,
        callbacks: Sequence[Callable[[Mapping[str, Any]], Any]],
        estimator: Any,
    ) -> None:
        self.client = client
        self.chunks = chunks
        self.template = template
        self.reg = reg
        self.run_id = run_id
        self.callbacks = tuple(callbacks)
        self.verbose = estimator.verbose
        self.loss = template._loss
        self.loss_params = template._loss_params()
        self.seed = _base_seed(estimator.random_state)
        self.rounds = 0  # broadcasts so far (L-BFGS-B may take several per iteration)

    def broadcast(self, params: Mapping[str, np.ndarray | None]) -> Any:
        """One copy of the parameters on every worker; a future naming them."""
        # A list of one dict: scatter would send each value of a bare dict under its own key.
        return self.client.scatter([dict(params)], broadcast=True)[0]

    def key(self, what: str, index: int) -> str:
        return f"linclf-{what}-r{self.rounds}-c{index}-{self.run_id}"

    def report(self, round_index: int, loss: float, seconds: float) -> bool:
        """Log and run the callbacks; True when one asks to stop."""
        info = {"round": round_index, "loss": loss, "seconds": seconds}
        if self.verbose:
            logger.info("round %d  loss %.6f  (%.3f s)", round_index, loss, seconds)
        return any(callback(info) is True for callback in self.callbacks)


def _base_seed(random_state: Any) -> int:
    """The entropy every chunk seed derives from: fixed by an int, drawn once otherwise."""
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**63))
    if random_state is None:
        return int(np.random.SeedSequence().entropy)
    return int(random_state)


def _stopping(estimator: Any) -> Callable[[float, Any], bool]:
    """The Trainer's tol rule on round losses; "adaptive" decays the rate before stopping.

    Returns ``update(loss, scale) -> converged``, where ``scale(factor)`` multiplies the
    learning rate.
    """
    plateau = _Plateau(estimator.tol, estimator.n_iter_no_change, higher_is_better=False)
    state = {"lr_scale": 1.0}

    def update(loss: float, scale: Callable[[float], None]) -> bool:
        _, patience_out = plateau.update(loss)
        if (
            patience_out
            and estimator.schedule == "adaptive"
            and state["lr_scale"] * _ADAPTIVE_DECAY >= _MIN_LR_SCALE
        ):
            state["lr_scale"] *= _ADAPTIVE_DECAY
            scale(_ADAPTIVE_DECAY)
            plateau.bad_epochs = 0
            return False
        return patience_out

    return update


def _fit_average(
    run: _Run, params: dict[str, np.ndarray | None], max_rounds: int, estimator: Any
) -> tuple[Any, list[float], bool]:
    client = run.client
    template = client.scatter([run.template], broadcast=True)[0]
    update = _stopping(estimator)
    lr_scale = [1.0]  # the driver's "adaptive" decay, sent to every chunk's optimizer

    def scale(factor: float) -> None:
        lr_scale[0] *= factor

    curve: list[float] = []
    converged = False
    for round_index in range(max_rounds):
        started = time.perf_counter()
        shared = run.broadcast(params)
        tasks = [
            client.submit(
                _local_epoch,
                template,
                shared,
                X_k,
                y_k,
                w_k,
                reg=run.reg,
                seed=(run.seed, round_index, k),
                round_index=round_index,
                lr_scale=lr_scale[0],
                key=run.key("average", k),
            )
            for k, (X_k, y_k, w_k) in enumerate(run.chunks)
        ]
        results = [r for r in client.gather(tasks) if r is not None]  # in chunk order
        del shared, tasks
        run.rounds += 1
        if not results:
            raise ValueError("every chunk has a total sample weight of 0")
        total = math.fsum(r["weight"] for r in results)
        with np.errstate(over="ignore", invalid="ignore"):  # judged just below
            for name in ("W", "b"):
                if params[name] is None:
                    continue
                mixed = np.zeros(params[name].shape, dtype=np.float64)
                for r in results:
                    mixed += (r["weight"] / total) * r[name]
                params[name][...] = mixed  # back to the training dtype
        loss = math.fsum(r["weight"] * r["loss"] for r in results) / total
        if not (math.isfinite(loss) and _finite(params)):
            raise DivergenceError(
                f"Training diverged in round {round_index + 1}: the averaged model is not "
                "finite; the estimator was left unchanged. Try a lower learning_rate or "
                "standardize the features."
            )
        curve.append(loss)
        converged = update(loss, scale)
        stop = run.report(round_index + 1, loss, time.perf_counter() - started)
        if converged or stop:
            converged = True
            break
    optimizer = estimator._make_optimizer()
    return optimizer, curve, converged


def _local_epoch(
    template: Any,
    params: Mapping[str, np.ndarray | None],
    X: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray | None,
    *,
    reg: float,
    seed: tuple[int, int, int],
    round_index: int,
    lr_scale: float,
) -> dict[str, Any] | None:
    """On a worker: one SGD epoch over one chunk from the broadcast parameters.

    The chunk's generator is seeded by (base seed, round, chunk), so a rerun after a
    worker failure repeats the same epoch bit for bit.
    """
    weight = X.shape[0] if sample_weight is None else float(np.sum(sample_weight))
    if weight == 0.0:
        return None
    base, round_seed, chunk = seed
    rng = np.random.default_rng(np.random.SeedSequence(base, spawn_key=(round_seed, chunk)))
    optimizer = template._make_optimizer()
    # Place the schedule where a sequential fit would be at this epoch.
    state = optimizer.state_dict()
    batches = -(-X.shape[0] // min(template.batch_size, X.shape[0]))
    state.update(epoch=round_index, t=round_index * batches, lr_scale=lr_scale)
    optimizer.load_state_dict(state)
    trainer = template._make_trainer(
        optimizer, rng, reg, max_epochs=1, tol=None, early_stopping=False, lr_decay=None
    )
    local = {name: None if p is None else p.copy() for name, p in params.items()}
    trainer.fit(local, X, y, sample_weight)
    return {**local, "weight": weight, "loss": trainer.history_["loss"][0]}


def _chunk_gradient(
    params: Mapping[str, np.ndarray | None],
    X: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray | None,
    *,
    loss: str,
    loss_params: Mapping[str, Any],
) -> tuple[float, np.ndarray, np.ndarray | None, float]:
    """On a worker: the chunk's sums (Σ w L, Σ w ∂L/∂W, Σ w ∂L/∂b, Σ w), in float64."""
    W = params["W"]
    weight = X.shape[0] if sample_weight is None else float(np.sum(sample_weight))
    if weight == 0.0:
        zeros_b = None if params["b"] is None else np.zeros(W.shape[0])
        return 0.0, np.zeros(W.shape), zeros_b, 0.0
    objective = LinearObjective(loss, reg=0.0, **loss_params)
    with np.errstate(over="ignore", invalid="ignore"):  # judged by the driver
        mean_loss, grads = objective.loss_grad(params, X, y, sample_weight)
        # The core returns weighted means: times the weight total, they become sums.
        dW = np.multiply(grads["W"], weight, dtype=np.float64)
        db = None if grads["b"] is None else np.multiply(grads["b"], weight, dtype=np.float64)
    return mean_loss * weight, dW, db, float(weight)


def _add_sums(left: tuple, right: tuple) -> tuple:
    """On a worker: one node of the reduction tree."""
    db = None if left[2] is None else left[2] + right[2]
    return left[0] + right[0], left[1] + right[1], db, left[3] + right[3]


def _tree_sum(run: _Run, parts: list[Any]) -> Any:
    """Sum futures pairwise, level by level: (0+1)+(2+3)... a fixed order, depth ⌈log₂K⌉."""
    level = 0
    while len(parts) > 1:
        paired = [
            run.client.submit(_add_sums, parts[i], parts[i + 1], key=run.key(f"sum{level}", i // 2))
            for i in range(0, len(parts) - 1, 2)
        ]
        if len(parts) % 2:
            paired.append(parts[-1])
        parts = paired
        level += 1
    return parts[0]


def _full_gradient(
    run: _Run, params: Mapping[str, np.ndarray | None]
) -> tuple[float, np.ndarray, np.ndarray | None]:
    """One round: objective and gradient on all the data at ``params``, in float64."""
    shared = run.broadcast(params)
    parts = [
        run.client.submit(
            _chunk_gradient,
            shared,
            X_k,
            y_k,
            w_k,
            loss=run.loss,
            loss_params=run.loss_params,
            key=run.key("gradient", k),
        )
        for k, (X_k, y_k, w_k) in enumerate(run.chunks)
    ]
    loss_sum, dW_sum, db_sum, weight = _tree_sum(run, parts).result()
    run.rounds += 1
    if weight == 0.0:
        raise ValueError("every chunk has a total sample weight of 0")
    W = params["W"].astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # the caller judges finiteness
        penalty, dW_penalty = l2_penalty(W, run.reg)
        dW = dW_sum / weight
        if dW_penalty is not None:
            dW += dW_penalty
        db = None if db_sum is None else db_sum / weight
        return loss_sum / weight + penalty, dW, db


def _fit_gradient_sgd(
    run: _Run, params: dict[str, np.ndarray | None], max_rounds: int, estimator: Any
) -> tuple[Any, list[float], bool]:
    optimizer = run.template._make_optimizer()
    update = _stopping(estimator)
    curve: list[float] = []
    converged = False
    for round_index in range(max_rounds):
        started = time.perf_counter()
        loss, dW, db = _full_gradient(run, params)
        if not (math.isfinite(loss) and np.isfinite(np.sum(dW))):
            raise DivergenceError(
                f"Training diverged in round {round_index + 1}: the loss is {loss}; the "
                "estimator was left unchanged. Try a lower learning_rate or standardize "
                "the features."
            )
        # A diverging step may overflow the training dtype: the next round's loss says so.
        with np.errstate(over="ignore", invalid="ignore"):
            grads = {
                "W": dW.astype(params["W"].dtype),
                "b": None if db is None else db.astype(params["b"].dtype),
            }
            optimizer.step(params, grads)
        optimizer.epoch_end()  # a round is an epoch for the schedule
        curve.append(loss)
        converged = update(loss, optimizer.scale_learning_rate)
        stop = run.report(round_index + 1, loss, time.perf_counter() - started)
        if converged or stop:
            converged = True
            break
    return optimizer, curve, converged


class _Stop(Exception):
    """Raised inside SciPy's callback when a user callback asks to stop."""


def _fit_gradient_lbfgs(
    run: _Run, params: dict[str, np.ndarray | None], max_rounds: int
) -> tuple[Any, list[float], bool]:
    from scipy.optimize import minimize

    W, b = params["W"], params["b"]
    size = W.size

    def unpack(x: np.ndarray) -> dict[str, np.ndarray | None]:
        return {
            "W": x[:size].reshape(W.shape).astype(W.dtype),
            "b": None if b is None else x[size:].astype(b.dtype),
        }

    evaluated: list[tuple[np.ndarray, float]] = []

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        loss, dW, db = _full_gradient(run, unpack(x))
        evaluated.append((x.copy(), loss))
        grad = dW.ravel() if db is None else np.concatenate([dW.ravel(), db])
        return loss, grad

    curve: list[float] = []
    last = {"x": None, "time": time.perf_counter()}

    def callback(xk: np.ndarray) -> None:
        # The loss at the accepted point: SciPy evaluated it during the line search (one
        # more round only if it did not).
        found = (value for x, value in reversed(evaluated) if np.array_equal(x, xk))
        loss = next(found, None)
        if loss is None:
            loss = objective(xk)[0]
        curve.append(loss)
        last["x"] = xk.copy()
        now = time.perf_counter()
        stop = run.report(len(curve), loss, now - last["time"])
        last["time"] = now
        if stop:
            raise _Stop

    x0 = np.concatenate([W.ravel(), [] if b is None else b]).astype(np.float64)
    converged = True
    try:
        result = minimize(
            objective,
            x0,
            jac=True,
            method="L-BFGS-B",
            callback=callback,
            options={"maxiter": max_rounds},
        )
        x = result.x
        converged = result.status != 1  # 1: the iteration limit was reached
        if not result.success and result.status != 1:
            logger.info("L-BFGS-B stopped: %s", result.message)
    except _Stop:
        x = last["x"]
    if not np.all(np.isfinite(x)):
        raise DivergenceError("L-BFGS-B produced non-finite parameters")
    for name, value in unpack(x).items():
        if value is not None:
            params[name][...] = value
    return run.template._make_optimizer(), curve, converged


def _finite(params: Mapping[str, np.ndarray | None]) -> bool:
    return all(np.isfinite(np.sum(p, dtype=np.float64)) for p in params.values() if p is not None)
