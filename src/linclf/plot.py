r"""Pictures of a fitted linear classifier: training curve, templates, coefficients, confusion.

matplotlib (``pip install 'linclf[plot]'``) is imported by the drawing functions only;
they return what they drew on, never call ``plt.show()`` nor pick a backend. The ``clf``
that their examples draw:

>>> from linclf import LinearSVM
>>> from linclf.datasets import load_digits
>>> X, y = load_digits()
>>> clf = LinearSVM(standardize=True, random_state=0).fit(X[:1400], y[:1400])  # doctest: +SKIP
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._validation import index_labels
from .estimator import fitted_state
from .exceptions import NotFittedError, not_fitted_error

__all__ = ["coefficients", "confusion", "confusion_counts", "loss_curve", "templates"]

_INSTALL_HINT = "linclf.plot needs matplotlib: pip install 'linclf[plot]'"
_NORMALIZE = (None, "true", "pred", "all")


def _pyplot() -> Any:
    """matplotlib.pyplot, or ImportError with the install hint."""
    try:
        # The package first: a missing or blocked matplotlib fails here, not half-way.
        import matplotlib  # noqa: F401
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return plt


def _fitted(est: Any, *names: str) -> None:
    if not all(hasattr(est, name) for name in names):
        raise not_fitted_error(
            f"This {type(est).__name__} instance is not fitted yet (it has no "
            f"{' / '.join(names)}). Call 'fit' before plotting it."
        )


def loss_curve(est: Any, ax: Any = None) -> Any:
    r"""Plot the mean minibatch objective (penalty included) of each epoch, 1-based.

    Parameters
    ----------
    est, ax : fitted LinearSVM or SoftmaxClassifier; matplotlib.axes.Axes, optional
        Any object with ``loss_curve_`` (a non-empty ``validation_scores_`` is drawn on a
        second y axis, ``ax.right_ax``); where to draw (None: a new figure and axes).

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes drawn into: ``ax`` itself when given, else those of a new figure.

    Raises
    ------
    NotFittedError
        Without ``loss_curve_`` (ImportError without matplotlib, in each drawing function).

    Examples
    --------
    >>> ax = loss_curve(clf)  # doctest: +SKIP
    """
    plt = _pyplot()
    _fitted(est, "loss_curve_")
    loss = np.asarray(est.loss_curve_, dtype=np.float64)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 3.6), layout="constrained")
    epochs = np.arange(1, loss.shape[0] + 1)
    marker = "." if loss.size <= 50 else None
    (loss_line,) = ax.plot(epochs, loss, color="C0", marker=marker, label="training objective")
    ax.set(xlabel="epoch", ylabel="mean minibatch objective")
    ax.grid(True, alpha=0.3)
    lines = [loss_line]
    scores = getattr(est, "validation_scores_", None)
    if scores is not None and len(scores) > 0:
        scores = np.asarray(scores, dtype=np.float64)
        right = ax.twinx()
        label = "validation accuracy"
        (score_line,) = right.plot(np.arange(1, len(scores) + 1), scores, color="C1", label=label)
        right.set_ylabel(label)
        best = getattr(est, "best_epoch_", None)
        if best is not None:
            ax.axvline(best, color="0.5", linestyle=":", linewidth=1.0)
        ax.right_ax = right
        lines.append(score_line)
    ax.legend(lines, [line.get_label() for line in lines], loc="upper right")
    return ax


def _image_layout(image_shape: Any, n_features: int) -> tuple[tuple[int, ...], bool]:
    """Validate ``image_shape`` against the model; return it as ints and whether it is RGB."""
    got = f"got {image_shape!r}"
    if isinstance(image_shape, (numbers.Integral, str)) or not isinstance(image_shape, Sequence):
        raise TypeError(f"image_shape must be a tuple such as (8, 8) or (32, 32, 3), {got}")
    shape = tuple(image_shape)
    if not all(
        isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 1 for n in shape
    ):
        raise ValueError(f"image_shape must hold positive integers, {got}")
    if len(shape) == 3 and shape[2] == 1:
        shape = shape[:2]  # one channel is a grayscale image
    if not (len(shape) == 2 or (len(shape) == 3 and shape[2] == 3)):
        raise ValueError(f"image_shape must be (height, width) or (height, width, 3), {got}")
    if math.prod(shape) != n_features:
        raise ValueError(
            f"image_shape {tuple(image_shape)!r} holds {math.prod(shape)} values, but the "
            f"model has {n_features} features: each row of coef_ must fill one image"
        )
    return tuple(int(n) for n in shape), len(shape) == 3


def _unit_range(image: np.ndarray) -> np.ndarray:
    """Rescale to [0, 1] by the image's own minimum and maximum (constant: 0.5 gray)."""
    low, high = float(image.min()), float(image.max())
    if high == low:
        return np.full_like(image, 0.5)
    return (image - low) / (high - low)


def templates(
    est: Any,
    image_shape: Sequence[int],
    *,
    fig: Any = None,
    ncols: int | None = None,
    cmap: str = "RdBu_r",
    feature_scale: Any = "auto",
) -> Any:
    r"""Show each class's row of ``coef_`` as an image: the template its score matches.

    Parameters
    ----------
    est, image_shape : fitted LinearSVM or SoftmaxClassifier; tuple of int
        Any object with ``coef_`` and ``classes_`` (a binary row, :math:`w_1 - w_0`, is
        titled ``"classes_[1] − classes_[0]"``); ``(height, width)`` (or ``(height, width,
        1)``) or RGB ``(height, width, 3)``, each row reshaped to it in C order.
    fig, ncols : matplotlib.figure.Figure, optional; int, optional
        The (empty) figure to draw into (None: a new one); templates per row (at most 5).
    cmap : str, default "RdBu_r"
        Colormap of grayscale templates, one scale ``±max |w|`` for all (RGB: each by its
        own range, :math:`(w - \min w) / (\max w - \min w)`).
    feature_scale : "auto", array-like of shape (n_features,) or None, default "auto"
        A factor per weight, e.g. ``X.std(axis=0)``. ``"auto"``: the scale a linclf model
        divided its features by when it standardized them (``coef_`` is :math:`W /
        \text{scale}`, largest on the features that hardly vary), so that the templates
        show :math:`W`, the weights learned in standard units; 1 otherwise. None: ``coef_``.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes per template, titled with its class label, then (grayscale) a colorbar.

    Raises
    ------
    NotFittedError, ValueError, TypeError
        Without ``coef_``, or for an ``image_shape`` not of exactly ``n_features`` values.

    Examples
    --------
    >>> fig = templates(clf, (8, 8))  # doctest: +SKIP
    """
    plt = _pyplot()
    _fitted(est, "coef_", "classes_")
    coef, classes = np.asarray(est.coef_, dtype=np.float64), np.asarray(est.classes_)
    shape, rgb = _image_layout(image_shape, coef.shape[1])
    coef, scaled = _scaled(est, coef, feature_scale)
    binary = coef.shape[0] == 1 and classes.shape[0] == 2
    titles = [f"{classes[1]} − {classes[0]}"] if binary else [str(label) for label in classes]
    n = coef.shape[0]
    if ncols is None:
        ncols = min(n, 5)
    elif isinstance(ncols, bool) or not isinstance(ncols, numbers.Integral) or ncols < 1:
        raise ValueError(f"ncols must be a positive integer, got {ncols!r}")
    ncols = min(int(ncols), n)
    nrows = math.ceil(n / ncols)
    if fig is None:
        width = 1.5 * ncols + (0.0 if rgb else 0.8)  # room for the colorbar
        fig = plt.figure(figsize=(width, 1.7 * nrows), layout="constrained")
    grid = fig.subplots(nrows, ncols, squeeze=False)
    limit = float(np.max(np.abs(coef))) or 1.0  # all-zero coef_: any symmetric range
    image = None
    for k, ax in enumerate(grid.ravel()):
        if k >= n:
            ax.remove()  # an empty cell of the last row
            continue
        pixels = coef[k].reshape(shape)
        if rgb:
            image = ax.imshow(_unit_range(pixels), interpolation="nearest")
        else:
            image = ax.imshow(pixels, cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set(title=titles[k], xticks=[], yticks=[])
    if not rgb:
        label = "weight × feature scale" if scaled else "weight"
        fig.colorbar(image, ax=grid.ravel()[:n].tolist(), shrink=0.8, label=label)
    return fig


def _scaled(est: Any, coef: np.ndarray, feature_scale: Any) -> tuple[np.ndarray, bool]:
    """``(coef * feature_scale, whether scaled)``; ``"auto"``: by the scale a linclf model
    divided its features by in training (none for another object, or no standardization)."""
    if isinstance(feature_scale, str):
        if feature_scale != "auto":
            raise ValueError(
                f"feature_scale must be 'auto', None or an array, got {feature_scale!r}"
            )
        try:
            feature_scale = fitted_state(est).scale
        except NotFittedError:
            feature_scale = None
    if feature_scale is None:
        return coef, False
    scale = np.asarray(feature_scale, dtype=np.float64)
    if scale.shape != (coef.shape[1],) or not np.all(np.isfinite(scale)):
        raise ValueError(
            f"feature_scale must be {coef.shape[1]} finite numbers, one per feature, "
            f"got an array of shape {scale.shape}"
        )
    return coef * scale, True


def coefficients(
    est: Any,
    feature_names: Any = None,
    *,
    top: int | None = None,
    ax: Any = None,
    feature_scale: Any = "auto",
) -> Any:
    r"""Plot each feature's coefficient in each class as a horizontal bar, by feature name.

    Parameters
    ----------
    est : fitted LinearSVM or SoftmaxClassifier
        Any object with ``coef_`` of shape (n_classes, n_features) and ``classes_`` (a
        binary row, :math:`w_1 - w_0`, is labelled ``"classes_[1] − classes_[0]"``).
    feature_names : array-like of str of shape (n_features,), optional
        The bars' names; None: ``est.feature_names_in_`` (a DataFrame's columns) if it has
        them, else ``"x0"``, ``"x1"``, ...
    top : int, optional
        Only the ``top`` features of largest :math:`\max_k |w_{kj}|`, the largest first
        (ties in feature order); None: every feature, in its order.
    ax : matplotlib.axes.Axes, optional
        Where to draw (None: a new figure, taller with more features).
    feature_scale : "auto", array-like of shape (n_features,) or None, default "auto"
        As in :func:`templates`: ``"auto"`` multiplies a standardized model's coefficients
        by the spread of their features, so that features in other units compare; None:
        ``coef_`` itself.

    Returns
    -------
    ax : matplotlib.axes.Axes
        ``ax.containers`` holds one bar container per row of ``coef_``, labelled with its
        class; the first feature shown is at the top.

    Raises
    ------
    NotFittedError, ValueError, TypeError
        Without ``coef_``; for ``feature_names`` not of ``n_features`` names, or a ``top``
        that is not a positive integer.

    Examples
    --------
    >>> ax = coefficients(clf, top=10)  # doctest: +SKIP
    """
    plt = _pyplot()
    _fitted(est, "coef_", "classes_")
    coef, classes = np.asarray(est.coef_, dtype=np.float64), np.asarray(est.classes_)
    coef, scaled = _scaled(est, coef, feature_scale)
    names = _feature_names(est, feature_names, coef.shape[1])
    shown = np.arange(coef.shape[1])
    if top is not None:
        if isinstance(top, bool) or not isinstance(top, numbers.Integral) or top < 1:
            raise ValueError(f"top must be a positive integer or None, got {top!r}")
        shown = np.argsort(-np.abs(coef).max(axis=0), kind="stable")[: int(top)]
    binary = coef.shape[0] == 1 and classes.shape[0] == 2
    labels = [f"{classes[1]} − {classes[0]}"] if binary else [str(label) for label in classes]
    if ax is None:
        height = min(12.0, 1.2 + 0.25 * shown.size * math.sqrt(coef.shape[0]))
        _, ax = plt.subplots(figsize=(6.4, height), layout="constrained")
    rows, width = np.arange(shown.size), 0.8 / coef.shape[0]  # a group of bars per feature
    for k, label in enumerate(labels):
        offset = (k - (coef.shape[0] - 1) / 2) * width
        ax.barh(rows + offset, coef[k, shown], height=width, label=label, color=f"C{k % 10}")
    ax.set_yticks(rows, [names[j] for j in shown])
    ax.set_ylim(shown.size - 0.5, -0.5)  # the first feature at the top
    ax.axvline(0.0, color="0.3", linewidth=0.8)
    ax.set_xlabel("coefficient × feature scale" if scaled else "coefficient")
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(title="class", fontsize="small")
    return ax


def _feature_names(est: Any, feature_names: Any, n_features: int) -> list[str]:
    """``feature_names``, else the model's ``feature_names_in_``, else x0, x1, ... as str."""
    if feature_names is None:
        feature_names = getattr(est, "feature_names_in_", None)
        if feature_names is None:
            return [f"x{j}" for j in range(n_features)]
    if isinstance(feature_names, str) or np.ndim(feature_names) != 1:
        raise TypeError(
            f"feature_names must be a sequence of {n_features} names, got {feature_names!r}"
        )
    names = [str(name) for name in feature_names]
    if len(names) != n_features:
        raise ValueError(f"feature_names must hold {n_features} names, got {len(names)}")
    return names


def confusion(
    est: Any,
    X: Any,
    y: Any,
    ax: Any = None,
    normalize: str | None = None,
    *,
    annotate: bool = True,
    cmap: str = "Blues",
) -> Any:
    r"""Plot the confusion matrix of ``est`` on ``(X, y)``: rows true, columns predicted.

    Parameters
    ----------
    est, X, y : fitted classifier; {array-like, sparse matrix}; array-like
        Any object with ``predict`` and ``classes_`` (the order of rows and columns), the
        samples (n_samples, n_features) and their true labels, each one of ``classes_``.
    ax, normalize : matplotlib.axes.Axes, optional; {None, "true", "pred", "all"}
        Where to draw (None: a new figure); counts :math:`M_{jk}` (:func:`confusion_counts`)
        or divided by each row's sum (recall), column's (precision) or all (0 if empty).
    annotate, cmap : bool, default True; str, default "Blues"
        Write each cell's value in it; the colormap.

    Returns
    -------
    ax : matplotlib.axes.Axes
        Its image holds the matrix (``ax.images[0].get_array()``).

    Raises
    ------
    ValueError
        For another ``normalize``, or a ``y`` not one label of ``est.classes_`` per row.

    Examples
    --------
    >>> ax = confusion(clf, X[1400:], y[1400:], normalize="true")  # doctest: +SKIP
    """
    if normalize not in _NORMALIZE:
        raise ValueError(f"normalize must be one of {list(_NORMALIZE)}, got {normalize!r}")
    plt = _pyplot()
    _fitted(est, "classes_")
    classes, predicted, y = np.asarray(est.classes_), np.asarray(est.predict(X)), np.asarray(y)
    if y.ndim != 1 or y.shape[0] != predicted.shape[0]:
        raise ValueError(
            f"y must have shape ({predicted.shape[0]},), one label per row of X, "
            f"got shape {y.shape}"
        )
    n = classes.shape[0]
    counts = confusion_counts(index_labels(y, classes), index_labels(predicted, classes), n)
    matrix = _normalized(counts, normalize)
    if ax is None:
        size = min(12.0, 2.5 + 0.4 * n)
        # "compressed": "constrained" misplaces a colorbar beside fixed-aspect axes and
        # can cut off the y label (10 classes, normalize="true").
        _, ax = plt.subplots(figsize=(size + 1.0, size), layout="compressed")
    high = float(matrix.max()) if matrix.size else 0.0
    image = ax.imshow(matrix, cmap=cmap, vmin=0.0, vmax=high or 1.0)
    ax.figure.colorbar(image, ax=ax, label="fraction" if normalize else "count")
    ticks = np.arange(n)
    labels = [str(label) for label in classes]
    ax.set_xticks(ticks, labels, rotation=45 if max(map(len, labels)) > 3 else 0)
    ax.set_yticks(ticks, labels)
    ax.set(xlabel="predicted label", ylabel="true label")
    if annotate:
        _annotate(ax, image, matrix, "{:d}" if normalize is None else "{:.2f}")
    return ax


def confusion_counts(y_true: Any, y_pred: Any, n_classes: int) -> np.ndarray:
    r"""Confusion counts of class indices: rows true, columns predicted (NumPy only).

    Parameters
    ----------
    y_true, y_pred, n_classes : array-like of shape (n_samples,), integer; int
        True and predicted class indices :math:`t_i`, :math:`p_i` in ``[0, n_classes)``;
        :math:`C \ge 1`.

    Returns
    -------
    M : ndarray of shape (n_classes, n_classes), int64
        :math:`M_{jk} = \#\{i : t_i = j,\ p_i = k\}`, one ``np.bincount`` of :math:`C t_i + p_i`.

    Raises
    ------
    TypeError, ValueError
        Naming the argument, for a bad ``n_classes`` or indices.

    Examples
    --------
    >>> confusion_counts([0, 1, 1, 2], [0, 2, 1, 2], 3).tolist()
    [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral):
        raise TypeError(f"n_classes must be an integer, got {n_classes!r}")
    if n_classes < 1:
        raise ValueError(f"n_classes must be >= 1, got {n_classes}")
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.ndim != 1 or p.shape != t.shape:
        raise ValueError(
            f"y_true and y_pred must be 1-D of one length, got shapes {t.shape} and {p.shape}"
        )
    for name, index in (("y_true", t), ("y_pred", p)):
        if index.size and index.dtype.kind not in "iu":
            raise TypeError(f"{name} must hold integer class indices, got dtype {index.dtype}")
        if index.size and (index.min() < 0 or index.max() >= n_classes):
            outside = np.unique(index[(index < 0) | (index >= n_classes)]).tolist()
            raise ValueError(f"{name} holds class indices outside [0, {n_classes}): {outside!r}")
    flat = n_classes * t.astype(np.int64) + p.astype(np.int64)  # C t_i + p_i
    return np.bincount(flat, minlength=n_classes**2).reshape(n_classes, n_classes).astype(np.int64)


def _normalized(counts: np.ndarray, normalize: str | None) -> np.ndarray:
    """The counts, or their fractions of each row ("true"), column ("pred") or of all."""
    if normalize is None:
        return counts
    total = counts.sum(axis={"true": 1, "pred": 0}.get(normalize), keepdims=True)
    total = np.broadcast_to(total.astype(np.float64), counts.shape)
    return np.divide(counts, total, out=np.zeros(counts.shape), where=total != 0)


def _annotate(ax: Any, image: Any, matrix: np.ndarray, fmt: str) -> None:
    """Write each cell's value in it, white on dark cells."""
    cmap = image.get_cmap()
    size = "small" if matrix.shape[0] <= 10 else "x-small"
    for (j, k), value in np.ndenumerate(matrix):
        # Dark cells get white text: read the cell's color's luminance.
        r, g, b, _ = cmap(image.norm(value))
        color = "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "black"
        ax.text(k, j, fmt.format(value), ha="center", va="center", color=color, fontsize=size)
