"""Small named datasets for the tests (importable: tests/ is on pytest's pythonpath)."""

from __future__ import annotations

import numpy as np


def make_problem(n_samples=30, n_features=7, n_classes=5, seed=0, dtype=np.float64):
    """Random W, b, X, y, sample_weight in float64 (or ``dtype``), away from no special value."""
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n_classes, n_features)).astype(dtype)
    b = rng.normal(size=n_classes).astype(dtype)
    X = rng.normal(size=(n_samples, n_features)).astype(dtype)
    y = rng.integers(0, n_classes, size=n_samples)
    sample_weight = rng.uniform(0.1, 2.0, size=n_samples)
    return W, b, X, y, sample_weight


def make_blobs(n_per_class=40, n_classes=3, n_features=4, spread=0.5, seed=0):
    """Well-separated Gaussian blobs: a linearly separable problem."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=5.0, size=(n_classes, n_features))
    X = np.vstack([c + spread * rng.normal(size=(n_per_class, n_features)) for c in centers])
    y = np.repeat(np.arange(n_classes), n_per_class)
    return X, y


class Bowl:
    """L(W) = ½ a ‖W‖² + mean(X[:, 0]) on the batch, a = mean(X[:, 1]) (1 for one column):
    the gradient a W, so SGD at a rate η > 2 / a diverges; X's first column only moves the
    loss (deterministic, no BLAS)."""

    def loss_grad(self, params, X, y, sample_weight=None):
        W, a = params["W"], float(np.mean(X[:, 1])) if X.shape[1] > 1 else 1.0
        loss = 0.5 * a * float(np.sum(W * W)) + float(np.mean(X[:, 0]))
        return loss, {"W": a * W, "b": None}

    def scores(self, params, X):
        return X @ params["W"].T


def local_dask_client():
    """A generator for a module-scoped fixture: a Client of its own 2-worker LocalCluster
    (processes, one thread each, no dashboard), not the default client, closed after."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
