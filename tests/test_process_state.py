"""A library call leaves process state as it found it (issue 12, class 8): BLAS limits
entered from several threads at once are restored to the process's own settings."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from linclf import LinearSVM
from linclf._engine.blas import blas_threads

threadpoolctl = pytest.importorskip("threadpoolctl")


def _threads():
    """Each BLAS library's thread count (OpenMP runtimes, which linclf never limits, left out)."""
    info = threadpoolctl.threadpool_info()
    return sorted((i["filepath"], i["num_threads"]) for i in info if i["user_api"] == "blas")


def test_predicting_from_four_threads_restores_the_blas_threads():
    rng = np.random.default_rng(0)
    # 10 classes x 3072 features: predict's products run in small blocks on 1 BLAS thread.
    X = rng.normal(size=(64, 3072)).astype(np.float32)
    clf = LinearSVM(solver="sgd", max_epochs=1, tol=None).fit(X, np.arange(64) % 10)
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        before = _threads()
        errors = []

        def predict_many():
            try:
                for _ in range(200):
                    clf.predict(X)
            except Exception as exc:
                errors.append(exc)

        workers = [threading.Thread(target=predict_many) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        after = _threads()
    assert not errors
    assert after == before


def test_overlapping_regions_keep_the_first_limit_until_the_last_one_closes():
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        before = _threads()
        outer = blas_threads(1)
        outer.__enter__()
        inner = blas_threads(1)
        inner.__enter__()
        outer.__exit__(None, None, None)  # closed first, as another thread may do
        still = _threads()
        inner.__exit__(None, None, None)
        after = _threads()
    assert all(n == 1 for _, n in still)
    assert after == before
