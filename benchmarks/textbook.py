"""The textbook baselines the benchmarks compare linclf against.

Not a benchmark itself. What a course solution of the multiclass SVM looks like (the
CS231n ``svm_loss_vectorized`` style): one vectorized loss+gradient on a batch, and a
minibatch SGD loop that gathers every batch with fancy indexing ``X[idx]`` and applies
momentum with fresh temporaries. Same objective, same momentum convention as linclf
(``v ← μ v + g, w ← w − η v``), so the accuracies after equal epochs are comparable.
"""

from __future__ import annotations

import numpy as np


def textbook_svm_loss(W, b, X, y, reg):
    """Weston–Watkins hinge + ``reg·‖W‖²`` and its gradient, written the textbook way."""
    n = X.shape[0]
    rows = np.arange(n)
    scores = X.dot(W.T) + b
    correct = scores[rows, y][:, None]
    margins = np.maximum(0, scores - correct + 1.0)
    margins[rows, y] = 0
    loss = margins.sum() / n + reg * np.sum(W * W)
    # dL/dS: 1 where a margin is violated, minus their count in the true class column.
    indicator = (margins > 0).astype(X.dtype)
    indicator[rows, y] = -indicator.sum(axis=1)
    dW = indicator.T.dot(X) / n + 2 * reg * W
    db = indicator.sum(axis=0) / n
    return loss, dW, db


def textbook_softmax_loss(W, b, X, y, reg):
    """Softmax cross-entropy + ``reg·‖W‖²`` and its gradient (CS231n ``softmax_loss``)."""
    n = X.shape[0]
    rows = np.arange(n)
    scores = X.dot(W.T) + b
    scores -= scores.max(axis=1, keepdims=True)  # the stable shift
    probs = np.exp(scores)
    probs /= probs.sum(axis=1, keepdims=True)
    loss = -np.log(probs[rows, y]).sum() / n + reg * np.sum(W * W)
    probs[rows, y] -= 1  # dL/dS = p - onehot(y)
    dW = probs.T.dot(X) / n + 2 * reg * W
    db = probs.sum(axis=0) / n
    return loss, dW, db


class TextbookSGD:
    """Minibatch SGD with momentum on the textbook loss: ``X[idx]`` gathered per batch.

    Parameters
    ----------
    n_classes, n_features : int
    learning_rate, reg, momentum : float
    batch_size : int
    seed : int
        Seed of the per-epoch permutations.
    dtype : numpy dtype
    """

    def __init__(
        self,
        n_classes,
        n_features,
        *,
        learning_rate,
        reg,
        momentum=0.9,
        batch_size=256,
        seed=0,
        dtype=np.float32,
    ):
        self.W = np.zeros((n_classes, n_features), dtype=dtype)
        self.b = np.zeros(n_classes, dtype=dtype)
        self.vW = np.zeros_like(self.W)
        self.vb = np.zeros_like(self.b)
        self.learning_rate = learning_rate
        self.reg = reg
        self.momentum = momentum
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)

    def step(self, Xb, yb):
        """One update on one batch; returns the batch loss."""
        loss, dW, db = textbook_svm_loss(self.W, self.b, Xb, yb, self.reg)
        self.vW = self.momentum * self.vW + dW
        self.vb = self.momentum * self.vb + db
        self.W -= self.learning_rate * self.vW
        self.b -= self.learning_rate * self.vb
        return loss

    def epoch(self, X, y):
        """One pass: a new permutation, every batch gathered with ``X[idx]``."""
        order = self.rng.permutation(X.shape[0])
        for start in range(0, X.shape[0], self.batch_size):
            idx = order[start : start + self.batch_size]
            self.step(X[idx], y[idx])

    def scores(self, X):
        return X @ self.W.T + self.b
