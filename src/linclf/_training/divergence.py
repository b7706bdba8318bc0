"""Divergence: a non-finite or exploding loss rolls the parameters back.

Halving returns to the *anchor*, the lowest-loss epoch's parameters, not to the last finite
state (that of a run blowing up is finite but huge); a diverging start always raises. An
epoch's loss is measured along its steps, not at its end, so its end parameters become the
anchor only once the next batch's loss at them is not a divergence: after a rollback, the
end of an epoch can be one step of a rate not yet halved enough, and an anchor there would
leave every later halving to return to a blown-up state.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..exceptions import DivergenceError

__all__ = ["BLOWUP", "MAX_HALVINGS", "Rollback", "copy_arrays"]

logger = logging.getLogger("linclf")

# 2⁻⁴⁰ ≈ 1e-12 of the starting rate: a divergence that survives it is not a rate problem.
MAX_HALVINGS = 40
# A batch loss this many times the first (at least 1) is divergence: none grows 1000x
# legitimately, and a finite loss of 1e9 would otherwise end the fit as if it had converged.
BLOWUP = 1e3


class Rollback:
    """Where the ``live`` parameters return to on a divergence, then halve or raise.

    ``anchor``, ``anchor_loss``: the lowest-loss epoch's parameters (the start at first) and
    loss; ``start_loss``: the first batch loss (``inf`` before it); ``candidate_loss``: the
    loss of the epoch whose end parameters wait in ``candidate`` for the next batch's loss
    (``inf``: none waits).
    """

    def __init__(self, live: Mapping[str, np.ndarray], optimizer: Any, *, halve: bool) -> None:
        self.live, self.optimizer, self.halve = live, optimizer, halve
        self.backup = {name: np.empty_like(p) for name, p in live.items()}
        self._ahead: dict[str, np.ndarray] | None = None
        self.anchor = {name: p.copy() for name, p in live.items()}
        self.candidate = {name: np.empty_like(p) for name, p in live.items()} if halve else {}
        self.anchor_loss, self.start_loss, self.n_halvings = math.inf, math.inf, 0
        self.candidate_loss = math.inf

    def problem(self, loss: float, *, first: bool) -> str | None:
        """Why the batch ``loss`` is a divergence, or None; ``first``: the fit's first batch."""
        if first:
            self.anchor_loss = self.start_loss = loss
        if not math.isfinite(loss):
            return f"the loss is {loss}"
        # Blowing up, though not yet infinite: overflow is only a matter of steps.
        if loss > BLOWUP * max(self.start_loss, 1.0):
            return f"the loss rose to {loss:.3g}, from {self.start_loss:.3g} at the start"
        return None

    def ahead(self) -> dict[str, np.ndarray]:
        """The buffers :meth:`keep_ahead` copies into, for a fused call that copies the
        parameters there itself before its step (as :meth:`keep_ahead` would)."""
        if self._ahead is None:
            self._ahead = {name: np.empty_like(p) for name, p in self.live.items()}
        return self._ahead

    def keep_ahead(self) -> None:
        """Before a step: copy the current parameters aside (their loss is not known yet)."""
        copy_arrays(self.live, self.ahead())

    def accept_ahead(self, n_steps: int = 1) -> None:
        """Their loss was finite: the copy of :meth:`keep_ahead` is now the backup. For
        ``n_steps`` steps that wrote ``ahead()``, ``backup``, ``ahead()``, ... in turn (as
        ``n_steps`` keep/accept rounds would), the last one written is. The first of them
        was at the parameters the last epoch ended with: a waiting candidate is the anchor."""
        if n_steps % 2:
            self.backup, self._ahead = self.ahead(), self.backup
        if n_steps and self.candidate_loss < math.inf:
            self.anchor, self.candidate = self.candidate, self.anchor
            self.anchor_loss, self.candidate_loss = self.candidate_loss, math.inf

    @property
    def limit(self) -> float:
        """The largest batch loss that is not a blow-up (:meth:`problem`, after the first)."""
        return BLOWUP * max(self.start_loss, 1.0)

    def undo_ahead(self) -> None:
        """Their loss was not, after a fused call: put back the parameters of that loss."""
        copy_arrays(self._ahead, self.live)

    def params_finite(self) -> bool:
        return all(np.isfinite(np.sum(p, dtype=np.float64)) for p in self.live.values())

    def recover(self, epoch: int, batch: int, what: str, n_steps: int) -> None:
        """Roll back after the 0-based ``epoch``'s ``batch``; then halve and return, or raise."""
        self.candidate_loss = math.inf  # the loss at a waiting candidate was not accepted
        if self.halve and n_steps > 0 and self.n_halvings < MAX_HALVINGS:
            copy_arrays(self.anchor, self.live)
            self.optimizer.clear_velocity()
            self.optimizer.scale_learning_rate(0.5)
            self.n_halvings += 1
            rate = self.optimizer.current_learning_rate
            logger.warning(
                f"training diverged at epoch {epoch + 1}, batch {batch + 1} ({what}): "
                f"rolled back, learning rate halved to {rate:.3g}"
            )
            return
        if n_steps > 0:
            copy_arrays(self.backup, self.live)
        raise DivergenceError(
            f"Training diverged at epoch {epoch + 1}, batch {batch + 1}: {what}. "
            "The parameters were rolled back to the last finite state. Try a lower "
            "learning_rate or standardize the features (e.g. StandardScaler)."
        )

    def epoch_end(self, loss: float) -> None:
        """When halving, an epoch of lower loss than the anchor's makes its end parameters
        the candidate, the anchor once the next batch's loss at them is accepted."""
        if self.halve and loss < self.anchor_loss:
            self.candidate_loss = loss
            copy_arrays(self.live, self.candidate)

    def state_dict(self) -> dict[str, Any]:
        """The scalars of a checkpoint (``anchor`` is saved as arrays beside them; a waiting
        candidate is the parameters, saved at the epoch's end)."""
        names = ("anchor_loss", "start_loss", "n_halvings", "candidate_loss")
        return {name: getattr(self, name) for name in names}

    def load_state_dict(self, state: Mapping[str, Any], anchor: Mapping[str, np.ndarray]) -> None:
        """Restore :meth:`state_dict` and the anchor, after the live parameters."""
        self.anchor_loss, self.start_loss = float(state["anchor_loss"]), float(state["start_loss"])
        self.n_halvings = int(state["n_halvings"])
        copy_arrays(anchor, self.anchor)
        self.candidate_loss = float(state.get("candidate_loss", math.inf))
        if self.halve and self.candidate_loss < math.inf:
            copy_arrays(self.live, self.candidate)


def copy_arrays(source: Mapping[str, np.ndarray], target: Mapping[str, np.ndarray]) -> None:
    """Copy ``source[name]`` into every array ``target[name]``, in place."""
    for name, p in target.items():
        np.copyto(p, source[name])
