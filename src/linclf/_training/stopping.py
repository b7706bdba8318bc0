"""The stopping rule ``tol`` / ``n_iter_no_change`` of the Trainer and distributed training."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["ADAPTIVE_DECAY", "MIN_LR_SCALE", "Plateau", "PlateauStep"]

# With a decay, training stops once the learning rate has fallen below this fraction.
MIN_LR_SCALE = 1e-3
# scikit-learn's learning_rate="adaptive" divides the rate by 5 on each plateau.
ADAPTIVE_DECAY = 0.2


@dataclass(frozen=True)
class PlateauStep:
    """What one epoch's value means: a new best, a decay to apply now (or None), a stop."""

    improved: bool
    decay: float | None
    stop: bool


class Plateau:
    """Stop after ``patience`` epochs in a row that did not beat the best by more than ``tol``.

    ``tol=None`` never stops; ``higher_is_better`` maximizes (an accuracy). With ``decay``, a
    plateau asks for the learning rate to be multiplied by ``decay`` and goes on while
    ``lr_scale * decay >= min_scale`` (scikit-learn's ``learning_rate="adaptive"``).
    ``best``: the best value so far, negated if ``higher_is_better`` (``inf`` at first);
    ``bad_epochs``: epochs in a row without improvement (reset by a decay).

    Examples
    --------
    >>> plateau = Plateau(0.1, 2, decay=0.5, min_scale=0.3)
    >>> [plateau.update(loss).decay for loss in (1.0, 0.95, 0.93)]  # the third: a plateau
    [None, None, 0.5]
    >>> [plateau.update(loss, 0.5).stop for loss in (0.92, 0.91)]
    [False, True]
    """

    def __init__(
        self,
        tol: float | None,
        patience: int,
        *,
        higher_is_better: bool = False,
        decay: float | None = None,
        min_scale: float = MIN_LR_SCALE,
    ) -> None:
        self.tol, self.patience, self.decay, self.min_scale = tol, patience, decay, min_scale
        self.sign = -1.0 if higher_is_better else 1.0
        self.best, self.bad_epochs = math.inf, 0

    def update(self, value: float, lr_scale: float = 1.0) -> PlateauStep:
        """Record one epoch's ``value``; ``lr_scale`` is the learning rate's current factor."""
        v = self.sign * value  # minimized form
        margin = 0.0 if self.tol is None else self.tol
        self.bad_epochs = 0 if v < self.best - margin else self.bad_epochs + 1
        improved = v < self.best
        self.best = min(self.best, v)
        plateau = self.tol is not None and self.bad_epochs >= self.patience
        if plateau and self.decay is not None and lr_scale * self.decay >= self.min_scale:
            self.bad_epochs = 0  # a plateau at this rate: go on at a smaller one
            return PlateauStep(improved, self.decay, stop=False)
        return PlateauStep(improved, None, stop=plateau)

    def state_dict(self) -> dict[str, Any]:
        """``{"best": best, "bad_epochs": bad_epochs}``: the counters, for a checkpoint."""
        return {"best": self.best, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the counters of :meth:`state_dict` (``best`` may be the string ``'inf'``)."""
        self.best, self.bad_epochs = float(state["best"]), int(state["bad_epochs"])
