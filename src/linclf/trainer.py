"""The training loop: epochs of shuffled minibatches, history, stopping and divergence.

A :class:`Trainer` composes three things it does not own the math of:

* ``params``: a mapping name → ndarray (``{"W": W, "b": b}``), updated in place;
* an *objective* with ``loss_grad(params, X, y, sample_weight) -> (loss, grads)``
  (see :mod:`linclf._engine.core`; its :class:`LinearObjective` is the built-in one);
* an *optimizer* with ``step(params, grads)`` and ``epoch_end()`` (:class:`~linclf.optim.SGD`).

Each epoch draws a permutation from a ``np.random.Generator`` seeded by ``random_state``,
gathers minibatches through the batched core, checks every loss is finite, steps the
optimizer, and records the epoch's mean minibatch objective. Training stops after
``max_epochs`` epochs, or earlier when the epoch loss has not improved by at least ``tol``
for ``n_iter_no_change`` consecutive epochs. Given a seed, a fit is fully deterministic.
"""

from __future__ import annotations

import logging
import math
import numbers
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any

import numpy as np

from ._engine.blas import blas_threads
from ._engine.core import BatchSource
from ._training.checkpoint import read_checkpoint, write_checkpoint
from ._validation import (
    check_class_indices,
    check_fits_dtype,
    check_random_state,
    check_sample_weight,
    check_scalar,
    check_X,
)
from .exceptions import DivergenceError

__all__ = ["Trainer"]

logger = logging.getLogger("linclf")

# With lr_decay, training stops once the learning rate has fallen below this fraction.
_MIN_LR_SCALE = 1e-3
# With on_divergence="halve": 2⁻⁴⁰ ≈ 1e-12 of the starting rate is surely not a rate problem.
_MAX_HALVINGS = 40
# With on_divergence="halve", a batch loss this many times the loss at the start counts as
# divergence: a minibatch loss does not legitimately grow a thousandfold while training.
_BLOWUP = 1e3

Callback = Callable[["Trainer", Mapping[str, Any]], Any]


class Trainer:
    """Minibatch training of any objective with any optimizer, in place on ``params``.

    Parameters
    ----------
    objective : object
        Has ``loss_grad(params, X, y, sample_weight) -> (loss, grads)``; for validation
        accuracy also ``scores(params, X) -> S`` of shape (n, C).
    optimizer : object
        Has ``step(params, grads)`` (in place) and ``epoch_end()``.
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
        (through ``optimizer.scale_learning_rate``) and go on, instead of stopping;
        stop once the rate would fall below 1/1000 of where it started. ``0.2`` is
        scikit-learn's ``learning_rate="adaptive"``.
    on_divergence : {"raise", "halve"}, default "raise"
        What to do on the first non-finite loss or parameter. Either way the parameters
        are rolled back first. ``"raise"``: to the last state whose loss was finite,
        then raise :class:`~linclf.DivergenceError` naming the epoch and batch.
        ``"halve"``: to the parameters of the epoch with the lowest loss so far (the
        starting point before the first epoch), zero the optimizer's velocity, halve its
        learning rate (``scale_learning_rate``) and continue with the next batch; after
        40 halvings, raise. ``n_halvings_`` counts them. In this mode a batch loss above
        1000 times the loss at the start also counts as divergence (overflow follows).
    early_stopping : bool, default False
        Monitor the accuracy on ``validation_data`` instead of the training loss: stop
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
        optimizer: Any,
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
        check_scalar(batch_size, "batch_size", numbers.Integral, low=1)
        check_scalar(max_epochs, "max_epochs", numbers.Integral, low=1)
        if tol is not None:
            check_scalar(tol, "tol", numbers.Real, low=0.0)
        check_scalar(n_iter_no_change, "n_iter_no_change", numbers.Integral, low=1)
        if shuffle not in (True, False, "batches", "full"):
            raise ValueError(f"shuffle must be True, False, 'batches' or 'full', got {shuffle!r}")
        check_scalar(copy_X, "copy_X", bool)
        check_random_state(random_state)
        check_scalar(early_stopping, "early_stopping", bool)
        check_scalar(checkpoint_every, "checkpoint_every", numbers.Integral, low=1)
        if on_divergence not in ("raise", "halve"):
            raise ValueError(f"on_divergence must be 'raise' or 'halve', got {on_divergence!r}")
        if lr_decay is not None:
            check_scalar(
                lr_decay,
                "lr_decay",
                numbers.Real,
                low=0.0,
                high=1.0,
                low_inclusive=False,
                high_inclusive=False,
            )
        if not (n_threads is None or n_threads == "auto"):
            check_scalar(n_threads, "n_threads", numbers.Integral, low=1)
        check_scalar(verbose, "verbose", numbers.Integral, low=0)
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
        """Train ``params`` in place on ``(X, y)``.

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
        n_classes = W.shape[0]
        X = self._check_features(X, W, "X")
        y = check_class_indices(y, X.shape[0], n_classes)
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
        if resume and self.checkpoint_path is None:
            raise ValueError("resume=True needs the Trainer's checkpoint_path")
        if self.early_stopping and validation_data is None:
            raise ValueError("early_stopping=True needs validation_data=(X_val, y_val)")
        if validation_data is not None:
            X_val, y_val = validation_data
            X_val = self._check_features(X_val, W, "X_val")
            y_val = check_class_indices(y_val, X_val.shape[0], n_classes)

        rng = np.random.default_rng(self.random_state)
        live = {name: p for name, p in params.items() if p is not None}
        backup = {name: np.empty_like(p) for name, p in live.items()}
        # With on_divergence="halve", where to return to: the parameters of the epoch with
        # the lowest loss so far (at first, the starting point, valued by its first batch).
        self._anchor = {name: p.copy() for name, p in live.items()}
        self._anchor_loss = self._start_loss = math.inf
        self.history_: dict[str, list[float]] = {"loss": []}
        if validation_data is not None:
            self.history_["val_accuracy"] = []
        self.n_epochs_ = 0
        self.n_steps_ = 0
        self.n_halvings_ = 0
        self.converged_ = False
        self.interrupted_ = False
        self.best_epoch_ = None
        # Without early stopping the training loss must fall by tol; with it, the
        # validation accuracy must rise by tol, and the best parameters are kept.
        self._plateau = _Plateau(
            self.tol, self.n_iter_no_change, higher_is_better=self.early_stopping
        )
        self._best = {name: p.copy() for name, p in live.items()} if self.early_stopping else None

        fingerprint = self._fingerprint(X, live, validation_data is not None)
        perm = None
        if resume:
            perm = self._restore(self.checkpoint_path, fingerprint, live, rng)
        source = BatchSource(
            X,
            y,
            sample_weight,
            dtype=W.dtype,
            batch_size=self.batch_size,
            shuffle=self.shuffle,
            copy=self.copy_X,
            rng=rng,
            perm=perm,
        )
        if resume:
            rng.bit_generator.state = self._resumed_rng_state
        threads = self.n_threads
        if threads == "auto":
            threads = getattr(self.objective, "blas_threads", lambda _: None)(params)

        progress = _Progress(self.verbose, self.max_epochs, X.shape[0])
        with _SigintGuard() as sigint:
            for epoch in range(self.n_epochs_, self.max_epochs):
                started = time.perf_counter()
                batches = source.epoch()
                # Overflow in a diverging step is caught and reported as DivergenceError;
                # NumPy's warnings would only repeat that once per array operation.
                with np.errstate(over="ignore", invalid="ignore"), blas_threads(threads):
                    epoch_loss = self._run_epoch(params, live, backup, batches, epoch, sigint)
                self.optimizer.epoch_end()
                self.history_["loss"].append(epoch_loss)
                if self.on_divergence == "halve" and epoch_loss < self._anchor_loss:
                    self._anchor_loss = epoch_loss
                    for name, p in live.items():
                        np.copyto(self._anchor[name], p)
                val_accuracy = None
                if validation_data is not None:
                    S_val = self.objective.scores(params, X_val)
                    val_accuracy = float(np.mean(np.argmax(S_val, axis=1) == y_val))
                    self.history_["val_accuracy"].append(val_accuracy)
                self.n_epochs_ = epoch + 1
                log = {
                    "epoch": epoch + 1,
                    "loss": epoch_loss,
                    "val_accuracy": val_accuracy,
                    "seconds": time.perf_counter() - started,
                }

                stop = any(callback(self, log) is True for callback in self.callbacks)
                improved, patience_out = self._plateau.update(
                    epoch_loss if self._best is None else val_accuracy
                )
                if self._best is not None and improved:
                    self.best_epoch_ = epoch + 1
                    for name, p in live.items():
                        np.copyto(self._best[name], p)
                if (
                    patience_out
                    and self.lr_decay is not None
                    and (self.optimizer.lr_scale * self.lr_decay >= _MIN_LR_SCALE)
                ):
                    # A plateau at this rate: continue at a smaller one (scikit-learn's
                    # "adaptive" rule), until the rate has fallen by a factor of 1000.
                    self.optimizer.scale_learning_rate(self.lr_decay)
                    self._plateau.bad_epochs = 0
                    patience_out = False
                self.converged_ = stop or patience_out
                self.interrupted_ = sigint.requested
                progress.epoch(log, last=self.converged_ or self.interrupted_)
                if (
                    self.checkpoint_path is not None
                    and not sigint.requested
                    and (self.n_epochs_ % self.checkpoint_every == 0 or self.converged_)
                ):
                    self._save_checkpoint(fingerprint, live, source.perm, rng)
                if self.converged_ or self.interrupted_:
                    break
        progress.close()
        if self._best is not None:
            for name, p in live.items():
                np.copyto(p, self._best[name])
        return self

    def _fingerprint(
        self, X: Any, live: Mapping[str, np.ndarray], validated: bool
    ) -> dict[str, Any]:
        """What a checkpoint must match to be resumed: the data's and the loop's shapes."""
        return {
            "n_samples": int(X.shape[0]),
            "n_features": int(X.shape[1]),
            "params": {name: [list(p.shape), p.dtype.name] for name, p in live.items()},
            "batch_size": self.batch_size,
            "shuffle": self.shuffle,
            "early_stopping": self.early_stopping,
            "validation": validated,
        }

    def _save_checkpoint(
        self,
        fingerprint: dict[str, Any],
        live: Mapping[str, np.ndarray],
        perm: np.ndarray | None,
        rng: np.random.Generator,
    ) -> None:
        arrays = {f"param.{name}": p for name, p in live.items()}
        arrays.update({f"anchor.{name}": p for name, p in self._anchor.items()})
        if self._best is not None:
            arrays.update({f"best.{name}": p for name, p in self._best.items()})
        if perm is not None:
            arrays["perm"] = perm
        optimizer_scalars = {}
        for key, value in self.optimizer.state_dict().items():
            if isinstance(value, np.ndarray):
                arrays[f"optimizer.{key}"] = value
            else:
                optimizer_scalars[key] = value
        meta = {
            "fingerprint": fingerprint,
            "epoch": self.n_epochs_,
            "batch": 0,  # checkpoints are written at epoch boundaries
            "n_steps": self.n_steps_,
            "n_halvings": self.n_halvings_,
            "history": self.history_,
            "best_epoch": self.best_epoch_,
            "converged": self.converged_,
            "plateau": {"best": self._plateau.best, "bad_epochs": self._plateau.bad_epochs},
            "anchor_loss": self._anchor_loss,
            "start_loss": self._start_loss,
            "optimizer": optimizer_scalars,
            "rng": rng.bit_generator.state,
        }
        write_checkpoint(self.checkpoint_path, _json_safe(meta), arrays)

    def _restore(
        self,
        path: Any,
        fingerprint: dict[str, Any],
        live: Mapping[str, np.ndarray],
        rng: np.random.Generator,
    ) -> np.ndarray | None:
        """Load the newest intact checkpoint into the live state; return its permutation."""
        meta, arrays = read_checkpoint(path)
        if meta.get("fingerprint") != _json_safe(fingerprint):
            raise ValueError(
                f"the checkpoint at {path} was written for other data or settings "
                f"({meta.get('fingerprint')}) than this fit ({fingerprint}); "
                "resume with the same data, parameters' shapes, batch_size and shuffle"
            )
        for name, p in live.items():
            np.copyto(p, arrays[f"param.{name}"])
            np.copyto(self._anchor[name], arrays[f"anchor.{name}"])
            if self._best is not None:
                np.copyto(self._best[name], arrays[f"best.{name}"])
        state = dict(meta["optimizer"])
        state.update(
            {k[len("optimizer.") :]: v for k, v in arrays.items() if k.startswith("optimizer.")}
        )
        self.optimizer.load_state_dict(state)
        self.n_epochs_ = meta["epoch"]
        self.n_steps_ = meta["n_steps"]
        self.n_halvings_ = meta["n_halvings"]
        self.history_ = {key: list(values) for key, values in meta["history"].items()}
        self.best_epoch_ = meta["best_epoch"]
        self._plateau.best = _float(meta["plateau"]["best"])
        self._plateau.bad_epochs = meta["plateau"]["bad_epochs"]
        self._anchor_loss = _float(meta["anchor_loss"])
        self._start_loss = _float(meta["start_loss"])
        self._resumed_rng_state = meta["rng"]
        if meta["converged"]:
            self.n_epochs_ = self.max_epochs  # nothing left to do
        return arrays.get("perm")

    def _run_epoch(
        self,
        params: MutableMapping[str, np.ndarray | None],
        live: Mapping[str, np.ndarray],
        backup: Mapping[str, np.ndarray],
        batches: Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None]],
        epoch: int,
        sigint: _SigintGuard,
    ) -> float:
        """One pass of optimizer steps; returns the weighted mean minibatch objective.

        Stops early, after a complete step, when Ctrl-C was pressed.
        """
        weighted_loss = 0.0
        total_weight = 0.0
        batch_index = 0
        for batch_index, (Xb, yb, wb) in enumerate(batches):
            loss, grads = self.objective.loss_grad(params, Xb, yb, wb)
            if self.n_steps_ == 0:
                self._anchor_loss = self._start_loss = loss
            if not math.isfinite(loss):
                self._diverged(live, backup, epoch, batch_index, f"the loss is {loss}")
                continue  # rolled back and halved: go on with the next batch
            base = max(self._start_loss, 1.0)  # the anchor loss is never above it
            if self.on_divergence == "halve" and loss > _BLOWUP * base:
                # Blowing up, though not yet infinite: overflow is only a matter of steps.
                self._diverged(live, backup, epoch, batch_index, f"the loss rose to {loss:.3g}")
                continue
            for name, p in live.items():
                np.copyto(backup[name], p)  # the last state whose loss is known finite
            self.optimizer.step(params, grads)
            self.n_steps_ += 1
            weight = Xb.shape[0] if wb is None else float(np.sum(wb))
            weighted_loss += loss * weight
            total_weight += weight
            if sigint.requested:
                break
        # The loss of the next batch checks every step but the last; check that one here.
        if not all(np.isfinite(np.sum(p, dtype=np.float64)) for p in live.values()):
            self._diverged(live, backup, epoch, batch_index, "a parameter is not finite")
        return weighted_loss / total_weight if total_weight > 0 else 0.0

    @staticmethod
    def _check_features(X: Any, W: np.ndarray, name: str) -> Any:
        X = check_X(X, name=name, accept_sparse=True)
        check_fits_dtype(X, W.dtype, name)
        if X.shape[1] != W.shape[1]:
            raise ValueError(
                f"{name} has {X.shape[1]} features, but the parameters expect {W.shape[1]} "
                f"(W has shape {W.shape})"
            )
        return X

    def _diverged(
        self,
        live: Mapping[str, np.ndarray],
        backup: Mapping[str, np.ndarray],
        epoch: int,
        batch_index: int,
        what: str,
    ) -> None:
        """Roll back, then halve the rate and return ("halve"), or raise.

        "raise" rolls back to the last state whose loss was finite. "halve" returns to the
        best epoch's parameters instead: the last finite state of a run that is blowing up
        is finite but huge, and would take many steps to come back from. Halving cannot
        help when the starting point itself gives a non-finite loss.
        """
        if self.on_divergence == "halve" and self.n_steps_ > 0 and self.n_halvings_ < _MAX_HALVINGS:
            for name, p in live.items():
                np.copyto(p, self._anchor[name])
            self.optimizer.clear_velocity()
            self.optimizer.scale_learning_rate(0.5)
            self.n_halvings_ += 1
            logger.warning(
                "training diverged at epoch %d, batch %d (%s): rolled back, learning rate "
                "halved to %.3g",
                epoch + 1,
                batch_index + 1,
                what,
                self.optimizer.current_learning_rate,
            )
            return
        if self.n_steps_ > 0:
            for name, p in live.items():
                np.copyto(p, backup[name])
        raise DivergenceError(
            f"Training diverged at epoch {epoch + 1}, batch {batch_index + 1}: {what}. "
            "The parameters were rolled back to the last finite state. Try a lower "
            "learning_rate or standardize the features (e.g. StandardScaler)."
        )


class _Progress:
    """Per-epoch reporting: a tqdm bar (verbose=1, when tqdm is installed) or about ten
    printed lines (verbose=1 without tqdm), or one ``logging`` record per epoch
    (verbose=2, logger ``"linclf"`` at INFO)."""

    def __init__(self, verbose: int, max_epochs: int, n_samples: int) -> None:
        self.verbose = verbose
        self.max_epochs = max_epochs
        self.n_samples = n_samples
        self.bar = None
        if verbose == 1:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=max_epochs, unit="epoch", desc="training", leave=True)

    def epoch(self, log: Mapping[str, Any], *, last: bool) -> None:
        rate = self.n_samples / log["seconds"] if log["seconds"] > 0 else math.inf
        val = log["val_accuracy"]
        if self.bar is not None:
            postfix = {"loss": f"{log['loss']:.4g}", "samples/s": f"{rate:,.0f}"}
            if val is not None:
                postfix["val_acc"] = f"{val:.4f}"
            self.bar.set_postfix(postfix, refresh=False)
            self.bar.update(1)
            return
        line = (
            f"epoch {log['epoch']:>4}/{self.max_epochs}  loss {log['loss']:.6f}"
            + ("" if val is None else f"  val_accuracy {val:.4f}")
            + f"  ({rate:,.0f} samples/s)"
        )
        if self.verbose >= 2:
            logger.info(line)
        elif self.verbose == 1:
            stride = max(1, self.max_epochs // 10)
            epoch = log["epoch"]
            if epoch == 1 or epoch % stride == 0 or last or epoch == self.max_epochs:
                print(line, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class _SigintGuard:
    """Turn the first Ctrl-C during training into a request to stop after the current step.

    Installed only in the main thread and only over Python's default handler (a handler
    of the caller's own is left alone); a second Ctrl-C raises KeyboardInterrupt at once.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> _SigintGuard:
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


class _Plateau:
    """The ``tol`` / ``n_iter_no_change`` rule, for a value to minimize or to maximize.

    An epoch improves when its value beats the best so far by more than ``tol``; training
    stops after ``patience`` epochs in a row without improvement. ``tol=None`` tracks the
    best but never stops.
    """

    def __init__(self, tol: float | None, patience: int, *, higher_is_better: bool) -> None:
        self.tol = tol
        self.patience = patience
        self.sign = -1.0 if higher_is_better else 1.0
        self.best = math.inf
        self.bad_epochs = 0

    def update(self, value: float) -> tuple[bool, bool]:
        """Record one epoch's value; return ``(is_new_best, should_stop)``."""
        v = self.sign * value  # minimized form
        margin = 0.0 if self.tol is None else self.tol
        if v < self.best - margin:
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1
        is_best = v < self.best
        self.best = min(self.best, v)
        return is_best, self.tol is not None and self.bad_epochs >= self.patience


def _json_safe(value: Any) -> Any:
    """``value`` with non-finite floats spelled as strings, as JSON requires."""
    if isinstance(value, dict):
        return {key: _json_safe(v) for key, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # 'inf', '-inf', 'nan'
    return value


def _float(value: Any) -> float:
    return float(value)  # also parses the 'inf' / 'nan' strings written by _json_safe
