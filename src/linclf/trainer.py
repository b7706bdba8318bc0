"""The training loop, :class:`Trainer`; its parts live in :mod:`linclf._training`."""

from __future__ import annotations

import contextlib
import numbers
import os
import time
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any

import numpy as np

from ._engine.blas import blas_threads
from ._engine.core import BatchSource
from ._training import checkpoint
from ._training.divergence import Rollback, copy_arrays
from ._training.interrupt import SigintGuard
from ._training.progress import Progress
from ._training.stopping import Plateau
from ._validation import (
    TrainingData,
    check_callbacks,
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
_Params = Mapping[str, np.ndarray | None]

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
    "verbose": ((numbers.Integral, bool), {"low": 0}, ()),  # True is 1, as in scikit-learn
}
_CHOICES = {"shuffle": (True, False, "batches", "full"), "on_divergence": ("raise", "halve")}
_INTEGERS = ("batch_size", "max_epochs", "n_iter_no_change", "checkpoint_every", "verbose")
_FINGERPRINTED = ("batch_size", "shuffle", "early_stopping")  # a resumed fit must match them
_RUN = 64  # steps per call of a kernel that takes several (Ctrl-C is checked between calls)


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
    path = settings["checkpoint_path"]
    if path is not None and not isinstance(path, str | os.PathLike):
        raise TypeError(
            f"checkpoint_path must be None, a str or an os.PathLike, got {type(path).__name__}"
        )
    check_callbacks(settings["callbacks"], "callback(trainer, logs)")


def _described(objective: Any) -> dict[str, Any]:
    """The objective as a resume fingerprints it: loss name, L2 strength, loss parameters."""
    return {
        "loss": getattr(objective, "loss", type(objective).__name__),
        "reg": getattr(objective, "reg", None),
        "loss_params": dict(getattr(objective, "loss_params", {})),
    }


class Trainer:
    """Minibatch training of any objective with any optimizer, in place on ``params``.

    Each epoch steps the optimizer on minibatches in an order drawn from ``random_state``
    (a seed gives a deterministic fit); docs/optimizers.md describes the loop.

    Parameters
    ----------
    objective : object
        ``loss_grad(params, X, y, sample_weight) -> (loss, grads)``, for validation
        ``scores(params, X) -> S`` (n, C), optionally ``blas_threads(params)``.
    optimizer : Optimizer
        Any :class:`~linclf.optim.Optimizer`: the Trainer uses the whole protocol.
    batch_size : int, default 256
        Rows per minibatch (the last batch of an epoch may be smaller).
    max_epochs : int, default 100
        Passes over the data at most.
    tol : float or None, default 1e-4
        How far below the best an epoch loss must fall; ``None`` runs all ``max_epochs``.
    n_iter_no_change : int, default 5
        Patience: epochs in a row without such an improvement before stopping (or decaying).
    shuffle : {True, "batches", "full", False}, default True
        ``True``/``"batches"``: permute the rows once, visit the batches in a new order each
        epoch; ``"full"``: a new permutation each epoch; ``False``: the data order.
    copy_X : bool, default True
        Keep one permuted training copy of X; ``False`` gathers the batches from X.
    lr_decay : float or None, default None
        On a plateau, multiply the learning rate by it and go on, down to 1/1000 of its start.
    on_divergence : {"raise", "halve"}, default "raise"
        On a non-finite loss or parameter, or a batch loss above 1000 times the first (at
        least 1: overflow follows), roll back to the last finite state and raise
        :class:`~linclf.DivergenceError`; ``"halve"``: roll back to the lowest-loss epoch,
        zero the velocity, halve the learning rate and go on, at most 40 times.
    early_stopping : bool, default False
        Apply the ``tol`` rule to the validation accuracy; end with the best epoch's params.
    checkpoint_path : str, os.PathLike or None, default None
        Where to checkpoint (atomically, no pickle, the previous one at ``+ ".prev"``).
    checkpoint_every : int, default 1
        Epochs between checkpoints; one is also written on convergence.
    n_threads : "auto", int or None, default "auto"
        BLAS threads while training (with threadpoolctl), and an int the compiled kernel's
        threads too (the objective's and the optimizer's ``threads(n)``); ``"auto"`` asks the
        objective
        (:class:`~linclf.LinearObjective`: 1 BLAS thread for its small-matrix blocks, where
        more only spin; the compiled kernel on every usable core); ``None`` leaves the BLAS
        and the objective alone.
    random_state : int, np.random.Generator or None
        Seed of the permutations.
    verbose : int or bool, default 0
        ``1`` (or True): a progress bar (tqdm, else about ten lines); ``2``: an INFO record
        per epoch.
    callbacks : sequence of callables
        ``callback(trainer, log)`` after every epoch (``log``: ``epoch``, ``loss``,
        ``val_accuracy`` or None, ``seconds``); returning ``True`` stops training.

    Attributes
    ----------
    history_ : dict
        Per epoch ``"loss"`` (mean minibatch objective, weighted by batch weight) and, with
        validation data, ``"val_accuracy"``.
    n_epochs_, n_steps_, n_halvings_ : int
        Epochs run, optimizer steps, learning-rate halvings after a divergence.
    converged_, interrupted_ : bool
        Whether the ``tol`` rule or a callback stopped training before ``max_epochs``;
        whether Ctrl-C did, after a complete step.
    best_epoch_ : int or None
        With ``early_stopping``, the epoch whose parameters were kept.

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
        settings = {name: value for name, value in locals().items() if name != "self"}
        _check_settings(settings)
        # Every argument becomes the attribute of its name (the integers as Python ints).
        settings.update({name: int(settings[name]) for name in _INTEGERS})
        settings["shuffle"] = "batches" if shuffle is True else shuffle
        vars(self).update(settings, callbacks=tuple(callbacks))

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
            ``"W"`` (C, D) in the training dtype, optionally ``"b"`` (C,) or None.
        X : array-like of shape (N, D)
            Never written to; batches are served in W's dtype (see ``copy_X``).
        y : array-like of shape (N,)
            Integer class indices in ``[0, C)``.
        sample_weight : array-like of shape (N,) or None
            Per-row weights of the loss.
        validation_data : tuple (X_val, y_val) or None
            Scored after every epoch into ``history_["val_accuracy"]``.
        resume : bool, default False
            Continue from the newest intact checkpoint (the previous one, with a warning, if
            the latest is corrupt), ending bit-identical to an uninterrupted fit; data and
            settings must match its fingerprint.

        Returns
        -------
        self : Trainer
            This trainer, its ``history_`` filled; ``params`` hold the trained values.

        Raises
        ------
        DivergenceError
            On divergence, ``params`` rolled back (see ``on_divergence``).
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
        params, resume
            As in :meth:`fit`.
        data, validation : TrainingData; TrainingData or None
            ``X`` with W's D columns and values that fit W's dtype, ``y`` in ``[0, C)``.

        Returns
        -------
        self : Trainer
            This trainer, its ``history_`` filled; ``params`` hold the trained values.
        """
        if not isinstance(resume, (bool, np.bool_)):
            raise TypeError(
                f"resume must be a bool, got {resume!r} of type {type(resume).__name__}"
            )
        if resume and self.checkpoint_path is None:
            raise ValueError("resume=True needs the Trainer's checkpoint_path")
        if self.early_stopping and validation is None:
            raise ValueError("early_stopping=True needs validation_data=(X_val, y_val)")
        self._start(params, validation is not None)
        source, rng, fingerprint = self._batches(data, validation is not None, resume)
        auto = getattr(self.objective, "blas_threads", lambda _: None)
        threads = auto(params) if self.n_threads == "auto" else self.n_threads
        progress = Progress(self.verbose, self.max_epochs, data.n_samples)
        # The BLAS limit is entered once per fit (threadpoolctl: docs/benchmarks.md).
        # n_threads=k also sets the threads of a compiled kernel: the objective's own and
        # the optimizer's (their threads(k) contexts, when they have one).
        with SigintGuard() as sigint, blas_threads(threads), contextlib.ExitStack() as own:
            if isinstance(self.n_threads, int):
                for part in (self.objective, self.optimizer):
                    if hasattr(part, "threads"):
                        own.enter_context(part.threads(self.n_threads))
            for epoch in range(self.n_epochs_, self.max_epochs):
                started = time.perf_counter()
                # Overflow in a diverging step is caught and reported as DivergenceError;
                # NumPy's warnings would only repeat that once per array operation.
                with np.errstate(over="ignore", invalid="ignore"):
                    loss = self._run_epoch(params, source, epoch, sigint)
                log = self._end_epoch(params, epoch, loss, started, validation)
                self.interrupted_ = sigint.requested
                progress.epoch(log, last=self.converged_ or self.interrupted_)
                due = self.n_epochs_ % self.checkpoint_every == 0 or self.converged_
                if self.checkpoint_path is not None and due and not sigint.requested:
                    self._checkpoint(fingerprint, source, rng)
                if self.converged_ or self.interrupted_:
                    break
        progress.close()
        if self._best is not None:
            copy_arrays(self._best, self._live)
        return self

    def _start(self, params: _Params, validated: bool) -> None:
        """The attributes and helpers of a fresh fit."""
        self._live = live = {name: p for name, p in params.items() if p is not None}
        self.history_ = {"loss": [], "val_accuracy": []} if validated else {"loss": []}
        self.n_epochs_ = self.n_steps_ = 0
        self.converged_ = self.interrupted_ = False
        self.best_epoch_ = None
        self._rollback = Rollback(live, self.optimizer, halve=self.on_divergence == "halve")
        # The training loss must fall by tol; with early stopping the validation accuracy rise.
        rule = {"higher_is_better": self.early_stopping, "decay": self.lr_decay}
        self._plateau = Plateau(self.tol, self.n_iter_no_change, **rule)
        self._best = {name: p.copy() for name, p in live.items()} if self.early_stopping else None

    def _batches(
        self, data: TrainingData, validated: bool, resume: bool
    ) -> tuple[BatchSource, np.random.Generator, dict[str, Any]]:
        """The fit's batches, generator and fingerprint (first restoring a checkpoint if asked)."""
        settings = {name: getattr(self, name) for name in _FINGERPRINTED}
        settings.update(objective=_described(self.objective), optimizer=self._hyper())
        seed = self.random_state
        settings["seed"] = seed if seed is None or isinstance(seed, int) else type(seed).__name__
        fingerprint = checkpoint.fingerprint(  # the data digest reads 64 rows: only to save
            data, self._live, digest=self.checkpoint_path is not None, **settings
        )
        fingerprint["validation"] = validated
        resumed = checkpoint.load_checkpoint(self.checkpoint_path, fingerprint) if resume else None
        if resumed is not None:
            copy_arrays(resumed.params, self._live)
            if self._best is not None:
                copy_arrays(resumed.best, self._best)
            self._rollback.load_state_dict(resumed.rollback, resumed.anchor)
            self._plateau.load_state_dict(resumed.plateau)
            self.optimizer.load_state_dict(resumed.optimizer)
            self.n_epochs_ = self.max_epochs if resumed.converged else resumed.epoch
            self.n_steps_, self.history_ = resumed.n_steps, resumed.history
            self.best_epoch_ = resumed.best_epoch
        rng = np.random.default_rng(self.random_state)
        dtype, perm = self._live["W"].dtype, None if resumed is None else resumed.perm
        loop = dict(batch_size=self.batch_size, shuffle=self.shuffle, copy=self.copy_X, rng=rng)
        source = BatchSource(data.X, data.y, data.sample_weight, dtype=dtype, perm=perm, **loop)
        if resumed is not None:
            rng.bit_generator.state = resumed.rng
        return source, rng, fingerprint

    def _hyper(self) -> dict[str, Any]:
        """The optimizer's hyperparameters (not its progress): a resume must not change them."""
        state = self.optimizer.state_dict()
        named = ("learning_rate", "momentum", "nesterov")
        return {k: v for k, v in state.items() if k in named or k.startswith("schedule.")}

    def _run_epoch(
        self, params: _Params, source: BatchSource, epoch: int, sigint: SigintGuard
    ) -> float:
        """One pass of steps (up to Ctrl-C); return the weighted mean minibatch objective."""
        totals = [0.0, 0.0]  # the weighted loss and the weight of the batches stepped on
        in_kernel = hasattr(self.objective, "loss_grad_steps") and hasattr(
            self.optimizer, "step_plans"
        )
        rows = source.epoch_rows() if in_kernel else None
        if rows is not None:  # runs of steps, each in one call of the compiled kernel
            batch = self._kernel_epoch(params, source, rows, epoch, sigint, totals)
        else:
            batch = 0
            for batch, (Xb, yb, wb) in enumerate(source.epoch()):
                self._one_step(params, (Xb, yb, wb), source.upcoming, epoch, batch, totals)
                if sigint.requested:
                    break
        # The loss of the next batch checks every step but the last; check that one here.
        if not self._rollback.params_finite():
            self._rollback.recover(epoch, batch, "a parameter is not finite", self.n_steps_)
        return totals[0] / totals[1] if totals[1] > 0 else 0.0

    def _one_step(
        self, params: _Params, batch_data: tuple, then: Any, epoch: int, batch: int, totals: list
    ) -> None:
        """One batch: its loss, the divergence check (roll back, halve or raise) and the step."""
        rollback, (Xb, yb, wb) = self._rollback, batch_data
        fused = hasattr(self.objective, "loss_grad_step") and hasattr(self.optimizer, "step_plan")
        # The loss and the step in one call where the objective can (grads then None):
        # it also copies the parameters of this batch's loss to rollback.ahead().
        loss = self._fused_step(params, Xb, yb, wb, then) if fused else None
        grads = None
        if loss is None:
            loss, grads = self.objective.loss_grad(params, Xb, yb, wb)
            rollback.keep_ahead()  # the parameters of that loss, before the step
        problem = rollback.problem(loss, first=self.n_steps_ == 0)
        if problem is not None:
            if grads is None:
                rollback.undo_ahead()  # the parameters of that loss, not after the step
            rollback.recover(epoch, batch, problem, self.n_steps_)
            return  # rolled back and halved: go on with the next batch
        rollback.accept_ahead()  # the last state whose loss is known finite
        if grads is None:
            self.optimizer.count_step()
        else:
            self.optimizer.step(params, grads)
        self.n_steps_ += 1
        weight = Xb.shape[0] if wb is None else float(np.sum(wb))
        totals[0] += loss * weight
        totals[1] += weight

    def _kernel_epoch(
        self, params: _Params, source: BatchSource, rows: tuple, epoch: int, sigint: SigintGuard,
        totals: list,
    ) -> int:  # fmt: skip
        """The epoch's batches (``rows``: starts and counts in the source's arrays) in runs
        of up to _RUN steps per kernel call, Ctrl-C checked between runs; the fit's first
        step alone (it sets the divergence reference), and any the kernel declines. Return
        the index of the last batch."""
        starts, counts = rows
        n, at = starts.shape[0] - 1, 0
        while at < n and not (at and sigint.requested):
            end = min(n, at + _RUN)
            taken = None
            if self.n_steps_ > 0:
                run = (starts[at : end + 1], counts[at : end + 1])  # + the batch after
                taken = self._kernel_run(params, source, run, epoch, at, totals)
            if taken is None:  # one by one: the batch as the per-step loop gets it
                start, count = int(starts[at]), int(counts[at])
                then = source.rows(int(starts[at + 1]), int(counts[at + 1]))[0]
                batch_data = source.rows(start, count)
                self._one_step(params, batch_data, then, epoch, at, totals)
                taken = 1
            at += taken
        return max(at - 1, 0)

    def _kernel_run(
        self, params: _Params, source: BatchSource, run: tuple, epoch: int, first: int,
        totals: list,
    ) -> int | None:  # fmt: skip
        """Steps on the batches of ``run`` (their starts and counts, and the batch after) in
        one call; None if the kernel takes none, else how many batches it used up."""
        starts, counts = run
        plan = self.optimizer.step_plans(params, starts.shape[0] - 1)
        if plan is None:
            return None
        rollback = self._rollback
        result = self.objective.loss_grad_steps(
            params, source.X, source.y, source.w, run, plan,
            keep=(rollback.ahead(), rollback.backup), limit=rollback.limit,
        )  # fmt: skip
        if result is None or (result[1] == 0 and result[2] in (1, 2)):
            return None  # (labels or weights the NumPy path will name)
        losses, done, code = result
        rollback.accept_ahead(done)  # the steps wrote ahead(), backup, ... in turn
        self.optimizer.count_step(done)
        self.n_steps_ += done
        for k in range(done):
            start, count = int(starts[k]), int(counts[k])
            weight = count if source.w is None else float(np.sum(source.w[start : start + count]))
            totals[0] += float(losses[k]) * weight
            totals[1] += weight
        if code == 3:  # step `done` diverged; the kernel put its parameters back
            problem = rollback.problem(float(losses[done]), first=False)
            rollback.recover(epoch, first + done, problem, self.n_steps_)
            return done + 1
        return done

    def _fused_step(
        self, params: _Params, Xb: Any, yb: np.ndarray, wb: Any, then: Any
    ) -> float | None:
        """The batch's loss with the optimizer's step applied in the same call, or None.

        The step is the optimizer's own update (the same bits as ``step``); the parameters
        before it are copied by the call into ``Rollback.ahead()``, kept there until the
        loss is known finite. ``then``: the next batch's X, if the source knows it (a
        prefetch hint), or None.
        """
        plan = self.optimizer.step_plan(params)
        if plan is None:
            return None
        keep = self._rollback.ahead()  # the call copies the parameters there first
        return self.objective.loss_grad_step(params, Xb, yb, wb, plan, then=then, keep=keep)

    def _end_epoch(
        self, params: _Params, epoch: int, loss: float, t0: float, validation: TrainingData | None
    ) -> dict[str, Any]:
        """Record the epoch, run the callbacks and the stopping rule; return the log."""
        self.optimizer.epoch_end()
        self.history_["loss"].append(loss)
        self._rollback.epoch_end(loss)
        val_accuracy = None
        if validation is not None:
            S_val = self.objective.scores(params, validation.X)
            val_accuracy = float(np.mean(np.argmax(S_val, axis=1) == validation.y))
            self.history_["val_accuracy"].append(val_accuracy)
        self.n_epochs_ = epoch + 1
        seconds = time.perf_counter() - t0
        log = {"epoch": epoch + 1, "loss": loss, "val_accuracy": val_accuracy, "seconds": seconds}
        stop = any(callback(self, log) is True for callback in self.callbacks)
        value = loss if self._best is None else val_accuracy
        step = self._plateau.update(value, self.optimizer.lr_scale)
        if self._best is not None and step.improved:
            self.best_epoch_ = epoch + 1
            copy_arrays(self._live, self._best)
        if step.decay is not None:
            self.optimizer.scale_learning_rate(step.decay)
        self.converged_ = stop or step.stop
        return log

    def _checkpoint(self, fingerprint: dict, source: BatchSource, rng: np.random.Generator) -> None:
        """Write a checkpoint of the fit after ``n_epochs_`` epochs."""
        state = checkpoint.TrainingState(
            params=self._live,
            anchor=self._rollback.anchor,
            best=self._best,
            perm=source.perm,
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
