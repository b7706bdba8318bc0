"""Divergence: a non-finite (or, when halving, exploding) loss rolls the parameters back.

``on_divergence="raise"`` returns to the last state whose loss was finite and raises
:class:`~linclf.DivergenceError`. ``"halve"`` returns to the *anchor* instead, the
parameters of the epoch with the lowest loss so far (the starting point before the first
epoch): the last finite state of a run that is blowing up is finite but huge, and would
take many steps to come back from. It then zeroes the optimizer's velocity, halves its
learning rate and goes on; it cannot help when the starting point itself diverges.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..exceptions import DivergenceError

__all__ = ["BLOWUP", "MAX_HALVINGS", "Rollback"]

logger = logging.getLogger("linclf")

# 2⁻⁴⁰ ≈ 1e-12 of the starting rate: a divergence that survives it is not a rate problem.
MAX_HALVINGS = 40
# When halving, a batch loss this many times the loss at the start counts as divergence: a
# minibatch loss does not legitimately grow a thousandfold while training.
BLOWUP = 1e3


class Rollback:
    """The states a fit returns to when it diverges, and the halving or raising after it.

    Parameters
    ----------
    live : mapping of str to ndarray
        The parameters being trained; rolled back in place.
    optimizer : linclf.optim.Optimizer
        Uses ``clear_velocity``, ``scale_learning_rate`` and ``current_learning_rate``.
    halve : bool
        ``on_divergence == "halve"``.

    Attributes
    ----------
    anchor : dict of str to ndarray
    anchor_loss, start_loss : float
        The anchor's epoch loss, and the first batch loss of the fit (``inf`` before it).
    n_halvings : int
    """

    def __init__(self, live: Mapping[str, np.ndarray], optimizer: Any, *, halve: bool) -> None:
        self.live = live
        self.optimizer = optimizer
        self.halve = halve
        self.backup = {name: np.empty_like(p) for name, p in live.items()}
        self.anchor = {name: p.copy() for name, p in live.items()}
        self.anchor_loss = self.start_loss = math.inf
        self.n_halvings = 0

    def problem(self, loss: float, *, first: bool) -> str | None:
        """Why the batch ``loss`` is a divergence, or None; ``first``: the fit's first batch."""
        if first:
            self.anchor_loss = self.start_loss = loss
        if not math.isfinite(loss):
            return f"the loss is {loss}"
        # Blowing up, though not yet infinite: overflow is only a matter of steps.
        if self.halve and loss > BLOWUP * max(self.start_loss, 1.0):
            return f"the loss rose to {loss:.3g}"
        return None

    def keep(self) -> None:
        """Remember the current parameters, whose loss was just found finite."""
        for name, p in self.live.items():
            np.copyto(self.backup[name], p)

    def params_finite(self) -> bool:
        return all(np.isfinite(np.sum(p, dtype=np.float64)) for p in self.live.values())

    def recover(self, epoch: int, batch: int, what: str, n_steps: int) -> None:
        """Roll back after the 0-based ``epoch``'s ``batch``; then halve and return, or raise."""
        if self.halve and n_steps > 0 and self.n_halvings < MAX_HALVINGS:
            for name, p in self.live.items():
                np.copyto(p, self.anchor[name])
            self.optimizer.clear_velocity()
            self.optimizer.scale_learning_rate(0.5)
            self.n_halvings += 1
            logger.warning(
                "training diverged at epoch %d, batch %d (%s): rolled back, learning rate "
                "halved to %.3g",
                epoch + 1,
                batch + 1,
                what,
                self.optimizer.current_learning_rate,
            )
            return
        if n_steps > 0:
            for name, p in self.live.items():
                np.copyto(p, self.backup[name])
        raise DivergenceError(
            f"Training diverged at epoch {epoch + 1}, batch {batch + 1}: {what}. "
            "The parameters were rolled back to the last finite state. Try a lower "
            "learning_rate or standardize the features (e.g. StandardScaler)."
        )

    def epoch_end(self, loss: float) -> None:
        """When halving, an epoch of lower loss than the anchor's becomes the anchor."""
        if self.halve and loss < self.anchor_loss:
            self.anchor_loss = loss
            for name, p in self.live.items():
                np.copyto(self.anchor[name], p)

    def state_dict(self) -> dict[str, Any]:
        """The scalars of a checkpoint (``anchor`` is saved as arrays beside them)."""
        return {
            "anchor_loss": self.anchor_loss,
            "start_loss": self.start_loss,
            "n_halvings": self.n_halvings,
        }

    def load_state_dict(self, state: Mapping[str, Any], anchor: Mapping[str, np.ndarray]) -> None:
        self.anchor_loss = float(state["anchor_loss"])
        self.start_loss = float(state["start_loss"])
        self.n_halvings = int(state["n_halvings"])
        for name, p in self.anchor.items():
            np.copyto(p, anchor[name])
