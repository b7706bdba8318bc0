"""The training loop: epochs of shuffled minibatches, history, stopping and divergence.

A :class:`Trainer` composes three things it does not own the math of:

* ``params``: a mapping name → ndarray (``{"W": W, "b": b}``), updated in place;
* an *objective* with ``loss_grad(params, X, y, sample_weight) -> (loss, grads)``
  (see :mod:`linclf._engine.core`; its :class:`LinearObjective` is the built-in one);
* an *optimizer*, any :class:`~linclf.optim.Optimizer` (:class:`~linclf.optim.SGD`).

Each epoch draws a permutation from a ``np.random.Generator`` seeded by ``random_state``,
gathers minibatches through the batched core, checks every loss is finite, steps the
optimizer, and records the epoch's mean minibatch objective. Training stops after
``max_epochs`` epochs, or earlier when the epoch loss has not improved by at least ``tol``
for ``n_iter_no_change`` consecutive epochs. Given a seed, a fit is fully deterministic.
The loop's parts live in :mod:`linclf._training`: ``stopping``, ``divergence``,
``checkpoint``, ``progress`` and ``interrupt`` (Ctrl-C).
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any

import numpy as np

from ._engine.blas import blas_threads
from ._engine.core import BatchSource
from ._training import checkpoint
from ._training.divergence import Rollback
from ._training.interrupt import SigintGuard
from ._training.progress import Progress
from ._training.stopping import Plateau
from ._validation import (
    TrainingData,
    check_class_indices,
    check_fits_dtype,
    check_random_state,
    check_sample_weight,
    check_scalar,
    check_X,
)
from .optim import Optimizer

__all__ = ["Trainer"]

Callback = Callable[["Trainer", Mapping[str, Any]], Any]

# The Trainer's scalar settings: name -> (check_scalar kind and bounds, values let through).
_OPEN_UNIT = {"low": 0.0, "high": 1.0, "low_inclusive": False, "high_inclusive": False}
_SETTINGS: dict[str, tuple[Any, dict[str, Any], tuple[Any, ...]]] = {
    "batch_size": (numbers.Integral, {"low": 1}, ()),
    "max_epochs": (numbers.Integral, {"low": 1}, ()),
    "tol": (numbers.Real, {"low": 0.0}, (None,)),
    "n_iter_no_change": (numbers.Integral, {"low": 1}, ()),
    "copy_X": (bool, {}, ()),
    "early_stopping": (bool, {}, ()),
    "checkpoint_every": (numbers.Integral, {"low": 1}, ()),
    "lr_decay": (numbers.Real, _OPEN_UNIT, (None,)),
    "n_threads": (numbers.Integral, {"low": 1}, (None, "auto")),
    "verbose": (numbers.Integral, {"low": 0}, ()),
}
_CHOICES = {"shuffle": (True, False, "batches", "full"), "on_divergence": ("raise", "halve")}


def _check_settings(settings: Mapping[str, Any]) -> None:
    """Check the Trainer's arguments against the tables above, naming the bad one."""
    for name, choices in _CHOICES.items():
        if settings[name] not in choices:
            *rest, last = map(repr, choices)
            raise ValueError(f"{name} must be {', '.join(rest)} or {last}, got {settings[name]!r}")
    for name, (kind, bounds, passed) in _SETTINGS.items():
        if settings[name] not in passed:
            check_scalar(settings[name], name, kind, **bounds)
    check_random_state(settings["random_state"])


class Trainer:
    """Minibatch training of any objective with any optimizer, in place on ``params``.

    Parameters
    ----------
    objective : object
        Has ``loss_grad(params, X, y, sample_weight) -> (loss, grads)``; for validation
        accuracy also ``scores(params, X) -> S`` of shape (n, C); optionally
        ``blas_threads(params)`` (see ``n_threads``).
    optimizer : Optimizer
        The protocol of :mod:`linclf.optim`; the Trainer calls ``step(params, grads)``
        (in place) and ``epoch_end()``; ``lr_scale`` and ``scale_learning_rate`` (for
        ``lr_decay``); ``clear_velocity``, ``scale_learning_rate`` and
        ``current_learning_rate`` (for ``on_divergence="halve"``); ``state_dict`` and
        ``load_state_dict`` (for checkpoints).
    batch_size : int, default 256
        Rows per minibatch (the last batch of an epoch may be smaller).
    max_epochs : int, default 100
        Passes over the data at most.
    tol : float or None, default 1e-4
        Stop when the epoch loss has not decreased by ``tol`` below the best seen for
        ``n_iter_no_change`` epochs in a row. ``None`` runs exactly ``max_epochs`` epochs.
    n_iter_no_change : int, default 5
        Patience of the ``tol`` rule.
    shuffle : {True, "batches", "full", False}, default True
        ``True`` or ``"batches"``: permute the rows once into the training buffer, then
        visit the (contiguous) batches in a new random order every epoch; no row is
        gathered. ``"full"``: a new permutation of all rows every epoch, each batch
        gathered (the textbook scheme; batches differ between epochs). ``False``: the
        data order.
    copy_X : bool, default True
        Keep one training copy of X (the permuted, converted buffer). ``False`` never
        copies X: batches are gathered from the caller's array, with the same results.
    lr_decay : float or None, default None
        When the ``tol`` rule finds a plateau, multiply the learning rate by ``lr_decay``
        and go on, instead of stopping; stop once the rate would fall below 1/1000 of
        where it started. ``0.2`` is scikit-learn's ``learning_rate="adaptive"``.
    on_divergence : {"raise", "halve"}, default "raise"
        What to do on the first non-finite loss or parameter. Either way the parameters
        are rolled back first. ``"raise"``: to the last state whose loss was finite,
        then raise :class:`~linclf.DivergenceError` naming the epoch and batch.
        ``"halve"``: to the parameters of the epoch with the lowest loss so far (the
        starting point before the first epoch), zero the optimizer's velocity, halve its
        learning rate and continue with the next batch; after 40 halvings, raise.
        ``n_halvings_`` counts them. In this mode a batch loss above 1000 times the loss
        at the start also counts as divergence (overflow follows).
    early_stopping : bool, default False
        Monitor the accuracy on the validation data instead of the training loss: stop
        when it has not risen by ``tol`` above the best for ``n_iter_no_change`` epochs,
        and end with the parameters of the best epoch (``best_epoch_``).
    checkpoint_path : str, os.PathLike or None, default None
        Write a checkpoint there every ``checkpoint_every`` epochs (and when training
        converges), in linclf's safe file format (no pickle), atomically, keeping the
        previous one at ``checkpoint_path + ".prev"``; see ``fit(..., resume=True)``.
    checkpoint_every : int, default 1
    n_threads : "auto", int or None, default "auto"
        BLAS threads while training (needs threadpoolctl; without it the BLAS is left
        alone). ``"auto"`` asks the objective (``objective.blas_threads(params)``):
        :class:`~linclf.LinearObjective` takes 1 thread when its products run in
        single-threaded small-matrix blocks, where more threads only spin, and all of them
        otherwise. ``None`` leaves the BLAS as it is.
    random_state : int, np.random.Generator or None
        Seed of the permutations.
    verbose : int, default 0
        ``1`` shows a progress bar over epochs (tqdm, when installed; otherwise about ten
        printed lines) with the loss, validation accuracy and samples/s; ``2`` logs one
        record per epoch to the ``"linclf"`` logger at INFO level.
    callbacks : sequence of callables
        ``callback(trainer, log)`` after every epoch, ``log`` holding ``epoch``, ``loss``,
        ``val_accuracy`` (or None), ``seconds``; a callback returning ``True`` stops training.

    Attributes
    ----------
    history_ : dict
        ``"loss"``: one value per epoch (mean minibatch objective, weighted by batch weight);
        ``"val_accuracy"``: one value per epoch when validation data was given.
    n_epochs_ : int
        Epochs run.
    n_steps_ : int
        Optimizer steps taken.
    n_halvings_ : int
        Learning-rate halvings after a divergence (``on_divergence="halve"``).
    converged_ : bool
        Whether the ``tol`` rule (or a callback) stopped training before ``max_epochs``.
    best_epoch_ : int or None
        With ``early_stopping``, the epoch whose parameters were kept.
    interrupted_ : bool
        Whether Ctrl-C (SIGINT) stopped training, after a complete step; the parameters
        are then those of that step (with ``early_stopping``, of the best epoch).

    Examples
    --------
    >>> import numpy as np
    >>> from linclf import SGD, LinearObjective, Trainer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)); y = (X[:, 0] > 0).astype(int)
    >>> params = {"W": np.zeros((2, 2)), "b": np.zeros(2)}
    >>> trainer = Trainer(LinearObjective("hinge", reg=1e-3), SGD(0.1, momentum=0.9),
    ...                   batch_size=32, max_epochs=20, random_state=0).fit(params, X, y)
    >>> bool(trainer.history_["loss"][-1] < trainer.history_["loss"][0])
    True
    """

    def __init__(
        self,
        objective: Any,
        optimizer: Optimizer,
        *,
        batch_size: int = 256,
        max_epochs: int = 100,
        tol: float | None = 1e-4,
        n_iter_no_change: int = 5,
        shuffle: bool | str = True,
        copy_X: bool = True,
        lr_decay: float | None = None,
        on_divergence: str = "raise",
        early_stopping: bool = False,
        checkpoint_path: Any = None,
        checkpoint_every: int = 1,
        n_threads: int | str | None = "auto",
        random_state: int | np.random.Generator | None = None,
        verbose: int = 0,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        _check_settings(locals())
        self.objective = objective
        self.optimizer = optimizer
        self.batch_size = int(batch_size)
        self.max_epochs = int(max_epochs)
        self.tol = tol
        self.n_iter_no_change = int(n_iter_no_change)
        self.shuffle = "batches" if shuffle is True else shuffle
        self.copy_X = copy_X
        self.n_threads = n_threads
        self.early_stopping = early_stopping
        self.lr_decay = lr_decay
        self.on_divergence = on_divergence
        self.checkpoint_path = checkpoint_path
        self.checkpoint_every = int(checkpoint_every)
        self.random_state = random_state
        self.verbose = int(verbose)
        self.callbacks = tuple(callbacks)

    @property
    def n_halvings_(self) -> int:
        return self._rollback.n_halvings

    def fit(
        self,
        params: MutableMapping[str, np.ndarray | None],
        X: Any,
        y: Any,
        sample_weight: Any = None,
        *,
        validation_data: tuple[Any, Any] | None = None,
        resume: bool = False,
    ) -> Trainer:
        """Train ``params`` in place on ``(X, y)``, checked here once; see :meth:`fit_data`.

        Parameters
        ----------
        params : mutable mapping
            ``"W"`` of shape (C, D) (its dtype is the training dtype) and optionally ``"b"``
            of shape (C,) or None.
        X : array-like of shape (N, D)
            Never written to. Batches are served in W's dtype; see ``shuffle`` and
            ``copy_X`` for when that takes a copy of X.
        y : array-like of shape (N,)
            Integer class indices in ``[0, C)``.
        sample_weight : array-like of shape (N,) or None
        validation_data : tuple (X_val, y_val) or None
            Scored after every epoch into ``history_["val_accuracy"]``.
        resume : bool, default False
            Continue from the newest intact checkpoint at ``checkpoint_path`` (falling
            back, with a warning, to the previous one if the latest is corrupt) instead of
            from ``params``: parameters, optimizer state, epoch, permutation, generator
            state, history and stopping counters are restored, so the final parameters
            are bit-identical to an uninterrupted fit. The data and settings must be the
            same (checked against a fingerprint saved in the checkpoint).

        Returns
        -------
        self : Trainer

        Raises
        ------
        DivergenceError
            On the first non-finite loss or parameter; ``params`` are then rolled back to
            the last state whose loss was finite.
        """
        W = params["W"]
        for name, p in params.items():
            if p is not None and (not isinstance(p, np.ndarray) or p.dtype.kind != "f"):
                raise TypeError(
                    f"params[{name!r}] must be a floating ndarray (float32 or float64), got "
                    f"{getattr(p, 'dtype', type(p).__name__)}"
                )
        if W.ndim != 2:
            raise ValueError(f"params['W'] must have shape (C, D), got {W.shape}")
        data = _check_data(X, y, sample_weight, W, "X")
        validation = None
        if validation_data is not None:
            validation = _check_data(*validation_data, None, W, "X_val")
        return self.fit_data(params, data, validation=validation, resume=resume)

    def fit_data(
        self,
        params: MutableMapping[str, np.ndarray | None],
        data: TrainingData,
        *,
        validation: TrainingData | None = None,
        resume: bool = False,
    ) -> Trainer:
        """Train ``params`` in place on validated data, trusted as it is (not read again).

        Parameters
        ----------
        params : mutable mapping
            As in :meth:`fit`.
        data : TrainingData
            The record of :mod:`linclf._validation`: ``X`` has ``params["W"]``'s D columns
            and values that fit W's dtype; ``y`` holds class indices in ``[0, C)``.
        validation : TrainingData or None
            Scored after every epoch into ``history_["val_accuracy"]``.
        resume : bool, default False
            As in :meth:`fit`.

        Returns
        -------
        self : Trainer
        """
        if resume and self.checkpoint_path is None:
            raise ValueError("resume=True needs the Trainer's checkpoint_path")
        if self.early_stopping and validation is None:
            raise ValueError("early_stopping=True needs validation_data=(X_val, y_val)")
        live = {name: p for name, p in params.items() if p is not None}
        self._start(live, validation is not None)
        source, rng, fingerprint = self._batches(params, live, data, validation is not None, resume)
        threads = self.n_threads
        if threads == "auto":
            threads = getattr(self.objective, "blas_threads", lambda _: None)(params)

        progress = Progress(self.verbose, self.max_epochs, data.n_samples)
        with SigintGuard() as sigint:
            for epoch in range(self.n_epochs_, self.max_epochs):
                started = time.perf_counter()
                batches = source.epoch()
                # Overflow in a diverging step is caught and reported as DivergenceError;
                # NumPy's warnings would only repeat that once per array operation.
                with np.errstate(over="ignore", invalid="ignore"), blas_threads(threads):
                    loss = self._run_epoch(params, batches, epoch, sigint)
                log = self._end_epoch(params, live, epoch, loss, started, validation, sigint)
                progress.epoch(log, last=self.converged_ or self.interrupted_)
                if self.checkpoint_path is not None and not sigint.requested:
                    self._checkpoint(fingerprint, live, source.perm, rng)
                if self.converged_ or self.interrupted_:
                    break
        progress.close()
        if self._best is not None:
            for name, p in live.items():
                np.copyto(p, self._best[name])
        return self

    def _start(self, live: Mapping[str, np.ndarray], validated: bool) -> None:
        """The attributes and helpers of a fresh fit."""
        self.history_: dict[str, list[float]] = {"loss": []}
        if validated:
            self.history_["val_accuracy"] = []
        self.n_epochs_ = self.n_steps_ = 0
        self.converged_ = self.interrupted_ = False
        self.best_epoch_ = None
        self._rollback = Rollback(live, self.optimizer, halve=self.on_divergence == "halve")
        # Without early stopping the training loss must fall by tol; with it, the
        # validation accuracy must rise by tol, and the best parameters are kept.
        self._plateau = Plateau(
            self.tol,
            self.n_iter_no_change,
            higher_is_better=self.early_stopping,
            decay=self.lr_decay,
        )
        self._best = {name: p.copy() for name, p in live.items()} if self.early_stopping else None

    def _batches(
        self,
        params: Mapping[str, np.ndarray | None],
        live: Mapping[str, np.ndarray],
        data: TrainingData,
        validated: bool,
        resume: bool,
    ) -> tuple[BatchSource, np.random.Generator, dict[str, Any]]:
        """The fit's batches, their generator and its fingerprint; ``resume`` restores the
        newest checkpoint into the live state first."""
        fingerprint = checkpoint.fingerprint(
            data,
            live,
            batch_size=self.batch_size,
            shuffle=self.shuffle,
            early_stopping=self.early_stopping,
            validation=validated,
        )
        resumed = checkpoint.load_checkpoint(self.checkpoint_path, fingerprint) if resume else None
        if resumed is not None:
            self._restore(resumed, live)
        rng = np.random.default_rng(self.random_state)
        source = BatchSource(
            data.X,
            data.y,
            data.sample_weight,
            dtype=params["W"].dtype,
            batch_size=self.batch_size,
            shuffle=self.shuffle,
            copy=self.copy_X,
            rng=rng,
            perm=None if resumed is None else resumed.perm,
        )
        if resumed is not None:
            rng.bit_generator.state = resumed.rng
        return source, rng, fingerprint

    def _run_epoch(
        self,
        params: MutableMapping[str, np.ndarray | None],
        batches: Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None]],
        epoch: int,
        sigint: SigintGuard,
    ) -> float:
        """One pass of optimizer steps; returns the weighted mean minibatch objective.

        Stops early, after a complete step, when Ctrl-C was pressed.
        """
        rollback = self._rollback
        weighted_loss = total_weight = 0.0
        batch = 0
        for batch, (Xb, yb, wb) in enumerate(batches):
            loss, grads = self.objective.loss_grad(params, Xb, yb, wb)
            problem = rollback.problem(loss, first=self.n_steps_ == 0)
            if problem is not None:
                rollback.recover(epoch, batch, problem, self.n_steps_)
                continue  # rolled back and halved: go on with the next batch
            rollback.keep()  # the last state whose loss is known finite
            self.optimizer.step(params, grads)
            self.n_steps_ += 1
            weight = Xb.shape[0] if wb is None else float(np.sum(wb))
            weighted_loss += loss * weight
            total_weight += weight
            if sigint.requested:
                break
        # The loss of the next batch checks every step but the last; check that one here.
        if not rollback.params_finite():
            rollback.recover(epoch, batch, "a parameter is not finite", self.n_steps_)
        return weighted_loss / total_weight if total_weight > 0 else 0.0

    def _end_epoch(
        self,
        params: Mapping[str, np.ndarray | None],
        live: Mapping[str, np.ndarray],
        epoch: int,
        loss: float,
        started: float,
        validation: TrainingData | None,
        sigint: SigintGuard,
    ) -> dict[str, Any]:
        """Record the epoch, run the callbacks and the stopping rule (keep the best epoch,
        decay the learning rate, or stop); return the callbacks' log."""
        self.optimizer.epoch_end()
        self.history_["loss"].append(loss)
        self._rollback.epoch_end(loss)
        val_accuracy = None
        if validation is not None:
            S_val = self.objective.scores(params, validation.X)
            val_accuracy = float(np.mean(np.argmax(S_val, axis=1) == validation.y))
            self.history_["val_accuracy"].append(val_accuracy)
        self.n_epochs_ = epoch + 1
        seconds = time.perf_counter() - started
        log = {"epoch": epoch + 1, "loss": loss, "val_accuracy": val_accuracy, "seconds": seconds}
        stop = any(callback(self, log) is True for callback in self.callbacks)
        step = self._plateau.update(
            loss if self._best is None else val_accuracy, self.optimizer.lr_scale
        )
        if self._best is not None and step.improved:
            self.best_epoch_ = epoch + 1
            for name, p in live.items():
                np.copyto(self._best[name], p)
        if step.decay is not None:
            self.optimizer.scale_learning_rate(step.decay)
        self.converged_ = stop or step.stop
        self.interrupted_ = sigint.requested
        return log

    def _checkpoint(
        self,
        fingerprint: dict[str, Any],
        live: Mapping[str, np.ndarray],
        perm: np.ndarray | None,
        rng: np.random.Generator,
    ) -> None:
        """Write a checkpoint if one is due: every ``checkpoint_every`` epochs, or converged."""
        if self.n_epochs_ % self.checkpoint_every != 0 and not self.converged_:
            return
        state = checkpoint.TrainingState(
            params=live,
            anchor=self._rollback.anchor,
            best=self._best,
            perm=perm,
            optimizer=self.optimizer.state_dict(),
            rng=rng.bit_generator.state,
            epoch=self.n_epochs_,
            n_steps=self.n_steps_,
            history=self.history_,
            best_epoch=self.best_epoch_,
            converged=self.converged_,
            plateau=self._plateau.state_dict(),
            rollback=self._rollback.state_dict(),
        )
        checkpoint.save_checkpoint(self.checkpoint_path, fingerprint, state)

    def _restore(self, state: checkpoint.TrainingState, live: Mapping[str, np.ndarray]) -> None:
        for name, p in live.items():
            np.copyto(p, state.params[name])
            if self._best is not None:
                np.copyto(self._best[name], state.best[name])
        self._rollback.load_state_dict(state.rollback, state.anchor)
        self._plateau.load_state_dict(state.plateau)
        self.optimizer.load_state_dict(state.optimizer)
        self.n_epochs_ = self.max_epochs if state.converged else state.epoch
        self.n_steps_ = state.n_steps
        self.history_ = state.history
        self.best_epoch_ = state.best_epoch


def _check_data(X: Any, y: Any, sample_weight: Any, W: np.ndarray, name: str) -> TrainingData:
    """The raw ``(X, y, sample_weight)`` of :meth:`Trainer.fit`, checked against ``W``."""
    X = check_X(X, name=name, accept_sparse=True)
    check_fits_dtype(X, W.dtype, name)
    if X.shape[1] != W.shape[1]:
        raise ValueError(
            f"{name} has {X.shape[1]} features, but the parameters expect {W.shape[1]} "
            f"(W has shape {W.shape})"
        )
    y = check_class_indices(y, X.shape[0], W.shape[0])
    return TrainingData(X, y, W.shape[0], check_sample_weight(sample_weight, X.shape[0]))
