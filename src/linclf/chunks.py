r"""Training on row chunks with any engine: the work of one chunk, and the merge.

A driver holds the model; the chunks stay where they lie (a Dask worker, a Ray actor, a
Spark partition, a file). Every function here is pure: given its arguments it returns
the same numbers, bit for bit, wherever it runs. :func:`linclf.distributed.fit` is a Dask
driver of these functions; docs/chunks.md drives them from a plain Python loop.

Chunk ``k`` is a tuple ``(X_k, y_k, w_k)``: ``X_k`` of shape (n_k, D), ``y_k`` (n_k,),
``w_k`` (n_k,) float64 or None (every row weighs 1). Its weight is
:math:`m_k = \sum_i w_{ki}` (``n_k`` without weights). The model is
``{"W": (C, D), "b": (C,) or None}`` in the training dtype.

1. On each chunk: ``chunk = check_chunk(plan, X_k, y_k, w_k)``, ``summarize(chunk)``.
2. On the driver: ``plan = ChunkPlan.from_estimator(estimator).for_dtype(dtype)``, then
   ``plan = plan.with_summaries(summaries)`` (classes, class weights, λ, seed).
3. On each chunk: ``encode_chunk(plan, chunk)``; drop chunks of :func:`chunk_weight` 0.
4. Each round, ``"average"``: ``merge([local_epoch(plan, params, chunk_k, ...)])``;
   ``"gradient"``: add the :func:`gradient_sums` of the chunks (in any tree), then
   :func:`loss_and_gradient` and an optimizer step (``plan.make_optimizer()``).
5. ``finish(estimator, plan, params, loss_curve)``: the fitted estimator.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from . import _validation
from ._fitting.plan import FitPlan, make_plan
from ._fitting.state import FittedModel
from ._fitting.weights import class_weight_factors
from .losses import l2_penalty

# linclf.estimator is imported by the driver-side functions that need it, not here: the
# workers import this module to run the per-chunk functions, and the estimators import
# scikit-learn when it is installed (a worker's resident memory: 256 MiB against 150 MiB).

__all__ = [
    "ChunkModel",
    "ChunkPlan",
    "ChunkSummary",
    "check_chunk",
    "chunk_weight",
    "encode_chunk",
    "finish",
    "gradient_sums",
    "local_epoch",
    "loss_and_gradient",
    "merge",
    "summarize",
    "unflatten",
]

Params = dict[str, np.ndarray | None]  # {"W": (C, D), "b": (C,) or None}
Chunk = tuple[Any, np.ndarray, np.ndarray | None]  # (X_k, y_k, w_k)


@dataclass(frozen=True)
class ChunkSummary:
    """What the driver needs to know of one chunk: its labels and weights.

    Attributes
    ----------
    labels, counts : ndarray of shape (L,)
        The chunk's sorted distinct labels and how many rows hold each (int64).
    weight_sum, largest_weight : float or None
        ``Σ w_ki`` (inf if it overflows) and ``max w_ki``; None without weights.
    """

    labels: np.ndarray
    counts: np.ndarray
    weight_sum: float | None
    largest_weight: float | None


@dataclass(frozen=True)
class ChunkModel:
    """One chunk's model after :func:`local_epoch`.

    Attributes
    ----------
    params : dict
        ``{"W": (C, D), "b": (C,) or None}`` in the training dtype.
    weight : float
        The chunk's weight :math:`m_k`, its share in :func:`merge`.
    loss : float
        The weighted mean objective of the epoch's minibatches.
    """

    params: Params
    weight: float
    loss: float


@dataclass(frozen=True)
class ChunkPlan:
    """An estimator's hyperparameters for chunked training, then what all chunks share.

    A few hundred bytes: it goes with every chunk's task. Build it with
    :meth:`from_estimator`, :meth:`for_dtype` and :meth:`with_summaries`.

    Attributes
    ----------
    settings : object
        The estimator's checked hyperparameters (what :meth:`make_optimizer` reads).
    max_rounds : int
        Rounds of training; a cosine schedule spans them.
    verbose : int
        The estimator's ``verbose``, for the driver to show rounds with.
    classes : ndarray of shape (C,) or None
        The sorted labels of all the chunks (None before :meth:`with_summaries`).
    class_factors : ndarray of shape (C,) or None
        ``class_weight``'s factor per class, from the counts of all the chunks.
    weight_divisor : float or None
        What every sample weight is divided by when their total overflows float64.
    n_samples : int or None
        The rows of all the chunks.
    seed : int or None
        The entropy of every chunk's shuffling seed (from ``random_state``).
    """

    settings: FitPlan
    max_rounds: int
    verbose: int = 0
    classes: np.ndarray | None = None
    class_factors: np.ndarray | None = None
    weight_divisor: float | None = None
    n_samples: int | None = None
    seed: int | None = None

    @classmethod
    def from_estimator(cls, estimator: Any, *, max_rounds: Any = None) -> ChunkPlan:
        """The plan of ``estimator``'s hyperparameters, checked before any chunk is read.

        Parameters
        ----------
        estimator : LinearSVM or SoftmaxClassifier
            Its ``standardize=True`` and ``early_stopping=True`` are refused.
        max_rounds : int or None, default None
            Rounds of training at least 1; ``None`` is the estimator's ``max_epochs``.

        Returns
        -------
        ChunkPlan
            Without the data's classes yet.

        Raises
        ------
        TypeError, ValueError
            Naming the estimator or the hyperparameter that cannot train on chunks.
        """
        from .estimator import LinearSVM, SoftmaxClassifier

        if not isinstance(estimator, LinearSVM | SoftmaxClassifier):
            raise TypeError(
                "estimator must be a linclf classifier (LinearSVM or SoftmaxClassifier), got "
                f"{type(estimator).__name__}"
            )
        plan = make_plan(estimator)  # batch_size, learning_rate...: what each chunk runs
        if plan.standardize is True:
            raise ValueError(
                "standardize=True is not supported by linclf.distributed or linclf.chunks: "
                "scale the features beforehand (e.g. with dask_ml.preprocessing.StandardScaler)"
            )
        if plan.early_stopping:
            raise ValueError(
                "early_stopping=True is not supported by linclf.distributed or linclf.chunks"
            )
        max_rounds = plan.limits("sgd")[1] if max_rounds is None else max_rounds
        _validation.check_scalar(max_rounds, "max_rounds", numbers.Integral, low=1)
        return cls(plan, int(max_rounds), verbose=plan.verbose)

    def for_dtype(self, dtype: Any) -> ChunkPlan:
        """The plan training in ``dtype``'s float type under ``dtype="auto"``, as ``fit`` does
        (float32 and float64 train in their own dtype, others in float64).

        Parameters
        ----------
        dtype : numpy dtype
            The dtype of X.

        Returns
        -------
        ChunkPlan
            With :attr:`dtype` resolved.
        """
        return replace(self, settings=self.settings.for_data(dtype))

    def with_summaries(self, summaries: Sequence[ChunkSummary]) -> ChunkPlan:
        r"""The plan with what all the chunks share: classes, class factors, λ and seed.

        Parameters
        ----------
        summaries : sequence of ChunkSummary
            :func:`summarize` of every chunk, in any order.

        Returns
        -------
        ChunkPlan
            Ready for :func:`encode_chunk` and the rounds; ``reg="auto"`` resolved for
            :math:`N = \sum_k n_k` rows, the seed drawn once (fixed by an int
            ``random_state``).

        Raises
        ------
        ValueError
            No summaries, a plan that has them already, fewer than two distinct labels, or
            continuous ones.
        """
        if self.classes is not None:
            raise ValueError("this plan has its summaries: call with_summaries once, on the plan")
        if len(summaries) == 0:
            raise ValueError("summaries must hold a ChunkSummary per chunk, got none")
        labels = np.concatenate([s.labels for s in summaries])
        classes, index = _validation.encode_labels(labels)  # continuous or single refused
        counts = np.bincount(index, np.concatenate([s.counts for s in summaries]))
        # "balanced" from the class counts of all the chunks, not of each one.
        factors = class_weight_factors(self.settings.class_weight, classes, counts)
        divisor = None
        if summaries[0].weight_sum is not None:  # as check_sample_weight, over all chunks
            with np.errstate(over="ignore"):
                total = np.sum([s.weight_sum for s in summaries])
            divisor = None if np.isfinite(total) else max(s.largest_weight for s in summaries)
        n_samples = int(sum(int(np.sum(s.counts)) for s in summaries))
        reg = self.settings.reg_for(n_samples, classes.shape[0])
        seed = _base_seed(self.settings.random_state)
        # The chunk's Trainer runs one epoch, silently, seeded by the plan's seed.
        rounds = dict(reg=reg, max_epochs=self.max_rounds, verbose=0, random_state=None)
        settings = replace(self.settings, **rounds)
        return replace(
            self,
            settings=settings,
            classes=classes,
            class_factors=factors,
            weight_divisor=divisor,
            n_samples=n_samples,
            seed=seed,
        )

    @property
    def dtype(self) -> np.dtype | None:
        """The training dtype (None: ``"auto"`` before :meth:`for_dtype`)."""
        return self.settings.dtype

    @property
    def reg(self) -> float:
        r"""λ of the penalty :math:`\lambda \|W\|^2` (resolved by :meth:`with_summaries`)."""
        return self.settings.reg

    @property
    def tol(self) -> float | None:
        """The stopping rule's ``tol`` on the round losses (None: never stop early)."""
        return self.settings.limits("sgd")[0]

    def make_optimizer(self) -> Any:
        """A fresh :class:`linclf.SGD` of the estimator's rate, momentum and schedule."""
        return self.settings.make_optimizer()

    def stopping_rule(self) -> Any:
        """The estimator's ``tol`` / ``n_iter_no_change`` rule on the round losses: its
        ``update(loss, lr_scale)`` says ``.decay`` (multiply the rate) and ``.stop``."""
        return self.settings.make_plateau()

    def start_params(self, n_features: int, estimator: Any = None) -> Params:
        """Zeros, or with ``warm_start`` the rows of ``estimator``'s model when it has the
        same classes, shape and dtype (copies).

        Parameters
        ----------
        n_features : int
            D, the columns of X.
        estimator : LinearSVM, SoftmaxClassifier or None
            The estimator whose previous model ``warm_start`` continues from.

        Returns
        -------
        dict
            ``{"W": (C, D), "b": (C,) or None}`` in the training dtype.
        """
        shape = (self.classes.shape[0], n_features)
        if self.settings.warm_start and hasattr(estimator, "coef_"):
            from .estimator import fitted_state

            old = fitted_state(estimator)
            same = (old.W.shape, old.W.dtype) == (shape, self.dtype)
            if same and np.array_equal(self.classes, old.classes):
                return {"W": old.W.copy(), "b": None if old.b is None else old.b.copy()}
        return self.settings.zero_params(*shape)


def _base_seed(random_state: Any) -> int:
    """The entropy every chunk seed derives from: fixed by an int, drawn once otherwise."""
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**63))
    return int(np.random.SeedSequence(random_state).entropy)  # an int is its own entropy


_POSITION = re.compile(r"\b(row|rows from|index) (\d+)")


def check_chunk(
    plan: ChunkPlan, X: Any, y: Any, sample_weight: Any = None, *, start: int = 0
) -> Chunk:
    """The chunk of rows ``[start, start + n_k)`` checked as ``fit`` checks its data.

    Parameters
    ----------
    plan : ChunkPlan
        Its training dtype (after :meth:`ChunkPlan.for_dtype`).
    X : array_like of shape (n_k, D)
        Finite numbers.
    y : array_like of shape (n_k,)
        Labels.
    sample_weight : array_like of shape (n_k,) or None, default None
        Non-negative finite weights; all zeros is valid here (judged over all chunks).
    start : int, default 0
        The chunk's first row in the whole of X: the positions in the messages.

    Returns
    -------
    tuple
        ``(X, y, w)``: X C-ordered in the training dtype, y an ndarray, w float64 or None.

    Raises
    ------
    ValueError
        Naming the bad row of the whole X and the chunk's rows.
    """
    try:
        X = _validation.check_X(np.asarray(X), dtype=plan.dtype, name="X", order="C")
        y = _validation.check_y(np.asarray(y), X.shape[0])
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight)
            if not (sample_weight.dtype.kind in "iuf" and not np.any(sample_weight)):
                _validation.check_sample_weight(sample_weight, X.shape[0])
            sample_weight = sample_weight.astype(np.float64)
    except ValueError as exc:
        last = start + len(X) - 1
        where = f"{str(exc).rstrip('.')}; counted in X's chunk of rows {start} to {last}"
        raise ValueError(_POSITION.sub(lambda m: f"{m[1]} {start + int(m[2])}", where)) from None
    return X, y, sample_weight


def summarize(chunk: Chunk) -> ChunkSummary:
    """The chunk's labels, label counts and weight total, for :meth:`ChunkPlan.with_summaries`.

    Parameters
    ----------
    chunk : tuple
        ``(X_k, y_k, w_k)`` from :func:`check_chunk`.

    Returns
    -------
    ChunkSummary
        Its labels, their counts, ``Σ w`` and ``max w``.

    Raises
    ------
    ValueError
        Labels that cannot be sorted.
    """
    _, y, weights = chunk
    try:
        labels, index = np.unique(y, return_inverse=True)
    except TypeError:
        _validation.encode_labels(y)  # raises its ValueError for labels that cannot be sorted
        raise
    counts = np.bincount(index.reshape(-1), minlength=labels.shape[0])
    if weights is None:
        return ChunkSummary(labels, counts, None, None)
    with np.errstate(over="ignore"):  # an overflowing total is judged on the driver
        return ChunkSummary(labels, counts, np.sum(weights), np.max(weights))


def encode_chunk(plan: ChunkPlan, chunk: Chunk) -> Chunk:
    r"""The chunk as the rounds read it: class indices, weights times the class factors.

    Parameters
    ----------
    plan : ChunkPlan
        After :meth:`ChunkPlan.with_summaries`.
    chunk : tuple
        ``(X_k, y_k, w_k)`` from :func:`check_chunk`.

    Returns
    -------
    tuple
        ``(X_k, c_k, v_k)``: ``c_k`` the intp class index of each label in
        ``plan.classes``, :math:`v_{ki} = (w_{ki} / d) \, f_{c_{ki}}` (``d`` the weight
        divisor, ``f`` the class factors; None when neither applies and there are no w).
    """
    X, y, weights = chunk
    y = _validation.index_labels(y, plan.classes)
    if weights is not None and plan.weight_divisor is not None:
        weights = weights / plan.weight_divisor
    if plan.class_factors is not None:
        weights = (np.ones(len(y)) if weights is None else weights) * plan.class_factors[y]
    return X, y, weights


def chunk_weight(chunk: Chunk) -> float:
    r"""The chunk's weight :math:`m_k = \sum_i w_{ki}`, or its rows ``n_k`` without weights.

    Parameters
    ----------
    chunk : tuple
        ``(X_k, y_k, w_k)``.

    Returns
    -------
    float
        :math:`m_k`.
    """
    X, _, weights = chunk
    return float(X.shape[0]) if weights is None else float(np.sum(weights))


def local_epoch(
    plan: ChunkPlan,
    params: Params,
    chunk: Chunk,
    *,
    round_index: int,
    chunk_index: int,
    lr_scale: float = 1.0,
) -> ChunkModel:
    """One SGD epoch over an encoded chunk from ``params``, as a single machine's fit runs it.

    Parameters
    ----------
    plan : ChunkPlan
        After :meth:`ChunkPlan.with_summaries`.
    params : dict
        ``{"W": (C, D), "b": (C,) or None}``; not modified.
    chunk : tuple
        ``(X_k, c_k, v_k)`` from :func:`encode_chunk`.
    round_index, chunk_index : int
        r and k: the minibatch order is shuffled by ``SeedSequence(plan.seed,
        spawn_key=(r, k))``, and the schedule stands where a sequential fit's would at
        epoch r (``t = r ⌈n_k / batch_size⌉`` steps done).
    lr_scale : float, default 1.0
        The stopping rule's decay of the rate so far.

    Returns
    -------
    ChunkModel
        The chunk's new parameters, its weight :math:`m_k` and its epoch's mean objective.

    Examples
    --------
    >>> import numpy as np; from linclf import LinearSVM; from linclf import chunks
    >>> X = np.random.default_rng(0).normal(size=(40, 3)); y = (X[:, 0] > 0) * 1
    >>> plan = chunks.ChunkPlan.from_estimator(LinearSVM(random_state=0)).for_dtype(X.dtype)
    >>> chunk = chunks.check_chunk(plan, X, y)
    >>> plan = plan.with_summaries([chunks.summarize(chunk)])
    >>> chunk = chunks.encode_chunk(plan, chunk)
    >>> model = chunks.local_epoch(
    ...     plan, plan.start_params(3), chunk, round_index=0, chunk_index=0)
    >>> model.params["W"].shape, model.weight
    ((2, 3), 40.0)
    """
    X, y, weights = chunk
    settings = plan.settings
    rng = np.random.default_rng(
        np.random.SeedSequence(plan.seed, spawn_key=(round_index, chunk_index))
    )
    optimizer = settings.make_optimizer()
    # Place the schedule where a sequential fit would be at this epoch.
    state = optimizer.state_dict()
    batches = -(-X.shape[0] // min(settings.batch_size, X.shape[0]))
    state.update(epoch=round_index, t=round_index * batches, lr_scale=lr_scale)
    optimizer.load_state_dict(state)
    trainer = settings.make_trainer(
        optimizer, rng, settings.reg, max_epochs=1, tol=None, early_stopping=False, lr_decay=None
    )
    local = {name: None if p is None else p.copy() for name, p in params.items()}
    # The chunk was validated once, by check_chunk.
    trainer.fit_data(local, _validation.TrainingData(X, y, local["W"].shape[0], weights))
    return ChunkModel(local, chunk_weight(chunk), trainer.history_["loss"][0])


def merge(models: Sequence[ChunkModel]) -> tuple[Params, float]:
    r"""The weighted mean of the chunks' models and of their losses.

    Parameters
    ----------
    models : sequence of ChunkModel
        At least one, all of the same shapes; the order sets the float64 summation order.

    Returns
    -------
    params : dict
        :math:`\theta = \sum_k (m_k / M)\, \theta_k` with :math:`M = \sum_k m_k`
        (exactly summed), for W and b, in float64 and then rounded to their dtype.
    loss : float
        :math:`\sum_k m_k L_k / M`.

    Raises
    ------
    ValueError
        No models.

    Examples
    --------
    >>> import numpy as np; from linclf.chunks import ChunkModel, merge
    >>> a = ChunkModel({"W": np.zeros((1, 2)), "b": None}, 1.0, 2.0)
    >>> b = ChunkModel({"W": np.ones((1, 2)), "b": None}, 3.0, 6.0)
    >>> merge([a, b])
    ({'W': array([[0.75, 0.75]]), 'b': None}, 5.0)
    """
    if len(models) == 0:
        raise ValueError("models must hold at least one ChunkModel, got none")
    total, merged = math.fsum(m.weight for m in models), {}
    with np.errstate(over="ignore", invalid="ignore"):  # the driver judges finiteness
        for name, first in models[0].params.items():
            terms = ((m.weight / total) * m.params[name] for m in models)
            # Each term in its own dtype, their sum in float64 (the zeros), then rounded.
            merged[name] = None if first is None else sum(terms, np.zeros(first.shape))
            if first is not None:
                merged[name] = merged[name].astype(first.dtype)
    return merged, math.fsum(m.weight * m.loss for m in models) / total


def gradient_sums(plan: ChunkPlan, params: Params, chunk: Chunk) -> np.ndarray:
    r"""The chunk's weighted sums of the unpenalized loss and its gradient, to be added.

    Parameters
    ----------
    plan : ChunkPlan
        After :meth:`ChunkPlan.with_summaries`.
    params : dict
        ``{"W": (C, D), "b": (C,) or None}``.
    chunk : tuple
        ``(X_k, c_k, v_k)`` from :func:`encode_chunk`.

    Returns
    -------
    ndarray of shape (C D + C + 2,) or (C D + 2,), float64
        :math:`[\sum_i v_i L_i,\ \sum_i v_i \partial L_i/\partial W,\
        \sum_i v_i \partial L_i/\partial b,\ \sum_i v_i]` (``v_i = 1`` without
        weights): sums of chunks add up to the sums of their union.
    """
    X, y, weights = chunk
    weight = chunk_weight(chunk)
    with np.errstate(over="ignore", invalid="ignore"):  # judged by the driver
        mean_loss, grads = plan.settings.objective(0.0).loss_grad(params, X, y, weights)
        # The core returns weighted means: times the weight total, they become sums.
        means = [[mean_loss], grads["W"].ravel(), [] if grads["b"] is None else grads["b"]]
        return np.multiply(np.concatenate([*means, [1.0]]), weight, dtype=np.float64)


def loss_and_gradient(
    plan: ChunkPlan, params: Params, sums: np.ndarray
) -> tuple[float, np.ndarray]:
    r"""The objective and its gradient at ``params`` from the :func:`gradient_sums` of all chunks.

    Parameters
    ----------
    plan : ChunkPlan
        Its λ.
    params : dict
        ``{"W": (C, D), "b": (C,) or None}``: where the sums were taken.
    sums : ndarray of shape (M + 2,), float64
        The sum of every chunk's :func:`gradient_sums` (M parameters).

    Returns
    -------
    loss : float
        :math:`J = \sum_i v_i L_i / \sum_i v_i + \lambda \|W\|^2`.
    gradient : ndarray of shape (M,), float64
        :math:`\nabla J`, W's entries (row-major) then b's; :func:`unflatten` splits it.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # the caller judges finiteness
        penalty, dW_penalty = l2_penalty(params["W"].astype(np.float64), plan.reg)
        gradient = sums[1:-1] / sums[-1]
        if dW_penalty is not None:
            gradient[: params["W"].size] += dW_penalty.ravel()
        return float(sums[0] / sums[-1] + penalty), gradient


def unflatten(x: np.ndarray, like: Params) -> Params:
    """The flat float64 ``[W, b]`` as arrays of the shapes and dtypes of ``like``.

    Parameters
    ----------
    x : ndarray of shape (M,)
        W's entries (row-major), then b's.
    like : dict
        ``{"W": (C, D), "b": (C,) or None}``.

    Returns
    -------
    dict
        New arrays ``{"W", "b"}``.
    """
    W, b = like["W"], like["b"]
    b_x = None if b is None else x[W.size :].astype(b.dtype)
    return {"W": x[: W.size].reshape(W.shape).astype(W.dtype), "b": b_x}


def finish(
    estimator: Any,
    plan: ChunkPlan,
    params: Params,
    loss_curve: Sequence[float],
    optimizer: Any = None,
) -> Any:
    """Make ``estimator`` fitted with the trained ``params``, as its own ``fit`` would.

    Parameters
    ----------
    estimator : LinearSVM or SoftmaxClassifier
        The estimator the plan was made from.
    plan : ChunkPlan
        After :meth:`ChunkPlan.with_summaries`: classes and λ.
    params : dict
        ``{"W": (C, D), "b": (C,) or None}``.
    loss_curve : sequence of float
        A loss per round: ``loss_curve_``, and ``n_iter_`` its length.
    optimizer : SGD or None, default None
        The state ``partial_fit`` continues from (None: a fresh one).

    Returns
    -------
    estimator
        Fitted: ``coef_``, ``intercept_``, ``classes_``, ``n_features_in_``...
    """
    curve = [float(loss) for loss in loss_curve]
    trained = dict(reg=plan.reg, n_iter=len(curve), loss_curve=curve, optimizer=optimizer)
    n_features = params["W"].shape[1]
    from .estimator import set_fitted_state

    set_fitted_state(
        estimator, FittedModel(params["W"], params["b"], plan.classes, n_features, **trained)
    )
    return estimator
