"""The grid of fits whose coefficients must not change when the code is restructured.

Each case is a name and a function ``fit(tmp_path) -> estimator`` that trains with every
hyperparameter that shapes the result written out, so a later change of a default cannot
move the reference. ``python tests/reference_grid.py OUT.npz`` records ``coef_`` and
``intercept_`` of every case; ``tests/data/reference_fits*.npz`` were recorded that way from
commit 6b21edc (before issue 10's restructure), one per OpenBLAS kernel, and
``tests/test_reference_fits.py`` demands bit-identical results from the code of today.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from linclf import LinearSVM, SoftmaxClassifier
from linclf.datasets import load_digits

# Every hyperparameter that shapes the model, at the values the reference was recorded
# with (the defaults of commit 6b21edc, apart from max_epochs and tol for a short run).
PINNED = dict(
    solver="sgd",
    learning_rate=0.003,
    momentum=0.9,
    nesterov=False,
    schedule="adaptive",
    batch_size=64,
    max_epochs=6,
    tol=1e-4,
    n_iter_no_change=5,
    early_stopping=False,
    validation_fraction=0.1,
    fit_intercept=True,
    standardize=False,
    class_weight=None,
    shuffle=True,
    copy_X=True,
    warm_start=False,
    dtype=np.float32,
    n_threads="auto",
    random_state=0,
    verbose=0,
)
SVM = dict(PINNED, reg=1e-3, delta=1.0)
SOFTMAX = dict(PINNED, reg="auto")


def _digits(n=600, classes=10):
    X, y = load_digits()
    keep = y < classes
    X, y = X[keep][:n].astype(np.float64), y[keep][:n]
    return (X - X.mean(0)) / (X.std(0) + 1e-8), y


def _raw_digits(n=600):
    X, y = load_digits()
    return X[:n].astype(np.float64), y[:n]


def _fit(cls, params, X, y, **fit_kw):
    return cls(**params).fit(X, y, **fit_kw)


def _memmap(tmp, X):
    path = Path(tmp) / "X.npy"
    np.save(path, X.astype(np.float32))
    return np.load(path, mmap_mode="r")


def _partial(cls, params, X, y):
    est = cls(**params)
    classes = np.unique(y)
    for chunk in np.array_split(np.arange(len(y)), 3):
        est.partial_fit(X[chunk], y[chunk], classes=classes)
    return est


def _warm(cls, params, X, y):
    est = cls(**dict(params, warm_start=True, max_epochs=3)).fit(X, y)
    return est.fit(X, y)


def _cases():
    X, y = _digits()
    Xb, yb = _digits(classes=2)
    Xr, yr = _raw_digits()
    w = np.random.default_rng(1).uniform(0.2, 2.0, len(y))
    cases = {}
    for tag, cls, params in (("svm", LinearSVM, SVM), ("softmax", SoftmaxClassifier, SOFTMAX)):
        cases[f"{tag}_dense"] = lambda tmp, c=cls, p=params: _fit(c, p, X, y)
        cases[f"{tag}_binary"] = lambda tmp, c=cls, p=params: _fit(c, p, Xb, yb)
        cases[f"{tag}_sparse"] = lambda tmp, c=cls, p=params: _fit(c, p, sp.csr_matrix(Xr), yr)
        cases[f"{tag}_memmap"] = lambda tmp, c=cls, p=params: _fit(c, p, _memmap(tmp, X), y)
        cases[f"{tag}_partial_fit"] = lambda tmp, c=cls, p=params: _partial(c, p, X, y)
        cases[f"{tag}_warm_start"] = lambda tmp, c=cls, p=params: _warm(c, p, X, y)
        cases[f"{tag}_early_stopping"] = lambda tmp, c=cls, p=params: _fit(
            c, dict(p, early_stopping=True), X, y
        )
        cases[f"{tag}_standardize"] = lambda tmp, c=cls, p=params: _fit(
            c, dict(p, standardize=True), Xr, yr
        )
        # reg="auto" counted rows when the reference was recorded (1 / (2 * 600)); it now
        # counts the weights' sum (scikit-learn's C=1), so the recorded strength is pinned.
        weighted = {"reg": 1 / (2 * 600)} if params["reg"] == "auto" else {}
        cases[f"{tag}_weights"] = lambda tmp, c=cls, p=params, r=weighted: _fit(
            c, dict(p, class_weight="balanced", **r), X, y, sample_weight=w
        )
        cases[f"{tag}_float64_full_nocopy"] = lambda tmp, c=cls, p=params: _fit(
            c, dict(p, dtype=np.float64, shuffle="full", copy_X=False, nesterov=True), X, y
        )
    cases["svm_constant_no_intercept"] = lambda tmp: _fit(
        LinearSVM, dict(SVM, schedule="constant", fit_intercept=False, delta=0.5), X, y
    )
    cases["softmax_fixed_reg_invscaling"] = lambda tmp: _fit(
        SoftmaxClassifier, dict(SOFTMAX, reg=0.01, schedule="invscaling"), X, y
    )
    return cases


CASES = _cases()


def record(path: str) -> None:
    arrays = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in CASES.items():
            est = make(tmp)
            arrays[f"{name}.coef"] = est.coef_
            arrays[f"{name}.intercept"] = est.intercept_
    np.savez(path, **arrays)


if __name__ == "__main__":
    record(sys.argv[1])
