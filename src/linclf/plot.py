r"""Pictures of a fitted linear classifier: its training curve, its templates, its errors.

* :func:`loss_curve`: the objective per epoch (``loss_curve_``), and the validation
  accuracy (``validation_scores_``) on a second axis when training held data out;
* :func:`templates`: each row of ``coef_`` reshaped to an image, the "template" that
  class's score :math:`s_c = w_c \cdot x + b_c` matches the input against;
* :func:`confusion`: the confusion matrix on ``(X, y)``, counted by :func:`confusion_counts`.

matplotlib is an optional dependency (``pip install 'linclf[plot]'``), imported inside the
drawing functions only, so ``import linclf.plot`` and :func:`confusion_counts` work
without it; a drawing function raises :class:`ImportError` with the install hint. They
return the Axes or Figure they drew on, never call ``plt.show()`` and never pick a
backend: use ``matplotlib.use("Agg")`` for files on a machine with no display.

Examples
--------
The classifier ``clf`` that the functions' examples draw:

>>> import matplotlib  # doctest: +SKIP
>>> matplotlib.use("Agg")  # doctest: +SKIP
>>> from linclf import LinearSVM
>>> from linclf.datasets import load_digits
>>> from linclf.plot import confusion, loss_curve, templates
>>> X, y = load_digits()
>>> clf = LinearSVM(standardize=True, random_state=0)
>>> clf = clf.fit(X[:1400], y[:1400])  # doctest: +SKIP
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._validation import index_labels
from .exceptions import not_fitted_error

__all__ = ["confusion", "confusion_counts", "loss_curve", "templates"]

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
    r"""Plot the training objective of each epoch, and the validation accuracy if any.

    Parameters
    ----------
    est : fitted LinearSVM or SoftmaxClassifier
        Any object with ``loss_curve_`` (one value per epoch); a non-empty
        ``validation_scores_`` (``early_stopping=True``) is drawn on a second y axis.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure and axes when None.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes of the loss (the validation axis is its twin, ``ax.right_ax``).

    Raises
    ------
    NotFittedError
        When ``est`` has no ``loss_curve_`` (and ImportError without matplotlib, here and
        in the other drawing functions).

    Notes
    -----
    Epoch ``k`` (1-based, on the x axis) shows the mean minibatch objective
    :math:`\mathcal{L}` of that epoch, penalty included, as recorded by the
    :class:`~linclf.Trainer` (one value per ``partial_fit`` call after ``partial_fit``).

    Examples
    --------
    With ``clf`` fitted as in the module's example:

    >>> ax = loss_curve(clf)  # doctest: +SKIP
    >>> ax.figure.savefig("loss_curve.png")  # doctest: +SKIP
    """
    plt = _pyplot()
    _fitted(est, "loss_curve_")
    loss = np.asarray(est.loss_curve_, dtype=np.float64)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 3.6), layout="constrained")
    epochs = np.arange(1, loss.shape[0] + 1)
    (loss_line,) = ax.plot(epochs, loss, color="C0", marker="." if loss.size <= 50 else None)
    loss_line.set_label("training objective")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean minibatch objective")
    ax.grid(True, alpha=0.3)
    lines = [loss_line]
    scores = getattr(est, "validation_scores_", None)
    if scores is not None and len(scores) > 0:
        scores = np.asarray(scores, dtype=np.float64)
        right = ax.twinx()
        (score_line,) = right.plot(np.arange(1, scores.shape[0] + 1), scores, color="C1")
        score_line.set_label("validation accuracy")
        right.set_ylabel("validation accuracy")
        best = getattr(est, "best_epoch_", None)
        if best is not None:
            ax.axvline(best, color="0.5", linestyle=":", linewidth=1.0)
        ax.right_ax = right
        lines.append(score_line)
    ax.legend(lines, [line.get_label() for line in lines], loc="upper right")
    return ax


def _image_layout(image_shape: Any, n_features: int) -> tuple[tuple[int, ...], bool]:
    """Validate ``image_shape`` against the model; return it as ints and whether it is RGB."""
    if isinstance(image_shape, (numbers.Integral, str)) or not isinstance(image_shape, Sequence):
        raise TypeError(
            f"image_shape must be a tuple such as (8, 8) or (32, 32, 3), got {image_shape!r}"
        )
    shape = tuple(image_shape)
    if not all(
        isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 1 for n in shape
    ):
        raise ValueError(f"image_shape must hold positive integers, got {image_shape!r}")
    if len(shape) == 3 and shape[2] == 1:
        shape = shape[:2]  # one channel is a grayscale image
    if not (len(shape) == 2 or (len(shape) == 3 and shape[2] == 3)):
        raise ValueError(
            f"image_shape must be (height, width) or (height, width, 3), got {image_shape!r}"
        )
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
    feature_scale: Any = None,
) -> Any:
    r"""Show each class's row of ``coef_`` as an image: the template its score matches.

    Parameters
    ----------
    est : fitted LinearSVM or SoftmaxClassifier
        Any object with ``coef_`` of shape (n_classes, n_features) and ``classes_``.
        For two classes ``coef_`` has one row, :math:`w_1 - w_0`, shown as one template
        titled ``"classes_[1] − classes_[0]"``: bright where a pixel votes for
        ``classes_[1]``.
    image_shape : tuple of int
        ``(height, width)`` for grayscale (``(8, 8)`` for the bundled digits) or
        ``(height, width, 3)`` for RGB (``(32, 32, 3)`` for CIFAR-10). Each row of
        ``coef_`` is reshaped to it in C order, so the features must be the pixels in
        that order (channels last for RGB). ``(height, width, 1)`` counts as grayscale.
    fig : matplotlib.figure.Figure, optional
        The figure to draw into (it should be empty); a new one when None.
    ncols : int, optional
        Templates per row of the grid; by default at most 5.
    cmap : str, default "RdBu_r"
        Colormap of grayscale templates. All of them share one color scale, symmetric
        around 0 (``±max |coef_|``), so a color means the same weight in every panel and
        white means 0. Not used for RGB.
    feature_scale : array-like of shape (n_features,), optional
        Multiply each feature's weight by this before drawing, typically
        ``X.std(axis=0)``: the weight per standard deviation of its pixel. With
        ``standardize=True`` ``coef_`` holds weights per raw unit, largest on pixels that
        hardly ever vary (the digits' borders); scaled, the templates show what the model
        learned on the standardized data.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes per template, titled with its class label, then (grayscale) a colorbar.

    Raises
    ------
    NotFittedError
        When ``est`` has no ``coef_``.
    ValueError, TypeError
        When ``image_shape`` is not an image shape of exactly ``n_features`` values.

    Notes
    -----
    An RGB template cannot be shown with a colormap, so each one is rescaled to
    :math:`[0, 1]` by its own minimum and maximum, :math:`(w - \min w) /
    (\max w - \min w)`: its colors show where it is most and least positive, not
    how its weights compare with another class's.

    Examples
    --------
    With ``clf`` fitted as in the module's example (10 templates and a colorbar):

    >>> fig = templates(clf, (8, 8), feature_scale=X.std(axis=0))  # doctest: +SKIP
    """
    plt = _pyplot()
    _fitted(est, "coef_", "classes_")
    coef = np.asarray(est.coef_, dtype=np.float64)
    classes = np.asarray(est.classes_)
    shape, rgb = _image_layout(image_shape, coef.shape[1])
    if feature_scale is not None:
        scale = np.asarray(feature_scale, dtype=np.float64)
        if scale.shape != (coef.shape[1],) or not np.all(np.isfinite(scale)):
            raise ValueError(
                f"feature_scale must be {coef.shape[1]} finite numbers, one per feature, "
                f"got an array of shape {scale.shape}"
            )
        coef = coef * scale
    if coef.shape[0] == 1 and classes.shape[0] == 2:
        titles = [f"{classes[1]} − {classes[0]}"]
    else:
        titles = [str(label) for label in classes]
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
        ax.set_title(titles[k])
        ax.set_xticks([])
        ax.set_yticks([])
    if not rgb:
        fig.colorbar(image, ax=grid.ravel()[:n].tolist(), shrink=0.8, label="weight")
    return fig


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
    est : fitted classifier
        Any object with ``predict`` and ``classes_``; rows and columns follow
        ``classes_``.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        True labels, each one of ``est.classes_``.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure and axes when None.
    normalize : {None, "true", "pred", "all"}, default None
        None: counts. ``"true"``: each row divided by its sum (the recall of each class
        on the diagonal); ``"pred"``: each column divided by its sum (the precision);
        ``"all"``: divided by the number of samples. An empty row or column stays 0.
    annotate : bool, default True
        Write each cell's value in it.
    cmap : str, default "Blues"

    Returns
    -------
    ax : matplotlib.axes.Axes
        Its image holds the matrix (``ax.images[0].get_array()``).

    Raises
    ------
    ValueError
        When ``normalize`` is not one of the above, ``y`` does not have one label per row
        of ``X``, or holds a label that is not in ``est.classes_``.

    Notes
    -----
    The counts :math:`M_{jk}` of :func:`confusion_counts`, with the class indices of ``y``
    and of ``est.predict(X)`` in ``classes_``. The diagonal holds the correct
    predictions, so :math:`\operatorname{tr} M / N` is the accuracy (``est.score(X, y)``).

    Examples
    --------
    With ``clf`` fitted on the first 1,400 digits as in the module's example:

    >>> ax = confusion(clf, X[1400:], y[1400:], normalize="true")  # doctest: +SKIP
    """
    if normalize not in _NORMALIZE:
        raise ValueError(f"normalize must be one of {list(_NORMALIZE)}, got {normalize!r}")
    plt = _pyplot()
    _fitted(est, "classes_")
    classes = np.asarray(est.classes_)
    predicted = np.asarray(est.predict(X))
    y = np.asarray(y)
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
        _, ax = plt.subplots(figsize=(size + 1.0, size), layout="constrained")
    high = float(matrix.max()) if matrix.size else 0.0
    image = ax.imshow(matrix, cmap=cmap, vmin=0.0, vmax=high or 1.0)
    ax.figure.colorbar(image, ax=ax, label="fraction" if normalize else "count")
    ticks = np.arange(n)
    labels = [str(label) for label in classes]
    ax.set_xticks(ticks, labels, rotation=45 if max(map(len, labels)) > 3 else 0)
    ax.set_yticks(ticks, labels)
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    if annotate:
        _annotate(ax, image, matrix, "{:d}" if normalize is None else "{:.2f}")
    return ax


def confusion_counts(y_true: Any, y_pred: Any, n_classes: int) -> np.ndarray:
    r"""Confusion counts of class indices: rows true, columns predicted (NumPy only).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,), integer
        True and predicted class indices :math:`t_i`, :math:`p_i`, each in
        ``[0, n_classes)``.
    n_classes : int
        :math:`C \ge 1`.

    Returns
    -------
    M : ndarray of shape (n_classes, n_classes), int64
        :math:`M_{jk} = \#\{i : t_i = j,\ p_i = k\}`, counted in one ``np.bincount`` of
        :math:`C t_i + p_i`.

    Raises
    ------
    TypeError, ValueError
        Naming the argument, when ``n_classes`` is not an integer ``>= 1`` or the indices
        are not integers in ``[0, n_classes)`` in two 1-D arrays of one length.

    Examples
    --------
    >>> confusion_counts([0, 1, 1, 2], [0, 2, 1, 2], 3)
    array([[1, 0, 0],
           [0, 1, 1],
           [0, 0, 1]])
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
    """The counts, or their fractions of each row ("true"), column ("pred") or of all; an
    empty row or column stays 0."""
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
        dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
        color = "white" if dark else "black"
        ax.text(k, j, fmt.format(value), ha="center", va="center", color=color, fontsize=size)
