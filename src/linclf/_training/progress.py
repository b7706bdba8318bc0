"""Per-epoch progress display of the Trainer (``verbose=1`` or ``2``)."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["Progress"]

logger = logging.getLogger("linclf")


class Progress:
    """verbose=1: a tqdm bar (when installed) or about ten printed lines; verbose=2: one
    ``logging`` record per epoch (logger ``"linclf"``, INFO); verbose=0: nothing.

    ``unit`` names an epoch in the bar and the lines (``"round"`` for linclf.distributed)."""

    def __init__(self, verbose: int, max_epochs: int, n_samples: int, unit: str = "epoch") -> None:
        self.verbose, self.max_epochs, self.n_samples = verbose, max_epochs, n_samples
        self.unit = unit
        self.bar = None
        if verbose == 1:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                return
            self.bar = tqdm(total=max_epochs, unit=unit, desc="training", leave=True)

    def epoch(self, log: Mapping[str, Any], *, last: bool) -> None:
        """Show one epoch's ``log`` (``epoch``, ``loss``, ``val_accuracy``, ``seconds``)."""
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
            f"{self.unit} {log['epoch']:>4}/{self.max_epochs}  loss {log['loss']:.6f}"
            + ("" if val is None else f"  val_accuracy {val:.4f}")
            + f"  ({rate:,.0f} samples/s)"
        )
        epoch, stride = log["epoch"], max(1, self.max_epochs // 10)
        if self.verbose >= 2:
            logger.info(line)
        elif self.verbose == 1 and (epoch in (1, self.max_epochs) or epoch % stride == 0 or last):
            print(line, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
