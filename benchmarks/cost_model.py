r"""The cost model of one round of ``linclf.distributed.fit``, as docs/scaling.md states it.

Not a benchmark: ``bench_distributed.py`` measures the inputs (:class:`Inputs`) on the
machine it runs on, predicts its own measured rounds with :func:`round_time`, and
extrapolates with the same function and the assumptions it prints.

A round with K chunks on P workers, a model of :math:`M = CD + C` numbers of ``itemsize``
bytes, N rows:

.. math::

    t = \underbrace{a + bK}_{\text{overhead}}
      + \underbrace{\frac{N c_P}{\min(P, \text{cores} - L - S)}
        \Bigl(1 + v \sqrt{P/K}\; \mathbb{E}\max_{P} Z\Bigr)}_{\text{compute, slowest worker}}
      + \underbrace{\frac{(2 + w(P))\, M s}{\beta}}_{\text{broadcast}}
      + \underbrace{r}_{\text{results: K models or the tree}}

* overhead: ``a + b·K`` fitted to the round time of a tiny problem (compute ≈ 0) against
  K, per strategy: scheduling, the client's submissions, messages, the driver's loop;
  assumed additive to the compute (no overlap);
* compute: ``c_P`` CPU seconds per row of one chunk's work (an SGD epoch, or one loss and
  gradient) with one BLAS thread, measured in each of the P workers at once (concurrent
  chunks share the caches and the memory bus); the K chunks spread evenly over the P
  workers, which share the cores that other processes (L) and the driver's process (S)
  leave (``cores`` in :class:`Inputs` is that number, cores - L - S; P above it
  time-shares them); a worker's K/P
  chunks vary with coefficient of variation ``v`` each, independently, so the slowest of P
  workers is ``v·sqrt(P/K)·E[max of P standard normals]`` above the mean;
* broadcast: Dask moves the model as one task's data: driver → scheduler → the first
  worker (two copies in sequence), then the other P - 1 workers fetch it from the workers
  that hold it, each holder serving at most ``fan_out`` copies at once over its link
  (:func:`broadcast_waves`); ``w(P)`` counts the copy times in sequence, at β;
* returns: ``"average"`` gathers K models through the scheduler (worker → scheduler, then
  scheduler → driver: 2·K·M·s bytes in sequence through the scheduler's link) and the
  driver mixes them (K·M numbers at ``mix`` seconds each); ``"gradient"`` adds the K
  float64 partial sums in a binary tree of tasks on the workers, ⌈log₂ K⌉ levels of one
  8(M + 2)-byte transfer each, and the root goes worker → scheduler → driver; results
  move at β_r.

``linclf.distributed.round_traffic`` counts P·M·s bytes "to workers" as if the driver sent P
copies; :func:`message_bytes` is the pattern Dask actually uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

STRATEGIES = ("average", "gradient")


@dataclass(frozen=True)
class Inputs:
    """The model's measured inputs (or, for an extrapolation, assumed ones)."""

    cores: float  # cores the P workers share: the machine's, less those others use (L)
    overhead: dict[str, tuple[float, float]]  # strategy -> (a, b): a + b·K seconds per round
    per_row: dict[str, float]  # strategy -> seconds of one chunk's work per row (c)
    variation: float  # coefficient of variation of one chunk's compute time (v)
    bandwidth: float  # bytes/s of one copy of the model on its way out (β)
    gather_bandwidth: float  # bytes/s of one result on its way back (β_r)
    fan_out: int  # copies one holder of the model serves at once
    mix: float  # driver seconds per number mixed ("average")


def model_size(n_classes: int, n_features: int, fit_intercept: bool = True) -> int:
    """M = C·D + C numbers (C·D without the intercept)."""
    return n_classes * n_features + (n_classes if fit_intercept else 0)


def broadcast_waves(n_workers: int, fan_out: int) -> list[int]:
    """Copies served per holder in each wave of the worker-to-worker spread.

    Starts with one holder; in a wave every holder serves up to ``fan_out`` workers at once
    (they share its link, so the wave takes the largest number served by one holder times
    one copy's time) and every receiver holds the model for the next wave.
    """
    holders, waves = 1, []
    while holders < n_workers:
        missing = n_workers - holders
        per_holder = min(fan_out, math.ceil(missing / holders))
        waves.append(per_holder)
        holders += min(missing, holders * per_holder)
    return waves


def message_bytes(
    n_classes: int,
    n_features: int,
    n_workers: int,
    n_chunks: int,
    *,
    strategy: str,
    itemsize: int = 4,
    fit_intercept: bool = True,
) -> dict[str, int]:
    """Bytes per round on each path Dask uses (pickling adds a few hundred per message)."""
    model = model_size(n_classes, n_features, fit_intercept) * itemsize
    out = {
        "driver_to_scheduler": model,
        "scheduler_to_workers": model,
        "between_workers": (n_workers - 1) * model,
    }
    if strategy == "average":
        out.update(workers_to_scheduler=n_chunks * model, scheduler_to_driver=n_chunks * model)
    else:
        partial = 8 * (model // itemsize + 2)
        out.update(
            between_workers=out["between_workers"] + (n_chunks - 1) * partial,  # at most
            workers_to_scheduler=partial,
            scheduler_to_driver=partial,
        )
    return out


def expected_max_normal(n: int) -> float:
    """E[max of n independent standard normals] (0 for n = 1), by quadrature."""
    if n <= 1:
        return 0.0
    step, total = 1e-3, 0.0
    for i in range(-8000, 8001):
        z = i * step
        phi = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
        cdf = 0.5 * math.erfc(-z / math.sqrt(2))
        total += z * n * phi * cdf ** (n - 1) * step
    return total


def round_time(
    inputs: Inputs,
    *,
    strategy: str,
    n_workers: int,
    n_chunks: int,
    n_rows: int,
    n_classes: int,
    n_features: int,
    itemsize: int = 4,
) -> dict[str, float]:
    """Seconds of one round by term: overhead, compute, broadcast, returns, total."""
    P, K = n_workers, n_chunks
    a, b = inputs.overhead[strategy]
    overhead = a + b * K
    chunk = inputs.per_row[strategy] * n_rows / K
    slowest = 1 + inputs.variation * math.sqrt(P / K) * expected_max_normal(P)
    compute = K * chunk / min(P, inputs.cores) * slowest
    M = model_size(n_classes, n_features)
    copy = M * itemsize / inputs.bandwidth
    broadcast = (2 + sum(broadcast_waves(P, inputs.fan_out))) * copy
    if strategy == "average":
        returns = 2 * K * M * itemsize / inputs.gather_bandwidth + K * M * inputs.mix
    else:
        partial = 8 * (M + 2) / inputs.gather_bandwidth
        returns = (max(K - 1, 0).bit_length() + 2) * partial
    total = overhead + compute + broadcast + returns
    return dict(
        overhead=overhead, compute=compute, broadcast=broadcast, returns=returns, total=total
    )
