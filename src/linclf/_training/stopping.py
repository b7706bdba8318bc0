"""The stopping rule: ``tol`` / ``n_iter_no_change``, with an optional learning-rate decay.

One object serves the Trainer (epoch losses, or validation accuracies with early stopping)
and distributed training (round losses). With ``decay`` it is scikit-learn's
``learning_rate="adaptive"`` rule: on a plateau, multiply the rate by ``decay`` and go on,
until the rate would fall below ``min_scale`` times where it started.
"""

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

    Parameters
    ----------
    tol : float or None
        Improvement margin; ``None`` tracks the best but never stops.
    patience : int
        Epochs without improvement before a plateau is declared.
    higher_is_better : bool, default False
        Maximize the value (an accuracy) instead of minimizing it (a loss).
    decay : float or None, default None
        On a plateau, ask for the learning rate to be multiplied by ``decay`` and go on,
        as long as ``lr_scale * decay >= min_scale``; stop once it would fall below.
    min_scale : float, default MIN_LR_SCALE

    Attributes
    ----------
    best : float
        The best value so far in minimized form (negated when ``higher_is_better``);
        ``inf`` before the first epoch.
    bad_epochs : int
        Epochs in a row without improvement (reset by a decay).

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
        self.tol = tol
        self.patience = patience
        self.sign = -1.0 if higher_is_better else 1.0
        self.decay = decay
        self.min_scale = min_scale
        self.best = math.inf
        self.bad_epochs = 0

    def update(self, value: float, lr_scale: float = 1.0) -> PlateauStep:
        """Record one epoch's ``value``; ``lr_scale`` is the learning rate's current factor."""
        v = self.sign * value  # minimized form
        margin = 0.0 if self.tol is None else self.tol
        if v < self.best - margin:
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1
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
        self.best = float(state["best"])
        self.bad_epochs = int(state["bad_epochs"])
